/**
 * The operator test world's shared pieces: the paper run record (two markets, started at `T0_MS`),
 * a one-trade fill batch builder, and the seeded paper store the Telegram and status-page tests
 * read (one ETH round trip, one open BTC position with its levels), used by the operator, Telegram
 * and status-page tests.
 */

import type { KvStore } from "../../engine/adapters/kv_store.ts";
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

/**
 * Seeds `store` with `run`, 1,000,000 KRW per market, an ETH buy at 4,000,000 sold at
 * `ethSellPrice` a minute later, and an open BTC position (with its levels) at `T0_MS` + 3 min;
 * the last price is seen at `T0_MS` + 590 s.
 */
export async function seedPaperStore(
  store: KvStore,
  run: RunRecord,
  ethSellPrice: string,
): Promise<void> {
  await store.putRunRecord(run);
  await store.openLedger("KRW-BTC", u("1000000"));
  await store.openLedger("KRW-ETH", u("1000000"));
  const at = T0_MS + 60_000;
  await store.applyFills(fillBatch("KRW-ETH", "bid", { price: "4000000", vol: "0.1", at }));
  await store.applyFills(
    fillBatch("KRW-ETH", "ask", { price: ethSellPrice, vol: "0.1", at: at + 60_000 }),
  );
  await store.applyFills(
    fillBatch("KRW-BTC", "bid", { price: "100000000", vol: "0.002", at: at + 120_000 }),
  );
  await store.putTraderState("bot-btc", {
    guard: null,
    levels: { stop: u("95000000"), target: u("110000000"), highestPx: 104_000_000, entryMs: at },
    cooldownUntilMs: 0,
    lastDecisionMs: 0,
    lastPrice: 103_000_000,
    lastPriceAtMs: T0_MS + 590_000,
    updatedAtMs: T0_MS + 590_000,
  });
}
