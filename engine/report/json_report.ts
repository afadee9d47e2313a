/** The `--json` backtest report: one object with snake_case metrics and the trade list. */

import type { BacktestResult } from "../core/backtest.ts";
import type { Metrics, YearMetrics } from "../core/metrics.ts";
import { jsonMoney } from "../core/format.ts";
import { unitsFromNumber } from "../core/money.ts";
import { formatIsoUtc } from "../core/time.ts";
import { reportPeriod } from "./period.ts";

/** What the JSON report is made from. */
export interface JsonReportInput {
  readonly result: BacktestResult;
  readonly metrics: Metrics;
  readonly years: readonly YearMetrics[];
  readonly options: {
    readonly market: string;
    readonly timeframe: string;
    readonly feeBps: number;
    readonly slippageBps: number;
  };
}

function round(value: number, digits: number): number | null {
  if (!Number.isFinite(value)) return null;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** A float KRW amount as JSON money: a decimal string (`core/format.ts`), to `digits` decimals. */
function money(value: number, digits: number): string | null {
  const rounded = round(value, digits);
  return rounded === null ? null : jsonMoney(unitsFromNumber(rounded));
}

/**
 * Builds the JSON report. Ratios are rounded for reading (4 decimals); a profit factor with no
 * losing trade is `null` (infinite). Money (KRW amounts, prices, volumes) is a decimal string,
 * as in every JSON output.
 */
export function toJsonReport(input: JsonReportInput): Record<string, unknown> {
  const { result, metrics: m, years, options } = input;
  return {
    market: options.market,
    timeframe: options.timeframe,
    strategy: result.strategy,
    // The first and the last candle's open, both inclusive (see period.ts).
    start: formatIsoUtc(reportPeriod(result.candles).firstMs),
    end: formatIsoUtc(reportPeriod(result.candles).lastMs),
    days: round(m.days, 4),
    capital_krw: money(m.startEquity, 8),
    final_equity_krw: money(m.endEquity, 2),
    total_return_pct: round(m.totalReturnPct, 4),
    cagr_pct: round(m.cagrPct, 4),
    sharpe: round(m.sharpe, 4),
    sortino: round(m.sortino, 4),
    max_drawdown_pct: round(m.maxDrawdownPct, 4),
    win_rate_pct: round(m.winRatePct, 4),
    profit_factor: round(m.profitFactor, 4),
    trades: m.trades,
    trades_per_year: round(m.tradesPerYear, 4),
    avg_holding_days: round(m.avgHoldingDays, 4),
    exposure_pct: round(m.exposurePct, 4),
    fees_krw: money(m.feesKrw, 8),
    fee_pct: options.feeBps / 100,
    slippage_pct: options.slippageBps / 100,
    buy_hold_return_pct: round(m.buyHoldReturnPct, 4),
    buy_hold_cagr_pct: round(m.buyHoldCagrPct, 4),
    buy_hold_max_drawdown_pct: round(m.buyHoldMaxDrawdownPct, 4),
    years: years.map((y) => ({
      year: y.year,
      return_pct: round(y.returnPct, 4),
      buy_hold_return_pct: round(y.buyHoldReturnPct, 4),
      max_drawdown_pct: round(y.maxDrawdownPct, 4),
      trades: y.trades,
      partial: y.partial,
    })),
    open_position: result.ledger.qty > 0n
      ? { volume: jsonMoney(result.ledger.qty), avg_price: jsonMoney(result.ledger.avgPrice) }
      : null,
    trade_list: result.trades.map((t) => ({
      entry_time: formatIsoUtc(t.entryMs),
      exit_time: formatIsoUtc(t.exitMs),
      entry_price: jsonMoney(t.entryPrice),
      exit_price: jsonMoney(t.exitPrice),
      volume: jsonMoney(t.volume),
      pnl_krw: jsonMoney(t.pnl),
      return_pct: round(t.returnPct, 4),
      exit: t.exit,
      entry_reason: t.entryReason,
      exit_reason: t.exitReason,
    })),
    skipped_signals: result.signals.filter((s) => !s.executed).map((s) => ({
      time: formatIsoUtc(s.tsMs),
      action: s.action,
      reason: s.reason,
    })),
    final_cash_krw: jsonMoney(result.ledger.cash),
  };
}
