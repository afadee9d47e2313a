import assert from "node:assert/strict";
import type { EngineEvent } from "../../engine/ports.ts";
import { createStrategy } from "../../engine/core/strategies/mod.ts";
import {
  candle,
  marketStatusAt,
  minute,
  operatorOf,
  recordTestRun,
  runSteps,
  scripted,
  traderConfig,
  type World,
  world,
  worldDeps,
} from "./_trader_fixtures.ts";

async function fillsBySide(w: World): Promise<{ side: string; tsMs: number; price: string }[]> {
  const fills = await w.store.listFills();
  return [...fills].sort((a, b) => a.tsMs - b.tsMs).map((f) => ({
    side: f.side,
    tsMs: f.tsMs,
    price: String(f.price),
  }));
}

function ofType<T extends EngineEvent["type"]>(
  events: readonly EngineEvent[],
  type: T,
): Extract<EngineEvent, { type: T }>[] {
  return events.filter((e): e is Extract<EngineEvent, { type: T }> => e.type === type);
}

const BUY_AT_0 = scripted({ [minute(0)]: "buy" });

Deno.test("runTrader() fires the stop loss on a price update in the middle of a candle", async () => {
  const w = await world();
  await runSteps(w, traderConfig({ strategy: BUY_AT_0 }), [
    { atMs: minute(0) + 30_000, price: 100_000_000 },
    { atMs: minute(1) + 500, candle: candle(0, 100_000_000) },
    { atMs: minute(1) + 20_000, price: 97_000_000 },
    { atMs: minute(1) + 25_000, price: 94_900_000 },
    { atMs: minute(1) + 26_000, price: 94_000_000 },
  ]);
  const fills = await fillsBySide(w);
  assert.equal(fills.length, 2);
  assert.equal(fills[0]!.side, "bid");
  assert.equal(fills[0]!.tsMs, minute(1) + 500);
  assert.equal(fills[1]!.side, "ask");
  // Within one price update of crossing the stop (95,000,000), mid-candle.
  assert.equal(fills[1]!.tsMs, minute(1) + 25_000);
  const risk = ofType(w.notifier.events, "RiskTriggered");
  assert.deepEqual(risk.map((e) => [e.rule, e.price]), [["stop_loss", "94900000"]]);
  const status = await marketStatusAt(w, minute(2));
  assert.equal(status.position, null);
  w.kv.close();
});

Deno.test("runTrader() exits before it enters: a stop at a close, then the close's buy", async () => {
  const w = await world();
  const strategy = scripted({ [minute(0)]: "buy", [minute(2)]: "buy" });
  await runSteps(w, traderConfig({ strategy }), [
    { atMs: minute(0) + 30_000, price: 100_000_000 },
    { atMs: minute(1) + 500, candle: candle(0, 100_000_000) },
    { atMs: minute(2) + 500, candle: candle(1, 99_000_000) },
    // The candle of minute 2 closes below the stop and the strategy says buy at that close.
    { atMs: minute(3) + 500, candle: candle(2, 94_000_000) },
  ]);
  // In the order they happened (the two at minute 3 share a timestamp).
  const fills = ofType(w.notifier.events, "OrderFilled");
  assert.deepEqual(fills.map((f) => [f.side, f.atMs]), [
    ["bid", minute(1) + 500],
    ["ask", minute(3) + 500],
    ["bid", minute(3) + 500],
  ]);
  const status = await marketStatusAt(w, minute(4));
  // The new entry at 94,001,000 (best ask) has its own stop, 5% below.
  assert.equal(status.position?.stop, "89300000");
  w.kv.close();
});

