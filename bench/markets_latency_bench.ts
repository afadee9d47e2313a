/**
 * Five-market price-to-order bench (`deno run -A bench/markets_latency_bench.ts [--json]`).
 *
 * Five trading loops (KRW-BTC, ETH, SOL, XRP, DOGE: the markets of `data/`) share one
 * file-backed Deno KV store and one `HttpExchange` over `UpbitRestClient` (JWT signing, real
 * HTTP) against the sandbox (`createSandbox`, manual clock, its real data; in a Worker of its own,
 * `markets_latency_sandbox.ts`, as the exchange is another machine), wired as `run` wires
 * them: the event stream with the console notifier on a JSON logger (its lines go to a sink
 * here), the telemetry, the order trace, and the same-close rule (`accountMarkets`: entries on
 * one close wait until every market reported it, then go one at a time in market order). Each
 * price message is
 * the JSON text of an Upbit WebSocket frame (`candle.1m` closing a minute for entries, a `trade`
 * under the stop for stop losses, priced from the sandbox's book); the clock starts when the
 * text is handed to `decodeFrame`, the frame goes through the market's candle track,
 * `toMarketEvent` and that market's queue to its loop, and two clocks stop:
 *
 * - `post`: the `POST /v1/orders` handed to `fetch` (signed, built: the request leaves the bot);
 * - `order`: the request reaching the sandbox's REST app (after the loopback socket and the
 *   sandbox's front).
 *
 * Every cycle the five markets close a minute, one candle frame at a time while every loop is
 * idle or waiting for the close's round: the fifth frame completes the round and each entry is
 * timed from it (the k-th entry waits for the k-1 before it: the same-close rule's queueing is
 * included); then each market trades under its stop, one message at a time, each exit timed from
 * its own message. A burst pass hands the five candle frames over at once (timed from then).
 */

import { ALWAYS_BUY, feedClock, flatCandleFrame, frameEvents } from "./live_feed.ts";
import { percentile, round3 } from "./stats.ts";
import { HttpExchange } from "../engine/adapters/http_exchange.ts";
import { KvStore } from "../engine/adapters/kv_store.ts";
import { Secret } from "../engine/adapters/upbit/auth.ts";
import { UpbitRestClient } from "../engine/adapters/upbit/rest_client.ts";
import {
  type CandleTrack,
  completeCandleSync,
  createCandleTrack,
} from "../engine/adapters/upbit/ws_candles.ts";
import { unitsFromNumber } from "../engine/core/money.ts";
import { DEFAULT_RISK_RULES } from "../engine/core/risk.ts";
import type { MarketEvent } from "../engine/ports.ts";
import { ConsoleNotifier } from "../engine/adapters/console_notifier.ts";
import { createLogger } from "../engine/log.ts";
import { EventStream } from "../engine/operator/event_stream.ts";
import { orderTrace, Telemetry } from "../engine/telemetry.ts";
import { roundsOf } from "../engine/trader_close_round.ts";
import { DEMO_ACCESS_KEY, DEMO_SECRET_KEY } from "../engine/sandbox/mod.ts";
import { wsTrade } from "../engine/sandbox/upbit_format.ts";
import { runTrader, type TraderConfig } from "../engine/trader.ts";

/** The five markets of `data/`. */
export const FIVE_MARKETS = ["KRW-BTC", "KRW-ETH", "KRW-SOL", "KRW-XRP", "KRW-DOGE"] as const;

/** What the bench asks its sandbox worker. */
export type SandboxRequest =
  | { readonly type: "start"; readonly startAt: number; readonly markets: readonly string[] }
  | { readonly type: "advance"; readonly ms: number }
  | { readonly type: "flush" }
  | { readonly type: "close" };

/** What the worker answers (`arrived` comes unasked, once per order POST). */
export type SandboxReply =
  | { readonly type: "ready"; readonly restUrl: string; readonly nowMs: number }
  | { readonly type: "advanced"; readonly bids: Readonly<Record<string, number>> }
  | { readonly type: "arrived"; readonly market: string; readonly atMs: number }
  | { readonly type: "flushed" }
  | { readonly type: "closed" };

