/**
 * The account backtester: ONE account over several markets, with the portfolio rules the live
 * loop applies (`planEntry`: capital cap, max open positions, per-market share, account daily
 * loss, sizing mode). Each market keeps its own ledger opened with the capital, as the live loop
 * does, and the account is the set of those ledgers. Candles are interleaved by time.
 *
 * Each market's step is the single-market backtester's (`backtest.ts`): the order decided at the
 * previous close fills at this open, then stop loss / take profit / trailing stop inside the
 * candle, then the mark and the daily loss guards, then the strategy sees the close. At each
 * instant the orders of every market fill first, by the same-close rule the live loops follow
 * (`sameCloseOrder`): every exit, then the entries one at a time in the order the markets were
 * given; then each market's candle goes on (risk exits, mark, strategy) in that order. With finer
 * `detail` candles (`--detail 1m`), the entry fills at the first finer candle of the bucket and
 * the exits are resolved on the finer candles in time order, as the live loop sees prices.
 *
 * Pure: same input, same output. One market without detail gives `runBacktest`'s result.
 */

import { type Candle, DAY_MS } from "./candle.ts";
import { type BacktestConfig, type BacktestResult, SimulatedMarket } from "./backtest.ts";
import { decideOnClose, type Decision } from "./decide.ts";
import { FillIds, type Ledger } from "./ledger.ts";
import { divUnits, type Units, unitsToNumber } from "./money.ts";
import { Atr } from "./indicators/atr.ts";
import {
  type AccountView,
  checkAccountLoss,
  DEFAULT_PORTFOLIO_RULES,
  describePortfolioDenial,
  entryStopPrice,
  type MarketBook,
  planEntryKrw,
  type PortfolioRules,
  rollAccountDay,
  sameCloseOrder,
} from "./portfolio.ts";
import { checkDailyLoss, checkExit, type DayGuard, rollDay, trackHighest } from "./risk.ts";
import type { Strategy } from "./strategies/strategy.ts";
import { formatPrice } from "./format.ts";

/** One market's candles (sorted, one timeframe) and, optionally, finer candles of the same span. */
export interface MarketSeries {
  readonly market: string;
  readonly candles: readonly Candle[];
  /** Finer candles (sorted) that resolve fills and exits inside each candle. */
  readonly detail?: readonly Candle[];
}

/** An account backtest's settings: the single backtest's, a strategy per market. */
export interface AccountBacktestConfig extends Omit<BacktestConfig, "market" | "strategy"> {
  /** A fresh strategy for each market (strategies keep state). */
  readonly strategyFor: (market: string) => Strategy;
  /** The candles' timeframe in ms (needed to place detail candles in their bucket). */
  readonly timeframeMs: number;
}

/** What an account backtest produced. */
export interface AccountBacktestResult {
  /** Each market as a single backtest: its equity is the capital plus that market's P&L. */
  readonly markets: readonly BacktestResult[];
  /**
   * The account as one backtest: at each instant of the merged timeline, its equity; its candles
   * are an equal-weight basket of the markets (buy-and-hold: equal parts of each, 1,000 at start).
   */
  readonly account: BacktestResult;
  /** Positions open at each instant of the timeline. */
  readonly openPositions: Uint8Array;
  /** KRW committed in positions (at cost) ÷ the account's equity, at each instant, in %. */
  readonly committedPct: Float64Array;
}

/** Runs one account over `series` (each market's candles sorted, the same timeframe). */
export function runAccountBacktest(
  series: readonly MarketSeries[],
  config: AccountBacktestConfig,
): AccountBacktestResult {
  if (series.length === 0) throw new RangeError("Cannot run an account backtest: no market");
  const markets = new Set(series.map((s) => s.market));
  if (markets.size !== series.length) {
    throw new RangeError("Cannot run an account backtest: a market is given twice");
  }
  return new AccountRun(series, config).run();
}

interface Pending {
  readonly decision: Extract<Decision, { kind: "enter" | "exit" }>;
  readonly signalMs: number;
}

