/**
 * Test helpers for the indicator tests: a tiny CSV reader for the repo's `data/` candles, a
 * seeded random walk, a tolerance check, and straightforward reference implementations that
 * follow the TA-Lib definitions with plain loops (windows recomputed from scratch), sharing no
 * code with `engine/core/indicators`.
 */

import { mulberry32 } from "../../../../engine/core/prng.ts";
import assert from "node:assert/strict";
import fc from "fast-check";

/** Struct-of-arrays candles. */
export interface Hlc {
  high: number[];
  low: number[];
  close: number[];
}

/** Reads `data/<file>` (relative to the repo root): `time_utc,open,high,low,close,volume,value`. */
export function readCandles(file: string): Hlc {
  const url = new URL(`../../../../data/${file}`, import.meta.url);
  const lines = Deno.readTextFileSync(url).split("\n");
  assert.equal(lines[0]?.trim(), "time_utc,open,high,low,close,volume,value");
  const out: Hlc = { high: [], low: [], close: [] };
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === "") continue;
    const cols = line.split(",");
    out.high.push(Number(cols[2]));
    out.low.push(Number(cols[3]));
    out.close.push(Number(cols[4]));
  }
  return out;
}

/** The two real candle files every indicator is checked against. */
export const CANDLE_FILES = [
  "upbit-KRW-BTC-1d.csv",
  "upbit-KRW-XRP-1h-20170925-20240516.csv",
] as const;

/** Deterministic mulberry32 PRNG in [0, 1). */
export const seededRandom: (seed: number) => () => number = mulberry32;

/** A random walk of `n` OHLC candles starting at `start`, with steps up to ±`step`. */
export function randomWalk(n: number, options: { seed: number; start: number; step: number }): {
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
} {
  const rand = seededRandom(options.seed);
  const high = new Float64Array(n);
  const low = new Float64Array(n);
  const close = new Float64Array(n);
  let price = options.start;
  for (let i = 0; i < n; i++) {
    const open = price;
    price = Math.max(options.step, price + Math.round((rand() - 0.5) * 2 * options.step));
    high[i] = Math.max(open, price) + Math.round(rand() * options.step);
    low[i] = Math.min(open, price) - Math.round(rand() * options.step);
    close[i] = price;
  }
  return { high, low, close };
}

/** |a - b| <= tol * max(1, |b|), with NaN matching only NaN. */
export function close(a: number, b: number, tol = 1e-9): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  return Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));
}

/** Where float error is relative to the data's magnitude rather than to the output's. */
export interface Scale {
  /** The input series. */
  readonly values: ArrayLike<number>;
  /** How many inputs up to and including `i` the error at `i` can scale with. */
  readonly span: number;
}

/**
 * Asserts equal lengths, identical NaN (warm-up) positions and |a - b| <= tol * max(1, |b|);
 * with `scale`, also relative to the largest |input| in the last `span` inputs, the honest bound
 * for a sliding window fed values that jump across orders of magnitude.
 */
export function assertSeriesClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  label: string,
  tol = 1e-9,
  scale?: Scale,
): void {
  assert.equal(actual.length, expected.length, `${label}: length`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const b = expected[i]!;
    if (close(a, b, tol)) continue;
    if (scale !== undefined && !Number.isNaN(a) && !Number.isNaN(b)) {
      let m = Math.max(1, Math.abs(b));
      for (let j = Math.max(0, i - scale.span + 1); j <= i; j++) {
        m = Math.max(m, Math.abs(scale.values[j]!));
      }
      if (Math.abs(a - b) <= tol * m) continue;
    }
    assert.fail(`${label}[${i}]: got ${a}, expected ${b}`);
  }
}

/** Index of the first non-NaN value, or the length when there is none. */
export function warmUp(series: ArrayLike<number>): number {
  let i = 0;
  while (i < series.length && Number.isNaN(series[i]!)) i++;
  return i;
}

/** SMA: each window summed from scratch. */
export function refSma(x: ArrayLike<number>, period: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < x.length; i++) {
    if (i < period - 1) {
      out.push(NaN);
      continue;
    }
    let sum = 0;
    for (let j = i - period + 1; j <= i; j++) sum += x[j]!;
    out.push(sum / period);
  }
  return out;
}

