/**
 * The daily report read model: what one Upbit day (00:00 UTC = 09:00 KST, named by its date)
 * did, read from the store through its ports, the same for the Telegram message, `/report`,
 * `deno task report` and the status page.
 *
 * - P&L: realized (the ledger's per-day figure, committed with each fill) and unrealized at the
 *   day's end, fees and slippage (each fill against the last close before it), all exact `Units`.
 *   The fills are replayed through the ledger from its opening cash: the report says whether the
 *   replay's realized P&L equals the ledger's to the won (`reconciled`).
 * - Trades by exit reason, max intraday drawdown (equity snapshots between the day's start and
 *   end), and the share of the daily loss limit the worst moment used.
 * - Data health (reconnects, stale data, watchdog alerts, minutes without a candle while
 *   running) from the journal and the recorded candles; uptime from the run log.
 * - The backtest re-run over the day's recorded candles (warmed up on the candles before, no
 *   orders before the day) beside what the bot did: fills matched, P&L difference and why.
 */

import { aggregateCandles } from "../core/aggregate.ts";
import { runBacktest } from "../core/backtest.ts";
import {
  type Candle,
  DAY_MS,
  type Timeframe,
  TIMEFRAME_MS,
  upbitDayStartMs,
} from "../core/candle.ts";
import {
  type DayFill,
  dayStartOfDate,
  equityOf,
  type ExitKind,
  exitKindOf,
  type Leg,
  legsOf,
  lossBudgetUsedPct,
  matchLegs,
  maxDrawdown,
  priceGapKrw,
  replayDay,
  reportDate,
  slippageOf,
  unrealizedOf,
  uptimeMs,
} from "../core/daily.ts";
import { formatUnits, parseUnits, type Units, unitsFromNumber } from "../core/money.ts";
import { createStrategy, STRATEGIES, type StrategyId } from "../core/strategies/mod.ts";
import { HOLD, type Strategy } from "../core/strategies/strategy.ts";
import type { EngineEvent, ReportMarker, RunRecord, Store, StoredFill } from "../ports.ts";
import { settingsOf } from "./read_models.ts";

/** Every exit kind, in the order reports list them. */
export const EXIT_KINDS: readonly ExitKind[] = [
  "signal",
  "stop_loss",
  "take_profit",
  "trailing_stop",
  "manual",
  "other",
];

/** Why the bot's P&L differs from the backtest's (amounts as exact decimal strings). */
export type DiffReason =
  | { readonly kind: "fill_prices"; readonly krw: string }
  | { readonly kind: "bot_only"; readonly count: number }
  | { readonly kind: "backtest_only"; readonly count: number }
  | { readonly kind: "held_at_start"; readonly volume: string }
  | { readonly kind: "downtime"; readonly minutes: number }
  | { readonly kind: "no_candles" };

/** The bot beside the backtest over the day's recorded candles. */
export interface BacktestComparison {
  /** False when no candle of the day was recorded (nothing to re-run). */
  readonly ran: boolean;
  readonly candles: number;
  readonly botFills: number;
  readonly backtestFills: number;
  readonly matched: number;
  readonly botRealizedPnl: string;
  readonly backtestRealizedPnl: string;
  /** Bot − backtest. */
  readonly pnlDiff: string;
  readonly reasons: readonly DiffReason[];
}

/** One market's day. */
export interface MarketDay {
  readonly market: string;
  readonly realizedPnl: string;
  readonly unrealizedPnl: string;
  readonly fees: string;
  readonly slippage: string;
  readonly fills: number;
  readonly buys: number;
  /** Sell orders, by why the position was closed. */
  readonly exits: Readonly<Record<ExitKind, number>>;
  readonly startVolume: string;
  readonly endVolume: string;
  /** The last close of the day (null: no candle and no fill to price it). */
  readonly closePrice: string | null;
  readonly startEquity: string | null;
  readonly endEquity: string | null;
  readonly maxDrawdownKrw: string | null;
  readonly maxDrawdownPct: number | null;
  readonly lossBudgetUsedPct: number | null;
  readonly candles: number;
  /** Minutes the bot ran without a final candle recorded (gaps, or minutes without trades). */
  readonly missingMinutes: number;
  readonly backtest: BacktestComparison;
  /** The fills replayed through the ledger give the ledger's realized P&L of the day. */
  readonly reconciled: boolean;
  /** Why not (absent when reconciled). */
  readonly reconcileNote?: string;
}

