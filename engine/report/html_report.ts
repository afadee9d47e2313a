/**
 * The HTML backtest report: one self-contained page that works offline. TradingView's
 * lightweight-charts standalone build and the chart data are inlined (no URL is ever fetched);
 * a small inline script draws the candles with Bollinger bands and fill markers, and the equity
 * curve beside buy-and-hold. Metrics, years and trades are plain HTML tables, so they read
 * without JavaScript too.
 */

import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { SeriesMarkerBar, UTCTimestamp } from "lightweight-charts";
import type { BacktestResult, RoundTrip } from "../core/backtest.ts";
import { DAY_MS } from "../core/candle.ts";
import type { Fill } from "../core/ledger.ts";
import type { Metrics, YearMetrics } from "../core/metrics.ts";
import { bollingerBandsBatch } from "../core/indicators/mod.ts";
import { formatUnits, type Units, unitsToNumber } from "../core/money.ts";
import type { ExitReason } from "../core/risk.ts";

/** What `renderHtmlReport` draws. */
export interface HtmlReportOptions {
  readonly result: BacktestResult;
  readonly metrics: Metrics;
  readonly years: readonly YearMetrics[];
  readonly title: string;
  /** Bollinger bands drawn over the candles (computed on the closes), e.g. `{ period: 20, std: 2.5 }`. */
  readonly bands?: { readonly period: number; readonly std: number };
}

/** The JSON the inline script reads: columns per candle, `null` where a band is warming up. */
interface ChartData {
  readonly intraday: boolean;
  /** Log price scale, for data spanning more than `LOG_PRICE_RATIO` from low to high. */
  readonly logPrice: boolean;
  readonly time: UTCTimestamp[];
  readonly open: number[];
  readonly high: number[];
  readonly low: number[];
  readonly close: number[];
  readonly bands:
    | { upper: (number | null)[]; middle: (number | null)[]; lower: (number | null)[] }
    | null;
  readonly equity: number[];
  readonly hold: number[];
  readonly markers: SeriesMarkerBar<UTCTimestamp>[];
}

/** Above this high/low ratio the price chart uses a log scale (multi-year crypto runs). */
const LOG_PRICE_RATIO = 5;

const STANDALONE_BUILD = "dist/lightweight-charts.standalone.production.js";

const EXIT_TEXT: Readonly<Record<ExitReason, string>> = {
  stop_loss: "stop loss",
  take_profit: "take profit",
  trailing_stop: "trailing stop",
  signal: "signal sell",
};

