/**
 * `deno task paper | live | demo`: builds the trading deps for a mode and runs the trader until
 * interrupted. Paper and demo fill orders with `PaperExchange` walking the current order book;
 * live sends real orders through `HttpExchange`. All three keep state in `KvStore` under the
 * instance lock and the KV lease (its order commits fenced by it, `engine/adapters/store_lease.ts`), and serve the
 * local control channel that `deno task ctl` talks to.
 *
 * Failures the user can fix end with ONE line and exit code 2 (bad config, live refusals, a
 * second bot on the same KV); no network ends with one line and exit code 1. Never a stack trace.
 */

import { sleepReal, WALL_CLOCK } from "../wall_clock.ts";
import type { Candle } from "../core/candle.ts";
import type { MarketFlags } from "../core/portfolio.ts";
import { formatUnits, type Units, unitsFromNumber, unitsToNumber } from "../core/money.ts";
import { createStrategy } from "../core/strategies/mod.ts";
import { type BotConfig, parseConfig, secretValues, type TradingMode } from "../config.ts";
import { ConsoleNotifier } from "../adapters/console_notifier.ts";
import { HttpExchange } from "../adapters/http_exchange.ts";
import {
  accountHash,
  acquireInstanceLock,
  checkDemoStore,
  claimStore,
  CorruptStateError,
  type Holding,
  inspectStoreFile,
  type InstanceLock,
  isRemoteStore,
  type KvLease,
  KvStore,
  LeaseLostError,
  type LeaseTiming,
  openStoreFile,
  refuseLiveLease,
  removeStoreFiles,
  resolveStorePath,
  StartRefusal,
  storeFilesBefore,
  type StoreFound,
  takeStoreLease,
  undoStoreStart,
} from "../adapters/kv_store.ts";
import { PaperExchange } from "../adapters/paper_exchange.ts";
import {
  AuthError,
  ConfigError,
  RejectedError,
  TemporaryError,
  UpbitRestClient,
} from "../adapters/upbit/rest_client.ts";
import type { OrderBook } from "../adapters/upbit/schemas.ts";
import { toMarketEvent } from "../adapters/upbit/market_events.ts";
import {
  createMarketStream,
  type MarketEvent as StreamEvent,
} from "../adapters/upbit/ws_client.ts";
import { createEventQueue, type EventQueue } from "../adapters/upbit/ws_events.ts";
import { createLogger, createRedactor, type Logger, LogRing } from "../log.ts";
import type { Account, Clock, EngineEvent, Exchange, MarketEvent } from "../ports.ts";
import { LIVE_INTENT_STATES } from "../ports.ts";
import { orderTrace, Telemetry } from "../telemetry.ts";
import { type ExchangeClock, exchangeClock } from "./exchange_clock.ts";
import { formatDateTime, formatKrw, formatNumber, formatPct } from "../core/format.ts";
import { DemoStory } from "./demo_story.ts";
import { createSandbox, defaultDataDir, type Sandbox } from "../sandbox/mod.ts";
import type { BookSnapshot } from "../core/order_book.ts";
import { controlFilePath, startControlServer } from "./control.ts";
import type { TraderApi, TraderConfig, TraderDeps } from "./trader_api.ts";
import { type BotStatus, createOperator, EventStream, recordRun, recordRunEnd } from "../mod.ts";
import { FILTER_PARAMS, STRATEGIES } from "../core/strategies/mod.ts";
import { formatStatus, group } from "./status_text.ts";
import { storePathRefusal } from "./store_path.ts";
import { startSurfaces, type SurfaceFactory, type SurfacePlan, type Surfaces } from "./surfaces.ts";

/** What a trading command needs from the process (built by `main.ts`). */
export interface RunIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** stdout is a terminal: `LOG_FORMAT=auto` means pretty. */
  readonly isTerminal: boolean;
  /** The process's variables (only `main.ts` reads `Deno.env`). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The user's working folder (`INIT_CWD` under deno task): a relative `--kv` starts there. */
  readonly userCwd?: string;
  /** Aborted on Ctrl-C / SIGTERM. */
  readonly interrupt: AbortSignal;
  /** The process id (written to the control file and the KV instance record). */
  readonly pid: number;
  /** The working folder relative store paths resolve from. */
  readonly cwd: string;
  /** Paper and live: the clock (default the wall clock; tests pass the sandbox's). */
  readonly clock?: Clock;
  /** The status page, Telegram and the workers, composed by `main.ts` (none: the loop only). */
  readonly surfaces?: SurfaceFactory;
  /** The KV lease's ttl and renewal period (tests; default 30 s and 10 s). */
  readonly leaseTiming?: LeaseTiming;
}

/** A failure the user can fix: one line, exit code 2. */
class Refusal extends Error {}
/** The network is not there: one line, exit code 1. */
class Offline extends Error {}

