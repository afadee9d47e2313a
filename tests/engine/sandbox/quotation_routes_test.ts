// deno-lint-ignore-file no-explicit-any
/** Tests of the quotation REST routes: Upbit's shapes, time formats, errors, and no look-ahead. */

import assert from "node:assert/strict";
import { Hono } from "hono";
import { createQuotationRoutes, notFoundBody } from "../../../engine/sandbox/quotation_routes.ts";
import { createReplay, type Replay } from "../../../engine/sandbox/replay.ts";

const FILES = [
  "data/upbit-KRW-BTC-1d.csv",
  "data/upbit-KRW-XRP-1d.csv",
  "data/upbit-KRW-DOGE-1d.csv",
];
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/;

async function setup(): Promise<{ app: Hono; replay: Replay }> {
  const replay = await createReplay({
    dataFiles: FILES,
    manualClock: true,
    startAt: Date.UTC(2025, 7, 1, 6, 30),
    realNowMs: () => Date.UTC(2026, 10, 24, 6, 30),
  });
  replay.advanceBy(90_000);
  const app = new Hono();
  app.route("/", createQuotationRoutes(replay));
  app.notFound((c) => c.json(notFoundBody(), 404));
  return { app, replay };
}

async function get(app: Hono, path: string): Promise<{ status: number; body: unknown }> {
  const res = await app.request(path);
  return { status: res.status, body: await res.json() };
}

function keysOf(x: unknown): string[] {
  return Object.keys(x as Record<string, unknown>);
}

Deno.test("quotation: /v1/market/all with and without details", async () => {
  const { app, replay } = await setup();
  const plain = await get(app, "/v1/market/all");
  assert.deepEqual(keysOf((plain.body as unknown[])[0]), ["market", "korean_name", "english_name"]);
  const detailed = (await get(app, "/v1/market/all?is_details=true")).body as Array<
    Record<string, any>
  >;
  assert.equal(detailed.length, 3);
  assert.equal(detailed[0]!.market_event.warning, false);
  assert.deepEqual(Object.keys(detailed[0]!.market_event.caution).sort(), [
    "CONCENTRATION_OF_SMALL_ACCOUNTS",
    "DEPOSIT_AMOUNT_SOARING",
    "GLOBAL_PRICE_DIFFERENCES",
    "PRICE_FLUCTUATIONS",
    "TRADING_VOLUME_SOARING",
  ]);
  replay.close();
});

Deno.test("quotation: candles have Upbit's fields, formats and order, and never the future", async () => {
  const { app, replay } = await setup();
  const now = replay.nowMs();
  const mins = (await get(app, "/v1/candles/minutes/5?market=KRW-BTC&count=3")).body as any[];
  assert.equal(mins.length, 3);
  assert.deepEqual(keysOf(mins[0]), [
    "market",
    "candle_date_time_utc",
    "candle_date_time_kst",
    "opening_price",
    "high_price",
    "low_price",
    "trade_price",
    "timestamp",
    "candle_acc_trade_price",
    "candle_acc_trade_volume",
    "unit",
  ]);
  assert.match(mins[0].candle_date_time_utc, ISO);
  assert.equal(
    Date.parse(mins[0].candle_date_time_kst + "Z") - Date.parse(mins[0].candle_date_time_utc + "Z"),
    9 * 3_600_000,
  );
  assert.ok(
    Date.parse(mins[0].candle_date_time_utc + "Z") > Date.parse(mins[1].candle_date_time_utc + "Z"),
  );
  assert.ok(mins[0].timestamp <= now);
  assert.equal(mins[0].unit, 5);
  const days = (await get(app, "/v1/candles/days?market=KRW-BTC&count=200")).body as any[];
  assert.equal(days.length, 200);
  assert.ok(days.every((d) => d.candle_date_time_utc.endsWith("T00:00:00")));
  assert.ok(days.every((d) => d.candle_date_time_kst.endsWith("T09:00:00")));
  assert.equal(days[0].candle_date_time_utc.slice(0, 10), new Date(now).toISOString().slice(0, 10));
  assert.equal(days[1].trade_price, days[0].prev_closing_price);
  assert.ok("change_rate" in days[0] && "change_price" in days[0]);
  // `to` is exclusive and may be given as an offset time.
  const to = encodeURIComponent(days[1].candle_date_time_kst + "+09:00");
  const before = (await get(app, `/v1/candles/days?market=KRW-BTC&to=${to}&count=2`)).body as any[];
  assert.equal(before[0].candle_date_time_utc, days[2].candle_date_time_utc);
  const weeks = (await get(app, "/v1/candles/weeks?market=KRW-BTC&count=2")).body as any[];
  assert.equal(new Date(weeks[0].first_day_of_period).getUTCDay(), 1);
  const months = (await get(app, "/v1/candles/months?market=KRW-BTC&count=2")).body as any[];
  assert.ok(months[0].first_day_of_period.endsWith("-01"));
  const secs = (await get(app, "/v1/candles/seconds?market=KRW-BTC&count=5")).body as any[];
  assert.equal(secs.length, 5);
  assert.ok(secs.every((s) => s.timestamp <= now));
  for (const unit of [1, 3, 10, 15, 30, 60, 240]) {
    const list = (await get(app, `/v1/candles/minutes/${unit}?market=KRW-XRP&count=2`))
      .body as any[];
    assert.equal(list.length, 2);
    assert.ok(list[0].timestamp <= now);
  }
  replay.close();
});

