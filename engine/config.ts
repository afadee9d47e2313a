/**
 * The bot's configuration: ONE zod schema over the environment (including an optional `.env`
 * loaded by `deno run --env-file`) and the command-line flags; a flag wins over its variable.
 *
 * `deno run --env-file` only warns when the file is missing, so every value is checked here and
 * a bad or missing one fails at start with one line naming the field (as the user wrote it: the
 * flag or the variable) and the reason. Secret values are wrapped in `Secret` at once and never
 * appear in a message, not even as "got …".
 *
 * Only `main.ts` reads `Deno.env`; it passes the variables in, so this module does no I/O.
 */

import { isAbsolute, join } from "node:path";
import { z } from "zod";
import { type Timeframe, TIMEFRAME_MS } from "./core/candle.ts";
import { DEFAULT_RISK_RULES, type RiskRules } from "./core/risk.ts";
import { type PortfolioRules, SIZING_MODES, type SizingMode } from "./core/portfolio.ts";
import {
  DEFAULT_STRATEGY,
  FILTER_PARAMS,
  FILTERS_SCHEMA,
  STRATEGIES,
  type StrategyId,
} from "./core/strategies/mod.ts";
import { err, ok, type Result } from "./core/result.ts";
import {
  dayStartOfDate,
  DEFAULT_REPORT_TIME,
  parseReportTime,
  type ReportTime,
} from "./core/daily.ts";
import { clip, parseFlags } from "./flags.ts";
import { Secret } from "./secret.ts";
import { isRiskParam, type RiskParam, STRATEGY_PARAMS } from "./core/params.ts";

/** The modes that trade (`ctl` has its own small config, `ctlConfig`). */
export type TradingMode = "paper" | "live" | "demo";

/** How log lines look: one JSON object per line, or pretty text (`auto`: pretty on a TTY). */
export type LogFormat = "json" | "pretty" | "auto";

/** Upbit's public REST base URL. */
export const DEFAULT_REST_URL = "https://api.upbit.com";
/** Upbit's public WebSocket URL. */
export const DEFAULT_WS_URL = "wss://api.upbit.com/websocket/v1";
/** Where the bot keeps its state. */
export const DEFAULT_KV_PATH = "./data/bot.kv";
/** The live capital cap when none is given: the design's canary amount. */
export const DEFAULT_LIVE_CAPITAL_KRW = 100_000;
/** Paper and demo capital when none is given. */
export const DEFAULT_PAPER_CAPITAL_KRW = 1_000_000;
/** The highest live capital accepted unless `LIVE_CAPITAL_LIMIT_KRW` raises it. */
export const DEFAULT_LIVE_CAPITAL_LIMIT_KRW = 1_000_000;

/** The fastest demo replay the bot keeps up with (sandbox seconds per real second). */
export const MAX_DEMO_SPEED = 1_000;

/** Every variable the bot reads (the `--allow-env` list of the tasks). */
export const ENV_VARS = [
  "UPBIT_ACCESS_KEY",
  "UPBIT_SECRET_KEY",
  "UPBIT_REST_URL",
  "UPBIT_WS_URL",
  "DENO_KV_PATH",
  // Another name for DENO_KV_PATH (Deno Deploy's KV Connect docs use it): see withKvUrlAlias.
  "DENO_KV_URL",
  // Deno.openKv reads the remote store's token itself; the bot reads it only to redact it.
  "DENO_KV_ACCESS_TOKEN",
  "MARKETS",
  "TIMEFRAME",
  "STRATEGY",
  "STRATEGY_PARAMS",
  "STOP_LOSS_PCT",
  "TAKE_PROFIT_PCT",
  "MAX_DAILY_LOSS_PCT",
  "TRAILING_STOP_PCT",
  "COOLDOWN_HOURS",
  "FEE_PCT",
  "BUDGET_PCT",
  "CAPITAL_KRW",
  "LIVE_CAPITAL_LIMIT_KRW",
  "SIZING",
  "SIZING_VALUE",
  "MAX_OPEN_POSITIONS",
  "MAX_MARKET_SHARE_PCT",
  "ACCOUNT_DAILY_LOSS_PCT",
  "BLOCK_CAUTION",
  "ATR_STOP_MULTIPLE",
  "STALE_AFTER_SECONDS",
  "BOT_ID",
  "LOG_FORMAT",
  "UPBIT_TRADER_REAL_MONEY",
  // The bot's one HTTP server (the status page and the Telegram webhook).
  "HTTP_PORT",
  "HTTP_HOST",
  "WEB_PASSWORD",
  "WEB_ORIGIN",
  "WEB_METRICS_TOKEN",
  // Telegram (engine/telegram/settings.ts reads them).
  "TELEGRAM_BOT_TOKEN",
  "TELEGRAM_OWNER_ID",
  "TELEGRAM_VIEWER_IDS",
  "TELEGRAM_MODE",
  "TELEGRAM_WEBHOOK_SECRET",
  "TELEGRAM_API_ROOT",
  "TELEGRAM_LANGUAGE",
  "TELEGRAM_NOTIFY",
  // The daily report's time, KST (HH:MM).
  "REPORT_TIME",
] as const;

