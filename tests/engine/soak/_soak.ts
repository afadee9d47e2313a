/**
 * The soak's harness (shared by `soak_test.ts` at CI size and `bench/soak_bench.ts`): the real
 * trading loop, one `runTrader` per market as `live` runs them, against the sandbox over real
 * sockets (`HttpExchange` + `UpbitRestClient` with the demo keys, REST history for the warm-up),
 * with the daily report worker, the event stream and the Telegram outbox against the fake Bot
 * API, on a file-backed Deno KV, for N simulated days on an accelerated clock.
 *
 * - The clock IS the sandbox's replay clock (manual). The driver moves it one market minute at a
 *   time and hands each market its final 1-minute candle, a trade price and, now and then, a
 *   dropped/restored connection; it moves on only once every market's loop has taken its events
 *   (the loop asks for the next one), so the loop is never behind the market by more than a
 *   minute. Waits inside an order (backoff, look-ups, a 418 block) pass market time at once;
 *   the background loops (reconcile, stale check, daily worker, outbox) wake when it passes.
 * - Faults, all kinds at low rates from a seeded generator: every REST fault of the sandbox
 *   (delay, lost answer, accepted-then-lost, 5xx, HTML error page, 429, 418), half of them aimed
 *   at the order endpoints; market-data disconnects; Telegram 5xx, 429 and time-outs.
 * - The store starts with an older run's history, each kind over its whole retention and past it
 *   (60 days of journal and signals, a minute's candle and equity snapshot per market over 36
 *   and 31 days, 420 days of daily P&L, report markers, refusal counts and audit lines): it is at
 *   its steady size from the start (the in-memory KV's pages count in the RSS), and pruning has
 *   work to do from day 1.
 *
 * Measured: RSS and V8 heap every 6 simulated hours after a full GC, the keys per top-level KV prefix at the end
 * against `kvBounds`, the invariants each hour and at the end, the daily reports.
 */

import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { Api } from "grammy/web";
import { HttpExchange } from "../../../engine/adapters/http_exchange.ts";
import { KvChatStore } from "../../../engine/adapters/kv_chat_store.ts";
import { HISTORY_RETENTION, KvStore } from "../../../engine/adapters/kv_store.ts";
import { Secret } from "../../../engine/adapters/upbit/auth.ts";
import { UpbitRestClient } from "../../../engine/adapters/upbit/rest_client.ts";
import { DAY_MS } from "../../../engine/core/candle.ts";
import { formatUnits, parseUnits, type Units } from "../../../engine/core/money.ts";
import { DEFAULT_PORTFOLIO_RULES } from "../../../engine/core/portfolio.ts";
import { createBollinger } from "../../../engine/core/strategies/mod.ts";
import { EventStream, recordRun, startDailyWorker } from "../../../engine/operator/mod.ts";
import type { Clock, EngineEvent, MarketEvent } from "../../../engine/ports.ts";
import { LIVE_INTENT_STATES, TERMINAL_INTENT_STATES } from "../../../engine/ports.ts";
import {
  createSandbox,
  DEFAULT_ACCOUNT,
  DEMO_ACCESS_KEY,
  DEMO_SECRET_KEY,
  type Sandbox,
} from "../../../engine/sandbox/mod.ts";
import type { FaultSpec } from "../../../engine/sandbox/faults.ts";
import { floatCandle, num } from "../../../engine/sandbox/upbit_format.ts";
import { startOutbox } from "../../../engine/telegram/mod.ts";
import { runTrader, type TraderConfig } from "../../../engine/trader.ts";
import { sleepReal } from "../../../engine/wall_clock.ts";
import { type FakeBotApi, startFakeBotApi } from "../telegram/_fake_bot_api.ts";
import { OWNER, RecordingLogger } from "../telegram/_harness.ts";

/** The five bundled 30-minute markets (the sandbox makes their minutes). */
export const SOAK_MARKETS = ["KRW-BTC", "KRW-ETH", "KRW-XRP", "KRW-SOL", "KRW-DOGE"] as const;