Deno.test("quotation: errors are Upbit's, with an integer name", async () => {
  const { app, replay } = await setup();
  const missing = await get(app, "/v1/candles/days");
  assert.equal(missing.status, 400);
  assert.deepEqual(missing.body, {
    error: {
      name: 400,
      message: "Missing request parameter error. Check the required parameters!",
    },
  });
  const unknown = await get(app, "/v1/ticker?markets=KRW-BTC,KRW-NOPE");
  assert.equal(unknown.status, 404);
  assert.deepEqual(unknown.body, { error: { name: 404, message: "Code not found" } });
  const type = await get(app, "/v1/candles/days?market=KRW-BTC&count=abc");
  assert.deepEqual(type.body, {
    error: { name: 400, message: "Type mismatch error. Check the parameters type!" },
  });
  const tooMany = await get(app, "/v1/candles/days?market=KRW-BTC&count=201");
  assert.equal(tooMany.status, 400);
  const raw = await get(app, "/v1/candles/days?market=KRW-BTC&to=2026-11-24T03:00:00+09:00");
  assert.deepEqual(raw.body, {
    error: { name: 400, message: "Invalid parameter. Check the given value!" },
  });
  const route = await get(app, "/v1/nothing");
  assert.deepEqual(route.body, {
    error: { name: "not_found", message: "no Route matched with those values" },
  });
  replay.close();
});

Deno.test("quotation: trades/ticks, ticker, ticker/all", async () => {
  const { app, replay } = await setup();
  const now = replay.nowMs();
  const ticks = (await get(app, "/v1/trades/ticks?market=KRW-BTC&count=20")).body as any[];
  assert.equal(ticks.length, 20);
  assert.deepEqual(keysOf(ticks[0]), [
    "market",
    "trade_date_utc",
    "trade_time_utc",
    "timestamp",
    "trade_price",
    "trade_volume",
    "prev_closing_price",
    "change_price",
    "ask_bid",
    "sequential_id",
  ]);
  assert.match(ticks[0].trade_date_utc, /^\d{4}-\d{2}-\d{2}$/);
  assert.match(ticks[0].trade_time_utc, /^\d{2}:\d{2}:\d{2}$/);
  assert.ok(ticks.every((t) => t.timestamp <= now));
  for (let i = 1; i < ticks.length; i++) assert.ok(ticks[i].timestamp <= ticks[i - 1].timestamp);
  const paged =
    (await get(app, `/v1/trades/ticks?market=KRW-BTC&count=5&cursor=${ticks[4].sequential_id}`))
      .body as any[];
  assert.equal(paged[0].sequential_id, ticks[5].sequential_id);
  const ago = (await get(app, "/v1/trades/ticks?market=KRW-BTC&count=3&days_ago=1")).body as any[];
  assert.ok(ago[0].timestamp < Math.floor(now / 86_400_000) * 86_400_000);

  const [t] = (await get(app, "/v1/ticker?markets=KRW-BTC")).body as any[];
  assert.deepEqual(keysOf(t), [
    "market",
    "trade_date",
    "trade_time",
    "trade_date_kst",
    "trade_time_kst",
    "trade_timestamp",
    "opening_price",
    "high_price",
    "low_price",
    "trade_price",
    "prev_closing_price",
    "change",
    "change_price",
    "change_rate",
    "signed_change_price",
    "signed_change_rate",
    "trade_volume",
    "acc_trade_price",
    "acc_trade_price_24h",
    "acc_trade_volume",
    "acc_trade_volume_24h",
    "highest_52_week_price",
    "highest_52_week_date",
    "lowest_52_week_price",
    "lowest_52_week_date",
    "timestamp",
  ]);
  assert.match(t.trade_date, /^\d{8}$/);
  assert.match(t.trade_time, /^\d{6}$/);
  assert.equal(t.trade_price, ticks[0].trade_price);
  assert.ok(["RISE", "EVEN", "FALL"].includes(t.change));
  assert.ok(t.change_price >= 0 && t.change_rate >= 0);
  assert.equal(Math.abs(t.signed_change_price), t.change_price);
  assert.ok(t.highest_52_week_price >= t.high_price && t.lowest_52_week_price <= t.low_price);
  assert.ok(t.acc_trade_volume_24h >= t.acc_trade_volume);
  const all = (await get(app, "/v1/ticker/all?quote_currencies=KRW")).body as any[];
  assert.equal(all.length, 3);
  replay.close();
});

Deno.test("quotation: orderbook (count, level) and instruments", async () => {
  const { app, replay } = await setup();
  const [book] = (await get(app, "/v1/orderbook?markets=KRW-BTC&count=5")).body as any[];
  assert.deepEqual(keysOf(book), [
    "market",
    "timestamp",
    "total_ask_size",
    "total_bid_size",
    "orderbook_units",
    "level",
  ]);
  assert.equal(book.orderbook_units.length, 5);
  assert.deepEqual(keysOf(book.orderbook_units[0]), [
    "ask_price",
    "bid_price",
    "ask_size",
    "bid_size",
  ]);
  assert.ok(book.orderbook_units[0].ask_price > book.orderbook_units[0].bid_price);
  const [inst] = (await get(app, "/v1/orderbook/instruments?markets=KRW-XRP")).body as any[];
  assert.equal(inst.quote_currency, "KRW");
  assert.equal(inst.tick_size, "1");
  assert.equal(inst.supported_levels[0], "0");
  const level = inst.supported_levels[1];
  const [grouped] = (await get(app, `/v1/orderbook?markets=KRW-XRP&level=${level}`)).body as any[];
  assert.equal(grouped.level, Number(level));
  assert.ok(grouped.orderbook_units.every((u: any) => u.ask_price % Number(level) === 0));
  const unsupported = (await get(app, "/v1/orderbook?markets=KRW-XRP&level=7")).body;
  assert.deepEqual(unsupported, []);
  replay.close();
});
