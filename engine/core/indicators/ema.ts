/**
 * Exponential moving average (EMA), streaming, O(1) per update.
 *
 * TA-Lib definition: k = 2 / (period + 1), seeded with the SMA of the first `period` values, so
 * the first output is at index `period - 1`. An EMA forgets its past geometrically, so rounding
 * errors cannot accumulate and no resync is needed.
 */

/** Streaming EMA (TA-Lib `EMA`); `NaN` until `period` values have been seen. */
export class Ema {
  /** Number of values the seed averages; also sets k = 2 / (period + 1). */
  readonly period: number;
  /** Smoothing factor k = 2 / (period + 1). */
  readonly k: number;
  #keep: number;
  #count = 0;
  #sum = 0;
  #value = NaN;

  /** Throws a `RangeError` unless `period` is an integer >= 1. */
  constructor(period: number) {
    if (!Number.isInteger(period) || period < 1) {
      throw new RangeError(
        `Cannot create Ema: period must be an integer >= 1: current value is ${period}`,
      );
    }
    this.period = period;
    this.k = 2 / (period + 1);
    this.#keep = 1 - this.k;
  }

  /** Adds `x` and returns the EMA, or `NaN` while warming up; throws a `RangeError` on non-finite `x`. */
  update(x: number): number {
    if (x - x !== 0) throwNotFinite(x);
    if (this.#count === this.period) {
      // v * (1 - k) + x * k rather than TA-Lib's v + k * (x - v): same value to a few ulps, but
      // the loop-carried dependency is one multiply-add shorter.
      return (this.#value = this.#value * this.#keep + x * this.k);
    }
    this.#sum += x;
    if (++this.#count < this.period) return NaN;
    return (this.#value = this.#sum / this.period);
  }

  /** Latest EMA, `NaN` until ready. */
  get value(): number {
    return this.#value;
  }

  /** `true` once `period` values have been seen. */
  get ready(): boolean {
    return this.#count === this.period;
  }
}

/** Runs `Ema` over `values`; the output has the same length, `NaN` during the warm-up. */
export function emaBatch(values: ArrayLike<number>, period: number): Float64Array {
  const ema = new Ema(period);
  const n = values.length;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = ema.update(values[i]!);
  return out;
}

function throwNotFinite(x: number): never {
  throw new RangeError(`Cannot update Ema: input must be finite: current value is ${x}`);
}
