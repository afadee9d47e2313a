/**
 * The engine loop of paper and live trading, around the same decision core as the backtester:
 *
 * - on start it restores its state from the store, reconciles with the exchange (before any
 *   order), and warms the strategy up on 1-minute history rolled up to its timeframe; the
 *   minutes between that history and the stream's first candle are fetched too, so the first
 *   bucket it decides on is whole (`fillSeam`);
 * - the strategy decides on each CLOSED candle of its timeframe (`decideOnClose`, as in
 *   `runBacktest`); the order goes out at once, so it fills at the next candle's first trade,
 *   where the backtester assumes the next open;
 * - the risk manager checks stop loss, take profit and trailing stop on EVERY price update (a
 *   one-price bar), and the daily loss limit on the Upbit day, persisted so it survives restarts;
 * - exits come before entries and are never blocked; entries stop when trading is paused, in safe
 *   mode, on stale data or a market warning, and every signal that cannot be executed is recorded
 *   with its reason;
 * - entries are planned by the account's rules (`engine/core/portfolio.ts`: one cap over every
 *   market of the store, share and position limits, the account's daily loss guard, Upbit's
 *   flags, the sizing mode) and reserve their KRW in the store before the order goes out; the
 *   reservation is released once the order is terminal (or by a reconciliation, after a crash);
 * - when several markets close a candle at the same time, their entries go one at a time in the
 *   account's market order once every market has reported that close, exits first (the
 *   same-close rule the account backtester follows: `engine/trader_close_round.ts`);
 * - orders go through the order manager (one in flight per market, deterministic identifiers);
 * - while running, the reconciliation is repeated every `reconcileEveryMs` (reliability.md §1.6
 *   step 8), between orders: it resolves what an outage left unresolved and catches balances that
 *   changed outside the bot (safe mode, as at start).
 *
 * - run-time parameters (`ctl set`) are applied at the next candle close (a strategy parameter
 *   creates the strategy anew and re-warms it); an emergency stop (the control's `halted`) stops
 *   every order, exits included, until an operator resumes;
 * - equity snapshots are recorded at each candle close and fill, kept `EQUITY_RETENTION_MS`;
 *   the final 1-minute candles (warm-up and live) are recorded, kept `CANDLE_RETENTION_MS`.
 *
 * The clock is injected: nothing here reads the wall clock. The operator commands and the
 * status read model live in `engine/operator/`; the order gate in `engine/order_gate.ts`.
 */

import { bucketStartMs, CandleAggregator } from "./core/aggregate.ts";
import { type Candle, type Timeframe, TIMEFRAME_MS } from "./core/candle.ts";
import { decideOnClose } from "./core/decide.ts";
import { Atr } from "./core/indicators/atr.ts";
import type { Ledger } from "./core/ledger.ts";
import {
  accountEquity,
  type AccountView,
  checkAccountLoss,
  DEFAULT_PORTFOLIO_RULES,
  describePortfolioDenial,
  entryStopPrice,
  type MarketFlags,
  planEntry,
  type PortfolioRules,
  rollAccountDay,
} from "./core/portfolio.ts";
import { formatUnits, SCALE, type Units, unitsFromNumber, unitsToNumber } from "./core/money.ts";
import {
  checkDailyLoss,
  checkExit,
  type DayGuard,
  type ExitTrigger,
  type RiskLevels,
  riskLevels,
  type RiskRules,
  rollDay,
  trackHighest,
} from "./core/risk.ts";
import type { Holding, Signal, Strategy } from "./core/strategies/strategy.ts";
import { formatKrw, formatPrice, formatVolume } from "./core/format.ts";
import {
  DEFAULT_ORDER_MANAGER_CONFIG,
  driveIntent,
  intentId,
  type OrderManagerConfig,
  type OrderManagerDeps,
  reconcile,
  type ReconcileReport,
  type SubmitDenial,
  submitOrder,
} from "./order_manager.ts";
import type {
  Account,
  Clock,
  Control,
  EngineEvent,
  EquitySnapshot,
  Exchange,
  LoopMetrics,
  MarketEvent,
  MinuteHistoryPort,
  Notifier,
  OrderTrace,
  Store,
  StoredLevels,
  TraderState,
} from "./ports.ts";
import { LIVE_INTENT_STATES, TERMINAL_INTENT_STATES } from "./ports.ts";
import { EngineError } from "./errors.ts";
import { gateOf, type OrderGate } from "./order_gate.ts";
import { type CloseRounds, roundsOf, SAME_CLOSE_WAIT_MS } from "./trader_close_round.ts";
import { applyParams } from "./core/params.ts";
import { createStrategy, STRATEGIES, type StrategyId } from "./core/strategies/mod.ts";

/** How one bot trades one market. */
export interface TraderConfig {
  /** Part of every order identifier and the key of the loop's state. */
  readonly botId: string;
  readonly market: string;
  readonly timeframe: Timeframe;
  /** A fresh strategy instance (created by the caller). */
  readonly strategy: Strategy;
  readonly rules: RiskRules;
  /** Fee per side in basis points (Upbit KRW: 5). */
  readonly feeBps: number;
  /** Share of the allotted cash each entry spends, in percent (sizing `all` without `portfolio`). */
  readonly budgetPct: number;
  /** Market data older than this blocks new entries and raises an alert. */
  readonly staleAfterMs: number;
  /**
   * The ACCOUNT's cap: never more than this KRW committed over all markets of the store
   * (positions at cost + reserved buys); default: the ledger's opening cash.
   */
  readonly capitalKrw?: Units;
  /** The account's rules besides the cap (default: no limits, sizing all of `budgetPct`). */
  readonly portfolio?: Omit<PortfolioRules, "capitalKrw">;
  /** Risk sizing's stop at this many ATR(14) below the price, if tighter (0/absent: off). */
  readonly atrStopMultiple?: number;
  /** Order manager tuning (default: the protocol's defaults). */
  readonly orders?: Partial<Omit<OrderManagerConfig, "botId" | "feeBps">>;
  /** Period of the reconciliation while running, on the injected clock (default 60 s). */
  readonly reconcileEveryMs?: number;
  /**
   * The strategy's id and start-up parameters, so a run-time parameter change can create it
   * anew (absent: strategy parameters cannot change at run time).
   */
  readonly strategyId?: string;
  readonly strategyParams?: Readonly<Record<string, number>>;
  /**
   * The account's markets in their configured order: entries decided on the same close are
   * granted in this order once every market reported that close (the same-close rule,
   * `engine/trader_close_round.ts`). Absent: the entry goes as soon as it is decided.
   */
  readonly accountMarkets?: readonly string[];
  /** Most time (the clock's) an entry waits for the other markets' close (default 10 s). */
  readonly sameCloseWaitMs?: number;
}

