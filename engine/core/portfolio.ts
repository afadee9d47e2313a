/**
 * The account's rules over all its markets: ONE capital cap for the sum of what the markets
 * commit (positions at cost + KRW reserved for buys in flight), an account daily loss limit, a
 * maximum number of open positions, a maximum share of the capital per market, the sizing of an
 * entry (all of the allotted capital, a fixed KRW amount, a percentage of equity, or a risk per
 * trade from the stop distance) and the market-warning rules (no entry on a 유의종목, nor on a
 * caution flag when configured).
 *
 * The ledger model: each market keeps its own ledger (position, cost, realized P&L: the sum of
 * its fills); the account is the set of those ledgers plus the reservations of the buys in
 * flight. A reservation (the order's KRW and its fee) is taken before a buy is sent and released
 * once its order is terminal and its fills are applied, so between the two the won is counted
 * twice (never zero times): `committed = Σ cost + Σ reserved ≤ capital` holds at every moment.
 *
 * Pure functions over readonly data, shared by the live loop (the KV store commits reservations
 * atomically through `checkReservation`) and the backtester (`planEntry`).
 */

import { MAX_ORDER_KRW, MIN_ORDER_KRW } from "./ledger.ts";
import {
  applyBps,
  divRound,
  formatUnits,
  roundToStep,
  SCALE,
  scaledBps,
  type Units,
} from "./money.ts";
import { dailyLossFloor, type DayGuard, DEFAULT_RISK_RULES, rollDay } from "./risk.ts";
import { err, ok, type Result } from "./result.ts";

/** How an entry is sized. */
export type SizingMode = "all" | "fixed" | "equity_pct" | "risk";

/** The sizing modes, for flags and messages. */
export const SIZING_MODES: readonly SizingMode[] = ["all", "fixed", "equity_pct", "risk"];

/**
 * How an entry is sized: `all` spends `value`% of what the account allots the market (today's
 * behaviour at 100), `fixed` spends `value` KRW, `equity_pct` spends `value`% of the account's
 * equity, `risk` sizes the order so that the stop loses `value`% of the equity.
 */
export interface Sizing {
  readonly mode: SizingMode;
  readonly value: number;
}

/** The account's rules (0 turns a limit off where said). */
export interface PortfolioRules {
  /** The most KRW the account commits over all markets (positions at cost + reservations). */
  readonly capitalKrw: Units;
  /** At most this many markets hold a position or a buy in flight (0 = no limit). */
  readonly maxOpenPositions: number;
  /** One market commits at most this % of the capital (100 = no limit). */
  readonly maxMarketSharePct: number;
  /** Entries stop on every market for the rest of the Upbit day after the account lost this % of the day's starting equity (0 = off). */
  readonly accountDailyLossPct: number;
  readonly sizing: Sizing;
  /** Also refuse entries on markets with an Upbit caution flag (the warning always blocks). */
  readonly blockCaution: boolean;
}

/** Default rules: no position or share limit, account loss limit off, all of the allotment. */
export const DEFAULT_PORTFOLIO_RULES: Omit<PortfolioRules, "capitalKrw"> = Object.freeze({
  maxOpenPositions: 0,
  maxMarketSharePct: 100,
  accountDailyLossPct: 0,
  sizing: { mode: "all", value: 100 } as Sizing,
  blockCaution: false,
});

/** One market as the account sees it (from its ledger). */
export interface MarketBook {
  readonly market: string;
  /** Coins held. */
  readonly qty: Units;
  /** KRW paid for the held coins, buy fees included. */
  readonly cost: Units;
  readonly realizedPnl: Units;
}

/** KRW held back for a buy in flight (one per market: one order in flight per market). */
export interface Reservation {
  readonly market: string;
  /** The intent it is for (`market:bid:signalId`). */
  readonly intentId: string;
  /** The order's KRW plus its fee, rounded up. */
  readonly amountKrw: Units;
  readonly atMs: number;
}

/** The account: every market's book and the reservations in flight. */
export interface AccountView {
  readonly books: readonly MarketBook[];
  readonly reservations: readonly Reservation[];
}

/** Upbit's flags of a market (`/v1/market/all?is_details=true`, `market_event`). */
export interface MarketFlags {
  /** 유의종목: the pair may be delisted. */
  readonly warning: boolean;
  /** The caution flags that are set (`PRICE_FLUCTUATIONS`, …). */
  readonly cautions: readonly string[];
}

/** KRW committed: positions at cost plus reservations. */
export function committedKrw(view: AccountView): Units {
  let sum = 0n;
  for (const b of view.books) sum = plus(sum, b.cost);
  for (const r of view.reservations) sum = plus(sum, r.amountKrw);
  return sum;
}

