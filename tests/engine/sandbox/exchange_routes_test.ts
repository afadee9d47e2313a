import assert from "node:assert/strict";
import { parseUnits } from "../../../engine/core/money.ts";
import { privateEventJson } from "../../../engine/sandbox/private_events.ts";
import { callJson, createHarness, type Harness, T0_MS, total } from "./_harness.ts";

const LIMIT_BID = {
  market: "KRW-BTC",
  side: "bid",
  volume: "0.0004",
  price: "131250000",
  ord_type: "limit",
  identifier: "bot-20261124-0001",
};

const ORDER_KEYS = [
  "uuid",
  "side",
  "ord_type",
  "price",
  "state",
  "market",
  "created_at",
  "volume",
  "remaining_volume",
  "executed_volume",
  "executed_funds",
  "reserved_fee",
  "remaining_fee",
  "paid_fee",
  "locked",
  "prevented_volume",
  "prevented_locked",
  "trades_count",
  "identifier",
];

async function expectError(
  h: Harness,
  req: [method: "GET" | "POST" | "DELETE", path: string, params: unknown],
  status: number,
  name: string,
): Promise<void> {
  const [s, body] = await callJson(h, req[0], req[1], req[2] as Record<string, unknown>);
  assert.equal(s, status, `${name}: ${JSON.stringify(body)}`);
  assert.equal(body.error.name, name);
  assert.equal(typeof body.error.message, "string");
  assert.deepEqual(Object.keys(body), ["error"]);
}

Deno.test("GET /v1/accounts lists balances as strings, like API.md", async () => {
  const h = createHarness();
  const [status, body] = await callJson(h, "GET", "/v1/accounts");
  assert.equal(status, 200);
  assert.deepEqual(body, [
    {
      currency: "KRW",
      balance: "1250000.52",
      locked: "0",
      avg_buy_price: "0",
      avg_buy_price_modified: false,
      unit_currency: "KRW",
    },
    {
      currency: "BTC",
      balance: "0.015234",
      locked: "0",
      avg_buy_price: "0",
      avg_buy_price_modified: false,
      unit_currency: "KRW",
    },
  ]);
  h.close();
});

Deno.test("GET /v1/orders/chance has API.md's shape; unknown market → notfoundmarket", async () => {
  const h = createHarness();
  const [status, body] = await callJson(h, "GET", "/v1/orders/chance", [["market", "KRW-BTC"]]);
  assert.equal(status, 200);
  assert.equal(body.bid_fee, "0.0005");
  assert.equal(body.maker_ask_fee, "0.0005");
  assert.deepEqual(body.market.bid, { currency: "KRW", min_total: "5000" });
  assert.deepEqual(body.market.ask, { currency: "BTC", min_total: "5000" });
  assert.equal(body.market.max_total, "1000000000");
  assert.equal(body.market.name, "BTC/KRW");
  assert.deepEqual(body.market.ask_types, [
    "best_fok",
    "best_ioc",
    "limit",
    "limit_fok",
    "limit_ioc",
    "market",
  ]);
  assert.equal(body.bid_account.balance, "1250000.52");
  assert.equal(body.ask_account.currency, "BTC");
  await expectError(
    h,
    ["GET", "/v1/orders/chance", [["market", "KRW-XXX"]]],
    400,
    "notfoundmarket",
  );
  await expectError(h, ["GET", "/v1/orders/chance", []], 400, "validation_error");
  h.close();
});

