import assert from "node:assert/strict";
import { createOperator, type Operator } from "../../../engine/operator/mod.ts";
import { DEFAULT_RISK_RULES } from "../../../engine/core/risk.ts";
import { minute, RecordingNotifier, type World, world } from "../_trader_fixtures.ts";
import { fillBatch, PAPER_RUN } from "../_operator_world.ts";
import { u } from "../_order_fixtures.ts";

/** A stopped bot's store with a run record (the operator over the store alone). */
async function stopped(w: World, ids: string[] = []): Promise<Operator> {
  await w.store.putRunRecord(PAPER_RUN);
  let n = 0;
  return createOperator({
    store: w.store,
    clock: w.clock,
    notifier: w.notifier,
    newId: () => ids[n++] ?? `id-${n}`,
  });
}

Deno.test("execute() records who, what, when and the result in the audit log, newest first", async () => {
  const w = await world();
  const op = await stopped(w);
  w.clock.set(minute(1));
  const paused = await op.execute("telegram:42", { kind: "pause", reason: "lunch" });
  w.clock.set(minute(2));
  const resumed = await op.execute("web:s3ss10n", { kind: "resume" });
  w.clock.set(minute(3));
  const forged = await op.execute("root", { kind: "stop", sell: true });
  const bad = await op.execute("ctl", { kind: "explode" });
  assert.equal(paused.result, "done");
  assert.equal(paused.status.paused, true);
  assert.equal(resumed.result, "done");
  assert.equal(resumed.status.paused, false);
  assert.equal(forged.result, "refused");
  assert.match(forged.detail, /^actor: expected ctl, telegram:<user id> or web:<session>$/);
  assert.equal(forged.status.halted, false, "a refused stop changes nothing");
  assert.equal(bad.result, "refused");
  assert.match(bad.detail, /^kind: /);
  const log = await op.auditLog({ limit: 10 });
  assert.deepEqual(
    log.map((r) => [r.atMs, r.actor, r.command, r.result]),
    [
      [minute(3), "ctl", "invalid", "refused"],
      [minute(3), "invalid", "stop --sell", "refused"],
      [minute(2), "web:s3ss10n", "resume", "done"],
      [minute(1), "telegram:42", "pause: lunch", "done"],
    ].sort((a, b) => Number(b[0]) - Number(a[0]) || String(a[1]).localeCompare(String(b[1]))),
  );
  // Each command is also an event of the journal (what Telegram and the page listen to).
  const events = (await w.store.listEvents()).filter((e) => e.type === "CommandExecuted");
  assert.equal(events.length, 4);
  assert.equal(w.notifier.events.filter((e) => e.type === "CommandExecuted").length, 4);
  w.kv.close();
});

Deno.test("execute() stop without a bot halts and pauses, and every later order is refused", async () => {
  const w = await world();
  const op = await stopped(w);
  const out = await op.execute("ctl", { kind: "stop", sell: true });
  assert.equal(out.result, "done");
  assert.match(out.detail, /no bot is running, so no order was cancelled or sold/);
  assert.equal(out.status.halted, true);
  assert.equal(out.status.paused, true);
  assert.equal(out.status.running, false);
  const control = await w.store.getControl();
  assert.equal(control.halted, true);
  w.kv.close();
});

Deno.test("status() shows every market of the run record and the account's sums", async () => {
  const w = await world();
  const op = await stopped(w);
  await w.store.openLedger("KRW-BTC", u("500000"));
  await w.store.openLedger("KRW-ETH", u("500000"));
  // BTC: bought and sold at a profit of 10,000; ETH: bought and sold at a loss of 4,000, then held.
  await w.store.applyFills(
    fillBatch("KRW-BTC", "bid", { price: "100000000", vol: "0.001", at: minute(1) }),
  );
  await w.store.applyFills(
    fillBatch("KRW-BTC", "ask", { price: "110000000", vol: "0.001", at: minute(2) }),
  );
  await w.store.applyFills(
    fillBatch("KRW-ETH", "bid", { price: "5000000", vol: "0.02", at: minute(3) }),
  );
  await w.store.applyFills(
    fillBatch("KRW-ETH", "ask", { price: "4800000", vol: "0.02", at: minute(4) }),
  );
  await w.store.applyFills(
    fillBatch("KRW-ETH", "bid", { price: "4000000", vol: "0.01", at: minute(5) }),
  );
  w.clock.set(minute(6));
  const s = await op.status();
  assert.deepEqual(s.markets.map((m) => [m.market, m.botId]), [
    ["KRW-BTC", "bot-btc"],
    ["KRW-ETH", "bot-eth"],
  ]);
  const [btc, eth] = s.markets;
  assert.equal(btc!.dailyPnl, "10000");
  assert.equal(eth!.dailyPnl, "-4000");
  assert.equal(s.account.dailyPnl, "6000", "the markets' day P&L adds up to the account's");
  assert.equal(s.account.realizedPnl, "6000");
  assert.equal(btc!.position, null);
  assert.equal(eth!.position?.volume, "0.01");
  assert.equal(s.account.cash, "966000");
  assert.equal(s.account.positionsCost, "40000");
  assert.equal(s.account.openPositions, 1);
  assert.equal((await op.positions()).length, 1);
  const trades = await op.recentTrades({ limit: 2 });
  assert.deepEqual(trades.map((t) => [t.market, t.side, t.atMs]), [
    ["KRW-ETH", "bid", minute(5)],
    ["KRW-ETH", "ask", minute(4)],
  ]);
  const days = await op.dailyPnl({ days: 2 });
  assert.deepEqual(days[0], {
    dayStartMs: Date.UTC(2026, 10, 24),
    account: "6000",
    markets: { "KRW-BTC": "10000", "KRW-ETH": "-4000" },
  });
  assert.equal(days[1]!.account, "0");
  w.kv.close();
});

