/**
 * Performance metrics of a backtest (or of any equity curve with its trades): returns, risk,
 * trade statistics and buy-and-hold over the same candles. Daily figures use Upbit days
 * (00:00 UTC) and are annualised with 365 days, as crypto trades every day.
 */

import type { BacktestResult } from "./backtest.ts";
import { type Candle, DAY_MS, upbitDayStartMs } from "./candle.ts";
import { unitsToNumber } from "./money.ts";

/** The metrics a report shows (percentages in percent). */
export interface Metrics {
  readonly startMs: number;
  readonly endMs: number;
  readonly days: number;
  readonly startEquity: number;
  readonly endEquity: number;
  readonly totalReturnPct: number;
  readonly cagrPct: number;
  readonly sharpe: number;
  readonly sortino: number;
  readonly maxDrawdownPct: number;
  readonly winRatePct: number;
  readonly profitFactor: number;
  readonly trades: number;
  readonly tradesPerYear: number;
  readonly avgHoldingDays: number;
  readonly exposurePct: number;
  readonly feesKrw: number;
  readonly buyHoldReturnPct: number;
  readonly buyHoldCagrPct: number;
  readonly buyHoldMaxDrawdownPct: number;
}

/** End-of-day equity per Upbit day, from a per-candle equity curve. */
export function dailyEquity(
  startMs: ArrayLike<number>,
  equity: ArrayLike<number>,
): { readonly dayMs: number[]; readonly equity: number[] } {
  const days: number[] = [];
  const values: number[] = [];
  for (let i = 0; i < equity.length; i++) {
    const day = upbitDayStartMs(startMs[i]!);
    if (days.length > 0 && days[days.length - 1] === day) values[values.length - 1] = equity[i]!;
    else {
      days.push(day);
      values.push(equity[i]!);
    }
  }
  return { dayMs: days, equity: values };
}

/** Sharpe and Sortino ratios of daily returns (starting from `start`), annualised with √365. */
export function sharpeSortino(start: number, dailyValues: ArrayLike<number>): {
  readonly sharpe: number;
  readonly sortino: number;
} {
  const n = dailyValues.length;
  if (n < 2) return { sharpe: 0, sortino: 0 };
  // Plain loops over the values (no array of returns, no closures): a sweep calls this per set.
  let sum = 0;
  let previous = start;
  for (let i = 0; i < n; i++) {
    const value = dailyValues[i]!;
    sum += value / previous - 1;
    previous = value;
  }
  const mean = sum / n;
  let squares = 0;
  let downsideSquares = 0;
  previous = start;
  for (let i = 0; i < n; i++) {
    const value = dailyValues[i]!;
    const r = value / previous - 1;
    previous = value;
    squares += (r - mean) ** 2;
    downsideSquares += Math.min(r, 0) ** 2;
  }
  const variance = squares / (n - 1);
  const downside = Math.sqrt(downsideSquares / n);
  const annual = Math.sqrt(365);
  return {
    sharpe: variance > 0 ? (mean / Math.sqrt(variance)) * annual : 0,
    sortino: downside > 0 ? (mean / downside) * annual : 0,
  };
}

/** Largest peak-to-trough fall of a series, in percent. */
export function maxDrawdownPct(values: ArrayLike<number>): number {
  let peak = -Infinity;
  let worst = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v > peak) peak = v;
    const dd = (peak - v) / peak;
    if (dd > worst) worst = dd;
  }
  return worst * 100;
}

function cagrPct(ratio: number, days: number): number {
  return days > 0 && ratio > 0 ? (ratio ** (365 / days) - 1) * 100 : 0;
}

/** What the metrics need of the candles alone, computed once per candle array (sweeps reuse it). */
interface CandleFacts {
  /** Index of the last candle of each Upbit day. */
  readonly dayEnds: Int32Array;
  readonly buyHoldMaxDrawdownPct: number;
}

const CANDLE_FACTS = new WeakMap<readonly Candle[], CandleFacts>();

function candleFacts(candles: readonly Candle[]): CandleFacts {
  const cached = CANDLE_FACTS.get(candles);
  if (cached !== undefined) return cached;
  const ends: number[] = [];
  let day = NaN;
  for (let i = 0; i < candles.length; i++) {
    const d = upbitDayStartMs(candles[i]!.startMs);
    if (d === day) ends[ends.length - 1] = i;
    else {
      day = d;
      ends.push(i);
    }
  }
  let peak = candles[0]!.open;
  let worst = 0;
  for (let i = 0; i < candles.length; i++) {
    const v = candles[i]!.close;
    if (v > peak) peak = v;
    const dd = (peak - v) / peak;
    if (dd > worst) worst = dd;
  }
  const facts = { dayEnds: Int32Array.from(ends), buyHoldMaxDrawdownPct: worst * 100 };
  CANDLE_FACTS.set(candles, facts);
  return facts;
}

/**
 * Computes the metrics of a backtest. The period runs from the first candle's start to the last
 * candle's end. Buy-and-hold buys at the first open and sells at the last close, paying the fee
 * and the slippage on both sides like the strategy.
 */
