/**
 * upbit-trader's entry point: the only place that picks a mode and touches the process
 * (arguments, environment, exit codes).
 *
 *   deno task backtest [options]    run a strategy over real Upbit candles (see --help)
 *   deno task sweep [options]       the backtest over a parameter space, on all cores
 *   deno task compare [--kv PATH]   a run beside its backtest over its recorded candles
 *   deno task walkforward [options] in-sample choice, out-of-sample trading, overfitting odds
 *   deno task demo                  the whole bot offline against an in-process sandbox
 *   deno task paper                 real market data, simulated fills
 *   deno task live                  real orders (keys, --i-understand-real-money, capital cap)
 *   deno task ctl <command>         pause | resume | stop | status | set | params | audit
 *   deno task backup | restore      the store as a checked JSON-lines file, and back
 *   deno task preflight [options]   the go-live checklist (keys, clock, cap, Telegram, store)
 */

// First: silences npm dependencies' Node deprecation warnings before any of them loads.
import { parseEnv } from "node:util";
import { isAbsolute, join } from "node:path";
import { backupStoreFile, restoreStoreFile } from "./engine/adapters/kv_backup_file.ts";
import { runBacktestCommand } from "./engine/cli/backtest_command.ts";
import { runCompareCommand } from "./engine/cli/compare_command.ts";
import { runBackupCommand, runRestoreCommand } from "./engine/cli/backup_command.ts";
import { runCtlCommand } from "./engine/cli/ctl_command.ts";
import { runPreflightCommand } from "./engine/cli/preflight_command.ts";
import { createPreflightProbes } from "./engine/adapters/preflight_probes.ts";
import { runSweepCommand } from "./engine/cli/sweep_command.ts";
import { runWalkForwardCommand } from "./engine/cli/walkforward_command.ts";
import { loadCandleFile } from "./engine/adapters/candle_file.ts";
import { createInterrupt } from "./engine/cli/interrupt.ts";
import { runTradingCommand } from "./engine/cli/run_command.ts";
import type { SurfaceContext, SurfaceFactory, SurfacePlan, Worker } from "./engine/cli/surfaces.ts";
import { startDailySurface } from "./engine/cli/daily_surface.ts";
import { ENV_VARS, type HttpConfig, type TradingMode, withKvUrlAlias } from "./engine/config.ts";
import { clip } from "./engine/flags.ts";
import * as trader from "./engine/trader.ts";
import { KvChatStore } from "./engine/adapters/kv_chat_store.ts";
import { KvSessionStore } from "./engine/adapters/kv_session_store.ts";
import { KvStore } from "./engine/adapters/kv_store.ts";
import { ConfigError } from "./engine/errors.ts";
import { err, ok } from "./engine/core/result.ts";
import {
  createTelegramBot,
  createTelegramRoutes,
  parseTelegramEnv,
  startOutbox,
  type TelegramSettings,
  WEBHOOK_PATH,
} from "./engine/telegram/mod.ts";
import { registerWebhook, startPolling } from "./engine/telegram/runner.ts";
import { createWebApp, loadStaticAssets, SESSION_TTL_MS } from "./routes/mod.ts";
import { type Fetcher, startWebServer, type WebServer } from "./routes/server.ts";
import { generatePassword, parseWebEnv, type WebSettings } from "./routes/settings.ts";

const USAGE = `Usage: deno run -A main.ts <mode> [options]

Modes:
  backtest   run a strategy with the risk manager over real Upbit candles (--help for options)
  sweep      the backtest over a space of parameters on all CPU cores, ranked (--help)
  compare    a run beside its backtest over the candles it recorded, leg by leg (--help)
  walkforward  choose in sample, trade out of sample, stitched, with DSR and PBO (--help)
  demo       the sandbox replaying real candles at high speed plus the paper bot, offline
  paper      real Upbit market data, simulated fills, state in Deno KV
  live       real orders (needs keys, --i-understand-real-money and a capital cap)
  ctl        pause | resume | stop | status | set | unset | params | audit (see ctl --help)
  backup     the store as a JSON-lines file with a checksum (safe while the bot runs)
  restore    a backup into a new store, checked before it is put in place
  preflight  the go-live checklist: keys (orders yes, withdrawals no), clock, cap, Telegram, store
`;

/**
 * The variables the bot reads; nothing else of the environment is touched. A variable already in
 * the environment wins over the optional `.env` file in the working folder (paper, live, ctl).
 * `DENO_KV_URL` is taken as `DENO_KV_PATH`; both set to different stores: one line and exit 2.
 */
