/**
 * `ExchangeEndpoints`: Upbit's private account and order endpoints (`shared/upbit/API.md` §3) —
 * balances, order look-ups and lists, single-shot order creation, cancels and cancel-and-new —
 * sent through a `RestTransport` as signed calls. Reads retry; writes never do, and a definitive
 * refusal comes back as `OrderRejection` data. The safe placement protocol is place_order.ts.
 */

import { formatUnits, type Units } from "../../core/money.ts";
import { err, ok, type Result } from "../../core/result.ts";
import type { QueryParams, QueryValue } from "./auth.ts";
import { RejectedError, type RejectionReason } from "../../errors.ts";
import type { RestTransport } from "./rest_transport.ts";
import {
  type Account,
  accountsSchema,
  type BatchCancelResult,
  batchCancelSchema,
  type CancelAndNewResult,
  cancelAndNewSchema,
  chanceSchema,
  type Order,
  type OrderChance,
  orderSchema,
  ordersSchema,
  type OrdType,
  type Side,
  type SmpType,
  type TimeInForce,
} from "./schemas.ts";

/** An order to create. Amounts are exact; `identifier` is mandatory (the retry key). */
export interface OrderRequest {
  readonly market: string;
  readonly side: Side;
  readonly ordType: OrdType;
  /** Limit price, or the KRW total for `price` / `best`-bid orders. */
  readonly price?: Units;
  /** Base quantity, for `limit`, `market` and `best`-ask orders. */
  readonly volume?: Units;
  readonly timeInForce?: TimeInForce;
  readonly smpType?: SmpType;
  /** Client order id, `[A-Za-z0-9_-]{1,64}`, unique forever per account. */
  readonly identifier: string;
}

/** Which order a look-up or cancel means. */
export type OrderRef = { readonly uuid: string } | { readonly identifier: string };

/** A definitive "no" from Upbit, as data. */
export type OrderRejection =
  | {
    readonly kind: "rejected";
    readonly reason: RejectionReason;
    readonly code: string | undefined;
    readonly status: number | undefined;
    readonly message: string;
  }
  | {
    /** `duplicated_identifier`, yet no order carries it past the grace: use a new identifier. */
    readonly kind: "identifier_burned";
    readonly identifier: string;
  };

/** Filters of `openOrders`. */
export interface OpenOrdersQuery {
  readonly market?: string;
  readonly states?: readonly ("wait" | "watch")[];
  readonly page?: number;
  /** ≤ 100. */
  readonly limit?: number;
  readonly orderBy?: "asc" | "desc";
}

/** Filters of `closedOrders` (window ≤ 7 days). */
export interface ClosedOrdersQuery {
  readonly market?: string;
  readonly states?: readonly ("done" | "cancel")[];
  readonly startMs?: number;
  readonly endMs?: number;
  /** ≤ 1000. */
  readonly limit?: number;
  readonly orderBy?: "asc" | "desc";
}

/** Filters of `cancelAllOpen` (`DELETE /v1/orders/open`, 1 call / 2 s). */
export interface CancelAllQuery {
  readonly side?: Side;
  readonly pairs?: readonly string[];
  readonly quoteCurrencies?: readonly string[];
  readonly excludedPairs?: readonly string[];
  /** ≤ 300 (default 20). */
  readonly count?: number;
  readonly orderBy?: "asc" | "desc";
}

/** `cancelAndNew` input: the old order and the replacement (same market and side). */
export interface CancelAndNewRequest {
  readonly prev: OrderRef;
  readonly newOrdType: OrdType;
  /** A quantity, or `"remain_only"` for the old order's unfilled quantity. */
  readonly newVolume?: Units | "remain_only";
  readonly newPrice?: Units;
  readonly newTimeInForce?: TimeInForce;
  readonly newSmpType?: SmpType;
  /** Must differ from the old order's identifier. */
  readonly newIdentifier: string;
}

/** Upbit's client order id format. */
const IDENTIFIER = /^[A-Za-z0-9_-]{1,64}$/;

/** The account and order endpoints, over a shared transport. */
export class ExchangeEndpoints {
  readonly #transport: RestTransport;

  /** Sends every call through `transport`. */
  constructor(transport: RestTransport) {
    this.#transport = transport;
  }

  // ---- Reads --------------------------------------------------------------------------------