/** How long equity snapshots are kept (at one per candle close and fill, per market). */
const EQUITY_RETENTION_MS = 30 * 24 * 3_600_000;

/** How long the final candles traded on are kept (the daily report's backtest re-runs them). */
const CANDLE_RETENTION_MS = 35 * 24 * 3_600_000;
/** How often the account's history (journal, signals, audit, daily P&L) is pruned. */
const HISTORY_PRUNE_EVERY_MS = 3_600_000;

/** What the loop uses. */
export interface TraderDeps {
  readonly clock: Clock;
  readonly exchange: Exchange;
  readonly account: Account;
  readonly store: Store;
  readonly notifier: Notifier;
  /** Final 1-minute candles, price updates (trades/tickers) and connection status. */
  readonly market: AsyncIterable<MarketEvent>;
  /** 1-minute candles for the warm-up. */
  readonly history: MinuteHistoryPort;
  /** Upbit's warning and caution flags of a market (absent or undefined: unknown). */
  readonly marketFlags?: (market: string) => Promise<MarketFlags | undefined>;
  /** Told each market event the loop finished (the metrics' loop lag and data age). */
  readonly metrics?: LoopMetrics;
  /** Each step of each order intent (the order log's correlation, orders by state). */
  readonly trace?: OrderTrace;
}

const MINUTE_MS = 60_000;

/** Kept out of every buy so that per-trade fee rounding can never overdraw the ledger. */
const BUY_MARGIN: Units = SCALE;

/** A failed exit is retried on price updates, but not more often than this. */
const EXIT_RETRY_MS = 5_000;

/** Default period of the reconciliation while running (reliability.md §1.6 step 8). */
const RECONCILE_EVERY_MS = 60_000;

/** The last price of every market of a store's traders (the account's equity marks). */
const MARKS = new WeakMap<Store, Map<string, number>>();

/** When a store's history is pruned next: once an hour per store, whichever market's loop. */
const HISTORY_PRUNES = new WeakMap<Store, { nextMs: number }>();

function historyPruneOf(store: Store): { nextMs: number } {
  let prune = HISTORY_PRUNES.get(store);
  if (prune === undefined) {
    prune = { nextMs: 0 };
    HISTORY_PRUNES.set(store, prune);
  }
  return prune;
}

function marksOf(store: Store): Map<string, number> {
  let marks = MARKS.get(store);
  if (marks === undefined) {
    marks = new Map();
    MARKS.set(store, marks);
  }
  return marks;
}

/** The state before the first start. */
const FIRST_STATE: TraderState = {
  guard: null,
  levels: null,
  cooldownUntilMs: 0,
  lastDecisionMs: 0,
  lastPrice: 0,
  lastPriceAtMs: 0,
  updatedAtMs: 0,
};

/** The order manager's configuration of a trader. */
export function orderManagerConfigOf(config: TraderConfig): OrderManagerConfig {
  return {
    ...DEFAULT_ORDER_MANAGER_CONFIG,
    ...config.orders,
    botId: config.botId,
    feeBps: config.feeBps,
  };
}

/** The signal id of a strategy decision: strategy name and the closed bucket's start. */
export function strategySignalId(strategy: Strategy, bucketStartMs: number): string {
  return `${strategy.name}@${bucketStartMs}`;
}

/** Describes why the order manager did not place an order. */
export function describeSubmitDenial(denial: SubmitDenial): string {
  switch (denial.kind) {
    case "under_min_total":
      return `order total ${formatUnits(denial.total)} KRW is under the 5,000 KRW minimum`;
    case "over_max_total":
      return `order total ${formatUnits(denial.total)} KRW is over the maximum`;
    case "invalid_amount":
      return "the order amount is invalid";
    case "paused":
      return "trading is paused";
    case "halted":
      return "trading is stopped (emergency stop): no orders until resumed";
    case "safe_mode":
      return "safe mode";
    case "market_busy":
      return `another order is in flight (${denial.intentId})`;
    case "identifier_used":
      return `identifier ${denial.identifier} was used before`;
  }
}

/** The exit levels of a stored position, as the risk rules use them. */
export function levelsOf(stored: StoredLevels): RiskLevels {
  const { stop, target, highestPx } = stored;
  return {
    stop,
    target,
    stopPx: stop > 0n ? unitsToNumber(stop) : Number.NaN,
    targetPx: target > 0n ? unitsToNumber(target) : Number.NaN,
    highestPx,
  };
}

/**
 * Runs the loop until `signal` aborts or the market events end: restore, reconcile, warm up,
 * then one event at a time (never two orders at once).
 */
export async function runTrader(
  deps: TraderDeps,
  config: TraderConfig,
  signal: AbortSignal,
): Promise<void> {
  const trader = new Trader(deps, config);
  await trader.start();
  if (signal.aborted) return;
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  signal.addEventListener("abort", onAbort, { once: true });
  const background = Promise.all([
    trader.watchStale(stop.signal),
    trader.reconcileEvery(stop.signal),
  ]);
  // A bug in a background check stops the loop; it is rethrown below.
  background.catch(() => stop.abort());
  try {
    await trader.consume(stop.signal);
  } finally {
    signal.removeEventListener("abort", onAbort);
    stop.abort();
    await background;
  }
  // The last price seen, for the status of the stopped bot (and the end-of-run block).
  await trader.persist();
}

/** One bot's loop state; `runTrader` is the entry point. */
class Trader {
  readonly deps: TraderDeps;
  /** The start-up config; `config` is it with the run-time parameters applied. */
  readonly base: TraderConfig;
  config: TraderConfig;
  /** Version of the run-time parameters applied (-1: none read yet). */
  paramsVersion = -1;
  readonly om: OrderManagerDeps;
  readonly omConfig: OrderManagerConfig;
  readonly aggregator: CandleAggregator;
  readonly gate: OrderGate;
  readonly rounds: CloseRounds;
  readonly marks: Map<string, number>;
  /** ATR of the strategy's buckets, for risk sizing's ATR stop (null when off). */
  readonly atr: Atr | null;
  ledger!: Ledger;
  portfolio!: PortfolioRules;
  /** The flags a held market was alerted on (one alert per episode). */
  flagAlerted: string | null = null;
  guard: DayGuard | null = null;
  levels: RiskLevels | null = null;
  entryMs = 0;
  cooldownUntilMs = 0;
  lastDecisionMs = 0;
  lastPrice = 0;
  lastPriceAtMs = 0;
  /** Newest exchange time of any market data seen. */
  lastDataAtMs = 0;
  /** Start of the last 1-minute candle taken in. */
  lastCandleMs = -1;
  /** Whether a live candle came since the warm-up (the seam between them is checked once). */
  liveSeen = false;
  /** A bucket missing minutes at the seam that could not be fetched: never decided on. */
  partialBucketMs = -1;
  warning: string | null = null;
  staleAlerted = false;
  riskNotified = false;
  exitRetryAtMs = 0;
  /** The signal logged ahead of its order: its record then logs only a failure. */
  announced: { signalId: string; reason: string; atMs: number } | null = null;
  /** Time of the last equity snapshot written. */
  #equityAtMs = -1;
  /** Checks of the account's loss guard so far (an entry's counts as the minute's). */
  #guardChecks = 0;

