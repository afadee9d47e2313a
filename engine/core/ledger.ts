/**
 * The ledger of one market: KRW cash, the coin position, its average price and cost, realized
 * P&L and fees, all exact `Units`. It changes only by applying fills, each at most once, so it
 * always equals the sum of its fills.
 */

import {
  applyBps,
  divUnits,
  formatUnits,
  mulUnits,
  roundToStep,
  SCALE,
  scaledBps,
  type Units,
  unitsToNumber,
} from "./money.ts";
import { err, ok, type Result } from "./result.ts";

/** Upbit's KRW-market fee: 0.05% per side, in basis points. */
export const UPBIT_KRW_FEE_BPS = 5;

/** Upbit's minimum order total on the KRW market: 5,000 KRW. */
export const MIN_ORDER_KRW: Units = 5_000n * SCALE;

/** Upbit's maximum order total on the KRW market: 1,000,000,000 KRW. */
export const MAX_ORDER_KRW: Units = 1_000_000_000n * SCALE;

/** The smallest volume step: 1e-8 of a coin (volumes are floored to 8 decimals). */
export const VOLUME_STEP: Units = 1n;

/** Buy or sell, from our side. */
export type Side = "buy" | "sell";

/** One execution: `funds` = price × volume (KRW, rounded half up to 1e-8); the fee is in KRW. */
export interface Fill {
  /** Unique id of the execution (Upbit's trade uuid, or a simulated one). */
  readonly id: string;
  readonly side: Side;
  readonly price: Units;
  readonly volume: Units;
  readonly funds: Units;
  readonly fee: Units;
  readonly tsMs: number;
}

/**
 * Builds a fill from price and volume: funds = price × volume, fee = funds × feeBps, both rounded
 * half up to 1e-8 KRW.
 */
export function makeFill(
  side: Side,
  options: {
    readonly id: string;
    readonly price: Units;
    readonly volume: Units;
    readonly feeBps: number;
    readonly tsMs: number;
  },
): Fill {
  const { id, price, volume, feeBps, tsMs } = options;
  if (price <= 0n || volume <= 0n) {
    throw new RangeError(
      `Cannot make fill: price and volume must be > 0: current values are ${price}, ${volume}`,
    );
  }
  return fillOf(side, {
    id,
    price,
    volume,
    funds: mulUnits(price, volume, "half_up"),
    feeBps,
    tsMs,
  });
}

/** A fill of `funds` (price × volume, rounded half up) and its fee. */
function fillOf(
  side: Side,
  options: {
    readonly id: string;
    readonly price: Units;
    readonly volume: Units;
    readonly funds: Units;
    readonly feeBps: number;
    readonly tsMs: number;
  },
): Fill {
  const { id, price, volume, funds, feeBps, tsMs } = options;
  return { id, side, price, volume, funds, fee: applyBps(funds, feeBps, "half_up"), tsMs };
}

/** The ledger of one market. */
export interface Ledger {
  readonly initialCash: Units;
  readonly cash: Units;
  readonly qty: Units;
  /** Upbit's `avg_buy_price`: volume-weighted buy price of the held coins, fees excluded. */
  readonly avgPrice: Units;
  /** KRW paid for the held coins, buy fees included (the cost basis for realized P&L). */
  readonly cost: Units;
  readonly realizedPnl: Units;
  readonly fees: Units;
  /** Ids of the fills applied so far. */
  readonly fillIds: FillIds;
}

/**
 * The set of applied fill ids, persistent and cheap when used linearly: each ledger sees the
 * first `size` ids of an insertion-ordered map it shares with its successors, so applying a fill
 * costs O(1) instead of copying the set. Adding to an older snapshot (a branch) copies once,
 * unless the map already holds that very id next: then the branch shares the map as it is (the
 * backtests' ledgers all start from one empty root and apply `bt-0`, `bt-1`, … in order).
 */
export class FillIds {
  readonly #order: Map<string, number>;
  /** `#snapshots[n]`: the set of the map's first n ids, made once (shared like the map). */
  readonly #snapshots: FillIds[];
  /** Number of ids in this set. */
  readonly size: number;

  /** An empty set (the arguments are the class's own: a snapshot of a shared map). */
  constructor(order: Map<string, number> = new Map(), size = 0, snapshots: FillIds[] = []) {
    this.#order = order;
    this.#snapshots = snapshots;
    this.size = size;
    snapshots[size] = this;
  }

