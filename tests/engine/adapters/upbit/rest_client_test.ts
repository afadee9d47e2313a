import assert from "node:assert/strict";
import { formatUnits, parseUnits, unitsFromNumber } from "../../../../engine/core/money.ts";
import { Secret } from "../../../../engine/adapters/upbit/auth.ts";
import {
  AuthError,
  ConfigError,
  ConflictError,
  RejectedError,
  TemporaryError,
} from "../../../../engine/errors.ts";
import {
  backfillMinuteCandles,
  type OrderRequest,
  UpbitRestClient,
} from "../../../../engine/adapters/upbit/rest_client.ts";
import { DEMO_ACCESS_KEY } from "../../../../engine/sandbox/mod.ts";
import { clientFor, recordingFetch, type SentRequest, startSandbox } from "./_sandbox.ts";

const P = parseUnits;

function limitBid(identifier: string, price = "100000000", volume = "0.0001"): OrderRequest {
  return {
    market: "KRW-BTC",
    side: "bid",
    ordType: "limit",
    price: P(price),
    volume: P(volume),
    identifier,
  };
}

Deno.test("quotation endpoints round-trip with the sandbox's exact values", async () => {
  const sb = await startSandbox();
  const log: SentRequest[] = [];
  const client = clientFor(sb, { fetch: recordingFetch(log) });
  try {
    const markets = await client.markets();
    assert.deepEqual(markets.map((m) => m.market), ["KRW-BTC", "KRW-XRP"]);
    assert.equal(markets[0]?.warning, false);
    assert.deepEqual(markets[0]?.cautions, []);
    assert.equal(markets[0]?.englishName, "Bitcoin");

    const [ticker] = await client.tickers(["KRW-BTC"]);
    const expected = sb.replay.ticker("KRW-BTC");
    assert.ok(ticker !== undefined && expected !== undefined);
    assert.equal(ticker.tradePrice, expected.last.price);
    // Quotation numbers are JSON floats: exact to the float Upbit printed, no noise added.
    const viaFloat = (u: bigint) => unitsFromNumber(Number(formatUnits(u)));
    assert.equal(ticker.accTradeVolume24h, viaFloat(expected.accVolume24h));
    assert.equal(ticker.accTradePrice24h, viaFloat(expected.accValue24h));
    assert.equal(ticker.prevClosingPrice, expected.prevClose);
    assert.equal((await client.tickersByQuote(["KRW"])).length, 2);

    const [book] = await client.orderbooks(["KRW-BTC"]);
    const raw = sb.replay.bookWith("KRW-BTC");
    assert.ok(book !== undefined && raw !== undefined);
    assert.deepEqual(book.asks, raw.asks.map((l) => ({ price: l.price, size: l.size })));
    assert.deepEqual(book.bids, raw.bids.map((l) => ({ price: l.price, size: l.size })));
    assert.equal(book.level, 0n);

    const instruments = await client.instruments(["KRW-BTC", "KRW-XRP"]);
    assert.equal(instruments[0]?.tickSize, P("1000"));
    assert.equal(instruments[1]?.tickSize, P("1"));
    assert.equal(instruments[0]?.supportedLevels[0], 0n);

    const trades = await client.trades("KRW-BTC", { count: 5 });
    const tape = sb.replay.trades("KRW-BTC", { count: 5 });
    assert.deepEqual(
      trades.map((t) => [t.price, t.volume, t.sequentialId, t.tsMs]),
      tape.map((t) => [t.price, t.volume, String(t.sequentialId), t.tsMs]),
    );
    // Paging backwards with the exact sequential_id as cursor.
    const older = await client.trades("KRW-BTC", { count: 3, cursor: trades[4]?.sequentialId });
    assert.ok(older.every((t) => BigInt(t.sequentialId) < BigInt(trades[4]?.sequentialId ?? 0)));
    assert.ok(log.every((r) => !r.headers.has("origin")), "never an Origin header");
    assert.ok(log.every((r) => !r.headers.has("authorization")), "quotation is unsigned");
  } finally {
    await sb.close();
  }
});

