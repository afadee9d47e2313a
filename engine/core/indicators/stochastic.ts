/**
 * Stochastic oscillator (slow %K and %D), streaming, amortised O(1) per update.
 *
 * TA-Lib `STOCH` with SMA smoothing: fastK = 100 * (close - LL) / (HH - LL) over the last
 * `kPeriod` candles (0 when HH == LL), slow %K = SMA(kSmoothing) of fastK, %D = SMA(dPeriod) of
 * slow %K. The highest high and lowest low come from monotonic deques, so each candle enters
 * and leaves each deque once.
 */

import { assertSameLength, candleProbe, type HlcSeries, throwBadCandle } from "./atr.ts";
import { Sma } from "./sma.ts";

/** `PROBE[candleProbe(…)]` is undefined exactly for a bad candle; see ema.ts for why a probe. */
const PROBE = new Float64Array(1);

/** Options for `stochasticBatch`. */
export interface StochasticOptions {
  /** Look-back of the highest high / lowest low (default 14). */
  readonly kPeriod?: number;
  /** SMA smoothing of fast %K into slow %K (default 3). */
  readonly kSmoothing?: number;
  /** SMA period of %D (default 3). */
  readonly dPeriod?: number;
}

/** Outputs of `stochasticBatch`, each as long as the input and `NaN` during its warm-up. */
export interface StochasticSeries {
  /** Slow %K, valid from index `kPeriod + kSmoothing - 2`. */
  readonly k: Float64Array;
  /** %D, valid from index `kPeriod + kSmoothing + dPeriod - 3`. */
  readonly d: Float64Array;
}

/** Streaming slow stochastic (TA-Lib `STOCH`, SMA smoothing) in [0, 100]; `k` is valid before `d`. */
export class Stochastic {
  /** Look-back of the highest high / lowest low. */
  readonly kPeriod: number;
  /** SMA smoothing of fast %K into slow %K. */
  readonly kSmoothing: number;
  /** SMA period of %D. */
  readonly dPeriod: number;
  #highest: RollingMax;
  /** Rolling max of -low: the lowest low, negated (exact). */
  #lowest: RollingMax;
  #kSma: Sma;
  #dSma: Sma;
  #t = 0;
  #k = NaN;
  #d = NaN;

  /** Throws a `RangeError` unless all periods are integers >= 1. */
  constructor(kPeriod = 14, kSmoothing = 3, dPeriod = 3) {
    assertPeriod("kPeriod", kPeriod);
    assertPeriod("kSmoothing", kSmoothing);
    assertPeriod("dPeriod", dPeriod);
    this.kPeriod = kPeriod;
    this.kSmoothing = kSmoothing;
    this.dPeriod = dPeriod;
    this.#highest = new RollingMax(kPeriod);
    this.#lowest = new RollingMax(kPeriod);
    this.#kSma = new Sma(kSmoothing);
    this.#dSma = new Sma(dPeriod);
  }

  /** Adds a candle; returns `true` when %D (and so %K) is valid. Throws a `RangeError` on a bad candle. */
  update(high: number, low: number, close: number): boolean {
    if (PROBE[candleProbe(high - low, close)] === undefined) {
      throwBadCandle("Stochastic", high, low, close);
    }
    const t = this.#t++;
    const hh = this.#highest.push(high, t);
    const ll = -this.#lowest.push(-low, t);
    if (t < this.kPeriod - 1) return false;
    const span = hh - ll;
    // (close - ll) / span <= 1 exactly (rounding is monotonic), so fastK stays within [0, 100].
    const fastK = span === 0 ? 0 : 100 * ((close - ll) / span);
    // The SMAs' shifted sums can round a hair outside [0, 100]: clamp back.
    const k = (this.#k = clamp(this.#kSma.update(fastK)));
    if (k !== k) return false;
    const d = (this.#d = clamp(this.#dSma.update(k)));
    return d === d;
  }

  /** Slow %K; `NaN` until index `kPeriod + kSmoothing - 2`. */
  get k(): number {
    return this.#k;
  }

  /** %D; `NaN` until ready. */
  get d(): number {
    return this.#d;
  }

  /** `true` once %D is valid. */
  get ready(): boolean {
    return this.#d === this.#d;
  }
}

/**
 * Maximum over the last `capacity` values, amortised O(1): a monotonic deque (values strictly
 * decreasing from head to tail, with their indices) on rings of `capacity` slots, which is
 * enough because an entry older than the window is dropped before each push.
 */
class RollingMax {
  #values: Float64Array;
  #indices: Float64Array;
  #head = 0;
  #tail: number;
  #size = 0;

  constructor(capacity: number) {
    this.#values = new Float64Array(capacity);
    this.#indices = new Float64Array(capacity);
    this.#tail = capacity - 1;
  }

  /** Adds `value` as the `t`-th value (t = 0, 1, …) and returns the maximum of the window. */
  push(value: number, t: number): number {
    const values = this.#values;
    const cap = values.length;
    let head = this.#head;
    let tail = this.#tail;
    let size = this.#size;
    if (size > 0 && this.#indices[head]! <= t - cap) {
      head = head + 1 === cap ? 0 : head + 1;
      size--;
    }
    while (size > 0 && values[tail]! <= value) {
      tail = tail === 0 ? cap - 1 : tail - 1;
      size--;
    }
    tail = tail + 1 === cap ? 0 : tail + 1;
    values[tail] = value;
    this.#indices[tail] = t;
    this.#head = head;
    this.#tail = tail;
    this.#size = size + 1;
    return values[head]!;
  }
}

/** Runs `Stochastic` over the candles; each output has the input's length, `NaN` while warming up. */
export function stochasticBatch(
  candles: HlcSeries,
  options: StochasticOptions = {},
): StochasticSeries {
  const { high, low, close } = candles;
  const n = assertSameLength("stochasticBatch", candles);
  const s = new Stochastic(options.kPeriod, options.kSmoothing, options.dPeriod);
  const k = new Float64Array(n);
  const d = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    s.update(high[i]!, low[i]!, close[i]!);
    k[i] = s.k;
    d[i] = s.d;
  }
  return { k, d };
}

function clamp(x: number): number {
  return x < 0 ? 0 : x > 100 ? 100 : x;
}

function assertPeriod(name: string, period: number): void {
  if (!Number.isInteger(period) || period < 1) {
    throw new RangeError(
      `Cannot create Stochastic: ${name} must be an integer >= 1: current value is ${period}`,
    );
  }
}
