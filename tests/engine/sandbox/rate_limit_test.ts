import assert from "node:assert/strict";
import { Hono } from "hono";
import { rateGroupOf, RateLimiter } from "../../../engine/sandbox/rate_limit.ts";
import { call, createHarness, KEY_A, KEY_B } from "./_harness.ts";

Deno.test("rateGroupOf() maps paths to API.md §6 groups", () => {
  assert.equal(rateGroupOf("GET", "/v1/candles/minutes/1"), "candle");
  assert.equal(rateGroupOf("GET", "/v1/trades/ticks"), "trade");
  assert.equal(rateGroupOf("GET", "/v1/ticker/all"), "ticker");
  assert.equal(rateGroupOf("GET", "/v1/orderbook/instruments"), "orderbook");
  assert.equal(rateGroupOf("GET", "/v1/market/all"), "market");
  assert.equal(rateGroupOf("POST", "/v1/orders"), "order");
  assert.equal(rateGroupOf("POST", "/v1/orders/cancel_and_new"), "order");
  assert.equal(rateGroupOf("POST", "/v1/orders/test"), "order-test");
  assert.equal(rateGroupOf("DELETE", "/v1/orders/open"), "order-cancel-all");
  assert.equal(rateGroupOf("GET", "/v1/orders/open"), "default");
  assert.equal(rateGroupOf("DELETE", "/v1/order"), "default");
});

Deno.test("quotation routes get Remaining-Req per IP, 429 past 10/s, fresh budget next second", async () => {
  const clock = { now: 5_000 };
  const limiter = new RateLimiter({ nowMs: () => clock.now, trustForwardedFor: true });
  const app = new Hono();
  app.use("*", limiter.middleware());
  app.get("/v1/candles/minutes/:unit", (c) => c.json([]));
  const get = (ip = "1.1.1.1") =>
    app.request("http://s/v1/candles/minutes/1?market=KRW-BTC", {
      headers: { "x-forwarded-for": ip },
    });
  for (let i = 1; i <= 10; i++) {
    const res = await get();
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("Remaining-Req"), `group=candles; min=600; sec=${10 - i}`);
    assert.equal(res.headers.get("limit-by-ip"), "Yes");
    await res.body?.cancel();
  }
  const over = await get();
  assert.equal(over.status, 429);
  assert.equal(over.headers.get("Remaining-Req"), "group=candles; min=600; sec=0");
  assert.equal(await over.text(), "Too many API requests.");
  const other = await get("2.2.2.2");
  assert.equal(other.status, 200);
  await other.body?.cancel();
  clock.now += 1000;
  const next = await get();
  assert.equal(next.status, 200);
  await next.body?.cancel();
});

Deno.test("an Origin header drops quotation calls to 1 per 10 s (group=origin)", async () => {
  const clock = { now: 0 };
  const limiter = new RateLimiter({ nowMs: () => clock.now, trustForwardedFor: true });
  const app = new Hono();
  app.use("*", limiter.middleware());
  app.get("/v1/ticker", (c) => c.json([]));
  const get = () => app.request("http://s/v1/ticker?markets=KRW-BTC", { headers: { origin: "x" } });
  const first = await get();
  assert.equal(first.headers.get("Remaining-Req"), "group=origin; min=6; sec=0");
  await first.body?.cancel();
  assert.equal((await get()).status, 429);
});

Deno.test("exchange calls count per pocket: the order group allows 12/s", async () => {
  const h = createHarness({ limiter: {} });
  const body = {
    market: "KRW-BTC",
    side: "bid",
    ord_type: "limit",
    price: "100000000",
    volume: "0.0001",
  };
  for (let i = 0; i < 12; i++) {
    const res = await call(h, "POST", "/v1/orders", body);
    assert.equal(res.status, 201);
    assert.equal(res.headers.get("Remaining-Req"), `group=order; min=1800; sec=${11 - i}`);
    await res.body?.cancel();
  }
  const over = await call(h, "POST", "/v1/orders", body);
  assert.equal(over.status, 429);
  await over.body?.cancel();
  assert.equal(h.exchange.allOrders().length, 12);
  // Another pocket has its own budget; the default group is separate.
  const b = await call(h, "POST", "/v1/orders", { ...body, volume: "0.0001" }, { key: KEY_B });
  assert.equal(b.status, 201);
  await b.body?.cancel();
  const read = await call(h, "GET", "/v1/accounts", [], { key: KEY_A });
  assert.equal(read.status, 200);
  assert.equal(read.headers.get("Remaining-Req"), "group=default; min=1800; sec=29");
  await read.body?.cancel();
  // Error responses carry the header too.
  const unauth = await call(h, "GET", "/v1/accounts", [], { token: null });
  assert.equal(unauth.status, 401);
  assert.match(unauth.headers.get("Remaining-Req") ?? "", /^group=default; min=1800; sec=\d+$/);
  await unauth.body?.cancel();
  h.close();
});