/** The daily report of one Upbit day. */
export interface DailyReport {
  /** `YYYY-MM-DD`: the day from 09:00 KST (00:00 UTC) of that date to the next. */
  readonly date: string;
  readonly dayStartMs: number;
  readonly dayEndMs: number;
  /** The day is over (false: today so far). */
  readonly complete: boolean;
  readonly generatedAtMs: number;
  readonly botId: string;
  readonly mode: string;
  readonly strategy: string;
  readonly timeframe: string;
  readonly markets: readonly MarketDay[];
  readonly account: {
    readonly realizedPnl: string;
    readonly unrealizedPnl: string;
    readonly fees: string;
    readonly slippage: string;
    readonly fills: number;
    readonly exits: Readonly<Record<ExitKind, number>>;
    readonly maxDrawdownKrw: string | null;
    readonly maxDrawdownPct: number | null;
    /** The highest share of its daily loss limit (per market) any market used, %. */
    readonly lossBudgetUsedPct: number | null;
    readonly lossLimitPct: number;
  };
  readonly dataHealth: {
    readonly reconnects: number;
    readonly staleData: number;
    readonly watchdogAlerts: number;
    /** Upbit's 429/418 answers (counted per day). */
    readonly rateLimited: number;
    readonly errors: number;
    readonly missingMinutes: number;
  };
  readonly uptime: {
    readonly runningMs: number;
    /** The day's length so far. */
    readonly periodMs: number;
    readonly pct: number;
    /** Starts of the bot during the day. */
    readonly starts: number;
  };
  readonly backtest: {
    readonly ran: boolean;
    readonly matched: number;
    readonly botRealizedPnl: string;
    readonly backtestRealizedPnl: string;
    readonly pnlDiff: string;
  };
  readonly reconciled: boolean;
  /** When the report was issued (null: not yet). */
  readonly issuedAtMs: number | null;
}

/** A line of the report list. */
export interface ReportListItem {
  readonly date: string;
  readonly dayStartMs: number;
  readonly issuedAtMs: number;
}

/** A `YYYY-MM-DD` that is not a real date. */
export class BadReportDateError extends Error {
  constructor(date: string) {
    super(`date: expected YYYY-MM-DD, got "${date.slice(0, 20)}"`);
    this.name = "BadReportDateError";
  }
}

/** The start ms of a report date (throws `BadReportDateError`). */
export function reportDayStart(date: string): number {
  const ms = dayStartOfDate(date);
  if (ms === undefined) throw new BadReportDateError(date);
  return ms;
}

/**
 * The day `dailyReport` shows when none is asked for, on the bot's clock (`nowMs`; the demo's
 * replayed one): the last complete day when it had activity (events, fills) or a report;
 * otherwise the newest day that had any, today's so far included (a bot started today, as the
 * demo always is); with none at all, the last complete day.
 */
export async function defaultReportDay(store: Store, nowMs: number): Promise<number> {
  const today = upbitDayStartMs(nowMs);
  const yesterday = today - DAY_MS;
  const [events, newest, fills, markers] = await Promise.all([
    store.listEvents({ fromMs: yesterday, toMs: today, limit: 1 }),
    store.listJournal({ limit: 1, newest: true }),
    store.listFills(),
    store.listReportMarkers({ limit: 1 }),
  ]);
  if (
    events.length > 0 || markers.some((m) => m.dayStartMs === yesterday) ||
    fills.some((f) => f.tsMs >= yesterday && f.tsMs < today)
  ) return yesterday;
  const latest = [
    ...newest.map((e) => e.event.atMs),
    ...markers.map((m) => m.dayStartMs),
  ].reduce((a, b) => Math.max(a, b), fills.reduce((a, f) => Math.max(a, f.tsMs), -Infinity));
  return latest === -Infinity ? yesterday : upbitDayStartMs(Math.min(latest, nowMs));
}

const MINUTE_MS = 60_000;

