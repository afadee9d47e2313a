/**
 * The daily report's pure parts: which reports are due (a function of the clock and the issued
 * markers only, so `Deno.cron`, the minute check and the start-up catch-up all agree), the day's
 * figures from the fills (replayed through the ledger, exact `Units`), the intraday drawdown, the
 * share of the loss limit used, the uptime of the runs, and the match of the bot's fills against
 * the backtest's.
 *
 * A report covers one Upbit day: 00:00 UTC (09:00 KST) to the next. It is named by that date and
 * is due at the first report time (KST, default 09:00) at or after the day's end.
 */

import { DAY_MS, upbitDayStartMs } from "./candle.ts";
import { formatDate } from "./format.ts";
import { applyFill, type Ledger, openLedger } from "./ledger.ts";
import { mulUnits, SCALE, type Units } from "./money.ts";
import { err, ok, type Result } from "./result.ts";

/** KST is UTC+9 (no daylight saving). */
const KST_OFFSET_MS = 9 * 3_600_000;

/** A time of day in KST. */
export interface ReportTime {
  readonly hour: number;
  readonly minute: number;
}

/** 09:00 KST: the end of the Upbit day, so the report comes as the day closes. */
export const DEFAULT_REPORT_TIME: ReportTime = { hour: 9, minute: 0 };

/** A report issued later than this after it was due is marked late (a catch-up). */
export const LATE_AFTER_MS = 5 * 60_000;

/** The start-up catch-up issues the missed reports of at most this many days back. */
export const MAX_CATCH_UP_DAYS = 7;

/** Parses `HH:MM` (KST, 24 h). */
export function parseReportTime(text: string): Result<ReportTime, string> {
  const m = /^(\d{2}):(\d{2})$/.exec(text.trim());
  if (m === null) return err(`expected HH:MM (KST, 24 h), got "${text.slice(0, 20)}"`);
  const hour = Number(m[1]);
  const minute = Number(m[2]);
  if (hour > 23 || minute > 59) return err(`not a time of day: ${text.trim()}`);
  return ok({ hour, minute });
}

/** The report time as `HH:MM`. */
export function formatReportTime(time: ReportTime): string {
  return `${String(time.hour).padStart(2, "0")}:${String(time.minute).padStart(2, "0")}`;
}

/** Ms after 00:00 UTC at which the report time falls (Deno.cron runs in UTC). */
function utcOffsetMs(time: ReportTime): number {
  const kstMs = (time.hour * 60 + time.minute) * 60_000;
  return (((kstMs - KST_OFFSET_MS) % DAY_MS) + DAY_MS) % DAY_MS;
}

/** The 5-field UTC cron spec of the report time (`"0 0 * * *"` for 09:00 KST). */
export function reportCronSpec(time: ReportTime): string {
  const minutes = utcOffsetMs(time) / 60_000;
  return `${minutes % 60} ${Math.floor(minutes / 60)} * * *`;
}

/** When the report of the day starting at `dayStartMs` is due. */
export function reportDueMs(dayStartMs: number, time: ReportTime): number {
  return dayStartMs + DAY_MS + utcOffsetMs(time);
}

/** The report's name: the date of the day's start (`2022-06-01`). */
export function reportDate(dayStartMs: number): string {
  return formatDate(dayStartMs);
}

/** The start of the day a `YYYY-MM-DD` names (undefined: not a real date). */
export function dayStartOfDate(date: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (m === null) return undefined;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return reportDate(ms) === date ? ms : undefined;
}

/**
 * The days whose report is due at `nowMs` and not issued yet, oldest first: from the first day
 * the bot knew (`firstDayStartMs`), at most `maxDays` back.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const day = Date.UTC(2022, 5, 1);
 * const due = dueReportDays({
 *   nowMs: day + 2 * 86_400_000 + 60_000, // 09:01 KST two days later
 *   time: { hour: 9, minute: 0 },
 *   firstDayStartMs: day,
 *   issued: new Set([day]),
 * });
 * assert.deepEqual(due, [day + 86_400_000]);
 * ```
 */
export function dueReportDays(options: {
  readonly nowMs: number;
  readonly time: ReportTime;
  readonly firstDayStartMs: number;
  readonly issued: ReadonlySet<number>;
  readonly maxDays?: number;
}): number[] {
  const { nowMs, time, issued } = options;
  const lastDue = lastDueDay(nowMs, time);
  const maxDays = options.maxDays ?? MAX_CATCH_UP_DAYS;
  const from = Math.max(upbitDayStartMs(options.firstDayStartMs), lastDue - (maxDays - 1) * DAY_MS);
  const out: number[] = [];
  for (let day = from; day <= lastDue; day += DAY_MS) {
    if (!issued.has(day)) out.push(day);
  }
  return out;
}

/** The start of the newest day whose report is due at `nowMs`. */
export function lastDueDay(nowMs: number, time: ReportTime): number {
  return upbitDayStartMs(nowMs - utcOffsetMs(time)) - DAY_MS;
}

// ---- the day's figures from the fills ----------------------------------------------------------