Deno.test("batch cancel is 1 call per 2 s", async () => {
  const h = createHarness({ limiter: {} });
  const first = await call(h, "DELETE", "/v1/orders/open");
  assert.equal(first.status, 200);
  assert.equal(first.headers.get("Remaining-Req"), "group=order-cancel-all; min=1800; sec=0");
  await first.body?.cancel();
  h.clock.now += 1000;
  const again = await call(h, "DELETE", "/v1/orders/open");
  assert.equal(again.status, 429);
  await again.body?.cancel();
  h.clock.now += 1000;
  const later = await call(h, "DELETE", "/v1/orders/open");
  assert.equal(later.status, 200);
  await later.body?.cancel();
  h.close();
});

Deno.test("continued calls after 429s get 418 with the block time; blocks double", async () => {
  const clock = { now: 0 };
  const limiter = new RateLimiter({
    nowMs: () => clock.now,
    trustForwardedFor: true,
    strikesToBlock: 3,
    blockMs: 4000,
  });
  const app = new Hono();
  app.use("*", limiter.middleware());
  app.get("/v1/market/all", (c) => c.json([]));
  const get = () => app.request("http://s/v1/market/all");
  const statuses: number[] = [];
  for (let i = 0; i < 14; i++) {
    const res = await get();
    statuses.push(res.status);
    if (res.status === 418) assert.match(await res.text(), /blocked for 4 seconds/);
    else await res.body?.cancel();
  }
  assert.deepEqual(statuses, [...Array(10).fill(200), 429, 429, 418, 418]);
  clock.now += 3999;
  assert.equal((await get()).status, 418);
  clock.now += 1;
  const back = await get();
  assert.equal(back.status, 200);
  await back.body?.cancel();
  for (let i = 0; i < 12; i++) await (await get()).body?.cancel();
  const second = await get();
  assert.equal(second.status, 418);
  assert.match(await second.text(), /blocked for 8 seconds/);
});

Deno.test("forged tokens naming a victim's key count against the caller's IP, not the pocket", async () => {
  const h = createHarness({ limiter: { nowMs: () => 0, strikesToBlock: 2 } });
  const forged = { ...KEY_A, secretKey: "not-the-secret" };
  const statuses: number[] = [];
  for (let i = 0; i < 40; i++) {
    const res = await call(h, "GET", "/v1/accounts", [], { key: forged });
    statuses.push(res.status);
    await res.body?.cancel();
  }
  assert.ok(statuses.includes(418), "the forger is blocked");
  assert.ok(!statuses.includes(200));
  const victim = await call(h, "GET", "/v1/accounts", [], { key: KEY_A });
  assert.equal(victim.status, 200, "the victim's pocket was never charged");
  assert.match(victim.headers.get("Remaining-Req")!, /sec=29$/);
  await victim.body?.cancel();
  h.close();
});

Deno.test("50,000 forged X-Forwarded-For values: one caller, and the buckets stay bounded", async () => {
  const limiter = new RateLimiter({ nowMs: () => 0, maxBuckets: 100 });
  const app = new Hono();
  app.use("*", limiter.middleware());
  app.get("/v1/ticker", (c) => c.json([]));
  let passed = 0;
  for (let i = 0; i < 50_000; i++) {
    const res = await app.request("http://s/v1/ticker", {
      headers: { "x-forwarded-for": `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}` },
    });
    if (res.status === 200) passed++;
    await res.body?.cancel();
  }
  assert.equal(passed, 10, "the header is not trusted: one IP, 10 calls per second");
  assert.equal(limiter.bucketCount(), 1);
  const trusting = new RateLimiter({ nowMs: () => 0, maxBuckets: 100, trustForwardedFor: true });
  const app2 = new Hono();
  app2.use("*", trusting.middleware());
  app2.get("/v1/ticker", (c) => c.json([]));
  for (let i = 0; i < 1000; i++) {
    const res = await app2.request("http://s/v1/ticker", {
      headers: { "x-forwarded-for": `1.1.1.1, 10.0.${i >> 8}.${i & 255}` },
    });
    assert.equal(res.status, 200, "behind a trusted proxy, the last entry is the caller");
    await res.body?.cancel();
  }
  assert.equal(trusting.bucketCount(), 100, "least recently used buckets are dropped");
});