/** A variable name the bot reads. */
export type EnvVar = typeof ENV_VARS[number];

/** The validated configuration of a trading mode. */
export interface BotConfig {
  readonly mode: TradingMode;
  /** Both keys, or neither (paper and demo ignore them). */
  readonly keys: { readonly accessKey: Secret; readonly secretKey: Secret } | undefined;
  readonly restUrl: string;
  readonly wsUrl: string;
  readonly kvPath: string;
  readonly markets: readonly string[];
  readonly timeframe: Timeframe;
  readonly strategy: StrategyId;
  readonly strategyParams: Readonly<Record<string, number>>;
  readonly rules: RiskRules;
  readonly feeBps: number;
  readonly budgetPct: number;
  /** The cap on what the ACCOUNT commits over all markets. */
  readonly capitalKrw: number;
  readonly liveCapitalLimitKrw: number;
  /** The account's rules besides the cap (sizing, limits, flags). */
  readonly portfolio: Omit<PortfolioRules, "capitalKrw">;
  /** Risk sizing's ATR stop multiple (0 = off). */
  readonly atrStopMultiple: number;
  readonly staleAfterMs: number;
  /** The daily report's time of day, KST (default 09:00: the Upbit day's end). */
  readonly reportTime: ReportTime;
  readonly botId: string;
  readonly logFormat: LogFormat;
  readonly realMoney: boolean;
  /** Demo only: sandbox seconds per real second. */
  readonly speed: number;
  /** Demo only: stop after this many real minutes (undefined: until Ctrl-C). */
  readonly minutes: number | undefined;
  /** Demo only: the replay seed. */
  readonly seed: number;
  /** Demo only: replay seeded minute paths under daily candles instead of real 1-minute data. */
  readonly synthetic: boolean;
  readonly help: boolean;
  /** Live: what a new store does with coins the account already holds (default refuse). */
  readonly holdings: HoldingsPolicy;
  /** How the user named the store path and the markets (`--kv` or `DENO_KV_PATH`), for errors. */
  readonly labels: { readonly kvPath: string; readonly markets: string };
  /** The bot's one HTTP server (status page, Telegram webhook). */
  readonly http: HttpConfig;
}

/** Where the bot's HTTP server listens (`HTTP_PORT` / `--http-port`, `HTTP_HOST` / `--http-host`). */
export interface HttpConfig {
  /** Undefined: not set (paper and live serve nothing; the demo picks its default). */
  readonly port: number | undefined;
  /** The address to bind (default 127.0.0.1). */
  readonly host: string;
  /** How the user named them, for errors. */
  readonly labels: { readonly port: string; readonly host: string };
}

/** `--adopt` (take them over as positions), `--ignore-holdings` (leave them), or refuse. */
export type HoldingsPolicy = "refuse" | "adopt" | "ignore";

/** Where one setting comes from: its variable and/or its flag. */
interface Field {
  readonly env?: EnvVar;
  readonly flag?: string;
  readonly boolean?: boolean;
  readonly secret?: boolean;
}

const FIELDS = {
  accessKey: { env: "UPBIT_ACCESS_KEY", secret: true },
  secretKey: { env: "UPBIT_SECRET_KEY", secret: true },
  restUrl: { env: "UPBIT_REST_URL", flag: "rest-url" },
  wsUrl: { env: "UPBIT_WS_URL", flag: "ws-url" },
  kvPath: { env: "DENO_KV_PATH", flag: "kv" },
  markets: { env: "MARKETS", flag: "market" },
  timeframe: { env: "TIMEFRAME", flag: "timeframe" },
  strategy: { env: "STRATEGY", flag: "strategy" },
  strategyParams: { env: "STRATEGY_PARAMS" },
  stopLoss: { env: "STOP_LOSS_PCT", flag: "stop-loss" },
  takeProfit: { env: "TAKE_PROFIT_PCT", flag: "take-profit" },
  maxDailyLoss: { env: "MAX_DAILY_LOSS_PCT", flag: "max-daily-loss" },
  trailingStop: { env: "TRAILING_STOP_PCT", flag: "trailing-stop" },
  cooldownHours: { env: "COOLDOWN_HOURS", flag: "cooldown-hours" },
  fee: { env: "FEE_PCT", flag: "fee" },
  budget: { env: "BUDGET_PCT", flag: "budget" },
  capital: { env: "CAPITAL_KRW", flag: "capital" },
  liveCapitalLimit: { env: "LIVE_CAPITAL_LIMIT_KRW" },
  sizing: { env: "SIZING", flag: "sizing" },
  sizingValue: { env: "SIZING_VALUE", flag: "sizing-value" },
  maxOpenPositions: { env: "MAX_OPEN_POSITIONS", flag: "max-positions" },
  maxMarketShare: { env: "MAX_MARKET_SHARE_PCT", flag: "max-market-share" },
  accountDailyLoss: { env: "ACCOUNT_DAILY_LOSS_PCT", flag: "account-daily-loss" },
  blockCaution: { env: "BLOCK_CAUTION", flag: "block-caution", boolean: true },
  atrStop: { env: "ATR_STOP_MULTIPLE", flag: "atr-stop" },
  staleAfter: { env: "STALE_AFTER_SECONDS", flag: "stale-after" },
  reportTime: { env: "REPORT_TIME", flag: "report-time" },
  botId: { env: "BOT_ID", flag: "bot-id" },
  logFormat: { env: "LOG_FORMAT", flag: "log-format" },
  realMoney: { env: "UPBIT_TRADER_REAL_MONEY", flag: "i-understand-real-money", boolean: true },
  httpPort: { env: "HTTP_PORT", flag: "http-port" },
  httpHost: { env: "HTTP_HOST", flag: "http-host" },
  speed: { flag: "speed" },
  minutes: { flag: "minutes" },
  seed: { flag: "seed" },
  synthetic: { flag: "synthetic", boolean: true },
  help: { flag: "help", boolean: true },
  adopt: { flag: "adopt", boolean: true },
  ignoreHoldings: { flag: "ignore-holdings", boolean: true },
} as const satisfies Record<string, Field>;

