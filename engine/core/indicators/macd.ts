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
  #keepFast: number;
  #keepSlow: number;
  #keepSignal: number;
  /** Holds the first `slow` values, needed to seed both EMAs at index `slow - 1`. */
  #seed: Float64Array;
  #count = 0;
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
    this.#keepFast = 1 - this.#kFast;
    this.#keepSlow = 1 - this.#kSlow;
    this.#keepSignal = 1 - this.#kSignal;
    this.#seed = new Float64Array(slow);
  }

  /** Adds `x`; returns `true` when macd, signal and histogram are all valid. Throws on non-finite `x`. */
  update(x: number): boolean {
    if (PROBE[x - x] === undefined) throwNotFinite(x);
    let macd: number;
    if (this.#count === this.slowPeriod) {
      // v * (1 - k) + x * k rather than TA-Lib's v + k * (x - v): same value to a few ulps, but
      // the loop-carried dependency is one multiply-add shorter.
      const fast = (this.#fastEma = this.#fastEma * this.#keepFast + x * this.#kFast);
      const slow = (this.#slowEma = this.#slowEma * this.#keepSlow + x * this.#kSlow);
      macd = fast - slow;
    } else {
      this.#seed[this.#count] = x;
      if (++this.#count < this.slowPeriod) return false;
      macd = this.#seedEmas();
    }
    this.#macd = macd;
    if (this.#signalCount === this.signalPeriod) {
      const signal = (this.#signal = this.#signal * this.#keepSignal + macd * this.#kSignal);
      this.#histogram = macd - signal;
      return true;
    }
    return this.#warmSignal(macd);
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

  /** Seeds both EMAs from the first `slow` values and returns the first macd. */
  #seedEmas(): number {
    const seed = this.#seed;
    const slow = this.slowPeriod;
    const firstFast = slow - this.fastPeriod;
    let slowSum = 0;
    for (let i = 0; i < firstFast; i++) slowSum += seed[i]!;
    let fastSum = 0;
    for (let i = firstFast; i < slow; i++) fastSum += seed[i]!;
    this.#slowEma = (slowSum + fastSum) / slow;
    this.#fastEma = fastSum / this.fastPeriod;
    return this.#fastEma - this.#slowEma;
  }

  /** Accumulates the signal seed; on the `signal`-th macd seeds the signal EMA. */
  #warmSignal(macd: number): boolean {
    this.#signalSum += macd;
    if (++this.#signalCount < this.signalPeriod) return false;
    const signal = (this.#signal = this.#signalSum / this.signalPeriod);
    this.#histogram = macd - signal;
    return true;
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