/** Runs `paper`, `live` or `demo` and returns the exit code. */
export async function runTradingCommand(
  mode: TradingMode,
  args: readonly string[],
  io: RunIo,
  trader: TraderApi,
): Promise<number> {
  const parsed = parseConfig(mode, { env: io.env, args, cwd: io.userCwd });
  if (!parsed.ok) {
    io.stderr(`${mode}: ${parsed.error} (see --help)\n`);
    return 2;
  }
  const config = parsed.value;
  if (config.help) {
    io.stdout(RUN_USAGE[mode]);
    return 0;
  }
  const planned = io.surfaces?.(config, io.env);
  if (planned !== undefined && !planned.ok) {
    io.stderr(`${mode}: ${planned.error} (see --help)\n`);
    return 2;
  }
  const plan = planned?.value;
  const secrets = [
    ...secretValues(config),
    ...plan?.secrets ?? [],
    // Deno.openKv reads it for a remote store: never in a log line.
    ...io.env.DENO_KV_ACCESS_TOKEN?.trim() ? [io.env.DENO_KV_ACCESS_TOKEN] : [],
  ];
  const storeRefusal = await storePathRefusal(config.kvPath, config.labels.kvPath);
  if (storeRefusal !== undefined) {
    io.stderr(`${mode}: ${storeRefusal}\n`);
    return 2;
  }
  const pretty = config.logFormat === "pretty" ||
    (config.logFormat === "auto" && (io.isTerminal || mode === "demo"));
  // The demo logs on the sandbox's clock, so the times match the replayed market.
  const logClock = { nowMs: () => Date.now() };
  // The newest lines, for Telegram's /logs (redacted like the output).
  const recentLogs = new LogRing();
  const logger = createLogger({
    format: pretty ? "pretty" : "json",
    write: io.stdout,
    nowMs: () => logClock.nowMs(),
    secrets,
    base: { mode },
    recent: recentLogs,
  });
  // A lost lease ends the command even when the shutdown hangs (a partitioned remote store: its
  // reads and writes wait for the network): the loops no longer trade, the exit must not wait.
  let abandonTimer: ReturnType<typeof setTimeout> | undefined;
  const abandon = Promise.withResolvers<never>();
  const onLeaseLost = (error: unknown) => {
    abandonTimer ??= setTimeout(
      () => abandon.reject(error),
      io.leaseTiming?.exitAfterLostMs ?? EXIT_AFTER_LOST_MS,
    );
  };
  try {
    const running = run(config, { io, logger, recentLogs, trader, logClock, plan, onLeaseLost });
    // Left behind when abandoned: its late end must not surface as an unhandled rejection.
    running.catch(() => {});
    await Promise.race([running, abandon.promise]);
    return 0;
  } catch (error) {
    const scrub = createRedactor(secrets);
    const redact = (text: string) => `${scrub(text)}\n`;
    if (error instanceof Refusal || error instanceof StartRefusal) {
      io.stderr(redact(`${mode}: ${error.message}`));
      return 2;
    }
    if (error instanceof CorruptStateError) {
      io.stderr(redact(`${mode}: ${error.message}; nothing was traded`));
      return 2;
    }
    if (error instanceof Offline) {
      io.stderr(redact(`${mode}: ${error.message}`));
      return 1;
    }
    if (error instanceof LeaseLostError) {
      io.stderr(redact(
        `${mode}: stopped trading: ${error.message}; another process may trade on this store now`,
      ));
      return 1;
    }
    io.stderr(redact(`${mode}: stopped by an unexpected error: ${oneLine(error)}`));
    return 1;
  } finally {
    clearTimeout(abandonTimer);
  }
}

/** After the lease is lost, how long the shutdown may take before the command ends anyway. */
const EXIT_AFTER_LOST_MS = 10_000;

function oneLine(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.split("\n")[0]!.slice(0, 300);
}

interface RunContext {
  readonly logClock: { nowMs: () => number };
  readonly io: RunIo;
  readonly logger: Logger;
  /** The newest log lines (Telegram's /logs). */
  readonly recentLogs: LogRing;
  readonly trader: TraderApi;
  /** What to start beside the loop once the operator is up (none: the loop only). */
  readonly plan: SurfacePlan | undefined;
  /** Told once the KV lease is lost (the command then ends even if the shutdown hangs). */
  readonly onLeaseLost?: (error: unknown) => void;
}

async function run(config: BotConfig, ctx: RunContext): Promise<void> {
  let sandbox: Sandbox | undefined;
  let clock: Clock = ctx.io.clock ?? WALL_CLOCK;
  // Paper follows the exchange's time (a sandbox may replay fast): one clock for the whole run.
  if (config.mode === "paper" && ctx.io.clock === undefined) clock = exchangeClock(WALL_CLOCK);
  config = { ...config, kvPath: resolveStorePath(config.kvPath, ctx.io.cwd) };
  // Before the sandbox, the lock or anything else: a refused store stays byte-equal.
  if (config.mode === "demo") await checkDemoStore(config.kvPath);
  // Before the demo's first line: a second bot on this store refuses with the lock's line only.
  const lock = await takeLock(lockBaseOf(config.kvPath), config.labels.kvPath);
  let lockHanded = false;
  let restUrl = config.restUrl;
  let wsUrl = config.wsUrl;
  let demo: DemoRun | undefined;
  try {
    if (config.mode === "demo") {
      sandbox = await createSandbox({
        port: 0,
        speed: config.speed,
        seed: config.seed,
        ...(config.synthetic ? {} : demoReplayOf(config)),
      });
      const unknown = config.markets.filter((m) => !sandbox!.replay.markets.includes(m));
      if (unknown.length > 0) {
        await sandbox.close();
        throw new Refusal(
          `${config.labels.markets}: ${unknown.join(",")}: not in the demo's data (it replays ` +
            `${sandbox.replay.markets.join(", ")})`,
        );
      }
      restUrl = sandbox.restUrl;
      wsUrl = sandbox.wsUrl;
      clock = sandboxClock(sandbox, config.speed);
      demo = startDemo(config, { sandbox, logger: ctx.logger, logClock: ctx.logClock });
    }
    // The demo's feed is local: a few seconds' stall of a busy machine (at 60x, 2 s is the default
    // 120 replayed seconds) must not block its entries as stale market data.
    const botConfig = demo === undefined ? config : {
      ...config,
      staleAfterMs: Math.max(config.staleAfterMs, config.speed * DEMO_STALE_REAL_MS),
    };
    lockHanded = true;
    await runBot(botConfig, { ...ctx, clock, restUrl, wsUrl, demo, lock });
  } finally {
    if (!lockHanded) lock.release();
    demo?.finish();
    await sandbox?.close();
  }
}

