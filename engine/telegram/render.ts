/**
 * The operator's read models as Telegram text (plain text, no markup, so nothing needs escaping):
 * one function per reading command, each taking what the operator returned. Amounts, prices,
 * volumes, percentages and dates go through the one formatter (`engine/core/format.ts`).
 */

import {
  formatDate,
  formatDateTime,
  formatKrw,
  formatPct,
  formatPrice,
  formatVolume,
} from "../core/format.ts";
import { parseUnits } from "../core/money.ts";
import type {
  BotStatus,
  CommandOutcome,
  DailyReport,
  DayPnl,
  HealthView,
  MarketStatus,
  ParamsView,
  TradeView,
} from "../mod.ts";
import { EXIT_KINDS } from "../mod.ts";
import type { Labels, Messages } from "./messages.ts";

/** What every text needs: the language's words and the time it is written at. */
export interface RenderContext {
  readonly t: Messages;
  readonly nowMs: number;
}

/** `"1234.5"` (exact decimal text) → `1,235 KRW`; `signed` adds `+`. */
function krw(text: string | number | null, signed = false): string {
  if (text === null) return "n/a";
  const value = typeof text === "number" ? text : parseUnits(text);
  return `${formatKrw(value, { signed })} KRW`;
}

function price(value: string | number | null, at: { market: string; atMs: number }): string {
  if (value === null) return "n/a";
  return formatPrice(typeof value === "number" ? value : parseUnits(value), at);
}

function switches(status: BotStatus, l: Labels): string {
  if (status.halted) return l.halted;
  const parts: string[] = [];
  if (status.paused) parts.push(l.paused);
  if (status.safeMode) parts.push(l.safeMode);
  if (parts.length === 0) return l.on;
  return status.reason === "" ? parts.join(", ") : `${parts.join(", ")} (${status.reason})`;
}

function ageOf(m: MarketStatus, ctx: RenderContext): string {
  const l = ctx.t.labels;
  if (m.lastPriceAtMs === null) return l.noPrice;
  return l.dataAge(Math.max(0, Math.round((ctx.nowMs - m.lastPriceAtMs) / 1000)));
}

function marketLines(m: MarketStatus, ctx: RenderContext): string[] {
  const l = ctx.t.labels;
  const p = m.position;
  if (p === null) return [`${m.market}: ${l.flat} · ${ageOf(m, ctx)}`];
  const at = { market: m.market, atMs: ctx.nowMs };
  const levels = [
    p.stop === null ? null : `${l.stop} ${price(p.stop, at)}`,
    p.target === null ? null : `${l.target} ${price(p.target, at)}`,
    p.trailingStop === null ? null : `${l.trailing} ${price(p.trailingStop, at)}`,
  ].filter((x) => x !== null);
  return [
    `${m.market}: ${formatVolume(parseUnits(p.volume))} @ ${l.entry} ${
      price(p.avgPrice, at)
    } · ${l.now} ${price(m.lastPrice, at)} · ${l.pnl} ${krw(m.unrealizedPnl, true)}`,
    ...(levels.length === 0 ? [] : [`  ${levels.join(" · ")}`]),
    `  ${ageOf(m, ctx)}`,
  ];
}

/** Telegram refuses texts over 4,096 characters; replies stay under this. */
const MAX_TEXT = 3_900;

/** One error as a line: when, code, message (cut at 200 characters). */
function errorText(e: NonNullable<HealthView["lastError"]>): string {
  const message = e.message.length > 200 ? `${e.message.slice(0, 199)}…` : e.message;
  return `${formatDateTime(e.atMs)} UTC ${e.code}: ${message}`;
}

/**
 * `/status`: mode, switches, every market with its position, levels and data age, the account,
 * and the newest error.
 */
export function statusText(
  status: BotStatus,
  ctx: RenderContext,
  lastError: HealthView["lastError"],
): string {
  const l = ctx.t.labels;
  const a = status.account;
  return [
    `${l.status}: ${status.mode} · ${status.botId} · ${status.running ? l.running : l.storeOnly}`,
    `${l.trading}: ${switches(status, l)}${
      status.changedAtMs === 0 ? "" : ` · ${l.since} ${formatDateTime(status.changedAtMs)} UTC`
    }`,
    ...status.markets.flatMap((m) => marketLines(m, ctx)),
    `${l.account}: ${l.equity} ${krw(a.equity)} · ${l.pnl} ${krw(a.pnl, true)} · ${l.today} ${
      krw(a.dailyPnl, true)
    }`,
    `${l.lastError}: ${lastError === null ? l.none : errorText(lastError)}`,
  ].join("\n");
}

