/**
 * Synthetic detail under real candles, exact where it matters.
 *
 * - `derivePath` turns one coarse candle (30m, 1h, 4h, 1d) into 1-minute candles whose aggregate
 *   is the coarse candle exactly: first open, last close, the high and the low are touched, and
 *   volume and value are split in 1e-8 units so they sum back to the last digit.
 * - `minuteTrades` turns one 1-minute candle into a trade tape with the same property: first trade
 *   = open, last = close, high and low traded, volumes (and funds) summing exactly.
 *
 * Everything is seeded from `(seed, market, data-time)` so a replay is reproducible. Prices that
 * are not the candle's own OHLC are put on the KRW tick grid of the candle's *data* date, the grid
 * the real prices were quoted on.
 */

import { SCALE, type Units } from "../core/money.ts";
import { krwTickSize } from "../core/tick_size.ts";
import type { TakerSide } from "./feed.ts";
import { hashSeed, intBetween, normal, type Rng, rngFor } from "../core/prng.ts";

/** A candle in exact units. `startMs` and `lastTradeMs` are sandbox-clock epoch ms. */
export interface UnitCandle {
  readonly startMs: number;
  readonly open: Units;
  readonly high: Units;
  readonly low: Units;
  readonly close: Units;
  /** Base-coin volume (`candle_acc_trade_volume`). */
  readonly volume: Units;
  /** Quote turnover (`candle_acc_trade_price`). */
  readonly value: Units;
  /** Time of the last trade inside the candle (Upbit's candle `timestamp`). */
  readonly lastTradeMs: number;
}

/** One replayed trade with its share of the candle's quote turnover. */
export interface TapeTrade {
  readonly market: string;
  readonly tsMs: number;
  readonly price: Units;
  readonly volume: Units;
  readonly side: TakerSide;
  readonly sequentialId: number;
  /** This trade's exact share of the minute's `value` (sums to it over the minute). */
  readonly funds: Units;
}

/** Where a candle sits: the market, the run's seed, and the sandbox→data time shift. */
export interface PathContext {
  readonly market: string;
  readonly seed: number;
  /** Sandbox ms − data ms (a whole number of days). */
  readonly shiftMs: number;
}

/** One minute in ms. */
export const MINUTE_MS = 60_000;

/** Combines candles (in time order) into one; undefined for none. */
export function combineCandles(
  parts: readonly UnitCandle[],
  startMs?: number,
): UnitCandle | undefined {
  const first = parts[0];
  const last = parts[parts.length - 1];
  if (first === undefined || last === undefined) return undefined;
  let high = first.high;
  let low = first.low;
  let volume = 0n;
  let value = 0n;
  for (const p of parts) {
    if (p.high > high) high = p.high;
    if (p.low < low) low = p.low;
    volume += p.volume;
    value += p.value;
  }
  return {
    startMs: startMs ?? first.startMs,
    open: first.open,
    high,
    low,
    close: last.close,
    volume,
    value,
    lastTradeMs: last.lastTradeMs,
  };
}

/** Splits `total` into integer parts proportional to `weights` (> 0) that sum to `total` exactly. */
export function splitExact(total: bigint, weights: readonly number[]): bigint[] {
  const n = weights.length;
  if (n === 0) return [];
  const ints = weights.map((w) => BigInt(Math.max(1, Math.round(w * 1_000_000))));
  const sum = ints.reduce((a, b) => a + b, 0n);
  const out = ints.map((w) => (total * w) / sum);
  let rest = total - out.reduce((a, b) => a + b, 0n);
  for (let i = 0; rest > 0n; i = (i + 1) % n, rest--) out[i] = (out[i] as bigint) + 1n;
  return out;
}

/** Splits `total` into `weights.length` parts each ≥ `min` (when total allows), summing exactly. */
function splitWithFloor(total: bigint, weights: readonly number[], min: bigint): bigint[] {
  const n = BigInt(weights.length);
  if (total < min * n) return splitExact(total, weights);
  return splitExact(total - min * n, weights).map((v) => v + min);
}

/** Time of the last trade of the minute starting at sandbox `minuteMs` (within its last 2 s). */
export function lastTradeMsOf(minuteMs: number, ctx: PathContext): number {
  const h = hashSeed(ctx.seed, ctx.market, minuteMs - ctx.shiftMs, "last");
  return minuteMs + MINUTE_MS - 1 - (h % 2000);
}

function firstTradeOffsetMs(minuteMs: number, ctx: PathContext): number {
  return hashSeed(ctx.seed, ctx.market, minuteMs - ctx.shiftMs, "first") % 2000;
}

