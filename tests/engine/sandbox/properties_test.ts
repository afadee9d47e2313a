import assert from "node:assert/strict";
import fc from "fast-check";
import { parseUnits, type Units } from "../../../engine/core/money.ts";
import type { OrderInput } from "../../../engine/sandbox/matching.ts";
import { SandboxExchange } from "../../../engine/sandbox/matching.ts";
import { callJson, createHarness, FakeFeed, type Harness, KEY_A, total } from "./_harness.ts";
import { signToken } from "./_sign.ts";

const MID = 100_000_000n;
const STEP = 10_000n;
const INITIAL: Record<string, Record<string, string>> = {
  a: { KRW: "3000000", BTC: "0.05" },
  b: { KRW: "500000", BTC: "0.002" },
};

type Command =
  | {
    kind: "limit";
    account: string;
    side: "bid" | "ask";
    offset: number;
    volume: number;
    tif?: string;
  }
  | { kind: "price"; account: string; krw: number }
  | { kind: "market"; account: string; volume: number }
  | { kind: "best"; account: string; side: "bid" | "ask"; amount: number; tif: string }
  | { kind: "cancel"; account: string; index: number }
  | { kind: "trade"; offset: number; volume: number; side: "ASK" | "BID" }
  | { kind: "book"; spread: number; size: number };

const account = fc.constantFrom("a", "b");
const commandArb: fc.Arbitrary<Command> = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant("limit" as const),
      account,
      side: fc.constantFrom("bid" as const, "ask" as const),
      offset: fc.integer({ min: -6, max: 6 }),
      volume: fc.integer({ min: 1, max: 200_000 }),
      tif: fc.option(fc.constantFrom("ioc", "fok", "post_only"), { nil: undefined }),
    }, { requiredKeys: ["kind", "account", "side", "offset", "volume"] }),
    weight: 4,
  },
  fc.record({
    kind: fc.constant("price" as const),
    account,
    krw: fc.integer({ min: 4000, max: 300_000 }),
  }),
  fc.record({
    kind: fc.constant("market" as const),
    account,
    volume: fc.integer({ min: 1, max: 500_000 }),
  }),
  fc.record({
    kind: fc.constant("best" as const),
    account,
    side: fc.constantFrom("bid" as const, "ask" as const),
    amount: fc.integer({ min: 1, max: 300_000 }),
    tif: fc.constantFrom("ioc", "fok"),
  }),
  fc.record({ kind: fc.constant("cancel" as const), account, index: fc.nat(20) }),
  {
    arbitrary: fc.record({
      kind: fc.constant("trade" as const),
      offset: fc.integer({ min: -6, max: 6 }),
      volume: fc.integer({ min: 1, max: 300_000 }),
      side: fc.constantFrom("ASK" as const, "BID" as const),
    }),
    weight: 4,
  },
  fc.record({
    kind: fc.constant("book" as const),
    spread: fc.integer({ min: 1, max: 3 }),
    size: fc.integer({ min: 1, max: 300_000 }),
  }),
);

/** 1e-8 BTC steps → decimal text. */
function btc(n: number): string {
  return (Number(n) / 1e8).toFixed(8);
}

function price(offset: number): string {
  return (MID + BigInt(offset) * STEP).toString();
}

function setBook(feed: FakeFeed, spread: number, size: number): void {
  const asks: Array<[string, string]> = [];
  const bids: Array<[string, string]> = [];
  for (let i = 0; i < 4; i++) {
    asks.push([price(spread + i), btc(size * (i + 1))]);
    bids.push([price(-spread - i), btc(size * (i + 1))]);
  }
  feed.setBook("KRW-BTC", asks, bids);
}

