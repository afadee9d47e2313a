/**
 * The ports of the engine: what the trading loop and the order manager need from the world,
 * each a small interface (1–4 methods) with its adapters in `engine/adapters/`.
 *
 * The exchange types stay close to what Upbit returns (`shared/upbit/API.md` §3.3–§3.4: `bid`/
 * `ask`, `ord_type`, states `wait`/`watch`/`done`/`cancel`, `trades[]` with Upbit trade uuids),
 * so the live adapter over the REST client is a thin mapping. Amounts are exact `Units`.
 *
 * Failures of a port are typed throws (`engine/adapters/upbit/errors.ts`): `TemporaryError`
 * (outcome unknown: resolve before resending), `RateLimitedError`, `ConflictError`, `AuthError`,
 * `ConfigError`. Expected outcomes (a venue rejection, a duplicate) are `Result`s.
 */

import type { Candle } from "./core/candle.ts";
import { formatUnits, type Units } from "./core/money.ts";
import type { Ledger } from "./core/ledger.ts";
import type { DayGuard } from "./core/risk.ts";
import type {
  AccountView,
  PortfolioDenial,
  PortfolioRules,
  Reservation,
} from "./core/portfolio.ts";
import type { Result } from "./core/result.ts";

// ---- Clock -----------------------------------------------------------------------------------