/** TA-Lib EMA: seed = SMA of the first `period` values, then prev = (x - prev) * k + prev. */
export function refEma(x: ArrayLike<number>, period: number): number[] {
  const k = 2 / (period + 1);
  const out: number[] = [];
  let prev = NaN;
  for (let i = 0; i < x.length; i++) {
    if (i < period - 1) {
      out.push(NaN);
    } else if (i === period - 1) {
      let sum = 0;
      for (let j = 0; j < period; j++) sum += x[j]!;
      prev = sum / period;
      out.push(prev);
    } else {
      prev = (x[i]! - prev) * k + prev;
      out.push(prev);
    }
  }
  return out;
}

/** TA-Lib RSI (Wilder): mean of the first `period` gains/losses, then (avg * (p - 1) + x) / p. */
export function refRsi(x: ArrayLike<number>, period: number): number[] {
  const out: number[] = [];
  let gain = 0;
  let loss = 0;
  for (let i = 0; i < x.length; i++) {
    if (i < period) {
      out.push(NaN);
      continue;
    }
    if (i === period) {
      gain = 0;
      loss = 0;
      for (let j = 1; j <= period; j++) {
        const d = x[j]! - x[j - 1]!;
        if (d > 0) gain += d;
        else loss -= d;
      }
      gain /= period;
      loss /= period;
    } else {
      const d = x[i]! - x[i - 1]!;
      gain = (gain * (period - 1) + (d > 0 ? d : 0)) / period;
      loss = (loss * (period - 1) + (d < 0 ? -d : 0)) / period;
    }
    out.push(gain + loss === 0 ? 0 : 100 * (gain / (gain + loss)));
  }
  return out;
}

/** TA-Lib MACD (INT_MACD): both EMAs start at index slow - 1, signal = EMA of macd. */
export function refMacd(
  x: ArrayLike<number>,
  fast: number,
  slow: number,
  signal: number,
): { macd: number[]; signal: number[]; histogram: number[] } {
  const n = x.length;
  const macd = new Array<number>(n).fill(NaN);
  const sig = new Array<number>(n).fill(NaN);
  const hist = new Array<number>(n).fill(NaN);
  if (n < slow) return { macd, signal: sig, histogram: hist };
  const kf = 2 / (fast + 1);
  const ks = 2 / (slow + 1);
  const kg = 2 / (signal + 1);
  let slowEma = 0;
  for (let j = 0; j < slow; j++) slowEma += x[j]!;
  slowEma /= slow;
  let fastEma = 0;
  for (let j = slow - fast; j < slow; j++) fastEma += x[j]!;
  fastEma /= fast;
  macd[slow - 1] = fastEma - slowEma;
  for (let i = slow; i < n; i++) {
    fastEma = (x[i]! - fastEma) * kf + fastEma;
    slowEma = (x[i]! - slowEma) * ks + slowEma;
    macd[i] = fastEma - slowEma;
  }
  const first = slow + signal - 2;
  if (n <= first) return { macd, signal: sig, histogram: hist };
  let s = 0;
  for (let j = slow - 1; j <= first; j++) s += macd[j]!;
  s /= signal;
  sig[first] = s;
  hist[first] = macd[first]! - s;
  for (let i = first + 1; i < n; i++) {
    s = (macd[i]! - s) * kg + s;
    sig[i] = s;
    hist[i] = macd[i]! - s;
  }
  return { macd, signal: sig, histogram: hist };
}

/** Bollinger Bands: each window's mean and population σ computed from scratch (two passes). */
export function refBollinger(
  x: ArrayLike<number>,
  period: number,
  stdDev: number,
): { upper: number[]; middle: number[]; lower: number[]; sd: number[] } {
  const upper: number[] = [];
  const middle: number[] = [];
  const lower: number[] = [];
  const sd: number[] = [];
  for (let i = 0; i < x.length; i++) {
    if (i < period - 1) {
      upper.push(NaN);
      middle.push(NaN);
      lower.push(NaN);
      sd.push(NaN);
      continue;
    }
    let sum = 0;
    for (let j = i - period + 1; j <= i; j++) sum += x[j]!;
    const mean = sum / period;
    let sq = 0;
    for (let j = i - period + 1; j <= i; j++) sq += (x[j]! - mean) ** 2;
    const s = Math.sqrt(sq / period);
    upper.push(mean + stdDev * s);
    middle.push(mean);
    lower.push(mean - stdDev * s);
    sd.push(s);
  }
  return { upper, middle, lower, sd };
}

