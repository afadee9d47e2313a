/** Tests for the self-contained HTML backtest report, on a real backtest over daily BTC candles. */

import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { loadCandleFile } from "../../../engine/adapters/candle_file.ts";
import { type BacktestResult, runBacktest } from "../../../engine/core/backtest.ts";
import { bollingerBandsBatch } from "../../../engine/core/indicators/mod.ts";
import { computeMetrics, yearlyBreakdown } from "../../../engine/core/metrics.ts";
import { parseUnits } from "../../../engine/core/money.ts";
import { DEFAULT_RISK_RULES } from "../../../engine/core/risk.ts";
import { createStrategy } from "../../../engine/core/strategies/mod.ts";
import { renderHtmlReport } from "../../../engine/report/html_report.ts";

const CSV = new URL("../../../data/upbit-KRW-BTC-1d.csv", import.meta.url).pathname;
const BANDS = { period: 20, std: 2.5 };

interface Marker {
  time: number;
  position: string;
  shape: string;
  color: string;
  text: string;
}

interface Data {
  time: number[];
  open: number[];
  high: number[];
  low: number[];
  close: number[];
  bands: { upper: (number | null)[]; middle: (number | null)[]; lower: (number | null)[] } | null;
  equity: number[];
  hold: number[];
  markers: Marker[];
  labelFrom: number;
}

async function backtest(): Promise<BacktestResult> {
  const candles = (await loadCandleFile(CSV)).slice(1000, 1400);
  return runBacktest(candles, {
    market: "KRW-BTC",
    strategy: createStrategy("bb", {}),
    rules: DEFAULT_RISK_RULES,
    feeBps: 5,
    slippageBps: 5,
    capital: parseUnits("1000000"),
  });
}

async function render(
  result: BacktestResult,
  options: { title?: string; bands?: boolean } = {},
): Promise<string> {
  return await renderHtmlReport({
    result,
    metrics: computeMetrics(result),
    years: yearlyBreakdown(result),
    title: options.title ?? "KRW-BTC bb backtest",
    bands: options.bands === false ? undefined : BANDS,
  });
}

function reportData(html: string): Data {
  const m = /<script type="application\/json" id="report-data">([^<]*)<\/script>/.exec(html);
  assert.ok(m !== null, "the report data block is present and contains no '<'");
  return JSON.parse(m[1]!) as Data;
}