Deno.test("POST /v1/orders limit bid: 201 with API.md's fields, fee and locked", async () => {
  const h = createHarness();
  const [status, body] = await callJson(h, "POST", "/v1/orders", LIMIT_BID);
  assert.equal(status, 201);
  assert.deepEqual(Object.keys(body), ORDER_KEYS);
  assert.match(body.uuid, /^[0-9a-f-]{36}$/);
  assert.deepEqual({ ...body, uuid: "" }, {
    uuid: "",
    side: "bid",
    ord_type: "limit",
    price: "131250000",
    state: "wait",
    market: "KRW-BTC",
    created_at: "2026-11-24T10:15:02+09:00",
    volume: "0.0004",
    remaining_volume: "0.0004",
    executed_volume: "0",
    executed_funds: "0",
    reserved_fee: "26.25",
    remaining_fee: "26.25",
    paid_fee: "0",
    locked: "52526.25",
    prevented_volume: "0",
    prevented_locked: "0",
    trades_count: 0,
    identifier: "bot-20261124-0001",
  });
  const [, accounts] = await callJson(h, "GET", "/v1/accounts");
  assert.equal(accounts[0].balance, "1197474.27");
  assert.equal(accounts[0].locked, "52526.25");
  h.close();
});

Deno.test("a resting bid fills from a replayed trade; myOrder matches API.md's example", async () => {
  const h = createHarness();
  const [, order] = await callJson(h, "POST", "/v1/orders", LIMIT_BID);
  h.events.length = 0;
  h.feed.trade("KRW-BTC", "131250000", "0.0001", "ASK");
  const myOrder = h.events.find((e) => e.type === "myOrder" && e.state === "trade");
  assert.ok(myOrder !== undefined && myOrder.type === "myOrder");
  const json = JSON.parse(privateEventJson(myOrder));
  assert.equal(json.state, "trade");
  assert.equal(json.ask_bid, "BID");
  assert.equal(json.price, 131250000);
  assert.equal(json.volume, 0.0001);
  assert.equal(json.remaining_volume, 0.0003);
  assert.equal(json.executed_volume, 0.0001);
  assert.equal(json.reserved_fee, 26.25);
  assert.equal(json.remaining_fee, 19.6875);
  assert.equal(json.paid_fee, 6.5625);
  assert.equal(json.trade_fee, 6.5625);
  assert.equal(json.locked, 39394.6875);
  assert.equal(json.executed_funds, 13125);
  assert.equal(json.is_maker, true);
  assert.equal(json.identifier, "bot-20261124-0001");
  assert.equal(json.stream_type, "REALTIME");
  assert.match(privateEventJson(myOrder), /"locked":39394.6875/);
  const simple = JSON.parse(privateEventJson(myOrder, "SIMPLE"));
  assert.equal(simple.ty, "myOrder");
  assert.equal(simple.tf, 6.5625);
  const asset = h.events.find((e) => e.type === "myAsset");
  assert.ok(asset !== undefined && asset.type === "myAsset");
  const assetJson = JSON.parse(privateEventJson(asset));
  assert.deepEqual(Object.keys(assetJson), [
    "type",
    "asset_uuid",
    "assets",
    "asset_timestamp",
    "timestamp",
    "stream_type",
  ]);

  const [, got] = await callJson(h, "GET", "/v1/order", [["uuid", order.uuid]]);
  assert.equal(got.state, "wait");
  assert.equal(got.executed_volume, "0.0001");
  assert.equal(got.trades.length, 1);
  assert.deepEqual(Object.keys(got.trades[0]), [
    "market",
    "uuid",
    "price",
    "volume",
    "funds",
    "trend",
    "created_at",
    "side",
  ]);
  assert.equal(got.trades[0].funds, "13125");
  assert.equal(got.trades[0].trend, "down");
  assert.match(got.trades[0].created_at, /^2026-11-24T10:15:02\.\d{6}\+09:00$/);
  // BTC arrived; the opening 0.015234 BTC had avg 0, so avg = 13125 / 0.015334.
  const [, accounts] = await callJson(h, "GET", "/v1/accounts");
  assert.equal(accounts[1].balance, "0.015334");
  assert.equal(accounts[1].avg_buy_price, "855941.04604148");
  h.close();
});