/** Epoch ms with the monotonic clock's precision (comparable with the worker's). */
function preciseNowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** The sandbox worker: requests answered in order, order arrivals collected. */
class SandboxWorker {
  readonly #worker: Worker;
  readonly #waiting: ((reply: SandboxReply) => void)[] = [];
  readonly arrived: { market: string; atMs: number }[] = [];
  constructor() {
    this.#worker = new Worker(new URL("./markets_latency_sandbox.ts", import.meta.url).href, {
      type: "module",
    });
    this.#worker.onmessage = (e: MessageEvent<SandboxReply>) => {
      const reply = e.data;
      if (reply.type === "arrived") this.arrived.push({ market: reply.market, atMs: reply.atMs });
      else this.#waiting.shift()?.(reply);
    };
  }
  ask<T extends SandboxReply["type"]>(
    request: SandboxRequest,
    _answer: T,
  ): Promise<Extract<SandboxReply, { type: T }>> {
    return new Promise((resolve) => {
      this.#waiting.push((reply) => resolve(reply as Extract<SandboxReply, { type: T }>));
      this.#worker.postMessage(request);
    });
  }
}

/** p50/p99/max of one measure, ms. */
export interface Spread {
  readonly p50_ms: number;
  readonly p99_ms: number;
  readonly max_ms: number;
}

/** What the five-market bench measured. */
export interface MarketsLatency {
  readonly markets: number;
  /** Triggers measured (after the warm-up ones), one message at a time. */
  readonly triggers: number;
  /** Price message → the POST reaching the sandbox. */
  readonly order: Spread;
  /** Price message → the POST handed to `fetch`. */
  readonly post: Spread;
  /** Entries, from the candle frame that completed their close's round. */
  readonly entry_order: Spread;
  /** The first entry of each round (no other entry ahead of it). */
  readonly first_entry_order: Spread;
  readonly stop_order: Spread;
  /** The five candle frames at once: each message → its POST reaching the sandbox. */
  readonly burst_order: Spread;
  readonly burst_triggers: number;
  /** Log output formatted and redacted (then dropped), bytes. */
  readonly log_bytes: number;
  /** 1-minute load average at the end (the machine's noise). */
  readonly load_1m: number;
}

const MINUTE_MS = 60_000;
/** Inside the bundled 30-minute files of all five markets (2024-10-23 … 2025-01-27). */
const START_AT = Date.UTC(2024, 11, 2, 0, 0);

/** A budget no bench run reaches. */
const UNLIMITED = { limit: 1_000_000, windowMs: 1_000 };

