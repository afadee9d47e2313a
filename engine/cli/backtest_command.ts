/**
 * `deno task backtest`: loads real candles, runs the shared decision core over them and prints a
 * report (text, `--json`, and optionally `--html`). Bad flags or data end with one line and exit
 * code 2, never a stack trace.
 */

import { loadCandleFile } from "../adapters/candle_file.ts";
import { marketFromFileName, timeframeFromFileName } from "../core/candle_file_format.ts";
import { aggregateCandles } from "../core/aggregate.ts";
import { type BacktestResult, runBacktest } from "../core/backtest.ts";
import { type MarketSeries, runAccountBacktest } from "../core/account_backtest.ts";
import { formatDate } from "../core/format.ts";
import { type Candle, type Timeframe, TIMEFRAME_MS } from "../core/candle.ts";
import { computeMetrics, yearlyBreakdown } from "../core/metrics.ts";
import { unitsFromNumber } from "../core/money.ts";
import { createStrategy } from "../core/strategies/mod.ts";
import { dirname, isAbsolute, join, sep } from "node:path";
import { renderHtmlReport } from "../report/html_report.ts";
import { htmlReportPath, REPORTS_DIR } from "../report/report_path.ts";
import { toJsonReport } from "../report/json_report.ts";
import { renderTextReport } from "../report/text_report.ts";
import { renderAccountText, toAccountJson } from "../report/account_report.ts";
import { ACCOUNT_USAGE, type AccountOptions, splitAccountArgs } from "./account_args.ts";
import { clip } from "../flags.ts";
import { commandFailure, UsageError } from "./command_error.ts";
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

/** Runs the backtest command and returns its exit code. */
export async function runBacktestCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const split = splitAccountArgs(args);
  if (!split.ok) {
    io.stderr(`backtest: ${split.error} (see --help)\n`);
    return 2;
  }
  const parsed = parseBacktestArgs(split.value.rest);
  if (!parsed.ok) {
    io.stderr(`backtest: ${parsed.error} (see --help)\n`);
    return 2;
  }
  const options = parsed.value;
  if (options.help) {
    io.stdout(BACKTEST_USAGE + ACCOUNT_USAGE);
    return 0;
  }
  try {
    const { account } = split.value;
    if (account.markets.length > 1) await accountBacktest(options, account, io);
    else await backtest(options, account, io);
    return 0;
  } catch (error) {
    return commandFailure("backtest", error, io.stderr);
  }
}

async function backtest(
  options: BacktestOptions,
  account: AccountOptions,
  io: CommandIo,
): Promise<void> {
  const html = await htmlTarget(options, io);
  const { path, market } = await candleSource(options, io);
  const progress = createProgressBar(io);
  const loaded = await loadCandleFile(path);
  const candles = inRange(toTimeframe(loaded, { path, timeframe: options.timeframe }), options);
  const strategy = createStrategy(options.strategy, options.strategyParams);
  checkEnough(candles, { path, options, warmup: strategy.warmup, name: strategy.name });
  const detail = await detailCandles({ market, path, loaded, candles }, options, account, io);
  const settings = {
    rules: options.rules,
    feeBps: options.feeBps,
    slippageBps: options.slippageBps,
    capital: unitsFromNumber(options.capitalKrw),
    portfolio: account.portfolio,
    onProgress: progress.update,
  };
  const result: BacktestResult = detail === undefined
    ? runBacktest(candles, { ...settings, market, strategy })
    : runAccountBacktest([{ market, candles, detail: detail.candles }], {
      ...settings,
      strategyFor: () => strategy,
      timeframeMs: TIMEFRAME_MS[options.timeframe],
    }).markets[0]!;
  progress.done();
  const metrics = computeMetrics(result);
  const years = yearlyBreakdown(result);
  const title = `${market} ${options.timeframe} · ${strategy.name}`;
  const shown = { ...options, market };
  if (options.json) {
    const report = { ...toJsonReport({ result, metrics, years, options: shown }) };
    io.stdout(JSON.stringify({ ...report, detail: detail?.timeframe ?? null }) + "\n");
  } else {
    io.stdout(renderTextReport({ result, metrics, years, options: shown, title, source: path }));
    if (detail !== undefined) {
      io.stdout(`Fills and exits resolved on ${detail.timeframe} candles (${detail.source})\n`);
    }
  }
  if (html !== undefined) {
    const bands = options.strategy === "bb"
      ? { period: options.strategyParams.period ?? 20, std: options.strategyParams.std ?? 2.5 }
      : undefined;
    await writeHtml(
      html,
      await renderHtmlReport({ result, metrics, years, title, bands }),
      options,
      io,
    );
  }
}