function run(exchange: SandboxExchange, feed: FakeFeed, cmd: Command): void {
  const place = (accountId: string, input: OrderInput) => exchange.placeOrder(accountId, input);
  switch (cmd.kind) {
    case "limit":
      place(cmd.account, {
        market: "KRW-BTC",
        side: cmd.side,
        ord_type: "limit",
        price: price(cmd.offset),
        volume: btc(cmd.volume),
        time_in_force: cmd.tif ?? null,
      });
      return;
    case "price":
      place(cmd.account, {
        market: "KRW-BTC",
        side: "bid",
        ord_type: "price",
        price: `${cmd.krw}`,
      });
      return;
    case "market":
      place(cmd.account, {
        market: "KRW-BTC",
        side: "ask",
        ord_type: "market",
        volume: btc(cmd.volume),
      });
      return;
    case "best":
      place(cmd.account, {
        market: "KRW-BTC",
        side: cmd.side,
        ord_type: "best",
        time_in_force: cmd.tif,
        ...(cmd.side === "bid" ? { price: `${cmd.amount}` } : { volume: btc(cmd.amount) }),
      });
      return;
    case "cancel": {
      const open = exchange.allOrders().filter((o) =>
        o.accountId === cmd.account && o.state === "wait"
      );
      const target = open[cmd.index % Math.max(1, open.length)];
      if (target !== undefined) exchange.cancelOrder(cmd.account, { uuid: target.uuid });
      return;
    }
    case "trade":
      feed.trade("KRW-BTC", price(cmd.offset), btc(cmd.volume), cmd.side);
      return;
    case "book":
      setBook(feed, cmd.spread, cmd.size);
  }
}

function checkInvariants(exchange: SandboxExchange, feed: FakeFeed): void {
  const orders = exchange.allOrders();
  const taken = new Map<string, Units>();
  for (const accountId of ["a", "b"]) {
    const expected: Record<string, Units> = {
      KRW: parseUnits(INITIAL[accountId]?.KRW ?? "0"),
      BTC: parseUnits(INITIAL[accountId]?.BTC ?? "0"),
    };
    const lockedByOrders: Record<string, Units> = { KRW: 0n, BTC: 0n };
    for (const o of orders.filter((x) => x.accountId === accountId)) {
      let volume = 0n;
      let fees = 0n;
      for (const t of o.trades) {
        volume += t.volume;
        fees += t.fee;
        if (o.side === "bid") {
          expected.KRW = (expected.KRW ?? 0n) - t.funds - t.fee;
          expected.BTC = (expected.BTC ?? 0n) + t.volume;
        } else {
          expected.KRW = (expected.KRW ?? 0n) + t.funds - t.fee;
          expected.BTC = (expected.BTC ?? 0n) - t.volume;
        }
        // Every fill comes from a replayed trade or a replayed book level.
        if (t.source.kind === "trade") {
          const src = t.source;
          const trade = feed.trades.find((x) => x.sequentialId === src.sequentialId);
          assert.ok(trade !== undefined);
          assert.equal(t.price, o.price);
          assert.ok(o.side === "bid" ? trade.price <= t.price : trade.price >= t.price);
          const key = `trade:${trade.sequentialId}:${o.side}`;
          taken.set(key, (taken.get(key) ?? 0n) + t.volume);
          assert.ok((taken.get(key) ?? 0n) <= trade.volume, "a trade was over-used");
        } else {
          const src = t.source;
          const book = feed.history.find((b) => b.tsMs === src.bookTsMs);
          assert.ok(book !== undefined);
          const level = (o.side === "bid" ? book.asks : book.bids).find((l) => l.price === t.price);
          assert.ok(level !== undefined, "fill price is not a book level");
          const key = `book:${book.tsMs}:${o.side}:${t.price}`;
          taken.set(key, (taken.get(key) ?? 0n) + t.volume);
          assert.ok((taken.get(key) ?? 0n) <= level.size, "a book level was over-used");
          if (o.ordType === "limit" && o.price !== undefined) {
            assert.ok(o.side === "bid" ? t.price <= o.price : t.price >= o.price);
          }
        }
      }
      assert.equal(o.executedVolume, volume);
      assert.equal(o.paidFee, fees);
      assert.ok(o.paidFee <= o.reservedFee || o.side === "ask");
      if (o.state === "wait") {
        const currency = o.side === "bid" ? "KRW" : "BTC";
        lockedByOrders[currency] = (lockedByOrders[currency] ?? 0n) + o.locked;
      }
    }
    for (const [currency, h] of exchange.holdings(accountId)) {
      assert.ok(h.balance >= 0n && h.locked >= 0n, `${accountId}/${currency} went negative`);
      assert.equal(
        h.balance + h.locked,
        expected[currency] ?? 0n,
        `${accountId}/${currency} total`,
      );
      assert.equal(h.locked, lockedByOrders[currency] ?? 0n, `${accountId}/${currency} locked`);
    }
  }
}

