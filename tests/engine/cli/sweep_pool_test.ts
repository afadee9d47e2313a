import assert from "node:assert/strict";
import fc from "fast-check";
import { loadCandleFile } from "../../../engine/adapters/candle_file.ts";
import { parseBacktestArgs } from "../../../engine/cli/backtest_args.ts";
import { openSweepPool, runSweepPool } from "../../../engine/cli/sweep_pool.ts";
import { runBacktest } from "../../../engine/core/backtest.ts";
import { computeMetrics } from "../../../engine/core/metrics.ts";
import { unitsFromNumber } from "../../../engine/core/money.ts";
import { createStrategy } from "../../../engine/core/strategies/mod.ts";
import type { ParamSet } from "../../../engine/core/sweep.ts";
import { BTC_SWEEP_BASE } from "./_sweep_harness.ts";

const FILE = new URL("../../../data/upbit-KRW-BTC-30m-20240123-20250127.csv", import.meta.url);
// 3,000 half-hours (about two months): enough for dozens of trades, quick in a test.
const candles = (await loadCandleFile(FILE.pathname)).slice(0, 3000);
const datasets = [{ name: "KRW-BTC 30m", market: "KRW-BTC", candles }];

/** The figures `deno task backtest` computes for the same flags, one run at a time. */
function singleBacktest(params: ParamSet) {
  const args = Object.entries(params).flatMap(([k, v]) => [`--${k}`, String(v)]);
  const parsed = parseBacktestArgs([...args, "--timeframe", "30m"]);
  assert.ok(parsed.ok, JSON.stringify(parsed));
  const o = parsed.value;
  return computeMetrics(runBacktest(candles, {
    market: "KRW-BTC",
    strategy: createStrategy(o.strategy, o.strategyParams),
    rules: o.rules,
    feeBps: o.feeBps,
    slippageBps: o.slippageBps,
    capital: unitsFromNumber(o.capitalKrw),
  }));
}

const paramSet = fc.record({
  period: fc.integer({ min: 2, max: 60 }),
  std: fc.integer({ min: 2, max: 16 }).map((q) => q / 4),
  "stop-loss": fc.integer({ min: 0, max: 20 }).map((q) => q / 2),
  "take-profit": fc.integer({ min: 0, max: 40 }).map((q) => q / 2),
  "trailing-stop": fc.constantFrom(0, 1, 3),
  "cooldown-hours": fc.constantFrom(0, 2, 12),
  "max-daily-loss": fc.constantFrom(0, 3, 10),
}, { requiredKeys: ["period", "std"] });

Deno.test("the sweep's rows equal single backtests run one by one, with 1 or 2 workers", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(paramSet, { minLength: 1, maxLength: 6 }),
      fc.constantFrom(1, 2),
      async (sets, workers) => {
        const jobs = sets.map((params, index) => ({ index, dataset: 0, params }));
        const rows = await runSweepPool(datasets, jobs, { workers, base: BTC_SWEEP_BASE });
        assert.equal(rows.length, sets.length);
        rows.forEach((row, i) => {
          assert.equal(row.index, i);
          assert.deepEqual(row.params, { ...sets[i] });
          assert.deepEqual(row.metrics, singleBacktest(sets[i]!));
        });
      },
    ),
    { numRuns: 12, seed: 14 },
  );
});

Deno.test("the sweep's result does not depend on the number of workers", async () => {
  const sets = fc.sample(paramSet, { numRuns: 24, seed: 7 });
  const jobs = sets.map((params, index) => ({ index, dataset: 0, params }));
  let progress = 0;
  const one = await runSweepPool(datasets, jobs, { workers: 1, base: BTC_SWEEP_BASE });
  const two = await runSweepPool(datasets, jobs, {
    workers: 2,
    base: BTC_SWEEP_BASE,
    onProgress: (done, total) => {
      assert.equal(total, 24);
      progress = done;
    },
  });
  assert.deepEqual(two, one);
  assert.equal(progress, 24);
  // Different parameter sets give different figures: the comparison above is not vacuous.
  assert.ok(new Set(one.map((r) => r.metrics.totalReturnPct)).size > 1);
});

Deno.test("a pool serves run after run with any share of its workers, the same rows as a fresh pool", async () => {
  const sets = fc.sample(paramSet, { numRuns: 16, seed: 21 });
  const jobs = sets.map((params, index) => ({ index, dataset: 0, params }));
  const fresh = await runSweepPool(datasets, jobs, { workers: 1, base: BTC_SWEEP_BASE });
  const pool = openSweepPool(datasets, { workers: 2, base: BTC_SWEEP_BASE });
  try {
    for (const workers of [2, 1, 2]) {
      assert.deepEqual(await pool.run(jobs, { workers }), fresh);
    }
    // The second half alone: rows keyed by the jobs' own indexes, in their order.
    const half = await pool.run(jobs.slice(8));
    assert.deepEqual(half, fresh.slice(8));
    const first = pool.run(jobs);
    await assert.rejects(pool.run(jobs), /a run is in progress/);
    assert.deepEqual(await first, fresh);
  } finally {
    pool.close();
  }
});

Deno.test("a worker's failure rejects the sweep and stops every worker", async () => {
  const jobs = [{ index: 0, dataset: 5, params: { period: 20 } }];
  await assert.rejects(runSweepPool(datasets, jobs, { workers: 2, base: BTC_SWEEP_BASE }));
  // A pool whose worker failed refuses the next run (queued batches would answer into it).
  const pool = openSweepPool(datasets, { workers: 2, base: BTC_SWEEP_BASE });
  try {
    await assert.rejects(pool.run(jobs));
    await assert.rejects(pool.run([{ index: 0, dataset: 0, params: { period: 20 } }]), /failed/);
  } finally {
    pool.close();
  }
});
