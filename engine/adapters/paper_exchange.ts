/**
 * `PaperExchange`: a simulated Upbit for paper trading and tests, implementing `Exchange` and
 * `Account` in memory with Upbit's rules (shared/upbit/API.md §3.3–§4, §8):
 *
 * - marketable orders walk the current order book (a function returning exact levels, e.g. the
 *   sandbox replay's `book(market)`), level by level at each level's price;
 * - resting limit orders fill when a later book crosses them (checked on every call);
 * - fees 0.05% per side in KRW, rounded up per trade; a buy reserves its fee on top;
 * - limit prices on the tick grid, the 5,000 KRW minimum, and Upbit's error names;
 * - a market buy spends a KRW amount; the unspendable remainder is refunded and the order ends
 *   `cancel` (Upbit's behaviour), or `done` when the amount was spent exactly;
 * - identifiers unique forever (a rejected attempt burns its identifier unless told otherwise);
 * - balances never go negative (a bug would throw a `RangeError`).
 *
 * What our orders take from a book is remembered until the book function returns a new snapshot,
 * so two orders (or two sweeps of a resting order) never take the same liquidity twice.
 */

import { applyBps, divUnits, mulUnits, type Units } from "../core/money.ts";
import { MAX_ORDER_KRW, MIN_ORDER_KRW, UPBIT_KRW_FEE_BPS } from "../core/ledger.ts";
import { err, ok, type Result } from "../core/result.ts";
import { isOnTick } from "../core/tick_size.ts";
import type {
  Account,
  Balance,
  Exchange,
  ExchangeOrder,
  ExchangeOrderState,
  ExchangeTrade,
  OrderRef,
  OrderRejection,
  OrderRequest,
} from "../ports.ts";
import type { BookLevel, BookSnapshot } from "../core/order_book.ts";

/** Options of a `PaperExchange`. */
export interface PaperExchangeOptions {
  /** The current book of a market (undefined: unknown market). */
  readonly book: (market: string) => BookSnapshot | undefined;
  /** The simulated clock, UTC epoch ms. */
  readonly nowMs: () => number;
  /** Opening balances per currency. */
  readonly balances: Readonly<Record<string, Units>>;
  /** Fee per side in basis points (default 5 = 0.05%). */
  readonly feeBps?: number;
  /** Whether a rejected order burns its identifier (default true: Upbit says "regardless"). */
  readonly burnIdentifierOnReject?: boolean;
  /** Uuid generator (default `crypto.randomUUID`). */
  readonly newUuid?: () => string;
}

interface Holding {
  balance: Units;
  locked: Units;
}

interface PaperOrder {
  readonly uuid: string;
  readonly identifier: string;
  readonly market: string;
  readonly side: "bid" | "ask";
  readonly ordType: "limit" | "price" | "market";
  readonly price: Units | undefined;
  readonly volume: Units | undefined;
  state: ExchangeOrderState;
  executedVolume: Units;
  paidFee: Units;
  /** KRW (bids) or coin (asks) still held for a resting limit order. */
  locked: Units;
  readonly createdAtMs: number;
  readonly trades: ExchangeTrade[];
}

function reject(name: string, message = name): Result<never, OrderRejection> {
  return err({ name, message });
}

/** A simulated exchange and account. */
export class PaperExchange implements Exchange, Account {
  readonly #book: (market: string) => BookSnapshot | undefined;
  readonly #nowMs: () => number;
  readonly #feeBps: number;
  readonly #burn: boolean;
  readonly #newUuid: () => string;
  readonly #holdings = new Map<string, Holding>();
  readonly #orders = new Map<string, PaperOrder>();
  readonly #byIdentifier = new Map<string, string>();
  readonly #usedIdentifiers = new Set<string>();
  #tradeSeq = 0;
  readonly #taken = new Map<string, { book: BookSnapshot; used: Map<Units, Units> }>();

  /** Opens the simulated account. */
  constructor(options: PaperExchangeOptions) {
    this.#book = options.book;
    this.#nowMs = options.nowMs;
    this.#feeBps = options.feeBps ?? UPBIT_KRW_FEE_BPS;
    this.#burn = options.burnIdentifierOnReject ?? true;
    this.#newUuid = options.newUuid ?? (() => crypto.randomUUID());
    for (const [currency, amount] of Object.entries(options.balances)) {
      if (amount < 0n) throw new RangeError(`Cannot open paper account: ${currency} is negative`);
      this.#holdings.set(currency, { balance: amount, locked: 0n });
    }
  }

