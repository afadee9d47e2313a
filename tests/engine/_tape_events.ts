/**
 * A replay tape turned into the market events the live stream would make of it (the parity
 * tests feed the trader this way): at each trade, the minute's visible candle through the
 * market's candle track, then the trade's WebSocket frame, decoded.
 */

import { toMarketEvent } from "../../engine/adapters/upbit/market_events.ts";
import { acceptLiveCandle, type CandleTrack } from "../../engine/adapters/upbit/ws_candles.ts";
import { decodeFrame } from "../../engine/adapters/upbit/ws_messages.ts";
import type { MarketEvent } from "../../engine/ports.ts";
import type { TapeTrade } from "../../engine/sandbox/paths.ts";
import type { Replay } from "../../engine/sandbox/replay.ts";
import { floatCandle, wsTrade } from "../../engine/sandbox/upbit_format.ts";

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