export function computeMetrics(result: BacktestResult): Metrics {
  const { candles, equity, trades } = result;
  const n = candles.length;
  if (n === 0) throw new RangeError("Cannot compute metrics: no candles");
  const first = candles[0]!;
  const last = candles[n - 1]!;
  const barMs = n > 1 ? candles[1]!.startMs - first.startMs : DAY_MS;
  const startMs = first.startMs;
  const endMs = last.startMs + barMs;
  const days = (endMs - startMs) / DAY_MS;
  const startEquity = unitsToNumber(result.ledger.initialCash);
  const endEquity = equity[n - 1]!;

  const facts = candleFacts(candles);
  const dayEnds = facts.dayEnds;
  const daily = new Float64Array(dayEnds.length);
  for (let d = 0; d < dayEnds.length; d++) daily[d] = equity[dayEnds[d]!]!;
  const { sharpe, sortino } = sharpeSortino(startEquity, daily);

  let grossWin = 0;
  let grossLoss = 0;
  let wins = 0;
  let heldMs = 0;
  for (const t of trades) {
    const pnl = unitsToNumber(t.pnl);
    if (pnl > 0) {
      wins++;
      grossWin += pnl;
    } else grossLoss -= pnl;
    heldMs += t.exitMs - t.entryMs;
  }
  // One pass for the exposure and the drawdown (`maxDrawdownPct([startEquity, ...equity])`).
  let inPosition = 0;
  let peak = startEquity;
  let worst = 0;
  for (let i = 0; i < n; i++) {
    inPosition += result.inPosition[i]!;
    const v = equity[i]!;
    if (v > peak) peak = v;
    const dd = (peak - v) / peak;
    if (dd > worst) worst = dd;
  }

  const cost = (result.feeBps + result.slippageBps) / 10_000;
  const holdRatio = (last.close * (1 - cost)) / (first.open * (1 + cost));
  return {
    startMs,
    endMs,
    days,
    startEquity,
    endEquity,
    totalReturnPct: (endEquity / startEquity - 1) * 100,
    cagrPct: cagrPct(endEquity / startEquity, days),
    sharpe,
    sortino,
    maxDrawdownPct: worst * 100,
    winRatePct: trades.length > 0 ? (wins / trades.length) * 100 : 0,
    profitFactor: profitFactor(grossWin, grossLoss),
    trades: trades.length,
    tradesPerYear: days > 0 ? (trades.length * 365) / days : 0,
    avgHoldingDays: trades.length > 0 ? heldMs / trades.length / DAY_MS : 0,
    exposurePct: (inPosition / n) * 100,
    feesKrw: unitsToNumber(result.ledger.fees),
    buyHoldReturnPct: (holdRatio - 1) * 100,
    buyHoldCagrPct: cagrPct(holdRatio, days),
    buyHoldMaxDrawdownPct: facts.buyHoldMaxDrawdownPct,
  };
}

/** Gross wins ÷ gross losses; Infinity with wins and no loss, 0 without wins or losses. */
function profitFactor(grossWin: number, grossLoss: number): number {
  // Both comparisons run on every call, so optimised code never meets one it has not seen.
  const won = grossWin > 0;
  const lost = grossLoss > 0;
  if (lost) return grossWin / grossLoss;
  return won ? Infinity : 0;
}

/** One calendar year (UTC) of a backtest beside buy-and-hold. */
export interface YearMetrics {
  readonly year: number;
  readonly returnPct: number;
  readonly buyHoldReturnPct: number;
  readonly maxDrawdownPct: number;
  readonly trades: number;
  readonly partial: boolean;
}

/**
 * Splits a backtest into calendar years (UTC): the strategy's return over each year (from the
 * previous year's last close, or the starting capital), buy-and-hold's over the same span, the
 * drawdown inside the year and the round trips closed in it. A year the data does not cover
 * whole is marked `partial`.
 */
export function yearlyBreakdown(result: BacktestResult): YearMetrics[] {
  const { candles, equity, trades } = result;
  const years: YearMetrics[] = [];
  let i = 0;
  let baseEquity = unitsToNumber(result.ledger.initialCash);
  let basePrice = candles[0]?.open ?? 0;
  while (i < candles.length) {
    const year = utcYear(candles[i]!.startMs);
    const from = i;
    while (i < candles.length && utcYear(candles[i]!.startMs) === year) i++;
    const slice = equity.subarray(from, i);
    const endEquity = slice[slice.length - 1]!;
    const endPrice = candles[i - 1]!.close;
    const yearStartMs = Date.UTC(year, 0, 1);
    const yearEndMs = Date.UTC(year + 1, 0, 1);
    const lastEndMs = candles[i - 1]!.startMs +
      (candles.length > 1 ? candles[1]!.startMs - candles[0]!.startMs : DAY_MS);
    years.push({
      year,
      returnPct: (endEquity / baseEquity - 1) * 100,
      buyHoldReturnPct: (endPrice / basePrice - 1) * 100,
      maxDrawdownPct: maxDrawdownPct([baseEquity, ...slice]),
      trades: trades.filter((t) => t.exitMs >= yearStartMs && t.exitMs < yearEndMs).length,
      partial: candles[from]!.startMs > yearStartMs || lastEndMs < yearEndMs,
    });
    baseEquity = endEquity;
    basePrice = endPrice;
  }
  return years;
}

function utcYear(ms: number): number {
  // 365.2425-day years drift by under a day per 400 years; correct at the boundary.
  let year = 1970 + Math.floor(ms / (365.2425 * DAY_MS));
  if (Date.UTC(year, 0, 1) > ms) year--;
  else if (Date.UTC(year + 1, 0, 1) <= ms) year++;
  return year;
}