/** The question of `/sell <market>`: what is held, at what, and the button's time limit. */
export function sellQuestion(m: MarketStatus, ctx: RenderContext): (seconds: number) => string {
  const l = ctx.t.labels;
  const p = m.position!;
  const at = { market: m.market, atMs: ctx.nowMs };
  const held = `${formatVolume(parseUnits(p.volume))} ${m.market} (${l.entry} ${
    price(p.avgPrice, at)
  } · ${l.now} ${price(m.lastPrice, at)} · ${l.pnl} ${krw(m.unrealizedPnl, true)})`;
  return (seconds) => ctx.t.confirmSell(held, seconds);
}

/** `/balance`: the account's money. */
export function balanceText(status: BotStatus, t: Messages): string {
  const l = t.labels;
  const a = status.account;
  return [
    l.balance,
    `${l.cash}: ${krw(a.cash)}`,
    `${l.positionsCost}: ${krw(a.positionsCost)}`,
    `${l.equity}: ${krw(a.equity)}`,
    `${l.committed}: ${krw(a.committedKrw)}`,
    ...(a.capitalKrw === null ? [] : [`${l.capital}: ${krw(a.capitalKrw)}`]),
  ].join("\n");
}

/** `/positions`: the markets holding a position. */
export function positionsText(positions: readonly MarketStatus[], ctx: RenderContext): string {
  const l = ctx.t.labels;
  if (positions.length === 0) return l.noPositions;
  return [l.positions, ...positions.flatMap((m) => marketLines(m, ctx))].join("\n");
}

/** `/trades [n]`: the newest fills, newest first. */
export function tradesText(trades: readonly TradeView[], t: Messages): string {
  const l = t.labels;
  if (trades.length === 0) return l.noTrades;
  return [
    l.trades,
    ...trades.map((f) =>
      `${formatDateTime(f.atMs)} ${f.market} ${f.side === "bid" ? l.buy : l.sell} ${
        formatVolume(parseUnits(f.volume))
      } @ ${price(f.price, f)} = ${krw(f.funds)} (${l.fee} ${krw(f.fee)})`
    ),
  ].join("\n");
}

/** `/profit`: realized, unrealized and total P&L with fees, per market and for the account. */
export function profitText(status: BotStatus, t: Messages): string {
  const l = t.labels;
  const a = status.account;
  return [
    l.profit,
    ...status.markets.map((m) =>
      `${m.market}: ${l.realized} ${krw(m.realizedPnl, true)} · ${l.unrealized} ${
        krw(m.unrealizedPnl, true)
      } · ${l.fees} ${krw(m.fees)}`
    ),
    `${l.account}: ${l.realized} ${krw(a.realizedPnl, true)} · ${l.unrealized} ${
      krw(a.unrealizedPnl, true)
    } · ${l.total} ${krw(a.pnl, true)} · ${l.fees} ${krw(a.fees)}`,
    `${l.today}: ${krw(a.dailyPnl, true)}`,
  ].join("\n");
}

/** `/daily [n]`: realized P&L per Upbit day, newest first. */
export function dailyText(days: readonly DayPnl[], t: Messages): string {
  return [
    t.labels.daily,
    ...days.map((d) => `${formatDate(d.dayStartMs)}: ${krw(d.account, true)}`),
  ].join("\n");
}

/** `/settings`: the strategy and every run-time parameter (`*`: changed at run time). */
export function settingsText(view: ParamsView, t: Messages): string {
  const l = t.labels;
  const show = (v: number | undefined) => v === undefined ? "-" : String(v);
  return [
    `${l.settings} (${l.strategy} ${view.strategy}, ${l.version} ${view.version})`,
    ...view.params.map((p) =>
      `${p.overridden ? "*" : " "} ${p.name} = ${show(p.value)}${
        p.overridden ? ` (${l.startup} ${show(p.startup)})` : ""
      }`
    ),
  ].join("\n");
}

/** `2 h 5 min` (whole minutes; `0 min` under one). */
function duration(ms: number): string {
  const minutes = Math.max(0, Math.floor(ms / 60_000));
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  return [
    ...(days > 0 ? [`${days} d`] : []),
    ...(days > 0 || hours > 0 ? [`${hours} h`] : []),
    `${minutes % 60} min`,
  ].join(" ");
}

/**
 * `/health`: is the process up and since when, the market-data link, the loop's last tick, how
 * fresh is each market's price, what is in flight, the daily loss limit, the last error.
 */
