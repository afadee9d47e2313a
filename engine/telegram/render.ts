/**
 * The operator's read models as Telegram text (plain text, no markup, so nothing needs escaping):
 * one function per reading command, each taking what the operator returned. Amounts, prices,
 * volumes, percentages and dates go through the one formatter (`engine/core/format.ts`).
 */

import {
  formatDate,
  formatDateTime,
  formatKrw,
  formatPrice,
  formatVolume,
} from "../core/format.ts";
import { parseUnits } from "../core/money.ts";
import type {
  BotStatus,
  CommandOutcome,
  DayPnl,
  MarketStatus,
  ParamsView,
  TradeView,
} from "../mod.ts";
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

/** `/status`: mode, switches, every market with its position and levels, the account. */
export function statusText(status: BotStatus, ctx: RenderContext): string {
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
  ].join("\n");
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

/** `/health`: is the process up, how fresh is each market's price, what is in flight. */
export function healthText(status: BotStatus, ctx: RenderContext): string {
  const l = ctx.t.labels;
  return [
    l.health,
    `${l.process}: ${status.running ? l.running : l.storeOnly}`,
    `${l.trading}: ${switches(status, l)}`,
    ...status.markets.map((m) => `${m.market}: ${ageOf(m, ctx)}`),
    `${l.ordersInFlight}: ${status.account.openOrders}`,
    `${l.dailyLoss}: ${status.account.dailyLossBlocked ? l.blocked : l.ok}`,
  ].join("\n");
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