  constructor(deps: TraderDeps, config: TraderConfig) {
    this.deps = deps;
    this.base = config;
    this.config = config;
    this.om = {
      exchange: deps.exchange,
      store: deps.store,
      clock: deps.clock,
      notifier: deps.notifier,
      ...(deps.trace === undefined ? {} : { trace: deps.trace }),
    };
    this.omConfig = orderManagerConfigOf(config);
    this.aggregator = new CandleAggregator(config.timeframe);
    this.gate = gateOf(deps.store);
    this.rounds = roundsOf(deps.store);
    this.marks = marksOf(deps.store);
    this.atr = (config.atrStopMultiple ?? 0) > 0 ? new Atr(14) : null;
  }

  // ---- start ----

  /** Restore, reconcile, open the ledger, warm up. */
  async start(): Promise<void> {
    const { store, clock, account } = this.deps;
    // The stored, audited run-time parameters win over the start-up config.
    await this.applyParams(clock.nowMs(), { warm: false });
    const { botId, market, rules, capitalKrw } = this.config;
    const saved = (await store.getTraderState(botId)) ?? FIRST_STATE;
    this.guard = saved.guard;
    this.cooldownUntilMs = saved.cooldownUntilMs;
    this.lastDecisionMs = saved.lastDecisionMs;
    this.lastPrice = saved.lastPrice;
    this.lastPriceAtMs = saved.lastPriceAtMs;
    // Reconcile BEFORE anything can trade: unresolved intents, fills, balances.
    const report = await this.gate.exclusive(async () => {
      const done = await reconcile(this.om, this.omConfig, { account });
      // Reservations of buys that ended while we were down (or never got an intent) go back.
      await this.releaseSettled();
      return done;
    });
    this.noteExternal(report);
    let ledger = await store.getLedger(market);
    if (ledger === undefined) {
      const krw = (await account.balances()).find((b) => b.currency === "KRW");
      let cash = krw?.balance ?? 0n;
      if (capitalKrw !== undefined && capitalKrw < cash) cash = capitalKrw;
      ledger = await store.openLedger(market, cash);
    }
    this.ledger = ledger;
    const { budgetPct, portfolio } = this.config;
    this.portfolio = {
      ...(portfolio ?? { ...DEFAULT_PORTFOLIO_RULES, sizing: { mode: "all", value: budgetPct } }),
      capitalKrw: capitalKrw ?? ledger.initialCash,
    };
    if (this.lastPrice > 0) this.marks.set(market, this.lastPrice);
    const nowMs = clock.nowMs();
    if (ledger.qty > 0n) {
      if (saved.levels !== null) {
        this.levels = levelsOf(saved.levels);
        this.entryMs = saved.levels.entryMs;
      } else {
        // Filled while we were down (applied by the reconciliation): levels from the fill price.
        this.levels = riskLevels(ledger.avgPrice, { rules, atMs: nowMs, market });
        this.entryMs = nowMs;
      }
    }
    // A market flagged while we were down: say so before trading.
    await this.checkHeldFlags();
    await this.warmUp(nowMs);
    this.lastDataAtMs = nowMs;
    await this.persist();
    const control = await store.getControl();
    this.deps.notifier.notify({
      type: "StateChanged",
      atMs: nowMs,
      paused: control.paused,
      safeMode: control.safeMode,
      reason: `trader started: ${market} ${this.config.timeframe} ${this.config.strategy.name}, ${
        ledger.qty > 0n
          ? `holding ${formatVolume(ledger.qty)} (stop ${
            formatPrice(this.levels?.stop ?? 0n, { atMs: nowMs, market })
          })`
          : "flat"
      }, cash ${formatKrw(ledger.cash)} KRW`,
    });
  }

  /**
   * Applies the run-time parameters when their version changed: risk, sizing and staleness at
   * once (the open position's stop and target are recomputed from its entry), a strategy
   * parameter by creating the strategy anew and, with `warm`, re-warming it on history.
   */
  async applyParams(nowMs: number, options: { readonly warm: boolean }): Promise<void> {
    const params = await this.deps.store.getParams();
    if (params.version === this.paramsVersion) return;
    const first = this.paramsVersion === -1;
    this.paramsVersion = params.version;
    const base = this.base;
    const tuned = applyParams({
      rules: base.rules,
      budgetPct: base.budgetPct,
      staleAfterMs: base.staleAfterMs,
      strategyParams: base.strategyParams ?? {},
    }, params.values);
    const before = this.config;
    let strategy = before.strategy;
    const id = base.strategyId;
    const strategyChanged = id !== undefined && id in STRATEGIES &&
      JSON.stringify(tuned.strategyParams) !== JSON.stringify(before.strategyParams ?? {});
    if (strategyChanged) strategy = createStrategy(id as StrategyId, tuned.strategyParams);
    this.config = { ...before, ...tuned, strategy };
    if (first) return;
    const rules = this.config.rules;
    if (
      this.levels !== null && this.ledger !== undefined && this.ledger.qty > 0n &&
      (rules.stopLossPct !== before.rules.stopLossPct ||
        rules.takeProfitPct !== before.rules.takeProfitPct)
    ) {
      const fresh = riskLevels(this.ledger.avgPrice, {
        rules,
        atMs: this.entryMs,
        market: before.market,
      });
      this.levels = { ...fresh, highestPx: this.levels.highestPx };
      await this.persist();
    }
    if (strategyChanged && options.warm) await this.rewarm(nowMs);
    const control = await this.deps.store.getControl();
    const event: EngineEvent = {
      type: "StateChanged",
      atMs: nowMs,
      paused: control.paused,
      safeMode: control.safeMode,
      halted: control.halted,
      reason: `${before.market}: run-time parameters v${params.version} applied${
        strategyChanged ? ` (strategy ${strategy.name}, re-warmed)` : ""
      }`,
    };
    await this.deps.store.recordEvent(event);
    this.deps.notifier.notify(event);
  }

