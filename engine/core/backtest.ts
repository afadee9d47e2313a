/**
 * The backtester: a tight synchronous loop over candles around the shared decision core. The
 * clock is the candles' own time. A signal on candle N's close fills at candle N+1's open plus
 * slippage (no look-ahead); stop loss, take profit and trailing stop are checked against each
 * candle's range before the strategy sees its close (exits before entries).
 */

import { type Candle, DAY_MS, upbitDayStartMs } from "./candle.ts";
import { decideOnClose, type Decision, marketFillPrice } from "./decide.ts";
import {
  applyFill,
  describeDenial,
  type Fill,
  FillIds,
  type Ledger,
  makeFill,
  openLedger,
  sellAll,
  type Side,
} from "./ledger.ts";
import { divUnits, type Units, unitsToNumber } from "./money.ts";
import { Atr } from "./indicators/atr.ts";
import {
  type AccountView,
  checkAccountLoss,
  DEFAULT_PORTFOLIO_RULES,
  describePortfolioDenial,
  type EntryRequest,
  entryStopPrice,
  type MarketBook,
  planEntryKrw,
  type PortfolioRules,
  rollAccountDay,
} from "./portfolio.ts";
import {
  checkDailyLoss,
  checkExit,
  dailyLossFloor,
  type DayGuard,
  type ExitReason,
  type ExitTrigger,
  type RiskLevels,
  riskLevels,
  type RiskRules,
  trackHighest,
} from "./risk.ts";
import type { Strategy } from "./strategies/strategy.ts";
import { formatPrice } from "./format.ts";

/** Everything a backtest needs besides the candles. */
export interface BacktestConfig {
  readonly market: string;
  readonly strategy: Strategy;
  readonly rules: RiskRules;
  /** Fee per side in basis points (Upbit KRW: 5 = 0.05%). */
  readonly feeBps: number;
  /** Slippage per market order in basis points, always against us. */
  readonly slippageBps: number;
  /** Starting KRW. */
  readonly capital: Units;
  /** Share of the cash each entry spends, in percent (default 100; sizing `all` without `portfolio`). */
  readonly budgetPct?: number;
  /**
   * The account's rules, sized as the live loop sizes (`planEntry`) with `capital` as the cap
   * (default: no limits, sizing all of `budgetPct`).
   */
  readonly portfolio?: Omit<PortfolioRules, "capitalKrw">;
  /** Risk sizing's stop at this many ATR(14) below the price, if tighter (0/absent: off). */
  readonly atrStopMultiple?: number;
  /** Called every 65,536 candles with the count done (for a progress bar). */
  readonly onProgress?: (done: number, total: number) => void;
  /**
   * Arrays (as long as the candles) the result's `equity` and `inPosition` are written into,
   * instead of new ones: a sweep runs thousands of backtests and reads each result at once.
   */
  readonly scratch?: BacktestScratch;
  /**
   * False: a risk exit's reason names the exit without its price (a sweep reads only figures and
   * skips formatting thousands of texts). Default true.
   */
  readonly texts?: boolean;
}

/** Reusable output arrays for `BacktestConfig.scratch`. */
export interface BacktestScratch {
  readonly equity: Float64Array;
  readonly inPosition: Uint8Array;
}

/** One closed round trip. */
export interface RoundTrip {
  readonly entryMs: number;
  readonly exitMs: number;
  readonly entryPrice: Units;
  readonly exitPrice: Units;
  readonly volume: Units;
  /** Net profit in KRW after both fees. */
  readonly pnl: Units;
  /** Net return of the round trip in percent (pnl ÷ cost). */
  readonly returnPct: number;
  readonly exit: ExitReason;
  readonly entryReason: string;
  readonly exitReason: string;
}

/** A signal the engine acted on or had to skip, with the reason. */
export interface SignalRecord {
  readonly tsMs: number;
  readonly action: "buy" | "sell";
  readonly executed: boolean;
  readonly reason: string;
}

/** What a backtest produced. */
export interface BacktestResult {
  readonly market: string;
  readonly strategy: string;
  readonly candles: readonly Candle[];
  readonly fills: readonly Fill[];
  readonly trades: readonly RoundTrip[];
  readonly signals: readonly SignalRecord[];
  /** Equity marked at each candle's close (KRW, float). */
  readonly equity: Float64Array;
  /** Whether a position was held at each candle's close (1) or not (0). */
  readonly inPosition: Uint8Array;
  readonly ledger: Ledger;
  readonly feeBps: number;
  readonly slippageBps: number;
}

