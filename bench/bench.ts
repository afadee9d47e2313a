/**
 * `deno task bench [--json]`: every speed goal of the project, measured side by side in one
 * process on this machine (figures are ratios where the machine's noise would otherwise decide).
 *
 * - streaming indicators, ours against npm `trading-signals` 8.3.0, ns per update;
 * - the full BB(20, 2.5) backtest with risk manager and ledger over 1,000,000 one-minute
 *   candles, in candles/s and as a ratio to a plain `Float64Array` loop;
 * - loading 1,000,000 candle rows from CSV;
 * - surviving attacks on the sandbox and the bot's web server (RSS, legitimate p99);
 * - the Telegram webhook's answer time with the fake Bot API up (p50/p99, ms);
 * - Telegram notifications: event → `sendMessage` (p50/p99, ms), and the loop's price-to-order
 *   latency without Telegram, with the outbox and the fake Bot API down, and up;
 * - price-to-order latency with five markets over HTTP to the sandbox (p50/p99, ms);
 * - the status page: first-paint JavaScript and page weight without the chart (KB as a gzip
 *   browser receives them), time to first byte of the main page, SSE fan-out to 100 clients;
 * - the trades page with 10,000 trades over real HTTP (p50/p99, ms) and its CSV of them all;
 * - the soak: 7 simulated days of the live loop on 5 markets against the sandbox with every fault
 *   at low rates (RSS and heap growth after day 1, KV keys, invariants, daily reports).
 */

import { benchBacktest } from "./backtest_bench.ts";
import { benchCsvLoad } from "./csv_bench.ts";
import { benchIndicators } from "./indicators_bench.ts";
import { benchSurvival } from "./survival_bench.ts";
import { benchSweepAsTheTaskRuns } from "./sweep_bench.ts";
import { benchTelegramWebhook } from "./telegram_bench.ts";
import { benchTradesPage } from "./trades_page_bench.ts";
import { benchOutbox } from "./outbox_bench.ts";
import { benchWeb } from "./web_bench.ts";
import { benchSoak } from "./soak_bench.ts";
import { benchMarketsLatency } from "./markets_latency_bench.ts";

const json = Deno.args.includes("--json");

function log(text: string): void {
  if (!json) Deno.stdout.writeSync(new TextEncoder().encode(text + "\n"));
}

