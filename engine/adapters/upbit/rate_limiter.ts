/**
 * Client-side rate limiting per Upbit group (`shared/upbit/API.md` §6, reliability.md §1.7).
 *
 * Each group is a sliding window: at most `limit` calls in any `windowMs + guardMs`. The guard
 * absorbs the time between our send and Upbit's count, so however the requests land in Upbit's
 * own one-second windows, none of them sees more than `limit`. Callers queue FIFO per group.
 *
 * Answers feed back in: `Remaining-Req: …; sec=0` or a 429 pauses the group until the next
 * second boundary (+ guard); a 418 blocks it for the stated time, during which `acquire` fails
 * at once with `RateLimitedError` instead of sending (more calls would lengthen the block).
 */

import { RateLimitedError } from "../../errors.ts";

/** Upbit's rate-limit groups (DOC names; the wire names in `Remaining-Req` differ). */
export type RateGroup =
  | "market"
  | "candle"
  | "trade"
  | "ticker"
  | "orderbook"
  | "default"
  | "order"
  | "order-test"
  | "order-cancel-all";

/** One group's budget: `limit` calls per `windowMs`. */
export interface GroupLimit {
  readonly limit: number;
  readonly windowMs: number;
}

/**
 * Our budgets: below Upbit's with a margin (quotation 8 of 10/s, default 25 of 30/s, order 8 of
 * 12/s, order-test 6 of 8/s, batch cancel 1 per 2 s).
 */
export const DEFAULT_RATE_LIMITS: Readonly<Record<RateGroup, GroupLimit>> = {
  market: { limit: 8, windowMs: 1000 },
  candle: { limit: 8, windowMs: 1000 },
  trade: { limit: 8, windowMs: 1000 },
  ticker: { limit: 8, windowMs: 1000 },
  orderbook: { limit: 8, windowMs: 1000 },
  default: { limit: 25, windowMs: 1000 },
  order: { limit: 8, windowMs: 1000 },
  "order-test": { limit: 6, windowMs: 1000 },
  "order-cancel-all": { limit: 1, windowMs: 2000 },
};

/** Upbit's published limits, with no margin (for tests that prove the limiter is exact). */
export const UPBIT_RATE_LIMITS: Readonly<Record<RateGroup, GroupLimit>> = {
  market: { limit: 10, windowMs: 1000 },
  candle: { limit: 10, windowMs: 1000 },
  trade: { limit: 10, windowMs: 1000 },
  ticker: { limit: 10, windowMs: 1000 },
  orderbook: { limit: 10, windowMs: 1000 },
  default: { limit: 30, windowMs: 1000 },
  order: { limit: 12, windowMs: 1000 },
  "order-test": { limit: 8, windowMs: 1000 },
  "order-cancel-all": { limit: 1, windowMs: 2000 },
};

/** A parsed `Remaining-Req` header. */
export interface RemainingReq {
  /** Group name as sent (e.g. `candles`, `crix-trades`, `default`). */
  readonly group: string;
  /** Calls left in the current second. */
  readonly sec: number;
}

/**
 * Parses `Remaining-Req` loosely: any order, any spacing, unknown group names accepted; `min`
 * (deprecated) ignored. Undefined when `sec` is missing or not a number.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseRemainingReq("group=crix-trades; min=600; sec=9"), { group: "crix-trades", sec: 9 });
 * assert.equal(parseRemainingReq("garbage"), undefined);
 * ```
 */
export function parseRemainingReq(header: string | null | undefined): RemainingReq | undefined {
  if (header == null) return undefined;
  let group = "";
  let sec: number | undefined;
  for (const part of header.split(/[;,]/)) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim().toLowerCase();
    const value = part.slice(eq + 1).trim();
    if (key === "group") group = value;
    else if (key === "sec" && /^\d{1,9}$/.test(value)) sec = Number(value);
  }
  return sec === undefined ? undefined : { group, sec };
}

/** What one answer tells the limiter. */
export interface RateObservation {
  readonly status: number;
  /** The `Remaining-Req` header value, if any. */
  readonly remainingReq?: string | null;
  /** For a 418: how long the block lasts. */
  readonly blockMs?: number;
}

/** Options of `RateLimiter`. */
export interface RateLimiterOptions {
  /** Per-group overrides of `DEFAULT_RATE_LIMITS`. */
  readonly limits?: Partial<Record<RateGroup, GroupLimit>>;
  /** Added to every window and pause, for send-to-count latency (default 50 ms). */
  readonly guardMs?: number;
  /** Clock, epoch ms (default `Date.now`). */
  readonly nowMs?: () => number;
  /** Waits on the same clock as `nowMs` (default a timer: real time). */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Called with each 429 or 418 answer (the bot journals them for the daily report). */
  readonly onRefused?: (group: RateGroup, status: 429 | 418) => void;
}

interface GroupState {
  /** Send times inside the current window, oldest first. */
  stamps: number[];
  pausedUntilMs: number;
  blockedUntilMs: number;
  /** FIFO queue tail. */
  tail: Promise<void>;
}

