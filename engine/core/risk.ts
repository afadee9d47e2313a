/**
 * The risk manager: stop loss, take profit, trailing stop, daily loss limit and the cooldown after
 * a stop loss. Pure functions over small readonly records, shared by the backtester (one candle's
 * high/low at a time) and the live loop (every price update is a one-price bar).
 */

import { z } from "zod";
import { DAY_MS, upbitDayStartMs } from "./candle.ts";
import { applyBps, type Units, unitsToNumber } from "./money.ts";
import { roundToTick } from "./tick_size.ts";

/** Risk rules, in percent (0 turns a rule off). */
export interface RiskRules {
  /** Exit when the price falls this far below the entry (default 5). */
  readonly stopLossPct: number;
  /** Exit when the price rises this far above the entry (default 10). */
  readonly takeProfitPct: number;
  /** Block new entries for the rest of the Upbit day after losing this much of the day's starting equity (default 10). */
  readonly maxDailyLossPct: number;
  /** Exit when the price falls this far below its highest since entry (default 0 = off). */
  readonly trailingStopPct: number;
  /** No new entry for this long after a stop loss (default 0 = none). */
  readonly cooldownMs: number;
}

/** The design's validated rules: stop −5%, target +10%, daily limit −10%, no trailing stop. */
export const DEFAULT_RISK_RULES: RiskRules = Object.freeze({
  stopLossPct: 5,
  takeProfitPct: 10,
  maxDailyLossPct: 10,
  trailingStopPct: 0,
  cooldownMs: 0,
});

/** zod schema for risk rules (percentages 0–100, 0 = off). */
export const RISK_RULES_SCHEMA: z.ZodType<RiskRules> = z.object({
  stopLossPct: z.number().min(0).max(99),
  takeProfitPct: z.number().min(0).max(10_000),
  maxDailyLossPct: z.number().min(0).max(100),
  trailingStopPct: z.number().min(0).max(99),
  cooldownMs: z.number().int().min(0),
});

/** Why a position was closed. */
export type ExitReason = "stop_loss" | "take_profit" | "trailing_stop" | "signal";

/** The exit levels of an open position, fixed at entry (prices on the tick grid). */
export interface RiskLevels {
  /** Stop price in Units (0 when the stop is off). */
  readonly stop: Units;
  /** Target price in Units (0 when the target is off). */
  readonly target: Units;
  /** Float copies for the hot loop. */
  readonly stopPx: number;
  readonly targetPx: number;
  /** Highest price seen since entry (for the trailing stop). */
  readonly highestPx: number;
}

/** A price range to check exits against: a candle, or a single price (open = high = low). */
export interface PriceBar {
  readonly open: number;
  readonly high: number;
  readonly low: number;
}

/** A triggered exit: why, and the reference price before slippage. */
export interface ExitTrigger {
  readonly reason: Exclude<ExitReason, "signal">;
  readonly price: number;
}

/**
 * Sets the exit levels for an entry at `entryPrice` (the average fill price, Units) on `atMs`.
 * The stop is rounded down to the tick and the target up, so neither is kinder than the rule.
 */
export function riskLevels(
  entryPrice: Units,
  options: { readonly rules: RiskRules; readonly atMs: number; readonly market: string },
): RiskLevels {
  const { rules, atMs, market } = options;
  const stop = rules.stopLossPct > 0
    ? roundToTick(applyBps(entryPrice, 10_000 - rules.stopLossPct * 100, "floor"), {
      atMs,
      market,
      rounding: "floor",
    })
    : 0n;
  const target = rules.takeProfitPct > 0
    ? roundToTick(applyBps(entryPrice, 10_000 + rules.takeProfitPct * 100, "ceil"), {
      atMs,
      market,
      rounding: "ceil",
    })
    : 0n;
  return {
    stop,
    target,
    stopPx: stop > 0n ? unitsToNumber(stop) : Number.NaN,
    targetPx: target > 0n ? unitsToNumber(target) : Number.NaN,
    highestPx: unitsToNumber(entryPrice),
  };
}

/** The trailing stop level for `levels` (NaN when the trailing stop is off). */
export function trailingStopPx(levels: RiskLevels, rules: RiskRules): number {
  return rules.trailingStopPct > 0
    ? (levels.highestPx * (100 - rules.trailingStopPct)) / 100
    : Number.NaN;
}