  /** `GET /v1/accounts`: balances (available and locked), exact. */
  async accounts(options: { readonly signal?: AbortSignal } = {}): Promise<Account[]> {
    return await this.#transport.read(
      { method: "GET", path: "/v1/accounts", auth: true, signal: options.signal },
      accountsSchema,
    );
  }

  /** `GET /v1/orders/chance`: fee rates, min/max totals, allowed types, balances of a pair. */
  async orderChance(
    market: string,
    options: { readonly signal?: AbortSignal } = {},
  ): Promise<OrderChance> {
    return await this.#transport.read({
      method: "GET",
      path: "/v1/orders/chance",
      params: { market },
      auth: true,
      signal: options.signal,
    }, chanceSchema);
  }

  /** `GET /v1/order?uuid=|identifier=` with `trades[]`; undefined when Upbit has no such order. */
  async getOrder(
    ref: OrderRef,
    options: { readonly signal?: AbortSignal } = {},
  ): Promise<Order | undefined> {
    try {
      return await this.#transport.read({
        method: "GET",
        path: "/v1/order",
        params: refParams(ref),
        auth: true,
        signal: options.signal,
      }, orderSchema);
    } catch (error) {
      if (error instanceof RejectedError && error.code === "order_not_found") return undefined;
      throw error;
    }
  }

  /** `GET /v1/orders/uuids`: up to 100 orders by uuid or by identifier. */
  async ordersByIds(
    ids: { readonly uuids: readonly string[] } | { readonly identifiers: readonly string[] },
    options: {
      readonly market?: string;
      readonly orderBy?: "asc" | "desc";
      readonly signal?: AbortSignal;
    } = {},
  ): Promise<Order[]> {
    return await this.#transport.read({
      method: "GET",
      path: "/v1/orders/uuids",
      params: [
        ...idListParams(ids, 100),
        ["market", options.market],
        ["order_by", options.orderBy],
      ],
      auth: true,
      signal: options.signal,
    }, ordersSchema);
  }

  /** `GET /v1/orders/open`: `wait` (default) / `watch` orders. */
  async openOrders(
    query: OpenOrdersQuery = {},
    options: { readonly signal?: AbortSignal } = {},
  ): Promise<Order[]> {
    return await this.#transport.read({
      method: "GET",
      path: "/v1/orders/open",
      params: {
        market: query.market,
        states: query.states,
        page: query.page,
        limit: query.limit,
        order_by: query.orderBy,
      },
      auth: true,
      signal: options.signal,
    }, ordersSchema);
  }

  /** `GET /v1/orders/closed`: `done`/`cancel` orders created in a ≤ 7-day window. */
  async closedOrders(
    query: ClosedOrdersQuery = {},
    options: { readonly signal?: AbortSignal } = {},
  ): Promise<Order[]> {
    return await this.#transport.read({
      method: "GET",
      path: "/v1/orders/closed",
      params: {
        market: query.market,
        states: query.states,
        start_time: query.startMs === undefined ? undefined : isoUtc(query.startMs, "floor"),
        end_time: query.endMs === undefined ? undefined : isoUtc(query.endMs, "ceil"),
        limit: query.limit,
        order_by: query.orderBy,
      },
      auth: true,
      signal: options.signal,
    }, ordersSchema);
  }

  // ---- Writes -------------------------------------------------------------------------------

  /**
   * One `POST /v1/orders`, no retry, no resolution: throws the typed failure as it came
   * (`ConflictError` for `duplicated_identifier`). Use `placeOrder` unless you run the protocol
   * yourself.
   */
  async createOrder(
    request: OrderRequest,
    options: { readonly signal?: AbortSignal } = {},
  ): Promise<Order> {
    return await this.#transport.write({
      method: "POST",
      path: "/v1/orders",
      body: orderBody(request),
      auth: true,
      signal: options.signal,
    }, orderSchema);
  }

  /** `POST /v1/orders/test`: validates an order without creating it. */
  async testOrder(
    request: OrderRequest,
    options: { readonly signal?: AbortSignal } = {},
  ): Promise<Result<Order, OrderRejection>> {
    return await asResult(() =>
      this.#transport.write({
        method: "POST",
        path: "/v1/orders/test",
        body: orderBody(request),
        auth: true,
        signal: options.signal,
      }, orderSchema)
    );
  }

  /** `DELETE /v1/order`: asks Upbit to cancel; the answer is the order as of acceptance. */
  async cancelOrder(
    ref: OrderRef,
    options: { readonly signal?: AbortSignal } = {},
  ): Promise<Result<Order, OrderRejection>> {
    return await asResult(() =>
      this.#transport.write({
        method: "DELETE",
        path: "/v1/order",
        params: refParams(ref),
        auth: true,
        signal: options.signal,
      }, orderSchema)
    );
  }

  /** `DELETE /v1/orders/uuids`: cancels up to 20 orders by uuid or by identifier. */
  async cancelOrders(
    ids: { readonly uuids: readonly string[] } | { readonly identifiers: readonly string[] },
    options: { readonly signal?: AbortSignal } = {},
  ): Promise<BatchCancelResult> {
    return await this.#transport.write({
      method: "DELETE",
      path: "/v1/orders/uuids",
      params: idListParams(ids, 20),
      auth: true,
      signal: options.signal,
    }, batchCancelSchema);
  }

  /** `DELETE /v1/orders/open`: batch-cancels `wait` orders matching the filters. */
  async cancelAllOpen(
    query: CancelAllQuery = {},
    options: { readonly signal?: AbortSignal } = {},
  ): Promise<BatchCancelResult> {
    return await this.#transport.write({
      method: "DELETE",
      path: "/v1/orders/open",
      params: {
        cancel_side: query.side ?? "all",
        pairs: query.pairs?.join(","),
        quote_currencies: query.quoteCurrencies?.join(","),
        excluded_pairs: query.excludedPairs?.join(","),
        count: query.count,
        order_by: query.orderBy,
      },
      auth: true,
      signal: options.signal,
    }, batchCancelSchema);
  }

  /** `POST /v1/orders/cancel_and_new`: cancels one order and places its replacement. */
  async cancelAndNew(
    request: CancelAndNewRequest,
    options: { readonly signal?: AbortSignal } = {},
  ): Promise<Result<CancelAndNewResult, OrderRejection>> {
    checkIdentifier(request.newIdentifier);
    const prev = request.prev;
    const body: Record<string, QueryValue> = {
      prev_order_uuid: "uuid" in prev ? prev.uuid : undefined,
      prev_order_identifier: "identifier" in prev ? prev.identifier : undefined,
      new_ord_type: request.newOrdType,
      new_volume: request.newVolume === undefined
        ? undefined
        : request.newVolume === "remain_only"
        ? "remain_only"
        : formatUnits(request.newVolume),
      new_price: request.newPrice === undefined ? undefined : formatUnits(request.newPrice),
      new_time_in_force: request.newTimeInForce,
      new_smp_type: request.newSmpType,
      new_identifier: request.newIdentifier,
    };
    return await asResult(() =>
      this.#transport.write({
        method: "POST",
        path: "/v1/orders/cancel_and_new",
        body,
        auth: true,
        signal: options.signal,
      }, cancelAndNewSchema)
    );
  }
}

