/**
 * `deno task sweep`: the single backtest over every parameter set of a space, on one or more
 * bundled markets and timeframes, spread over worker threads, ranked by a metric; a table,
 * `--json`, `--csv` and an HTML report. Bad flags or data end with one line and exit code 2.
 */

import { dirname, isAbsolute, join, sep } from "node:path";
import { aggregateCandles } from "../core/aggregate.ts";
import { runBacktest } from "../core/backtest.ts";
import { type Candle, type Timeframe, TIMEFRAME_MS } from "../core/candle.ts";
import { marketFromFileName, timeframeFromFileName } from "../core/candle_file_format.ts";
import { formatCount } from "../core/format.ts";
import type { Metrics } from "../core/metrics.ts";
import { unitsFromNumber } from "../core/money.ts";
import { DEFAULT_RISK_RULES } from "../core/risk.ts";
import {
  gridSets,
  type ParamSet,
  type ParamSpace,
  randomSets,
  rankRows,
  type SweepBase,
  sweepConfig,
  type SweepRow,
} from "../core/sweep.ts";
import { htmlReportPath, REPORTS_DIR } from "../report/report_path.ts";
import { renderSweepHtml } from "../report/sweep_html.ts";
import { clip } from "../flags.ts";
import type { CommandIo } from "./backtest_command.ts";
import { commandFailure, UsageError } from "./command_error.ts";
import { createProgressBar } from "./progress.ts";
import { parseSpace, parseSweepArgs, SWEEP_USAGE, type SweepOptions } from "./sweep_args.ts";
import { runSweepPool } from "./sweep_pool.ts";
import type { SweepDataset } from "./sweep_worker.ts";

/** The backtest's io, plus the cores to use and how a candle file is loaded. */
export interface SweepIo extends CommandIo {
  /** Number of CPU cores (the default number of workers). */
  readonly cores: number;
  readonly loadCandles: (path: string) => Promise<Candle[]>;
}

/** Runs the sweep command and returns its exit code. */
export async function runSweepCommand(args: readonly string[], io: SweepIo): Promise<number> {
  const parsed = parseSweepArgs(args);
  if (!parsed.ok) {
    io.stderr(`sweep: ${parsed.error} (see --help)\n`);
    return 2;
  }
  if (parsed.value.help) {
    io.stdout(SWEEP_USAGE);
    return 0;
  }
  try {
    await sweep(parsed.value, io);
    return 0;
  } catch (error) {
    return commandFailure("sweep", error, io.stderr);
  }
}

/** The rows of a sweep, ranked, with what produced them (for every output). */
export interface SweepOutcome {
  readonly options: SweepOptions;
  readonly datasets: readonly SweepDataset[];
  readonly space: ParamSpace;
  readonly sets: readonly ParamSet[];
  readonly ranked: readonly SweepRow[];
  readonly base: SweepBase;
  readonly workers: number;
  readonly seconds: number;
}

/** What a sweep runs: the space, its valid sets, the data sets and the shared settings. */
export interface SweepInputs {
  readonly space: ParamSpace;
  readonly sets: ParamSet[];
  readonly datasets: SweepDataset[];
  readonly base: SweepBase;
}

/** Reads the space (flags, `--space`), draws the sets and loads the data sets; throws `UsageError`. */
export async function sweepInputs(options: SweepOptions, io: SweepIo): Promise<SweepInputs> {
  const space = await loadSpace(options, io);
  const sets = validSets(
    options.random === undefined
      ? gridSets(space)
      : randomSets(space, { count: options.random, seed: options.seed }),
    options,
    io,
  );
  return { space, sets, datasets: await loadDatasets(options, io), base: sweepBase(options) };
}

