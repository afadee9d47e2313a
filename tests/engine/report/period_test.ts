/** The text, JSON and HTML backtest reports name the same period: first → last candle, inclusive. */

import assert from "node:assert/strict";
import { loadCandleFile } from "../../../engine/adapters/candle_file.ts";
import { runBacktest } from "../../../engine/core/backtest.ts";
import { computeMetrics, yearlyBreakdown } from "../../../engine/core/metrics.ts";
import { parseUnits } from "../../../engine/core/money.ts";
import { DEFAULT_RISK_RULES } from "../../../engine/core/risk.ts";
import { createStrategy } from "../../../engine/core/strategies/mod.ts";
import { renderHtmlReport } from "../../../engine/report/html_report.ts";
import { toJsonReport } from "../../../engine/report/json_report.ts";
import { reportPeriod } from "../../../engine/report/period.ts";
import { renderTextReport } from "../../../engine/report/text_report.ts";

const DATA = new URL("../../../data/", import.meta.url).pathname;

for (
  const [file, first, last] of [
    ["upbit-KRW-BTC-1d.csv", "2017-09-29", "2025-12-31"],
    ["upbit-KRW-BTC-1m-20220531-20220607.csv", "2022-05-31", "2022-06-07"],
  ] as const
) {
  Deno.test(`all three reports of ${file} run ${first} → ${last}`, async () => {
    const candles = await loadCandleFile(`${DATA}${file}`);
    const result = runBacktest(candles, {
      market: "KRW-BTC",
      strategy: createStrategy("bb", {}),
      rules: DEFAULT_RISK_RULES,
      feeBps: 5,
      slippageBps: 5,
      capital: parseUnits("1000000"),
    });
    const metrics = computeMetrics(result);
    const years = yearlyBreakdown(result);
    const options = {
      market: "KRW-BTC",
      timeframe: "1d",
      feeBps: 5,
      slippageBps: 5,
      rules: DEFAULT_RISK_RULES,
    };
    const period = reportPeriod(candles);
    assert.equal(period.lastMs, candles.at(-1)!.startMs);
    assert.ok(metrics.endMs > period.lastMs, "the metrics' end is exclusive, the reports' is not");

    const text = renderTextReport({ result, metrics, years, options, title: "t", source: file });
    assert.match(text.split("\n")[1]!, new RegExp(`^  ${first} → ${last} \\(`));
    const json = toJsonReport({ result, metrics, years, options });
    assert.equal(String(json.start).slice(0, 10), first);
    assert.equal(String(json.end).slice(0, 10), last);
    assert.equal(json.end, new Date(period.lastMs).toISOString().replace(".000Z", "Z"));
    const html = await renderHtmlReport({ result, metrics, years, title: "t" });
    assert.ok(html.includes(`${first} → ${last} (UTC)`), "HTML header");
  });
}
