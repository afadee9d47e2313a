/**
 * A WebSocket frame's text to the trader's market events the way the live stream makes them
 * (decode, the market's candle track for `candle.1m`, `toMarketEvent`): the benches time this path.
 */

import { toMarketEvent } from "../engine/adapters/upbit/market_events.ts";
import { acceptLiveCandle, type CandleTrack } from "../engine/adapters/upbit/ws_candles.ts";
import { decodeFrame, toCandle } from "../engine/adapters/upbit/ws_messages.ts";
import type { MarketEvent } from "../engine/ports.ts";

/** The events of one frame (final candles, a trade's price); throws on a frame the decoder rejects. */
export function frameEvents(
  text: string,
  trackOf: (code: string) => CandleTrack,
): MarketEvent[] {
  const decoded = decodeFrame(text);
  if (!decoded.ok) throw new Error(`bench frame rejected: ${JSON.stringify(decoded)}`);
  const message = decoded.value;
  const events: MarketEvent[] = [];
  if (message.kind === "candle") {
    const m = message.message;
    for (const fin of acceptLiveCandle(trackOf(m.code), toCandle(m))) {
      const e = toMarketEvent({ kind: "candle", ...fin });
      if (e !== undefined) events.push(e);
    }
  } else if (message.kind === "trade") {
    const e = toMarketEvent({ kind: "trade", trade: message.message });
    if (e !== undefined) events.push(e);
  }
  return events;
}
