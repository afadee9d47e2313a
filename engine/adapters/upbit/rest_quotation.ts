/**
 * `QuotationEndpoints`: Upbit's public market-data endpoints (`shared/upbit/API.md` §3) —
 * markets, candles (one page, or a paged history), trades, tickers, order books and
 * instruments — sent through a `RestTransport` as retried, unsigned reads.
 */

import type { Candle } from "../../core/candle.ts";
import { formatUnits, type Units } from "../../core/money.ts";
import type { RestTransport } from "./rest_transport.ts";
import {
  candlesSchema,
  type Instrument,
  instrumentsSchema,
  type MarketInfo,
  marketsSchema,
  type OrderBook,
  orderbooksSchema,
  type PublicTrade,
  type Ticker,
  tickersSchema,
  tradesSchema,
} from "./schemas.ts";

/** Candle units: seconds, minutes (`1m`…`240m`, with `1h`/`4h` aliases), days, weeks, months, years. */
export type CandleUnit =
  | "1s"
  | "1m"
  | "3m"
  | "5m"
  | "10m"
  | "15m"
  | "30m"
  | "60m"
  | "240m"
  | "1h"
  | "4h"
  | "1d"
  | "1w"
  | "1M"
  | "1y";

/** Minutes per minute-candle unit (Upbit's `/v1/candles/minutes/{unit}`). */
export type MinuteUnit = 1 | 3 | 5 | 10 | 15 | 30 | 60 | 240;

/** Most candles Upbit returns per page. */
const MAX_CANDLES = 200;
/** Fixed length of a candle unit (months and years vary). */
const FIXED_UNIT_MS: Partial<Record<CandleUnit, number>> = {
  "1s": 1000,
  "1m": 60_000,
  "3m": 180_000,
  "5m": 300_000,
  "10m": 600_000,
  "15m": 900_000,
  "30m": 1_800_000,
  "60m": 3_600_000,
  "1h": 3_600_000,
  "240m": 14_400_000,
  "4h": 14_400_000,
  "1d": 86_400_000,
  "1w": 604_800_000,
};

/** The quotation (market data) endpoints, over a shared transport. */
export class QuotationEndpoints {
  readonly #transport: RestTransport;

  /** Sends every call through `transport`. */
  constructor(transport: RestTransport) {
    this.#transport = transport;
  }

