/**
 * The sandbox's balances: per account and currency, `balance` (available), `locked` (held by
 * open orders) and `avg_buy_price` as Upbit keeps it (the volume-weighted average of buy fill
 * prices, fees excluded; reset to 0 when the holding reaches zero).
 *
 * Every mutation asserts that nothing goes negative: an overdraft here is a matching-engine bug,
 * so it throws a `RangeError` instead of being answered as a rejection.
 */

import { divUnits, formatUnits, mulUnits, parseUnits, type Units } from "../core/money.ts";

/** One currency of one account. */
export interface Holding {
  readonly balance: Units;
  readonly locked: Units;
  readonly avgBuyPrice: Units;
}

/** An account as `GET /v1/accounts` writes it (decimals as strings). */
export interface AccountJson {
  readonly currency: string;
  readonly balance: string;
  readonly locked: string;
  readonly avg_buy_price: string;
  readonly avg_buy_price_modified: boolean;
  readonly unit_currency: string;
}

const ZERO: Holding = { balance: 0n, locked: 0n, avgBuyPrice: 0n };

/** Opening balances: account id → currency → decimal amount (e.g. `{ a: { KRW: "1000000" } }`). */
export type InitialBalances = Readonly<Record<string, Readonly<Record<string, string>>>>;

/** All accounts' holdings, with change tracking for `myAsset` events. */
export class AccountBook {
  readonly #accounts = new Map<string, Map<string, Holding>>();
  readonly #changed = new Map<string, Set<string>>();

  /** Opens the accounts of `initial`; every account gets a KRW line. */
  constructor(initial: InitialBalances) {
    for (const [accountId, currencies] of Object.entries(initial)) {
      const holdings = new Map<string, Holding>([["KRW", ZERO]]);
      for (const [currency, amount] of Object.entries(currencies)) {
        const balance = parseUnits(amount);
        if (balance < 0n) throw new RangeError(`Cannot open account: negative ${currency}`);
        holdings.set(currency, { ...ZERO, balance });
      }
      this.#accounts.set(accountId, holdings);
    }
  }

  /** `true` when `accountId` exists. */
  has(accountId: string): boolean {
    return this.#accounts.has(accountId);
  }

  /** Ids of all accounts. */
  ids(): string[] {
    return [...this.#accounts.keys()];
  }

  /** The holding of `currency` (zero when the account never held it). */
  holding(accountId: string, currency: string): Holding {
    return this.#accounts.get(accountId)?.get(currency) ?? ZERO;
  }

  /** All holdings of an account, KRW first, then in the order they appeared. */
  holdings(accountId: string): Array<readonly [string, Holding]> {
    return [...(this.#accounts.get(accountId) ?? new Map<string, Holding>()).entries()];
  }

  /** Moves `amount` from available to locked (the caller has checked it is available). */
  lock(accountId: string, currency: string, amount: Units): void {
    const h = this.holding(accountId, currency);
    this.#set(accountId, currency, {
      ...h,
      balance: h.balance - amount,
      locked: h.locked + amount,
    });
  }

  /** Moves `amount` from locked back to available. */
  unlock(accountId: string, currency: string, amount: Units): void {
    const h = this.holding(accountId, currency);
    this.#set(accountId, currency, {
      ...h,
      balance: h.balance + amount,
      locked: h.locked - amount,
    });
  }

  /** Removes `amount` from locked funds (they were paid away by a fill). */
  spendLocked(accountId: string, currency: string, amount: Units): void {
    const h = this.holding(accountId, currency);
    const next = { ...h, locked: h.locked - amount };
    this.#set(
      accountId,
      currency,
      next.balance + next.locked === 0n ? { ...next, avgBuyPrice: 0n } : next,
    );
  }

  /** Adds a bought `volume` for `funds` KRW, updating `avg_buy_price` first. */
  creditBuy(accountId: string, currency: string, fill: { volume: Units; funds: Units }): void {
    const h = this.holding(accountId, currency);
    const held = h.balance + h.locked;
    const cost = mulUnits(h.avgBuyPrice, held, "half_up") + fill.funds;
    const avgBuyPrice = divUnits(cost, held + fill.volume, "half_up");
    this.#set(accountId, currency, { ...h, balance: h.balance + fill.volume, avgBuyPrice });
  }

  /** Adds `amount` to the available balance. */
  credit(accountId: string, currency: string, amount: Units): void {
    const h = this.holding(accountId, currency);
    this.#set(accountId, currency, { ...h, balance: h.balance + amount });
  }

  /** Returns and clears the currencies changed per account since the last call. */
  drainChanges(): Map<string, Set<string>> {
    const changes = new Map(this.#changed);
    this.#changed.clear();
    return changes;
  }

  /** The account's lines as `GET /v1/accounts` lists them (KRW always, others when non-zero). */
  accountsJson(accountId: string): AccountJson[] {
    return this.holdings(accountId)
      .filter(([currency, h]) => currency === "KRW" || h.balance !== 0n || h.locked !== 0n)
      .map(([currency]) => this.accountJson(accountId, currency));
  }

  /** One account line (zero when the currency was never held). */
  accountJson(accountId: string, currency: string): AccountJson {
    const h = this.holding(accountId, currency);
    return {
      currency,
      balance: formatUnits(h.balance),
      locked: formatUnits(h.locked),
      avg_buy_price: formatUnits(h.avgBuyPrice),
      avg_buy_price_modified: false,
      unit_currency: "KRW",
    };
  }

  #set(accountId: string, currency: string, next: Holding): void {
    if (next.balance < 0n || next.locked < 0n) {
      throw new RangeError(
        `Cannot update ${accountId}/${currency}: balance and locked must be >= 0: ` +
          `current values are ${formatUnits(next.balance)} and ${formatUnits(next.locked)}`,
      );
    }
    let holdings = this.#accounts.get(accountId);
    if (holdings === undefined) {
      holdings = new Map([["KRW", ZERO]]);
      this.#accounts.set(accountId, holdings);
    }
    holdings.set(currency, next);
    let changed = this.#changed.get(accountId);
    if (changed === undefined) {
      changed = new Set();
      this.#changed.set(accountId, changed);
    }
    changed.add(currency);
  }
}
