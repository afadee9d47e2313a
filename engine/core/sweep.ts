/**
 * Parameter sweeps: a space of strategy, risk and sizing parameters (a grid, or a seeded random
 * sample of it), and the evaluation of one parameter set as ONE call of the single backtest
 * (`runBacktest`) and its metrics (`computeMetrics`). Workers, tables and reports are the
 * surfaces' business; everything here is pure, so a set evaluated in any worker, in any order,
 * gives the same figures as `deno task backtest` with the same flags.
 */

import { type BacktestConfig, type BacktestScratch, runBacktest } from "./backtest.ts";
import type { Candle } from "./candle.ts";
import { computeMetrics, type Metrics } from "./metrics.ts";
import type { Units } from "./money.ts";
import { applyParams, RISK_PARAMS, STRATEGY_PARAMS } from "./params.ts";
import { DEFAULT_PORTFOLIO_RULES, type SizingMode } from "./portfolio.ts";
import type { RiskRules } from "./risk.ts";
import { mulberry32 } from "./prng.ts";
import { BOLLINGER, createStrategy, type Strategy, type StrategyId } from "./strategies/mod.ts";
import { type BandSeries, bandSeries, createBollingerOnSeries } from "./strategies/bollinger.ts";
import { splitFilters, withEntryFilters } from "./strategies/filters.ts";

/** Parameters a sweep may vary: the strategy's, the risk rules', and sizing. */
export const SWEEP_PARAMS: readonly string[] = [
  ...STRATEGY_PARAMS,
  ...RISK_PARAMS.filter((p) => p !== "stale-after"),
  "sizing-value",
];

/** One parameter set: name → value, in the units the command-line flags take. */
export type ParamSet = Readonly<Record<string, number>>;

/** The values each swept parameter takes (every list non-empty). */
export type ParamSpace = Readonly<Record<string, readonly number[]>>;

/** Everything a swept backtest shares besides the candles and the parameter set. */
export interface SweepBase {
  readonly market: string;
  readonly strategy: StrategyId;
  readonly strategyParams: Readonly<Record<string, number>>;
  readonly rules: RiskRules;
  /** Share of the cash an entry spends with sizing `all` (percent). */
  readonly budgetPct: number;
  readonly sizing: SizingMode;
  /** The sizing's value for modes other than `all` (KRW for `fixed`, percent otherwise). */
  readonly sizingValue: number;
  readonly feeBps: number;
  readonly slippageBps: number;
  readonly capital: Units;
}

/** The metrics of one parameter set on one data set. */
export interface SweepRow {
  /** Position of the set in the sweep (stable whatever the workers). */
  readonly index: number;
  /** Name of the data set (e.g. `KRW-BTC 30m`). */
  readonly dataset: string;
  readonly params: ParamSet;
  readonly metrics: Metrics;
}

/** Every combination of the space's values, the last parameter varying fastest. */
export function gridSets(space: ParamSpace): ParamSet[] {
  let sets: Record<string, number>[] = [{}];
  for (const [name, values] of Object.entries(space)) {
    const next: Record<string, number>[] = [];
    for (const set of sets) for (const v of values) next.push({ ...set, [name]: v });
    sets = next;
  }
  return sets;
}

/**
 * `count` sets drawn from the space with `seed` (each parameter one of its values, uniformly),
 * never twice the same (at most the space's size: then every set); the same seed draws the same
 * sets.
 */
export function randomSets(
  space: ParamSpace,
  options: { count: number; seed: number },
): ParamSet[] {
  const rng = mulberry32(options.seed);
  const entries = Object.entries(space);
  const size = entries.reduce((n, [, values]) => n * values.length, 1);
  const seen = new Set<string>();
  const sets: ParamSet[] = [];
  const count = Math.min(options.count, size);
  while (sets.length < count) {
    const set: Record<string, number> = {};
    for (const [name, values] of entries) set[name] = values[Math.floor(rng() * values.length)]!;
    const key = JSON.stringify(set);
    if (seen.has(key)) continue;
    seen.add(key);
    sets.push(set);
  }
  return sets;
}

/**
 * Indicator series computed once per candle array and shared by every set run on it (a worker
 * keeps one per data set): the Bollinger middle and σ per period.
 */
export class SharedSeries {
  readonly candles: readonly Candle[];
  readonly #bands = new Map<number, BandSeries>();

