/**
 * `HttpExchange`: the live `Exchange` and `Account` over `UpbitRestClient`, a thin mapping.
 *
 * It sends each POST once (`createOrder`): the order manager runs the retry protocol itself
 * (intent in KV, `UNKNOWN` before each POST, resolution by identifier), so the client's own
 * `placeOrder` loop is not used here. Typed failures pass through unchanged: `TemporaryError`
 * (outcome unknown), `RateLimitedError`, `AuthError`, `ConfigError`.
 */

import { err, ok, type Result } from "../core/result.ts";
import type {
  Account,
  Balance,
  Exchange,
  ExchangeOrder,
  OrderRef,
  OrderRejection,
  OrderRequest,
} from "../ports.ts";
import { ConflictError, RejectedError, type UpbitRestClient } from "./upbit/rest_client.ts";
import type { Order } from "./upbit/schemas.ts";

/** Orders per page of `GET /v1/orders/open` (Upbit's maximum). */
const OPEN_PAGE = 100;

/** The venue over Upbit's REST API (or the sandbox's). */
export class HttpExchange implements Exchange, Account {
  readonly #client: UpbitRestClient;

  /** Wraps a client that has keys. */
  constructor(client: UpbitRestClient) {
    this.#client = client;
  }

  /** One POST; a refusal (including `duplicated_identifier`) is data. */
  async placeOrder(request: OrderRequest): Promise<Result<ExchangeOrder, OrderRejection>> {
    try {
      return ok(toExchangeOrder(await this.#client.createOrder(request)));
    } catch (error) {
      if (error instanceof ConflictError || error instanceof RejectedError) {
        return err({ name: error.code ?? error.name, message: error.message });
      }
      throw error;
    }
  }

  /** `GET /v1/order` with trades; undefined on 404. */
  async getOrder(ref: OrderRef): Promise<ExchangeOrder | undefined> {
    const order = await this.#client.getOrder(ref);
    return order === undefined ? undefined : toExchangeOrder(order);
  }

  /** `DELETE /v1/order`. */
  async cancelOrder(ref: OrderRef): Promise<Result<ExchangeOrder, OrderRejection>> {
    const res = await this.#client.cancelOrder(ref);
    if (res.ok) return ok(toExchangeOrder(res.value));
    const r = res.error;
    return err(
      r.kind === "rejected"
        ? { name: r.code ?? r.reason, message: r.message }
        : { name: "identifier_burned", message: r.identifier },
    );
  }

  /** Every `wait` and `watch` order, page by page. */
  async openOrders(market?: string): Promise<readonly ExchangeOrder[]> {
    const out: ExchangeOrder[] = [];
    for (let page = 1;; page++) {
      const orders = await this.#client.openOrders({
        ...(market === undefined ? {} : { market }),
        states: ["wait", "watch"],
        page,
        limit: OPEN_PAGE,
      });
      out.push(...orders.map(toExchangeOrder));
      if (orders.length < OPEN_PAGE) return out;
    }
  }

  /** `GET /v1/accounts`. */
  async balances(): Promise<readonly Balance[]> {
    const accounts = await this.#client.accounts();
    return accounts.map((a) => ({ currency: a.currency, balance: a.balance, locked: a.locked }));
  }
}

/** Maps the client's order to the port's (only `best` orders are out of what we send). */
export function toExchangeOrder(o: Order): ExchangeOrder {
  return {
    uuid: o.uuid,
    identifier: o.identifier,
    market: o.market,
    side: o.side,
    ordType: o.ordType,
    state: o.state,
    price: o.price,
    volume: o.volume,
    executedVolume: o.executedVolume,
    paidFee: o.paidFee,
    createdAtMs: o.createdAtMs,
    trades: o.trades?.map((t) => ({
      uuid: t.uuid,
      price: t.price,
      volume: t.volume,
      funds: t.funds,
      createdAtMs: t.createdAtMs,
    })),
  };
}
