import assert from "node:assert/strict";
import { DAY_MS } from "../../../engine/core/candle.ts";
import {
  issueDueReports,
  runWatchdog,
  startDailyWorker,
} from "../../../engine/operator/daily_worker.ts";
import type { TraderState } from "../../../engine/ports.ts";
import { recordTestRun, traderConfig, world } from "../_trader_fixtures.ts";

const MIN = 60_000;
const DAY = Date.UTC(2026, 11, 7);

function state(atMs: { loop: number; data: number }): TraderState {
  return {
    guard: null,
    levels: null,
    cooldownUntilMs: 0,
    lastDecisionMs: 0,
    lastPrice: 100,
    lastPriceAtMs: atMs.data,
    updatedAtMs: atMs.loop,
  };
}

Deno.test("runWatchdog() alerts once when stale and once on recovery, per check and market", async () => {
  const w = await world();
  try {
    w.clock.set(DAY);
    const config = traderConfig({ staleAfterMs: 2 * MIN });
    await recordTestRun(w, config);
    const deps = { store: w.store, clock: w.clock, notifier: w.notifier };
    await w.store.putTraderState(config.botId, state({ loop: DAY, data: DAY }));
    assert.deepEqual(await runWatchdog(deps), []);
    // The feed goes quiet: data past 2 min alerts once, however often checked.
    const raised = [];
    for (let m = 1; m <= 9; m++) {
      w.clock.set(DAY + m * MIN);
      raised.push(...await runWatchdog(deps));
    }
    assert.deepEqual(raised.map((e) => [e.check, e.stale, e.atMs - DAY]), [
      ["market_data", true, 3 * MIN],
    ]);
    // The loop (limit max(10 min, 2 x 2 min)) follows at 11 min.
    for (let m = 10; m <= 15; m++) {
      w.clock.set(DAY + m * MIN);
      raised.push(...await runWatchdog(deps));
    }
    assert.deepEqual(raised.slice(1).map((e) => [e.check, e.stale, e.atMs - DAY]), [
      ["loop", true, 11 * MIN],
    ]);
    // Both recover: one event each, then silence.
    await w.store.putTraderState(
      config.botId,
      state({ loop: DAY + 15 * MIN, data: DAY + 15 * MIN }),
    );
    const back = [...await runWatchdog(deps), ...await runWatchdog(deps)];
    assert.deepEqual(back.map((e) => [e.check, e.stale]), [["loop", false], [
      "market_data",
      false,
    ]]);
    // A restart after a long stop: the process's start counts as the last sign of life.
    w.clock.set(DAY + 300 * MIN);
    assert.deepEqual(await runWatchdog(deps, { sinceMs: DAY + 299 * MIN }), []);
    const journal = (await w.store.listEvents()).filter((e) => e.type === "WatchdogAlert");
    assert.equal(journal.length, 4);
    assert.equal(w.notifier.events.filter((e) => e.type === "WatchdogAlert").length, 4);
  } finally {
    w.kv.close();
  }
});

Deno.test("issueDueReports(): concurrent triggers issue each due report once", async () => {
  const w = await world();
  try {
    w.clock.set(DAY + 3 * 60 * MIN);
    await recordTestRun(w);
    w.clock.set(DAY + 3 * DAY_MS + MIN);
    const deps = { store: w.store, clock: w.clock, notifier: w.notifier };
    const all = (await Promise.all([1, 2, 3, 4].map(() => issueDueReports(deps)))).flat();
    assert.deepEqual(all.sort(), ["2026-12-07", "2026-12-08", "2026-12-09"]);
    assert.deepEqual(await issueDueReports(deps), []);
    const journal = (await w.store.listEvents()).filter((e) => e.type === "DailyReport");
    assert.equal(journal.length, 3);
  } finally {
    w.kv.close();
  }
});

Deno.test("startDailyWorker(): checks on its clock and each schedule trigger; stop() ends the run cleanly", async () => {
  const w = await world();
  try {
    w.clock.set(DAY + 12 * 60 * MIN);
    await recordTestRun(w);
    const scheduled: { name: string; spec: string; run: () => Promise<void> }[] = [];
    const worker = startDailyWorker({
      store: w.store,
      clock: w.clock,
      notifier: w.notifier,
      schedule: (name, spec, run) => scheduled.push({ name, spec, run }),
    }, { reportTime: { hour: 10, minute: 0 } });
    assert.deepEqual(scheduled.map((s) => [s.name, s.spec]), [
      ["daily report", "0 1 * * *"],
      ["watchdog", "* * * * *"],
    ]);
    await worker.check();
    // 09:30 KST next day: not due (10:00 KST); the cron trigger at 10:00 KST issues it.
    w.clock.set(DAY + DAY_MS + 30 * MIN);
    await worker.check();
    assert.equal((await w.store.listReportMarkers({ limit: 5 })).length, 0);
    w.clock.set(DAY + DAY_MS + 60 * MIN);
    await scheduled[0]!.run();
    assert.deepEqual((await w.store.listReportMarkers({ limit: 5 })).map((m) => m.date), [
      "2026-12-07",
    ]);
    await worker.stop();
    const runs = await w.store.listRuns();
    assert.equal(runs.length, 1);
    assert.equal(runs[0]!.endedAtMs, DAY + DAY_MS + 60 * MIN);
  } finally {
    w.kv.close();
  }
});