/** Renders the backtest as one self-contained, offline HTML document. */
export async function renderHtmlReport(options: HtmlReportOptions): Promise<string> {
  const { result, metrics, years, title } = options;
  const library = await loadChartLibrary();
  const data = chartData(result, options.bands);
  const subtitle = [
    result.market,
    result.strategy,
    `${formatTime(metrics.startMs, false)} → ${formatTime(metrics.endMs - 1, false)}`,
    `${result.candles.length.toLocaleString("en-US")} candles`,
    `fee ${result.feeBps} bp, slippage ${result.slippageBps} bp`,
    `capital ${krw(metrics.startEquity)} KRW`,
  ].join(" · ");
  const bands = options.bands;
  const priceLegend = legend([
    swatch(UP_COLOR, "up"),
    swatch(DOWN_COLOR, "down"),
    bands === undefined ? "" : swatch(BAND_COLOR, `BB(${bands.period}, ${bands.std}) upper/lower`),
    bands === undefined ? "" : swatch(MIDDLE_COLOR, "middle"),
    `<span><b style="color:${BUY_COLOR}">▲</b> buy</span>`,
    `<span><b style="color:${SELL_COLOR}">▼</b> sell</span>`,
    data.logPrice ? "<span>log scale</span>" : "",
  ]);
  const equityLegend = legend([
    swatch(EQUITY_COLOR, "strategy"),
    swatch(HOLD_COLOR, "buy &amp; hold (same capital)"),
    "<span>log scale</span>",
  ]);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1>${escapeHtml(title)}</h1><p class="sub">${escapeHtml(subtitle)}</p></header>
<noscript><p>The charts need JavaScript; the tables below do not.</p></noscript>
<section><h2>Price</h2>
${priceLegend}
<p id="price-info" class="info">&nbsp;</p>
<div id="price-chart" class="chart"></div></section>
<section><h2>Equity</h2>
${equityLegend}
<div id="equity-chart" class="chart small"></div></section>
<section><h2>Metrics</h2>${metricsTable(metrics)}</section>
<section><h2>By year</h2>${yearsTable(years)}</section>
<section><h2>Trades (${result.trades.length})</h2>${
    tradesTable(result.trades, data.intraday)
  }</section>
<footer>Charts drawn with TradingView Lightweight Charts™ (Apache-2.0), inlined.</footer>
<script type="application/json" id="report-data">${inlineJson(data)}</script>
<script>${inlineScript(library)}</script>
<script>${inlineScript(CHART_SCRIPT)}</script>
</body>
</html>
`;
}

let libraryText: Promise<string> | undefined;

/** Reads lightweight-charts' standalone build (global `LightweightCharts`) from the npm cache, once. */
function loadChartLibrary(): Promise<string> {
  // A failed read is not cached, so a later call can succeed once the package is installed.
  libraryText ??= readChartLibrary().catch((error) => {
    libraryText = undefined;
    throw error;
  });
  return libraryText;
}

async function readChartLibrary(): Promise<string> {
  let path = STANDALONE_BUILD;
  try {
    // The package's exports map only exposes package.json and the ESM entry: resolve the former
    // and read the standalone build beside it.
    const manifest = createRequire(import.meta.url).resolve("lightweight-charts/package.json");
    path = join(dirname(manifest), STANDALONE_BUILD);
    return await Deno.readTextFile(path);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new Error(
      `Cannot render HTML report: lightweight-charts standalone build not found (${path}): ${detail}; ` +
        `run "deno install" and allow reading the npm cache (--allow-read)`,
    );
  }
}

function chartData(result: BacktestResult, bands: HtmlReportOptions["bands"]): ChartData {
  const { candles, equity } = result;
  const n = candles.length;
  const time = candles.map((c) => (c.startMs / 1000) as UTCTimestamp);
  const close = candles.map((c) => c.close);
  let bandData: ChartData["bands"] = null;
  if (bands !== undefined) {
    const bb = bollingerBandsBatch(close, { period: bands.period, stdDev: bands.std });
    bandData = { upper: column(bb.upper), middle: column(bb.middle), lower: column(bb.lower) };
  }
  // Buy-and-hold buys at the first open paying fee and slippage, and is marked at each close
  // like the strategy's equity.
  const capital = unitsToNumber(result.ledger.initialCash);
  const cost = (result.feeBps + result.slippageBps) / 10_000;
  const holdQty = n > 0 ? capital / (candles[0]!.open * (1 + cost)) : 0;
  let low = Infinity;
  let high = 0;
  for (const c of candles) {
    low = Math.min(low, c.low);
    high = Math.max(high, c.high);
  }
  return {
    intraday: n > 1 && candles[1]!.startMs - candles[0]!.startMs < DAY_MS,
    logPrice: low > 0 && high / low > LOG_PRICE_RATIO,
    time,
    open: candles.map((c) => c.open),
    high: candles.map((c) => c.high),
    low: candles.map((c) => c.low),
    close,
    bands: bandData,
    equity: Array.from(equity, Math.round),
    hold: close.map((c) => Math.round(c * holdQty)),
    markers: fillMarkers(result),
  };
}

function column(values: Float64Array): (number | null)[] {
  return Array.from(values, (v) => (Number.isFinite(v) ? Number(v.toPrecision(10)) : null));
}

/** One marker per fill on the candle that contains it; sells are labelled with their exit reason. */
function fillMarkers(result: BacktestResult): SeriesMarkerBar<UTCTimestamp>[] {
  const { candles, trades } = result;
  const starts = candles.map((c) => c.startMs);
  let next = 0;
  return result.fills.map((fill: Fill) => {
    const time = (starts[candleIndex(starts, fill.tsMs)]! / 1000) as UTCTimestamp;
    if (fill.side === "buy") {
      return { time, position: "belowBar", shape: "arrowUp", color: BUY_COLOR, text: "buy" };
    }
    // Round trips close in fill order: the next trade closed at this fill's time is this one.
    while (next < trades.length && trades[next]!.exitMs < fill.tsMs) next++;
    const trade = trades[next];
    let text = "sell";
    if (trade !== undefined && trade.exitMs === fill.tsMs) {
      text = EXIT_TEXT[trade.exit];
      next++;
    }
    return { time, position: "aboveBar", shape: "arrowDown", color: SELL_COLOR, text };
  });
}

/** Index of the last candle starting at or before `tMs` (0 when none does). */
function candleIndex(starts: readonly number[], tMs: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= tMs) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

function metricsTable(m: Metrics): string {
  const holdEnd = m.startEquity * (1 + m.buyHoldReturnPct / 100);
  const rows: [string, string, string][] = [
    ["Final equity (KRW)", krw(m.endEquity), krw(holdEnd)],
    ["Total return", pct(m.totalReturnPct), pct(m.buyHoldReturnPct)],
    ["CAGR", pct(m.cagrPct), pct(m.buyHoldCagrPct)],
    ["Max drawdown", pct(-m.maxDrawdownPct), pct(-m.buyHoldMaxDrawdownPct)],
    ["Sharpe", ratio(m.sharpe), "—"],
    ["Sortino", ratio(m.sortino), "—"],
    ["Trades", m.trades.toLocaleString("en-US"), "1"],
    ["Trades per year", ratio(m.tradesPerYear), "—"],
    ["Win rate", pct(m.winRatePct, false), "—"],
    ["Profit factor", ratio(m.profitFactor), "—"],
    ["Avg holding (days)", ratio(m.avgHoldingDays), ratio(m.days)],
    ["Exposure", pct(m.exposurePct, false), "100.00%"],
    ["Fees (KRW)", krw(m.feesKrw), "—"],
  ];
  return table(
    ["Metric", "Strategy", "Buy &amp; hold"],
    rows.map(([a, b, c]) => [escapeHtml(a), b, c]),
  );
}

function yearsTable(years: readonly YearMetrics[]): string {
  const rows = years.map((y) => [
    `${y.year}${y.partial ? "*" : ""}`,
    pct(y.returnPct),
    pct(y.buyHoldReturnPct),
    pct(-y.maxDrawdownPct),
    String(y.trades),
  ]);
  const note = years.some((y) => y.partial) ? `<p class="note">* partial year</p>` : "";
  return table(["Year", "Strategy", "Buy &amp; hold", "Max DD", "Trades"], rows) + note;
}

function tradesTable(trades: readonly RoundTrip[], intraday: boolean): string {
  if (trades.length === 0) return `<p class="note">No round trips.</p>`;
  const rows = trades.map((t, i) => [
    String(i + 1),
    formatTime(t.entryMs, intraday),
    price(t.entryPrice),
    formatTime(t.exitMs, intraday),
    price(t.exitPrice),
    formatUnits(t.volume),
    signed(krw(unitsToNumber(t.pnl)), unitsToNumber(t.pnl)),
    pct(t.returnPct),
    `<span title="${escapeHtml(`${t.entryReason} → ${t.exitReason}`)}">${EXIT_TEXT[t.exit]}</span>`,
  ]);
  return table([
    "#",
    "Entry",
    "Price",
    "Exit",
    "Price",
    "Volume",
    "P&amp;L (KRW)",
    "Return",
    "Exit",
  ], rows);
}

function legend(items: readonly string[]): string {
  return `<p class="legend">${items.join("")}</p>`;
}

function swatch(color: string, label: string): string {
  return `<span><i style="background:${color}"></i>${label}</span>`;
}

function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const th = head.map((h) => `<th>${h}</th>`).join("");
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join("")}</tr>`).join("\n");
  return `<div class="scroll"><table><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table></div>`;
}

