/**
 * The run-versus-backtest read model behind `deno task compare`: the backtest re-run over the
 * final 1-minute candles the bot recorded (`["candle", market, startMs]`), with the run's
 * strategy, settings and capital, one account over the run's markets, fills and exits resolved on
 * those minutes (`--detail 1m`); then the bot's orders and the backtest's fills side by side
 * (`core/compare.ts`). The same pieces as the daily report's comparison (`legsOf`, `matchLegs`,
 * `exitKindOf`, `settingsOf`), over any range instead of one day.
 */

import { aggregateCandles } from "../core/aggregate.ts";
import { runAccountBacktest } from "../core/account_backtest.ts";
import { type Candle, type Timeframe, TIMEFRAME_MS } from "../core/candle.ts";
import { compareLegs, type CompareRow, type CompareSummary, summarize } from "../core/compare.ts";
import type { SignalNote, TaggedLeg } from "../core/compare.ts";
import { exitKindOf, legsOf } from "../core/daily.ts";
import { parseUnits } from "../core/money.ts";
import { createStrategy, STRATEGIES, type StrategyId } from "../core/strategies/mod.ts";
import type { SignalRecord, Store } from "../ports.ts";
import { dayFillOf, quietBefore } from "./daily_report.ts";
import { settingsOf } from "./read_models.ts";

/** A run beside its backtest. */
export interface RunComparison {
  readonly botId: string;
  readonly strategy: string;
  readonly timeframe: string;
  readonly markets: readonly string[];
  /** The recorded candles' span (null: none recorded in the range). */
  readonly fromMs: number | null;
  readonly toMs: number | null;
  readonly minutes: number;
  readonly rows: readonly CompareRow[];
  readonly summary: CompareSummary;
}

/** Why there is nothing to compare (one line for the user). */
export class NothingToCompareError extends Error {}

/** The store a comparison reads (the bot's signals too, when the store lists them). */
export type CompareStore = Store & {
  listSignals?(market: string): Promise<readonly SignalRecord[]>;
};

