/**
 * The acceptance test of the daily report: 7 simulated days of the paper loop on real
 * KRW-BTC minutes (the bundled week, re-timed onto the test's days and looped end to end), with
 * the process stopped across one report time (from 22:00 UTC of day 3 to 03:00 UTC of day 4).
 *
 * The loop, the report worker and their clock are the engine's own; the injected clock moves one
 * candle at a time, so the worker's minute check runs as it would in a fast demo. The outcome:
 * exactly 7 reports (markers and `DailyReport` journal events), the one missed while down issued
 * by the start-up catch-up (late), and every figure reconciling to the won with the ledger.
 */

import assert from "node:assert/strict";
import { loadCandleFile } from "../../../engine/adapters/candle_file.ts";
import { type Candle, DAY_MS } from "../../../engine/core/candle.ts";
import { parseUnits } from "../../../engine/core/money.ts";
import { createBollinger } from "../../../engine/core/strategies/mod.ts";
import { reportDate } from "../../../engine/core/daily.ts";
import { dailyReport } from "../../../engine/operator/daily_report.ts";
import { startDailyWorker } from "../../../engine/operator/daily_worker.ts";
import { recordTestRun, runSteps, type Step, traderConfig, world } from "../_trader_fixtures.ts";

const FILE = decodeURIComponent(
  new URL("../../../data/upbit-KRW-BTC-1m-20220531-20220607.csv", import.meta.url).pathname,
);
/** Day 1 of the simulated week (an Upbit day: 00:00 UTC = 09:00 KST). */
const DAY1 = Date.UTC(2026, 11, 7);
const MIN = 60_000;
const HOUR = 60 * MIN;
const WARM_MS = 2 * HOUR;

/** The bundled minutes re-timed to one a minute from `fromMs`, looped to cover `toMs`. */
async function week(fromMs: number, toMs: number): Promise<Candle[]> {
  const real = await loadCandleFile(FILE);
  const out: Candle[] = [];
  for (let i = 0, t = fromMs; t < toMs; i++, t += MIN) {
    out.push({ ...real[i % real.length]!, startMs: t });
  }
  return out;
}

/** The candles as loop steps: each arrives final, a minute after its start. */
function steps(candles: readonly Candle[], fromMs: number, toMs: number): Step[] {
  return candles.filter((c) => c.startMs >= fromMs && c.startMs < toMs)
    .map((c) => ({ atMs: c.startMs + MIN, candle: c }));
}