async function sweep(options: SweepOptions, io: SweepIo): Promise<void> {
  const { space, sets, datasets, base } = await sweepInputs(options, io);
  const jobs = datasets.flatMap((_, d) =>
    sets.map((params, s) => ({ index: d * sets.length + s, dataset: d, params }))
  );
  const workers = options.workers ?? Math.max(1, io.cores);
  const progress = createProgressBar(io, { unit: "backtests", eta: true });
  const startMs = io.nowMs();
  const rows = await runSweepPool(datasets, jobs, {
    workers,
    base,
    onProgress: progress.update,
  });
  progress.done();
  const outcome: SweepOutcome = {
    options,
    datasets,
    space,
    sets,
    ranked: rankRows(rows, options.sort),
    base,
    workers,
    seconds: (io.nowMs() - startMs) / 1000,
  };
  if (options.json) io.stdout(JSON.stringify(sweepJson(outcome)) + "\n");
  else io.stdout(sweepTable(outcome));
  if (options.csv !== undefined) {
    const path = userPath(options.csv, io);
    await writeOutput(path, sweepCsv(outcome), "--csv");
    if (!options.json) io.stdout(`CSV written to ${path}\n`);
  }
  if (options.html !== undefined) {
    const path = await htmlPath(options.html, io);
    const best = outcome.ranked[0]!;
    const dataset = datasets.find((d) => d.name === best.dataset)!;
    const result = runBacktest(
      dataset.candles,
      sweepConfig({ ...base, market: dataset.market }, best.params),
    );
    await writeOutput(path, renderSweepHtml({ ...outcome, best: { row: best, result } }), "--html");
    if (!options.json) io.stdout(`HTML report written to ${path}\n`);
  }
}

/** The space from `--space FILE` and the parameter flags (a flag wins over the file's key). */
async function loadSpace(options: SweepOptions, io: SweepIo): Promise<ParamSpace> {
  let fromFile: Record<string, unknown> = {};
  const file = options.spaceFile === undefined ? undefined : userPath(options.spaceFile, io);
  if (file !== undefined) {
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch (error) {
      throw new UsageError(`--space: cannot read ${file}: ${clip((error as Error).message, 200)}`);
    }
    try {
      fromFile = JSON.parse(text);
    } catch (error) {
      throw new UsageError(`--space: ${file}: not JSON: ${clip((error as Error).message, 200)}`);
    }
    if (typeof fromFile !== "object" || fromFile === null || Array.isArray(fromFile)) {
      throw new UsageError(`--space: ${file}: expected an object of parameters`);
    }
  }
  const fromFlags = options.spaceFlags;
  const entries = { ...fromFile, ...fromFlags };
  const space = parseSpace(entries, {
    strategy: options.strategy,
    where: (name) => name in fromFlags ? `--${name}` : `--space: ${file}: "${name}"`,
  });
  if (!space.ok) throw new UsageError(space.error);
  return space.value;
}

/** The sets the strategy accepts (e.g. MACD needs fast < slow); refuses a space with none. */
function validSets(sets: readonly ParamSet[], options: SweepOptions, io: SweepIo): ParamSet[] {
  const base = sweepBase(options);
  const valid = sets.filter((params) => {
    try {
      sweepConfig(base, params);
      return true;
    } catch {
      return false;
    }
  });
  if (valid.length === 0) {
    throw new UsageError(`no parameter set is valid for strategy ${options.strategy}`);
  }
  if (valid.length < sets.length) {
    io.stderr(`sweep: skipped ${sets.length - valid.length} sets the strategy refuses\n`);
  }
  return valid;
}

function sweepBase(options: SweepOptions): SweepBase {
  return {
    market: options.markets[0]!,
    strategy: options.strategy,
    strategyParams: {},
    rules: DEFAULT_RISK_RULES,
    budgetPct: 100,
    sizing: options.sizing,
    sizingValue: options.sizing === "fixed" ? 100_000 : 10,
    feeBps: options.feeBps,
    slippageBps: options.slippageBps,
    capital: unitsFromNumber(options.capitalKrw),
  };
}

