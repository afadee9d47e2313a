/**
 * The reconciliation repeated while the trader runs (reliability.md §1.6 step 8): it resolves an
 * order that an outage left unresolved without waiting for a price update or a restart, catches
 * balances changed outside the bot within one period, and never meets an order in progress.
 */

import assert from "node:assert/strict";
import type {
  Account,
  Balance,
  Exchange,
  ExchangeOrder,
  MarketEvent,
  OrderRef,
  OrderRejection,
  OrderRequest,
} from "../../engine/ports.ts";
import type { Result } from "../../engine/core/result.ts";
import { runTrader, type TraderConfig, type TraderDeps } from "../../engine/trader.ts";
import { type Fault, FaultyExchange } from "./_order_fixtures.ts";
import { candle, minute, scripted, traderConfig, type World, world } from "./_trader_fixtures.ts";

const PX = 100_000_000;

function priceAt(w: World, config: TraderConfig, atMs: number, px: number): MarketEvent {
  w.clock.set(atMs);
  w.px.value = px;
  return { kind: "price", market: config.market, price: px, atMs, source: "trade" };
}

function barAt(w: World, config: TraderConfig, atMs: number, n: number, px: number): MarketEvent {
  w.clock.set(atMs);
  w.px.value = px;
  return { kind: "candle", market: config.market, candle: candle(n, px) };
}

/** Waits (in real time) until `done` holds or `timeoutMs` passes; says which. */
async function until(done: () => Promise<boolean>, timeoutMs = 3_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await done()) return true;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return false;
}

function depsOf(
  w: World,
  feed: AsyncIterable<MarketEvent>,
  exchange: Exchange = w.exchange,
  account: Account = w.exchange,
): TraderDeps {
  return {
    clock: w.clock,
    exchange,
    account,
    store: w.store,
    notifier: w.notifier,
    market: feed,
    history: () => Promise.resolve([]),
  };
}

Deno.test("runTrader() resolves a buy left UNKNOWN by an outage on its own, with exit levels", async () => {
  const w = await world();
  let phase: "healthy" | "outage" = "healthy";
  let losePost = false;
  const exchange = new FaultyExchange(w.exchange, {
    clock: w.clock,
    next(): Fault {
      if (losePost) {
        losePost = false;
        return "accept_then_lose";
      }
      return phase === "outage" ? "fail_before" : "ok";
    },
  });
  const config = traderConfig({
    strategy: scripted({ [minute(0)]: "buy" }),
    orders: { maxLookups: 3, backoffMs: [100], visibilityGraceMs: 10_000 },
    reconcileEveryMs: 60_000,
  });
  let resolved = false;
  async function* feed(): AsyncGenerator<MarketEvent> {
    yield priceAt(w, config, minute(0) + 30_000, PX);
    losePost = true;
    phase = "outage";
    // The buy is accepted but its answer is lost, and every lookup fails: it stays UNKNOWN.
    yield barAt(w, config, minute(1) + 500, 0, PX);
    const intent = (await w.store.listIntents(["UNKNOWN"]))[0];
    assert.ok(intent !== undefined, "the outage left the buy UNKNOWN");
    assert.equal((await w.store.getLedger(config.market))?.qty, 0n);
    phase = "healthy";
    // No more market events: only the periodic pass can settle the buy.
    resolved = await until(async () =>
      (await w.store.getTraderState(config.botId))?.levels !== null &&
      (await w.store.getIntent({ id: intent.id }))?.state === "FILLED"
    );
  }
  // The order manager backs off on the injected clock: keep it moving while the loop waits.
  const ticker = setInterval(() => w.clock.set(w.clock.now + 200), 1);
  try {
    await runTrader(depsOf(w, feed(), exchange), config, new AbortController().signal);
  } finally {
    clearInterval(ticker);
  }
  assert.ok(resolved, "the periodic pass resolved the buy");
  assert.equal(exchange.posts.size, 1, "one buy was posted");
  assert.ok([...exchange.posts.values()].every((n) => n === 1), "and never twice");
  const ledger = await w.store.getLedger(config.market);
  assert.ok(ledger !== undefined && ledger.qty > 0n, "the position exists");
  const levels = (await w.store.getTraderState(config.botId))?.levels;
  assert.ok(levels != null && levels.stop > 0n && levels.stop < ledger.avgPrice, "with a stop");
  assert.equal((await w.store.getControl()).safeMode, false, "the balances agree");
  const fills = await w.store.listFills();
  assert.deepEqual(fills.map((f) => f.side), ["bid"]);
  w.kv.close();
});

