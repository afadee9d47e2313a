import assert from "node:assert/strict";
import { loadCandleFile } from "../../../../engine/adapters/candle_file.ts";
import { runBacktest } from "../../../../engine/core/backtest.ts";
import type { Candle } from "../../../../engine/core/candle.ts";
import { decideOnClose } from "../../../../engine/core/decide.ts";
import { unitsFromNumber } from "../../../../engine/core/money.ts";
import { DEFAULT_RISK_RULES } from "../../../../engine/core/risk.ts";
import { createStrategy } from "../../../../engine/core/strategies/mod.ts";

const candles = await loadCandleFile(
  new URL("../../../../data/upbit-KRW-BTC-1d.csv", import.meta.url).pathname,
);

function backtest(params: Record<string, number>) {
  return runBacktest(candles, {
    market: "KRW-BTC",
    strategy: createStrategy("bb", { period: 20, std: 2, ...params }),
    rules: DEFAULT_RISK_RULES,
    feeBps: 5,
    slippageBps: 5,
    capital: unitsFromNumber(1_000_000),
  });
}

function sma(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

Deno.test("filters off: the very same strategy and the very same backtest", () => {
  const plain = createStrategy("bb", {});
  const off = createStrategy("bb", { "trend-days": 0, "max-volatility": 0, "min-volume": 0 });
  assert.equal(off.name, plain.name);
  assert.deepEqual(backtest({ "trend-days": 0 }).fills, backtest({}).fills);
});

Deno.test("the trend filter enters only above the N-day SMA, and says so when it refuses", () => {
  const result = backtest({ "trend-days": 100 });
  const plain = backtest({});
  assert.ok(result.trades.length > 0 && result.trades.length < plain.trades.length);
  const index = new Map(candles.map((c, i) => [c.startMs, i]));
  for (const t of result.trades) {
    // The signal was the candle before the entry's.
    const i = index.get(t.entryMs)! - 1;
    const closes = candles.slice(i - 99, i + 1).map((c) => c.close);
    assert.ok(candles[i]!.close > sma(closes), `entry on ${new Date(t.entryMs).toISOString()}`);
  }
  const refused = result.signals.filter((s) => /not entered: trend filter/.test(s.reason));
  assert.ok(refused.length > 0);
  assert.ok(refused.every((s) => !s.executed && s.action === "buy"));
});

Deno.test("the volume and volatility filters refuse entries; exits are never filtered", () => {
  const none = backtest({ "min-volume": 1e15 });
  assert.equal(none.trades.length, 0);
  assert.ok(none.signals.every((s) => /volume filter: traded .* KRW < /.test(s.reason)));
  const calm = backtest({ "max-volatility": 2 });
  assert.ok(calm.trades.length < backtest({}).trades.length);
  assert.ok(calm.signals.some((s) => /volatility filter: σ \d+\.\d+% > 2%/.test(s.reason)));
  const sell = { action: "sell" as const, reason: "up", entryBlock: "never mind" };
  const guard = { dayStartMs: 0, startEquity: 1, blocked: false };
  assert.equal(
    decideOnClose(sell, { holding: "long", guard, nowMs: 0, cooldownUntilMs: 0 }).kind,
    "exit",
  );
  const buy = { action: "buy" as const, reason: "down", entryBlock: "trend filter: x" };
  assert.deepEqual(decideOnClose(buy, { holding: "flat", guard, nowMs: 0, cooldownUntilMs: 0 }), {
    kind: "skip",
    reason: "down; not entered: trend filter: x",
  });
});

Deno.test("a filtered strategy's name says which filters are on; bad values throw", () => {
  const s = createStrategy("rsi", { "trend-days": 200, "min-volume": 1e9 });
  assert.equal(s.name, "rsi(14, 30, 70) [above 200d SMA, volume ≥ 1000000000 KRW]");
  assert.throws(() => createStrategy("bb", { "trend-days": -1 }));
  assert.throws(() => createStrategy("bb", { "max-volatility": 101 }));
  const c: Candle = { startMs: 0, open: 1, high: 1, low: 1, close: 1, volume: 1, value: 1 };
  assert.equal(s.update(c, "flat").action, "hold");
});
