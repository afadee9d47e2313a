/**
 * The sweep's worker pool: N Web Workers, each given the data sets once, then fed small batches
 * of parameter sets as it finishes the previous one (so a slow worker never holds the run back).
 * Rows come back keyed by their index, so the result is the same whatever the number of workers.
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

/** How the pool runs. */
export interface PoolOptions {
  readonly workers: number;
  readonly base: SweepBase;
  /** Also return each row's daily returns (`WorkerRow.daily`). */
  readonly daily?: boolean;
  /** Called after each batch with the number of backtests done. */
  readonly onProgress?: (done: number, total: number) => void;
}

/** Runs every job on `workers` workers; resolves to the rows in job-index order. */
export async function runSweepPool(
  datasets: readonly SweepDataset[],
  jobs: readonly SweepJob[],
  options: PoolOptions,
): Promise<WorkerRow[]> {
  const count = Math.max(1, Math.min(options.workers, jobs.length));
  // Batches small enough to balance the load, big enough that messages cost nothing; smaller as
  // the jobs run out, so the workers finish together.
  const batchAt = (start: number): number =>
    Math.max(1, Math.min(16, Math.ceil((jobs.length - start) / (count * 4))));
  const rows: WorkerRow[] = new Array(jobs.length);
  const position = new Map(jobs.map((job, i) => [job.index, i]));
  let next = 0;
  let done = 0;
  const workers: Worker[] = [];
  const posted: PostedDataset[] = datasets.map((d) => ({
    name: d.name,
    market: d.market,
    columns: candleColumns(d.candles),
  }));
  try {
    await new Promise<void>((resolve, reject) => {
      let running = count;
      const feed = (worker: Worker): void => {
        if (next >= jobs.length) {
          if (--running === 0) resolve();
          return;
        }
        const slice = jobs.slice(next, next + batchAt(next));
        next += slice.length;
        worker.postMessage({ kind: "run", jobs: slice } satisfies ToWorker);
      };
      for (let w = 0; w < count; w++) {
        const worker = new Worker(new URL("./sweep_worker.ts", import.meta.url), {
          type: "module",
        });
        workers.push(worker);
        worker.onmessage = (event: MessageEvent<FromWorker>) => {
          const message = event.data;
          if (message.kind === "error") {
            reject(new Error(message.message));
            return;
          }
          for (const row of message.rows) rows[position.get(row.index)!] = row;
          done += message.rows.length;
          options.onProgress?.(done, jobs.length);
          feed(worker);
        };
        worker.onerror = (event: ErrorEvent) => {
          event.preventDefault();
          reject(new Error(event.message));
        };
        worker.postMessage(
          {
            kind: "init",
            datasets: posted,
            base: options.base,
            daily: options.daily,
          } satisfies ToWorker,
        );
        feed(worker);
      }
    });
  } finally {
    for (const worker of workers) worker.terminate();
  }
  return rows;
}
