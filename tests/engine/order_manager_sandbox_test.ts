/**
 * The order manager against the real sandbox over HTTP (`HttpExchange` over `UpbitRestClient`),
 * with the sandbox's REST faults on `POST /v1/orders`: every intent ends with at most one order,
 * the ledger equals the fills, and the balances equal the sandbox's.
 */

import assert from "node:assert/strict";
import { HttpExchange } from "../../engine/adapters/http_exchange.ts";
import { KvStore } from "../../engine/adapters/kv_store.ts";
import type { FaultKind } from "../../engine/sandbox/faults.ts";
import { orderIdentifier, reconcile, submitOrder } from "../../engine/order_manager.ts";
import type { Units } from "../../engine/core/money.ts";
import { clientFor, startSandbox } from "./adapters/upbit/_sandbox.ts";
import { ManualClock, RecordingNotifier, testConfig, u } from "./_order_fixtures.ts";

const FAULTS: readonly FaultKind[] = ["accept_then_lose", "lose_response", "server_error"];

Deno.test("order manager over HTTP survives lost answers and 5xx on POST /v1/orders", async () => {
  const sb = await startSandbox({ balances: { KRW: "10000000" } });
  const kv = await Deno.openKv(":memory:");
  try {
    const client = clientFor(sb, { timeoutMs: 500, maxReadRetries: 0 });
    const exchange = new HttpExchange(client);
    const store = new KvStore(kv);
    const clock = new ManualClock(sb.replay.nowMs());
    const deps = { exchange, store, clock, notifier: new RecordingNotifier() };
    const config = testConfig({ visibilityGraceMs: 1_000 });
    await store.openLedger("KRW-BTC", u("10000000"));
    assert.equal((await reconcile(deps, config, { account: exchange })).seeded, true);
    let s = 0;
    for (const kind of FAULTS) {
      for (const count of [1, 2]) {
        sb.faults.rest.arm({ kind, path: "/v1/orders", method: "POST", count, mode: "reset" });
        const res = await submitOrder(deps, config, {
          kind: "market_buy",
          market: "KRW-BTC",
          signalId: `sig-${s++}`,
          amountKrw: u("20000"),
        });
        assert.ok(res.ok, JSON.stringify(!res.ok && res.error));
        assert.equal(res.value.intent.state, "FILLED", `${kind}×${count}`);
        sb.faults.rest.clear();
      }
    }
    // Exactly one sandbox order per intent.
    const intents = await store.listIntents(["FILLED", "CANCELLED", "REJECTED", "UNKNOWN"]);
    assert.equal(intents.length, s);
    const identifiers = new Set<string>();
    for (const i of intents) {
      identifiers.add(
        await orderIdentifier({
          botId: config.botId,
          market: i.market,
          side: i.side,
          signalId: i.signalId,
          attempt: 0,
        }),
      );
    }
    const orders = sb.accounts.allOrders();
    assert.equal(orders.length, s);
    assert.ok(orders.every((o) => o.identifier !== undefined && identifiers.has(o.identifier)));
    // Ledger = fills = sandbox.
    const fills = await store.listFills();
    assert.equal(
      (await store.getLedger("KRW-BTC"))?.qty,
      fills.reduce((sum, f) => sum + f.volume, 0n),
    );
    const report = await reconcile(deps, config, { account: exchange });
    assert.deepEqual(report.mismatches, []);
    const totals = new Map<string, Units>();
    for (const b of await exchange.balances()) totals.set(b.currency, b.balance + b.locked);
    assert.equal((await store.getBalances()).get("KRW"), totals.get("KRW"));
  } finally {
    kv.close();
    await sb.close();
  }
});
