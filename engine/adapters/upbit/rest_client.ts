/**
 * `UpbitRestClient`: every Upbit REST endpoint the bot uses (`shared/upbit/API.md` §3), with
 * signing (auth.ts), per-group rate limiting (rate_limiter.ts), zod validation into exact types
 * (schemas.ts) and typed failures (errors.ts).
 *
 * - Every call has a timeout (`AbortSignal.timeout`, default 5 s). No `Origin` header is sent.
 * - Reads retry `TemporaryError`s and short `RateLimitedError`s with jittered exponential
 *   backoff. Writes never retry blindly: their failures are thrown as they are.
 * - `placeOrder` runs the retry protocol of reliability.md §1.6: an ambiguous outcome (timeout,
 *   reset, 5xx, unreadable body) or `duplicated_identifier` is resolved by looking the order up by
 *   its `identifier` until a visibility grace has passed; only an order proven absent is resent,
 *   with the SAME identifier. The result says which path was taken.
 */

import type { Candle } from "../../core/candle.ts";
import { formatUnits, type Units } from "../../core/money.ts";
import { err, ok, type Result } from "../../core/result.ts";
import {
  buildQueryStrings,
  compactBody,
  type QueryParams,
  type QueryValue,
  type Secret,
  signUpbitJwt,
} from "./auth.ts";
import {
  AuthError,
  blockMsOf,
  classifyFailure,
  ConfigError,
  ConflictError,
  RateLimitedError,
  RejectedError,
  type RejectionReason,
  snippet,
  TemporaryError,
  UpbitError,
} from "./errors.ts";
import {
  type GroupLimit,
  type RateGroup,
  rateGroupOf,
  RateLimiter,
  sleep as defaultSleep,
} from "./rate_limiter.ts";
import {
  type Account,
  accountsSchema,
  type BatchCancelResult,
  batchCancelSchema,
  type CancelAndNewResult,
  cancelAndNewSchema,
  candlesSchema,
  chanceSchema,
  type Instrument,
  instrumentsSchema,
  type MarketInfo,
  marketsSchema,
  type Order,
  type OrderBook,
  orderbooksSchema,
  type OrderChance,
  orderSchema,
  ordersSchema,
  type OrderState,
  type OrdType,
  parseJsonBody,
  type PublicTrade,
  type Side,
  type SmpType,
  type Ticker,
  tickersSchema,
  type TimeInForce,
  tradesSchema,
} from "./schemas.ts";

/** Upbit's REST base URL. */
export const DEFAULT_REST_URL = "https://api.upbit.com";

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

/** Options of `UpbitRestClient`. */
export interface UpbitRestClientOptions {
  /** Base URL without trailing slash (default `https://api.upbit.com`). */
  readonly restUrl?: string;
  /** Exchange API key; required for private endpoints only. */
  readonly accessKey?: string;
  /** Secret of `accessKey`. */
  readonly secretKey?: Secret;
  /** Per-attempt time limit (default 5 000 ms). */
  readonly timeoutMs?: number;
  /** Extra attempts of a read after a temporary failure (default 3). */
  readonly maxReadRetries?: number;
  /** First backoff step (default 200 ms); doubles per attempt, capped by `backoffMaxMs`. */
  readonly backoffBaseMs?: number;
  /** Backoff cap (default 4 000 ms). */
  readonly backoffMaxMs?: number;
  /** Longest rate-limit wait a read sits out before giving up (default 2 000 ms). */
  readonly maxRetryWaitMs?: number;
  /** Overrides of the per-group budgets (`DEFAULT_RATE_LIMITS`). */
  readonly rateLimits?: Partial<Record<RateGroup, GroupLimit>>;
  /** Latency guard added to every rate window (default 50 ms). */
  readonly rateGuardMs?: number;
  /** A limiter shared with other clients of the same IP / pocket (overrides `rateLimits`). */
  readonly limiter?: RateLimiter;
  /** How long a just-sent order may stay invisible to look-ups (default 10 000 ms). */
  readonly visibilityGraceMs?: number;
  /** First look-up backoff step of order resolution (default 250 ms; doubles, cap 4 s). */
  readonly lookupBackoffMs?: number;
  /** POSTs per `placeOrder` before giving up with an unknown outcome (default 5). */
  readonly maxPlaceAttempts?: number;
  /** Look-ups per resolution before giving up with an unknown outcome (default 50). */
  readonly maxLookups?: number;
  /** Block assumed for a 418 that states no duration (default 60 000 ms). */
  readonly defaultBlockMs?: number;
  /** Jitter source in [0, 1) (default `Math.random`). */
  readonly random?: () => number;
  /** Backoff sleep (default a timer). */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Clock, epoch ms (default `Date.now`). */
  readonly nowMs?: () => number;
  /** HTTP transport (default the global `fetch`). */
  readonly fetch?: typeof fetch;
}