/** The demo's real data: one week of KRW-BTC 1-minute candles (see data/README.md). */
const DEMO_FILE = "upbit-KRW-BTC-1m-20220531-20220607.csv";
const DEMO_MARKET = "KRW-BTC";
/**
 * The close of a BB(20, 2.5) entry on 5-minute candles (the 13:05-13:10 bucket of 2022-06-02)
 * that starts the week's busiest stretch: its exit comes 2h15m later (2¼ real minutes at 60x),
 * then two more round trips close within the next 26 replayed hours, so a newcomer sees a whole
 * trade, with its P&L, in the first minutes.
 */
const DEMO_FIRST_ENTRY_MS = Date.UTC(2022, 5, 2, 13, 10);
/** The replay starts this many real ms before that entry (at any speed): a trade within seconds. */
const DEMO_LEAD_REAL_MS = 12_000;
/** The earliest start: 2 hours of real history for the strategy's warm-up. */
const DEMO_EARLIEST_START_MS = Date.UTC(2022, 4, 31, 14, 1);
/** Market data counts as stale in the demo only after this many real ms. */
const DEMO_STALE_REAL_MS = 15_000;
/** A summary every this many real ms (and one at the end). */
const DEMO_SUMMARY_EVERY_MS = 120_000;

/** The real replay: the bundled week, looped; refuses markets it has no real minutes for. */
function demoReplayOf(config: BotConfig): { dataFiles: string[]; startAt: number; loop: true } {
  const other = config.markets.find((m) => m !== DEMO_MARKET);
  if (other !== undefined) {
    throw new Refusal(
      `${config.labels.markets}: ${other}: the demo's real 1-minute data is ${DEMO_MARKET} only ` +
        `(data/${DEMO_FILE}); add --synthetic to replay other markets on seeded minute paths`,
    );
  }
  const startAt = Math.max(
    DEMO_EARLIEST_START_MS,
    // At least two replayed minutes, so the bot is up before the entry's candle closes.
    DEMO_FIRST_ENTRY_MS - Math.max(2, Math.round(DEMO_LEAD_REAL_MS * config.speed / 60_000)) *
        60_000,
  );
  return { dataFiles: [`${defaultDataDir()}${DEMO_FILE}`], startAt, loop: true };
}

/** `1 replayed hour`, `2.5 replayed hours`. */
function plural(count: number, noun: string): string {
  const text = formatNumber(count, { decimals: Number.isInteger(count) ? 0 : 1 });
  return `${text} ${noun}${text === "1" ? "" : "s"}`;
}

/** What the bot loop takes from a running demo. */
interface DemoRun {
  /** The replayed market's time of a sandbox time. */
  readonly displayMs: (sandboxMs: number) => number;
  /** Every engine event (trade count, P&L). */
  readonly onEvent: (event: EngineEvent) => void;
  /** The bot stopped: the final summary marks at its last prices, as its status did. */
  stopped(status: BotStatus): void;
  /** Stops the timers and prints the final summary. */
  finish(): void;
}

/**
 * Prints what the demo replays (its first lines), logs on the replayed market's clock, tells
 * each closed trade, says when the data wraps and prints a summary every 2 minutes.
 */
function startDemo(
  config: BotConfig,
  ctx: { sandbox: Sandbox; logger: Logger; logClock: { nowMs: () => number } },
): DemoRun {
  const { sandbox, logger } = ctx;
  const replay = sandbox.replay;
  const displayMs = (ms: number) => replay.dataTimeOf(ms).dataMs;
  ctx.logClock.nowMs = () => displayMs(replay.nowMs());
  const loop = replay.loop;
  const speed = config.speed;
  const pace = speed >= 60 ? plural(speed / 60, "replayed hour") : plural(speed, "replayed minute");
  const startMs = displayMs(replay.nowMs());
  if (loop === undefined) {
    logger.info(
      `demo: replaying SYNTHETIC 1-minute paths (seed ${config.seed}) under the real daily ` +
        `candles of ${config.markets.join(", ")} (--synthetic)`,
    );
  } else {
    logger.info(
      `demo: replaying REAL Upbit ${DEMO_MARKET} 1-minute candles of ${
        formatDateTime(loop.firstMs).slice(0, 16)
      } → ${formatDateTime(loop.endMs - 60_000).slice(0, 16)} UTC (data/${DEMO_FILE}), ` +
        `looped end to end`,
    );
  }
  logger.info(
    `demo: starting at ${formatDateTime(startMs).slice(0, 16)} UTC, speed ${speed}x ` +
      `(${pace} per real minute); every time below is replay time, UTC`,
  );
  logger.info(
    `demo: paper bot trading ${config.markets.join(", ")} on ${config.timeframe} candles with ${
      createStrategy(config.strategy, config.strategyParams).name
    }, ${formatKrw(config.capitalKrw)} KRW, fee ${config.feeBps / 100}%; a summary every ${
      DEMO_SUMMARY_EVERY_MS / 60_000
    } min; ` +
      (config.minutes === undefined ? "Ctrl-C to stop" : `stops after ${config.minutes} min`),
  );
  const finalPrices = new Map<string, Units>();
  const story = new DemoStory({
    markets: config.markets,
    capital: unitsFromNumber(config.capitalKrw),
    feeBps: config.feeBps,
    lastPrice: (market) => finalPrices.get(market) ?? replay.lastTrade(market)?.price,
    nowMs: () => displayMs(replay.nowMs()),
    replayMs: () => replay.nowMs(),
  });
  const startedRealMs = Date.now();
  let pass = replay.dataTimeOf(replay.nowMs()).pass;
  let lastSummaryMs = startedRealMs;
  const printSummary = (title: string) => {
    const passNow = replay.dataTimeOf(replay.nowMs()).pass;
    const [first, ...rest] = story.summary(passNow === 0 ? title : `${title}, pass ${passNow + 1}`);
    logger.info(first!, { event: "Summary", trades: story.trades });
    for (const line of rest) logger.info(line, { event: "Summary" });
  };
  // One timer: wraps show up within a second; summaries every 2 real minutes.
  const timer = setInterval(() => {
    const now = replay.dataTimeOf(replay.nowMs());
    if (loop !== undefined && now.pass > pass) {
      pass = now.pass;
      logger.info(
        `demo: the replay wrapped: pass ${pass + 1} starts again at ${
          formatDateTime(loop.firstMs).slice(0, 16)
        } UTC (real prices, so the price jumps from the week's last close to its first open)`,
        { event: "ReplayWrapped", pass: pass + 1 },
      );
    }
    if (Date.now() - lastSummaryMs >= DEMO_SUMMARY_EVERY_MS) {
      lastSummaryMs = Date.now();
      printSummary(`summary after ${Math.round((lastSummaryMs - startedRealMs) / 60_000)} min`);
    }
  }, 1_000);
  return {
    displayMs,
    onEvent(event) {
      const line = story.onEvent(event);
      if (line !== undefined) logger.info(line, { event: "TradeClosed", trades: story.trades });
    },
    stopped(status) {
      for (const m of status.markets) {
        if (m.lastPrice !== null) finalPrices.set(m.market, unitsFromNumber(m.lastPrice));
      }
    },
    finish() {
      clearInterval(timer);
      const minutes = (Date.now() - startedRealMs) / 60_000;
      printSummary(`final summary after ${formatNumber(minutes, { decimals: 1 })} min`);
    },
  };
}

