/**
 * One market's history as the replay sees it: real candles from one or more files, the finest
 * source chosen per UTC day, and 1-minute candles derived lazily (and cached) under coarser
 * sources. Every aggregate is computed from whole source candles where a bucket covers them and
 * from the derived minutes elsewhere; both agree exactly because a derived path sums back to its
 * source candle in exact units.
 *
 * All times here are on the sandbox clock (data time + `shiftMs`, a whole number of days).
 *
 * A series may repeat its data end to end (`repeat`): copy k is the data moved k periods later,
 * so a one-week file replays for as long as anyone watches. Copies are built lazily per day.
 */

import type { Candle } from "../core/candle.ts";
import { DAY_MS } from "../core/candle.ts";
import { mulUnits, unitsFromNumber } from "../core/money.ts";
import {
  combineCandles,
  derivePath,
  lastTradeMsOf,
  MINUTE_MS,
  type PathContext,
  type UnitCandle,
} from "./paths.ts";

/** A source candle in units with its length. */
export interface Piece extends UnitCandle {
  readonly durMs: number;
}

/** One loaded candle file of a market. */
export interface SeriesSource {
  readonly tfMs: number;
  readonly candles: readonly Candle[];
}

/** Play the data again and again: copy k starts `k × periodMs` after the data (`copies` in all). */
export interface SeriesRepeat {
  /** A whole number of days, longer than the data's span (copies never overlap). */
  readonly periodMs: number;
  /** Number of copies, the original included. */
  readonly copies: number;
}

const MINUTES_PER_DAY = 1440;
const DAY_CACHE_SIZE = 96;

/** Converts a float candle (data time) to an exact `Piece` on the sandbox clock. */
function toPiece(c: Candle, tfMs: number, ctx: PathContext): Piece {
  const open = unitsFromNumber(c.open);
  const high = unitsFromNumber(c.high);
  const low = unitsFromNumber(c.low);
  const close = unitsFromNumber(c.close);
  const volume = unitsFromNumber(c.volume, "half_up");
  // Sources without turnover get the typical-price estimate, so `value` is never missing.
  const value = Number.isFinite(c.value)
    ? unitsFromNumber(c.value, "half_up")
    : mulUnits((open + high + low + close) / 4n, volume, "half_up");
  const startMs = c.startMs + ctx.shiftMs;
  const lastMinute = startMs + tfMs - MINUTE_MS;
  return {
    startMs,
    open,
    high,
    low,
    close,
    volume,
    value,
    durMs: tfMs,
    lastTradeMs: tfMs === MINUTE_MS ? lastTradeMsOf(startMs, ctx) : lastTradeMsOf(lastMinute, ctx),
  };
}

/** A market's candle history with lazy 1-minute detail. */
export class MarketSeries {
  /** The market code, e.g. `KRW-BTC`. */
  readonly market: string;
  /** Seed and time shift used for derivation. */
  readonly ctx: PathContext;
  /** Sorted start (sandbox ms) of every UTC day that has data. */
  readonly days: readonly number[];
  readonly #pieces = new Map<number, readonly Piece[]>();
  readonly #repeat: SeriesRepeat | undefined;
  readonly #baseDays: readonly number[];
  readonly #copied = new Map<number, readonly Piece[]>();
  readonly #minutes = new Map<number, ReadonlyArray<UnitCandle | undefined>>();
  readonly #dayAgg = new Map<number, UnitCandle | undefined>();

  /** Builds the series from `sources`, choosing per day the finest source that covers it. */
  constructor(
    market: string,
    options: { sources: readonly SeriesSource[]; ctx: PathContext; repeat?: SeriesRepeat },
  ) {
    this.market = market;
    this.ctx = options.ctx;
    const byDay = new Map<number, Array<{ tfMs: number; candles: Candle[] }>>();
    const sorted = [...options.sources].sort((a, b) => a.tfMs - b.tfMs);
    for (const src of sorted) {
      const local = new Map<number, Candle[]>();
      for (const c of src.candles) {
        const day = Math.floor(c.startMs / DAY_MS) * DAY_MS;
        let list = local.get(day);
        if (list === undefined) local.set(day, list = []);
        list.push(c);
      }
      for (const [day, candles] of local) {
        let list = byDay.get(day);
        if (list === undefined) byDay.set(day, list = []);
        list.push({ tfMs: src.tfMs, candles });
      }
    }
    for (const [day, options2] of byDay) {
      // The finest source with ≥ 90% of its buckets that day; else the best-covered one.
      let chosen = options2.find((o) => o.candles.length >= 0.9 * (DAY_MS / o.tfMs));
      if (chosen === undefined) {
        chosen = options2.reduce((best, o) =>
          o.candles.length * o.tfMs > best.candles.length * best.tfMs ? o : best
        );
      }
      const tfMs = chosen.tfMs;
      this.#pieces.set(
        day + this.ctx.shiftMs,
        chosen.candles.map((c) => toPiece(c, tfMs, this.ctx)),
      );
    }
    this.#baseDays = [...this.#pieces.keys()].sort((a, b) => a - b);
    this.#repeat = options.repeat;
    const repeat = options.repeat;
    if (repeat === undefined || repeat.copies <= 1) {
      this.days = this.#baseDays;
    } else {
      if (repeat.periodMs % DAY_MS !== 0 || repeat.periodMs <= 0) {
        throw new RangeError(
          `Cannot repeat the series: period must be whole days: current value is ${repeat.periodMs}`,
        );
      }
      const all = new Set<number>();
      for (let k = 0; k < repeat.copies; k++) {
        for (const d of this.#baseDays) all.add(d + k * repeat.periodMs);
      }
      this.days = [...all].sort((a, b) => a - b);
    }
  }

