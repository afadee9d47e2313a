import assert from "node:assert/strict";
import { createOperator } from "../../../engine/operator/mod.ts";
import type { Candle } from "../../../engine/core/candle.ts";
import type { Exchange } from "../../../engine/ports.ts";
import { T0_MS, world } from "../_trader_fixtures.ts";
import { PAPER_RUN, seedPaperStore } from "../_operator_world.ts";

/** A running bot's operator needs an exchange; the health views never call it. */
const EXCHANGE = {} as Exchange & { balances(): Promise<never[]> };

Deno.test("health(): freshness, last tick and link from the trader states, last error from the journal", async () => {
  const w = await world();
  await seedPaperStore(w.store, PAPER_RUN, "3900000");
  const running = createOperator({
    store: w.store,
    clock: w.clock,
    notifier: w.notifier,
    exchange: EXCHANGE,
  });
  const stopped = createOperator({ store: w.store, clock: w.clock, notifier: w.notifier });
  w.clock.set(T0_MS + 600_000);
  let h = await running.health();
  assert.equal(h.lastDataAtMs, T0_MS + 590_000);
  assert.equal(h.dataAgeMs, 10_000);
  assert.equal(h.lastTickMs, T0_MS + 590_000);
  assert.equal(h.link, "connected");
  assert.equal(h.lastError, null);
  assert.equal((await stopped.health()).link, "stopped");

  await w.store.recordEvent({
    type: "ErrorRaised",
    atMs: T0_MS + 595_000,
    code: "market_disconnected",
    message: "market data closed",
  });
  h = await running.health();
  assert.equal(h.link, "disconnected", "the link went down after the last price");
  assert.deepEqual(h.lastError, {
    atMs: T0_MS + 595_000,
    code: "market_disconnected",
    message: "market data closed",
  });

  w.clock.set(T0_MS + 597_000 + 120_001);
  await w.store.recordEvent({
    type: "ErrorRaised",
    atMs: T0_MS + 596_000,
    code: "stale_data",
    message: "KRW-BTC: stale",
  });
  await w.store.putTraderState("bot-btc", {
    ...(await w.store.getTraderState("bot-btc"))!,
    lastPriceAtMs: T0_MS + 597_000,
  });
  h = await running.health();
  assert.equal(h.link, "stale", "a price after the drop, but older than stale-after");
  assert.equal(h.lastError?.code, "stale_data");
  w.kv.close();
});

Deno.test("recentSignals(): newest first, a failed signal replaces its announcement", async () => {
  const w = await world();
  await seedPaperStore(w.store, PAPER_RUN, "3900000");
  const op = createOperator({ store: w.store, clock: w.clock, notifier: w.notifier });
  const base = { market: "KRW-BTC", action: "buy" as const };
  await w.store.recordEvent({
    type: "SignalRaised",
    atMs: T0_MS + 1_000,
    signalId: "s1",
    reason: "close under lower band",
    ...base,
  });
  await w.store.recordEvent({
    type: "SignalRaised",
    atMs: T0_MS + 2_000,
    signalId: "s2",
    reason: "close under lower band again",
    ...base,
  });
  await w.store.recordEvent({
    type: "SignalFailed",
    atMs: T0_MS + 2_500,
    signalId: "s2",
    reason: "close under lower band again; not entered: paused",
    ...base,
  });
  const signals = await op.recentSignals({ limit: 5 });
  assert.deepEqual(
    signals.map((s) => [s.id, s.atMs, s.executed, s.reason]),
    [
      ["s2", T0_MS + 2_000, false, "close under lower band again; not entered: paused"],
      ["s1", T0_MS + 1_000, true, "close under lower band"],
    ],
  );
  assert.equal((await op.recentSignals({ limit: 1 })).length, 1);
  w.kv.close();
});

Deno.test("chart(): candles of the run's timeframe, bands after the warm-up, fills as markers", async () => {
  const w = await world();
  const run = { ...PAPER_RUN, timeframe: "5m", strategyParams: { period: 3, std: 2 } };
  await seedPaperStore(w.store, run, "3900000");
  // The loop's recorded 1-minute candles, from 15 minutes before the window to its end.
  const recorded: Candle[] = [];
  for (let t = T0_MS - 25 * 60_000; t < T0_MS + 10 * 60_000; t += 60_000) {
    const px = 100_000_000 + ((t - T0_MS) / 60_000) * 10_000;
    recorded.push({
      startMs: t,
      open: px,
      high: px + 5,
      low: px - 5,
      close: px,
      volume: 1,
      value: px,
    });
  }
  await w.store.recordCandles("KRW-BTC", recorded);
  const op = createOperator({ store: w.store, clock: w.clock, notifier: w.notifier });
  w.clock.set(T0_MS + 10 * 60_000 - 1);
  const chart = await op.chart({ market: "KRW-BTC", bars: 4 });
  assert.equal(chart.timeframe, "5m");
  assert.deepEqual(
    chart.candles.map((c) => c.time * 1000),
    [0, 5, 10, 15].map((m) => T0_MS + (m - 10) * 60_000),
  );
  assert.equal(chart.candles[0]!.open, 100_000_000 - 100_000);
  assert.equal(chart.candles[0]!.close, 100_000_000 - 60_000);
  assert.equal(chart.bands.length, 2, "period 3: two bands out of four candles");
  assert.ok(chart.bands.every((b) => b.lower < b.middle && b.middle < b.upper));
  // The BTC buy at T0 + 3 min sits on the 5-minute candle starting at T0.
  assert.deepEqual(chart.markers, [{ time: T0_MS / 1000, side: "bid", price: 100_000_000 }]);
  await assert.rejects(op.chart({ market: "KRW-XRP", bars: 4 }), /market: KRW-XRP is not traded/);
  assert.deepEqual((await op.chart({ market: "KRW-ETH", bars: 4 })).candles, [], "none recorded");
  w.kv.close();
});

Deno.test("equityCurve(): with a cap, the cap plus each market's gain; thinned keeping the newest", async () => {
  const w = await world();
  await seedPaperStore(w.store, { ...PAPER_RUN, capitalKrw: "1000000" }, "3900000");
  const op = createOperator({ store: w.store, clock: w.clock, notifier: w.notifier });
  const krw = (n: number) => BigInt(n) * 100_000_000n;
  // Each market's ledger opened with the whole 1,000,000 cap.
  await w.store.recordEquity({
    market: "KRW-BTC",
    tsMs: T0_MS + 1_000,
    equity: krw(1_006_000),
    cash: 0n,
  });
  await w.store.recordEquity({
    market: "KRW-ETH",
    tsMs: T0_MS + 2_000,
    equity: krw(990_000),
    cash: 0n,
  });
  await w.store.recordEquity({
    market: "KRW-BTC",
    tsMs: T0_MS + 3_000,
    equity: krw(1_010_000),
    cash: 0n,
  });
  const curve = await op.equityCurve({ fromMs: T0_MS, points: 10 });
  assert.deepEqual(curve.map((p) => [p.time * 1000 - T0_MS, p.value]), [
    [1_000, 1_006_000],
    [2_000, 996_000],
    [3_000, 1_000_000],
  ]);
  const thin = await op.equityCurve({ fromMs: T0_MS, points: 2 });
  assert.deepEqual(thin.map((p) => p.value), [1_006_000, 1_000_000], "evenly spaced, newest kept");
  w.kv.close();
});
