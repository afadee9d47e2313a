/**
 * The strategy lab's five-market parity test: five paper traders sharing ONE account (one store,
 * one paper exchange, one cap, at most 2 positions), driven by the sandbox replaying the five
 * bundled 30-minute markets, take the same decisions as `runAccountBacktest` over the candles the
 * sandbox served, with the same portfolio rules: the same legs (market, side, 30-minute candle),
 * the same signals turned down for want of a slot, and fills within a few bps.
 *
 * The test bites on the same-close rule: it asserts that closes where two markets wanted an entry
 * and fewer slots were free did happen in the window (both sides' records name the loser), and
 * that none of the traders' rounds had to open on the deadline.
 *
 * As in the single-market parity test, each market's loop hears the sandbox's own trade tape as
 * Upbit `trade` frames and final candles by the market stream's candle track. One hub holds the
 * five tapes merged in time order: it moves the clock to a trade's time, hands the trade to its
 * market's loop, and goes on only once every loop is idle (waiting for its next event, or parked
 * in a same-close round), so each market order walks the sandbox book as it stood then.
 */

import assert from "node:assert/strict";
import { KvStore } from "../../engine/adapters/kv_store.ts";
import { PaperExchange } from "../../engine/adapters/paper_exchange.ts";
import { backfillMinuteCandles, UpbitRestClient } from "../../engine/adapters/upbit/rest_client.ts";
import { completeCandleSync, createCandleTrack } from "../../engine/adapters/upbit/ws_candles.ts";
import { aggregateCandles, bucketStartMs } from "../../engine/core/aggregate.ts";
import { runAccountBacktest } from "../../engine/core/account_backtest.ts";
import { TIMEFRAME_MS } from "../../engine/core/candle.ts";
import { unitsFromNumber, unitsToNumber } from "../../engine/core/money.ts";
import { DEFAULT_PORTFOLIO_RULES } from "../../engine/core/portfolio.ts";
import { createBollinger } from "../../engine/core/strategies/mod.ts";
import type { Clock, MarketEvent } from "../../engine/ports.ts";
import { createSandbox } from "../../engine/sandbox/mod.ts";
import type { TapeTrade } from "../../engine/sandbox/paths.ts";
import { floatCandle } from "../../engine/sandbox/upbit_format.ts";
import { runTrader, type TraderConfig } from "../../engine/trader.ts";
import { roundsOf } from "../../engine/trader_close_round.ts";
import { RecordingNotifier } from "./_order_fixtures.ts";
import { liveLegs, replayAhead, tapeEvents } from "./_parity.ts";

const MARKETS = ["KRW-BTC", "KRW-ETH", "KRW-XRP", "KRW-SOL", "KRW-DOGE"];
const FILES = MARKETS.map((m) =>
  decodeURIComponent(
    new URL(
      `../../data/upbit-${m}-30m-${m === "KRW-BTC" ? "20240123" : "20241023"}-20250127.csv`,
      import.meta.url,
    ).pathname,
  )
);
const START_DATA_MS = Date.UTC(2024, 10, 24);
const MINUTES = 2 * 1440;
const TIMEFRAME = "30m";
const CAPITAL_KRW = 1_000_000;
const RULES = {
  stopLossPct: 1.5,
  takeProfitPct: 2,
  maxDailyLossPct: 0,
  trailingStopPct: 0,
  cooldownMs: 0,
};
const PORTFOLIO = {
  ...DEFAULT_PORTFOLIO_RULES,
  maxOpenPositions: 2,
  sizing: { mode: "equity_pct" as const, value: 30 },
};
/** Long enough for every market's close to arrive on this tape: no round opens on its deadline. */
const SAME_CLOSE_WAIT_MS = 60_000;
/** Strategy legs: the live fill is the book at the round's grant, the backtest's the next open. */
const SIGNAL_BOUND_BPS = 30;
/** Risk exits: the live loop sells at the first trade past the level, the backtest at the level. */
const RISK_BOUND_BPS = 60;
const NOT_ENOUGH_SLOTS = "positions are open";

interface Leg {
  readonly market: string;
  readonly side: "buy" | "sell";
  readonly tsMs: number;
  readonly price: number;
  readonly risk?: boolean;
}

/** One market's events for its loop, and whether the loop is waiting for the next one. */
class Feed implements AsyncIterable<MarketEvent> {
  readonly items: MarketEvent[] = [];
  waiter: ((r: IteratorResult<MarketEvent>) => void) | null = null;
  ended = false;

  constructor(readonly onAsk: () => void) {}

  push(event: MarketEvent): void {
    const waiter = this.waiter;
    if (waiter !== null) {
      this.waiter = null;
      waiter({ value: event, done: false });
    } else this.items.push(event);
  }

  end(): void {
    this.ended = true;
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.({ value: undefined, done: true });
  }

  get idle(): boolean {
    return this.waiter !== null || this.ended;
  }