log("upbit-trader bench (best of several runs; 2 noisy cores: compare the ratios)");
const indicators = await benchIndicators(1_000_000);
for (const [name, r] of Object.entries(indicators)) {
  log(
    `  ${name.padEnd(5)} ours ${r.ours_ns.toFixed(2).padStart(7)} ns/update   trading-signals ${
      r.trading_signals_ns.toFixed(2).padStart(7)
    } ns/update   ${(r.trading_signals_ns / r.ours_ns).toFixed(1)}× faster`,
  );
}
const backtest = await benchBacktest(1_000_000);
log(
  `  backtest BB(20, 2.5) + risk + ledger: ${
    (backtest.backtest_candles_per_sec / 1e6).toFixed(1)
  } M candles/s (${backtest.trades} trades over ${backtest.candles} 1m candles)`,
);
log(
  `  plain Float64Array loop, same arithmetic: ${
    (backtest.tight_loop_candles_per_sec / 1e6).toFixed(1)
  } M candles/s → ratio ${backtest.backtest_ratio_to_tight_loop}×`,
);
const csv = await benchCsvLoad();
log(
  `  CSV load: ${csv.ms_per_million.toFixed(0)} ms per million rows (${csv.rows} rows in ${
    csv.ms.toFixed(0)
  } ms)`,
);
const sweep = await benchSweepAsTheTaskRuns();
log(
  `  sweep of ${sweep.sets} BB sets over ${sweep.candles} 30m candles: ${
    (sweep.sweep_candles_per_sec / 1e6).toFixed(1)
  } M candle-steps/s inside a sweep with 1 worker (${
    (sweep.sweep_candles_per_cpu_sec / 1e6).toFixed(1)
  } M per CPU second), ${sweep.sweep_speedup_2_workers}× with 2; one cold sweep ${
    (sweep.sweep_candles_per_sec_cold / 1e6).toFixed(1)
  } M/s, ${sweep.sweep_speedup_2_workers_cold}× with 2 (load ${sweep.load_average_1m})`,
);
const telegram = await benchTelegramWebhook();
log(
  `  Telegram webhook answer (fake Bot API up): command p50 ${
    telegram.commandP50Ms.toFixed(1)
  } ms, p99 ${telegram.commandP99Ms.toFixed(1)} ms; ignored update p99 ${
    telegram.ignoredP99Ms.toFixed(1)
  } ms (${telegram.commands} each)`,
);
const outbox = await benchOutbox();
log(
  `  Telegram notifications (fake Bot API up): event → sendMessage answered p50 ${
    outbox.eventToSentP50Ms.toFixed(1)
  } ms, p99 ${outbox.eventToSentP99Ms.toFixed(1)} ms (${outbox.events} events)`,
);
log(
  `  price → order with the outbox running: no Telegram p50 ${outbox.loop.none.p50Ms} / p99 ${outbox.loop.none.p99Ms} ms; ` +
    `Telegram down p50 ${outbox.loop.down.p50Ms} / p99 ${outbox.loop.down.p99Ms} ms; ` +
    `Telegram up p50 ${outbox.loop.up.p50Ms} / p99 ${outbox.loop.up.p99Ms} ms`,
);
const five = await benchMarketsLatency(120);
log(
  `  price → order with ${five.markets} markets over HTTP to the sandbox: p50 ${five.order.p50_ms} / p99 ${five.order.p99_ms} ms ` +
    `(to fetch: p99 ${five.post.p99_ms} ms; first entry of a close p99 ${five.first_entry_order.p99_ms}, ` +
    `every entry (same-close queue) p99 ${five.entry_order.p99_ms}, stops p99 ${five.stop_order.p99_ms}; ` +
    `five closes at once p99 ${five.burst_order.p99_ms} ms; load ${five.load_1m})`,
);
const web = await benchWeb();
log(
  `  status page: first-paint JS ${web.firstPaintJsGzipKb} KB gzipped (chart bundle ${web.chartJsGzipKb} KB, after paint), page weight ${web.pageWeightKb} KB; TTFB p50 ${
    web.ttfbP50Ms.toFixed(1)
  } ms, p99 ${
    web.ttfbP99Ms.toFixed(1)
  } ms; SSE to ${web.sseClients} clients, event to last client p50 ${
    web.sseFanoutP50Ms.toFixed(1)
  } ms, p99 ${web.sseFanoutP99Ms.toFixed(1)} ms`,
);
const tradesPage = await benchTradesPage();
log(
  `  trades page with ${tradesPage.trades} trades (real HTTP): p50 ${
    tradesPage.p50Ms.toFixed(1)
  } ms, p99 ${tradesPage.p99Ms.toFixed(1)} ms (${tradesPage.requests} requests); CSV of all ${
    tradesPage.csvMs.toFixed(0)
  } ms`,
);
const survival = await benchSurvival();
log(
  `  survival (sandbox + web server, full-size attacks): RSS max ${survival.survive_rss_mb} MB, ` +
    `legit p99 (worst attack) ${survival.survive_legit_p99_ms} ms, ` +
    `${survival.survive_legit_failures} legit failures`,
);
const soak = await benchSoak();
log(
  `  soak, ${soak.soak_days} simulated days on ${soak.soak_markets} markets, all faults (${soak.soak_wall_s} s): ` +
    `RSS +${soak.soak_rss_growth_mb} MB, heap +${soak.soak_heap_growth_mb} MB after day 1; ` +
    `${soak.soak_daily_reports} daily reports, ${soak.soak_invariant_violations} invariant violations, ` +
    `${soak.soak_kv_over_bounds} KV prefixes over bound (largest ${soak.soak_kv_keys_max_prefix_name}: ${soak.soak_kv_keys_max_prefix} keys)`,
);