type FieldName = keyof typeof FIELDS;

/** Flags that set one strategy parameter (as in `deno task backtest`). */
const PARAM_FLAGS: Readonly<Record<StrategyId, readonly string[]>> = {
  bb: ["period", "std"],
  rsi: ["period", "oversold", "overbought"],
  macd: ["fast", "slow", "signal"],
};
const ALL_PARAM_FLAGS = [...new Set(Object.values(PARAM_FLAGS).flat()), ...FILTER_PARAMS];

/** Whether `name` is a parameter of `strategy` or an entry filter (every strategy takes those). */
function takesParam(strategy: StrategyId, name: string): boolean {
  return PARAM_FLAGS[strategy].includes(name) ||
    (FILTER_PARAMS as readonly string[]).includes(name);
}

function number(options: { min: number; max: number; int?: boolean }): z.ZodType<number, string> {
  return z.string().trim().regex(/^-?\d+(\.\d+)?$/, "expected a number").transform(Number).pipe(
    (options.int ? z.number().int("expected a whole number") : z.number())
      .min(options.min, `must be >= ${options.min}`)
      .max(options.max, `must be <= ${options.max}`),
  ) as unknown as z.ZodType<number, string>;
}

const MARKET = /^KRW-[A-Z0-9]{1,15}$/;

function httpUrl(schemes: readonly string[]): z.ZodType<string, string> {
  return z.string().trim().refine((s) => {
    try {
      const url = new URL(s);
      return schemes.includes(url.protocol) && url.username === "" && url.password === "";
    } catch {
      return false;
    }
  }, `expected a ${schemes.map((s) => s.replace(":", "")).join(" or ")} URL without credentials`)
    .transform((s) => s.replace(/\/+$/, "")) as unknown as z.ZodType<string, string>;
}

/** `true` for yes/true/1 (the real-money switch must be explicit). */
const YES = z.string().trim().toLowerCase().refine(
  (s) => ["yes", "true", "1", "no", "false", "0", ""].includes(s),
  "expected yes or no",
).transform((s) => ["yes", "true", "1"].includes(s));