  [Symbol.asyncIterator](): AsyncIterator<MarketEvent> {
    return {
      next: () => {
        const item = this.items.shift();
        if (item !== undefined) return Promise.resolve({ value: item, done: false });
        if (this.ended) return Promise.resolve({ value: undefined, done: true });
        const p = new Promise<IteratorResult<MarketEvent>>((resolve) => this.waiter = resolve);
        this.onAsk();
        return p;
      },
      return: () => Promise.resolve({ value: undefined, done: true }),
    };
  }
}

Deno.test({
  name: "five traders under one account take the account backtest's decisions (parity)",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const sandbox = await createSandbox({
      port: 0,
      manualClock: true,
      dataFiles: FILES,
      startAt: START_DATA_MS,
      rateLimits: false,
    });
    const kv = await Deno.openKv(":memory:");
    try {
      const replay = sandbox.replay;
      const startMs = replay.nowMs();
      const endMs = startMs + MINUTES * 60_000;
      // The five tapes ahead, from a second replay on the same data and shift, merged by time.
      const ahead = await replayAhead(replay, FILES, START_DATA_MS, endMs);
      const tape: { market: string; trade: TapeTrade }[] = [];
      for (const market of MARKETS) {
        const trades = ahead.trades(market, {
          toMs: endMs,
          count: 10_000_000,
          notBeforeMs: startMs,
        });
        for (const trade of trades) tape.push({ market, trade });
      }
      ahead.close();
      tape.sort((a, b) =>
        a.trade.tsMs - b.trade.tsMs ||
        MARKETS.indexOf(a.market) - MARKETS.indexOf(b.market)
      );

      // The clock: the replay's; sleeps end when the hub moves the clock past them (or on abort).
      const sleepers = new Set<{ atMs: number; wake: () => void }>();
      const clock: Clock = {
        nowMs: () => replay.nowMs(),
        sleep: (ms, signal) =>
          new Promise((resolve) => {
            if (signal?.aborted) return resolve();
            const sleeper = { atMs: replay.nowMs() + ms, wake: () => done() };
            const done = () => {
              sleepers.delete(sleeper);
              signal?.removeEventListener("abort", done);
              resolve();
            };
            sleepers.add(sleeper);
            signal?.addEventListener("abort", done, { once: true });
          }),
      };
      const advanceTo = (ms: number) => {
        replay.advanceTo(ms);
        for (const s of [...sleepers]) if (s.atMs <= ms) s.wake();
      };

      const store = new KvStore(kv);
      const rounds = roundsOf(store);
      let asked: (() => void) | null = null;
      const feeds = new Map(MARKETS.map((m) => [m, new Feed(() => asked?.())]));
      /** Every loop idle: waiting for its next event, or parked in a same-close round. */
      const settle = async () => {
        for (;;) {
          const parked = rounds.waiting();
          if (MARKETS.every((m) => feeds.get(m)!.idle || parked.includes(m))) return;
          await Promise.race([
            new Promise<void>((resolve) => asked = resolve),
            rounds.changed(),
          ]);
        }
      };

      const exchange = new PaperExchange({
        book: (m) => replay.book(m),
        nowMs: () => replay.nowMs(),
        balances: { KRW: unitsFromNumber(CAPITAL_KRW) },
      });
      const rest = new UpbitRestClient({ restUrl: sandbox.restUrl });
      const configOf = (market: string): TraderConfig => ({
        botId: `parity-${market}`,
        market,
        timeframe: TIMEFRAME,
        strategy: createBollinger({ period: 20, std: 1.5 }),
        rules: RULES,
        feeBps: 5,
        budgetPct: 100,
        staleAfterMs: 3_600_000,
        capitalKrw: unitsFromNumber(CAPITAL_KRW),
        portfolio: PORTFOLIO,
        accountMarkets: MARKETS,
        sameCloseWaitMs: SAME_CLOSE_WAIT_MS,
        // The hub waits for idle loops: a reconciliation pass (exclusive) is not part of this run.
        reconcileEveryMs: 365 * 86_400_000,
      });
      const runs = MARKETS.map((market) =>
        runTrader(
          {
            clock,
            exchange,
            account: exchange,
            store,
            notifier: new RecordingNotifier(),
            market: feeds.get(market)!,
            history: (m, range) => backfillMinuteCandles(rest, m, range),
          },
          configOf(market),
          new AbortController().signal,
        )
      );

      const tracks = new Map(MARKETS.map((m) => {
        const track = createCandleTrack(m);
        completeCandleSync(track, []);
        return [m, track];
      }));
      await settle();
      for (const { market, trade } of tape) {
        advanceTo(trade.tsMs);
        const feed = feeds.get(market)!;
        for (const e of tapeEvents(replay, tracks.get(market)!, trade)) feed.push(e);
        await settle();
      }
      for (const feed of feeds.values()) feed.end();
      // A round still waiting at the end opens on its deadline.
      advanceTo(endMs + SAME_CLOSE_WAIT_MS);
      await Promise.all(runs);

      // The live legs: one per order, at its first fill, at its average price.
      const live: Leg[] = liveLegs(await store.listFills());

      // The account backtest on the same 1m candles as served, from the warm-up's start.
      const tfMs = TIMEFRAME_MS[TIMEFRAME];
      const warmup = createBollinger({ period: 20, std: 1.5 }).warmup;
      const warmFromMs = bucketStartMs(startMs, TIMEFRAME) - (warmup + 2) * tfMs;
      const series = MARKETS.map((market) => {
        const minutes = replay.candles(market, "1m", { toMs: endMs, count: MINUTES + 5000 })
          .filter((c) => c.startMs >= warmFromMs)
          .reverse()
          .map(floatCandle);
        return { market, candles: aggregateCandles(minutes, TIMEFRAME), detail: minutes };
      });
      const bt = runAccountBacktest(series, {
        strategyFor: () => createBollinger({ period: 20, std: 1.5 }),
        rules: RULES,
        feeBps: 5,
        slippageBps: 0,
        capital: unitsFromNumber(CAPITAL_KRW),
        portfolio: PORTFOLIO,
        timeframeMs: tfMs,
      });
      const riskExits = new Set(
        bt.markets.flatMap((m) =>
          m.trades.filter((t) => t.exit !== "signal").map((t) => `${m.market}@${t.exitMs}`)
        ),
      );
      const expected: Leg[] = bt.markets.flatMap((m) =>
        m.fills.map((f) => ({
          market: m.market,
          side: f.side,
          tsMs: f.tsMs,
          price: unitsToNumber(f.price),
          risk: f.side === "sell" && riskExits.has(`${m.market}@${f.tsMs}`),
        }))
      ).sort((a, b) => a.tsMs - b.tsMs);
      assert.ok(expected.every((l) => l.tsMs >= startMs), "no backtest fill during warm-up");

      // Decisions: (market, side, 30-minute candle of the fill), in order.
      const key = (l: Leg) =>
        `${l.market} ${l.side} ${new Date(bucketStartMs(l.tsMs, TIMEFRAME)).toISOString()}`;
      const liveKeys = live.map(key).sort();
      const btKeys = expected.map(key).sort();
      let identical = 0;
      let maxSignalBps = 0;
      let maxRiskBps = 0;
      const unmatched = new Map<string, Leg>();
      for (const l of live) unmatched.set(key(l), l);
      const lines: string[] = [];
      for (const b of expected) {
        const a = unmatched.get(key(b));
        if (a === undefined) {
          lines.push(`! missing live ${key(b)} bt ${b.price}`);
          continue;
        }
        unmatched.delete(key(b));
        identical++;
        const bps = Math.abs(a.price - b.price) / b.price * 10_000;
        if (b.risk === true) maxRiskBps = Math.max(maxRiskBps, bps);
        else maxSignalBps = Math.max(maxSignalBps, bps);
        lines.push(`= ${key(b)} bt ${b.price} live ${a.price} ${bps.toFixed(1)} bps`);
      }
      for (const a of unmatched.values()) lines.push(`! extra live ${key(a)} ${a.price}`);

      // Entries turned down for want of a slot, on both sides, and the closes that were ties.
      const liveDenied = (await Promise.all(MARKETS.map((m) => store.listSignals(m)))).flat()
        .filter((s) => s.action === "buy" && s.reason.includes(NOT_ENOUGH_SLOTS))
        .map((s) => `${s.market} ${s.signalId.split("@").at(-1)}`).sort();
      const btDenied = bt.markets.flatMap((m) =>
        m.signals.filter((s) => s.action === "buy" && s.reason.includes(NOT_ENOUGH_SLOTS))
          .map((s) => `${m.market} ${s.tsMs}`)
      ).sort();
      const enteredAt = new Set(
        expected.filter((l) => l.side === "buy").map((l) => l.tsMs - tfMs),
      );
      const ties = btDenied.filter((d) => enteredAt.has(Number(d.split(" ")[1])));

      const figure = `account parity: ${identical} of ${expected.length} legs identical ` +
        `(market, side, 30m candle); live legs ${live.length}; ${btDenied.length} entries ` +
        `turned down for a slot (${ties.length} same-close ties); max strategy-leg difference ` +
        `${maxSignalBps.toFixed(1)} bps, risk legs ${maxRiskBps.toFixed(1)} bps; rounds opened ` +
        `on the deadline ${rounds.openedByDeadline}`;
      // deno-lint-ignore no-console
      console.log(`${figure}\n${lines.join("\n")}`);
      assert.ok(expected.length >= 10, `too few trades to compare: ${figure}`);
      assert.ok(ties.length >= 1, `no same-close tie for the last slot: ${figure}`);
      assert.equal(rounds.openedByDeadline, 0, figure);
      assert.deepEqual(liveKeys, btKeys, figure);
      assert.deepEqual(liveDenied, btDenied, figure);
      assert.ok(maxSignalBps <= SIGNAL_BOUND_BPS, figure);
      assert.ok(maxRiskBps <= RISK_BOUND_BPS, figure);
    } finally {
      kv.close();
      await sandbox.close();
    }
  },
});
