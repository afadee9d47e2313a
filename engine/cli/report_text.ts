/**
 * The daily report as text for `deno task report` (`ctl report`): the account's figures, each
 * market's when there are several, data health, uptime, and the backtest beside the bot with
 * why they differ. Amounts, percentages and dates through the one formatter.
 */

import {
  type DailyReport,
  type DiffReason,
  EXIT_KINDS,
  formatDateTime,
  formatKrw,
  formatPct,
  formatPrice,
  formatVolume,
  type MarketDay,
  parseUnits,
} from "../mod.ts";

function krw(text: string | null, signed = false): string {
  return text === null ? "n/a" : `${formatKrw(parseUnits(text), { signed })} KRW`;
}

function pct(value: number | null): string {
  return value === null ? "n/a" : formatPct(value, { signed: false });
}

/** `stop_loss` → `stop loss 2`, only the kinds that happened. */
function exitsText(exits: MarketDay["exits"]): string {
  const parts = EXIT_KINDS.filter((k) => exits[k] > 0).map((k) =>
    `${k.replaceAll("_", " ")} ${exits[k]}`
  );
  return parts.length === 0 ? "none" : parts.join(", ");
}

/** One reason the bot's P&L differs from the backtest's, in words. */
export function diffReasonText(reason: DiffReason): string {
  switch (reason.kind) {
    case "fill_prices":
      return `the bot's fill prices cost ${
        krw(reason.krw, true)
      } against the backtest's (next open)`;
    case "bot_only":
      return `${reason.count} fill${reason.count === 1 ? "" : "s"} by the bot only`;
    case "backtest_only":
      return `${reason.count} fill${reason.count === 1 ? "" : "s"} by the backtest only`;
    case "held_at_start":
      return `the bot held ${formatVolume(parseUnits(reason.volume))} at the day's start ` +
        "(the backtest starts flat with the same equity)";
    case "downtime":
      return `the bot was down ${reason.minutes} min`;
    case "no_candles":
      return "no candle of the day was recorded: no backtest";
  }
}

function marketLines(m: MarketDay, atMs: number): string[] {
  const b = m.backtest;
  return [
    `${m.market}: realized ${krw(m.realizedPnl, true)}, unrealized ${
      krw(m.unrealizedPnl, true)
    }, fees ${krw(m.fees)}, slippage ${krw(m.slippage)}`,
    `  ${m.fills} fills, ${m.buys} buys, exits: ${exitsText(m.exits)}; held ${
      formatVolume(parseUnits(m.startVolume))
    } → ${formatVolume(parseUnits(m.endVolume))}${
      m.closePrice === null
        ? ""
        : ` (close ${formatPrice(parseUnits(m.closePrice), { atMs, market: m.market })})`
    }`,
    `  backtest ${
      krw(b.backtestRealizedPnl, true)
    } over ${b.candles} candles: ${b.matched} of ${b.botFills} bot fills matched (${b.backtestFills} backtest fills); bot - backtest ${
      krw(b.pnlDiff, true)
    }`,
    ...b.reasons.map((r) => `    why: ${diffReasonText(r)}`),
    ...(m.reconciled ? [] : [`  NOT reconciled with the ledger: ${m.reconcileNote ?? ""}`]),
  ];
}

/** The report as lines of text. */
export function formatDailyReport(report: DailyReport): string {
  const a = report.account;
  const h = report.dataHealth;
  const up = report.uptime;
  const lines = [
    `Daily report ${report.date} (09:00 KST ${report.date} to 09:00 KST the next day)${
      report.complete ? "" : ", so far"
    }`,
    `bot ${report.botId} (${report.mode}), ${report.strategy} ${report.timeframe}; ${
      report.issuedAtMs === null ? "not sent yet" : `sent ${formatDateTime(report.issuedAtMs)} UTC`
    }`,
    "",
    `P&L       realized ${krw(a.realizedPnl, true)}, unrealized ${krw(a.unrealizedPnl, true)}`,
    `costs     fees ${krw(a.fees)}, slippage ${krw(a.slippage)} (vs the last close)`,
    `trades    ${a.fills} fills; exits: ${exitsText(a.exits)}`,
    `risk      max drawdown ${pct(a.maxDrawdownPct)} (${krw(a.maxDrawdownKrw)}); daily loss limit ${
      formatPct(a.lossLimitPct, { signed: false })
    }: ${pct(a.lossBudgetUsedPct)} used`,
    `data      ${h.reconnects} reconnects, ${h.staleData} stale-data alerts, ${h.watchdogAlerts} watchdog alerts, ${h.rateLimited} rate-limit answers (429/418), ${h.errors} errors, ${h.missingMinutes} minutes without a candle`,
    `uptime    ${formatPct(up.pct, { signed: false })} (${Math.round(up.runningMs / 60_000)} of ${
      Math.round(up.periodMs / 60_000)
    } min, ${up.starts} start${up.starts === 1 ? "" : "s"})`,
    `backtest  ${
      report.backtest.ran
        ? `${
          krw(report.backtest.backtestRealizedPnl, true)
        } realized, ${report.backtest.matched} fills matched; bot - backtest ${
          krw(report.backtest.pnlDiff, true)
        }`
        : "not run (no candles recorded)"
    }`,
    `ledger    ${report.reconciled ? "reconciled to the won" : "NOT reconciled (see below)"}`,
    "",
    ...report.markets.flatMap((m) => marketLines(m, report.dayStartMs)),
  ];
  return lines.join("\n");
}