Deno.test({
  name: "7 simulated days, stopped across one report time: exactly 7 reports, reconciled",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const candles = await week(DAY1 - WARM_MS, DAY1 + 7 * DAY_MS + 10 * MIN);
    const config = traderConfig({
      botId: "week",
      timeframe: "5m",
      strategy: createBollinger({ period: 20, std: 2.5 }),
      strategyId: "bb",
      strategyParams: { period: 20, std: 2.5 },
      rules: {
        stopLossPct: 1,
        takeProfitPct: 1.5,
        maxDailyLossPct: 10,
        trailingStopPct: 0,
        cooldownMs: 0,
      },
      staleAfterMs: 15 * MIN,
    });
    const stopAt = DAY1 + 2 * DAY_MS + 22 * HOUR;
    const restartAt = DAY1 + 3 * DAY_MS + 3 * HOUR;
    const endAt = DAY1 + 7 * DAY_MS + 5 * MIN;

    // Run 1: day 1 00:00 to day 3 22:00, then the process stops.
    const w1 = await world({ krw: 10_000_000, price: candles[0]!.close });
    try {
      w1.clock.set(DAY1);
      await recordTestRun(w1, config);
      const worker1 = startDailyWorker({ store: w1.store, clock: w1.clock, notifier: w1.notifier });
      await runSteps(
        w1,
        { ...config, strategy: createBollinger({ period: 20, std: 2.5 }) },
        steps(candles, DAY1 - MIN, stopAt),
        {
          history: candles,
        },
      );
      await worker1.stop();
      const before = await w1.store.listReportMarkers({ limit: 20 });
      assert.deepEqual(before.map((m) => m.date).reverse(), [
        reportDate(DAY1),
        reportDate(DAY1 + DAY_MS),
      ]);

      // Down across day 3's report time (day 4 00:00 UTC); run 2 from day 4 03:00 to day 8 00:05.
      const w2 = await world({ reuse: w1 });
      w2.clock.set(restartAt);
      await recordTestRun(w2, config);
      const worker2 = startDailyWorker({ store: w2.store, clock: w2.clock, notifier: w2.notifier });
      await worker2.check();
      const caughtUp = w2.notifier.events.filter((e) => e.type === "DailyReport");
      assert.deepEqual(caughtUp.map((e) => e.type === "DailyReport" && [e.date, e.late]), [
        [reportDate(DAY1 + 2 * DAY_MS), true],
      ]);
      await runSteps(
        w2,
        { ...config, strategy: createBollinger({ period: 20, std: 2.5 }) },
        steps(candles, restartAt - MIN, endAt),
        {
          history: candles,
        },
      );
      await worker2.check();
      await worker2.stop();

      // Exactly 7: one marker and one journal event per day, in order.
      const dates = Array.from({ length: 7 }, (_, i) => reportDate(DAY1 + i * DAY_MS));
      const markers = await w2.store.listReportMarkers({ limit: 100 });
      assert.deepEqual(markers.map((m) => m.date).reverse(), dates);
      const journal = (await w2.store.listEvents()).filter((e) => e.type === "DailyReport");
      assert.deepEqual(journal.map((e) => e.type === "DailyReport" && e.date), dates);
      assert.deepEqual(
        journal.map((e) => e.type === "DailyReport" && e.late),
        [false, false, true, false, false, false, false],
      );

      // The figures reconcile to the won with the ledger: the week's reports plus the day
      // after (its first minutes) give the ledger's realized P&L and fees exactly.
      const run = (await w2.store.getRunRecord())!;
      const nowMs = w2.clock.nowMs();
      const reports = await Promise.all(
        dates.map((_, i) => dailyReport(w2.store, run, { dayStartMs: DAY1 + i * DAY_MS, nowMs })),
      );
      const ledger = (await w2.store.getLedger(config.market))!;
      const fills = await w2.store.listFills();
      const after = fills.filter((f) => f.tsMs >= DAY1 + 7 * DAY_MS);
      const realized = reports.reduce((a, r) => a + parseUnits(r.account.realizedPnl), 0n) +
        (await w2.store.dailyPnl(DAY1 + 7 * DAY_MS));
      assert.equal(realized, ledger.realizedPnl);
      const fees = reports.reduce((a, r) => a + parseUnits(r.account.fees), 0n) +
        after.reduce((a, f) => a + f.fee, 0n);
      assert.equal(fees, ledger.fees);
      assert.equal(reports.reduce((n, r) => n + r.account.fills, 0) + after.length, fills.length);
      for (const r of reports) assert.ok(r.reconciled, `${r.date}: ${r.markets[0]!.reconcileNote}`);
      // The events carry the reports' own figures.
      journal.forEach((e, i) => {
        assert.ok(e.type === "DailyReport");
        assert.equal(e.realizedPnl, reports[i]!.account.realizedPnl);
        assert.equal(e.fees, reports[i]!.account.fees);
      });
      // The week traded, and the day of the stop shows the downtime (22:00 to 24:00 down).
      assert.ok(fills.length >= 10, `only ${fills.length} fills`);
      assert.ok(reports.some((r) => r.backtest.matched > 0));
      const day3 = reports[2]!;
      assert.equal(day3.uptime.runningMs, 22 * HOUR);
      assert.equal(reports[3]!.uptime.runningMs, 21 * HOUR);
      assert.equal(reports[0]!.uptime.pct, 100);
    } finally {
      w1.kv.close();
    }
  },
});
