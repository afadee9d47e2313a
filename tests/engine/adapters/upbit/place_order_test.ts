import assert from "node:assert/strict";
import { parseUnits } from "../../../../engine/core/money.ts";
import { RateLimitedError } from "../../../../engine/errors.ts";
import {
  OrderOutcomeUnknownError,
  type OrderRequest,
  type PlacePath,
} from "../../../../engine/adapters/upbit/rest_client.ts";
import type { FaultSpec } from "../../../../engine/sandbox/faults.ts";
import { clientFor, recordingFetch, type SentRequest, startSandbox } from "./_sandbox.ts";

const UNLIMITED = {
  order: { limit: 100_000, windowMs: 1000 },
  default: { limit: 100_000, windowMs: 1000 },
};

function bid(identifier: string): OrderRequest {
  return {
    market: "KRW-BTC",
    side: "bid",
    ordType: "limit",
    price: parseUnits("100000000"),
    volume: parseUnits("0.0001"),
    identifier,
  };
}

const POST_ORDERS = { path: "/v1/orders", method: "POST" } as const;
const GET_ORDER = { path: "/v1/order", method: "GET" } as const;

Deno.test("placeOrder: a lost 201 is found by identifier and adopted, not resent", async () => {
  const sb = await startSandbox();
  const log: SentRequest[] = [];
  const client = clientFor(sb, { fetch: recordingFetch(log), timeoutMs: 150 });
  try {
    sb.faults.rest.arm({ kind: "accept_then_lose", mode: "reset", ...POST_ORDERS });
    const r = await client.placeOrder(bid("adopt-1"));
    assert.ok(r.ok);
    assert.equal(r.value.path, "adopted");
    assert.equal(r.value.attempts, 1);
    assert.equal(r.value.order.identifier, "adopt-1");
    assert.deepEqual(log.map((x) => `${x.method} ${x.path}`), ["POST /v1/orders", "GET /v1/order"]);
    assert.match(log[1]?.url ?? "", /identifier=adopt-1/);

    sb.faults.rest.arm({ kind: "accept_then_lose", mode: "hang", hangMs: 2000, ...POST_ORDERS });
    const hung = await client.placeOrder(bid("adopt-2"));
    assert.ok(hung.ok && hung.value.path === "adopted");
    assert.equal(sb.accounts.allOrders().length, 2);
  } finally {
    await sb.close();
  }
});

Deno.test("placeOrder: an order proven absent past the grace is resent with the same identifier", async () => {
  const sb = await startSandbox();
  const log: SentRequest[] = [];
  const client = clientFor(sb, { fetch: recordingFetch(log), visibilityGraceMs: 120 });
  try {
    sb.faults.rest.arm({ kind: "lose_response", mode: "reset", ...POST_ORDERS });
    const t0 = Date.now();
    const r = await client.placeOrder(bid("resend-1"));
    assert.ok(r.ok);
    assert.equal(r.value.path, "resent");
    assert.equal(r.value.attempts, 2);
    // At least one lookup, the last one past the grace (a loaded machine may need only one).
    assert.ok(r.value.lookups >= 1, "looked up before resending");
    assert.ok(Date.now() - t0 >= 120, "did not resend before the grace");
    const posts = log.filter((x) => x.method === "POST");
    assert.equal(posts.length, 2);
    const lastLookup = log.filter((x) => x.method === "GET").at(-1);
    assert.ok(lastLookup !== undefined && lastLookup.atMs - posts[0]!.atMs > 120);
    assert.ok(posts[1]!.atMs >= lastLookup.atMs, "resent only after the proving look-up");
    assert.equal(sb.accounts.allOrders().length, 1);
  } finally {
    await sb.close();
  }
});