/** KRW committed by one market: its position at cost plus its reservation. */
export function marketCommittedKrw(view: AccountView, market: string): Units {
  let sum = 0n;
  for (const b of view.books) if (b.market === market) sum = plus(sum, b.cost);
  for (const r of view.reservations) if (r.market === market) sum = plus(sum, r.amountKrw);
  return sum;
}

/** Realized P&L of the whole account. */
function realizedPnlKrw(view: AccountView): Units {
  let sum = 0n;
  for (const b of view.books) sum = plus(sum, b.realizedPnl);
  return sum;
}

/** a + b; an operand that is 0 gives the other back (each BigInt sum allocates a new one). */
function plus(a: Units, b: Units): Units {
  return a === 0n ? b : b === 0n ? a : a + b;
}

/** The account's KRW not committed: capital + realized P&L − committed (may be negative). */
function freeCashKrw(view: AccountView, capitalKrw: Units): Units {
  return capitalKrw + realizedPnlKrw(view) - committedKrw(view);
}

/** Markets holding a position or a buy in flight. */
export function openMarkets(view: AccountView): ReadonlySet<string> {
  const open = new Set<string>();
  for (const b of view.books) if (b.qty > 0n) open.add(b.market);
  for (const r of view.reservations) open.add(r.market);
  return open;
}

/** Whether `market` holds a position or a buy in flight (`openMarkets(view).has(market)`). */
function isOpen(view: AccountView, market: string): boolean {
  for (const b of view.books) if (b.qty > 0n && b.market === market) return true;
  for (const r of view.reservations) if (r.market === market) return true;
  return false;
}

/**
 * The account's equity (float, for sizing and the loss limit): free cash plus every position
 * marked at `priceOf(market)`, or at cost when no price is known.
 */
export function accountEquity(
  view: AccountView,
  options: { readonly capitalKrw: Units; readonly priceOf: (market: string) => number | undefined },
): number {
  let equity = toNumber(freeCashKrw(view, options.capitalKrw));
  // Reserved KRW is still the account's money until it is spent.
  for (const r of view.reservations) equity += toNumber(r.amountKrw);
  for (const b of view.books) {
    // A flat market's cost is 0: its realized P&L is already in the free cash.
    if (b.qty <= 0n) continue;
    const price = options.priceOf(b.market);
    equity += price === undefined || !(price > 0) ? toNumber(b.cost) : toNumber(b.qty) * price;
  }
  return equity;
}

/** Why an entry is refused (expected outcomes are data). */
export type PortfolioDenial =
  | { readonly kind: "market_warning"; readonly market: string }
  | {
    readonly kind: "market_caution";
    readonly market: string;
    readonly cautions: readonly string[];
  }
  | { readonly kind: "account_daily_loss"; readonly untilMs: number }
  | { readonly kind: "already_open"; readonly market: string }
  | { readonly kind: "max_open_positions"; readonly open: number; readonly max: number }
  | { readonly kind: "market_share"; readonly committed: Units; readonly limit: Units }
  | { readonly kind: "over_cap"; readonly committed: Units; readonly cap: Units }
  | { readonly kind: "no_stop" }
  | { readonly kind: "under_min_total"; readonly total: Units };

/** A one-line description of a denial, for signals that could not be executed. */
export function describePortfolioDenial(denial: PortfolioDenial): string {
  switch (denial.kind) {
    case "market_warning":
      return `${denial.market} is under an Upbit investment warning (유의종목)`;
    case "market_caution":
      return `${denial.market} has Upbit caution flags (${denial.cautions.join(", ")})`;
    case "account_daily_loss":
      return "the account's daily loss limit is reached";
    case "already_open":
      return `${denial.market} already holds a position or a buy in flight`;
    case "max_open_positions":
      return `${denial.open} of at most ${denial.max} positions are open`;
    case "market_share":
      return `the market already commits ${formatUnits(denial.committed)} of its ${
        formatUnits(denial.limit)
      } KRW share`;
    case "over_cap":
      return `the account commits ${formatUnits(denial.committed)} of its ${
        formatUnits(denial.cap)
      } KRW cap`;
    case "no_stop":
      return "risk sizing needs a stop (set a stop loss or an ATR stop)";
    case "under_min_total":
      return `order total ${formatUnits(denial.total)} KRW is under the 5,000 KRW minimum`;
  }
}