  /** `GET /v1/market/all?is_details=true`: every pair with its warning/caution flags. */
  async markets(options: { readonly signal?: AbortSignal } = {}): Promise<MarketInfo[]> {
    return await this.#transport.read({
      method: "GET",
      path: "/v1/market/all",
      params: { is_details: true },
      auth: false,
      signal: options.signal,
    }, marketsSchema);
  }

  /**
   * One page of candles (`count` ≤ 200, default 200) starting before `toMs` (exclusive;
   * default now), returned in ascending time order.
   */
  async candles(
    market: string,
    unit: CandleUnit,
    options: { readonly toMs?: number; readonly count?: number; readonly signal?: AbortSignal } =
      {},
  ): Promise<Candle[]> {
    const count = options.count ?? MAX_CANDLES;
    if (!Number.isInteger(count) || count < 1 || count > MAX_CANDLES) {
      throw new RangeError(`Cannot get candles: count must be 1..200: current value is ${count}`);
    }
    const page = await this.#transport.read({
      method: "GET",
      path: candlePath(unit),
      params: {
        market,
        to: options.toMs === undefined ? undefined : candleTo(options.toMs),
        count,
      },
      auth: false,
      signal: options.signal,
    }, candlesSchema);
    return page.sort((a, b) => a.startMs - b.startMs);
  }

  /** One page of N-minute candles (`/v1/candles/minutes/{unit}`), ascending. */
  async minuteCandles(
    market: string,
    options: {
      readonly unit?: MinuteUnit;
      readonly toMs?: number;
      readonly count?: number;
      readonly signal?: AbortSignal;
    } = {},
  ): Promise<Candle[]> {
    return await this.candles(market, `${options.unit ?? 1}m` as CandleUnit, options);
  }

  /**
   * Every candle whose start lies in [fromMs, toMs), ascending and deduplicated, paging backwards
   * with `to`/`count` ≤ 200 (Upbit answers newest first). Buckets without trades are absent:
   * the result need not be contiguous.
   */
  async candleHistory(
    market: string,
    unit: CandleUnit,
    options: { readonly fromMs: number; readonly toMs: number; readonly signal?: AbortSignal },
  ): Promise<Candle[]> {
    const { fromMs, toMs } = options;
    if (!Number.isFinite(fromMs) || !Number.isFinite(toMs)) {
      throw new RangeError(`Cannot get candle history: fromMs/toMs must be finite`);
    }
    const byStart = new Map<number, Candle>();
    const unitMs = FIXED_UNIT_MS[unit];
    let to = toMs;
    for (let pages = 0; to > fromMs && pages < 100_000; pages++) {
      const want = unitMs === undefined ? MAX_CANDLES : Math.ceil((to - fromMs) / unitMs) + 1;
      const count = Math.min(MAX_CANDLES, Math.max(1, want));
      const page = await this.candles(market, unit, { toMs: to, count, signal: options.signal });
      for (const c of page) {
        if (c.startMs >= fromMs && c.startMs < toMs) byStart.set(c.startMs, c);
      }
      const oldest = page[0]?.startMs;
      // Stop on a short page (nothing older), or when Upbit did not move back (no progress).
      if (oldest === undefined || page.length < count || oldest >= to) break;
      to = oldest;
    }
    return [...byStart.values()].sort((a, b) => a.startMs - b.startMs);
  }

  /** `GET /v1/trades/ticks`: recent trades, newest first (`count` ≤ 500). */
  async trades(
    market: string,
    options: {
      readonly count?: number;
      readonly cursor?: string;
      readonly daysAgo?: number;
      readonly signal?: AbortSignal;
    } = {},
  ): Promise<PublicTrade[]> {
    return await this.#transport.read({
      method: "GET",
      path: "/v1/trades/ticks",
      params: {
        market,
        count: options.count ?? 100,
        cursor: options.cursor,
        days_ago: options.daysAgo,
      },
      auth: false,
      signal: options.signal,
    }, tradesSchema);
  }

  /** `GET /v1/ticker?markets=…`. */
  async tickers(
    markets: readonly string[],
    options: { readonly signal?: AbortSignal } = {},
  ): Promise<Ticker[]> {
    return await this.#transport.read({
      method: "GET",
      path: "/v1/ticker",
      params: { markets: markets.join(",") },
      auth: false,
      signal: options.signal,
    }, tickersSchema);
  }

  /** `GET /v1/ticker/all?quote_currencies=…`: every ticker of whole markets (e.g. `KRW`). */
  async tickersByQuote(
    quoteCurrencies: readonly string[],
    options: { readonly signal?: AbortSignal } = {},
  ): Promise<Ticker[]> {
    return await this.#transport.read({
      method: "GET",
      path: "/v1/ticker/all",
      params: { quote_currencies: quoteCurrencies.join(",") },
      auth: false,
      signal: options.signal,
    }, tickersSchema);
  }

  /** `GET /v1/orderbook`: books of `markets` (zero-padded levels dropped). */
  async orderbooks(
    markets: readonly string[],
    options: { readonly level?: Units; readonly count?: number; readonly signal?: AbortSignal } =
      {},
  ): Promise<OrderBook[]> {
    return await this.#transport.read({
      method: "GET",
      path: "/v1/orderbook",
      params: {
        markets: markets.join(","),
        level: options.level === undefined ? undefined : formatUnits(options.level),
        count: options.count,
      },
      auth: false,
      signal: options.signal,
    }, orderbooksSchema);
  }

  /** `GET /v1/orderbook/instruments`: the authoritative tick size per pair. */
  async instruments(
    markets: readonly string[],
    options: { readonly signal?: AbortSignal } = {},
  ): Promise<Instrument[]> {
    return await this.#transport.read({
      method: "GET",
      path: "/v1/orderbook/instruments",
      params: { markets: markets.join(",") },
      auth: false,
      signal: options.signal,
    }, instrumentsSchema);
  }
}

/** Upbit's path for a candle unit. */
export function candlePath(unit: CandleUnit): string {
  switch (unit) {
    case "1s":
      return "/v1/candles/seconds";
    case "1h":
      return "/v1/candles/minutes/60";
    case "4h":
      return "/v1/candles/minutes/240";
    case "1d":
      return "/v1/candles/days";
    case "1w":
      return "/v1/candles/weeks";
    case "1M":
      return "/v1/candles/months";
    case "1y":
      return "/v1/candles/years";
    default:
      return `/v1/candles/minutes/${unit.slice(0, -1)}`;
  }
}

/** Candle `to` (exclusive): UTC, whole seconds rounded up, e.g. `2026-11-24T03:00:01Z`. */
function candleTo(toMs: number): string {
  return `${new Date(Math.ceil(toMs / 1000) * 1000).toISOString().slice(0, 19)}Z`;
}