/** The account: its rules, its day guard, the last price of each market. */
class AccountRun {
  readonly portfolio: PortfolioRules;
  readonly runs: MarketRun[];
  /** The markets in the same-close order (`sameCloseOrder`: the order they were given). */
  readonly entryOrder: MarketRun[];
  readonly marks = new Map<string, number>();
  accountGuard: DayGuard | null = null;
  accountNextDayMs = -Infinity;

  constructor(series: readonly MarketSeries[], readonly config: AccountBacktestConfig) {
    this.portfolio = {
      ...(config.portfolio ?? {
        ...DEFAULT_PORTFOLIO_RULES,
        sizing: { mode: "all", value: config.budgetPct ?? 100 },
      }),
      capitalKrw: config.capital,
    };
    this.runs = series.map((s) => new MarketRun(s, this));
    this.entryOrder = sameCloseOrder(this.runs, series.map((s) => s.market));
  }

  /** Every market's book (for `planEntry`). */
  view(): AccountView {
    const books: MarketBook[] = this.runs.map((r) => ({
      market: r.market,
      qty: r.ledger.qty,
      cost: r.ledger.cost,
      realizedPnl: r.ledger.realizedPnl,
    }));
    return { books, reservations: [] };
  }

  /** The account's equity: the capital plus every market's P&L, marked at its last price. */
  equity(): number {
    let eq = unitsToNumber(this.config.capital);
    for (const r of this.runs) eq += r.cashF + r.qtyF * (this.marks.get(r.market) ?? 0) - r.capF;
    return eq;
  }

  run(): AccountBacktestResult {
    const timeline = mergedTimes(this.runs.map((r) => r.candles));
    const n = timeline.length;
    const equity = new Float64Array(n);
    const inPosition = new Uint8Array(n);
    const openPositions = new Uint8Array(n);
    const committedPct = new Float64Array(n);
    const lossPct = this.portfolio.accountDailyLossPct;
    for (let k = 0; k < n; k++) {
      const t = timeline[k]!;
      if (lossPct > 0 && t >= this.accountNextDayMs) {
        // The account's day starts with its equity at the first open of the day.
        for (const r of this.runs) {
          const c = r.candles[r.i];
          if (c !== undefined && c.startMs === t) this.marks.set(r.market, c.open);
        }
        this.accountGuard = rollAccountDay(this.accountGuard, t, this.equity());
        this.accountNextDayMs = this.accountGuard.dayStartMs + DAY_MS;
      }
      // The markets with a candle now; the orders decided at the previous close fill at this
      // open by the same-close rule: every exit, then the entries in the account's market order.
      const now: MarketRun[] = [];
      for (const r of this.entryOrder) {
        const c = r.candles[r.i];
        if (c !== undefined && c.startMs === t) {
          r.begin(c);
          now.push(r);
        }
      }
      for (const r of now) r.fillPending("exit");
      for (const r of now) r.fillPending("enter");
      for (const r of now) r.finish(lossPct);
      const eq = this.equity();
      equity[k] = eq;
      let open = 0;
      let committed = 0;
      for (const r of this.runs) {
        if (r.qtyF > 0) {
          open++;
          committed += unitsToNumber(r.ledger.cost);
        }
      }
      openPositions[k] = open;
      inPosition[k] = open > 0 ? 1 : 0;
      committedPct[k] = eq > 0 ? (committed / eq) * 100 : 0;
    }
    const results = this.runs.map((r) => r.result());
    return {
      markets: results,
      account: this.accountResult(results, { timeline, equity, inPosition }),
      openPositions,
      committedPct,
    };
  }