/** The entry gate of a market's flags: a warning always blocks, cautions when configured. */
export function flagDenial(
  market: string,
  options: { readonly flags: MarketFlags | undefined; readonly blockCaution: boolean },
): PortfolioDenial | null {
  const { flags, blockCaution } = options;
  if (flags === undefined) return null;
  if (flags.warning) return { kind: "market_warning", market };
  if (blockCaution && flags.cautions.length > 0) {
    return { kind: "market_caution", market, cautions: flags.cautions };
  }
  return null;
}

/**
 * The same-close rule, one for the backtester and the live loops: when several markets' candles
 * close at the same time, every exit decided on that close goes first (exits never wait), then
 * the entries are planned ONE AT A TIME in the account's market order (as configured:
 * `--market A,B,…`), each against the account as the ones before it left it. So when two markets
 * signal on the same close and one position slot (or the cap's last won) is left, the market
 * listed first takes it. Returns `items` in that order (stable; a market not in `markets` comes
 * after every listed one).
 */
export function sameCloseOrder<T extends { readonly market: string }>(
  items: readonly T[],
  markets: readonly string[],
): T[] {
  const rank = (market: string) => {
    const i = markets.indexOf(market);
    return i < 0 ? markets.length : i;
  };
  return items.map((item, i) => ({ item, i, r: rank(item.market) }))
    .sort((a, b) => a.r - b.r || a.i - b.i)
    .map((x) => x.item);
}

/** The KRW a market may still commit: under the cap, the account's free cash and its share. */
export function allotmentKrw(view: AccountView, market: string, rules: PortfolioRules): Units {
  const committed = committedKrw(view);
  let room = committed === 0n ? rules.capitalKrw : rules.capitalKrw - committed;
  // The free cash (capital + realized P&L − committed) is the lower only after a loss.
  const realized = realizedPnlKrw(view);
  if (realized < 0n) room += realized;
  const shareLimit = shareLimitKrw(rules);
  const marketCommitted = marketCommittedKrw(view, market);
  const shareRoom = marketCommitted === 0n ? shareLimit : shareLimit - marketCommitted;
  if (shareRoom < room) room = shareRoom;
  return room > 0n ? room : 0n;
}

/** The most KRW one market may commit. */
export function shareLimitKrw(rules: PortfolioRules): Units {
  if (rules.maxMarketSharePct >= 100) return rules.capitalKrw;
  return applyBps(rules.capitalKrw, rules.maxMarketSharePct * 100, "floor");
}

/**
 * Whether `market` may reserve `amountKrw` now: the cap, the market's share and the number of
 * open positions all still hold afterwards. The KV store runs this inside its atomic commit.
 */
export function checkReservation(
  view: AccountView,
  request: { readonly market: string; readonly amountKrw: Units; readonly rules: PortfolioRules },
): Result<void, PortfolioDenial> {
  const { market, amountKrw, rules } = request;
  if (amountKrw <= 0n) {
    throw new RangeError(`Cannot reserve: amount must be > 0: current value is ${amountKrw}`);
  }
  const open = openMarkets(view);
  if (view.reservations.some((r) => r.market === market)) {
    return err({ kind: "already_open", market });
  }
  if (rules.maxOpenPositions > 0 && !open.has(market) && open.size >= rules.maxOpenPositions) {
    return err({ kind: "max_open_positions", open: open.size, max: rules.maxOpenPositions });
  }
  const committed = committedKrw(view);
  if (committed + amountKrw > rules.capitalKrw) {
    return err({ kind: "over_cap", committed, cap: rules.capitalKrw });
  }
  const marketCommitted = marketCommittedKrw(view, market);
  const limit = shareLimitKrw(rules);
  if (marketCommitted + amountKrw > limit) {
    return err({ kind: "market_share", committed: marketCommitted, limit });
  }
  return ok(undefined);
}

/** A planned entry: the market buy's KRW and what to reserve for it (KRW + fee, rounded up). */
export interface PlannedEntry {
  /** The order's KRW total (a market buy by amount), whole won. */
  readonly amountKrw: Units;
  /** `amountKrw` plus its fee, rounded up: what the buy may commit. */
  readonly reserveKrw: Units;
}

/** What `planEntry` needs besides the account. */
export interface EntryRequest {
  readonly market: string;
  readonly rules: PortfolioRules;
  /** The reference price of the entry (Units). */
  readonly price: Units;
  readonly feeBps: number;
  /** The account's equity marked now (float KRW), for `equity_pct` and `risk`. */
  readonly equityKrw: number;
  /** The stop price (Units) for `risk` sizing (0n or absent: none). */
  readonly stopPrice?: Units;
  /** Most KRW (fee included) the market's own ledger can pay (absent: no limit). */
  readonly ledgerCashKrw?: Units;
  /** The market's Upbit flags (absent: unknown, no block). */
  readonly flags?: MarketFlags;
  /** The account's day guard (blocked: no entries). */
  readonly guard?: DayGuard | null;
}

