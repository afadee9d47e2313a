/**
 * The shape of an order book, shared by everything that reads one: the paper exchange fills
 * against it, the sandbox's replay builds it. All amounts are exact `Units`.
 */

import type { Units } from "./money.ts";

/** One price level of an order book. */
export interface BookLevel {
  readonly price: Units;
  readonly size: Units;
}

/** An order book snapshot: asks ascending from the best, bids descending from the best. */
export interface BookSnapshot {
  readonly market: string;
  readonly tsMs: number;
  readonly asks: readonly BookLevel[];
  readonly bids: readonly BookLevel[];
}
