/**
 * `UpbitRestClient`: every Upbit REST endpoint the bot uses (`shared/upbit/API.md` §3), as one
 * object per API key. A thin facade over:
 *
 * - rest_transport.ts: signing, rate limiting, timeouts, read retries with backoff, failure
 *   classification and schema validation;
 * - rest_quotation.ts: the public market-data endpoints;
 * - rest_exchange.ts: the private account and order endpoints;
 * - place_order.ts: `placeOrder`'s identifier-resolution protocol (reliability.md §1.6).
 *
 * Everything those modules export that callers use is re-exported here.
 */

import type { Candle } from "../../core/candle.ts";
import type { Units } from "../../core/money.ts";
import type { Result } from "../../core/result.ts";
import {
  AuthError,
  ConfigError,
  ConflictError,
  RateLimitedError,
  RejectedError,
  TemporaryError,
} from "./errors.ts";
import { OrderPlacer, type PlacedOrder, type PlaceOrderOptions } from "./place_order.ts";
import type { RateLimiter } from "./rate_limiter.ts";
import {
  type CancelAllQuery,
  type CancelAndNewRequest,
  type ClosedOrdersQuery,
  ExchangeEndpoints,
  type OpenOrdersQuery,
  type OrderRef,
  type OrderRejection,
  type OrderRequest,
} from "./rest_exchange.ts";
import { type CandleUnit, type MinuteUnit, QuotationEndpoints } from "./rest_quotation.ts";
import { RestTransport, type RestTransportOptions } from "./rest_transport.ts";
import type {
  Account,
  BatchCancelResult,
  CancelAndNewResult,
  Instrument,
  MarketInfo,
  Order,
  OrderBook,
  OrderChance,
  OrderState,
  PublicTrade,
  Ticker,
} from "./schemas.ts";

/** Options of `UpbitRestClient`: the transport's and the order placer's. */
export interface UpbitRestClientOptions extends RestTransportOptions, PlaceOrderOptions {}

/** The Upbit REST client. One instance per API key (its limiter is the pocket's budget). */
export class UpbitRestClient {
  readonly #transport: RestTransport;
  readonly #quotation: QuotationEndpoints;
  readonly #exchange: ExchangeEndpoints;
  readonly #placer: OrderPlacer;

  /** Creates a client; see `UpbitRestClientOptions` for the defaults. */
  constructor(options: UpbitRestClientOptions = {}) {
    this.#transport = new RestTransport(options);
    this.#quotation = new QuotationEndpoints(this.#transport);
    this.#exchange = new ExchangeEndpoints(this.#transport);
    this.#placer = new OrderPlacer(this.#transport, options);
  }

  /** The limiter (to share it, or to inspect pauses). */
  get limiter(): RateLimiter {
    return this.#transport.limiter;
  }

  // ---- Quotation ----------------------------------------------------------------------------

  /** `GET /v1/market/all?is_details=true`: every pair with its warning/caution flags. */
  async markets(options: { readonly signal?: AbortSignal } = {}): Promise<MarketInfo[]> {
    return await this.#quotation.markets(options);
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
    return await this.#quotation.candles(market, unit, options);
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
    return await this.#quotation.minuteCandles(market, options);
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
    return await this.#quotation.candleHistory(market, unit, options);
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
    return await this.#quotation.trades(market, options);
  }

  /** `GET /v1/ticker?markets=…`. */
  async tickers(
    markets: readonly string[],
    options: { readonly signal?: AbortSignal } = {},
  ): Promise<Ticker[]> {
    return await this.#quotation.tickers(markets, options);
  }

  /** `GET /v1/ticker/all?quote_currencies=…`: every ticker of whole markets (e.g. `KRW`). */
  async tickersByQuote(
    quoteCurrencies: readonly string[],
    options: { readonly signal?: AbortSignal } = {},
  ): Promise<Ticker[]> {
    return await this.#quotation.tickersByQuote(quoteCurrencies, options);
  }

  /** `GET /v1/orderbook`: books of `markets` (zero-padded levels dropped). */
  async orderbooks(
    markets: readonly string[],
    options: { readonly level?: Units; readonly count?: number; readonly signal?: AbortSignal } =
      {},
  ): Promise<OrderBook[]> {
    return await this.#quotation.orderbooks(markets, options);
  }

  /** `GET /v1/orderbook/instruments`: the authoritative tick size per pair. */
  async instruments(
    markets: readonly string[],
    options: { readonly signal?: AbortSignal } = {},
  ): Promise<Instrument[]> {
    return await this.#quotation.instruments(markets, options);
  }

  // ---- Exchange: reads ----------------------------------------------------------------------

  /** `GET /v1/accounts`: balances (available and locked), exact. */
  async accounts(options: { readonly signal?: AbortSignal } = {}): Promise<Account[]> {
    return await this.#exchange.accounts(options);
  }

  /** `GET /v1/orders/chance`: fee rates, min/max totals, allowed types, balances of a pair. */
  async orderChance(
    market: string,
    options: { readonly signal?: AbortSignal } = {},
  ): Promise<OrderChance> {
    return await this.#exchange.orderChance(market, options);
  }