Deno.test("a market buy by KRW total ends cancel with the remainder refunded (API.md example)", async () => {
  const h = createHarness();
  h.feed.setBook("KRW-BTC", [["131260000", "1"]], [["131250000", "1"]]);
  const before = total(h, "a", "KRW");
  const [status, accepted] = await callJson(h, "POST", "/v1/orders", {
    market: "KRW-BTC",
    side: "bid",
    ord_type: "price",
    price: "20000",
    identifier: "bot-20261124-0002",
  });
  assert.equal(status, 201);
  assert.equal(accepted.state, "wait");
  assert.equal(accepted.volume, undefined);
  const [, order] = await callJson(h, "GET", "/v1/order", [["identifier", "bot-20261124-0002"]]);
  assert.deepEqual({ ...order, uuid: "", created_at: "", trades: [] }, {
    uuid: "",
    side: "bid",
    ord_type: "price",
    price: "20000",
    state: "cancel",
    market: "KRW-BTC",
    created_at: "",
    executed_volume: "0.00015236",
    executed_funds: "19998.7736",
    reserved_fee: "10",
    remaining_fee: "0.0006132",
    paid_fee: "9.9993868",
    locked: "1.2270132",
    prevented_locked: "0",
    trades_count: 1,
    identifier: "bot-20261124-0002",
    trades: [],
  });
  assert.equal(order.trades[0].price, "131260000");
  assert.equal(order.trades[0].volume, "0.00015236");
  assert.equal(order.trades[0].funds, "19998.7736");
  assert.equal(order.trades[0].trend, "up");
  // Spent exactly funds + fee; the rest came back, nothing stays locked.
  assert.equal(before - total(h, "a", "KRW"), parseUnits("20008.7729868"));
  const [, accounts] = await callJson(h, "GET", "/v1/accounts");
  assert.equal(accounts[0].locked, "0");
  h.close();
});

Deno.test("a market sell walks the bids; fee is taken from the KRW proceeds", async () => {
  const h = createHarness();
  const krw = total(h, "a", "KRW");
  const [status] = await callJson(h, "POST", "/v1/orders", {
    market: "KRW-BTC",
    side: "ask",
    ord_type: "market",
    volume: "0.01",
  });
  assert.equal(status, 201);
  const [, closed] = await callJson(h, "GET", "/v1/orders/closed", [["market", "KRW-BTC"]]);
  assert.equal(closed.length, 1);
  assert.equal(closed[0].state, "done");
  assert.equal(closed[0].price, undefined);
  assert.equal(closed[0].executed_funds, "1312500");
  assert.equal(closed[0].paid_fee, "656.25");
  assert.equal(closed[0].reserved_fee, "0");
  assert.equal(total(h, "a", "KRW") - krw, parseUnits("1311843.75"));
  assert.equal(total(h, "a", "BTC"), parseUnits("0.005234"));
  h.close();
});

Deno.test("avg_buy_price is the fee-free volume-weighted buy price; resets when sold out", async () => {
  const h = createHarness({ balances: { a: { KRW: "10000000" }, b: {} } });
  h.feed.setBook("KRW-BTC", [["100000000", "0.001"], ["120000000", "1"]], [[
    "90000000",
    "1",
  ]]);
  await callJson(h, "POST", "/v1/orders", {
    market: "KRW-BTC",
    side: "bid",
    ord_type: "limit",
    price: "120000000",
    volume: "0.002",
  });
  const [, accounts] = await callJson(h, "GET", "/v1/accounts");
  assert.equal(accounts[1].balance, "0.002");
  assert.equal(accounts[1].avg_buy_price, "110000000");
  await callJson(h, "POST", "/v1/orders", {
    market: "KRW-BTC",
    side: "ask",
    ord_type: "market",
    volume: "0.001",
  });
  const [, after] = await callJson(h, "GET", "/v1/accounts");
  assert.equal(after[1].avg_buy_price, "110000000");
  await callJson(h, "POST", "/v1/orders", {
    market: "KRW-BTC",
    side: "ask",
    ord_type: "market",
    volume: "0.001",
  });
  const [, sold] = await callJson(h, "GET", "/v1/accounts");
  assert.equal(sold.length, 1);
  assert.equal(h.exchange.holdings("a").find(([c]) => c === "BTC")?.[1].avgBuyPrice, 0n);
  h.close();
});

