/**
 * The market replay: real candles per market, replayed as a deterministic trade tape on a
 * sandbox clock that is shifted by whole days so the chosen start point is "today".
 *
 * The clock either follows real time × `speed` or is driven by hand (`advanceTo`/`advanceBy`).
 * A running clock is continuous: market time = start + (real − real start) × speed, computed
 * whenever it is read (an order's time, a fill, a query). Every query answers as of the clock:
 * history before it is served, the future never is. Trades are emitted to listeners in time
 * order as the clock passes them, each on a timer set for its own due time, so a trade reaches
 * the listeners about one timer tick δ (a millisecond or two of real time) after it happened, at
 * any speed: a client answering it Δ real ms later is served at market time ≤ trade + (δ + Δ) ×
 * speed (120×: 50 ms → ≤ 6 s; 600×: ≤ 30 s). Implements `MarketFeed`.
 */

import { type Candle, DAY_MS } from "../core/candle.ts";
import { CandleFileError } from "../core/candle_csv.ts";
import type { Units } from "../core/money.ts";
import {
  decodeCandleFile,
  marketFromFileName,
  timeframeFromFileName,
} from "../core/candle_file_format.ts";
import { TIMEFRAME_MS } from "../core/candle.ts";
import { buildBook, MAX_BOOK_LEVELS } from "./book.ts";
import type { BookSnapshot, MarketFeed } from "./feed.ts";
import {
  combineCandles,
  MINUTE_MS,
  minuteTrades,
  type TapeTrade,
  type UnitCandle,
} from "./paths.ts";
import { MarketSeries, type SeriesSource } from "./series.ts";

/** Candle spans the replay serves (Upbit's second/minute/day/week/month/year candles). */
export type CandleSpan =
  | "1s"
  | "1m"
  | "3m"
  | "5m"
  | "10m"
  | "15m"
  | "30m"
  | "60m"
  | "240m"
  | "1d"
  | "1w"
  | "1M"
  | "1y";

/** Minute units Upbit accepts in `/v1/candles/minutes/{unit}` and `candle.{unit}m`. */
export const MINUTE_UNITS: readonly number[] = [1, 3, 5, 10, 15, 30, 60, 240];

/** A served candle: the bucket's exact aggregate, plus the previous close for day candles. */
export interface ServedCandle extends UnitCandle {
  /** Close of the previous day candle (day candles only). */
  readonly prevClose?: Units;
}

/** Everything the ticker reports, in exact units (formatting happens at the edge). */
export interface TickerState {
  readonly market: string;
  readonly last: TapeTrade;
  readonly open: Units;
  readonly high: Units;
  readonly low: Units;
  readonly prevClose: Units;
  readonly accVolume: Units;
  readonly accValue: Units;
  readonly accVolume24h: Units;
  readonly accValue24h: Units;
  readonly accAskVolume: Units;
  readonly accBidVolume: Units;
  readonly high52w: Units;
  readonly high52wMs: number;
  readonly low52w: Units;
  readonly low52wMs: number;
  /** Time of the state (the clock). */
  readonly tsMs: number;
}

/** Options of `createReplay`. */
export interface ReplayOptions {
  /** Candle files (`upbit-KRW-BTC-1d.csv`…); default: every `upbit-*.csv` in the repo's `data/`. */
  readonly dataFiles?: readonly string[];
  /** Seed of every synthetic detail (paths, tapes, books). Default 1. */
  readonly seed?: number;
  /** Sandbox ms per real ms when the clock runs by itself. Default 1. */
  readonly speed?: number;
  /**
   * The data-time point that becomes "now" (epoch ms or ISO string). Default: 2025-08-01 at the
   * current UTC time of day, which leaves ≥ 200 days of daily history for all five markets.
   */
  readonly startAt?: number | string;
  /** Drive the clock only with `advanceTo`/`advanceBy` (tests). Default false. */
  readonly manualClock?: boolean;
  /** Levels per book side (1–30). Default 15. */
  readonly bookLevels?: number;
  /** The real clock (ms, fractions allowed); default the high-resolution `performance` clock. */
  readonly realNowMs?: () => number;
  /**
   * Replay the data end to end again and again (the period is the whole number of days just
   * longer than the data), so a one-week file never runs out. Default false.
   */
  readonly loop?: boolean;
}