/** Where and when an order executes, and the signal it answers (−1 for risk exits). */
export interface Execution {
  readonly reference: number;
  readonly tsMs: number;
  readonly signalMs: number;
  /** The market fill price at `reference` (`marketFillPrice`), when the caller has it already. */
  readonly price?: Units;
}

interface OpenTrade {
  readonly entryMs: number;
  readonly entryPrice: Units;
  readonly cost: Units;
  readonly reason: string;
}

/** The market and costs a simulated market trades with. */
export interface MarketTerms {
  readonly market: string;
  readonly feeBps: number;
  readonly slippageBps: number;
  readonly rules: RiskRules;
}

/**
 * One market's simulated book, shared by the single-market backtest here and each market of
 * the account backtest (account_backtest.ts): market fills at the reference price with
 * slippage and fees, the ledger, round trips, signal outcomes, exit levels and the cooldown.
 * How an entry is sized (this market's account, or the whole account's) and how fills are
 * named are the subclass's.
 */
export abstract class SimulatedMarket {
  readonly terms: MarketTerms;
  readonly fills: Fill[] = [];
  readonly trades: RoundTrip[] = [];
  readonly signals: SignalRecord[] = [];
  ledger: Ledger;
  cashF: number;
  qtyF = 0;
  levels: RiskLevels | null = null;
  open: OpenTrade | null = null;
  cooldownUntilMs = 0;

  /** A flat book of `capital` KRW (`fillIds`: the empty root its fill ids grow from). */
  constructor(terms: MarketTerms, capital: Units, fillIds?: FillIds) {
    this.terms = terms;
    this.ledger = openLedger(capital, fillIds);
    this.cashF = unitsToNumber(this.ledger.cash);
  }

  /** The volume a buy at `price` takes, or why there is none. */
  abstract sizeEntry(price: Units): Units | string;

  /** The id of the `n`-th fill. */
  abstract fillIdOf(n: number): string;

  /** Sizes, fills and books a market order; returns the fill, or why there is none. */
  execute(side: Side, at: Execution): Fill | string {
    const { market, feeBps, slippageBps } = this.terms;
    const price = at.price ??
      marketFillPrice(side, { reference: at.reference, slippageBps, atMs: at.tsMs, market });
    let fill: Fill;
    if (side === "buy") {
      const volume = this.sizeEntry(price);
      if (typeof volume === "string") return volume;
      const id = this.fillIdOf(this.fills.length);
      fill = makeFill(side, { id, price, volume, feeBps, tsMs: at.tsMs });
    } else {
      const id = this.fillIdOf(this.fills.length);
      const sold = sellAll(this.ledger, { id, price, feeBps, tsMs: at.tsMs });
      if (!sold.ok) return describeDenial(sold.error);
      fill = sold.value;
    }
    const applied = applyFill(this.ledger, fill);
    // Sizing guarantees that the fill fits: a refusal here is a bug.
    if (!applied.ok) throw new RangeError(`Backtest fill refused: ${applied.error.kind}`);
    this.ledger = applied.value;
    this.cashF = unitsToNumber(this.ledger.cash);
    this.qtyF = unitsToNumber(this.ledger.qty);
    this.fills.push(fill);
    return fill;
  }

  /** Records what became of a strategy signal (risk exits, `signalMs` −1, are not signals). */
  record(at: Execution, action: "buy" | "sell", result: Fill | string, reason: string): void {
    if (at.signalMs < 0) return;
    if (typeof result === "string") {
      this.notExecuted(at.signalMs, action, `${reason}; not executed: ${result}`);
    } else this.signals.push({ tsMs: at.signalMs, action, executed: true, reason });
  }

  /** Records a signal that did not trade, with why (`reason` says it all). */
  notExecuted(tsMs: number, action: "buy" | "sell", reason: string): void {
    this.signals.push({ tsMs, action, executed: false, reason });
  }

  enter(reason: string, at: Execution): void {
    const costBefore = this.ledger.cost;
    const result = this.execute("buy", at);
    this.record(at, "buy", result, reason);
    if (typeof result === "string") return;
    const { rules, market } = this.terms;
    this.levels = riskLevels(this.ledger.avgPrice, { rules, atMs: at.tsMs, market });
    this.open = {
      entryMs: at.tsMs,
      entryPrice: result.price,
      cost: costBefore === 0n ? this.ledger.cost : this.ledger.cost - costBefore,
      reason,
    };
  }