Deno.test("property: random order flows keep balances exact, non-negative and backed by fills", () => {
  const seen = { trade: 0, book: 0, cancel: 0, done: 0 };
  fc.assert(
    fc.property(fc.array(commandArb, { minLength: 5, maxLength: 60 }), (commands) => {
      const feed = new FakeFeed(["KRW-BTC"]);
      setBook(feed, 1, 50_000);
      const exchange = new SandboxExchange({ feed, balances: INITIAL });
      try {
        for (const cmd of commands) {
          run(exchange, feed, cmd);
          checkInvariants(exchange, feed);
        }
        for (const o of exchange.allOrders()) {
          for (const t of o.trades) seen[t.source.kind] += 1;
          if (o.state === "cancel" || o.state === "done") seen[o.state] += 1;
        }
      } finally {
        exchange.close();
      }
    }),
    { numRuns: 300 },
  );
  // The flows really exercised both fill paths and both end states.
  assert.ok(
    seen.trade > 50 && seen.book > 50 && seen.cancel > 50 && seen.done > 50,
    JSON.stringify(seen),
  );
});

const BAD_VALUES: unknown[] = [
  null,
  12345,
  -1,
  true,
  "",
  "abc",
  "1e5",
  "-1",
  "9".repeat(40),
  "9".repeat(25),
  "0.000000001",
  "NaN",
  "Infinity",
  { a: 1 },
  [1, 2],
];

type Fuzz =
  | { kind: "body"; field: string; value: unknown; auth: string }
  | { kind: "raw"; text: string; auth: string }
  | {
    kind: "query";
    path: string;
    method: "GET" | "DELETE";
    key: string;
    value: string;
    auth: string;
  };

const authArb = fc.constantFrom("valid", "none", "garbage", "replayed", "wrong_hash");
const fuzzArb: fc.Arbitrary<Fuzz> = fc.oneof(
  fc.record({
    kind: fc.constant("body" as const),
    field: fc.constantFrom("market", "side", "ord_type", "price", "volume"),
    value: fc.constantFrom(...BAD_VALUES),
    auth: authArb,
  }),
  fc.record({ kind: fc.constant("raw" as const), text: fc.string(), auth: authArb }),
  fc.record({
    kind: fc.constant("query" as const),
    path: fc.constantFrom(
      "/v1/order",
      "/v1/orders/uuids",
      "/v1/orders/chance",
      "/v1/orders/closed",
    ),
    method: fc.constantFrom("GET" as const, "DELETE" as const),
    key: fc.constantFrom("uuid", "identifier", "uuids[]", "market", "start_time", "limit", "zz"),
    value: fc.string(),
    auth: authArb,
  }),
);

async function tokenFor(auth: string, hashed: string, replayNonce: string): Promise<string | null> {
  switch (auth) {
    case "none":
      return null;
    case "garbage":
      return "eyJhbGciOiJIUzUxMiJ9.e30.garbage";
    case "replayed":
      return await signToken(KEY_A, { hashed, nonce: replayNonce });
    case "wrong_hash":
      return await signToken(KEY_A, { hashed: hashed + "&x=1" });
    default:
      return await signToken(KEY_A, { hashed });
  }
}

