/**
 * The daily report's and the watchdog's worker inside the bot process.
 *
 * Every check is a function of the injected clock and the store, so it is repeatable and safe to
 * trigger from anywhere: at start (the catch-up of the reports missed while the process was
 * down), every minute on the injected clock (the demo's and the tests' clocks run fast), and
 * from `Deno.cron` (wall clock, UTC: the report time and every minute) through `schedule`.
 * Checks never overlap: a trigger while one runs waits for it.
 *
 * - Reports: `dueReportDays` (pure) lists the due days without a marker; each report's marker
 *   commits with its `DailyReport` event (`versionstamp: null`), so a day is reported exactly
 *   once whatever the triggers, restarts or races; the Telegram outbox delivers the event.
 * - Watchdog: per traded market, the loop (its state's last write) and the market data (its last
 *   price's time) against their limits; the alert state changes only with its `WatchdogAlert`
 *   event, so it alerts once when stale and once on recovery, across restarts too.
 * - Heartbeat: the run log's entry of this run, for the report's uptime.
 */

import { DAY_MS } from "../core/candle.ts";
import {
  DEFAULT_REPORT_TIME,
  dueReportDays,
  lastDueDay,
  LATE_AFTER_MS,
  MAX_CATCH_UP_DAYS,
  reportCronSpec,
  reportDueMs,
  type ReportTime,
  staleVerdict,
} from "../core/daily.ts";
import type { Clock, EngineEvent, Notifier, Store, WatchdogCheck } from "../ports.ts";
import { dailyReport, dailyReportEvent } from "./daily_report.ts";
import { settingsOf } from "./read_models.ts";

/** What the worker uses. */
export interface DailyWorkerDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly notifier: Notifier;
  /**
   * Registers a wall-clock trigger (`Deno.cron` in the bot; absent in tests): `spec` is a 5-field
   * UTC cron spec, `run` never throws.
   */
  readonly schedule?: (name: string, spec: string, run: () => Promise<void>) => void;
}

/** When to report and how stale is too stale. */
export interface DailyWorkerConfig {
  /** The report time, KST (default 09:00). */
  readonly reportTime?: ReportTime;
  /** The loop's state unwritten this long is stale (default: 2 × the data limit, ≥ 10 min). */
  readonly loopStaleMs?: number;
  /** Market data this old is stale (default: the run's `staleAfterMs` in force). */
  readonly dataStaleMs?: number;
  /** How often the injected clock triggers a check (default 60 s). */
  readonly everyMs?: number;
}

/** How long the run log is kept (the reports look back at most a month). */
const RUN_LOG_RETENTION_MS = 35 * DAY_MS;

/** The worker of a running bot. */
export interface DailyWorker {
  /** One check now (reports due, watchdog, heartbeat); resolves when done. */
  check(): Promise<void>;
  /** Stops the minute loop, marks the run's clean end and waits for the check in progress. */
  stop(): Promise<void>;
}

/**
 * Starts the worker: the catch-up check at once, then a check every minute on the injected
 * clock and on each `schedule` trigger, until `stop()`.
 */
export function startDailyWorker(
  deps: DailyWorkerDeps,
  config: DailyWorkerConfig = {},
): DailyWorker {
  const { clock, store } = deps;
  const time = config.reportTime ?? DEFAULT_REPORT_TIME;
  const startedAtMs = clock.nowMs();
  const abort = new AbortController();
  let chain: Promise<void> = Promise.resolve();
  let stopped = false;
  let first = true;
  // The newest due day known to be issued: until the clock reaches the next, no report is due.
  let settledDay = -Infinity;
  // The watchdog's alert states as this process last saw them (read from the store once).
  const alerted = new Map<string, boolean>();
  function check(): Promise<void> {
    chain = chain.then(async () => {
      if (stopped) return;
      const nowMs = clock.nowMs();
      await store.noteRun(
        { startedAtMs, lastSeenMs: nowMs, endedAtMs: null },
        first ? nowMs - RUN_LOG_RETENTION_MS : undefined,
      );
      first = false;
      const dueDay = lastDueDay(nowMs, time);
      if (dueDay > settledDay) {
        if ((await issueDueReports(deps, { reportTime: time })) !== undefined) settledDay = dueDay;
      }
      await runWatchdog(deps, { ...config, sinceMs: startedAtMs, alerted });
    }).catch((error) => {
      // A failed check (a store conflict) is retried at the next trigger; say so once per failure.
      const event: EngineEvent = {
        type: "ErrorRaised",
        atMs: clock.nowMs(),
        code: "daily_check_failed",
        message: `daily report / watchdog check failed: ${
          error instanceof Error ? error.message : String(error)
        }; retrying in a minute`,
      };
      deps.notifier.notify(event);
    });
    return chain;
  }
  deps.schedule?.("daily report", reportCronSpec(time), check);
  deps.schedule?.("watchdog", "* * * * *", check);
  const loop = (async () => {
    await check();
    while (!abort.signal.aborted) {
      await clock.sleep(config.everyMs ?? 60_000, abort.signal);
      if (abort.signal.aborted) break;
      await check();
    }
  })();
  return {
    check,
    async stop() {
      abort.abort();
      await loop;
      await chain;
      stopped = true;
      const nowMs = clock.nowMs();
      await store.noteRun(
        { startedAtMs, lastSeenMs: nowMs, endedAtMs: nowMs },
        nowMs - RUN_LOG_RETENTION_MS,
      );
    },
  };
}