/** TA-Lib STOCH with SMA smoothing; fast %K windows scanned from scratch. */
export function refStochastic(
  c: { high: ArrayLike<number>; low: ArrayLike<number>; close: ArrayLike<number> },
  kPeriod: number,
  kSmoothing: number,
  dPeriod: number,
): { k: number[]; d: number[] } {
  const n = c.close.length;
  const fastK: number[] = [];
  for (let i = 0; i < n; i++) {
    if (i < kPeriod - 1) {
      fastK.push(NaN);
      continue;
    }
    let hh = -Infinity;
    let ll = Infinity;
    for (let j = i - kPeriod + 1; j <= i; j++) {
      hh = Math.max(hh, c.high[j]!);
      ll = Math.min(ll, c.low[j]!);
    }
    fastK.push(hh === ll ? 0 : (100 * (c.close[i]! - ll)) / (hh - ll));
  }
  const k = smaSkippingWarmUp(fastK, kSmoothing);
  const d = smaSkippingWarmUp(k, dPeriod);
  return { k, d };
}

/** SMA over a series whose first values are NaN (warm-up); windows from scratch. */
function smaSkippingWarmUp(x: number[], period: number): number[] {
  const start = warmUp(x);
  return x.map((_, i) => {
    if (i < start + period - 1) return NaN;
    let sum = 0;
    for (let j = i - period + 1; j <= i; j++) sum += x[j]!;
    return sum / period;
  });
}

/** TA-Lib ATR: TR from candle 1, seeded with the mean of TR[1..period], then Wilder. */
export function refAtr(
  c: { high: ArrayLike<number>; low: ArrayLike<number>; close: ArrayLike<number> },
  period: number,
): number[] {
  const n = c.close.length;
  const out = new Array<number>(n).fill(NaN);
  if (n <= period) return out;
  let atr = 0;
  for (let i = 1; i <= period; i++) atr += trueRange(c, i);
  atr /= period;
  out[period] = atr;
  for (let i = period + 1; i < n; i++) {
    atr = (atr * (period - 1) + trueRange(c, i)) / period;
    out[i] = atr;
  }
  return out;
}

/** TA-Lib TRANGE at `i` >= 1. */
function trueRange(
  c: { high: ArrayLike<number>; low: ArrayLike<number>; close: ArrayLike<number> },
  i: number,
): number {
  const h = c.high[i]!;
  const l = c.low[i]!;
  const pc = c.close[i - 1]!;
  return Math.max(h - l, Math.abs(pc - h), Math.abs(l - pc));
}

/**
 * Price series for properties: arbitrary doubles over 13 orders of magnitude, small integers
 * (ties, flat windows, zero changes) and random walks around 1e8 KRW.
 */
export const pricesArb: fc.Arbitrary<number[]> = fc.oneof(
  fc.array(fc.double({ min: 1e-3, max: 1e10, noNaN: true }), { maxLength: 120 }),
  fc.array(fc.integer({ min: 1, max: 12 }), { maxLength: 120 }),
  fc.tuple(
    fc.integer({ min: 10_000_000, max: 200_000_000 }),
    fc.array(fc.integer({ min: -50, max: 50 }), { maxLength: 120 }),
  ).map(walkFromSteps),
);

/** Candles for properties: three prices per candle sorted into low <= close <= high. */
export const candlesArb: fc.Arbitrary<Hlc> = fc.oneof(
  fc.array(fc.tuple(priceArb(), priceArb(), priceArb()), { maxLength: 120 }),
  fc.array(
    fc.tuple(
      fc.integer({ min: 1, max: 12 }),
      fc.integer({ min: 1, max: 12 }),
      fc.integer({ min: 1, max: 12 }),
    ),
    { maxLength: 120 },
  ),
).map(sortCandles);

/** Indicator period for properties. */
export const periodArb: fc.Arbitrary<number> = fc.integer({ min: 1, max: 30 });

function priceArb(): fc.Arbitrary<number> {
  return fc.double({ min: 1e-3, max: 1e10, noNaN: true });
}

function walkFromSteps([start, steps]: [number, number[]]): number[] {
  const out: number[] = [];
  let price = start;
  for (const step of steps) {
    price += step * 1000;
    out.push(price);
  }
  return out;
}

function sortCandles(rows: [number, number, number][]): Hlc {
  const out: Hlc = { high: [], low: [], close: [] };
  for (const row of rows) {
    const [low, close, high] = [...row].sort((a, b) => a - b) as [number, number, number];
    out.high.push(high);
    out.low.push(low);
    out.close.push(close);
  }
  return out;
}
