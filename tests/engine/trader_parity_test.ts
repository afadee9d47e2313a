/**
 * The acceptance test: the paper bot, driven by the sandbox replaying a candle file, makes
 * the same trades as `runBacktest` on the same candles: same count, same sides, same bucket of
 * time, prices within the backtest's slippage assumption.
 *
 * The loop hears the sandbox's own trade tape, turned into Upbit `trade` frames (`wsTrade` →
 * `decodeFrame`) and final candles by the market stream's candle track (`acceptLiveCandle`), then
 * mapped by the same adapter as the live stream (`toMarketEvent`). The clock moves to each trade's
 * time before the loop sees it, and only when the loop asks for the next event, so a market order
 * walks the sandbox book exactly as it stood at that trade. Warm-up history comes from the
 * sandbox's REST API.
 */

import assert from "node:assert/strict";
import { KvStore } from "../../engine/adapters/kv_store.ts";
import { PaperExchange } from "../../engine/adapters/paper_exchange.ts";
import { backfillMinuteCandles, UpbitRestClient } from "../../engine/adapters/upbit/rest_client.ts";
import { completeCandleSync, createCandleTrack } from "../../engine/adapters/upbit/ws_candles.ts";
import { aggregateCandles, bucketStartMs } from "../../engine/core/aggregate.ts";
import { runBacktest } from "../../engine/core/backtest.ts";
import { TIMEFRAME_MS } from "../../engine/core/candle.ts";
import { unitsFromNumber, unitsToNumber } from "../../engine/core/money.ts";
import { createBollinger } from "../../engine/core/strategies/mod.ts";
import type { Clock, MarketEvent } from "../../engine/ports.ts";
import { createSandbox } from "../../engine/sandbox/mod.ts";
import { floatCandle } from "../../engine/sandbox/upbit_format.ts";
import { runTrader, type TraderConfig } from "../../engine/trader.ts";
import { RecordingNotifier } from "./_order_fixtures.ts";
import { liveLegs, replayAhead, tapeEvents } from "./_parity.ts";

const FILE = decodeURIComponent(
  new URL("../../data/upbit-KRW-BTC-1m-20220531-20220607.csv", import.meta.url).pathname,
);
const MARKET = "KRW-BTC";
const START_DATA_MS = Date.UTC(2022, 5, 1);
const MINUTES = 5 * 1440;
/** The backtest assumes fills at the open (0 slippage); the paper fills walk the sandbox book. */
const SLIPPAGE_BPS = 0;
/** Strategy legs: the live fill is the book at the next bucket's first trade, within a tick. */
const SIGNAL_BOUND_BPS = 5;
/**
 * Risk exits: the backtest fills at the stop/target price itself; the live loop sells at the
 * first trade past it, which the tape may place a few ticks beyond (a gap), so the bound is wider.
 */
const RISK_BOUND_BPS = 15;
const RULES = {
  stopLossPct: 1,
  takeProfitPct: 1.5,
  maxDailyLossPct: 10,
  trailingStopPct: 0,
  cooldownMs: 0,
};

interface Leg {
  readonly side: "buy" | "sell";
  readonly risk?: boolean;
  readonly tsMs: number;
  readonly price: number;
}

