/**
 * The first live candle after the warm-up is whole, over real sockets against the sandbox: the
 * bot warms up mid-candle (03:02:30, history to 03:02), the market stream starts two minutes
 * later with no history of its own (its first candle is 03:04), and the 5-minute bucket
 * 03:00–03:05 the loop first decides on must still equal the sandbox's own 5-minute candle,
 * minutes 03:02 and 03:03 included (fetched from REST at the seam). When the seam cannot be
 * fetched, that bucket is never acted on (its signal is recorded as such).
 */

import assert from "node:assert/strict";
import { KvStore } from "../../engine/adapters/kv_store.ts";
import { PaperExchange } from "../../engine/adapters/paper_exchange.ts";
import { toMarketEvent } from "../../engine/adapters/upbit/market_events.ts";
import { UpbitRestClient } from "../../engine/adapters/upbit/rest_client.ts";
import { createMarketStream } from "../../engine/adapters/upbit/ws_client.ts";
import type { Candle } from "../../engine/core/candle.ts";
import { unitsFromNumber } from "../../engine/core/money.ts";
import { HOLD, type Strategy } from "../../engine/core/strategies/strategy.ts";
import type { Clock, MarketEvent } from "../../engine/ports.ts";
import { createSandbox } from "../../engine/sandbox/mod.ts";
import { num } from "../../engine/sandbox/upbit_format.ts";
import { runTrader } from "../../engine/trader.ts";
import { sleepReal } from "../../engine/wall_clock.ts";
import { TemporaryError } from "../../engine/errors.ts";
import { RecordingNotifier } from "./_order_fixtures.ts";
import {
  candle,
  minute,
  scripted,
  T0_MS,
  traderConfig,
  world,
  worldDeps,
} from "./_trader_fixtures.ts";

const BTC_1M = "data/upbit-KRW-BTC-1m-20220531-20220607.csv";
const MINUTE_MS = 60_000;

/** Holds always; remembers every bucket it was shown. */
function recording(): Strategy & { readonly seen: Candle[] } {
  const seen: Candle[] = [];
  return {
    name: "recording",
    warmup: 1,
    seen,
    update(candle: Candle) {
      seen.push(candle);
      return HOLD;
    },
  };
}