  exit(exitReason: ExitReason, reason: string, at: Execution): void {
    const before = this.ledger.realizedPnl;
    const result = this.execute("sell", at);
    this.record(at, "sell", result, reason);
    if (typeof result === "string") return;
    const open = this.open;
    if (open !== null) {
      const pnl = this.ledger.realizedPnl - before;
      this.trades.push({
        entryMs: open.entryMs,
        exitMs: at.tsMs,
        entryPrice: open.entryPrice,
        exitPrice: result.price,
        volume: result.volume,
        pnl,
        returnPct: (unitsToNumber(pnl) / unitsToNumber(open.cost)) * 100,
        exit: exitReason,
        entryReason: open.reason,
        exitReason: reason,
      });
    }
    const { cooldownMs } = this.terms.rules;
    if (exitReason === "stop_loss" && cooldownMs > 0) this.cooldownUntilMs = at.tsMs + cooldownMs;
    this.levels = null;
    this.open = null;
  }
}

/**
 * Runs a backtest over `candles` (sorted, one timeframe). Pure: same input, same output.
 */
export function runBacktest(candles: readonly Candle[], config: BacktestConfig): BacktestResult {
  return new BacktestRun(candles, config).run();
}

/**
 * One backtest's state and steps. A class rather than closures so that the hot loop calls the
 * same functions on every run and stays optimised by the JIT.
 */
class BacktestRun extends SimulatedMarket {
  readonly candles: readonly Candle[];
  readonly config: BacktestConfig;
  readonly portfolio: PortfolioRules;
  readonly atr: Atr | null;
  readonly equity: Float64Array;
  readonly inPosition: Uint8Array;
  /**
   * The day's loss guard, which the run owns and rolls in place (`rollDay` would make one a
   * day). Before the first candle no day has started: the first roll opens one.
   */
  readonly guard: { dayStartMs: number; startEquity: number; blocked: boolean } = {
    dayStartMs: -Infinity,
    startEquity: 0,
    blocked: false,
  };
  /** The account's own daily loss guard (one market: the same equity, its own limit). */
  accountGuard: DayGuard | null = null;
  /** This market's book, as `planEntry` reads the account (refreshed before each entry). */
  readonly book: { -readonly [K in keyof MarketBook]: MarketBook[K] };
  readonly view: AccountView;
  /** The facts `decideOnClose` reads, refilled at each signal (it keeps nothing of them). */
  readonly context: {
    holding: "flat" | "long";
    guard: DayGuard;
    nowMs: number;
    cooldownUntilMs: number;
  };
  /** The entry `planEntryKrw` sizes, refilled before each entry (it keeps nothing of it). */
  readonly request: { -readonly [K in keyof EntryRequest]: EntryRequest[K] };
  /**
   * The order being executed (no step keeps it): one object the loop refills, rather than a new
   * one per fill (NaN: unset, and a float from the start, as V8 then stores them in place).
   */
  readonly at: { reference: number; tsMs: number; signalMs: number; price: Units | undefined } = {
    reference: NaN,
    tsMs: NaN,
    signalMs: NaN,
    price: undefined,
  };
  /** Fill prices at these candles' opens for this market and slippage (shared across runs). */
  readonly openPrices: OpenFillPrices;

  constructor(candles: readonly Candle[], config: BacktestConfig) {
    super(config, config.capital, BACKTEST_FILL_IDS);
    this.candles = candles;
    this.config = config;
    this.portfolio = {
      ...(config.portfolio ?? {
        ...DEFAULT_PORTFOLIO_RULES,
        sizing: { mode: "all", value: config.budgetPct ?? 100 },
      }),
      capitalKrw: config.capital,
    };
    this.atr = (config.atrStopMultiple ?? 0) > 0 ? new Atr(14) : null;
    const scratch = config.scratch;
    const reuse = scratch !== undefined && scratch.equity.length === candles.length &&
      scratch.inPosition.length === candles.length;
    this.equity = reuse ? scratch.equity : new Float64Array(candles.length);
    this.inPosition = reuse ? scratch.inPosition : new Uint8Array(candles.length);
    this.book = { market: config.market, qty: 0n, cost: 0n, realizedPnl: 0n };
    this.view = { books: [this.book], reservations: [] };
    this.context = { holding: "flat", guard: this.guard, nowMs: NaN, cooldownUntilMs: NaN };
    this.openPrices = openFillPrices(candles, config);
    this.request = {
      market: config.market,
      rules: this.portfolio,
      price: 0n,
      feeBps: config.feeBps,
      equityKrw: NaN,
      stopPrice: 0n,
      ledgerCashKrw: 0n,
      guard: null,
    };
  }

  fillIdOf(n: number): string {
    return fillId(n);
  }

  run(): BacktestResult {
    this.steps();
    return this.result();
  }