  /** Places an order; refusals carry Upbit's error names. */
  placeOrder(request: OrderRequest): Promise<Result<ExchangeOrder, OrderRejection>> {
    this.#sweep();
    return Promise.resolve(this.#place(request));
  }

  /** One order with its trades, or undefined. */
  getOrder(ref: OrderRef): Promise<ExchangeOrder | undefined> {
    this.#sweep();
    const order = this.#find(ref);
    return Promise.resolve(order === undefined ? undefined : view(order, true));
  }

  /** Cancels a resting order (releasing what it held). */
  cancelOrder(ref: OrderRef): Promise<Result<ExchangeOrder, OrderRejection>> {
    this.#sweep();
    const order = this.#find(ref);
    if (order === undefined || order.state !== "wait") {
      return Promise.resolve(reject("order_not_found"));
    }
    const before = view(order, false);
    this.#release(order);
    order.state = "cancel";
    return Promise.resolve(ok(before));
  }

  /** Resting orders (without trades, as Upbit's list endpoints). */
  openOrders(market?: string): Promise<readonly ExchangeOrder[]> {
    this.#sweep();
    return Promise.resolve(
      [...this.#orders.values()]
        .filter((o) => o.state === "wait" && (market === undefined || o.market === market))
        .map((o) => view(o, false)),
    );
  }

  /** Every currency held. */
  balances(): Promise<readonly Balance[]> {
    this.#sweep();
    return Promise.resolve(
      [...this.#holdings.entries()].map(([currency, h]) => ({
        currency,
        balance: h.balance,
        locked: h.locked,
      })),
    );
  }

  // ---- internals ----

