/**
 * The operator: the ONE API through which a person steers and watches the bot, used by
 * `deno task ctl` now and by Telegram and the status page later (they call it; none of them
 * reads KV keys or touches the loop).
 *
 * - `execute(actor, command)`: pause, resume (after the safety checks), emergency stop (with or
 *   without selling), sell one market's position, set or unset a run-time parameter. The command is validated (zod), runs
 *   under the order gate, is recorded in the audit log (who, what, when, result) with a
 *   `CommandExecuted` event, and answers with the status after it. Bad input is a `refused`
 *   outcome with one line naming the field, never a throw.
 * - read models: `status` (per market and for the account), `positions`, `openOrders`,
 *   `recentTrades`, `equityHistory`, `dailyPnl`, `auditLog`, `params`.
 *
 * A running bot builds its operator with its exchange and traders; ctl on a stopped bot builds
 * one over the store alone (the markets and bot id come from the run record the bot wrote at
 * start, never from the environment).
 */

import { z } from "zod";
import type {
  Account,
  Clock,
  CommandRecord,
  CommandResultKind,
  Exchange,
  Notifier,
  RunRecord,
  Store,
} from "../ports.ts";
import type { Result } from "../core/result.ts";
import type { TraderConfig } from "../trader.ts";
import { emergencyStop, pause, resume, sellMarket, setParam, type StopReport } from "./commands.ts";
import { errorLine } from "../errors.ts";
import {
  type DailyReport,
  dailyReport,
  defaultReportDay,
  listReports,
  reportDayStart,
  type ReportListItem,
} from "./daily_report.ts";
import {
  auditLog,
  type BotStatus,
  botStatus,
  dailyPnl,
  type DayPnl,
  equityHistory,
  type EquityPoint,
  type MarketStatus,
  openOrders,
  type OrderView,
  type ParamsView,
  paramsView,
  recentTrades,
  settingsOf,
  type TradesPage,
  tradesPage,
  type TradeView,
} from "./read_models.ts";
import {
  type ChartView,
  chartView,
  type CurvePoint,
  equityCurve,
  type HealthView,
  healthView,
  recentSignals,
  type SignalView,
} from "./live_view.ts";

export type { ChartView, CurvePoint, HealthView, LinkState, SignalView } from "./live_view.ts";
export type {
  AccountStatus,
  BotStatus,
  BotStatusJson,
  DayPnl,
  EquityPoint,
  MarketStatus,
  OrderView,
  ParamsView,
  ParamView,
  TradesPage,
  TradeView,
} from "./read_models.ts";
export { STOPPING_REASON, type StopReport } from "./commands.ts";
export { EventStream } from "./event_stream.ts";
export { BadReportDateError, EXIT_KINDS } from "./daily_report.ts";
export type {
  BacktestComparison,
  DailyReport,
  DiffReason,
  MarketDay,
  ReportListItem,
} from "./daily_report.ts";
export { type DailyWorker, type DailyWorkerConfig, startDailyWorker } from "./daily_worker.ts";
export { statusJson } from "./read_models.ts";

/** Who gives a command: `ctl`, `telegram:<user id>` or `web:<session>`. */
export const ACTOR: z.ZodType<string> = z.string().regex(
  /^(ctl|telegram:\d{1,20}|web:[A-Za-z0-9_-]{1,64})$/,
  "expected ctl, telegram:<user id> or web:<session>",
);

/** Every command the operator takes (what Telegram and the page post, too). */
export const OPERATOR_COMMAND = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("pause"),
    reason: z.string().trim().min(1, "must not be empty").max(200, "at most 200 characters")
      .default("paused"),
  }).strict(),
  z.object({ kind: z.literal("resume"), clearSafeMode: z.boolean().default(false) }).strict(),
  z.object({ kind: z.literal("stop"), sell: z.boolean().default(false) }).strict(),
  z.object({
    kind: z.literal("sell"),
    market: z.string().trim().toUpperCase().regex(
      /^KRW-[A-Z0-9]{1,15}$/,
      "expected a KRW market like KRW-BTC",
    ),
  }).strict(),
  z.object({
    kind: z.literal("set"),
    name: z.string().trim().min(1, "must not be empty").max(40, "at most 40 characters"),
    value: z.string().trim().min(1, "must not be empty").max(40, "at most 40 characters"),
  }).strict(),
  z.object({
    kind: z.literal("unset"),
    name: z.string().trim().min(1, "must not be empty").max(40, "at most 40 characters"),
  }).strict(),
], { error: "expected kind pause, resume, stop, sell, set or unset" });

/** A command as a surface sends it (defaults filled in by the operator). */
export type OperatorCommand = z.input<typeof OPERATOR_COMMAND>;

/** What came of a command, and the bot's status after it. */
export interface CommandOutcome {
  /** The audit record's id. */
  readonly id: string;
  readonly atMs: number;
  readonly actor: string;
  /** The command as one line (as in the audit log). */
  readonly command: string;
  readonly result: CommandResultKind;
  readonly detail: string;
  /** What an emergency stop or a sale did per market (empty for the other commands). */
  readonly reports: readonly StopReport[];
  readonly status: BotStatus;
}

