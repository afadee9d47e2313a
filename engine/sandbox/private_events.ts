/**
 * Private-stream events (`myOrder`, `myAsset`, API.md §7.3) raised by the sandbox exchange for
 * the WebSocket server to forward. Events carry exact `Units`; `privateEventJson` writes them as
 * JSON numbers whose digits are the exact decimal (no float ever touches them).
 */

import { simpleKey } from "./upbit_format.ts";
import { divUnits, formatUnits, type Units } from "../core/money.ts";
import type { SandboxOrder, SandboxTrade } from "./orders.ts";

/** `myOrder` states (a superset of REST states: `trade` = a fill happened). */
export type MyOrderState = "wait" | "trade" | "done" | "cancel";

/** An own order changed or filled. `order` is a snapshot taken right after the change. */
export interface MyOrderEvent {
  readonly type: "myOrder";
  readonly accountId: string;
  readonly state: MyOrderState;
  readonly order: SandboxOrder;
  /** The fill, when `state` is `trade`. */
  readonly trade?: SandboxTrade;
  readonly tsMs: number;
}

/** One balance line of a `myAsset` event. */
export interface AssetLine {
  readonly currency: string;
  readonly balance: Units;
  readonly locked: Units;
}

/** Balances of an account changed (only the changed currencies are listed). */
export interface MyAssetEvent {
  readonly type: "myAsset";
  readonly accountId: string;
  readonly assetUuid: string;
  readonly assets: readonly AssetLine[];
  readonly tsMs: number;
}

/** What `onPrivateEvent` listeners receive. */
export type PrivateEvent = MyOrderEvent | MyAssetEvent;

/** Upbit's WebSocket formats that change key names (the `_LIST` variants only wrap in arrays). */
export type WsFormat = "DEFAULT" | "SIMPLE";

type Field = string | number | boolean | null | { readonly units: Units };

/** The event as Upbit's WebSocket sends it (JSON text, money as exact JSON numbers). */
export function privateEventJson(event: PrivateEvent, format: WsFormat = "DEFAULT"): string {
  const key = (name: string) =>
    JSON.stringify(format === "SIMPLE" ? simpleKey(event.type, name) : name);
  const object = (fields: ReadonlyArray<readonly [string, Field | string[]]>) =>
    "{" + fields.map(([k, v]) => `${key(k)}:${Array.isArray(v) ? `[${v.join(",")}]` : value(v)}`)
      .join(",") +
    "}";
  if (event.type === "myAsset") {
    const assets = event.assets.map((a) =>
      object([["currency", a.currency], ["balance", { units: a.balance }], ["locked", {
        units: a.locked,
      }]])
    );
    return object([
      ["type", "myAsset"],
      ["asset_uuid", event.assetUuid],
      ["assets", assets],
      ["asset_timestamp", event.tsMs],
      ["timestamp", event.tsMs],
      ["stream_type", "REALTIME"],
    ]);
  }
  const { order, trade } = event;
  const units = (u: Units | undefined): Field => u === undefined ? null : { units: u };
  const avg = order.executedVolume === 0n
    ? 0n
    : divUnits(order.executedFunds, order.executedVolume, "half_up");
  return object([
    ["type", "myOrder"],
    ["code", order.market],
    ["uuid", order.uuid],
    ["ask_bid", order.side === "bid" ? "BID" : "ASK"],
    ["order_type", order.ordType],
    ["state", event.state],
    ["trade_uuid", trade?.uuid ?? null],
    ["price", units(trade?.price ?? order.price)],
    ["avg_price", { units: avg }],
    ["volume", units(trade?.volume ?? order.volume)],
    ["remaining_volume", units(order.remainingVolume)],
    ["executed_volume", { units: order.executedVolume }],
    ["trades_count", order.trades.length],
    ["reserved_fee", { units: order.reservedFee }],
    ["remaining_fee", { units: order.remainingFee }],
    ["paid_fee", { units: order.paidFee }],
    ["locked", { units: order.locked }],
    ["executed_funds", { units: order.executedFunds }],
    ["time_in_force", order.timeInForce ?? null],
    ["trade_fee", trade === undefined ? null : { units: trade.fee }],
    ["is_maker", trade === undefined ? null : trade.isMaker],
    ["identifier", order.identifier ?? null],
    ["smp_type", order.smpType ?? null],
    ["prevented_volume", { units: 0n }],
    ["prevented_locked", { units: 0n }],
    ["trade_timestamp", trade?.tsMs ?? null],
    ["order_timestamp", order.createdAtMs],
    ["timestamp", event.tsMs],
    ["stream_type", "REALTIME"],
  ]);
}

function value(v: Field): string {
  if (v !== null && typeof v === "object") return formatUnits(v.units);
  return JSON.stringify(v);
}