/** A fill as the report reads it (the store's fill, sides as Upbit names them). */
export interface DayFill {
  readonly id: string;
  readonly side: "bid" | "ask";
  readonly price: Units;
  readonly volume: Units;
  readonly funds: Units;
  readonly fee: Units;
  readonly tsMs: number;
}

/** One market's ledger at the day's start and end, and what the day's fills did. */
export interface LedgerDay {
  readonly start: Ledger;
  readonly end: Ledger;
  /** Realized P&L of the fills inside the day. */
  readonly realizedPnl: Units;
  readonly fees: Units;
}

/**
 * Replays a market's fills through the ledger from its opening cash, in time order, and returns
 * its state at the day's start and end. Fills of the same ms (a stop's sale and the next buy of
 * one candle) go in the order the ledger accepts them, sales first. An error when the fills do
 * not make a ledger (an adopted position has no buy fill): the report then cannot reconcile.
 */
export function replayDay(
  fills: readonly DayFill[],
  options: { readonly initialCash: Units; readonly fromMs: number; readonly toMs: number },
): Result<LedgerDay, string> {
  const sorted = [...fills].filter((f) => f.tsMs < options.toMs).sort((a, b) =>
    a.tsMs - b.tsMs || (a.side === b.side ? (a.id < b.id ? -1 : 1) : a.side === "ask" ? -1 : 1)
  );
  let ledger = openLedger(options.initialCash);
  let start: Ledger | undefined;
  for (let i = 0; i < sorted.length;) {
    const tsMs = sorted[i]!.tsMs;
    if (start === undefined && tsMs >= options.fromMs) start = ledger;
    const group: DayFill[] = [];
    while (i < sorted.length && sorted[i]!.tsMs === tsMs) group.push(sorted[i++]!);
    while (group.length > 0) {
      let applied = false;
      for (const [j, f] of group.entries()) {
        const next = applyFill(ledger, { ...f, side: f.side === "bid" ? "buy" : "sell" });
        if (!next.ok) continue;
        ledger = next.value;
        group.splice(j, 1);
        applied = true;
        break;
      }
      if (!applied) {
        const f = group[0]!;
        const next = applyFill(ledger, { ...f, side: f.side === "bid" ? "buy" : "sell" });
        return err(`fill ${f.id}: ${next.ok ? "refused" : next.error.kind}`);
      }
    }
  }
  start ??= ledger;
  return ok({
    start,
    end: ledger,
    realizedPnl: ledger.realizedPnl - start.realizedPnl,
    fees: ledger.fees - start.fees,
  });
}

/** A ledger's equity at `price`: cash + position at that price. */
export function equityOf(ledger: Pick<Ledger, "cash" | "qty">, price: Units): Units {
  return ledger.cash + mulUnits(ledger.qty, price, "half_up");
}

/** The position at `price` less its cost (0 when flat). */
export function unrealizedOf(ledger: Pick<Ledger, "qty" | "cost">, price: Units): Units {
  return ledger.qty > 0n ? mulUnits(ledger.qty, price, "half_up") - ledger.cost : 0n;
}

/**
 * KRW a fill lost to its price against `reference` (the last close before the order): a buy above
 * it, a sell below it; negative when the fill was better.
 */
export function slippageOf(
  fill: Pick<DayFill, "side" | "price" | "volume">,
  reference: Units,
): Units {
  const diff = fill.side === "bid" ? fill.price - reference : reference - fill.price;
  return mulUnits(diff, fill.volume, "half_up");
}

/** Why a position was closed, from its order's signal id (`stop_loss@…`, `bb@…`, …). */
export type ExitKind =
  | "signal"
  | "stop_loss"
  | "take_profit"
  | "trailing_stop"
  | "manual"
  | "other";

/** The exit kind of a sell's signal id (undefined: an order the bot did not place). */
export function exitKindOf(signalId: string | undefined): ExitKind {
  if (signalId === undefined) return "other";
  const head = signalId.split("@")[0] ?? "";
  switch (head) {
    case "stop_loss":
    case "take_profit":
    case "trailing_stop":
      return head;
    case "emergency":
      return "manual";
    default:
      return "signal";
  }
}

// ---- equity: drawdown and the loss limit -------------------------------------------------------

/** The largest fall from a running high, in KRW and % of that high. */
export interface Drawdown {
  readonly krw: Units;
  /** null when the high was not positive. */
  readonly pct: number | null;
}

/** The maximum drawdown of an equity curve (in time order). */
export function maxDrawdown(curve: readonly Units[]): Drawdown | null {
  if (curve.length === 0) return null;
  let peak = curve[0]!;
  let worst = 0n;
  let worstPeak = peak;
  for (const e of curve) {
    if (e > peak) peak = e;
    if (peak - e > worst) {
      worst = peak - e;
      worstPeak = peak;
    }
  }
  return { krw: worst, pct: worstPeak > 0n ? ratioPct(worst, worstPeak) : null };
}

/**
 * The day's worst loss from its start as a share (%) of the daily loss limit (`limitPct` % of the
 * start); null when the limit is off or the start is not positive.
 */
