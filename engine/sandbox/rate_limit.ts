/**
 * Upbit's request limits for the sandbox (`docs/upbit-api.md` §6): per-group budgets per
 * second (per IP for Quotation, per pocket = account for Exchange), a `Remaining-Req` header on
 * every response, 429 when a budget is spent, and 418 with the block time when a caller keeps
 * going after 429s (each further block is twice as long).
 *
 * One limiter serves the whole sandbox app: mount `limiter.middleware()` before every route.
 * A call counts against a pocket only when its token's signature verifies (a forged token with
 * someone's access key counts against the caller's IP); the caller's IP is the socket's peer,
 * never `X-Forwarded-For` unless `trustForwardedFor` says a proxy in front sets it. The state is
 * bounded: at most `maxBuckets` (group, caller) buckets, the least recently used dropped first.
 */

import type { Context, MiddlewareHandler } from "hono";

/** Upbit's rate-limit groups (DOC names), plus `origin` for calls with an `Origin` header. */
export type RateGroup =
  | "market"
  | "candle"
  | "trade"
  | "ticker"
  | "orderbook"
  | "default"
  | "order"
  | "order-test"
  | "order-cancel-all"
  | "origin";

/** One group's budget and how it is reported. */
export interface GroupRule {
  /** Calls allowed per window. */
  readonly limit: number;
  readonly windowMs: number;
  /** The group name written in `Remaining-Req` (differs from the DOC name for some). */
  readonly wire: string;
  /** The deprecated constant `min=` value. */
  readonly min: number;
  /** Quotation groups count per IP, Exchange groups per pocket. */
  readonly scope: "ip" | "pocket";
}

/** The limits in force (API.md §6 table, order group at 12/s since 2026-08-21). */
export const RATE_GROUPS: Readonly<Record<RateGroup, GroupRule>> = {
  market: { limit: 10, windowMs: 1000, wire: "market", min: 600, scope: "ip" },
  candle: { limit: 10, windowMs: 1000, wire: "candles", min: 600, scope: "ip" },
  trade: { limit: 10, windowMs: 1000, wire: "crix-trades", min: 600, scope: "ip" },
  ticker: { limit: 10, windowMs: 1000, wire: "ticker", min: 600, scope: "ip" },
  orderbook: { limit: 10, windowMs: 1000, wire: "orderbook", min: 600, scope: "ip" },
  default: { limit: 30, windowMs: 1000, wire: "default", min: 1800, scope: "pocket" },
  order: { limit: 12, windowMs: 1000, wire: "order", min: 1800, scope: "pocket" },
  "order-test": { limit: 8, windowMs: 1000, wire: "order-test", min: 1800, scope: "pocket" },
  "order-cancel-all": {
    limit: 1,
    windowMs: 2000,
    wire: "order-cancel-all",
    min: 1800,
    scope: "pocket",
  },
  origin: { limit: 1, windowMs: 10_000, wire: "origin", min: 6, scope: "ip" },
};

