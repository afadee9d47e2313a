/**
 * The reports of a backtest over several markets (one account): the account's figures as a
 * single backtest's, then each market's, the correlation of the markets' daily returns and the
 * exposure over time (positions open, KRW committed at cost as a share of the equity).
 */

import {
  type AccountBacktestResult,
  correlationMatrix,
  dailyReturns,
} from "../core/account_backtest.ts";
import type { BacktestResult } from "../core/backtest.ts";
import { DAY_MS } from "../core/candle.ts";
import { computeMetrics, type Metrics, yearlyBreakdown } from "../core/metrics.ts";
import { unitsToNumber } from "../core/money.ts";
import { formatDate } from "../core/format.ts";
import { toJsonReport } from "./json_report.ts";

/** What the account reports are made from. */
export interface AccountReportInput {
  readonly result: AccountBacktestResult;
  readonly options: {
    readonly timeframe: string;
    readonly feeBps: number;
    readonly slippageBps: number;
  };
  /** The finer timeframe fills and exits were resolved on (null: none). */
  readonly detail: string | null;
}

/** The correlations and the exposure of an account run. */
export interface AccountFigures {
  readonly markets: readonly string[];
  /** Pearson correlation of the strategy's daily returns, market by market. */
  readonly strategyCorrelation: number[][];
  /** Pearson correlation of the markets' daily price returns (close to close). */
  readonly priceCorrelation: number[][];
  /** Per Upbit day: the most positions open at once, and the committed share at its end. */
  readonly exposure: { dayMs: number; maxOpen: number; committedPct: number }[];
  readonly maxOpenPositions: number;
  /** Mean of the committed share over the timeline, in %. */
  readonly avgCommittedPct: number;
}

/** The correlations and the exposure over time of an account run. */
export function accountFigures(result: AccountBacktestResult): AccountFigures {
  const markets = result.markets.map((m) => m.market);
  const strategy = result.markets.map((m) =>
    dailyReturns(m.candles.map((c) => c.startMs), m.equity, unitsToNumber(m.ledger.initialCash))
  );
  const prices = result.markets.map((m) =>
    dailyReturns(
      m.candles.map((c) => c.startMs),
      m.candles.map((c) => c.close),
      m.candles[0]?.open ?? 0,
    )
  );
  const exposure: AccountFigures["exposure"] = [];
  const times = result.account.candles;
  let maxOpenPositions = 0;
  let sum = 0;
  for (let k = 0; k < times.length; k++) {
    const dayMs = Math.floor(times[k]!.startMs / DAY_MS) * DAY_MS;
    const open = result.openPositions[k]!;
    const committedPct = result.committedPct[k]!;
    sum += committedPct;
    if (open > maxOpenPositions) maxOpenPositions = open;
    const last = exposure.at(-1);
    if (last !== undefined && last.dayMs === dayMs) {
      if (open > last.maxOpen) last.maxOpen = open;
      last.committedPct = committedPct;
    } else exposure.push({ dayMs, maxOpen: open, committedPct });
  }
  return {
    markets,
    strategyCorrelation: correlationMatrix(strategy),
    priceCorrelation: correlationMatrix(prices),
    exposure,
    maxOpenPositions,
    avgCommittedPct: times.length > 0 ? sum / times.length : 0,
  };
}

function round(value: number, digits: number): number | null {
  if (!Number.isFinite(value)) return null;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

function single(result: BacktestResult, input: AccountReportInput): Record<string, unknown> {
  return toJsonReport({
    result,
    metrics: computeMetrics(result),
    years: yearlyBreakdown(result),
    options: { ...input.options, market: result.market },
  });
}

/**
 * The `--json` report: the account's keys as a single backtest's (its `trade_list` entries name
 * their market), plus `markets` keyed by market, `correlation` and `exposure`.
 */
export function toAccountJson(input: AccountReportInput): Record<string, unknown> {
  const { result } = input;
  const account = single(result.account, input);
  const markets: Record<string, Record<string, unknown>> = {};
  const trades: Record<string, unknown>[] = [];
  for (const m of result.markets) {
    const report = single(m, input);
    markets[m.market] = report;
    for (const t of report.trade_list as Record<string, unknown>[]) {
      trades.push({ market: m.market, ...t });
    }
  }
  trades.sort((a, b) => String(a.exit_time).localeCompare(String(b.exit_time)));
  const figures = accountFigures(result);
  const matrix = (rows: number[][]) => rows.map((row) => row.map((v) => round(v, 4)));
  return {
    ...account,
    detail: input.detail,
    trade_list: trades,
    open_position: null,
    open_positions: Object.fromEntries(
      result.markets.filter((m) => m.ledger.qty > 0n).map((
        m,
      ) => [m.market, markets[m.market]!.open_position]),
    ),
    max_open_positions: figures.maxOpenPositions,
    avg_committed_pct: round(figures.avgCommittedPct, 4),
    markets,
    correlation: {
      markets: figures.markets,
      strategy_daily_returns: matrix(figures.strategyCorrelation),
      price_daily_returns: matrix(figures.priceCorrelation),
    },
    exposure: figures.exposure.map((e) => ({
      date: formatDate(e.dayMs),
      max_open_positions: e.maxOpen,
      committed_pct: round(e.committedPct, 4),
    })),
  };
}

function pct(value: number): string {
  if (!Number.isFinite(value)) return "—";
  return `${value >= 0 ? "+" : ""}${value.toFixed(2)} %`;
}

/** The text lines after the account's own report: each market, correlations, exposure. */
export function renderAccountText(input: AccountReportInput): string {
  const { result } = input;
  const rows = result.markets.map((m) => ({ market: m.market, metrics: computeMetrics(m) }));
  const header = ["market", "return", "buy & hold", "max DD", "trades", "win rate", "exposure"];
  const cells = rows.map(({ market, metrics: x }: { market: string; metrics: Metrics }) => [
    market,
    pct(x.totalReturnPct),
    pct(x.buyHoldReturnPct),
    pct(-x.maxDrawdownPct),
    String(x.trades),
    `${x.winRatePct.toFixed(1)} %`,
    `${x.exposurePct.toFixed(1)} %`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    "  " + r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  const figures = accountFigures(result);
  const names = figures.markets;
  const corrWidth = Math.max(...names.map((n) => n.length), 6);
  const corr = (rows: number[][]) =>
    [
      "  " + "".padEnd(corrWidth) + names.map((n) => n.padStart(corrWidth + 1)).join(""),
      ...rows.map((row, i) =>
        "  " + names[i]!.padEnd(corrWidth) +
        row.map((v) => (Number.isFinite(v) ? v.toFixed(2) : "—").padStart(corrWidth + 1)).join("")
      ),
    ].join("\n");
  return [
    "",
    "Markets (each: the capital plus its own P&L)",
    line(header),
    ...cells.map(line),
    "",
    "Correlation of the strategy's daily returns",
    corr(figures.strategyCorrelation),
    "",
    "Correlation of the markets' daily price returns",
    corr(figures.priceCorrelation),
    "",
    `Exposure: at most ${figures.maxOpenPositions} positions open at once; ` +
    `on average ${figures.avgCommittedPct.toFixed(1)} % of the equity committed at cost`,
    ...(input.detail === null ? [] : [`Fills and exits resolved on ${input.detail} candles`]),
    "",
  ].join("\n");
}