  /** Steps through every candle (the loop V8 compiles while it runs: nothing rare after it). */
  steps(): void {
    const { candles, config, equity, inPosition } = this;
    const { rules, strategy, onProgress } = config;
    const guard = this.guard;
    const n = candles.length;
    // The order decided at the previous close, and that close's time.
    let pending: Extract<Decision, { kind: "enter" | "exit" }> | null = null;
    let pendingMs = 0;
    // The day's boundary and loss floor, cached so the loop calls the guard only when needed.
    let nextDayMs = -Infinity;
    let dayFloor = -Infinity;
    const accountLossPct = this.portfolio.accountDailyLossPct;
    let accountFloor = -Infinity;
    const trailing = rules.trailingStopPct > 0;
    const texts = config.texts ?? true;
    for (let i = 0; i < n; i++) {
      if (onProgress !== undefined && (i & 0xffff) === 0xffff) onProgress(i + 1, n);
      const c = candles[i]!;
      const t = c.startMs;
      if (t >= nextDayMs) {
        // `rollDay` into the new day (t is past the guard's day), in place.
        guard.dayStartMs = upbitDayStartMs(t);
        guard.startEquity = this.cashF + this.qtyF * c.open;
        guard.blocked = false;
        nextDayMs = guard.dayStartMs + DAY_MS;
        dayFloor = dailyLossFloor(guard, rules);
        if (accountLossPct > 0) {
          this.accountGuard = rollAccountDay(this.accountGuard, t, guard.startEquity);
          accountFloor = (this.accountGuard.startEquity * (100 - accountLossPct)) / 100;
        }
      }

      // 1. The order decided at the previous close fills at this open.
      if (pending !== null) {
        const decision = pending;
        pending = null;
        const at = this.at;
        at.reference = c.open;
        at.tsMs = t;
        at.signalMs = pendingMs;
        at.price = this.openFillPrice(decision.kind === "enter" ? "buy" : "sell", i);
        if (decision.kind === "enter") this.enter(decision.reason, at);
        else this.exit(decision.exit, decision.reason, at);
      }

      // 2. Risk exits inside this candle's range.
      const levels = this.levels;
      if (levels !== null) {
        const trigger = checkExit(levels, rules, c);
        if (trigger === null) {
          // The highest price only matters to a trailing stop (tracking it allocates).
          if (trailing) this.levels = trackHighest(levels, c.high);
        } else {
          this.riskExit(trigger, t, texts);
        }
      }

      // 3. Mark to market and apply the daily loss limit.
      const eq = this.cashF + this.qtyF * c.close;
      equity[i] = eq;
      inPosition[i] = this.qtyF > 0 ? 1 : 0;
      if (eq <= dayFloor && !guard.blocked) this.checkDayLoss(eq);
      if (eq <= accountFloor) this.checkAccountDayLoss(eq);

      // 4. The strategy sees the close and the engine decides.
      const holding = this.qtyF > 0 ? "long" : "flat";
      const signal = strategy.update(c, holding);
      if (this.atr !== null) this.atr.update(c.high, c.low, c.close);
      if (signal.action === "hold") continue;
      const context = this.context;
      context.holding = holding;
      context.nowMs = t;
      context.cooldownUntilMs = this.cooldownUntilMs;
      const decision = decideOnClose(signal, context);
      if (decision.kind === "enter" || decision.kind === "exit") {
        if (i + 1 < n) {
          pending = decision;
          pendingMs = t;
        } else {
          this.notExecuted(t, signal.action, `${decision.reason}; not executed: end of data`);
        }
      } else if (decision.kind === "skip") {
        this.notExecuted(t, signal.action, decision.reason);
      }
    }
  }

  // The loop's rare steps are methods of their own: code V8 compiled before they first ran
  // would otherwise be thrown away and compiled again when they do.

  /** A stop, target or trailing stop hit inside the candle at `t`: exit at its price. */
  riskExit(trigger: ExitTrigger, t: number, texts: boolean): void {
    const name = trigger.reason.replace("_", " ");
    const reason = texts ? `${name} at ${formatPrice(trigger.price, { atMs: t })}` : name;
    const at = this.at;
    at.reference = trigger.price;
    at.tsMs = t;
    at.signalMs = -1;
    at.price = undefined;
    this.exit(trigger.reason, reason, at);
  }

  /** The day's loss guard at an equity under its floor. */
  checkDayLoss(equity: number): void {
    this.guard.blocked = checkDailyLoss(this.guard, this.config.rules, equity).blocked;
  }