/** The span a looping replay repeats (data time). */
export interface LoopSpan {
  /** Start of the first candle. */
  readonly firstMs: number;
  /** End of the last candle. */
  readonly endMs: number;
  /** Copy k is the data moved `k × periodMs` later (whole days). */
  readonly periodMs: number;
}

/** The market replay: a `MarketFeed` plus clock control and the queries the routes serve. */
export interface Replay extends MarketFeed {
  /** Sandbox ms − data ms. */
  readonly shiftMs: number;
  /** The run's seed. */
  readonly seed: number;
  /** Clock speed (sandbox ms per real ms; 0 for a manual clock). */
  readonly speed: number;
  /** What a looping replay repeats (undefined when it does not loop). */
  readonly loop: LoopSpan | undefined;
  /** The data's time span: the first candle's start and the last one's end (undefined: no data). */
  readonly dataSpan: { readonly firstMs: number; readonly endMs: number } | undefined;
  /** The data time a sandbox time shows, and which pass over the data it is in (0 = first). */
  dataTimeOf(ms: number): { readonly dataMs: number; readonly pass: number };
  /** Moves the clock forward to `ms`, emitting every trade up to it (no-op if in the past). */
  advanceTo(ms: number): void;
  /** Moves the clock forward by `ms`. */
  advanceBy(ms: number): void;
  /** Candles of `span` starting before `toMs` (exclusive; default now), newest first. */
  candles(
    market: string,
    span: CandleSpan,
    options: { toMs?: number; count: number },
  ): ServedCandle[];
  /** Trades before `toMs` (exclusive) or below `cursor`, newest first. */
  trades(
    market: string,
    options: { toMs?: number; cursor?: number; count: number; notBeforeMs?: number },
  ): TapeTrade[];
  /** The ticker as of now (undefined when the market has not traded yet). */
  ticker(market: string): TickerState | undefined;
  /** The last visible trade. */
  lastTrade(market: string): TapeTrade | undefined;
  /** The book with up to `levels` levels (default: all). */
  bookWith(market: string, levels?: number): BookSnapshot | undefined;
  /** The aggregate of [fromMs, toMs) as visible now (bucket start `fromMs`). */
  visibleCandle(market: string, fromMs: number, toMs: number): UnitCandle | undefined;
  /** Close of the last day before the UTC day of `tsMs` (Upbit's `prev_closing_price`). */
  prevCloseOf(market: string, tsMs: number): Units | undefined;
  /** Stops the real-time clock. */
  close(): void;
}

const DEFAULT_START = Date.UTC(2025, 7, 1);
/** Longest real wait between two wakes of a running clock (none is needed when trades are due). */
const IDLE_WAKE_MS = 50;
const TAPE_CACHE = 16;
/** Copies of looped data: a one-week file lasts ~190 years of replay, ~1 year of real time at 10,000x. */
const LOOP_COPIES = 10_000;

/** The repo's `data/` directory. */
export function defaultDataDir(): string {
  return decodeURIComponent(new URL("../../data/", import.meta.url).pathname);
}

/** Every `upbit-*.csv` file in `dir`, sorted. */
export async function listDataFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && /^upbit-.*\.csv(\.gz)?$/.test(e.name)) {
      out.push(`${dir.replace(/\/$/, "")}/${e.name}`);
    }
  }
  return out.sort();
}

/** Start of the `span` bucket containing `ms`. */
export function bucketStart(span: CandleSpan, ms: number): number {
  switch (span) {
    case "1w": {
      const day = Math.floor(ms / DAY_MS);
      // 1970-01-01 was a Thursday; Upbit weeks start on Monday.
      return (day - ((day + 3) % 7 + 7) % 7) * DAY_MS;
    }
    case "1M": {
      const d = new Date(ms);
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
    }
    case "1y":
      return Date.UTC(new Date(ms).getUTCFullYear(), 0, 1);
    default: {
      const len = spanMs(span);
      return Math.floor(ms / len) * len;
    }
  }
}