export function lossBudgetUsedPct(
  curve: readonly Units[],
  options: { readonly limitPct: number },
): number | null {
  const start = curve[0];
  if (start === undefined || start <= 0n || !(options.limitPct > 0)) return null;
  let low = start;
  for (const e of curve) if (e < low) low = e;
  const budget = Number(start) * options.limitPct / 100;
  return (Number(start - low) / budget) * 100;
}

/** `a / b` in %, as a float (for display; the amounts stay exact). */
function ratioPct(a: Units, b: Units): number {
  return (Number((a * 1_000_000n) / b) / 1_000_000) * 100;
}

// ---- uptime ------------------------------------------------------------------------------------

/** A run of the bot: from its start to its clean end, or to its last heartbeat after a crash. */
export interface RunInterval {
  readonly startedAtMs: number;
  readonly lastSeenMs: number;
  readonly endedAtMs: number | null;
}

/** How long the runs covered [fromMs, toMs) (overlaps counted once). */
export function uptimeMs(
  runs: readonly RunInterval[],
  range: { readonly fromMs: number; readonly toMs: number },
): number {
  const spans = runs
    .map((
      r,
    ) => [Math.max(r.startedAtMs, range.fromMs), Math.min(r.endedAtMs ?? r.lastSeenMs, range.toMs)])
    .filter(([a, b]) => b! > a!)
    .sort((x, y) => x[0]! - y[0]!);
  let total = 0;
  let until = -Infinity;
  for (const [a, b] of spans) {
    const from = Math.max(a!, until);
    if (b! > from) total += b! - from;
    until = Math.max(until, b!);
  }
  return total;
}

// ---- bot versus backtest -----------------------------------------------------------------------

/** One fill of the bot or the backtest, as matched. */
export interface Leg {
  readonly side: "bid" | "ask";
  readonly tsMs: number;
  readonly price: Units;
  readonly volume: Units;
}

/** The legs of both that match (same side, within the tolerance), and those of one only. */
export interface LegMatch {
  readonly pairs: readonly { readonly bot: Leg; readonly backtest: Leg }[];
  readonly botOnly: readonly Leg[];
  readonly backtestOnly: readonly Leg[];
}

/**
 * Pairs each bot leg with the first unmatched backtest leg of the same side within `toleranceMs`
 * (one strategy bucket: the bot fills at the next bucket's first trade, the backtest at its open).
 */
export function matchLegs(
  bot: readonly Leg[],
  backtest: readonly Leg[],
  toleranceMs: number,
): LegMatch {
  const used = new Set<number>();
  const pairs: { bot: Leg; backtest: Leg }[] = [];
  const botOnly: Leg[] = [];
  for (const b of [...bot].sort((x, y) => x.tsMs - y.tsMs)) {
    const i = backtest.findIndex((t, j) =>
      !used.has(j) && t.side === b.side && Math.abs(t.tsMs - b.tsMs) <= toleranceMs
    );
    if (i < 0) botOnly.push(b);
    else {
      used.add(i);
      pairs.push({ bot: b, backtest: backtest[i]! });
    }
  }
  return { pairs, botOnly, backtestOnly: backtest.filter((_, j) => !used.has(j)) };
}

/** What the bot's fill prices cost against the backtest's on the matched legs (KRW). */
export function priceGapKrw(pairs: LegMatch["pairs"]): Units {
  let sum = 0n;
  for (const { bot, backtest } of pairs) {
    sum += slippageOf(bot, backtest.price);
  }
  return sum;
}

/** The legs of a list of fills, one per order (first fill's time, volume-weighted price). */
export function legsOf(
  fills: readonly (DayFill & { readonly orderUuid: string })[],
): Leg[] {
  const byOrder = new Map<
    string,
    { side: "bid" | "ask"; tsMs: number; funds: Units; volume: Units }
  >();
  for (const f of fills) {
    const leg = byOrder.get(f.orderUuid) ?? { side: f.side, tsMs: f.tsMs, funds: 0n, volume: 0n };
    leg.tsMs = Math.min(leg.tsMs, f.tsMs);
    leg.funds += f.funds;
    leg.volume += f.volume;
    byOrder.set(f.orderUuid, leg);
  }
  return [...byOrder.values()]
    .map((l) => ({
      side: l.side,
      tsMs: l.tsMs,
      price: l.volume > 0n ? (l.funds * SCALE) / l.volume : 0n,
      volume: l.volume,
    }))
    .sort((a, b) => a.tsMs - b.tsMs);
}

// ---- the watchdog ------------------------------------------------------------------------------

/** The watchdog's verdict on one check of one market. */
export interface StaleVerdict {
  readonly stale: boolean;
  readonly ageMs: number;
}

/** Stale when the newest sign of life is older than `limitMs` (none yet: no verdict). */
export function staleVerdict(
  lastMs: number | undefined,
  options: { readonly nowMs: number; readonly limitMs: number },
): StaleVerdict | undefined {
  if (lastMs === undefined || lastMs <= 0) return undefined;
  const ageMs = Math.max(0, options.nowMs - lastMs);
  return { stale: ageMs > options.limitMs, ageMs };
}