  /** First sandbox ms with data (Infinity if none). */
  get firstMs(): number {
    return this.days[0] ?? Infinity;
  }

  /** The source pieces of the day starting at `dayMs` (empty if none). */
  pieces(dayMs: number): readonly Piece[] {
    const repeat = this.#repeat;
    if (repeat === undefined || repeat.copies <= 1) return this.#pieces.get(dayMs) ?? [];
    const hit = this.#copied.get(dayMs);
    if (hit !== undefined) return hit;
    const first = this.#baseDays[0];
    const last = this.#baseDays[this.#baseDays.length - 1];
    if (first === undefined || last === undefined) return [];
    const out: Piece[] = [];
    const kFrom = Math.max(0, Math.ceil((dayMs - last) / repeat.periodMs));
    const kTo = Math.min(repeat.copies - 1, Math.floor((dayMs - first) / repeat.periodMs));
    for (let k = kFrom; k <= kTo; k++) {
      const moveMs = k * repeat.periodMs;
      for (const p of this.#pieces.get(dayMs - moveMs) ?? []) {
        out.push(
          moveMs === 0
            ? p
            : { ...p, startMs: p.startMs + moveMs, lastTradeMs: p.lastTradeMs + moveMs },
        );
      }
    }
    out.sort((a, b) => a.startMs - b.startMs);
    if (this.#copied.size >= DAY_CACHE_SIZE) {
      const oldest = this.#copied.keys().next().value;
      if (oldest !== undefined) this.#copied.delete(oldest);
    }
    this.#copied.set(dayMs, out);
    return out;
  }

  /** Index of the last data day ≤ `dayMs`, or -1. */
  dayIndexAtOrBefore(dayMs: number): number {
    let lo = 0;
    let hi = this.days.length - 1;
    let ans = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if ((this.days[mid] as number) <= dayMs) {
        ans = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return ans;
  }

  /** The day's 1-minute candles indexed by minute of day (undefined where nothing traded). */
  minutesOfDay(dayMs: number): ReadonlyArray<UnitCandle | undefined> {
    const hit = this.#minutes.get(dayMs);
    if (hit !== undefined) return hit;
    const out: Array<UnitCandle | undefined> = new Array(MINUTES_PER_DAY).fill(undefined);
    for (const p of this.pieces(dayMs)) {
      const minutes = p.durMs === MINUTE_MS ? [p] : derivePath(p, { ...this.ctx, durMs: p.durMs });
      for (const m of minutes) out[Math.floor((m.startMs - dayMs) / MINUTE_MS)] = m;
    }
    if (this.#minutes.size >= DAY_CACHE_SIZE) {
      const oldest = this.#minutes.keys().next().value;
      if (oldest !== undefined) this.#minutes.delete(oldest);
    }
    this.#minutes.set(dayMs, out);
    return out;
  }

  /** The 1-minute candle starting at `minuteMs`, if anything traded then. */
  minute(minuteMs: number): UnitCandle | undefined {
    const day = Math.floor(minuteMs / DAY_MS) * DAY_MS;
    if (this.pieces(day).length === 0) return undefined;
    return this.minutesOfDay(day)[Math.floor((minuteMs - day) / MINUTE_MS)];
  }

  /** The whole day's candle (all its data), cached. */
  day(dayMs: number): UnitCandle | undefined {
    if (this.#dayAgg.has(dayMs)) return this.#dayAgg.get(dayMs);
    const agg = combineCandles(this.pieces(dayMs), dayMs);
    this.#dayAgg.set(dayMs, agg);
    return agg;
  }

  /** The aggregate of every 1-minute candle starting in [fromMs, toMs) (minute-aligned bounds). */
  aggregate(fromMs: number, toMs: number, startMs: number = fromMs): UnitCandle | undefined {
    const parts: UnitCandle[] = [];
    let i = Math.max(0, this.dayIndexAtOrBefore(fromMs));
    for (; i < this.days.length; i++) {
      const day = this.days[i] as number;
      if (day >= toMs) break;
      if (day + DAY_MS <= fromMs) continue;
      if (day >= fromMs && day + DAY_MS <= toMs) {
        const d = this.day(day);
        if (d !== undefined) parts.push(d);
        continue;
      }
      let minutes: ReadonlyArray<UnitCandle | undefined> | undefined;
      for (const p of this.pieces(day)) {
        const end = p.startMs + p.durMs;
        if (end <= fromMs || p.startMs >= toMs) continue;
        if (p.startMs >= fromMs && end <= toMs) {
          parts.push(p);
          continue;
        }
        minutes ??= this.minutesOfDay(day);
        const a = Math.max(fromMs, p.startMs);
        const b = Math.min(toMs, end);
        for (let t = a; t < b; t += MINUTE_MS) {
          const m = minutes[Math.floor((t - day) / MINUTE_MS)];
          if (m !== undefined) parts.push(m);
        }
      }
    }
    return combineCandles(parts, startMs);
  }
}