const MIN = 60_000;
const HOUR = 60 * MIN;
/** Data day that becomes day 1 (all five files cover it and the weeks after). */
const DATA_DAY1 = Date.UTC(2024, 10, 10);
/** Days of an older run's history seeded into the store before the start. */
const SEEDED_DAYS = 60;
/** The older run's events, signals and candles per seeded hour (per market for candles). */
const SEED_PER_HOUR = 6;
/** Memory and balances are sampled this often (each sample runs a full GC: ~0.2 s). */
const SAMPLE_EVERY_MS = 6 * HOUR;
/** The loop's retention of candles and equity snapshots (engine/trader.ts). */
const CANDLE_RETENTION_DAYS = 35;
const EQUITY_RETENTION_DAYS = 30;

/** What a soak runs. */
export interface SoakOptions {
  readonly days: number;
  readonly markets: number;
  /** Seed of the fault schedule. */
  readonly seed?: number;
  /** Faults armed per simulated hour (REST) on average. */
  readonly restFaultsPerHour?: number;
  /** Market-data disconnects per simulated day on average (per market). */
  readonly disconnectsPerDay?: number;
  /** Telegram faults per simulated day on average. */
  readonly telegramFaultsPerDay?: number;
  /** Called at the end of each simulated day (progress). */
  readonly onDay?: (day: number, sample: MemorySample) => void;
}

/** One memory sample. */
export interface MemorySample {
  readonly atMs: number;
  readonly rssMb: number;
  readonly heapMb: number;
}

/** What a soak measured. */
export interface SoakResult {
  readonly days: number;
  readonly markets: readonly string[];
  readonly wallMs: number;
  readonly reports: readonly string[];
  /** Every broken invariant (empty: none). */
  readonly violations: readonly string[];
  /** Keys per top-level prefix at the end. */
  readonly keys: Readonly<Record<string, number>>;
  /** The documented bound of each prefix for this run (see `kvBounds`). */
  readonly bounds: Readonly<Record<string, number>>;
  /** Keys still older than their retention at the end, per prefix. */
  readonly expired: Readonly<Record<string, number>>;
  /** The samples (every 6 simulated hours, after a full GC). */
  readonly memory: readonly MemorySample[];
  /** The lowest after day 1 (the warm-up), the max over the last day, and the growth between. */
  readonly rssWarmMb: number;
  readonly rssLastDayMaxMb: number;
  readonly rssGrowthMb: number;
  readonly heapWarmMb: number;
  readonly heapLastDayMaxMb: number;
  readonly heapGrowthMb: number;
  readonly fills: number;
  readonly orders: number;
  readonly faults: Readonly<Record<string, number>>;
  readonly telegramSent: number;
  /** The dates of the daily reports the outbox delivered to the (fake) Telegram. */
  readonly telegramReports: readonly string[];
  /** REST calls the bot made to the sandbox. */
  readonly restCalls: number;
  readonly events: number;
}

/**
 * The most keys each top-level prefix may hold, for `markets` markets and `orders` intents: the
 * time-kept prefixes their retention (+1 day of pruning pace) times the most written per day,
 * whatever the days run; the books (intents, orders, fills) grow with the trades only; the rest
 * are fixed. A prefix missing here is a defect (`overBounds` reports it). README §Bounds.
 */
export function kvBounds(
  run: { readonly markets: number; readonly orders: number },
): Record<string, number> {
  const m = run.markets;
  const kept = (retentionDays: number) => retentionDays + 1;
  const books = run.orders + 2 * m;
  return {
    // The books: per intent one intent, identifier, state index and order, a few fills.
    intent: books,
    ident: books,
    intent_by_state: books,
    order: books,
    fill: 10 * books,
    fill_at: 10 * books,
    fill_at_ready: 1,
    ledger: m,
    balance: m + 1,
    inflight: m,
    trader: m,
    // Time-kept: per market one candle a minute, one equity snapshot a minute and per fill.
    candle: m * kept(CANDLE_RETENTION_DAYS) * 1_440,
    equity: m * kept(EQUITY_RETENTION_DAYS) * 2 * 1_440,
    // The journal and signals: at most ~500 events and ~300 signals per market and day.
    events: m * kept(HISTORY_RETENTION.eventsDays) * 500,
    signal: m * kept(HISTORY_RETENTION.signalsDays) * 300,
    audit: kept(HISTORY_RETENTION.auditDays) * 100,
    params_history: kept(HISTORY_RETENTION.auditDays) * 100,
    pnl_day: kept(HISTORY_RETENTION.dailyPnlDays),
    pnl_day_market: m * kept(HISTORY_RETENTION.dailyPnlDays),
    daily_report: kept(HISTORY_RETENTION.dailyPnlDays),
    rate_limited: kept(HISTORY_RETENTION.dailyPnlDays),
    // One per run (start), pruned past 35 days at each start; a few runs a day at most.
    run_log: kept(35) * 10,
    // Fixed.
    account: 2,
    settings: 3,

    marker: 1,
    instance: 1,
    meta: 1,
    chat_outbox_cursor: 1,
    watchdog: 2 * m,
  };
}