/** Loads every market × timeframe data set (bundled, or the one `--candles` file). */
async function loadDatasets(options: SweepOptions, io: SweepIo): Promise<SweepDataset[]> {
  const out: SweepDataset[] = [];
  const minCandles = 50;
  if (options.candles !== undefined) {
    const path = userPath(options.candles, io);
    const market = marketFromFileName(path) ?? options.markets[0]!;
    const timeframe = options.timeframes[0]!;
    const candles = inRange(
      toTimeframe(await io.loadCandles(path), { path, timeframe }),
      options,
    );
    out.push({ name: `${market} ${timeframe}`, market, candles });
  } else {
    for (const market of options.markets) {
      for (const timeframe of options.timeframes) {
        const path = await bundledFile(market, timeframe, io.dataDir);
        const candles = inRange(
          toTimeframe(await io.loadCandles(path), { path, timeframe }),
          options,
        );
        out.push({ name: `${market} ${timeframe}`, market, candles });
      }
    }
  }
  for (const d of out) {
    if (d.candles.length < minCandles) {
      throw new UsageError(
        `--from/--to: ${d.name} has ${d.candles.length} candles in range, a sweep needs ${minCandles}`,
      );
    }
  }
  return out;
}

/**
 * The bundled file for a market and timeframe: the file of that timeframe, else the coarsest
 * finer file that aggregates to it (the longest one when several).
 */
async function bundledFile(market: string, timeframe: Timeframe, dataDir: string): Promise<string> {
  const files: { name: string; tf: Timeframe; size: number }[] = [];
  const markets = new Set<string>();
  try {
    for await (const entry of Deno.readDir(dataDir)) {
      const m = marketFromFileName(entry.name);
      const tf = timeframeFromFileName(entry.name);
      if (m === undefined || tf === undefined || !/\.csv(\.gz)?$/.test(entry.name)) continue;
      markets.add(m);
      if (m !== market) continue;
      const size = (await Deno.stat(join(dataDir, entry.name))).size;
      files.push({ name: entry.name, tf, size });
    }
  } catch {
    // No data folder: nothing is bundled.
  }
  const want = TIMEFRAME_MS[timeframe];
  const usable = files.filter((f) => want % TIMEFRAME_MS[f.tf] === 0)
    .sort((a, b) => TIMEFRAME_MS[b.tf] - TIMEFRAME_MS[a.tf] || b.size - a.size);
  if (usable.length === 0) {
    if (!markets.has(market)) {
      throw new UsageError(
        `--market: no bundled candles for ${market} (bundled: ${[...markets].sort().join(", ")})`,
      );
    }
    throw new UsageError(
      `--timeframe: no bundled ${market} candles make ${timeframe} candles (bundled: ${
        files.map((f) => f.tf).join(", ")
      })`,
    );
  }
  return join(dataDir, usable[0]!.name);
}

function toTimeframe(
  candles: Candle[],
  options: { readonly path: string; readonly timeframe: Timeframe },
): Candle[] {
  const fileTf = timeframeFromFileName(options.path);
  if (fileTf === undefined || fileTf === options.timeframe) return candles;
  if (TIMEFRAME_MS[options.timeframe] % TIMEFRAME_MS[fileTf] !== 0) {
    throw new UsageError(
      `--timeframe: ${options.path} holds ${fileTf} candles, which cannot make ${options.timeframe}`,
    );
  }
  return aggregateCandles(candles, options.timeframe);
}

function inRange(candles: Candle[], options: SweepOptions): Candle[] {
  const from = options.fromMs ?? -Infinity;
  const to = options.toMs ?? Infinity;
  return candles.filter((c) => c.startMs >= from && c.startMs < to);
}

/** A path the user typed, from their working folder. */
export function userPath(path: string, io: SweepIo): string {
  return io.cwd === undefined || isAbsolute(path) ? path : join(io.cwd, path);
}