Deno.test("a marketable limit bid takes the book at book prices and rests the rest", async () => {
  const h = createHarness({ balances: { a: { KRW: "100000000" }, b: {} } });
  const [, accepted] = await callJson(h, "POST", "/v1/orders", {
    market: "KRW-BTC",
    side: "bid",
    ord_type: "limit",
    price: "131260000",
    volume: "0.2",
  });
  const [, order] = await callJson(h, "GET", "/v1/order", [["uuid", accepted.uuid]]);
  assert.equal(order.state, "wait");
  assert.equal(order.executed_volume, "0.1713");
  assert.deepEqual(order.trades.map((t: { price: string }) => t.price), [
    "131251000",
    "131260000",
  ]);
  assert.equal(order.remaining_volume, "0.0287");
  // locked = remaining notional at the limit price + remaining fee (better-price savings freed).
  const remainingNotional = parseUnits("131260000") * parseUnits("0.0287") / 100_000_000n;
  assert.equal(parseUnits(order.locked), remainingNotional + parseUnits(order.remaining_fee));
  h.close();
});

Deno.test("ioc / fok / post_only / best follow Upbit's rules", async () => {
  const h = createHarness({ balances: { a: { KRW: "100000000", BTC: "1" }, b: {} } });
  const place = async (body: Record<string, unknown>) => {
    const [s, accepted] = await callJson(h, "POST", "/v1/orders", body);
    assert.equal(s, 201, JSON.stringify(accepted));
    const [, order] = await callJson(h, "GET", "/v1/order", [["uuid", accepted.uuid]]);
    return order;
  };
  const base = { market: "KRW-BTC", side: "bid", ord_type: "limit", price: "131260000" };
  const ioc = await place({ ...base, volume: "0.2", time_in_force: "ioc" });
  assert.equal(ioc.state, "cancel");
  assert.equal(ioc.executed_volume, "0.1713");
  assert.equal(ioc.time_in_force, "ioc");
  h.feed.setBook("KRW-BTC", [["131251000", "0.0213"], ["131260000", "0.15"]], [[
    "131250000",
    "0.312",
  ]]);
  const fok = await place({ ...base, volume: "0.2", time_in_force: "fok" });
  assert.equal(fok.state, "cancel");
  assert.equal(fok.executed_volume, "0");
  assert.equal(fok.trades_count, 0);
  const fokOk = await place({ ...base, volume: "0.1", time_in_force: "fok" });
  assert.equal(fokOk.state, "done");
  const post = await place({ ...base, volume: "0.01", time_in_force: "post_only" });
  assert.equal(post.state, "cancel");
  assert.equal(post.executed_volume, "0");
  const postRest = await place({
    ...base,
    price: "131000000",
    volume: "0.01",
    time_in_force: "post_only",
  });
  assert.equal(postRest.state, "wait");
  h.feed.setBook("KRW-BTC", [["131251000", "0.0213"]], [["131250000", "0.312"]]);
  const best = await place({
    market: "KRW-BTC",
    side: "ask",
    ord_type: "best",
    volume: "0.005",
    time_in_force: "ioc",
  });
  assert.equal(best.state, "done");
  assert.equal(best.trades[0].price, "131250000");
  const bestBid = await place({
    market: "KRW-BTC",
    side: "bid",
    ord_type: "best",
    price: "10000",
    time_in_force: "fok",
  });
  assert.equal(bestBid.trades[0].price, "131251000");
  assert.equal(bestBid.volume, undefined);
  h.close();
});