  #holding(currency: string): Holding {
    let h = this.#holdings.get(currency);
    if (h === undefined) {
      h = { balance: 0n, locked: 0n };
      this.#holdings.set(currency, h);
    }
    return h;
  }

  #move(currency: string, delta: { balance?: Units; locked?: Units }): void {
    const h = this.#holding(currency);
    const balance = h.balance + (delta.balance ?? 0n);
    const locked = h.locked + (delta.locked ?? 0n);
    if (balance < 0n || locked < 0n) {
      throw new RangeError(
        `Paper exchange bug: ${currency} would go negative (${balance}, ${locked})`,
      );
    }
    h.balance = balance;
    h.locked = locked;
  }

  #find(ref: OrderRef): PaperOrder | undefined {
    const uuid = "uuid" in ref ? ref.uuid : this.#byIdentifier.get(ref.identifier);
    return uuid === undefined ? undefined : this.#orders.get(uuid);
  }

  /** What is left of `level` in `book` after our earlier orders took from it. */
  #left(book: BookSnapshot, level: BookLevel): Units {
    const t = this.#taken.get(book.market);
    if (t === undefined || t.book !== book) return level.size;
    return level.size - (t.used.get(level.price) ?? 0n);
  }

  #use(book: BookSnapshot, level: BookLevel, volume: Units): void {
    let t = this.#taken.get(book.market);
    if (t === undefined || t.book !== book) {
      t = { book, used: new Map() };
      this.#taken.set(book.market, t);
    }
    t.used.set(level.price, (t.used.get(level.price) ?? 0n) + volume);
  }

  #fee(funds: Units): Units {
    return applyBps(funds, this.#feeBps, "ceil");
  }

  #place(req: OrderRequest): Result<ExchangeOrder, OrderRejection> {
    if (req.identifier.length === 0 || req.identifier.length > 64) {
      return reject("validation_error", "identifier does not have a valid value");
    }
    if (this.#usedIdentifiers.has(req.identifier)) return reject("duplicated_identifier");
    const refused = this.#validate(req);
    if (refused !== undefined) {
      if (this.#burn) this.#usedIdentifiers.add(req.identifier);
      return err(refused);
    }
    this.#usedIdentifiers.add(req.identifier);
    const order: PaperOrder = {
      uuid: this.#newUuid(),
      identifier: req.identifier,
      market: req.market,
      side: req.side,
      ordType: req.ordType,
      price: req.price,
      volume: req.volume,
      state: "wait",
      executedVolume: 0n,
      paidFee: 0n,
      locked: 0n,
      createdAtMs: this.#nowMs(),
      trades: [],
    };
    this.#orders.set(order.uuid, order);
    this.#byIdentifier.set(order.identifier, order.uuid);
    const book = this.#book(req.market);
    if (book === undefined) throw new RangeError(`Paper exchange bug: no book for ${req.market}`);
    if (req.ordType === "price") this.#marketBuy(order, book);
    else if (req.ordType === "market") this.#marketSell(order, book);
    else this.#limit(order, book);
    return ok(view(order, false));
  }

  #validate(req: OrderRequest): OrderRejection | undefined {
    const suffix = req.side;
    const coin = req.market.split("-")[1] ?? "";
    if (!req.market.startsWith("KRW-") || this.#book(req.market) === undefined) {
      return { name: "notfoundmarket", message: `unknown market ${req.market}` };
    }
    const wantsPrice = req.ordType !== "market";
    const wantsVolume = req.ordType !== "price";
    if (wantsPrice !== (req.price !== undefined) || wantsVolume !== (req.volume !== undefined)) {
      return { name: `create_${suffix}_error`, message: "price/volume do not fit the ord_type" };
    }
    if (req.ordType === "price" && req.side !== "bid") {
      return { name: "create_ask_error", message: "price orders are bids" };
    }
    if (req.ordType === "market" && req.side !== "ask") {
      return { name: "create_bid_error", message: "market orders are asks" };
    }
    if ((req.price ?? 1n) <= 0n) return { name: `invalid_price_${suffix}`, message: "price <= 0" };
    if ((req.volume ?? 1n) <= 0n) {
      return { name: `invalid_volume_${suffix}`, message: "volume <= 0" };
    }
    if (
      req.ordType === "limit" &&
      !isOnTick(req.price ?? 0n, { atMs: this.#nowMs(), market: req.market })
    ) {
      return { name: `invalid_price_${suffix}`, message: "price is off the tick grid" };
    }
    let total: Units | undefined;
    if (req.ordType === "price") total = req.price;
    if (req.ordType === "limit") total = mulUnits(req.price ?? 0n, req.volume ?? 0n, "floor");
    if (req.ordType === "market") {
      const bid = this.#book(req.market)?.bids[0]?.price ?? 0n;
      total = mulUnits(bid, req.volume ?? 0n, "floor");
    }
    if (total !== undefined && total < MIN_ORDER_KRW) {
      return { name: `under_min_total_${suffix}`, message: "under the 5,000 KRW minimum" };
    }
    if (total !== undefined && total > MAX_ORDER_KRW) {
      return { name: `over_krw_funds_${suffix}`, message: "over the maximum order total" };
    }
    if (req.side === "bid") {
      const need = (total ?? 0n) + this.#fee(total ?? 0n);
      if (need > this.#holding("KRW").balance) {
        return { name: "insufficient_funds_bid", message: "not enough KRW" };
      }
    } else if ((req.volume ?? 0n) > this.#holding(coin).balance) {
      return { name: "insufficient_funds_ask", message: `not enough ${coin}` };
    }
    return undefined;
  }

  #trade(order: PaperOrder, price: Units, volume: Units, fromLocked: boolean): void {
    const coin = order.market.split("-")[1] ?? "";
    const funds = mulUnits(price, volume, "floor");
    const fee = this.#fee(funds);
    if (order.side === "bid") {
      const fromLock = fromLocked ? (order.locked < funds + fee ? order.locked : funds + fee) : 0n;
      // Per-trade fee rounding can exceed the order's reserve by a unit: the rest is available KRW.
      this.#move("KRW", { locked: -fromLock, balance: -(funds + fee - fromLock) });
      order.locked -= fromLock;
      this.#move(coin, { balance: volume });
    } else {
      if (fromLocked) {
        this.#move(coin, { locked: -volume });
        order.locked -= volume;
      } else this.#move(coin, { balance: -volume });
      this.#move("KRW", { balance: funds - fee });
    }
    order.executedVolume += volume;
    order.paidFee += fee;
    order.trades.push({
      uuid: `paper-trade-${++this.#tradeSeq}-${order.uuid.slice(0, 8)}`,
      price,
      volume,
      funds,
      createdAtMs: this.#nowMs(),
    });
  }

  #marketBuy(order: PaperOrder, book: BookSnapshot): void {
    let left = order.price ?? 0n;
    for (const level of book.asks) {
      const size = this.#left(book, level);
      if (size === 0n) continue;
      // The amount excludes the fee (reserved on top, as Upbit does); volume floored to 1e-8.
      let volume = divUnits(left, level.price, "floor");
      if (volume > size) volume = size;
      if (volume <= 0n) break;
      const funds = mulUnits(level.price, volume, "floor");
      left -= funds;
      this.#use(book, level, volume);
      this.#trade(order, level.price, volume, false);
    }
    // The unspendable remainder stays with the account: nothing was locked for it.
    order.state = order.executedVolume > 0n && left === 0n ? "done" : "cancel";
  }

  #marketSell(order: PaperOrder, book: BookSnapshot): void {
    let left = order.volume ?? 0n;
    for (const level of book.bids) {
      if (left === 0n) break;
      const size = this.#left(book, level);
      const volume = left < size ? left : size;
      if (volume === 0n) continue;
      this.#use(book, level, volume);
      this.#trade(order, level.price, volume, false);
      left -= volume;
    }
    order.state = left === 0n ? "done" : "cancel";
  }

  #limit(order: PaperOrder, book: BookSnapshot): void {
    const coin = order.market.split("-")[1] ?? "";
    const price = order.price ?? 0n;
    const volume = order.volume ?? 0n;
    // Lock the whole order up front (as Upbit does), then fill from the lock.
    if (order.side === "bid") {
      const total = mulUnits(price, volume, "floor");
      const lock = total + this.#fee(total);
      this.#move("KRW", { balance: -lock, locked: lock });
      order.locked = lock;
    } else {
      this.#move(coin, { balance: -volume, locked: volume });
      order.locked = volume;
    }
    this.#cross(order, book);
  }

  /** Fills a resting limit order against `book` levels at or better than its price. */
  #cross(order: PaperOrder, book: BookSnapshot): void {
    const limit = order.price ?? 0n;
    const levels = order.side === "bid" ? book.asks : book.bids;
    for (const level of levels) {
      const remaining = (order.volume ?? 0n) - order.executedVolume;
      if (remaining === 0n) break;
      const crosses = order.side === "bid" ? level.price <= limit : level.price >= limit;
      if (!crosses) break;
      const size = this.#left(book, level);
      const volume = remaining < size ? remaining : size;
      if (volume === 0n) continue;
      this.#use(book, level, volume);
      if (order.side === "bid") {
        // A better price than the limit frees part of the lock at once.
        const funds = mulUnits(level.price, volume, "floor");
        const held = mulUnits(limit, volume, "floor");
        const spare = held + this.#fee(held) - funds - this.#fee(funds);
        if (spare > 0n) {
          this.#move("KRW", { locked: -spare, balance: spare });
          order.locked -= spare;
        }
      }
      this.#trade(order, level.price, volume, true);
    }
    if (order.executedVolume === order.volume) {
      this.#release(order);
      order.state = "done";
    }
  }

  /** Returns what a finished or cancelled order still holds. */
  #release(order: PaperOrder): void {
    if (order.locked === 0n) return;
    const currency = order.side === "bid" ? "KRW" : (order.market.split("-")[1] ?? "");
    this.#move(currency, { locked: -order.locked, balance: order.locked });
    order.locked = 0n;
  }

  /** Fills resting orders that the current books cross. */
  #sweep(): void {
    for (const order of this.#orders.values()) {
      if (order.state !== "wait") continue;
      const book = this.#book(order.market);
      if (book !== undefined) this.#cross(order, book);
    }
  }
}

function view(order: PaperOrder, withTrades: boolean): ExchangeOrder {
  return {
    uuid: order.uuid,
    identifier: order.identifier,
    market: order.market,
    side: order.side,
    ordType: order.ordType,
    state: order.state,
    price: order.price,
    volume: order.volume,
    executedVolume: order.executedVolume,
    paidFee: order.paidFee,
    createdAtMs: order.createdAtMs,
    trades: withTrades ? order.trades.map((t) => ({ ...t })) : undefined,
  };
}