/** The report of the day starting at `dayStartMs`, as the store knows it at `nowMs`. */
export async function dailyReport(
  store: Store,
  run: RunRecord,
  options: { readonly dayStartMs: number; readonly nowMs: number },
): Promise<DailyReport> {
  const s = options.dayStartMs;
  const e = s + DAY_MS;
  const until = Math.min(e, Math.max(s, options.nowMs));
  const [params, allFills, intents, runs, markers, events] = await Promise.all([
    store.getParams(),
    store.listFills(),
    store.listIntents(["NEW", "UNKNOWN", "OPEN", "FILLED", "CANCELLED", "REJECTED"]),
    store.listRuns(),
    store.listReportMarkers({ limit: 400 }),
    store.listEvents({ fromMs: s, toMs: e }),
  ]);
  const settings = settingsOf(run, params);
  const signalOf = new Map<string, string>();
  for (const i of intents) if (i.uuid !== undefined) signalOf.set(i.uuid, i.signalId);
  const ctx: MarketContext = {
    store,
    run,
    s,
    e,
    until,
    runs,
    signalOf,
    strategyParams: settings.strategyParams,
    rules: settings.rules,
    budgetPct: settings.budgetPct,
    uptime: uptimeMs(runs, { fromMs: s, toMs: until }),
  };
  const markets: MarketDay[] = [];
  const curves: { market: string; points: { tsMs: number; equity: Units }[] }[] = [];
  for (const t of run.traders) {
    const { day, curve } = await marketDay(
      ctx,
      t.market,
      allFills.filter((f) => f.market === t.market),
    );
    markets.push(day);
    curves.push({ market: t.market, points: curve });
  }
  const sum = (pick: (m: MarketDay) => string) =>
    markets.reduce((acc, m) => acc + parseUnits(pick(m)), 0n);
  const exits = emptyExits();
  for (const m of markets) for (const k of EXIT_KINDS) exits[k] += m.exits[k];
  const dd = maxDrawdown(accountCurve(curves));
  const budgets = markets.map((m) => m.lossBudgetUsedPct).filter((p): p is number => p !== null);
  const errorsOf = (code: string) =>
    events.filter((ev) => ev.type === "ErrorRaised" && ev.code === code).length;
  const bt = markets.map((m) => m.backtest);
  const marker = markers.find((m) => m.dayStartMs === s);
  return {
    date: reportDate(s),
    dayStartMs: s,
    dayEndMs: e,
    complete: options.nowMs >= e,
    generatedAtMs: options.nowMs,
    botId: run.botId,
    mode: run.mode,
    strategy: run.strategy,
    timeframe: run.timeframe,
    markets,
    account: {
      realizedPnl: formatUnits(sum((m) => m.realizedPnl)),
      unrealizedPnl: formatUnits(sum((m) => m.unrealizedPnl)),
      fees: formatUnits(sum((m) => m.fees)),
      slippage: formatUnits(sum((m) => m.slippage)),
      fills: markets.reduce((n, m) => n + m.fills, 0),
      exits,
      maxDrawdownKrw: dd === null ? null : formatUnits(dd.krw),
      maxDrawdownPct: dd?.pct ?? null,
      lossBudgetUsedPct: budgets.length === 0 ? null : Math.max(...budgets),
      lossLimitPct: settings.rules.maxDailyLossPct,
    },
    dataHealth: {
      reconnects: errorsOf("market_disconnected"),
      staleData: errorsOf("stale_data"),
      watchdogAlerts: events.filter((ev) => ev.type === "WatchdogAlert" && ev.stale).length,
      rateLimited: await store.refusalsOn(s),
      errors: events.filter((ev) => ev.type === "ErrorRaised").length,
      missingMinutes: markets.reduce((n, m) => n + m.missingMinutes, 0),
    },
    uptime: {
      runningMs: ctx.uptime,
      periodMs: until - s,
      pct: until > s ? (ctx.uptime / (until - s)) * 100 : 0,
      starts: runs.filter((r) => r.startedAtMs >= s && r.startedAtMs < e).length,
    },
    backtest: {
      ran: bt.some((b) => b.ran),
      matched: bt.reduce((n, b) => n + b.matched, 0),
      botRealizedPnl: formatUnits(sum((m) => m.backtest.botRealizedPnl)),
      backtestRealizedPnl: formatUnits(sum((m) => m.backtest.backtestRealizedPnl)),
      pnlDiff: formatUnits(sum((m) => m.backtest.pnlDiff)),
    },
    reconciled: markets.every((m) => m.reconciled),
    issuedAtMs: marker?.issuedAtMs ?? null,
  };
}