/**
 * Plans an entry on `market`: the flag and loss gates, one position per market, the open
 * position limit, then the size by the sizing mode, limited by what the account allots the
 * market, with the fee on top, floored to whole won and refused under the 5,000 KRW minimum.
 */
export function planEntry(
  view: AccountView,
  request: EntryRequest,
): Result<PlannedEntry, PortfolioDenial> {
  const planned = planEntryKrw(view, request);
  if (!planned.ok) return planned;
  return ok({ amountKrw: planned.value, reserveKrw: withFee(planned.value, request.feeBps) });
}

/** `planEntry`'s order KRW alone, for a backtest, which reserves nothing. */
export function planEntryKrw(
  view: AccountView,
  request: EntryRequest,
): Result<Units, PortfolioDenial> {
  const { market, rules, price, feeBps, equityKrw } = request;
  const flags = request.flags;
  const flagged = flags === undefined
    ? null
    : flagDenial(market, { flags, blockCaution: rules.blockCaution });
  if (flagged !== null) return err(flagged);
  // With the account's limit off (0), a day blocked before (under another limit) blocks nothing.
  const guard = request.guard;
  if (guard !== undefined && guard !== null && guard.blocked && rules.accountDailyLossPct > 0) {
    return err({ kind: "account_daily_loss", untilMs: guard.dayStartMs + 86_400_000 });
  }
  if (isOpen(view, market)) return err({ kind: "already_open", market });
  if (rules.maxOpenPositions > 0) {
    const open = openMarkets(view).size;
    if (open >= rules.maxOpenPositions) {
      return err({ kind: "max_open_positions", open, max: rules.maxOpenPositions });
    }
  }
  // The most the buy may commit, fee included.
  let budget = allotmentKrw(view, market, rules);
  if (request.ledgerCashKrw !== undefined && request.ledgerCashKrw < budget) {
    budget = request.ledgerCashKrw > 0n ? request.ledgerCashKrw : 0n;
  }
  const { mode, value } = rules.sizing;
  // The most the budget buys with the fee on top.
  const cap = maxAmountFor(budget, feeBps);
  // The order's KRW the mode asks for (before the fee), as Units.
  let wanted: Units;
  switch (mode) {
    case "all": {
      const allotted = applyBps(budget, value * 100, "floor");
      wanted = allotted === budget ? cap : maxAmountFor(allotted, feeBps);
      break;
    }
    case "fixed":
      wanted = krwUnits(value);
      break;
    case "equity_pct":
      wanted = krwUnits(Math.max(0, (equityKrw * value) / 100));
      break;
    case "risk": {
      const stop = request.stopPrice ?? 0n;
      if (stop <= 0n || stop >= price) return err({ kind: "no_stop" });
      // Losing (price − stop) per coin must cost `value`% of the equity: amount = risk × p / (p − s).
      const riskUnits = krwUnits(Math.max(0, (equityKrw * value) / 100));
      wanted = divRound(riskUnits * price, price - stop, "floor");
      break;
    }
  }
  let amount = wanted;
  if (cap < amount) amount = cap;
  if (amount > MAX_ORDER_KRW) amount = MAX_ORDER_KRW;
  // Upbit takes a market buy's KRW in whole won here: floor once.
  amount = roundToStep(amount > 0n ? amount : 0n, SCALE, "floor");
  if (amount < MIN_ORDER_KRW) {
    if (budget < withFee(MIN_ORDER_KRW, feeBps)) {
      const committed = committedKrw(view);
      // Name the limit that others' commitments made bind; else it is just too small.
      if (committed > 0n && committed + withFee(MIN_ORDER_KRW, feeBps) > rules.capitalKrw) {
        return err({ kind: "over_cap", committed, cap: rules.capitalKrw });
      }
      const marketCommitted = marketCommittedKrw(view, market);
      const limit = shareLimitKrw(rules);
      if (marketCommitted > 0n && marketCommitted + withFee(MIN_ORDER_KRW, feeBps) > limit) {
        return err({ kind: "market_share", committed: marketCommitted, limit });
      }
    }
    return err({ kind: "under_min_total", total: amount });
  }
  return ok(amount);
}

/** `amount` plus its fee rounded up: the most a buy of `amount` KRW can cost. */
export function withFee(amount: Units, feeBps: number): Units {
  return amount + applyBps(amount, feeBps, "ceil");
}

