/**
 * The console notifier's correlation id: the lines of a signal's decision, its order's placement,
 * rejection and fills carry the same `intent` (`market:side:signal`) the order trace uses.
 */

import assert from "node:assert/strict";
import { ConsoleNotifier, correlationOf } from "../../../engine/adapters/console_notifier.ts";
import { createLogger } from "../../../engine/log.ts";
import { intentId } from "../../../engine/order_manager.ts";

const AT_MS = Date.UTC(2025, 0, 2, 3);

Deno.test("correlationOf() names the intent of a decision, a placement, a rejection and a fill", () => {
  const buy = intentId("KRW-BTC", "bid", "bb@1");
  const sell = intentId("KRW-BTC", "ask", "bb@2");
  const signal = { atMs: AT_MS, market: "KRW-BTC", reason: "r" } as const;
  assert.equal(
    correlationOf({ ...signal, type: "SignalRaised", signalId: "bb@1", action: "buy" }),
    buy,
  );
  assert.equal(
    correlationOf({ ...signal, type: "SignalFailed", signalId: "bb@2", action: "sell" }),
    sell,
  );
  assert.equal(
    correlationOf({
      type: "OrderRejected",
      atMs: AT_MS,
      intentId: sell,
      market: "KRW-BTC",
      identifier: "ut1",
      name: "insufficient_funds_ask",
      message: "m",
    }),
    sell,
  );
  const fill = {
    type: "OrderFilled",
    atMs: AT_MS,
    market: "KRW-BTC",
    side: "bid",
    orderUuid: "o",
    tradeUuid: "t",
    price: "1",
    volume: "1",
    funds: "1",
    fee: "0",
  } as const;
  assert.equal(correlationOf({ ...fill, intentId: buy }), buy);
  assert.equal(correlationOf(fill), undefined, "a fill of no known intent (an external order)");
  const stop = intentId("KRW-BTC", "ask", "stop_loss@5");
  const risk = { type: "RiskTriggered", atMs: AT_MS, market: "KRW-BTC", price: "1" } as const;
  assert.equal(correlationOf({ ...risk, rule: "stop_loss", intentId: stop }), stop);
  assert.equal(correlationOf({ ...risk, rule: "daily_loss_limit" }), undefined);
  assert.equal(
    correlationOf({ type: "ErrorRaised", atMs: AT_MS, code: "c", message: "m" }),
    undefined,
  );
});

Deno.test("ConsoleNotifier writes the intent on the event's JSON line", () => {
  const lines: string[] = [];
  const notifier = new ConsoleNotifier(
    createLogger({ format: "json", write: (l) => lines.push(l), nowMs: () => AT_MS }),
  );
  notifier.notify({
    type: "SignalRaised",
    atMs: AT_MS,
    market: "KRW-ETH",
    signalId: "rsi@9",
    action: "sell",
    reason: "overbought",
  });
  notifier.notify({ type: "ErrorRaised", atMs: AT_MS, code: "c", message: "m" });
  const [signal, error] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(signal!.intent, "KRW-ETH:ask:rsi@9");
  assert.equal(signal!.event, "SignalRaised");
  assert.ok(!("intent" in error!));
});
