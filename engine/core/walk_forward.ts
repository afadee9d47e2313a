/**
 * Walk-forward analysis, pure: the folds (rolling or anchored in-sample windows, each followed by
 * its out-of-sample window), the out-of-sample backtest of a fold (the single backtest over the
 * window, its indicators warmed up on the candles just before it, so it trades from the window's
 * first close), the stitched out-of-sample equity curve and its metrics beside buy-and-hold, and
 * a seeded Monte Carlo of the trades' order for the drawdown distribution.
 */

import {
  type BacktestConfig,
  type BacktestResult,
  type RoundTrip,
  runBacktest,
} from "./backtest.ts";
import { type Candle, DAY_MS } from "./candle.ts";
import { dailyEquity, maxDrawdownPct, sharpeSortino } from "./metrics.ts";
import { unitsToNumber } from "./money.ts";
import { mulberry32 } from "./prng.ts";
import type { Cscv, DeflatedSharpe } from "./overfitting.ts";
import type { SortMetric, SweepRow } from "./sweep.ts";

/** One fold: candle index ranges [from, to) of its in-sample and out-of-sample windows. */
export interface Fold {
  readonly isFrom: number;
  readonly isTo: number;
  readonly oosFrom: number;
  readonly oosTo: number;
}

/**
 * The folds over `count` candles: in-sample windows of `inSampleBars` (anchored: from the first
 * candle, growing), each followed by `outOfSampleBars` out of sample; the windows step by the
 * out-of-sample length, and the last one may be shorter.
 */
export function planFolds(
  count: number,
  options: {
    readonly inSampleBars: number;
    readonly outOfSampleBars: number;
    readonly anchored: boolean;
  },
): Fold[] {
  const { inSampleBars, outOfSampleBars, anchored } = options;
  if (inSampleBars < 1 || outOfSampleBars < 1) {
    throw new RangeError("Cannot plan folds: window lengths must be >= 1");
  }
  const folds: Fold[] = [];
  for (let oosFrom = inSampleBars; oosFrom < count; oosFrom += outOfSampleBars) {
    folds.push({
      isFrom: anchored ? 0 : oosFrom - inSampleBars,
      isTo: oosFrom,
      oosFrom,
      oosTo: Math.min(count, oosFrom + outOfSampleBars),
    });
  }
  return folds;
}

/** A fold's out-of-sample backtest, cut to its window. */
export interface OutOfSample {
  readonly result: BacktestResult;
  /** Candles of the warm-up before the window at the start of `result`. */
  readonly warmup: number;
  /** Equity over the window's candles (starting capital before its first open). */
  readonly equity: Float64Array;
  readonly trades: readonly RoundTrip[];
}

/**
 * Runs the single backtest over a fold's out-of-sample window, with the strategy's warm-up
 * (`warmup − 1` candles) taken from just before the window: the strategy's first possible signal
 * is the window's first close, so no trade starts before the window.
 */
export function outOfSampleBacktest(
  candles: readonly Candle[],
  options: { readonly fold: Fold; readonly config: BacktestConfig },
): OutOfSample {
  const { fold, config } = options;
  const warmup = Math.min(fold.oosFrom, Math.max(0, config.strategy.warmup - 1));
  const result = runBacktest(candles.slice(fold.oosFrom - warmup, fold.oosTo), config);
  return {
    result,
    warmup,
    equity: result.equity.subarray(warmup),
    trades: result.trades,
  };
}

/** Figures of an equity curve (percentages in percent). */
export interface CurveMetrics {
  readonly startMs: number;
  readonly endMs: number;
  readonly totalReturnPct: number;
  readonly cagrPct: number;
  readonly sharpe: number;
  readonly sortino: number;
  readonly maxDrawdownPct: number;
  readonly trades: number;
  readonly winRatePct: number;
}

/** The stitched out-of-sample run: each fold starts with the previous fold's ending equity. */
export interface Stitched {
  readonly timesMs: Float64Array;
  readonly equity: Float64Array;
  /** Buy-and-hold over the same candles, from the same capital (costs paid on both sides). */
  readonly hold: Float64Array;
  /** Net return of every out-of-sample round trip, in percent, in time order. */
  readonly tradeReturnsPct: readonly number[];
  readonly metrics: CurveMetrics;
  readonly holdMetrics: CurveMetrics;
}

/**
 * Stitches the folds' out-of-sample runs into one curve starting at `capital`. A position still
 * open at a fold's end is valued at its last close, and the next fold starts flat with that
 * equity (the fold's parameters end with it).
 */
export function stitchOutOfSample(
  candles: readonly Candle[],
  options: {
    readonly folds: readonly Fold[];
    readonly runs: readonly OutOfSample[];
    readonly capital: number;
    readonly costBps: number;
  },
): Stitched {
  const { folds, runs, capital, costBps } = options;
  const total = folds.reduce((n, f) => n + (f.oosTo - f.oosFrom), 0);
  const timesMs = new Float64Array(total);
  const equity = new Float64Array(total);
  const hold = new Float64Array(total);
  const tradeReturnsPct: number[] = [];
  const cost = costBps / 10_000;
  const firstOpen = candles[folds[0]!.oosFrom]!.open;
  const holdStart = capital / (firstOpen * (1 + cost));
  let level = capital;
  let k = 0;
  folds.forEach((fold, f) => {
    const run = runs[f]!;
    const start = unitsToNumber(run.result.ledger.initialCash);
    for (let i = 0; i < run.equity.length; i++) {
      const c = candles[fold.oosFrom + i]!;
      timesMs[k] = c.startMs;
      equity[k] = (level * run.equity[i]!) / start;
      hold[k] = holdStart * c.close * (1 - cost);
      k++;
    }
    level = equity[k - 1]!;
    for (const t of run.trades) tradeReturnsPct.push(t.returnPct);
  });
  const barMs = candles.length > 1 ? candles[1]!.startMs - candles[0]!.startMs : DAY_MS;
  const wins = tradeReturnsPct.filter((r) => r > 0).length;
  const metrics = curveMetrics(timesMs, {
    equity,
    start: capital,
    barMs,
    trades: tradeReturnsPct.length,
    wins,
  });
  const holdMetrics = curveMetrics(timesMs, {
    equity: hold,
    start: capital,
    barMs,
    trades: 1,
    wins: hold[total - 1]! > capital ? 1 : 0,
  });
  return { timesMs, equity, hold, tradeReturnsPct, metrics, holdMetrics };
}

