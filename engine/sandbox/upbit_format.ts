/**
 * Upbit's wire shapes for market data: REST quotation objects, WebSocket messages (DEFAULT and
 * SIMPLE formats), and Upbit's time formats. Amounts arrive as exact `Units` and leave as JSON
 * numbers, as Upbit's quotation API and WebSocket send them. Field order follows API.md.
 */

import type { Candle } from "../core/candle.ts";
import { formatUnits, type Units } from "../core/money.ts";
import type { BookSnapshot } from "./feed.ts";
import type { TapeTrade, UnitCandle } from "./paths.ts";
import type { ServedCandle, TickerState } from "./replay.ts";

const KST_MS = 9 * 3_600_000;

/** A JSON number from exact units (one correctly rounded parse of the decimal). */
export function num(u: Units): number {
  return Number(formatUnits(u));
}

/** A sandbox candle as the core's float candle (each amount through `num`). */
export function floatCandle(c: UnitCandle): Candle {
  return {
    startMs: c.startMs,
    open: num(c.open),
    high: num(c.high),
    low: num(c.low),
    close: num(c.close),
    volume: num(c.volume),
    value: num(c.value),
  };
}

/** `yyyy-MM-ddTHH:mm:ss` (UTC, no offset), Upbit's candle time format. */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19);
}

/** The same in KST. */
export function isoSecondsKst(ms: number): string {
  return isoSeconds(ms + KST_MS);
}

/** `yyyy-MM-dd` (UTC). */
export function isoDate(ms: number): string {
  return isoSeconds(ms).slice(0, 10);
}

function compactDate(ms: number): string {
  return isoDate(ms).replaceAll("-", "");
}

function compactTime(ms: number): string {
  return isoSeconds(ms).slice(11).replaceAll(":", "");
}

function rate(change: Units, base: Units): number {
  if (base === 0n) return 0;
  return Number((Number(change) / Number(base)).toFixed(10));
}

/** `RISE`/`EVEN`/`FALL` of `price` against `prev`. */
export function changeOf(price: Units, prev: Units): "RISE" | "EVEN" | "FALL" {
  return price > prev ? "RISE" : price < prev ? "FALL" : "EVEN";
}

/** Upbit's candle kinds and their extra fields. */
export type CandleKind =
  | { readonly kind: "seconds" }
  | { readonly kind: "minutes"; readonly unit: number }
  | { readonly kind: "days"; readonly convertKrw?: boolean }
  | { readonly kind: "weeks" }
  | { readonly kind: "months" }
  | { readonly kind: "years" };

/** A REST candle object (`/v1/candles/*`). */
export function restCandle(
  market: string,
  c: ServedCandle,
  kind: CandleKind,
): Record<string, unknown> {
  const out: Record<string, unknown> = {
    market,
    candle_date_time_utc: isoSeconds(c.startMs),
    candle_date_time_kst: isoSecondsKst(c.startMs),
    opening_price: num(c.open),
    high_price: num(c.high),
    low_price: num(c.low),
    trade_price: num(c.close),
    timestamp: c.lastTradeMs,
    candle_acc_trade_price: num(c.value),
    candle_acc_trade_volume: num(c.volume),
  };
  switch (kind.kind) {
    case "minutes":
      out.unit = kind.unit;
      break;
    case "days": {
      const prev = c.prevClose ?? c.open;
      out.prev_closing_price = num(prev);
      out.change_price = num(c.close - prev);
      out.change_rate = rate(c.close - prev, prev);
      if (kind.convertKrw) out.converted_trade_price = num(c.close);
      break;
    }
    case "weeks":
    case "months":
    case "years":
      out.first_day_of_period = isoDate(c.startMs);
      break;
  }
  return out;
}

/** A REST `/v1/trades/ticks` object. */
export function restTrade(tr: TapeTrade, prevClose: Units): Record<string, unknown> {
  const iso = isoSeconds(tr.tsMs);
  return {
    market: tr.market,
    trade_date_utc: iso.slice(0, 10),
    trade_time_utc: iso.slice(11),
    timestamp: tr.tsMs,
    trade_price: num(tr.price),
    trade_volume: num(tr.volume),
    prev_closing_price: num(prevClose),
    change_price: num(tr.price - prevClose),
    ask_bid: tr.side,
    sequential_id: tr.sequentialId,
  };
}

function changeFields(price: Units, prev: Units) {
  const diff = price - prev;
  const abs = diff < 0n ? -diff : diff;
  return {
    change: changeOf(price, prev),
    change_price: num(abs),
    change_rate: rate(abs, prev),
    signed_change_price: num(diff),
    signed_change_rate: rate(diff, prev),
  };
}

