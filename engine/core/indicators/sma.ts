/**
 * Simple moving average (SMA), streaming, O(1) per update.
 *
 * A running sum (add the new value, subtract the one leaving) drifts over millions of updates.
 * Here it is only trusted for one window: alongside it, a fresh sum accumulates every value as it
 * is written, and when the ring wraps that fresh sum covers exactly the current window, so it
 * replaces the running one. The sum is recomputed from scratch every `period` updates at O(1)
 * per update, with no loop or out-of-line call in the hot path (either slows V8's optimised
 * caller loop). Both sums are of values shifted by a reference (a value near the window) so that
 * their terms stay small: a constant series gives exactly that constant.
 */

/** `PROBE[x - x]` is undefined exactly when x is NaN or ±∞; see ema.ts for why a probe. */
const PROBE = new Float64Array(1);

/** Streaming SMA over the last `period` values (TA-Lib `SMA`); `NaN` until `period` values. */
export class Sma {
  /** Window length. */
  readonly period: number;
  #ring: Float64Array;
  #pos = 0;
  /** Reference of `#sum`; NaN until the first window is complete. */
  #ref = NaN;
  /** Σ (x - ref) over the window, kept as a running sum between wraps. */
  #sum = 0;
  /** Reference of `#fresh`: the newest value at the last wrap (the first value before that). */
  #nextRef = NaN;
  /** Σ (x - nextRef) over the values written since the last wrap. */
  #fresh = 0;
  #value = NaN;

  /** Throws a `RangeError` unless `period` is an integer >= 1. */
  constructor(period: number) {
    if (!Number.isInteger(period) || period < 1) {
      throw new RangeError(
        `Cannot create Sma: period must be an integer >= 1: current value is ${period}`,
      );
    }
    this.period = period;
    this.#ring = new Float64Array(period);
  }

  /** Adds `x` and returns the SMA, or `NaN` while warming up; throws a `RangeError` on non-finite `x`. */
  update(x: number): number {
    if (PROBE[x - x] === undefined) throwNotFinite(x);
    // The first window's reference is its first value. Branch-free on purpose: code that runs
    // only once per instance can lack type feedback when V8 optimises, and then deoptimises the
    // caller's loop on the next instance's first update.
    const nextRef = this.#nextRef === this.#nextRef ? this.#nextRef : x;
    this.#nextRef = nextRef;
    const ring = this.#ring;
    let pos = this.#pos;
    // (x - ref) - (old - ref): the ring keeps raw values.
    this.#sum += x - ring[pos]!;
    this.#fresh += x - nextRef;
    ring[pos] = x;
    if (++pos === this.period) {
      pos = 0;
      this.#ref = nextRef;
      this.#sum = this.#fresh;
      this.#nextRef = x;
      this.#fresh = 0;
    }
    this.#pos = pos;
    return (this.#value = this.#ref + this.#sum / this.period);
  }

  /** Latest SMA, `NaN` until ready. */
  get value(): number {
    return this.#value;
  }

  /** `true` once `period` values have been seen. */
  get ready(): boolean {
    return this.#ref === this.#ref;
  }
}

/** Runs `Sma` over `values`; the output has the same length, `NaN` during the warm-up. */
export function smaBatch(values: ArrayLike<number>, period: number): Float64Array {
  const sma = new Sma(period);
  const n = values.length;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = sma.update(values[i]!);
  return out;
}

function throwNotFinite(x: number): never {
  throw new RangeError(`Cannot update Sma: input must be finite: current value is ${x}`);
}