Deno.test("candles of every unit come back ascending, keyed by candle_date_time_utc", async () => {
  const sb = await startSandbox();
  const client = clientFor(sb);
  try {
    const now = sb.replay.nowMs();
    const units = [
      ["1s", 1000],
      ["1m", 60_000],
      ["5m", 300_000],
      ["1h", 3_600_000],
      ["240m", 14_400_000],
      ["1d", 86_400_000],
    ] as const;
    for (const [unit, ms] of units) {
      const list = await client.candles("KRW-BTC", unit, { count: 5, toMs: now });
      assert.ok(list.length >= 1, unit);
      for (const c of list) assert.equal(c.startMs % ms, 0, `${unit} start on its grid`);
      for (let i = 1; i < list.length; i++) {
        assert.ok(list[i - 1]!.startMs < list[i]!.startMs, `${unit} ascending`);
      }
      assert.ok(list.every((c) => c.startMs < now), `${unit}: to is exclusive`);
    }
    assert.ok((await client.candles("KRW-BTC", "1w", { count: 3 })).length >= 1);
    assert.ok((await client.candles("KRW-BTC", "1M", { count: 3 })).length >= 1);
    const served = sb.replay.candles("KRW-BTC", "1m", { toMs: now, count: 3 }).reverse();
    const got = await client.minuteCandles("KRW-BTC", { toMs: now, count: 3 });
    assert.deepEqual(got.map((c) => c.startMs), served.map((c) => c.startMs));
    assert.deepEqual(got.map((c) => c.close), served.map((c) => Number(formatUnits(c.close))));
    assert.deepEqual(got.map((c) => c.volume), served.map((c) => Number(formatUnits(c.volume))));
  } finally {
    await sb.close();
  }
});

Deno.test("candleHistory pages by to/count ≤ 200 and returns [fromMs, toMs) ascending", async () => {
  const sb = await startSandbox();
  const log: SentRequest[] = [];
  const client = clientFor(sb, { fetch: recordingFetch(log) });
  try {
    const toMs = sb.replay.nowMs() - 17_000; // not on a minute boundary
    const fromMs = toMs - 450 * 60_000 - 30_000;
    const got = await backfillMinuteCandles(client, "KRW-BTC", { fromMs, toMs });
    const expected = sb.replay.candles("KRW-BTC", "1m", { toMs, count: 200 })
      .concat(sb.replay.candles("KRW-BTC", "1m", { toMs: toMs - 200 * 60_000, count: 200 }))
      .concat(sb.replay.candles("KRW-BTC", "1m", { toMs: toMs - 400 * 60_000, count: 200 }))
      .filter((c) => c.startMs >= fromMs && c.startMs < toMs)
      .map((c) => c.startMs)
      .sort((a, b) => a - b);
    assert.deepEqual(got.map((c) => c.startMs), [...new Set(expected)]);
    assert.ok(got.length >= 440 && got.length <= 451, `got ${got.length}`);
    assert.ok(log.length >= 3 && log.length <= 4, `pages: ${log.length}`);
    for (const r of log) {
      const count = Number(new URL(r.url).searchParams.get("count"));
      assert.ok(count >= 1 && count <= 200);
      assert.match(r.url, /to=\d{4}-\d{2}-\d{2}T\d{2}%3A\d{2}%3A\d{2}Z/, "to is URL-encoded");
    }
    // Empty range: nothing fetched that is outside it.
    assert.deepEqual(await client.candleHistory("KRW-BTC", "1m", { fromMs: toMs, toMs }), []);
  } finally {
    await sb.close();
  }
});