Deno.test("POST /v1/orders answers every validation error with Upbit's name", async () => {
  const h = createHarness({ exchange: { offlineMarkets: ["KRW-ETH"] } });
  const bid = {
    market: "KRW-BTC",
    side: "bid",
    ord_type: "limit",
    price: "131250000",
    volume: "0.0004",
  };
  const cases: Array<[Record<string, unknown>, number, string]> = [
    [{ ...bid, side: undefined }, 400, "validation_error"],
    [{ ...bid, side: "buy" }, 400, "validation_error"],
    [{ ...bid, ord_type: "stop" }, 400, "validation_error"],
    [{ ...bid, market: "KRW-XXX" }, 400, "notfoundmarket"],
    [{ ...bid, market: 5 }, 400, "validation_error"],
    [{ ...bid, price: 131250000 }, 400, "validation_error"],
    [{ ...bid, volume: undefined }, 400, "validation_error"],
    [{ ...bid, ord_type: "price", volume: "0.1" }, 400, "create_bid_error"],
    [{ ...bid, side: "ask", ord_type: "market" }, 400, "create_ask_error"],
    [{ ...bid, ord_type: "market" }, 400, "create_bid_error"],
    [
      { market: "KRW-BTC", side: "ask", ord_type: "price", price: "10000" },
      400,
      "create_ask_error",
    ],
    [{ ...bid, time_in_force: "gtc" }, 400, "invalid_time_in_force"],
    [
      { market: "KRW-BTC", side: "bid", ord_type: "price", price: "10000", time_in_force: "ioc" },
      400,
      "invalid_time_in_force",
    ],
    [
      { market: "KRW-BTC", side: "ask", ord_type: "best", volume: "0.001" },
      400,
      "invalid_time_in_force",
    ],
    [{ ...bid, time_in_force: "post_only", smp_type: "reduce" }, 400, "invalid_time_in_force"],
    [{ ...bid, price: "131250500" }, 400, "invalid_price_bid"],
    [{ ...bid, side: "ask", price: "131250500" }, 400, "invalid_price_ask"],
    [{ ...bid, price: "abc" }, 400, "invalid_parameter"],
    [{ ...bid, price: "-5" }, 400, "invalid_parameter"],
    [{ ...bid, volume: "0.000000001" }, 400, "invalid_volume_bid"],
    [{ ...bid, side: "ask", volume: "0" }, 400, "invalid_volume_ask"],
    [{ ...bid, volume: "0.00003" }, 400, "under_min_total_bid"],
    [{ ...bid, side: "ask", volume: "0.00003" }, 400, "under_min_total_ask"],
    [{ ...bid, volume: "8" }, 400, "over_krw_funds_bid"],
    [{ ...bid, side: "ask", volume: "8" }, 400, "over_krw_funds_ask"],
    [{ ...bid, volume: "0.01" }, 400, "insufficient_funds_bid"],
    [{ ...bid, side: "ask", volume: "0.02" }, 400, "insufficient_funds_ask"],
    [{ ...bid, identifier: "x".repeat(65) }, 400, "validation_error"],
    [{ ...bid, market: "KRW-ETH", price: "5000000", volume: "0.01" }, 403, "market_offline"],
  ];
  for (const [body, status, name] of cases) {
    await expectError(h, ["POST", "/v1/orders", body], status, name);
  }
  // Bad JSON and a non-object body.
  for (const raw of ["{not json", "[1,2]", "null", ""]) {
    const res = await h.app.request("http://sandbox/v1/orders", {
      method: "POST",
      headers: { authorization: "Bearer x", "content-type": "application/json" },
      body: raw,
    });
    assert.equal(res.status, 400);
    assert.equal((await res.json()).error.name, "invalid_parameter");
  }
  assert.equal(h.exchange.allOrders().length, 0);
  assert.equal(total(h, "a", "KRW"), parseUnits("1250000.52"));
  h.close();
});