/** Compares the run recorded in `store` with its backtest over [fromMs, toMs). */
export async function compareRun(
  store: CompareStore,
  range: { readonly fromMs: number; readonly toMs: number },
): Promise<RunComparison> {
  const run = await store.getRunRecord();
  if (run === undefined) throw new NothingToCompareError("no run recorded in this store");
  if (!(run.strategy in STRATEGIES)) {
    throw new NothingToCompareError(`strategy ${run.strategy} is unknown to this version`);
  }
  const tf = run.timeframe as Timeframe;
  const tfMs = TIMEFRAME_MS[tf];
  if (tfMs === undefined) throw new NothingToCompareError(`timeframe ${run.timeframe} is unknown`);
  const [params, fills, intents, runs] = await Promise.all([
    store.getParams(),
    store.listFills(),
    store.listIntents(["NEW", "UNKNOWN", "OPEN", "FILLED", "CANCELLED", "REJECTED"]),
    store.listRuns(),
  ]);
  // The backtest warms up on the candles recorded before the bot first ran, acting on none; the
  // bot ran from its first start, or from the first candle it decided an order on if earlier.
  const decided = intents
    .filter((i) => exitOf(i.signalId) === "signal")
    .map((i) => Number(i.signalId.slice(i.signalId.lastIndexOf("@") + 1)))
    .filter(Number.isFinite);
  const firstStartMs = Math.min(run.startedAtMs, ...runs.map((r) => r.startedAtMs), ...decided);
  const settings = settingsOf(run, params);
  const signalOf = new Map<string, string>();
  for (const i of intents) if (i.uuid !== undefined) signalOf.set(i.uuid, i.signalId);
  const markets = run.traders.map((t) => t.market);
  const minutesOf = new Map<string, readonly Candle[]>();
  for (const market of markets) minutesOf.set(market, await store.listCandles(market, range));
  const all = [...minutesOf.values()].flat();
  if (all.length === 0) {
    throw new NothingToCompareError("the bot recorded no candle in this range");
  }
  const strategyOf = () => createStrategy(run.strategy as StrategyId, settings.strategyParams);
  const warmup = strategyOf().warmup;
  const strategyFor = () => quietBefore(strategyOf(), firstStartMs);
  let capital = run.capitalKrw === undefined ? undefined : parseUnits(run.capitalKrw);
  if (capital === undefined) {
    capital = (await store.getLedger(markets[0]!))?.initialCash ?? parseUnits("1000000");
  }
  const series = markets.map((market) => ({
    market,
    candles: aggregateCandles(minutesOf.get(market)!, tf),
    detail: minutesOf.get(market)!,
  })).filter((s) => s.candles.length > 0);
  const result = runAccountBacktest(series, {
    rules: settings.rules,
    feeBps: run.feeBps,
    slippageBps: 0,
    capital,
    budgetPct: settings.budgetPct,
    ...(run.portfolio === undefined ? {} : {
      // A run-time budget change applies to sizing `all`, as in the live loop.
      portfolio: run.portfolio.sizing.mode === "all"
        ? { ...run.portfolio, sizing: { mode: "all", value: settings.budgetPct } }
        : run.portfolio,
    }),
    strategyFor,
    timeframeMs: tfMs,
  });
  const rows: CompareRow[] = [];
  for (const market of markets) {
    const minutes = minutesOf.get(market)!;
    const bt = result.markets.find((m) => m.market === market);
    const exitKind = new Map<number, TaggedLeg["kind"]>();
    for (const t of bt?.trades ?? []) exitKind.set(t.exitMs, t.exit);
    const btLegs: TaggedLeg[] = (bt?.fills ?? []).map((f): TaggedLeg => ({
      side: f.side === "buy" ? "bid" : "ask",
      tsMs: f.tsMs,
      price: f.price,
      volume: f.volume,
      kind: f.side === "buy" ? "entry" : exitKind.get(f.tsMs) ?? "signal",
    })).map((leg) =>
      leg.kind === "entry" || leg.kind === "signal"
        ? { ...leg, signalMs: Math.floor(leg.tsMs / tfMs) * tfMs - tfMs }
        : leg
    );
    const mine = fills.filter((f) =>
      f.market === market && f.tsMs >= range.fromMs && f.tsMs < range.toMs
    );
    // Signals before the bot first ran were decided on history: neither side acts on them.
    const botLegs: TaggedLeg[] = legsOf(mine.map(dayFillOf)).map((leg) => {
      const order = mine.find((f) => f.tsMs === leg.tsMs && f.side === leg.side)!;
      const signalId = signalOf.get(order.orderUuid);
      const kind = leg.side === "bid" ? "entry" : exitOf(signalId);
      const atMs = Number(signalId?.slice(signalId.lastIndexOf("@") + 1));
      if (!Number.isFinite(atMs)) return { ...leg, kind };
      // A strategy order answers the candle at `atMs`; a risk exit, the price at `atMs`.
      if (kind === "entry" || kind === "signal") {
        return { ...leg, kind, signalMs: atMs, decidedMs: atMs + tfMs };
      }
      return kind === "manual" ? { ...leg, kind } : { ...leg, kind, decidedMs: atMs };
    });
    const backtestSignals = new Map<number, SignalNote>();
    for (const sig of bt?.signals ?? []) {
      backtestSignals.set(sig.tsMs, {
        action: sig.action,
        ...(sig.executed ? {} : { skipped: skippedOf(sig.reason) }),
      });
    }
    let botSignals: Map<number, SignalNote> | undefined;
    if (store.listSignals !== undefined) {
      botSignals = new Map();
      for (const sig of await store.listSignals(market)) {
        const bucketMs = Number(sig.signalId.slice(sig.signalId.lastIndexOf("@") + 1));
        if (!Number.isFinite(bucketMs) || bucketMs < firstStartMs) continue;
        const skipped = sig.reason.includes("; not ") ? skippedOf(sig.reason) : undefined;
        botSignals.set(bucketMs, {
          action: sig.action,
          ...(skipped === undefined ? {} : { skipped }),
        });
      }
    }
    const buckets = series.find((s) => s.market === market)?.candles ?? [];
    const warmUntilMs = buckets[Math.min(warmup, buckets.length - 1)]?.startMs ?? Infinity;
    rows.push(
      ...compareLegs({
        market,
        rules: settings.rules,
        tfMs,
        minutes,
        bot: botLegs,
        backtest: btLegs,
        // The first bucket whose close can signal; its order fills in the bucket after.
        warmUntilMs: warmUntilMs + tfMs,
        backtestSignals,
        ...(botSignals === undefined ? {} : { botSignals }),
      }),
    );
  }
  const at = (r: CompareRow) => Math.min(r.bot?.tsMs ?? Infinity, r.backtest?.tsMs ?? Infinity);
  rows.sort((a, b) => at(a) - at(b));
  return {
    botId: run.botId,
    strategy: result.markets[0]?.strategy ?? run.strategy,
    timeframe: run.timeframe,
    markets,
    fromMs: Math.min(...all.map((c) => c.startMs)),
    toMs: Math.max(...all.map((c) => c.startMs)) + 60_000,
    minutes: all.length,
    rows,
    summary: summarize(rows),
  };
}

/** The kind of an exit from its signal id (an operator's sell is manual). */
function exitOf(signalId: string | undefined): TaggedLeg["kind"] {
  return signalId?.startsWith("operator-sell@") ? "manual" : exitKindOf(signalId);
}

/** Why a recorded signal was not acted on: its reason from `; not …` on. */
function skippedOf(reason: string): string {
  const at = reason.indexOf("; not ");
  return at < 0 ? reason : reason.slice(at + 2);
}