Deno.test("exchange endpoints round-trip with exact amounts; array query_hash accepted", async () => {
  const sb = await startSandbox();
  const client = clientFor(sb);
  try {
    const accounts = await client.accounts();
    assert.deepEqual(accounts.map((a) => [a.currency, a.balance, a.locked]), [
      ["KRW", P("1000000000"), 0n],
      ["BTC", P("2"), 0n],
      ["XRP", P("10000"), 0n],
    ]);
    const chance = await client.orderChance("KRW-BTC");
    assert.equal(chance.bidFee, P("0.0005"));
    assert.equal(chance.market.bidMinTotal, P("5000"));
    assert.equal(chance.market.maxTotal, P("1000000000"));
    assert.equal(chance.askAccount.currency, "BTC");

    const test = await client.testOrder(limitBid("t-test-1"));
    assert.ok(test.ok);
    assert.equal(sb.accounts.allOrders().length, 0, "a test order creates nothing");

    const placed = await client.placeOrder(limitBid("rt-1", "100000000", "0.0001"));
    assert.ok(placed.ok, Deno.inspect(placed));
    const o = placed.value.order;
    assert.equal(placed.value.path, "created");
    assert.equal(o.identifier, "rt-1");
    assert.equal(o.price, P("100000000"));
    assert.equal(o.volume, P("0.0001"));
    assert.equal(o.remainingVolume, P("0.0001"));
    assert.equal(o.reservedFee, P("5"));
    assert.equal(o.locked, P("10005"));
    assert.equal(o.state, "wait");
    const second = await client.placeOrder(limitBid("rt-2", "99000000", "0.00012345"));
    assert.ok(second.ok);
    assert.equal(second.value.order.volume, P("0.00012345"));

    const byUuid = await client.getOrder({ uuid: o.uuid });
    const byIdent = await client.getOrder({ identifier: "rt-1" });
    assert.deepEqual(byUuid, byIdent);
    assert.deepEqual(byUuid?.trades, []);
    assert.equal(await client.getOrder({ identifier: "nope" }), undefined);

    const ids = await client.ordersByIds({ identifiers: ["rt-1", "rt-2"] }, { orderBy: "asc" });
    assert.deepEqual(ids.map((x) => x.identifier), ["rt-1", "rt-2"]);
    const uuids = await client.ordersByIds({ uuids: [o.uuid, second.value.order.uuid] });
    assert.equal(uuids.length, 2);
    const open = await client.openOrders({ market: "KRW-BTC", states: ["wait", "watch"] });
    assert.equal(open.length, 2);
    assert.equal(
      (await client.accounts()).find((a) => a.currency === "KRW")?.locked,
      P("10005") + P("12221.55") + P("6.110775"),
    );

    const cancelled = await client.cancelOrder({ identifier: "rt-1" });
    assert.ok(cancelled.ok);
    assert.equal(cancelled.value.uuid, o.uuid);
    const again = await client.cancelOrder({ identifier: "rt-1" });
    assert.ok(!again.ok && again.error.kind === "rejected");

    const replaced = await client.cancelAndNew({
      prev: { identifier: "rt-2" },
      newOrdType: "limit",
      newPrice: P("98000000"),
      newVolume: "remain_only",
      newIdentifier: "rt-3",
    });
    assert.ok(replaced.ok, Deno.inspect(replaced));
    assert.equal(replaced.value.cancelled.identifier, "rt-2");
    assert.equal(replaced.value.newOrderIdentifier, "rt-3");
    const rt3 = await client.getOrder({ uuid: replaced.value.newOrderUuid });
    assert.equal(rt3?.volume, P("0.00012345"));
    assert.equal(rt3?.price, P("98000000"));

    for (const id of ["rt-4", "rt-5"]) assert.ok((await client.placeOrder(limitBid(id))).ok);
    const batch = await client.cancelOrders({ identifiers: ["rt-4", "rt-5", "rt-1"] });
    assert.deepEqual(batch.success.map((b) => b.identifier).sort(), ["rt-4", "rt-5"]);
    assert.deepEqual(batch.failed.map((b) => b.identifier), ["rt-1"]);
    const uuidBatch = await client.cancelOrders({ uuids: [rt3?.uuid ?? ""] });
    assert.equal(uuidBatch.success.length, 1);

    for (const id of ["rt-6", "rt-7"]) assert.ok((await client.placeOrder(limitBid(id))).ok);
    const all = await client.cancelAllOpen({ pairs: ["KRW-BTC"], side: "bid" });
    assert.equal(all.success.length, 2);
    const closed = await client.closedOrders({
      market: "KRW-BTC",
      states: ["cancel"],
      startMs: sb.replay.nowMs() - 3_600_000,
      endMs: sb.replay.nowMs() + 1,
    });
    assert.equal(closed.length, 7); // rt-1, rt-2 (replaced), rt-3, rt-4, rt-5, rt-6, rt-7
    assert.deepEqual((await client.openOrders()).length, 0);
    const krw = (await client.accounts()).find((a) => a.currency === "KRW");
    assert.equal(krw?.locked, 0n);
    assert.equal(krw?.balance, P("1000000000"));
  } finally {
    await sb.close();
  }
});

Deno.test("definitive refusals are data, duplicates are ConflictError / adopted", async () => {
  const sb = await startSandbox({ balances: { KRW: "20000" } });
  const client = clientFor(sb);
  try {
    const poor = await client.placeOrder(limitBid("rej-1", "100000000", "0.001"));
    assert.ok(!poor.ok && poor.error.kind === "rejected");
    assert.equal(poor.error.reason, "insufficient_funds");
    assert.equal(poor.error.code, "insufficient_funds_bid");
    const small = await client.placeOrder(limitBid("rej-2", "100000000", "0.00001"));
    assert.ok(
      !small.ok && small.error.kind === "rejected" && small.error.reason === "under_min_total",
    );
    const offTick = await client.placeOrder(limitBid("rej-3", "100000500", "0.0001"));
    assert.ok(!offTick.ok && offTick.error.kind === "rejected");
    assert.equal(offTick.error.reason, "invalid_price");
    const badCombo = await client.testOrder({
      market: "KRW-BTC",
      side: "ask",
      ordType: "market",
      price: P("100"),
      volume: P("0.1"),
      identifier: "rej-4",
    });
    assert.ok(!badCombo.ok && badCombo.error.kind === "rejected");
    assert.equal(badCombo.error.reason, "invalid_order");

    const first = await client.createOrder(limitBid("dup-1"));
    await assert.rejects(() => client.createOrder(limitBid("dup-1")), (e: unknown) => {
      assert.ok(e instanceof ConflictError && !e.retryable);
      assert.equal(e.code, "duplicated_identifier");
      return true;
    });
    const adopted = await client.placeOrder(limitBid("dup-1"));
    assert.ok(adopted.ok);
    assert.equal(adopted.value.path, "adopted_duplicate");
    assert.equal(adopted.value.order.uuid, first.uuid);
    assert.equal(sb.accounts.allOrders().length, 1);

    await assert.rejects(() => client.tickers(["KRW-NOPE"]), (e: unknown) => {
      assert.ok(e instanceof RejectedError && e.reason === "not_found" && !e.retryable);
      assert.equal(e.code, "404", "quotation names are integers");
      return true;
    });
    await assert.rejects(() => client.orderChance("KRW-NOPE"), RejectedError);
  } finally {
    await sb.close();
  }
});