const SCHEMA = z.object({
  accessKey: z.string().trim().min(1, "must not be empty").optional(),
  secretKey: z.string().trim().min(1, "must not be empty").optional(),
  restUrl: httpUrl(["http:", "https:"]).default(DEFAULT_REST_URL),
  wsUrl: httpUrl(["ws:", "wss:"]).default(DEFAULT_WS_URL),
  kvPath: z.string().trim().min(1, "must not be empty").default(DEFAULT_KV_PATH),
  markets: z.string().transform((s) => s.split(",").map((m) => m.trim().toUpperCase()))
    .pipe(
      z.array(z.string().regex(MARKET, "expected KRW markets like KRW-BTC,KRW-ETH")).min(1)
        .max(10, "at most 10 markets").refine(
          (list) => new Set(list).size === list.length,
          "a market is listed twice",
        ),
    ).default(["KRW-BTC"]),
  timeframe: z.enum(Object.keys(TIMEFRAME_MS) as [Timeframe, ...Timeframe[]], {
    error: `expected one of ${Object.keys(TIMEFRAME_MS).join(", ")}`,
  }).optional(),
  strategy: z.enum(Object.keys(STRATEGIES) as [StrategyId, ...StrategyId[]], {
    error: `expected one of ${Object.keys(STRATEGIES).join(", ")}`,
  }).default(DEFAULT_STRATEGY),
  strategyParams: z.string().regex(
    /^\s*([a-z-]+\s*=\s*-?\d+(\.\d+)?\s*)(,\s*[a-z-]+\s*=\s*-?\d+(\.\d+)?\s*)*$/,
    "expected name=value pairs like period=20,std=2.5",
  ).optional(),
  stopLoss: number({ min: 0, max: 99 }).default(DEFAULT_RISK_RULES.stopLossPct),
  takeProfit: number({ min: 0, max: 10_000 }).default(DEFAULT_RISK_RULES.takeProfitPct),
  maxDailyLoss: number({ min: 0, max: 100 }).default(DEFAULT_RISK_RULES.maxDailyLossPct),
  trailingStop: number({ min: 0, max: 99 }).default(DEFAULT_RISK_RULES.trailingStopPct),
  cooldownHours: number({ min: 0, max: 24 * 365 }).default(0),
  fee: number({ min: 0, max: 5 }).default(0.05),
  budget: number({ min: 1, max: 100 }).default(100),
  capital: number({ min: 5_000, max: 1e13, int: true }).optional(),
  liveCapitalLimit: number({ min: 5_000, max: 1e13, int: true }).default(
    DEFAULT_LIVE_CAPITAL_LIMIT_KRW,
  ),
  sizing: z.enum(SIZING_MODES as [SizingMode, ...SizingMode[]], {
    error: `expected one of ${SIZING_MODES.join(", ")}`,
  }).default("all"),
  sizingValue: number({ min: 0.01, max: 1e13 }).optional(),
  maxOpenPositions: number({ min: 0, max: 10, int: true }).default(0),
  maxMarketShare: number({ min: 1, max: 100 }).default(100),
  accountDailyLoss: number({ min: 0, max: 100 }).default(10),
  blockCaution: z.union([z.boolean(), YES], { error: "expected yes or no" }).default(false),
  atrStop: number({ min: 0, max: 100 }).default(0),
  staleAfter: number({ min: 1, max: 86_400 }).default(120),
  reportTime: z.string().transform((text, ctx) => {
    const parsed = parseReportTime(text);
    if (parsed.ok) return parsed.value;
    ctx.addIssue({ code: "custom", message: parsed.error });
    return z.NEVER;
  }).optional(),
  botId: z.string().trim().regex(/^[a-z0-9][a-z0-9-]{0,15}$/, "expected 1-16 of a-z, 0-9, -")
    .default("bot"),
  logFormat: z.enum(["json", "pretty", "auto"], { error: "expected json, pretty or auto" })
    .default("auto"),
  realMoney: z.union([z.boolean(), YES], { error: "expected yes or no" }).default(false),
  httpPort: z.string().trim().regex(/^\d{1,5}$/, "expected a port number 0-65535")
    .transform(Number).refine((n) => n <= 65_535, "expected a port number 0-65535").optional(),
  httpHost: z.string().trim().regex(
    /^[A-Za-z0-9.:-]{1,253}$/,
    "expected an address such as 127.0.0.1",
  ).default("127.0.0.1"),
  // Faster replays outrun the bot on a shared CPU: its market data goes stale, and at 100000x the
  // replay starves the event loop (Ctrl-C and --minutes are not honoured).
  speed: number({ min: 1, max: MAX_DEMO_SPEED }).default(60),
  minutes: number({ min: 0.01, max: 1e6 }).optional(),
  seed: number({ min: 0, max: 2 ** 31, int: true }).default(1),
  synthetic: z.boolean().default(false),
  help: z.boolean().default(false),
  adopt: z.boolean().default(false),
  ignoreHoldings: z.boolean().default(false),
});

/** The start-up field whose schema checks each run-time risk parameter (`ctl set`). */
const RUNTIME_FIELDS: Readonly<Record<RiskParam, FieldName>> = {
  "stop-loss": "stopLoss",
  "take-profit": "takeProfit",
  "max-daily-loss": "maxDailyLoss",
  "trailing-stop": "trailingStop",
  "cooldown-hours": "cooldownHours",
  budget: "budget",
  "stale-after": "staleAfter",
};

/**
 * Validates a run-time parameter change (`ctl set <name> <text>`) with the SAME schema as the
 * start-up config: a risk parameter with its field's schema, a strategy parameter with the
 * strategy's own schema over all its parameters (`current` with the change). The error is one
 * line naming the parameter and the reason.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const bad = parseRuntimeParam("stop-loss", "150", { strategy: "bb", strategyParams: {} });
 * assert.equal(!bad.ok && bad.error, "stop-loss: must be <= 99");
 * ```
 */
export function parseRuntimeParam(
  name: string,
  text: string,
  current: { readonly strategy: string; readonly strategyParams: Readonly<Record<string, number>> },
): Result<number, string> {
  if (isRiskParam(name)) {
    const schema = SCHEMA.shape[RUNTIME_FIELDS[name]];
    const parsed = schema.safeParse(text);
    if (!parsed.success) return err(`${name}: ${parsed.error.issues[0]!.message}`);
    return ok(parsed.data as number);
  }
  if (!(STRATEGY_PARAMS as readonly string[]).includes(name)) {
    return err(
      `${name.slice(0, 40)}: not a run-time parameter (one of ${
        [...Object.keys(RUNTIME_FIELDS), ...STRATEGY_PARAMS].join(", ")
      })`,
    );
  }
  const strategy = current.strategy as StrategyId;
  if (!(strategy in STRATEGIES)) return err(`${name}: unknown strategy ${current.strategy}`);
  if (!takesParam(strategy, name)) {
    return err(
      `${name}: not a parameter of strategy ${strategy} (it takes ${
        PARAM_FLAGS[strategy].join(", ")
      })`,
    );
  }
  const value = Number(text);
  if (text.trim() === "" || !/^-?\d+(\.\d+)?$/.test(text.trim()) || !Number.isFinite(value)) {
    return err(`${name}: expected a number`);
  }
  const isFilter = (FILTER_PARAMS as readonly string[]).includes(name);
  const checked = (isFilter ? FILTERS_SCHEMA : STRATEGIES[strategy].params).safeParse(
    isFilter ? { [name]: value } : { ...current.strategyParams, [name]: value },
  );
  if (!checked.success) {
    const issue = checked.error.issues[0]!;
    return err(`${String(issue.path[0] ?? name)}: ${issue.message}`);
  }
  return ok(value);
}

