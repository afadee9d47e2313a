/**
 * Candle aggregation: rolls finer candles (1m, or any timeframe that divides the target) up into
 * coarser ones, as a batch (`aggregateCandles`) or streaming (`CandleAggregator`) on the same code.
 *
 * Buckets are aligned to the UTC epoch like Upbit's: 4h candles start at 00, 04, 08… UTC and a
 * daily candle is the Upbit day, 00:00 UTC (09:00 KST). A bucket without candles yields nothing,
 * as Upbit makes no candle for an interval without trades. Volume and value are summed as exact
 * decimals (see `ExactSum`) so a day of 1m candles reproduces Upbit's daily candle bit for bit.
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
 * const m = (min: number, close: number) =>
 *   ({ startMs: min * 60_000, open: close, high: close, low: close, close, volume: 0.1, value: 0.2 });
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
 * the addend's shortest decimal form, so the result is the double nearest the exact decimal sum,
 * just as Upbit's own totals are. A plain float sum would drift by a few ulps. An addend that is
 * negative, has more than 8 decimals, or an integer total beyond 2^53 makes that sum fall back to
 * float addition; NaN makes it NaN.
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

/** The fraction of `v` (integer part `int`) in 1e-8 units, or -1 if it needs more than 8 decimals. */
function fractionUnits(v: number, int: number): number {
  const frac = v - int; // exact: no bits are lost removing the integer part
  if (frac === 0) return 0;
  // The fewest decimals that still round-trip are the digits the number was written with.
  for (let k = 1; k <= UNIT_DECIMALS; k++) {
    const scale = POW10[k] as number;
    const n = Math.round(frac * scale);
    // `int + n / scale` would round twice and miss about 1 in 30 cases.
    const scaled = int * scale + n;
    const back = scaled <= Number.MAX_SAFE_INTEGER
      ? scaled / scale
      : Number(`${int}.${String(n).padStart(k, "0")}`);
    if (back === v) return n * (POW10[UNIT_DECIMALS - k] as number);
  }
  return -1;
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