/** The sandbox's accelerated clock: its time, and sleeps shortened by the speed. */
export function sandboxClock(sandbox: Sandbox, speed: number): Clock {
  return {
    nowMs: () => sandbox.replay.nowMs(),
    sleep: (ms, signal) => sleepReal(ms / speed, signal),
  };
}

interface BotContext extends RunContext {
  readonly clock: Clock;
  readonly restUrl: string;
  readonly wsUrl: string;
  /** The running demo (its log clock and trade story). */
  readonly demo?: DemoRun;
  /** The instance lock (taken before the demo prints; released here). */
  readonly lock: InstanceLock;
}

async function runBot(config: BotConfig, ctx: BotContext): Promise<void> {
  const { logger, clock, io } = ctx;
  // Upbit's refusals (429, 418) are counted per day in the store once it is open (the daily
  // report's data health).
  let onRefused: (() => void) | undefined;
  // The run's metrics (`/metrics`): fed by the REST client, the stream, the loop and the orders.
  const telemetry = new Telemetry({ clock, memory: () => Deno.memoryUsage() });
  const rest = new UpbitRestClient({
    onRateRefused: () => onRefused?.(),
    onAnswer: (group, status) => telemetry.restAnswer(group, status),
    restUrl: ctx.restUrl,
    ...(config.mode === "live" && config.keys !== undefined
      ? { accessKey: config.keys.accessKey.reveal(), secretKey: config.keys.secretKey }
      : {}),
    // Request pacing follows the run's clock: against a sandbox replaying fast, the market's
    // minutes pass in milliseconds, and pacing them at Upbit's real-time rates starves the loops
    // (5 markets at 720x: stale data and a fifth of the entries). Against Upbit the two agree.
    nowMs: clock.nowMs,
    timeoutMs: 5_000,
  });
  const books = new Map<string, BookSnapshot>();
  for (const book of await firstBooks(rest, config, ctx.restUrl)) {
    books.set(book.market, book);
    // The exchange's time from the first answer on: the store's start and the warm-up use it.
    if ("observe" in clock) (clock as ExchangeClock).observe(book.tsMs);
  }
  if (config.mode === "live") await checkKeys(rest);

  const lockBase = lockBaseOf(config.kvPath);
  const lock = ctx.lock;
  let kv: Deno.Kv | undefined;
  let lease: KvLease | undefined;
  let leaseKept: Promise<void> | undefined;
  const stopLease = new AbortController();
  let finalStatus: BotStatus | undefined;
  // A refused start leaves the store's files as it found them (the demo replaces its own).
  const before = config.mode === "demo" ? undefined : await storeFilesBefore(config.kvPath);
  let claimed = false;
  let lostLease: unknown;
  try {
    if (config.mode === "demo") await removeStoreFiles(config.kvPath);
    const found = await inspectStoreFile(config.kvPath);
    const state = isRemoteStore(config.kvPath)
      ? "remote KV"
      : found === "no file"
      ? "new"
      : found === "a store"
      ? "existing"
      : found;
    logger.info(`${config.mode}: store ${config.kvPath} (${state}; lock ${lock.path})`);
    kv = await openStoreFile(config.kvPath);
    // A remote store: a running bot on another host refuses this start before anything is written.
    if (isRemoteStore(config.kvPath)) {
      await refuseLiveLease(kv, { label: config.labels.kvPath, logger });
    }
    const unfenced = new KvStore(kv);
    await unfenced.verifyState();
    await startStore(unfenced, { config, rest, books, found, clock, logger });
    lease = await takeStoreLease(kv, {
      kvPath: config.kvPath,
      label: config.labels.kvPath,
      pid: io.pid,
      logger,
      timing: io.leaseTiming,
    });
    // Every intent and reservation commit checks the lease as this process holds it.
    const store = new KvStore(kv, { fence: lease });
    await store.claimInstance(io.pid, clock.nowMs());
    claimed = true;
    leaseKept = lease.keep(
      stopLease.signal,
      (error) => logger.warn(`KV lease: renewal failed (${oneLine(error)}); retrying`),
    );
    const consoleNotifier = new ConsoleNotifier(logger, { displayMs: ctx.demo?.displayMs });
    // The one event stream: every listener (the console, the demo's story) hears every event.
    const notifier = new EventStream(store, clock);
    // Counted, not journaled: a burst of 429s must not flood the log and the chat.
    onRefused = () => void store.countRefusal(clock.nowMs()).catch(() => {});
    notifier.subscribe((event) => consoleNotifier.notify(event));
    notifier.subscribe((event) => telemetry.noteEvent(event));
    telemetry.watchOrders(() => store.listIntents(LIVE_INTENT_STATES));
    if (ctx.demo !== undefined) notifier.subscribe(ctx.demo.onEvent);
    notifier.subscribe((event) => {
      if (ctx.demo !== undefined) return;
      if (event.type !== "OrderFilled" || event.side !== "ask") return;
      store.getLedger(event.market).then((ledger) => {
        if (ledger === undefined) return;
        const pnl = ledger.cash - ledger.initialCash;
        logger.info(
          `P&L ${event.market}: ${formatKrw(pnl, { signed: true })} KRW since start (${
            formatPct(unitsToNumber(pnl) / Math.max(1, unitsToNumber(ledger.initialCash)) * 100)
          }; cash ${formatKrw(ledger.cash)} KRW, fees ${formatKrw(ledger.fees)} KRW)`,
          { event: "PnL", market: event.market, pnl: formatUnits(pnl) },
        );
      }, () => {});
    });

    let exchange: Exchange & Account;
    if (config.mode === "live") {
      exchange = new HttpExchange(rest);
    } else {
      const known = await store.getBalances();
      const balances: Record<string, Units> = known.size > 0
        ? Object.fromEntries(known)
        : { KRW: unitsFromNumber(config.capitalKrw) };
      exchange = new PaperExchange({
        book: (market) => books.get(market),
        nowMs: clock.nowMs,
        balances,
        feeBps: config.feeBps,
      });
    }

    const stream = createMarketStream({
      url: ctx.wsUrl,
      markets: config.markets,
      history: (market, range) => rest.candleHistory(market, "1m", range),
      marketNowMs: clock.nowMs,
      logger: { warn: (message, data) => logger.warn(`market data: ${message}`, data) },
    });
    telemetry.watchStream(() => stream.status());
    const queues = new Map<string, EventQueue<MarketEvent>>(
      config.markets.map((m) => [m, createEventQueue<MarketEvent>()]),
    );
    const pump = pumpEvents(stream.events(), {
      books,
      queues,
      observe: "observe" in clock ? (clock as ExchangeClock).observe : undefined,
    });

    const controller = new AbortController();
    const stop = () => controller.abort();
    const onInterrupt = () => {
      logger.info(`${config.mode}: stopping… press Ctrl-C again to force`);
      stop();
    };
    // The signal may have come during start-up: then stop as soon as the loop begins.
    if (io.interrupt.aborted) onInterrupt();
    else io.interrupt.addEventListener("abort", onInterrupt, { once: true });
    // A lost lease (taken over, or not renewable in time) stops every loop at once.
    const onLost = () => {
      stop();
      ctx.onLeaseLost?.(lease!.lost.reason);
    };
    if (lease.lost.aborted) onLost();
    else lease.lost.addEventListener("abort", onLost, { once: true });
    let timer: ReturnType<typeof setTimeout> | undefined;
    if (config.minutes !== undefined) timer = setTimeout(stop, config.minutes * 60_000);

    const history = (market: string, range: { fromMs: number; toMs: number }): Promise<Candle[]> =>
      rest.candleHistory(market, "1m", range);
    const traderConfigs = config.markets.map((market) => traderConfigOf(config, market));
    const marketFlags = marketFlagsSource(rest, clock);
    const trace = orderTrace({ logger, telemetry });
    const depsOf = (market: string): TraderDeps => ({
      metrics: telemetry,
      trace,
      marketFlags,
      clock,
      exchange,
      account: exchange,
      store,
      notifier,
      market: queues.get(market)!.iterate(),
      history,
    });
    const allDeps = traderConfigs.map((c) => depsOf(c.market));

    await recordRun(store, {
      botId: config.botId,
      mode: config.mode,
      traders: traderConfigs.map((c) => ({ botId: c.botId, market: c.market })),
      timeframe: config.timeframe,
      strategy: config.strategy,
      strategyParams: strategyParamsOf(config),
      rules: config.rules,
      budgetPct: config.budgetPct,
      staleAfterMs: config.staleAfterMs,
      feeBps: config.feeBps,
      startedAtMs: clock.nowMs(),
      capitalKrw: formatUnits(unitsFromNumber(config.capitalKrw)),
      portfolio: config.portfolio,
    });
    const operator = createOperator({
      store,
      clock,
      notifier,
      exchange,
      traders: traderConfigs,
      checkState: () => store.verifyState(),
    });
    const overrides = (await operator.params()).params.filter((p) => p.overridden);
    if (overrides.length > 0) {
      logger.warn(
        `run-time parameters set with ctl override the start-up config: ${
          overrides.map((p) => `${p.name}=${p.value} (start-up ${p.startup ?? "-"})`).join(", ")
        } (ctl params; ctl unset <param> to drop one)`,
      );
    }
    const control = await startControlServer(controlFilePath(lockBase), {
      execute: (command) => operator.execute("ctl", command),
      status: () => operator.status(),
      params: () => operator.params(),
      audit: (limit) => operator.auditLog({ limit }),
      backup: () => store.backupText(clock.nowMs()),
      report: (date) => operator.dailyReport(date),
    });
    let surfaces: Surfaces | undefined;
    try {
      if (ctx.plan !== undefined) {
        surfaces = await startSurfaces(ctx.plan, {
          config,
          operator,
          events: notifier,
          kv,
          clock,
          wallClock: WALL_CLOCK,
          logger,
          recentLogs: ctx.recentLogs,
          telemetry,
        }).catch((error) => {
          throw error instanceof ConfigError ? new Refusal(error.message) : error;
        });
      }
      logger.info(
        `${config.mode}: trading ${
          config.markets.join(", ")
        } (${config.timeframe}, ${config.strategy}` +
          `, capital ${formatKrw(config.capitalKrw)} KRW); state in ${config.kvPath}; ` +
          `control with: deno task ctl status --kv ${config.kvPath}`,
      );
      await Promise.all(
        traderConfigs.map((c, i) => ctx.trader.runTrader(allDeps[i]!, c, controller.signal)),
      );
      await recordRunEnd(store, clock.nowMs());
    } finally {
      clearTimeout(timer);
      io.interrupt.removeEventListener("abort", onInterrupt);
      controller.abort();
      try {
        finalStatus = await operator.status();
        ctx.demo?.stopped(finalStatus);
      } catch {
        // The summary is a courtesy; the state is already committed.
      }
      await control.close();
      // The page, Telegram and the workers read the KV: they stop before it closes.
      await surfaces?.close();
      await stream.close();
      for (const q of queues.values()) q.end();
      await pump;
    }
  } catch (error) {
    if (!claimed) {
      kv?.close();
      kv = undefined;
      await undoStoreStart(before);
    }
    throw error;
  } finally {
    stopLease.abort();
    await leaseKept;
    lostLease = lease?.lost.aborted ? lease.lost.reason : undefined;
    await lease?.release().catch(() => {});
    kv?.close();
    lock.release();
  }
  if (lostLease !== undefined) throw lostLease;
  // Last, once the loop, the control channel, the stream, the KV and the lock are all let go.
  logger.info(
    `${config.mode}: stopped\n${finalStatus ? formatStatus(finalStatus, { stopped: true }) : ""}`
      .trim(),
    {
      event: "Stopped",
      status: finalStatus,
    },
  );
}