/** `yyyy-MM-ddTHH:mm:ss+00:00` on a whole second. */
function isoUtc(ms: number, rounding: "floor" | "ceil"): string {
  const s = rounding === "floor" ? Math.floor(ms / 1000) : Math.ceil(ms / 1000);
  return `${new Date(s * 1000).toISOString().slice(0, 19)}+00:00`;
}

/** The query naming one order: by `uuid` or by `identifier`. */
export function refParams(ref: OrderRef): QueryParams {
  return "uuid" in ref ? { uuid: ref.uuid } : { identifier: ref.identifier };
}

/** The `uuids[]` / `identifiers[]` query of a batch call (1..`max` ids). */
function idListParams(
  ids: { readonly uuids: readonly string[] } | { readonly identifiers: readonly string[] },
  max: number,
): Array<readonly [string, QueryValue]> {
  const [key, list] = "uuids" in ids
    ? ["uuids[]", ids.uuids] as const
    : ["identifiers[]", ids.identifiers] as const;
  if (list.length < 1 || list.length > max) {
    throw new RangeError(
      `Cannot build id list: 1..${max} ids needed: current value is ${list.length}`,
    );
  }
  return [[key, list]];
}

/** Throws a `RangeError` unless `identifier` is a valid Upbit client order id. */
function checkIdentifier(identifier: string): void {
  if (!IDENTIFIER.test(identifier)) {
    throw new RangeError(
      `Cannot send order: identifier must match [A-Za-z0-9_-]{1,64}: current value is ${
        JSON.stringify(identifier)
      }`,
    );
  }
}

/** The JSON body of `POST /v1/orders`, in the key order Upbit's samples use. */
export function orderBody(request: OrderRequest): Record<string, QueryValue> {
  checkIdentifier(request.identifier);
  return {
    market: request.market,
    side: request.side,
    volume: request.volume === undefined ? undefined : formatUnits(request.volume),
    price: request.price === undefined ? undefined : formatUnits(request.price),
    ord_type: request.ordType,
    time_in_force: request.timeInForce,
    smp_type: request.smpType,
    identifier: request.identifier,
  };
}

/** A definitive refusal as `OrderRejection` data. */
export function rejectionOf(error: RejectedError): OrderRejection {
  return {
    kind: "rejected",
    reason: error.reason,
    code: error.code,
    status: error.status,
    message: error.message,
  };
}

/** Runs a write, turning a definitive refusal into data; other failures are thrown. */
async function asResult<T>(run: () => Promise<T>): Promise<Result<T, OrderRejection>> {
  try {
    return ok(await run());
  } catch (error) {
    if (error instanceof RejectedError) return err(rejectionOf(error));
    throw error;
  }
}
