/**
 * Sweep throughput: 1,000 BB parameter sets (period × std × stop × target) over the bundled
 * KRW-BTC 30-minute file through the sweep's worker pool, each set the single backtest with its
 * metrics. Candle-steps per second with one worker (the per-core rate), and the speed-up of two
 * workers over one in the same run.
 */

import process from "node:process";
import { loadCandleFile } from "../engine/adapters/candle_file.ts";
import { runSweepPool } from "../engine/cli/sweep_pool.ts";
import { gridSets } from "../engine/core/sweep.ts";
import { BTC_SWEEP_BASE } from "../tests/engine/cli/_sweep_harness.ts";

/** What the sweep bench measured. */
export interface SweepBench {
  readonly sets: number;
  readonly candles: number;
  readonly sweep_candles_per_sec: number;
  readonly sweep_candles_per_sec_2_workers: number;
  readonly sweep_speedup_2_workers: number;
  /** Candle-steps per second of process CPU time with one worker (less sensitive to load). */
  readonly sweep_candles_per_cpu_sec: number;
  /**
   * The best speed-up two idle cores could give: 2 × the process CPU time of the 1-worker run ÷
   * that of the 2-worker run (each worker starts, loads and warms up its own JIT: CPU the
   * second worker adds). Independent of the machine's load, unlike the wall-clock speed-up.
   */
  readonly sweep_speedup_cpu_bound: number;
  /** The 1-minute load average when the bench ended (the machine may be shared). */
  readonly load_average_1m: number;
}

const SOURCE = new URL("../data/upbit-KRW-BTC-30m-20240123-20250127.csv", import.meta.url);

/** The bench's 1,000 sets: 10 periods × 10 widths × 5 stops × 2 targets. */
export const BENCH_SPACE = {
  period: [10, 15, 20, 25, 30, 35, 40, 45, 50, 55],
  std: [1.5, 1.75, 2, 2.25, 2.5, 2.75, 3, 3.25, 3.5, 3.75],
  "stop-loss": [2, 3, 5, 8, 10],
  "take-profit": [5, 10],
};

/** Runs the sweep bench (best of `runs` per worker count, alternating 1 and 2 workers). */
export async function benchSweep(runs = 2): Promise<SweepBench> {
  const candles = await loadCandleFile(SOURCE.pathname);
  const sets = gridSets(BENCH_SPACE);
  const jobs = sets.map((params, index) => ({ index, dataset: 0, params }));
  const datasets = [{ name: "KRW-BTC 30m", market: "KRW-BTC", candles }];
  const cpu = [Infinity, Infinity, Infinity];
  const time = async (workers: number) => {
    const c = process.cpuUsage();
    const t = performance.now();
    await runSweepPool(datasets, jobs, { workers, base: BTC_SWEEP_BASE });
    const used = process.cpuUsage(c);
    cpu[workers] = Math.min(cpu[workers]!, (used.user + used.system) / 1e6);
    return (performance.now() - t) / 1000;
  };
  let one = Infinity;
  let two = Infinity;
  for (let r = 0; r < runs; r++) {
    one = Math.min(one, await time(1));
    two = Math.min(two, await time(2));
  }
  const steps = sets.length * candles.length;
  return {
    sets: sets.length,
    candles: candles.length,
    sweep_candles_per_sec: Math.round(steps / one),
    sweep_candles_per_sec_2_workers: Math.round(steps / two),
    sweep_speedup_2_workers: Math.round((one / two) * 100) / 100,
    sweep_candles_per_cpu_sec: Math.round(steps / cpu[1]!),
    sweep_speedup_cpu_bound: Math.round((2 * cpu[1]! / cpu[2]!) * 100) / 100,
    load_average_1m: Deno.loadavg()[0]!,
  };
}

if (import.meta.main) {
  // deno-lint-ignore no-console
  console.log(await benchSweep(1));
}