/** The `DailyReport` event of a report (its headline figures). */
export function dailyReportEvent(
  report: DailyReport,
  options: { readonly atMs: number; readonly late: boolean },
): Extract<EngineEvent, { type: "DailyReport" }> {
  const a = report.account;
  return {
    type: "DailyReport",
    atMs: options.atMs,
    date: report.date,
    late: options.late,
    realizedPnl: a.realizedPnl,
    unrealizedPnl: a.unrealizedPnl,
    fees: a.fees,
    slippage: a.slippage,
    fills: a.fills,
    exits: EXIT_KINDS.reduce((n, k) => n + a.exits[k], 0),
    maxDrawdownPct: a.maxDrawdownPct,
    lossBudgetUsedPct: a.lossBudgetUsedPct,
    uptimePct: report.uptime.pct,
    backtestPnl: report.backtest.ran ? report.backtest.backtestRealizedPnl : null,
    matched: report.backtest.matched,
    reconciled: report.reconciled,
  };
}

/** The issued reports, newest first. */
export async function listReports(
  store: Store,
  options: { readonly limit: number },
): Promise<readonly ReportListItem[]> {
  return (await store.listReportMarkers(options)).map((m: ReportMarker) => ({
    date: m.date,
    dayStartMs: m.dayStartMs,
    issuedAtMs: m.issuedAtMs,
  }));
}

// ---- one market ---------------------------------------------------------------------------------

interface MarketContext {
  readonly store: Store;
  readonly run: RunRecord;
  readonly s: number;
  readonly e: number;
  readonly until: number;
  readonly runs: Awaited<ReturnType<Store["listRuns"]>>;
  readonly signalOf: ReadonlyMap<string, string>;
  readonly strategyParams: Readonly<Record<string, number>>;
  readonly rules: RunRecord["rules"];
  readonly budgetPct: number;
  readonly uptime: number;
}

async function marketDay(
  ctx: MarketContext,
  market: string,
  fills: readonly StoredFill[],
): Promise<{ day: MarketDay; curve: { tsMs: number; equity: Units }[] }> {
  const { store, s, e, run } = ctx;
  const tf = run.timeframe as Timeframe;
  const tfMs = TIMEFRAME_MS[tf] ?? MINUTE_MS;
  const strategy = strategyOf(run, ctx.strategyParams);
  const warmMs = ((strategy?.warmup ?? 0) + 2) * tfMs;
  const [ledger, ledgerDayPnl, candles, snapshots] = await Promise.all([
    store.getLedger(market),
    store.marketDailyPnl(s, market),
    store.listCandles(market, { fromMs: s - warmMs, toMs: e }),
    store.listEquity({ market, fromMs: s }),
  ]);
  const dayFills = fills.filter((f) => f.tsMs >= s && f.tsMs < e);
  const replay = replayDay(fills.map(dayFillOf), {
    initialCash: ledger?.initialCash ?? 0n,
    fromMs: s,
    toMs: e,
  });
  const dayCandles = candles.filter((c) => c.startMs >= s);
  const before = candles.filter((c) => c.startMs < s);
  const lastFill = dayFills.reduce<StoredFill | undefined>(
    (a, f) => (a === undefined || f.tsMs >= a.tsMs ? f : a),
    undefined,
  );
  const closeNum = dayCandles.at(-1)?.close ?? before.at(-1)?.close;
  const close = closeNum !== undefined ? unitsFromNumber(closeNum) : lastFill?.price;
  const openNum = before.at(-1)?.close ?? dayCandles[0]?.open;
  const open = openNum !== undefined ? unitsFromNumber(openNum) : close;

  // Slippage: each fill against the last final candle's close before it.
  let slippage = 0n;
  for (const f of dayFills) {
    const ref = lastCloseBefore(candles, f.tsMs);
    if (ref !== undefined) slippage += slippageOf(f, unitsFromNumber(ref));
  }
  const exits = emptyExits();
  const sellOrders = new Set(dayFills.filter((f) => f.side === "ask").map((f) => f.orderUuid));
  for (const uuid of sellOrders) exits[exitKindOf(ctx.signalOf.get(uuid))]++;

  let reconciled = false;
  let reconcileNote: string | undefined;
  let startLedger = { cash: 0n, qty: 0n, cost: 0n };
  let endLedger = startLedger;
  let fees = dayFills.reduce((a, f) => a + f.fee, 0n);
  if (replay.ok) {
    startLedger = replay.value.start;
    endLedger = replay.value.end;
    fees = replay.value.fees;
    reconciled = replay.value.realizedPnl === ledgerDayPnl;
    if (!reconciled) {
      reconcileNote = `the fills give ${formatUnits(replay.value.realizedPnl)} KRW, the ledger ${
        formatUnits(ledgerDayPnl)
      } KRW`;
    }
  } else {
    reconcileNote = `the fills do not replay: ${replay.error}`;
  }

  // The equity curve: the day's start, each snapshot of the day, its end.
  const curve: { tsMs: number; equity: Units }[] = [];
  if (open !== undefined) curve.push({ tsMs: s, equity: equityOf(startLedger, open) });
  for (const p of snapshots) if (p.tsMs < e) curve.push({ tsMs: p.tsMs, equity: p.equity });
  if (close !== undefined) {
    curve.push({ tsMs: Math.min(e, ctx.until) - 1, equity: equityOf(endLedger, close) });
  }
  const equities = curve.map((p) => p.equity);
  const dd = maxDrawdown(equities);

  const backtest = compare(ctx, {
    market,
    strategy,
    candles,
    dayFills: dayFills.map(dayFillOf),
    botRealized: ledgerDayPnl,
    startLedger,
    startEquity: open === undefined ? startLedger.cash : equityOf(startLedger, open),
    tfMs,
  });
  return {
    day: {
      market,
      realizedPnl: formatUnits(ledgerDayPnl),
      unrealizedPnl: formatUnits(close === undefined ? 0n : unrealizedOf(endLedger, close)),
      fees: formatUnits(fees),
      slippage: formatUnits(slippage),
      fills: dayFills.length,
      buys: new Set(dayFills.filter((f) => f.side === "bid").map((f) => f.orderUuid)).size,
      exits,
      startVolume: formatUnits(startLedger.qty),
      endVolume: formatUnits(endLedger.qty),
      closePrice: close === undefined ? null : formatUnits(close),
      startEquity: open === undefined ? null : formatUnits(equityOf(startLedger, open)),
      endEquity: close === undefined ? null : formatUnits(equityOf(endLedger, close)),
      maxDrawdownKrw: dd === null ? null : formatUnits(dd.krw),
      maxDrawdownPct: dd?.pct ?? null,
      lossBudgetUsedPct: lossBudgetUsedPct(equities, { limitPct: ctx.rules.maxDailyLossPct }),
      candles: dayCandles.length,
      missingMinutes: missingMinutes(dayCandles, ctx),
      backtest,
      reconciled,
      ...(reconcileNote === undefined ? {} : { reconcileNote }),
    },
    curve,
  };
}