/** The strategy's parameters with its defaults filled in. */
function strategyParamsOf(config: BotConfig): Record<string, number> {
  const parsed: object = STRATEGIES[config.strategy].params.parse(config.strategyParams);
  // The entry filters are not the strategy's own: kept as given, so a re-created strategy has them.
  const filters = Object.entries(config.strategyParams).filter(([k]) =>
    (FILTER_PARAMS as readonly string[]).includes(k)
  );
  return Object.fromEntries(
    [...Object.entries(parsed), ...filters].filter((e): e is [string, number] =>
      typeof e[1] === "number"
    ),
  );
}

/** The trader's config for one market. */
function traderConfigOf(config: BotConfig, market: string): TraderConfig {
  // The loop's state is keyed by bot id: one id per market when several are traded.
  const coin = (market.split("-")[1] ?? market).toLowerCase();
  return {
    botId: config.markets.length > 1 ? `${config.botId}-${coin}` : config.botId,
    market,
    timeframe: config.timeframe,
    strategy: createStrategy(config.strategy, config.strategyParams),
    strategyId: config.strategy,
    strategyParams: strategyParamsOf(config),
    rules: config.rules,
    feeBps: config.feeBps,
    budgetPct: config.budgetPct,
    staleAfterMs: config.staleAfterMs,
    capitalKrw: unitsFromNumber(config.capitalKrw),
    portfolio: config.portfolio,
    atrStopMultiple: config.atrStopMultiple,
    // Same-close entries go in the --market order, as the account backtest takes them.
    ...(config.markets.length > 1 ? { accountMarkets: config.markets } : {}),
  };
}