/** Refuses too few candles for the strategy's warm-up, naming the flag that chose them. */
function checkEnough(
  candles: readonly Candle[],
  what: { path: string; options: BacktestOptions; warmup: number; name: string },
): void {
  const { path, options, warmup, name } = what;
  if (candles.length >= warmup + 1) return;
  const where = options.fromMs !== undefined || options.toMs !== undefined
    ? `--from/--to: ${candles.length} ${options.timeframe} candles of ${path} in range`
    : `--candles: ${path}: ${candles.length} ${options.timeframe} candles`;
  throw new UsageError(`${where}, ${name} needs at least ${warmup + 1}`);
}

/** Finer candles for fills and exits, where they came from, and their timeframe. */
interface Detail {
  readonly candles: readonly Candle[];
  readonly timeframe: Timeframe;
  readonly source: string;
}

/**
 * The finer candles of `--detail` over the traded range: the loaded file itself when it is finer
 * (aggregated to the detail timeframe if needed), else a bundled file of the market that covers
 * the range. `auto` (the default) uses 1-minute candles when they cover it; a timeframe given
 * explicitly that no data covers is refused.
 */
async function detailCandles(
  source: {
    readonly market: string;
    readonly path: string;
    readonly loaded: readonly Candle[];
    readonly candles: readonly Candle[];
  },
  options: BacktestOptions,
  account: AccountOptions,
  io: CommandIo,
): Promise<Detail | undefined> {
  if (account.detail === "off") return undefined;
  const explicit = account.detail !== "auto";
  const want: Timeframe = account.detail === "auto" ? "1m" : account.detail;
  const tfMs = TIMEFRAME_MS[options.timeframe];
  const wantMs = TIMEFRAME_MS[want];
  if (wantMs >= tfMs || tfMs % wantMs !== 0) {
    if (!explicit) return undefined;
    throw new UsageError(
      `--detail: ${want} candles cannot split ${options.timeframe} candles (use a finer one, or off)`,
    );
  }
  const { market, path, loaded, candles } = source;
  const first = candles[0]!.startMs;
  const end = candles.at(-1)!.startMs + tfMs;
  const covering = (finer: readonly Candle[]): Candle[] | undefined => {
    const inside = finer.filter((c) => c.startMs >= first && c.startMs < end);
    if (inside.length === 0) return undefined;
    const covers = inside[0]!.startMs < first + tfMs && inside.at(-1)!.startMs >= end - tfMs;
    return covers ? inside : undefined;
  };
  const fileTf = timeframeFromFileName(path) ?? inferTimeframe(loaded);
  if (
    fileTf !== undefined && TIMEFRAME_MS[fileTf] <= wantMs && wantMs % TIMEFRAME_MS[fileTf] === 0
  ) {
    const finer = fileTf === want ? loaded : aggregateCandles(loaded, want);
    const inside = covering(finer);
    if (inside !== undefined) return { candles: inside, timeframe: want, source: path };
  }
  for (const file of await bundledFiles(io.dataDir, market, want)) {
    const inside = covering(await loadCandleFile(file));
    if (inside !== undefined) return { candles: inside, timeframe: want, source: file };
  }
  if (!explicit) return undefined;
  throw new UsageError(
    `--detail: no ${want} candles of ${market} cover ${formatDate(first)} to ${
      formatDate(end - 1)
    } (pass --detail off, or --candles with the ${want} file)`,
  );
}

/** The bundled files of `market` in `timeframe`, by name. */
async function bundledFiles(
  dataDir: string,
  market: string,
  timeframe: Timeframe,
): Promise<string[]> {
  const files: string[] = [];
  try {
    for await (const entry of Deno.readDir(dataDir)) {
      if (!entry.name.startsWith(`upbit-${market}-${timeframe}`)) continue;
      if (marketFromFileName(entry.name) !== market) continue;
      if (timeframeFromFileName(entry.name) === timeframe) files.push(join(dataDir, entry.name));
    }
  } catch {
    // No data folder: nothing is bundled.
  }
  return files.sort();
}

/**
 * Several markets, one account: each market's candles (its bundled file of the timeframe, the
 * finest that makes it, else its daily file; or `--candles a.csv,b.csv`), interleaved by time.
 */