  /** `GET /v1/order?uuid=|identifier=` with `trades[]`; undefined when Upbit has no such order. */
  async getOrder(
    ref: OrderRef,
    options: { readonly signal?: AbortSignal } = {},
  ): Promise<Order | undefined> {
    return await this.#exchange.getOrder(ref, options);
  }

  /** `GET /v1/orders/uuids`: up to 100 orders by uuid or by identifier. */
  async ordersByIds(
    ids: { readonly uuids: readonly string[] } | { readonly identifiers: readonly string[] },
    options: {
      readonly market?: string;
      readonly orderBy?: "asc" | "desc";
      readonly signal?: AbortSignal;
    } = {},
  ): Promise<Order[]> {
    return await this.#exchange.ordersByIds(ids, options);
  }

  /** `GET /v1/orders/open`: `wait` (default) / `watch` orders. */
  async openOrders(
    query: OpenOrdersQuery = {},
    options: { readonly signal?: AbortSignal } = {},
  ): Promise<Order[]> {
    return await this.#exchange.openOrders(query, options);
  }

  /** `GET /v1/orders/closed`: `done`/`cancel` orders created in a ≤ 7-day window. */
  async closedOrders(
    query: ClosedOrdersQuery = {},
    options: { readonly signal?: AbortSignal } = {},
  ): Promise<Order[]> {
    return await this.#exchange.closedOrders(query, options);
  }

  // ---- Exchange: writes ---------------------------------------------------------------------

  /**
   * One `POST /v1/orders`, no retry, no resolution: throws the typed failure as it came
   * (`ConflictError` for `duplicated_identifier`). Use `placeOrder` unless you run the protocol
   * yourself.
   */
  async createOrder(
    request: OrderRequest,
    options: { readonly signal?: AbortSignal } = {},
  ): Promise<Order> {
    return await this.#exchange.createOrder(request, options);
  }

  /** `POST /v1/orders/test`: validates an order without creating it. */
  async testOrder(
    request: OrderRequest,
    options: { readonly signal?: AbortSignal } = {},
  ): Promise<Result<Order, OrderRejection>> {
    return await this.#exchange.testOrder(request, options);
  }

  /**
   * Places an order safely (reliability.md §1.6). A definitive refusal is returned as data; an
   * ambiguous outcome is resolved by `identifier` (adopt if found; resend with the same
   * identifier only once proven absent past the visibility grace). Throws `AuthError`,
   * `ConfigError`, a 418 `RateLimitedError`, or `OrderOutcomeUnknownError` when the outcome
   * stays unknown after the attempt/look-up caps.
   */
  async placeOrder(
    request: OrderRequest,
    options: { readonly signal?: AbortSignal } = {},
  ): Promise<Result<PlacedOrder, OrderRejection>> {
    return await this.#placer.place(request, options);
  }

  /** `DELETE /v1/order`: asks Upbit to cancel; the answer is the order as of acceptance. */
  async cancelOrder(
    ref: OrderRef,
    options: { readonly signal?: AbortSignal } = {},
  ): Promise<Result<Order, OrderRejection>> {
    return await this.#exchange.cancelOrder(ref, options);
  }

  /** `DELETE /v1/orders/uuids`: cancels up to 20 orders by uuid or by identifier. */
  async cancelOrders(
    ids: { readonly uuids: readonly string[] } | { readonly identifiers: readonly string[] },
    options: { readonly signal?: AbortSignal } = {},
  ): Promise<BatchCancelResult> {
    return await this.#exchange.cancelOrders(ids, options);
  }

  /** `DELETE /v1/orders/open`: batch-cancels `wait` orders matching the filters. */
  async cancelAllOpen(
    query: CancelAllQuery = {},
    options: { readonly signal?: AbortSignal } = {},
  ): Promise<BatchCancelResult> {
    return await this.#exchange.cancelAllOpen(query, options);
  }

  /** `POST /v1/orders/cancel_and_new`: cancels one order and places its replacement. */
  async cancelAndNew(
    request: CancelAndNewRequest,
    options: { readonly signal?: AbortSignal } = {},
  ): Promise<Result<CancelAndNewResult, OrderRejection>> {
    return await this.#exchange.cancelAndNew(request, options);
  }
}

/**
 * The 1-minute candles of `market` whose start lies in [fromMs, toMs), ascending, deduplicated:
 * the REST back-fill for the WebSocket candle stream.
 */
export async function backfillMinuteCandles(
  client: UpbitRestClient,
  market: string,
  options: { readonly fromMs: number; readonly toMs: number; readonly signal?: AbortSignal },
): Promise<Candle[]> {
  return await client.candleHistory(market, "1m", options);
}

export { DEFAULT_REST_URL } from "./rest_transport.ts";
export { candlePath } from "./rest_quotation.ts";
export type { CandleUnit, MinuteUnit } from "./rest_quotation.ts";
export type {
  CancelAllQuery,
  CancelAndNewRequest,
  ClosedOrdersQuery,
  OpenOrdersQuery,
  OrderRef,
  OrderRejection,
  OrderRequest,
} from "./rest_exchange.ts";
export { OrderOutcomeUnknownError } from "./place_order.ts";
export type { PlacedOrder, PlacePath } from "./place_order.ts";

/** Re-exported for callers that only import the client. */
export { AuthError, ConfigError, ConflictError, RateLimitedError, RejectedError, TemporaryError };
export type { OrderState };