/** How long Upbit's market flags are reused before `/v1/market/all` is asked again. */
const FLAGS_TTL_MS = 60_000;

/** Upbit's warning/caution flags per market, fetched at most once a minute (shared by markets). */
function marketFlagsSource(
  rest: UpbitRestClient,
  clock: Clock,
): (market: string) => Promise<MarketFlags | undefined> {
  let cached: { atMs: number; flags: Map<string, MarketFlags> } | undefined;
  let pending: Promise<Map<string, MarketFlags>> | undefined;
  return async (market) => {
    const nowMs = clock.nowMs();
    if (cached === undefined || nowMs - cached.atMs > FLAGS_TTL_MS) {
      pending ??= rest.markets().then(
        (list) =>
          new Map(list.map((m) => [m.market, { warning: m.warning, cautions: m.cautions }])),
      ).finally(() => pending = undefined);
      cached = { atMs: nowMs, flags: await pending };
    }
    return cached.flags.get(market);
  };
}

/** Copies each market event to its market's queue and keeps the latest book per market. */
async function pumpEvents(
  events: AsyncIterable<StreamEvent>,
  target: {
    books: Map<string, BookSnapshot>;
    queues: ReadonlyMap<string, EventQueue<MarketEvent>>;
    /** Told each exchange timestamp (the paper bot's exchange clock). */
    observe?: ((tsMs: number) => void) | undefined;
  },
): Promise<void> {
  for await (const event of events) {
    if (event.kind === "orderbook") target.observe?.(event.book.timestamp);
    if (event.kind === "orderbook") {
      const b = event.book;
      target.books.set(b.code, {
        market: b.code,
        tsMs: b.timestamp,
        asks: b.orderbook_units.filter((u) => u.ask_price > 0 && u.ask_size > 0)
          .map((u) => ({ price: unitsFromNumber(u.ask_price), size: unitsFromNumber(u.ask_size) })),
        bids: b.orderbook_units.filter((u) => u.bid_price > 0 && u.bid_size > 0)
          .map((u) => ({ price: unitsFromNumber(u.bid_price), size: unitsFromNumber(u.bid_size) })),
      });
    }
    const mapped = toMarketEvent(event);
    if (mapped === undefined) continue;
    if (mapped.kind === "price") target.observe?.(mapped.atMs);
    if (mapped.kind === "connection") { for (const q of target.queues.values()) q.push(mapped); }
    else target.queues.get(mapped.market)?.push(mapped);
  }
  for (const q of target.queues.values()) q.end();
}

