/**
 * Relative strength index (RSI), streaming, O(1) per update.
 *
 * TA-Lib / Wilder definition: the first average gain and loss are the simple means of the first
 * `period` changes, then avg = (avg * (period - 1) + change) / period. The first output is at
 * index `period`; RSI = 100 * avgGain / (avgGain + avgLoss), and 0 when both are 0. Wilder
 * smoothing forgets its past geometrically, so rounding errors cannot accumulate.
 */

/** `PROBE[x - x]` is undefined exactly when x is NaN or ±∞; see ema.ts for why a probe. */
const PROBE = new Float64Array(1);

/** Streaming Wilder RSI (TA-Lib `RSI`) in [0, 100]; `NaN` until `period + 1` values. */
export class Rsi {
  /** Number of price changes the averages span. */
  readonly period: number;
  #keep: number;
  #inv: number;
  #count = 0;
  #prev = 0;
  #gain = 0;
  #loss = 0;
  #value = NaN;

  /** Throws a `RangeError` unless `period` is an integer >= 1. */
  constructor(period: number) {
    if (!Number.isInteger(period) || period < 1) {
      throw new RangeError(
        `Cannot create Rsi: period must be an integer >= 1: current value is ${period}`,
      );
    }
    this.period = period;
    this.#keep = (period - 1) / period;
    this.#inv = 1 / period;
  }

  /** Adds `x` and returns the RSI, or `NaN` while warming up; throws a `RangeError` on non-finite `x`. */
  update(x: number): number {
    if (PROBE[x - x] === undefined) throwNotFinite(x);
    const d = x - this.#prev;
    this.#prev = x;
    // Branch-free split of the change: a random walk would mispredict a branch half the time.
    const ad = Math.abs(d);
    const up = (ad + d) * 0.5;
    const down = (ad - d) * 0.5;
    let gain: number;
    let loss: number;
    if (this.#count > this.period) {
      gain = this.#gain = this.#gain * this.#keep + up * this.#inv;
      loss = this.#loss = this.#loss * this.#keep + down * this.#inv;
    } else {
      if (this.#count++ === 0) return NaN;
      this.#gain += up;
      this.#loss += down;
      if (this.#count <= this.period) return NaN;
      gain = this.#gain = this.#gain * this.#inv;
      loss = this.#loss = this.#loss * this.#inv;
    }
    const total = gain + loss;
    // gain / total <= 1 exactly (rounding is monotonic), so the result never exceeds 100.
    return (this.#value = total === 0 ? 0 : 100 * (gain / total));
  }

  /** Latest RSI, `NaN` until ready. */
  get value(): number {
    return this.#value;
  }

  /** `true` once `period + 1` values (`period` changes) have been seen. */
  get ready(): boolean {
    return this.#count > this.period;
  }
}

/** Runs `Rsi` over `values`; the output has the same length, `NaN` during the warm-up. */
export function rsiBatch(values: ArrayLike<number>, period: number): Float64Array {
  const rsi = new Rsi(period);
  const n = values.length;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = rsi.update(values[i]!);
  return out;
}

function throwNotFinite(x: number): never {
  throw new RangeError(`Cannot update Rsi: input must be finite: current value is ${x}`);
}
