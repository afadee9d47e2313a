/**
 * Shared by the parity tests (one market, five markets): a replay tape turned into the market
 * events the live stream would make of it (at each trade, the minute's visible candle through the
 * market's candle track, then the trade's WebSocket frame, decoded), the tape read ahead of the
 * live replay, and the live legs read back from the stored fills.
 */

import assert from "node:assert/strict";
import { toMarketEvent } from "../../engine/adapters/upbit/market_events.ts";
import { acceptLiveCandle, type CandleTrack } from "../../engine/adapters/upbit/ws_candles.ts";
import { decodeFrame } from "../../engine/adapters/upbit/ws_messages.ts";
import { unitsToNumber } from "../../engine/core/money.ts";
import type { MarketEvent, StoredFill } from "../../engine/ports.ts";
import type { TapeTrade } from "../../engine/sandbox/paths.ts";
import { createReplay, type Replay } from "../../engine/sandbox/replay.ts";
import { floatCandle, wsTrade } from "../../engine/sandbox/upbit_format.ts";

/** A second replay of `dataFiles` on `replay`'s shift, advanced to `endMs` (its tape is ahead). */
export async function replayAhead(
  replay: Replay,
  dataFiles: readonly string[],
  startAt: number,
  endMs: number,
): Promise<Replay> {
  const ahead = await createReplay({
    dataFiles: [...dataFiles],
    startAt,
    manualClock: true,
    realNowMs: () => startAt + replay.shiftMs,
  });
  assert.equal(ahead.shiftMs, replay.shiftMs);
  ahead.advanceTo(endMs);
  return ahead;
}

/** The events of `trade` on `track`'s market, with the replay already at the trade's time. */
export function tapeEvents(replay: Replay, track: CandleTrack, trade: TapeTrade): MarketEvent[] {
  const market = track.market;
  const events: MarketEvent[] = [];
  const minuteMs = Math.floor(trade.tsMs / 60_000) * 60_000;
  const state = replay.visibleCandle(market, minuteMs, minuteMs + 60_000);
  if (state !== undefined) {
    for (const f of acceptLiveCandle(track, floatCandle(state))) {
      const e = toMarketEvent({ kind: "candle", ...f });
      if (e !== undefined) events.push(e);
    }
  }
  const frame = wsTrade(trade, {
    prevClose: replay.prevCloseOf(market, trade.tsMs) ?? trade.price,
    book: replay.book(market),
    stream: "REALTIME",
    nowMs: trade.tsMs,
  });
  const decoded = decodeFrame(JSON.stringify(frame));
  if (!decoded.ok || decoded.value.kind !== "trade") {
    throw new Error(`bad trade frame: ${JSON.stringify(decoded)}`);
  }
  const e = toMarketEvent({ kind: "trade", trade: decoded.value.message });
  if (e !== undefined) events.push(e);
  return events;
}

/** A live leg: one order, at its first fill's time, at its average price. */
export interface LiveLeg {
  readonly market: string;
  readonly side: "buy" | "sell";
  readonly tsMs: number;
  readonly price: number;
}

/** The live legs of `fills` (one per order), in time order. */
export function liveLegs(fills: readonly StoredFill[]): LiveLeg[] {
  const byOrder = new Map<
    string,
    { market: string; side: "buy" | "sell"; tsMs: number; funds: number; volume: number }
  >();
  for (const f of fills) {
    const leg = byOrder.get(f.orderUuid) ?? {
      market: f.market,
      side: f.side === "bid" ? "buy" as const : "sell" as const,
      tsMs: f.tsMs,
      funds: 0,
      volume: 0,
    };
    leg.tsMs = Math.min(leg.tsMs, f.tsMs);
    leg.funds += unitsToNumber(f.funds);
    leg.volume += unitsToNumber(f.volume);
    byOrder.set(f.orderUuid, leg);
  }
  return [...byOrder.values()]
    .map((l) => ({ market: l.market, side: l.side, tsMs: l.tsMs, price: l.funds / l.volume }))
    .sort((a, b) => a.tsMs - b.tsMs);
}
