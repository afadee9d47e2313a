/**
 * The `sweep` command line: data sets, the parameter space (flags such as `--period 10:40:5` or
 * `--std 2,2.5,3`, or a JSON file), grid or seeded random sampling, workers, ranking and outputs.
 * Every mistake is one line naming the flag (or the JSON key) and the reason.
 */

import { z } from "zod";
import { type Timeframe, TIMEFRAME_MS } from "../core/candle.ts";
import { SIZING_MODES, type SizingMode } from "../core/portfolio.ts";
import {
  DEFAULT_STRATEGY,
  FILTER_PARAMS,
  FILTERS_SCHEMA,
  STRATEGIES,
  type StrategyId,
} from "../core/strategies/mod.ts";
import { type ParamSpace, SORT_METRICS, type SortMetric, SWEEP_PARAMS } from "../core/sweep.ts";
import { err, ok, type Result } from "../core/result.ts";
import { got, parseFlags } from "../flags.ts";
import { DATE, flagIssue, range } from "./backtest_args.ts";

/** Everything the sweep command was asked to do. */
export interface SweepOptions {
  readonly markets: readonly string[];
  readonly timeframes: readonly Timeframe[];
  readonly candles?: string;
  readonly strategy: StrategyId;
  /** Parameter flags as given (name → value text); a JSON space file is read later. */
  readonly spaceFlags: Readonly<Record<string, string>>;
  readonly spaceFile?: string;
  readonly random?: number;
  readonly seed: number;
  readonly sizing: SizingMode;
  readonly feeBps: number;
  readonly slippageBps: number;
  readonly capitalKrw: number;
  readonly fromMs?: number;
  readonly toMs?: number;
  readonly workers?: number;
  readonly sort: SortMetric;
  readonly top: number;
  readonly heatmap?: readonly [string, string];
  readonly json: boolean;
  readonly csv?: string;
  readonly html?: string;
  readonly help: boolean;
}

/** Valid range of each swept parameter besides the strategy's own (checked by its schema). */
const PARAM_RANGES: Readonly<Record<string, readonly [number, number]>> = {
  "stop-loss": [0, 99],
  "take-profit": [0, 10_000],
  "max-daily-loss": [0, 100],
  "trailing-stop": [0, 99],
  "cooldown-hours": [0, 24 * 365],
  budget: [1, 100],
  "sizing-value": [0.01, 1e13],
};

/** Default spaces when no parameter is given: the strategy's own parameters near its defaults. */
const DEFAULT_SPACES: Readonly<Record<StrategyId, Readonly<Record<string, string>>>> = {
  bb: { period: "10:40:5", std: "1.5:3.5:0.5" },
  rsi: { period: "7:21:7", oversold: "20:35:5", overbought: "65:80:5" },
  macd: { fast: "8:16:4", slow: "20:32:6", signal: "9" },
};

/** Most values one parameter may take, and most sets in a sweep (a typo must not hang the run). */
const MAX_VALUES = 10_000;
const MAX_SETS = 1_000_000;

const TIMEFRAMES = Object.keys(TIMEFRAME_MS) as [Timeframe, ...Timeframe[]];

const SCHEMA = z.object({
  market: z.string().trim().toUpperCase().transform((s) => s.split(",").map((m) => m.trim()))
    .pipe(
      z.array(z.string().regex(/^KRW-[A-Z0-9]{1,15}$/, "expected KRW markets like KRW-BTC,KRW-ETH"))
        .min(1),
    ).default(["KRW-BTC"]),
  timeframe: z.string().transform((s) => s.split(",").map((t) => t.trim())).pipe(
    z.array(z.enum(TIMEFRAMES, { error: `expected some of ${TIMEFRAMES.join(", ")}` })).min(1),
  ).default(["1d"]),
  candles: z.string().trim().min(1, "must not be empty").optional(),
  strategy: z.enum(Object.keys(STRATEGIES) as [StrategyId, ...StrategyId[]], {
    error: `expected one of ${Object.keys(STRATEGIES).join(", ")}`,
  }).default(DEFAULT_STRATEGY),
  space: z.string().trim().min(1, "must not be empty").optional(),
  random: z.number().int("must be a whole number").min(1, "must be >= 1").max(MAX_SETS)
    .optional(),
  seed: z.number().int("must be a whole number").min(0).max(2 ** 32 - 1).default(1),
  sizing: z.enum(SIZING_MODES as [SizingMode, ...SizingMode[]], {
    error: `expected one of ${SIZING_MODES.join(", ")}`,
  }).default("all"),
  fee: range(0, 5).default(0.05),
  slippage: range(0, 10).default(0.05),
  capital: range(5_000, 1e13).default(1_000_000),
  from: DATE.optional(),
  to: DATE.optional(),
  workers: z.number().int("must be a whole number").min(1, "must be >= 1").max(256).optional(),
  sort: z.enum(Object.keys(SORT_METRICS) as [SortMetric, ...SortMetric[]], {
    error: `expected one of ${Object.keys(SORT_METRICS).join(", ")}`,
  }).default("sharpe"),
  top: z.number().int("must be a whole number").min(1, "must be >= 1").default(20),
  heatmap: z.string().transform((s) => s.split(",").map((p) => p.trim())).pipe(
    z.tuple([z.string(), z.string()], { error: "expected two parameters like period,std" }),
  ).optional(),
  json: z.boolean().default(false),
  csv: z.string().trim().min(1, "must not be empty").optional(),
  html: z.string().trim().min(1, "must not be empty").optional(),
  help: z.boolean().default(false),
});