/** A clock over the sandbox's manual replay clock (see the module doc). */
class SoakClock implements Clock {
  readonly #sandbox: Sandbox;
  #timers: { dueMs: number; resolve: () => void }[] = [];
  constructor(sandbox: Sandbox) {
    this.#sandbox = sandbox;
  }
  nowMs(): number {
    return this.#sandbox.replay.nowMs();
  }
  /** With a signal (a background loop): until the clock passes; without: time passes now. */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    // Whole ms, as every clock of the engine (the transport's jittered backoffs are not).
    ms = Math.ceil(ms);
    if (signal === undefined) {
      this.advance(this.nowMs() + ms);
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      // Nothing stays on the (long-lived) signal once the sleep is over.
      const onAbort = () => {
        this.#timers = this.#timers.filter((t) => t !== timer);
        resolve();
      };
      const timer = {
        dueMs: this.nowMs() + ms,
        resolve: () => {
          signal.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      this.#timers.push(timer);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }
  /** Moves market time to `ms` (never back) and wakes the sleepers that are due. */
  advance(ms: number): void {
    if (ms > this.nowMs()) this.#sandbox.replay.advanceTo(ms);
    const now = this.nowMs();
    const due = this.#timers.filter((t) => t.dueMs <= now);
    if (due.length === 0) return;
    this.#timers = this.#timers.filter((t) => t.dueMs > now);
    for (const t of due) t.resolve();
  }
  /** Sleepers waiting (bounded: one per background loop). */
  get waiting(): number {
    return this.#timers.length;
  }
}

/**
 * One market's feed: the loop takes a batch of events when it asks for the next one (so a taken
 * batch means the previous one was handled); the driver gives a batch once the loop is idle.
 */
class Lane {
  #give: ((batch: MarketEvent[] | undefined) => void) | undefined;
  #idle = Promise.withResolvers<void>();
  async *events(): AsyncGenerator<MarketEvent> {
    for (;;) {
      const taken = Promise.withResolvers<MarketEvent[] | undefined>();
      this.#give = taken.resolve;
      this.#idle.resolve();
      const batch = await taken.promise;
      if (batch === undefined) return;
      for (const e of batch) yield e;
    }
  }
  idle(): Promise<void> {
    return this.#idle.promise;
  }
  give(batch: MarketEvent[] | undefined): void {
    const give = this.#give;
    if (give === undefined) throw new Error("soak: lane given a batch while busy");
    this.#give = undefined;
    this.#idle = Promise.withResolvers<void>();
    give(batch);
  }
}

/** A seeded generator in [0, 1) (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A full garbage collection (V8's `gc`, exposed at run time), so that a sample counts what is
 * kept, not what is waiting to be collected.
 */
function fullGc(): void {
  setFlagsFromString("--expose_gc");
  (runInNewContext("gc") as () => void)();
}

function mb(bytes: number): number {
  return Math.round(bytes / 1024 / 1024 * 10) / 10;
}

function dataFile(market: string): string {
  const from = market === "KRW-BTC" ? "20240123" : "20241023";
  return decodeURIComponent(
    new URL(`../../../data/upbit-${market}-30m-${from}-20250127.csv`, import.meta.url).pathname,
  );
}

/** The REST faults (all kinds the sandbox has), short enough to keep the soak fast. */
const REST_FAULTS: readonly FaultSpec[] = [
  { kind: "delay", delayMs: 30 },
  { kind: "lose_response", mode: "reset" },
  { kind: "lose_response", mode: "hang", hangMs: 50 },
  { kind: "accept_then_lose", mode: "reset" },
  { kind: "server_error", status: 503 },
  { kind: "html_error", status: 502 },
  { kind: "rate_limited" },
  { kind: "blocked", blockMs: 5_000 },
];
/** The order endpoints, where a fault tests the order protocol. */
const ORDER_PATHS: readonly Pick<FaultSpec, "path" | "method">[] = [
  { path: "/v1/orders", method: "POST" },
  { path: "/v1/order", method: "GET" },
  { path: "/v1/order", method: "DELETE" },
  { path: "/v1/accounts", method: "GET" },
];

/** Writes an older run's history (60 days back from `nowMs`) straight into the KV. */
async function seedHistory(kv: Deno.Kv, markets: readonly string[], nowMs: number): Promise<void> {
  const from = nowMs - SEEDED_DAYS * DAY_MS;
  let op = kv.atomic();
  let n = 0;
  const put = async (key: Deno.KvKey, value: unknown) => {
    op.set(key, value);
    if (++n % 500 === 0) {
      await op.commit();
      op = kv.atomic();
    }
  };
  let seq = 0;
  for (let t = from; t < nowMs - HOUR; t += HOUR / SEED_PER_HOUR) {
    const market = markets[seq % markets.length]!;
    const event: EngineEvent = {
      type: "SignalRaised",
      atMs: t,
      market,
      signalId: `old-${seq}`,
      action: "buy",
      reason: "an older run",
    };
    await put(["events", t, seq], { v: 1, event });
    await put(["signal", market, `old-${seq}`], {
      v: 1,
      atMs: t,
      market,
      signalId: `old-${seq}`,
      action: "buy",
      reason: "an older run",
    });
    seq++;
  }
  // Candles and equity at the loop's own pace (one a minute per market) over their whole
  // retention and a day past it: the store is at its steady size from the start.
  for (const market of markets) {
    for (let t = nowMs - (CANDLE_RETENTION_DAYS + 1) * DAY_MS; t < nowMs - 3 * HOUR; t += MIN) {
      await put(["candle", market, t], {
        v: 1,
        open: 1,
        high: 1,
        low: 1,
        close: 1,
        volume: 1,
        value: 1,
      });
      if (t >= nowMs - (EQUITY_RETENTION_DAYS + 1) * DAY_MS) {
        await put(["equity", market, t], { v: 1, equity: "1000000", cash: "1000000" });
      }
    }
  }
  // A year and more of daily figures and audit lines (the longest retentions).
  for (let d = 1; d <= 420; d++) {
    const day = Math.floor(nowMs / DAY_MS) * DAY_MS - d * DAY_MS;
    await put(["pnl_day", day], { v: 1, amount: "0" });
    await put(["daily_report", day], { v: 1, date: "old", issuedAtMs: day });
    await put(["rate_limited", day], new Deno.KvU64(1n));
    await put(["audit", day, `old-${d}`], {
      v: 1,
      id: `old-${d}`,
      atMs: day,
      actor: "ctl",
      command: "pause",
      result: "done",
      detail: "an older run",
    });
  }
  await op.commit();
}

/** The time part of a key under a time-kept prefix (undefined: not time-keyed). */
function keyTimeMs(key: Deno.KvKey): number | undefined {
  const [prefix, a, b] = key;
  if (prefix === "candle" || prefix === "equity") return typeof b === "number" ? b : undefined;
  if (
    prefix === "events" || prefix === "audit" || prefix === "pnl_day" ||
    prefix === "pnl_day_market" || prefix === "daily_report" || prefix === "rate_limited"
  ) {
    return typeof a === "number" ? a : undefined;
  }
  return undefined;
}

/** Retention of each time-kept prefix, ms, plus the slack of its pruning pace. */
function retentionMs(prefix: string): number | undefined {
  const slack = 2 * HOUR;
  const days: Record<string, number> = {
    candle: CANDLE_RETENTION_DAYS,
    equity: EQUITY_RETENTION_DAYS,
    events: HISTORY_RETENTION.eventsDays,
    signal: HISTORY_RETENTION.signalsDays,
    audit: HISTORY_RETENTION.auditDays,
    pnl_day: HISTORY_RETENTION.dailyPnlDays,
    pnl_day_market: HISTORY_RETENTION.dailyPnlDays,
    daily_report: HISTORY_RETENTION.dailyPnlDays,
    rate_limited: HISTORY_RETENTION.dailyPnlDays,
  };
  const d = days[prefix];
  return d === undefined ? undefined : d * DAY_MS + slack;
}

/** Keys per top-level prefix, and those older than their retention. */
async function countKeys(
  kv: Deno.Kv,
  nowMs: number,
): Promise<{ keys: Record<string, number>; expired: Record<string, number> }> {
  const keys: Record<string, number> = {};
  const expired: Record<string, number> = {};
  for await (const entry of kv.list<{ atMs?: unknown }>({ prefix: [] })) {
    const prefix = String(entry.key[0]);
    keys[prefix] = (keys[prefix] ?? 0) + 1;
    const keep = retentionMs(prefix);
    if (keep === undefined) continue;
    const atMs = prefix === "signal" ? entry.value?.atMs : keyTimeMs(entry.key);
    if (typeof atMs === "number" && atMs < nowMs - keep) {
      expired[prefix] = (expired[prefix] ?? 0) + 1;
    }
  }
  return { keys, expired };
}

/** The invariants at one moment: exchange balances never negative, the books non-negative. */
async function checkBalances(
  sandbox: Sandbox,
  store: KvStore,
  markets: readonly string[],
  violations: string[],
): Promise<void> {
  const at = new Date(sandbox.replay.nowMs()).toISOString();
  for (const [currency, h] of sandbox.accounts.holdings(DEFAULT_ACCOUNT)) {
    if (h.balance < 0n || h.locked < 0n) {
      violations.push(`${at}: exchange ${currency} negative: ${h.balance} / ${h.locked}`);
    }
  }
  for (const [currency, units] of await store.getBalances()) {
    if (units < 0n) violations.push(`${at}: store balance ${currency} negative: ${units}`);
  }
  for (const market of markets) {
    const l = await store.getLedger(market);
    if (l !== undefined && (l.qty < 0n || l.cash < 0n)) {
      violations.push(`${at}: ${market} ledger negative: qty ${l.qty}, cash ${l.cash}`);
    }
  }
}

/** The invariants at the end: ledger = fills = exchange trades, one order per identifier. */
async function checkBooks(
  sandbox: Sandbox,
  store: KvStore,
  markets: readonly string[],
  violations: string[],
): Promise<void> {
  const fills = await store.listFills();
  const orders = sandbox.accounts.allOrders().filter((o) => o.accountId === DEFAULT_ACCOUNT);
  // No identifier was used twice at the exchange, and each intent has at most one order.
  const byIdentifier = new Map<string, number>();
  for (const o of orders) {
    if (o.identifier === undefined) continue;
    byIdentifier.set(o.identifier, (byIdentifier.get(o.identifier) ?? 0) + 1);
  }
  for (const [identifier, n] of byIdentifier) {
    if (n > 1) violations.push(`identifier ${identifier}: ${n} orders at the exchange`);
  }
  const intents = await store.listIntents([...LIVE_INTENT_STATES, ...TERMINAL_INTENT_STATES]);
  const live = intents.filter((i) => (LIVE_INTENT_STATES as readonly string[]).includes(i.state));
  if (live.length > 0) violations.push(`${live.length} intents still live at the end`);
  for (const market of markets) {
    const currency = market.split("-")[1]!;
    const ledger = await store.getLedger(market);
    const mine = fills.filter((f) => f.market === market);
    let qty = 0n;
    let fees = 0n;
    for (const f of mine) {
      qty += f.side === "bid" ? f.volume : -f.volume;
      fees += f.fee;
    }
    if (ledger === undefined) {
      if (mine.length > 0) violations.push(`${market}: fills without a ledger`);
      continue;
    }
    if (ledger.qty !== qty) {
      violations.push(`${market}: ledger qty ${ledger.qty} != fills ${qty}`);
    }
    if (ledger.fees !== fees) {
      violations.push(`${market}: ledger fees ${ledger.fees} != fills ${fees}`);
    }
    // The exchange's trades of our orders are the store's fills, one for one.
    const exchangeTrades = orders.filter((o) => o.market === market)
      .flatMap((o) => o.trades.map((t) => ({ order: o.uuid, t })));
    if (exchangeTrades.length !== mine.length) {
      violations.push(
        `${market}: ${exchangeTrades.length} trades at the exchange, ${mine.length} fills stored`,
      );
    }
    // The position matches the exchange (every coin the account holds is the bot's).
    const held = sandbox.accounts.holdings(DEFAULT_ACCOUNT).find(([c]) => c === currency)?.[1];
    const exchangeQty = held === undefined ? 0n : held.balance + held.locked;
    if (exchangeQty !== ledger.qty) {
      violations.push(`${market}: exchange holds ${exchangeQty}, ledger ${ledger.qty}`);
    }
  }
  // KRW: the exchange's KRW moved exactly as the fills say.
  const spent = fills.reduce(
    (a, f) => a + (f.side === "bid" ? -(f.funds + f.fee) : f.funds - f.fee),
    0n,
  );
  const krw = sandbox.accounts.holdings(DEFAULT_ACCOUNT).find(([c]) => c === "KRW")?.[1];
  const krwNow = krw === undefined ? 0n : krw.balance + krw.locked;
  if (krwNow !== INITIAL_KRW + spent) {
    violations.push(
      `KRW at the exchange ${formatUnits(krwNow)} != start + fills ${
        formatUnits(INITIAL_KRW + spent)
      }`,
    );
  }
}

const INITIAL_KRW: Units = parseUnits("10000000");

/** Runs one soak (see the module doc). */
export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const started = performance.now();
  const markets = SOAK_MARKETS.slice(0, options.markets);
  const random = prng(options.seed ?? 7);
  const sandbox = await createSandbox({
    port: 0,
    manualClock: true,
    dataFiles: markets.map(dataFile),
    startAt: DATA_DAY1,
    rateLimits: false,
    balances: { KRW: formatUnits(INITIAL_KRW) },
  });
  const dir = await Deno.makeTempDir({ prefix: "soak_" });
  const kv = await Deno.openKv(":memory:");
  let fake: FakeBotApi | undefined;
  try {
    fake = await startFakeBotApi();
    const clock = new SoakClock(sandbox);
    const day1 = clock.nowMs();
    const endMs = day1 + options.days * DAY_MS + 5 * MIN;
    await seedHistory(kv, markets, day1);
    let restCalls = 0;
    const store = new KvStore(kv);
    const rest = new UpbitRestClient({
      restUrl: sandbox.restUrl,
      accessKey: DEMO_ACCESS_KEY,
      secretKey: new Secret(DEMO_SECRET_KEY),
      nowMs: () => clock.nowMs(),
      sleep: (ms) => clock.sleep(ms),
      timeoutMs: 1_000,
      visibilityGraceMs: 2_000,
      fetch: (input, init) => {
        restCalls++;
        return fetch(input, init);
      },
    });
    const exchange = new HttpExchange(rest);
    const notifier = new EventStream(store, clock);
    const stop = new AbortController();
    const configs: TraderConfig[] = markets.map((market) => ({
      botId: `soak-${market.split("-")[1]!.toLowerCase()}`,
      market,
      timeframe: "5m",
      strategy: createBollinger({ period: 10, std: 1 }),
      strategyId: "bb",
      strategyParams: { period: 10, std: 1 },
      rules: {
        stopLossPct: 0.4,
        takeProfitPct: 0.4,
        maxDailyLossPct: 0,
        trailingStopPct: 0,
        cooldownMs: 0,
      },
      feeBps: 5,
      budgetPct: 100,
      staleAfterMs: 10 * MIN,
      capitalKrw: parseUnits("1000000"),
      portfolio: { ...DEFAULT_PORTFOLIO_RULES, sizing: { mode: "fixed", value: 100_000 } },
      reconcileEveryMs: 15 * MIN,
    }));
    await recordRun(store, {
      botId: "soak",
      mode: "live",
      traders: configs.map((c) => ({ botId: c.botId, market: c.market })),
      timeframe: "5m",
      strategy: "bb",
      strategyParams: { period: 10, std: 1 },
      rules: configs[0]!.rules,
      budgetPct: 100,
      staleAfterMs: 10 * MIN,
      feeBps: 5,
      startedAtMs: day1,
    });
    const worker = startDailyWorker({ store, clock, notifier });
    const api = new Api(fake.token, {
      apiRoot: fake.apiRoot,
      timeoutSeconds: 2,
      sensitiveLogs: false,
    });
    const outbox = startOutbox(
      {
        journal: notifier,
        cursor: new KvChatStore(kv),
        api,
        clock,
        // Telegram's backoff in real time, short: a fault must not stall the soak.
        sleepClock: {
          nowMs: () => Date.now(),
          sleep: (ms, signal) => sleepReal(Math.min(ms, 20), signal),
        },
        log: new RecordingLogger(),
        random: () => 0.5,
      },
      { chatId: OWNER, pollMs: 5 * MIN, firstStartFromMs: day1, closeGraceMs: 2_000 },
    );

    const lanes = markets.map(() => new Lane());
    const history = (market: string, range: { fromMs: number; toMs: number }) =>
      rest.candleHistory(market, "1m", range);
    const loops = configs.map((config, i) =>
      runTrader(
        {
          clock,
          exchange,
          account: exchange,
          store,
          notifier,
          market: lanes[i]!.events(),
          history,
        },
        config,
        stop.signal,
      )
    );

    const violations: string[] = [];
    const memory: MemorySample[] = [];
    const faults: Record<string, number> = {};
    const down = new Set<string>();
    let telegramSent = 0;
    const telegramReports = new Set<string>();
    const noteSent = () => {
      const texts = fake!.sentTexts();
      telegramSent += texts.length;
      for (const t of texts) {
        const date = /^Daily report (\d{4}-\d{2}-\d{2})/.exec(t)?.[1];
        if (date !== undefined) telegramReports.add(date);
      }
    };
    const sample = () => {
      fullGc();
      const { rss, heapUsed } = Deno.memoryUsage();
      const s = { atMs: clock.nowMs(), rssMb: mb(rss), heapMb: mb(heapUsed) };
      memory.push(s);
      return s;
    };
    const restPerMinute = (options.restFaultsPerHour ?? 2) / 60;
    const dropPerMinute = (options.disconnectsPerDay ?? 3) / 1_440;
    const telegramPerMinute = (options.telegramFaultsPerDay ?? 6) / 1_440;
    const telegramFaults = [
      { kind: "fail", status: 502 },
      { kind: "rate_limit", retryAfterS: 1 },
      { kind: "timeout" },
    ] as const;

    for (let t = day1 + MIN; t <= endMs; t += MIN) {
      await Promise.all(lanes.map((l) => l.idle()));
      clock.advance(t);
      // Faults at low rates.
      if (random() < restPerMinute) {
        const spec = REST_FAULTS[Math.floor(random() * REST_FAULTS.length)]!;
        const aim = random() < 0.5 ? ORDER_PATHS[Math.floor(random() * ORDER_PATHS.length)]! : {};
        sandbox.faults.rest.arm({ ...spec, ...aim, count: 1 });
        faults[spec.kind] = (faults[spec.kind] ?? 0) + 1;
      }
      if (random() < telegramPerMinute) {
        const f = telegramFaults[Math.floor(random() * telegramFaults.length)]!;
        await fake.setFault(f, { methods: ["sendMessage"], times: 1 });
        faults[`telegram_${f.kind}`] = (faults[`telegram_${f.kind}`] ?? 0) + 1;
      }
      markets.forEach((market, i) => {
        const batch: MarketEvent[] = [];
        if (down.has(market)) {
          down.delete(market);
          batch.push({ kind: "connection", connected: true, reason: "soak: reconnected" });
        } else if (random() < dropPerMinute) {
          down.add(market);
          faults.disconnect = (faults.disconnect ?? 0) + 1;
          lanes[i]!.give([{ kind: "connection", connected: false, reason: "soak: dropped" }]);
          return;
        }
        const c = sandbox.replay.visibleCandle(market, t - MIN, t);
        if (c !== undefined) {
          batch.push({
            kind: "candle",
            market,
            candle: { ...floatCandle(c), startMs: t - MIN },
          });
          batch.push({
            kind: "price",
            market,
            price: num(c.close),
            atMs: t - 1,
            source: "trade",
          });
        }
        lanes[i]!.give(batch);
      });
      if ((t - day1) % SAMPLE_EVERY_MS === 0) {
        sample();
        await checkBalances(sandbox, store, markets, violations);
        // The fake Bot API keeps every call it answered: the test fixture's memory, not the bot's.
        noteSent();
        fake.calls.length = 0;
        fake.messages.clear();
      }
      if ((t - day1) % DAY_MS === 0) options.onDay?.((t - day1) / DAY_MS, memory.at(-1)!);
    }
    await Promise.all(lanes.map((l) => l.idle()));
    lanes.forEach((l) => l.give(undefined));
    await Promise.all(loops);
    stop.abort();
    await worker.check();
    await worker.stop();
    // The outbox catches up (a Telegram fault may have it backing off): market time goes on.
    const lastId = await notifier.lastId();
    for (let i = 0; i < 500 && outbox.stats().cursor !== lastId; i++) {
      clock.advance(clock.nowMs() + MIN);
      await sleepReal(10);
    }
    await outbox.close();
    noteSent();
    sandbox.faults.rest.clear();

    await checkBalances(sandbox, store, markets, violations);
    await checkBooks(sandbox, store, markets, violations);
    const nowMs = clock.nowMs();
    const { keys, expired } = await countKeys(kv, nowMs);
    const markers = await store.listReportMarkers({ limit: 10_000 });
    const reports = markers.filter((m) => m.dayStartMs >= day1).map((m) => m.date).reverse();
    const fills = (await store.listFills()).length;
    const orders =
      (await store.listIntents([...LIVE_INTENT_STATES, ...TERMINAL_INTENT_STATES])).length;
    const bounds = kvBounds({ markets: markets.length, orders });
    // The baseline: the lowest sample from the end of day 1 on (a start-up peak the process has
    // not given back yet must not hide a later growth).
    const afterDay1 = memory.filter((s) => s.atMs >= day1 + DAY_MS);
    const min = (f: (s: MemorySample) => number) => Math.min(...afterDay1.map(f));
    const warm = { rssMb: min((s) => s.rssMb), heapMb: min((s) => s.heapMb) };
    const lastDay = memory.filter((s) => s.atMs > endMs - DAY_MS);
    const max = (xs: readonly MemorySample[], f: (s: MemorySample) => number) =>
      Math.max(...xs.map(f));
    const rssLast = max(lastDay, (s) => s.rssMb);
    const heapLast = max(lastDay, (s) => s.heapMb);
    const events = (await store.listEvents()).length;
    return {
      days: options.days,
      markets,
      wallMs: Math.round(performance.now() - started),
      reports,
      violations,
      keys,
      bounds,
      expired,
      memory,
      rssWarmMb: warm.rssMb,
      rssLastDayMaxMb: rssLast,
      rssGrowthMb: Math.round((rssLast - warm.rssMb) * 10) / 10,
      heapWarmMb: warm.heapMb,
      heapLastDayMaxMb: heapLast,
      heapGrowthMb: Math.round((heapLast - warm.heapMb) * 10) / 10,
      fills,
      orders,
      faults,
      telegramSent,
      telegramReports: [...telegramReports].sort(),
      restCalls,
      events,
    };
  } finally {
    kv.close();
    await fake?.close();
    await sandbox.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** The prefixes over their bound or without one (empty: all bounded). */
export function overBounds(result: SoakResult): string[] {
  return Object.entries(result.keys).flatMap(([prefix, n]) => {
    const bound = result.bounds[prefix];
    if (bound === undefined) return [`${prefix}: ${n} keys, no documented bound`];
    return n > bound ? [`${prefix}: ${n} keys > bound ${bound}`] : [];
  });
}