  /** Warms a new strategy up on the closed buckets before the one now closing (no orders). */
  async rewarm(nowMs: number): Promise<void> {
    const { timeframe, strategy, market } = this.config;
    const tfMs = TIMEFRAME_MS[timeframe];
    const toMs = bucketStartMs(nowMs, timeframe);
    const fromMs = toMs - (strategy.warmup + 2) * tfMs;
    const candles = (await this.deps.history(market, { fromMs, toMs }))
      .filter((c) => c.startMs >= fromMs && c.startMs < toMs)
      .sort((a, b) => a.startMs - b.startMs);
    const holding = this.ledger.qty > 0n ? "long" : "flat";
    const aggregator = new CandleAggregator(timeframe);
    for (const c of candles) {
      const done = aggregator.push(c);
      if (done !== undefined && done.startMs + tfMs <= toMs) strategy.update(done, holding);
    }
    const last = aggregator.flush();
    if (last !== undefined && last.startMs + tfMs <= toMs) strategy.update(last, holding);
  }

  /** Records this market's equity at `price` and drops the snapshots past the retention. */
  async recordEquity(nowMs: number, price: number): Promise<void> {
    const snapshot = this.equitySnapshot(nowMs, price);
    if (snapshot !== undefined) await this.writeEquity(snapshot);
  }

  /** This market's equity at `price` now, from the ledger in memory (undefined: no price). */
  equitySnapshot(nowMs: number, price: number): EquitySnapshot | undefined {
    if (!(price > 0)) return undefined;
    const { cash, qty } = this.ledger;
    const equity = cash + (qty * unitsFromNumber(price)) / SCALE;
    return { market: this.config.market, tsMs: nowMs, equity, cash };
  }

  /** Stores an equity snapshot and drops the snapshots past the retention. */
  async writeEquity(snapshot: EquitySnapshot): Promise<void> {
    const { store } = this.deps;
    const { market, tsMs: nowMs } = snapshot;
    this.#equityAtMs = nowMs;
    await store.recordEquity(snapshot);
    await store.pruneEquity(market, nowMs - EQUITY_RETENTION_MS, 100);
    const prune = historyPruneOf(store);
    if (nowMs >= prune.nextMs) {
      prune.nextMs = nowMs + HISTORY_PRUNE_EVERY_MS;
      await store.pruneHistory(nowMs, 1_000);
    }
  }

  /** Feeds the strategy the closed buckets of the recent 1-minute history (no orders). */
  async warmUp(nowMs: number): Promise<void> {
    const { timeframe, strategy, market } = this.config;
    const tfMs = TIMEFRAME_MS[timeframe];
    const toMs = Math.floor(nowMs / MINUTE_MS) * MINUTE_MS;
    const fromMs = bucketStartMs(nowMs, timeframe) - (strategy.warmup + 2) * tfMs;
    const candles = (await this.deps.history(market, { fromMs, toMs }))
      .filter((c) => c.startMs >= fromMs && c.startMs < toMs)
      .sort((a, b) => a.startMs - b.startMs);
    for (const c of candles) await this.ingest(c, false);
    // The daily report's backtest warms up on the same candles.
    await this.deps.store.recordCandles(market, candles);
  }

  // ---- the loop ----

  /** Handles market events one at a time until `signal` aborts or they end. */
  async consume(signal: AbortSignal): Promise<void> {
    const it = this.deps.market[Symbol.asyncIterator]();
    for (;;) {
      const next = await nextOrAborted(it, signal);
      if (next === "aborted" || next.done === true) break;
      await this.gate.shared(() => this.handle(next.value));
      this.deps.metrics?.handled(next.value);
    }
    // Not awaited: a stream parked on its socket ends on its own close.
    it.return?.().catch(() => {});
  }

  /** Checks the data's age now and then, so a silent feed raises its alert. */
  async watchStale(signal: AbortSignal): Promise<void> {
    const everyMs = Math.max(1_000, Math.floor(this.config.staleAfterMs / 4));
    while (!signal.aborted) {
      await this.deps.clock.sleep(everyMs, signal);
      if (signal.aborted) return;
      await this.staleReason(this.deps.clock.nowMs());
    }
  }

  /** Reconciles again every `reconcileEveryMs`, between orders, until `signal` aborts. */
  async reconcileEvery(signal: AbortSignal): Promise<void> {
    let waitMs = this.config.reconcileEveryMs ?? RECONCILE_EVERY_MS;
    while (!signal.aborted) {
      await this.deps.clock.sleep(waitMs, signal);
      if (signal.aborted) return;
      waitMs = await this.gate.exclusive(() => this.reconcilePass());
    }
  }

  /**
   * One reconciliation while running: the order manager's own, after the orders in progress.
   * Returns how long to wait for the next one. Exchange errors are reported, never thrown.
   */
  async reconcilePass(): Promise<number> {
    const { clock, store, exchange, account } = this.deps;
    const everyMs = this.config.reconcileEveryMs ?? RECONCILE_EVERY_MS;
    const graceMs = this.omConfig.visibilityGraceMs;
    // An order sent within the grace may not be visible yet: looking it up now would wait (or
    // call it absent too early). Come back once the grace has passed (§1.6 step 8).
    const nowMs = clock.nowMs();
    let youngMs = 0;
    for (const intent of await store.listIntents(LIVE_INTENT_STATES)) {
      const sentAtMs = intent.lastSentAtMs ?? intent.createdAtMs;
      youngMs = Math.max(youngMs, sentAtMs + graceMs + 1 - nowMs);
    }
    if (youngMs > 0) return Math.min(youngMs, everyMs);
    const heldBefore = (await this.refreshLedger()).qty;
    const reported = this.gate.reportedExternal;
    const om: OrderManagerDeps = {
      ...this.om,
      // An external order is alerted on once, not at every pass.
      exchange: {
        placeOrder: (request) => exchange.placeOrder(request),
        getOrder: (ref) => exchange.getOrder(ref),
        cancelOrder: (ref) => exchange.cancelOrder(ref),
        openOrders: async (market) =>
          (await exchange.openOrders(market)).filter((o) => !reported.has(o.uuid)),
      },
    };
    try {
      // One lookup per unresolved order: an outage must not hold every market's orders back.
      const report = await reconcile(om, { ...this.omConfig, maxLookups: 1 }, { account });
      this.noteExternal(report);
    } catch (error) {
      if (!(error instanceof EngineError)) throw error;
      await this.alert(
        "reconcile_failed",
        `periodic reconciliation of ${this.config.market} failed: ${error.message}; retrying in ${
          Math.round(everyMs / 1000)
        } s`,
      );
    }
    await this.releaseSettled();
    await this.syncPosition(heldBefore, clock.nowMs());
    await this.checkHeldFlags();
    return everyMs;
  }

  /** Follows fills that a pass applied (the position held before it was `heldBefore`). */
  async syncPosition(heldBefore: Units, nowMs: number): Promise<void> {
    const ledger = await this.refreshLedger();
    // Only a change counts: unsellable dust keeps no levels on purpose.
    if (ledger.qty === heldBefore) return;
    if (ledger.qty > heldBefore && this.levels === null) {
      // A buy resolved after the fact: protect it from its fill price, as after a restart.
      this.levels = riskLevels(ledger.avgPrice, {
        rules: this.config.rules,
        atMs: nowMs,
        market: this.config.market,
      });
      this.entryMs = nowMs;
      this.riskNotified = false;
      await this.persist();
    } else if (ledger.qty <= 0n && this.levels !== null) {
      // A sale resolved after the fact: nothing left to protect.
      this.levels = null;
      await this.persist();
    }
  }