const NUMBER_FLAGS = ["random", "seed", "fee", "slippage", "capital", "workers", "top"] as const;

/** Usage text of `deno task sweep --help`. */
export const SWEEP_USAGE = `Usage: deno task sweep [options]

Runs the single backtest over every parameter set of a space, on all CPU cores, and ranks them.

Data:
  --market KRW-BTC[,KRW-ETH]  bundled markets (default KRW-BTC)
  --timeframe 1d[,30m]        timeframes (finer bundled candles are aggregated; default 1d)
  --candles FILE              one candle file instead of the bundled data
  --from DATE --to DATE       only candles in [from, to] (YYYY-MM-DD, UTC; to inclusive)
Parameters (each: a value 20, a list 10,20,30, or a range 10:40:5 = 10,15,...,40):
  --strategy bb               bb (default), rsi or macd
    bb: --period --std   rsi: --period --oversold --overbought   macd: --fast --slow --signal
  --stop-loss --take-profit --max-daily-loss --trailing-stop --cooldown-hours   (risk, %/hours)
  --trend-days --max-volatility --min-volume   entry filters (see deno task backtest --help)
  --budget (sizing all, %)  --sizing all|fixed|equity_pct|risk  --sizing-value (other modes)
  --space FILE                the same as JSON: {"period": "10:40:5", "std": [2, 2.5]}
  default: the strategy's own parameters near its defaults (bb: --period 10:40:5 --std 1.5:3.5:0.5)
  --random N --seed 1         N sets drawn from the space with the seed, instead of the grid
Costs: --fee 0.05 --slippage 0.05 (% per side)   --capital 1000000 (KRW)
Run and output:
  --workers N                 worker threads (default: the number of CPU cores)
  --sort sharpe               sharpe, sortino, return, cagr, drawdown, profit-factor, win-rate, trades
  --top 20                    rows of the table
  --json                      every row as JSON instead of the table
  --csv FILE                  every row as CSV
  --html FILE                 heat map, distribution, best set vs buy-and-hold (relative: ./reports/)
  --heatmap period,std        the heat map's two parameters (default: the first two swept)
  --help                      this text
`;

/** Parses and validates the sweep flags; the error is one line naming the flag. */
export function parseSweepArgs(args: readonly string[]): Result<SweepOptions, string> {
  const parsed = parseFlags(args, {
    market: "string",
    timeframe: "string",
    candles: "string",
    strategy: "string",
    space: "string",
    sizing: "string",
    from: "string",
    to: "string",
    sort: "string",
    heatmap: "string",
    csv: "string",
    html: "string",
    json: "boolean",
    help: "boolean",
    ...Object.fromEntries(NUMBER_FLAGS.map((f) => [f, "string" as const])),
    ...Object.fromEntries(SWEEP_PARAMS.map((p) => [p, "string" as const])),
  }, { h: "help" });
  if (!parsed.ok) return parsed;
  const raw: Record<string, unknown> = {};
  const spaceFlags: Record<string, string> = {};
  for (const [flag, value] of Object.entries(parsed.value)) {
    if (SWEEP_PARAMS.includes(flag)) spaceFlags[flag] = value as string;
    else if ((NUMBER_FLAGS as readonly string[]).includes(flag)) {
      const n = Number(value);
      if (String(value).trim() === "" || !Number.isFinite(n)) {
        return err(`--${flag}: expected a number${got(value)}`);
      }
      raw[flag] = n;
    } else raw[flag] = value;
  }
  const result = SCHEMA.safeParse(raw);
  if (!result.success) {
    return err(flagIssue(result.error, parsed.value));
  }
  const v = result.data;
  if (v.from !== undefined && v.to !== undefined && v.to < v.from) {
    return err("--to: must not be before --from");
  }
  if (v.candles !== undefined && (v.market.length > 1 || v.timeframe.length > 1)) {
    return err("--candles: takes one market and one timeframe (drop the lists)");
  }
  return ok({
    markets: v.market,
    timeframes: v.timeframe,
    candles: v.candles,
    strategy: v.strategy,
    spaceFlags,
    spaceFile: v.space,
    random: v.random,
    seed: v.seed,
    sizing: v.sizing,
    feeBps: v.fee * 100,
    slippageBps: v.slippage * 100,
    capitalKrw: v.capital,
    fromMs: v.from,
    toMs: v.to === undefined ? undefined : v.to + 86_400_000,
    workers: v.workers,
    sort: v.sort,
    top: v.top,
    heatmap: v.heatmap,
    json: v.json,
    csv: v.csv,
    html: v.html,
    help: v.help,
  });
}

