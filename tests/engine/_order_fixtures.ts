/**
 * Shared fixtures of the order-layer tests: a manual clock whose `sleep` moves time, a notifier
 * that records, a fixed order book, a new intent, and an `Exchange` wrapper that injects faults (lost answers
 * after acceptance, failures before it, 5xx, lookups that fail or lag behind creation).
 */

import { parseUnits, type Units } from "../../engine/core/money.ts";
import type { Result } from "../../engine/core/result.ts";
import { TemporaryError } from "../../engine/errors.ts";
import type {
  Clock,
  EngineEvent,
  Exchange,
  ExchangeOrder,
  Intent,
  Notifier,
  OrderRef,
  OrderRejection,
  OrderRequest,
} from "../../engine/ports.ts";
import type { BookSnapshot } from "../../engine/sandbox/feed.ts";
import type { OrderManagerConfig } from "../../engine/order_manager.ts";
import { DEFAULT_ORDER_MANAGER_CONFIG } from "../../engine/order_manager.ts";

/** 2026-11-24 01:00 UTC. */
export const T0_MS = Date.UTC(2026, 10, 24, 1);

/** A clock that only moves when slept on (or by hand). */
export class ManualClock implements Clock {
  now: number;
  constructor(now = T0_MS) {
    this.now = now;
  }
  nowMs(): number {
    return this.now;
  }
  sleep(ms: number): Promise<void> {
    this.now += ms;
    return Promise.resolve();
  }
}

/** Records every notification. */
export class RecordingNotifier implements Notifier {
  readonly events: EngineEvent[] = [];
  notify(event: EngineEvent): void {
    this.events.push(event);
  }
}

/** `"150000000"` → Units. */
export function u(text: string): Units {
  return parseUnits(text);
}

/** A new (never sent) 10,000 KRW market bid on KRW-BTC at `T0_MS`, with `overrides`. */
export function newIntent(overrides: Partial<Intent> = {}): Intent {
  return {
    id: "KRW-BTC:bid:s1",
    market: "KRW-BTC",
    side: "bid",
    ordType: "price",
    price: u("10000"),
    volume: undefined,
    signalId: "s1",
    attempt: 0,
    identifier: "utaaaa",
    state: "NEW",
    sends: 0,
    lastSentAtMs: undefined,
    duplicateSeen: false,
    uuid: undefined,
    error: undefined,
    filledVolume: 0n,
    filledFunds: 0n,
    createdAtMs: T0_MS,
    updatedAtMs: T0_MS,
    ...overrides,
  };
}

/** A book with levels `[price, size]` as decimal strings. */
export function book(
  market: string,
  asks: ReadonlyArray<readonly [string, string]>,
  bids: ReadonlyArray<readonly [string, string]>,
): BookSnapshot {
  const level = ([p, s]: readonly [string, string]) => ({ price: u(p), size: u(s) });
  return { market, tsMs: T0_MS, asks: asks.map(level), bids: bids.map(level) };
}

/** A deep BTC book around 150,000,000 KRW. */
export const BTC_BOOK: BookSnapshot = book(
  "KRW-BTC",
  [["150001000", "0.002"], ["150002000", "0.05"], ["150010000", "5"]],
  [["150000000", "0.01"], ["149999000", "0.05"], ["149990000", "5"]],
);

/** Test tuning: short grace, the default shape otherwise. */
export function testConfig(overrides: Partial<OrderManagerConfig> = {}): OrderManagerConfig {
  return {
    ...DEFAULT_ORDER_MANAGER_CONFIG,
    botId: "test-bot",
    visibilityGraceMs: 2_000,
    fillTimeoutMs: 5_000,
    pollMs: 500,
    cancelWaitMs: 5_000,
    ...overrides,
  };
}

/** One fault of `FaultyExchange`. */
export type Fault =
  | "ok"
  /** The call fails before the exchange sees it (timeout / reset / 5xx). */
  | "fail_before"
  /** The exchange carries the call out, then the answer is lost. */
  | "accept_then_lose";

/**
 * Wraps an exchange with scripted faults per call kind, and hides new orders from lookups by
 * identifier for `lagMs` (Upbit's visibility lag). Counts the POSTs that reached the exchange.
 */
export class FaultyExchange implements Exchange {
  readonly #inner: Exchange;
  readonly #clock: Clock;
  readonly #next: () => Fault;
  readonly #lagMs: number;
  readonly #createdAt = new Map<string, number>();
  /** POSTs that reached the inner exchange, by identifier. */
  readonly posts = new Map<string, number>();

  constructor(
    inner: Exchange,
    options: { clock: Clock; next: () => Fault; lagMs?: number },
  ) {
    this.#inner = inner;
    this.#clock = options.clock;
    this.#next = options.next;
    this.#lagMs = options.lagMs ?? 0;
  }

  async placeOrder(request: OrderRequest): Promise<Result<ExchangeOrder, OrderRejection>> {
    const fault = this.#next();
    if (fault === "fail_before") throw new TemporaryError("injected", { reason: "timeout" });
    this.posts.set(request.identifier, (this.posts.get(request.identifier) ?? 0) + 1);
    const res = await this.#inner.placeOrder(request);
    if (res.ok && !this.#createdAt.has(request.identifier)) {
      this.#createdAt.set(request.identifier, this.#clock.nowMs());
    }
    if (fault === "accept_then_lose") {
      throw new TemporaryError("injected: answer lost", { reason: "network" });
    }
    return res;
  }

  async getOrder(ref: OrderRef): Promise<ExchangeOrder | undefined> {
    const fault = this.#next();
    if (fault !== "ok") throw new TemporaryError("injected", { reason: "server_error" });
    if ("identifier" in ref) {
      const at = this.#createdAt.get(ref.identifier);
      if (at !== undefined && this.#clock.nowMs() - at < this.#lagMs) return undefined;
    }
    return await this.#inner.getOrder(ref);
  }

  async cancelOrder(ref: OrderRef): Promise<Result<ExchangeOrder, OrderRejection>> {
    const fault = this.#next();
    if (fault === "fail_before") throw new TemporaryError("injected", { reason: "timeout" });
    const res = await this.#inner.cancelOrder(ref);
    if (fault === "accept_then_lose") throw new TemporaryError("injected", { reason: "network" });
    return res;
  }

  openOrders(market?: string): Promise<readonly ExchangeOrder[]> {
    return this.#inner.openOrders(market);
  }
}
