/**
 * The sandbox exchange: order validation with Upbit's rules and error names (API.md §3.3, §4,
 * §5, §8), balances with `locked` funds and fees, and matching against the replayed market.
 *
 * - Marketable orders (`price`, `market`, `best`, crossing `limit`) take liquidity from the
 *   replayed book (`MarketFeed.book`); what they take is remembered until the book changes, so
 *   two orders never take the same level twice.
 * - Resting `limit` orders fill, as maker at their own price, when a replayed trade reaches
 *   their price (at or through it), up to the trade's volume per side.
 * - Responses report the order as of acceptance (Upbit matches asynchronously), so a client must
 *   read fills back through `GET /v1/order` or the private stream, as against the real venue.
 *
 * Money is exact `Units`; funds round down and fees round up to 1e-8, a bid's fees never exceed
 * what was reserved, and no balance can go negative (`AccountBook` asserts it).
 */

import {
  divUnits,
  formatUnits,
  minUnits,
  mulUnits,
  parseUnits,
  SCALE,
  type Units,
} from "../core/money.ts";
import { isOnTick } from "../core/tick_size.ts";
import { AccountBook, type AccountJson, type Holding, type InitialBalances } from "./accounts.ts";
import { type ExchangeResult, fail, ok } from "./errors.ts";
import type { BookLevel, MarketFeed, ReplayTrade } from "./feed.ts";
import {
  cloneOrder,
  type FillSource,
  type OrderSide,
  type OrderState,
  type OrdType,
  type SandboxOrder,
  type SandboxTrade,
  type SmpType,
  type TimeInForce,
} from "./orders.ts";
import type { MyOrderState, PrivateEvent } from "./private_events.ts";

/** An order request as sent (decimals still strings), after its JSON types were checked. */
export interface OrderInput {
  readonly market: string;
  readonly side: string;
  readonly ord_type: string;
  readonly volume?: string | null;
  readonly price?: string | null;
  readonly time_in_force?: string | null;
  readonly smp_type?: string | null;
  readonly identifier?: string | null;
}

/** Which order a look-up or cancel means (`uuid` wins when both are given). */
export interface OrderRef {
  readonly uuid?: string;
  readonly identifier?: string;
}

/** Options of the sandbox exchange. */
export interface SandboxExchangeOptions {
  readonly feed: MarketFeed;
  /** Opening balances per account id. */
  readonly balances: InitialBalances;
  /** Fee rate per side for KRW markets (default `"0.0005"`). */
  readonly feeRate?: string;
  /** Whether a rejected order burns its identifier (UNCONFIRMED on Upbit; default false). */
  readonly burnIdentifierOnReject?: boolean;
  /** Markets answering `market_offline` (e.g. to simulate maintenance). */
  readonly offlineMarkets?: readonly string[];
  /** Id generator (default `crypto.randomUUID`). */
  readonly newUuid?: () => string;
}

/** `GET /v1/orders/chance` body. */
export interface ChanceJson {
  readonly bid_fee: string;
  readonly ask_fee: string;
  readonly maker_bid_fee: string;
  readonly maker_ask_fee: string;
  readonly market: Record<string, unknown>;
  readonly bid_account: AccountJson;
  readonly ask_account: AccountJson;
}

/** `GET /v1/withdraws/chance` body (docs/upbit-api.md §3.3). */
export interface WithdrawChanceJson {
  readonly member_level: Readonly<Record<string, number | boolean>>;
  readonly currency: {
    readonly code: string;
    readonly withdraw_fee: string;
    readonly is_coin: boolean;
    readonly wallet_state: string;
    readonly wallet_support: readonly string[];
  };
  readonly account: AccountJson;
  readonly withdraw_limit: Readonly<Record<string, string | number | boolean>>;
}

/** Filters of `GET /v1/orders/open` and `/v1/orders/closed`. */
export interface OrderListQuery {
  readonly market?: string;
  readonly states: readonly OrderState[];
  readonly orderBy: "asc" | "desc";
  /** Inclusive creation-time window, UTC epoch ms. */
  readonly fromMs?: number;
  readonly toMs?: number;
  readonly offset?: number;
  readonly limit: number;
}