/** The raw inputs: the process's variables and the arguments after the mode. */
export interface ConfigInput {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly args: readonly string[];
  /** The user's working folder: a relative `--kv` starts there (variables keep theirs). */
  readonly cwd?: string;
}

/** Flags a mode accepts besides the shared ones. */
const MODE_FLAGS: Readonly<Record<TradingMode, readonly FieldName[]>> = {
  paper: [],
  live: ["realMoney", "adopt", "ignoreHoldings"],
  demo: ["speed", "minutes", "seed", "synthetic"],
};

/**
 * Parses the configuration of `mode`. The error is one line: the field as the user wrote it and
 * the reason, e.g. `CAPITAL_KRW: must be >= 5000` or `--timeframe: expected one of 1m, …`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const bad = parseConfig("paper", { env: { CAPITAL_KRW: "12" }, args: [] });
 * assert.equal(bad.ok, false);
 * assert.equal(!bad.ok && bad.error, "CAPITAL_KRW: must be >= 5000");
 * ```
 */
export function parseConfig(mode: TradingMode, input: ConfigInput): Result<BotConfig, string> {
  const allowed = new Set<FieldName>([
    ...(Object.keys(FIELDS) as FieldName[]).filter((f) =>
      !["realMoney", "speed", "minutes", "seed", "adopt", "ignoreHoldings", "synthetic"].includes(f)
    ),
    ...MODE_FLAGS[mode],
  ]);
  const gathered = gather(input, allowed);
  if (!gathered.ok) return gathered;
  const { raw, source, params } = gathered.value;
  if (mode === "demo") {
    // The demo runs its own sandbox and a throw-away store: the bot's settings do not apply.
    for (const name of ["restUrl", "wsUrl", "accessKey", "secretKey"] as const) {
      if (source.get(name)?.startsWith("--")) {
        return err(`${source.get(name)}: not used by the demo (it runs its own sandbox)`);
      }
      delete raw[name];
    }
    if (!source.get("kvPath")?.startsWith("--")) delete raw.kvPath;
  }
  const parsed = SCHEMA.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = issue.path[0] as FieldName;
    return err(`${label(name, source)}: ${issue.message}`);
  }
  const v = parsed.data;
  if ((v.accessKey === undefined) !== (v.secretKey === undefined)) {
    const missing = v.accessKey === undefined ? "UPBIT_ACCESS_KEY" : "UPBIT_SECRET_KEY";
    return err(`${missing}: missing (set both UPBIT_ACCESS_KEY and UPBIT_SECRET_KEY, or neither)`);
  }
  if (v.adopt && v.ignoreHoldings) {
    return err("--adopt, --ignore-holdings: pick one");
  }
  const strategyParams = parseStrategyParams(v.strategy, params, source);
  if (!strategyParams.ok) return strategyParams;
  const capitalKrw = v.capital ??
    (mode === "live" ? DEFAULT_LIVE_CAPITAL_KRW : DEFAULT_PAPER_CAPITAL_KRW);
  const sizingValue = sizingValueOf(v.sizing, { value: v.sizingValue, budgetPct: v.budget });
  if (!sizingValue.ok) return err(`${label("sizingValue", source)}: ${sizingValue.error}`);
  const config: BotConfig = {
    mode,
    keys: v.accessKey === undefined || v.secretKey === undefined
      ? undefined
      : { accessKey: new Secret(v.accessKey), secretKey: new Secret(v.secretKey) },
    restUrl: v.restUrl,
    wsUrl: v.wsUrl,
    kvPath: mode === "demo" && v.kvPath === DEFAULT_KV_PATH
      ? "./data/demo.kv"
      : fromFolder(v.kvPath, source.get("kvPath") === "--kv" ? input.cwd : undefined),
    markets: v.markets,
    // The demo's 5m BB trades ~1.5 round trips per replayed day of real 1m data (not churn).
    timeframe: v.timeframe ?? (mode === "demo" ? "5m" : "1h"),
    strategy: v.strategy,
    strategyParams: strategyParams.value,
    rules: {
      stopLossPct: v.stopLoss,
      takeProfitPct: v.takeProfit,
      maxDailyLossPct: v.maxDailyLoss,
      trailingStopPct: v.trailingStop,
      cooldownMs: Math.round(v.cooldownHours * 3_600_000),
    },
    feeBps: v.fee * 100,
    budgetPct: v.budget,
    capitalKrw,
    liveCapitalLimitKrw: v.liveCapitalLimit,
    portfolio: {
      maxOpenPositions: v.maxOpenPositions,
      maxMarketSharePct: v.maxMarketShare,
      accountDailyLossPct: v.accountDailyLoss,
      sizing: { mode: v.sizing, value: sizingValue.value },
      blockCaution: v.blockCaution,
    },
    atrStopMultiple: v.atrStop,
    staleAfterMs: v.staleAfter * 1000,
    reportTime: v.reportTime ?? DEFAULT_REPORT_TIME,
    botId: v.botId,
    logFormat: v.logFormat,
    realMoney: v.realMoney,
    speed: v.speed,
    minutes: v.minutes,
    seed: v.seed,
    synthetic: v.synthetic,
    help: v.help,
    holdings: v.adopt ? "adopt" : v.ignoreHoldings ? "ignore" : "refuse",
    labels: { kvPath: label("kvPath", source), markets: label("markets", source) },
    http: {
      port: v.httpPort,
      host: v.httpHost,
      labels: { port: label("httpPort", source), host: label("httpHost", source) },
    },
  };
  if (mode === "live" && !config.help) {
    const refusal = liveRefusal(config, source);
    if (refusal !== undefined) return err(refusal);
  }
  return ok(config);
}

