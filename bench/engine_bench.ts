/**
 * Engine bench (`deno run -A bench/engine_bench.ts [--json]`):
 *
 * (a) Latency from a price message arriving to the order request leaving. Each message is the
 *     JSON text of an Upbit WebSocket frame (`candle.1m` for entries, `trade` for stop losses, as
 *     the sandbox formats them). The clock starts when the text is handed to `decodeFrame`; the
 *     frame then goes through the candle track (`acceptLiveCandle`), `toMarketEvent` and
 *     `runTrader` (risk, decision, order manager, KV commits on a file-backed Deno KV), and the
 *     clock stops when `Exchange.placeOrder` of a wrapper around `PaperExchange` is called.
 *     Queueing before the loop asks for the message is not included (the loop is idle here).
 *     Five markets over HTTP to the sandbox: `markets_latency_bench.ts` (run here too).
 * (b) RSS over an accelerated demo: the sandbox (`createSandbox`, manual clock) replays real
 *     KRW-BTC minutes; its trade tape goes to the trader as Upbit `trade` frames plus final
 *     candles (the parity test's harness), history comes from the sandbox's REST API, state from
 *     a file-backed Deno KV. `Deno.memoryUsage().rss` is sampled as simulated time passes.
 */

import { ALWAYS_BUY, feedClock, flatCandleFrame, frameEvents } from "./live_feed.ts";
import { percentile, round3 } from "./stats.ts";
import { benchMarketsLatency, type MarketsLatency } from "./markets_latency_bench.ts";
import { KvStore } from "../engine/adapters/kv_store.ts";
import { PaperExchange } from "../engine/adapters/paper_exchange.ts";
import { toMarketEvent } from "../engine/adapters/upbit/market_events.ts";
import { backfillMinuteCandles, UpbitRestClient } from "../engine/adapters/upbit/rest_client.ts";
import {
  acceptLiveCandle,
  completeCandleSync,
  createCandleTrack,
} from "../engine/adapters/upbit/ws_candles.ts";
import { decodeFrame } from "../engine/adapters/upbit/ws_messages.ts";
import { unitsFromNumber } from "../engine/core/money.ts";
import { DEFAULT_RISK_RULES } from "../engine/core/risk.ts";
import { createBollinger } from "../engine/core/strategies/mod.ts";
import { krwTickSize } from "../engine/core/tick_size.ts";
import type { Result } from "../engine/core/result.ts";
import type {
  Account,
  Balance,
  Clock,
  EngineEvent,
  Exchange,
  ExchangeOrder,
  MarketEvent,
  Notifier,
  OrderRef,
  OrderRejection,
  OrderRequest,
} from "../engine/ports.ts";
import { createSandbox } from "../engine/sandbox/mod.ts";
import type { BookSnapshot } from "../engine/sandbox/feed.ts";
import { createReplay } from "../engine/sandbox/replay.ts";
import { floatCandle, wsTrade } from "../engine/sandbox/upbit_format.ts";
import { runTrader, type TraderConfig } from "../engine/trader.ts";

/** What the engine bench measured. */
export interface EngineBench {
  readonly latency: {
    /** Triggers measured (after the warm-up ones). */
    readonly triggers: number;
    readonly entries: number;
    readonly stops: number;
    readonly p50_ms: number;
    readonly p99_ms: number;
    readonly max_ms: number;
    readonly entry_p50_ms: number;
    readonly entry_p99_ms: number;
    readonly stop_p50_ms: number;
    readonly stop_p99_ms: number;
  };
  readonly rss: {
    readonly simulated_hours: number;
    readonly wall_ms: number;
    readonly messages: number;
    readonly orders: number;
    readonly start_mb: number;
    /** After the first simulated hour (sandbox, replay and KV warm). */
    readonly warm_mb: number;
    readonly peak_mb: number;
    readonly end_mb: number;
    /** V8 heap in use at the end (no forced GC): the JS share of the RSS. */
    readonly end_heap_used_mb: number;
    readonly samples: number;
  };
  /** (a) with the five markets of `data/` over HTTP to the sandbox. */
  readonly five_markets: MarketsLatency;
}

const MARKET = "KRW-BTC";
const DATA_FILE = decodeURIComponent(
  new URL("../data/upbit-KRW-BTC-1m-20220531-20220607.csv", import.meta.url).pathname,
);
const DATA_START_MS = Date.UTC(2022, 5, 1);
const MINUTE_MS = 60_000;

const SILENT: Notifier = { notify(_event: EngineEvent): void {} };