/** An order to create. Amounts are exact; `identifier` is mandatory (the retry key). */
export interface OrderRequest {
  readonly market: string;
  readonly side: Side;
  readonly ordType: OrdType;
  /** Limit price, or the KRW total for `price` / `best`-bid orders. */
  readonly price?: Units;
  /** Base quantity, for `limit`, `market` and `best`-ask orders. */
  readonly volume?: Units;
  readonly timeInForce?: TimeInForce;
  readonly smpType?: SmpType;
  /** Client order id, `[A-Za-z0-9_-]{1,64}`, unique forever per account. */
  readonly identifier: string;
}

/** Which order a look-up or cancel means. */
export type OrderRef = { readonly uuid: string } | { readonly identifier: string };

/** A definitive "no" from Upbit, as data. */
export type OrderRejection =
  | {
    readonly kind: "rejected";
    readonly reason: RejectionReason;
    readonly upbitName: string | undefined;
    readonly status: number | undefined;
    readonly message: string;
  }
  | {
    /** `duplicated_identifier`, yet no order carries it past the grace: use a new identifier. */
    readonly kind: "identifier_burned";
    readonly identifier: string;
  };

/** How `placeOrder` got its order. */
export type PlacePath =
  /** The first POST answered 201. */
  | "created"
  /** An ambiguous POST was found by identifier: adopted, not resent. */
  | "adopted"
  /** Proven absent past the grace, resent with the same identifier, which answered 201. */
  | "resent"
  /** A POST answered `duplicated_identifier`; the existing order was adopted. */
  | "adopted_duplicate";

/** A placed (or adopted) order and how it was obtained. */
export interface PlacedOrder {
  readonly order: Order;
  readonly path: PlacePath;
  /** POSTs sent. */
  readonly attempts: number;
  /** Look-ups by identifier made. */
  readonly lookups: number;
}

/** `placeOrder` could not learn whether the order exists: keep the intent UNKNOWN and alert. */
export class OrderOutcomeUnknownError extends TemporaryError {
  /** The identifier whose order may or may not exist. */
  readonly identifier: string;

  /** Builds the error. */
  constructor(message: string, options: { readonly identifier: string; readonly cause?: unknown }) {
    super(message, { reason: "timeout", cause: options.cause });
    this.name = "OrderOutcomeUnknownError";
    this.identifier = options.identifier;
  }
}

/** Filters of `openOrders`. */
export interface OpenOrdersQuery {
  readonly market?: string;
  readonly states?: readonly ("wait" | "watch")[];
  readonly page?: number;
  /** ≤ 100. */
  readonly limit?: number;
  readonly orderBy?: "asc" | "desc";
}

/** Filters of `closedOrders` (window ≤ 7 days). */
export interface ClosedOrdersQuery {
  readonly market?: string;
  readonly states?: readonly ("done" | "cancel")[];
  readonly startMs?: number;
  readonly endMs?: number;
  /** ≤ 1000. */
  readonly limit?: number;
  readonly orderBy?: "asc" | "desc";
}