/** KRW with thousands separators, no decimals. */
function krw(value: number): string {
  return Math.round(value).toLocaleString("en-US");
}

/** An exact price with thousands separators on its integer part. */
function price(units: Units): string {
  return formatUnits(units).replace(/^(-?\d+)/, (whole) => Number(whole).toLocaleString("en-US"));
}

function pct(value: number, sign = true): string {
  const text = `${sign && value > 0 ? "+" : ""}${value.toFixed(2)}%`;
  return sign ? signed(text, value) : text;
}

function ratio(value: number): string {
  return Number.isFinite(value) ? value.toFixed(2) : "∞";
}

function signed(text: string, value: number): string {
  return value > 0
    ? `<span class="pos">${text}</span>`
    : value < 0
    ? `<span class="neg">${text}</span>`
    : text;
}

/** `2024-01-31` (UTC), with ` 13:30` when the candles are intraday. */
function formatTime(ms: number, intraday: boolean): string {
  const iso = new Date(ms).toISOString();
  return intraday ? `${iso.slice(0, 10)} ${iso.slice(11, 16)}` : iso.slice(0, 10);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** JSON safe inside a `<script>` element: no `<` at all, so no `</script` or `<!--`. */
function inlineJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c");
}

/** Inline JavaScript safe inside a `<script>` element (`<\/script` means the same in JS strings). */
function inlineScript(code: string): string {
  return code.replace(/<\/script/gi, "<\\/script");
}

