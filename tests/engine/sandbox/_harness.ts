/**
 * Test harness for the sandbox exchange: a fake `MarketFeed` (fixed book, manual trades, manual
 * clock) and the exchange routes mounted behind the rate limiter and faults, driven through
 * `app.request()`.
 */

import { Hono } from "hono";
import { parseUnits, type Units } from "../../../engine/core/money.ts";
import { SandboxAuth } from "../../../engine/sandbox/auth.ts";
import { createExchangeRoutes, upbitNotFound } from "../../../engine/sandbox/exchange_routes.ts";
import { Faults } from "../../../engine/sandbox/faults.ts";
import type {
  BookLevel,
  BookSnapshot,
  MarketFeed,
  ReplayTrade,
  TakerSide,
} from "../../../engine/sandbox/feed.ts";
import { SandboxExchange, type SandboxExchangeOptions } from "../../../engine/sandbox/matching.ts";
import type { PrivateEvent } from "../../../engine/sandbox/private_events.ts";
import { RateLimiter, type RateLimiterOptions } from "../../../engine/sandbox/rate_limit.ts";
import { bodyPlain, queryOf, signToken, type TestKey } from "./_sign.ts";

/** 2026-11-24T10:15:02+09:00. */
export const T0_MS = Date.UTC(2026, 10, 24, 1, 15, 2);

/** A feed whose book and clock the test sets by hand. */
export class FakeFeed implements MarketFeed {
  readonly markets: readonly string[];
  now = T0_MS;
  readonly #books = new Map<string, BookSnapshot>();
  readonly #listeners = new Set<(trade: ReplayTrade) => void>();
  /** Every book ever set, by market and tsMs (to check fills against). */
  readonly history: BookSnapshot[] = [];
  readonly trades: ReplayTrade[] = [];
  #seq = 1;

  constructor(markets: readonly string[] = ["KRW-BTC", "KRW-ETH"]) {
    this.markets = markets;
  }

  nowMs(): number {
    return this.now;
  }

  book(market: string): BookSnapshot | undefined {
    return this.#books.get(market);
  }

