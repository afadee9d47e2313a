/**
 * A stop loss must not wait for a restart when an earlier order still holds the market: the
 * trader resolves the blocking order (here a sale whose answer was lost while lookups failed)
 * and then protects what is left.
 */

import assert from "node:assert/strict";
import type { MarketEvent } from "../../engine/ports.ts";
import { runTrader } from "../../engine/trader.ts";
import { type Fault, FaultyExchange } from "./_order_fixtures.ts";
import { candle, minute, scripted, traderConfig, world, worldDeps } from "./_trader_fixtures.ts";

Deno.test("runTrader() resolves an order left UNKNOWN instead of letting it block the stop loss", async () => {
  const w = await world();
  // Faults by phase: the signal sale is accepted but its answer is lost, and every lookup
  // fails until the outage ends.
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
    strategy: scripted({ [minute(0)]: "buy", [minute(1)]: "sell" }),
    orders: { maxLookups: 3, backoffMs: [100], visibilityGraceMs: 60_000 },
  });
  const steps: Array<() => MarketEvent> = [
    () => price(minute(0) + 30_000, 100_000_000),
    () => bar(minute(1) + 500, 0, 100_000_000), // buy fills
    () => {
      losePost = true;
      phase = "outage";
      return bar(minute(2) + 500, 1, 100_000_000); // the signal sale: answer lost, lookups fail
    },
    () => {
      phase = "healthy";
      return price(minute(2) + 40_000, 94_000_000); // below the stop: must not be blocked
    },
    () => price(minute(2) + 50_000, 93_000_000),
  ];
  function price(atMs: number, px: number): MarketEvent {
    w.clock.set(atMs);
    w.px.value = px;
    return { kind: "price", market: config.market, price: px, atMs, source: "trade" };
  }
  function bar(atMs: number, n: number, px: number): MarketEvent {
    w.clock.set(atMs);
    w.px.value = px;
    return { kind: "candle", market: config.market, candle: candle(n, px) };
  }
  async function* feed(): AsyncGenerator<MarketEvent> {
    for (const step of steps) yield step();
  }
  // The order manager backs off on the injected clock: keep it moving while the loop waits.
  const ticker = setInterval(() => w.clock.set(w.clock.now + 200), 1);
  const deps = worldDeps(w, feed(), { exchange });
  try {
    await runTrader(deps, config, new AbortController().signal);
  } finally {
    clearInterval(ticker);
  }
  // Exactly one sale reached the exchange (the lost one), adopted by its identifier.
  assert.equal(exchange.posts.size, 2, "one buy and one sell were posted");
  assert.ok([...exchange.posts.values()].every((n) => n === 1), "no order was posted twice");
  const fills = await w.store.listFills();
  assert.deepEqual(fills.map((f) => f.side).sort(), ["ask", "bid"]);
  const ledger = await w.store.getLedger(config.market);
  assert.equal(ledger?.qty, 0n, "the position is closed");
  w.kv.close();
});