  constructor(candles: readonly Candle[]) {
    this.candles = candles;
  }

  /** The band series for `period`, computed on first use. */
  bands(period: number): BandSeries {
    let series = this.#bands.get(period);
    if (series === undefined) {
      series = bandSeries(this.candles, period);
      this.#bands.set(period, series);
    }
    return series;
  }
}

/** The strategy of a set: `createStrategy`'s, or its equivalent over shared series. */
function sweepStrategy(
  base: SweepBase,
  options: { readonly params: Readonly<Record<string, number>>; readonly shared?: SharedSeries },
): Strategy {
  const { params, shared } = options;
  if (shared === undefined || base.strategy !== "bb") {
    return createStrategy(base.strategy, params);
  }
  const { filters, rest } = splitFilters(params);
  const bb = BOLLINGER.params.parse(rest);
  const series = shared.bands(bb.period);
  return withEntryFilters(createBollingerOnSeries(bb, series, { texts: false }), filters);
}

/**
 * The backtest configuration of `params` over `base`: the same mapping as `ctl set` (`applyParams`)
 * for risk and strategy parameters. Throws the strategy's zod error on a bad strategy parameter.
 * With `shared` (a sweep's workers, which read only figures), a BB strategy reads its bands from
 * the shared series (same signals) and reasons are fixed texts without prices (same figures).
 */
export function sweepConfig(
  base: SweepBase,
  params: ParamSet,
  shared?: SharedSeries,
): BacktestConfig {
  const tuned = applyParams(
    {
      rules: base.rules,
      budgetPct: base.budgetPct,
      staleAfterMs: 0,
      strategyParams: base.strategyParams,
    },
    params,
  );
  const sizingValue = params["sizing-value"] ?? base.sizingValue;
  return {
    market: base.market,
    strategy: sweepStrategy(base, { params: tuned.strategyParams, shared }),
    rules: tuned.rules,
    feeBps: base.feeBps,
    slippageBps: base.slippageBps,
    capital: base.capital,
    texts: shared === undefined,
    portfolio: {
      ...DEFAULT_PORTFOLIO_RULES,
      sizing: base.sizing === "all"
        ? { mode: "all", value: tuned.budgetPct }
        : { mode: base.sizing, value: sizingValue },
    },
  };
}

/**
 * Runs the single backtest of `params` over `candles` and returns its metrics (`scratch`: arrays
 * to reuse for the equity curve, which only the metrics read).
 */
export function evaluateSet(
  candles: readonly Candle[],
  options: {
    readonly base: SweepBase;
    readonly params: ParamSet;
    readonly scratch?: BacktestScratch;
    /** Series shared by the sets run on these candles (built on `candles`). */
    readonly shared?: SharedSeries;
  },
): Metrics {
  const config = sweepConfig(options.base, options.params, options.shared);
  const scratch = options.scratch;
  return computeMetrics(
    runBacktest(candles, scratch === undefined ? config : { ...config, scratch }),
  );
}

/** Metrics a sweep can rank by, best first (drawdown: smallest first). */
export const SORT_METRICS = {
  sharpe: "sharpe",
  sortino: "sortino",
  return: "totalReturnPct",
  cagr: "cagrPct",
  drawdown: "maxDrawdownPct",
  "profit-factor": "profitFactor",
  "win-rate": "winRatePct",
  trades: "trades",
} as const satisfies Record<string, keyof Metrics>;

/** A metric name a sweep can rank by. */
export type SortMetric = keyof typeof SORT_METRICS;

/** The value of `metric` in `metrics`, larger is better (drawdown negated, NaN last). */
export function score(metrics: Metrics, metric: SortMetric): number {
  const value = metrics[SORT_METRICS[metric]];
  if (Number.isNaN(value)) return -Infinity;
  return metric === "drawdown" ? -value : value;
}

/**
 * `rows` best first by `metric`; a set that never traded ranks after every set that did (its
 * Sharpe of 0 or drawdown of 0 says nothing); ties keep the sweep's order.
 */
export function rankRows(rows: readonly SweepRow[], metric: SortMetric): SweepRow[] {
  const idle = (row: SweepRow) => (row.metrics.trades === 0 ? 1 : 0);
  return [...rows].sort((a, b) =>
    idle(a) - idle(b) || score(b.metrics, metric) - score(a.metrics, metric) ||
    a.index - b.index
  );
}