  /** The account's loss guard at an equity under its floor. */
  checkAccountDayLoss(equity: number): void {
    const guard = this.accountGuard;
    if (guard === null || guard.blocked) return;
    this.accountGuard = checkAccountLoss(guard, {
      accountDailyLossPct: this.portfolio.accountDailyLossPct,
      equity,
    });
  }

  /** The market fill price of a `side` order at candle `i`'s open, computed once per candle. */
  openFillPrice(side: Side, i: number): Units {
    const cache = this.openPrices;
    const c = this.candles[i]!;
    const prices = side === "buy" ? cache.buy : cache.sell;
    const known = prices[i];
    // The candles are read-only data; a changed candle is priced again all the same.
    if (known !== undefined && cache.opens[i] === c.open && cache.starts[i] === c.startMs) {
      return known;
    }
    const { market, slippageBps } = this.config;
    const price = marketFillPrice(side, {
      reference: c.open,
      slippageBps,
      atMs: c.startMs,
      market,
    });
    prices[i] = price;
    cache.opens[i] = c.open;
    cache.starts[i] = c.startMs;
    return price;
  }

  /** What the run produced. */
  result(): BacktestResult {
    const { config, candles } = this;
    return {
      market: config.market,
      strategy: config.strategy.name,
      candles,
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

  /**
   * Sizes an entry as the live loop does (`planEntry` over this one-market account): the KRW of
   * a market buy, then the volume it buys at `price`, floored to 8 decimals.
   */
  sizeEntry(price: Units): Units | string {
    const { rules } = this.config;
    const ledger = this.ledger;
    const book = this.book;
    book.qty = ledger.qty;
    book.cost = ledger.cost;
    book.realizedPnl = ledger.realizedPnl;
    const atr = this.atr;
    const request = this.request;
    request.price = price;
    // Flat (as every entry here is), the equity is the cash: no conversion of the price.
    request.equityKrw = this.qtyF === 0
      ? this.cashF
      : this.cashF + this.qtyF * unitsToNumber(price);
    // Only risk sizing reads the stop.
    request.stopPrice = this.portfolio.sizing.mode !== "risk" ? 0n : entryStopPrice(price, {
      stopLossPct: rules.stopLossPct,
      ...(atr !== null && atr.ready
        ? { atr: atr.value, atrMultiple: this.config.atrStopMultiple }
        : {}),
    });
    request.ledgerCashKrw = ledger.cash;
    request.guard = this.accountGuard;
    const planned = planEntryKrw(this.view, request);
    if (!planned.ok) return describePortfolioDenial(planned.error);
    // Floored to 8 decimals: a volume's step is one unit.
    const volume = divUnits(planned.value, price, "floor");
    if (volume <= 0n) return "the order buys nothing at this price";
    return volume;
  }
}

/** Market fill prices at the opens of one candle array for one market and slippage. */
interface OpenFillPrices {
  readonly buy: (Units | undefined)[];
  readonly sell: (Units | undefined)[];
  /** The open and start each price was computed at. */
  readonly opens: Float64Array;
  readonly starts: Float64Array;
}

/**
 * Fill prices at candle opens by candle array, then market and slippage: a sweep runs thousands
 * of backtests over the same candles, whose signal orders fill at the same opens.
 */
const OPEN_FILL_PRICES = new WeakMap<readonly Candle[], Map<string, OpenFillPrices>>();

function openFillPrices(candles: readonly Candle[], terms: MarketTerms): OpenFillPrices {
  let byTerms = OPEN_FILL_PRICES.get(candles);
  if (byTerms === undefined) {
    byTerms = new Map();
    OPEN_FILL_PRICES.set(candles, byTerms);
  }
  const key = `${terms.market} ${terms.slippageBps}`;
  let prices = byTerms.get(key);
  if (prices === undefined) {
    const n = candles.length;
    prices = {
      buy: new Array(n),
      sell: new Array(n),
      opens: new Float64Array(n).fill(NaN),
      starts: new Float64Array(n).fill(NaN),
    };
    byTerms.set(key, prices);
  }
  return prices;
}

/**
 * The empty root of every backtest ledger's fill ids: each run applies `bt-0`, `bt-1`, … in order,
 * so they all share one map (see `FillIds`) instead of each building its own.
 */
const BACKTEST_FILL_IDS = new FillIds();

/** Fill ids `bt-0`, `bt-1`, …, made once: a sweep's backtests reuse them (and their hashes). */
const FILL_IDS: string[] = [];

function fillId(n: number): string {
  while (FILL_IDS.length <= n) FILL_IDS.push(`bt-${FILL_IDS.length}`);
  return FILL_IDS[n]!;
}