  /** The account as one backtest result (fills and trades of every market, by time). */
  accountResult(
    results: readonly BacktestResult[],
    curve: {
      readonly timeline: readonly number[];
      readonly equity: Float64Array;
      readonly inPosition: Uint8Array;
    },
  ): BacktestResult {
    const capital = this.config.capital;
    let cash = capital;
    let cost = 0n;
    let realizedPnl = 0n;
    let fees = 0n;
    for (const r of this.runs) {
      cash += r.ledger.cash - r.ledger.initialCash;
      cost += r.ledger.cost;
      realizedPnl += r.ledger.realizedPnl;
      fees += r.ledger.fees;
    }
    const ledger: Ledger = {
      initialCash: capital,
      cash,
      qty: 0n,
      avgPrice: 0n,
      cost,
      realizedPnl,
      fees,
      fillIds: new FillIds(),
    };
    return {
      market: results.map((r) => r.market).join(","),
      strategy: results[0]!.strategy,
      candles: basketCandles(this.runs.map((r) => r.candles), curve.timeline),
      fills: results.flatMap((r) => r.fills).sort((a, b) => a.tsMs - b.tsMs),
      trades: results.flatMap((r) => r.trades).sort((a, b) => a.exitMs - b.exitMs),
      signals: results.flatMap((r) => r.signals).sort((a, b) => a.tsMs - b.tsMs),
      equity: curve.equity,
      inPosition: curve.inPosition,
      ledger,
      feeBps: this.config.feeBps,
      slippageBps: this.config.slippageBps,
    };
  }
}

/** One market inside the account: the single backtest's state and steps. */
class MarketRun extends SimulatedMarket {
  readonly market: string;
  readonly candles: readonly Candle[];
  readonly detail: readonly Candle[] | undefined;
  readonly strategy: Strategy;
  readonly atr: Atr | null;
  readonly equity: Float64Array;
  readonly inPosition: Uint8Array;
  /** The capital as a float (each market's ledger opens with it, as live). */
  readonly capF: number;
  guard: DayGuard = { dayStartMs: -Infinity, startEquity: 0, blocked: false };
  pending: Pending | null = null;
  nextDayMs = -Infinity;
  /** Index of the next candle, and of the first detail candle not yet passed. */
  i = 0;
  d = 0;
  /** The candle being stepped and its finer candles. */
  c: Candle | null = null;
  minutes: readonly Candle[] = [];

  constructor(series: MarketSeries, readonly account: AccountRun) {
    const { config } = account;
    super({ ...config, market: series.market }, config.capital);
    this.market = series.market;
    this.candles = series.candles;
    this.detail = series.detail;
    this.strategy = config.strategyFor(series.market);
    this.atr = (config.atrStopMultiple ?? 0) > 0 ? new Atr(14) : null;
    this.equity = new Float64Array(series.candles.length);
    this.inPosition = new Uint8Array(series.candles.length);
    this.capF = this.cashF;
  }

  /** The finer candles inside the bucket starting at `t` (empty without detail). */
  minutesOf(t: number): readonly Candle[] {
    const detail = this.detail;
    if (detail === undefined) return [];
    while (this.d < detail.length && detail[this.d]!.startMs < t) this.d++;
    const end = t + this.account.config.timeframeMs;
    let j = this.d;
    while (j < detail.length && detail[j]!.startMs < end) j++;
    return detail.slice(this.d, j);
  }

  /** Starts this market's candle `c`: the Upbit day, the finer candles of its bucket. */
  begin(c: Candle): void {
    this.c = c;
    const t = c.startMs;
    if (t >= this.nextDayMs) {
      this.guard = rollDay(this.guard, t, this.cashF + this.qtyF * c.open);
      this.nextDayMs = this.guard.dayStartMs + DAY_MS;
    }
    this.minutes = this.minutesOf(t);
  }

  /** 1. The order of `kind` decided at the previous close fills at this open (the first finer candle's). */
  fillPending(kind: "enter" | "exit"): void {
    const pending = this.pending;
    if (pending === null || pending.decision.kind !== kind) return;
    this.pending = null;
    const c = this.c!;
    const first = this.minutes[0];
    const at = first === undefined
      ? { reference: c.open, tsMs: c.startMs, signalMs: pending.signalMs }
      : { reference: first.open, tsMs: first.startMs, signalMs: pending.signalMs };
    this.account.marks.set(this.market, at.reference);
    if (pending.decision.kind === "enter") this.enter(pending.decision.reason, at);
    else this.exit(pending.decision.exit, pending.decision.reason, at);
  }