/** Where `--html FILE` writes (a relative name under ./reports/, created). */
export async function htmlPath(file: string, io: SweepIo): Promise<string> {
  const target = htmlReportPath(file);
  if (isAbsolute(target)) return target;
  if (target.startsWith(REPORTS_DIR + sep)) {
    const path = userPath(target, io);
    await Deno.mkdir(dirname(path), { recursive: true });
    return path;
  }
  return userPath(target, io);
}

/** Writes an output file; a refusal is a `UsageError` naming the flag. */
export async function writeOutput(path: string, text: string, flag: string): Promise<void> {
  try {
    await Deno.writeTextFile(path, text);
  } catch (error) {
    throw new UsageError(`${flag}: cannot write ${path}: ${clip((error as Error).message, 200)}`);
  }
}

/** Columns of the table and the CSV: label, metric key, decimals. */
const COLUMNS: readonly (readonly [string, keyof Metrics, number])[] = [
  ["return%", "totalReturnPct", 1],
  ["cagr%", "cagrPct", 1],
  ["sharpe", "sharpe", 2],
  ["sortino", "sortino", 2],
  ["maxdd%", "maxDrawdownPct", 1],
  ["trades", "trades", 0],
  ["win%", "winRatePct", 1],
  ["pf", "profitFactor", 2],
  ["exposure%", "exposurePct", 1],
  ["hold%", "buyHoldReturnPct", 1],
];

function sweepTable(outcome: SweepOutcome): string {
  const { ranked, options, space, datasets } = outcome;
  const names = Object.keys(space);
  const head = ["#", "data", ...names, ...COLUMNS.map(([label]) => label)];
  const rows = ranked.slice(0, options.top).map((row, i) => [
    String(i + 1),
    row.dataset,
    ...names.map((n) => String(row.params[n])),
    ...COLUMNS.map(([, key, digits]) => fixed(row.metrics[key], digits)),
  ]);
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: readonly string[]) =>
    cells.map((cell, c) => c < 2 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)).join("  ")
      .trimEnd();
  const steps = datasets.reduce((n, d) => n + d.candles.length, 0) * outcome.sets.length;
  return [
    `Sweep: ${formatCount(outcome.sets.length, "set")} × ${
      formatCount(datasets.length, "data set")
    } = ` +
    `${formatCount(ranked.length, "backtest")} in ${outcome.seconds.toFixed(1)} s on ` +
    `${formatCount(outcome.workers, "worker")} ` +
    `(${
      (steps / outcome.seconds / 1e6).toFixed(1)
    } M candle-steps/s); by ${options.sort}, best first`,
    line(head),
    ...rows.map(line),
    "",
  ].join("\n");
}

function fixed(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : String(value);
}

function sweepJson(outcome: SweepOutcome): Record<string, unknown> {
  return {
    sort: outcome.options.sort,
    sets: outcome.sets.length,
    datasets: outcome.datasets.map((d) => ({
      name: d.name,
      candles: d.candles.length,
      from_ms: d.candles[0]!.startMs,
      to_ms: d.candles[d.candles.length - 1]!.startMs,
    })),
    space: outcome.space,
    workers: outcome.workers,
    rows: outcome.ranked.map((r) => ({
      index: r.index,
      dataset: r.dataset,
      params: r.params,
      metrics: Object.fromEntries(
        Object.entries(r.metrics).map(([k, v]) => [k, Number.isFinite(v) ? v : String(v)]),
      ),
    })),
  };
}

function sweepCsv(outcome: SweepOutcome): string {
  const names = Object.keys(outcome.space);
  const keys = Object.keys(outcome.ranked[0]?.metrics ?? {}) as (keyof Metrics)[];
  const lines = [["rank", "index", "dataset", ...names, ...keys].join(",")];
  outcome.ranked.forEach((r, i) => {
    lines.push(
      [
        i + 1,
        r.index,
        r.dataset,
        ...names.map((n) => r.params[n]),
        ...keys.map((k) => r.metrics[k]),
      ]
        .join(","),
    );
  });
  return lines.join("\n") + "\n";
}
