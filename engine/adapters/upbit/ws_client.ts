/**
 * Upbit's public market stream (API.md §7): one WebSocket carrying every market and type the
 * bot needs (`ticker`, `trade`, `orderbook`, `candle.1m`), subscribed in one request message and
 * resubscribed in one after every reconnect. 1-minute candles come out FINAL, in order, with no
 * gap and no duplicate: on start and after every reconnect the missed minutes are back-filled
 * from REST through the injected `MinuteHistory` (see `ws_candles.ts`).
 *
 * Events come out of one async iterator (`events()`); `status()` feeds the status page.
 */

import type { Candle } from "../../core/candle.ts";
import {
  acceptLiveCandle,
  backfillRange,
  beginCandleSync,
  type CandleOrigin,
  type CandleTrack,
  completeCandleSync,
  createCandleTrack,
  isSyncing,
} from "./ws_candles.ts";
import {
  type CloseCause,
  type ReconnectPlan,
  startWsConnection,
  type WsConnectionOptions,
  type WsStatus,
} from "./ws_connection.ts";
import { createEventQueue } from "./ws_events.ts";
import {
  type Malformed,
  type OrderbookMessage,
  type TickerMessage,
  toCandle,
  type TradeMessage,
  type WsMessage,
} from "./ws_messages.ts";

/** 1-minute candles of `market` starting in [fromMs, toMs), any order (REST back-fill). */
export type MinuteHistory = (
  market: string,
  range: { readonly fromMs: number; readonly toMs: number },
) => Promise<Candle[]>;

/** Public stream types this client subscribes to. */
export type MarketDataType = "ticker" | "trade" | "orderbook" | "candle.1m";

/** Every public type, the default subscription. */
export const MARKET_DATA_TYPES: readonly MarketDataType[] = [
  "ticker",
  "trade",
  "orderbook",
  "candle.1m",
];

/** What the market stream emits. */
export type MarketEvent =
  | {
    readonly kind: "candle";
    readonly market: string;
    readonly candle: Candle;
    readonly origin: CandleOrigin;
  }
  | { readonly kind: "ticker"; readonly ticker: TickerMessage }
  | { readonly kind: "trade"; readonly trade: TradeMessage }
  | { readonly kind: "orderbook"; readonly book: OrderbookMessage }
  | { readonly kind: "connected"; readonly reconnect: boolean }
  | { readonly kind: "disconnected"; readonly cause: CloseCause }
  | { readonly kind: "reconnecting"; readonly plan: ReconnectPlan }
  | {
    readonly kind: "backfilled";
    readonly market: string;
    readonly fromMs: number;
    readonly toMs: number;
    readonly candles: number;
  };

/** Options of `createMarketStream`. */
export interface MarketStreamOptions extends WsConnectionOptions {
  /** Upper-case codes, e.g. `["KRW-BTC", "KRW-ETH"]`. */
  readonly markets: readonly string[];
  /** Types to subscribe (default all four). */
  readonly types?: readonly MarketDataType[];
  /** Orderbook depth suffix (`.1`, `.5`, `.15`, `.30`); default 15. */
  readonly orderbookDepth?: 1 | 5 | 15 | 30;
  /** `DEFAULT` or `SIMPLE` keys on the wire (both decode the same). Default `DEFAULT`. */
  readonly format?: "DEFAULT" | "SIMPLE";
  /** REST 1-minute history for warm-up and gap back-fill. */
  readonly history: MinuteHistory;
  /** Minutes of history loaded on start. Default 200. */
  readonly warmupMinutes?: number;
  /** Exchange time (ms) used to size back-fill ranges. Default `Date.now`. */
  readonly marketNowMs?: () => number;
  /** Back-fill waits for the first frame after subscribing, at most this long (ms). Default 2 000. */
  readonly subscribeSettleMs?: number;
}

/** Status of the market stream. */
export interface MarketStreamStatus extends WsStatus {
  /** Markets waiting for back-fill. */
  readonly syncing: number;
  /** Final candles emitted. */
  readonly finalCandles: number;
  /** Back-fill calls that failed (each is retried). */
  readonly backfillFailures: number;
  /** Events queued and not yet read. */
  readonly queued: number;
}

/** A running market stream. */
export interface MarketStream {
  /** The events, for one reader. */
  events(): AsyncIterableIterator<MarketEvent>;
  /** Counters for the status page. */
  status(): MarketStreamStatus;
  /** Stops the stream and ends `events()`. */
  close(): Promise<void>;
}

/** The one request message: every type and code, then the format (API.md §7.2). */
export function marketRequest(
  ticket: string,
  options: {
    markets: readonly string[];
    types: readonly MarketDataType[];
    orderbookDepth: number;
    format: "DEFAULT" | "SIMPLE";
  },
): string {
  const items: Record<string, unknown>[] = [{ ticket }];
  for (const type of options.types) {
    const codes = type === "orderbook"
      ? options.markets.map((m) => `${m}.${options.orderbookDepth}`)
      : [...options.markets];
    items.push({ type, codes });
  }
  items.push({ format: options.format });
  return JSON.stringify(items);
}