async function accountBacktest(
  options: BacktestOptions,
  account: AccountOptions,
  io: CommandIo,
): Promise<void> {
  const html = await htmlTarget(options, io);
  const progress = createProgressBar(io);
  const series: MarketSeries[] = [];
  const strategies = new Map<string, ReturnType<typeof createStrategy>>();
  const details: string[] = [];
  for (const [i, market] of account.markets.entries()) {
    const path = account.candleFiles !== undefined
      ? userPath(account.candleFiles[i]!, io)
      : await marketFile(io.dataDir, market, options.timeframe);
    const named = marketFromFileName(path);
    if (named !== undefined && named !== market) {
      throw new UsageError(
        `--candles: ${path} is named for ${named}, not ${market} (give the files in --market's order)`,
      );
    }
    const loaded = await loadCandleFile(path);
    const candles = inRange(toTimeframe(loaded, { path, timeframe: options.timeframe }), options);
    const strategy = createStrategy(options.strategy, options.strategyParams);
    checkEnough(candles, { path, options, warmup: strategy.warmup, name: strategy.name });
    strategies.set(market, strategy);
    const detail = await detailCandles({ market, path, loaded, candles }, options, account, io);
    if (detail !== undefined) details.push(detail.timeframe);
    series.push({ market, candles, ...(detail === undefined ? {} : { detail: detail.candles }) });
  }
  const result = runAccountBacktest(series, {
    rules: options.rules,
    feeBps: options.feeBps,
    slippageBps: options.slippageBps,
    capital: unitsFromNumber(options.capitalKrw),
    portfolio: account.portfolio,
    strategyFor: (market) => strategies.get(market)!,
    timeframeMs: TIMEFRAME_MS[options.timeframe],
  });
  progress.done();
  const detail = details.length === series.length ? details[0]! : null;
  const input = { result, options, detail };
  const metrics = computeMetrics(result.account);
  const years = yearlyBreakdown(result.account);
  const name = account.markets.join(",");
  const title = `${name} ${options.timeframe} · ${result.account.strategy} · one account`;
  if (options.json) io.stdout(JSON.stringify(toAccountJson(input)) + "\n");
  else {
    const shown = { ...options, market: name };
    io.stdout(
      renderTextReport({
        result: result.account,
        metrics,
        years,
        options: shown,
        title,
        source: `${account.markets.length} markets (buy & hold: equal parts of each)`,
      }),
    );
    io.stdout(renderAccountText(input));
  }
  if (html !== undefined) {
    const page = await renderHtmlReport({ result: result.account, metrics, years, title });
    await writeHtml(html, page, options, io);
  }
}

/** A market's bundled file for `timeframe`: that timeframe, else the coarsest finer one, else daily. */
async function marketFile(dataDir: string, market: string, timeframe: Timeframe): Promise<string> {
  const wantMs = TIMEFRAME_MS[timeframe];
  const usable = (Object.keys(TIMEFRAME_MS) as Timeframe[])
    .filter((tf) => TIMEFRAME_MS[tf] <= wantMs && wantMs % TIMEFRAME_MS[tf] === 0)
    .sort((a, b) => TIMEFRAME_MS[b] - TIMEFRAME_MS[a]);
  for (const tf of usable) {
    const files = await bundledFiles(dataDir, market, tf);
    if (files.length > 0) return files.at(-1)!;
  }
  const bundled = await bundledMarkets(dataDir);
  throw new UsageError(
    `--market: no bundled ${timeframe} (or finer) candles for ${market} (bundled: ${
      bundled.join(", ") || "none"
    }; or pass --candles a.csv,b.csv)`,
  );
}

/**
 * The `--html` file (undefined without the flag), refused now if it cannot be written: before
 * the run, not after printing the whole report. The reports folder is ours to create; a folder
 * the user named must exist.
 */
async function htmlTarget(options: BacktestOptions, io: CommandIo): Promise<string | undefined> {
  if (options.html === undefined) return undefined;
  const html = reportFile(options.html, io);
  if (html.inReports) await Deno.mkdir(dirname(html.path), { recursive: true });
  await checkOutputFile(html.path);
  return html.path;
}

/** Writes the HTML report to `path` and says where (unless the output is JSON). */
async function writeHtml(
  path: string,
  page: string,
  options: BacktestOptions,
  io: CommandIo,
): Promise<void> {
  try {
    await Deno.writeTextFile(path, page);
  } catch (error) {
    throw new UsageError(`--html: cannot write ${path}: ${clip((error as Error).message, 200)}`);
  }
  if (!options.json) io.stdout(`HTML report written to ${path}\n`);
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
 * no `--candles`, the market's bundled file of the timeframe (as with several markets and the
 * sweep: that timeframe, else the coarsest finer one, else daily), and an unknown market lists
 * the bundled ones.
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
  return { path: await marketFile(io.dataDir, market, options.timeframe), market };
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