/** End (exclusive) of the `span` bucket starting at `startMs`. */
export function bucketEnd(span: CandleSpan, startMs: number): number {
  if (span === "1M") {
    const d = new Date(startMs);
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
  }
  if (span === "1y") return Date.UTC(new Date(startMs).getUTCFullYear() + 1, 0, 1);
  return startMs + spanMs(span);
}

function spanMs(span: CandleSpan): number {
  if (span === "1s") return 1000;
  if (span === "1d") return DAY_MS;
  if (span === "1w") return 7 * DAY_MS;
  if (span.endsWith("m") && span !== "1M") return Number(span.slice(0, -1)) * MINUTE_MS;
  return DAY_MS;
}

function parseStartAt(v: number | string | undefined, realNow: number): number {
  if (v === undefined) return DEFAULT_START + (realNow % DAY_MS);
  const ms = typeof v === "number" ? v : Date.parse(v);
  if (!Number.isFinite(ms)) {
    throw new RangeError(`Cannot start replay: startAt is not a date: current value is ${v}`);
  }
  return ms;
}

interface MarketState {
  readonly series: MarketSeries;
  /** Tapes of recently used minutes. */
  readonly tapes: Map<number, TapeTrade[]>;
  last: TapeTrade | undefined;
  lastKnown: boolean;
  accDayMs: number;
  accBid: Units;
  accAsk: Units;
  week52: { dayMs: number; high: Units; highMs: number; low: Units; lowMs: number } | undefined;
  book: { seq: number; snapshot: BookSnapshot } | undefined;
}

/** Reads one candle file (the sandbox does its own I/O: it imports no adapter). */
async function readCandleFile(file: string): Promise<Candle[]> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(file);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw new CandleFileError(file, 0, "file not found");
    throw error;
  }
  return decodeCandleFile(file, bytes);
}