  /**
   * Releases the reservations whose buy is over: its intent is terminal (its fills applied) or
   * was never written (a crash between the reservation and the intent). Runs under the gate's
   * exclusive pass, so no entry is between its reservation and its intent.
   */
  async releaseSettled(): Promise<void> {
    const { store } = this.deps;
    for (const r of (await store.accountView()).reservations) {
      const intent = await store.getIntent({ id: r.intentId });
      if (intent === undefined || TERMINAL_INTENT_STATES.includes(intent.state)) {
        await store.release(r.market, r.intentId);
      }
    }
  }

  /** Alerts once when the market we hold gets an Upbit warning or caution flag. */
  async checkHeldFlags(): Promise<void> {
    const flags = await this.flagsNow();
    const set = flags === undefined
      ? null
      : [...(flags.warning ? ["WARNING (유의종목)"] : []), ...flags.cautions].join(", ");
    if (set === null || set === "") {
      if (flags !== undefined) this.flagAlerted = null;
      return;
    }
    if (this.ledger.qty <= 0n || this.flagAlerted === set) return;
    this.flagAlerted = set;
    await this.alert(
      "market_flagged",
      `${this.config.market} is flagged by Upbit (${set}) while a position is held; ` +
        "no new entries there; the position keeps its exits",
    );
  }

  /** The market's Upbit flags now (undefined when unknown: the source failed or is absent). */
  async flagsNow(): Promise<MarketFlags | undefined> {
    try {
      return await this.deps.marketFlags?.(this.config.market);
    } catch {
      return undefined;
    }
  }

  noteExternal(report: ReconcileReport): void {
    for (const order of report.external) this.gate.reportedExternal.add(order.uuid);
  }

  async handle(event: MarketEvent): Promise<void> {
    if (event.kind === "connection") {
      if (!event.connected) {
        await this.alert("market_disconnected", `market data ${event.reason}`);
      }
      return;
    }
    if (event.market !== this.config.market) return;
    if (event.kind === "price") {
      if (event.warning !== undefined) this.warning = event.warning;
      await this.onPrice(event.price, event.atMs);
    } else {
      await this.ingest(event.candle, true);
    }
  }

  /** One price update: the day, the exit levels, the daily loss limit. */
  async onPrice(price: number, atMs: number): Promise<void> {
    if (!(price > 0)) {
      throw new RangeError(`Cannot trade on a price: must be > 0: current value is ${price}`);
    }
    this.lastPrice = price;
    this.lastPriceAtMs = atMs;
    this.marks.set(this.config.market, price);
    this.noteData(atMs);
    const nowMs = this.deps.clock.nowMs();
    await this.rollDay(nowMs);
    const levels = this.levels;
    if (levels !== null && this.ledger.qty > 0n) {
      const trigger = checkExit(levels, this.config.rules, {
        open: price,
        high: price,
        low: price,
      });
      if (trigger !== null) {
        await this.riskExit(trigger, atMs);
      } else {
        const next = trackHighest(levels, price);
        if (next !== levels) {
          this.levels = next;
          // The running high matters only to a trailing stop: persist it only then.
          if (this.config.rules.trailingStopPct > 0) await this.persist();
        }
      }
    }
    await this.checkDailyLoss(price);
  }

  /** A final 1-minute candle: roll it up, and decide when it closes a bucket. */
  async ingest(candle: Candle, live: boolean): Promise<void> {
    if (candle.startMs <= this.lastCandleMs) return;
    if (live && !this.liveSeen) {
      this.liveSeen = true;
      await this.fillSeam(candle.startMs);
    }
    this.lastCandleMs = candle.startMs;
    if (live) {
      // The close is a price too: a feed of candles alone still gets its exits, before entries.
      const closeAtMs = candle.startMs + MINUTE_MS - 1;
      if (closeAtMs >= this.lastPriceAtMs) await this.onPrice(candle.close, closeAtMs);
      this.noteData(Math.min(candle.startMs + MINUTE_MS, this.deps.clock.nowMs()));
    }
    const { timeframe } = this.config;
    const closed: Candle[] = [];
    const done = this.aggregator.push(candle);
    if (done !== undefined) closed.push(done);
    // The bucket's last minute closes it at once (else the next bucket's first candle does).
    const tfMs = TIMEFRAME_MS[timeframe];
    if (candle.startMs + MINUTE_MS === bucketStartMs(candle.startMs, timeframe) + tfMs) {
      const last = this.aggregator.flush();
      if (last !== undefined) closed.push(last);
    }
    const guardChecks = this.#guardChecks;
    for (const bucket of closed) await this.onClose(bucket, live);
    if (!live) return;
    // After the decision and its order: the candle for the daily report, the account's loss
    // guard once a minute (unless an entry just checked it).
    const { store } = this.deps;
    await store.recordCandles(this.config.market, [candle]);
    await store.pruneCandles(this.config.market, candle.startMs - CANDLE_RETENTION_MS, 100);
    if (this.#guardChecks === guardChecks) {
      await this.accountGuard(await store.accountView(), this.deps.clock.nowMs());
    }
    // One write a minute keeps the status's last price fresh (never one per trade message).
    await this.persist();
  }

  /**
   * The minutes between the warm-up's history and the stream's first candle (`toMs`), fetched
   * from REST and taken in like the warm-up (no orders), so the first bucket the loop decides on
   * is whole. When they cannot be fetched, that bucket is never decided on.
   */
  async fillSeam(toMs: number): Promise<void> {
    const fromMs = this.lastCandleMs + MINUTE_MS;
    if (this.lastCandleMs < 0 || fromMs >= toMs) return;
    const { market, timeframe } = this.config;
    let candles: Candle[];
    try {
      candles = (await this.deps.history(market, { fromMs, toMs }))
        .filter((c) => c.startMs >= fromMs && c.startMs < toMs)
        .sort((a, b) => a.startMs - b.startMs);
    } catch (error) {
      if (!(error instanceof EngineError)) throw error;
      this.partialBucketMs = bucketStartMs(toMs, timeframe);
      return;
    }
    for (const c of candles) await this.ingest(c, false);
    await this.deps.store.recordCandles(market, candles);
  }

