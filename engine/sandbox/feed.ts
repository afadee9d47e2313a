/**
 * The contract between the sandbox's market replay (trades, order book, clock) and its matching
 * engine: the replay publishes what the market does; the exchange reads the book and listens to
 * trades to fill resting orders. All amounts are exact `Units` (see `engine/core/money.ts`).
 */

import type { Units } from "../core/money.ts";
import type { BookLevel, BookSnapshot } from "../core/order_book.ts";

export type { BookLevel, BookSnapshot };

/** Which side took liquidity in a replayed trade, as Upbit writes it (`ask_bid`). */
export type TakerSide = "ASK" | "BID";

/** One replayed trade on the public tape. */
export interface ReplayTrade {
  readonly market: string;
  /** Trade time, UTC epoch ms (on the sandbox clock, already shifted to "today"). */
  readonly tsMs: number;
  readonly price: Units;
  readonly volume: Units;
  readonly side: TakerSide;
  /** Strictly increasing per market, like Upbit's `sequential_id`. */
  readonly sequentialId: number;
}

/** What the matching engine needs from the market replay. */
export interface MarketFeed {
  /** Markets the replay serves, e.g. `["KRW-BTC", "KRW-ETH"]`. */
  readonly markets: readonly string[];
  /** The sandbox clock, UTC epoch ms. */
  nowMs(): number;
  /** The current book of `market` (undefined for an unknown market). */
  book(market: string): BookSnapshot | undefined;
  /** Calls `listener` for every trade as the clock passes it; returns an unsubscribe function. */
  onTrade(listener: (trade: ReplayTrade) => void): () => void;
}