/** The first order books; proves the REST endpoint is reachable and the markets exist. */
async function firstBooks(
  rest: UpbitRestClient,
  config: BotConfig,
  restUrl: string,
): Promise<BookSnapshot[]> {
  let books: OrderBook[];
  try {
    books = await rest.orderbooks(config.markets);
  } catch (error) {
    if (error instanceof TemporaryError) {
      throw new Offline(
        `cannot reach ${restUrl} (${error.reason}): no internet? ` +
          "`deno task demo` runs the whole bot offline against a local sandbox",
      );
    }
    if (error instanceof RejectedError || error instanceof ConfigError) {
      throw new Refusal(
        `${config.labels.markets}: ${config.markets.join(",")}: not all are markets of ${restUrl}`,
      );
    }
    throw error;
  }
  const missing = config.markets.filter((m) => !books.some((b) => b.market === m));
  if (missing.length > 0) {
    throw new Refusal(`${config.labels.markets}: ${missing.join(",")}: not a market of ${restUrl}`);
  }
  return books.map((b) => ({ market: b.market, tsMs: b.tsMs, asks: b.asks, bids: b.bids }));
}

/** Live mode: the keys must work before anything is traded. */
async function checkKeys(rest: UpbitRestClient): Promise<void> {
  try {
    await rest.accounts();
  } catch (error) {
    if (error instanceof AuthError) {
      throw new Refusal(`UPBIT_ACCESS_KEY: refused by Upbit: ${oneLine(error)}`);
    }
    throw error;
  }
}