/** Time, injected so tests and the sandbox can drive it. */
export interface Clock {
  /** UTC epoch ms. */
  nowMs(): number;
  /** Resolves after `ms` (at once when `signal` is aborted). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

// ---- MarketData ------------------------------------------------------------------------------

/**
 * What the trading loop hears from the market, for one or more markets: FINAL 1-minute candles
 * (in order, gap-free), price updates (each trade or ticker is a one-price bar for the risk
 * manager) and the link's status. Prices are floats (indicators and risk levels use floats);
 * amounts that reach an order are made exact by the engine.
 */
export type MarketEvent =
  | {
    readonly kind: "candle";
    readonly market: string;
    /** A final 1-minute candle. */
    readonly candle: Candle;
  }
  | {
    readonly kind: "price";
    readonly market: string;
    readonly price: number;
    /** Exchange time of the price (trade or ticker timestamp), UTC epoch ms. */
    readonly atMs: number;
    readonly source: "trade" | "ticker";
    /**
     * Set (with why) when the market is under a warning that forbids new entries; only tickers
     * carry the market's state, so trades leave it undefined (unknown, not "clear").
     */
    readonly warning?: string | null;
  }
  | {
    readonly kind: "connection";
    readonly connected: boolean;
    readonly reason: string;
  };

/** 1-minute candles of `market` starting in [fromMs, toMs): REST history for warm-up. */
export type MinuteHistoryPort = (
  market: string,
  range: { readonly fromMs: number; readonly toMs: number },
) => Promise<Candle[]>;

// ---- Exchange --------------------------------------------------------------------------------

/** Upbit's order side: `bid` buys, `ask` sells. */
export type OrderSide = "bid" | "ask";

/** The order types we send: `limit`, `price` (market buy by KRW), `market` (market sell by volume). */
export type OrdType = "limit" | "price" | "market";

/** Upbit's order states: `wait`/`watch` are open, `done`/`cancel` terminal (a cancel may be partly filled). */
export type ExchangeOrderState = "wait" | "watch" | "done" | "cancel";

/** An order to place (`POST /v1/orders`). */
export interface OrderRequest {
  readonly market: string;
  readonly side: OrderSide;
  readonly ordType: OrdType;
  /** Limit price (`limit`), or the KRW amount to spend (`price`); absent for `market`. */
  readonly price?: Units;
  /** Quantity (`limit`, `market`); absent for `price`. */
  readonly volume?: Units;
  /** Our client order id, unique forever per account (API.md §4). */
  readonly identifier: string;
}

/** One execution of an order, as in `GET /v1/order`'s `trades[]`. */
export interface ExchangeTrade {
  /** Upbit's trade uuid: the key that makes a fill apply exactly once. */
  readonly uuid: string;
  readonly price: Units;
  readonly volume: Units;
  /** price × volume in KRW, as Upbit reports it. */
  readonly funds: Units;
  readonly createdAtMs: number;
}

/** An order as the exchange reports it. */
export interface ExchangeOrder {
  readonly uuid: string;
  /** Our client id (absent on orders placed without one: external orders). */
  readonly identifier: string | undefined;
  readonly market: string;
  readonly side: OrderSide;
  readonly ordType: OrdType | "best";
  readonly state: ExchangeOrderState;
  readonly price: Units | undefined;
  readonly volume: Units | undefined;
  readonly executedVolume: Units;
  /** Fee charged so far, in KRW (Upbit's `paid_fee`). */
  readonly paidFee: Units;
  readonly createdAtMs: number;
  /** The fills; only lookups of one order carry them (undefined elsewhere). */
  readonly trades: readonly ExchangeTrade[] | undefined;
}

/** A definitive refusal: Upbit answered and did not carry the request out. */
export interface OrderRejection {
  /** Upbit's `error.name` (`insufficient_funds_bid`, `duplicated_identifier`, …). */
  readonly name: string;
  readonly message: string;
}

/** Which order a lookup or cancel means. */
export type OrderRef = { readonly uuid: string } | { readonly identifier: string };

/**
 * The venue. `placeOrder` throws `TemporaryError` when the outcome is unknown (timeout, reset,
 * 5xx, unreadable answer) and `RateLimitedError` when refused before processing.
 */
export interface Exchange {
  /** Places an order; a definitive refusal is data. */
  placeOrder(request: OrderRequest): Promise<Result<ExchangeOrder, OrderRejection>>;
  /** One order with its trades, or undefined when the exchange does not know it (404). */
  getOrder(ref: OrderRef): Promise<ExchangeOrder | undefined>;
  /** Requests a cancel; the answer is the order as of acceptance (it may still fill). */
  cancelOrder(ref: OrderRef): Promise<Result<ExchangeOrder, OrderRejection>>;
  /** The open (`wait`/`watch`) orders, of one market or all. */
  openOrders(market?: string): Promise<readonly ExchangeOrder[]>;
}

/** One currency's holdings (`GET /v1/accounts`): total = balance + locked. */
export interface Balance {
  readonly currency: string;
  /** Available. */
  readonly balance: Units;
  /** Held by open orders. */
  readonly locked: Units;
}

/** The account's balances. */
export interface Account {
  /** Every currency held (a missing currency counts as zero). */
  balances(): Promise<readonly Balance[]>;
}

// ---- Events and notifications ------------------------------------------------------------------

/** Fields every event carries. */
interface EventBase {
  /** When it happened, UTC epoch ms. */
  readonly atMs: number;
}

/**
 * What the engine reports, past tense. Events are the audit and notification edge, so amounts
 * are exact decimal strings here (`"5000.5"`), never floats.
 */
export type EngineEvent =
  | EventBase & {
    readonly type: "SignalRaised";
    readonly market: string;
    readonly signalId: string;
    readonly action: "buy" | "sell";
    readonly reason: string;
  }
  | EventBase & {
    /**
     * A signal announced by `SignalRaised` before its order went out was not executed after
     * all; `reason` is the signal's recorded reason, ending in why (`…; not entered: …`).
     */
    readonly type: "SignalFailed";
    readonly market: string;
    readonly signalId: string;
    readonly action: "buy" | "sell";
    readonly reason: string;
  }
  | EventBase & {
    readonly type: "OrderSubmitted";
    readonly intentId: string;
    readonly market: string;
    readonly side: OrderSide;
    readonly identifier: string;
    readonly uuid: string;
    /** The market price the order was decided at (its fills' slippage is measured against it). */
    readonly refPrice?: string;
  }
  | EventBase & {
    readonly type: "OrderFilled";
    /** The intent whose order filled (the log's correlation id; absent in the journal). */
    readonly intentId?: string;
    readonly market: string;
    readonly side: OrderSide;
    readonly orderUuid: string;
    readonly tradeUuid: string;
    readonly price: string;
    readonly volume: string;
    readonly funds: string;
    readonly fee: string;
  }
  | EventBase & {
    readonly type: "OrderRejected";
    readonly intentId: string;
    readonly market: string;
    readonly identifier: string;
    /** Upbit's error name, or ours (`under_min_total`) for a refusal before sending. */
    readonly name: string;
    readonly message: string;
  }
  | EventBase & {
    readonly type: "RiskTriggered";
    readonly market: string;
    /** The exit order's intent when the rule sells (the log's correlation id). */
    readonly intentId?: string;
    readonly rule: string;
    /** The market's price; for `account_daily_loss_limit`, the account's equity (KRW). */
    readonly price: string;
    /** For `account_daily_loss_limit`: the account's equity at the day's start (KRW). */
    readonly dayStartEquity?: string;
  }
  | EventBase & {
    readonly type: "ErrorRaised";
    readonly code: string;
    readonly message: string;
  }
  | EventBase & {
    readonly type: "StateChanged";
    readonly paused: boolean;
    readonly safeMode: boolean;
    /** Set by an emergency stop (absent in events written before the halt existed). */
    readonly halted?: boolean;
    readonly reason: string;
    /** Who changed it by an operator command (`ctl`, `telegram:<id>`, `web:<session>`). */
    readonly actor?: string;
  }
  | EventBase & {
    /** An operator command (ctl, Telegram, the web page) and what came of it (the audit log). */
    readonly type: "CommandExecuted";
    /** `ctl`, `telegram:<user id>` or `web:<session>`. */
    readonly actor: string;
    /** The command as one line (`pause: lunch`, `set stop-loss 4`). */
    readonly command: string;
    readonly result: CommandResultKind;
    readonly detail: string;
  }
  | EventBase & {
    /**
     * The daily report of one Upbit day (00:00 UTC = 09:00 KST), issued once: its marker commits
     * with this event. The headline figures; the whole report is `dailyReport(date)`.
     */
    readonly type: "DailyReport";
    /** The day, `YYYY-MM-DD` (its start: 09:00 KST = 00:00 UTC of that date). */
    readonly date: string;
    /** Issued by the start-up catch-up or after the report time had passed by over a minute. */
    readonly late: boolean;
    readonly realizedPnl: string;
    readonly unrealizedPnl: string;
    readonly fees: string;
    /** KRW lost to fill prices worse than the last close before the order (negative: gained). */
    readonly slippage: string;
    readonly fills: number;
    /** Sells closing a position. */
    readonly exits: number;
    /** Largest fall of the account's equity from a high of the day, % (null: no snapshot). */
    readonly maxDrawdownPct: number | null;
    /** The day's worst loss against the daily loss limit, % of it (null: no limit). */
    readonly lossBudgetUsedPct: number | null;
    /** Share of the day the bot ran, %. */
    readonly uptimePct: number;
    /** Realized P&L of the backtest over the day's recorded candles (null: none recorded). */
    readonly backtestPnl: string | null;
    /** The bot's and the backtest's fills that match (same side, same bucket). */
    readonly matched: number;
    /** The realized P&L replayed from the fills equals the ledger's figure to the won. */
    readonly reconciled: boolean;
  }
  | EventBase & {
    /** The watchdog saw the loop or the market data of a market go stale (once), or recover (once). */
    readonly type: "WatchdogAlert";
    readonly check: WatchdogCheck;
    readonly market: string;
    /** true: stale past the limit; false: recovered. */
    readonly stale: boolean;
    /** Age of the newest sign of life (loop write, market update), ms. */
    readonly ageMs: number;
    readonly limitMs: number;
  }
  | EventBase & {
    /** The bot started (journaled with its run record). */
    readonly type: "RunStarted";
    readonly mode: string;
    readonly markets: readonly string[];
    readonly strategy: string;
    readonly timeframe: string;
    /** The run before did not stop cleanly (a crash or a kill): its end was never recorded. */
    readonly recovered: boolean;
  }
  | EventBase & {
    /** The bot stopped cleanly (journaled with the run record's end). */
    readonly type: "RunStopped";
    readonly mode: string;
    /** How long the run lasted. */
    readonly uptimeMs: number;
  }
  | EventBase & {
    readonly type: "ReconciliationFailed";
    readonly reason: string;
    /** Per currency: what the ledger says and what the exchange says. */
    readonly mismatches: readonly {
      readonly currency: string;
      readonly ledger: string;
      readonly exchange: string;
    }[];
  };

/** What the watchdog checks: the trading loop's writes, or the market data's age. */
export type WatchdogCheck = "loop" | "market_data";

/** How an operator command ended: carried out, refused (bad input, checks failed) or failed. */
export type CommandResultKind = "done" | "refused" | "failed";

/** The `type` of an engine event. */
export type EngineEventType = EngineEvent["type"];

/** Sends events to a human (Telegram, log). */
export interface Notifier {
  /** Fire and forget: never throws, never blocks the engine. */
  notify(event: EngineEvent): void;
}

// ---- Telemetry (the metrics and the order log) -------------------------------------------------

/** What the trading loop tells the metrics: plain counters; never throws, never blocks. */
export interface LoopMetrics {
  /** The loop finished handling `event` (the loop's lag and the market's data age). */
  handled(event: MarketEvent): void;
}

/**
 * Each step in the life of an order intent, for the log (every line carries the intent's id) and
 * the metrics (orders by state). Not journaled; never throws, never blocks.
 */
export interface OrderTrace {
  /** `intent` was committed (`from`: its state before; undefined: just written). */
  stored(intent: Intent, from: IntentState | undefined): void;
  /** Something that changes no state: a failed send or look-up, a cancel asked for. */
  noted(intent: Intent, what: string): void;
}

/** The intent id of one decision: one intent per market, side and signal (`market:side:signal`). */
export function intentIdOf(market: string, side: OrderSide, signalId: string): string {
  return `${market}:${side}:${signalId}`;
}

// ---- Store -------------------------------------------------------------------------------------

/**
 * The life of an order intent (reliability.md §1.6): `NEW` (written, never sent) → `UNKNOWN`
 * (a POST may be in flight) → `OPEN` (the exchange has it) → `FILLED` | `CANCELLED`, or
 * `REJECTED` with Upbit's error name.
 */
export type IntentState = "NEW" | "UNKNOWN" | "OPEN" | "FILLED" | "CANCELLED" | "REJECTED";

/** States that end an intent. */
export const TERMINAL_INTENT_STATES: readonly IntentState[] = ["FILLED", "CANCELLED", "REJECTED"];

/** States of an intent that may still have an order in flight. */
export const LIVE_INTENT_STATES: readonly IntentState[] = ["NEW", "UNKNOWN", "OPEN"];

/** Every intent state, live ones first. */
export const INTENT_STATES: readonly IntentState[] = [
  ...LIVE_INTENT_STATES,
  ...TERMINAL_INTENT_STATES,
];

/** A decision to place one order, written before anything is sent. */
export interface Intent {
  /** `market:side:signalId`: one intent per decision. */
  readonly id: string;
  readonly market: string;
  readonly side: OrderSide;
  readonly ordType: OrdType;
  /** Limit price, or the KRW amount of a market buy. */
  readonly price: Units | undefined;
  /** Quantity of a limit order or market sell. */
  readonly volume: Units | undefined;
  /** The market price the order was decided at, when known (for its fills' slippage). */
  readonly refPrice?: Units;
  readonly signalId: string;
  /** Part of the identifier's hash; moves on only after a definitive rejection or a burned id. */
  readonly attempt: number;
  readonly identifier: string;
  readonly state: IntentState;
  /** POSTs made so far, over all attempts (capped). */
  readonly sends: number;
  /** When the last POST started (for the visibility grace). */
  readonly lastSentAtMs: number | undefined;
  /** The last POST answered `duplicated_identifier`. */
  readonly duplicateSeen: boolean;
  readonly uuid: string | undefined;
  /** Upbit's error name of a rejection, or why it was cancelled. */
  readonly error: string | undefined;
  /** What filled, summed from the applied fills. */
  readonly filledVolume: Units;
  readonly filledFunds: Units;
  readonly createdAtMs: number;
  readonly updatedAtMs: number;
}

/** Why an intent could not be created. */
export type IntentConflict =
  | { readonly kind: "intent_exists"; readonly intent: Intent }
  | { readonly kind: "identifier_used"; readonly identifier: string }
  | { readonly kind: "market_busy"; readonly market: string; readonly intentId: string };

/** Why an intent update did not commit. */
export type IntentUpdateError =
  | { readonly kind: "stale"; readonly id: string }
  | { readonly kind: "identifier_used"; readonly identifier: string };

/** Intents, indexed by state and identifier, and the one-in-flight-per-market guard. */
export interface IntentStore {
  /** Inserts a `NEW` intent; refused when the id, the identifier or the market is taken. */
  createIntent(intent: Intent, event?: EngineEvent): Promise<Result<Intent, IntentConflict>>;
  /** One intent by id or by identifier (any attempt's). */
  getIntent(
    ref: { readonly id: string } | { readonly identifier: string },
  ): Promise<Intent | undefined>;
  /** Replaces `prev` with `next` if `prev` is still current; moves the indexes in the same commit. */
  updateIntent(
    prev: Intent,
    next: Intent,
    event?: EngineEvent,
  ): Promise<Result<Intent, IntentUpdateError>>;
  /** The intents in `states`, oldest first. */
  listIntents(states: readonly IntentState[]): Promise<readonly Intent[]>;
}

/** The fills of one order snapshot to apply. */
export interface FillBatch {
  readonly market: string;
  readonly side: OrderSide;
  readonly orderUuid: string;
  readonly intentId: string | undefined;
  /** The order's `paid_fee` in the same snapshot as `trades` (fees are split over the trades). */
  readonly paidFee: Units;
  /** Every trade of the snapshot; those applied before are skipped. */
  readonly trades: readonly ExchangeTrade[];
  /** Fee rate used to split `paidFee` over several new trades. */
  readonly feeBps: number;
  readonly atMs: number;
}

/** A fill as stored (`["fill", orderUuid, tradeUuid]`). */
export interface StoredFill {
  readonly orderUuid: string;
  readonly tradeUuid: string;
  readonly market: string;
  readonly side: OrderSide;
  readonly price: Units;
  readonly volume: Units;
  readonly funds: Units;
  readonly fee: Units;
  readonly tsMs: number;
}

/** Where a page of fills (newest first) ends: the next page starts just past it. */
export interface FillCursor {
  readonly tsMs: number;
  readonly orderUuid: string;
  readonly tradeUuid: string;
}

/** One page of fills, newest first, and the cursors of the pages beside it. */
export interface FillPage {
  readonly fills: readonly StoredFill[];
  /** The next (older) page is the fills older than this (null: none). */
  readonly next: FillCursor | null;
  /** The previous (newer) page is the fills newer than this (null: this page is the newest). */
  readonly prev: FillCursor | null;
}

/** The `OrderFilled` event of a stored fill (amounts as exact decimal strings). */
export function orderFilledEvent(
  fill: StoredFill,
  atMs: number,
  intentId?: string,
): Extract<EngineEvent, { type: "OrderFilled" }> {
  return {
    type: "OrderFilled",
    atMs,
    ...(intentId === undefined ? {} : { intentId }),
    market: fill.market,
    side: fill.side,
    orderUuid: fill.orderUuid,
    tradeUuid: fill.tradeUuid,
    price: formatUnits(fill.price),
    volume: formatUnits(fill.volume),
    funds: formatUnits(fill.funds),
    fee: formatUnits(fill.fee),
  };
}

/** Why fills could not be applied. */
export type FillError =
  | { readonly kind: "no_ledger"; readonly market: string }
  | {
    readonly kind: "ledger_refused";
    readonly tradeUuid: string;
    readonly reason: "insufficient_cash" | "insufficient_position";
  };

/** Fills, applied exactly once, in the same commit as the ledger and balances they change. */
export interface FillStore {
  /** Applies the new trades of a snapshot; the fills applied now (none when all were known). */
  applyFills(batch: FillBatch): Promise<Result<readonly StoredFill[], FillError>>;
  /** Stored fills, of one order or all. */
  listFills(orderUuid?: string): Promise<readonly StoredFill[]>;
  /**
   * Up to `limit` fills, newest first: the newest, or those just older than `after`, or those
   * just newer than `before`.
   */
  listFillsPage(
    options: { readonly after?: FillCursor; readonly before?: FillCursor; readonly limit: number },
  ): Promise<FillPage>;
  /** Realized P&L of the Upbit day (00:00 UTC) starting at `dayStartMs`. */
  dailyPnl(dayStartMs: number): Promise<Units>;
}

/** Per-market ledgers and the account balances the ledger expects. */
export interface PortfolioStore {
  /** The ledger of `market` (without its in-memory fill-id set), or undefined. */
  getLedger(market: string): Promise<Ledger | undefined>;
  /** Creates the ledger of `market` with `cash` KRW when it does not exist; returns it. */
  openLedger(market: string, cash: Units): Promise<Ledger>;
  /** Balances (total per currency) the fills say the account holds. */
  getBalances(): Promise<ReadonlyMap<string, Units>>;
  /** Sets the expected balances once (first start); false when they were set before. */
  seedBalances(balances: ReadonlyMap<string, Units>, atMs: number): Promise<boolean>;
}

/**
 * The account over all markets: the KRW reserved for buys in flight, committed atomically against
 * the ONE capital cap (`engine/core/portfolio.ts`), and the account's daily loss guard.
 */
export interface AccountStore {
  /** Every market's book (from its ledger) and the reservations in flight. */
  accountView(): Promise<AccountView>;
  /** Reserves KRW for a buy if the account's rules still hold with it, in one atomic commit. */
  reserve(
    reservation: Reservation,
    rules: PortfolioRules,
  ): Promise<Result<Reservation, PortfolioDenial>>;
  /** Releases the market's reservation if it is for `intentId`; false when there was none. */
  release(market: string, intentId: string): Promise<boolean>;
  /** Realized P&L of one market on the Upbit day starting at `dayStartMs`. */
  marketDailyPnl(dayStartMs: number, market: string): Promise<Units>;
}

/** The account's daily loss guard, shared by the markets' loops. */
export interface AccountGuardStore {
  /** The guard (null before the first day). */
  getAccountGuard(): Promise<DayGuard | null>;
  /** Stores the guard merged with the stored one (a day stays blocked once blocked); the guard in force. */
  putAccountGuard(guard: DayGuard, atMs: number): Promise<DayGuard>;
}

/** Operator switches. */
export interface Control {
  /** Kill switch: no new entries (buys); exits stay allowed. */
  readonly paused: boolean;
  /** No new entries; exits allowed (set by reconciliation or the attempt cap). */
  readonly safeMode: boolean;
  /** Emergency stop: no order at all, exits included, until an operator resumes. */
  readonly halted: boolean;
  readonly reason: string;
  readonly changedAtMs: number;
}

/** The paused and safe-mode flags. */
export interface ControlStore {
  /** Current switches (both off when never set). */
  getControl(): Promise<Control>;
  /** Changes the switches and records `StateChanged` in the same commit. */
  setControl(
    change: {
      readonly paused?: boolean;
      readonly safeMode?: boolean;
      readonly halted?: boolean;
      readonly reason: string;
      /** The operator command's actor, kept on the `StateChanged` event. */
      readonly actor?: string;
    },
    atMs: number,
  ): Promise<Control>;
}

/** A recorded signal (`["signal", market, signalId]`). */
export interface SignalRecord {
  readonly market: string;
  readonly signalId: string;
  readonly action: "buy" | "sell";
  readonly reason: string;
  readonly atMs: number;
}

/** An equity snapshot of one market (`["equity", market, tsMs]`): cash + position at a price. */
export interface EquitySnapshot {
  readonly market: string;
  readonly tsMs: number;
  readonly equity: Units;
  readonly cash: Units;
}

/** The audit log, signals and equity curve. */
export interface JournalStore {
  /** Appends an event to the audit log. */
  recordEvent(event: EngineEvent): Promise<void>;
  /** Records a signal once (with its `SignalRaised` event); false when it was recorded before. */
  recordSignal(signal: SignalRecord): Promise<boolean>;
  /**
   * A recorded signal was not executed after all: its record takes `signal.reason` (ending in
   * why) and the journal a `SignalFailed` event at `failedAtMs`.
   */
  recordSignalFailed(signal: SignalRecord, failedAtMs: number): Promise<void>;
  /** Records an equity snapshot. */
  recordEquity(snapshot: EquitySnapshot): Promise<void>;
  /** Events from `fromMs` on (default all), before `toMs` (default none after), oldest first. */
  listEvents(
    options?: { readonly fromMs?: number; readonly toMs?: number; readonly limit?: number },
  ): Promise<readonly EngineEvent[]>;
}

/** The exit levels of the open position, as persisted (prices exact, the running high a float). */
export interface StoredLevels {
  readonly stop: Units;
  readonly target: Units;
  readonly highestPx: number;
  readonly entryMs: number;
}

/** What the trading loop of one bot keeps across restarts (`["trader", botId]`). */
export interface TraderState {
  /** The daily loss guard of the current Upbit day (null before the first day). */
  readonly guard: DayGuard | null;
  /** Exit levels of the open position (null when flat). */
  readonly levels: StoredLevels | null;
  readonly cooldownUntilMs: number;
  /** Start of the last strategy bucket acted on: never decided twice, even after a restart. */
  readonly lastDecisionMs: number;
  /** Last price seen (0 before any) and its exchange time. */
  readonly lastPrice: number;
  readonly lastPriceAtMs: number;
  readonly updatedAtMs: number;
}

/** The trading loop's own state. */
export interface TraderStateStore {
  /** The state of bot `botId`, or undefined on its first start. */
  getTraderState(botId: string): Promise<TraderState | undefined>;
  /** Replaces the state of bot `botId`. */
  putTraderState(botId: string, state: TraderState): Promise<void>;
}

/** One entry of the operator's audit log (`["audit", atMs, id]`). */
export interface CommandRecord {
  /** Unique per command (time and a random part), also the `CommandExecuted` event's key. */
  readonly id: string;
  readonly atMs: number;
  readonly actor: string;
  readonly command: string;
  readonly result: CommandResultKind;
  readonly detail: string;
}

/** The run-time parameters in force: overrides of the start-up config, versioned. */
export interface StoredParams {
  /** 0 before the first change; +1 with each change. */
  readonly version: number;
  /** Parameter name (as `ctl set` takes it) → value, validated when it was set. */
  readonly values: Readonly<Record<string, number>>;
  readonly changedAtMs: number;
}

/** One change of a run-time parameter (`["params_history", version]`). */
export interface ParamChange {
  readonly version: number;
  readonly name: string;
  /** The override before (null: the start-up config applied). */
  readonly from: number | null;
  /** The override after (null: removed, back to the start-up config). */
  readonly to: number | null;
  readonly actor: string;
  readonly atMs: number;
}

/** What a bot ran with, recorded at each start, so the operator of a stopped bot knows it. */
export interface RunRecord {
  readonly botId: string;
  readonly mode: string;
  /** One trader per market, with its own state key. */
  readonly traders: readonly { readonly botId: string; readonly market: string }[];
  readonly timeframe: string;
  readonly strategy: string;
  readonly strategyParams: Readonly<Record<string, number>>;
  readonly rules: {
    readonly stopLossPct: number;
    readonly takeProfitPct: number;
    readonly maxDailyLossPct: number;
    readonly trailingStopPct: number;
    readonly cooldownMs: number;
  };
  readonly budgetPct: number;
  readonly staleAfterMs: number;
  readonly feeBps: number;
  readonly startedAtMs: number;
  /** The account's cap over all markets, exact decimal KRW (absent in older records). */
  readonly capitalKrw?: string;
  /** The account's rules besides the cap (absent in older records: the defaults). */
  readonly portfolio?: Omit<PortfolioRules, "capitalKrw">;
  /** When the run stopped cleanly (absent while it runs, or after a crash). */
  readonly endedAtMs?: number;
}

/** A journal event with its id (`<tsMs>-<seq>`): a listener resumes after the last id it saw. */
export interface JournalEntry {
  readonly id: string;
  readonly event: EngineEvent;
}

/** What the operator keeps: audit log, run-time parameters, the run record, journal paging. */
export interface OperatorStore {
  /** Appends a command to the audit log with its `CommandExecuted` event (one commit). */
  recordCommand(record: CommandRecord): Promise<void>;
  /** The newest `limit` commands, newest first. */
  listCommands(options: { readonly limit: number }): Promise<readonly CommandRecord[]>;
  /** The run-time parameters in force (version 0, none, before any change). */
  getParams(): Promise<StoredParams>;
  /**
   * Sets (or with `value: null` removes) one override if the version is still `expectVersion`;
   * the history entry commits with it. Undefined when another change came first.
   */
  setParam(
    change: {
      readonly name: string;
      readonly value: number | null;
      readonly actor: string;
      readonly atMs: number;
    },
    expectVersion: number,
  ): Promise<StoredParams | undefined>;
  /** Every parameter change, oldest first. */
  listParamHistory(): Promise<readonly ParamChange[]>;
  /** The last run's record, or undefined before the first start. */
  getRunRecord(): Promise<RunRecord | undefined>;
  /** Replaces the run record (with `event` journaled in the same commit). */
  putRunRecord(record: RunRecord, event?: EngineEvent): Promise<void>;
  /**
   * Journal events after `afterId` (from the start when undefined), oldest first, at most
   * `limit`; with `newest`, the newest `limit` events instead (still oldest first).
   */
  listJournal(
    options: { readonly afterId?: string; readonly limit: number; readonly newest?: boolean },
  ): Promise<readonly JournalEntry[]>;
  /** Equity snapshots of `market` from `fromMs` on, oldest first. */
  listEquity(
    options: { readonly market: string; readonly fromMs?: number },
  ): Promise<readonly EquitySnapshot[]>;
  /** Deletes the snapshots of `market` older than `beforeMs` (at most `limit`); how many went. */
  pruneEquity(market: string, beforeMs: number, limit: number): Promise<number>;
  /**
   * Deletes the account's history past its retention (`HISTORY_RETENTION` in kv_store.ts: the
   * journal and signals 35 days, the audit log 1 year, daily P&L 400 days), at most `limit`
   * keys of each kind; how many went.
   */
  pruneHistory(nowMs: number, limit: number): Promise<number>;
}

/** The final candles the loop traded on, kept a bounded time for the daily report's backtest. */
export interface CandleStore {
  /** Records final 1-minute candles of `market` (a candle recorded again is replaced). */
  recordCandles(market: string, candles: readonly Candle[]): Promise<void>;
  /** The recorded candles of `market` starting in [fromMs, toMs), oldest first. */
  listCandles(
    market: string,
    range: { readonly fromMs: number; readonly toMs: number },
  ): Promise<readonly Candle[]>;
  /** Deletes the candles of `market` older than `beforeMs` (at most `limit`); how many went. */
  pruneCandles(market: string, beforeMs: number, limit: number): Promise<number>;
}

/** The marker of an issued daily report (`["daily_report", dayStartMs]`). */
export interface ReportMarker {
  readonly dayStartMs: number;
  readonly date: string;
  readonly issuedAtMs: number;
}

/** One run of the bot (`["run_log", startedAtMs]`): its heartbeat bounds a crashed run's end. */
export interface RunSpan {
  readonly startedAtMs: number;
  /** The last heartbeat (each minute while running). */
  readonly lastSeenMs: number;
  /** Set by a clean stop. */
  readonly endedAtMs: number | null;
}

/** Daily reports issued exactly once, and the run log their uptime comes from. */
export interface ReportStore {
  /**
   * Commits the marker of `event.date`'s report with its `DailyReport` event, if the marker is
   * absent (`versionstamp: null`); false when the report was issued before.
   */
  issueDailyReport(
    marker: ReportMarker,
    event: Extract<EngineEvent, { type: "DailyReport" }>,
  ): Promise<boolean>;
  /** Markers of the issued reports, newest first (at most `limit`). */
  listReportMarkers(options: { readonly limit: number }): Promise<readonly ReportMarker[]>;
  /** Writes a run's heartbeat (and its clean end); with `pruneBeforeMs`, drops runs ended before. */
  noteRun(span: RunSpan, pruneBeforeMs?: number): Promise<void>;
  /** Every run in the log, oldest first. */
  listRuns(): Promise<readonly RunSpan[]>;
}

/** The watchdog's alert state, changed only together with its alert event. */
export interface WatchdogStore {
  /** Whether `check` of `market` is alerted (stale) now. */
  isAlerted(check: WatchdogCheck, market: string): Promise<boolean>;
  /**
   * Sets the alerted state to `event.stale` and records the event, in one commit, if the state
   * was not that already; false when it was (another check got there first).
   */
  alert(event: Extract<EngineEvent, { type: "WatchdogAlert" }>): Promise<boolean>;
}

/** Upbit's refusals (429, 418) counted per Upbit day, for the daily report's data health. */
export interface RefusalStore {
  /** Counts one refusal at `atMs`. */
  countRefusal(atMs: number): Promise<void>;
  /** The refusals counted on the Upbit day starting at `dayStartMs`. */
  refusalsOn(dayStartMs: number): Promise<number>;
}

/** Everything the engine keeps: `KvStore` implements all of it. */
export type Store =
  & CandleStore
  & RefusalStore
  & ReportStore
  & WatchdogStore
  & IntentStore
  & FillStore
  & PortfolioStore
  & AccountStore
  & AccountGuardStore
  & ControlStore
  & JournalStore
  & TraderStateStore
  & OperatorStore;

/** A destructive chat command waiting for its Confirm button (one-time, expiring). */
export interface PendingConfirmation {
  /** The random one-time value in the button's callback data. */
  readonly nonce: string;
  /**
   * What runs once confirmed: an emergency stop, a stop that sells every position, or the sale
   * of one market's position (`market`).
   */
  readonly action: "stop" | "sell_all" | "sell";
  /** The market to sell (set for `sell` only). */
  readonly market?: string;
  /** Only this user may confirm it, in this chat. */
  readonly userId: number;
  readonly chatId: number;
  readonly createdAtMs: number;
  readonly expiresAtMs: number;
}

/** What a chat update asks for once the access rules let it through (never the bot's token). */
export type ChatRequest =
  | {
    readonly kind: "command";
    readonly updateId: number;
    readonly userId: number;
    readonly chatId: number;
    /** The owner runs every command; a viewer only the reading ones. */
    readonly role: "owner" | "viewer";
    /** Lower case, without the slash or `@bot` (empty for text that is no command). */
    readonly name: string;
    readonly args: readonly string[];
  }
  | {
    readonly kind: "button";
    readonly updateId: number;
    readonly userId: number;
    readonly chatId: number;
    readonly queryId: string;
    readonly messageId: number;
    readonly action: "confirm" | "cancel";
    readonly nonce: string;
  };

/** A chat request waiting for the command worker, received at `receivedAtMs`. */
export interface ChatCommandRecord {
  readonly request: ChatRequest;
  readonly receivedAtMs: number;
}

/** What a chat surface (Telegram) keeps: seen updates, waiting commands, confirmations. */
export interface ChatStore {
  /**
   * Claims the request's update id and stores its command record in one atomic commit; false
   * (and nothing stored) when the id was seen already (a duplicate or a replay).
   */
  enqueueCommand(record: ChatCommandRecord): Promise<boolean>;
  /** The waiting command records, oldest update id first, at most `limit`. */
  listCommands(limit: number): Promise<ChatCommandRecord[]>;
  /** Deletes the command record of `updateId` (a missing one is not an error). */
  deleteCommand(updateId: number): Promise<void>;
  /** Stores a pending confirmation under its nonce. */
  putConfirmation(confirmation: PendingConfirmation): Promise<void>;
  /**
   * Takes a confirmation once: undefined when unknown, already taken or expired at `nowMs`.
   * With `commandOf`, the command record of that update id is deleted in the same commit.
   */
  takeConfirmation(
    nonce: string,
    nowMs: number,
    commandOf?: number,
  ): Promise<PendingConfirmation | undefined>;
}

/**
 * Where the notification outbox stands in the event journal: the id of the last event it
 * handled (sent, coalesced into a sent message, or skipped because its type is off).
 */
export interface OutboxCursorStore {
  /** The last handled journal id, or undefined before the first. */
  getOutboxCursor(): Promise<string | undefined>;
  /** Records `id` as handled. */
  setOutboxCursor(id: string): Promise<void>;
}

// ---- Web sessions (the status page) ------------------------------------------------------------

/** A signed-in status-page session. The cookie's id is never stored: only its SHA-256. */
export interface WebSession {
  /** SHA-256 of the cookie's session id, hex: the key (its first 16 characters name the actor). */
  readonly idHash: string;
  /** The session's CSRF token, echoed by its forms (`_csrf`) and JSON posts (`X-CSRF-Token`). */
  readonly csrfToken: string;
  readonly createdAtMs: number;
  readonly expiresAtMs: number;
}

/** The status page's sessions. */
export interface SessionStore {
  /** Stores `session` (it lapses at its `expiresAtMs`). */
  putSession(session: WebSession): Promise<void>;
  /** The session of `idHash`: undefined when unknown or expired at `nowMs`. */
  getSession(idHash: string, nowMs: number): Promise<WebSession | undefined>;
  /** Deletes the session (log out); a missing one is not an error. */
  deleteSession(idHash: string): Promise<void>;
}

/** Failed logins, kept in the store so the login rate limit survives a restart. */
export interface LoginAttemptStore {
  /** Records one failed login at `atMs` under each scope (a client address, `*` for all). */
  recordLoginFailure(scopes: readonly string[], atMs: number): Promise<void>;
  /** How many failed logins `scope` had from `sinceMs` on (counting stops at `max`). */
  countLoginFailures(scope: string, options: { sinceMs: number; max: number }): Promise<number>;
}
