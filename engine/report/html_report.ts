/**
 * The HTML backtest report: one self-contained page that works offline. TradingView's
 * lightweight-charts standalone build and the chart data are inlined (no URL is ever fetched);
 * a small inline script draws the candles with Bollinger bands and fill markers (coloured by exit
 * reason; text labels only for the latest trades, placed without overlap inside the chart, and
 * every fill in the hover readout), and the equity curve beside buy-and-hold. Metrics, years and
 * trades are plain HTML tables, so they read without JavaScript too; on a phone the trades turn
 * into cards and the price axis into compact numbers.
 */

import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { SeriesMarkerBar, UTCTimestamp } from "lightweight-charts";
import type { BacktestResult, RoundTrip } from "../core/backtest.ts";
import { DAY_MS } from "../core/candle.ts";
import {
  formatDate,
  formatDateTime,
  formatKrw,
  formatNumber,
  formatPct,
  formatPrice,
  formatVolume,
} from "../core/format.ts";
import type { Fill } from "../core/ledger.ts";
import type { Metrics, YearMetrics } from "../core/metrics.ts";
import { bollingerBandsBatch } from "../core/indicators/mod.ts";
import { unitsToNumber } from "../core/money.ts";
import type { ExitReason } from "../core/risk.ts";
import { reportPeriod } from "./period.ts";

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
  /** One per fill (and per skipped entry), in time order; `text` is shown for the labelled ones. */
  readonly markers: SeriesMarkerBar<UTCTimestamp>[];
  /** Markers from this index on get a text label on the chart (the latest trades). */
  readonly labelFrom: number;
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

/** A colour per exit reason, so a glance tells how each trade ended. */
const EXIT_COLOR: Readonly<Record<ExitReason, string>> = {
  signal: "#2563eb",
  stop_loss: "#dc2626",
  take_profit: "#d97706",
  trailing_stop: "#db2777",
};

/** Only the latest round trips carry a text label on the chart; the hover readout has all. */
const LABELLED_TRADES = 3;