/** Return, CAGR, daily Sharpe/Sortino (√365) and drawdown of a curve starting at `start`. */
export function curveMetrics(
  timesMs: ArrayLike<number>,
  options: {
    readonly equity: ArrayLike<number>;
    readonly start: number;
    readonly barMs: number;
    readonly trades: number;
    readonly wins: number;
  },
): CurveMetrics {
  const { equity, start, barMs, trades, wins } = options;
  const n = equity.length;
  const startMs = timesMs[0]!;
  const endMs = timesMs[n - 1]! + barMs;
  const days = (endMs - startMs) / DAY_MS;
  const ratio = equity[n - 1]! / start;
  const { sharpe, sortino } = sharpeSortino(start, dailyEquity(timesMs, equity).equity);
  const curve = [start];
  for (let i = 0; i < n; i++) curve.push(equity[i]!);
  return {
    startMs,
    endMs,
    totalReturnPct: (ratio - 1) * 100,
    cagrPct: days > 0 && ratio > 0 ? (ratio ** (365 / days) - 1) * 100 : 0,
    sharpe,
    sortino,
    maxDrawdownPct: maxDrawdownPct(curve),
    trades,
    winRatePct: trades > 0 ? (wins / trades) * 100 : 0,
  };
}

/**
 * The distribution of the maximum drawdown (percent) of the trades compounded in `runs` random
 * orders (Fisher–Yates with `seed`), sorted ascending: the same trades in another order could
 * have dug this deep. The first entry of `actual` is the drawdown in the order they came.
 */
export function tradeOrderDrawdowns(
  returnsPct: readonly number[],
  options: { readonly runs: number; readonly seed: number },
): { readonly actual: number; readonly simulated: Float64Array } {
  const rng = mulberry32(options.seed);
  const order = returnsPct.map((r) => 1 + r / 100);
  const simulated = new Float64Array(options.runs);
  for (let run = 0; run < options.runs; run++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      const t = order[i]!;
      order[i] = order[j]!;
      order[j] = t;
    }
    simulated[run] = compoundedDrawdownPct(order);
  }
  simulated.sort();
  return { actual: compoundedDrawdownPct(returnsPct.map((r) => 1 + r / 100)), simulated };
}

/** Maximum drawdown (percent) of 1 compounded by the growth factors in order. */
function compoundedDrawdownPct(factors: readonly number[]): number {
  let level = 1;
  let peak = 1;
  let worst = 0;
  for (const f of factors) {
    level *= f;
    if (level > peak) peak = level;
    const dd = (peak - level) / peak;
    if (dd > worst) worst = dd;
  }
  return worst * 100;
}

/** The `q`-quantile (0–1) of ascending `sorted` values (nearest rank). */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

/** Daily returns of a backtest's equity curve (Upbit days, from the starting capital). */
export function dailyReturns(result: BacktestResult): Float64Array {
  const times = result.candles.map((c) => c.startMs);
  const daily = dailyEquity(times, result.equity).equity;
  const out = new Float64Array(daily.length);
  let previous = unitsToNumber(result.ledger.initialCash);
  for (let i = 0; i < daily.length; i++) {
    out[i] = daily[i]! / previous - 1;
    previous = daily[i]!;
  }
  return out;
}

/** The walk-forward's own flags. */
export interface WalkForwardOptions {
  readonly inSampleDays: number;
  readonly outOfSampleDays: number;
  readonly anchored: boolean;
  readonly mcRuns: number;
  readonly groups: number;
}

/** One fold's choice and outcome. */
export interface FoldReport {
  readonly fold: Fold;
  readonly isFromMs: number;
  readonly oosFromMs: number;
  readonly oosToMs: number;
  readonly best: SweepRow;
  readonly outOfSample: CurveMetrics;
}

/** Everything the walk-forward found. */
export interface WalkForwardReport {
  readonly title: string;
  readonly wf: WalkForwardOptions;
  readonly sort: SortMetric;
  readonly seed: number;
  readonly sets: number;
  readonly folds: readonly FoldReport[];
  readonly stitched: Stitched;
  /** In-sample figures of the chosen sets, averaged over the folds. */
  readonly inSample: {
    readonly sharpe: number;
    readonly cagrPct: number;
    readonly maxDrawdownPct: number;
  };
  readonly monteCarlo: {
    readonly runs: number;
    readonly actualPct: number;
    readonly p5Pct: number;
    readonly p50Pct: number;
    readonly p95Pct: number;
    readonly simulated: Float64Array;
  };
  readonly fullSample: {
    readonly best: SweepRow;
    readonly bestDailySharpe: number;
    readonly deflated: DeflatedSharpe;
    readonly observations: number;
    readonly cscv: Cscv;
  };
}
