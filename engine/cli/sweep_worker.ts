/**
 * A sweep worker (a Web Worker): receives the data sets once (candles as columns), then batches
 * of parameter sets, and answers each batch with their metrics from the single backtest
 * (`evaluateSet`). It reads no files and keeps no state besides the data sets, so any worker
 * gives any set the same figures.
 */

import { runBacktest } from "../core/backtest.ts";
import type { Candle } from "../core/candle.ts";
import { computeMetrics } from "../core/metrics.ts";
import {
  evaluateSet,
  type ParamSet,
  SharedSeries,
  type SweepBase,
  sweepConfig,
  type SweepRow,
} from "../core/sweep.ts";
import { dailyReturns } from "../core/walk_forward.ts";
import { candlesFromColumns } from "./sweep_columns.ts";

/** A data set of a sweep. */
export interface SweepDataset {
  readonly name: string;
  readonly market: string;
  readonly candles: readonly Candle[];
}

/** A data set as the workers receive it: its candles as columns (`candleColumns`). */
export interface PostedDataset {
  readonly name: string;
  readonly market: string;
  readonly columns: Float64Array;
}

/** One backtest to run: a parameter set on a data set (by position). */
export interface SweepJob {
  readonly index: number;
  readonly dataset: number;
  readonly params: ParamSet;
}

/** What the pool sends a worker. */
export type ToWorker =
  | {
    readonly kind: "init";
    readonly datasets: readonly PostedDataset[];
    readonly base: SweepBase;
    /** Also answer each row's daily returns (for the deflated Sharpe ratio and CSCV). */
    readonly daily?: boolean;
  }
  | { readonly kind: "run"; readonly jobs: readonly SweepJob[] };

/** A row with its daily returns when the pool asked for them. */
export interface WorkerRow extends SweepRow {
  readonly daily?: Float64Array;
}

/** What a worker answers. */
export type FromWorker =
  | { readonly kind: "rows"; readonly rows: readonly WorkerRow[] }
  | { readonly kind: "error"; readonly message: string };

interface WorkerScope {
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
  postMessage(message: FromWorker): void;
}

const scope = globalThis as unknown as WorkerScope;
let datasets: readonly SweepDataset[] = [];
let base: SweepBase | null = null;
let daily = false;
/** One pair of output arrays per data set, reused by every backtest on it. */
let scratch: { equity: Float64Array; inPosition: Uint8Array }[] = [];
/** Indicator series per data set, shared by every set run on it. */
let shared: SharedSeries[] = [];

scope.onmessage = (event: MessageEvent<ToWorker>): void => {
  const message = event.data;
  if (message.kind === "init") {
    datasets = message.datasets.map((d) => ({
      name: d.name,
      market: d.market,
      candles: candlesFromColumns(d.columns),
    }));
    base = message.base;
    daily = message.daily === true;
    shared = datasets.map((d) => new SharedSeries(d.candles));
    scratch = datasets.map((d) => ({
      equity: new Float64Array(d.candles.length),
      inPosition: new Uint8Array(d.candles.length),
    }));
    return;
  }
  try {
    const rows: WorkerRow[] = [];
    for (const job of message.jobs) {
      const dataset = datasets[job.dataset]!;
      const setBase = { ...base!, market: dataset.market };
      const row = { index: job.index, dataset: dataset.name, params: job.params };
      if (daily) {
        const config = sweepConfig(setBase, job.params, shared[job.dataset]);
        const result = runBacktest(dataset.candles, config);
        rows.push({ ...row, metrics: computeMetrics(result), daily: dailyReturns(result) });
      } else {
        const metrics = evaluateSet(dataset.candles, {
          base: setBase,
          params: job.params,
          scratch: scratch[job.dataset],
          shared: shared[job.dataset],
        });
        rows.push({ ...row, metrics });
      }
    }
    scope.postMessage({ kind: "rows", rows });
  } catch (error) {
    scope.postMessage({ kind: "error", message: String(error) });
  }
};