/** Re-runs the backtest over the day's candles and lines its fills up with the bot's. */
function compare(
  ctx: MarketContext,
  options: {
    readonly market: string;
    readonly strategy: Strategy | undefined;
    readonly candles: readonly Candle[];
    readonly dayFills: readonly (DayFill & { orderUuid: string })[];
    readonly botRealized: Units;
    readonly startLedger: { readonly cash: Units; readonly qty: Units };
    /** What the backtest starts with (flat): the bot's equity at the day's start. */
    readonly startEquity: Units;
    readonly tfMs: number;
  },
): BacktestComparison {
  const { market, strategy, candles, dayFills, botRealized, startLedger, startEquity, tfMs } =
    options;
  const { s, run } = ctx;
  const botLegs = legsOf(dayFills);
  const dayCandles = candles.filter((c) => c.startMs >= s).length;
  const reasons: DiffReason[] = [];
  if (dayCandles === 0 || strategy === undefined) {
    reasons.push({ kind: "no_candles" });
    return {
      ran: false,
      candles: dayCandles,
      botFills: botLegs.length,
      backtestFills: 0,
      matched: 0,
      botRealizedPnl: formatUnits(botRealized),
      backtestRealizedPnl: "0",
      pnlDiff: formatUnits(botRealized),
      reasons,
    };
  }
  const result = runBacktest(aggregateCandles(candles, run.timeframe as Timeframe), {
    market,
    strategy: quietBefore(strategy, s),
    rules: ctx.rules,
    feeBps: run.feeBps,
    slippageBps: 0,
    capital: startEquity,
    budgetPct: ctx.budgetPct,
  });
  const btFills = result.fills.filter((f) => f.tsMs >= s);
  const btLegs: Leg[] = btFills.map((f) => ({
    side: f.side === "buy" ? "bid" : "ask",
    tsMs: f.tsMs,
    price: f.price,
    volume: f.volume,
  }));
  const btRealized = result.ledger.realizedPnl;
  const match = matchLegs(botLegs, btLegs, tfMs);
  const gap = priceGapKrw(match.pairs);
  if (gap !== 0n) reasons.push({ kind: "fill_prices", krw: formatUnits(gap) });
  if (match.botOnly.length > 0) reasons.push({ kind: "bot_only", count: match.botOnly.length });
  if (match.backtestOnly.length > 0) {
    reasons.push({ kind: "backtest_only", count: match.backtestOnly.length });
  }
  if (startLedger.qty > 0n) {
    reasons.push({ kind: "held_at_start", volume: formatUnits(startLedger.qty) });
  }
  const downMs = ctx.until - s - ctx.uptime;
  if (downMs >= MINUTE_MS) {
    reasons.push({ kind: "downtime", minutes: Math.round(downMs / MINUTE_MS) });
  }
  return {
    ran: true,
    candles: dayCandles,
    botFills: botLegs.length,
    backtestFills: btLegs.length,
    matched: match.pairs.length,
    botRealizedPnl: formatUnits(botRealized),
    backtestRealizedPnl: formatUnits(btRealized),
    pnlDiff: formatUnits(botRealized - btRealized),
    reasons,
  };
}