Deno.test("runTrader() paused blocks entries but still exits", async () => {
  const w = await world();
  const strategy = scripted({ [minute(0)]: "buy", [minute(1)]: "sell", [minute(3)]: "buy" });
  await runSteps(w, traderConfig({ strategy }), [
    { atMs: minute(0) + 30_000, price: 100_000_000 },
    { atMs: minute(1) + 500, candle: candle(0, 100_000_000) },
  ]);
  await recordTestRun(w);
  const paused = await operatorOf(w).execute("ctl", { kind: "pause", reason: "operator" });
  assert.equal(paused.result, "done");
  const again = await world({ reuse: w });
  await runSteps(again, traderConfig({ strategy }), [
    { atMs: minute(2) + 500, candle: candle(1, 101_000_000) },
    { atMs: minute(3) + 500, candle: candle(2, 101_000_000) },
    { atMs: minute(4) + 500, candle: candle(3, 101_000_000) },
  ]);
  const fills = await fillsBySide(w);
  assert.deepEqual(fills.map((f) => f.side), ["bid", "ask"]);
  const signals = await w.store.listSignals("KRW-BTC");
  const skipped = signals.find((s) => s.signalId === `script@${minute(3)}`);
  assert.match(skipped?.reason ?? "", /not entered: trading is paused \(operator\)/);
  const resumed = await operatorOf(again).execute("ctl", { kind: "resume" });
  assert.equal(resumed.result, "done", resumed.detail);
  assert.equal((await w.store.getControl()).paused, false);
  w.kv.close();
});

Deno.test("runTrader() stale data blocks entries and raises an alert", async () => {
  const w = await world();
  await runSteps(w, traderConfig({ strategy: BUY_AT_0, staleAfterMs: 60_000 }), [
    { atMs: minute(0) + 30_000, price: 100_000_000 },
    // The close of minute 0 arrives five minutes late (a back-fill after an outage).
    { atMs: minute(6), candle: candle(0, 100_000_000) },
  ]);
  assert.equal((await w.store.listFills()).length, 0);
  const [signal] = await w.store.listSignals("KRW-BTC");
  assert.match(signal?.reason ?? "", /not entered: stale data/);
  const alerts = ofType(w.notifier.events, "ErrorRaised").filter((e) => e.code === "stale_data");
  assert.equal(alerts.length, 1);
  assert.ok(ofType(await w.store.listEvents(), "ErrorRaised").some((e) => e.code === "stale_data"));
  w.kv.close();
});

Deno.test("runTrader() keeps the daily loss limit across a restart", async () => {
  const rules = {
    stopLossPct: 3,
    takeProfitPct: 10,
    maxDailyLossPct: 2,
    trailingStopPct: 0,
    cooldownMs: 0,
  };
  const w = await world();
  const strategy = scripted({ [minute(0)]: "buy", [minute(3)]: "buy" });
  await runSteps(w, traderConfig({ strategy, rules }), [
    { atMs: minute(0) + 30_000, price: 100_000_000 },
    { atMs: minute(1) + 500, candle: candle(0, 100_000_000) },
    { atMs: minute(1) + 10_000, price: 96_000_000 },
  ]);
  assert.deepEqual((await fillsBySide(w)).map((f) => f.side), ["bid", "ask"]);
  const first = await marketStatusAt(w, minute(2));
  assert.equal(first.dailyLossBlocked, true);
  // A new process: a new store object over the same KV, a fresh strategy.
  const again = await world({ reuse: w });
  await runSteps(again, traderConfig({ strategy, rules }), [
    { atMs: minute(3) + 30_000, price: 96_000_000 },
    { atMs: minute(4) + 500, candle: candle(3, 96_000_000) },
  ]);
  assert.equal((await w.store.listFills()).length, 2);
  const signal = (await again.store.listSignals("KRW-BTC")).find((s) =>
    s.signalId === `script@${minute(3)}`
  );
  assert.match(signal?.reason ?? "", /not entered: daily loss limit reached/);
  w.kv.close();
});