/** What the operator uses. */
export interface OperatorDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly notifier: Notifier;
  /** The running bot's exchange; absent when ctl works on a stopped bot's store. */
  readonly exchange?: Exchange & Account;
  /** Checks the stored state's invariants before a resume (throws naming key and field). */
  readonly checkState?: () => Promise<void>;
  /** The running bot's traders (their order settings); absent on a stopped bot. */
  readonly traders?: readonly TraderConfig[];
  /** Audit record ids (default: random UUIDs). */
  readonly newId?: () => string;
}

/** The operator of one bot. */
export interface Operator {
  /** Validates, runs under the order gate, audits and answers; never throws on bad input. */
  execute(actor: string, command: unknown): Promise<CommandOutcome>;
  /** Switches, per-market and account figures. */
  status(): Promise<BotStatus>;
  /** The markets holding a position. */
  positions(): Promise<readonly MarketStatus[]>;
  /** Orders in flight. */
  openOrders(): Promise<readonly OrderView[]>;
  /** The newest fills, newest first. */
  recentTrades(options: { readonly limit: number }): Promise<readonly TradeView[]>;
  /**
   * One page of trades (newest first): the newest, older than `cursor` (a page's `next`) or
   * newer than `before` (a page's `prev`), reading only the page; an unknown cursor is an error
   * naming the field.
   */
  tradesPage(
    options: { readonly cursor?: string; readonly before?: string; readonly limit: number },
  ): Promise<Result<TradesPage, string>>;
  /** The account's equity curve (or one market's) from `fromMs` on. */
  equityHistory(
    options: { readonly fromMs?: number; readonly market?: string },
  ): Promise<readonly EquityPoint[]>;
  /** Realized P&L of the last `days` Upbit days, per market and for the account. */
  dailyPnl(options: { readonly days: number }): Promise<readonly DayPnl[]>;
  /** The newest operator commands, newest first. */
  auditLog(options: { readonly limit: number }): Promise<readonly CommandRecord[]>;
  /** Run-time parameters: values in force, start-up values, history. */
  params(): Promise<ParamsView>;
  /** The account's equity curve from `fromMs` on, at most `points` points. */
  equityCurve(
    options: { readonly fromMs: number; readonly points: number },
  ): Promise<readonly CurvePoint[]>;
  /** Data freshness, the loop's last tick, the market-data link, the last error. */
  health(): Promise<HealthView>;
  /** The newest signals with their reasons, newest first. */
  recentSignals(options: { readonly limit: number }): Promise<readonly SignalView[]>;
  /** One market's candles of the run's timeframe (at most `bars`), bands and fills. */
  chart(options: { readonly market: string; readonly bars: number }): Promise<ChartView>;
  /**
   * The daily report of a `YYYY-MM-DD` Upbit day (09:00 KST that date to the next), default the
   * last complete day, or the newest with activity when it had none (`defaultReportDay`);
   * throws `BadReportDateError` on a bad date.
   */
  dailyReport(date?: string): Promise<DailyReport>;
  /** The issued daily reports, newest first. */
  listReports(options: { readonly limit: number }): Promise<readonly ReportListItem[]>;
}

/** The store has no run record: no bot ever started on it (with this version). */
export class NoRunRecordError extends Error {
  constructor() {
    super("the store has no run record: start the bot once on it (demo, paper or live)");
    this.name = "NoRunRecordError";
  }
}

/** Records what the bot runs with (at each start), for the operator of a stopped bot. */
export async function recordRun(store: Store, record: RunRecord): Promise<void> {
  const before = await store.getRunRecord();
  await store.putRunRecord(record, {
    type: "RunStarted",
    atMs: record.startedAtMs,
    mode: record.mode,
    markets: record.traders.map((t) => t.market),
    strategy: record.strategy,
    timeframe: record.timeframe,
    recovered: before !== undefined && before.endedAtMs === undefined,
  });
}

/** Marks the run as stopped cleanly at `atMs` (a crash leaves it unmarked). */
export async function recordRunEnd(store: Store, atMs: number): Promise<void> {
  const record = await store.getRunRecord();
  if (record === undefined) return;
  await store.putRunRecord({ ...record, endedAtMs: atMs }, {
    type: "RunStopped",
    atMs,
    mode: record.mode,
    uptimeMs: Math.max(0, atMs - record.startedAtMs),
  });
}

