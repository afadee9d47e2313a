/**
 * A run beside its backtest, leg by leg: the bot's orders (one leg per order) and the backtest's
 * fills over the candles the bot recorded, paired by side within one strategy candle
 * (or answering the same signal). A pair is identical when both were decided on the same
 * 1-minute candle (the bot's risk exit on the price that triggered it, its strategy order at the
 * end of the signal's candle; the backtest's legs where they fill); its price difference is given
 * in basis points, and how many also filled in the same minute is counted apart. Every leg of one side only gets a named cause:
 *
 * - `near_miss`: both held the same position but their entry prices differed, so a candle's low
 *   (or high) fell between the two stop (or target) levels: one exited, the other did not;
 * - `still_holding` / `was_flat`: the other side was still in (or already out of) a position, the
 *   consequence of an earlier difference listed above it;
 * - `warm_up`: before the backtest's strategy had seen enough recorded candles;
 * - `no_candles`: the bot recorded no candle around the leg (it was down or disconnected), or the
 *   leg is outside the recorded candles;
 * - `manual`: an operator's sell;
 * - `unexplained`: none of the above (should not happen: a test fails on it).
 */

import type { ExitKind, Leg } from "./daily.ts";
import { type Units, unitsToNumber } from "./money.ts";
import { riskLevels, type RiskRules } from "./risk.ts";

const MINUTE_MS = 60_000;

/** A leg with what made it (an entry, or the exit's kind). */
export interface TaggedLeg extends Leg {
  readonly kind: "entry" | ExitKind;
  /** The start of the strategy candle whose signal the leg answers (absent: unknown or a risk exit). */
  readonly signalMs?: number;
  /**
   * When the leg was decided, if not when it filled: the price that triggered a risk exit, or
   * the end of the signal's candle (a live order fills moments later).
   */
  readonly decidedMs?: number;
}

/** Why a leg has no counterpart. */
export type Cause =
  | {
    readonly kind: "near_miss";
    readonly level: "stop" | "target";
    readonly atMs: number;
    readonly botLevel: Units;
    readonly backtestLevel: Units;
    /** The candle's low (stop) or high (target) that fell between the two levels. */
    readonly extreme: number;
    /** How far apart the two levels are, in bps of the backtest's. */
    readonly bps: number;
  }
  | { readonly kind: "still_holding"; readonly who: "bot" | "backtest"; readonly sinceMs: number }
  | { readonly kind: "was_flat"; readonly who: "bot" | "backtest" }
  | { readonly kind: "warm_up"; readonly untilMs: number }
  | { readonly kind: "no_candles"; readonly fromMs: number; readonly toMs: number }
  | { readonly kind: "manual" }
  | {
    /** The round trip ended by different exits with no level split between them (e.g. a stop on a price the candles did not record). */
    readonly kind: "other_exit";
    readonly bot: TaggedLeg["kind"];
    readonly backtest: TaggedLeg["kind"];
  }
  | {
    /** The same decision, filled in another minute: `who` filled `ms` later. */
    readonly kind: "late";
    readonly who: "bot" | "backtest";
    readonly ms: number;
  }
  | {
    /** The other side's strategy signalled on that candle, but it did not act: why. */
    readonly kind: "skipped";
    readonly who: "bot" | "backtest";
    readonly reason: string;
  }
  | {
    /** The other side's strategy gave no such signal on the candle (it saw other candles). */
    readonly kind: "no_signal";
    readonly who: "bot" | "backtest";
    readonly bucketMs: number;
  }
  | { readonly kind: "unexplained" };

/** A strategy signal one side recorded on a candle (keyed by the candle's start). */
export interface SignalNote {
  readonly action: "buy" | "sell";
  /** Undefined when acted on; else why not. */
  readonly skipped?: string;
}

/** One row of the comparison. */
export interface CompareRow {
  readonly market: string;
  readonly side: "bid" | "ask";
  readonly status: "identical" | "matched" | "bot_only" | "backtest_only";
  readonly bot?: TaggedLeg;
  readonly backtest?: TaggedLeg;
  /** Bot price − backtest price, in bps of the backtest's (pairs only). */
  readonly bps?: number;
  readonly cause?: Cause;
}

/** What one market's comparison needs. */
export interface CompareInput {
  readonly market: string;
  readonly rules: RiskRules;
  /** The strategy's candle length (the pairing tolerance). */
  readonly tfMs: number;
  /** The recorded 1-minute candles (sorted). */
  readonly minutes: readonly { startMs: number; high: number; low: number }[];
  readonly bot: readonly TaggedLeg[];
  readonly backtest: readonly TaggedLeg[];
  /** Before this, the backtest's strategy was still warming up. */
  readonly warmUntilMs: number;
  /** The signals each side recorded, by candle start (absent: not known). */
  readonly botSignals?: ReadonlyMap<number, SignalNote>;
  readonly backtestSignals?: ReadonlyMap<number, SignalNote>;
}