  /** The rest of the candle: risk exits, the mark and loss limits, the strategy at the close. */
  finish(accountLossPct: number): void {
    const { config } = this.account;
    const { rules } = config;
    const c = this.c!;
    const minutes = this.minutes;
    const i = this.i++;
    const t = c.startMs;

    // 2. Risk exits inside this candle's range, or on its finer candles in time order.
    if (minutes.length === 0) this.checkRisk(c, t);
    else {
      for (const m of minutes) {
        if (this.levels === null) break;
        this.checkRisk(m, m.startMs);
      }
    }

    // 3. Mark to market and apply the daily loss limits.
    this.account.marks.set(this.market, c.close);
    const eq = this.cashF + this.qtyF * c.close;
    this.equity[i] = eq;
    this.inPosition[i] = this.qtyF > 0 ? 1 : 0;
    if (!this.guard.blocked) this.guard = checkDailyLoss(this.guard, rules, eq);
    const accountGuard = this.account.accountGuard;
    if (accountGuard !== null && !accountGuard.blocked) {
      this.account.accountGuard = checkAccountLoss(accountGuard, {
        accountDailyLossPct: accountLossPct,
        equity: this.account.equity(),
      });
    }

    // 4. The strategy sees the close and the engine decides.
    const holding = this.qtyF > 0 ? "long" : "flat";
    const signal = this.strategy.update(c, holding);
    if (this.atr !== null) this.atr.update(c.high, c.low, c.close);
    if (signal.action === "hold") return;
    const decision = decideOnClose(signal, {
      holding,
      guard: this.guard,
      nowMs: t,
      cooldownUntilMs: this.cooldownUntilMs,
    });
    if (decision.kind === "enter" || decision.kind === "exit") {
      if (i + 1 < this.candles.length) this.pending = { decision, signalMs: t };
      else {
        const reason = `${decision.reason}; not executed: end of data`;
        this.signals.push({ tsMs: t, action: signal.action, executed: false, reason });
      }
    } else if (decision.kind === "skip") {
      this.signals.push({
        tsMs: t,
        action: signal.action,
        executed: false,
        reason: decision.reason,
      });
    }
  }

  /** Stop loss, take profit and trailing stop against one bar starting at `t`. */
  checkRisk(bar: Candle, t: number): void {
    const levels = this.levels;
    if (levels === null) return;
    const trigger = checkExit(levels, this.account.config.rules, bar);
    if (trigger === null) {
      this.levels = trackHighest(levels, bar.high);
      return;
    }
    const reason = `${trigger.reason.replace("_", " ")} at ${
      formatPrice(trigger.price, { atMs: t })
    }`;
    this.exit(trigger.reason, reason, { reference: trigger.price, tsMs: t, signalMs: -1 });
  }

  result(): BacktestResult {
    const { config } = this.account;
    return {
      market: this.market,
      strategy: this.strategy.name,
      candles: this.candles,
      fills: this.fills,
      trades: this.trades,
      signals: this.signals,
      equity: this.equity,
      inPosition: this.inPosition,
      ledger: this.ledger,
      feeBps: config.feeBps,
      slippageBps: config.slippageBps,
    };
  }

  fillIdOf(n: number): string {
    return this.account.runs.length === 1 ? `bt-${n}` : `bt-${this.market}-${n}`;
  }

