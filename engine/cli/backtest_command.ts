/**
 * `deno task backtest`: loads real candles, runs the shared decision core over them and prints a
 * report (text, `--json`, and optionally `--html`). Bad flags or data end with one line and exit
 * code 2, never a stack trace.
 */

import { loadCandleFile } from "../adapters/candle_file.ts";
import { marketFromFileName, timeframeFromFileName } from "../core/candle_file_format.ts";
import { aggregateCandles } from "../core/aggregate.ts";
import { runBacktest } from "../core/backtest.ts";
import { type Candle, type Timeframe, TIMEFRAME_MS } from "../core/candle.ts";
import { CandleFileError } from "../core/candle_csv.ts";
import { computeMetrics, yearlyBreakdown } from "../core/metrics.ts";
import { unitsFromNumber } from "../core/money.ts";
import { createStrategy } from "../core/strategies/mod.ts";
import { dirname, isAbsolute, join, sep } from "node:path";
import { renderHtmlReport } from "../report/html_report.ts";
import { htmlReportPath, REPORTS_DIR } from "../report/report_path.ts";
import { toJsonReport } from "../report/json_report.ts";
import { renderTextReport } from "../report/text_report.ts";
import { clip } from "../flags.ts";
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
  /** The user's working folder: a relative `--candles` (or `--html ../x.html`) starts there. */
  readonly cwd?: string;
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
    if (error instanceof UsageError) {
      io.stderr(`backtest: ${error.message}\n`);
      return 2;
    }
    if (error instanceof CandleFileError) {
      io.stderr(`backtest: --candles: ${clip(error.message, 300)}\n`);
      return 2;
    }
    if (error instanceof Error && error.name in Deno.errors) {
      // A file the process may not read (permissions) or another I/O refusal.
      io.stderr(`backtest: ${error.name}: ${clip(error.message, 300)}\n`);
      return 2;
    }
    io.stderr(`backtest: stopped by an unexpected error: ${clip(String(error), 300)}\n`);
    return 1;
  }
}