Deno.test("auth and config failures are AuthError / ConfigError, never retried", async () => {
  const sb = await startSandbox();
  const log: SentRequest[] = [];
  try {
    const wrongSecret = clientFor(sb, {
      secretKey: new Secret("not-the-secret"),
      fetch: recordingFetch(log),
    });
    await assert.rejects(() => wrongSecret.accounts(), (e: unknown) => {
      assert.ok(e instanceof AuthError && !e.retryable);
      assert.equal(e.code, "jwt_verification");
      assert.ok(!String(e.message).includes("not-the-secret"));
      return true;
    });
    assert.equal(log.length, 1, "no retry of an auth failure");
    const unknownKey = clientFor(sb, { accessKey: "UNKNOWN" });
    await assert.rejects(() => unknownKey.accounts(), AuthError);
    const keyless = new UpbitRestClient({ restUrl: sb.restUrl });
    await assert.rejects(() => keyless.accounts(), ConfigError);
    assert.ok((await keyless.markets()).length > 0, "public calls need no key");
    assert.throws(() => new UpbitRestClient({ restUrl: "ftp://x" }), ConfigError);
    assert.equal(String(new Secret(DEMO_ACCESS_KEY)), "[REDACTED]");
  } finally {
    await sb.close();
  }
});

Deno.test("5xx, HTML pages, timeouts and resets are TemporaryError; reads retry them", async () => {
  const sb = await startSandbox();
  const log: SentRequest[] = [];
  const client = clientFor(sb, { fetch: recordingFetch(log), timeoutMs: 150, maxReadRetries: 0 });
  const retrying = clientFor(sb, { fetch: recordingFetch(log), timeoutMs: 150, maxReadRetries: 3 });
  const expectTemporary = async (reason: string, status?: number) => {
    await assert.rejects(() => client.accounts(), (e: unknown) => {
      assert.ok(e instanceof TemporaryError && e.retryable, String(e));
      assert.equal(e.reason, reason);
      if (status !== undefined) assert.equal(e.status, status);
      return true;
    });
  };
  try {
    sb.faults.rest.arm({ kind: "server_error", path: "/v1/accounts" });
    await expectTemporary("server_error", 500);
    sb.faults.rest.arm({ kind: "html_error", path: "/v1/accounts", status: 502 });
    await expectTemporary("server_error", 502);
    sb.faults.rest.arm({ kind: "lose_response", path: "/v1/accounts", hangMs: 2000 });
    await expectTemporary("timeout");
    sb.faults.rest.arm({ kind: "lose_response", path: "/v1/accounts", mode: "reset" });
    await expectTemporary("network");
    sb.faults.rest.arm({ kind: "delay", path: "/v1/accounts", delayMs: 1000 });
    await expectTemporary("timeout");

    log.length = 0;
    sb.faults.rest.arm({ kind: "server_error", path: "/v1/accounts", count: 2 });
    sb.faults.rest.arm({ kind: "html_error", path: "/v1/accounts", count: 1 });
    assert.equal((await retrying.accounts()).length, 3);
    assert.deepEqual(log.map((r) => r.status), [500, 500, 502, 200]);
    assert.ok(log.every((r) => r.headers.has("authorization")));
    const tokens = new Set(log.map((r) => r.headers.get("authorization")));
    assert.equal(tokens.size, 4, "every retry is signed with a fresh nonce");

    log.length = 0;
    sb.faults.rest.arm({ kind: "server_error", path: "/v1/orders", count: 1 });
    const write = await client.createOrder(limitBid("w-1")).catch((e) => e);
    assert.ok(write instanceof TemporaryError);
    assert.equal(log.length, 1, "a write is never retried blindly");
  } finally {
    await sb.close();
  }
});
