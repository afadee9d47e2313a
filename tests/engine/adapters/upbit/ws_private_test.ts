/**
 * The private stream against the real sandbox: the JWT travels in the upgrade's `Authorization`
 * header, `myOrder`/`myAsset` events arrive with exact decimal amounts, a dropped link comes back
 * and runs `onPrivateReconnect`, and a bad token is reported as Upbit's `INVALID_AUTH`.
 */

import assert from "node:assert/strict";
import { signUpbitJwt } from "../../../../engine/adapters/upbit/auth.ts";
import {
  createPrivateStream,
  privateRequest,
} from "../../../../engine/adapters/upbit/ws_private.ts";
import { createSandbox, DEMO_ACCESS_KEY, DEMO_SECRET_KEY } from "../../../../engine/sandbox/mod.ts";
import { collect, ONE_MINUTE_FILE } from "./ws_harness_test.ts";

const FAST = {
  pingIntervalMs: 100,
  stallTimeoutMs: 300,
  backoff: { baseMs: 20, maxMs: 200, resetAfterMs: 100 },
};

Deno.test({
  name: "private stream: JWT upgrade, exact myOrder/myAsset, reconnect runs onPrivateReconnect",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const sb = await createSandbox({
      port: 0,
      manualClock: true,
      dataFiles: [ONE_MINUTE_FILE],
      startAt: "2022-06-01T00:00:00Z",
      balances: { KRW: "1000000" },
    });
    const hookCalls: number[] = [];
    const stream = createPrivateStream({
      url: `${sb.wsUrl}/private`,
      authHeader: async () =>
        `Bearer ${await signUpbitJwt({ accessKey: DEMO_ACCESS_KEY, secretKey: DEMO_SECRET_KEY })}`,
      onPrivateReconnect: ({ reconnects }) => {
        hookCalls.push(reconnects);
      },
      ...FAST,
    });
    const events = collect(stream.events());
    try {
      await events.waitFor((e) => e.kind === "connected");
      await new Promise((r) => setTimeout(r, 50));
      const placed = sb.accounts.placeOrder("default", {
        market: "KRW-BTC",
        side: "bid",
        ord_type: "price",
        price: "10000",
        identifier: "ws-test-1",
      });
      assert.ok(placed.ok);
      const fill = await events.waitFor((e) => e.kind === "myOrder" && e.order.state === "trade");
      assert.ok(fill.kind === "myOrder");
      assert.equal(fill.order.identifier, "ws-test-1");
      // Amounts are the exact decimals of the wire text, not floats.
      assert.equal(fill.order.executed_funds, "9999.76428");
      assert.equal(fill.order.paid_fee, "4.99988214");
      assert.equal(fill.order.volume, "0.00025047");
      const asset = await events.waitFor((e) =>
        e.kind === "myAsset" && e.asset.assets.some((a) => a.currency === "BTC")
      );
      assert.ok(asset.kind === "myAsset");
      assert.deepEqual(asset.asset.assets, [
        { currency: "KRW", balance: "989995.23583786", locked: "0" },
        { currency: "BTC", balance: "0.00025047", locked: "0" },
      ]);

      assert.deepEqual(hookCalls, []);
      sb.faults.ws.dropAll("abrupt");
      await events.waitFor((e) => e.kind === "connected" && e.reconnect);
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(hookCalls, [1]);
      sb.accounts.placeOrder("default", {
        market: "KRW-BTC",
        side: "bid",
        ord_type: "price",
        price: "10000",
        identifier: "ws-test-2",
      });
      await events.waitFor((e) => e.kind === "myOrder" && e.order.identifier === "ws-test-2");
      assert.equal(stream.status().malformed, 0);
      assert.equal(stream.status().reconnects, 1);
    } finally {
      await stream.close();
      await events.done;
      await sb.close();
    }
  },
});

Deno.test({
  name: "private stream: a bad token is Upbit's INVALID_AUTH, counted, and retried with backoff",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const sb = await createSandbox({
      port: 0,
      manualClock: true,
      dataFiles: [ONE_MINUTE_FILE],
      startAt: "2022-06-01T00:00:00Z",
    });
    const warnings: string[] = [];
    const stream = createPrivateStream({
      url: `${sb.wsUrl}/private`,
      authHeader: async () =>
        `Bearer ${await signUpbitJwt({ accessKey: DEMO_ACCESS_KEY, secretKey: "wrong" })}`,
      logger: { warn: (m) => warnings.push(m) },
      ...FAST,
    });
    const events = collect(stream.events());
    try {
      await events.waitFor((e) => e.kind === "reconnecting" && e.plan.attempt >= 2);
      const s = stream.status();
      assert.ok(s.upbitErrors >= 2);
      assert.equal(s.lastError, "INVALID_AUTH");
      assert.equal(warnings.filter((w) => w.includes("INVALID_AUTH")).length, 1);
    } finally {
      await stream.close();
      await events.done;
      await sb.close();
    }
  },
});

Deno.test("privateRequest() sends myOrder (optional codes) and myAsset without codes", () => {
  assert.deepEqual(JSON.parse(privateRequest("t")), [
    { ticket: "t" },
    { type: "myOrder" },
    { type: "myAsset" },
    { format: "DEFAULT" },
  ]);
  assert.deepEqual(JSON.parse(privateRequest("t", ["KRW-BTC"]))[1], {
    type: "myOrder",
    codes: ["KRW-BTC"],
  });
});
