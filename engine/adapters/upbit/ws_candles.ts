/**
 * Final 1-minute candles from Upbit's `candle.1m` stream plus REST back-fill, with no gap and no
 * duplicate (reliability.md §1.7).
 *
 * Upbit re-sends the growing candle (several messages per bucket, the last one is its state) and
 * has no "closed" flag, so a candle is final only once a later bucket has started. Per market we
 * keep the last final bucket and one pending candle. When the link drops, the pending candle may
 * have missed updates, so it is dropped and the market enters *sync*: live candles are buffered
 * (latest state per bucket) until the REST history from the last final bucket onward arrives;
 * then history and buffer are merged in bucket order. Minutes without trades have no candle on
 * Upbit, so a missing bucket is not a gap.
 *
 * Within one bucket a later state never has less volume, so "more or equal volume wins" picks
 * the newest of two states of a bucket whichever path (REST or stream) brought it.
 */

import type { Candle } from "../../core/candle.ts";

/** One minute in ms. */
export const MINUTE_MS = 60_000;

/** Where a final candle's last state came from. */
export type CandleOrigin = "stream" | "backfill";

/** A final candle of one market. */
export interface FinalCandle {
  readonly market: string;
  readonly candle: Candle;
  readonly origin: CandleOrigin;
}

interface Held {
  readonly candle: Candle;
  readonly origin: CandleOrigin;
}

/** Per-market assembly state. */
export interface CandleTrack {
  readonly market: string;
  /** Start of the last final bucket emitted. */
  lastFinalMs: number | undefined;
  pending: Held | undefined;
  /** Live states buffered while syncing (bucket start → newest state), else undefined. */
  buffer: Map<number, Candle> | undefined;
}

/** A new track, syncing (the first REST call is the warm-up). */
export function createCandleTrack(market: string): CandleTrack {
  return { market, lastFinalMs: undefined, pending: undefined, buffer: new Map() };
}

function newer(a: Candle, than: Candle): boolean {
  return a.volume >= than.volume;
}

function apply(track: CandleTrack, candle: Candle, origin: CandleOrigin, out: FinalCandle[]): void {
  if (track.lastFinalMs !== undefined && candle.startMs <= track.lastFinalMs) return;
  const pending = track.pending;
  if (pending === undefined) {
    track.pending = { candle, origin };
  } else if (candle.startMs === pending.candle.startMs) {
    if (newer(candle, pending.candle)) track.pending = { candle, origin };
  } else if (candle.startMs > pending.candle.startMs) {
    out.push({ market: track.market, candle: pending.candle, origin: pending.origin });
    track.lastFinalMs = pending.candle.startMs;
    track.pending = { candle, origin };
  }
  // An older bucket than the pending one is a stale re-send: ignored.
}

/** Feeds one live candle state; returns the candles that became final (0 or 1). */
export function acceptLiveCandle(track: CandleTrack, candle: Candle): FinalCandle[] {
  if (track.buffer !== undefined) {
    const held = track.buffer.get(candle.startMs);
    if (held === undefined || newer(candle, held)) track.buffer.set(candle.startMs, candle);
    return [];
  }
  const out: FinalCandle[] = [];
  apply(track, candle, "stream", out);
  return out;
}

/** The link dropped: forget the (possibly stale) pending candle and buffer until back-fill. */
export function beginCandleSync(track: CandleTrack): void {
  track.pending = undefined;
  if (track.buffer === undefined) track.buffer = new Map();
}

/** Whether the track waits for back-fill. */
export function isSyncing(track: CandleTrack): boolean {
  return track.buffer !== undefined;
}

/**
 * The REST range to back-fill: from the bucket after the last final one (or `warmupMinutes`
 * before now on the first sync) to the end of the current bucket.
 */
export function backfillRange(
  track: CandleTrack,
  options: { nowMs: number; warmupMinutes: number },
): { fromMs: number; toMs: number } {
  const current = Math.floor(options.nowMs / MINUTE_MS) * MINUTE_MS;
  const fromMs = track.lastFinalMs !== undefined
    ? track.lastFinalMs + MINUTE_MS
    : current - options.warmupMinutes * MINUTE_MS;
  return { fromMs, toMs: current + MINUTE_MS };
}

/**
 * Merges REST `history` (any order, duplicates allowed) and the buffered live states, ends the
 * sync, and returns the candles that became final, in bucket order.
 */
export function completeCandleSync(
  track: CandleTrack,
  history: readonly Candle[],
): FinalCandle[] {
  const out: FinalCandle[] = [];
  const sorted = [...history].sort((a, b) => a.startMs - b.startMs);
  for (const c of sorted) apply(track, c, "backfill", out);
  const buffered = [...(track.buffer ?? new Map<number, Candle>()).values()].sort((a, b) =>
    a.startMs - b.startMs
  );
  track.buffer = undefined;
  for (const c of buffered) apply(track, c, "stream", out);
  return out;
}
