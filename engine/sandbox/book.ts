/**
 * A seeded order book around the last replayed trade, on Upbit's current KRW tick grid.
 *
 * The book is a pure function of the last trade (and the run's seed): the same trade always gives
 * the same book, so REST, WebSocket and the matching engine all see one book. The best quote
 * sits on the taker's side of the last trade (a BID taker lifted the ask: best ask = its price).
 */

import { roundToStep, type Units } from "../core/money.ts";
import { krwTickSize } from "../core/tick_size.ts";
import type { BookLevel, BookSnapshot, TakerSide } from "./feed.ts";
import { normal, rngFor } from "../core/prng.ts";

/** The most levels a book carries per side (Upbit's maximum). */
export const MAX_BOOK_LEVELS = 30;

/** What a book is built from. */
export interface BookInput {
  readonly market: string;
  readonly price: Units;
  readonly side: TakerSide;
  readonly sequentialId: number;
  readonly tsMs: number;
  /** A typical trade size (base units); level sizes scatter around a multiple of it. */
  readonly typicalSize: Units;
}

/** Sizes are quoted to 1e-4 of a coin (1e-8 for tiny sizes). */
const SIZE_STEP: Units = 10_000n;

/** Builds the book for `input` with `levels` levels per side (1–30). */
export function buildBook(
  input: BookInput,
  options: { seed: number; levels: number },
): BookSnapshot {
  const levels = Math.max(1, Math.min(MAX_BOOK_LEVELS, options.levels));
  const at = { atMs: input.tsMs, market: input.market };
  const rng = rngFor(options.seed, input.market, input.sequentialId, "book");
  const tickAt = (p: Units) => krwTickSize(p, at);
  const tickBelow = (p: Units) => krwTickSize(p > 1n ? p - 1n : p, at);
  let bestAsk: Units;
  let bestBid: Units;
  if (input.side === "BID") {
    bestAsk = roundToStep(input.price, tickAt(input.price), "ceil");
    bestBid = bestAsk - tickBelow(bestAsk);
  } else {
    bestBid = roundToStep(input.price, tickAt(input.price), "floor");
    if (bestBid <= 0n) bestBid = tickAt(input.price);
    bestAsk = bestBid + tickAt(bestBid);
  }
  const base = input.typicalSize > 0n ? input.typicalSize : SIZE_STEP;
  const size = (i: number): Units => {
    const f = Math.exp(normal(rng) * 0.9) * (1 + i * 0.15) * 3;
    const raw = BigInt(Math.max(1, Math.round(Number(base) * f)));
    const step = raw > SIZE_STEP * 10n ? SIZE_STEP : 1n;
    const s = roundToStep(raw, step, "half_up");
    return s > 0n ? s : step;
  };
  const asks: BookLevel[] = [];
  const bids: BookLevel[] = [];
  let a = bestAsk;
  let b = bestBid;
  for (let i = 0; i < levels; i++) {
    asks.push({ price: a, size: size(i) });
    a += tickAt(a);
    if (b > 0n) {
      bids.push({ price: b, size: size(i) });
      b -= tickBelow(b);
    }
  }
  return { market: input.market, tsMs: input.tsMs, asks, bids };
}

/**
 * Groups a book's prices into `level`-wide buckets (Upbit's `level` option): asks round up,
 * bids round down, sizes of merged prices add up. `level` 0 returns the book unchanged.
 */
export function groupBook(book: BookSnapshot, level: Units): BookSnapshot {
  if (level <= 0n) return book;
  const merge = (side: readonly BookLevel[], rounding: "ceil" | "floor") => {
    const out: BookLevel[] = [];
    for (const l of side) {
      const price = roundToStep(l.price, level, rounding);
      const last = out[out.length - 1];
      if (last !== undefined && last.price === price) {
        out[out.length - 1] = { price, size: last.size + l.size };
      } else out.push({ price, size: l.size });
    }
    return out;
  };
  return { ...book, asks: merge(book.asks, "ceil"), bids: merge(book.bids, "floor") };
}
