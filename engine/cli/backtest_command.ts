/**
 * `deno task backtest`: loads real candles, runs the shared decision core over them and prints a
 * report (text, `--json`, and optionally `--html`). Bad flags or data end with one line and exit
 * code 2, never a stack trace.
 */

import { loadCandleFile } from "../adapters/candle_file.ts";
import { timeframeFromFileName } from "../core/candle_file_format.ts";
import { aggregateCandles } from "../core/aggregate.ts";
import { runBacktest } from "../core/backtest.ts";
import { type Candle, type Timeframe, TIMEFRAME_MS } from "../core/candle.ts";
import { CandleFileError } from "../core/candle_csv.ts";
import { computeMetrics, yearlyBreakdown } from "../core/metrics.ts";
import { unitsFromNumber } from "../core/money.ts";
import { createStrategy } from "../core/strategies/mod.ts";
import { dirname, isAbsolute } from "node:path";
import { renderHtmlReport } from "../report/html_report.ts";
import { htmlReportPath } from "../report/report_path.ts";
import { toJsonReport } from "../report/json_report.ts";
import { renderTextReport } from "../report/text_report.ts";
import { BACKTEST_USAGE, type BacktestOptions, parseBacktestArgs } from "./backtest_args.ts";
import { createProgressBar } from "./progress.ts";

/** Where the command writes, and where it finds the bundled data. */
export interface CommandIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** `true` when stderr is a terminal (a progress bar may be drawn). */
  readonly isTerminal: boolean;
  /** Folder of the bundled candle files. */
  readonly dataDir: string;
  /** Monotonic clock in ms (for the progress bar's one-second rule). */
  readonly nowMs: () => number;
}

/** A failure the user can fix: printed as one line, exit code 2. */
class UsageError extends Error {}

/** Runs the backtest command and returns its exit code. */
export async function runBacktestCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const parsed = parseBacktestArgs(args);
  if (!parsed.ok) {
    io.stderr(`backtest: ${parsed.error} (see --help)\n`);
    return 2;
  }
  const options = parsed.value;
  if (options.help) {
    io.stdout(BACKTEST_USAGE);
    return 0;
  }
  try {
    await backtest(options, io);
    return 0;
  } catch (error) {
    if (error instanceof UsageError || error instanceof CandleFileError) {
      io.stderr(`backtest: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}

async function backtest(options: BacktestOptions, io: CommandIo): Promise<void> {
  const path = options.candles ?? `${io.dataDir}/upbit-${options.market}-1d.csv`;
  const progress = createProgressBar(io);
  const loaded = await loadCandleFile(path);
  const candles = inRange(toTimeframe(loaded, { path, timeframe: options.timeframe }), options);
  const strategy = createStrategy(options.strategy, options.strategyParams);
  if (candles.length < strategy.warmup + 1) {
    throw new UsageError(
      `${path}: ${candles.length} ${options.timeframe} candles in range, ${strategy.name} needs at least ${
        strategy.warmup + 1
      }`,
    );
  }
  const result = runBacktest(candles, {
    market: options.market,
    strategy,
    rules: options.rules,
    feeBps: options.feeBps,
    slippageBps: options.slippageBps,
    capital: unitsFromNumber(options.capitalKrw),
    onProgress: progress.update,
  });
  progress.done();
  const metrics = computeMetrics(result);
  const years = yearlyBreakdown(result);
  const title = `${options.market} ${options.timeframe} · ${strategy.name}`;
  if (options.json) {
    io.stdout(JSON.stringify(toJsonReport({ result, metrics, years, options })) + "\n");
  } else {
    io.stdout(renderTextReport({ result, metrics, years, options, title, source: path }));
  }
  if (options.html !== undefined) {
    const bands = options.strategy === "bb"
      ? { period: options.strategyParams.period ?? 20, std: options.strategyParams.std ?? 2.5 }
      : undefined;
    const html = await renderHtmlReport({ result, metrics, years, title, bands });
    const target = htmlReportPath(options.html);
    try {
      // The reports folder is ours to create; a folder the user named must exist.
      if (!isAbsolute(options.html)) await Deno.mkdir(dirname(target), { recursive: true });
      await Deno.writeTextFile(target, html);
    } catch (error) {
      throw new UsageError(`--html: cannot write ${target}: ${(error as Error).message}`);
    }
    if (!options.json) io.stdout(`HTML report written to ${target}\n`);
  }
}

/** Brings the file's candles to the requested timeframe, aggregating finer ones. */
function toTimeframe(
  candles: Candle[],
  options: { readonly path: string; readonly timeframe: Timeframe },
): Candle[] {
  const fileTf = timeframeFromFileName(options.path) ?? inferTimeframe(candles);
  if (fileTf === undefined) {
    throw new UsageError(
      `${options.path}: cannot tell the candles' timeframe from the name or the data`,
    );
  }
  if (fileTf === options.timeframe) return candles;
  const fileMs = TIMEFRAME_MS[fileTf];
  const wantMs = TIMEFRAME_MS[options.timeframe];
  if (wantMs < fileMs || wantMs % fileMs !== 0) {
    throw new UsageError(
      `${options.path}: ${fileTf} candles cannot make ${options.timeframe} candles`,
    );
  }
  return aggregateCandles(candles, options.timeframe);
}

/** The timeframe whose length is the smallest gap between consecutive candles. */
function inferTimeframe(candles: readonly Candle[]): Timeframe | undefined {
  let smallest = Infinity;
  for (let i = 1; i < candles.length; i++) {
    smallest = Math.min(smallest, candles[i]!.startMs - candles[i - 1]!.startMs);
  }
  return (Object.keys(TIMEFRAME_MS) as Timeframe[]).find((tf) => TIMEFRAME_MS[tf] === smallest);
}

function inRange(candles: Candle[], options: BacktestOptions): Candle[] {
  const from = options.fromMs ?? -Infinity;
  const to = options.toMs ?? Infinity;
  return candles.filter((c) => c.startMs >= from && c.startMs < to);
}
