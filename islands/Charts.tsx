/**
 * The equity curve and a candle chart (Bollinger bands, fills as markers), drawn by
 * `lightweight-charts` in a bundle of its own (`static/charts.js`) that this island fetches only
 * after the page has painted: the first paint carries none of the chart library. The data comes
 * from `/api/equity` and `/api/chart`; a fill redraws the chart.
 */

import { signal } from "@preact/signals";
import type { VNode } from "preact";
import { useEffect, useMemo, useRef } from "preact/hooks";
import { onLiveEvent } from "./live_events.ts";

/** The charts' props. */
export interface ChartsProps {
  /** The hashed URL of the chart bundle. */
  readonly bundle: string;
  readonly markets: readonly string[];
  readonly equityTitle: string;
  /** Per market: the candle chart's caption. */
  readonly titles: Readonly<Record<string, string>>;
  readonly loading: string;
  readonly empty: string;
}

/** What the chart bundle exports (`charts.ts`). */
interface ChartBundle {
  drawEquity(el: HTMLElement, points: readonly { time: number; value: number }[]): void;
  drawCandles(el: HTMLElement, chart: unknown): void;
}

/** The lazily drawn charts. */
export default function Charts(props: ChartsProps): VNode {
  const market = useMemo(() => signal(props.markets[0] ?? ""), []);
  const equityEl = useRef<HTMLDivElement>(null);
  const candleEl = useRef<HTMLDivElement>(null);
  const bundle = useRef<Promise<ChartBundle> | null>(null);
  const draw = async () => {
    bundle.current ??= import(props.bundle) as Promise<ChartBundle>;
    const [charts, equity, chart] = await Promise.all([
      bundle.current,
      fetchJson("/api/equity"),
      fetchJson(`/api/chart?market=${encodeURIComponent(market.value)}`),
    ]);
    const points = equity as { time: number; value: number }[];
    if (equityEl.current !== null) {
      if (points.length === 0) equityEl.current.textContent = props.empty;
      else charts.drawEquity(equityEl.current, points);
    }
    if (candleEl.current !== null) {
      if ((chart as { candles: unknown[] }).candles.length === 0) {
        candleEl.current.textContent = props.empty;
      } else charts.drawCandles(candleEl.current, chart);
    }
  };
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const later = () => {
      clearTimeout(timer);
      timer = setTimeout(() => void draw().catch(() => {}), 300);
    };
    // After the first paint and the page's load: the chart code is never on the critical path.
    if (document.readyState === "complete") later();
    else addEventListener("load", later, { once: true });
    const stop = onLiveEvent((event) => {
      if (event.type === "OrderFilled") later();
    });
    return () => {
      stop();
      clearTimeout(timer);
    };
  }, []);
  return (
    <div class="charts">
      <figure>
        <figcaption>{props.equityTitle}</figcaption>
        <div class="chart" ref={equityEl}>{props.loading}</div>
      </figure>
      <figure>
        <figcaption>
          {props.markets.length > 1
            ? (
              <span class="tabs">
                {props.markets.map((m) => (
                  <button
                    key={m}
                    type="button"
                    class={m === market.value ? "tab on" : "tab"}
                    onClick={() => {
                      market.value = m;
                      void draw().catch(() => {});
                    }}
                  >
                    {m}
                  </button>
                ))}
              </span>
            )
            : null}
          <span>{props.titles[market.value] ?? ""}</span>
        </figcaption>
        <div class="chart" ref={candleEl}>{props.loading}</div>
      </figure>
      <p class="muted credit">
        Charts:{" "}
        <a href="https://www.tradingview.com/" rel="noreferrer">TradingView Lightweight Charts™</a>
      </p>
    </div>
  );
}

async function fetchJson(url: string): Promise<unknown> {
  const res = await fetch(url, { headers: { accept: "application/json" } });
  if (!res.ok) throw new Error(`${url}: ${res.status}`);
  return await res.json();
}
