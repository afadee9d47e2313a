/**
 * The `backtest` command line: flags read by `parseFlags` and validated with zod, so a bad
 * flag fails with one line naming the flag and the reason.
 */

import { z } from "zod";
import { type Timeframe, TIMEFRAME_MS } from "../core/candle.ts";
import { DEFAULT_RISK_RULES, type RiskRules } from "../core/risk.ts";
import {
  DEFAULT_STRATEGY,
  FILTER_PARAMS,
  FILTERS_SCHEMA,
  STRATEGIES,
  type StrategyId,
} from "../core/strategies/mod.ts";
import { err, ok, type Result } from "../core/result.ts";
import { got, parseFlags } from "../flags.ts";

/** Everything the backtest command was asked to do. */
export interface BacktestOptions {
  readonly candles?: string;
  /** Undefined when not given: the candle file's name says it, else KRW-BTC. */
  readonly market?: string;
  readonly timeframe: Timeframe;
  readonly strategy: StrategyId;
  readonly strategyParams: Record<string, number>;
  readonly rules: RiskRules;
  readonly feeBps: number;
  readonly slippageBps: number;
  readonly capitalKrw: number;
  readonly fromMs?: number;
  readonly toMs?: number;
  readonly json: boolean;
  readonly html?: string;
  readonly help: boolean;
}

const NUMBER_FLAGS = [
  "period",
  "std",
  "oversold",
  "overbought",
  "fast",
  "slow",
  "signal",
  "trend-days",
  "max-volatility",
  "min-volume",
  "stop-loss",
  "take-profit",
  "max-daily-loss",
  "trailing-stop",
  "cooldown-hours",
  "fee",
  "slippage",
  "capital",
] as const;

const STRATEGY_FLAGS: Record<StrategyId, readonly string[]> = {
  bb: ["period", "std", ...FILTER_PARAMS],
  rsi: ["period", "oversold", "overbought", ...FILTER_PARAMS],
  macd: ["fast", "slow", "signal", ...FILTER_PARAMS],
};

/** A `--from`/`--to` day (YYYY-MM-DD, UTC) as its midnight in ms; an impossible day is refused. */
export const DATE = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "expected YYYY-MM-DD").transform(
  (s, ctx) => {
    const ms = Date.parse(`${s}T00:00:00Z`);
    // V8 rolls 2024-02-30 over to 2024-03-01: a day the month does not have is not a date.
    if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== s) {
      ctx.addIssue({ code: "custom", message: "not a real date" });
      return z.NEVER;
    }
    return ms;
  },
);

/** A number flag in [min, max], its message naming the bound it broke. */
export function range(min: number, max: number): z.ZodNumber {
  return z.number().min(min, `must be >= ${min}`).max(max, `must be <= ${max}`);
}

const SCHEMA = z.object({
  candles: z.string().trim().min(1, "must not be empty").optional(),
  market: z.string().trim().toUpperCase().regex(
    /^KRW-[A-Z0-9]{1,15}$/,
    "expected a KRW market like KRW-BTC",
  ).optional(),
  timeframe: z.enum(Object.keys(TIMEFRAME_MS) as [Timeframe, ...Timeframe[]], {
    error: `expected one of ${Object.keys(TIMEFRAME_MS).join(", ")}`,
  }).default("1d"),
  strategy: z.enum(Object.keys(STRATEGIES) as [StrategyId, ...StrategyId[]], {
    error: `expected one of ${Object.keys(STRATEGIES).join(", ")}`,
  }).default(DEFAULT_STRATEGY),
  "stop-loss": range(0, 99).default(DEFAULT_RISK_RULES.stopLossPct),
  "take-profit": range(0, 10_000).default(DEFAULT_RISK_RULES.takeProfitPct),
  "max-daily-loss": range(0, 100).default(DEFAULT_RISK_RULES.maxDailyLossPct),
  "trailing-stop": range(0, 99).default(DEFAULT_RISK_RULES.trailingStopPct),
  "cooldown-hours": range(0, 24 * 365).default(0),
  fee: range(0, 5).default(0.05),
  slippage: range(0, 10).default(0.05),
  capital: range(5_000, 1e13).default(1_000_000),
  from: DATE.optional(),
  to: DATE.optional(),
  json: z.boolean().default(false),
  html: z.string().trim().min(1, "must not be empty").optional(),
  help: z.boolean().default(false),
});