Deno.test("identifier is unique per account forever; other accounts may reuse it", async () => {
  const h = createHarness();
  const [s1, order] = await callJson(h, "POST", "/v1/orders", LIMIT_BID);
  assert.equal(s1, 201);
  await callJson(h, "DELETE", "/v1/order", [["uuid", order.uuid]]);
  await expectError(h, ["POST", "/v1/orders", LIMIT_BID], 400, "duplicated_identifier");
  // A rejected attempt does not burn an identifier by default…
  const rejected = { ...LIMIT_BID, volume: "1", identifier: "burn-me" };
  await expectError(h, ["POST", "/v1/orders", rejected], 400, "insufficient_funds_bid");
  const [s2] = await callJson(h, "POST", "/v1/orders", { ...LIMIT_BID, identifier: "burn-me" });
  assert.equal(s2, 201);
  h.close();
  // …unless configured to (Upbit's behaviour here is UNCONFIRMED).
  const burning = createHarness({ exchange: { burnIdentifierOnReject: true } });
  await expectError(burning, ["POST", "/v1/orders", rejected], 400, "insufficient_funds_bid");
  await expectError(
    burning,
    ["POST", "/v1/orders", { ...LIMIT_BID, identifier: "burn-me" }],
    400,
    "duplicated_identifier",
  );
  burning.close();
});

Deno.test("POST /v1/orders/test validates like a real order but changes nothing", async () => {
  const h = createHarness();
  const [status, body] = await callJson(h, "POST", "/v1/orders/test", LIMIT_BID);
  assert.equal(status, 201);
  assert.equal(body.locked, "52526.25");
  assert.equal(h.exchange.allOrders().length, 0);
  assert.equal(total(h, "a", "KRW"), parseUnits("1250000.52"));
  await expectError(h, ["GET", "/v1/order", [["uuid", body.uuid]]], 404, "order_not_found");
  // The identifier is still free.
  const [s2] = await callJson(h, "POST", "/v1/orders", LIMIT_BID);
  assert.equal(s2, 201);
  await expectError(
    h,
    ["POST", "/v1/orders/test", { ...LIMIT_BID, volume: "1", identifier: "t2" }],
    400,
    "insufficient_funds_bid",
  );
  h.close();
});

