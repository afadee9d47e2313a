/**
 * Survival bench (issue 13) at the full sizes: the sandbox and the bot's web server,
 * each in its own process, under 200 MB bodies, 2,000 slow connections, 50,000 forged
 * forwarded addresses, 10,000 forged tokens, 1,000 WebSocket connects in 10 s and 40 MB
 * WebSocket messages, one attack after another, with the default bounds. Figures per attack:
 * the target's highest RSS and the legitimate client's answer times (p50/p99/max, a fresh
 * connection each). Goal: RSS < 300 MB and p99 < 100 ms.
 */

import {
  FULL_SIZES,
  percentile,
  type SurvivalFigures,
  survive,
} from "../tests/engine/survival/_survival.ts";

/** One attack's figures. */
export interface AttackBench {
  readonly rss_mb: number;
  readonly legit_p50_ms: number;
  readonly legit_p99_ms: number;
  readonly legit_max_ms: number;
  readonly legit_failures: number;
  readonly seen: Readonly<Record<string, number>>;
}

/** The whole bench. */
export interface SurvivalBench {
  /** The highest RSS of any target during any attack. */
  readonly survive_rss_mb: number;
  /** The worst per-attack p99 of the legitimate answers. */
  readonly survive_legit_p99_ms: number;
  readonly survive_legit_failures: number;
  readonly targets: Readonly<Record<string, Readonly<Record<string, AttackBench>>>>;
}

/** Runs both targets at full size. */
export async function benchSurvival(): Promise<SurvivalBench> {
  const runs: SurvivalFigures[] = [];
  for (const target of ["sandbox", "web"] as const) runs.push(await survive(target, FULL_SIZES));
  const targets: Record<string, Record<string, AttackBench>> = {};
  let rss = 0;
  let p99 = 0;
  let failures = 0;
  for (const run of runs) {
    const attacks: Record<string, AttackBench> = {};
    for (const a of run.attacks) {
      const figures: AttackBench = {
        rss_mb: a.rssMaxMb,
        legit_p50_ms: round1(percentile(a.legitMs, 50)),
        legit_p99_ms: round1(percentile(a.legitMs, 99)),
        legit_max_ms: round1(Math.max(...a.legitMs)),
        legit_failures: a.legitFailures,
        seen: a.seen,
      };
      attacks[a.attack] = figures;
      rss = Math.max(rss, figures.rss_mb);
      p99 = Math.max(p99, figures.legit_p99_ms);
      failures += figures.legit_failures;
    }
    targets[run.target] = attacks;
  }
  return {
    survive_rss_mb: rss,
    survive_legit_p99_ms: p99,
    survive_legit_failures: failures,
    targets,
  };
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

if (import.meta.main) {
  Deno.stdout.writeSync(new TextEncoder().encode(JSON.stringify(await benchSurvival()) + "\n"));
}