/** Notes when each order request leaves, then passes it to the paper exchange. */
class TimedExchange implements Exchange, Account {
  readonly inner: PaperExchange;
  readonly sentAt: { side: "bid" | "ask"; atMs: number }[] = [];
  constructor(inner: PaperExchange) {
    this.inner = inner;
  }
  placeOrder(request: OrderRequest): Promise<Result<ExchangeOrder, OrderRejection>> {
    this.sentAt.push({ side: request.side, atMs: performance.now() });
    return this.inner.placeOrder(request);
  }
  getOrder(ref: OrderRef): Promise<ExchangeOrder | undefined> {
    return this.inner.getOrder(ref);
  }
  cancelOrder(ref: OrderRef): Promise<Result<ExchangeOrder, OrderRejection>> {
    return this.inner.cancelOrder(ref);
  }
  openOrders(market?: string): Promise<readonly ExchangeOrder[]> {
    return this.inner.openOrders(market);
  }
  balances(): Promise<readonly Balance[]> {
    return this.inner.balances();
  }
}

function mb(bytes: number): number {
  return Math.round(bytes / 1024 / 1024 * 10) / 10;
}

async function withTempKv<T>(fn: (kv: Deno.Kv) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "engine_bench_" });
  const kv = await Deno.openKv(`${dir}/bench.kv`);
  try {
    return await fn(kv);
  } finally {
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * (a): `cycles` minutes, each an entry (the candle frame that closes the previous minute, on
 * which the strategy buys) and a stop loss (a trade frame 6% below the entry).
 */
export async function benchLatency(
  cycles: number,
  warmupTriggers = 100,
  options: {
    /** The loop's notifier over its store and whatever runs beside it (default: silent). */
    readonly notifier?: (
      kv: Deno.Kv,
      store: KvStore,
    ) => { notifier: Notifier; close(): Promise<void> };
  } = {},
): Promise<EngineBench["latency"]> {
  return await withTempKv(async (kv) => {
    const startMs = Date.UTC(2026, 10, 24, 1);
    const time = { now: startMs };
    const px = { value: 100_000_000 };
    let book: BookSnapshot | undefined;
    const bookOf = (): BookSnapshot => {
      const bid = unitsFromNumber(px.value);
      if (book?.bids[0]?.price !== bid) {
        const ask = bid + krwTickSize(bid, { atMs: time.now, market: MARKET });
        const size = unitsFromNumber(1_000);
        book = {
          market: MARKET,
          tsMs: time.now,
          asks: [{ price: ask, size }],
          bids: [{
            price: bid,
            size,
          }],
        };
      }
      return book;
    };
    const exchange = new TimedExchange(
      new PaperExchange({
        book: (m) => (m === MARKET ? bookOf() : undefined),
        nowMs: () => time.now,
        balances: { KRW: unitsFromNumber(1_000_000_000) },
      }),
    );
    // The frames as they come off the socket (text), built before the clock starts.
    const entryPx = 100_000_000;
    const stopPx = 94_000_000;
    const frames: { text: string; atMs: number; px: number; kind: "entry" | "stop" | "none" }[] =
      [];
    const candleFrame = (minute: number): string =>
      flatCandleFrame(MARKET, startMs + minute * MINUTE_MS, entryPx);
    frames.push({ text: candleFrame(0), atMs: startMs + 1_000, px: entryPx, kind: "none" });
    for (let i = 1; i <= cycles; i++) {
      const minuteMs = startMs + i * MINUTE_MS;
      frames.push({ text: candleFrame(i), atMs: minuteMs + 1_000, px: entryPx, kind: "entry" });
      const trade = wsTrade({
        market: MARKET,
        tsMs: minuteMs + 30_000,
        price: unitsFromNumber(stopPx),
        volume: unitsFromNumber(0.01),
        side: "ASK",
        sequentialId: i,
        funds: unitsFromNumber(stopPx * 0.01),
      }, {
        prevClose: unitsFromNumber(entryPx),
        book: undefined,
        stream: "REALTIME",
        nowMs: minuteMs + 30_000,
      });
      frames.push({
        text: JSON.stringify(trade),
        atMs: minuteMs + 30_000,
        px: stopPx,
        kind: "stop",
      });
    }

    const arrivals: { kind: "entry" | "stop"; atMs: number; orders: number }[] = [];
    const track = createCandleTrack(MARKET);
    completeCandleSync(track, []);
    async function* feed(): AsyncGenerator<MarketEvent> {
      for (const f of frames) {
        time.now = f.atMs;
        px.value = f.px;
        const t0 = performance.now();
        if (f.kind !== "none") {
          arrivals.push({ kind: f.kind, atMs: t0, orders: exchange.sentAt.length });
        }
        yield* frameEvents(f.text, () => track);
      }
    }
    const config: TraderConfig = {
      botId: "bench",
      market: MARKET,
      timeframe: "1m",
      strategy: ALWAYS_BUY,
      rules: { ...DEFAULT_RISK_RULES, maxDailyLossPct: 0 },
      feeBps: 5,
      budgetPct: 10,
      staleAfterMs: 5 * MINUTE_MS,
    };
    const store = new KvStore(kv);
    const beside = options.notifier?.(kv, store) ??
      { notifier: SILENT, close: () => Promise.resolve() };
    try {
      await runTrader(
        {
          clock: feedClock(time),
          exchange,
          account: exchange,
          store,
          notifier: beside.notifier,
          market: feed(),
          history: () => Promise.resolve([]),
        },
        config,
        new AbortController().signal,
      );
    } finally {
      await beside.close();
    }

    const all: number[] = [];
    const byKind = { entry: [] as number[], stop: [] as number[] };
    for (const [i, a] of arrivals.entries()) {
      const sent = exchange.sentAt[a.orders];
      const next = arrivals[i + 1];
      // The first order request after this message, before the next message arrived.
      if (sent === undefined || (next !== undefined && sent.atMs > next.atMs)) {
        throw new Error(`bench: no order for the ${a.kind} message #${i}`);
      }
      const expected = a.kind === "entry" ? "bid" : "ask";
      if (sent.side !== expected) throw new Error(`bench: ${a.kind} sent a ${sent.side}`);
      if (i < warmupTriggers) continue;
      const ms = sent.atMs - a.atMs;
      all.push(ms);
      byKind[a.kind].push(ms);
    }
    const sort = (xs: number[]) => [...xs].sort((a, b) => a - b);
    const s = sort(all);
    const e = sort(byKind.entry);
    const st = sort(byKind.stop);
    return {
      triggers: s.length,
      entries: e.length,
      stops: st.length,
      p50_ms: round3(percentile(s, 50)),
      p99_ms: round3(percentile(s, 99)),
      max_ms: round3(s[s.length - 1] ?? Number.NaN),
      entry_p50_ms: round3(percentile(e, 50)),
      entry_p99_ms: round3(percentile(e, 99)),
      stop_p50_ms: round3(percentile(st, 50)),
      stop_p99_ms: round3(percentile(st, 99)),
    };
  });
}

/** (b): the sandbox replaying `hours` of real minutes with the trader on it; RSS sampled. */
export async function benchDemoRss(hours: number): Promise<EngineBench["rss"]> {
  const startRss = Deno.memoryUsage().rss;
  let peak = startRss;
  let samples = 1;
  let warm: number | undefined;
  const sample = () => {
    const rss = Deno.memoryUsage().rss;
    if (rss > peak) peak = rss;
    samples++;
    return rss;
  };
  const started = performance.now();
  const sandbox = await createSandbox({
    port: 0,
    manualClock: true,
    dataFiles: [DATA_FILE],
    startAt: DATA_START_MS,
    rateLimits: false,
  });
  let messages = 0;
  let orders = 0;
  try {
    await withTempKv(async (kv) => {
      const replay = sandbox.replay;
      const startMs = replay.nowMs();
      const endMs = startMs + hours * 3_600_000;
      const ahead = await createReplay({
        dataFiles: [DATA_FILE],
        startAt: DATA_START_MS,
        manualClock: true,
        realNowMs: () => DATA_START_MS + replay.shiftMs,
      });
      ahead.advanceTo(endMs);
      const tape = ahead.trades(MARKET, { toMs: endMs, count: 50_000_000, notBeforeMs: startMs })
        .reverse();
      ahead.close();
      sample();
      const clock: Clock = {
        nowMs: () => replay.nowMs(),
        sleep: (_ms, signal) =>
          new Promise((resolve) => {
            if (signal === undefined || signal.aborted) return resolve();
            signal.addEventListener("abort", () => resolve(), { once: true });
          }),
      };
      const paper = new PaperExchange({
        book: (m) => replay.book(m),
        nowMs: () => replay.nowMs(),
        balances: { KRW: unitsFromNumber(10_000_000) },
      });
      const exchange = {
        placeOrder: (r: OrderRequest) => {
          orders++;
          return paper.placeOrder(r);
        },
        getOrder: (ref: OrderRef) => paper.getOrder(ref),
        cancelOrder: (ref: OrderRef) => paper.cancelOrder(ref),
        openOrders: (market?: string) => paper.openOrders(market),
      };
      const rest = new UpbitRestClient({ restUrl: sandbox.restUrl });
      const feed = async function* (): AsyncGenerator<MarketEvent> {
        const track = createCandleTrack(MARKET);
        completeCandleSync(track, []);
        for (const tr of tape) {
          replay.advanceTo(tr.tsMs);
          const minuteMs = Math.floor(tr.tsMs / MINUTE_MS) * MINUTE_MS;
          const state = replay.visibleCandle(MARKET, minuteMs, minuteMs + MINUTE_MS);
          if (state !== undefined) {
            for (const f of acceptLiveCandle(track, floatCandle(state))) {
              const e = toMarketEvent({ kind: "candle", ...f });
              if (e !== undefined) yield e;
            }
          }
          const frame = JSON.stringify(wsTrade(tr, {
            prevClose: replay.prevCloseOf(MARKET, tr.tsMs) ?? tr.price,
            book: replay.book(MARKET),
            stream: "REALTIME",
            nowMs: tr.tsMs,
          }));
          const decoded = decodeFrame(frame);
          if (!decoded.ok || decoded.value.kind !== "trade") throw new Error("bad trade frame");
          messages++;
          if (messages % 500 === 0) sample();
          if (warm === undefined && tr.tsMs >= startMs + 3_600_000) warm = sample();
          const e = toMarketEvent({ kind: "trade", trade: decoded.value.message });
          if (e !== undefined) yield e;
        }
      };
      await runTrader(
        {
          clock,
          exchange,
          account: paper,
          store: new KvStore(kv),
          notifier: SILENT,
          market: feed(),
          history: (market, range) => backfillMinuteCandles(rest, market, range),
        },
        {
          botId: "demo-bench",
          market: MARKET,
          timeframe: "1m",
          strategy: createBollinger({ period: 20, std: 2 }),
          rules: DEFAULT_RISK_RULES,
          feeBps: 5,
          budgetPct: 100,
          staleAfterMs: 15 * MINUTE_MS,
        },
        new AbortController().signal,
      );
    });
  } finally {
    await sandbox.close();
  }
  sample();
  const { rss: endRss, heapUsed } = Deno.memoryUsage();
  return {
    simulated_hours: hours,
    wall_ms: Math.round(performance.now() - started),
    messages,
    orders,
    start_mb: mb(startRss),
    warm_mb: mb(warm ?? endRss),
    peak_mb: mb(peak),
    end_mb: mb(endRss),
    end_heap_used_mb: mb(heapUsed),
    samples,
  };
}

/** Both parts: (b) first, so its start figure is the bare process. */
export async function benchEngine(
  options: { readonly cycles?: number; readonly hours?: number } = {},
): Promise<EngineBench> {
  const rss = await benchDemoRss(options.hours ?? 120);
  const latency = await benchLatency(options.cycles ?? 600);
  const five_markets = await benchMarketsLatency(120);
  return { latency, rss, five_markets };
}

if (import.meta.main) {
  const json = Deno.args.includes("--json");
  const result = await benchEngine();
  const out = (text: string) => Deno.stdout.writeSync(new TextEncoder().encode(text + "\n"));
  if (json) {
    out(JSON.stringify(result, null, 2));
  } else {
    const l = result.latency;
    const r = result.rss;
    const f = result.five_markets;
    out("upbit-trader engine bench");
    out(
      `  price message → order request: p50 ${l.p50_ms.toFixed(3)} ms, p99 ${
        l.p99_ms.toFixed(3)
      } ms, max ${l.max_ms.toFixed(3)} ms over ${l.triggers} triggers ` +
        `(entries p50 ${l.entry_p50_ms} / p99 ${l.entry_p99_ms} ms, ${l.entries}; ` +
        `stop losses p50 ${l.stop_p50_ms} / p99 ${l.stop_p99_ms} ms, ${l.stops})`,
    );
    out(
      `  accelerated demo, ${r.simulated_hours} simulated h in ${
        (r.wall_ms / 1000).toFixed(1)
      } s (${r.messages} trade messages, ${r.orders} orders): RSS start ${r.start_mb} MB, ` +
        `after the first simulated hour ${r.warm_mb} MB, peak ${r.peak_mb} MB, end ${r.end_mb} MB (V8 heap in use ${r.end_heap_used_mb} MB; ` +
        `${r.samples} samples)`,
    );
    out(
      `  five markets over HTTP, price message → POST reaching the sandbox: p50 ${f.order.p50_ms} / ` +
        `p99 ${f.order.p99_ms} ms over ${f.triggers} triggers (first entry of a close p99 ` +
        `${f.first_entry_order.p99_ms}, stops p99 ${f.stop_order.p99_ms}, every entry behind the ` +
        `same-close queue p99 ${f.entry_order.p99_ms} ms; load ${f.load_1m})`,
    );
  }
}