Deno.test("GET /v1/order, /v1/orders/uuids, /open and /closed list the right orders", async () => {
  const h = createHarness();
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    const [, o] = await callJson(h, "POST", "/v1/orders", {
      ...LIMIT_BID,
      price: `${130000000 - i * 1000000}`,
      identifier: `id-${i}`,
    });
    ids.push(o.uuid);
  }
  await callJson(h, "DELETE", "/v1/order", [["identifier", "id-1"]]);
  await expectError(h, ["GET", "/v1/order", []], 400, "validation_error");
  await expectError(h, ["GET", "/v1/order", [["uuid", "nope"]]], 404, "order_not_found");
  const [, byIds] = await callJson(h, "GET", "/v1/orders/uuids", [
    ["uuids[]", ids[0] ?? ""],
    ["uuids[]", ids[2] ?? ""],
    ["uuids[]", "unknown"],
    ["order_by", "asc"],
  ]);
  assert.deepEqual(byIds.map((o: { uuid: string }) => o.uuid), [ids[0], ids[2]]);
  assert.equal(byIds[0].trades, undefined);
  const [, byIdent] = await callJson(h, "GET", "/v1/orders/uuids", [["identifiers[]", "id-1"]]);
  assert.equal(byIdent[0].state, "cancel");
  await expectError(
    h,
    ["GET", "/v1/orders/uuids", [["uuids[]", "a"], ["identifiers[]", "b"]]],
    400,
    "validation_error",
  );
  const [, open] = await callJson(h, "GET", "/v1/orders/open", [["market", "KRW-BTC"]]);
  assert.deepEqual(open.map((o: { identifier: string }) => o.identifier), ["id-2", "id-0"]);
  assert.equal(open[0].executed_funds, "0");
  const [, page2] = await callJson(h, "GET", "/v1/orders/open", [["limit", "1"], ["page", "2"]]);
  assert.deepEqual(page2.map((o: { identifier: string }) => o.identifier), ["id-0"]);
  await expectError(h, ["GET", "/v1/orders/open", [["limit", "101"]]], 400, "validation_error");
  await expectError(h, ["GET", "/v1/orders/open", [["state", "done"]]], 400, "validation_error");
  const [, closed] = await callJson(h, "GET", "/v1/orders/closed", [["states[]", "cancel"]]);
  assert.deepEqual(closed.map((o: { identifier: string }) => o.identifier), ["id-1"]);
  const [, window] = await callJson(h, "GET", "/v1/orders/closed", [
    ["start_time", "2026-11-24T10:00:00+09:00"],
    ["end_time", `${T0_MS + 60_000}`],
  ]);
  assert.equal(window.length, 1);
  const [, before] = await callJson(h, "GET", "/v1/orders/closed", [
    ["end_time", "2026-11-24T10:00:00+09:00"],
  ]);
  assert.equal(before.length, 0);
  await expectError(
    h,
    ["GET", "/v1/orders/closed", [["start_time", "2026-11-01T00:00:00+09:00"], [
      "end_time",
      "2026-11-24T00:00:00+09:00",
    ]]],
    400,
    "invalid_parameter",
  );
  // Unencoded ':' / '+' in the raw URL is refused (API.md §3.1).
  const raw = await h.app.request(
    "http://sandbox/v1/orders/closed?start_time=2026-11-24T10:00:00+09:00",
    { headers: { authorization: "Bearer x" } },
  );
  assert.equal(raw.status, 400);
  assert.equal((await raw.json()).error.name, "invalid_parameter");
  h.close();
});

Deno.test("DELETE /v1/order returns the order as of acceptance and refunds the lock", async () => {
  const h = createHarness();
  const [, order] = await callJson(h, "POST", "/v1/orders", LIMIT_BID);
  const [status, body] = await callJson(h, "DELETE", "/v1/order", [["uuid", order.uuid]]);
  assert.equal(status, 200);
  assert.equal(body.state, "wait");
  assert.deepEqual(Object.keys(body), ORDER_KEYS);
  const [, after] = await callJson(h, "GET", "/v1/order", [["uuid", order.uuid]]);
  assert.equal(after.state, "cancel");
  const [, accounts] = await callJson(h, "GET", "/v1/accounts");
  assert.equal(accounts[0].balance, "1250000.52");
  assert.equal(accounts[0].locked, "0");
  await expectError(h, ["DELETE", "/v1/order", [["uuid", order.uuid]]], 404, "order_not_found");
  // A body on a DELETE is refused.
  const withBody = await h.app.request("http://sandbox/v1/order?uuid=x", {
    method: "DELETE",
    headers: { authorization: "Bearer x" },
    body: "{}",
  });
  assert.equal((await withBody.json()).error.name, "QUERY_PARAMETER_NOT_SUPPORTED");
  h.close();
});

