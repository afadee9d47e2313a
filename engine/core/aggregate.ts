/**
 * Candle aggregation: rolls finer candles (1m, or any timeframe that divides the target) up into
 * coarser ones, as a batch (`aggregateCandles`) or streaming (`CandleAggregator`) on the same code.
 *
 * Buckets are aligned to the UTC epoch like Upbit's: 4h candles start at 00, 04, 08… UTC and a
 * daily candle is the Upbit day, 00:00 UTC (09:00 KST). A bucket without candles yields nothing,
 * as Upbit makes no candle for an interval without trades. Volume and value are summed as exact
 * decimals (see `ExactSum`), so a day of 1m candles reproduces Upbit's daily candle bit for bit,
 * where a float sum would be a few ulps off.
 */

import { type Candle, type Timeframe, TIMEFRAME_MS } from "./candle.ts";

/** Start (UTC ms) of the `to` bucket that contains `tMs`. */
export function bucketStartMs(tMs: number, to: Timeframe): number {
  const tfMs = TIMEFRAME_MS[to];
  return Math.floor(tMs / tfMs) * tfMs;
}

/**
 * Aggregates candles (strictly increasing `startMs`) into `to` candles; throws `RangeError` on
 * out-of-order input.
 *
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * function m(min: number, close: number) {
 *   return { startMs: min * 60_000, open: close, high: close, low: close, close, volume: 0.1, value: 0.2 };
 * }
 * deepEqual(aggregateCandles([m(0, 5), m(1, 7), m(4, 6), m(5, 9)], "5m"), [
 *   { startMs: 0, open: 5, high: 7, low: 5, close: 6, volume: 0.3, value: 0.6 },
 *   { startMs: 300_000, open: 9, high: 9, low: 9, close: 9, volume: 0.1, value: 0.2 },
 * ]);
 * ```
 */
export function aggregateCandles(candles: readonly Candle[], to: Timeframe): Candle[] {
  const aggregator = new CandleAggregator(to);
  const out: Candle[] = [];
  for (const c of candles) {
    const done = aggregator.push(c);
    if (done !== undefined) out.push(done);
  }
  const last = aggregator.flush();
  if (last !== undefined) out.push(last);
  return out;
}

/** Streaming aggregation into `to` candles: feed candles in time order, collect completed buckets. */
export class CandleAggregator {
  /** The target timeframe. */
  readonly to: Timeframe;
  readonly #tfMs: number;
  /** Start of the open bucket; NaN while there is none. */
  #bucketMs = Number.NaN;
  #lastMs = -Infinity;
  #open = 0;
  #high = 0;
  #low = 0;
  #close = 0;
  readonly #volume = new ExactSum();
  readonly #value = new ExactSum();

  /** Creates an empty aggregator for the `to` timeframe. */
  constructor(to: Timeframe) {
    this.to = to;
    this.#tfMs = TIMEFRAME_MS[to];
  }

