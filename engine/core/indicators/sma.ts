/**
 * Simple moving average (SMA), streaming, O(1) per update.
 *
 * A running sum drifts over millions of updates, so the sum is kept over values shifted by a
 * reference (one value of the window) and recomputed exactly from the ring buffer every time
 * the ring wraps: amortised O(1), and the rounding error never spans more than one window.
 */

/** `PROBE[x - x]` is undefined exactly when x is NaN or ±∞; see ema.ts for why a probe. */
const PROBE = new Float64Array(1);

/** Streaming SMA over the last `period` values (TA-Lib `SMA`); `NaN` until `period` values. */
export class Sma {
  /** Window length. */
  readonly period: number;
  #ring: Float64Array;
  #pos = 0;
  #count = 0;
  #ref = 0;
  #sum = 0;
  #value = NaN;

  /** Throws a `RangeError` unless `period` is an integer >= 1. */
  constructor(period: number) {
    assertPeriod("period", period);
    this.period = period;
    this.#ring = new Float64Array(period);
  }

  /** Adds `x` and returns the SMA, or `NaN` while warming up; throws a `RangeError` on non-finite `x`. */
  update(x: number): number {
    if (PROBE[x - x] === undefined) throwNotFinite(x);
    const ring = this.#ring;
    let pos = this.#pos;
    // (x - ref) - (old - ref): the ring keeps raw values, the sum is of shifted ones.
    this.#sum += x - ring[pos]!;
    ring[pos] = x;
    if (++pos === this.period) {
      pos = 0;
      this.#count = this.period;
      this.#resync();
    } else if (this.#count < this.period) {
      this.#count++;
      this.#pos = pos;
      return NaN;
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
    return this.#count === this.period;
  }

  /** Re-centres on the newest value and recomputes the shifted sum exactly. */
  #resync(): void {
    const ring = this.#ring;
    const n = ring.length;
    const ref = ring[n - 1]!;
    let sum = 0;
    for (let i = 0; i < n; i++) sum += ring[i]! - ref;
    this.#ref = ref;
    this.#sum = sum;
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

function assertPeriod(name: string, period: number): void {
  if (!Number.isInteger(period) || period < 1) {
    throw new RangeError(
      `Cannot create Sma: ${name} must be an integer >= 1: current value is ${period}`,
    );
  }
}

function throwNotFinite(x: number): never {
  throw new RangeError(`Cannot update Sma: input must be finite: current value is ${x}`);
}