Deno.test("runTrader() enters safe mode within one period when coins are sold outside the bot", async () => {
  const w = await world();
  const config = traderConfig({
    strategy: scripted({ [minute(0)]: "buy" }),
    reconcileEveryMs: 60_000,
  });
  let soldAtMs = 0;
  let safe = false;
  async function* feed(): AsyncGenerator<MarketEvent> {
    yield priceAt(w, config, minute(0) + 30_000, PX);
    yield barAt(w, config, minute(1) + 500, 0, PX); // the buy fills
    const held = (await w.store.getLedger(config.market))?.qty ?? 0n;
    assert.ok(held > 0n);
    // Someone sells half of the coins on the exchange, outside the bot.
    w.clock.set(minute(1) + 1_000);
    soldAtMs = w.clock.nowMs();
    const sold = await w.exchange.placeOrder({
      market: config.market,
      side: "ask",
      ordType: "market",
      volume: held / 2n,
      identifier: "by-hand-1",
    });
    assert.ok(sold.ok);
    assert.equal((await w.store.getControl()).safeMode, false);
    // One period later, with no market event in between.
    w.clock.set(soldAtMs + 60_000);
    safe = await until(async () => (await w.store.getControl()).safeMode);
  }
  await runTrader(depsOf(w, feed()), config, new AbortController().signal);
  assert.ok(safe, "the trader is in safe mode");
  const failed = w.notifier.events.filter((e) => e.type === "ReconciliationFailed");
  assert.equal(failed.length, 1);
  const event = failed[0]!;
  assert.ok(event.type === "ReconciliationFailed");
  assert.ok(event.atMs - soldAtMs <= 60_000, "within one period");
  assert.deepEqual(event.mismatches.map((m) => m.currency), ["BTC", "KRW"]);
  assert.match((await w.store.getControl()).reason, /balances differ: BTC/);
  w.kv.close();
});

/** An exchange and account whose calls take real time, counting calls that overlap. */
class OverlapCounter implements Exchange, Account {
  readonly #inner: Exchange & Account;
  #inFlight = 0;
  overlaps = 0;
  passes = 0;
  constructor(inner: Exchange & Account) {
    this.#inner = inner;
  }
  async #call<T>(run: () => Promise<T>): Promise<T> {
    if (++this.#inFlight > 1) this.overlaps++;
    try {
      await new Promise((resolve) => setTimeout(resolve, 3));
      return await run();
    } finally {
      this.#inFlight--;
    }
  }
  placeOrder(request: OrderRequest): Promise<Result<ExchangeOrder, OrderRejection>> {
    return this.#call(() => this.#inner.placeOrder(request));
  }
  getOrder(ref: OrderRef): Promise<ExchangeOrder | undefined> {
    return this.#call(() => this.#inner.getOrder(ref));
  }
  cancelOrder(ref: OrderRef): Promise<Result<ExchangeOrder, OrderRejection>> {
    return this.#call(() => this.#inner.cancelOrder(ref));
  }
  openOrders(market?: string): Promise<readonly ExchangeOrder[]> {
    this.passes++;
    return this.#call(() => this.#inner.openOrders(market));
  }
  balances(): Promise<readonly Balance[]> {
    return this.#call(() => this.#inner.balances());
  }
}

Deno.test("runTrader() never runs a reconciliation pass during an order", async () => {
  const w = await world();
  const counter = new OverlapCounter(w.exchange);
  // Lookups hide new orders for a while, so each order spends clock time in the order manager.
  const lagged = new FaultyExchange(counter, { clock: w.clock, next: () => "ok", lagMs: 300 });
  let losePost = false;
  const exchange = new FaultyExchange(lagged, {
    clock: w.clock,
    next(): Fault {
      if (!losePost) return "ok";
      losePost = false;
      return "accept_then_lose";
    },
  });
  const actions: Record<number, "buy" | "sell"> = {};
  for (let n = 0; n < 8; n++) actions[minute(n)] = n % 2 === 0 ? "buy" : "sell";
  const config = traderConfig({
    strategy: scripted(actions),
    staleAfterMs: 3_600_000,
    orders: { backoffMs: [100], visibilityGraceMs: 200 },
    // Far more often than the orders: a pass is due during each of them.
    reconcileEveryMs: 150,
  });
  async function* feed(): AsyncGenerator<MarketEvent> {
    yield priceAt(w, config, minute(0) + 30_000, PX);
    for (let n = 0; n < 8; n++) {
      // Every order's answer is lost: it is resolved by lookups while passes fall due.
      losePost = true;
      yield barAt(w, config, Math.max(w.clock.now, minute(n + 1) + 500), n, PX);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
  const ticker = setInterval(() => w.clock.set(w.clock.now + 50), 1);
  try {
    await runTrader(depsOf(w, feed(), exchange, counter), config, new AbortController().signal);
  } finally {
    clearInterval(ticker);
  }
  const fills = await w.store.listFills();
  assert.equal(fills.length, 8, "every order filled");
  assert.ok(counter.passes >= 8, `passes ran (${counter.passes})`);
  assert.equal(counter.overlaps, 0, "no exchange call overlapped another");
  assert.equal((await w.store.getControl()).safeMode, false);
  w.kv.close();
});