/** Loads the candle files and builds the replay (clock running unless `manualClock`). */
export async function createReplay(options: ReplayOptions = {}): Promise<Replay> {
  const realNowMs = options.realNowMs ?? (() => performance.timeOrigin + performance.now());
  const seed = options.seed ?? 1;
  const files = options.dataFiles ?? await listDataFiles(defaultDataDir());
  const byMarket = new Map<string, SeriesSource[]>();
  let firstDataMs = Infinity;
  let endDataMs = -Infinity;
  for (const file of files) {
    const market = marketFromFileName(file);
    const tf = timeframeFromFileName(file);
    if (market === undefined || tf === undefined) {
      throw new RangeError(
        `Cannot load replay data: file name must look like upbit-KRW-BTC-1d.csv: current value is ${file}`,
      );
    }
    const candles = await readCandleFile(file);
    const first = candles[0];
    const last = candles[candles.length - 1];
    if (first !== undefined && last !== undefined) {
      firstDataMs = Math.min(firstDataMs, first.startMs);
      endDataMs = Math.max(endDataMs, last.startMs + TIMEFRAME_MS[tf]);
    }
    let list = byMarket.get(market);
    if (list === undefined) byMarket.set(market, list = []);
    list.push({ tfMs: TIMEFRAME_MS[tf], candles });
  }
  const realStart = realNowMs();
  const startData = parseStartAt(options.startAt, Math.floor(realStart));
  const shiftMs = Math.floor(Math.floor(realStart) / DAY_MS) * DAY_MS -
    Math.floor(startData / DAY_MS) * DAY_MS;
  const startMs = startData + shiftMs;
  const loop: LoopSpan | undefined = options.loop === true && Number.isFinite(firstDataMs)
    ? {
      firstMs: firstDataMs,
      endMs: endDataMs,
      // The next copy's first candle must come after this copy's last one.
      periodMs: (Math.floor((endDataMs - MINUTE_MS - firstDataMs) / DAY_MS) + 1) * DAY_MS,
    }
    : undefined;
  const repeat = loop === undefined ? undefined : { periodMs: loop.periodMs, copies: LOOP_COPIES };
  const states = new Map<string, MarketState>();
  for (const [market, sources] of [...byMarket].sort((a, b) => a[0].localeCompare(b[0]))) {
    const series = new MarketSeries(market, { sources, ctx: { market, seed, shiftMs }, repeat });
    states.set(market, {
      series,
      tapes: new Map(),
      last: undefined,
      lastKnown: false,
      accDayMs: NaN,
      accBid: 0n,
      accAsk: 0n,
      week52: undefined,
      book: undefined,
    });
  }
  const markets = [...states.keys()];
  const bookLevels = Math.max(1, Math.min(MAX_BOOK_LEVELS, options.bookLevels ?? 15));
  const listeners = new Set<(t: TapeTrade) => void>();
  const speed = options.manualClock ? 0 : (options.speed ?? 1);
  let now = startMs;
  let pumping = false;
  const aggCache = new Map<string, UnitCandle | undefined>();

  function tape(st: MarketState, minuteMs: number): TapeTrade[] {
    const hit = st.tapes.get(minuteMs);
    if (hit !== undefined) return hit;
    const c = st.series.minute(minuteMs);
    const trades = c === undefined ? [] : minuteTrades(c, st.series.ctx);
    if (st.tapes.size >= TAPE_CACHE) {
      const oldest = st.tapes.keys().next().value;
      if (oldest !== undefined) st.tapes.delete(oldest);
    }
    st.tapes.set(minuteMs, trades);
    return trades;
  }

  function state(market: string): MarketState | undefined {
    return states.get(market);
  }

  /** Emits every trade in (now, t] in time order across markets. */
  function pump(t: number): void {
    if (t <= now || pumping) return;
    pumping = true;
    try {
      let m = Math.floor((now + 1) / MINUTE_MS) * MINUTE_MS;
      while (m <= t) {
        const hi = Math.min(t, m + MINUTE_MS - 1);
        const batch: TapeTrade[] = [];
        for (const st of states.values()) {
          for (const tr of tape(st, m)) if (tr.tsMs > now && tr.tsMs <= hi) batch.push(tr);
        }
        if (batch.length > 1) batch.sort((a, b) => a.tsMs - b.tsMs);
        for (const tr of batch) {
          const st = states.get(tr.market) as MarketState;
          now = tr.tsMs;
          noteTrade(st, tr);
          for (const l of listeners) l(tr);
        }
        now = hi;
        m += MINUTE_MS;
      }
    } finally {
      pumping = false;
    }
  }

  function noteTrade(st: MarketState, tr: TapeTrade): void {
    st.last = tr;
    st.lastKnown = true;
    const day = Math.floor(tr.tsMs / DAY_MS) * DAY_MS;
    if (st.accDayMs === day) {
      if (tr.side === "BID") st.accBid += tr.volume;
      else st.accAsk += tr.volume;
    } else if (!Number.isNaN(st.accDayMs)) {
      // A new UTC day: the accumulators restart with this trade.
      st.accDayMs = day;
      st.accBid = tr.side === "BID" ? tr.volume : 0n;
      st.accAsk = tr.side === "ASK" ? tr.volume : 0n;
    }
  }

  /** Market time of the running clock now (continuous: real time × speed since the start). */
  function marketNow(): number {
    return startMs + Math.floor((realNowMs() - realStart) * speed);
  }

  function currentNow(): number {
    if (speed > 0 && !pumping) pump(marketNow());
    return now;
  }

  /** The first trade after `t` (any market) in its minute or the next one, if any. */
  function nextTradeAfter(t: number): number | undefined {
    const m0 = Math.floor(t / MINUTE_MS) * MINUTE_MS;
    for (const m of [m0, m0 + MINUTE_MS]) {
      let first: number | undefined;
      for (const st of states.values()) {
        const tr = tape(st, m).find((x) => x.tsMs > t);
        if (tr !== undefined && (first === undefined || tr.tsMs < first)) first = tr.tsMs;
      }
      if (first !== undefined) return first;
    }
    return undefined;
  }

  function visibleTrades(st: MarketState, minuteMs: number, t: number): TapeTrade[] {
    const all = tape(st, minuteMs);
    if (minuteMs + MINUTE_MS - 1 <= t) return all;
    return all.filter((tr) => tr.tsMs <= t);
  }

  function tradesCandle(trades: readonly TapeTrade[], startMs: number): UnitCandle | undefined {
    const first = trades[0];
    if (first === undefined) return undefined;
    let high = first.price;
    let low = first.price;
    let volume = 0n;
    let value = 0n;
    for (const tr of trades) {
      if (tr.price > high) high = tr.price;
      if (tr.price < low) low = tr.price;
      volume += tr.volume;
      value += tr.funds;
    }
    const last = trades[trades.length - 1] as TapeTrade;
    return {
      startMs,
      open: first.price,
      high,
      low,
      close: last.price,
      volume,
      value,
      lastTradeMs: last.tsMs,
    };
  }

  function visibleCandle(market: string, fromMs: number, toMs: number): UnitCandle | undefined {
    const st = state(market);
    if (st === undefined) return undefined;
    const t = currentNow();
    const end = Math.min(toMs, t + 1);
    if (end <= fromMs) return undefined;
    const cur = Math.floor(t / MINUTE_MS) * MINUTE_MS;
    const parts: UnitCandle[] = [];
    const a = Math.floor(fromMs / MINUTE_MS) * MINUTE_MS;
    const b = Math.min(Math.ceil(end / MINUTE_MS) * MINUTE_MS, cur);
    // Tickers and live candles ask for the same completed span on every trade of a minute.
    const key = `${market}|${a}|${b}`;
    let complete = aggCache.get(key);
    if (complete === undefined && !aggCache.has(key)) {
      complete = st.series.aggregate(a, b);
      if (aggCache.size >= 512) aggCache.clear();
      aggCache.set(key, complete);
    }
    if (complete !== undefined) parts.push(complete);
    if (end > cur) {
      const partial = tradesCandle(
        visibleTrades(st, cur, t).filter((tr) => tr.tsMs >= fromMs && tr.tsMs < end),
        cur,
      );
      if (partial !== undefined) parts.push(partial);
    }
    return combineCandles(parts, fromMs);
  }

  function secondCandles(st: MarketState, toMs: number, count: number): ServedCandle[] {
    const t = currentNow();
    const end = Math.min(toMs, t + 1);
    const out: ServedCandle[] = [];
    const stopMs = end - 3 * DAY_MS;
    let m = Math.floor((end - 1) / MINUTE_MS) * MINUTE_MS;
    while (out.length < count && m >= stopMs) {
      const trades = visibleTrades(st, m, t).filter((tr) => tr.tsMs < end);
      for (let i = trades.length - 1; i >= 0 && out.length < count;) {
        const sec = Math.floor((trades[i] as TapeTrade).tsMs / 1000) * 1000;
        let j = i;
        while (j >= 0 && (trades[j] as TapeTrade).tsMs >= sec) j--;
        out.push(tradesCandle(trades.slice(j + 1, i + 1), sec) as UnitCandle);
        i = j;
      }
      m = previousMinute(st, m);
    }
    return out;
  }

  /** The minute before `m`, jumping over days without data (-Infinity when none is left). */
  function previousMinute(st: MarketState, m: number): number {
    const prev = m - MINUTE_MS;
    const day = Math.floor(prev / DAY_MS) * DAY_MS;
    if (st.series.pieces(day).length > 0) return prev;
    const i = st.series.dayIndexAtOrBefore(day);
    if (i < 0) return -Infinity;
    return (st.series.days[i] as number) + DAY_MS - MINUTE_MS;
  }

  function candles(
    market: string,
    span: CandleSpan,
    options: { toMs?: number; count: number },
  ): ServedCandle[] {
    const st = state(market);
    if (st === undefined) return [];
    const t = currentNow();
    const end = Math.min(options.toMs ?? Infinity, t + 1);
    if (span === "1s") return secondCandles(st, end, options.count);
    const out: ServedCandle[] = [];
    const first = st.series.firstMs;
    let b = bucketStart(span, end - 1);
    while (out.length < options.count && bucketEnd(span, b) > first) {
      const c = visibleCandle(market, b, bucketEnd(span, b));
      if (c !== undefined) out.push(c);
      const day = Math.floor(b / DAY_MS) * DAY_MS;
      if (spanMs(span) < DAY_MS && st.series.pieces(day).length === 0 || b === day) {
        // Skip straight to the last day that has data.
        const i = st.series.dayIndexAtOrBefore(b - 1);
        if (i < 0) break;
        const lastData = (st.series.days[i] as number) + DAY_MS - 1;
        b = bucketStart(span, Math.min(b - 1, lastData));
      } else b = bucketStart(span, b - 1);
    }
    if (span === "1d") {
      return out.map((c) => ({ ...c, prevClose: prevClose(st, c.startMs) ?? c.open }));
    }
    return out;
  }

  function prevClose(st: MarketState, dayMs: number): Units | undefined {
    const i = st.series.dayIndexAtOrBefore(dayMs - DAY_MS);
    if (i < 0) return undefined;
    return st.series.day(st.series.days[i] as number)?.close;
  }

  function lastTrade(market: string): TapeTrade | undefined {
    const st = state(market);
    if (st === undefined) return undefined;
    const t = currentNow();
    if (st.lastKnown) return st.last;
    let m = Math.floor(t / MINUTE_MS) * MINUTE_MS;
    for (let guard = 0; guard < 100_000 && Number.isFinite(m); guard++) {
      const trades = visibleTrades(st, m, t);
      const last = trades[trades.length - 1];
      if (last !== undefined) {
        st.last = last;
        st.lastKnown = true;
        return last;
      }
      m = previousMinute(st, m);
    }
    st.lastKnown = true;
    return undefined;
  }

  function trades(
    market: string,
    options: { toMs?: number; cursor?: number; count: number; notBeforeMs?: number },
  ): TapeTrade[] {
    const st = state(market);
    if (st === undefined) return [];
    const t = currentNow();
    const end = Math.min(options.toMs ?? Infinity, t + 1);
    const floor = options.notBeforeMs ?? -Infinity;
    const out: TapeTrade[] = [];
    let m = Math.floor((end - 1) / MINUTE_MS) * MINUTE_MS;
    let scanned = 0;
    while (out.length < options.count && m >= floor && scanned < 8 * 1440) {
      const list = visibleTrades(st, m, t);
      for (let i = list.length - 1; i >= 0 && out.length < options.count; i--) {
        const tr = list[i] as TapeTrade;
        if (tr.tsMs >= end || tr.tsMs < floor) continue;
        if (options.cursor !== undefined && tr.sequentialId >= options.cursor) continue;
        out.push(tr);
      }
      m = previousMinute(st, m);
      scanned++;
    }
    return out;
  }

  function ensureAcc(st: MarketState, t: number): void {
    const day = Math.floor(t / DAY_MS) * DAY_MS;
    if (st.accDayMs === day) return;
    let bid = 0n;
    let ask = 0n;
    if (st.series.pieces(day).length > 0) {
      for (let m = day; m <= t; m += MINUTE_MS) {
        for (const tr of visibleTrades(st, m, t)) {
          if (tr.side === "BID") bid += tr.volume;
          else ask += tr.volume;
        }
      }
    }
    st.accDayMs = day;
    st.accBid = bid;
    st.accAsk = ask;
  }

  function week52(st: MarketState, today: number) {
    if (st.week52?.dayMs === today) return st.week52;
    let high = -1n;
    let low = -1n;
    let highMs = today;
    let lowMs = today;
    for (let i = st.series.dayIndexAtOrBefore(today - DAY_MS); i >= 0; i--) {
      const d = st.series.days[i] as number;
      if (d < today - 364 * DAY_MS) break;
      const c = st.series.day(d);
      if (c === undefined) continue;
      if (high < 0n || c.high > high) [high, highMs] = [c.high, d];
      if (low < 0n || c.low < low) [low, lowMs] = [c.low, d];
    }
    st.week52 = { dayMs: today, high, highMs, low, lowMs };
    return st.week52;
  }

  function ticker(market: string): TickerState | undefined {
    const st = state(market);
    if (st === undefined) return undefined;
    const last = lastTrade(market);
    if (last === undefined) return undefined;
    const t = now;
    const today = Math.floor(t / DAY_MS) * DAY_MS;
    const dayCandle = visibleCandle(market, today, today + DAY_MS);
    const cur = Math.floor(t / MINUTE_MS) * MINUTE_MS;
    const day24 = visibleCandle(market, cur - 1439 * MINUTE_MS, t + 1);
    const prev = prevClose(st, today) ?? dayCandle?.open ?? last.price;
    ensureAcc(st, t);
    let { high, highMs, low, lowMs } = week52(st, today);
    const dHigh = dayCandle?.high ?? last.price;
    const dLow = dayCandle?.low ?? last.price;
    if (high < 0n || dHigh >= high) [high, highMs] = [dHigh, today];
    if (low < 0n || dLow <= low) [low, lowMs] = [dLow, today];
    return {
      market,
      last,
      open: dayCandle?.open ?? last.price,
      high: dHigh,
      low: dLow,
      prevClose: prev,
      accVolume: dayCandle?.volume ?? 0n,
      accValue: dayCandle?.value ?? 0n,
      accVolume24h: day24?.volume ?? 0n,
      accValue24h: day24?.value ?? 0n,
      accAskVolume: st.accAsk,
      accBidVolume: st.accBid,
      high52w: high,
      high52wMs: highMs,
      low52w: low,
      low52wMs: lowMs,
      tsMs: t,
    };
  }

  function bookWith(market: string, levels?: number): BookSnapshot | undefined {
    const st = state(market);
    if (st === undefined) return undefined;
    const last = lastTrade(market);
    if (last === undefined) return undefined;
    if (st.book?.seq !== last.sequentialId) {
      const minute = st.series.minute(Math.floor(last.tsMs / MINUTE_MS) * MINUTE_MS);
      const k = BigInt(tape(st, Math.floor(last.tsMs / MINUTE_MS) * MINUTE_MS).length || 1);
      const snapshot = buildBook(
        { ...last, typicalSize: (minute?.volume ?? last.volume) / k },
        { seed, levels: bookLevels },
      );
      st.book = { seq: last.sequentialId, snapshot };
    }
    const snap = st.book.snapshot;
    if (levels === undefined || levels >= bookLevels) return snap;
    return { ...snap, asks: snap.asks.slice(0, levels), bids: snap.bids.slice(0, levels) };
  }

  let timer: ReturnType<typeof setTimeout> | undefined;
  let running = speed > 0;
  /** Emits what is due, then sleeps until the next trade is due (at most `IDLE_WAKE_MS`). */
  function wake(): void {
    timer = undefined;
    if (!running) return;
    const t = currentNow();
    const next = nextTradeAfter(t);
    const waitMs = next === undefined
      ? IDLE_WAKE_MS
      : Math.min(IDLE_WAKE_MS, Math.max(0, Math.ceil((next - marketNow()) / speed)));
    timer = setTimeout(wake, waitMs);
  }
  if (running) wake();

  return {
    markets,
    shiftMs,
    seed,
    dataSpan: Number.isFinite(firstDataMs) ? { firstMs: firstDataMs, endMs: endDataMs } : undefined,
    speed,
    loop,
    dataTimeOf(ms) {
      const dataMs = ms - shiftMs;
      if (loop === undefined) return { dataMs, pass: 0 };
      const pass = Math.max(0, Math.floor((dataMs - loop.firstMs) / loop.periodMs));
      return { dataMs: dataMs - pass * loop.periodMs, pass };
    },
    nowMs: currentNow,
    book: (market) => bookWith(market),
    bookWith,
    onTrade(listener) {
      const l = listener as (t: TapeTrade) => void;
      listeners.add(l);
      return () => listeners.delete(l);
    },
    advanceTo(ms) {
      pump(ms);
    },
    advanceBy(ms) {
      pump(now + ms);
    },
    candles,
    trades,
    ticker,
    lastTrade,
    visibleCandle,
    prevCloseOf(market, tsMs) {
      const st = state(market);
      return st === undefined ? undefined : prevClose(st, Math.floor(tsMs / DAY_MS) * DAY_MS);
    },
    close() {
      running = false;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
  };
}