Deno.test("renderHtmlReport() references no URL and inlines lightweight-charts", async () => {
  const html = await render(await backtest());
  assert.match(html, /^<!doctype html>/);
  assert.match(html, /<meta name="viewport" content="width=device-width, initial-scale=1">/);
  assert.doesNotMatch(html, /\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?\/\//i);
  assert.doesNotMatch(html, /<script[^>]*\ssrc\s*=/i);
  assert.doesNotMatch(html, /<link\b/i);
  assert.doesNotMatch(html, /url\(\s*["']?(?:https?:)?\/\//i);
  assert.doesNotMatch(html, /@import/i);

  const manifest = createRequire(import.meta.url).resolve("lightweight-charts/package.json");
  const library = await Deno.readTextFile(
    join(dirname(manifest), "dist/lightweight-charts.standalone.production.js"),
  );
  assert.ok(html.includes(library), "the standalone build is inlined verbatim");
  assert.match(html, /LightweightCharts\.createChart|L\.createChart/);
});

Deno.test("renderHtmlReport() embeds every candle, the bands and a marker per fill", async () => {
  const result = await backtest();
  const data = reportData(await render(result));
  const { candles, fills, trades } = result;
  assert.ok(fills.length >= 4 && trades.length >= 2, "the backtest trades");

  assert.deepEqual(data.time, candles.map((c) => c.startMs / 1000));
  assert.deepEqual(data.open, candles.map((c) => c.open));
  assert.deepEqual(data.high, candles.map((c) => c.high));
  assert.deepEqual(data.low, candles.map((c) => c.low));
  assert.deepEqual(data.close, candles.map((c) => c.close));
  assert.deepEqual(data.equity, Array.from(result.equity, Math.round));
  assert.equal(data.hold.length, candles.length);
  // Buy-and-hold buys at the first open paying fee + slippage (10 bp) and is marked at closes.
  const holdQty = 1_000_000 / (candles[0]!.open * 1.001);
  assert.deepEqual(data.hold, candles.map((c) => Math.round(c.close * holdQty)));

  const bb = bollingerBandsBatch(candles.map((c) => c.close), { period: 20, stdDev: 2.5 });
  const bands = data.bands;
  assert.ok(bands !== null);
  for (const key of ["upper", "middle", "lower"] as const) {
    const band: (number | null)[] = bands[key];
    assert.equal(band.length, candles.length);
    assert.equal(band.filter((v) => v === null).length, BANDS.period - 1);
    band.forEach((v, i) => {
      if (v !== null) assert.ok(Math.abs(v / bb[key][i]! - 1) < 1e-9, `${key}[${i}]`);
    });
  }

  // One arrow per fill (the circles are skipped entries), in fill order.
  const arrows = data.markers.filter((m) => m.shape !== "circle");
  assert.equal(arrows.length, fills.length);
  const exits = trades.map((t) => t.exit.replace("_", " ").replace("signal", "signal sell"));
  const sellTexts: string[] = [];
  fills.forEach((fill, i) => {
    const marker = arrows[i]!;
    assert.equal(marker.time, fill.tsMs / 1000, `marker ${i} sits on its fill's candle`);
    if (fill.side === "buy") {
      assert.deepEqual(
        [marker.position, marker.shape, marker.text],
        ["belowBar", "arrowUp", "buy"],
      );
    } else {
      assert.deepEqual([marker.position, marker.shape], ["aboveBar", "arrowDown"]);
      sellTexts.push(marker.text);
    }
  });
  assert.deepEqual(sellTexts, exits);
});

Deno.test("renderHtmlReport() colours exits by reason and labels only the latest trades", async () => {
  // The whole bundled history: every exit reason occurs, and skipped entries too.
  const candles = await loadCandleFile(CSV);
  const result = runBacktest(candles, {
    market: "KRW-BTC",
    strategy: createStrategy("bb", {}),
    rules: { ...DEFAULT_RISK_RULES, trailingStopPct: 8 },
    feeBps: 5,
    slippageBps: 5,
    capital: parseUnits("1000000"),
  });
  const data = reportData(await render(result));
  const colourOf = new Map<string, Set<string>>();
  for (const m of data.markers) {
    colourOf.set(m.text, (colourOf.get(m.text) ?? new Set()).add(m.color));
  }
  const reasons = [...colourOf.keys()].sort();
  assert.deepEqual(
    reasons,
    ["buy", "buy skipped", "signal sell", "stop loss", "take profit", "trailing stop"].filter((r) =>
      colourOf.has(r)
    ),
  );
  assert.ok(reasons.length >= 5, `exit reasons seen: ${reasons.join(", ")}`);
  for (const [reason, colours] of colourOf) {
    assert.equal(colours.size, 1, `one colour for ${reason}`);
  }
  assert.equal(new Set([...colourOf.values()].map((c) => [...c][0])).size, reasons.length);
  const skipped = result.signals.filter((s) => !s.executed && s.action === "buy");
  assert.equal(data.markers.filter((m) => m.shape === "circle").length, skipped.length);

  // Labels: from the entry of the third-last round trip on, and no skipped entry among them.
  const labelled = data.markers.slice(data.labelFrom).filter((m) => m.shape !== "circle");
  const third = result.trades.at(-3)!;
  assert.equal(data.markers[data.labelFrom]!.time * 1000, third.entryMs);
  assert.equal(data.markers[data.labelFrom]!.text, "buy");
  assert.ok(labelled.length >= 6 && labelled.length <= 8, `${labelled.length} labelled`);
});

Deno.test("renderHtmlReport() keeps </script out of inlined data and escapes text", async () => {
  const title = `</script><script>alert("x")</script> & <!-- KRW`;
  const html = await render(await backtest(), { title });
  assert.ok(!html.includes(title));
  assert.ok(html.includes("&#60;/script&#62;&#60;script&#62;alert(&#34;x&#34;)"));
  // Three script elements, each closed once: nothing inlined closes one early.
  assert.equal(html.match(/<script\b/gi)?.length, 3);
  assert.equal(html.match(/<\/script/gi)?.length, 3);
  for (const m of html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/gi)) {
    assert.ok(!/<!--/.test(m[1]!), "no comment opener inside a script");
  }
  reportData(html);
});

Deno.test("renderHtmlReport() shows the tables with KRW thousands separators", async () => {
  const result = await backtest();
  const html = await render(result, { bands: false });
  assert.equal(reportData(html).bands, null);
  assert.ok(!html.includes("BB("));
  assert.ok(html.includes("capital 1,000,000 KRW"));
  assert.ok(html.includes(`<h2>Trades (${result.trades.length})</h2>`));
  const tradeRows = html.slice(html.indexOf("<h2>Trades")).match(/<tr><td data-label="#">/g) ?? [];
  assert.equal(tradeRows.length, result.trades.length);
  assert.match(
    html,
    /<td data-label="Entry price">\d{1,3}(?:,\d{3}){2,}<\/td>/,
    "prices carry thousands separators",
  );
  // The header names the last candle's date (inclusive), like the text and JSON reports.
  const last = result.candles.at(-1)!;
  assert.ok(html.includes(`→ ${new Date(last.startMs).toISOString().slice(0, 10)} (UTC)`));
  for (const y of yearlyBreakdown(result)) assert.ok(html.includes(`<td>${y.year}`));
});
