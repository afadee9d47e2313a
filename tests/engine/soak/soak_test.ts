/**
 * The operations issue's soak at CI size: 7 simulated days of the live loop against the sandbox
 * with every fault kind at low rates, the daily report worker and the Telegram outbox running,
 * on a store that starts with an older run's history past every retention (harness: `_soak.ts`; the longer
 * soak is `bench/soak_bench.ts`).
 *
 * It asserts exactly 7 daily reports (each also delivered to the fake Telegram), no broken invariant (balances never negative, ledger =
 * fills = the exchange's trades, one exchange order per identifier, positions and KRW matching
 * the exchange), every KV prefix within its documented bound with nothing kept past its
 * retention, and RSS and V8 heap (after a full GC) flat within 50 MB after the first day (the
 * max over the last simulated day against the lowest sample after day 1), the heap also by less than 1.5 MB
 * a simulated day (so a leak per market event fails it).
 */

import assert from "node:assert/strict";
import { overBounds, runSoak } from "./_soak.ts";
import { FAULT_KINDS } from "../../../engine/sandbox/faults.ts";

/** The limit on memory growth after warm-up. */
const FLAT_MB = 50;
/**
 * Heap kept per simulated day after warm-up, at most. Measured 0.7 MB/day (mostly the sandbox's
 * own minute cache, an LRU of 96 days per market); a leak of ~550 bytes per market event (2,880
 * events a day here) crosses it, where the 50 MB over the week would need ~3 KB per event.
 */
const HEAP_MB_PER_DAY = 1.5;

Deno.test({
  name: "soak: 7 simulated days, all faults at low rates: 7 reports, bounded, flat, no violation",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const r = await runSoak({ days: 7, markets: 1, seed: 7 });
    // deno-lint-ignore no-console -- the measured figures, for the report
    console.log(
      `soak: ${r.days} days, ${r.markets.join(",")}, ${(r.wallMs / 1000).toFixed(1)} s; ` +
        `RSS lowest after day 1 ${r.rssWarmMb} MB, max over the last day ${r.rssLastDayMaxMb} MB ` +
        `(+${r.rssGrowthMb}); heap ${r.heapWarmMb} → ${r.heapLastDayMaxMb} MB ` +
        `(+${r.heapGrowthMb}); ${r.fills} fills, ${r.orders} orders, ${r.restCalls} REST calls, ` +
        `${r.telegramSent} Telegram messages; faults ${JSON.stringify(r.faults)}; ` +
        `keys ${JSON.stringify(r.keys)}`,
    );
    assert.deepEqual(r.violations, []);
    assert.equal(r.reports.length, 7, r.reports.join(", "));
    assert.deepEqual([...r.reports].sort(), r.reports, "the reports in date order");
    assert.deepEqual(overBounds(r), []);
    assert.deepEqual(r.expired, {});
    assert.ok(r.rssGrowthMb < FLAT_MB, `RSS grew ${r.rssGrowthMb} MB`);
    assert.ok(r.heapGrowthMb < FLAT_MB, `heap grew ${r.heapGrowthMb} MB`);
    const perDay = r.heapGrowthMb / (r.days - 1);
    assert.ok(perDay < HEAP_MB_PER_DAY, `heap grew ${perDay.toFixed(2)} MB a simulated day`);
    // It did what a soak must: traded, hit every fault kind, told Telegram.
    assert.ok(r.fills >= 50, `only ${r.fills} fills`);
    for (
      const kind of [
        ...FAULT_KINDS,
        "disconnect",
        "telegram_fail",
        "telegram_rate_limit",
        "telegram_timeout",
      ]
    ) {
      assert.ok((r.faults[kind] ?? 0) > 0, `no ${kind} fault armed`);
    }
    // Each report reached the (fake) Telegram once its faults passed.
    assert.deepEqual(r.telegramReports, r.reports);
  },
});