async function backtest(options: BacktestOptions, io: CommandIo): Promise<void> {
  const html = options.html === undefined ? undefined : reportFile(options.html, io);
  // Refuse an unwritable report path before the run, not after printing the whole report.
  if (html !== undefined) {
    // The reports folder is ours to create; a folder the user named must exist.
    if (html.inReports) await Deno.mkdir(dirname(html.path), { recursive: true });
    await checkOutputFile(html.path);
  }
  const { path, market } = await candleSource(options, io);
  const progress = createProgressBar(io);
  const loaded = await loadCandleFile(path);
  const candles = inRange(toTimeframe(loaded, { path, timeframe: options.timeframe }), options);
  const strategy = createStrategy(options.strategy, options.strategyParams);
  if (candles.length < strategy.warmup + 1) {
    const where = options.fromMs !== undefined || options.toMs !== undefined
      ? `--from/--to: ${candles.length} ${options.timeframe} candles of ${path} in range`
      : `--candles: ${path}: ${candles.length} ${options.timeframe} candles`;
    throw new UsageError(`${where}, ${strategy.name} needs at least ${strategy.warmup + 1}`);
  }
  const result = runBacktest(candles, {
    market,
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
  const title = `${market} ${options.timeframe} · ${strategy.name}`;
  const shown = { ...options, market };
  if (options.json) {
    io.stdout(JSON.stringify(toJsonReport({ result, metrics, years, options: shown })) + "\n");
  } else {
    io.stdout(renderTextReport({ result, metrics, years, options: shown, title, source: path }));
  }
  if (html !== undefined) {
    const bands = options.strategy === "bb"
      ? { period: options.strategyParams.period ?? 20, std: options.strategyParams.std ?? 2.5 }
      : undefined;
    const page = await renderHtmlReport({ result, metrics, years, title, bands });
    try {
      await Deno.writeTextFile(html.path, page);
    } catch (error) {
      const reason = clip((error as Error).message, 200);
      throw new UsageError(`--html: cannot write ${html.path}: ${reason}`);
    }
    if (!options.json) io.stdout(`HTML report written to ${html.path}\n`);
  }
}

/**
 * Where `--html FILE` writes: a plain relative name under the project's git-ignored reports
 * folder (wherever the user is); a path climbing out with `../` from the user's folder.
 */
function reportFile(file: string, io: CommandIo): { path: string; inReports: boolean } {
  const target = htmlReportPath(file);
  if (isAbsolute(target)) return { path: target, inReports: false };
  if (target.startsWith(REPORTS_DIR + sep)) return { path: target, inReports: true };
  return { path: userPath(target, io), inReports: false };
}

/** A path the user typed, taken from their working folder. */
function userPath(path: string, io: CommandIo): string {
  return io.cwd === undefined || isAbsolute(path) ? path : join(io.cwd, path);
}

/**
 * The candle file and its market. A file whose name says its market must match `--market`; with
 * no `--candles`, the bundled daily file of the market, and an unknown market lists the bundled
 * ones.
 */
async function candleSource(
  options: BacktestOptions,
  io: CommandIo,
): Promise<{ path: string; market: string }> {
  if (options.candles !== undefined) {
    const path = userPath(options.candles, io);
    const named = marketFromFileName(path);
    if (options.market !== undefined && named !== undefined && named !== options.market) {
      throw new UsageError(
        `--market: ${options.market} does not match --candles ${path}, whose name says ${named} ` +
          `(pass --market ${named}, or a ${options.market} file)`,
      );
    }
    return { path, market: options.market ?? named ?? "KRW-BTC" };
  }
  const market = options.market ?? "KRW-BTC";
  const path = join(io.dataDir, `upbit-${market}-1d.csv`);
  if (!(await isFile(path))) {
    const bundled = await bundledMarkets(io.dataDir);
    throw new UsageError(
      `--market: no bundled candles for ${market} (bundled: ${
        bundled.join(", ") || "none"
      }; or pass --candles FILE)`,
    );
  }
  return { path, market };
}

/** The markets with a bundled daily file in the data folder. */
async function bundledMarkets(dataDir: string): Promise<string[]> {
  const markets: string[] = [];
  try {
    for await (const entry of Deno.readDir(dataDir)) {
      const market = /^upbit-(KRW-[A-Z0-9]+)-1d\.csv$/.exec(entry.name)?.[1];
      if (market !== undefined) markets.push(market);
    }
  } catch {
    // No data folder: nothing is bundled.
  }
  return markets.sort();
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

/** Refuses an output file whose folder is missing or not writable, or that is a folder. */
async function checkOutputFile(path: string): Promise<void> {
  const dir = dirname(path);
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(dir);
  } catch {
    throw new UsageError(`--html: cannot write ${path}: folder ${dir} does not exist`);
  }
  if (!info.isDirectory) {
    throw new UsageError(`--html: cannot write ${path}: ${dir} is not a folder`);
  }
  if ((await isDirectory(path))) throw new UsageError(`--html: ${path} is a folder, not a file`);
  const permission = await Deno.permissions.query({ name: "write", path });
  if (permission.state !== "granted") {
    throw new UsageError(`--html: cannot write ${path}: no write permission for it`);
  }
  const existed = await isFile(path);
  try {
    // Opening for append changes nothing in an existing file and proves the folder is writable.
    const probe = await Deno.open(path, { write: true, create: true, append: true });
    probe.close();
    if (!existed) await Deno.remove(path);
  } catch (error) {
    throw new UsageError(`--html: cannot write ${path}: ${clip((error as Error).message, 200)}`);
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
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
      `--candles: ${options.path}: cannot tell the candles' timeframe from the name or the data`,
    );
  }
  if (fileTf === options.timeframe) return candles;
  const fileMs = TIMEFRAME_MS[fileTf];
  const wantMs = TIMEFRAME_MS[options.timeframe];
  if (wantMs < fileMs || wantMs % fileMs !== 0) {
    throw new UsageError(
      `--timeframe: ${options.path} holds ${fileTf} candles, which cannot make ` +
        `${options.timeframe} candles`,
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
