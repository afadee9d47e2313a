/**
 * The store's parts of the daily report: recorded candles (bounded), the exactly-once report
 * marker committed with its event, the run log, and the watchdog's once/once alert state.
 */

import assert from "node:assert/strict";
import type { Candle } from "../../../engine/core/candle.ts";
import type { EngineEvent } from "../../../engine/ports.ts";
import { withStore } from "./_memory_store.ts";

const DAY = Date.UTC(2022, 5, 1);

function candle(startMs: number, close: number): Candle {
  return { startMs, open: close, high: close, low: close, close, volume: 1, value: Number.NaN };
}

function reportEvent(atMs: number): Extract<EngineEvent, { type: "DailyReport" }> {
  return {
    type: "DailyReport",
    atMs,
    date: "2022-06-01",
    late: false,
    realizedPnl: "0",
    unrealizedPnl: "0",
    fees: "0",
    slippage: "0",
    fills: 0,
    exits: 0,
    maxDrawdownPct: null,
    lossBudgetUsedPct: null,
    uptimePct: 100,
    backtestPnl: null,
    matched: 0,
    reconciled: true,
  };
}

Deno.test("recordCandles() keeps candles in order, NaN value intact; pruneCandles() drops the old", async () => {
  await withStore(async (store) => {
    const many = Array.from({ length: 1200 }, (_, i) => candle(DAY + i * 60_000, 100 + i));
    await store.recordCandles("KRW-BTC", many);
    await store.recordCandles("KRW-ETH", [candle(DAY, 5)]);
    const got = await store.listCandles("KRW-BTC", { fromMs: DAY + 60_000, toMs: DAY + 180_000 });
    assert.deepEqual(got.map((c) => c.close), [101, 102]);
    assert.ok(Number.isNaN(got[0]!.value));
    assert.equal(await store.pruneCandles("KRW-BTC", DAY + 1100 * 60_000, 5000), 1100);
    assert.equal((await store.listCandles("KRW-BTC", { fromMs: 0, toMs: DAY * 2 })).length, 100);
    assert.equal((await store.listCandles("KRW-ETH", { fromMs: 0, toMs: DAY * 2 })).length, 1);
  });
});

Deno.test("issueDailyReport() commits the marker with its event exactly once", async () => {
  await withStore(async (store) => {
    const marker = { dayStartMs: DAY, date: "2022-06-01", issuedAtMs: DAY + 86_400_000 };
    const results = await Promise.all(
      Array.from(
        { length: 5 },
        () => store.issueDailyReport(marker, reportEvent(marker.issuedAtMs)),
      ),
    );
    assert.equal(results.filter((r) => r).length, 1);
    const events = (await store.listEvents()).filter((e) => e.type === "DailyReport");
    assert.equal(events.length, 1);
    assert.deepEqual(await store.listReportMarkers({ limit: 10 }), [marker]);
  });
});

Deno.test("alert() changes the watchdog state once per direction, with its event", async () => {
  await withStore(async (store) => {
    const base = {
      type: "WatchdogAlert",
      check: "market_data",
      market: "KRW-BTC",
      ageMs: 200_000,
      limitMs: 120_000,
    } as const;
    assert.equal(await store.isAlerted("market_data", "KRW-BTC"), false);
    assert.equal(await store.alert({ ...base, atMs: 1, stale: false }), false);
    assert.equal(await store.alert({ ...base, atMs: 2, stale: true }), true);
    assert.equal(await store.alert({ ...base, atMs: 3, stale: true }), false);
    assert.equal(await store.isAlerted("market_data", "KRW-BTC"), true);
    assert.equal(await store.isAlerted("loop", "KRW-BTC"), false);
    assert.equal(await store.alert({ ...base, atMs: 4, stale: false }), true);
    const events = (await store.listEvents()).filter((e) => e.type === "WatchdogAlert");
    assert.deepEqual(events.map((e) => e.atMs), [2, 4]);
  });
});

Deno.test("noteRun() keeps the heartbeat and drops runs ended before the retention", async () => {
  await withStore(async (store) => {
    await store.noteRun({ startedAtMs: 10, lastSeenMs: 20, endedAtMs: 30 }, 0);
    await store.noteRun({ startedAtMs: 100, lastSeenMs: 160, endedAtMs: null }, 0);
    await store.noteRun({ startedAtMs: 100, lastSeenMs: 220, endedAtMs: null }, 50);
    assert.deepEqual(await store.listRuns(), [{
      startedAtMs: 100,
      lastSeenMs: 220,
      endedAtMs: null,
    }]);
  });
});

Deno.test("countRefusal() counts Upbit's refusals per Upbit day, concurrently without loss", async () => {
  await withStore(async (store) => {
    await Promise.all(Array.from({ length: 25 }, (_, i) => store.countRefusal(DAY + i * 1000)));
    await store.countRefusal(DAY + 86_400_000);
    assert.equal(await store.refusalsOn(DAY), 25);
    assert.equal(await store.refusalsOn(DAY + 86_400_000), 1);
    assert.equal(await store.refusalsOn(DAY - 86_400_000), 0);
  });
});