/** Renders the backtest as one self-contained, offline HTML document. */
export async function renderHtmlReport(options: HtmlReportOptions): Promise<string> {
  const { result, metrics, years, title } = options;
  const library = await loadChartLibrary();
  const data = chartData(result, options.bands);
  const period = reportPeriod(result.candles);
  const subtitle = [
    result.market,
    result.strategy,
    `${formatDate(period.firstMs)} → ${formatDate(period.lastMs)} (UTC)`,
    `${formatKrw(result.candles.length)} candles`,
    `fee ${result.feeBps} bp, slippage ${result.slippageBps} bp`,
    `capital ${formatKrw(metrics.startEquity)} KRW`,
  ].join(" · ");
  const bands = options.bands;
  const priceLegend = legend([
    swatch(UP_COLOR, "up"),
    swatch(DOWN_COLOR, "down"),
    bands === undefined ? "" : swatch(BAND_COLOR, `BB(${bands.period}, ${bands.std}) upper/lower`),
    bands === undefined ? "" : swatch(MIDDLE_COLOR, "middle"),
    arrow(BUY_COLOR, "▲", "buy"),
    ...(Object.keys(EXIT_COLOR) as ExitReason[]).map((r) =>
      arrow(EXIT_COLOR[r], "▼", EXIT_TEXT[r])
    ),
    data.markers.some((m) => m.shape === "circle")
      ? arrow(SKIP_COLOR, "●", "entry skipped (daily loss limit, cooldown, …)")
      : "",
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
<p id="price-info" class="info">Hover or tap a candle for its prices and fills.</p>
<div class="chart-box"><div id="price-chart" class="chart"></div><div id="price-labels" class="labels"></div></div></section>
<section><h2>Equity</h2>
${equityLegend}
<div id="equity-chart" class="chart small"></div></section>
<section><h2>Metrics</h2>${metricsTable(metrics)}</section>
<section><h2>By year</h2>${yearsTable(years)}</section>
<section><h2>Trades (${result.trades.length})</h2>${
    tradesTable(result.trades, result.market, data.intraday)
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
    ...fillMarkers(result),
  };
}

function column(values: Float64Array): (number | null)[] {
  return Array.from(values, (v) => (Number.isFinite(v) ? Number(v.toPrecision(10)) : null));
}

/**
 * One marker per fill on the candle that contains it, buys green, sells in their exit reason's
 * colour, plus a grey circle per entry signal the engine skipped (daily loss limit, cooldown).
 * `labelFrom` is the first marker of the latest `LABELLED_TRADES` round trips.
 */
function fillMarkers(
  result: BacktestResult,
): { markers: SeriesMarkerBar<UTCTimestamp>[]; labelFrom: number } {
  const { candles, trades } = result;
  const starts = candles.map((c) => c.startMs);
  const at = (tsMs: number) => (starts[candleIndex(starts, tsMs)]! / 1000) as UTCTimestamp;
  const firstLabelledMs = trades.at(-LABELLED_TRADES)?.entryMs ??
    result.fills[0]?.tsMs ?? Infinity;
  let next = 0;
  const fills = result.fills.map((fill: Fill): Timed => {
    const time = at(fill.tsMs);
    if (fill.side === "buy") {
      return {
        tsMs: fill.tsMs,
        marker: { time, position: "belowBar", shape: "arrowUp", color: BUY_COLOR, text: "buy" },
      };
    }
    // Round trips close in fill order: the next trade closed at this fill's time is this one.
    while (next < trades.length && trades[next]!.exitMs < fill.tsMs) next++;
    const trade = trades[next];
    let exit: ExitReason = "signal";
    if (trade !== undefined && trade.exitMs === fill.tsMs) {
      exit = trade.exit;
      next++;
    }
    const color = EXIT_COLOR[exit];
    return {
      tsMs: fill.tsMs,
      marker: { time, position: "aboveBar", shape: "arrowDown", color, text: EXIT_TEXT[exit] },
    };
  });
  const skipped = result.signals.filter((s) => !s.executed && s.action === "buy").map((
    s,
  ): Timed => ({
    tsMs: s.tsMs,
    marker: {
      time: at(s.tsMs),
      position: "belowBar",
      shape: "circle",
      color: SKIP_COLOR,
      text: "buy skipped",
    },
  }));
  const all = [...fills, ...skipped].sort((a, b) => a.tsMs - b.tsMs);
  const labelFrom = all.findIndex((m) => m.tsMs >= firstLabelledMs && m.marker.shape !== "circle");
  return {
    markers: all.map((m) => m.marker),
    labelFrom: labelFrom === -1 ? all.length : labelFrom,
  };
}

/** A marker with the exact time of its event (markers sit on the candle's start). */
interface Timed {
  readonly tsMs: number;
  readonly marker: SeriesMarkerBar<UTCTimestamp>;
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
    ["Final equity (KRW)", formatKrw(m.endEquity), formatKrw(holdEnd)],
    ["Total return", pct(m.totalReturnPct), pct(m.buyHoldReturnPct)],
    ["CAGR", pct(m.cagrPct), pct(m.buyHoldCagrPct)],
    ["Max drawdown", pct(-m.maxDrawdownPct), pct(-m.buyHoldMaxDrawdownPct)],
    ["Sharpe", formatNumber(m.sharpe), "—"],
    ["Sortino", formatNumber(m.sortino), "—"],
    ["Trades", formatKrw(m.trades), "1"],
    ["Trades per year", formatNumber(m.tradesPerYear), "—"],
    ["Win rate", formatPct(m.winRatePct, { signed: false }), "—"],
    ["Profit factor", formatNumber(m.profitFactor), "—"],
    ["Avg holding (days)", formatNumber(m.avgHoldingDays), formatNumber(m.days)],
    ["Exposure", formatPct(m.exposurePct, { signed: false }), "100.00%"],
    ["Fees (KRW)", formatKrw(m.feesKrw), "—"],
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

/** The round trips: a table on wide screens, one card per trade on a phone (CSS only). */
function tradesTable(trades: readonly RoundTrip[], market: string, intraday: boolean): string {
  if (trades.length === 0) return `<p class="note">No round trips.</p>`;
  const when = intraday ? formatDateTime : formatDate;
  const head = [
    "#",
    "Entry",
    "Price",
    "Exit",
    "Price",
    "Volume",
    "P&amp;L (KRW)",
    "Return",
    "Exit",
  ];
  const rows = trades.map((t, i) => {
    const pnl = formatKrw(t.pnl, { signed: true });
    const reason = escapeHtml(`${t.entryReason} → ${t.exitReason}`);
    return [
      String(i + 1),
      when(t.entryMs),
      formatPrice(t.entryPrice, { atMs: t.entryMs, market }),
      when(t.exitMs),
      formatPrice(t.exitPrice, { atMs: t.exitMs, market }),
      formatVolume(t.volume),
      signed(pnl, unitsToNumber(t.pnl)),
      pct(t.returnPct),
      `<span title="${reason}"><b style="color:${EXIT_COLOR[t.exit]}">▼</b> ${
        EXIT_TEXT[t.exit]
      }</span>`,
    ];
  });
  const labels = ["#", "Entry", "Entry price", "Exit", "Exit price", "Volume", "P&amp;L (KRW)"]
    .concat(["Return", "Exit reason"]);
  const th = head.map((h) => `<th>${h}</th>`).join("");
  const body = rows.map((r) =>
    `<tr>${r.map((c, j) => `<td data-label="${labels[j]}">${c}</td>`).join("")}</tr>`
  ).join("\n");
  return `<div class="scroll"><table class="trades"><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table></div>`;
}

function arrow(color: string, glyph: string, label: string): string {
  return `<span><b style="color:${color}">${glyph}</b>${label}</span>`;
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

/** A signed percentage, green when positive and red when negative. */
function pct(value: number): string {
  return signed(formatPct(value), value);
}

function signed(text: string, value: number): string {
  return value > 0
    ? `<span class="pos">${text}</span>`
    : value < 0
    ? `<span class="neg">${text}</span>`
    : text;
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
const SKIP_COLOR = "#94a3b8";
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
.info{font-size:.78rem;color:#334155;margin:0 0 4px;min-height:2.4em;font-variant-numeric:tabular-nums}
.chart-box{position:relative}
.chart{width:100%;height:clamp(300px,58vh,600px)}
.chart.small{height:clamp(200px,34vh,360px)}
.labels{position:absolute;inset:0;z-index:3;pointer-events:none;overflow:hidden}
.labels span{position:absolute;font-size:11px;line-height:14px;padding:0 3px;border-radius:3px;background:rgba(255,255,255,.88);border:1px solid currentColor;white-space:nowrap}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums;font-size:.88rem}
th,td{padding:5px 8px;border-bottom:1px solid #e2e8f0;text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}
thead th{position:sticky;top:0;background:#f1f5f9}
.pos{color:#15803d}.neg{color:#b91c1c}
footer{margin:16px 0 8px;text-align:center}
@media (max-width:600px){
body{padding:6px;font-size:14px}section{padding:6px 8px 8px}table{font-size:.76rem}th,td{padding:4px 3px}
table.trades thead{display:none}
table.trades,table.trades tbody{display:block}
table.trades tr{display:grid;grid-template-columns:1fr 1fr;gap:2px 10px;padding:8px 2px;border-bottom:1px solid #e2e8f0}
table.trades td{display:block;border:0;padding:0;text-align:left;white-space:normal}
table.trades td::before{content:attr(data-label);display:block;font-size:.68rem;color:#64748b}
table.trades td:first-child{grid-column:1/-1;font-weight:600}
table.trades td:first-child::before{content:"Trade ";display:inline}
}
`;

/** The report pages' shared style sheet (the sweep and walk-forward reports use it too). */
export const REPORT_STYLE: string = STYLE;

/** Browser code: builds both charts from #report-data with the global `LightweightCharts`. */
const CHART_SCRIPT = `
(function () {
  "use strict";
  var d = JSON.parse(document.getElementById("report-data").textContent);
  var L = window.LightweightCharts;
  // A phone: compact axis numbers (158.3M) so the price axis stays narrow.
  var narrow = window.innerWidth < 600;
  function fmt(v) {
    var a = Math.abs(v);
    return v.toLocaleString("en-US", { maximumFractionDigits: a >= 1000 ? 0 : a >= 1 ? 2 : 6 });
  }
  function compact(v) {
    var a = Math.abs(v);
    if (a >= 1e9) return (v / 1e9).toFixed(a >= 1e11 ? 0 : 1) + "B";
    if (a >= 1e6) return (v / 1e6).toFixed(a >= 1e8 ? 0 : 1) + "M";
    if (a >= 1e4) return (v / 1e3).toFixed(0) + "K";
    return fmt(v);
  }
  function options() {
    return {
      autoSize: true,
      layout: { background: { color: "#ffffff" }, textColor: "#334155", fontSize: 11 },
      grid: { vertLines: { color: "#f1f5f9" }, horzLines: { color: "#f1f5f9" } },
      localization: { priceFormatter: narrow ? compact : fmt },
      // Same axis width on both charts, so their time axes line up; room above the highest
      // candle for the sell arrows, and no half-cut label at the top or bottom of the axis.
      rightPriceScale: { borderColor: "#e2e8f0", minimumWidth: narrow ? 44 : 84,
        scaleMargins: { top: 0.12, bottom: 0.1 }, entireTextOnly: true },
      // A tiny minimum spacing lets the whole backtest show at once; zoom in for candles.
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
  var priceBox = document.getElementById("price-chart");
  var price = L.createChart(priceBox, priceOptions);
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
  // Arrows without text (thousands of labels would pile up); the latest trades get labels in
  // our own layer below, every fill is in the hover readout.
  L.createSeriesMarkers(candles, d.markers.map(function (m) {
    return { time: m.time, position: m.position, shape: m.shape, color: m.color,
      size: m.shape === "circle" ? 0.6 : 1 };
  }));
  var index = {};
  d.time.forEach(function (t, i) { index[t] = i; });

  // Text labels of the latest trades, kept inside the plot and never on top of each other
  // (newest first: an older label that would overlap a newer one is left out).
  var layer = document.getElementById("price-labels");
  var labelled = d.markers.slice(d.labelFrom).filter(function (m) { return m.shape !== "circle"; });
  function drawLabels() {
    layer.textContent = "";
    var plotWidth = priceBox.clientWidth - price.priceScale("right").width();
    var plotHeight = priceBox.clientHeight - price.timeScale().height();
    var placed = [];
    for (var k = labelled.length - 1; k >= 0; k--) {
      var m = labelled[k];
      var x = price.timeScale().timeToCoordinate(m.time);
      var i = index[m.time];
      var above = m.position === "aboveBar";
      var y = candles.priceToCoordinate(above ? d.high[i] : d.low[i]);
      if (x === null || y === null || x < 0 || x > plotWidth) continue;
      var el = document.createElement("span");
      el.textContent = m.text;
      el.style.color = m.color;
      layer.appendChild(el);
      var w = el.offsetWidth, h = el.offsetHeight;
      var left = Math.max(0, Math.min(plotWidth - w, x - w / 2));
      var top = above ? y - 16 - h : y + 16;
      top = Math.max(0, Math.min(plotHeight - h, top));
      var box = { left: left, top: top, right: left + w, bottom: top + h };
      var hit = placed.some(function (p) {
        return box.left < p.right && p.left < box.right && box.top < p.bottom && p.top < box.bottom;
      });
      if (hit) { layer.removeChild(el); continue; }
      el.style.left = left + "px";
      el.style.top = top + "px";
      placed.push(box);
    }
  }
  var queued = false;
  function redrawLabels() {
    if (queued) return;
    queued = true;
    requestAnimationFrame(function () { queued = false; drawLabels(); });
  }

  // Hover (or tap) readout: the candle's OHLC and every fill on it.
  var info = document.getElementById("price-info");
  price.subscribeCrosshairMove(function (p) {
    var i = p.time === undefined ? undefined : index[p.time];
    if (i === undefined) return;
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
  equity.addSeries(L.LineSeries, { color: "${HOLD_COLOR}", lineWidth: 1, title: narrow ? "" : "buy & hold" })
    .setData(line(d.hold));
  equity.addSeries(L.LineSeries, { color: "${EQUITY_COLOR}", lineWidth: 2, title: narrow ? "" : "strategy" })
    .setData(line(d.equity));
  // Show the whole run with a little room on the left, so the first date label is not cut.
  function showAll() {
    var n = d.time.length;
    var plot = Math.max(1, priceBox.clientWidth - price.priceScale("right").width());
    var pad = Math.ceil(30 * n / plot);
    price.timeScale().setVisibleLogicalRange({ from: -pad, to: n - 1 + Math.ceil(pad / 3) });
  }
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
  price.timeScale().subscribeVisibleLogicalRangeChange(redrawLabels);
  price.timeScale().subscribeSizeChange(redrawLabels);
  requestAnimationFrame(function () { showAll(); redrawLabels(); });
})();
`;
