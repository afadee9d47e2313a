/**
 * The sweep's worker pool: N Web Workers, each given the data sets once, then fed small batches
 * of parameter sets as it finishes the previous one (so a slow worker never holds the run back).
 * Rows come back keyed by their index, so the result is the same whatever the number of workers.
 * A pool can serve several runs: its workers keep their data sets and their compiled code.
 */

import type { SweepBase } from "../core/sweep.ts";
import { candleColumns } from "./sweep_columns.ts";
import type {
  FromWorker,
  PostedDataset,
  SweepDataset,
  SweepJob,
  ToWorker,
  WorkerRow,
} from "./sweep_worker.ts";

/** How a pool's workers evaluate sets. */
export interface PoolSetup {
  readonly workers: number;
  readonly base: SweepBase;
  /** Also return each row's daily returns (`WorkerRow.daily`). */
  readonly daily?: boolean;
}

/** How one run uses the pool. */
export interface RunOptions {
  /** How many of the pool's workers take part (default: all). */
  readonly workers?: number;
  /** Called after each batch with the number of backtests done. */
  readonly onProgress?: (done: number, total: number) => void;
}

/** How `runSweepPool` runs. */
export type PoolOptions = PoolSetup & Pick<RunOptions, "onProgress">;

/** Workers that keep their data sets between runs. */
export interface SweepPool {
  /** Runs every job; resolves to the rows in job-index order. One run at a time. */
  run(jobs: readonly SweepJob[], options?: RunOptions): Promise<WorkerRow[]>;
  /** Stops every worker. */
  close(): void;
}

/** Starts `setup.workers` workers (at least one) and gives each the data sets. */
export function openSweepPool(
  datasets: readonly SweepDataset[],
  setup: PoolSetup,
): SweepPool {
  const posted: PostedDataset[] = datasets.map((d) => ({
    name: d.name,
    market: d.market,
    columns: candleColumns(d.candles),
  }));
  const workers: Worker[] = [];
  for (let w = 0; w < Math.max(1, setup.workers); w++) {
    const worker = new Worker(new URL("./sweep_worker.ts", import.meta.url), { type: "module" });
    worker.postMessage(
      { kind: "init", datasets: posted, base: setup.base, daily: setup.daily } satisfies ToWorker,
    );
    workers.push(worker);
  }
  let busy = false;
  let failed = false;
  const close = () => {
    for (const worker of workers) worker.terminate();
  };
  return {
    async run(jobs, options = {}) {
      if (failed) throw new Error("Cannot run the sweep pool: a worker failed");
      if (busy) throw new Error("Cannot run the sweep pool: a run is in progress");
      busy = true;
      try {
        return await runOn(workers.slice(0, options.workers ?? workers.length), jobs, options);
      } catch (error) {
        // Batches still queued would answer into the next run: the pool is done.
        failed = true;
        close();
        throw error;
      } finally {
        busy = false;
      }
    },
    close,
  };
}

/**
 * Batches queued per worker: a worker finds its next batch waiting when it answers one, instead
 * of idling until the main thread (which competes with the workers for the cores) gets to run.
 */
const QUEUED = 2;

/** Runs every job on a pool of `options.workers` workers, then stops them. */
export async function runSweepPool(
  datasets: readonly SweepDataset[],
  jobs: readonly SweepJob[],
  options: PoolOptions,
): Promise<WorkerRow[]> {
  const pool = openSweepPool(datasets, {
    ...options,
    workers: Math.max(1, Math.min(options.workers, jobs.length)),
  });
  try {
    return await pool.run(jobs, { onProgress: options.onProgress });
  } finally {
    pool.close();
  }
}

function runOn(
  workers: readonly Worker[],
  jobs: readonly SweepJob[],
  options: RunOptions,
): Promise<WorkerRow[]> {
  const count = Math.max(1, Math.min(workers.length, jobs.length));
  // Batches small enough to balance the load, big enough that messages cost nothing; smaller as
  // the jobs run out, so the workers finish together.
  const batchAt = (start: number): number =>
    Math.max(1, Math.min(16, Math.ceil((jobs.length - start) / (count * QUEUED * 4))));
  const rows: WorkerRow[] = new Array(jobs.length);
  const position = new Map(jobs.map((job, i) => [job.index, i]));
  let next = 0;
  let done = 0;
  return new Promise<WorkerRow[]>((resolve, reject) => {
    if (jobs.length === 0) resolve(rows);
    const feed = (worker: Worker): void => {
      if (next >= jobs.length) return;
      const slice = jobs.slice(next, next + batchAt(next));
      next += slice.length;
      worker.postMessage({ kind: "run", jobs: slice } satisfies ToWorker);
    };
    for (const worker of workers.slice(0, count)) {
      worker.onmessage = (event: MessageEvent<FromWorker>) => {
        const message = event.data;
        if (message.kind === "error") {
          reject(new Error(message.message));
          return;
        }
        feed(worker);
        for (const row of message.rows) rows[position.get(row.index)!] = row;
        done += message.rows.length;
        options.onProgress?.(done, jobs.length);
        if (done === jobs.length) resolve(rows);
      };
      worker.onerror = (event: ErrorEvent) => {
        event.preventDefault();
        reject(new Error(event.message));
      };
      for (let q = 0; q < QUEUED; q++) feed(worker);
    }
  });
}