interface Trip {
  readonly entry: TaggedLeg | undefined;
  readonly exit: TaggedLeg | undefined;
}

/** Entries and exits paired in time order (an exit with no entry before it: held at the start). */
function tripsOf(legs: readonly TaggedLeg[]): Trip[] {
  const trips: Trip[] = [];
  let entry: TaggedLeg | undefined;
  for (const leg of [...legs].sort((a, b) => a.tsMs - b.tsMs)) {
    if (leg.side === "bid") {
      if (entry !== undefined) trips.push({ entry, exit: undefined });
      entry = leg;
    } else {
      trips.push({ entry, exit: leg });
      entry = undefined;
    }
  }
  if (entry !== undefined) trips.push({ entry, exit: undefined });
  return trips;
}

function tripOf(trips: readonly Trip[], leg: TaggedLeg): Trip | undefined {
  return trips.find((t) => t.entry === leg || t.exit === leg);
}

/** The trip of `trips` holding a position at `tsMs` (entered before, not yet out). */
function holdingAt(trips: readonly Trip[], tsMs: number): Trip | undefined {
  return trips.find((t) =>
    t.entry !== undefined && t.entry.tsMs < tsMs && (t.exit === undefined || t.exit.tsMs > tsMs)
  );
}

/** Signed difference of `a` from `b` in bps of `b`. */
function bpsOf(a: Units, b: Units): number {
  const bf = unitsToNumber(b);
  return bf === 0 ? 0 : ((unitsToNumber(a) - bf) / bf) * 10_000;
}

/**
 * Pairs the two sides' legs: entries answering the same signal (or, when a side's signal is
 * unknown, the nearest within one strategy candle); then the exits of each pair of entries (the
 * same round trip, whenever each ended); then what is left, the nearest within one candle.
 */
function pairLegs(
  input: CompareInput,
  botTrips: readonly Trip[],
  btTrips: readonly Trip[],
): [TaggedLeg, TaggedLeg][] {
  const used = new Set<TaggedLeg>();
  const pairs: [TaggedLeg, TaggedLeg][] = [];
  const take = (a: TaggedLeg, b: TaggedLeg) => {
    used.add(a);
    used.add(b);
    pairs.push([a, b]);
  };
  const nearest = (legs: readonly TaggedLeg[], others: readonly TaggedLeg[]) => {
    const candidates: [number, TaggedLeg, TaggedLeg][] = [];
    for (const a of legs) {
      for (const b of others) {
        if (a.side !== b.side || used.has(a) || used.has(b)) continue;
        const sameSignal = a.signalMs !== undefined && a.signalMs === b.signalMs;
        const d = Math.abs(a.tsMs - b.tsMs);
        if (sameSignal) candidates.push([d - 1e15, a, b]);
        else if (d <= input.tfMs) candidates.push([d, a, b]);
      }
    }
    candidates.sort((x, y) => x[0] - y[0]);
    for (const [, a, b] of candidates) if (!used.has(a) && !used.has(b)) take(a, b);
  };
  nearest(
    input.bot.filter((l) => l.side === "bid"),
    input.backtest.filter((l) => l.side === "bid"),
  );
  for (const [a, b] of [...pairs]) {
    const x = tripOf(botTrips, a)?.exit;
    const y = tripOf(btTrips, b)?.exit;
    if (x !== undefined && y !== undefined && !used.has(x) && !used.has(y)) take(x, y);
  }
  nearest(input.bot, input.backtest);
  return pairs;
}

/** Compares one market's legs; rows in time order. */
export function compareLegs(input: CompareInput): CompareRow[] {
  const { market } = input;
  const botTrips = tripsOf(input.bot);
  const btTrips = tripsOf(input.backtest);
  const pairs = pairLegs(input, botTrips, btTrips);
  const rows: CompareRow[] = [];
  const partnerOf = new Map<TaggedLeg, TaggedLeg>();
  for (const [b, t] of pairs) {
    partnerOf.set(b, t);
    partnerOf.set(t, b);
  }
  for (const [b, t] of pairs) {
    const decided = (l: TaggedLeg) => Math.floor((l.decidedMs ?? l.tsMs) / MINUTE_MS);
    const same = decided(b) === decided(t);
    const row = { market, side: b.side, bot: b, backtest: t, bps: bpsOf(b.price, t.price) };
    if (same) rows.push({ ...row, status: "identical" });
    else {rows.push({
        ...row,
        status: "matched",
        cause: pairCause(input, b, t, { botTrips, btTrips }),
      });}
  }
  for (const leg of input.bot) {
    if (partnerOf.has(leg)) continue;
    rows.push({
      market,
      side: leg.side,
      status: "bot_only",
      bot: leg,
      cause: explain(leg, "bot", { input, botTrips, btTrips, partnerOf }),
    });
  }
  for (const leg of input.backtest) {
    if (partnerOf.has(leg)) continue;
    rows.push({
      market,
      side: leg.side,
      status: "backtest_only",
      backtest: leg,
      cause: explain(leg, "backtest", { input, botTrips, btTrips, partnerOf }),
    });
  }
  const at = (r: CompareRow) => Math.min(r.bot?.tsMs ?? Infinity, r.backtest?.tsMs ?? Infinity);
  return rows.sort((a, b) => at(a) - at(b));
}