Deno.test("DELETE /v1/orders/uuids and /v1/orders/open answer success/failed lists", async () => {
  const h = createHarness();
  const [, o1] = await callJson(h, "POST", "/v1/orders", { ...LIMIT_BID, identifier: "k1" });
  const [, o2] = await callJson(h, "POST", "/v1/orders", {
    ...LIMIT_BID,
    price: "131000000",
    identifier: "k2",
  });
  const [s, body] = await callJson(h, "DELETE", "/v1/orders/uuids", [
    ["uuids[]", o1.uuid],
    ["uuids[]", "a0e1b2c3-d4e5-46f7-8899-aabbccddeeff"],
  ]);
  assert.equal(s, 200);
  assert.deepEqual(body, {
    success: { count: 1, orders: [{ uuid: o1.uuid, market: "KRW-BTC", identifier: "k1" }] },
    failed: { count: 1, orders: [{ uuid: "a0e1b2c3-d4e5-46f7-8899-aabbccddeeff" }] },
  });
  await callJson(h, "POST", "/v1/orders", {
    market: "KRW-BTC",
    side: "ask",
    ord_type: "limit",
    price: "140000000",
    volume: "0.001",
  });
  const [, bids] = await callJson(h, "DELETE", "/v1/orders/open", [
    ["cancel_side", "bid"],
    ["pairs", "KRW-BTC,KRW-ETH"],
  ]);
  assert.deepEqual(bids.success, {
    count: 1,
    orders: [{ uuid: o2.uuid, market: "KRW-BTC", identifier: "k2" }],
  });
  assert.deepEqual(bids.failed, { count: 0, orders: [] });
  h.clock.now += 2000;
  const [, none] = await callJson(h, "DELETE", "/v1/orders/open", [["excluded_pairs", "KRW-BTC"]]);
  assert.equal(none.success.count, 0);
  h.clock.now += 2000;
  const [, rest] = await callJson(h, "DELETE", "/v1/orders/open", [["quote_currencies", "KRW"]]);
  assert.equal(rest.success.count, 1);
  assert.equal(total(h, "a", "BTC"), parseUnits("0.015234"));
  assert.equal(h.exchange.holdings("a").every(([, l]) => l.locked === 0n), true);
  h.close();
});

Deno.test("POST /v1/orders/cancel_and_new replaces an order, using the freed funds", async () => {
  const h = createHarness({ balances: { a: { KRW: "60000" }, b: {} } });
  const [, old] = await callJson(h, "POST", "/v1/orders", LIMIT_BID);
  const [status, body] = await callJson(h, "POST", "/v1/orders/cancel_and_new", {
    prev_order_uuid: old.uuid,
    new_ord_type: "limit",
    new_price: "131000000",
    new_volume: "remain_only",
    new_identifier: "bot-20261124-0001-r",
  });
  assert.equal(status, 201, JSON.stringify(body));
  assert.equal(body.uuid, old.uuid);
  assert.equal(body.state, "wait");
  assert.equal(body.new_order_identifier, "bot-20261124-0001-r");
  const [, created] = await callJson(h, "GET", "/v1/order", [["uuid", body.new_order_uuid]]);
  assert.equal(created.volume, "0.0004");
  assert.equal(created.price, "131000000");
  const [, oldNow] = await callJson(h, "GET", "/v1/order", [["uuid", old.uuid]]);
  assert.equal(oldNow.state, "cancel");
  await expectError(
    h,
    ["POST", "/v1/orders/cancel_and_new", {
      prev_order_identifier: "bot-20261124-0001-r",
      new_ord_type: "limit",
      new_price: "131000000",
      new_volume: "1",
    }],
    400,
    "insufficient_funds_bid",
  );
  await expectError(
    h,
    ["POST", "/v1/orders/cancel_and_new", {
      prev_order_identifier: "bot-20261124-0001-r",
      new_ord_type: "limit",
      new_price: "131000000",
      new_volume: "remain_only",
      new_identifier: "bot-20261124-0001",
    }],
    400,
    "duplicated_identifier",
  );
  const [, still] = await callJson(h, "GET", "/v1/order", [["uuid", body.new_order_uuid]]);
  assert.equal(still.state, "wait");
  await expectError(
    h,
    ["POST", "/v1/orders/cancel_and_new", {
      prev_order_uuid: old.uuid,
      new_ord_type: "limit",
      new_price: "131000000",
      new_volume: "remain_only",
    }],
    404,
    "order_not_found",
  );
  await expectError(
    h,
    ["POST", "/v1/orders/cancel_and_new", { new_ord_type: "limit" }],
    400,
    "validation_error",
  );
  h.close();
});
