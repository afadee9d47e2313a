/**
 * Turns the Upbit market stream's events (`createMarketStream`) into the engine's `MarketEvent`:
 * final 1-minute candles pass through, trades and tickers become one-price updates, and the link's
 * ups and downs become connection events. Order books and back-fill notes are not needed by the
 * trading loop and are dropped.
 */

import type { MarketEvent } from "../../ports.ts";
import type { MarketEvent as StreamEvent } from "./ws_client.ts";

/** The engine event for one stream event (undefined for those the loop does not use). */
export function toMarketEvent(event: StreamEvent): MarketEvent | undefined {
  switch (event.kind) {
    case "candle":
      return { kind: "candle", market: event.market, candle: event.candle };
    case "trade":
      return {
        kind: "price",
        market: event.trade.code,
        price: event.trade.trade_price,
        atMs: event.trade.trade_timestamp,
        source: "trade",
      };
    case "ticker": {
      const state = event.ticker.market_state;
      return {
        kind: "price",
        market: event.ticker.code,
        price: event.ticker.trade_price,
        atMs: event.ticker.trade_timestamp,
        source: "ticker",
        // Only an explicit ACTIVE clears a warning; a ticker without the field says nothing.
        warning: state === undefined ? undefined : state === "ACTIVE" ? null : `market ${state}`,
      };
    }
    case "connected":
      return {
        kind: "connection",
        connected: true,
        reason: event.reconnect ? "reconnected" : "connected",
      };
    case "disconnected":
      return { kind: "connection", connected: false, reason: `disconnected: ${event.cause}` };
    case "orderbook":
    case "reconnecting":
    case "backfilled":
      return undefined;
  }
}

/** The engine's market events from a stream's events (e.g. `createMarketStream(…).events()`). */
export async function* marketEvents(
  stream: AsyncIterable<StreamEvent>,
): AsyncGenerator<MarketEvent> {
  for await (const event of stream) {
    const mapped = toMarketEvent(event);
    if (mapped !== undefined) yield mapped;
  }
}