Deno.test("runTrader() logs a strategy signal before its order and fill, entry and exit", async () => {
  const w = await world();
  const strategy = scripted({ [minute(0)]: "buy", [minute(1)]: "sell" });
  await runSteps(w, traderConfig({ strategy }), [
    { atMs: minute(0) + 30_000, price: 100_000_000 },
    { atMs: minute(1) + 500, candle: candle(0, 100_000_000) },
    { atMs: minute(2) + 500, candle: candle(1, 101_000_000) },
  ]);
  const story = w.notifier.events
    .filter((e) =>
      ["SignalRaised", "SignalFailed", "OrderSubmitted", "OrderFilled"].includes(e.type)
    )
    .map((e) =>
      "side" in e ? `${e.type} ${e.side}` : "action" in e ? `${e.type} ${e.action}` : e.type
    );
  assert.deepEqual(story, [
    "SignalRaised buy",
    "OrderSubmitted bid",
    "OrderFilled bid",
    "SignalRaised sell",
    "OrderSubmitted ask",
    "OrderFilled ask",
  ]);
  // The journal (the page's and Telegram's source) tells the same story in the same order.
  const journal = (await w.store.listJournal({ limit: 100 })).map((j) => j.event)
    .filter((e) =>
      ["SignalRaised", "SignalFailed", "OrderSubmitted", "OrderFilled"].includes(e.type)
    )
    .map((e) =>
      "side" in e ? `${e.type} ${e.side}` : "action" in e ? `${e.type} ${e.action}` : e.type
    );
  assert.deepEqual(journal, story);
  // The store keeps one record per signal, executed, at the time it was raised.
  const records = await w.store.listSignals("KRW-BTC");
  const raised = ofType(w.notifier.events, "SignalRaised");
  assert.deepEqual(
    records.map((r) => [r.signalId, r.action, r.reason, r.atMs]),
    raised.map((r) => [r.signalId, r.action, r.reason, r.atMs]),
  );
  for (const r of records) assert.doesNotMatch(r.reason, /not (entered|executed)/);
  w.kv.close();
});

Deno.test("runTrader() reports a signal whose order the venue rejects after logging it", async () => {
  const w = await world();
  w.exchange.placeOrder = () =>
    Promise.resolve({ ok: false, error: { name: "market_offline", message: "closed" } });
  await runSteps(w, traderConfig({ strategy: BUY_AT_0 }), [
    { atMs: minute(0) + 30_000, price: 100_000_000 },
    { atMs: minute(1) + 500, candle: candle(0, 100_000_000) },
  ]);
  const types = w.notifier.events.map((e) => e.type)
    .filter((t) => ["SignalRaised", "SignalFailed", "OrderRejected"].includes(t));
  assert.deepEqual(types, ["SignalRaised", "OrderRejected", "SignalFailed"]);
  const journaled = (await w.store.listJournal({ limit: 100 })).map((j) => j.event.type)
    .filter((t) => ["SignalRaised", "SignalFailed", "OrderRejected"].includes(t));
  assert.deepEqual(journaled, ["SignalRaised", "OrderRejected", "SignalFailed"]);
  const [record] = await w.store.listSignals("KRW-BTC");
  assert.match(record?.reason ?? "", /; not entered: order rejected/);
  const [failed] = ofType(w.notifier.events, "SignalFailed");
  assert.equal(failed?.reason, record?.reason);
  assert.equal(ofType(w.notifier.events, "SignalRaised")[0]?.atMs, record?.atMs);
  w.kv.close();
});

Deno.test("runTrader() records a signal it cannot execute, with the reason", async () => {
  const w = await world({ krw: 4_000 });
  await runSteps(w, traderConfig({ strategy: BUY_AT_0 }), [
    { atMs: minute(0) + 30_000, price: 100_000_000 },
    { atMs: minute(1) + 500, candle: candle(0, 100_000_000) },
  ]);
  const [signal] = await w.store.listSignals("KRW-BTC");
  assert.equal(signal?.action, "buy");
  assert.match(signal?.reason ?? "", /not entered: order total .* under the 5,000 KRW minimum/);
  const raised = ofType(w.notifier.events, "SignalRaised");
  assert.equal(raised.length, 1);
  assert.equal(raised[0]?.reason, signal?.reason);

  // A ticker's market warning blocks the entry too.
  const warned = await world();
  const events = [
    { atMs: minute(0) + 30_000, price: 100_000_000 },
    { atMs: minute(1) + 500, candle: candle(0, 100_000_000) },
  ] as const;
  await runStepsWithWarning(warned, events);
  const [blocked] = await warned.store.listSignals("KRW-BTC");
  assert.match(blocked?.reason ?? "", /not entered: market warning: market PREVIEW/);
  w.kv.close();
  warned.kv.close();
});

