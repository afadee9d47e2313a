/**
 * The decision core shared by every mode: what to do with a strategy signal at a candle's close,
 * and at what price a market order is assumed to fill. The backtester and the live loop call
 * these same functions; only the loop around them differs.
 */

import type { ExitReason } from "./risk.ts";
import type { Signal } from "./strategies/strategy.ts";
import { type DayGuard, type EntryDenial, entryDenial } from "./risk.ts";
import { applyBps, scaledBps, type Units, unitsFromNumber } from "./money.ts";
import { roundToTick } from "./tick_size.ts";
import type { Side } from "./ledger.ts";
import { formatIsoUtc } from "./time.ts";

/** What the engine does at a candle's close. */
export type Decision =
  | { readonly kind: "none" }
  | { readonly kind: "enter"; readonly reason: string }
  | { readonly kind: "exit"; readonly exit: ExitReason; readonly reason: string }
  | { readonly kind: "skip"; readonly reason: string };

const NONE: Decision = Object.freeze({ kind: "none" });

/** Facts about the account and the engine at the moment of a decision. */
export interface DecisionContext {
  readonly holding: "flat" | "long";
  readonly guard: DayGuard;
  readonly nowMs: number;
  readonly cooldownUntilMs: number;
  /** Set when new entries are switched off (kill switch, safe mode, stale data), with why. */
  readonly entriesBlocked?: string;
}

/**
 * Turns a signal into a decision: a sell while long exits; a buy while flat enters unless a risk
 * gate refuses it, in which case the signal is skipped with the reason. Exits are never blocked.
 */
export function decideOnClose(signal: Signal, context: DecisionContext): Decision {
  if (signal.action === "hold") return NONE;
  if (signal.action === "sell") {
    return context.holding === "long"
      ? { kind: "exit", exit: "signal", reason: signal.reason }
      : NONE;
  }
  if (context.holding === "long") return NONE;
  const blocked = context.entriesBlocked ?? signal.entryBlock;
  if (blocked !== undefined) {
    return { kind: "skip", reason: `${signal.reason}; not entered: ${blocked}` };
  }
  const denial = entryDenial(context.guard, context);
  if (denial !== null) {
    return {
      kind: "skip",
      reason: `${signal.reason}; not entered: ${describeEntryDenial(denial)}`,
    };
  }
  return { kind: "enter", reason: signal.reason };
}

/** Describes why the risk manager refused an entry. */
export function describeEntryDenial(denial: EntryDenial): string {
  const until = formatIsoUtc(denial.untilMs).slice(0, 16).replace("T", " ") + " UTC";
  switch (denial.kind) {
    case "daily_loss_limit":
      return `daily loss limit reached, entries blocked until ${until}`;
    case "cooldown":
      return `cooling down after a stop loss until ${until}`;
  }
}

/**
 * The price a market order is assumed to fill at: the reference price moved against us by the
 * slippage, then rounded onto the tick grid of `atMs` against us too (buys up, sells down).
 */
export function marketFillPrice(
  side: Side,
  options: {
    readonly reference: number;
    readonly slippageBps: number;
    readonly atMs: number;
    readonly market: string;
  },
): Units {
  const { reference, slippageBps, atMs, market } = options;
  const rounding = side === "buy" ? "ceil" : "floor";
  const bps = side === "buy" ? 10_000 + slippageBps : 10_000 - slippageBps;
  // A whole-won reference k is k × 1e8 Units, moved by bps exactly to k × (bps × 1e4): the same
  // value as `applyBps` gives (its division by 1e8 is exact), with two BigInt operations, not five.
  const moved = Number.isSafeInteger(reference)
    ? BigInt(reference) * scaledBps(bps)
    : applyBps(unitsFromNumber(reference), bps, rounding);
  return roundToTick(moved, { atMs, market, rounding });
}
