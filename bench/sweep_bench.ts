/**
 * Sweep throughput: 1,000 BB parameter sets (period × std × stop × target) over the bundled
 * KRW-BTC 30-minute file through the sweep's worker pool, each set the single backtest with its
 * metrics. Measured two ways in the same run: inside a sweep (one pool whose workers have already
 * run every set once: the steady rate of a long sweep), and cold (a new pool per run, as one
 * `deno task sweep` of 1,000 sets: each worker's start and JIT warm-up included). `deno task
 * bench` runs it in a process of its own with the V8 flags of the sweep task (`deno.json`).
 */

import process from "node:process";
import { loadCandleFile } from "../engine/adapters/candle_file.ts";
import { openSweepPool, runSweepPool } from "../engine/cli/sweep_pool.ts";
import { gridSets } from "../engine/core/sweep.ts";
import { BTC_SWEEP_BASE } from "../tests/engine/cli/_sweep_harness.ts";

/** What the sweep bench measured. */
export interface SweepBench {
  readonly sets: number;
  readonly candles: number;
  /** Candle-steps per second inside a sweep with one worker (the per-core rate). */
  readonly sweep_candles_per_sec: number;
  readonly sweep_candles_per_sec_2_workers: number;
  /** Two workers over one inside a sweep. */
  readonly sweep_speedup_2_workers: number;
  /** Candle-steps per second of process CPU time inside a sweep with one worker. */
  readonly sweep_candles_per_cpu_sec: number;
  /**
   * Candle-steps per second of one cold 1,000-set sweep with one worker (a new worker: its
   * start, data and JIT warm-up included).
   */
  readonly sweep_candles_per_sec_cold: number;
  /**
   * Two new workers over one new worker for one 1,000-set sweep. Each new worker compiles the
   * engine's hot code itself (V8 compiles on helper threads, which a lone worker runs on the
   * idle core), so on two cores a short cold sweep gains less than a long one.
   */
  readonly sweep_speedup_2_workers_cold: number;
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

/** Runs the sweep bench: best of `runs` per figure, alternating 1 and 2 workers. */
export async function benchSweep(runs = 3): Promise<SweepBench> {
  const candles = await loadCandleFile(SOURCE.pathname);
  const sets = gridSets(BENCH_SPACE);
  const jobs = sets.map((params, index) => ({ index, dataset: 0, params }));
  const datasets = [{ name: "KRW-BTC 30m", market: "KRW-BTC", candles }];
  const steps = sets.length * candles.length;
  const timed = async (work: () => Promise<unknown>) => {
    const cpu = process.cpuUsage();
    const start = performance.now();
    await work();
    const used = process.cpuUsage(cpu);
    return { wall: (performance.now() - start) / 1000, cpu: (used.user + used.system) / 1e6 };
  };
  const best = {
    one: Infinity,
    two: Infinity,
    oneCpu: Infinity,
    coldOne: Infinity,
    coldTwo: Infinity,
  };

  const pool = openSweepPool(datasets, { workers: 2, base: BTC_SWEEP_BASE });
  try {
    // Both workers run every set once before the clock starts.
    await pool.run(jobs);
    await pool.run(jobs);
    for (let r = 0; r < runs; r++) {
      const one = await timed(() => pool.run(jobs, { workers: 1 }));
      best.one = Math.min(best.one, one.wall);
      best.oneCpu = Math.min(best.oneCpu, one.cpu);
      best.two = Math.min(best.two, (await timed(() => pool.run(jobs, { workers: 2 }))).wall);
    }
  } finally {
    pool.close();
  }
  for (let r = 0; r < runs; r++) {
    const cold = (workers: number) =>
      timed(() => runSweepPool(datasets, jobs, { workers, base: BTC_SWEEP_BASE }));
    best.coldOne = Math.min(best.coldOne, (await cold(1)).wall);
    best.coldTwo = Math.min(best.coldTwo, (await cold(2)).wall);
  }
  const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
  return {
    sets: sets.length,
    candles: candles.length,
    sweep_candles_per_sec: Math.round(steps / best.one),
    sweep_candles_per_sec_2_workers: Math.round(steps / best.two),
    sweep_speedup_2_workers: ratio(best.one, best.two),
    sweep_candles_per_cpu_sec: Math.round(steps / best.oneCpu),
    sweep_candles_per_sec_cold: Math.round(steps / best.coldOne),
    sweep_speedup_2_workers_cold: ratio(best.coldOne, best.coldTwo),
    load_average_1m: Deno.loadavg()[0]!,
  };
}

const ROOT = new URL("../", import.meta.url);

/** The `--v8-flags=…` arguments of `deno task sweep` in `deno.json`. */
export async function sweepTaskV8Flags(): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  const task: string = config.tasks.sweep;
  return task.split(/\s+/).filter((arg) => arg.startsWith("--v8-flags="));
}

/** `benchSweep` in a child process started with the sweep task's V8 flags, as users run it. */
export async function benchSweepAsTheTaskRuns(): Promise<SweepBench> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--lock=deno.test.lock",
      "--allow-all",
      ...await sweepTaskV8Flags(),
      new URL(import.meta.url).pathname,
      "--json",
    ],
    cwd: ROOT,
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error(`The sweep bench failed (exit ${out.code})`);
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

if (import.meta.main) {
  const result = await benchSweep();
  // deno-lint-ignore no-console
  console.log(Deno.args.includes("--json") ? JSON.stringify(result) : result);
}