async function runStepsWithWarning(
  w: World,
  steps: readonly [
    { atMs: number; price: number },
    { atMs: number; candle: ReturnType<typeof candle> },
  ],
): Promise<void> {
  const { runTrader } = await import("../../engine/trader.ts");
  const config = traderConfig({ strategy: BUY_AT_0 });
  async function* feed() {
    w.clock.set(steps[0].atMs);
    yield {
      kind: "price" as const,
      market: "KRW-BTC",
      price: steps[0].price,
      atMs: steps[0].atMs,
      source: "ticker" as const,
      warning: "market PREVIEW",
    };
    w.clock.set(steps[1].atMs);
    yield { kind: "candle" as const, market: "KRW-BTC", candle: steps[1].candle };
  }
  await runTrader(
    worldDeps(w, feed()),
    config,
    new AbortController().signal,
  );
}

Deno.test("runTrader() restores the position and its exit levels on restart without re-ordering", async () => {
  const w = await world();
  await runSteps(w, traderConfig({ strategy: BUY_AT_0 }), [
    { atMs: minute(0) + 30_000, price: 100_000_000 },
    { atMs: minute(1) + 500, candle: candle(0, 100_000_000) },
    { atMs: minute(1) + 20_000, price: 99_000_000 },
  ]);
  const before = await marketStatusAt(w, minute(2));
  assert.ok(before.position !== null);
  const again = await world({ reuse: w });
  const restored = await marketStatusAt(again, minute(2));
  assert.deepEqual(restored.position, before.position);
  // The restarted stream back-fills the decided candle again; the strategy says buy again.
  await runSteps(again, traderConfig({ strategy: BUY_AT_0 }), [
    { atMs: minute(1) + 40_000, candle: candle(0, 100_000_000) },
    { atMs: minute(1) + 41_000, price: 98_000_000 },
    { atMs: minute(1) + 42_000, price: 95_100_000 },
    { atMs: minute(1) + 43_000, price: 94_000_000 },
  ], { history: [candle(0, 100_000_000)] });
  const fills = await fillsBySide(w);
  assert.deepEqual(fills.map((f) => [f.side, f.tsMs]), [
    ["bid", minute(1) + 500],
    ["ask", minute(1) + 43_000],
  ]);
  const submitted = ofType(await w.store.listEvents(), "OrderSubmitted");
  assert.equal(submitted.length, 2);
  // Each order says the price it was decided at (the fills' slippage is measured against it).
  assert.deepEqual(submitted.map((e) => [e.side, e.refPrice]), [
    ["bid", "100000000"],
    ["ask", "94000000"],
  ]);
  w.kv.close();
});

Deno.test("operator stop --sell halts, cancels our open orders and sells the position", async () => {
  const w = await world();
  await runSteps(w, traderConfig({ strategy: BUY_AT_0 }), [
    { atMs: minute(0) + 30_000, price: 100_000_000 },
    { atMs: minute(1) + 500, candle: candle(0, 100_000_000) },
  ]);
  await recordTestRun(w);
  const outcome = await operatorOf(w).execute("ctl", { kind: "stop", sell: true });
  assert.equal(outcome.result, "done", outcome.detail);
  const [report] = outcome.reports;
  assert.deepEqual(report?.cancelled, []);
  assert.deepEqual(report?.errors, []);
  assert.equal(report?.sold?.state, "FILLED");
  const equity = await w.store.listEquity({ market: "KRW-BTC" });
  assert.equal(equity.at(-1)?.equity, equity.at(-1)?.cash, "the sale's snapshot: all cash");
  const status = await marketStatusAt(w, minute(2));
  assert.equal(status.paused, true);
  assert.equal(status.halted, true);
  assert.equal(status.position, null);
  assert.deepEqual(status.openIntents, []);
  w.kv.close();
});