  /** The strategy sees a closed bucket; the engine decides (the backtester's code). */
  async onClose(bucket: Candle, live: boolean): Promise<void> {
    // A run-time parameter change takes effect at a candle close, before the strategy sees it.
    if (live) await this.applyParams(this.deps.clock.nowMs(), { warm: true });
    const { strategy, timeframe } = this.config;
    const holding = this.ledger.qty > 0n ? "long" : "flat";
    const signal = strategy.update(bucket, holding);
    this.atr?.update(bucket.high, bucket.low, bucket.close);
    if (!live) return;
    try {
      await this.decideClose(bucket, { signal, holding });
    } finally {
      // Every close is reported, traded on or not (its exit done): the others' entries wait for it.
      if (this.config.accountMarkets !== undefined) {
        this.rounds.arrive(this.config.market, bucket.startMs + TIMEFRAME_MS[timeframe]);
      }
    }
  }

  /** The engine decides on a live close (the backtester's code) and acts on it. */
  async decideClose(
    bucket: Candle,
    options: { readonly signal: Signal; readonly holding: Holding },
  ): Promise<void> {
    const { signal, holding } = options;
    // The close's equity, taken now and written after the decision and its order (unless the
    // order wrote one at the same time).
    const snapshot = this.equitySnapshot(
      this.deps.clock.nowMs(),
      this.lastPrice > 0 ? this.lastPrice : bucket.close,
    );
    if (this.lastPrice <= 0) this.lastPrice = bucket.close;
    await this.decide(bucket, signal, holding);
    if (snapshot !== undefined && snapshot.tsMs !== this.#equityAtMs) {
      await this.writeEquity(snapshot);
    }
  }

  /** The engine's decision on a closed bucket's signal, and its order. */
  async decide(bucket: Candle, signal: Signal, holding: Holding): Promise<void> {
    const { strategy, timeframe } = this.config;
    if (signal.action === "hold" || bucket.startMs <= this.lastDecisionMs) return;
    const nowMs = this.deps.clock.nowMs();
    await this.rollDay(nowMs);
    const signalId = strategySignalId(strategy, bucket.startMs);
    if (bucket.startMs === this.partialBucketMs) {
      this.lastDecisionMs = bucket.startMs;
      await this.persist();
      await this.recordSignal(
        signalId,
        signal.action,
        "not acted on: the first live candle missed minutes after the warm-up (not fetched)",
      );
      return;
    }
    let blocked = await this.entryBlock(nowMs);
    const closedAgoMs = nowMs - (bucket.startMs + TIMEFRAME_MS[timeframe]);
    if (blocked === undefined && closedAgoMs > this.config.staleAfterMs) {
      blocked = `stale data: the candle closed ${Math.round(closedAgoMs / 1000)} s ago`;
    }
    const decision = decideOnClose(signal, {
      holding,
      guard: this.guard as DayGuard,
      nowMs,
      cooldownUntilMs: this.cooldownUntilMs,
      ...(blocked === undefined ? {} : { entriesBlocked: blocked }),
    });
    // Written ahead of the order: after a crash this bucket is never decided again.
    this.lastDecisionMs = bucket.startMs;
    await this.persist();
    switch (decision.kind) {
      case "none":
        return;
      case "skip":
        await this.recordSignal(signalId, signal.action as "buy" | "sell", decision.reason);
        return;
      case "exit":
        await this.exit({ rule: "signal", reason: decision.reason, signalId });
        return;
      case "enter":
        await this.enterInTurn(
          bucket.startMs + TIMEFRAME_MS[timeframe],
          (settled) => this.enter(decision.reason, signalId, settled),
        );
        return;
    }
  }

  /**
   * Runs an entry decided on the close at `closeMs` in its turn of the same-close round (every
   * market's exit first, entries one at a time in the account's market order), or at once when
   * the trader is not given the account's markets.
   */
  async enterInTurn(
    closeMs: number,
    entry: (settled: () => void) => Promise<void>,
  ): Promise<void> {
    const markets = this.config.accountMarkets;
    if (markets === undefined) return await entry(() => {});
    // Out of the gate while waiting: a reconciliation pass must not hold the others' closes back.
    const done = await this.gate.aside(() =>
      this.rounds.turn(this.config.market, {
        closeMs,
        markets,
        clock: this.deps.clock,
        waitMs: this.config.sameCloseWaitMs ?? SAME_CLOSE_WAIT_MS,
      })
    );
    try {
      // The entry lets the next market go once its reservation is taken (or at its end).
      await entry(done);
    } finally {
      done();
    }
  }

  // ---- orders ----

  /**
   * Plans, reserves and sends an entry; `settled` is called once its reservation is committed
   * or refused (what the next entry on the same close plans against), before the order goes out.
   */
  async enter(reason: string, signalId: string, settled: () => void = () => {}): Promise<void> {
    const { clock, store } = this.deps;
    const { market, feeBps, rules } = this.config;
    // No round trip to the exchange before the POST: KRW that left the account outside the bot
    // is caught by the reconciliation (balances vs the ledger: safe mode), and an order the
    // account cannot pay is refused by the exchange (`insufficient_funds_bid`: not entered).
    const [ledger, view] = await Promise.all([this.refreshLedger(), store.accountView()]);
    const notEntered = (why: string) =>
      this.recordSignal(signalId, "buy", `${reason}; not entered: ${why}`);
    const nowMs = clock.nowMs();
    const guard = await this.accountGuard(view, nowMs);
    const price = unitsFromNumber(this.lastPrice);
    const atr = this.atr;
    const planned = planEntry(view, {
      market,
      rules: this.portfolio,
      price,
      feeBps,
      equityKrw: this.accountEquityOf(view),
      stopPrice: entryStopPrice(price, {
        stopLossPct: rules.stopLossPct,
        ...(atr !== null && atr.ready
          ? { atr: atr.value, atrMultiple: this.config.atrStopMultiple }
          : {}),
      }),
      // The market's own ledger pays the fills: never plan past its cash.
      ledgerCashKrw: ledger.cash - BUY_MARGIN,
      flags: await this.flagsNow(),
      guard,
    });
    if (!planned.ok) return await notEntered(describePortfolioDenial(planned.error));
    const { amountKrw, reserveKrw } = planned.value;
    // Held from now until the order is terminal and its fills applied (or a reconciliation
    // finds it so): no other market can commit the same won meanwhile.
    const id = intentId(market, "bid", signalId);
    const reserved = await store.reserve(
      { market, intentId: id, amountKrw: reserveKrw, atMs: nowMs },
      this.portfolio,
    );
    // The next market of the same close plans against this reservation (a slot and the KRW
    // taken): it need not wait for the exchange.
    settled();
    if (!reserved.ok) return await notEntered(describePortfolioDenial(reserved.error));
    await this.announceSignal(signalId, { action: "buy", reason });
    const res = await submitOrder(this.om, this.omConfig, {
      kind: "market_buy",
      market,
      signalId,
      amountKrw,
      // The price the signal saw: the fills' slippage is measured against it.
      ...(this.lastPrice > 0 ? { refPrice: unitsFromNumber(this.lastPrice) } : {}),
    });
    if (!res.ok || TERMINAL_INTENT_STATES.includes(res.value.intent.state)) {
      await store.release(market, id);
    }
    if (!res.ok) return await notEntered(describeSubmitDenial(res.error));
    const { intent } = res.value;
    const after = await this.refreshLedger();
    if (after.qty <= 0n) {
      return await notEntered(
        `order ${intent.state.toLowerCase()}${
          intent.error === undefined ? "" : ` (${intent.error})`
        }`,
      );
    }
    const filledAtMs = clock.nowMs();
    this.levels = riskLevels(after.avgPrice, { rules, atMs: filledAtMs, market });
    this.entryMs = filledAtMs;
    this.riskNotified = false;
    await this.persist();
    await this.recordEquity(nowMs, this.lastPrice);
    await this.recordSignal(signalId, "buy", reason);
  }