const UP_COLOR = "#26a69a";
const DOWN_COLOR = "#ef5350";
const BUY_COLOR = "#16a34a";
const SELL_COLOR = "#dc2626";
const BAND_COLOR = "#6366f1";
const MIDDLE_COLOR = "#f59e0b";
const EQUITY_COLOR = "#2563eb";
const HOLD_COLOR = "#94a3b8";

const STYLE = `
*{box-sizing:border-box}
body{margin:0 auto;max-width:1200px;padding:12px;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#0f172a;background:#f8fafc}
h1{font-size:1.35rem;margin:.2rem 0}
h2{font-size:1.05rem;margin:1.4rem 0 .4rem}
.sub,.note,footer{color:#64748b;font-size:.85rem;margin:.2rem 0}
section{background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:8px 12px 12px;margin-top:12px}
section h2{margin-top:.2rem}
.legend{display:flex;flex-wrap:wrap;gap:4px 14px;font-size:.8rem;color:#475569;margin:0 0 6px}
.legend i{display:inline-block;width:14px;height:3px;margin-right:5px;vertical-align:middle;border-radius:2px}
.legend b{margin-right:4px}
.info{font-size:.78rem;color:#334155;margin:0 0 4px;min-height:1.2em;font-variant-numeric:tabular-nums;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.chart{width:100%;height:clamp(300px,58vh,600px)}
.chart.small{height:clamp(200px,34vh,360px)}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums;font-size:.88rem}
th,td{padding:5px 8px;border-bottom:1px solid #e2e8f0;text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}
thead th{position:sticky;top:0;background:#f1f5f9}
.pos{color:#15803d}.neg{color:#b91c1c}
footer{margin:16px 0 8px;text-align:center}
@media (max-width:600px){body{padding:6px;font-size:14px}section{padding:6px 8px 8px}table{font-size:.8rem}th,td{padding:4px 6px}}
`;

