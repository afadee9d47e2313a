/**
 * Tests of the status text: with several markets under one cap, the account's cash is shown
 * once and no market shows its ledger's cash (each ledger sees the whole cap).
 */

import assert from "node:assert/strict";
import { formatStatus } from "../../../engine/cli/status_text.ts";
import type { BotStatus } from "../../../engine/mod.ts";

type MarketStatus = BotStatus["markets"][number];

function market(name: string, overrides: Partial<MarketStatus> = {}): MarketStatus {
  return {
    botId: `bot-${name}`,
    market: name,
    position: null,
    cash: "98000",
    equity: 98_000,
    unrealizedPnl: 0,
    realizedPnl: "0",
    fees: "0",
    openIntents: [],
    lastPrice: 3_000,
    lastPriceAtMs: Date.UTC(2025, 0, 2),
    dailyPnl: "0",
    dailyLossBlocked: false,
    pnl: 0,
    ...overrides,
  };
}

function status(markets: readonly MarketStatus[], capitalKrw: string | null): BotStatus {
  return {
    botId: "bot",
    mode: "live",
    running: true,
    paused: false,
    safeMode: false,
    halted: false,
    reason: "",
    changedAtMs: 0,
    startedAtMs: 0,
    endedAtMs: null,
    paramsVersion: 1,
    dayStartMs: Date.UTC(2022, 5, 2),
    markets,
    account: {
      cash: "89790",
      positionsCost: "10000",
      equity: 99_850,
      unrealizedPnl: 60,
      realizedPnl: "-210",
      fees: "10",
      dailyPnl: "-210",
      openPositions: 1,
      openOrders: 0,
      reservedKrw: "0",
      committedKrw: "10000",
      dailyLossBlocked: false,
      capitalKrw,
      pnl: -150,
    },
  };
}

const HOLDING = market("KRW-XRP", {
  position: {
    volume: "3.33333333",
    avgPrice: "3000",
    cost: "10000",
    stop: null,
    target: null,
    trailingStop: null,
    entryMs: Date.UTC(2025, 0, 2),
  },
  cash: "88000",
  equity: 98_060,
  unrealizedPnl: 60,
});

Deno.test("formatStatus() shows the account's cash once with several markets under one cap", () => {
  const text = formatStatus(status([market("KRW-BTC"), market("KRW-ETH"), HOLDING], "100000"));
  assert.doesNotMatch(text, /98,000|88,000/);
  assert.equal(text.match(/cash /g)?.length, 1);
  assert.match(text, /account \(3 markets\): cash 89,790 KRW/);
  assert.match(text, /KRW-XRP[^]*position value: 10,060 KRW/);
  assert.match(text, /KRW-BTC[^]*position value: 0 KRW/);
});

Deno.test("formatStatus() keeps one market's cash and equity", () => {
  const text = formatStatus(status([HOLDING], "100000"));
  assert.ok(text.includes("  cash: 88,000 KRW, equity 98,060 KRW"), text);
});
