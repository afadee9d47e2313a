/**
 * The chart bundle (`static/charts.js`, built by `deno task build`), fetched by the `Charts`
 * island after the first paint: `lightweight-charts` drawing the equity curve and one market's
 * candles with its Bollinger bands and fills. Colours come from the page's CSS variables.
 */

import {
  AreaSeries,
  CandlestickSeries,
  createChart,
  createSeriesMarkers,
  type IChartApi,
  LineSeries,
  type UTCTimestamp,
} from "lightweight-charts";

/** A market's chart as `/api/chart` answers it (the operator's `ChartView`). */
interface ChartData {
  readonly candles: readonly {
    time: number;
    open: number;
    high: number;
    low: number;
    close: number;
  }[];
  readonly bands: readonly { time: number; upper: number; middle: number; lower: number }[];
  readonly markers: readonly { time: number; side: "bid" | "ask"; price: number }[];
}

const charts = new WeakMap<HTMLElement, IChartApi>();

function css(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#888";
}

/** A fresh chart in `el` (the old one there removed), sized to it. */
function chartIn(el: HTMLElement): IChartApi {
  charts.get(el)?.remove();
  el.textContent = "";
  const chart = createChart(el, {
    autoSize: true,
    // The logo injects a <style> element (the CSP forbids it): the page credits
    // TradingView Lightweight Charts in the charts' caption instead, as its license asks.
    layout: {
      background: { color: "transparent" },
      textColor: css("--muted"),
      fontSize: 11,
      attributionLogo: false,
    },
    grid: { vertLines: { visible: false }, horzLines: { color: css("--line") } },
    rightPriceScale: { borderVisible: false },
    timeScale: { borderVisible: false, timeVisible: true },
    // KRW, grouped, whole won (prices under 100 keep their decimals).
    localization: {
      priceFormatter: (p: number) =>
        p.toLocaleString("en-US", { maximumFractionDigits: Math.abs(p) < 100 ? 4 : 0 }),
    },
    handleScroll: false,
    handleScale: false,
  });
  charts.set(el, chart);
  return chart;
}

const t = (s: number) => s as UTCTimestamp;

/** The equity curve (KRW) in `el`. */
export function drawEquity(
  el: HTMLElement,
  points: readonly { time: number; value: number }[],
): void {
  const chart = chartIn(el);
  const accent = css("--accent");
  const series = chart.addSeries(AreaSeries, {
    lineColor: accent,
    topColor: `${accent}55`,
    bottomColor: `${accent}05`,
    lineWidth: 2,
    priceLineVisible: false,
  });
  series.setData(points.map((p) => ({ time: t(p.time), value: p.value })));
  chart.timeScale().fitContent();
}

/** One market's candles, Bollinger bands and fills in `el`. */
export function drawCandles(el: HTMLElement, data: ChartData): void {
  const chart = chartIn(el);
  const pos = css("--pos");
  const neg = css("--neg");
  const candles = chart.addSeries(CandlestickSeries, {
    upColor: pos,
    downColor: neg,
    wickUpColor: pos,
    wickDownColor: neg,
    borderVisible: false,
    priceLineVisible: false,
  });
  candles.setData(data.candles.map((c) => ({ ...c, time: t(c.time) })));
  const band = { color: css("--muted"), lineWidth: 1 as const, priceLineVisible: false };
  for (const key of ["upper", "middle", "lower"] as const) {
    const line = chart.addSeries(LineSeries, {
      ...band,
      lineStyle: key === "middle" ? 2 : 0,
      lastValueVisible: false,
    });
    line.setData(data.bands.map((b) => ({ time: t(b.time), value: b[key] })));
  }
  createSeriesMarkers(
    candles,
    data.markers.map((m) => ({
      time: t(m.time),
      position: m.side === "bid" ? "belowBar" as const : "aboveBar" as const,
      color: m.side === "bid" ? pos : neg,
      shape: m.side === "bid" ? "arrowUp" as const : "arrowDown" as const,
    })),
  );
  chart.timeScale().fitContent();
}
