/**
 * The walk-forward's HTML report: one self-contained page (static SVG and tables, no script) with
 * the stitched out-of-sample equity beside buy-and-hold, the folds, the out-of-sample figures
 * beside buy-and-hold and the in-sample ones, the Monte Carlo drawdown distribution, and the
 * deflated Sharpe ratio and probability of backtest overfitting, each explained in one sentence.
 */

import { formatDate, formatNumber } from "../core/format.ts";
import type { WalkForwardReport } from "../core/walk_forward.ts";
import { REPORT_STYLE } from "./html_report.ts";
import { escapeHtml, histogram, lineChart } from "./svg_chart.ts";

/** Renders the walk-forward report page. */
export function renderWalkForwardHtml(r: WalkForwardReport): string {
  const s = r.stitched.metrics;
  const h = r.stitched.holdMetrics;
  const full = r.fullSample;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(r.title)}</title>
<style>${REPORT_STYLE}</style>
</head><body>
<h1>${escapeHtml(r.title)}</h1>
<p class="sub">In each fold the best of ${r.sets} sets by ${r.sort} is chosen in sample; it alone
trades the next window. Seed ${r.seed}.</p>
<section><h2>Out-of-sample equity, stitched, vs buy-and-hold</h2>
${
    lineChart(r.stitched.timesMs, [
      { label: "walk-forward (out of sample)", color: "#2563eb", values: r.stitched.equity },
      { label: "buy-and-hold", color: "#94a3b8", values: r.stitched.hold },
    ])
  }</section>
<section><h2>Figures</h2><div class="scroll"><table>
<thead><tr><th></th><th>return</th><th>CAGR</th><th>Sharpe</th><th>max drawdown</th><th>trades</th></tr></thead>
<tbody>
<tr><td>out of sample, stitched</td><td>${pct(s.totalReturnPct)}</td><td>${
    pct(s.cagrPct)
  }</td><td>${num(s.sharpe)}</td><td>${pct(s.maxDrawdownPct)}</td><td>${s.trades}</td></tr>
<tr><td>buy-and-hold, same span</td><td>${pct(h.totalReturnPct)}</td><td>${
    pct(h.cagrPct)
  }</td><td>${num(h.sharpe)}</td><td>${pct(h.maxDrawdownPct)}</td><td></td></tr>
<tr><td>in sample (chosen sets, mean over folds)</td><td></td><td>${
    pct(r.inSample.cagrPct)
  }</td><td>${num(r.inSample.sharpe)}</td><td>${pct(r.inSample.maxDrawdownPct)}</td><td></td></tr>
</tbody></table></div>
<p class="note">The gap between the in-sample and the out-of-sample rows is what optimisation
bought by fitting the past rather than by foreseeing the future.</p></section>
<section><h2>Folds</h2><div class="scroll"><table>
<thead><tr><th>fold</th><th>in sample from</th><th>out of sample</th><th>chosen set</th><th>IS Sharpe</th><th>IS CAGR</th><th>OOS return</th><th>OOS Sharpe</th></tr></thead>
<tbody>${
    r.folds.map((f, k) =>
      `<tr><td>${k + 1}</td><td>${formatDate(f.isFromMs)}</td><td>${formatDate(f.oosFromMs)} → ${
        formatDate(f.oosToMs)
      }</td><td>${
        escapeHtml(Object.entries(f.best.params).map(([p, v]) => `${p} ${v}`).join(", "))
      }</td><td>${num(f.best.metrics.sharpe)}</td><td>${pct(f.best.metrics.cagrPct)}</td><td>${
        pct(f.outOfSample.totalReturnPct)
      }</td><td>${num(f.outOfSample.sharpe)}</td></tr>`
    ).join("")
  }</tbody></table></div></section>
<section><h2>Monte Carlo of the trades' order</h2>
<p class="note">The ${s.trades} out-of-sample trades compounded in ${r.monteCarlo.runs} random orders
(seed ${r.seed}): the same trades could have dug this deep in another order. As traded:
${pct(r.monteCarlo.actualPct)}; 5th/50th/95th percentile: ${pct(r.monteCarlo.p5Pct)} /
${pct(r.monteCarlo.p50Pct)} / ${pct(r.monteCarlo.p95Pct)}.</p>
${
    histogram([...r.monteCarlo.simulated], {
      markers: [{ label: "as traded", color: "#dc2626", values: [r.monteCarlo.actualPct] }],
    })
  }</section>
<section><h2>Is the sweep's best luck?</h2>
<p><b>Deflated Sharpe ratio: ${num(full.deflated.dsr)}</b> (best set ${
    escapeHtml(Object.entries(full.best.params).map(([p, v]) => `${p} ${v}`).join(", "))
  } over the whole sample: daily Sharpe ${full.bestDailySharpe.toFixed(4)} against
${full.deflated.benchmark.toFixed(4)}, the best that luck alone would give over ${r.sets} trials,
${full.observations} days).</p>
<p class="note">The deflated Sharpe ratio (Bailey &amp; López de Prado, 2014) is the probability
that the best set's true Sharpe ratio is above zero once the number of sets tried, the returns'
skewness and fat tails, and the sample's length are accounted for; below 0.95 the best set is not
distinguishable from the luckiest of many unskilled ones.</p>
<p><b>Probability of backtest overfitting: ${num(full.cscv.pbo)}</b> (CSCV over
${full.cscv.splits} splits; the in-sample best loses money out of sample in
${pct(full.cscv.probabilityOfLoss * 100)} of them).</p>
<p class="note">The probability of backtest overfitting (Bailey, Borwein, López de Prado &amp; Zhu,
2015) is the share of ways to split the history into halves in which the set that is best on one
half ranks in the bottom half of the sets on the other; near 0.5 or above, choosing the best set
in sample predicts nothing.</p></section>
<footer>upbit-trader walk-forward · every backtest is the single backtest's (deno task backtest)</footer>
</body></html>
`;
}

function pct(v: number): string {
  return `${num(v)}%`;
}

function num(v: number): string {
  return Number.isFinite(v) ? formatNumber(v, { decimals: 2 }) : String(v);
}
