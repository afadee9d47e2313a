/** The readable backtest report printed by `deno task backtest`. */

import type { BacktestResult } from "../core/backtest.ts";
import type { Metrics, YearMetrics } from "../core/metrics.ts";
import {
  formatDate,
  formatKrw,
  formatNumber,
  formatPct,
  formatPrice,
  formatVolume,
} from "../core/format.ts";
import type { RiskRules } from "../core/risk.ts";
import { reportPeriod } from "./period.ts";

/** What the text report is made from. */
export interface TextReportInput {
  readonly result: BacktestResult;
  readonly metrics: Metrics;
  readonly years: readonly YearMetrics[];
  readonly options: {
    readonly rules: RiskRules;
    readonly feeBps: number;
    readonly slippageBps: number;
  };
  readonly title: string;
  readonly source: string;
}

function drawdown(value: number): string {
  return formatPct(-value);
}

function num(value: number, digits = 2): string {
  return formatNumber(value, { decimals: digits });
}

function rule(value: number, sign: string): string {
  return value > 0 ? `${sign}${value}%` : "off";
}

/** Renders the report: header, metrics beside buy-and-hold, each year, and the trades. */
export function renderTextReport(input: TextReportInput): string {
  const { result, metrics: m, years, options, title, source } = input;
  const r = options.rules;
  const lines: string[] = [];
  const row = (label: string, ours: string, hold = "") =>
    lines.push(`  ${label.padEnd(20)}${ours.padStart(14)}${hold.padStart(14)}`);
  const period = reportPeriod(result.candles);
  lines.push(`upbit-trader backtest · ${title}`);
  lines.push(
    `  ${formatDate(period.firstMs)} → ${formatDate(period.lastMs)} (${
      formatNumber(m.days, { decimals: 0 })
    } days, ${formatNumber(result.candles.length, { decimals: 0 })} candles) from ${source}`,
  );
  lines.push(
    `  risk: stop ${rule(r.stopLossPct, "-")}, target ${rule(r.takeProfitPct, "+")}, daily limit ${
      rule(r.maxDailyLossPct, "-")
    }, trailing ${rule(r.trailingStopPct, "-")} · fee ${options.feeBps / 100}% · slippage ${
      options.slippageBps / 100
    }% · capital ${formatKrw(m.startEquity)} KRW`,
  );
  lines.push("");
  row("", "strategy", "buy & hold");
  row("total return", formatPct(m.totalReturnPct), formatPct(m.buyHoldReturnPct));
  row("CAGR", formatPct(m.cagrPct), formatPct(m.buyHoldCagrPct));
  row("max drawdown", drawdown(m.maxDrawdownPct), drawdown(m.buyHoldMaxDrawdownPct));
  row(
    "final equity (KRW)",
    formatKrw(m.endEquity),
    formatKrw(m.startEquity * (1 + m.buyHoldReturnPct / 100)),
  );
  row("Sharpe", num(m.sharpe));
  row("Sortino", num(m.sortino));
  row("trades", String(m.trades));
  row("trades per year", num(m.tradesPerYear, 1));
  row("win rate", formatPct(m.winRatePct, { decimals: 1, signed: false }));
  row("profit factor", num(m.profitFactor));
  row("avg holding", `${num(m.avgHoldingDays, 1)} days`);
  row("exposure", formatPct(m.exposurePct, { decimals: 1, signed: false }));
  row("fees paid (KRW)", formatKrw(m.feesKrw));
  const verdict = m.totalReturnPct >= m.buyHoldReturnPct ? "beat" : "did NOT beat";
  lines.push("");
  lines.push(
    `  The strategy ${verdict} buy-and-hold over the period (${formatPct(m.totalReturnPct)} vs ${
      formatPct(m.buyHoldReturnPct)
    }).`,
  );
  lines.push("");
  lines.push(
    `  ${"year".padEnd(8)}${"strategy".padStart(12)}${"buy & hold".padStart(12)}${
      "max DD".padStart(10)
    }${"trades".padStart(8)}`,
  );
  for (const y of years) {
    lines.push(
      `  ${(String(y.year) + (y.partial ? "*" : "")).padEnd(8)}${
        formatPct(y.returnPct).padStart(12)
      }${formatPct(y.buyHoldReturnPct).padStart(12)}${drawdown(y.maxDrawdownPct).padStart(10)}${
        String(y.trades).padStart(8)
      }`,
    );
  }
  if (years.some((y) => y.partial)) lines.push("  * part of the year only");
  lines.push("");
  if (result.trades.length > 0) {
    lines.push("  trades:");
    for (const t of result.trades) {
      lines.push(
        `  ${formatDate(t.entryMs)} → ${formatDate(t.exitMs)}  ${
          formatPrice(t.entryPrice, { atMs: t.entryMs }).padStart(12)
        } → ${formatPrice(t.exitPrice, { atMs: t.exitMs }).padStart(12)}  ${
          formatPct(t.returnPct).padStart(8)
        }  ${t.exit.replace("_", " ")}`,
      );
    }
  }
  if (result.ledger.qty > 0n) {
    lines.push(
      `  open position: ${formatVolume(result.ledger.qty)} at avg ${
        formatKrw(result.ledger.avgPrice)
      } KRW (marked at the last close)`,
    );
  }
  const skipped = result.signals.filter((s) => !s.executed);
  if (skipped.length > 0) {
    lines.push("");
    lines.push(`  signals not executed (${skipped.length}):`);
    for (const s of skipped.slice(0, 20)) {
      lines.push(`  ${formatDate(s.tsMs)} ${s.action}: ${s.reason}`);
    }
  }
  return lines.join("\n") + "\n";
}
