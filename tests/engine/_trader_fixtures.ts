/**
 * Shared fixtures of the trading-loop tests: a clock whose timers fire only when the test moves
 * it, a scripted strategy, a paper exchange over a one-price book, and a scripted market feed
 * that sets the clock and the book before each event (so the loop sees the world as it was).
 */

import { type Candle, TIMEFRAME_MS } from "../../engine/core/candle.ts";
import { unitsFromNumber } from "../../engine/core/money.ts";
import { DEFAULT_RISK_RULES } from "../../engine/core/risk.ts";
import { HOLD, type Strategy } from "../../engine/core/strategies/strategy.ts";
import { krwTickSize } from "../../engine/core/tick_size.ts";
import { KvStore } from "../../engine/adapters/kv_store.ts";
import { PaperExchange } from "../../engine/adapters/paper_exchange.ts";
import type { Clock, MarketEvent } from "../../engine/ports.ts";
import type { BookSnapshot } from "../../engine/sandbox/feed.ts";
import { runTrader, type TraderConfig, type TraderDeps } from "../../engine/trader.ts";
import { RecordingNotifier, T0_MS } from "./_order_fixtures.ts";
import {
  type BotStatus,
  createOperator,
  type MarketStatus,
  type Operator,
  recordRun,
} from "../../engine/operator/mod.ts";

export { RecordingNotifier, T0_MS };

/** A clock moved by hand; `sleep` waits until the clock passes its deadline (or the abort). */
export class StepClock implements Clock {
  now: number;
  readonly #timers: { dueMs: number; resolve: () => void }[] = [];
  constructor(now = T0_MS) {
    this.now = now;
  }
  nowMs(): number {
    return this.now;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      this.#timers.push({ dueMs: this.now + ms, resolve });
      signal?.addEventListener("abort", () => resolve(), { once: true });
    });
  }
  /** Moves the clock to `ms` (never back) and fires the timers that are due. */
  set(ms: number): void {
    if (ms > this.now) this.now = ms;
    for (let i = this.#timers.length - 1; i >= 0; i--) {
      const t = this.#timers[i]!;
      if (t.dueMs <= this.now) {
        this.#timers.splice(i, 1);
        t.resolve();
      }
    }
  }
}

/** A strategy that says `buy`/`sell` at the closes of the buckets given by start ms. */
export function scripted(actions: Readonly<Record<number, "buy" | "sell">>): Strategy {
  return {
    name: "script",
    warmup: 1,
    update(candle: Candle) {
      const action = actions[candle.startMs];
      return action === undefined ? HOLD : { action, reason: `scripted ${action}` };
    },
  };
}

/** Minute `n` after T0. */
export function minute(n: number): number {
  return T0_MS + n * TIMEFRAME_MS["1m"];
}

/** A flat 1-minute candle at `close`. */
export function candle(n: number, close: number): Candle {
  return {
    startMs: minute(n),
    open: close,
    high: close,
    low: close,
    close,
    volume: 1,
    value: close,
  };
}

/** A deep book whose best bid is `price` and best ask one tick above. */
export function bookAt(market: string, price: number, tsMs: number): BookSnapshot {
  const bid = unitsFromNumber(price);
  const ask = bid + krwTickSize(bid, { atMs: tsMs, market });
  const size = unitsFromNumber(10);
  return { market, tsMs, asks: [{ price: ask, size }], bids: [{ price: bid, size }] };
}

/** The default config of the loop tests: 1m, scripted, stop −5%, target +10%, daily −10%. */
export function traderConfig(overrides: Partial<TraderConfig> = {}): TraderConfig {
  return {
    botId: "test-bot",
    market: "KRW-BTC",
    timeframe: "1m",
    strategy: scripted({}),
    rules: DEFAULT_RISK_RULES,
    feeBps: 5,
    budgetPct: 100,
    staleAfterMs: 60_000,
    ...overrides,
  };
}

/** One scripted moment: the clock is set to `atMs` (and the book to `price`) before the event. */
export type Step =
  | { readonly atMs: number; readonly price: number; readonly kind?: "price" }
  | { readonly atMs: number; readonly candle: Candle };

/** Runs `run` between two events, as an operator command arriving while the loop runs. */
export interface HookStep {
  readonly atMs: number;
  readonly run: () => Promise<void>;
}

/** A paper world: KV store, clock, paper exchange over a one-price book, notifier. */
export interface World {
  readonly kv: Deno.Kv;
  readonly store: KvStore;
  readonly clock: StepClock;
  readonly exchange: PaperExchange;
  readonly notifier: RecordingNotifier;
  /** The book's best bid now. */
  readonly px: { value: number };
}

