/**
 * The backtester: a tight synchronous loop over candles around the shared decision core. The
 * clock is the candles' own time. A signal on candle N's close fills at candle N+1's open plus
 * slippage (no look-ahead); stop loss, take profit and trailing stop are checked against each
 * candle's range before the strategy sees its close (exits before entries).
 */

import type { Candle } from "./candle.ts";
import { decideOnClose, type Decision, marketFillPrice } from "./decide.ts";
import {
  applyFill,
  describeDenial,
  type Fill,
  type Ledger,
  makeFill,
  openLedger,
  type Side,
  sizeBuy,
  sizeSell,
} from "./ledger.ts";
import type { Units } from "./money.ts";
import { unitsToNumber } from "./money.ts";
import {
  checkDailyLoss,
  checkExit,
  type DayGuard,
  type ExitReason,
  type RiskLevels,
  riskLevels,
  type RiskRules,
  rollDay,
  trackHighest,
} from "./risk.ts";
import { formatPrice, type Strategy } from "./strategies/strategy.ts";

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
  /** Share of the cash each entry spends, in percent (default 100). */
  readonly budgetPct?: number;
  /** Called every 65,536 candles with the count done (for a progress bar). */
  readonly onProgress?: (done: number, total: number) => void;
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

interface Pending {
  readonly decision: Extract<Decision, { kind: "enter" | "exit" }>;
  readonly signalMs: number;
}

/** Where and when an order executes, and the signal it answers (none for risk exits). */
interface Execution {
  readonly reference: number;
  readonly tsMs: number;
  readonly signalMs?: number;
}

interface OpenTrade {
  readonly entryMs: number;
  readonly entryPrice: Units;
  readonly cost: Units;
  readonly reason: string;
}

/**
 * Runs a backtest over `candles` (sorted, one timeframe). Pure: same input, same output.
 */
export function runBacktest(candles: readonly Candle[], config: BacktestConfig): BacktestResult {
  const { market, strategy, rules, feeBps, slippageBps } = config;
  const budgetPct = config.budgetPct ?? 100;
  const n = candles.length;
  const equity = new Float64Array(n);
  const inPosition = new Uint8Array(n);
  const fills: Fill[] = [];
  const trades: RoundTrip[] = [];
  const signals: SignalRecord[] = [];

  let ledger = openLedger(config.capital);
  let cashF = unitsToNumber(ledger.cash);
  let qtyF = 0;
  let levels: RiskLevels | null = null;
  let open: OpenTrade | null = null;
  let guard: DayGuard | null = null;
  let cooldownUntilMs = 0;
  let pending: Pending | null = null;

  function execute(side: Side, at: Execution): Fill | string {
    const price = marketFillPrice(side, {
      reference: at.reference,
      slippageBps,
      atMs: at.tsMs,
      market,
    });
    const sized = side === "buy"
      ? sizeBuy(ledger, { price, feeBps, budgetPct })
      : sizeSell(ledger, price);
    if (!sized.ok) return describeDenial(sized.error);
    const { volume } = sized.value;
    const fill = makeFill(side, { id: `bt-${fills.length}`, price, volume, feeBps, tsMs: at.tsMs });
    const applied = applyFill(ledger, fill);
    // Sizing guarantees that the fill fits: a refusal here is a bug.
    if (!applied.ok) throw new RangeError(`Backtest fill refused: ${applied.error.kind}`);
    ledger = applied.value;
    cashF = unitsToNumber(ledger.cash);
    qtyF = unitsToNumber(ledger.qty);
    fills.push(fill);
    return fill;
  }

  function record(
    at: Execution,
    outcome: { action: "buy" | "sell"; result: Fill | string; reason: string },
  ): void {
    if (at.signalMs === undefined) return;
    const executed = typeof outcome.result !== "string";
    const reason = executed ? outcome.reason : `${outcome.reason}; not executed: ${outcome.result}`;
    signals.push({ tsMs: at.signalMs, action: outcome.action, executed, reason });
  }

  function enter(reason: string, at: Execution): void {
    const costBefore = ledger.cost;
    const result = execute("buy", at);
    record(at, { action: "buy", result, reason });
    if (typeof result === "string") return;
    levels = riskLevels(ledger.avgPrice, { rules, atMs: at.tsMs, market });
    open = { entryMs: at.tsMs, entryPrice: result.price, cost: ledger.cost - costBefore, reason };
  }

  function exit(exitReason: ExitReason, reason: string, at: Execution): void {
    const before = ledger.realizedPnl;
    const result = execute("sell", at);
    record(at, { action: "sell", result, reason });
    if (typeof result === "string") return;
    if (open !== null) {
      const pnl = ledger.realizedPnl - before;
      trades.push({
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
    if (exitReason === "stop_loss" && rules.cooldownMs > 0) {
      cooldownUntilMs = at.tsMs + rules.cooldownMs;
    }
    levels = null;
    open = null;
  }

  const onProgress = config.onProgress;
  for (let i = 0; i < n; i++) {
    if (onProgress !== undefined && (i & 0xffff) === 0xffff) onProgress(i + 1, n);
    const c = candles[i]!;
    const t = c.startMs;
    guard = rollDay(guard, t, cashF + qtyF * c.open);

    // 1. The order decided at the previous close fills at this open.
    if (pending !== null) {
      const { decision, signalMs }: Pending = pending;
      pending = null;
      const at = { reference: c.open, tsMs: t, signalMs };
      if (decision.kind === "enter") enter(decision.reason, at);
      else exit(decision.exit, decision.reason, at);
    }

    // 2. Risk exits inside this candle's range.
    if (levels !== null) {
      const trigger = checkExit(levels, rules, c);
      if (trigger === null) {
        levels = trackHighest(levels, c.high);
      } else {
        const reason = `${trigger.reason.replace("_", " ")} at ${formatPrice(trigger.price)}`;
        exit(trigger.reason, reason, { reference: trigger.price, tsMs: t });
      }
    }

    // 3. Mark to market and apply the daily loss limit.
    const eq = cashF + qtyF * c.close;
    equity[i] = eq;
    inPosition[i] = qtyF > 0 ? 1 : 0;
    guard = checkDailyLoss(guard, rules, eq);

    // 4. The strategy sees the close and the engine decides.
    const holding = qtyF > 0 ? "long" : "flat";
    const signal = strategy.update(c, holding);
    if (signal.action === "hold") continue;
    const decision = decideOnClose(signal, { holding, guard, nowMs: t, cooldownUntilMs });
    if (decision.kind === "enter" || decision.kind === "exit") {
      if (i + 1 < n) {
        pending = { decision, signalMs: t };
      } else {
        const reason = `${decision.reason}; not executed: end of data`;
        signals.push({ tsMs: t, action: signal.action, executed: false, reason });
      }
    } else if (decision.kind === "skip") {
      signals.push({ tsMs: t, action: signal.action, executed: false, reason: decision.reason });
    }
  }

  return {
    market,
    strategy: strategy.name,
    candles,
    fills,
    trades,
    signals,
    equity,
    inPosition,
    ledger,
    feeBps,
    slippageBps,
  };
}
