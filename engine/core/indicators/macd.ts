/**
 * Moving average convergence/divergence (MACD), streaming, O(1) per update.
 *
 * TA-Lib `MACD` definition (as in its INT_MACD): both EMAs emit their first value at index
 * `slow - 1`; the slow EMA is seeded with the SMA of values [0, slow - 1] and the fast EMA with
 * the SMA of the `fast` values ending at index `slow - 1`. macd = fast EMA - slow EMA; the signal
 * is an EMA of macd seeded with the SMA of the first `signal` macd values (first at index
 * `slow + signal - 2`, 33 for 12/26/9); histogram = macd - signal.
 */

/** `PROBE[x - x]` is undefined exactly when x is NaN or ±∞; see ema.ts for why a probe. */
const PROBE = new Float64Array(1);

/** Options for `macdBatch`. */
export interface MacdOptions {
  /** Fast EMA period (default 12). */
  readonly fast?: number;
  /** Slow EMA period (default 26), >= `fast`. */
  readonly slow?: number;
  /** Signal EMA period (default 9). */
  readonly signal?: number;
}

/** Outputs of `macdBatch`, each as long as the input and `NaN` during its warm-up. */
export interface MacdSeries {
  /** Fast EMA - slow EMA, valid from index `slow - 1`. */
  readonly macd: Float64Array;
  /** EMA of `macd`, valid from index `slow + signal - 2`. */
  readonly signal: Float64Array;
  /** `macd - signal`, valid from index `slow + signal - 2`. */
  readonly histogram: Float64Array;
}

/** Streaming MACD (TA-Lib `MACD`). `macd` is valid from index `slow - 1`, the rest after. */
export class Macd {
  /** Fast EMA period. */
  readonly fastPeriod: number;
  /** Slow EMA period. */
  readonly slowPeriod: number;
  /** Signal EMA period. */
  readonly signalPeriod: number;
  #kFast: number;
  #kSlow: number;
  #kSignal: number;
  #count = 0;
  #slowSum = 0;
  #fastSum = 0;
  #signalCount = 0;
  #signalSum = 0;
  #fastEma = NaN;
  #slowEma = NaN;
  #macd = NaN;
  #signal = NaN;
  #histogram = NaN;

  /** Throws a `RangeError` unless all periods are integers >= 1 and `fast <= slow`. */
  constructor(fast = 12, slow = 26, signal = 9) {
    assertPeriod("fast", fast);
    assertPeriod("slow", slow);
    assertPeriod("signal", signal);
    if (fast > slow) {
      throw new RangeError(
        `Cannot create Macd: fast must be <= slow (${slow}): current value is ${fast}`,
      );
    }
    this.fastPeriod = fast;
    this.slowPeriod = slow;
    this.signalPeriod = signal;
    this.#kFast = 2 / (fast + 1);
    this.#kSlow = 2 / (slow + 1);
    this.#kSignal = 2 / (signal + 1);
  }

  /** Adds `x`; returns `true` when macd, signal and histogram are all valid. Throws on non-finite `x`. */
  update(x: number): boolean {
    if (PROBE[x - x] === undefined) throwNotFinite(x);
    // The warm-up is inline (sums, no buffer, loop or call): a call or loop anywhere in here
    // slows the caller's optimised loop on every update.
    let macd: number;
    if (this.#count === this.slowPeriod) {
      // TA-Lib's exact expression, (x - v) * k + v: macd is a difference of two EMAs and
      // crosses zero, where an ulp of a 1e8 price is far more than 1e-9 of macd itself, so
      // matching TA-Lib (and the reference) there needs the same operations, not just the math.
      const f = this.#fastEma;
      const s = this.#slowEma;
      const fast = (this.#fastEma = (x - f) * this.#kFast + f);
      const slow = (this.#slowEma = (x - s) * this.#kSlow + s);
      macd = fast - slow;
    } else {
      this.#slowSum += x;
      // The fast seed averages the `fast` values ending at index slow - 1.
      if (++this.#count > this.slowPeriod - this.fastPeriod) this.#fastSum += x;
      if (this.#count < this.slowPeriod) return false;
      this.#slowEma = this.#slowSum / this.slowPeriod;
      this.#fastEma = this.#fastSum / this.fastPeriod;
      macd = this.#fastEma - this.#slowEma;
    }
    this.#macd = macd;
    let signal: number;
    if (this.#signalCount === this.signalPeriod) {
      const g = this.#signal;
      signal = this.#signal = (macd - g) * this.#kSignal + g;
    } else {
      this.#signalSum += macd;
      if (++this.#signalCount < this.signalPeriod) return false;
      signal = this.#signal = this.#signalSum / this.signalPeriod;
    }
    this.#histogram = macd - signal;
    return true;
  }

  /** Fast EMA - slow EMA; `NaN` until index `slow - 1`. */
  get macd(): number {
    return this.#macd;
  }

  /** Signal line (EMA of macd); `NaN` until ready. */
  get signal(): number {
    return this.#signal;
  }

  /** macd - signal; `NaN` until ready. */
  get histogram(): number {
    return this.#histogram;
  }

  /** `true` once `slow + signal - 1` values have been seen. */
  get ready(): boolean {
    return this.#signalCount === this.signalPeriod;
  }
}

/** Runs `Macd` over `values`; each output has the input's length, `NaN` during its warm-up. */
export function macdBatch(values: ArrayLike<number>, options: MacdOptions = {}): MacdSeries {
  const m = new Macd(options.fast, options.slow, options.signal);
  const n = values.length;
  const macd = new Float64Array(n).fill(NaN);
  const signal = new Float64Array(n).fill(NaN);
  const histogram = new Float64Array(n).fill(NaN);
  for (let i = 0; i < n; i++) {
    if (m.update(values[i]!)) {
      signal[i] = m.signal;
      histogram[i] = m.histogram;
    }
    macd[i] = m.macd;
  }
  return { macd, signal, histogram };
}

function assertPeriod(name: string, period: number): void {
  if (!Number.isInteger(period) || period < 1) {
    throw new RangeError(
      `Cannot create Macd: ${name} must be an integer >= 1: current value is ${period}`,
    );
  }
}

function throwNotFinite(x: number): never {
  throw new RangeError(`Cannot update Macd: input must be finite: current value is ${x}`);
}