function readEnv(options: { readonly dotEnv: boolean }): Record<string, string | undefined> {
  const file = options.dotEnv ? readDotEnv(".env") : {};
  const env: Record<string, string | undefined> = {};
  for (const name of ENV_VARS) {
    try {
      env[name] = Deno.env.get(name) ?? file[name];
    } catch {
      // Not granted by --allow-env: treated as unset.
      env[name] = file[name];
    }
  }
  const aliased = withKvUrlAlias(env);
  if (!aliased.ok) {
    write(Deno.stderr, `upbit-trader: ${aliased.error}\n`);
    Deno.exit(2);
  }
  return aliased.value;
}

/** The `KEY=value` lines of an optional dotenv file; none when it does not exist. */
function readDotEnv(path: string): Record<string, string | undefined> {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return {};
    // An unreadable `.env` (a folder, no permission): one line and exit code 2.
    write(Deno.stderr, `upbit-trader: cannot read ${path}: ${(error as Error).message}\n`);
    Deno.exit(2);
  }
  return parseEnv(text);
}

/**
 * The user's working folder, where relative paths they type start: `deno task` runs in the
 * folder of deno.json and passes the caller's folder as `INIT_CWD`.
 */
function userCwd(): string {
  const cwd = Deno.cwd();
  // Only a run in the project folder (where deno task runs) can be a task's: a direct
  // `deno run` elsewhere may have inherited a stale INIT_CWD from a parent task.
  if (join(cwd, "/") !== new URL("./", import.meta.url).pathname) return cwd;
  try {
    const init = Deno.env.get("INIT_CWD");
    if (init !== undefined && isAbsolute(init)) return init;
  } catch {
    // Not granted: the process's own folder.
  }
  return cwd;
}

/** Aborted on the first SIGINT or SIGTERM; a deliberate second Ctrl-C forces the exit (130). */
function interruptSignal(): AbortSignal {
  const interrupt = createInterrupt({
    force() {
      write(Deno.stderr, "upbit-trader: forced exit (second Ctrl-C)\n");
      Deno.exit(130);
    },
  });
  Deno.addSignalListener("SIGINT", () => interrupt.receive("SIGINT", performance.now()));
  if (Deno.build.os !== "windows") {
    Deno.addSignalListener("SIGTERM", () => interrupt.receive("SIGTERM", performance.now()));
  }
  return interrupt.signal;
}

/** The demo serves its page here unless told otherwise (any free port when this one is taken). */
const DEMO_HTTP_PORT = 8080;

/**
 * The surfaces of a trading run: the one HTTP server (the status page, and Telegram's webhook at
 * `POST /telegram/webhook` on the same server) and Telegram (webhook or long polling). Paper and
 * live serve the page only with `HTTP_PORT` (and then need `WEB_PASSWORD`); the demo serves it by
 * default and makes a password. More workers (notifications, crons) start in `startSurfaces`.
 */
function botSurfaces(mode: TradingMode): SurfaceFactory {
  return (config, env) => {
    const demoDefault = mode === "demo" && config.http.port === undefined;
    const web = parseWebEnv(env, {
      port: demoDefault ? DEMO_HTTP_PORT : config.http.port,
      hostname: config.http.host,
      hostLabel: config.http.labels.host,
      ...(mode === "demo" ? { generatePassword } : {}),
    });
    if (!web.ok) return web;
    const telegram = parseTelegramEnv(env);
    if (!telegram.ok) return telegram;
    if (telegram.value?.mode === "webhook" && web.value === null) {
      return err(
        `${config.http.labels.port}: must be set for the Telegram webhook (it is served on the ` +
          "bot's HTTP server), or set TELEGRAM_MODE=polling",
      );
    }
    const secrets = [
      ...web.value === null || web.value.passwordGenerated ? [] : [web.value.password.reveal()],
      ...web.value?.metricsToken === undefined ? [] : [web.value.metricsToken.reveal()],
      ...telegram.value === null ? [] : [telegram.value.bot.token.reveal()],
      ...telegram.value?.webhookSecret === undefined ? [] : [telegram.value.webhookSecret.reveal()],
    ];
    const plan: SurfacePlan = {
      secrets,
      start: (ctx, add) =>
        startSurfaces(ctx, add, {
          web: web.value,
          telegram: telegram.value,
          anyPortIfTaken: demoDefault,
        }),
    };
    return ok(plan);
  };
}

