/**
 * CSV load benchmark: times `loadCandleFile` on a 1,000,000-row file built from the real KRW-BTC
 * 1m week, repeated and shifted later in time so it stays valid and strictly increasing.
 *
 * Run alone: `deno run --allow-read --allow-write bench/csv_bench.ts`.
 */

import { loadCandleFile } from "../engine/adapters/candle_file.ts";
import type { Candle } from "../engine/core/candle.ts";
import { formatCandleCsv } from "../engine/core/candle_csv.ts";

const SOURCE = new URL("../data/upbit-KRW-BTC-1m-20180125-20180201.csv", import.meta.url);
const ROWS = 1_000_000;
const RUNS = 3;

/** Times loading a 1,000,000-row candle CSV from a temp file (best of 3 runs). */
export async function benchCsvLoad(): Promise<
  { rows: number; ms: number; ms_per_million: number }
> {
  const path = await Deno.makeTempFile({ prefix: "csv_bench_", suffix: ".csv" });
  try {
    // Built in a helper so the million source candles are garbage, not live heap, while timing.
    await Deno.writeTextFile(path, await buildCsv());
    let best = Infinity;
    let rows = 0;
    for (let run = 0; run < RUNS; run++) {
      const t0 = performance.now();
      rows = (await loadCandleFile(path)).length;
      best = Math.min(best, performance.now() - t0);
    }
    const ms = Math.round(best * 10) / 10;
    return { rows, ms, ms_per_million: Math.round((best * 1e6 / rows) * 10) / 10 };
  } finally {
    await Deno.remove(path);
  }
}

/** The real week repeated, each copy starting one minute after the previous one ends. */
async function buildCsv(): Promise<string> {
  const week = await loadCandleFile(SOURCE.pathname);
  const first = week[0];
  const last = week.at(-1);
  if (first === undefined || last === undefined) throw new Error("benchmark source is empty");
  const spanMs = last.startMs - first.startMs + 60_000;
  const candles: Candle[] = [];
  for (let copy = 0; candles.length < ROWS; copy++) {
    for (const c of week) {
      if (candles.length === ROWS) break;
      candles.push({ ...c, startMs: c.startMs + copy * spanMs });
    }
  }
  return formatCandleCsv(candles);
}

if (import.meta.main) {
  // deno-lint-ignore no-console
  console.log(await benchCsvLoad());
}