/** Filters of `DELETE /v1/orders/open`. */
export interface BatchCancelQuery {
  readonly side?: OrderSide;
  readonly pairs?: readonly string[];
  readonly quoteCurrencies?: readonly string[];
  readonly excludedPairs?: readonly string[];
  readonly count: number;
  readonly orderBy: "asc" | "desc";
}

/** A validated order, ready to be created. */
interface Plan {
  readonly market: string;
  readonly base: string;
  readonly side: OrderSide;
  readonly ordType: OrdType;
  readonly price: Units | undefined;
  readonly volume: Units | undefined;
  readonly timeInForce: TimeInForce | undefined;
  readonly smpType: SmpType | undefined;
  readonly identifier: string | undefined;
  readonly lockCurrency: string;
  readonly lockAmount: Units;
  readonly reservedFee: Units;
}

const MIN_TOTAL: Units = 5_000n * SCALE;
const MAX_TOTAL: Units = 1_000_000_000n * SCALE;
const MAX_IDENTIFIER_LENGTH = 64;
const DECIMAL_TEXT = /^\d{1,30}(\.\d{1,30})?$/;
const SIDES: readonly string[] = ["bid", "ask"];
const ORD_TYPES: readonly string[] = ["limit", "price", "market", "best"];
const TIFS: readonly string[] = ["ioc", "fok", "post_only"];
const SMP_TYPES: readonly string[] = ["cancel_maker", "cancel_taker", "reduce"];

/** The exchange side of the sandbox: accounts, orders, matching and private events. */
export class SandboxExchange {
  readonly #feed: MarketFeed;
  readonly #accounts: AccountBook;
  readonly #feeRate: Units;
  readonly #burnOnReject: boolean;
  readonly #offline: Set<string>;
  readonly #newUuid: () => string;
  readonly #orders = new Map<string, SandboxOrder>();
  readonly #byIdentifier = new Map<string, Map<string, string>>();
  readonly #usedIdentifiers = new Map<string, Set<string>>();
  readonly #listeners = new Set<(event: PrivateEvent) => void>();
  readonly #consumed = new Map<string, { tsMs: number; taken: Map<string, Units> }>();
  readonly #unsubscribe: () => void;
  #seq = 0;

  /** Opens the accounts and subscribes to the feed's trades (call `close()` to stop). */
  constructor(options: SandboxExchangeOptions) {
    this.#feed = options.feed;
    this.#accounts = new AccountBook(options.balances);
    this.#feeRate = parseUnits(options.feeRate ?? "0.0005");
    this.#burnOnReject = options.burnIdentifierOnReject ?? false;
    this.#offline = new Set(options.offlineMarkets ?? []);
    this.#newUuid = options.newUuid ?? (() => crypto.randomUUID());
    this.#unsubscribe = this.#feed.onTrade((trade) => this.#onTrade(trade));
  }

  /** Stops listening to the feed. */
  close(): void {
    this.#unsubscribe();
  }

