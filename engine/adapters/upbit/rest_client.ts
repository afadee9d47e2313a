/**
 * `UpbitRestClient`: every Upbit REST endpoint the bot uses (`docs/upbit-api.md` §3), as one
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
import {
  AuthError,
  ConfigError,
  ConflictError,
  RateLimitedError,
  RejectedError,
  TemporaryError,
} from "../../errors.ts";
import { OrderPlacer, type PlaceOrderOptions } from "./place_order.ts";
import type { RateLimiter } from "./rate_limiter.ts";
import { ExchangeEndpoints } from "./rest_exchange.ts";
import { QuotationEndpoints } from "./rest_quotation.ts";
import { RestTransport, type RestTransportOptions } from "./rest_transport.ts";
import type { OrderState } from "./schemas.ts";

/** Options of `UpbitRestClient`: the transport's and the order placer's. */
export interface UpbitRestClientOptions extends RestTransportOptions, PlaceOrderOptions {}

/**
 * The Upbit REST client. One instance per API key (its limiter is the pocket's budget). Each
 * endpoint is the method of the module that implements it (documented there), bound here so the
 * client is one object.
 */
export class UpbitRestClient {
  readonly #transport: RestTransport;
  /** See `QuotationEndpoints.markets`. */
  readonly markets: QuotationEndpoints["markets"];
  /** See `QuotationEndpoints.candles`. */
  readonly candles: QuotationEndpoints["candles"];
  /** See `QuotationEndpoints.minuteCandles`. */
  readonly minuteCandles: QuotationEndpoints["minuteCandles"];
  /** See `QuotationEndpoints.candleHistory`. */
  readonly candleHistory: QuotationEndpoints["candleHistory"];
  /** See `QuotationEndpoints.trades`. */
  readonly trades: QuotationEndpoints["trades"];
  /** See `QuotationEndpoints.tickers`. */
  readonly tickers: QuotationEndpoints["tickers"];
  /** See `QuotationEndpoints.tickersByQuote`. */
  readonly tickersByQuote: QuotationEndpoints["tickersByQuote"];
  /** See `QuotationEndpoints.orderbooks`. */
  readonly orderbooks: QuotationEndpoints["orderbooks"];
  /** See `QuotationEndpoints.instruments`. */
  readonly instruments: QuotationEndpoints["instruments"];
  /** See `ExchangeEndpoints.accounts`. */
  readonly accounts: ExchangeEndpoints["accounts"];
  /** See `ExchangeEndpoints.orderChance`. */
  readonly orderChance: ExchangeEndpoints["orderChance"];
  /** See `ExchangeEndpoints.getOrder`. */
  readonly getOrder: ExchangeEndpoints["getOrder"];
  /** See `ExchangeEndpoints.ordersByIds`. */
  readonly ordersByIds: ExchangeEndpoints["ordersByIds"];
  /** See `ExchangeEndpoints.openOrders`. */
  readonly openOrders: ExchangeEndpoints["openOrders"];
  /** See `ExchangeEndpoints.closedOrders`. */
  readonly closedOrders: ExchangeEndpoints["closedOrders"];
  /** See `ExchangeEndpoints.createOrder`. */
  readonly createOrder: ExchangeEndpoints["createOrder"];
  /** See `ExchangeEndpoints.testOrder`. */
  readonly testOrder: ExchangeEndpoints["testOrder"];
  /** See `ExchangeEndpoints.cancelOrder`. */
  readonly cancelOrder: ExchangeEndpoints["cancelOrder"];
  /** See `ExchangeEndpoints.cancelOrders`. */
  readonly cancelOrders: ExchangeEndpoints["cancelOrders"];
  /** See `ExchangeEndpoints.cancelAllOpen`. */
  readonly cancelAllOpen: ExchangeEndpoints["cancelAllOpen"];
  /** See `ExchangeEndpoints.cancelAndNew`. */
  readonly cancelAndNew: ExchangeEndpoints["cancelAndNew"];
  /**
   * Places an order safely (reliability.md §1.6): see `OrderPlacer.place`. A definitive refusal
   * is returned as data; an ambiguous outcome is resolved by `identifier`.
   */
  readonly placeOrder: OrderPlacer["place"];

  /** Creates a client; see `UpbitRestClientOptions` for the defaults. */
  constructor(options: UpbitRestClientOptions = {}) {
    this.#transport = new RestTransport(options);
    const quotation = new QuotationEndpoints(this.#transport);
    const exchange = new ExchangeEndpoints(this.#transport);
    const placer = new OrderPlacer(this.#transport, options);
    this.markets = quotation.markets.bind(quotation);
    this.candles = quotation.candles.bind(quotation);
    this.minuteCandles = quotation.minuteCandles.bind(quotation);
    this.candleHistory = quotation.candleHistory.bind(quotation);
    this.trades = quotation.trades.bind(quotation);
    this.tickers = quotation.tickers.bind(quotation);
    this.tickersByQuote = quotation.tickersByQuote.bind(quotation);
    this.orderbooks = quotation.orderbooks.bind(quotation);
    this.instruments = quotation.instruments.bind(quotation);
    this.accounts = exchange.accounts.bind(exchange);
    this.orderChance = exchange.orderChance.bind(exchange);
    this.getOrder = exchange.getOrder.bind(exchange);
    this.ordersByIds = exchange.ordersByIds.bind(exchange);
    this.openOrders = exchange.openOrders.bind(exchange);
    this.closedOrders = exchange.closedOrders.bind(exchange);
    this.createOrder = exchange.createOrder.bind(exchange);
    this.testOrder = exchange.testOrder.bind(exchange);
    this.cancelOrder = exchange.cancelOrder.bind(exchange);
    this.cancelOrders = exchange.cancelOrders.bind(exchange);
    this.cancelAllOpen = exchange.cancelAllOpen.bind(exchange);
    this.cancelAndNew = exchange.cancelAndNew.bind(exchange);
    this.placeOrder = placer.place.bind(placer);
  }

  /** The limiter (to share it, or to inspect pauses). */
  get limiter(): RateLimiter {
    return this.#transport.limiter;
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