  /** The account's equity marked at the last price of each market (cost when none). */
  accountEquityOf(view: AccountView): number {
    return accountEquity(view, {
      capitalKrw: this.portfolio.capitalKrw,
      priceOf: (m) => this.marks.get(m),
    });
  }

  /**
   * The account's daily loss guard at `nowMs`, rolled into the Upbit day and checked against the
   * account's equity; stored (shared by every market's loop) and announced when it blocks.
   */
  async accountGuard(view: AccountView, nowMs: number): Promise<DayGuard> {
    const { store } = this.deps;
    this.#guardChecks++;
    const equity = this.accountEquityOf(view);
    const stored = await store.getAccountGuard();
    const rolled = rollAccountDay(stored, nowMs, equity);
    const checked = checkAccountLoss(rolled, {
      accountDailyLossPct: this.portfolio.accountDailyLossPct,
      equity,
    });
    if (checked === stored) return checked;
    const next = await store.putAccountGuard(checked, nowMs);
    // Announced by the loop whose write blocked the day (once, whatever the markets' races).
    if (next.blocked && stored?.blocked !== true && checked.blocked) {
      const event: EngineEvent = {
        type: "RiskTriggered",
        atMs: nowMs,
        market: this.config.market,
        rule: "account_daily_loss_limit",
        price: formatUnits(unitsFromNumber(Math.max(0, Math.round(equity)))),
        dayStartEquity: formatUnits(unitsFromNumber(Math.max(0, Math.round(checked.startEquity)))),
      };
      await store.recordEvent(event);
      this.deps.notifier.notify(event);
    }
    return next;
  }

  async exit(
    options: {
      readonly rule: "signal" | ExitTrigger["reason"];
      reason: string;
      signalId: string;
      /** The switches as just read by the caller (default: read here). */
      readonly control?: Control;
      /** Journaled with the sale's intent, or alone when there is no sale (exactly once). */
      readonly journal?: EngineEvent;
    },
  ): Promise<void> {
    const { clock, notifier } = this.deps;
    const { market, rules } = this.config;
    const { rule, reason, signalId, journal } = options;
    const journalAlone = async (): Promise<void> => {
      if (journal === undefined) return;
      await this.deps.store.recordEvent(journal);
      notifier.notify(journal);
    };
    const ledger = await this.refreshLedger();
    if (ledger.qty <= 0n) {
      await journalAlone();
      this.levels = null;
      await this.persist();
      return;
    }
    const control = options.control ?? await this.deps.store.getControl();
    if (control.halted) {
      await journalAlone();
      if (rule === "signal") {
        await this.recordSignal(signalId, "sell", `${reason}; not executed: ${control.reason}`);
      }
      return;
    }
    const price = this.lastPrice > 0 ? this.lastPrice : unitsToNumber(ledger.avgPrice);
    const sell = {
      kind: "market_sell",
      market,
      signalId,
      volume: ledger.qty,
      referencePrice: unitsFromNumber(price),
    } as const;
    if (rule === "signal") await this.announceSignal(signalId, { action: "sell", reason });
    let res = await submitOrder(
      this.om,
      this.omConfig,
      sell,
      journal === undefined ? {} : { journal },
    );
    if (!res.ok && res.error.kind === "market_busy") {
      // An earlier order still holds the market (e.g. left UNKNOWN by an outage): resolve it
      // now rather than let it block the exit until a restart, then try once more.
      const blocking = await this.deps.store.getIntent({ id: res.error.intentId });
      if (blocking !== undefined) {
        await driveIntent(this.om, this.omConfig, blocking, { send: false, waitForFills: false });
        const left = await this.refreshLedger();
        if (left.qty <= 0n) {
          // The blocking order was itself a sale that went through: nothing left to protect.
          this.levels = null;
          await this.persist();
          if (rule === "signal") {
            await this.recordSignal(signalId, "sell", `${reason}; not executed: already sold`);
          }
          return;
        }
        res = await submitOrder(this.om, this.omConfig, { ...sell, volume: left.qty });
      }
    }
    const nowMs = clock.nowMs();
    let failure: string | undefined;
    if (!res.ok) {
      failure = describeSubmitDenial(res.error);
      // Dust under the minimum cannot be sold: nothing left to protect.
      if (res.error.kind === "under_min_total") this.levels = null;
    } else {
      const after = await this.refreshLedger();
      if (after.qty > 0n) {
        const { intent } = res.value;
        failure = `order ${intent.state.toLowerCase()}${
          intent.error === undefined ? "" : ` (${intent.error})`
        }, ${formatUnits(after.qty)} still held`;
      } else {
        this.levels = null;
        if (rule === "stop_loss" && rules.cooldownMs > 0) {
          this.cooldownUntilMs = nowMs + rules.cooldownMs;
        }
      }
      await this.recordEquity(nowMs, price);
    }
    if (failure !== undefined) this.exitRetryAtMs = nowMs + EXIT_RETRY_MS;
    await this.persist();
    if (rule === "signal") {
      await this.recordSignal(
        signalId,
        "sell",
        failure === undefined ? reason : `${reason}; not executed: ${failure}`,
      );
    } else if (failure !== undefined) {
      const event: EngineEvent = {
        type: "ErrorRaised",
        atMs: nowMs,
        code: "exit_failed",
        message: `${reason} on ${market}: not executed: ${failure}`,
      };
      await this.deps.store.recordEvent(event);
      notifier.notify(event);
    }
  }