/**
 * The parameter space from flag texts (`where` names them in messages: `--period`, or
 * `space.json: "period"`), checked against the strategy: each value in range, each parameter one
 * the strategy or the risk rules take. With no parameter at all, the strategy's default space.
 */
export function parseSpace(
  entries: Readonly<Record<string, unknown>>,
  options: { readonly strategy: StrategyId; readonly where: (name: string) => string },
): Result<ParamSpace, string> {
  const { strategy, where } = options;
  const given = Object.keys(entries).length > 0 ? entries : DEFAULT_SPACES[strategy];
  const space: Record<string, number[]> = {};
  const definition = STRATEGIES[strategy];
  const own = [...Object.keys(DEFAULT_SPACES[strategy]), ...FILTER_PARAMS];
  let size = 1;
  for (const [name, spec] of Object.entries(given)) {
    if (!SWEEP_PARAMS.includes(name)) {
      return err(`${where(name)}: not a parameter a sweep can vary`);
    }
    const isStrategyParam = !(name in PARAM_RANGES);
    if (isStrategyParam && !own.includes(name)) {
      return err(
        `${where(name)}: not a parameter of strategy ${strategy} (it takes ${
          own.map((p) => `--${p}`).join(", ")
        })`,
      );
    }
    const values = parseValues(spec);
    if (!values.ok) return err(`${where(name)}: ${values.error}${got(spec)}`);
    for (const value of values.value) {
      if (isStrategyParam) {
        const schema = (FILTER_PARAMS as readonly string[]).includes(name)
          ? FILTERS_SCHEMA
          : definition.params;
        const checked = (schema as z.ZodType).safeParse({ [name]: value });
        const issue = checked.success
          ? undefined
          : checked.error.issues.find((i) => i.path[0] === name && i.code !== "custom");
        if (issue !== undefined) return err(`${where(name)}: ${issue.message} (got ${value})`);
      } else {
        const [min, max] = PARAM_RANGES[name]!;
        if (value < min) return err(`${where(name)}: must be >= ${min} (got ${value})`);
        if (value > max) return err(`${where(name)}: must be <= ${max} (got ${value})`);
      }
    }
    size *= values.value.length;
    if (size > MAX_SETS) return err(`${where(name)}: the grid passes ${MAX_SETS} sets`);
    space[name] = values.value;
  }
  return ok(space);
}

/** `20`, `10,20,30`, `10:40:5`, a JSON list of numbers, or `{min, max, step}`. */
function parseValues(spec: unknown): Result<number[], string> {
  if (typeof spec === "number") return Number.isFinite(spec) ? ok([spec]) : err("not a number");
  if (Array.isArray(spec)) {
    if (spec.length === 0 || !spec.every((x) => typeof x === "number" && Number.isFinite(x))) {
      return err("expected a non-empty list of numbers");
    }
    return ok([...new Set(spec as number[])]);
  }
  if (typeof spec === "object" && spec !== null) {
    const { min, max, step } = spec as Record<string, unknown>;
    if (typeof min !== "number" || typeof max !== "number" || typeof step !== "number") {
      return err("expected {min, max, step} numbers");
    }
    return steps(min, max, step);
  }
  if (typeof spec !== "string") return err("expected a number, a list or a range");
  const text = spec.trim();
  const parts = text.split(":");
  if (parts.length === 3) {
    const [min, max, step] = parts.map(Number) as [number, number, number];
    return steps(min, max, step);
  }
  if (parts.length !== 1) return err("expected a range like 10:40:5 (min:max:step)");
  const values = text.split(",").map((s) => (s.trim() === "" ? NaN : Number(s)));
  if (values.some((x) => !Number.isFinite(x))) return err("expected numbers like 10,20,30");
  return ok([...new Set(values)]);
}

/** min, min + step, ... up to max (inclusive, within a rounding hair), with decimals kept clean. */
function steps(min: number, max: number, step: number): Result<number[], string> {
  if (![min, max, step].every(Number.isFinite)) return err("expected numbers in min:max:step");
  if (!(step > 0)) return err("the step must be > 0");
  if (max < min) return err("the max must not be below the min");
  const count = Math.floor((max - min) / step + 1e-9) + 1;
  if (count > MAX_VALUES) return err(`more than ${MAX_VALUES} values`);
  const values: number[] = [];
  for (let i = 0; i < count; i++) values.push(Number((min + i * step).toPrecision(12)));
  return ok(values);
}
