/** Unit tests of final-candle assembly: re-sends, staleness, sync buffering and back-fill merge. */

import assert from "node:assert/strict";
import type { Candle } from "../../../../engine/core/candle.ts";
import {
  acceptLiveCandle,
  backfillRange,
  beginCandleSync,
  completeCandleSync,
  createCandleTrack,
  MINUTE_MS,
} from "../../../../engine/adapters/upbit/ws_candles.ts";

function c(minute: number, volume: number, close = 100): Candle {
  return {
    startMs: minute * MINUTE_MS,
    open: 100,
    high: 110,
    low: 90,
    close,
    volume,
    value: volume * 100,
  };
}

function ready() {
  const t = createCandleTrack("KRW-BTC");
  completeCandleSync(t, []);
  return t;
}

Deno.test("acceptLiveCandle() emits a bucket only when a later one starts, with its last state", () => {
  const t = ready();
  assert.deepEqual(acceptLiveCandle(t, c(1, 1)), []);
  assert.deepEqual(acceptLiveCandle(t, c(1, 2, 101)), []);
  const out = acceptLiveCandle(t, c(2, 1));
  assert.deepEqual(out.map((f) => [f.candle.startMs, f.candle.volume, f.candle.close]), [
    [MINUTE_MS, 2, 101],
  ]);
  // A stale re-send of a finished bucket is ignored: no duplicate.
  assert.deepEqual(acceptLiveCandle(t, c(1, 5)), []);
  assert.deepEqual(acceptLiveCandle(t, c(4, 1)).map((f) => f.candle.startMs), [2 * MINUTE_MS]);
});

Deno.test("completeCandleSync() merges REST history and buffered live states without gaps", () => {
  const t = ready();
  acceptLiveCandle(t, c(1, 1));
  acceptLiveCandle(t, c(2, 1)); // 1 final
  acceptLiveCandle(t, c(2, 3)); // pending 2 (will be dropped: it may be stale)
  beginCandleSync(t);
  // While syncing, live states are held, newest state per bucket.
  assert.deepEqual(acceptLiveCandle(t, c(5, 1)), []);
  assert.deepEqual(acceptLiveCandle(t, c(5, 2)), []);
  assert.deepEqual(backfillRange(t, { nowMs: 5 * MINUTE_MS + 10, warmupMinutes: 200 }), {
    fromMs: 2 * MINUTE_MS,
    toMs: 6 * MINUTE_MS,
  });
  // REST: 2 (complete), 3, and an older state of 5; 4 had no trades.
  const out = completeCandleSync(t, [c(5, 1.5), c(3, 1), c(2, 4), c(2, 4)]);
  assert.deepEqual(out.map((f) => [f.candle.startMs / MINUTE_MS, f.candle.volume, f.origin]), [
    [2, 4, "backfill"],
    [3, 1, "backfill"],
  ]);
  // The buffered live state of 5 (more volume) replaced REST's; it is final when 6 starts.
  const next = acceptLiveCandle(t, c(6, 1));
  assert.deepEqual(next.map((f) => [f.candle.startMs / MINUTE_MS, f.candle.volume, f.origin]), [
    [5, 2, "stream"],
  ]);
});

Deno.test("backfillRange() warms up from warmupMinutes before now on the first sync", () => {
  const t = createCandleTrack("KRW-BTC");
  assert.deepEqual(backfillRange(t, { nowMs: 1000 * MINUTE_MS + 5, warmupMinutes: 200 }), {
    fromMs: 800 * MINUTE_MS,
    toMs: 1001 * MINUTE_MS,
  });
  const out = completeCandleSync(t, [c(800, 1), c(801, 1), c(1000, 1)]);
  assert.deepEqual(out.map((f) => f.candle.startMs / MINUTE_MS), [800, 801]);
});
