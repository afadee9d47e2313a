/**
 * The sandbox's order records and their wire form: the order object of `docs/upbit-api.md`
 * §3.4 (decimals as strings, `created_at` in KST with `+09:00`, `trades[].created_at` with
 * microseconds) built from exact `Units`.
 */

import { formatUnits, type Units } from "../core/money.ts";

/** `bid` buys, `ask` sells. */
export type OrderSide = "bid" | "ask";
/** Upbit's order types (API.md §3.3). */
export type OrdType = "limit" | "price" | "market" | "best";
/** REST order states (`watch` exists on Upbit for UI stop orders; the sandbox never makes one). */
export type OrderState = "wait" | "watch" | "done" | "cancel";
/** Upbit's `time_in_force` values. */
export type TimeInForce = "ioc" | "fok" | "post_only";
/** Upbit's self-match prevention modes. */
export type SmpType = "cancel_maker" | "cancel_taker" | "reduce";

/** Where a fill's liquidity came from: a replayed trade or a level of the replayed book. */
export type FillSource =
  | { readonly kind: "trade"; readonly sequentialId: number; readonly price: Units }
  | { readonly kind: "book"; readonly bookTsMs: number; readonly price: Units };

/** One fill of a sandbox order. */
export interface SandboxTrade {
  readonly uuid: string;
  readonly market: string;
  readonly side: OrderSide;
  readonly price: Units;
  readonly volume: Units;
  /** price × volume, in the quote currency. */
  readonly funds: Units;
  /** Fee charged in the quote currency. */
  readonly fee: Units;
  /** `up` when the buyer took liquidity, `down` when the seller did. */
  readonly trend: "up" | "down";
  readonly isMaker: boolean;
  readonly tsMs: number;
  readonly source: FillSource;
}

/** A sandbox order (mutated only by the matching engine). */
export interface SandboxOrder {
  readonly uuid: string;
  readonly accountId: string;
  /** Creation sequence, for stable ordering of orders created in the same ms. */
  readonly seq: number;
  readonly market: string;
  readonly side: OrderSide;
  readonly ordType: OrdType;
  /** Limit price, or the KRW total of `price` and `best`-bid orders. */
  readonly price: Units | undefined;
  /** Requested quantity (undefined for `price` and `best`-bid orders). */
  readonly volume: Units | undefined;
  remainingVolume: Units | undefined;
  state: OrderState;
  readonly createdAtMs: number;
  readonly reservedFee: Units;
  remainingFee: Units;
  paidFee: Units;
  locked: Units;
  executedVolume: Units;
  executedFunds: Units;
  readonly trades: SandboxTrade[];
  readonly identifier: string | undefined;
  readonly timeInForce: TimeInForce | undefined;
  readonly smpType: SmpType | undefined;
}

const KST_OFFSET_MS = 9 * 3_600_000;

/** `yyyy-MM-ddTHH:mm:ss+09:00`, or with `.SSSSSS` microseconds when `micros` is set. */
export function kstTime(tsMs: number, options: { readonly micros?: boolean } = {}): string {
  const iso = new Date(tsMs + KST_OFFSET_MS).toISOString();
  const seconds = iso.slice(0, 19);
  return options.micros ? `${seconds}.${iso.slice(20, 23)}000+09:00` : `${seconds}+09:00`;
}

/** A deep copy of an order (the state a response reports as of one moment). */
export function cloneOrder(order: SandboxOrder): SandboxOrder {
  return { ...order, trades: [...order.trades] };
}

/** The order object of API.md §3.4; `trades[]` only when `withTrades` (`GET /v1/order`). */
export function orderJson(
  order: SandboxOrder,
  options: { readonly withTrades?: boolean } = {},
): Record<string, unknown> {
  const byFunds = order.ordType === "price" || (order.ordType === "best" && order.side === "bid");
  const json: Record<string, unknown> = {
    uuid: order.uuid,
    side: order.side,
    ord_type: order.ordType,
  };
  if (order.price !== undefined) json.price = formatUnits(order.price);
  json.state = order.state;
  json.market = order.market;
  json.created_at = kstTime(order.createdAtMs);
  if (!byFunds && order.volume !== undefined) {
    json.volume = formatUnits(order.volume);
    json.remaining_volume = formatUnits(order.remainingVolume ?? 0n);
  }
  json.executed_volume = formatUnits(order.executedVolume);
  json.executed_funds = formatUnits(order.executedFunds);
  json.reserved_fee = formatUnits(order.reservedFee);
  json.remaining_fee = formatUnits(order.remainingFee);
  json.paid_fee = formatUnits(order.paidFee);
  json.locked = formatUnits(order.locked);
  if (!byFunds) json.prevented_volume = "0";
  json.prevented_locked = "0";
  json.trades_count = order.trades.length;
  if (order.timeInForce !== undefined) json.time_in_force = order.timeInForce;
  if (order.smpType !== undefined) json.smp_type = order.smpType;
  if (order.identifier !== undefined) json.identifier = order.identifier;
  if (options.withTrades) json.trades = order.trades.map(tradeJson);
  return json;
}

function tradeJson(trade: SandboxTrade): Record<string, unknown> {
  return {
    market: trade.market,
    uuid: trade.uuid,
    price: formatUnits(trade.price),
    volume: formatUnits(trade.volume),
    funds: formatUnits(trade.funds),
    trend: trade.trend,
    created_at: kstTime(trade.tsMs, { micros: true }),
    side: trade.side,
  };
}