Deno.test("placeOrder: 429 is retried after the pause, 418 escalates, endless unknown throws", async () => {
  const sb = await startSandbox();
  // Timeouts are not what this tests: a loaded machine must not turn an answer into one.
  const client = clientFor(sb, { maxLookups: 4, visibilityGraceMs: 50 });
  try {
    sb.faults.rest.arm({ kind: "rate_limited", ...POST_ORDERS });
    const r = await client.placeOrder(bid("rl-1"));
    assert.ok(r.ok && r.value.path === "created" && r.value.attempts === 2);

    sb.faults.rest.arm({ kind: "blocked", blockMs: 3000, ...POST_ORDERS });
    await assert.rejects(() => client.placeOrder(bid("rl-2")), (e: unknown) => {
      assert.ok(e instanceof RateLimitedError && e.blocked);
      assert.equal(e.retryAfterMs, 3000);
      return true;
    });
    // The order group stays blocked locally: no request goes out.
    await assert.rejects(() => client.placeOrder(bid("rl-3")), RateLimitedError);
    assert.equal(sb.accounts.allOrders().length, 1);

    const other = clientFor(sb, { maxLookups: 4, visibilityGraceMs: 50 });
    sb.faults.rest.arm({ kind: "lose_response", mode: "reset", ...POST_ORDERS });
    sb.faults.rest.arm({ kind: "server_error", count: Infinity, ...GET_ORDER });
    await assert.rejects(() => other.placeOrder(bid("unk-1")), (e: unknown) => {
      assert.ok(e instanceof OrderOutcomeUnknownError);
      assert.equal(e.identifier, "unk-1");
      return true;
    });
  } finally {
    await sb.close();
  }
});

Deno.test("500 placements with lost answers and timeouts make exactly 500 orders", async () => {
  const sb = await startSandbox();
  const log: SentRequest[] = [];
  const client = clientFor(sb, {
    fetch: recordingFetch(log),
    timeoutMs: 120,
    visibilityGraceMs: 250,
    lookupBackoffMs: 15,
    rateLimits: UNLIMITED,
    maxPlaceAttempts: 8,
  });
  const postFaults: FaultSpec[] = [
    { kind: "accept_then_lose", mode: "reset", count: 4 },
    { kind: "accept_then_lose", mode: "hang", hangMs: 2000, count: 4 },
    { kind: "lose_response", mode: "hang", hangMs: 2000, count: 3 },
    { kind: "lose_response", mode: "reset", count: 3 },
    { kind: "server_error", count: 2 },
    { kind: "html_error", count: 2 },
    { kind: "delay", delayMs: 400, count: 3 },
  ];
  const lookupFaults: FaultSpec[] = [
    { kind: "server_error", count: 3 },
    { kind: "lose_response", mode: "reset", count: 2 },
    { kind: "lose_response", mode: "hang", hangMs: 2000, count: 2 },
  ];
  const paths = new Map<PlacePath, number>();
  const uuidOf = new Map<string, string>();
  try {
    const batch = 50;
    for (let start = 0; start < 500; start += batch) {
      sb.faults.rest.clear();
      for (const f of postFaults) sb.faults.rest.arm({ ...f, ...POST_ORDERS });
      for (const f of lookupFaults) sb.faults.rest.arm({ ...f, ...GET_ORDER });
      const ids = Array.from({ length: batch }, (_, i) => `po-${start + i}`);
      const results = await Promise.all(ids.map((id) => client.placeOrder(bid(id))));
      results.forEach((r, i) => {
        assert.ok(r.ok, `${ids[i]}: ${Deno.inspect(r)}`);
        assert.equal(r.value.order.identifier, ids[i]);
        paths.set(r.value.path, (paths.get(r.value.path) ?? 0) + 1);
        uuidOf.set(ids[i]!, r.value.order.uuid);
      });
    }
    sb.faults.rest.clear();
    // Let late (delayed) requests land before counting.
    await new Promise((r) => setTimeout(r, 450));
    const orders = sb.accounts.allOrders().filter((o) => o.identifier?.startsWith("po-"));
    assert.equal(orders.length, 500, "none doubled, none lost");
    assert.equal(new Set(orders.map((o) => o.identifier)).size, 500);
    for (const o of orders) assert.equal(uuidOf.get(o.identifier ?? ""), o.uuid, o.identifier);
    const posts = log.filter((x) => x.method === "POST").length;
    const lookups = log.filter((x) => x.method === "GET" && x.path === "/v1/order").length;
    assert.ok(posts > 500, `some orders were resent (${posts} POSTs)`);
    assert.ok(lookups >= 200, `ambiguous outcomes were looked up (${lookups})`);
    assert.ok((paths.get("adopted") ?? 0) > 50, Deno.inspect(paths));
    assert.ok((paths.get("resent") ?? 0) > 20, Deno.inspect(paths));
    assert.ok((paths.get("created") ?? 0) > 200, Deno.inspect(paths));
  } finally {
    await sb.close();
  }
});