export function healthText(status: BotStatus, health: HealthView, ctx: RenderContext): string {
  const l = ctx.t.labels;
  const started = `${formatDateTime(status.startedAtMs)} UTC`;
  const process = status.running
    ? `${l.running} · ${l.up} ${duration(ctx.nowMs - status.startedAtMs)} (${l.since} ${started})`
    : `${l.storeOnly} · ${l.lastStart} ${started}`;
  const tick = health.lastTickMs === null
    ? l.never
    : l.ago(Math.max(0, Math.round((ctx.nowMs - health.lastTickMs) / 1000)));
  return [
    l.health,
    `${l.process}: ${process}`,
    `${l.trading}: ${switches(status, l)}`,
    `${l.marketData}: ${l.link[health.link]} · ${l.loopTick} ${tick}`,
    ...status.markets.map((m) => `${m.market}: ${ageOf(m, ctx)}`),
    `${l.ordersInFlight}: ${status.account.openOrders}`,
    `${l.dailyLoss}: ${status.account.dailyLossBlocked ? l.blocked : l.ok}`,
    `${l.lastError}: ${health.lastError === null ? l.none : errorText(health.lastError)}`,
  ].join("\n");
}

/** `/logs [n]`: the newest log lines, oldest first, as many as fit in one message. */
export function logsText(lines: readonly string[], t: Messages): string {
  if (lines.length === 0) return t.labels.noLogLines;
  const kept: string[] = [];
  let size = 0;
  for (let i = lines.length - 1; i >= 0; i--) {
    size += lines[i]!.length + 1;
    if (size > MAX_TEXT) break;
    kept.unshift(lines[i]!);
  }
  return [t.labels.logs(kept.length), ...kept].join("\n");
}

/** What a command did: the result, its one line, and per market what a stop did. */
export function outcomeText(outcome: CommandOutcome, t: Messages): string {
  const l = t.labels;
  return [
    `${t.outcome[outcome.result]}: ${outcome.detail}`,
    ...outcome.reports.map((r) =>
      [
        `${r.market}: ${l.cancelledOrders} ${r.cancelled.length}`,
        ...(r.sold === null
          ? []
          : [`${l.sold} ${formatVolume(parseUnits(r.sold.volume))} = ${krw(r.sold.funds)}`]),
        ...(r.errors.length === 0 ? [] : [`${l.errors}: ${r.errors.join("; ")}`]),
      ].join(" · ")
    ),
    `${l.trading}: ${switches(outcome.status, l)}`,
  ].join("\n");
}

/** `/report [date]`: the daily report, the account's figures and one block per market. */
export function reportText(report: DailyReport, t: Messages): string {
  const w = t.report;
  const a = report.account;
  const h = report.dataHealth;
  const pctOf = (v: number | null) => v === null ? w.off : formatPct(v, { signed: false });
  const exits = EXIT_KINDS.filter((k) => a.exits[k] > 0).map((k) =>
    `${w.exitKind[k]} ${a.exits[k]}`
  );
  const lines = [
    `${w.title(report.date)}${report.complete ? "" : ` (${w.soFar})`}`,
    `${w.realized} ${krw(a.realizedPnl, true)} · ${w.unrealized} ${krw(a.unrealizedPnl, true)}`,
    `${w.fees} ${krw(a.fees)} · ${w.slippage} ${krw(a.slippage)}`,
    `${w.fills(a.fills)} · ${w.exits}: ${exits.length === 0 ? w.none : exits.join(", ")}`,
    `${w.drawdown} ${pctOf(a.maxDrawdownPct)} (${krw(a.maxDrawdownKrw)}) · ${w.lossBudget} ${
      pctOf(a.lossBudgetUsedPct)
    }`,
    w.data({
      reconnects: h.reconnects,
      stale: h.staleData,
      watchdog: h.watchdogAlerts,
      limited: h.rateLimited,
      missing: h.missingMinutes,
    }),
    `${w.uptime} ${formatPct(report.uptime.pct, { signed: false })}`,
    report.backtest.ran
      ? `${w.backtest} ${krw(report.backtest.backtestRealizedPnl, true)} · ${
        w.matched(report.backtest.matched)
      } · ${w.diff} ${krw(report.backtest.pnlDiff, true)}`
      : `${w.backtest}: ${w.notRun}`,
    ...report.markets.flatMap((m) => {
      const reasons = m.backtest.reasons.map((r) => w.why(r, (x) => krw(x, true)));
      return report.markets.length === 1 && reasons.length === 0 ? [] : [
        `${m.market}: ${krw(m.realizedPnl, true)} · ${w.fills(m.fills)}${
          reasons.length === 0 ? "" : ` · ${reasons.join("; ")}`
        }`,
      ];
    }),
    report.reconciled ? w.reconciled : w.notReconciled,
  ];
  const text = lines.join("\n");
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT - 1)}…` : text;
}