/** Filters of `cancelAllOpen` (`DELETE /v1/orders/open`, 1 call / 2 s). */
export interface CancelAllQuery {
  readonly side?: Side;
  readonly pairs?: readonly string[];
  readonly quoteCurrencies?: readonly string[];
  readonly excludedPairs?: readonly string[];
  /** ≤ 300 (default 20). */
  readonly count?: number;
  readonly orderBy?: "asc" | "desc";
}

/** `cancelAndNew` input: the old order and the replacement (same market and side). */
export interface CancelAndNewRequest {
  readonly prev: OrderRef;
  readonly newOrdType: OrdType;
  /** A quantity, or `"remain_only"` for the old order's unfilled quantity. */
  readonly newVolume?: Units | "remain_only";
  readonly newPrice?: Units;
  readonly newTimeInForce?: TimeInForce;
  readonly newSmpType?: SmpType;
  /** Must differ from the old order's identifier. */
  readonly newIdentifier: string;
}

interface CallSpec {
  readonly method: "GET" | "POST" | "DELETE";
  readonly path: string;
  readonly params?: QueryParams;
  readonly body?: Readonly<Record<string, QueryValue>>;
  readonly auth: boolean;
  readonly signal?: AbortSignal;
  /** Told the moment the request goes out (after signing and rate-limit waits). */
  readonly onSend?: (atMs: number) => void;
}

interface Decoder<T> {
  safeParse(
    data: unknown,
  ):
    | { success: true; data: T }
    | {
      success: false;
      error: { issues: ReadonlyArray<{ path: PropertyKey[]; message: string }> };
    };
}

const IDENTIFIER = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_CANDLES = 200;
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

/** The Upbit REST client. One instance per API key (its limiter is the pocket's budget). */
export class UpbitRestClient {
  readonly #restUrl: string;
  readonly #accessKey: string | undefined;
  readonly #secretKey: Secret | undefined;
  readonly #timeoutMs: number;
  readonly #maxReadRetries: number;
  readonly #backoffBaseMs: number;
  readonly #backoffMaxMs: number;
  readonly #maxRetryWaitMs: number;
  readonly #limiter: RateLimiter;
  readonly #graceMs: number;
  readonly #lookupBackoffMs: number;
  readonly #maxPlaceAttempts: number;
  readonly #maxLookups: number;
  readonly #defaultBlockMs: number;
  readonly #random: () => number;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly #nowMs: () => number;
  readonly #fetch: typeof fetch;

  /** Creates a client; see `UpbitRestClientOptions` for the defaults. */
  constructor(options: UpbitRestClientOptions = {}) {
    const restUrl = (options.restUrl ?? DEFAULT_REST_URL).replace(/\/+$/, "");
    if (!/^https?:\/\/[^/]+$/.test(restUrl)) {
      throw new ConfigError(
        `Cannot create Upbit client: restUrl must be http(s)://host[:port]: current value is ${restUrl}`,
      );
    }
    this.#restUrl = restUrl;
    this.#accessKey = options.accessKey;
    this.#secretKey = options.secretKey;
    this.#timeoutMs = options.timeoutMs ?? 5000;
    this.#maxReadRetries = options.maxReadRetries ?? 3;
    this.#backoffBaseMs = options.backoffBaseMs ?? 200;
    this.#backoffMaxMs = options.backoffMaxMs ?? 4000;
    this.#maxRetryWaitMs = options.maxRetryWaitMs ?? 2000;
    this.#limiter = options.limiter ??
      new RateLimiter({
        ...(options.rateLimits === undefined ? {} : { limits: options.rateLimits }),
        ...(options.rateGuardMs === undefined ? {} : { guardMs: options.rateGuardMs }),
        ...(options.nowMs === undefined ? {} : { nowMs: options.nowMs }),
      });
    this.#graceMs = options.visibilityGraceMs ?? 10_000;
    this.#lookupBackoffMs = options.lookupBackoffMs ?? 250;
    this.#maxPlaceAttempts = options.maxPlaceAttempts ?? 5;
    this.#maxLookups = options.maxLookups ?? 50;
    this.#defaultBlockMs = options.defaultBlockMs ?? 60_000;
    this.#random = options.random ?? Math.random;
    this.#sleep = options.sleep ?? defaultSleep;
    this.#nowMs = options.nowMs ?? Date.now;
    this.#fetch = options.fetch ?? fetch;
  }