/** Usage text of `deno task backtest --help`. */
export const BACKTEST_USAGE = `Usage: deno task backtest [options]

Runs a strategy with the risk manager over real Upbit candles and reports the metrics.

  --candles FILE        candle file (.csv or .csv.gz, time_utc,open,high,low,close,volume,value)
                        default: the market's bundled file of the timeframe (else daily)
  --market KRW-BTC      market (default KRW-BTC)
  --timeframe 1d        1m 3m 5m 10m 15m 30m 1h 4h 1d; finer candles are aggregated (default 1d)
  --strategy bb         bb (default), rsi or macd
    bb:   --period 20 --std 2.5
    rsi:  --period 14 --oversold 30 --overbought 70
    macd: --fast 12 --slow 26 --signal 9
  --stop-loss 5         stop loss, % below entry (0 = off)
  --take-profit 10      take profit, % above entry (0 = off)
  --max-daily-loss 10   block entries for the day after losing this % of its starting equity
  --trailing-stop 0     trailing stop, % below the highest price since entry (0 = off)
  --cooldown-hours 0    no entry for this long after a stop loss
  --trend-days 0        enter only above the SMA of this many days' closes (0 = off)
  --max-volatility 0    enter only while σ of the last 20 candles' returns is at most this %
  --min-volume 0        enter only when the signal candle traded at least this many KRW
  --fee 0.05            fee per side, % (Upbit KRW market: 0.05)
  --slippage 0.05       slippage per market order, % against you
  --capital 1000000     starting KRW
  --from DATE --to DATE trade only candles in [from, to] (YYYY-MM-DD, UTC; to inclusive)
  --json                print one JSON object (metrics and trade_list) instead of the report
  --html FILE           also write a self-contained HTML chart report to FILE (a relative
                        FILE goes under ./reports/, which git ignores)
  --help                this text
`;

/** Parses and validates the backtest flags; the error is one line naming the flag. */
export function parseBacktestArgs(args: readonly string[]): Result<BacktestOptions, string> {
  const parsed = parseFlags(args, {
    candles: "string",
    market: "string",
    timeframe: "string",
    strategy: "string",
    from: "string",
    to: "string",
    html: "string",
    json: "boolean",
    help: "boolean",
    ...Object.fromEntries(NUMBER_FLAGS.map((f) => [f, "string" as const])),
  }, { h: "help" });
  if (!parsed.ok) return parsed;
  const raw: Record<string, unknown> = { ...parsed.value };
  for (const flag of NUMBER_FLAGS) {
    const text = raw[flag];
    if (typeof text !== "string") continue;
    const value = Number(text);
    if (text.trim() === "" || !Number.isFinite(value)) {
      return err(`--${flag}: expected a number${got(text)}`);
    }
    raw[flag] = value;
  }
  const result = SCHEMA.safeParse(raw);
  if (!result.success) {
    return err(flagIssue(result.error, parsed.value));
  }
  const v = result.data;
  const strategyParams: Record<string, number> = {};
  for (const [flag, value] of Object.entries(raw)) {
    if (!(NUMBER_FLAGS as readonly string[]).includes(flag) || !STRATEGY_FLAGS_ALL.has(flag)) {
      continue;
    }
    if (!STRATEGY_FLAGS[v.strategy].includes(flag)) {
      return err(
        `--${flag}: not a parameter of strategy ${v.strategy} (it takes ${
          STRATEGY_FLAGS[v.strategy].map((f) => `--${f}`).join(", ")
        })`,
      );
    }
    strategyParams[flag] = value as number;
  }
  const filters = FILTERS_SCHEMA.safeParse(
    Object.fromEntries(Object.entries(strategyParams).filter(([k]) => FILTER_SET.has(k))),
  );
  if (!filters.success) {
    return err(flagIssue(filters.error, parsed.value));
  }
  const parsedParams = STRATEGIES[v.strategy].params.safeParse(strategyParams);
  if (!parsedParams.success) {
    return err(flagIssue(parsedParams.error, parsed.value));
  }
  if (v.from !== undefined && v.to !== undefined && v.to < v.from) {
    return err("--to: must not be before --from");
  }
  return ok({
    candles: v.candles,
    market: v.market,
    timeframe: v.timeframe,
    strategy: v.strategy,
    strategyParams,
    rules: {
      stopLossPct: v["stop-loss"],
      takeProfitPct: v["take-profit"],
      maxDailyLossPct: v["max-daily-loss"],
      trailingStopPct: v["trailing-stop"],
      cooldownMs: Math.round(v["cooldown-hours"] * 3_600_000),
    },
    feeBps: v.fee * 100,
    slippageBps: v.slippage * 100,
    capitalKrw: v.capital,
    fromMs: v.from,
    toMs: v.to === undefined ? undefined : v.to + 86_400_000,
    json: v.json,
    html: v.html,
    help: v.help,
  });
}

const FILTER_SET: ReadonlySet<string> = new Set(FILTER_PARAMS);

const STRATEGY_FLAGS_ALL: ReadonlySet<string> = new Set(Object.values(STRATEGY_FLAGS).flat());

/** A schema's first refusal as one line: the flag, the reason and what the flag was given. */
export function flagIssue(error: z.ZodError, given: Readonly<Record<string, unknown>>): string {
  const issue = error.issues[0]!;
  const flag = String(issue.path[0]);
  return `--${flag}: ${issue.message}${got(given[flag])}`;
}