/** Why a pair fell in different minutes: a near miss between the entries' levels, or lateness. */
function pairCause(
  input: CompareInput,
  bot: TaggedLeg,
  backtest: TaggedLeg,
  trips: { readonly botTrips: readonly Trip[]; readonly btTrips: readonly Trip[] },
): Cause {
  if (bot.side === "ask") {
    const a = tripOf(trips.botTrips, bot)?.entry;
    const b = tripOf(trips.btTrips, backtest)?.entry;
    if (a !== undefined && b !== undefined) {
      const near = nearMiss(input, {
        mine: a,
        theirs: b,
        who: "bot",
        fromMs: Math.max(a.tsMs, b.tsMs),
        toMs: Math.max(bot.tsMs, backtest.tsMs),
      });
      if (near !== undefined) return near;
    }
  }
  if (bot.kind !== backtest.kind) {
    return { kind: "other_exit", bot: bot.kind, backtest: backtest.kind };
  }
  const later = bot.tsMs > backtest.tsMs ? "bot" : "backtest";
  return { kind: "late", who: later, ms: Math.abs(bot.tsMs - backtest.tsMs) };
}

function explain(
  leg: TaggedLeg,
  who: "bot" | "backtest",
  ctx: {
    readonly input: CompareInput;
    readonly botTrips: readonly Trip[];
    readonly btTrips: readonly Trip[];
    readonly partnerOf: ReadonlyMap<TaggedLeg, TaggedLeg>;
  },
): Cause {
  const { input, partnerOf } = ctx;
  const own = who === "bot" ? ctx.botTrips : ctx.btTrips;
  const other = who === "bot" ? ctx.btTrips : ctx.botTrips;
  const otherWho = who === "bot" ? "backtest" : "bot";
  if (leg.kind === "manual") return { kind: "manual" };
  const gap = missingAround(input, leg.tsMs);
  if (gap !== undefined) return { kind: "no_candles", ...gap };
  if (leg.tsMs < input.warmUntilMs) return { kind: "warm_up", untilMs: input.warmUntilMs };
  const trip = tripOf(own, leg);
  if (leg.side === "ask" && trip?.entry !== undefined) {
    const partner = partnerOf.get(trip.entry);
    if (partner !== undefined) {
      // Both entered together: the exits parted. Find the candle that split them.
      const otherTrip = tripOf(other, partner);
      const near = nearMiss(input, {
        mine: trip.entry,
        theirs: partner,
        who,
        fromMs: Math.max(trip.entry.tsMs, partner.tsMs),
        toMs: Math.max(leg.tsMs, otherTrip?.exit?.tsMs ?? leg.tsMs),
      });
      if (near !== undefined) return near;
    }
  }
  const holding = holdingAt(other, leg.tsMs);
  if (leg.side === "bid" && holding !== undefined) {
    return { kind: "still_holding", who: otherWho, sinceMs: holding.entry!.tsMs };
  }
  if (leg.side === "ask" && holding === undefined) return { kind: "was_flat", who: otherWho };
  if (leg.side === "ask" && trip?.entry !== undefined && !partnerOf.has(trip.entry)) {
    // The position itself was one side's only: its exit follows.
    return { kind: "was_flat", who: otherWho };
  }
  if (leg.kind === "entry" || leg.kind === "signal") {
    // A strategy leg fills in the candle after its signal's.
    const bucketMs = Math.floor(leg.tsMs / input.tfMs) * input.tfMs - input.tfMs;
    const signals = who === "bot" ? input.backtestSignals : input.botSignals;
    if (signals !== undefined) {
      const note = signals.get(bucketMs);
      const action = leg.side === "bid" ? "buy" : "sell";
      if (note !== undefined && note.action === action && note.skipped !== undefined) {
        return { kind: "skipped", who: otherWho, reason: note.skipped };
      }
      if (note === undefined || note.action !== action) {
        return { kind: "no_signal", who: otherWho, bucketMs };
      }
    }
  }
  return { kind: "unexplained" };
}

/**
 * The first 1-minute candle in [fromMs, toMs] whose low fell between the two stops, or whose
 * high fell between the two targets (levels from each side's entry price).
 */