/**
 * Checks whether `bar` touches an exit level. A bar that opens beyond a level exits at the open
 * (a gap); when the stop (or trailing stop) and the target both lie inside one bar, the worse
 * outcome (the stop) is assumed to have come first. The trailing stop uses the highest price of
 * earlier bars only: within one bar the order of high and low is unknown.
 */
export function checkExit(levels: RiskLevels, rules: RiskRules, bar: PriceBar): ExitTrigger | null {
  const trail = trailingStopPx(levels, rules);
  // The effective stop is the higher of the fixed and the trailing stop.
  let stopPx = levels.stopPx;
  let stopReason: ExitTrigger["reason"] = "stop_loss";
  if (trail > stopPx || (Number.isNaN(stopPx) && !Number.isNaN(trail))) {
    stopPx = trail;
    stopReason = "trailing_stop";
  }
  const targetPx = levels.targetPx;
  let reason: ExitTrigger["reason"] = stopReason;
  let price: number;
  if (bar.open <= stopPx) {
    price = bar.open;
  } else if (bar.open >= targetPx) {
    reason = "take_profit";
    price = bar.open;
  } else if (bar.low <= stopPx) {
    price = stopPx;
  } else if (bar.high >= targetPx) {
    reason = "take_profit";
    price = targetPx;
  } else {
    return null;
  }
  // One object literal for every exit: a rare one (a gap through a level), first met after V8
  // compiled the loop, finds it known instead of throwing the compiled code away.
  return { reason, price };
}

/** Returns `levels` with the highest price raised to `high` (the same object when unchanged). */
export function trackHighest(levels: RiskLevels, high: number): RiskLevels {
  if (high <= levels.highestPx) return levels;
  // A literal, not a spread: this runs on every new high of a backtest's hot loop.
  const { stop, target, stopPx, targetPx } = levels;
  return { stop, target, stopPx, targetPx, highestPx: high };
}

/** The daily loss guard: the Upbit day, its starting equity and whether entries are blocked. */
export interface DayGuard {
  readonly dayStartMs: number;
  readonly startEquity: number;
  readonly blocked: boolean;
}

/**
 * Rolls the guard into the Upbit day of `nowMs` (00:00 UTC = 09:00 KST): a new day starts with
 * `equity` as its starting equity and entries unblocked.
 */
export function rollDay(guard: DayGuard | null, nowMs: number, equity: number): DayGuard {
  const dayStartMs = upbitDayStartMs(nowMs);
  if (guard !== null && guard.dayStartMs === dayStartMs) return guard;
  return { dayStartMs, startEquity: equity, blocked: false };
}

/** The equity at or below which the day's entries are blocked (−Infinity when the rule is off). */
export function dailyLossFloor(guard: DayGuard, rules: RiskRules): number {
  if (rules.maxDailyLossPct <= 0) return -Infinity;
  // Multiply first, divide once: an exact −X% of a whole amount must reach the floor.
  return (guard.startEquity * (100 - rules.maxDailyLossPct)) / 100;
}

/** Marks the guard blocked once `equity` has lost `maxDailyLossPct` of the day's start. */
export function checkDailyLoss(guard: DayGuard, rules: RiskRules, equity: number): DayGuard {
  if (guard.blocked) return guard;
  return equity <= dailyLossFloor(guard, rules) ? { ...guard, blocked: true } : guard;
}

/** Why a new entry is refused (expected outcomes are data). */
export type EntryDenial =
  | { readonly kind: "daily_loss_limit"; readonly untilMs: number }
  | { readonly kind: "cooldown"; readonly untilMs: number };

/** Checks the entry gates of the risk manager at `nowMs`; `null` means an entry is allowed. */
export function entryDenial(
  guard: DayGuard,
  options: { readonly nowMs: number; readonly cooldownUntilMs: number },
): EntryDenial | null {
  if (guard.blocked) return { kind: "daily_loss_limit", untilMs: guard.dayStartMs + DAY_MS };
  if (options.nowMs < options.cooldownUntilMs) {
    return { kind: "cooldown", untilMs: options.cooldownUntilMs };
  }
  return null;
}