function snapshot(h: Harness): string {
  const orders = h.exchange.allOrders().map((o) => `${o.uuid}:${o.state}:${o.locked}`);
  return JSON.stringify([
    orders,
    h.exchange.holdings("a").map(([c, x]) => `${c}:${x.balance}:${x.locked}`),
  ]);
}

Deno.test("property: random bad requests get Upbit-shaped errors and change nothing", async () => {
  const h = createHarness();
  // One open order so a wrongly accepted cancel would show.
  const [s] = await callJson(h, "POST", "/v1/orders", {
    market: "KRW-BTC",
    side: "bid",
    ord_type: "limit",
    price: "100000000",
    volume: "0.001",
    identifier: "keep",
  });
  assert.equal(s, 201);
  const replayNonce = crypto.randomUUID();
  await callJson(h, "GET", "/v1/accounts", [], { nonce: replayNonce });
  const before = snapshot(h);
  const krw = total(h, "a", "KRW");
  await fc.assert(
    fc.asyncProperty(fuzzArb, async (f) => {
      let req: Request;
      if (f.kind === "query") {
        const raw = `${encodeURIComponent(f.key).replace("%5B%5D", "[]")}=${
          encodeURIComponent(f.value)
        }`;
        const token = await tokenFor(f.auth, `${f.key}=${f.value}`, replayNonce);
        req = new Request(`http://sandbox${f.path}?${raw}`, {
          method: f.method,
          headers: token === null ? {} : { authorization: `Bearer ${token}` },
        });
      } else {
        const body = f.kind === "raw" ? f.text : JSON.stringify({
          market: "KRW-BTC",
          side: "bid",
          ord_type: "limit",
          price: "100000000",
          volume: "0.0001",
          [f.field]: f.value,
        });
        let hashed = "";
        try {
          const parsed = JSON.parse(body);
          if (parsed !== null && typeof parsed === "object") {
            hashed = Object.entries(parsed).filter(([, v]) => v !== null)
              .map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`).join("&");
          }
        } catch { /* not JSON: any hash */ }
        const token = await tokenFor(f.auth, hashed, replayNonce);
        req = new Request("http://sandbox/v1/orders", {
          method: "POST",
          headers: {
            "content-type": "application/json",
            ...(token === null ? {} : { authorization: `Bearer ${token}` }),
          },
          body,
        });
      }
      const res = await h.app.request(req);
      const text = await res.text();
      assert.notEqual(res.status, 500, text);
      if (res.status === 200) {
        // Reads may succeed; a batch cancel may answer 200 with nothing cancelled.
        if (req.method !== "GET") assert.equal(JSON.parse(text).success.count, 0, text);
      } else {
        assert.ok([400, 401, 403, 404].includes(res.status), `${res.status} ${text}`);
        const body = JSON.parse(text);
        assert.deepEqual(Object.keys(body), ["error"]);
        assert.equal(typeof body.error.name, "string");
        assert.equal(typeof body.error.message, "string");
      }
      assert.equal(snapshot(h), before);
    }),
    { numRuns: 400 },
  );
  assert.equal(total(h, "a", "KRW"), krw);
  h.close();
});

// Shrunk counterexamples of the fuzz above, kept as unit tests.

Deno.test("an unknown route answers Upbit's 404 not_found body", async () => {
  const h = createHarness();
  const [status, body] = await callJson(h, "DELETE", "/v1/orders/closed", [["uuid", ""]]);
  assert.equal(status, 404);
  assert.deepEqual(body, {
    error: { name: "not_found", message: "no Route matched with those values" },
  });
  h.close();
});

Deno.test("DELETE /v1/orders/uuids with an empty uuid reports it failed and cancels nothing", async () => {
  const h = createHarness();
  const [status, body] = await callJson(h, "DELETE", "/v1/orders/uuids", [["uuids[]", ""]]);
  assert.equal(status, 200);
  assert.deepEqual(body, {
    success: { count: 0, orders: [] },
    failed: { count: 1, orders: [{ uuid: "" }] },
  });
  h.close();
});