/** Browser code: builds both charts from #report-data with the global `LightweightCharts`. */
const CHART_SCRIPT = `
(function () {
  "use strict";
  var d = JSON.parse(document.getElementById("report-data").textContent);
  var L = window.LightweightCharts;
  function fmt(v) {
    var a = Math.abs(v);
    return v.toLocaleString("en-US", { maximumFractionDigits: a >= 1000 ? 0 : a >= 1 ? 2 : 6 });
  }
  function options() {
    return {
      autoSize: true,
      layout: { background: { color: "#ffffff" }, textColor: "#334155", fontSize: 11 },
      grid: { vertLines: { color: "#f1f5f9" }, horzLines: { color: "#f1f5f9" } },
      localization: { priceFormatter: fmt },
      // Same axis width on both charts, so their time axes line up.
      rightPriceScale: { borderColor: "#e2e8f0", minimumWidth: 84 },
      // A tiny minimum spacing lets fitContent show the whole backtest; zoom in for candles.
      timeScale: { borderColor: "#e2e8f0", timeVisible: d.intraday, minBarSpacing: 0.01,
        lockVisibleTimeRangeOnResize: true },
      handleScroll: { vertTouchDrag: false }
    };
  }
  function line(values) {
    var out = [];
    for (var i = 0; i < values.length; i++) {
      if (values[i] !== null) out.push({ time: d.time[i], value: values[i] });
    }
    return out;
  }
  var priceOptions = options();
  if (d.logPrice) priceOptions.rightPriceScale.mode = L.PriceScaleMode.Logarithmic;
  var price = L.createChart(document.getElementById("price-chart"), priceOptions);
  var candles = price.addSeries(L.CandlestickSeries, {
    upColor: "${UP_COLOR}", downColor: "${DOWN_COLOR}", borderVisible: false,
    wickUpColor: "${UP_COLOR}", wickDownColor: "${DOWN_COLOR}"
  });
  candles.setData(d.time.map(function (t, i) {
    return { time: t, open: d.open[i], high: d.high[i], low: d.low[i], close: d.close[i] };
  }));
  if (d.bands) {
    [["upper", "${BAND_COLOR}"], ["middle", "${MIDDLE_COLOR}"], ["lower", "${BAND_COLOR}"]].forEach(function (b) {
      price.addSeries(L.LineSeries, {
        color: b[1], lineWidth: 1, priceLineVisible: false, lastValueVisible: false,
        crosshairMarkerVisible: false
      }).setData(line(d.bands[b[0]]));
    });
  }
  L.createSeriesMarkers(candles, d.markers);
  // Hover (or tap) readout: the candle's OHLC and the fills on it.
  var info = document.getElementById("price-info");
  var index = {};
  d.time.forEach(function (t, i) { index[t] = i; });
  price.subscribeCrosshairMove(function (p) {
    var i = p.time === undefined ? undefined : index[p.time];
    if (i === undefined) { info.textContent = "\u00a0"; return; }
    var iso = new Date(d.time[i] * 1000).toISOString();
    var text = (d.intraday ? iso.slice(0, 16).replace("T", " ") : iso.slice(0, 10)) +
      "  O " + fmt(d.open[i]) + "  H " + fmt(d.high[i]) + "  L " + fmt(d.low[i]) +
      "  C " + fmt(d.close[i]);
    d.markers.forEach(function (m) { if (m.time === d.time[i]) text += "  · " + m.text; });
    info.textContent = text;
  });
  var equityOptions = options();
  // Log scale: strategy and buy-and-hold returns compare as ratios, however far apart they end.
  equityOptions.rightPriceScale.mode = L.PriceScaleMode.Logarithmic;
  var equity = L.createChart(document.getElementById("equity-chart"), equityOptions);
  equity.addSeries(L.LineSeries, { color: "${HOLD_COLOR}", lineWidth: 1, title: "buy & hold" })
    .setData(line(d.hold));
  equity.addSeries(L.LineSeries, { color: "${EQUITY_COLOR}", lineWidth: 2, title: "strategy" })
    .setData(line(d.equity));
  price.timeScale().fitContent();
  equity.timeScale().fitContent();
  // Both charts have one point per candle: keep their visible ranges in step.
  var syncing = false;
  function follow(from, to) {
    from.timeScale().subscribeVisibleLogicalRangeChange(function (range) {
      if (syncing || range === null) return;
      syncing = true;
      to.timeScale().setVisibleLogicalRange(range);
      syncing = false;
    });
  }
  follow(price, equity);
  follow(equity, price);
})();
`;