/** Rounds a float price onto the tick grid of `atMs` (data time), kept inside [low, high]. */
function onGrid(
  x: number,
  bounds: { low: Units; high: Units },
  atMs: number,
  market: string,
): Units {
  const approx = BigInt(Math.max(0, Math.round(x))) * SCALE;
  const tick = krwTickSize(approx, { atMs, market });
  const tickF = Number(tick) / 1e8;
  let p = BigInt(Math.round(x / tickF)) * tick;
  if (p > bounds.high) p = (bounds.high / tick) * tick;
  if (p < bounds.low) p = ((bounds.low + tick - 1n) / tick) * tick;
  if (p > bounds.high || p < bounds.low) {
    // The band is narrower than one tick: fall back to a price the candle already has.
    return x - Number(bounds.low) / 1e8 < Number(bounds.high) / 1e8 - x ? bounds.low : bounds.high;
  }
  return p;
}

function toF(u: Units): number {
  return Number(u) / 1e8;
}

/** Minimum units per slot/trade so every trade of a derived minute can carry some volume. */
const MIN_UNITS_PER_MINUTE = 8n;

/**
 * 1-minute candles under the coarse candle `piece` of `durMs` (sandbox time): aggregating them
 * gives `piece` exactly (OHLC, volume, value; `lastTradeMs` of the last minute).
 */
export function derivePath(
  piece: UnitCandle,
  options: PathContext & { readonly durMs: number },
): UnitCandle[] {
  const { durMs, market } = options;
  const slotsMax = Math.max(1, Math.round(durMs / MINUTE_MS));
  const dataMs = piece.startMs - options.shiftMs;
  const rng = rngFor(options.seed, market, dataMs, durMs, "path");
  const byVolume = Number(piece.volume / MIN_UNITS_PER_MINUTE);
  const n = Math.max(1, Math.min(slotsMax, byVolume));
  const minuteOf = (j: number) =>
    piece.startMs +
    MINUTE_MS * (n === 1 ? slotsMax - 1 : Math.round((j * (slotsMax - 1)) / (n - 1)));
  const bounds = { low: piece.low, high: piece.high };
  // Boundary prices x[0..n]: x[0] = open, x[n] = close, the high and low pinned inside.
  const x: Units[] = new Array(n + 1);
  x[0] = piece.open;
  x[n] = piece.close;
  const anchors: Array<[number, Units]> = [[0, piece.open], [n, piece.close]];
  if (n >= 3) {
    const bH = intBetween(rng, 1, n - 1);
    let bL = intBetween(rng, 1, n - 2);
    if (bL >= bH) bL++;
    anchors.push([bH, piece.high], [bL, piece.low]);
  } else if (n === 2) {
    anchors.push([1, rng() < 0.5 ? piece.high : piece.low]);
  }
  anchors.sort((a, b) => a[0] - b[0]);
  const range = toF(piece.high) - toF(piece.low);
  const sigma = range / Math.sqrt(Math.max(1, n)) * 0.6;
  for (let a = 0; a + 1 < anchors.length; a++) {
    const [i, pa] = anchors[a] as [number, Units];
    const [j, pb] = anchors[a + 1] as [number, Units];
    x[i] = pa;
    x[j] = pb;
    if (j - i < 2) continue;
    const walk: number[] = [0];
    for (let k = 1; k <= j - i; k++) walk.push((walk[k - 1] as number) + normal(rng) * sigma);
    const end = walk[j - i] as number;
    for (let k = i + 1; k < j; k++) {
      const f = (k - i) / (j - i);
      const bridge = (walk[k - i] as number) - f * end;
      const v = toF(pa) + (toF(pb) - toF(pa)) * f + bridge;
      x[k] = onGrid(Math.min(toF(piece.high), Math.max(toF(piece.low), v)), bounds, dataMs, market);
    }
  }
  const weights: number[] = [];
  const highs: Units[] = [];
  const lows: Units[] = [];
  for (let k = 0; k < n; k++) {
    const o = x[k] as Units;
    const c = x[k + 1] as Units;
    const top = o > c ? o : c;
    const bottom = o < c ? o : c;
    const wickUp = Math.abs(normal(rng)) * sigma * 0.3;
    const wickDown = Math.abs(normal(rng)) * sigma * 0.3;
    const h = onGrid(toF(top) + wickUp, bounds, dataMs, market);
    const l = onGrid(toF(bottom) - wickDown, bounds, dataMs, market);
    highs.push(h > top ? h : top);
    lows.push(l < bottom ? l : bottom);
    weights.push(
      (0.2 - Math.log(1 - rng())) * (1 + (range > 0 ? toF(top - bottom) / range * 8 : 0)),
    );
  }
  // The high and the low must be traded somewhere (they are unless an anchor could not be set).
  if (!highs.some((h) => h === piece.high)) highs[intBetween(rng, 0, n - 1)] = piece.high;
  if (!lows.some((l) => l === piece.low)) lows[intBetween(rng, 0, n - 1)] = piece.low;
  const volumes = splitWithFloor(piece.volume, weights, MIN_UNITS_PER_MINUTE);
  const values = piece.volume > 0n
    ? splitExact(piece.value, volumes.map((v) => Number(v) + 1e-9))
    : splitExact(piece.value, weights);
  const out: UnitCandle[] = [];
  for (let k = 0; k < n; k++) {
    const startMs = minuteOf(k);
    out.push({
      startMs,
      open: x[k] as Units,
      high: highs[k] as Units,
      low: lows[k] as Units,
      close: x[k + 1] as Units,
      volume: volumes[k] as bigint,
      value: values[k] as bigint,
      lastTradeMs: lastTradeMsOf(startMs, options),
    });
  }
  return out;
}