Deno.test({
  name: "trader: the first live bucket after a mid-candle warm-up and a late stream is whole",
  // The stream's socket and timers close with the test; the sandbox's too.
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const sb = await createSandbox({
      port: 0,
      manualClock: true,
      dataFiles: [BTC_1M],
      startAt: "2022-06-02T03:02:30Z",
      rateLimits: false,
    });
    const kv = await Deno.openKv(":memory:");
    const stop = new AbortController();
    const rest = new UpbitRestClient({ restUrl: sb.restUrl, nowMs: () => sb.replay.nowMs() });
    const history = (market: string, range: { fromMs: number; toMs: number }) =>
      rest.candleHistory(market, "1m", range);
    const clock: Clock = { nowMs: () => sb.replay.nowMs(), sleep: sleepReal };
    const bucketMs = sb.replay.nowMs() - 150_000;
    assert.equal(bucketMs % (5 * MINUTE_MS), 0);
    const strategy = recording();
    let stream: ReturnType<typeof createMarketStream> | undefined;
    // The loop's events: once it asks for the first one (its warm-up done), two minutes pass
    // with no stream; then a stream starts that back-fills nothing before its current minute.
    async function* events(): AsyncGenerator<MarketEvent> {
      sb.replay.advanceTo(bucketMs + 4 * MINUTE_MS + 30_000);
      stream = createMarketStream({
        url: sb.wsUrl,
        markets: ["KRW-BTC"],
        history,
        warmupMinutes: 0,
        marketNowMs: clock.nowMs,
        subscribeSettleMs: 50,
      });
      const driver = (async () => {
        await sleepReal(300);
        // On to 03:06:30, 10 s of market time at a time, so the stream sees every minute pass.
        while (sb.replay.nowMs() < bucketMs + 6 * MINUTE_MS + 30_000 && !stop.signal.aborted) {
          sb.replay.advanceBy(10_000);
          await sleepReal(20);
        }
        await sleepReal(300);
        stop.abort();
        await stream?.close();
      })();
      for await (const e of stream.events()) {
        const mapped = toMarketEvent(e);
        if (mapped !== undefined) yield mapped;
      }
      await driver;
    }
    try {
      const store = new KvStore(kv);
      const exchange = new PaperExchange({
        book: (market) => sb.replay.book(market),
        nowMs: clock.nowMs,
        balances: { KRW: unitsFromNumber(1_000_000) },
      });
      await runTrader(
        {
          clock,
          exchange,
          account: exchange,
          store,
          notifier: new RecordingNotifier(),
          market: events(),
          history,
        },
        traderConfig({ timeframe: "5m", strategy, staleAfterMs: 600_000 }),
        stop.signal,
      );
      const firstLive = strategy.seen.find((c) => c.startMs === bucketMs);
      assert.ok(firstLive !== undefined, "the bucket 03:00–03:05 was decided on");
      const truth = sb.replay.candles("KRW-BTC", "5m", { toMs: bucketMs + 1, count: 1 })[0];
      assert.ok(truth !== undefined && truth.startMs === bucketMs);
      assert.deepEqual(
        [firstLive.open, firstLive.high, firstLive.low, firstLive.close],
        [num(truth.open), num(truth.high), num(truth.low), num(truth.close)],
      );
      assert.ok(
        Math.abs(firstLive.volume - num(truth.volume)) < 1e-6,
        `volume ${firstLive.volume} vs the sandbox's ${num(truth.volume)}`,
      );
      // The minutes of the seam were recorded with the rest (the daily report's backtest).
      const recorded = await store.listCandles("KRW-BTC", {
        fromMs: bucketMs,
        toMs: bucketMs + 5 * MINUTE_MS,
      });
      assert.deepEqual(
        recorded.map((c) => (c.startMs - bucketMs) / MINUTE_MS),
        [0, 1, 2, 3, 4],
      );
    } finally {
      stop.abort();
      await stream?.close();
      kv.close();
      await sb.close();
    }
  },
});

Deno.test("trader: when the seam's minutes cannot be fetched, the partial bucket is never acted on", async () => {
  // T0 is 01:00 UTC: the bucket 01:00–01:05; warm-up at 01:02:30, the stream's first candle 01:04.
  const w = await world();
  const bucketMs = T0_MS;
  w.clock.set(bucketMs + 150_000);
  const config = traderConfig({ timeframe: "5m", strategy: scripted({ [bucketMs]: "buy" }) });
  const warm = [-10, -9, -8, -7, -6, -5, -4, -3, -2, -1, 0, 1].map((n) => candle(n, 100_000_000));
  const calls: { fromMs: number; toMs: number }[] = [];
  async function* feed(): AsyncGenerator<MarketEvent> {
    w.clock.set(bucketMs + 4 * MINUTE_MS + 59_000);
    yield { kind: "candle", market: config.market, candle: candle(4, 100_000_000) };
  }
  await runTrader(
    worldDeps(w, feed(), {
      history: (_market, range) => {
        calls.push(range);
        if (calls.length > 1) {
          return Promise.reject(new TemporaryError("history: 503", { reason: "server_error" }));
        }
        return Promise.resolve(
          warm.filter((c) => c.startMs >= range.fromMs && c.startMs < range.toMs),
        );
      },
    }),
    config,
    new AbortController().signal,
  );
  // The seam 01:02–01:04 was asked for, and failed.
  assert.deepEqual(calls[1], { fromMs: minute(2), toMs: minute(4) });
  assert.equal((await w.exchange.openOrders(config.market)).length, 0);
  assert.equal((await w.store.getLedger(config.market))?.qty, 0n, "no buy");
  const signals = await w.store.listSignals(config.market);
  assert.equal(signals.length, 1);
  assert.match(signals[0]!.reason, /not acted on: the first live candle missed minutes/);
  w.kv.close();
});