/** The local path the lock and control files hang off (a remote KV gets a stand-in in ./data). */
export function lockBaseOf(kvPath: string): string {
  if (!/^[a-z]+:\/\//i.test(kvPath)) return kvPath;
  let hash = 0;
  for (const ch of kvPath) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  return `./data/remote-kv-${hash.toString(16)}`;
}

async function takeLock(lockBase: string, label: string): Promise<InstanceLock> {
  const dir = lockBase.includes("/") ? lockBase.slice(0, lockBase.lastIndexOf("/")) : ".";
  if (dir !== "" && lockBase !== ":memory:") await Deno.mkdir(dir, { recursive: true });
  try {
    return await acquireInstanceLock(lockBase === ":memory:" ? "./data/memory-kv" : lockBase);
  } catch (error) {
    if (error instanceof ConfigError) throw new Refusal(error.message);
    if (error instanceof Deno.errors.PermissionDenied || error instanceof Deno.errors.NotFound) {
      throw new Refusal(`${label}: cannot use ${lockBase}: ${oneLine(error)}`);
    }
    throw error;
  }
}

/**
 * Whose store this is (refusing another mode, bot or account), and on a new live store what
 * to do with the coins the account already holds: refuse, adopt them as positions at Upbit's
 * `avg_buy_price` (the stop rules protect them from the first price), or leave them alone.
 */
async function startStore(
  store: KvStore,
  options: {
    readonly config: BotConfig;
    readonly rest: UpbitRestClient;
    readonly books: ReadonlyMap<string, BookSnapshot>;
    readonly found: StoreFound;
    readonly clock: Clock;
    readonly logger: Logger;
  },
): Promise<void> {
  const { config, rest, books, clock, logger } = options;
  const live = config.mode === "live" && config.keys !== undefined;
  const accounts = live ? await rest.accounts() : [];
  const holdings: Holding[] = [];
  for (const market of config.markets) {
    const currency = market.split("-")[1]!;
    const a = accounts.find((x) => x.currency === currency);
    const volume = a === undefined ? 0n : a.balance + a.locked;
    if (volume > 0n) holdings.push({ market, currency, volume, avgBuyPrice: a!.avgBuyPrice });
  }
  const openOrders = live
    ? (await new HttpExchange(rest).openOrders()).filter((o) => config.markets.includes(o.market))
    : [];
  const decision = await claimStore(store, {
    path: config.kvPath,
    found: options.found,
    mode: config.mode,
    botId: config.botId,
    markets: config.markets,
    account: live ? await accountHash(config.keys!.accessKey.reveal()) : null,
    policy: config.holdings,
    holdings,
    openOrders,
    nowMs: clock.nowMs(),
  });
  for (const h of decision.ignored) {
    logger.warn(
      `${config.mode}: leaving ${formatUnits(h.volume)} ${h.currency} alone (--ignore-holdings): ` +
        "recorded as external, never sold by the bot",
      { event: "HoldingIgnored", market: h.market, volume: formatUnits(h.volume) },
    );
  }
  const krw = accounts.find((a) => a.currency === "KRW");
  let cash = krw?.balance ?? 0n;
  const cap = unitsFromNumber(config.capitalKrw);
  if (cap < cash) cash = cap;
  for (const h of decision.adopt) {
    const book = books.get(h.market);
    // Upbit does not know the price of deposited coins: the best bid stands in for it.
    const price = h.avgBuyPrice > 0n ? h.avgBuyPrice : book?.bids[0]?.price ?? 0n;
    if (price <= 0n) throw new Refusal(`--adopt: no price for ${h.market}`);
    await store.adoptPosition(h.market, { qty: h.volume, price, cash, atMs: clock.nowMs() });
    logger.info(
      `${config.mode}: adopted ${formatUnits(h.volume)} ${h.currency} as the ${h.market} ` +
        `position at ${group(formatUnits(price))} KRW (${
          h.avgBuyPrice > 0n ? "Upbit's avg_buy_price" : "best bid"
        }); the stop rules protect it from the first price`,
      { event: "HoldingAdopted", market: h.market, volume: formatUnits(h.volume) },
    );
  }
}

const SHARED_OPTIONS = `Configuration (flag, or variable in the environment / .env; the flag wins):
  --market KRW-BTC        MARKETS              comma-separated KRW markets (default KRW-BTC)
  --timeframe 1h          TIMEFRAME            1m 3m 5m 10m 15m 30m 1h 4h 1d (default 1h; demo 5m)
  --strategy bb           STRATEGY             bb, rsi or macd (default bb)
  --period/--std/...      STRATEGY_PARAMS      e.g. period=20,std=2.5 (flags as in backtest)
  --stop-loss 5           STOP_LOSS_PCT        % below entry (0 = off)
  --take-profit 10        TAKE_PROFIT_PCT      % above entry (0 = off)
  --max-daily-loss 10     MAX_DAILY_LOSS_PCT   per market: no entries there for the Upbit day
                                               after this loss (0 = off)
  --trailing-stop 0       TRAILING_STOP_PCT    % below the high since entry (0 = off)
  --cooldown-hours 0      COOLDOWN_HOURS       no entry this long after a stop loss
  --fee 0.05              FEE_PCT              fee per side, %
  --budget 100            BUDGET_PCT           % of the allotted cash per entry (sizing all)
  --capital N             CAPITAL_KRW          the ACCOUNT's cap over all markets, KRW
                                               (live 100000, else 1000000)
  --sizing all            SIZING               all, fixed, equity_pct or risk (default all)
  --sizing-value N        SIZING_VALUE         fixed: KRW per entry; equity_pct: % of equity;
                                               risk: % of equity lost at the stop; all: %
  --max-positions 0       MAX_OPEN_POSITIONS   markets holding at once (0 = no limit)
  --max-market-share 100  MAX_MARKET_SHARE_PCT most % of the capital one market commits
  --account-daily-loss 10 ACCOUNT_DAILY_LOSS_PCT  no entries on ANY market for the Upbit
                                               day after the account lost this % (0 = off)
  --block-caution         BLOCK_CAUTION        also no entries on Upbit caution flags
                                               (유의종목 warnings always block)
  --atr-stop 0            ATR_STOP_MULTIPLE    risk sizing: stop at N x ATR(14) if tighter
  --stale-after 120       STALE_AFTER_SECONDS  no entries when market data is older
  --report-time 09:00     REPORT_TIME          the daily report's time, KST (HH:MM); a report
                                               missed while stopped is sent at the next start
  --bot-id bot            BOT_ID               part of every order identifier
  --log-format auto       LOG_FORMAT           json, pretty or auto (pretty on a terminal)
  --kv ./data/bot.kv      DENO_KV_PATH         state file (or a remote KV URL)
  --rest-url URL          UPBIT_REST_URL       default https://api.upbit.com
  --ws-url URL            UPBIT_WS_URL         default wss://api.upbit.com/websocket/v1
  --http-port N           HTTP_PORT            the status page and Telegram's webhook
                                               (off; demo 8080; 0 = any free port)
  --http-host 127.0.0.1   HTTP_HOST            address to bind (beyond loopback: a warning,
                                               and WEB_ORIGIN https is required)
                          WEB_PASSWORD         the page's password, >= 16 characters
                                               (required with HTTP_PORT; demo: printed)
                          WEB_ORIGIN           public origin behind a TLS proxy
                          TELEGRAM_BOT_TOKEN, TELEGRAM_OWNER_ID, TELEGRAM_MODE (webhook or
                          polling), TELEGRAM_WEBHOOK_SECRET, ...: see the README
  --help                  this text

Run-time parameters: \`deno task ctl set <param> <value>\` (stop-loss, take-profit,
max-daily-loss, trailing-stop, cooldown-hours, budget, stale-after, and the strategy's
period/std/...) is stored in the KV, versioned and audited, and WINS over the values above
(flags, environment and defaults alike), also after a restart, until \`ctl unset <param>\`.
The start prints the values that override; \`ctl params\` lists them with their history.
`;

/** `--help` of each trading mode. */
const RUN_USAGE: Readonly<Record<TradingMode, string>> = {
  paper: `Usage: deno task paper [options]

Paper trading on real Upbit market data (public endpoints, no keys): orders are simulated by
walking the live order book with Upbit's fees, tick sizes and minimum order. State in Deno KV.
Stop with Ctrl-C; control a running bot with \`deno task ctl\`.

${SHARED_OPTIONS}`,
  live: `Usage: deno task live --i-understand-real-money [options]

REAL orders on Upbit. Refuses to start without UPBIT_ACCESS_KEY and UPBIT_SECRET_KEY, without
--i-understand-real-money (or UPBIT_TRADER_REAL_MONEY=yes), or with a capital cap over
LIVE_CAPITAL_LIMIT_KRW (default 1000000). The capital cap defaults to 100000 KRW.

  --i-understand-real-money   UPBIT_TRADER_REAL_MONEY=yes   required
                              UPBIT_ACCESS_KEY, UPBIT_SECRET_KEY   required (never printed)
                              LIVE_CAPITAL_LIMIT_KRW        highest --capital accepted
  --adopt                     a new store takes the coins the account already holds in the
                              markets over as positions (at Upbit's avg_buy_price, with stops)
  --ignore-holdings           a new store leaves them alone (recorded as external)

The store records its bot, mode and account (a hash of the access key): live refuses another
account's or mode's store, and a new or empty store while the account holds coins of the
markets or has open orders there, unless --adopt or --ignore-holdings says what to do.

${SHARED_OPTIONS}`,
  demo: `Usage: deno task demo [options]

Runs everything offline: a local Upbit sandbox replaying a REAL week of KRW-BTC 1-minute
candles (2022-05-31 → 2022-06-07 UTC, looped end to end) and the paper bot trading against it,
with a dated log of signals, orders, fills, each trade's P&L, and a summary every 2 minutes.
The state is a fresh ./data/demo.kv each run (--kv: the demo replaces only a store it created
itself). Stop with Ctrl-C.

  --speed 60              replayed seconds per real second (default 60: an hour a minute)
  --minutes N             stop after N real minutes (default: run until Ctrl-C)
  --synthetic             replay seeded 1-minute paths under the real daily candles instead
                          (any bundled market, from 2025-08-01)
  --seed 1                seed of the synthetic detail (trade tapes, books, --synthetic paths)

${SHARED_OPTIONS}`,
};