Deno.test({
  name: "runTrader() on the sandbox replay makes the backtest's trades (parity)",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const sandbox = await createSandbox({
      port: 0,
      manualClock: true,
      dataFiles: [FILE],
      startAt: START_DATA_MS,
      rateLimits: false,
    });
    const kv = await Deno.openKv(":memory:");
    try {
      const replay = sandbox.replay;
      const startMs = replay.nowMs();
      const endMs = startMs + MINUTES * 60_000;
      // The tape ahead, from a second replay on the same data and shift (to step the clock).
      const ahead = await replayAhead(replay, [FILE], START_DATA_MS, endMs);
      const tape = ahead.trades(MARKET, { toMs: endMs, count: 10_000_000, notBeforeMs: startMs })
        .reverse();
      ahead.close();

      const clock: Clock = {
        nowMs: () => replay.nowMs(),
        // Only the stale-data watchdog sleeps here; it wakes at the end.
        sleep: (_ms, signal) =>
          new Promise((resolve) => signal?.addEventListener("abort", () => resolve())),
      };
      const exchange = new PaperExchange({
        book: (m) => replay.book(m),
        nowMs: () => replay.nowMs(),
        balances: { KRW: unitsFromNumber(10_000_000) },
      });
      const rest = new UpbitRestClient({ restUrl: sandbox.restUrl });

      const feed = async function* (): AsyncGenerator<MarketEvent> {
        const track = createCandleTrack(MARKET);
        completeCandleSync(track, []);
        for (const tr of tape) {
          replay.advanceTo(tr.tsMs);
          yield* tapeEvents(replay, track, tr);
        }
      };

      const config: TraderConfig = {
        botId: "parity",
        market: MARKET,
        timeframe: "5m",
        strategy: createBollinger({ period: 20, std: 2.5 }),
        rules: RULES,
        feeBps: 5,
        budgetPct: 100,
        staleAfterMs: 15 * 60_000,
      };
      const store = new KvStore(kv);
      await runTrader(
        {
          clock,
          exchange,
          account: exchange,
          store,
          notifier: new RecordingNotifier(),
          market: feed(),
          history: (market, range) => backfillMinuteCandles(rest, market, range),
        },
        config,
        new AbortController().signal,
      );

      // The live legs: one per order, at its first fill, at its average price.
      const live: Leg[] = liveLegs(await store.listFills());

      // The backtest on the same 1m candles as served by the sandbox, from the warm-up's start.
      const tfMs = TIMEFRAME_MS["5m"];
      const strategy = createBollinger({ period: 20, std: 2.5 });
      const warmFromMs = bucketStartMs(startMs, "5m") - (strategy.warmup + 2) * tfMs;
      const served = replay.candles(MARKET, "1m", { toMs: endMs, count: MINUTES + 1000 })
        .filter((c) => c.startMs >= warmFromMs)
        .reverse()
        .map(floatCandle);
      const bt = runBacktest(aggregateCandles(served, "5m"), {
        market: MARKET,
        strategy,
        rules: RULES,
        feeBps: 5,
        slippageBps: SLIPPAGE_BPS,
        capital: unitsFromNumber(10_000_000),
      });
      assert.ok(bt.trades.every((t) => t.entryMs >= startMs), "no backtest trade during warm-up");
      const expected: Leg[] = bt.trades.flatMap((t) => [
        { side: "buy" as const, tsMs: t.entryMs, price: unitsToNumber(t.entryPrice) },
        {
          side: "sell" as const,
          tsMs: t.exitMs,
          price: unitsToNumber(t.exitPrice),
          risk: t.exit !== "signal",
        },
      ]);
      // A position still open at the end is in the live legs only.
      const openAtEnd = bt.ledger.qty > 0n;
      if (openAtEnd) {
        const last = bt.fills[bt.fills.length - 1]!;
        expected.push({ side: "buy", tsMs: last.tsMs, price: unitsToNumber(last.price) });
      }

      let maxBps = 0;
      let maxAdverseBps = 0;
      let maxSignalBps = 0;
      let sameTime = 0;
      const lines: string[] = [];
      for (let i = 0; i < Math.max(live.length, expected.length); i++) {
        const a = live[i];
        const b = expected[i];
        if (a === undefined || b === undefined) continue;
        const bps = Math.abs(a.price - b.price) / b.price * 10_000;
        maxBps = Math.max(maxBps, bps);
        // How much worse for us the live fill was than the backtest's (which includes slippage).
        const adverse = (b.side === "buy" ? a.price - b.price : b.price - a.price) / b.price *
          10_000;
        maxAdverseBps = Math.max(maxAdverseBps, adverse);
        if (b.risk !== true) maxSignalBps = Math.max(maxSignalBps, bps);
        const same = a.side === b.side && bucketStartMs(a.tsMs, "5m") === b.tsMs;
        if (same) sameTime++;
        lines.push(
          `${same ? "=" : "!"} ${b.side} ${
            new Date(b.tsMs).toISOString()
          } bt ${b.price} live ${a.price} (${new Date(a.tsMs).toISOString()}) ${
            bps.toFixed(1)
          } bps`,
        );
      }
      const figure =
        `parity: ${sameTime} of ${expected.length} legs (${bt.trades.length} round trips) ` +
        `identical in time bucket and side; live legs ${live.length}; max price difference ` +
        `${maxBps.toFixed(1)} bps (strategy legs ${maxSignalBps.toFixed(1)} bps), ` +
        `max adverse ${maxAdverseBps.toFixed(1)} bps`;
      // deno-lint-ignore no-console
      console.log(`${figure}\n${lines.join("\n")}`);
      assert.ok(expected.length >= 10, `too few trades to compare: ${figure}`);
      assert.equal(live.length, expected.length, figure);
      assert.equal(sameTime, expected.length, figure);
      assert.ok(maxSignalBps <= SIGNAL_BOUND_BPS, figure);
      assert.ok(maxAdverseBps <= RISK_BOUND_BPS, figure);
    } finally {
      kv.close();
      await sandbox.close();
    }
  },
});