  /** `true` when `id` was applied to this ledger. */
  has(id: string): boolean {
    const index = this.#order.get(id);
    return index !== undefined && index < this.size;
  }

  /** This set plus `id`. */
  with(id: string): FillIds {
    const index = this.#order.get(id);
    if (index !== undefined && index < this.size) return this;
    if (index === this.size) {
      return this.#snapshots[this.size + 1] ??
        new FillIds(this.#order, this.size + 1, this.#snapshots);
    }
    if (this.#order.size !== this.size) {
      // A branch off an older snapshot: copy the ids this snapshot sees.
      const order = new Map([...this.#order].filter(([, index]) => index < this.size));
      order.set(id, this.size);
      return new FillIds(order, this.size + 1);
    }
    this.#order.set(id, this.size);
    return new FillIds(this.#order, this.size + 1, this.#snapshots);
  }
}

/** Why a fill could not be applied. */
export type LedgerError =
  | { readonly kind: "duplicate_fill"; readonly id: string }
  | { readonly kind: "insufficient_cash"; readonly need: Units; readonly have: Units }
  | { readonly kind: "insufficient_position"; readonly need: Units; readonly have: Units };

/**
 * A fresh ledger holding `cash` KRW and no coin; `fillIds`: an empty set to grow from (ledgers
 * that apply the same ids in the same order share one root's map).
 */
export function openLedger(cash: Units, fillIds: FillIds = new FillIds()): Ledger {
  if (cash < 0n) {
    throw new RangeError(`Cannot open ledger: cash must be >= 0: current value is ${cash}`);
  }
  if (fillIds.size !== 0) {
    throw new RangeError(
      `Cannot open ledger: fill ids must be empty: current size is ${fillIds.size}`,
    );
  }
  return {
    initialCash: cash,
    cash,
    qty: 0n,
    avgPrice: 0n,
    cost: 0n,
    realizedPnl: 0n,
    fees: 0n,
    fillIds,
  };
}

/**
 * Applies one fill. A fill whose id was applied before is refused as `duplicate_fill` (applying
 * it twice changes nothing); cash and position never go negative.
 */
export function applyFill(ledger: Ledger, fill: Fill): Result<Ledger, LedgerError> {
  if (ledger.fillIds.has(fill.id)) return err({ kind: "duplicate_fill", id: fill.id });
  if (fill.side === "buy") {
    const need = fill.funds + fill.fee;
    if (need > ledger.cash) return err({ kind: "insufficient_cash", need, have: ledger.cash });
    // Flat, the position (and its cost) is 0: the buy is all of it, no BigInt sums needed.
    const flat = ledger.qty === 0n && ledger.cost === 0n;
    const qty = flat ? fill.volume : ledger.qty + fill.volume;
    const heldFunds = flat
      ? fill.funds
      : mulUnits(ledger.avgPrice, ledger.qty, "half_up") + fill.funds;
    return ok({
      initialCash: ledger.initialCash,
      cash: ledger.cash - need,
      qty,
      avgPrice: divUnits(heldFunds, qty, "half_up"),
      cost: flat ? need : ledger.cost + need,
      realizedPnl: ledger.realizedPnl,
      fees: ledger.fees + fill.fee,
      fillIds: ledger.fillIds.with(fill.id),
    });
  }
  if (fill.volume > ledger.qty) {
    return err({ kind: "insufficient_position", need: fill.volume, have: ledger.qty });
  }
  const qty = fill.volume === ledger.qty ? 0n : ledger.qty - fill.volume;
  // The cost leaves in proportion to the volume sold; the last sale takes what is left.
  const costOut = qty === 0n ? ledger.cost : (ledger.cost * fill.volume) / ledger.qty;
  const proceeds = fill.funds - fill.fee;
  return ok({
    initialCash: ledger.initialCash,
    cash: ledger.cash + proceeds,
    qty,
    avgPrice: qty === 0n ? 0n : ledger.avgPrice,
    cost: qty === 0n ? 0n : ledger.cost - costOut,
    realizedPnl: ledger.realizedPnl + proceeds - costOut,
    fees: ledger.fees + fill.fee,
    fillIds: ledger.fillIds.with(fill.id),
  });
}

/** Marks the ledger to `price` (float, for metrics and display): cash + qty × price. */
export function equityAt(ledger: Ledger, price: number): number {
  return unitsToNumber(ledger.cash) + unitsToNumber(ledger.qty) * price;
}

/** Why an order was not placed (expected outcomes are data). */
export type SizingDenial =
  | { readonly kind: "under_min_total"; readonly total: Units }
  | { readonly kind: "no_position" };

/** A sized order: volume floored to 8 decimals and the KRW total it spends or receives. */
export interface SizedOrder {
  readonly volume: Units;
  readonly total: Units;
}

/**
 * Sizes a buy at `price`: spend `budgetPct` of the cash, keeping the fee on top (as Upbit
 * reserves it), volume floored to 8 decimals; refused under the 5,000 KRW minimum.
 */
export function sizeBuy(
  ledger: Ledger,
  options: { readonly price: Units; readonly feeBps: number; readonly budgetPct: number },
): Result<SizedOrder, SizingDenial> {
  const { price, feeBps, budgetPct } = options;
  const budget = applyBps(ledger.cash, budgetPct * 100, "floor");
  // funds × (1 + fee) ≤ budget  ⇒  funds ≤ budget ÷ (1 + fee)
  const maxFunds = (budget * 100_000_000n) / (100_000_000n + scaledBps(feeBps));
  let volume = roundToStep(divUnits(maxFunds, price, "floor"), VOLUME_STEP, "floor");
  // Rounding funds and fee half up can overshoot the cash by a few units: step the volume down
  // by at least the overshoot's worth (one step at a time would crawl at tiny prices).
  while (volume > 0n) {
    const funds = mulUnits(price, volume, "half_up");
    const excess = funds + applyBps(funds, feeBps, "half_up") - ledger.cash;
    if (excess <= 0n) break;
    const steps = divUnits(excess, price, "ceil");
    volume -= steps > VOLUME_STEP ? steps : VOLUME_STEP;
  }
  if (volume < 0n) volume = 0n;
  if (mulUnits(price, volume, "half_up") > MAX_ORDER_KRW) {
    volume = divUnits(MAX_ORDER_KRW, price, "floor");
  }
  const total = mulUnits(price, volume, "half_up");
  if (total < MIN_ORDER_KRW) return err({ kind: "under_min_total", total });
  return ok({ volume, total });
}

/** Sizes a sell of the whole position at `price`; refused under the 5,000 KRW minimum. */
export function sizeSell(ledger: Ledger, price: Units): Result<SizedOrder, SizingDenial> {
  const total = sellTotal(ledger, price);
  return typeof total === "bigint" ? ok({ volume: ledger.qty, total }) : err(total);
}

/**
 * The fill of selling the whole position at `price` (`makeFill` of `sizeSell`'s volume, whose
 * total is the fill's funds: price × volume is computed once), or `sizeSell`'s refusal.
 */
export function sellAll(
  ledger: Ledger,
  options: {
    readonly id: string;
    readonly price: Units;
    readonly feeBps: number;
    readonly tsMs: number;
  },
): Result<Fill, SizingDenial> {
  const { id, price, feeBps, tsMs } = options;
  const funds = sellTotal(ledger, price);
  if (typeof funds !== "bigint") return err(funds);
  // Volume > 0 and funds >= 5,000 KRW: the price is > 0, as makeFill requires.
  return ok(fillOf("sell", { id, price, volume: ledger.qty, funds, feeBps, tsMs }));
}

/** The KRW total of selling the whole position at `price`, or why it cannot be sold. */
function sellTotal(ledger: Ledger, price: Units): Units | SizingDenial {
  if (ledger.qty <= 0n) return { kind: "no_position" };
  const total = mulUnits(price, ledger.qty, "half_up");
  if (total < MIN_ORDER_KRW) return { kind: "under_min_total", total };
  return total;
}

/** A one-line description of a denial, for signals that could not be executed. */
export function describeDenial(denial: SizingDenial): string {
  switch (denial.kind) {
    case "under_min_total":
      return `order total ${formatUnits(denial.total)} KRW is under the 5,000 KRW minimum`;
    case "no_position":
      return "no position to sell";
  }
}