Deno.test("equityHistory() sums the markets' latest snapshots at each time", async () => {
  const w = await world();
  const op = await stopped(w);
  await w.store.recordEquity({
    market: "KRW-BTC",
    tsMs: minute(1),
    equity: u("500000"),
    cash: u("500000"),
  });
  await w.store.recordEquity({
    market: "KRW-ETH",
    tsMs: minute(2),
    equity: u("400000"),
    cash: u("0"),
  });
  await w.store.recordEquity({
    market: "KRW-BTC",
    tsMs: minute(3),
    equity: u("510000"),
    cash: u("510000"),
  });
  assert.deepEqual(await op.equityHistory({}), [
    { tsMs: minute(1), equity: "500000", cash: "500000" },
    { tsMs: minute(2), equity: "900000", cash: "500000" },
    { tsMs: minute(3), equity: "910000", cash: "510000" },
  ]);
  assert.deepEqual(
    (await op.equityHistory({ market: "KRW-ETH" })).map((p) => p.equity),
    ["400000"],
  );
  assert.equal(await w.store.pruneEquity("KRW-BTC", minute(2), 100), 1);
  assert.deepEqual((await op.equityHistory({ market: "KRW-BTC" })).map((p) => p.tsMs), [minute(3)]);
  w.kv.close();
});

Deno.test("set: a valid value is stored versioned with its history; a bad one names the param", async () => {
  const w = await world();
  const op = await stopped(w);
  w.clock.set(minute(1));
  const ok1 = await op.execute("ctl", { kind: "set", name: "stop-loss", value: "3" });
  assert.equal(ok1.result, "done", ok1.detail);
  assert.equal(ok1.status.paramsVersion, 1);
  w.clock.set(minute(2));
  const ok2 = await op.execute("telegram:7", { kind: "set", name: "period", value: "30" });
  assert.equal(ok2.result, "done", ok2.detail);
  const cases: [string, string, RegExp][] = [
    ["stop-loss", "150", /^stop-loss: must be <= 99$/],
    ["stop-loss", "abc", /^stop-loss: expected a number$/],
    ["budget", "0", /^budget: must be >= 1$/],
    ["fast", "12", /^fast: not a parameter of strategy bb \(it takes period, std\)$/],
    ["leverage", "10", /^leverage: not a run-time parameter \(one of stop-loss, /],
    ["period", "1.5", /^period: /],
  ];
  for (const [name, value, message] of cases) {
    const out = await op.execute("ctl", { kind: "set", name, value });
    assert.equal(out.result, "refused", `${name} ${value}`);
    assert.match(out.detail, message);
    assert.ok(!out.detail.includes("\n"));
  }
  w.clock.set(minute(3));
  const unset = await op.execute("ctl", { kind: "unset", name: "stop-loss" });
  assert.equal(unset.result, "done", unset.detail);
  const view = await op.params();
  assert.equal(view.version, 3);
  const byName = Object.fromEntries(view.params.map((p) => [p.name, p]));
  assert.deepEqual(byName["stop-loss"], {
    name: "stop-loss",
    value: DEFAULT_RISK_RULES.stopLossPct,
    startup: DEFAULT_RISK_RULES.stopLossPct,
    overridden: false,
  });
  assert.deepEqual(byName.period, { name: "period", value: 30, startup: 20, overridden: true });
  assert.deepEqual(view.history.map((h) => [h.version, h.actor, h.name, h.from, h.to, h.atMs]), [
    [1, "ctl", "stop-loss", null, 3, minute(1)],
    [2, "telegram:7", "period", null, 30, minute(2)],
    [3, "ctl", "stop-loss", 3, null, minute(3)],
  ]);
  w.kv.close();
});

Deno.test("a store without a run record: the operator says to start the bot once", async () => {
  const w = await world();
  const op = createOperator({ store: w.store, clock: w.clock, notifier: new RecordingNotifier() });
  await assert.rejects(() => op.status(), /no run record: start the bot once/);
  w.kv.close();
});