/** The operator over `deps` (a running bot's, or a stopped bot's store alone). */
export function createOperator(deps: OperatorDeps): Operator {
  const { store, clock } = deps;
  const newId = deps.newId ?? (() => crypto.randomUUID());
  async function run(): Promise<RunRecord> {
    const record = await store.getRunRecord();
    if (record === undefined) throw new NoRunRecordError();
    return record;
  }
  async function status(): Promise<BotStatus> {
    return await botStatus(store, await run(), {
      nowMs: clock.nowMs(),
      running: deps.exchange !== undefined,
    });
  }
  async function perform(
    actor: string,
    command: z.output<typeof OPERATOR_COMMAND>,
  ): Promise<{ result: CommandResultKind; detail: string; reports: readonly StopReport[] }> {
    const record = await run();
    const traders = deps.traders;
    const common = { run: record, actor, ...(traders === undefined ? {} : { traders }) };
    switch (command.kind) {
      case "pause":
        return { ...await pause(deps, command.reason, actor), reports: [] };
      case "resume":
        return {
          ...await resume(deps, { ...common, clearSafeMode: command.clearSafeMode }),
          reports: [],
        };
      case "stop":
        return await emergencyStop(deps, { ...common, sell: command.sell });
      case "sell":
        return await sellMarket(deps, { ...common, market: command.market });
      case "set":
      case "unset":
        return {
          ...await setParam(deps, {
            run: record,
            name: command.name,
            value: command.kind === "set" ? command.value : null,
            actor,
          }),
          reports: [],
        };
    }
  }
  return {
    async execute(actor, input) {
      const atMs = clock.nowMs();
      const id = newId();
      const who = ACTOR.safeParse(actor);
      const parsed = OPERATOR_COMMAND.safeParse(input);
      let end: { result: CommandResultKind; detail: string; reports: readonly StopReport[] };
      let text: string;
      if (!who.success) {
        text = parsed.success ? commandText(parsed.data) : "invalid";
        end = { result: "refused", detail: `actor: ${who.error.issues[0]!.message}`, reports: [] };
      } else if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        const field = issue.path.length === 0 ? "command" : issue.path.join(".");
        text = "invalid";
        end = { result: "refused", detail: `${field}: ${issue.message}`, reports: [] };
      } else {
        text = commandText(parsed.data);
        try {
          end = await perform(who.data, parsed.data);
        } catch (error) {
          if (error instanceof NoRunRecordError) throw error;
          end = { result: "failed", detail: errorLine(error), reports: [] };
        }
      }
      const record: CommandRecord = {
        id,
        atMs,
        actor: who.success ? who.data : "invalid",
        command: text,
        result: end.result,
        detail: end.detail,
      };
      await store.recordCommand(record);
      deps.notifier.notify({ type: "CommandExecuted", ...withoutId(record) });
      return { ...record, reports: end.reports, status: await status() };
    },
    status,
    async positions() {
      return (await status()).markets.filter((m) => m.position !== null);
    },
    openOrders: () => openOrders(store),
    recentTrades: (options) => recentTrades(store, options),
    tradesPage: (options) => tradesPage(store, options),
    async equityHistory(options) {
      const markets = options.market !== undefined
        ? [options.market]
        : (await run()).traders.map((t) => t.market);
      return await equityHistory(store, {
        markets,
        ...(options.fromMs === undefined ? {} : { fromMs: options.fromMs }),
      });
    },
    async dailyPnl(options) {
      const markets = (await run()).traders.map((t) => t.market);
      return await dailyPnl(store, { markets, nowMs: clock.nowMs(), days: options.days });
    },
    auditLog: (options) => auditLog(store, options),
    async params() {
      return await paramsView(store, await run());
    },
    async health() {
      const record = await run();
      const settings = settingsOf(record, await store.getParams());
      return await healthView(store, record, {
        nowMs: clock.nowMs(),
        running: deps.exchange !== undefined,
        staleAfterMs: settings.staleAfterMs,
      });
    },
    recentSignals: (options) => recentSignals(store, options),
    async equityCurve(options) {
      return await equityCurve(store, await run(), options);
    },
    async chart(options) {
      const record = await run();
      if (!record.traders.some((t) => t.market === options.market)) {
        throw new RangeError(`market: ${options.market} is not traded by this bot`);
      }
      const settings = settingsOf(record, await store.getParams());
      return await chartView(store, record, {
        ...options,
        nowMs: clock.nowMs(),
        strategyParams: settings.strategyParams,
      });
    },
    async dailyReport(date) {
      const nowMs = clock.nowMs();
      const dayStartMs = date === undefined
        ? await defaultReportDay(store, nowMs)
        : reportDayStart(date);
      return await dailyReport(store, await run(), { dayStartMs, nowMs });
    },
    listReports: (options) => listReports(store, options),
  };
}

function withoutId(record: CommandRecord): Omit<CommandRecord, "id"> {
  const { id: _id, ...rest } = record;
  return rest;
}

/** A command as one line of the audit log. */
function commandText(command: z.output<typeof OPERATOR_COMMAND>): string {
  switch (command.kind) {
    case "pause":
      return `pause: ${command.reason}`;
    case "resume":
      return command.clearSafeMode ? "resume --clear-safe-mode" : "resume";
    case "stop":
      return command.sell ? "stop --sell" : "stop";
    case "sell":
      return `sell ${command.market}`;
    case "set":
      return `set ${command.name} ${command.value}`;
    case "unset":
      return `unset ${command.name}`;
  }
}
