/**
 * Exponential moving average (EMA), streaming, O(1) per update.
 *
 * TA-Lib definition: k = 2 / (period + 1), seeded with the SMA of the first `period` values, so
 * the first output is at index `period - 1`; then v = (x - v) * k + v.
 *
 * Why it is not written as that one-line recurrence: its multiply-add is a loop-carried
 * dependency that bounds the update rate. Unrolled from the value v₀ at the last rescale,
 * vⱼ = aʲ · (v₀ + k · Σᵢ xᵢ · a⁻ⁱ) with a = 1 - k, so each update only *adds* to a scaled sum
 * while a⁻ʲ and aʲ advance on independent chains. Every 64 updates (or sooner, once a⁻ʲ passes
 * 2³², for short periods) everything is re-based on the current value (the next update then
 * takes the plain recurrence once): the result stays within a few tens of ulps (~1e-14
 * relative) of the TA-Lib recurrence, the size of its own rounding. An EMA forgets its past
 * geometrically, so rounding errors cannot accumulate.
 */

/** Re-base the scaled sum at least every this many updates (rounding grows with j). */
const MAX_STEPS = 64;

/**
 * A throw (or any out-of-line call) on a branch of the hot path, even one never taken, slows
 * V8's optimised caller loop measurably (1.5–2.5 ns per update on the bench machine, about as
 * much as the whole update). An out-of-bounds read of this probe compiles to a deoptimisation check
 * instead, and only unoptimised code goes on to the throw. `PROBE[x - x]` is undefined exactly
 * when x is NaN or ±∞.
 */
const PROBE = new Float64Array(1);

/** Streaming EMA (TA-Lib `EMA`); `NaN` until `period` values have been seen. */
export class Ema {
  /** Number of values the seed averages; also sets k = 2 / (period + 1). */
  readonly period: number;
  /** Smoothing factor k = 2 / (period + 1). */
  readonly k: number;
  /** a = 1 - k. */
  #keep: number;
  /** 1 / a (Infinity for period 1, which always takes the plain recurrence). */
  #grow: number;
  /** Re-base once a⁻ʲ reaches this: min(2³², a⁻⁶⁴). */
  #rescaleAt: number;
  #count = 0;
  #sum = 0;
  #value = NaN;
  /** v₀ + k · Σ xᵢ · a⁻ⁱ since the last rescale. */
  #scaled = 0;
  /** a⁻ʲ; Infinity until seeded, which routes updates to the slow path. */
  #growth = Infinity;
  /** aʲ. */
  #decay = 1;

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
    this.#grow = 1 / this.#keep;
    this.#rescaleAt = Math.min(2 ** 32, this.#grow ** MAX_STEPS);
  }

  /** Adds `x` and returns the EMA, or `NaN` while warming up; throws a `RangeError` on non-finite `x`. */
  update(x: number): number {
    if (PROBE[x - x] === undefined) throwNotFinite(x);
    const growth = this.#growth * this.#grow;
    if (growth < this.#rescaleAt) {
      this.#growth = growth;
      const decay = (this.#decay *= this.#keep);
      return (this.#value = (this.#scaled += this.k * x * growth) * decay);
    }
    return this.#slowUpdate(x);
  }

  /** Latest EMA, `NaN` until ready. */
  get value(): number {
    return this.#value;
  }

  /** `true` once `period` values have been seen. */
  get ready(): boolean {
    return this.#count === this.period;
  }

  /** Warm-up and rescale steps: the plain recurrence (or the seed), then re-base on the result. */
  #slowUpdate(x: number): number {
    let v: number;
    if (this.#count === this.period) {
      v = this.#value * this.#keep + x * this.k;
    } else {
      this.#sum += x;
      if (++this.#count < this.period) return NaN;
      v = this.#sum / this.period;
    }
    this.#scaled = v;
    this.#growth = 1;
    this.#decay = 1;
    return (this.#value = v);
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
