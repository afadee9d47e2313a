/**
 * The sweep's HTML report: one self-contained page (static SVG and tables, no script) with a heat
 * map of two parameters (the best score among the sets sharing each pair), the distribution of
 * the ranking metric over all sets, the best set's equity beside buy-and-hold, and the top rows.
 */

import type { BacktestResult } from "../core/backtest.ts";
import type { Candle } from "../core/candle.ts";
import { formatCount, formatDate, formatNumber } from "../core/format.ts";
import type { Metrics } from "../core/metrics.ts";
import { unitsToNumber } from "../core/money.ts";
import {
  type ParamSet,
  type ParamSpace,
  score,
  SORT_METRICS,
  type SortMetric,
  type SweepRow,
} from "../core/sweep.ts";
import { REPORT_STYLE } from "./html_report.ts";
import { escapeHtml, histogram, lineChart } from "./svg_chart.ts";

/** What `renderSweepHtml` draws. */
export interface SweepHtmlInput {
  readonly ranked: readonly SweepRow[];
  readonly space: ParamSpace;
  readonly sets: readonly ParamSet[];
  readonly datasets: readonly { readonly name: string; readonly candles: readonly Candle[] }[];
  readonly options: { readonly sort: SortMetric; readonly heatmap?: readonly [string, string] };
  readonly workers: number;
  readonly seconds: number;
  /** The best row and its backtest re-run (for the equity curve). */
  readonly best: { readonly row: SweepRow; readonly result: BacktestResult };
}

/** Renders the sweep report page. */
export function renderSweepHtml(input: SweepHtmlInput): string {
  const { ranked, options, best } = input;
  const metric = options.sort;
  const rows = ranked.filter((r) => r.dataset === best.row.dataset);
  const title = `Sweep · ${best.row.dataset} · ${input.sets.length} sets by ${metric}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(title)}</title>
<style>${REPORT_STYLE}
.heat td{text-align:center;min-width:3.2em}.heat td.best{outline:2px solid #0f172a}</style>
</head><body>
<h1>${escapeHtml(title)}</h1>
<p class="sub">${input.datasets.map((d) => escapeHtml(dataLine(d))).join(" · ")} · ${
    formatCount(ranked.length, "backtest")
  } in ${input.seconds.toFixed(1)} s on ${formatCount(input.workers, "worker")}</p>
<section><h2>Best set</h2>
<p>${escapeHtml(paramText(best.row.params))}: ${escapeHtml(metricsLine(best.row.metrics))}</p>
<p class="note">The best of many sets is chosen on the same data it is scored on, so its figures
flatter it: check it out of sample (deno task walkforward) before trusting it.</p></section>
${heatSection(input, rows)}
<section><h2>Distribution of ${metric} over the sets</h2>
${
    histogram(rows.map((r) => rawMetric(r.metrics, metric)), {
      markers: markers(rows, metric, best.row),
    })
  }</section>
<section><h2>Best set's equity vs buy-and-hold</h2>
${equityChart(best.result)}</section>
<section><h2>Top ${Math.min(20, ranked.length)}</h2><div class="scroll">${
    topTable(ranked.slice(0, 20), Object.keys(input.space))
  }</div></section>
<footer>upbit-trader sweep · every figure is the single backtest's (deno task backtest) for the same flags</footer>
</body></html>
`;
}

function dataLine(d: { readonly name: string; readonly candles: readonly Candle[] }): string {
  const first = d.candles[0]!.startMs;
  const last = d.candles[d.candles.length - 1]!.startMs;
  return `${d.name} ${formatDate(first)} → ${formatDate(last)} (${d.candles.length} candles)`;
}

function paramText(params: ParamSet): string {
  return Object.entries(params).map(([k, v]) => `--${k} ${v}`).join(" ");
}

function metricsLine(m: Metrics): string {
  return `return ${pct(m.totalReturnPct)}, Sharpe ${num(m.sharpe)}, max drawdown ${
    pct(m.maxDrawdownPct)
  }, ${m.trades} trades (buy-and-hold ${pct(m.buyHoldReturnPct)})`;
}

function rawMetric(m: Metrics, metric: SortMetric): number {
  return m[SORT_METRICS[metric]];
}

function markers(rows: readonly SweepRow[], metric: SortMetric, best: SweepRow) {
  const out = [{
    label: `best set ${num(rawMetric(best.metrics, metric))}`,
    color: "#16a34a",
    values: [rawMetric(best.metrics, metric)],
  }];
  if ((metric === "return" || metric === "cagr") && rows.length > 0) {
    const hold = metric === "return"
      ? rows[0]!.metrics.buyHoldReturnPct
      : rows[0]!.metrics.buyHoldCagrPct;
    out.push({ label: `buy-and-hold ${num(hold)}`, color: "#64748b", values: [hold] });
  }
  return out;
}