/**
 * The sizing value of `mode`: `all` takes `BUDGET_PCT` unless given; the others need one (a
 * percentage at most 100, or at least the 5,000 KRW minimum for `fixed`).
 */
function sizingValueOf(
  mode: SizingMode,
  options: { readonly value: number | undefined; readonly budgetPct: number },
): Result<number, string> {
  const { value } = options;
  if (value === undefined) {
    return mode === "all" ? ok(options.budgetPct) : err(`required with SIZING=${mode}`);
  }
  if (mode === "fixed") return value >= 5_000 ? ok(value) : err("must be >= 5000 (KRW)");
  return value <= 100 ? ok(value) : err(`must be <= 100 (% with SIZING=${mode})`);
}

/**
 * Why live mode must not start, or undefined: real orders need keys, the explicit real-money
 * switch, a persistent store and a capital cap within the limit.
 */
function liveRefusal(config: BotConfig, source: ReadonlyMap<string, string>): string | undefined {
  if (config.keys === undefined) {
    return "UPBIT_ACCESS_KEY: missing: live mode needs UPBIT_ACCESS_KEY and UPBIT_SECRET_KEY " +
      "(in the environment or .env)";
  }
  if (!config.realMoney) {
    return "--i-understand-real-money: missing: live mode places real orders; pass the flag " +
      "(or set UPBIT_TRADER_REAL_MONEY=yes)";
  }
  if (config.kvPath === ":memory:") {
    return `${label("kvPath", source)}: live mode needs a persistent store, not :memory:`;
  }
  if (config.capitalKrw > config.liveCapitalLimitKrw) {
    return `${label("capital", source)}: ${config.capitalKrw} KRW is over the live limit of ` +
      `${config.liveCapitalLimitKrw} KRW (raise LIVE_CAPITAL_LIMIT_KRW to allow it)`;
  }
  for (const [name, url] of [["restUrl", config.restUrl], ["wsUrl", config.wsUrl]] as const) {
    const u = new URL(url);
    const local = u.hostname === "127.0.0.1" || u.hostname === "localhost";
    if (!local && (u.protocol === "http:" || u.protocol === "ws:")) {
      return `${label(name, source)}: live mode sends keys only over TLS (https/wss) ` +
        "or to 127.0.0.1";
    }
  }
  return undefined;
}

interface Gathered {
  readonly raw: Record<string, unknown>;
  /** Field → the label the user wrote (`--capital` or `CAPITAL_KRW`). */
  readonly source: Map<string, string>;
  /** Strategy parameters: name → [text, label]. */
  readonly params: Map<string, readonly [string, string]>;
}

/** Collects the raw text of every field: the flag when given, else the variable. */
function gather(input: ConfigInput, allowed: ReadonlySet<FieldName>): Result<Gathered, string> {
  const spec: Record<string, "string" | "boolean"> = {};
  for (const field of Object.values(FIELDS) as Field[]) {
    if (field.flag !== undefined) spec[field.flag] = field.boolean ? "boolean" : "string";
  }
  for (const flag of ALL_PARAM_FLAGS) spec[flag] = "string";
  const flags = parseFlags(input.args, spec, { h: "help" });
  if (!flags.ok) return flags;
  const values = flags.value;
  for (const name of Object.keys(FIELDS) as FieldName[]) {
    const flag: string | undefined = (FIELDS[name] as Field).flag;
    if (flag === undefined || allowed.has(name) || values[flag] === undefined) continue;
    const modes = (Object.keys(MODE_FLAGS) as TradingMode[]).filter((m) =>
      MODE_FLAGS[m].includes(name)
    );
    return err(`--${flag}: not an option of this mode (only of ${modes.join(", ")})`);
  }
  const raw: Record<string, unknown> = {};
  const source = new Map<string, string>();
  for (const name of allowed) {
    const field: Field = FIELDS[name];
    const fromFlag = field.flag === undefined ? undefined : values[field.flag];
    if (fromFlag !== undefined) {
      raw[name] = fromFlag;
      source.set(name, `--${field.flag}`);
      continue;
    }
    const fromEnv = field.env === undefined ? undefined : input.env[field.env];
    // An empty variable (`KEY=` in .env) counts as unset, as most tools treat it.
    if (fromEnv !== undefined && fromEnv !== "") {
      raw[name] = fromEnv;
      source.set(name, name === "kvPath" ? kvEnvName(input.env) : field.env!);
    }
  }
  const params = new Map<string, readonly [string, string]>();
  const envParams = typeof raw.strategyParams === "string" ? raw.strategyParams : undefined;
  if (envParams !== undefined && /^[\s\w=.,-]*$/.test(envParams)) {
    for (const pair of envParams.split(",")) {
      const [k, v] = pair.split("=").map((s) => s.trim());
      if (k !== undefined && k !== "" && v !== undefined) params.set(k, [v, "STRATEGY_PARAMS"]);
    }
  }
  for (const flag of ALL_PARAM_FLAGS) {
    const text = values[flag];
    if (typeof text === "string") params.set(flag, [text, `--${flag}`]);
  }
  return ok({ raw, source, params });
}