  /** A stop loss, take profit or trailing stop touched by a price update. */
  async riskExit(trigger: ExitTrigger, atMs: number): Promise<void> {
    const nowMs = this.deps.clock.nowMs();
    if (nowMs < this.exitRetryAtMs) return;
    // After an emergency stop the operator owns the position: no order until resumed.
    const control = await this.deps.store.getControl();
    if (control.halted) return;
    const reason = `${trigger.reason.replace("_", " ")} at ${
      formatPrice(trigger.price, { atMs, market: this.config.market })
    }`;
    const signalId = `${trigger.reason}@${atMs}`;
    let journal: EngineEvent | undefined;
    if (!this.riskNotified) {
      this.riskNotified = true;
      journal = {
        type: "RiskTriggered",
        atMs: nowMs,
        market: this.config.market,
        intentId: intentId(this.config.market, "ask", signalId),
        rule: trigger.reason,
        price: formatUnits(unitsFromNumber(trigger.price)),
      };
    }
    await this.exit({ rule: trigger.reason, reason, signalId, control, journal });
  }

  // ---- risk state ----

  async rollDay(nowMs: number): Promise<void> {
    const price = this.lastPrice > 0 ? this.lastPrice : unitsToNumber(this.ledger.avgPrice);
    const next = rollDay(this.guard, nowMs, this.equityAt(price));
    if (next === this.guard) return;
    this.guard = next;
    await this.persist();
  }

  async checkDailyLoss(price: number): Promise<void> {
    const guard = this.guard;
    if (guard === null || guard.blocked) return;
    const equity = this.equityAt(price);
    const next = checkDailyLoss(guard, this.config.rules, equity);
    if (next === guard) return;
    this.guard = next;
    await this.persist();
    const event: EngineEvent = {
      type: "RiskTriggered",
      atMs: this.deps.clock.nowMs(),
      market: this.config.market,
      rule: "daily_loss_limit",
      price: formatUnits(unitsFromNumber(price)),
    };
    await this.deps.store.recordEvent(event);
    this.deps.notifier.notify(event);
  }

  equityAt(price: number): number {
    return unitsToNumber(this.ledger.cash) + unitsToNumber(this.ledger.qty) * price;
  }

  /** Why new entries are off now (undefined: they are allowed). */
  async entryBlock(nowMs: number): Promise<string | undefined> {
    const control = await this.deps.store.getControl();
    if (control.halted) return `trading is stopped (${control.reason})`;
    if (control.paused) return `trading is paused (${control.reason})`;
    if (control.safeMode) return `safe mode (${control.reason})`;
    const stale = await this.staleReason(nowMs);
    if (stale !== undefined) return stale;
    if (this.warning !== null) return `market warning: ${this.warning}`;
    return undefined;
  }

  /** Fresh data clears the stale alarm. */
  noteData(atMs: number): void {
    if (atMs > this.lastDataAtMs) this.lastDataAtMs = atMs;
    if (
      this.staleAlerted && this.deps.clock.nowMs() - this.lastDataAtMs <= this.config.staleAfterMs
    ) {
      this.staleAlerted = false;
    }
  }

  /** The stale-data breaker: a reason when data is too old, with one alert per episode. */
  async staleReason(nowMs: number): Promise<string | undefined> {
    const ageMs = nowMs - this.lastDataAtMs;
    if (ageMs <= this.config.staleAfterMs) return undefined;
    const reason = `stale data: the last market update is ${
      Math.round(ageMs / 1000)
    } s old (limit ${Math.round(this.config.staleAfterMs / 1000)} s)`;
    if (!this.staleAlerted) {
      this.staleAlerted = true;
      await this.alert("stale_data", `${this.config.market}: ${reason}; no new entries`);
    }
    return reason;
  }

  // ---- records ----

  async alert(code: string, message: string): Promise<void> {
    const event: EngineEvent = {
      type: "ErrorRaised",
      atMs: this.deps.clock.nowMs(),
      code,
      message,
    };
    await this.deps.store.recordEvent(event);
    this.deps.notifier.notify(event);
  }

  /**
   * Records and logs a signal before its order goes out, so the log and the journal (the page,
   * Telegram) read signal, order, fill, P&L.
   */
  async announceSignal(
    signalId: string,
    signal: { readonly action: "buy" | "sell"; readonly reason: string },
  ): Promise<void> {
    const atMs = this.deps.clock.nowMs();
    const { market } = this.config;
    const record = { market, signalId, action: signal.action, reason: signal.reason, atMs };
    const fresh = await this.deps.store.recordSignal(record);
    this.announced = { signalId, reason: signal.reason, atMs };
    if (fresh) this.deps.notifier.notify({ type: "SignalRaised", ...record });
  }

  /**
   * Stores a signal with its outcome (once). An announced signal is already stored and logged:
   * only when its reason changed (it was not executed) is its record updated, with a
   * `SignalFailed` event.
   */
  async recordSignal(signalId: string, action: "buy" | "sell", reason: string): Promise<void> {
    const announced = this.announced?.signalId === signalId ? this.announced : null;
    this.announced = null;
    const record = {
      market: this.config.market,
      signalId,
      action,
      reason,
      atMs: announced?.atMs ?? this.deps.clock.nowMs(),
    };
    if (announced === null) {
      if (await this.deps.store.recordSignal(record)) {
        this.deps.notifier.notify({ type: "SignalRaised", ...record });
      }
    } else if (announced.reason !== reason) {
      const failedAtMs = this.deps.clock.nowMs();
      await this.deps.store.recordSignalFailed(record, failedAtMs);
      this.deps.notifier.notify({ ...record, type: "SignalFailed", atMs: failedAtMs });
    }
  }

  async refreshLedger(): Promise<Ledger> {
    const ledger = await this.deps.store.getLedger(this.config.market);
    if (ledger !== undefined) this.ledger = ledger;
    return this.ledger;
  }

  async persist(): Promise<void> {
    const levels = this.levels;
    await this.deps.store.putTraderState(this.config.botId, {
      guard: this.guard,
      levels: levels === null ? null : {
        stop: levels.stop,
        target: levels.target,
        highestPx: levels.highestPx,
        entryMs: this.entryMs,
      },
      cooldownUntilMs: this.cooldownUntilMs,
      lastDecisionMs: this.lastDecisionMs,
      lastPrice: this.lastPrice,
      lastPriceAtMs: this.lastPriceAtMs,
      updatedAtMs: this.deps.clock.nowMs(),
    });
  }
}

/**
 * The iterator's next event, or "aborted" once `signal` aborts. Leaves nothing behind on the
 * signal: a `Promise.race` against one long-lived "aborted" promise would keep a reaction per
 * event for the life of the loop (memory growing with every price update).
 */
function nextOrAborted<T>(
  it: AsyncIterator<T>,
  signal: AbortSignal,
): Promise<IteratorResult<T> | "aborted"> {
  if (signal.aborted) return Promise.resolve("aborted");
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve("aborted");
    signal.addEventListener("abort", onAbort, { once: true });
    it.next().then((r) => {
      signal.removeEventListener("abort", onAbort);
      resolve(r);
    }, (error) => {
      signal.removeEventListener("abort", onAbort);
      reject(error);
    });
  });
}