/** A market's queue that tells when its loop is parked waiting for the next event. */
class ParkingQueue {
  #items: MarketEvent[] = [];
  #wake: (() => void) | undefined;
  #ended = false;
  parked = false;
  readonly onPark: () => void;
  constructor(onPark: () => void) {
    this.onPark = onPark;
  }
  push(e: MarketEvent): void {
    this.#items.push(e);
    this.parked = false;
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }
  end(): void {
    this.#ended = true;
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }
  async *iterate(): AsyncGenerator<MarketEvent> {
    for (;;) {
      const item = this.#items.shift();
      if (item !== undefined) {
        yield item;
        continue;
      }
      if (this.#ended) return;
      this.parked = true;
      this.onPark();
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
  }
}

function spread(xs: number[]): Spread {
  const s = [...xs].sort((a, b) => a - b);
  return {
    p50_ms: round3(percentile(s, 50)),
    p99_ms: round3(percentile(s, 99)),
    max_ms: round3(s[s.length - 1] ?? Number.NaN),
  };
}

/**
 * `cycles` minutes of five entries and five stop losses, one message at a time, then `bursts`
 * minutes whose five candle frames arrive together (each followed by the five stops).
 */
export async function benchMarketsLatency(
  cycles: number,
  options: { readonly warmupTriggers?: number; readonly bursts?: number } = {},
): Promise<MarketsLatency> {
  const warmupTriggers = options.warmupTriggers ?? 50;
  const bursts = options.bursts ?? Math.max(10, Math.floor(cycles / 4));
  const markets = FIVE_MARKETS;
  const dir = await Deno.makeTempDir({ prefix: "markets_latency_" });
  const kv = await Deno.openKv(`${dir}/bench.kv`);
  const sandbox = new SandboxWorker();
  const ready = await sandbox.ask({ type: "start", startAt: START_AT, markets }, "ready");
  // When each POST /v1/orders was handed to fetch.
  const posted: { market: string; side: string; atMs: number }[] = [];
  const timedFetch: typeof fetch = (input, init) => {
    if (init?.method === "POST" && typeof init.body === "string") {
      const atMs = preciseNowMs();
      const body = JSON.parse(init.body);
      posted.push({ market: body.market, side: body.side, atMs });
    }
    return fetch(input, init);
  };
  const client = new UpbitRestClient({
    restUrl: ready.restUrl,
    accessKey: DEMO_ACCESS_KEY,
    secretKey: new Secret(DEMO_SECRET_KEY),
    fetch: timedFetch,
    // A simulated minute passes in a few wall ms here: Upbit's budgets (8 orders/s, 25 other
    // calls/s) would time the bench, not the bot. The limiter still runs on every call.
    rateLimits: { order: UNLIMITED, default: UNLIMITED },
  });
  const exchange = new HttpExchange(client);
  const store = new KvStore(kv);
  const time = { now: ready.nowMs };
  const clock = feedClock(time);
  // As `run` wires the loops (its log lines formatted, redacted, then dropped).
  let logBytes = 0;
  const logger = createLogger({
    format: "json",
    write: (line) => logBytes += line.length,
    nowMs: () => time.now,
    secrets: [DEMO_SECRET_KEY],
  });
  const telemetry = new Telemetry({ clock, memory: () => Deno.memoryUsage() });
  const notifier = new EventStream(store, clock);
  const consoleNotifier = new ConsoleNotifier(logger);
  notifier.subscribe((event) => consoleNotifier.notify(event));
  notifier.subscribe((event) => telemetry.noteEvent(event));
  const trace = orderTrace({ logger, telemetry });
  const rounds = roundsOf(store);

  let parkWaiters: (() => void)[] = [];
  const queues = new Map<string, ParkingQueue>();
  const onPark = () => {
    const ws = parkWaiters;
    parkWaiters = [];
    for (const w of ws) w();
  };
  for (const m of markets) queues.set(m, new ParkingQueue(onPark));
  /** Every loop waits for its next event, or for its turn in a close's round. */
  const idle = async () => {
    for (;;) {
      const waiting = new Set(rounds.waiting());
      if (markets.every((m) => queues.get(m)!.parked || waiting.has(m))) return;
      await Promise.race([
        new Promise<void>((resolve) => parkWaiters.push(resolve)),
        rounds.changed(),
      ]);
    }
  };

  const tracks = new Map<string, CandleTrack>();
  for (const m of markets) {
    const track = createCandleTrack(m);
    completeCandleSync(track, []);
    tracks.set(m, track);
  }
  let bids: Readonly<Record<string, number>> = {};
  const priceOf = (market: string): number => {
    const bid = bids[market];
    if (bid === undefined) throw new Error(`bench: no book for ${market}`);
    return bid;
  };
  const candleText = (market: string, startMs: number): string =>
    flatCandleFrame(market, startMs, priceOf(market));
  let sequentialId = 0;
  const stopText = (market: string, atMs: number): string => {
    const price = unitsFromNumber(priceOf(market) * 0.5);
    return JSON.stringify(wsTrade({
      market,
      tsMs: atMs,
      price,
      volume: unitsFromNumber(1),
      side: "ASK",
      sequentialId: ++sequentialId,
      funds: price,
    }, { prevClose: price * 2n, book: undefined, stream: "REALTIME", nowMs: atMs }));
  };
  /** The frame's text to the market's queue (the measured part before the loop). */
  const deliver = (text: string): void => {
    for (const e of frameEvents(text, (code) => tracks.get(code)!)) {
      if (e.kind !== "connection") queues.get(e.market)!.push(e);
    }
  };
  const setTime = async (ms: number) => {
    time.now = ms;
    bids = (await sandbox.ask({ type: "advance", ms }, "advanced")).bids;
  };

  const triggers: {
    market: string;
    kind: "entry" | "stop";
    atMs: number;
    burst: boolean;
    /** An entry's place in its round (0: first). */
    rank: number;
  }[] = [];
  const coin = (m: string) => m.split("-")[1]!.toLowerCase();
  const configs: TraderConfig[] = markets.map((market) => ({
    botId: `bench-${coin(market)}`,
    market,
    timeframe: "1m",
    strategy: ALWAYS_BUY,
    rules: { ...DEFAULT_RISK_RULES, maxDailyLossPct: 0 },
    feeBps: 5,
    budgetPct: 5,
    staleAfterMs: 5 * MINUTE_MS,
    capitalKrw: unitsFromNumber(500_000_000),
    accountMarkets: markets,
  }));
  const controller = new AbortController();
  const loops = Promise.all(configs.map((config) =>
    runTrader(
      {
        clock,
        exchange,
        account: exchange,
        store,
        notifier,
        metrics: telemetry,
        trace,
        market: queues.get(config.market)!.iterate(),
        history: () => Promise.resolve([]),
      },
      config,
      controller.signal,
    )
  ));
  try {
    await idle();
    const base = Math.ceil(time.now / MINUTE_MS) * MINUTE_MS;
    // Minute 0 opens each track; every later minute's first frame closes the one before.
    await setTime(base + 1_000);
    for (const m of markets) {
      deliver(candleText(m, base));
      await idle();
    }
    for (let i = 1; i <= cycles + bursts; i++) {
      const minuteMs = base + i * MINUTE_MS;
      const burst = i > cycles;
      await setTime(minuteMs + 1_000);
      const texts = markets.map((m) => candleText(m, minuteMs));
      if (burst) {
        const atMs = preciseNowMs();
        for (const text of texts) deliver(text);
        for (const [rank, m] of markets.entries()) {
          triggers.push({ market: m, kind: "entry", atMs, burst, rank });
        }
        await idle();
      } else {
        // The first four wait for the round; the fifth frame completes it.
        let atMs = 0;
        for (const text of texts) {
          atMs = preciseNowMs();
          deliver(text);
          await idle();
        }
        for (const [rank, m] of markets.entries()) {
          triggers.push({ market: m, kind: "entry", atMs, burst, rank });
        }
      }
      await setTime(minuteMs + 30_000);
      for (const m of markets) {
        const text = stopText(m, minuteMs + 30_000);
        const atMs = preciseNowMs();
        triggers.push({ market: m, kind: "stop", atMs, burst, rank: 0 });
        deliver(text);
        await idle();
      }
    }
  } finally {
    for (const q of queues.values()) q.end();
    controller.abort();
    await loops;
    kv.close();
    await sandbox.ask({ type: "flush" }, "flushed");
    await sandbox.ask({ type: "close" }, "closed");
    await Deno.remove(dir, { recursive: true });
  }

  const order: number[] = [];
  const post: number[] = [];
  const entryOrder: number[] = [];
  const firstEntryOrder: number[] = [];
  const stopOrder: number[] = [];
  const burstOrder: number[] = [];
  // The first POST of the trigger's market after its message (each market has one at a time).
  const nextOf = <T extends { market: string; atMs: number }>(list: T[], t: typeof triggers[0]) =>
    list.find((p) => p.market === t.market && p.atMs >= t.atMs);
  let measured = 0;
  for (const [i, t] of triggers.entries()) {
    const p = nextOf(posted, t);
    const a = nextOf(sandbox.arrived, t);
    if (p === undefined || a === undefined) {
      throw new Error(`bench: no order for the ${t.kind} message #${i} of ${t.market}`);
    }
    const side = t.kind === "entry" ? "bid" : "ask";
    if (p.side !== side) throw new Error(`bench: ${t.kind} of ${t.market} sent a ${p.side}`);
    if (i < warmupTriggers) continue;
    const ms = a.atMs - t.atMs;
    if (t.burst) {
      if (t.kind === "entry") burstOrder.push(ms);
      continue;
    }
    measured++;
    order.push(ms);
    post.push(p.atMs - t.atMs);
    (t.kind === "entry" ? entryOrder : stopOrder).push(ms);
    if (t.kind === "entry" && t.rank === 0) firstEntryOrder.push(ms);
  }
  return {
    markets: markets.length,
    triggers: measured,
    order: spread(order),
    post: spread(post),
    entry_order: spread(entryOrder),
    first_entry_order: spread(firstEntryOrder),
    stop_order: spread(stopOrder),
    burst_order: spread(burstOrder),
    burst_triggers: burstOrder.length,
    log_bytes: logBytes,
    load_1m: Math.round(Deno.loadavg()[0]! * 100) / 100,
  };
}

if (import.meta.main) {
  const json = Deno.args.includes("--json");
  const r = await benchMarketsLatency(120);
  const out = (text: string) => Deno.stdout.writeSync(new TextEncoder().encode(text + "\n"));
  if (json) {
    out(JSON.stringify(r, null, 2));
  } else {
    const f = (s: Spread) => `p50 ${s.p50_ms} / p99 ${s.p99_ms} / max ${s.max_ms} ms`;
    out(`five markets (${FIVE_MARKETS.join(", ")}) over HTTP to the sandbox, load ${r.load_1m}:`);
    out(`  price message → POST reaching the sandbox: ${f(r.order)} over ${r.triggers} triggers`);
    out(`  price message → POST handed to fetch:      ${f(r.post)}`);
    out(`  entries (from the round's last close) ${f(r.entry_order)}`);
    out(`  first entry of each round ${f(r.first_entry_order)}; stop losses ${f(r.stop_order)}`);
    out(`  five candle frames at once (queueing included): ${f(r.burst_order)}`);
  }
}
