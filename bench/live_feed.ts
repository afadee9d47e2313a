/**
 * What the latency benches feed the trader: a WebSocket frame's text to its market events the way
 * the live stream makes them (decode, the market's candle track for `candle.1m`, `toMarketEvent`:
 * the benches time this path), a flat candle's frame, the clock the driver sets, and a strategy
 * that always buys.
 */

import { toMarketEvent } from "../engine/adapters/upbit/market_events.ts";
import { acceptLiveCandle, type CandleTrack } from "../engine/adapters/upbit/ws_candles.ts";
import { decodeFrame, toCandle } from "../engine/adapters/upbit/ws_messages.ts";
import { unitsFromNumber } from "../engine/core/money.ts";
import type { Strategy } from "../engine/core/strategies/strategy.ts";
import type { Clock, MarketEvent } from "../engine/ports.ts";
import type { UnitCandle } from "../engine/sandbox/paths.ts";
import { wsCandle } from "../engine/sandbox/upbit_format.ts";

/** Wants to be long on every close (so every flat close is an entry). */
export const ALWAYS_BUY: Strategy = {
  name: "always",
  warmup: 1,
  update: () => ({ action: "buy", reason: "bench entry" }),
};

/** A clock set by the driver; sleeps with a signal end on abort, others pass time at once. */
export function feedClock(time: { now: number }): Clock {
  return {
    nowMs: () => time.now,
    sleep: (ms, signal) =>
      new Promise((resolve) => {
        if (signal === undefined) {
          time.now += ms;
          return resolve();
        }
        if (signal.aborted) return resolve();
        signal.addEventListener("abort", () => resolve(), { once: true });
      }),
  };
}

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

/** The `candle.1m` frame of `market`'s minute at `startMs`, flat at `price` (volume 1). */
export function flatCandleFrame(market: string, startMs: number, price: number): string {
  const p = unitsFromNumber(price);
  const c: UnitCandle = {
    startMs,
    open: p,
    high: p,
    low: p,
    close: p,
    volume: unitsFromNumber(1),
    value: p,
    lastTradeMs: startMs + 1_000,
  };
  return JSON.stringify(wsCandle(market, c, { type: "candle.1m", stream: "REALTIME" }));
}