  /** The limiter (to share it, or to inspect pauses). */
  get limiter(): RateLimiter {
    return this.#limiter;
  }

  // ---- Quotation ----------------------------------------------------------------------------

  /** `GET /v1/market/all?is_details=true`: every pair with its warning/caution flags. */
  async markets(options: { readonly signal?: AbortSignal } = {}): Promise<MarketInfo[]> {
    return await this.#read({
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
    const page = await this.#read({
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
    return await this.#read({
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
    return await this.#read({
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
    return await this.#read({
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
    return await this.#read({
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
    return await this.#read({
      method: "GET",
      path: "/v1/orderbook/instruments",
      params: { markets: markets.join(",") },
      auth: false,
      signal: options.signal,
    }, instrumentsSchema);
  }

  // ---- Exchange: reads ----------------------------------------------------------------------

  /** `GET /v1/accounts`: balances (available and locked), exact. */
  async accounts(options: { readonly signal?: AbortSignal } = {}): Promise<Account[]> {
    return await this.#read(
      { method: "GET", path: "/v1/accounts", auth: true, signal: options.signal },
      accountsSchema,
    );
  }

  /** `GET /v1/orders/chance`: fee rates, min/max totals, allowed types, balances of a pair. */
  async orderChance(
    market: string,
    options: { readonly signal?: AbortSignal } = {},
  ): Promise<OrderChance> {
    return await this.#read({
      method: "GET",
      path: "/v1/orders/chance",
      params: { market },
      auth: true,
      signal: options.signal,
    }, chanceSchema);
  }

  /** `GET /v1/order?uuid=|identifier=` with `trades[]`; undefined when Upbit has no such order. */
  async getOrder(
    ref: OrderRef,
    options: { readonly signal?: AbortSignal } = {},
  ): Promise<Order | undefined> {
    try {
      return await this.#read({
        method: "GET",
        path: "/v1/order",
        params: refParams(ref),
        auth: true,
        signal: options.signal,
      }, orderSchema);
    } catch (error) {
      if (error instanceof RejectedError && error.upbitName === "order_not_found") return undefined;
      throw error;
    }
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
    return await this.#read({
      method: "GET",
      path: "/v1/orders/uuids",
      params: [
        ...idListParams(ids, 100),
        ["market", options.market],
        ["order_by", options.orderBy],
      ],
      auth: true,
      signal: options.signal,
    }, ordersSchema);
  }

  /** `GET /v1/orders/open`: `wait` (default) / `watch` orders. */
  async openOrders(
    query: OpenOrdersQuery = {},
    options: { readonly signal?: AbortSignal } = {},
  ): Promise<Order[]> {
    return await this.#read({
      method: "GET",
      path: "/v1/orders/open",
      params: {
        market: query.market,
        states: query.states,
        page: query.page,
        limit: query.limit,
        order_by: query.orderBy,
      },
      auth: true,
      signal: options.signal,
    }, ordersSchema);
  }

  /** `GET /v1/orders/closed`: `done`/`cancel` orders created in a ≤ 7-day window. */
  async closedOrders(
    query: ClosedOrdersQuery = {},
    options: { readonly signal?: AbortSignal } = {},
  ): Promise<Order[]> {
    return await this.#read({
      method: "GET",
      path: "/v1/orders/closed",
      params: {
        market: query.market,
        states: query.states,
        start_time: query.startMs === undefined ? undefined : isoUtc(query.startMs, "floor"),
        end_time: query.endMs === undefined ? undefined : isoUtc(query.endMs, "ceil"),
        limit: query.limit,
        order_by: query.orderBy,
      },
      auth: true,
      signal: options.signal,
    }, ordersSchema);
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
    return await this.#write({
      method: "POST",
      path: "/v1/orders",
      body: orderBody(request),
      auth: true,
      signal: options.signal,
    }, orderSchema);
  }

  /** `POST /v1/orders/test`: validates an order without creating it. */
  async testOrder(
    request: OrderRequest,
    options: { readonly signal?: AbortSignal } = {},
  ): Promise<Result<Order, OrderRejection>> {
    return await asResult(() =>
      this.#write({
        method: "POST",
        path: "/v1/orders/test",
        body: orderBody(request),
        auth: true,
        signal: options.signal,
      }, orderSchema)
    );
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
    const { identifier } = request;
    let lookups = 0;
    let ambiguous = false;
    let lastError: unknown;
    for (let attempts = 1; attempts <= this.#maxPlaceAttempts; attempts++) {
      // The grace runs from when the POST actually left, not from when it was queued.
      let sentAtMs = this.#nowMs();
      try {
        const order = await this.#write({
          method: "POST",
          path: "/v1/orders",
          body: orderBody(request),
          auth: true,
          signal: options.signal,
          onSend: (atMs) => (sentAtMs = atMs),
        }, orderSchema);
        return ok({ order, path: ambiguous ? "resent" : "created", attempts, lookups });
      } catch (error) {
        lastError = error;
        if (error instanceof RejectedError) return err(rejectionOf(error));
        if (error instanceof ConflictError) {
          // duplicated_identifier: it exists (possibly from a concurrent or lost earlier POST).
          const found = await this.#resolve(identifier, sentAtMs, options.signal);
          lookups += found.lookups;
          if (found.order !== undefined) {
            return ok({ order: found.order, path: "adopted_duplicate", attempts, lookups });
          }
          return err({ kind: "identifier_burned", identifier });
        }
        if (error instanceof RateLimitedError) {
          // 429: refused before processing, so not sent; a 418 halts the group: escalate.
          if (error.blocked || error.retryAfterMs > this.#maxRetryWaitMs) throw error;
          continue;
        }
        if (!(error instanceof TemporaryError)) throw error;
        ambiguous = true;
        const found = await this.#resolve(identifier, sentAtMs, options.signal);
        lookups += found.lookups;
        if (found.order !== undefined) {
          return ok({ order: found.order, path: "adopted", attempts, lookups });
        }
        // Proven absent past the grace: resend with the SAME identifier.
      }
    }
    throw new OrderOutcomeUnknownError(
      `Cannot place order ${identifier}: outcome still unknown after ${this.#maxPlaceAttempts} attempts`,
      { identifier, cause: lastError },
    );
  }

  /** `DELETE /v1/order`: asks Upbit to cancel; the answer is the order as of acceptance. */
  async cancelOrder(
    ref: OrderRef,
    options: { readonly signal?: AbortSignal } = {},
  ): Promise<Result<Order, OrderRejection>> {
    return await asResult(() =>
      this.#write({
        method: "DELETE",
        path: "/v1/order",
        params: refParams(ref),
        auth: true,
        signal: options.signal,
      }, orderSchema)
    );
  }

  /** `DELETE /v1/orders/uuids`: cancels up to 20 orders by uuid or by identifier. */
  async cancelOrders(
    ids: { readonly uuids: readonly string[] } | { readonly identifiers: readonly string[] },
    options: { readonly signal?: AbortSignal } = {},
  ): Promise<BatchCancelResult> {
    return await this.#write({
      method: "DELETE",
      path: "/v1/orders/uuids",
      params: idListParams(ids, 20),
      auth: true,
      signal: options.signal,
    }, batchCancelSchema);
  }

  /** `DELETE /v1/orders/open`: batch-cancels `wait` orders matching the filters. */
  async cancelAllOpen(
    query: CancelAllQuery = {},
    options: { readonly signal?: AbortSignal } = {},
  ): Promise<BatchCancelResult> {
    return await this.#write({
      method: "DELETE",
      path: "/v1/orders/open",
      params: {
        cancel_side: query.side ?? "all",
        pairs: query.pairs?.join(","),
        quote_currencies: query.quoteCurrencies?.join(","),
        excluded_pairs: query.excludedPairs?.join(","),
        count: query.count,
        order_by: query.orderBy,
      },
      auth: true,
      signal: options.signal,
    }, batchCancelSchema);
  }

  /** `POST /v1/orders/cancel_and_new`: cancels one order and places its replacement. */
  async cancelAndNew(
    request: CancelAndNewRequest,
    options: { readonly signal?: AbortSignal } = {},
  ): Promise<Result<CancelAndNewResult, OrderRejection>> {
    checkIdentifier(request.newIdentifier);
    const prev = request.prev;
    const body: Record<string, QueryValue> = {
      prev_order_uuid: "uuid" in prev ? prev.uuid : undefined,
      prev_order_identifier: "identifier" in prev ? prev.identifier : undefined,
      new_ord_type: request.newOrdType,
      new_volume: request.newVolume === undefined
        ? undefined
        : request.newVolume === "remain_only"
        ? "remain_only"
        : formatUnits(request.newVolume),
      new_price: request.newPrice === undefined ? undefined : formatUnits(request.newPrice),
      new_time_in_force: request.newTimeInForce,
      new_smp_type: request.newSmpType,
      new_identifier: request.newIdentifier,
    };
    return await asResult(() =>
      this.#write({
        method: "POST",
        path: "/v1/orders/cancel_and_new",
        body,
        auth: true,
        signal: options.signal,
      }, cancelAndNewSchema)
    );
  }

  // ---- Plumbing -----------------------------------------------------------------------------

  /**
   * Looks `identifier` up until found, or until a look-up *started* after `sentAtMs + grace`
   * answers "not found" (proven absent). Look-up failures back off and try again.
   */
  async #resolve(
    identifier: string,
    sentAtMs: number,
    signal: AbortSignal | undefined,
  ): Promise<{ order: Order | undefined; lookups: number }> {
    let lookups = 0;
    let lastError: unknown;
    for (let i = 0; i < this.#maxLookups; i++) {
      let startedMs = this.#nowMs();
      lookups++;
      try {
        const order = await this.#getOrderOnce(
          { identifier },
          signal,
          (atMs) => (startedMs = atMs),
        );
        if (order !== undefined) return { order, lookups };
        if (startedMs - sentAtMs > this.#graceMs) return { order: undefined, lookups };
      } catch (error) {
        if (!(error instanceof TemporaryError || error instanceof RateLimitedError)) throw error;
        if (error instanceof RateLimitedError && error.blocked) throw error;
        lastError = error;
      }
      const step = Math.min(4000, this.#lookupBackoffMs * 2 ** Math.min(i, 10));
      const untilGrace = sentAtMs + this.#graceMs + 1 - this.#nowMs();
      // Never sleep far past the grace when only the grace is left to wait for.
      await this.#sleep(this.#jitter(Math.max(1, Math.min(step, Math.max(untilGrace, 1)))), signal);
    }
    throw new OrderOutcomeUnknownError(
      `Cannot resolve order ${identifier}: ${this.#maxLookups} look-ups without an answer`,
      { identifier, cause: lastError },
    );
  }

  /** One `GET /v1/order` without read retries (resolution has its own backoff). */
  async #getOrderOnce(
    ref: OrderRef,
    signal: AbortSignal | undefined,
    onSend: (atMs: number) => void,
  ): Promise<Order | undefined> {
    try {
      return await this.#write({
        method: "GET",
        path: "/v1/order",
        params: refParams(ref),
        auth: true,
        signal,
        onSend,
      }, orderSchema);
    } catch (error) {
      if (error instanceof RejectedError && error.upbitName === "order_not_found") return undefined;
      throw error;
    }
  }

  /** A read: retried on temporary failures and short rate-limit waits. */
  async #read<T>(spec: CallSpec, schema: Decoder<T>): Promise<T> {
    for (let attempt = 0;; attempt++) {
      try {
        return decode(schema, await this.#once(spec), spec);
      } catch (error) {
        const retryable = error instanceof TemporaryError ||
          (error instanceof RateLimitedError && !error.blocked &&
            error.retryAfterMs <= this.#maxRetryWaitMs);
        if (!retryable || attempt >= this.#maxReadRetries) throw error;
        // A 429 already paused the group in the limiter; the next acquire waits for it.
        if (error instanceof TemporaryError) {
          const step = Math.min(this.#backoffMaxMs, this.#backoffBaseMs * 2 ** attempt);
          await this.#sleep(this.#jitter(step), spec.signal);
        }
      }
    }
  }

  /** A write: one attempt, failures thrown as they are. */
  async #write<T>(spec: CallSpec, schema: Decoder<T>): Promise<T> {
    return decode(schema, await this.#once(spec), spec);
  }

  /** Half fixed, half random: spreads retries of many callers (`[step/2, step)`). */
  #jitter(stepMs: number): number {
    return stepMs / 2 + this.#random() * (stepMs / 2);
  }

  /** One HTTP exchange: sign, wait for the group's budget, send with a timeout, read, classify. */
  async #once(spec: CallSpec): Promise<unknown> {
    const what = `${spec.method} ${spec.path}`;
    const group = rateGroupOf(spec.method, spec.path);
    let url = this.#restUrl + spec.path;
    let bodyText: string | undefined;
    let hashed = "";
    if (spec.body !== undefined) {
      const body = compactBody(spec.body);
      bodyText = JSON.stringify(body);
      hashed = buildQueryStrings(body).plain;
    } else {
      const q = buildQueryStrings(spec.params);
      if (q.encoded !== "") url += `?${q.encoded}`;
      hashed = q.plain;
    }
    const headers: Record<string, string> = { accept: "application/json" };
    if (bodyText !== undefined) headers["content-type"] = "application/json; charset=utf-8";
    if (spec.auth) {
      if (this.#accessKey === undefined || this.#secretKey === undefined) {
        throw new ConfigError(`Cannot ${what}: no API key configured`);
      }
      const jwt = await signUpbitJwt({
        accessKey: this.#accessKey,
        secretKey: this.#secretKey,
        query: hashed,
      });
      headers.authorization = `Bearer ${jwt}`;
    }
    await this.#limiter.acquire(group, spec.signal);
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const signal = spec.signal === undefined ? timeout : AbortSignal.any([timeout, spec.signal]);
    let res: Response;
    let text: string;
    spec.onSend?.(this.#nowMs());
    try {
      res = await this.#fetch(url, {
        method: spec.method,
        headers,
        ...(bodyText === undefined ? {} : { body: bodyText }),
        signal,
      });
    } catch (error) {
      throw transportError(what, error, spec.signal);
    }
    const status = res.status;
    try {
      text = await res.text();
    } catch (error) {
      this.#limiter.observe(group, { status, remainingReq: res.headers.get("remaining-req") });
      throw transportError(what, error, spec.signal, status);
    }
    const blockMs = status === 418
      ? blockMsOf(text, res.headers.get("retry-after"), this.#defaultBlockMs)
      : undefined;
    this.#limiter.observe(group, {
      status,
      remainingReq: res.headers.get("remaining-req"),
      ...(blockMs === undefined ? {} : { blockMs }),
    });
    if (status < 200 || status > 299) {
      throw classifyFailure({
        status,
        bodyText: text,
        retryAfter: res.headers.get("retry-after"),
        group,
        what,
        nowMs: this.#nowMs(),
        defaultBlockMs: this.#defaultBlockMs,
      });
    }
    try {
      return parseJsonBody(text);
    } catch {
      throw new TemporaryError(
        `Cannot ${what}: HTTP ${status} with a body that is not JSON: ${snippet(text)}`,
        { reason: "bad_response", status },
      );
    }
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

