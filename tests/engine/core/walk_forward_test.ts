import assert from "node:assert/strict";
import fc from "fast-check";
import { loadCandleFile } from "../../../engine/adapters/candle_file.ts";
import { runBacktest } from "../../../engine/core/backtest.ts";
import { unitsFromNumber } from "../../../engine/core/money.ts";
import { DEFAULT_RISK_RULES } from "../../../engine/core/risk.ts";
import { createStrategy } from "../../../engine/core/strategies/mod.ts";
import {
  outOfSampleBacktest,
  planFolds,
  quantile,
  stitchOutOfSample,
  tradeOrderDrawdowns,
} from "../../../engine/core/walk_forward.ts";

const FILE = new URL("../../../data/upbit-KRW-BTC-1d.csv", import.meta.url);
const candles = await loadCandleFile(FILE.pathname);

function config(period: number) {
  return {
    market: "KRW-BTC",
    strategy: createStrategy("bb", { period, std: 2 }),
    rules: DEFAULT_RISK_RULES,
    feeBps: 5,
    slippageBps: 5,
    capital: unitsFromNumber(1_000_000),
  };
}

Deno.test("planFolds() rolls or anchors the in-sample window and steps by the out-of-sample one", () => {
  assert.deepEqual(planFolds(10, { inSampleBars: 4, outOfSampleBars: 3, anchored: false }), [
    { isFrom: 0, isTo: 4, oosFrom: 4, oosTo: 7 },
    { isFrom: 3, isTo: 7, oosFrom: 7, oosTo: 10 },
  ]);
  assert.deepEqual(planFolds(9, { inSampleBars: 4, outOfSampleBars: 3, anchored: true }), [
    { isFrom: 0, isTo: 4, oosFrom: 4, oosTo: 7 },
    { isFrom: 0, isTo: 7, oosFrom: 7, oosTo: 9 },
  ]);
  assert.deepEqual(planFolds(4, { inSampleBars: 4, outOfSampleBars: 3, anchored: true }), []);
});

Deno.test("out-of-sample windows tile the data and never overlap their in-sample window", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 500 }),
      fc.integer({ min: 1, max: 200 }),
      fc.integer({ min: 1, max: 200 }),
      fc.boolean(),
      (count, inSampleBars, outOfSampleBars, anchored) => {
        const folds = planFolds(count, { inSampleBars, outOfSampleBars, anchored });
        let next = inSampleBars;
        for (const f of folds) {
          assert.equal(f.oosFrom, next);
          assert.ok(f.isTo === f.oosFrom && f.isFrom >= 0 && f.oosTo > f.oosFrom);
          next = f.oosTo;
        }
        assert.equal(folds.length === 0 ? count <= inSampleBars : next === count, true);
      },
    ),
  );
});

Deno.test("an out-of-sample backtest trades from the window's first close, warmed up before it", () => {
  const fold = { isFrom: 0, isTo: 1000, oosFrom: 1000, oosTo: 1400 };
  const run = outOfSampleBacktest(candles, { fold, config: config(20) });
  assert.equal(run.warmup, 19);
  assert.equal(run.equity.length, 400);
  assert.ok(run.trades.length > 0);
  const startMs = candles[1000]!.startMs;
  for (const t of run.trades) assert.ok(t.entryMs > startMs);
  // The warm-up candles are the ones just before the window: same signals as a longer run
  // started there would make from the window on.
  assert.equal(run.result.candles[19], candles[1000]);
});

Deno.test("one fold stitched is its own backtest's curve; folds chain their equity", () => {
  const folds = planFolds(candles.length, {
    inSampleBars: 700,
    outOfSampleBars: 365,
    anchored: false,
  });
  const runs = folds.map((fold) => outOfSampleBacktest(candles, { fold, config: config(20) }));
  const one = stitchOutOfSample(candles, {
    folds: [folds[0]!],
    runs: [runs[0]!],
    capital: 1_000_000,
    costBps: 10,
  });
  one.equity.forEach((v, i) => assert.ok(Math.abs(v - runs[0]!.equity[i]!) < 1e-6));
  const all = stitchOutOfSample(candles, { folds, runs, capital: 1_000_000, costBps: 10 });
  let k = 0;
  let level = 1_000_000;
  folds.forEach((fold, f) => {
    const n = fold.oosTo - fold.oosFrom;
    const last = all.equity[k + n - 1]!;
    const expected = (level * runs[f]!.equity[n - 1]!) / 1_000_000;
    assert.ok(Math.abs(last - expected) < 1e-6 * expected);
    level = last;
    k += n;
  });
  assert.equal(all.metrics.trades, runs.reduce((n, r) => n + r.trades.length, 0));
  // Buy-and-hold over the stitched span: first out-of-sample open to last close.
  const first = candles[folds[0]!.oosFrom]!.open;
  const lastClose = candles[candles.length - 1]!.close;
  const hold = (lastClose * 0.999) / (first * 1.001) - 1;
  assert.ok(Math.abs(all.holdMetrics.totalReturnPct / 100 - hold) < 1e-9);
});

Deno.test("tradeOrderDrawdowns() is seeded and bounded by the trades", () => {
  const returns = [5, -3, 2, -8, 4, 1, -2, 6, -1, 3];
  const a = tradeOrderDrawdowns(returns, { runs: 500, seed: 9 });
  const b = tradeOrderDrawdowns(returns, { runs: 500, seed: 9 });
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.simulated, tradeOrderDrawdowns(returns, { runs: 500, seed: 10 }).simulated);
  // Every order loses at least the worst single trade and at most all losers in a row.
  const allLosers = (1 - (0.97 * 0.92 * 0.98 * 0.99)) * 100;
  assert.ok(a.simulated[0]! >= 8 - 1e-9 && a.simulated[499]! <= allLosers + 1e-9);
  assert.ok(quantile(a.simulated, 0.05) <= quantile(a.simulated, 0.95));
  assert.equal(tradeOrderDrawdowns([1, 2, 3], { runs: 10, seed: 1 }).simulated[9], 0);
});

Deno.test("a fold's run equals the single backtest over the same candles", () => {
  const fold = { isFrom: 0, isTo: 500, oosFrom: 500, oosTo: 900 };
  const run = outOfSampleBacktest(candles, { fold, config: config(30) });
  const single = runBacktest(candles.slice(471, 900), config(30));
  assert.deepEqual(run.result.equity, single.equity);
});