/**
 * The trades of the 1-minute candle `c` (sandbox time), in time order: first = open, last =
 * close, high and low traded, volumes and funds summing exactly to the candle's.
 */
export function minuteTrades(c: UnitCandle, ctx: PathContext): TapeTrade[] {
  const dataMs = c.startMs - ctx.shiftMs;
  const rng = rngFor(ctx.seed, ctx.market, dataMs, "tape");
  // Anchor prices: open, the extremes (low first on a rising minute, mostly), close.
  const lowFirst = c.close >= c.open ? rng() < 0.7 : rng() < 0.3;
  const anchors: Units[] = [];
  for (const p of [c.open, lowFirst ? c.low : c.high, lowFirst ? c.high : c.low, c.close]) {
    if (anchors[anchors.length - 1] !== p) anchors.push(p);
  }
  // An anchor list like [o, h, o] (h touched, back to open) keeps its middle point.
  let k = intBetween(rng, 3, 14);
  if (k < anchors.length) k = anchors.length;
  const maxByVolume = Number(c.volume > 1000n ? 1000n : c.volume);
  if (c.volume > 0n && k > maxByVolume) k = Math.max(anchors.length, maxByVolume);
  // Positions of the anchors among the k trades: 0, sorted interior picks, k − 1.
  const positions = [0];
  const interior = new Set<number>();
  while (interior.size < anchors.length - 2) interior.add(intBetween(rng, 1, k - 2));
  positions.push(...[...interior].sort((a, b) => a - b));
  if (anchors.length > 1) positions.push(k - 1);
  const prices: Units[] = new Array(k);
  const bounds = { low: c.low, high: c.high };
  for (let a = 0; a < anchors.length; a++) {
    const from = positions[a] as number;
    const to = a + 1 < anchors.length ? positions[a + 1] as number : k;
    const pa = anchors[a] as Units;
    const pb = anchors[a + 1] ?? pa;
    prices[from] = pa;
    for (let i = from + 1; i < to; i++) {
      const lo = toF(pa < pb ? pa : pb);
      const hi = toF(pa < pb ? pb : pa);
      prices[i] = onGrid(lo + (hi - lo) * rng(), bounds, dataMs, ctx.market);
    }
  }
  // Times: first within the minute's first 2 s, last at `lastTradeMsOf`, the rest distinct between.
  const firstMs = c.startMs + firstTradeOffsetMs(c.startMs, ctx);
  const lastMs = c.lastTradeMs;
  const times = new Set<number>([lastMs]);
  if (k > 1) times.add(firstMs);
  while (times.size < k) times.add(intBetween(rng, firstMs + 1, lastMs - 1));
  const sortedTimes = [...times].sort((a, b) => a - b);
  const weights: number[] = [];
  for (let i = 0; i < k; i++) weights.push(0.05 - Math.log(1 - rng()));
  const volumes = splitWithFloor(c.volume, weights, 1n);
  const funds = c.volume > 0n
    ? splitExact(c.value, volumes.map((v) => Number(v) + 1e-9))
    : splitExact(c.value, weights);
  const out: TapeTrade[] = [];
  let prev: Units | undefined;
  for (let i = 0; i < k; i++) {
    const price = prices[i] as Units;
    const side: TakerSide = prev === undefined || price === prev
      ? (rng() < 0.5 ? "BID" : "ASK")
      : price > prev
      ? "BID"
      : "ASK";
    prev = price;
    const tsMs = sortedTimes[i] as number;
    out.push({
      market: ctx.market,
      tsMs,
      price,
      volume: volumes[i] as bigint,
      side,
      sequentialId: tsMs * 1000 + i,
      funds: funds[i] as bigint,
    });
  }
  return out;
}

/** Draws from `rng` (re-exported for the book builder's seeded sizes). */
export type { Rng };
