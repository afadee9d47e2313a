/**
 * Upbit's private stream (API.md §7.1, §7.3): one socket to `/websocket/v1/private` carrying
 * both `myOrder` and `myAsset`, with a freshly signed JWT in the upgrade's `Authorization` header
 * on every attempt (Deno's `new WebSocket(url, { headers })`). Amounts arrive as exact decimal
 * strings. The stream is legitimately silent for hours, so liveness rests on `PING` → `UP`.
 *
 * Events missed while the link was down are not replayed by Upbit: after every reconnect the
 * `onPrivateReconnect` hook runs so the order manager can re-read open orders over REST.
 */

import {
  type CloseCause,
  type ReconnectPlan,
  startWsConnection,
  type WsConnectionOptions,
  type WsStatus,
} from "./ws_connection.ts";
import { createEventQueue } from "./ws_events.ts";
import type { Malformed, MyAssetMessage, MyOrderMessage, WsMessage } from "./ws_messages.ts";

/** The full `Authorization` header value, e.g. `Bearer eyJ…`, signed anew per call. */
export type AuthHeader = () => Promise<string>;

/** What the private stream emits. */
export type PrivateEvent =
  | { readonly kind: "myOrder"; readonly order: MyOrderMessage }
  | { readonly kind: "myAsset"; readonly asset: MyAssetMessage }
  | { readonly kind: "connected"; readonly reconnect: boolean }
  | { readonly kind: "disconnected"; readonly cause: CloseCause }
  | { readonly kind: "reconnecting"; readonly plan: ReconnectPlan };

/** Options of `createPrivateStream`. */
export interface PrivateStreamOptions extends WsConnectionOptions {
  /** Builds the upgrade's `Authorization` header (payload `access_key` + `nonce` only). */
  readonly authHeader: AuthHeader;
  /** `myOrder` codes (default all markets). */
  readonly markets?: readonly string[];
  /** Runs after every reconnect (not the first open); errors are logged, never thrown. */
  readonly onPrivateReconnect?: (info: { readonly reconnects: number }) => void | Promise<void>;
}

/** A running private stream. */
export interface PrivateStream {
  /** The events, for one reader. */
  events(): AsyncIterableIterator<PrivateEvent>;
  /** Counters for the status page. */
  status(): WsStatus;
  /** Stops the stream and ends `events()`. */
  close(): Promise<void>;
}

/** The one private request: `myOrder` (codes optional) and `myAsset` (never codes). */
export function privateRequest(ticket: string, markets?: readonly string[]): string {
  const myOrder: Record<string, unknown> = { type: "myOrder" };
  if (markets !== undefined && markets.length > 0) myOrder.codes = [...markets];
  return JSON.stringify([{ ticket }, myOrder, { type: "myAsset" }, { format: "DEFAULT" }]);
}

/** Starts the private stream (connects immediately). */
export function createPrivateStream(options: PrivateStreamOptions): PrivateStream {
  const queue = createEventQueue<PrivateEvent>();
  const markets = options.markets === undefined || options.markets.length === 0
    ? undefined
    : new Set(options.markets);
  let reconnects = 0;

  function onMessage(message: WsMessage): Malformed | undefined {
    switch (message.kind) {
      case "status":
      case "subscriptions":
        return undefined;
      case "myOrder":
        if (markets !== undefined && !markets.has(message.message.code)) {
          return { reason: "unexpected_code", type: "myOrder", detail: message.message.code };
        }
        queue.push({ kind: "myOrder", order: message.message });
        return undefined;
      case "myAsset":
        queue.push({ kind: "myAsset", asset: message.message });
        return undefined;
      default:
        return { reason: "unexpected_type", type: message.kind, detail: "not subscribed" };
    }
  }

  const connection = startWsConnection(options, {
    request: () => privateRequest(crypto.randomUUID(), options.markets),
    async headers() {
      return { Authorization: await options.authHeader() };
    },
    onOpen({ reconnect }) {
      queue.push({ kind: "connected", reconnect });
      if (!reconnect || options.onPrivateReconnect === undefined) return;
      reconnects++;
      const hook = options.onPrivateReconnect;
      Promise.resolve()
        .then(() => hook({ reconnects }))
        .catch((err) =>
          options.logger?.warn("onPrivateReconnect failed", {
            error: err instanceof Error ? err.message : String(err),
          })
        );
    },
    onClose(cause) {
      queue.push({ kind: "disconnected", cause });
    },
    onReconnecting(plan) {
      queue.push({ kind: "reconnecting", plan });
    },
    onMessage,
  });

  return {
    events: () => queue.iterate(),
    status: () => connection.status(),
    async close() {
      await connection.close();
      queue.end();
    },
  };
}