  /** Sizes an entry as the live loop does: `planEntry` over every market's book. */
  sizeEntry(price: Units): Units | string {
    const account = this.account;
    const { feeBps, rules, atrStopMultiple } = account.config;
    const atr = this.atr;
    const planned = planEntryKrw(account.view(), {
      market: this.market,
      rules: account.portfolio,
      price,
      feeBps,
      equityKrw: account.equity(),
      stopPrice: entryStopPrice(price, {
        stopLossPct: rules.stopLossPct,
        ...(atr !== null && atr.ready ? { atr: atr.value, atrMultiple: atrStopMultiple } : {}),
      }),
      ledgerCashKrw: this.ledger.cash,
      guard: account.accountGuard,
    });
    if (!planned.ok) return describePortfolioDenial(planned.error);
    // Floored to 8 decimals: a volume's step is one unit.
    const volume = divUnits(planned.value, price, "floor");
    if (volume <= 0n) return "the order buys nothing at this price";
    return volume;
  }
}

/** Every distinct candle start of the series, sorted. */
function mergedTimes(series: readonly (readonly Candle[])[]): number[] {
  const times = new Set<number>();
  for (const candles of series) for (const c of candles) times.add(c.startMs);
  return [...times].sort((a, b) => a - b);
}

/**
 * An equal-weight basket of the markets on `timeline`: each market counts from its first open
 * (1 before it starts trading), the basket starts at 1,000; a market without a candle at an
 * instant keeps its last close.
 */
export function basketCandles(
  series: readonly (readonly Candle[])[],
  timeline: readonly number[],
): Candle[] {
  const n = series.length;
  const index = new Array<number>(n).fill(0);
  const base = series.map((s) => s[0]?.open ?? 1);
  const last = new Array<number>(n).fill(1);
  const out: Candle[] = [];
  for (const t of timeline) {
    let open = 0;
    let high = 0;
    let low = 0;
    let close = 0;
    for (let m = 0; m < n; m++) {
      const candles = series[m]!;
      const c = candles[index[m]!];
      if (c !== undefined && c.startMs === t) {
        index[m]!++;
        const b = base[m]!;
        open += c.open / b;
        high += c.high / b;
        low += c.low / b;
        close += c.close / b;
        last[m] = c.close / b;
      } else {
        open += last[m]!;
        high += last[m]!;
        low += last[m]!;
        close += last[m]!;
      }
    }
    const k = 1_000 / n;
    out.push({
      startMs: t,
      open: open * k,
      high: high * k,
      low: low * k,
      close: close * k,
      volume: 0,
      value: Number.NaN,
    });
  }
  return out;
}

/**
 * Pearson correlation of the markets' daily returns (Upbit days both have): `returns[m]` maps a
 * day to that market's return. NaN where fewer than 2 common days or no variance.
 */
export function correlationMatrix(returns: readonly ReadonlyMap<number, number>[]): number[][] {
  return returns.map((a) => returns.map((b) => pearson(a, b)));
}

function pearson(a: ReadonlyMap<number, number>, b: ReadonlyMap<number, number>): number {
  const xs: number[] = [];
  const ys: number[] = [];
  for (const [day, x] of a) {
    const y = b.get(day);
    if (y !== undefined) {
      xs.push(x);
      ys.push(y);
    }
  }
  const n = xs.length;
  if (n < 2) return NaN;
  const mx = xs.reduce((s, v) => s + v, 0) / n;
  const my = ys.reduce((s, v) => s + v, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = xs[i]! - mx;
    const dy = ys[i]! - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : NaN;
}

/** Each Upbit day's return of a per-candle curve (`times[i]` the candle start of `values[i]`). */
export function dailyReturns(
  times: ArrayLike<number>,
  values: ArrayLike<number>,
  start: number,
): Map<number, number> {
  const out = new Map<number, number>();
  let previous = start;
  let day = -1;
  let dayEnd = start;
  for (let i = 0; i < values.length; i++) {
    const d = Math.floor(times[i]! / DAY_MS) * DAY_MS;
    if (d !== day) {
      if (day >= 0) {
        if (previous > 0) out.set(day, dayEnd / previous - 1);
        previous = dayEnd;
      }
      day = d;
    }
    dayEnd = values[i]!;
  }
  if (day >= 0 && previous > 0) out.set(day, dayEnd / previous - 1);
  return out;
}