/** A fresh world (or a restart over `reuse`'s KV and exchange with a new store object). */
export async function world(
  options: { readonly krw?: number; readonly reuse?: World; readonly price?: number } = {},
): Promise<World> {
  const reuse = options.reuse;
  const kv = reuse?.kv ?? await Deno.openKv(":memory:");
  const clock = reuse?.clock ?? new StepClock();
  const px = reuse?.px ?? { value: options.price ?? 100_000_000 };
  const exchange = reuse?.exchange ?? new PaperExchange({
    book: (market) => bookAt(market, px.value, clock.nowMs()),
    nowMs: () => clock.nowMs(),
    balances: { KRW: unitsFromNumber(options.krw ?? 1_000_000) },
  });
  return {
    kv,
    store: new KvStore(kv),
    clock,
    exchange,
    notifier: new RecordingNotifier(),
    px,
  };
}

/** Runs the loop over `steps` (then the feed ends and the loop returns). */
export async function runSteps(
  w: World,
  config: TraderConfig,
  steps: readonly (Step | HookStep)[],
  options: {
    readonly history?: readonly Candle[];
    /** Called with each history range the loop asks for. */
    readonly onHistory?: (range: { fromMs: number; toMs: number }) => void;
    /** Upbit's flags of the market (default: none known). */
    readonly marketFlags?: TraderDeps["marketFlags"];
  } = {},
): Promise<void> {
  async function* feed(): AsyncGenerator<MarketEvent> {
    for (const step of steps) {
      w.clock.set(step.atMs);
      if ("run" in step) {
        await step.run();
      } else if ("candle" in step) {
        w.px.value = step.candle.close;
        yield { kind: "candle", market: config.market, candle: step.candle };
      } else {
        w.px.value = step.price;
        yield {
          kind: "price",
          market: config.market,
          price: step.price,
          atMs: step.atMs,
          source: "trade",
        };
      }
    }
  }
  const deps = worldDeps(w, feed(), {
    ...(options.marketFlags === undefined ? {} : { marketFlags: options.marketFlags }),
    history: (_market, range) => {
      options.onHistory?.(range);
      return Promise.resolve(
        (options.history ?? []).filter((c) => c.startMs >= range.fromMs && c.startMs < range.toMs),
      );
    },
  });
  await runTrader(deps, config, new AbortController().signal);
}

/** Writes the run record of a one-market bot with `config` (what the run command does at start). */
export async function recordTestRun(
  w: World,
  config: TraderConfig = traderConfig(),
): Promise<void> {
  await recordRun(w.store, {
    botId: config.botId,
    mode: "paper",
    traders: [{ botId: config.botId, market: config.market }],
    timeframe: config.timeframe,
    strategy: config.strategyId ?? config.strategy.name,
    strategyParams: config.strategyParams ?? {},
    rules: config.rules,
    budgetPct: config.budgetPct,
    staleAfterMs: config.staleAfterMs,
    feeBps: config.feeBps,
    startedAtMs: w.clock.nowMs(),
  });
}

/**
 * A trader's deps on world `w` (its clock, paper exchange as exchange and account, store and
 * notifier) hearing `market`, with no history unless `overrides` say otherwise.
 */
export function worldDeps(
  w: World,
  market: AsyncIterable<MarketEvent>,
  overrides: Partial<TraderDeps> = {},
): TraderDeps {
  return {
    clock: w.clock,
    exchange: w.exchange,
    account: w.exchange,
    store: w.store,
    notifier: w.notifier,
    market,
    history: () => Promise.resolve([]),
    ...overrides,
  };
}

/** The operator of a world's bot: with its exchange (running) or over the store alone. */
export function operatorOf(
  w: World,
  options: { readonly running?: boolean; readonly nowMs?: number } = {},
): Operator {
  const nowMs = options.nowMs;
  return createOperator({
    store: w.store,
    clock: {
      nowMs: () => nowMs ?? w.clock.nowMs(),
      sleep: (ms, signal) => w.clock.sleep(ms, signal),
    },
    notifier: w.notifier,
    ...(options.running === false ? {} : { exchange: w.exchange }),
  });
}

/** The one market's status with the bot's switches (records the run when missing). */
export async function marketStatusAt(
  w: World,
  nowMs: number,
  config: TraderConfig = traderConfig(),
): Promise<MarketStatus & Pick<BotStatus, "paused" | "safeMode" | "halted">> {
  if ((await w.store.getRunRecord()) === undefined) await recordTestRun(w, config);
  const status = await operatorOf(w, { nowMs }).status();
  const { paused, safeMode, halted } = status;
  return { ...status.markets[0]!, paused, safeMode, halted };
}