/** Starts the run's surfaces (see `botSurfaces`); each started piece goes to `add` at once. */
async function startSurfaces(
  ctx: SurfaceContext,
  add: (worker: Worker) => void,
  settings: {
    readonly web: WebSettings | null;
    readonly telegram: TelegramSettings | null;
    /** The demo's default port: when it is taken, any free one. */
    readonly anyPortIfTaken: boolean;
  },
): Promise<void> {
  const { logger, config } = ctx;
  add(startDailySurface(ctx, new KvStore(ctx.kv)));
  const tg = settings.telegram;
  const telegram = tg === null ? undefined : createTelegramBot({
    operator: ctx.operator,
    chats: new KvChatStore(ctx.kv),
    clock: ctx.wallClock,
    dataClock: ctx.clock,
    log: logger,
    logs: withoutDemoPassword(ctx.recentLogs, settings.web),
  }, tg.bot);
  if (telegram !== undefined) {
    // The one command worker: it runs what the webhook or the poll recorded (and what a previous
    // process left); added before the server and the poller, so it closes after them.
    add(telegram.startWorker());
  }
  if (telegram !== undefined && tg !== null) {
    // The notification outbox: the journal to the owner's chat, in the background.
    const outbox = startOutbox({
      journal: ctx.events,
      cursor: new KvChatStore(ctx.kv),
      api: telegram.bot.api,
      clock: ctx.clock,
      sleepClock: ctx.wallClock,
      log: logger,
    }, {
      chatId: tg.bot.ownerId,
      ...(tg.bot.language === undefined ? {} : { language: tg.bot.language }),
      notify: tg.notify,
    });
    add({ name: "telegram notifications", close: () => outbox.close() });
    ctx.telemetry?.watchOutbox({ stats: () => outbox.stats(), journal: ctx.events });
  }
  if (settings.web !== null) {
    const web = settings.web;
    if (web.warning !== null) logger.warn(`${config.mode}: ${web.warning}`);
    const assets = await loadStaticAssets(new URL("./static/", import.meta.url));
    const webhook = telegram === undefined || tg?.mode !== "webhook"
      ? undefined
      : createTelegramRoutes(telegram, { secretToken: tg.webhookSecret, log: logger });
    const server = await listen(web, config.http, {
      anyPortIfTaken: settings.anyPortIfTaken,
      build: (origin, closing): Fetcher => {
        const page = createWebApp({
          operator: ctx.operator,
          events: ctx.events,
          sessions: new KvSessionStore(ctx.kv),
          clock: ctx.clock,
          password: web.password,
          ...(web.metricsToken === undefined ? {} : { metricsToken: web.metricsToken }),
          ...(ctx.telemetry === undefined ? {} : { metrics: ctx.telemetry }),
          origin,
          assets,
          log: logger,
          closing,
          // The demo's clock runs `speed` times faster: a session still lasts 12 real hours.
          ...(config.mode === "demo" ? { sessionTtlMs: SESSION_TTL_MS * config.speed } : {}),
        });
        if (webhook === undefined) return page;
        return {
          fetch: (request, info) =>
            new URL(request.url).pathname === WEBHOOK_PATH
              ? webhook.fetch(request, info)
              : page.fetch(request, info),
        };
      },
    });
    add({ name: "http", close: () => server.shutdown() });
    logger.info(
      `${config.mode}: status page at ${server.origin}/ ` +
        (web.passwordGenerated
          ? `(password for this run: ${web.password.reveal()}; set WEB_PASSWORD to choose one)`
          : "(sign in with WEB_PASSWORD)"),
      { event: "WebStarted", address: server.address },
    );
    if (telegram !== undefined && webhook !== undefined && tg?.webhookSecret !== undefined) {
      add(registerWebhook(telegram, {
        url: `${server.origin}${WEBHOOK_PATH}`,
        secretToken: tg.webhookSecret,
        log: logger,
      }));
    }
  }
  if (telegram !== undefined && tg?.mode === "polling") {
    add(startPolling(telegram, { log: logger }));
  }
}

/** The log lines `/logs` shows: the demo's generated password, printed once at start, redacted. */
function withoutDemoPassword(
  logs: SurfaceContext["recentLogs"],
  web: WebSettings | null,
): SurfaceContext["recentLogs"] {
  if (web === null || !web.passwordGenerated) return logs;
  const password = web.password.reveal();
  return { recent: (n) => logs.recent(n).map((line) => line.split(password).join("[REDACTED]")) };
}

