/**
 * The operator test world's shared pieces: the paper run record (two markets, started at `T0_MS`)
 * and a one-trade fill batch builder, used by the operator, Telegram and status-page tests.
 */

import { DEFAULT_RISK_RULES } from "../../engine/core/risk.ts";
import type { FillBatch, RunRecord } from "../../engine/ports.ts";
import { u } from "./_order_fixtures.ts";
import { T0_MS } from "./_trader_fixtures.ts";

/** A paper bot's run record: KRW-BTC and KRW-ETH on 1m candles, Bollinger bands, started at T0. */
export const PAPER_RUN: RunRecord = {
  botId: "bot",
  mode: "paper",
  traders: [{ botId: "bot-btc", market: "KRW-BTC" }, { botId: "bot-eth", market: "KRW-ETH" }],
  timeframe: "1m",
  strategy: "bb",
  strategyParams: { period: 20, std: 2.5 },
  rules: DEFAULT_RISK_RULES,
  budgetPct: 100,
  staleAfterMs: 120_000,
  feeBps: 5,
  startedAtMs: T0_MS,
};

/** A fee-free fill batch of one trade of `vol` at `price`, filled at `at` (ms). */
export function fillBatch(
  market: string,
  side: "bid" | "ask",
  o: { price: string; vol: string; at: number },
): FillBatch {
  const funds = (Number(o.price) * Number(o.vol)).toString();
  return {
    market,
    side,
    orderUuid: `${market}-${side}-${o.at}`,
    intentId: undefined,
    paidFee: u("0"),
    trades: [{
      uuid: `t-${market}-${side}-${o.at}`,
      price: u(o.price),
      volume: u(o.vol),
      funds: u(funds),
      createdAtMs: o.at,
    }],
    feeBps: 0,
    atMs: o.at,
  };
}
