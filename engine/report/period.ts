/**
 * The one period convention of every backtest report (text, JSON and HTML): from the first
 * candle's open to the LAST candle's open, both inclusive, in UTC. A daily backtest over the
 * bundled file therefore ends on 2025-12-31 in all three, never on the exclusive 2026-01-01.
 */

import type { Candle } from "../core/candle.ts";

/** The first and the last candle's open time (UTC epoch ms), both inside the backtest. */
export interface ReportPeriod {
  readonly firstMs: number;
  readonly lastMs: number;
}

/** The period a report names for these candles (0 → 0 when there are none). */
export function reportPeriod(candles: readonly Candle[]): ReportPeriod {
  return { firstMs: candles[0]?.startMs ?? 0, lastMs: candles.at(-1)?.startMs ?? 0 };
}