/** `yyyy-MM-ddTHH:mm:ss+00:00` on a whole second. */
function isoUtc(ms: number, rounding: "floor" | "ceil"): string {
  const s = rounding === "floor" ? Math.floor(ms / 1000) : Math.ceil(ms / 1000);
  return `${new Date(s * 1000).toISOString().slice(0, 19)}+00:00`;
}

function refParams(ref: OrderRef): QueryParams {
  return "uuid" in ref ? { uuid: ref.uuid } : { identifier: ref.identifier };
}

function idListParams(
  ids: { readonly uuids: readonly string[] } | { readonly identifiers: readonly string[] },
  max: number,
): Array<readonly [string, QueryValue]> {
  const [key, list] = "uuids" in ids
    ? ["uuids[]", ids.uuids] as const
    : ["identifiers[]", ids.identifiers] as const;
  if (list.length < 1 || list.length > max) {
    throw new RangeError(
      `Cannot build id list: 1..${max} ids needed: current value is ${list.length}`,
    );
  }
  return [[key, list]];
}

function checkIdentifier(identifier: string): void {
  if (!IDENTIFIER.test(identifier)) {
    throw new RangeError(
      `Cannot send order: identifier must match [A-Za-z0-9_-]{1,64}: current value is ${
        JSON.stringify(identifier)
      }`,
    );
  }
}