/** A REST `/v1/ticker` object. */
export function restTicker(t: TickerState): Record<string, unknown> {
  const ch = changeFields(t.last.price, t.prevClose);
  return {
    market: t.market,
    trade_date: compactDate(t.last.tsMs),
    trade_time: compactTime(t.last.tsMs),
    trade_date_kst: compactDate(t.last.tsMs + KST_MS),
    trade_time_kst: compactTime(t.last.tsMs + KST_MS),
    trade_timestamp: t.last.tsMs,
    opening_price: num(t.open),
    high_price: num(t.high),
    low_price: num(t.low),
    trade_price: num(t.last.price),
    prev_closing_price: num(t.prevClose),
    ...ch,
    trade_volume: num(t.last.volume),
    acc_trade_price: num(t.accValue),
    acc_trade_price_24h: num(t.accValue24h),
    acc_trade_volume: num(t.accVolume),
    acc_trade_volume_24h: num(t.accVolume24h),
    highest_52_week_price: num(t.high52w),
    highest_52_week_date: isoDate(t.high52wMs),
    lowest_52_week_price: num(t.low52w),
    lowest_52_week_date: isoDate(t.low52wMs),
    timestamp: t.tsMs,
  };
}

/** A REST `/v1/orderbook` object. */
export function restOrderbook(book: BookSnapshot, level: Units): Record<string, unknown> {
  let totalAsk = 0n;
  let totalBid = 0n;
  for (const l of book.asks) totalAsk += l.size;
  for (const l of book.bids) totalBid += l.size;
  const units = [];
  const n = Math.max(book.asks.length, book.bids.length);
  for (let i = 0; i < n; i++) {
    const a = book.asks[i];
    const b = book.bids[i];
    units.push({
      ask_price: a === undefined ? 0 : num(a.price),
      bid_price: b === undefined ? 0 : num(b.price),
      ask_size: a === undefined ? 0 : num(a.size),
      bid_size: b === undefined ? 0 : num(b.size),
    });
  }
  return {
    market: book.market,
    timestamp: book.tsMs,
    total_ask_size: num(totalAsk),
    total_bid_size: num(totalBid),
    orderbook_units: units,
    level: num(level),
  };
}

/** Stream type of a WebSocket message. */
export type StreamType = "SNAPSHOT" | "REALTIME";

/** A WebSocket `ticker` message (DEFAULT format). */
export function wsTicker(t: TickerState, stream: StreamType): Record<string, unknown> {
  const ch = changeFields(t.last.price, t.prevClose);
  return {
    type: "ticker",
    code: t.market,
    opening_price: num(t.open),
    high_price: num(t.high),
    low_price: num(t.low),
    trade_price: num(t.last.price),
    prev_closing_price: num(t.prevClose),
    change: ch.change,
    change_price: ch.change_price,
    signed_change_price: ch.signed_change_price,
    change_rate: ch.change_rate,
    signed_change_rate: ch.signed_change_rate,
    trade_volume: num(t.last.volume),
    acc_trade_volume: num(t.accVolume),
    acc_trade_volume_24h: num(t.accVolume24h),
    acc_trade_price: num(t.accValue),
    acc_trade_price_24h: num(t.accValue24h),
    trade_date: compactDate(t.last.tsMs),
    trade_time: compactTime(t.last.tsMs),
    trade_timestamp: t.last.tsMs,
    ask_bid: t.last.side,
    acc_ask_volume: num(t.accAskVolume),
    acc_bid_volume: num(t.accBidVolume),
    highest_52_week_price: num(t.high52w),
    highest_52_week_date: isoDate(t.high52wMs),
    lowest_52_week_price: num(t.low52w),
    lowest_52_week_date: isoDate(t.low52wMs),
    market_state: "ACTIVE",
    is_trading_suspended: false,
    delisting_date: null,
    market_warning: "NONE",
    timestamp: t.tsMs,
    stream_type: stream,
  };
}

/** A WebSocket `trade` message (DEFAULT format). */
export function wsTrade(
  tr: TapeTrade,
  options: { prevClose: Units; book: BookSnapshot | undefined; stream: StreamType; nowMs: number },
): Record<string, unknown> {
  const iso = isoSeconds(tr.tsMs);
  const diff = tr.price - options.prevClose;
  const ask = options.book?.asks[0];
  const bid = options.book?.bids[0];
  return {
    type: "trade",
    code: tr.market,
    timestamp: options.nowMs,
    trade_date: iso.slice(0, 10),
    trade_time: iso.slice(11),
    trade_timestamp: tr.tsMs,
    trade_price: num(tr.price),
    trade_volume: num(tr.volume),
    ask_bid: tr.side,
    prev_closing_price: num(options.prevClose),
    change: changeOf(tr.price, options.prevClose),
    change_price: num(diff < 0n ? -diff : diff),
    sequential_id: tr.sequentialId,
    best_ask_price: ask === undefined ? 0 : num(ask.price),
    best_ask_size: ask === undefined ? 0 : num(ask.size),
    best_bid_price: bid === undefined ? 0 : num(bid.price),
    best_bid_size: bid === undefined ? 0 : num(bid.size),
    stream_type: options.stream,
  };
}

/** A WebSocket `orderbook` message (DEFAULT format). */
export function wsOrderbook(
  book: BookSnapshot,
  options: { level: Units; stream: StreamType },
): Record<string, unknown> {
  const rest = restOrderbook(book, options.level);
  return {
    type: "orderbook",
    code: book.market,
    timestamp: book.tsMs,
    total_ask_size: rest.total_ask_size,
    total_bid_size: rest.total_bid_size,
    orderbook_units: rest.orderbook_units,
    stream_type: options.stream,
    level: rest.level,
  };
}

