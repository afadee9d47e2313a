/** Shared test helpers for the strategies: close-only candles and feeding a close series. */

import type { Candle } from "../../../../engine/core/candle.ts";
import type { Holding, Signal, Strategy } from "../../../../engine/core/strategies/mod.ts";

/** A one-minute candle whose open, high, low and close are all `close`. */
export function candle(i: number, close: number): Candle {
  return {
    startMs: i * 60_000,
    open: close,
    high: close,
    low: close,
    close,
    volume: 1,
    value: NaN,
  };
}

/** Feeds `closes` to `strategy`, holding `holding` (one value, or one per close). */
export function feed(
  strategy: Strategy,
  closes: readonly number[],
  holding: Holding | readonly Holding[],
): Signal[] {
  return closes.map((close, i) =>
    strategy.update(candle(i, close), typeof holding === "string" ? holding : holding[i]!)
  );
}
