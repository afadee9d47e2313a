/**
 * Bollinger Bands, streaming, O(1) per update.
 *
 * middle = SMA(period); upper/lower = middle ± stdDev * σ with the population σ (divide by N, as
 * TA-Lib `BBANDS`). Running sums of x and x² would cancel catastrophically at prices around 1e8
 * KRW (x² ≈ 1e16 next to a variance of ≈ 1e8) and drift over millions of updates, so the sums
 * are kept over values shifted by the window mean at the last resync, and recomputed exactly
 * from the ring buffer every time the ring wraps (amortised O(1)).
 */

/** `PROBE[x - x]` is undefined exactly when x is NaN or ±∞; see ema.ts for why a probe. */
const PROBE = new Float64Array(1);

/** Options for `bollingerBandsBatch`. */
export interface BollingerOptions {
  /** Window length (default 20). */
  readonly period?: number;
  /** Band width in standard deviations (default 2). */
  readonly stdDev?: number;
}

/** Outputs of `bollingerBandsBatch`, each as long as the input and `NaN` during the warm-up. */
export interface BollingerSeries {
  /** middle + stdDev * σ. */
  readonly upper: Float64Array;
  /** SMA of the window. */
  readonly middle: Float64Array;
  /** middle - stdDev * σ. */
  readonly lower: Float64Array;
}

/** Streaming Bollinger Bands (TA-Lib `BBANDS`, SMA, population σ); `NaN` until `period` values. */
export class BollingerBands {
  /** Window length. */
  readonly period: number;
  /** Band width in standard deviations. */
  readonly stdDev: number;
  #ring: Float64Array;
  #pos = 0;
  #count = 0;
  #ref = 0;
  /** Σ(x - ref) over the window. */
  #sum = 0;
  /** Σ(x - ref)² over the window. */
  #sumSq = 0;
  #upper = NaN;
  #middle = NaN;
  #lower = NaN;

  /** Throws a `RangeError` unless `period` is an integer >= 1 and `stdDev` is finite and >= 0. */
  constructor(period = 20, stdDev = 2) {
    if (!Number.isInteger(period) || period < 1) {
      throw new RangeError(
        `Cannot create BollingerBands: period must be an integer >= 1: current value is ${period}`,
      );
    }
    if (!(stdDev >= 0) || stdDev === Infinity) {
      throw new RangeError(
        `Cannot create BollingerBands: stdDev must be finite and >= 0: current value is ${stdDev}`,
      );
    }
    this.period = period;
    this.stdDev = stdDev;
    this.#ring = new Float64Array(period);
  }

  /** Adds `x`; returns `true` when the bands are valid. Throws a `RangeError` on non-finite `x`. */
  update(x: number): boolean {
    if (PROBE[x - x] === undefined) throwNotFinite(x);
    const ring = this.#ring;
    let pos = this.#pos;
    const ref = this.#ref;
    const dNew = x - ref;
    const dOld = ring[pos]! - ref;
    ring[pos] = x;
    if (++pos === this.period) {
      pos = 0;
      this.#count = this.period;
      this.#resync();
    } else if (this.#count < this.period) {
      this.#count++;
      this.#pos = pos;
      return false;
    } else {
      this.#sum += dNew - dOld;
      this.#sumSq += (dNew - dOld) * (dNew + dOld);
    }
    this.#pos = pos;
    const inv = 1 / this.period;
    const mean = this.#sum * inv;
    const variance = this.#sumSq * inv - mean * mean;
    const width = variance > 0 ? this.stdDev * Math.sqrt(variance) : 0;
    const middle = (this.#middle = this.#ref + mean);
    this.#upper = middle + width;
    this.#lower = middle - width;
    return true;
  }

  /** Upper band, `NaN` until ready. */
  get upper(): number {
    return this.#upper;
  }

  /** Middle band (the SMA), `NaN` until ready. */
  get middle(): number {
    return this.#middle;
  }

  /** Lower band, `NaN` until ready. */
  get lower(): number {
    return this.#lower;
  }

  /** `true` once `period` values have been seen. */
  get ready(): boolean {
    return this.#count === this.period;
  }

  /** Re-centres on the exact window mean and recomputes both shifted sums from the ring. */
  #resync(): void {
    const ring = this.#ring;
    const n = ring.length;
    let total = 0;
    for (let i = 0; i < n; i++) total += ring[i]!;
    const ref = total / n;
    let sum = 0;
    let sumSq = 0;
    for (let i = 0; i < n; i++) {
      const d = ring[i]! - ref;
      sum += d;
      sumSq += d * d;
    }
    this.#ref = ref;
    this.#sum = sum;
    this.#sumSq = sumSq;
  }
}

/** Runs `BollingerBands` over `values`; each output has the input's length, `NaN` while warming up. */
export function bollingerBandsBatch(
  values: ArrayLike<number>,
  options: BollingerOptions = {},
): BollingerSeries {
  const bb = new BollingerBands(options.period, options.stdDev);
  const n = values.length;
  const upper = new Float64Array(n);
  const middle = new Float64Array(n);
  const lower = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    bb.update(values[i]!);
    upper[i] = bb.upper;
    middle[i] = bb.middle;
    lower[i] = bb.lower;
  }
  return { upper, middle, lower };
}

function throwNotFinite(x: number): never {
  throw new RangeError(`Cannot update BollingerBands: input must be finite: current value is ${x}`);
}