/**
 * The largest order KRW whose total with the fee fits `budget`: with s = fee bps × 1e4 and
 * D = 1e8, `withFee(a)` = a + ⌈a·s/D⌉ = ⌈a·(D+s)/D⌉, which is at most the whole `budget` B
 * exactly when a·(D+s) ≤ B·D, i.e. a ≤ ⌊B·D/(D+s)⌋.
 */
function maxAmountFor(budget: Units, feeBps: number): Units {
  if (budget <= 0n) return 0n;
  return (budget * 100_000_000n) / feeDivisor(feeBps);
}

/** D + s of `maxAmountFor`, by fee (made once: a run has one fee). */
function feeDivisor(feeBps: number): Units {
  let divisor = FEE_DIVISORS.get(feeBps);
  if (divisor === undefined) {
    divisor = 100_000_000n + scaledBps(feeBps);
    if (FEE_DIVISORS.size < 1_024) FEE_DIVISORS.set(feeBps, divisor);
  }
  return divisor;
}

const FEE_DIVISORS = new Map<number, Units>();

/**
 * The stop price of an entry at `price` (Units): the stop loss percentage, or `atrMultiple` ×
 * ATR below the price when an ATR is given (the tighter of the two when both are set). 0n: none.
 */
export function entryStopPrice(
  price: Units,
  options: {
    readonly stopLossPct: number;
    readonly atr?: number;
    readonly atrMultiple?: number;
  },
): Units {
  let stop = options.stopLossPct > 0
    ? applyBps(price, 10_000 - options.stopLossPct * 100, "floor")
    : 0n;
  const { atr, atrMultiple } = options;
  if (atr !== undefined && atrMultiple !== undefined && atrMultiple > 0 && atr > 0) {
    const atrStop = price - krwUnits(atr * atrMultiple);
    if (atrStop > 0n && atrStop > stop) stop = atrStop;
  }
  return stop > 0n ? stop : 0n;
}

/** The account's day guard rolled into the Upbit day of `nowMs` (see `rollDay`). */
export function rollAccountDay(guard: DayGuard | null, nowMs: number, equity: number): DayGuard {
  return rollDay(guard, nowMs, equity);
}

/** Marks the account's guard blocked once `equity` lost `accountDailyLossPct` of the day's start. */
export function checkAccountLoss(
  guard: DayGuard,
  options: { readonly accountDailyLossPct: number; readonly equity: number },
): DayGuard {
  if (guard.blocked || options.accountDailyLossPct <= 0) return guard;
  const floor = dailyLossFloor(guard, {
    ...DEFAULT_RISK_RULES,
    maxDailyLossPct: options.accountDailyLossPct,
  });
  return options.equity <= floor ? { ...guard, blocked: true } : guard;
}

/** Per-market and account P&L (exact; unrealized at the given marks). */
export interface PnlSummary {
  readonly markets: readonly {
    readonly market: string;
    readonly realizedPnl: Units;
    readonly unrealizedPnl: Units;
    readonly pnl: Units;
  }[];
  readonly realizedPnl: Units;
  readonly unrealizedPnl: Units;
  /** Realized + unrealized: the sum of the markets' `pnl`. */
  readonly pnl: Units;
  readonly committedKrw: Units;
}

/**
 * P&L per market and for the account: realized from the ledgers, unrealized = qty × mark − cost
 * (0 when no mark). The account's figures are the sums of the markets'.
 */
export function summarizePnl(
  view: AccountView,
  priceOf: (market: string) => Units | undefined,
): PnlSummary {
  const markets = view.books.map((b) => {
    const mark = priceOf(b.market);
    const unrealizedPnl = b.qty > 0n && mark !== undefined && mark > 0n
      ? divRound(b.qty * mark, SCALE, "half_up") - b.cost
      : 0n;
    return {
      market: b.market,
      realizedPnl: b.realizedPnl,
      unrealizedPnl,
      pnl: b.realizedPnl + unrealizedPnl,
    };
  });
  let realized = 0n;
  let unrealized = 0n;
  for (const m of markets) {
    realized += m.realizedPnl;
    unrealized += m.unrealizedPnl;
  }
  return {
    markets,
    realizedPnl: realized,
    unrealizedPnl: unrealized,
    pnl: realized + unrealized,
    committedKrw: committedKrw(view),
  };
}

/** Whole KRW as Units, floored (a float amount from equity percentages). */
function krwUnits(krw: number): Units {
  if (!Number.isFinite(krw)) throw new RangeError(`Cannot size: amount ${krw} is not finite`);
  return BigInt(Math.floor(krw)) * SCALE;
}

function toNumber(units: Units): number {
  return Number(units) / 1e8;
}