Deno.test("operator status reads a fresh store", async () => {
  const w = await world();
  const status = await marketStatusAt(w, minute(0));
  assert.equal(status.paused, false);
  assert.equal(status.position, null);
  assert.equal(status.lastPrice, null);
  assert.equal(status.dailyPnl, "0");
  w.kv.close();
});

Deno.test("runTrader() applies a stop-loss change at the next candle close, to the open position too", async () => {
  const w = await world();
  const config = traderConfig({ strategy: BUY_AT_0 });
  await recordTestRun(w, config);
  await runSteps(w, config, [
    { atMs: minute(0) + 30_000, price: 100_000_000 },
    { atMs: minute(1) + 500, candle: candle(0, 100_000_000) },
    {
      atMs: minute(1) + 1_000,
      run: async () => {
        const out = await operatorOf(w).execute("ctl", {
          kind: "set",
          name: "stop-loss",
          value: "2",
        });
        assert.equal(out.result, "done", out.detail);
      },
    },
    // Not yet applied: 97,500,000 is above the old stop (95,000,000 - 5%).
    { atMs: minute(1) + 20_000, price: 97_500_000 },
    // The close applies it: the stop moves to 2% below the entry (98,000,100).
    { atMs: minute(2) + 500, candle: candle(1, 99_000_000) },
    { atMs: minute(2) + 20_000, price: 97_900_000 },
  ]);
  const fills = await fillsBySide(w);
  assert.deepEqual(fills.map((f) => [f.side, f.tsMs]), [
    ["bid", minute(1) + 500],
    ["ask", minute(2) + 20_000],
  ]);
  const applied = ofType(w.notifier.events, "StateChanged").filter((e) =>
    /run-time parameters v1 applied/.test(e.reason)
  );
  assert.equal(applied.length, 1);
  assert.ok(
    (await w.store.listEvents()).some((e) =>
      e.type === "StateChanged" && /run-time parameters v1 applied/.test(e.reason)
    ),
    "in the journal too (the event stream's source of truth)",
  );
  // An equity snapshot at each candle close and each fill.
  const equity = await w.store.listEquity({ market: "KRW-BTC" });
  assert.ok(equity.some((e) => e.tsMs === minute(2) + 20_000), "a snapshot at the sale");
  assert.ok(equity.length >= 3, `snapshots: ${equity.length}`);
  w.kv.close();
});

Deno.test("runTrader() re-creates and re-warms the strategy when a period changes", async () => {
  const w = await world();
  const config = traderConfig({
    strategy: createStrategy("bb", { period: 20, std: 2.5 }),
    strategyId: "bb",
    strategyParams: { period: 20, std: 2.5 },
  });
  await recordTestRun(w, config);
  const history = Array.from({ length: 30 }, (_, i) => candle(i - 30, 100_000_000 + i * 1000));
  const ranges: { fromMs: number; toMs: number }[] = [];
  const steps = [
    { atMs: minute(0) + 500, candle: candle(-1, 100_030_000) },
    {
      atMs: minute(0) + 1_000,
      run: async () => {
        const out = await operatorOf(w).execute("ctl", { kind: "set", name: "period", value: "5" });
        assert.equal(out.result, "done", out.detail);
      },
    },
    { atMs: minute(1) + 500, candle: candle(0, 100_031_000) },
  ];
  await runSteps(w, config, steps, {
    history,
    onHistory: (range) => ranges.push(range),
  });
  const applied = ofType(w.notifier.events, "StateChanged").map((e) => e.reason)
    .filter((r) => r.includes("run-time parameters"));
  assert.deepEqual(applied, [
    "KRW-BTC: run-time parameters v1 applied (strategy bb(5, 2.5), re-warmed)",
  ]);
  // The warm-up at start for period 20, then the re-warm for period 5 (5 + 2 closed buckets).
  assert.equal(ranges.length, 2);
  assert.equal(ranges[1]!.toMs - ranges[1]!.fromMs, 7 * 60_000);
  w.kv.close();
});