/** The run's strategy with the parameters in force (undefined: unknown to this version). */
function strategyOf(
  run: RunRecord,
  params: Readonly<Record<string, number>>,
): Strategy | undefined {
  if (!(run.strategy in STRATEGIES)) return undefined;
  return createStrategy(run.strategy as StrategyId, params);
}

/** The strategy, warming up on the candles before `fromMs` without acting on them. */
export function quietBefore(strategy: Strategy, fromMs: number): Strategy {
  return {
    name: strategy.name,
    warmup: strategy.warmup,
    update(candle, holding) {
      const signal = strategy.update(candle, holding);
      return candle.startMs < fromMs ? HOLD : signal;
    },
  };
}

/** The close of the last final 1-minute candle before `tsMs` (candles sorted). */
function lastCloseBefore(candles: readonly Candle[], tsMs: number): number | undefined {
  let lo = 0;
  let hi = candles.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (candles[mid]!.startMs + MINUTE_MS <= tsMs) lo = mid + 1;
    else hi = mid;
  }
  return lo > 0 ? candles[lo - 1]!.close : undefined;
}

/** Minutes fully inside a run without a recorded candle. */
function missingMinutes(dayCandles: readonly Candle[], ctx: MarketContext): number {
  const have = new Set(dayCandles.map((c) => c.startMs));
  let missing = 0;
  for (let m = ctx.s; m + MINUTE_MS <= ctx.until; m += MINUTE_MS) {
    if (have.has(m)) continue;
    // The candle of minute m is final once m + 1 min has passed; a run must span it and the next.
    const covered = ctx.runs.some((r) =>
      r.startedAtMs <= m && (r.endedAtMs ?? r.lastSeenMs) >= m + 2 * MINUTE_MS
    );
    if (covered) missing++;
  }
  return missing;
}

/** The account's curve: at each point, the sum of every market's latest equity so far. */
function accountCurve(
  curves: readonly { market: string; points: readonly { tsMs: number; equity: Units }[] }[],
): Units[] {
  const all = curves.flatMap((c) => c.points.map((p) => ({ ...p, market: c.market })))
    .sort((a, b) => a.tsMs - b.tsMs);
  const latest = new Map<string, Units>();
  for (const c of curves) if (c.points[0] !== undefined) latest.set(c.market, c.points[0].equity);
  const out: Units[] = [];
  for (const p of all) {
    latest.set(p.market, p.equity);
    out.push([...latest.values()].reduce((a, b) => a + b, 0n));
  }
  return out;
}

function emptyExits(): Record<ExitKind, number> {
  return { signal: 0, stop_loss: 0, take_profit: 0, trailing_stop: 0, manual: 0, other: 0 };
}

/** A stored fill as the day's ledger replay and leg matching take it (its id: order/trade). */
export function dayFillOf(f: StoredFill): DayFill & { orderUuid: string } {
  return {
    id: `${f.orderUuid}/${f.tradeUuid}`,
    orderUuid: f.orderUuid,
    side: f.side,
    price: f.price,
    volume: f.volume,
    funds: f.funds,
    fee: f.fee,
    tsMs: f.tsMs,
  };
}