  /** Calls `listener` for every `myOrder` / `myAsset` event; returns an unsubscribe function. */
  onPrivateEvent(listener: (event: PrivateEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The sandbox clock (the feed's), UTC epoch ms. */
  nowMs(): number {
    return this.#feed.nowMs();
  }

  /** Marks `market` offline (`market_offline`) or back online. */
  setMarketOffline(market: string, offline: boolean): void {
    if (offline) this.#offline.add(market);
    else this.#offline.delete(market);
  }

  /** The account's balances as `GET /v1/accounts` lists them. */
  accountsJson(accountId: string): AccountJson[] {
    return this.#accounts.accountsJson(accountId);
  }

  /** Balance and locked per currency, exact (for tests and the debug endpoint). */
  holdings(accountId: string): Array<readonly [string, Holding]> {
    return this.#accounts.holdings(accountId);
  }

  /** Every order of every account, oldest first (for tests and the debug endpoint). */
  allOrders(): SandboxOrder[] {
    return [...this.#orders.values()].map(cloneOrder);
  }

  /** `GET /v1/orders/chance` for `market`. */
  chance(accountId: string, market: string): ExchangeResult<ChanceJson> {
    if (!this.#knownMarket(market)) return notFoundMarket(market);
    const base = market.slice(4);
    const fee = formatUnits(this.#feeRate);
    return ok({
      bid_fee: fee,
      ask_fee: fee,
      maker_bid_fee: fee,
      maker_ask_fee: fee,
      market: {
        id: market,
        name: `${base}/KRW`,
        order_types: ["limit"],
        order_sides: ["ask", "bid"],
        bid_types: ["best_fok", "best_ioc", "limit", "limit_fok", "limit_ioc", "price"],
        ask_types: ["best_fok", "best_ioc", "limit", "limit_fok", "limit_ioc", "market"],
        bid: { currency: "KRW", min_total: formatUnits(MIN_TOTAL) },
        ask: { currency: base, min_total: formatUnits(MIN_TOTAL) },
        max_total: formatUnits(MAX_TOTAL),
        state: "active",
      },
      bid_account: this.#accounts.accountJson(accountId, "KRW"),
      ask_account: this.#accounts.accountJson(accountId, base),
    });
  }

  /**
   * `GET /v1/withdraws/chance` for `currency`: the account's line of it and the sandbox's
   * withdrawal policy (nothing can be withdrawn from the sandbox: `can_withdraw` is false). KRW
   * needs no `net_type`; a coin of a replayed market needs its own code as `net_type`.
   */
  withdrawChance(
    accountId: string,
    query: { readonly currency: string; readonly netType: string | undefined },
  ): ExchangeResult<WithdrawChanceJson> {
    const { currency, netType } = query;
    const isCoin = currency !== "KRW";
    if (isCoin && !this.#knownMarket(`KRW-${currency}`)) return fail("currency_not_found");
    if (isCoin && netType === undefined) return fail("validation_error", "net_type is missing");
    if (isCoin && netType !== currency) {
      return fail("validation_error", "net_type does not have a valid value");
    }
    return ok({
      member_level: {
        security_level: 4,
        fee_level: 0,
        email_verified: true,
        identity_auth_verified: true,
        bank_account_verified: true,
        two_factor_auth_verified: true,
        locked: false,
        wallet_locked: false,
      },
      currency: {
        code: currency,
        withdraw_fee: isCoin ? "0" : "1000",
        is_coin: isCoin,
        wallet_state: "working",
        wallet_support: ["deposit", "withdraw"],
      },
      account: this.#accounts.accountJson(accountId, currency),
      withdraw_limit: {
        currency,
        minimum: isCoin ? "0" : "5000",
        onetime: "0",
        daily: "0",
        remaining_daily: "0",
        remaining_daily_krw: "0",
        fixed: isCoin ? 8 : 0,
        can_withdraw: false,
      },
    });
  }

  /**
   * Validates and (unless `dryRun`) creates an order, then matches it. Returns the order as of
   * acceptance; a dry run returns the would-be order and changes nothing.
   */
  placeOrder(
    accountId: string,
    input: OrderInput,
    options: { readonly dryRun?: boolean } = {},
  ): ExchangeResult<SandboxOrder> {
    const planned = this.#validate(accountId, input, { dryRun: options.dryRun ?? false });
    if (!planned.ok) return planned;
    const plan = planned.value;
    const order = this.#newOrder(accountId, plan);
    if (options.dryRun) return ok(order);
    return ok(this.#create(order, plan));
  }

  /** One order of the account by uuid or identifier. */
  getOrder(accountId: string, ref: OrderRef): ExchangeResult<SandboxOrder> {
    const order = this.#find(accountId, ref);
    return order === undefined ? fail("order_not_found") : ok(cloneOrder(order));
  }

  /** Orders of the account by uuids or identifiers (unknown ones are skipped). */
  ordersByIds(
    accountId: string,
    query: {
      readonly uuids?: readonly string[];
      readonly identifiers?: readonly string[];
      readonly market?: string;
      readonly orderBy: "asc" | "desc";
    },
  ): SandboxOrder[] {
    const refs: OrderRef[] = query.uuids !== undefined
      ? query.uuids.map((uuid) => ({ uuid }))
      : (query.identifiers ?? []).map((identifier) => ({ identifier }));
    const found = new Map<string, SandboxOrder>();
    for (const ref of refs) {
      const order = this.#find(accountId, ref);
      if (order !== undefined && (query.market === undefined || order.market === query.market)) {
        found.set(order.uuid, order);
      }
    }
    return sortOrders([...found.values()], query.orderBy).map(cloneOrder);
  }

  /** Orders of the account matching `query` (open or closed listings). */
  listOrders(accountId: string, query: OrderListQuery): SandboxOrder[] {
    const matching = [...this.#orders.values()].filter((o) =>
      o.accountId === accountId &&
      query.states.includes(o.state) &&
      (query.market === undefined || o.market === query.market) &&
      (query.fromMs === undefined || o.createdAtMs >= query.fromMs) &&
      (query.toMs === undefined || o.createdAtMs <= query.toMs)
    );
    const offset = query.offset ?? 0;
    return sortOrders(matching, query.orderBy).slice(offset, offset + query.limit).map(cloneOrder);
  }

  /** Cancels one open order; returns it as of acceptance of the cancel (state still `wait`). */
  cancelOrder(accountId: string, ref: OrderRef): ExchangeResult<SandboxOrder> {
    const order = this.#find(accountId, ref);
    if (order === undefined || order.state !== "wait") return fail("order_not_found");
    const snapshot = cloneOrder(order);
    this.#finish(order, "cancel");
    this.#flushAssets();
    return ok(snapshot);
  }

  /** Cancels every `wait` order matching `query` (at most `count`); returns those cancelled. */
  cancelOpen(accountId: string, query: BatchCancelQuery): SandboxOrder[] {
    const candidates = [...this.#orders.values()].filter((o) =>
      o.accountId === accountId && o.state === "wait" &&
      (query.side === undefined || o.side === query.side) &&
      (query.pairs === undefined || query.pairs.includes(o.market)) &&
      (query.quoteCurrencies === undefined ||
        query.quoteCurrencies.includes(o.market.split("-")[0] ?? "")) &&
      !(query.excludedPairs ?? []).includes(o.market)
    );
    const chosen = sortOrders(candidates, query.orderBy).slice(0, query.count);
    const snapshots = chosen.map(cloneOrder);
    for (const order of chosen) this.#finish(order, "cancel");
    this.#flushAssets();
    return snapshots;
  }

  /**
   * Cancels `ref` and places `input` (same market and side) in its place. The replacement is
   * validated first, counting the funds the cancel will release, so a rejection changes nothing.
   */
  cancelAndNew(
    accountId: string,
    ref: OrderRef,
    input: Omit<OrderInput, "market" | "side">,
  ): ExchangeResult<{ cancelled: SandboxOrder; created: SandboxOrder }> {
    const old = this.#find(accountId, ref);
    if (old === undefined || old.state !== "wait") return fail("order_not_found");
    let volume = input.volume;
    if (volume === "remain_only") {
      if (old.remainingVolume === undefined) {
        return fail("validation_error", "new_volume does not have a valid value");
      }
      volume = formatUnits(old.remainingVolume);
    }
    const full: OrderInput = { ...input, volume, market: old.market, side: old.side };
    const lockCurrency = old.side === "bid" ? "KRW" : old.market.slice(4);
    const planned = this.#validate(accountId, full, {
      dryRun: false,
      released: { currency: lockCurrency, amount: old.locked },
    });
    if (!planned.ok) return planned;
    const cancelled = cloneOrder(old);
    this.#finish(old, "cancel");
    const created = this.#create(this.#newOrder(accountId, planned.value), planned.value);
    return ok({ cancelled, created });
  }

  // ---- validation ---------------------------------------------------------------------------

  #validate(
    accountId: string,
    input: OrderInput,
    options: {
      readonly dryRun: boolean;
      readonly released?: { readonly currency: string; readonly amount: Units };
    },
  ): ExchangeResult<Plan> {
    const { market, side, ord_type: ordType } = input;
    if (!SIDES.includes(side)) {
      return fail("validation_error", "side is missing, side does not have a valid value");
    }
    if (!ORD_TYPES.includes(ordType)) {
      return fail("validation_error", "ord_type does not have a valid value");
    }
    if (!this.#knownMarket(market)) return notFoundMarket(market);
    const s = side as OrderSide;
    const createError = s === "bid" ? "create_bid_error" : "create_ask_error";
    if ((ordType === "price" && s === "ask") || (ordType === "market" && s === "bid")) {
      return fail(createError, `${ordType} orders cannot be ${s} orders`);
    }
    const byFunds = ordType === "price" || (ordType === "best" && s === "bid");
    const priceText = input.price ?? undefined;
    const volumeText = input.volume ?? undefined;
    const wantsPrice = ordType === "limit" || byFunds;
    const wantsVolume = !byFunds;
    if (wantsPrice && priceText === undefined) return fail("validation_error", "price is missing");
    if (wantsVolume && volumeText === undefined) {
      return fail("validation_error", "volume is missing");
    }
    if (!wantsPrice && priceText !== undefined) {
      return fail(createError, `price must be absent for ${ordType} ${s} orders`);
    }
    if (!wantsVolume && volumeText !== undefined) {
      return fail(createError, `volume must be absent for ${ordType} ${s} orders`);
    }
    const tif = input.time_in_force ?? undefined;
    if (tif !== undefined && !TIFS.includes(tif)) return fail("invalid_time_in_force");
    if (ordType === "best" && tif !== "ioc" && tif !== "fok") return fail("invalid_time_in_force");
    if ((ordType === "price" || ordType === "market") && tif !== undefined) {
      return fail("invalid_time_in_force");
    }
    const smp = input.smp_type ?? undefined;
    if (smp !== undefined && !SMP_TYPES.includes(smp)) {
      return fail("validation_error", "smp_type does not have a valid value");
    }
    if (tif === "post_only" && smp !== undefined) return fail("invalid_time_in_force");
    const identifier = input.identifier ?? undefined;
    if (identifier !== undefined) {
      if (identifier === "" || identifier.length > MAX_IDENTIFIER_LENGTH) {
        return fail("validation_error", "identifier does not have a valid value");
      }
      if (this.#usedIdentifiers.get(accountId)?.has(identifier)) {
        return fail("duplicated_identifier");
      }
    }
    // From here on the request is well formed: a rejection may burn the identifier.
    const reject = (result: ExchangeResult<Plan>): ExchangeResult<Plan> => {
      if (this.#burnOnReject && !options.dryRun && identifier !== undefined) {
        this.#useIdentifier(accountId, identifier);
      }
      return result;
    };
    if (this.#offline.has(market)) return reject(fail("market_offline"));
    const suffix = s === "bid" ? "bid" : "ask";
    let price: Units | undefined;
    let volume: Units | undefined;
    if (priceText !== undefined) {
      const parsed = parseAmount(priceText);
      if (parsed === "malformed") {
        return reject(fail("invalid_parameter", "price does not have a valid value"));
      }
      if (parsed === "too_precise" || parsed <= 0n) return reject(fail(`invalid_price_${suffix}`));
      price = parsed;
    }
    if (volumeText !== undefined) {
      const parsed = parseAmount(volumeText);
      if (parsed === "malformed") {
        return reject(fail("invalid_parameter", "volume does not have a valid value"));
      }
      if (parsed === "too_precise" || parsed <= 0n) return reject(fail(`invalid_volume_${suffix}`));
      volume = parsed;
    }
    if (ordType === "limit" && price !== undefined) {
      if (!isOnTick(price, { atMs: this.#feed.nowMs(), market })) {
        return reject(fail(`invalid_price_${suffix}`));
      }
    }
    // The order total in KRW, for the min/max checks.
    let total: Units | undefined;
    if (ordType === "limit") total = mulUnits(price ?? 0n, volume ?? 0n, "ceil");
    else if (byFunds) total = price;
    else {
      const bestBid = this.#feed.book(market)?.bids[0]?.price;
      total = bestBid === undefined ? undefined : mulUnits(bestBid, volume ?? 0n, "ceil");
    }
    if (total !== undefined && total < MIN_TOTAL) return reject(fail(`under_min_total_${suffix}`));
    if (total !== undefined && total > MAX_TOTAL) return reject(fail(`over_krw_funds_${suffix}`));
    const base = market.slice(4);
    let lockCurrency: string;
    let lockAmount: Units;
    let reservedFee = 0n;
    if (s === "bid") {
      const notional = total ?? 0n;
      reservedFee = mulUnits(notional, this.#feeRate, "ceil");
      lockCurrency = "KRW";
      lockAmount = notional + reservedFee;
    } else {
      lockCurrency = base;
      lockAmount = volume ?? 0n;
    }
    let available = this.#accounts.holding(accountId, lockCurrency).balance;
    if (options.released?.currency === lockCurrency) available += options.released.amount;
    if (lockAmount > available) return reject(fail(`insufficient_funds_${suffix}`));
    return ok({
      market,
      base,
      side: s,
      ordType: ordType as OrdType,
      price,
      volume,
      timeInForce: tif as TimeInForce | undefined,
      smpType: smp as SmpType | undefined,
      identifier,
      lockCurrency,
      lockAmount,
      reservedFee,
    });
  }

  #knownMarket(market: string): boolean {
    return /^KRW-[A-Z0-9]+$/.test(market) && this.#feed.markets.includes(market);
  }

  #useIdentifier(accountId: string, identifier: string): void {
    let used = this.#usedIdentifiers.get(accountId);
    if (used === undefined) {
      used = new Set();
      this.#usedIdentifiers.set(accountId, used);
    }
    used.add(identifier);
  }

  // ---- creation and matching ----------------------------------------------------------------

  #newOrder(accountId: string, plan: Plan): SandboxOrder {
    return {
      uuid: this.#newUuid(),
      accountId,
      seq: this.#seq,
      market: plan.market,
      side: plan.side,
      ordType: plan.ordType,
      price: plan.price,
      volume: plan.volume,
      remainingVolume: plan.volume,
      state: "wait",
      createdAtMs: this.#feed.nowMs(),
      reservedFee: plan.reservedFee,
      remainingFee: plan.reservedFee,
      paidFee: 0n,
      locked: plan.lockAmount,
      executedVolume: 0n,
      executedFunds: 0n,
      trades: [],
      identifier: plan.identifier,
      timeInForce: plan.timeInForce,
      smpType: plan.smpType,
    };
  }

  #create(order: SandboxOrder, plan: Plan): SandboxOrder {
    this.#seq += 1;
    this.#orders.set(order.uuid, order);
    if (plan.identifier !== undefined) {
      this.#useIdentifier(order.accountId, plan.identifier);
      let index = this.#byIdentifier.get(order.accountId);
      if (index === undefined) {
        index = new Map();
        this.#byIdentifier.set(order.accountId, index);
      }
      index.set(plan.identifier, order.uuid);
    }
    this.#accounts.lock(order.accountId, plan.lockCurrency, plan.lockAmount);
    const accepted = cloneOrder(order);
    this.#emitOrder(order, "wait");
    this.#flushAssets();
    this.#matchOnArrival(order);
    this.#flushAssets();
    return accepted;
  }

  /** Takes liquidity for a new order as Upbit's types and time-in-force rules say. */
  #matchOnArrival(order: SandboxOrder): void {
    const book = this.#feed.book(order.market);
    const levels = (order.side === "bid" ? book?.asks : book?.bids) ?? [];
    const bookTsMs = book?.tsMs ?? 0;
    let limit: Units | undefined;
    if (order.ordType === "limit") limit = order.price;
    if (order.ordType === "best") {
      limit = levels.find((l) => this.#available(order.market, bookTsMs, order.side, l) > 0n)
        ?.price;
      if (limit === undefined) return this.#finish(order, "cancel");
    }
    const crosses = levels.length > 0 && limit !== undefined && levels[0] !== undefined &&
      (order.side === "bid" ? levels[0].price <= limit : levels[0].price >= limit);
    if (order.timeInForce === "post_only") {
      // A post-only order that would take liquidity is cancelled instead of matched.
      if (crosses) this.#finish(order, "cancel");
      return;
    }
    const plan = this.#walk(order, levels, { bookTsMs, limit });
    if (order.timeInForce === "fok" && !plan.complete) return this.#finish(order, "cancel");
    for (const step of plan.steps) {
      this.#take(order.market, bookTsMs, order.side, step.price, step.volume);
      this.#fill(order, {
        price: step.price,
        volume: step.volume,
        isMaker: false,
        trend: order.side === "bid" ? "up" : "down",
        tsMs: this.#feed.nowMs(),
        source: { kind: "book", bookTsMs, price: step.price },
      });
    }
    if (order.state !== "wait") return;
    const byFunds = order.remainingVolume === undefined;
    if (order.ordType === "limit" && order.timeInForce === undefined) return;
    // price / market / best / ioc / fok: never rest.
    this.#finish(order, byFunds && order.executedFunds === order.price ? "done" : "cancel");
  }

  /** The fills an order would get from `levels` (no side effects). */
  #walk(
    order: SandboxOrder,
    levels: readonly BookLevel[],
    options: { readonly bookTsMs: number; readonly limit: Units | undefined },
  ): { steps: Array<{ price: Units; volume: Units }>; complete: boolean } {
    const steps: Array<{ price: Units; volume: Units }> = [];
    let remainingVolume = order.remainingVolume;
    let remainingFunds = (order.price ?? 0n) - order.executedFunds;
    for (const level of levels) {
      const { limit } = options;
      if (limit !== undefined) {
        if (order.side === "bid" ? level.price > limit : level.price < limit) break;
      }
      const available = this.#available(order.market, options.bookTsMs, order.side, level);
      if (available <= 0n) continue;
      let volume: Units;
      if (remainingVolume !== undefined) {
        volume = minUnits(available, remainingVolume);
        remainingVolume -= volume;
      } else {
        volume = minUnits(available, divUnits(remainingFunds, level.price, "floor"));
        if (volume <= 0n) return { steps, complete: true };
        remainingFunds -= mulUnits(level.price, volume, "floor");
      }
      steps.push({ price: level.price, volume });
      if (remainingVolume === 0n) return { steps, complete: true };
      if (order.ordType === "best") break;
    }
    // A funds-based order is complete when what is left cannot buy 1e-8 at its price.
    const complete = remainingVolume === undefined
      ? options.limit !== undefined && divUnits(remainingFunds, options.limit, "floor") === 0n
      : remainingVolume === 0n;
    return { steps, complete };
  }

  #available(market: string, bookTsMs: number, side: OrderSide, level: BookLevel): Units {
    const consumed = this.#consumed.get(market);
    if (consumed === undefined || consumed.tsMs !== bookTsMs) return level.size;
    return level.size - (consumed.taken.get(`${side}:${level.price}`) ?? 0n);
  }

  #take(market: string, bookTsMs: number, side: OrderSide, price: Units, volume: Units): void {
    let consumed = this.#consumed.get(market);
    if (consumed === undefined || consumed.tsMs !== bookTsMs) {
      consumed = { tsMs: bookTsMs, taken: new Map() };
      this.#consumed.set(market, consumed);
    }
    const key = `${side}:${price}`;
    consumed.taken.set(key, (consumed.taken.get(key) ?? 0n) + volume);
  }

  /** Fills resting limit orders that a replayed trade reaches, best price first, then oldest. */
  #onTrade(trade: ReplayTrade): void {
    const resting = [...this.#orders.values()].filter((o) =>
      o.market === trade.market && o.state === "wait" && o.ordType === "limit" &&
      o.price !== undefined &&
      (o.side === "bid" ? trade.price <= o.price : trade.price >= o.price)
    );
    const pool: Record<OrderSide, Units> = { bid: trade.volume, ask: trade.volume };
    resting.sort((a, b) => {
      if (a.side !== b.side) return a.side === "bid" ? -1 : 1;
      const pa = a.price ?? 0n;
      const pb = b.price ?? 0n;
      if (pa !== pb) return (a.side === "bid" ? pb > pa : pa > pb) ? 1 : -1;
      return a.seq - b.seq;
    });
    for (const order of resting) {
      const volume = minUnits(pool[order.side], order.remainingVolume ?? 0n);
      if (volume <= 0n) continue;
      pool[order.side] -= volume;
      this.#fill(order, {
        price: order.price ?? 0n,
        volume,
        isMaker: true,
        trend: trade.side === "BID" ? "up" : "down",
        tsMs: trade.tsMs,
        source: { kind: "trade", sequentialId: trade.sequentialId, price: trade.price },
      });
    }
    this.#flushAssets();
  }

  #fill(
    order: SandboxOrder,
    fill: {
      readonly price: Units;
      readonly volume: Units;
      readonly isMaker: boolean;
      readonly trend: "up" | "down";
      readonly tsMs: number;
      readonly source: FillSource;
    },
  ): void {
    const { accountId, market } = order;
    const base = market.slice(4);
    const funds = mulUnits(fill.price, fill.volume, "floor");
    let fee = mulUnits(funds, this.#feeRate, "ceil");
    if (order.side === "bid") {
      fee = minUnits(fee, order.remainingFee);
      const spend = funds + fee;
      if (spend > order.locked) {
        throw new RangeError(`Cannot fill ${order.uuid}: spend ${spend} exceeds ${order.locked}`);
      }
      this.#accounts.spendLocked(accountId, "KRW", spend);
      order.locked -= spend;
      order.remainingFee -= fee;
      this.#accounts.creditBuy(accountId, base, { volume: fill.volume, funds });
    } else {
      this.#accounts.spendLocked(accountId, base, fill.volume);
      order.locked -= fill.volume;
      this.#accounts.credit(accountId, "KRW", funds - fee);
    }
    order.paidFee += fee;
    order.executedVolume += fill.volume;
    order.executedFunds += funds;
    if (order.remainingVolume !== undefined) order.remainingVolume -= fill.volume;
    const trade: SandboxTrade = {
      uuid: this.#newUuid(),
      market,
      side: order.side,
      price: fill.price,
      volume: fill.volume,
      funds,
      fee,
      trend: fill.trend,
      isMaker: fill.isMaker,
      tsMs: fill.tsMs,
      source: fill.source,
    };
    order.trades.push(trade);
    this.#emitOrder(order, "trade", trade);
    if (order.remainingVolume === 0n) {
      this.#finish(order, "done");
      return;
    }
    if (order.side === "bid" && order.ordType === "limit" && order.remainingVolume !== undefined) {
      // A taker fill below the limit price frees funds the rest of the order no longer needs.
      const needed = mulUnits(order.price ?? 0n, order.remainingVolume, "ceil") +
        order.remainingFee;
      if (order.locked > needed) {
        this.#accounts.unlock(accountId, "KRW", order.locked - needed);
        order.locked = needed;
      }
    }
  }

  /** Ends an order and returns what it still holds; `locked` keeps the amount released. */
  #finish(order: SandboxOrder, state: "done" | "cancel"): void {
    order.state = state;
    const currency = order.side === "bid" ? "KRW" : order.market.slice(4);
    if (order.locked > 0n) this.#accounts.unlock(order.accountId, currency, order.locked);
    this.#emitOrder(order, state);
  }

  #find(accountId: string, ref: OrderRef): SandboxOrder | undefined {
    const uuid = ref.uuid ??
      (ref.identifier === undefined
        ? undefined
        : this.#byIdentifier.get(accountId)?.get(ref.identifier));
    const order = uuid === undefined ? undefined : this.#orders.get(uuid);
    return order?.accountId === accountId ? order : undefined;
  }

  // ---- events -------------------------------------------------------------------------------

  #emitOrder(order: SandboxOrder, state: MyOrderState, trade?: SandboxTrade): void {
    if (this.#listeners.size === 0) return;
    this.#emit({
      type: "myOrder",
      accountId: order.accountId,
      state,
      order: cloneOrder(order),
      ...(trade === undefined ? {} : { trade }),
      tsMs: this.#feed.nowMs(),
    });
  }

  #flushAssets(): void {
    const changes = this.#accounts.drainChanges();
    if (this.#listeners.size === 0) return;
    for (const [accountId, currencies] of changes) {
      const assets = [...currencies].map((currency) => {
        const h = this.#accounts.holding(accountId, currency);
        return { currency, balance: h.balance, locked: h.locked };
      });
      this.#emit({
        type: "myAsset",
        accountId,
        assetUuid: this.#newUuid(),
        assets,
        tsMs: this.#feed.nowMs(),
      });
    }
  }

  #emit(event: PrivateEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // A failing subscriber must not break matching; the WS server reports its own errors.
      }
    }
  }
}

function notFoundMarket<T>(market: string): ExchangeResult<T> {
  return fail("notfoundmarket", `다음 마켓에 없는 종목입니다: ${market}`);
}

/** Parses a decimal order field: malformed text, more than 8 decimals, or exact `Units`. */
function parseAmount(text: string): Units | "malformed" | "too_precise" {
  if (!DECIMAL_TEXT.test(text)) return "malformed";
  const frac = text.split(".")[1] ?? "";
  if (frac.replace(/0+$/, "").length > 8) return "too_precise";
  return parseUnits(text);
}

function sortOrders(orders: SandboxOrder[], orderBy: "asc" | "desc"): SandboxOrder[] {
  const sorted = [...orders].sort((a, b) => a.createdAtMs - b.createdAtMs || a.seq - b.seq);
  return orderBy === "desc" ? sorted.reverse() : sorted;
}