/**
 * Issues every report due at the clock's now and not issued yet, oldest first (at most
 * `MAX_CATCH_UP_DAYS` back); returns the dates issued by this call (undefined: no bot ever ran
 * on the store, nothing to report).
 */
export async function issueDueReports(
  deps: Pick<DailyWorkerDeps, "store" | "clock" | "notifier">,
  options: { readonly reportTime?: ReportTime } = {},
): Promise<string[] | undefined> {
  const { store, clock, notifier } = deps;
  const run = await store.getRunRecord();
  if (run === undefined) return undefined;
  const time = options.reportTime ?? DEFAULT_REPORT_TIME;
  const nowMs = clock.nowMs();
  const runs = await store.listRuns();
  const firstMs = Math.min(run.startedAtMs, runs[0]?.startedAtMs ?? Infinity);
  const markers = await store.listReportMarkers({ limit: MAX_CATCH_UP_DAYS * 2 });
  const due = dueReportDays({
    nowMs,
    time,
    firstDayStartMs: firstMs,
    issued: new Set(markers.map((m) => m.dayStartMs)),
  });
  const issued: string[] = [];
  for (const day of due) {
    const report = await dailyReport(store, run, { dayStartMs: day, nowMs });
    const event = dailyReportEvent(report, {
      atMs: nowMs,
      late: nowMs - reportDueMs(day, time) > LATE_AFTER_MS,
    });
    const marker = { dayStartMs: day, date: report.date, issuedAtMs: nowMs };
    if (await store.issueDailyReport(marker, event)) {
      notifier.notify(event);
      issued.push(report.date);
    }
  }
  return issued;
}

/**
 * One watchdog pass: per traded market, alerts once when the loop or the market data went stale
 * past its limit, and once when it recovered; returns the alerts raised by this pass.
 */
export async function runWatchdog(
  deps: Pick<DailyWorkerDeps, "store" | "clock" | "notifier">,
  config: Pick<DailyWorkerConfig, "loopStaleMs" | "dataStaleMs"> & {
    /** The process's start: a sign of life older than that counts from it (a start grace). */
    readonly sinceMs?: number;
    /** The alert states this process knows (`check market` → stale), kept across passes. */
    readonly alerted?: Map<string, boolean>;
  } = {},
): Promise<Extract<EngineEvent, { type: "WatchdogAlert" }>[]> {
  const { store, clock, notifier } = deps;
  const run = await store.getRunRecord();
  if (run === undefined) return [];
  const dataMs = config.dataStaleMs ?? settingsOf(run, await store.getParams()).staleAfterMs;
  const loopMs = config.loopStaleMs ?? Math.max(10 * 60_000, 2 * dataMs);
  const nowMs = clock.nowMs();
  const raised: Extract<EngineEvent, { type: "WatchdogAlert" }>[] = [];
  for (const t of run.traders) {
    const state = await store.getTraderState(t.botId);
    const checks: [WatchdogCheck, number | undefined, number][] = [
      ["loop", state?.updatedAtMs, loopMs],
      ["market_data", state?.lastPriceAtMs, dataMs],
    ];
    for (const [check, lastMs, limitMs] of checks) {
      const since = config.sinceMs ?? 0;
      const verdict = staleVerdict(lastMs === undefined ? undefined : Math.max(lastMs, since), {
        nowMs,
        limitMs,
      });
      if (verdict === undefined) continue;
      const key = `${check} ${t.market}`;
      const known = config.alerted?.get(key) ?? await store.isAlerted(check, t.market);
      config.alerted?.set(key, known);
      if (verdict.stale === known) continue;
      const event = {
        type: "WatchdogAlert",
        atMs: nowMs,
        check,
        market: t.market,
        stale: verdict.stale,
        ageMs: verdict.ageMs,
        limitMs,
      } as const;
      // Refused: another pass got there first; the store's state is this one either way.
      if (await store.alert(event)) {
        notifier.notify(event);
        raised.push(event);
      }
      config.alerted?.set(key, verdict.stale);
    }
  }
  return raised;
}