/** The HTTP server; a taken port or a refused address is one line naming the setting. */
async function listen(
  web: WebSettings,
  http: HttpConfig,
  options: {
    readonly anyPortIfTaken: boolean;
    readonly build: (origin: string, closing: AbortSignal) => Fetcher;
  },
): Promise<WebServer> {
  const start = (port: number) =>
    startWebServer({ hostname: web.hostname, port, origin: web.origin, build: options.build });
  try {
    return await start(web.port);
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) {
      if (options.anyPortIfTaken) return await start(0);
      throw new ConfigError(
        `${http.labels.port}: port ${web.port} on ${web.hostname} is in use (pick another, ` +
          "or 0 for any free port)",
      );
    }
    if (error instanceof Deno.errors.PermissionDenied) {
      throw new ConfigError(
        `${http.labels.host}: not allowed to listen on ${web.hostname}:${web.port} ` +
          "(the task's --allow-net)",
      );
    }
    if (error instanceof Deno.errors.AddrNotAvailable) {
      throw new ConfigError(
        `${http.labels.host}: ${web.hostname} is not an address of this machine`,
      );
    }
    throw error;
  }
}

const encoder = new TextEncoder();

function write(stream: { writeSync(p: Uint8Array): number }, text: string): void {
  const bytes = encoder.encode(text);
  let offset = 0;
  while (offset < bytes.length) offset += stream.writeSync(bytes.subarray(offset));
}

/** The process's output, as every command takes it. */
const OUTPUT = {
  stdout: (text: string) => write(Deno.stdout, text),
  stderr: (text: string) => write(Deno.stderr, text),
};

/** What the commands over candle history (backtest, sweep, walkforward) take alike. */
function historyIo() {
  return {
    ...OUTPUT,
    isTerminal: Deno.stderr.isTerminal(),
    dataDir: new URL("./data", import.meta.url).pathname,
    cwd: userCwd(),
    nowMs: () => performance.now(),
  };
}

async function main(args: string[]): Promise<number> {
  const [mode, ...rest] = args;
  switch (mode) {
    case "backtest":
      return await runBacktestCommand(rest, historyIo());
    case "compare":
      return await runCompareCommand(rest, {
        stdout: (text) => write(Deno.stdout, text),
        stderr: (text) => write(Deno.stderr, text),
        env: readEnv({ dotEnv: true }),
        cwd: userCwd(),
        openStore: async (path) => {
          const kv = await Deno.openKv(path);
          return { store: new KvStore(kv), close: () => kv.close() };
        },
      });
    case "sweep":
    case "walkforward":
      return await (mode === "sweep" ? runSweepCommand : runWalkForwardCommand)(rest, {
        ...historyIo(),
        cores: navigator.hardwareConcurrency,
        loadCandles: loadCandleFile,
      });
    case "paper":
    case "live":
    case "demo":
      return await runTradingCommand(mode, rest, {
        ...OUTPUT,
        isTerminal: Deno.stdout.isTerminal(),
        env: readEnv({ dotEnv: mode !== "demo" }),
        userCwd: userCwd(),
        interrupt: interruptSignal(),
        pid: Deno.pid,
        cwd: Deno.cwd(),
        surfaces: botSurfaces(mode),
      }, trader);
    case "ctl":
      return await runCtlCommand(rest, {
        ...OUTPUT,
        env: readEnv({ dotEnv: true }),
        cwd: userCwd(),
      });
    case "backup":
    case "restore":
      return await (mode === "backup" ? runBackupCommand : runRestoreCommand)(rest, {
        ...OUTPUT,
        env: readEnv({ dotEnv: true }),
        cwd: userCwd(),
        nowMs: () => Date.now(),
        backups: { take: backupStoreFile, restore: restoreStoreFile },
      });
    case "preflight":
      return await runPreflightCommand(rest, {
        ...OUTPUT,
        env: readEnv({ dotEnv: true }),
        userCwd: userCwd(),
        cwd: Deno.cwd(),
        nowMs: () => Date.now(),
        probes: createPreflightProbes,
      });
    case "--help":
    case "-h":
    case "help":
      write(Deno.stdout, USAGE);
      return 0;
    default:
      write(
        Deno.stderr,
        `upbit-trader: ${
          mode === undefined ? "missing mode" : `unknown mode "${clip(mode)}"`
        }: expected backtest, sweep, walkforward, compare, demo, paper, live, ctl, backup, restore or preflight (see --help)\n`,
      );
      return 2;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