  onTrade(listener: (trade: ReplayTrade) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Replaces the book; levels are `[price, size]` decimal strings. */
  setBook(
    market: string,
    asks: ReadonlyArray<readonly [string, string]>,
    bids: ReadonlyArray<readonly [string, string]>,
  ): void {
    const level = ([p, s]: readonly [string, string]): BookLevel => ({
      price: parseUnits(p),
      size: parseUnits(s),
    });
    this.now += 1;
    const book = { market, tsMs: this.now, asks: asks.map(level), bids: bids.map(level) };
    this.#books.set(market, book);
    this.history.push(book);
  }

  /** Publishes one trade on the tape. */
  trade(market: string, price: string, volume: string, side: TakerSide = "ASK"): void {
    this.now += 1;
    const trade: ReplayTrade = {
      market,
      tsMs: this.now,
      price: parseUnits(price),
      volume: parseUnits(volume),
      side,
      sequentialId: this.#seq++,
    };
    this.trades.push(trade);
    for (const listener of this.#listeners) listener(trade);
  }
}

export const KEY_A: TestKey = {
  accessKey: "TESTACCESSKEY0000000000000000000000000000",
  secretKey: "TESTSECRETKEY0000000000000000000000000000",
};
export const KEY_B: TestKey = { accessKey: "ACCESS-B", secretKey: "SECRET-B" };
export const KEY_VIEW_ONLY: TestKey = { accessKey: "ACCESS-VIEW", secretKey: "SECRET-VIEW" };

/** Everything a test needs. */
export interface Harness {
  readonly app: Hono;
  readonly feed: FakeFeed;
  readonly exchange: SandboxExchange;
  readonly auth: SandboxAuth;
  readonly limiter: RateLimiter;
  readonly faults: Faults;
  readonly events: PrivateEvent[];
  /** Rate-limiter clock (ms), advanced by tests. */
  clock: { now: number };
  close(): void;
}

/** The standard book around 131,250,000 KRW. */
export function standardBook(feed: FakeFeed): void {
  feed.setBook("KRW-BTC", [
    ["131251000", "0.0213"],
    ["131260000", "0.15"],
    ["131300000", "1"],
  ], [
    ["131250000", "0.312"],
    ["131240000", "0.0071"],
    ["131000000", "1"],
  ]);
}

/** Builds a sandbox with accounts `a` (KRW + BTC) and `b` (KRW). */
export function createHarness(
  options: {
    readonly exchange?: Partial<SandboxExchangeOptions>;
    readonly limiter?: RateLimiterOptions;
    readonly balances?: SandboxExchangeOptions["balances"];
  } = {},
): Harness {
  const feed = new FakeFeed();
  standardBook(feed);
  const exchange = new SandboxExchange({
    feed,
    balances: options.balances ?? {
      a: { KRW: "1250000.52", BTC: "0.015234" },
      b: { KRW: "100000" },
    },
    ...options.exchange,
  });
  const auth = new SandboxAuth([
    { ...KEY_A, accountId: "a" },
    { ...KEY_B, accountId: "b" },
    { ...KEY_VIEW_ONLY, accountId: "a", permissions: ["view_assets", "view_orders"] },
  ], { nowMs: () => feed.nowMs() });
  const clock = { now: 1_000_000 };
  const limiter = new RateLimiter({
    nowMs: () => clock.now,
    verifiedPocket: (authorization) => auth.verifiedAccount(authorization),
    // Generous budgets unless a test is about the limiter itself.
    ...(options.limiter ??
      {
        limits: {
          default: 10_000,
          order: 10_000,
          "order-test": 10_000,
          "order-cancel-all": 10_000,
        },
      }),
  });
  const faults = new Faults();
  const app = new Hono();
  app.use("*", limiter.middleware());
  app.use("*", faults.middleware());
  app.route("/", createExchangeRoutes({ exchange, auth }));
  app.notFound(upbitNotFound);
  const events: PrivateEvent[] = [];
  exchange.onPrivateEvent((e) => events.push(e));
  return {
    app,
    feed,
    exchange,
    auth,
    limiter,
    faults,
    events,
    clock,
    close: () => exchange.close(),
  };
}

/** Options of `call`. */
export interface CallOptions {
  readonly key?: TestKey;
  readonly alg?: "HS256" | "HS512";
  readonly nonce?: string;
  readonly token?: string | null;
  readonly signal?: AbortSignal;
  readonly headers?: Record<string, string>;
}

/** Sends a signed request: GET/DELETE params go in the query, POST params in a JSON body. */
export async function call(
  h: Harness,
  method: "GET" | "POST" | "DELETE",
  path: string,
  params: ReadonlyArray<readonly [string, string]> | Record<string, unknown> = [],
  options: CallOptions = {},
): Promise<Response> {
  let url = `http://sandbox${path}`;
  let body: string | undefined;
  let hashed: string;
  if (method === "POST") {
    const record = Array.isArray(params) ? Object.fromEntries(params) : params;
    body = JSON.stringify(record);
    hashed = bodyPlain(record as Record<string, unknown>);
  } else {
    const q = queryOf(params as ReadonlyArray<readonly [string, string]>);
    if (q.encoded !== "") url += `?${q.encoded}`;
    hashed = q.plain;
  }
  const token = options.token === undefined
    ? await signToken(options.key ?? KEY_A, {
      hashed,
      ...(options.alg === undefined ? {} : { alg: options.alg }),
      ...(options.nonce === undefined ? {} : { nonce: options.nonce }),
    })
    : options.token;
  const headers: Record<string, string> = { ...options.headers };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json; charset=utf-8";
  return await h.app.request(
    new Request(url, {
      method,
      headers,
      ...(body === undefined ? {} : { body }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    }),
  );
}

/** Sends and parses JSON, returning `[status, body]`. */
export async function callJson(
  h: Harness,
  method: "GET" | "POST" | "DELETE",
  path: string,
  params: ReadonlyArray<readonly [string, string]> | Record<string, unknown> = [],
  options: CallOptions = {},
  // deno-lint-ignore no-explicit-any
): Promise<[number, any]> {
  const res = await call(h, method, path, params, options);
  return [res.status, await res.json()];
}

/** `balance + locked` of an account's currency, exact. */
export function total(h: Harness, accountId: string, currency: string): Units {
  const line = h.exchange.holdings(accountId).find(([c]) => c === currency)?.[1];
  return (line?.balance ?? 0n) + (line?.locked ?? 0n);
}