function nearMiss(
  input: CompareInput,
  options: {
    readonly mine: TaggedLeg;
    readonly theirs: TaggedLeg;
    readonly who: "bot" | "backtest";
    readonly fromMs: number;
    readonly toMs: number;
  },
): Cause | undefined {
  const { rules, market } = input;
  const { mine, theirs, who } = options;
  const a = riskLevels(mine.price, { rules, atMs: mine.tsMs, market });
  const b = riskLevels(theirs.price, { rules, atMs: theirs.tsMs, market });
  const bot = who === "bot" ? a : b;
  const bt = who === "bot" ? b : a;
  const fromMinute = Math.floor(options.fromMs / MINUTE_MS) * MINUTE_MS;
  for (const m of input.minutes) {
    if (m.startMs < fromMinute) continue;
    if (m.startMs > options.toMs) break;
    // A low at or under the higher stop but above the lower one stops one side only; a high at
    // or over the lower target but under the higher one, likewise.
    const stopSplit = m.low <= Math.max(bot.stopPx, bt.stopPx) &&
      m.low > Math.min(bot.stopPx, bt.stopPx);
    const targetSplit = m.high >= Math.min(bot.targetPx, bt.targetPx) &&
      m.high < Math.max(bot.targetPx, bt.targetPx);
    if (bot.stop > 0n && bot.stop !== bt.stop && stopSplit) {
      return {
        kind: "near_miss",
        level: "stop",
        atMs: m.startMs,
        botLevel: bot.stop,
        backtestLevel: bt.stop,
        extreme: m.low,
        bps: bpsOf(bot.stop, bt.stop),
      };
    }
    if (bot.target > 0n && bot.target !== bt.target && targetSplit) {
      return {
        kind: "near_miss",
        level: "target",
        atMs: m.startMs,
        botLevel: bot.target,
        backtestLevel: bt.target,
        extreme: m.high,
        bps: bpsOf(bot.target, bt.target),
      };
    }
  }
  return undefined;
}

/**
 * The span without recorded candles around `tsMs` (the candle of the leg's minute, or the one
 * before it, missing; or the leg outside the recorded candles), else undefined.
 */
function missingAround(
  input: CompareInput,
  tsMs: number,
): { fromMs: number; toMs: number } | undefined {
  const minutes = input.minutes;
  const first = minutes[0]?.startMs;
  const last = minutes.at(-1)?.startMs;
  if (first === undefined || last === undefined) return { fromMs: tsMs, toMs: tsMs };
  if (tsMs < first) return { fromMs: tsMs, toMs: first };
  if (tsMs >= last + MINUTE_MS) return { fromMs: last + MINUTE_MS, toMs: tsMs };
  const minute = Math.floor(tsMs / MINUTE_MS) * MINUTE_MS;
  // Binary search for the last candle at or before the leg's minute.
  let lo = 0;
  let hi = minutes.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (minutes[mid]!.startMs <= minute) lo = mid + 1;
    else hi = mid;
  }
  const before = minutes[lo - 1];
  const after = minutes[lo];
  if (before === undefined) return undefined;
  // A gap of more than a few minutes next to the leg: the bot did not record then.
  const GAP_MS = 5 * MINUTE_MS;
  if (after !== undefined && after.startMs - before.startMs > GAP_MS) {
    return { fromMs: before.startMs + MINUTE_MS, toMs: after.startMs };
  }
  const previous = minutes[lo - 2];
  if (
    before.startMs === minute && previous !== undefined &&
    before.startMs - previous.startMs > GAP_MS
  ) {
    return { fromMs: previous.startMs + MINUTE_MS, toMs: before.startMs };
  }
  return undefined;
}

/** Counts of a comparison: identical, matched, one side only, and the causes seen. */
export interface CompareSummary {
  readonly legs: number;
  readonly identical: number;
  readonly matched: number;
  readonly botOnly: number;
  readonly backtestOnly: number;
  readonly unexplained: number;
  /** identical ÷ all legs (pairs count once), in %. */
  readonly identicalPct: number;
  /** Identical pairs whose fills also fell in the same minute. */
  readonly sameFillMinute: number;
}

/** The counts of `rows`. */
export function summarize(rows: readonly CompareRow[]): CompareSummary {
  const count = (s: CompareRow["status"]) => rows.filter((r) => r.status === s).length;
  const identical = count("identical");
  return {
    legs: rows.length,
    identical,
    matched: count("matched"),
    botOnly: count("bot_only"),
    backtestOnly: count("backtest_only"),
    unexplained: rows.filter((r) => r.cause?.kind === "unexplained").length,
    sameFillMinute: rows.filter((r) =>
      r.status === "identical" &&
      Math.floor(r.bot!.tsMs / MINUTE_MS) === Math.floor(r.backtest!.tsMs / MINUTE_MS)
    ).length,
    identicalPct: rows.length > 0 ? (identical / rows.length) * 100 : 100,
  };
}