/** A WebSocket `candle.*` message (DEFAULT format). */
export function wsCandle(
  market: string,
  c: UnitCandle,
  options: { type: string; stream: StreamType },
): Record<string, unknown> {
  return {
    type: options.type,
    code: market,
    candle_date_time_utc: isoSeconds(c.startMs),
    candle_date_time_kst: isoSecondsKst(c.startMs),
    opening_price: num(c.open),
    high_price: num(c.high),
    low_price: num(c.low),
    trade_price: num(c.close),
    candle_acc_trade_volume: num(c.volume),
    candle_acc_trade_price: num(c.value),
    timestamp: c.lastTradeMs,
    stream_type: options.stream,
  };
}

const COMMON: Readonly<Record<string, string>> = {
  type: "ty",
  code: "cd",
  timestamp: "tms",
  stream_type: "st",
};

const SIMPLE_KEYS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  ticker: {
    ...COMMON,
    opening_price: "op",
    high_price: "hp",
    low_price: "lp",
    trade_price: "tp",
    prev_closing_price: "pcp",
    change: "c",
    change_price: "cp",
    signed_change_price: "scp",
    change_rate: "cr",
    signed_change_rate: "scr",
    trade_volume: "tv",
    acc_trade_volume: "atv",
    acc_trade_volume_24h: "atv24h",
    acc_trade_price: "atp",
    acc_trade_price_24h: "atp24h",
    trade_date: "tdt",
    trade_time: "ttm",
    trade_timestamp: "ttms",
    ask_bid: "ab",
    acc_ask_volume: "aav",
    acc_bid_volume: "abv",
    highest_52_week_price: "h52wp",
    highest_52_week_date: "h52wdt",
    lowest_52_week_price: "l52wp",
    lowest_52_week_date: "l52wdt",
    market_state: "ms",
    is_trading_suspended: "its",
    delisting_date: "dd",
    market_warning: "mw",
  },
  trade: {
    ...COMMON,
    trade_price: "tp",
    trade_volume: "tv",
    ask_bid: "ab",
    prev_closing_price: "pcp",
    change: "c",
    change_price: "cp",
    trade_date: "td",
    trade_time: "ttm",
    trade_timestamp: "ttms",
    sequential_id: "sid",
    best_ask_price: "bap",
    best_ask_size: "bas",
    best_bid_price: "bbp",
    best_bid_size: "bbs",
  },
  orderbook: {
    ...COMMON,
    total_ask_size: "tas",
    total_bid_size: "tbs",
    orderbook_units: "obu",
    ask_price: "ap",
    bid_price: "bp",
    ask_size: "as",
    bid_size: "bs",
    level: "lv",
  },
  candle: {
    ...COMMON,
    candle_date_time_utc: "cdttmu",
    candle_date_time_kst: "cdttmk",
    opening_price: "op",
    high_price: "hp",
    low_price: "lp",
    trade_price: "tp",
    candle_acc_trade_volume: "catv",
    candle_acc_trade_price: "catp",
  },
  myOrder: {
    ...COMMON,
    uuid: "uid",
    ask_bid: "ab",
    order_type: "ot",
    state: "s",
    trade_uuid: "tuid",
    price: "p",
    avg_price: "ap",
    volume: "v",
    remaining_volume: "rv",
    executed_volume: "ev",
    trades_count: "tc",
    reserved_fee: "rsf",
    remaining_fee: "rmf",
    paid_fee: "pf",
    locked: "l",
    executed_funds: "ef",
    time_in_force: "tif",
    trade_fee: "tf",
    is_maker: "im",
    identifier: "id",
    smp_type: "smpt",
    prevented_volume: "pv",
    prevented_locked: "pl",
    trade_timestamp: "ttms",
    order_timestamp: "otms",
  },
  myAsset: {
    ...COMMON,
    asset_uuid: "astuid",
    assets: "ast",
    currency: "cu",
    balance: "b",
    locked: "l",
    asset_timestamp: "asttms",
  },
};

/** Upbit's SIMPLE abbreviation of field `name` in messages of `type` (the name if it has none). */
export function simpleKey(type: string, name: string): string {
  const keys = SIMPLE_KEYS[type.startsWith("candle.") ? "candle" : type] ?? COMMON;
  return keys[name] ?? name;
}

/** Renames a DEFAULT-format message's keys to Upbit's SIMPLE abbreviations (nested too). */
export function toSimple(message: Record<string, unknown>): Record<string, unknown> {
  const type = String(message.type);
  const keys = SIMPLE_KEYS[type.startsWith("candle.") ? "candle" : type] ?? COMMON;
  return rename(message, keys) as Record<string, unknown>;
}

function rename(value: unknown, keys: Readonly<Record<string, string>>): unknown {
  if (Array.isArray(value)) return value.map((v) => rename(v, keys));
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[keys[k] ?? k] = rename(v, keys);
  return out;
}
