/**
 * Candles as the sweep's workers receive them: the seven fields of every candle in one
 * Float64Array (field by field). Posting it to a worker copies one block of memory, where an
 * array of candle objects is serialised object by object on the main thread and rebuilt in each
 * worker; the worker rebuilds the same candles from it.
 */

import type { Candle } from "../core/candle.ts";

const FIELDS = ["startMs", "open", "high", "low", "close", "volume", "value"] as const;

/** The candles' fields, column after column (`FIELDS.length × candles.length` numbers). */
export function candleColumns(candles: readonly Candle[]): Float64Array {
  const n = candles.length;
  const columns = new Float64Array(FIELDS.length * n);
  FIELDS.forEach((field, f) => {
    for (let i = 0; i < n; i++) columns[f * n + i] = candles[i]![field];
  });
  return columns;
}

/** The candles `candleColumns` was given, field for field. */
export function candlesFromColumns(columns: Float64Array): Candle[] {
  const n = columns.length / FIELDS.length;
  const candles: Candle[] = new Array(n);
  for (let i = 0; i < n; i++) {
    candles[i] = {
      startMs: columns[i]!,
      open: columns[n + i]!,
      high: columns[2 * n + i]!,
      low: columns[3 * n + i]!,
      close: columns[4 * n + i]!,
      volume: columns[5 * n + i]!,
      value: columns[6 * n + i]!,
    };
  }
  return candles;
}
