/**
 * A sweep worker (a Web Worker): receives the data sets once, then batches of parameter sets, and
 * answers each batch with their metrics from the single backtest (`evaluateSet`). It reads no
 * files and keeps no state besides the data sets, so any worker gives any set the same figures.
 */

import type { Candle } from "../core/candle.ts";
import { evaluateSet, type ParamSet, type SweepBase, type SweepRow } from "../core/sweep.ts";

/** A data set as the workers receive it. */
export interface SweepDataset {
  readonly name: string;
  readonly market: string;
  readonly candles: readonly Candle[];
}

/** One backtest to run: a parameter set on a data set (by position). */
export interface SweepJob {
  readonly index: number;
  readonly dataset: number;
  readonly params: ParamSet;
}

/** What the pool sends a worker. */
export type ToWorker =
  | { readonly kind: "init"; readonly datasets: readonly SweepDataset[]; readonly base: SweepBase }
  | { readonly kind: "run"; readonly jobs: readonly SweepJob[] };

/** What a worker answers. */
export type FromWorker =
  | { readonly kind: "rows"; readonly rows: readonly SweepRow[] }
  | { readonly kind: "error"; readonly message: string };

interface WorkerScope {
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
  postMessage(message: FromWorker): void;
}

const scope = globalThis as unknown as WorkerScope;
let datasets: readonly SweepDataset[] = [];
let base: SweepBase | null = null;

scope.onmessage = (event: MessageEvent<ToWorker>): void => {
  const message = event.data;
  if (message.kind === "init") {
    datasets = message.datasets;
    base = message.base;
    return;
  }
  try {
    const rows: SweepRow[] = [];
    for (const job of message.jobs) {
      const dataset = datasets[job.dataset]!;
      const metrics = evaluateSet(dataset.candles, {
        base: { ...base!, market: dataset.market },
        params: job.params,
      });
      rows.push({ index: job.index, dataset: dataset.name, params: job.params, metrics });
    }
    scope.postMessage({ kind: "rows", rows });
  } catch (error) {
    scope.postMessage({ kind: "error", message: String(error) });
  }
};