  /** Adds a candle; returns the previous bucket's candle once `c` opens a later bucket. */
  push(c: Candle): Candle | undefined {
    if (!(c.startMs > this.#lastMs)) {
      throw new RangeError(
        `Cannot aggregate candle: startMs must increase: found ${c.startMs} after ${this.#lastMs}`,
      );
    }
    this.#lastMs = c.startMs;
    const bucketMs = Math.floor(c.startMs / this.#tfMs) * this.#tfMs;
    if (bucketMs === this.#bucketMs) {
      if (c.high > this.#high) this.#high = c.high;
      if (c.low < this.#low) this.#low = c.low;
      this.#close = c.close;
      this.#volume.add(c.volume);
      this.#value.add(c.value);
      return undefined;
    }
    const done = this.flush();
    this.#bucketMs = bucketMs;
    this.#open = c.open;
    this.#high = c.high;
    this.#low = c.low;
    this.#close = c.close;
    this.#volume.add(c.volume);
    this.#value.add(c.value);
    return done;
  }

  /** Returns the open bucket's candle (possibly incomplete) and empties the aggregator. */
  flush(): Candle | undefined {
    if (Number.isNaN(this.#bucketMs)) return undefined;
    const done: Candle = {
      startMs: this.#bucketMs,
      open: this.#open,
      high: this.#high,
      low: this.#low,
      close: this.#close,
      volume: this.#volume.take(),
      value: this.#value.take(),
    };
    this.#bucketMs = Number.NaN;
    return done;
  }
}

const UNITS = 100_000_000;
const UNIT_DECIMALS = 8;
const POW10: readonly number[] = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8];

/**
 * A sum of non-negative decimals that is exact to 8 decimals.
 *
 * Each addend is split into its integer part and its fraction in units of 1e-8, recovered from
 * the addend's shortest decimal form (the digits Upbit wrote), so the result is the double nearest
 * the exact decimal sum, rounded once. That is what reproduces Upbit's daily totals from its 1m
 * candles; a plain float sum drifts by a few ulps. A total whose decimals don't fit a double (8
 * decimals past 2^26 ≈ 6.7e7, 5 past 2^36 ≈ 6.9e10) is still rounded only once, but summing such
 * rounded totals again (1h → 4h) can move the last bit. An addend that is negative or needs more
 * than 8 decimals, or an integer total past 2^53, makes the sum fall back to float addition; NaN
 * makes it NaN.
 */
class ExactSum {
  #int = 0;
  #units = 0;
  #float = 0;
  #exact = true;

  add(v: number): void {
    this.#float += v;
    if (!this.#exact) return;
    if (!(v >= 0)) {
      this.#exact = false;
      return;
    }
    const int = Math.trunc(v);
    const units = fractionUnits(v, int);
    if (units < 0) {
      this.#exact = false;
      return;
    }
    this.#int += int;
    this.#units += units;
    if (this.#units >= UNITS) {
      this.#units -= UNITS;
      this.#int += 1;
    }
    if (this.#int > Number.MAX_SAFE_INTEGER) this.#exact = false;
  }

  /** Returns the sum and resets to zero. */
  take(): number {
    const sum = Number.isNaN(this.#float) || !this.#exact
      ? this.#float
      : decimalToNumber(this.#int, this.#units);
    this.#int = 0;
    this.#units = 0;
    this.#float = 0;
    this.#exact = true;
    return sum;
  }
}

/**
 * `EXACT_BELOW[k]` is the largest power of two at most 2^53 / 10^k. Below it a double's ulp is at
 * most 10^-k, so k-decimals are at least an ulp apart: at most one of them rounds to a given
 * double, and `int * 10^k + n` stays an exact integer.
 */
const EXACT_BELOW: readonly number[] = [
  2 ** 53,
  2 ** 49,
  2 ** 46,
  2 ** 43,
  2 ** 39,
  2 ** 36,
  2 ** 33,
  2 ** 29,
  2 ** 26,
];

/**
 * The fraction of `v` (integer part `int`) in 1e-8 units, taken from its shortest decimal form
 * (the digits it was written with), or -1 if that form needs more than 8 decimals.
 */
function fractionUnits(v: number, int: number): number {
  const frac = v - int; // exact: no bits are lost removing the integer part
  if (frac === 0) return 0;
  let k = UNIT_DECIMALS;
  while (k > 0 && v >= (EXACT_BELOW[k] as number)) k--;
  // The one k-decimal that can round to v, if any; a shorter form is this one with trailing zeros.
  const scale = POW10[k] as number;
  const n = Math.round(frac * scale);
  if ((int * scale + n) / scale === v) return n * (POW10[UNIT_DECIMALS - k] as number);
  if (k === UNIT_DECIMALS) return -1;
  // Otherwise the shortest form has k + 1 decimals: (k + 1)-decimals are closer together than an
  // ulp here, so the nearest one always rounds to v.
  const nextScale = POW10[k + 1] as number;
  const scaled = frac * nextScale;
  let next = Math.round(scaled);
  // Midway between two such decimals, the shortest form takes the even one, as `String(v)` does.
  if (next - scaled === 0.5 && next % 2 === 1) next--;
  return next < nextScale ? next * (POW10[UNIT_DECIMALS - k - 1] as number) : -1;
}

/** The double nearest to `int + units * 1e-8`, rounded once. */
function decimalToNumber(int: number, units: number): number {
  if (units === 0) return int;
  let digits = units;
  let k = UNIT_DECIMALS;
  while (digits % 10 === 0) {
    digits /= 10;
    k--;
  }
  const scale = POW10[k] as number;
  // Below 2^53 `scaled` is an exact integer, so one division rounds correctly.
  const scaled = int * scale + digits;
  if (scaled <= Number.MAX_SAFE_INTEGER) return scaled / scale;
  return Number(`${int}.${String(digits).padStart(k, "0")}`);
}
