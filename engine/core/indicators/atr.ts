/**
 * Average true range (ATR), streaming, O(1) per update.
 *
 * TA-Lib / Wilder definition: the true range needs the previous close, so the first candle gives
 * none; the ATR is seeded with the SMA of the first `period` true ranges (candles 1..period,
 * first output at index `period`), then atr = (atr * (period - 1) + tr) / period. Wilder
 * smoothing forgets its past geometrically, so rounding errors cannot accumulate.
 */

/** `PROBE[candleProbe(…)]` is undefined exactly for a bad candle; see ema.ts for why a probe. */
const PROBE = new Float64Array(1);

/** High, low and close series of equal length (struct-of-arrays candles for the batch helpers). */
export interface HlcSeries {
  /** Candle highs. */
  readonly high: ArrayLike<number>;
  /** Candle lows. */
  readonly low: ArrayLike<number>;
  /** Candle closes. */
  readonly close: ArrayLike<number>;
}

/** Streaming Wilder ATR (TA-Lib `ATR`), >= 0; `NaN` until `period + 1` candles. */
export class Atr {
  /** Number of true ranges the average spans. */
  readonly period: number;
  #keep: number;
  #inv: number;
  #count = 0;
  #prevClose = 0;
  #sum = 0;
  #value = NaN;

  /** Throws a `RangeError` unless `period` is an integer >= 1. */
  constructor(period = 14) {
    if (!Number.isInteger(period) || period < 1) {
      throw new RangeError(
        `Cannot create Atr: period must be an integer >= 1: current value is ${period}`,
      );
    }
    this.period = period;
    this.#keep = (period - 1) / period;
    this.#inv = 1 / period;
  }

  /** Adds a candle and returns the ATR, or `NaN` while warming up. Throws a `RangeError` on a bad candle. */
  update(high: number, low: number, close: number): number {
    const range = high - low;
    if (PROBE[candleProbe(range, close)] === undefined) throwBadCandle("Atr", high, low, close);
    const pc = this.#prevClose;
    this.#prevClose = close;
    // With low <= high, max(h - l, |h - pc|, |l - pc|) is exactly max(h, pc) - min(l, pc).
    const tr = (high > pc ? high : pc) - (low < pc ? low : pc);
    if (this.#count > this.period) {
      return (this.#value = this.#value * this.#keep + tr * this.#inv);
    }
    if (this.#count++ === 0) return NaN;
    this.#sum += tr;
    if (this.#count <= this.period) return NaN;
    return (this.#value = this.#sum / this.period);
  }

  /** Latest ATR, `NaN` until ready. */
  get value(): number {
    return this.#value;
  }

  /** `true` once `period + 1` candles have been seen. */
  get ready(): boolean {
    return this.#count > this.period;
  }
}

/** Runs `Atr` over the candles; the output has the same length, `NaN` during the warm-up. */
export function atrBatch(candles: HlcSeries, period = 14): Float64Array {
  const { high, low, close } = candles;
  const n = assertSameLength("atrBatch", candles);
  const atr = new Atr(period);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = atr.update(high[i]!, low[i]!, close[i]!);
  return out;
}

/** Returns the common length of the three series; throws a `RangeError` when they differ. */
export function assertSameLength(caller: string, candles: HlcSeries): number {
  const n = candles.close.length;
  if (candles.high.length !== n || candles.low.length !== n) {
    throw new RangeError(
      `Cannot run ${caller}: high, low and close must have the same length: current lengths are ${candles.high.length}, ${candles.low.length}, ${n}`,
    );
  }
  return n;
}

/**
 * 0 for a good candle (finite prices, low <= high), NaN otherwise: `range - range` is NaN when
 * high or low is NaN or ±∞ (or both are infinite), `close - close` when close is.
 */
export function candleProbe(range: number, close: number): number {
  return range < 0 ? NaN : range - range + (close - close);
}

/** Throws the `RangeError` for a candle with a non-finite price or low > high. */
export function throwBadCandle(name: string, high: number, low: number, close: number): never {
  throw new RangeError(
    `Cannot update ${name}: candle must be finite with low <= high: current value is high=${high}, low=${low}, close=${close}`,
  );
}