function parseStrategyParams(
  strategy: StrategyId,
  params: ReadonlyMap<string, readonly [string, string]>,
  source: ReadonlyMap<string, string>,
): Result<Record<string, number>, string> {
  const out: Record<string, number> = {};
  for (const [name, [text, where]] of params) {
    if (!takesParam(strategy, name)) {
      return err(
        `${where}: ${name} is not a parameter of strategy ${strategy} (it takes ${
          PARAM_FLAGS[strategy].join(", ")
        })`,
      );
    }
    const value = Number(text);
    if (text.trim() === "" || !Number.isFinite(value)) {
      return err(`${where}: ${name} must be a number`);
    }
    out[name] = value;
  }
  const own = Object.entries(out).filter(([k]) =>
    !(FILTER_PARAMS as readonly string[]).includes(k)
  );
  const filters = FILTERS_SCHEMA.safeParse(Object.fromEntries(
    Object.entries(out).filter(([k]) => (FILTER_PARAMS as readonly string[]).includes(k)),
  ));
  const checked = filters.success
    ? STRATEGIES[strategy].params.safeParse(Object.fromEntries(own))
    : filters;
  if (!checked.success) {
    const issue = checked.error.issues[0]!;
    const name = String(issue.path[0] ?? "");
    const where = params.get(name)?.[1] ?? label("strategyParams", source);
    return err(`${where}: ${name} ${issue.message}`);
  }
  return ok(out);
}

/** The name of a field as the user set it, or both its names when it was not set. */
function label(name: FieldName, source: ReadonlyMap<string, string>): string {
  const set = source.get(name);
  if (set !== undefined) return set;
  const field: Field = FIELDS[name];
  if (field.env !== undefined && field.flag !== undefined) return `${field.env} (--${field.flag})`;
  return field.env ?? `--${field.flag}`;
}

/** What `deno task ctl` was asked to do. */
export type CtlCommand =
  | { readonly kind: "pause"; readonly reason: string }
  | { readonly kind: "resume"; readonly clearSafeMode: boolean }
  | { readonly kind: "stop"; readonly sell: boolean }
  | { readonly kind: "sell"; readonly market: string }
  | { readonly kind: "status"; readonly json: boolean }
  | { readonly kind: "set"; readonly name: string; readonly value: string }
  | { readonly kind: "unset"; readonly name: string }
  | { readonly kind: "params"; readonly json: boolean }
  | { readonly kind: "audit"; readonly json: boolean; readonly limit: number }
  | { readonly kind: "report"; readonly json: boolean; readonly date: string | undefined };

/** The configuration of `deno task ctl`. */
export interface CtlConfig {
  readonly command: CtlCommand | undefined;
  readonly kvPath: string;
  /** `--kv`, `DENO_KV_PATH`, or both when neither was set (for errors). */
  readonly kvLabel: string;
  readonly help: boolean;
}

/** Options each ctl command takes. */
const CTL_OPTIONS: Readonly<Record<CtlCommand["kind"], readonly string[]>> = {
  pause: ["reason"],
  resume: ["clear-safe-mode"],
  stop: ["sell"],
  sell: [],
  status: ["json"],
  set: [],
  unset: [],
  params: ["json"],
  audit: ["json", "limit"],
  report: ["json", "date"],
};