/** Starts the public market stream (connects immediately). */
export function createMarketStream(options: MarketStreamOptions): MarketStream {
  const types = options.types ?? MARKET_DATA_TYPES;
  const markets = new Set(options.markets);
  const wantsCandles = types.includes("candle.1m");
  const warmupMinutes = options.warmupMinutes ?? 200;
  const marketNowMs = options.marketNowMs ?? Date.now;
  const settleMs = options.subscribeSettleMs ?? 2_000;
  const sleep = options.sleep ??
    ((ms: number, signal: AbortSignal) =>
      new Promise<void>((resolve) => {
        const t = setTimeout(resolve, ms);
        signal.addEventListener("abort", () => {
          clearTimeout(t);
          resolve();
        });
      }));
  const queue = createEventQueue<MarketEvent>();
  const tracks = new Map<string, CandleTrack>();
  for (const m of options.markets) tracks.set(m, createCandleTrack(m));
  const stop = new AbortController();
  const wanted = new Set<string>(types);
  let generation = 0;
  let settled: (() => void) | undefined;
  let finalCandles = 0;
  let backfillFailures = 0;

  function emitFinals(finals: ReturnType<typeof acceptLiveCandle>): void {
    for (const f of finals) {
      finalCandles++;
      queue.push({ kind: "candle", market: f.market, candle: f.candle, origin: f.origin });
    }
  }

  /** Back-fills every syncing market for the socket of generation `gen`. */
  async function backfill(gen: number): Promise<void> {
    // Wait until the subscription is live (first frame after the request) so that REST and the
    // stream overlap: any trade is then in the REST answer, the stream, or both.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, settleMs);
      function done(): void {
        clearTimeout(timer);
        settled = undefined;
        resolve();
      }
      settled = done;
    });
    for (const track of tracks.values()) {
      let failures = 0;
      while (gen === generation && isSyncing(track) && !stop.signal.aborted) {
        const range = backfillRange(track, { nowMs: marketNowMs(), warmupMinutes });
        try {
          const history = await options.history(track.market, range);
          if (gen !== generation) return;
          emitFinals(completeCandleSync(track, history));
          queue.push({
            kind: "backfilled",
            market: track.market,
            ...range,
            candles: history.length,
          });
        } catch (err) {
          backfillFailures++;
          failures++;
          options.logger?.warn("Upbit candle back-fill failed; retrying", {
            market: track.market,
            error: err instanceof Error ? err.message : String(err),
          });
          await sleep(Math.min(30_000, 500 * 2 ** Math.min(failures, 6)), stop.signal);
        }
      }
    }
  }

  function onMessage(message: WsMessage): Malformed | undefined {
    settled?.();
    if (message.kind === "status" || message.kind === "subscriptions") return undefined;
    if (
      message.kind !== "ticker" && message.kind !== "trade" && message.kind !== "orderbook" &&
      message.kind !== "candle"
    ) {
      return { reason: "unexpected_type", type: message.kind, detail: "not subscribed" };
    }
    const m = message.message;
    const type = message.kind === "candle" ? "candle.1m" : message.kind;
    if (!wanted.has(type)) {
      return { reason: "unexpected_type", type, detail: "not subscribed" };
    }
    if (!markets.has(m.code)) {
      return { reason: "unexpected_code", type, detail: m.code.slice(0, 20) };
    }
    switch (message.kind) {
      case "candle": {
        const track = tracks.get(m.code) as CandleTrack;
        emitFinals(acceptLiveCandle(track, toCandle(message.message)));
        break;
      }
      case "ticker":
        queue.push({ kind: "ticker", ticker: message.message });
        break;
      case "trade":
        queue.push({ kind: "trade", trade: message.message });
        break;
      case "orderbook":
        queue.push({ kind: "orderbook", book: message.message });
        break;
    }
    return undefined;
  }

  const connection = startWsConnection(options, {
    request: () =>
      marketRequest(crypto.randomUUID(), {
        markets: options.markets,
        types,
        orderbookDepth: options.orderbookDepth ?? 15,
        format: options.format ?? "DEFAULT",
      }),
    onOpen({ reconnect }) {
      generation++;
      queue.push({ kind: "connected", reconnect });
      if (wantsCandles) void backfill(generation);
    },
    onClose(cause) {
      generation++;
      settled?.();
      for (const track of tracks.values()) beginCandleSync(track);
      queue.push({ kind: "disconnected", cause });
    },
    onReconnecting(plan) {
      queue.push({ kind: "reconnecting", plan });
    },
    onMessage,
  });

  return {
    events: () => queue.iterate(),
    status() {
      let syncing = 0;
      for (const t of tracks.values()) if (isSyncing(t)) syncing++;
      return {
        ...connection.status(),
        syncing: wantsCandles ? syncing : 0,
        finalCandles,
        backfillFailures,
        queued: queue.size(),
      };
    },
    async close() {
      stop.abort();
      generation++;
      settled?.();
      await connection.close();
      queue.end();
    },
  };
}
