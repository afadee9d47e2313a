/**
 * The longer soak (`deno run -A bench/soak_bench.ts [--json] [--days N] [--markets N]`, and in
 * `deno task bench`): the CI soak's harness (`tests/engine/soak/_soak.ts`: the live loop against
 * the sandbox, all faults at low rates, the daily worker and the Telegram outbox, a store with 60
 * days of older history) over 7 simulated days on all 5 bundled markets by default.
 */

import { overBounds, runSoak, type SoakResult } from "../tests/engine/soak/_soak.ts";

/** The soak's figures as `deno task bench --json` reports them. */
export interface SoakBench {
  readonly soak_days: number;
  readonly soak_markets: number;
  readonly soak_wall_s: number;
  readonly soak_rss_warm_mb: number;
  readonly soak_rss_last_day_max_mb: number;
  readonly soak_rss_growth_mb: number;
  readonly soak_heap_growth_mb: number;
  /** The most keys any one prefix holds at the end (and which). */
  readonly soak_kv_keys_max_prefix: number;
  readonly soak_kv_keys_max_prefix_name: string;
  /** Prefixes over their documented bound, or keys kept past their retention. */
  readonly soak_kv_over_bounds: number;
  readonly soak_invariant_violations: number;
  readonly soak_daily_reports: number;
  readonly soak_fills: number;
  readonly soak_faults: number;
  readonly soak_keys: Readonly<Record<string, number>>;
}

/** Runs the soak and condenses it. */
export async function benchSoak(
  options: { readonly days?: number; readonly markets?: number } = {},
): Promise<SoakBench> {
  const r: SoakResult = await runSoak({
    days: options.days ?? 7,
    markets: options.markets ?? 5,
    seed: 11,
  });
  const [maxName, maxKeys] = Object.entries(r.keys).sort((a, b) => b[1] - a[1])[0] ?? ["", 0];
  return {
    soak_days: r.days,
    soak_markets: r.markets.length,
    soak_wall_s: Math.round(r.wallMs / 100) / 10,
    soak_rss_warm_mb: r.rssWarmMb,
    soak_rss_last_day_max_mb: r.rssLastDayMaxMb,
    soak_rss_growth_mb: r.rssGrowthMb,
    soak_heap_growth_mb: r.heapGrowthMb,
    soak_kv_keys_max_prefix: maxKeys,
    soak_kv_keys_max_prefix_name: maxName,
    soak_kv_over_bounds: overBounds(r).length + Object.keys(r.expired).length,
    soak_invariant_violations: r.violations.length,
    soak_daily_reports: r.reports.length,
    soak_fills: r.fills,
    soak_faults: Object.values(r.faults).reduce((a, n) => a + n, 0),
    soak_keys: r.keys,
  };
}

function flag(name: string): number | undefined {
  const i = Deno.args.indexOf(name);
  return i < 0 ? undefined : Number(Deno.args[i + 1]);
}

if (import.meta.main) {
  const result = await benchSoak({ days: flag("--days"), markets: flag("--markets") });
  const out = (text: string) => Deno.stdout.writeSync(new TextEncoder().encode(text + "\n"));
  if (Deno.args.includes("--json")) out(JSON.stringify(result, null, 2));
  else {
    out(
      `soak: ${result.soak_days} simulated days, ${result.soak_markets} markets in ${result.soak_wall_s} s: ` +
        `RSS +${result.soak_rss_growth_mb} MB (${result.soak_rss_warm_mb} → ${result.soak_rss_last_day_max_mb}), ` +
        `heap +${result.soak_heap_growth_mb} MB; ${result.soak_daily_reports} daily reports, ` +
        `${result.soak_invariant_violations} invariant violations, ${result.soak_kv_over_bounds} KV prefixes over bound; ` +
        `largest prefix ${result.soak_kv_keys_max_prefix_name} ${result.soak_kv_keys_max_prefix} keys; ` +
        `${result.soak_fills} fills, ${result.soak_faults} faults`,
    );
  }
}