/** The JSON body of `POST /v1/orders`, in the key order Upbit's samples use. */
function orderBody(request: OrderRequest): Record<string, QueryValue> {
  checkIdentifier(request.identifier);
  return {
    market: request.market,
    side: request.side,
    volume: request.volume === undefined ? undefined : formatUnits(request.volume),
    price: request.price === undefined ? undefined : formatUnits(request.price),
    ord_type: request.ordType,
    time_in_force: request.timeInForce,
    smp_type: request.smpType,
    identifier: request.identifier,
  };
}

function rejectionOf(error: RejectedError): OrderRejection {
  return {
    kind: "rejected",
    reason: error.reason,
    upbitName: error.upbitName,
    status: error.status,
    message: error.message,
  };
}

/** Runs a write, turning a definitive refusal into data; other failures are thrown. */
async function asResult<T>(run: () => Promise<T>): Promise<Result<T, OrderRejection>> {
  try {
    return ok(await run());
  } catch (error) {
    if (error instanceof RejectedError) return err(rejectionOf(error));
    throw error;
  }
}

function decode<T>(schema: Decoder<T>, json: unknown, spec: CallSpec): T {
  const parsed = schema.safeParse(json);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue === undefined ? "" : `${issue.path.map(String).join(".")}: ${issue.message}`;
  throw new TemporaryError(
    `Cannot ${spec.method} ${spec.path}: response does not match Upbit's schema: ${where}`,
    { reason: "bad_response" },
  );
}

/** Maps a fetch/body failure: our timeout, the caller's abort, or a network failure. */
function transportError(
  what: string,
  error: unknown,
  callerSignal: AbortSignal | undefined,
  status?: number,
): UpbitError | unknown {
  if (callerSignal?.aborted) return callerSignal.reason ?? error;
  const name = error instanceof Error ? error.name : "";
  if (name === "TimeoutError") {
    return new TemporaryError(`Cannot ${what}: no answer in time`, {
      reason: "timeout",
      cause: error,
      ...(status === undefined ? {} : { status }),
    });
  }
  return new TemporaryError(`Cannot ${what}: connection failed: ${(error as Error)?.message}`, {
    reason: "network",
    cause: error,
    ...(status === undefined ? {} : { status }),
  });
}

/** Re-exported for callers that only import the client. */
export { AuthError, ConfigError, ConflictError, RateLimitedError, RejectedError, TemporaryError };
export type { OrderState };