const QUOTATION: ReadonlyArray<readonly [RegExp, RateGroup]> = [
  [/^\/v1\/market\/all\/?$/, "market"],
  [/^\/v1\/candles\//, "candle"],
  [/^\/v1\/trades\/ticks\/?$/, "trade"],
  [/^\/v1\/ticker(\/all)?\/?$/, "ticker"],
  [/^\/v1\/orderbook(\/instruments)?\/?$/, "orderbook"],
];

/** The group a request counts against (unknown paths count as `default`). */
export function rateGroupOf(method: string, path: string): RateGroup {
  for (const [pattern, group] of QUOTATION) if (pattern.test(path)) return group;
  const m = method.toUpperCase();
  if (m === "POST" && (path === "/v1/orders" || path === "/v1/orders/cancel_and_new")) {
    return "order";
  }
  if (m === "POST" && path === "/v1/orders/test") return "order-test";
  if (m === "DELETE" && path === "/v1/orders/open") return "order-cancel-all";
  return "default";
}

/** Options of the limiter. */
export interface RateLimiterOptions {
  /** Clock, UTC epoch ms (default `Date.now`: limits are about real request rates). */
  readonly nowMs?: () => number;
  /** The pocket (account) of a bearer token whose signature verifies; others count by IP. */
  readonly verifiedPocket?: (authorization: string) => Promise<string | undefined>;
  /** The caller's IP (default `callerIp(c, trustForwardedFor)`). */
  readonly clientIp?: (c: Context) => string;
  /** Take the IP from `X-Forwarded-For` (set by a trusted proxy in front). Default false. */
  readonly trustForwardedFor?: boolean;
  /** Buckets kept at most (default `MAX_BUCKETS`). */
  readonly maxBuckets?: number;
  /** 429s within `strikeWindowMs` that turn into a block (default 5). */
  readonly strikesToBlock?: number;
  /** Window counting strikes (default 10 s). */
  readonly strikeWindowMs?: number;
  /** First block length (default 10 s); each repeat offence doubles it. */
  readonly blockMs?: number;
  /** Overrides of group budgets (calls per window). */
  readonly limits?: Partial<Record<RateGroup, number>>;
}

/** Rate-limit buckets kept at most: one per (group, caller) in use, least recently used go. */
export const MAX_BUCKETS = 10_000;

/**
 * The caller's IP: the socket's peer (`c.env.remoteAddr`, as `Deno.serve` passes it), or with
 * `trustForwardedFor` the last `X-Forwarded-For` entry (the one the trusted proxy appended).
 */
export function callerIp(c: Context, trustForwardedFor = false): string {
  if (trustForwardedFor) {
    const last = c.req.header("x-forwarded-for")?.split(",").at(-1)?.trim();
    if (last !== undefined && last !== "") return last;
  }
  const addr = (c.env as { remoteAddr?: Deno.Addr } | undefined)?.remoteAddr;
  return addr !== undefined && "hostname" in addr ? addr.hostname : "local";
}

interface Bucket {
  windowStartMs: number;
  used: number;
  strikes: number[];
  blockedUntilMs: number;
  offences: number;
}

/** The sandbox's request limiter (state per group and caller). */
export class RateLimiter {
  readonly #buckets = new Map<string, Bucket>();
  readonly #nowMs: () => number;
  readonly #options: RateLimiterOptions;

  /** Creates a limiter; see `RateLimiterOptions` for the defaults. */
  constructor(options: RateLimiterOptions = {}) {
    this.#options = options;
    this.#nowMs = options.nowMs ?? (() => Date.now());
  }

  /** Forgets all counts and blocks. */
  reset(): void {
    this.#buckets.clear();
  }

  /** Buckets held now (for the bounds test). */
  bucketCount(): number {
    return this.#buckets.size;
  }

  /** The Hono middleware: counts the call, answers 429/418, sets `Remaining-Req` always. */
  middleware(): MiddlewareHandler {
    return async (c, next) => {
      const path = new URL(c.req.url).pathname;
      let group = rateGroupOf(c.req.method, path);
      const rule0 = RATE_GROUPS[group];
      if (rule0.scope === "ip" && c.req.header("origin") !== undefined) group = "origin";
      const rule = RATE_GROUPS[group];
      const limit = this.#options.limits?.[group] ?? rule.limit;
      const ip = this.#options.clientIp?.(c) ??
        callerIp(c, this.#options.trustForwardedFor ?? false);
      let who = `ip:${ip}`;
      const authorization = c.req.header("authorization");
      if (rule.scope === "pocket" && authorization !== undefined) {
        const pocket = await this.#options.verifiedPocket?.(authorization);
        if (pocket !== undefined) who = `pocket:${pocket}`;
      }
      const now = this.#nowMs();
      const bucket = this.#bucket(`${group}|${who}`, now, rule.windowMs);
      const header = (remaining: number) =>
        `group=${rule.wire}; min=${rule.min}; sec=${Math.max(0, remaining)}`;
      const extra: Record<string, string> = rule.scope === "ip" ? { "limit-by-ip": "Yes" } : {};
      if (now < bucket.blockedUntilMs) {
        return blockedResponse(bucket.blockedUntilMs - now, {
          "Remaining-Req": header(0),
          ...extra,
        });
      }
      if (bucket.used >= limit) {
        const strikeWindowMs = this.#options.strikeWindowMs ?? 10_000;
        bucket.strikes = bucket.strikes.filter((t) => now - t < strikeWindowMs);
        bucket.strikes.push(now);
        if (bucket.strikes.length >= (this.#options.strikesToBlock ?? 5)) {
          const blockMs = (this.#options.blockMs ?? 10_000) * 2 ** bucket.offences;
          bucket.offences += 1;
          bucket.strikes = [];
          bucket.blockedUntilMs = now + blockMs;
          return blockedResponse(blockMs, { "Remaining-Req": header(0), ...extra });
        }
        return tooManyResponse({ "Remaining-Req": header(0), ...extra });
      }
      bucket.used += 1;
      await next();
      setHeaders(c, { "Remaining-Req": header(limit - bucket.used), ...extra });
    };
  }

  #bucket(key: string, now: number, windowMs: number): Bucket {
    const windowStartMs = Math.floor(now / windowMs) * windowMs;
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      bucket = { windowStartMs, used: 0, strikes: [], blockedUntilMs: 0, offences: 0 };
    } else {
      this.#buckets.delete(key); // Re-inserted below: the map's order is least recently used first.
    }
    this.#buckets.set(key, bucket);
    const max = this.#options.maxBuckets ?? MAX_BUCKETS;
    for (const oldest of this.#buckets.keys()) {
      if (this.#buckets.size <= max) break;
      this.#buckets.delete(oldest);
    }
    if (bucket.windowStartMs !== windowStartMs) {
      bucket.windowStartMs = windowStartMs;
      bucket.used = 0;
    }
    return bucket;
  }
}

/** Upbit's 429 answer (plain text, as pyupbit observed; clients must not expect JSON). */
export function tooManyResponse(headers: Record<string, string> = {}): Response {
  return new Response("Too many API requests.", {
    status: 429,
    headers: { "content-type": "text/plain; charset=utf-8", ...headers },
  });
}

/** Upbit's 418 answer, stating how long the caller is blocked. */
export function blockedResponse(blockMs: number, headers: Record<string, string> = {}): Response {
  const seconds = Math.ceil(blockMs / 1000);
  return new Response(
    `I'm a teapot: too many requests after 429 responses; blocked for ${seconds} seconds.`,
    { status: 418, headers: { "content-type": "text/plain; charset=utf-8", ...headers } },
  );
}

function setHeaders(c: Context, headers: Record<string, string>): void {
  try {
    for (const [k, v] of Object.entries(headers)) c.res.headers.set(k, v);
  } catch {
    // Immutable headers (a fetched or redirect response): copy the response once.
    const copy = new Response(c.res.body, c.res);
    for (const [k, v] of Object.entries(headers)) copy.headers.set(k, v);
    c.res = copy;
  }
}