Deno.test("operator stop --sell after a stop without sale still sells (shrunk counterexample)", async () => {
  const w = await world();
  await runSteps(w, traderConfig({ strategy: BUY_AT_0 }), [
    { atMs: minute(0) + 30_000, price: 100_000_000 },
    { atMs: minute(1) + 500, candle: candle(0, 100_000_000) },
  ]);
  await recordTestRun(w);
  const first = await operatorOf(w).execute("ctl", { kind: "stop", sell: false });
  assert.equal(first.result, "done", first.detail);
  assert.notEqual(first.status.markets[0]!.position, null, "without --sell the position stays");
  const second = await operatorOf(w).execute("ctl", { kind: "stop", sell: true });
  assert.equal(second.result, "done", second.detail);
  assert.equal(second.reports[0]?.sold?.state, "FILLED");
  assert.equal(second.status.markets[0]!.position, null);
  assert.equal(second.status.halted, true);
  w.kv.close();
});

Deno.test("runTrader() starts with the stored run-time parameters: they survive a restart", async () => {
  const w = await world();
  const config = traderConfig({ strategy: BUY_AT_0 });
  await recordTestRun(w, config);
  const set = await operatorOf(w, { running: false }).execute("ctl", {
    kind: "set",
    name: "stop-loss",
    value: "2",
  });
  assert.equal(set.result, "done", set.detail);
  // A new process with the start-up config's 5%: the stored 2% wins from the first entry.
  const again = await world({ reuse: w });
  await runSteps(again, config, [
    { atMs: minute(0) + 30_000, price: 100_000_000 },
    { atMs: minute(1) + 500, candle: candle(0, 100_000_000) },
    { atMs: minute(1) + 20_000, price: 97_900_000 },
  ]);
  const fills = await fillsBySide(w);
  assert.deepEqual(fills.map((f) => [f.side, f.tsMs]), [
    ["bid", minute(1) + 500],
    ["ask", minute(1) + 20_000],
  ]);
  w.kv.close();
});

Deno.test("runTrader() keeps the status's last price fresh: each candle close, and at stop", async () => {
  const w = await world();
  const seen: (number | null)[] = [];
  const look = (atMs: number) => ({
    atMs,
    run: async () => void seen.push((await marketStatusAt(w, atMs)).lastPrice),
  });
  await runSteps(w, traderConfig(), [
    { atMs: minute(0) + 30_000, price: 100_000_000 },
    { atMs: minute(1) + 500, candle: candle(0, 100_000_000) },
    { atMs: minute(1) + 20_000, price: 101_000_000 },
    { atMs: minute(2) + 500, candle: candle(1, 102_000_000) },
    look(minute(2) + 600),
    { atMs: minute(2) + 30_000, price: 103_000_000 },
    { atMs: minute(3) + 500, candle: candle(2, 104_000_000) },
    look(minute(3) + 600),
    // Trade messages alone write nothing (the price path has no KV write)...
    { atMs: minute(3) + 10_000, price: 105_000_000 },
    look(minute(3) + 10_100),
    // ...and the stop writes the last one.
    { atMs: minute(3) + 20_000, price: 106_000_000 },
  ]);
  assert.deepEqual(seen, [102_000_000, 104_000_000, 104_000_000]);
  const stopped = await marketStatusAt(w, minute(4));
  assert.equal(stopped.lastPrice, 106_000_000);
  assert.equal(stopped.lastPriceAtMs, minute(3) + 20_000);
  w.kv.close();
});