/** The heat map of two parameters: the best score among the sets sharing each pair of values. */
function heatSection(input: SweepHtmlInput, rows: readonly SweepRow[]): string {
  const swept = Object.keys(input.space).filter((k) => input.space[k]!.length > 1);
  const pair = input.options.heatmap ?? (swept.length >= 2 ? [swept[0]!, swept[1]!] : undefined);
  if (pair === undefined || !(pair[0] in input.space) || !(pair[1] in input.space)) {
    return `<section><h2>Heat map</h2><p class="note">Needs two swept parameters (--heatmap a,b).</p></section>`;
  }
  const [px, py] = pair;
  const xs = input.space[px]!;
  const ys = input.space[py]!;
  const metric = input.options.sort;
  const cell = new Map<string, number>();
  for (const r of rows) {
    const key = `${r.params[px]}|${r.params[py]}`;
    const v = rawMetric(r.metrics, metric);
    const old = cell.get(key);
    if (old === undefined || score(r.metrics, metric) > (metric === "drawdown" ? -old : old)) {
      cell.set(key, v);
    }
  }
  const values = [...cell.values()].filter(Number.isFinite);
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const bestKey = `${input.best.row.params[px]}|${input.best.row.params[py]}`;
  const head = `<tr><th>${escapeHtml(py)} \\ ${escapeHtml(px)}</th>${
    xs.map((x) => `<th>${x}</th>`).join("")
  }</tr>`;
  const body = ys.map((y) =>
    `<tr><th>${y}</th>${
      xs.map((x) => {
        const v = cell.get(`${x}|${y}`);
        if (v === undefined) return "<td></td>";
        const t = hi > lo ? (v - lo) / (hi - lo) : 0.5;
        const good = metric === "drawdown" ? 1 - t : t;
        const cls = `${x}|${y}` === bestKey ? ` class="best"` : "";
        return `<td${cls} style="background:${heat(good)}">${num(v)}</td>`;
      }).join("")
    }</tr>`
  ).join("");
  return `<section><h2>Heat map: best ${metric} by ${escapeHtml(px)} × ${escapeHtml(py)}</h2>
<p class="note">Each cell is the best ${metric} among the sets with these two values (other
parameters free); a lone bright cell in a dark field is luck, a bright plateau is more robust.</p>
<div class="scroll"><table class="heat"><thead>${head}</thead><tbody>${body}</tbody></table></div></section>`;
}

/** Red (worst) through white to green (best). */
function heat(t: number): string {
  const r = t < 0.5 ? 239 : Math.round(239 - (t - 0.5) * 2 * (239 - 134));
  const g = t < 0.5 ? Math.round(68 + t * 2 * (239 - 68)) : 239;
  const b = t < 0.5 ? Math.round(68 + t * 2 * (239 - 68)) : Math.round(239 - (t - 0.5) * 2 * 100);
  return `rgb(${r},${g},${b})`;
}

function equityChart(result: BacktestResult): string {
  const { candles, equity } = result;
  const capital = unitsToNumber(result.ledger.initialCash);
  const first = candles[0]!.open;
  const hold = candles.map((c) => (capital * c.close) / first);
  return lineChart(candles.map((c) => c.startMs), [
    { label: "best set", color: "#2563eb", values: equity },
    { label: "buy-and-hold", color: "#94a3b8", values: hold },
  ]);
}

function topTable(rows: readonly SweepRow[], names: readonly string[]): string {
  const head = ["#", "data", ...names, "return", "Sharpe", "max DD", "trades", "win", "hold"];
  const body = rows.map((r, i) =>
    `<tr>${
      [
        String(i + 1),
        escapeHtml(r.dataset),
        ...names.map((n) => String(r.params[n])),
        pct(r.metrics.totalReturnPct),
        num(r.metrics.sharpe),
        pct(r.metrics.maxDrawdownPct),
        String(r.metrics.trades),
        pct(r.metrics.winRatePct),
        pct(r.metrics.buyHoldReturnPct),
      ].map((c) => `<td>${c}</td>`).join("")
    }</tr>`
  ).join("");
  return `<table><thead><tr>${
    head.map((h) => `<th>${h}</th>`).join("")
  }</tr></thead><tbody>${body}</tbody></table>`;
}

function pct(v: number): string {
  return `${num(v)}%`;
}

function num(v: number): string {
  return Number.isFinite(v) ? formatNumber(v, { decimals: 2 }) : String(v);
}
