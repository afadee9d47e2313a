/**
 * The strategy interface: one closed candle in, one signal out, with a reason a person can read.
 * Strategies are deterministic and keep only their own indicator state; the engine decides what
 * to do with a signal (risk gates, sizing, execution).
 */

import { z } from "zod";
import type { Candle } from "../candle.ts";

/** What a strategy asks for at a candle's close. */
export type SignalAction = "buy" | "sell" | "hold";

/** A strategy's answer for one closed candle. */
export interface Signal {
  readonly action: SignalAction;
  /** Why, in words a trader understands (e.g. "close 41,000,000 < lower band 41,200,000"). */
  readonly reason: string;
  /** Set on a buy that an entry filter refuses, with why (the engine skips the entry). */
  readonly entryBlock?: string;
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

/** A whole-number parameter in [min, max]; every refusal reads "must be ..." like the flags'. */
export function wholeParam(min: number, max: number): z.ZodNumber {
  return z.number().int("must be a whole number").min(min, `must be >= ${min}`)
    .max(max, `must be <= ${max}`);
}

/** A number parameter in [min, max] (`min` 0 exclusive when `positive`), "must be ..." wording. */
export function numberParam(min: number, max: number, positive = false): z.ZodNumber {
  const n = positive
    ? z.number().positive(`must be > ${min}`)
    : z.number().min(min, `must be >= ${min}`);
  return n.max(max, `must be <= ${max}`);
}