/** Parses `ctl <command> [options]`; the error is one line naming the field. */
export function parseCtlConfig(input: ConfigInput): Result<CtlConfig, string> {
  const [verb, ...rest] = input.args;
  const verbs = "pause, resume, stop, sell, status, set, unset, params, audit or report";
  if (verb === undefined) return err(`command: missing: expected ${verbs}`);
  if (verb.startsWith("-") && verb !== "--help" && verb !== "-h") {
    return err(`command: missing: it comes first (expected ${verbs}), got "${clip(verb)}"`);
  }
  // `set <param> <value>` and `unset <param>` take positionals (a value may look like "-1").
  const positionals = verb === "set" ? 2 : verb === "unset" || verb === "sell" ? 1 : 0;
  const given: string[] = [];
  while (given.length < positionals && rest[given.length]?.startsWith("--") === false) {
    given.push(rest[given.length]!);
  }
  const flags = parseFlags(rest.slice(given.length), {
    kv: "string",
    sell: "boolean",
    json: "boolean",
    reason: "string",
    "clear-safe-mode": "boolean",
    limit: "string",
    date: "string",
    help: "boolean",
  }, { h: "help" });
  if (!flags.ok) return flags;
  const values = flags.value;
  if (typeof values.kv === "string" && values.kv.trim() === "") {
    return err("--kv: must not be empty");
  }
  const kvText = values.kv as string | undefined ?? input.env.DENO_KV_PATH;
  const kvPath = kvText === undefined || kvText.trim() === ""
    ? DEFAULT_KV_PATH
    : fromFolder(kvText.trim(), values.kv === undefined ? undefined : input.cwd);
  const kvLabel = values.kv !== undefined
    ? "--kv"
    : kvText !== undefined && kvText.trim() !== ""
    ? kvEnvName(input.env)
    : "DENO_KV_PATH (--kv)";
  if (verb === "--help" || verb === "-h" || values.help === true) {
    return ok({ command: undefined, kvPath, kvLabel, help: true });
  }
  let command: CtlCommand;
  switch (verb) {
    case "pause":
      command = { kind: "pause", reason: (values.reason as string | undefined) ?? "paused by ctl" };
      break;
    case "resume":
      command = { kind: "resume", clearSafeMode: values["clear-safe-mode"] === true };
      break;
    case "stop":
      command = { kind: "stop", sell: values.sell === true };
      break;
    case "sell": {
      const named = given[0]?.trim().toUpperCase();
      if (named === undefined) return err("sell: expected a market, e.g. ctl sell KRW-BTC");
      const market = named.startsWith("KRW-") ? named : `KRW-${named}`;
      if (!/^KRW-[A-Z0-9]{1,15}$/.test(market)) {
        return err(`sell: expected a KRW market like KRW-BTC, got "${clip(given[0]!)}"`);
      }
      command = { kind: "sell", market };
      break;
    }
    case "status":
      command = { kind: "status", json: values.json === true };
      break;
    case "set":
      if (given.length < 2) {
        return err(`set: expected a parameter and a value, e.g. ctl set stop-loss 4`);
      }
      command = { kind: "set", name: given[0]!, value: given[1]! };
      break;
    case "unset":
      if (given.length < 1) return err(`unset: expected a parameter, e.g. ctl unset stop-loss`);
      command = { kind: "unset", name: given[0]! };
      break;
    case "params":
      command = { kind: "params", json: values.json === true };
      break;
    case "audit": {
      const limit = number({ min: 1, max: 1000, int: true }).safeParse(
        (values.limit as string | undefined) ?? "20",
      );
      if (!limit.success) return err(`--limit: ${limit.error.issues[0]!.message}`);
      command = { kind: "audit", json: values.json === true, limit: limit.data };
      break;
    }
    case "report": {
      const date = values.date as string | undefined;
      if (date !== undefined && dayStartOfDate(date.trim()) === undefined) {
        return err(`--date: expected a date YYYY-MM-DD, got "${clip(date)}"`);
      }
      command = { kind: "report", json: values.json === true, date: date?.trim() };
      break;
    }
    default:
      return err(`command: expected ${verbs}: got "${clip(verb)}"`);
  }
  const extra = ["sell", "json", "reason", "clear-safe-mode", "limit"].find((f) =>
    values[f] !== undefined && !CTL_OPTIONS[command.kind].includes(f)
  );
  if (extra !== undefined) return err(`--${extra}: not an option of ctl ${command.kind}`);
  return ok({ command, kvPath, kvLabel, help: false });
}

/**
 * The variables with `DENO_KV_URL` (the name Deno Deploy's KV Connect docs use) taken as
 * `DENO_KV_PATH`; both set to different stores is an error, one line naming both.
 */
export function withKvUrlAlias(
  env: Readonly<Record<string, string | undefined>>,
): Result<Readonly<Record<string, string | undefined>>, string> {
  // An empty variable (`KEY=` in .env) counts as unset, as in every other setting.
  const url = env.DENO_KV_URL?.trim() || undefined;
  if (url === undefined) return ok(env);
  const path = env.DENO_KV_PATH?.trim() || undefined;
  if (path !== undefined && path !== url) {
    return err(
      "DENO_KV_URL and DENO_KV_PATH: both set, to different stores (DENO_KV_URL is another " +
        "name for DENO_KV_PATH): set only one",
    );
  }
  return ok({ ...env, DENO_KV_PATH: url });
}

/** The variable the store path came from, for errors: `DENO_KV_URL` when that one was set. */
export function kvEnvName(env: Readonly<Record<string, string | undefined>>): string {
  return env.DENO_KV_URL?.trim() ? "DENO_KV_URL" : "DENO_KV_PATH";
}

/** A store path taken from `cwd` when relative (not `:memory:` or a remote URL). */
function fromFolder(path: string, cwd: string | undefined): string {
  if (cwd === undefined || path === ":memory:" || /^[a-z]+:\/\//i.test(path) || isAbsolute(path)) {
    return path;
  }
  return join(cwd, path);
}

/** The values of every configured secret, for the log scrubber. */
export function secretValues(config: { readonly keys: BotConfig["keys"] }): string[] {
  return config.keys === undefined
    ? []
    : [config.keys.accessKey.reveal(), config.keys.secretKey.reveal()];
}