if (json) {
  const result = {
    ...soak,
    survive_rss_mb: survival.survive_rss_mb,
    survive_legit_p99_ms: survival.survive_legit_p99_ms,
    survive_legit_failures: survival.survive_legit_failures,
    survive: survival.targets,
    backtest_candles_per_sec: backtest.backtest_candles_per_sec,
    backtest_ratio_to_tight_loop: backtest.backtest_ratio_to_tight_loop,
    tight_loop_candles_per_sec: backtest.tight_loop_candles_per_sec,
    backtest_trades: backtest.trades,
    csv_load_ms_per_million: Math.round(csv.ms_per_million),
    sweep_candles_per_sec: sweep.sweep_candles_per_sec,
    sweep_speedup_2_workers: sweep.sweep_speedup_2_workers,
    sweep_candles_per_cpu_sec: sweep.sweep_candles_per_cpu_sec,
    sweep_candles_per_sec_2_workers: sweep.sweep_candles_per_sec_2_workers,
    sweep_candles_per_sec_cold: sweep.sweep_candles_per_sec_cold,
    sweep_speedup_2_workers_cold: sweep.sweep_speedup_2_workers_cold,
    sweep_load_average_1m: sweep.load_average_1m,
    telegram_webhook_p50_ms: round2(telegram.commandP50Ms),
    telegram_webhook_p99_ms: round2(telegram.commandP99Ms),
    telegram_webhook_ignored_p99_ms: round2(telegram.ignoredP99Ms),
    telegram_event_to_send_p50_ms: round2(outbox.eventToSentP50Ms),
    telegram_event_to_send_p99_ms: round2(outbox.eventToSentP99Ms),
    // One market, in-process paper exchange: a frame's text to `Exchange.placeOrder`.
    price_to_order_p99_ms_no_telegram: round2(outbox.loop.none.p99Ms),
    price_to_order_p99_ms_telegram_down: round2(outbox.loop.down.p99Ms),
    price_to_order_p99_ms_telegram_up: round2(outbox.loop.up.p99Ms),
    price_to_order_p50_ms_no_telegram: round2(outbox.loop.none.p50Ms),
    price_to_order_p50_ms_telegram_down: round2(outbox.loop.down.p50Ms),
    // Five markets, HttpExchange: a frame's text to the POST reaching the sandbox (`post`: to fetch).
    price_to_order_5m_p50_ms: round2(five.order.p50_ms),
    price_to_order_5m_p99_ms: round2(five.order.p99_ms),
    price_to_post_5m_p99_ms: round2(five.post.p99_ms),
    price_to_order_5m_entry_p99_ms: round2(five.entry_order.p99_ms),
    price_to_order_5m_first_entry_p99_ms: round2(five.first_entry_order.p99_ms),
    price_to_order_5m_stop_p99_ms: round2(five.stop_order.p99_ms),
    price_to_order_5m_burst_p99_ms: round2(five.burst_order.p99_ms),
    price_to_order_5m_load_1m: five.load_1m,
    web_first_paint_js_gzip_kb: web.firstPaintJsGzipKb,
    web_page_weight_kb: web.pageWeightKb,
    web_chart_js_gzip_kb: web.chartJsGzipKb,
    web_ttfb_p50_ms: round2(web.ttfbP50Ms),
    web_ttfb_p99_ms: round2(web.ttfbP99Ms),
    web_sse_fanout_100_p50_ms: round2(web.sseFanoutP50Ms),
    web_sse_fanout_100_p99_ms: round2(web.sseFanoutP99Ms),
    web_trades_page_10k_p50_ms: round2(tradesPage.p50Ms),
    web_trades_page_10k_p99_ms: round2(tradesPage.p99Ms),
    web_trades_csv_10k_ms: Math.round(tradesPage.csvMs),
    indicators: Object.fromEntries(
      Object.entries(indicators).map((
        [name, r],
      ) => [name, {
        ours_ns: round2(r.ours_ns),
        trading_signals_ns: round2(r.trading_signals_ns),
      }]),
    ),
  };
  Deno.stdout.writeSync(new TextEncoder().encode(JSON.stringify(result) + "\n"));
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
