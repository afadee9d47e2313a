import assert from "node:assert/strict";
import { parseUnits } from "../../../../engine/core/money.ts";
import { RateLimitedError } from "../../../../engine/errors.ts";
import {
  parseRemainingReq,
  type RateGroup,
  rateGroupOf,
  RateLimiter,
  UPBIT_RATE_LIMITS,
} from "../../../../engine/adapters/upbit/rate_limiter.ts";
import { clientFor, recordingFetch, type SentRequest, startSandbox } from "./_sandbox.ts";

/** The most sends of one group inside any `windowMs` (sliding). */
function maxInWindow(times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let lo = 0;
  for (let hi = 0; hi < sorted.length; hi++) {
    while (sorted[hi]! - sorted[lo]! >= windowMs) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}

Deno.test("parseRemainingReq reads Upbit's header loosely", () => {
  assert.deepEqual(parseRemainingReq("group=default; min=1800; sec=29"), {
    group: "default",
    sec: 29,
  });
  assert.deepEqual(parseRemainingReq("sec=0;group=candles"), { group: "candles", sec: 0 });
  assert.deepEqual(parseRemainingReq("group=origin; min=6; sec=0"), { group: "origin", sec: 0 });
  assert.equal(parseRemainingReq("group=default; min=1800"), undefined);
  assert.equal(parseRemainingReq("sec=abc"), undefined);
  assert.equal(parseRemainingReq(null), undefined);
});

Deno.test("rateGroupOf maps every endpoint to Upbit's group", () => {
  const cases: Array<[string, string, RateGroup]> = [
    ["GET", "/v1/market/all", "market"],
    ["GET", "/v1/candles/minutes/1", "candle"],
    ["GET", "/v1/trades/ticks", "trade"],
    ["GET", "/v1/ticker/all", "ticker"],
    ["GET", "/v1/orderbook/instruments", "orderbook"],
    ["GET", "/v1/accounts", "default"],
    ["DELETE", "/v1/order", "default"],
    ["POST", "/v1/orders", "order"],
    ["POST", "/v1/orders/cancel_and_new", "order"],
    ["POST", "/v1/orders/test", "order-test"],
    ["DELETE", "/v1/orders/open", "order-cancel-all"],
    ["GET", "/v1/orders/open", "default"],
  ];
  for (const [m, p, g] of cases) assert.equal(rateGroupOf(m, p), g, `${m} ${p}`);
});

Deno.test("RateLimiter never lets more than `limit` through in any window", async () => {
  // The limiter's own reading of the clock at each admission: when a caller's callback runs is
  // up to the event loop (a GC pause can bunch callbacks), when the limiter admits is not.
  let lastReading = 0;
  const limiter = new RateLimiter({
    limits: { ticker: { limit: 3, windowMs: 100 } },
    guardMs: 0,
    nowMs: () => (lastReading = Date.now()),
  });
  const admitted: number[] = [];
  const t0 = Date.now();
  for (let i = 0; i < 10; i++) {
    await limiter.acquire("ticker");
    admitted.push(lastReading);
  }
  assert.ok(Date.now() - t0 >= 300, "10 calls at 3 per 100 ms need ≥ 300 ms");
  assert.ok(maxInWindow(admitted, 100) <= 3, `admitted at ${admitted.map((t) => t - t0)}`);
  // Concurrent callers queue in order and still need the same time.
  const t1 = Date.now();
  await Promise.all(Array.from({ length: 7 }, () => limiter.acquire("ticker")));
  assert.ok(Date.now() - t1 >= 200, "7 more calls at 3 per 100 ms need ≥ 200 ms");
});

Deno.test("RateLimiter: sec=0 and 429 pause to the next second, 418 blocks at once", async () => {
  let now = 10_500;
  const limiter = new RateLimiter({ nowMs: () => now, guardMs: 20 });
  limiter.observe("default", { status: 200, remainingReq: "group=default; min=1800; sec=0" });
  assert.equal(limiter.heldUntilMs("default"), 11_020);
  limiter.observe("ticker", { status: 429 });
  assert.equal(limiter.heldUntilMs("ticker"), 11_020);
  limiter.observe("order", { status: 418, blockMs: 5000 });
  await assert.rejects(() => limiter.acquire("order"), (e: unknown) => {
    assert.ok(e instanceof RateLimitedError && e.blocked && e.retryAfterMs === 5000);
    return true;
  });
  now = 15_500;
  await limiter.acquire("order");
  assert.throws(
    () => new RateLimiter({ limits: { order: { limit: 0, windowMs: 1000 } } }),
    RangeError,
  );
});

Deno.test("client honours an injected 429 (waits for the next second) and 418 (stops the group)", async () => {
  const sb = await startSandbox({ rateLimits: true });
  const log: SentRequest[] = [];
  const client = clientFor(sb, { fetch: recordingFetch(log) });
  try {
    sb.faults.rest.arm({ kind: "rate_limited", path: "/v1/ticker" });
    const [t] = await client.tickers(["KRW-BTC"]);
    assert.ok(t !== undefined);
    assert.deepEqual(log.map((r) => r.status), [429, 200]);
    const boundary = Math.floor(log[0]!.atMs / 1000) * 1000 + 1000;
    assert.ok(log[1]!.atMs >= boundary, "the retry waited for the next second");

    log.length = 0;
    sb.faults.rest.arm({ kind: "blocked", path: "/v1/accounts", blockMs: 1000 });
    await assert.rejects(() => client.accounts(), (e: unknown) => {
      assert.ok(e instanceof RateLimitedError && e.blocked && e.retryable);
      assert.equal(e.retryAfterMs, 1000);
      return true;
    });
    await assert.rejects(() => client.orderChance("KRW-BTC"), RateLimitedError);
    assert.equal(log.length, 1, "a blocked group sends nothing");
    assert.ok((await client.orderbooks(["KRW-BTC"])).length === 1, "other groups still work");
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal((await client.accounts()).length, 3, "the block ends");
  } finally {
    await sb.close();
  }
});

Deno.test("a burst of 1,000 mixed calls at Upbit's exact limits gets 0 × 429", async () => {
  const sb = await startSandbox({ rateLimits: true });
  const log: SentRequest[] = [];
  const client = clientFor(sb, { fetch: recordingFetch(log), rateLimits: UPBIT_RATE_LIMITS });
  const bid = (i: number) => ({
    market: "KRW-BTC",
    side: "bid" as const,
    ordType: "limit" as const,
    price: parseUnits("100000000"),
    volume: parseUnits("0.0001"),
    identifier: `burst-${i}`,
  });
  const calls: Array<() => Promise<unknown>> = [];
  const add = (n: number, make: (i: number) => () => Promise<unknown>) => {
    for (let i = 0; i < n; i++) calls.push(make(calls.length));
  };
  add(50, () => () => client.markets());
  add(100, () => () => client.minuteCandles("KRW-BTC", { count: 5 }));
  add(100, () => () => client.trades("KRW-XRP", { count: 5 }));
  add(100, () => () => client.tickers(["KRW-BTC", "KRW-XRP"]));
  add(50, () => () => client.orderbooks(["KRW-BTC"]));
  add(50, () => () => client.instruments(["KRW-BTC"]));
  add(120, () => () => client.accounts());
  add(110, () => () => client.orderChance("KRW-BTC"));
  add(120, () => () => client.getOrder({ identifier: "none" }));
  add(117, (i) => () => client.placeOrder(bid(i)));
  add(80, (i) => () => client.testOrder(bid(i)));
  add(3, () => () => client.cancelAllOpen({ pairs: ["KRW-XRP"] }));
  // Interleave the groups, then fire everything at once.
  const order = calls.map((c, i) => [((i * 7919) % 1000) + i / 1e4, c] as const)
    .sort((a, b) => a[0] - b[0]).map(([, c]) => c);
  const t0 = Date.now();
  const results = await Promise.allSettled(order.map((c) => c()));
  const elapsed = Date.now() - t0;
  await sb.close();
  const failed = results.filter((r) => r.status === "rejected");
  assert.equal(failed.length, 0, Deno.inspect(failed.slice(0, 3)));
  assert.equal(log.length, 1000);
  assert.equal(log.filter((r) => r.status === 429 || r.status === 418).length, 0);
  const byGroup = new Map<string, number[]>();
  for (const r of log) byGroup.set(r.group, [...(byGroup.get(r.group) ?? []), r.atMs]);
  for (const [group, times] of byGroup) {
    const limit = UPBIT_RATE_LIMITS[group as RateGroup];
    assert.ok(maxInWindow(times, limit.windowMs) <= limit.limit, group);
  }
  assert.ok(elapsed > 8000, `limits held the burst back (${elapsed} ms)`);
});

Deno.test("RateLimiter calls onRefused with each 429 and 418 answer, never with others", () => {
  const seen: string[] = [];
  const limiter = new RateLimiter({
    nowMs: () => 0,
    onRefused: (group, status) => seen.push(`${group} ${status}`),
  });
  limiter.observe("default", { status: 200, remainingReq: "group=default; min=1800; sec=0" });
  limiter.observe("ticker", { status: 429 });
  limiter.observe("order", { status: 418, blockMs: 5000 });
  limiter.observe("order", { status: 500 });
  assert.deepEqual(seen, ["ticker 429", "order 418"]);
});
