/**
 * The strategy interface: one closed candle in, one signal out, with a reason a person can read.
 * Strategies are deterministic and keep only their own indicator state; the engine decides what
 * to do with a signal (risk gates, sizing, execution).
 */

import type { z } from "zod";
import type { Candle } from "../candle.ts";

/** What a strategy asks for at a candle's close. */
export type SignalAction = "buy" | "sell" | "hold";

/** A strategy's answer for one closed candle. */
export interface Signal {
  readonly action: SignalAction;
  /** Why, in words a trader understands (e.g. "close 41,000,000 < lower band 41,200,000"). */
  readonly reason: string;
}

/** Whether the account holds the market's coin when the strategy is asked. */
export type Holding = "flat" | "long";

/** A running strategy instance. */
export interface Strategy {
  /** Short name with parameters, e.g. `bb(20, 2.5)`. */
  readonly name: string;
  /** 1-based number of the first candle whose signal can be anything but `hold`. */
  readonly warmup: number;
  /** Feeds one closed candle and returns the signal for its close. */
  update(candle: Candle, holding: Holding): Signal;
}

/** A strategy kind: its name, its validated parameters and a factory. */
export interface StrategyDefinition<P> {
  readonly id: string;
  readonly summary: string;
  readonly params: z.ZodType<P>;
  create(params: P): Strategy;
}

/** The signal returned while nothing happens (shared, so holding allocates nothing). */
export const HOLD: Signal = Object.freeze({ action: "hold", reason: "no signal" });

/** The signal returned while indicators are still warming up. */
export const WARMING_UP: Signal = Object.freeze({ action: "hold", reason: "warming up" });

/**
 * Formats a price for a signal reason (`41,230,000`, `721.3`): thousands separators, the float's
 * own shortest digits (cheaper than `Intl`, which matters in a backtest's hot loop).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(formatPrice(41230000), "41,230,000");
 * assert.equal(formatPrice(-1234.5), "-1,234.5");
 * ```
 */
export function formatPrice(price: number): string {
  const text = String(Math.abs(price));
  if (text.includes("e")) return String(price);
  const dot = text.indexOf(".");
  const whole = dot < 0 ? text : text.slice(0, dot);
  let grouped = "";
  for (let end = whole.length; end > 0; end -= 3) {
    grouped = whole.slice(Math.max(0, end - 3), end) + (grouped === "" ? "" : "," + grouped);
  }
  return (price < 0 ? "-" : "") + grouped + (dot < 0 ? "" : text.slice(dot));
}
