/**
 * Bollinger Bands, streaming, O(1) per update.
 *
 * middle = SMA(period); upper/lower = middle ± stdDev * σ with the population σ (divide by N, as
 * TA-Lib `BBANDS`). Running sums of x and x² would cancel catastrophically at prices around 1e8
 * KRW (x² ≈ 1e16 next to a variance of ≈ 1e8) and drift over millions of updates, so:
 * - the sums are of values shifted by a reference, the window mean at the last resync;
 * - the running sums are only trusted for one window: fresh sums accumulate every value as it is
 *   written, and when the ring wraps they cover exactly the current window and replace the
 *   running ones. That recomputes the sums from scratch every `period` updates at O(1) per
 *   update, with no loop or out-of-line call in the hot path (either slows the caller's loop).
 */

/**
 * Cold-path marker: `PROBE[x - x]` is undefined exactly when x is NaN or ±∞, `PROBE[1]` always.
 * A rarely taken branch that calls or throws slows V8's optimised caller loop on every update;
 * an out-of-bounds probe read compiles to a deoptimisation check instead (see ema.ts).
 */
const PROBE = new Float64Array(1);

/** σ² below this times (middle² + ref²) is recomputed from scratch (σ ≲ 1e-5 of the price). */
const TINY_VARIANCE = 1e-10;

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
  #inv: number;
  #pos = 0;
  /** Reference of the running sums; NaN until the first window is complete. */
  #ref = NaN;
  /** Σ (x - ref) over the window. */
  #sum = 0;
  /** Σ (x - ref)² over the window. */
  #sumSq = 0;
  /** Reference of the fresh sums: the window mean at the last wrap (the first value before). */
  #nextRef = NaN;
  /** Σ (x - nextRef) over the values written since the last wrap. */
  #fresh = 0;
  /** Σ (x - nextRef)² over the values written since the last wrap. */
  #freshSq = 0;
  #upper = NaN;
  #middle = NaN;
  #sigma = NaN;
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
    this.#inv = 1 / period;
  }

  /** Adds `x`; returns `true` when the bands are valid. Throws a `RangeError` on non-finite `x`. */
  update(x: number): boolean {
    // Kept small (with #wrap and #publish split out) so that V8 inlines it into callers' loops.
    if (PROBE[x - x] === undefined) throwNotFinite(x);
    // The first window's reference is its first value. Branch-free on purpose: code that runs
    // only once per instance can lack type feedback when V8 optimises, and then deoptimises the
    // caller's loop on the next instance's first update.
    const nextRef = this.#nextRef === this.#nextRef ? this.#nextRef : x;
    this.#nextRef = nextRef;
    const ring = this.#ring;
    const pos = this.#pos;
    const old = ring[pos]!;
    ring[pos] = x;
    const ref = this.#ref;
    const delta = x - old;
    // (x - ref)² - (old - ref)² = (x - old) · (x + old - 2 ref).
    this.#sumSq += delta * (x - ref + (old - ref));
    this.#sum += delta;
    const fresh = x - nextRef;
    this.#fresh += fresh;
    this.#freshSq += fresh * fresh;
    if (pos + 1 === this.period) this.#wrap(nextRef);
    else this.#pos = pos + 1;
    return this.#publish();
  }

  /** The ring wrapped: the fresh sums now cover exactly the window and replace the running ones. */
  #wrap(nextRef: number): void {
    this.#pos = 0;
    this.#ref = nextRef;
    this.#sum = this.#fresh;
    this.#sumSq = this.#freshSq;
    this.#nextRef = nextRef + this.#fresh * this.#inv;
    this.#fresh = 0;
    this.#freshSq = 0;
  }

  /** Computes the bands from the sums; returns `true` when they are valid. */
  #publish(): boolean {
    // Multiplying by 1 / period: divisions and the square root share one slow unit.
    const mean = this.#sum * this.#inv;
    let variance = this.#sumSq * this.#inv - mean * mean;
    let middle = this.#ref + mean;
    // σ² from sliding sums carries a rounding residue of ~ε·(x - ref)², harmless next to a real
    // variance but ~1e-7 of the price in σ for a flat window (common in thin markets). So a
    // tiny σ² (relative to the window's level and to the reference the sums were taken from,
    // which can be far off after a jump) is recomputed exactly from the ring: a cold path,
    // reached through a probe read that is out of bounds only then (see the note on PROBE).
    const level = middle * middle + this.#ref * this.#ref;
    if (PROBE[variance < TINY_VARIANCE * level ? 1 : 0] === undefined) {
      middle = this.#exactMean();
      variance = this.#exactVariance(middle);
    }
    const sigma = variance > 0 ? Math.sqrt(variance) : 0;
    const width = this.stdDev * sigma;
    this.#sigma = sigma;
    this.#middle = middle;
    this.#upper = middle + width;
    this.#lower = middle - width;
    return middle === middle;
  }

  /** Mean of the window from scratch, shifted by one of its values (exact for a flat window). */
  #exactMean(): number {
    const ring = this.#ring;
    const ref = ring[0]!;
    let sum = 0;
    for (let i = 0; i < ring.length; i++) sum += ring[i]! - ref;
    return ref + sum * this.#inv;
  }

  /** Population variance of the window around `mean`, from scratch. */
  #exactVariance(mean: number): number {
    const ring = this.#ring;
    let sq = 0;
    for (let i = 0; i < ring.length; i++) sq += (ring[i]! - mean) ** 2;
    return sq * this.#inv;
  }

  /** Upper band, `NaN` until ready. */
  get upper(): number {
    return this.#upper;
  }

  /** Middle band (the SMA), `NaN` until ready. */
  get middle(): number {
    return this.#middle;
  }

  /** σ of the window (the bands are middle ± stdDev × σ), `NaN` until the first value. */
  get sigma(): number {
    return this.#sigma;
  }

  /** Lower band, `NaN` until ready. */
  get lower(): number {
    return this.#lower;
  }

  /** `true` once `period` values have been seen. */
  get ready(): boolean {
    return this.#ref === this.#ref;
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