/** Token windows per group; shared by every call of one client (one IP / one pocket). */
export class RateLimiter {
  readonly #limits: Readonly<Record<RateGroup, GroupLimit>>;
  readonly #guardMs: number;
  readonly #nowMs: () => number;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly #onRefused: ((group: RateGroup, status: 429 | 418) => void) | undefined;
  readonly #groups = new Map<RateGroup, GroupState>();

  /** Creates a limiter; see `RateLimiterOptions`. */
  constructor(options: RateLimiterOptions = {}) {
    this.#limits = { ...DEFAULT_RATE_LIMITS, ...options.limits };
    for (const [group, l] of Object.entries(this.#limits)) {
      if (!(l.limit >= 1) || !(l.windowMs > 0)) {
        throw new RangeError(
          `Cannot create rate limiter: ${group} needs limit >= 1 and windowMs > 0: current value is ${
            JSON.stringify(l)
          }`,
        );
      }
    }
    this.#guardMs = options.guardMs ?? 50;
    this.#nowMs = options.nowMs ?? Date.now;
    this.#sleep = options.sleep ?? sleep;
    this.#onRefused = options.onRefused;
  }

  /** The budget in force for `group`. */
  limitOf(group: RateGroup): GroupLimit {
    return this.#limits[group];
  }

  /**
   * Waits (FIFO) until `group` may send one call, and counts it. Throws `RateLimitedError`
   * without waiting while the group is blocked by a 418.
   */
  async acquire(group: RateGroup, signal?: AbortSignal): Promise<void> {
    const st = this.#state(group);
    const previous = st.tail;
    let release = () => {};
    st.tail = new Promise<void>((resolve) => (release = resolve));
    try {
      await previous;
      const { limit, windowMs } = this.#limits[group];
      const span = windowMs + this.#guardMs;
      for (;;) {
        signal?.throwIfAborted();
        const now = this.#nowMs();
        if (now < st.blockedUntilMs) {
          throw new RateLimitedError(
            `Cannot call group ${group}: blocked by Upbit (418) for ${
              st.blockedUntilMs - now
            } ms more`,
            { retryAfterMs: st.blockedUntilMs - now, group, blocked: true },
          );
        }
        while (st.stamps.length > 0 && (st.stamps[0] ?? 0) <= now - span) st.stamps.shift();
        const windowWait = st.stamps.length < limit
          ? 0
          : (st.stamps[st.stamps.length - limit] ?? now) + span - now;
        const wait = Math.max(windowWait, st.pausedUntilMs - now);
        if (wait <= 0) {
          st.stamps.push(now);
          return;
        }
        await this.#sleep(wait, signal);
      }
    } finally {
      release();
    }
  }

  /** Feeds one answer back: `sec=0` and 429 pause the group, 418 blocks it. */
  observe(group: RateGroup, observation: RateObservation): void {
    const st = this.#state(group);
    const now = this.#nowMs();
    const nextSecond = Math.floor(now / 1000) * 1000 + 1000 + this.#guardMs;
    if (observation.status === 429 || observation.status === 418) {
      this.#onRefused?.(group, observation.status);
    }
    if (observation.status === 418) {
      st.blockedUntilMs = Math.max(st.blockedUntilMs, now + (observation.blockMs ?? 60_000));
      return;
    }
    const remaining = parseRemainingReq(observation.remainingReq);
    if (observation.status === 429 || remaining?.sec === 0) {
      st.pausedUntilMs = Math.max(st.pausedUntilMs, nextSecond);
    }
  }

  /** Until when (epoch ms) `group` is paused or blocked; 0 when it is not. */
  heldUntilMs(group: RateGroup): number {
    const st = this.#state(group);
    return Math.max(st.pausedUntilMs, st.blockedUntilMs);
  }

  #state(group: RateGroup): GroupState {
    let st = this.#groups.get(group);
    if (st === undefined) {
      st = { stamps: [], pausedUntilMs: 0, blockedUntilMs: 0, tail: Promise.resolve() };
      this.#groups.set(group, st);
    }
    return st;
  }
}

/** The group of a REST call (method + path), as Upbit counts it (API.md §3, §6). */
export function rateGroupOf(method: string, path: string): RateGroup {
  if (path.startsWith("/v1/market/")) return "market";
  if (path.startsWith("/v1/candles/")) return "candle";
  if (path.startsWith("/v1/trades/")) return "trade";
  if (path.startsWith("/v1/ticker")) return "ticker";
  if (path.startsWith("/v1/orderbook")) return "orderbook";
  const m = method.toUpperCase();
  if (m === "POST" && (path === "/v1/orders" || path === "/v1/orders/cancel_and_new")) {
    return "order";
  }
  if (m === "POST" && path === "/v1/orders/test") return "order-test";
  if (m === "DELETE" && path === "/v1/orders/open") return "order-cancel-all";
  return "default";
}

/** Sleeps `ms`, waking early (with the abort reason) when `signal` fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
