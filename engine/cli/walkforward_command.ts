/**
 * `deno task walkforward`: for each fold, the sweep picks the best set in sample (on all cores),
 * and that set alone trades the following out-of-sample window; the out-of-sample windows are
 * stitched into one curve beside buy-and-hold and beside the in-sample figures, with a seeded
 * Monte Carlo of the trades' order, the deflated Sharpe ratio of the full-sample sweep's best and
 * its probability of backtest overfitting (CSCV). Takes the sweep's flags plus its own.
 */

import { TIMEFRAME_MS } from "../core/candle.ts";
import { formatDate } from "../core/format.ts";
import type { Metrics } from "../core/metrics.ts";
import { cscv, deflatedSharpe, moments } from "../core/overfitting.ts";
import { unitsToNumber } from "../core/money.ts";
import { score, sweepConfig, type SweepRow } from "../core/sweep.ts";
import {
  type FoldReport,
  outOfSampleBacktest,
  planFolds,
  quantile,
  stitchOutOfSample,
  tradeOrderDrawdowns,
  type WalkForwardOptions,
  type WalkForwardReport,
} from "../core/walk_forward.ts";
import { clip, parseFlags } from "../flags.ts";
import { renderWalkForwardHtml } from "../report/walkforward_html.ts";
import { err, ok, type Result } from "../core/result.ts";
import { createProgressBar } from "./progress.ts";
import { parseSweepArgs, type SweepOptions } from "./sweep_args.ts";
import { htmlPath, sweepInputs, type SweepIo, writeOutput } from "./sweep_command.ts";
import { commandFailure, UsageError } from "./command_error.ts";
import { runSweepPool } from "./sweep_pool.ts";

/** Usage text of `deno task walkforward --help`. */
export const WALKFORWARD_USAGE = `Usage: deno task walkforward [options]

Optimises in sample, trades the next window out of sample, and stitches the out-of-sample windows.

  --in-sample 180        in-sample window, days (default 180)
  --out-of-sample 30     out-of-sample window, days (default 30); the windows step by it
  --anchored             in-sample windows all start at the first candle (default: rolling)
  --mc-runs 1000         Monte Carlo runs of the trades' order (seeded by --seed)
  --groups 16            CSCV blocks for the probability of backtest overfitting (even)
and the sweep's flags for one market and timeframe (deno task sweep --help): the space
(--period 10:40:5 ...), --market, --timeframe, --from/--to, --sort (the in-sample choice),
--seed, --workers, --fee, --slippage, --capital, --json, --html FILE.
`;

const OWN = ["in-sample", "out-of-sample", "mc-runs", "groups"] as const;

/** Splits the walk-forward's own flags from the sweep's. */
export function parseWalkForwardArgs(
  args: readonly string[],
): Result<{ wf: WalkForwardOptions; sweep: SweepOptions }, string> {
  const own: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const name = args[i]!.replace(/^--/, "").split("=")[0]!;
    if (args[i] === "--anchored") own.push(args[i]!);
    else if ((OWN as readonly string[]).includes(name) && args[i]!.startsWith("--")) {
      own.push(args[i]!);
      if (!args[i]!.includes("=") && i + 1 < args.length) own.push(args[++i]!);
    } else rest.push(args[i]!);
  }
  const flags = parseFlags(own, {
    "in-sample": "string",
    "out-of-sample": "string",
    "mc-runs": "string",
    groups: "string",
    anchored: "boolean",
  });
  if (!flags.ok) return flags;
  const number = (name: string, fallback: number, min: number, max: number): number | string => {
    const text = flags.value[name];
    if (text === undefined) return fallback;
    const v = Number(text);
    if (typeof text !== "string" || text.trim() === "" || !Number.isInteger(v)) {
      return `--${name}: expected a whole number (got "${clip(String(text))}")`;
    }
    if (v < min) return `--${name}: must be >= ${min} (got "${text}")`;
    if (v > max) return `--${name}: must be <= ${max} (got "${text}")`;
    return v;
  };
  const inSampleDays = number("in-sample", 180, 1, 36_500);
  const outOfSampleDays = number("out-of-sample", 30, 1, 36_500);
  const mcRuns = number("mc-runs", 1000, 1, 1_000_000);
  const groups = number("groups", 16, 2, 20);
  for (const v of [inSampleDays, outOfSampleDays, mcRuns, groups]) {
    if (typeof v === "string") return err(v);
  }
  if ((groups as number) % 2 !== 0) return err(`--groups: must be even (got "${groups}")`);
  const sweep = parseSweepArgs(rest);
  if (!sweep.ok) return sweep;
  if (sweep.value.markets.length > 1 || sweep.value.timeframes.length > 1) {
    return err("--market/--timeframe: a walk-forward takes one market and one timeframe");
  }
  return ok({
    wf: {
      inSampleDays: inSampleDays as number,
      outOfSampleDays: outOfSampleDays as number,
      anchored: flags.value.anchored === true,
      mcRuns: mcRuns as number,
      groups: groups as number,
    },
    sweep: sweep.value,
  });
}

/** Runs the walk-forward command and returns its exit code. */
export async function runWalkForwardCommand(
  args: readonly string[],
  io: SweepIo,
): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    io.stdout(WALKFORWARD_USAGE);
    return 0;
  }
  const parsed = parseWalkForwardArgs(args);
  if (!parsed.ok) {
    io.stderr(`walkforward: ${parsed.error} (see --help)\n`);
    return 2;
  }
  try {
    const report = await walkForward(parsed.value.wf, parsed.value.sweep, io);
    if (parsed.value.sweep.json) io.stdout(JSON.stringify(walkForwardJson(report)) + "\n");
    else io.stdout(walkForwardText(report));
    if (parsed.value.sweep.html !== undefined) {
      const path = await htmlPath(parsed.value.sweep.html, io);
      await writeOutput(path, renderWalkForwardHtml(report), "--html");
      if (!parsed.value.sweep.json) io.stdout(`HTML report written to ${path}\n`);
    }
    return 0;
  } catch (error) {
    return commandFailure("walkforward", error, io.stderr);
  }
}

async function walkForward(
  wf: WalkForwardOptions,
  options: SweepOptions,
  io: SweepIo,
): Promise<WalkForwardReport> {
  const { sets, datasets, base: sweepBase } = await sweepInputs(options, io);
  const dataset = datasets[0]!;
  const candles = dataset.candles;
  const base = { ...sweepBase, market: dataset.market };
  const barMs = candles[1]!.startMs - candles[0]!.startMs;
  const timeframeMs = TIMEFRAME_MS[options.timeframes[0]!];
  const folds = planFolds(candles.length, {
    inSampleBars: Math.round((wf.inSampleDays * 86_400_000) / timeframeMs),
    outOfSampleBars: Math.round((wf.outOfSampleDays * 86_400_000) / timeframeMs),
    anchored: wf.anchored,
  });
  if (folds.length === 0) {
    throw new UsageError(
      `--in-sample: ${wf.inSampleDays} days leave no out-of-sample candles in ${dataset.name} ` +
        `(${candles.length} candles)`,
    );
  }
  const workers = options.workers ?? Math.max(1, io.cores);
  const progress = createProgressBar(io, { unit: "backtests", eta: true });
  // One pool run: every fold's in-sample window is a data set, plus the whole sample last.
  const windows = [
    ...folds.map((f, k) => ({
      name: `fold ${k + 1}`,
      market: dataset.market,
      candles: candles.slice(f.isFrom, f.isTo),
    })),
    dataset,
  ];
  const jobs = windows.flatMap((_, d) =>
    sets.map((params, s) => ({ index: d * sets.length + s, dataset: d, params }))
  );
  const rows = await runSweepPool(windows, jobs, {
    workers,
    base,
    daily: true,
    onProgress: progress.update,
  });
  progress.done();

  const foldReports: FoldReport[] = [];
  const runs = folds.map((fold, k) => {
    const inSample = rows.slice(k * sets.length, (k + 1) * sets.length);
    const best = pickBest(inSample, options.sort);
    const run = outOfSampleBacktest(candles, { fold, config: sweepConfig(base, best.params) });
    foldReports.push({
      fold,
      isFromMs: candles[fold.isFrom]!.startMs,
      oosFromMs: candles[fold.oosFrom]!.startMs,
      oosToMs: candles[fold.oosTo - 1]!.startMs + barMs,
      best,
      outOfSample: stitchOutOfSample(candles, {
        folds: [fold],
        runs: [{ ...run }],
        capital: 1,
        costBps: base.feeBps + base.slippageBps,
      }).metrics,
    });
    return run;
  });
  const capital = unitsToNumber(base.capital);
  const stitched = stitchOutOfSample(candles, {
    folds,
    runs,
    capital,
    costBps: base.feeBps + base.slippageBps,
  });
  const mc = tradeOrderDrawdowns(stitched.tradeReturnsPct, {
    runs: wf.mcRuns,
    seed: options.seed,
  });

  // The whole sample: every set's daily returns → the deflated Sharpe and CSCV.
  const full = rows.slice(folds.length * sets.length);
  const daily = full.map((r) => r.daily!);
  const dailySharpes = daily.map((d) => {
    const m = moments(d);
    return m.std > 0 ? m.mean / m.std : 0;
  });
  let bestIndex = 0;
  for (let k = 1; k < full.length; k++) {
    if (dailySharpes[k]! > dailySharpes[bestIndex]!) bestIndex = k;
  }
  const bestMoments = moments(daily[bestIndex]!);
  const deflated = deflatedSharpe({
    sharpe: dailySharpes[bestIndex]!,
    trials: sets.length,
    variance: moments(dailySharpes).std ** 2,
    observations: daily[bestIndex]!.length,
    skew: bestMoments.skew,
    kurtosis: bestMoments.kurtosis,
  });
  const groups = Math.min(wf.groups, 2 * Math.floor(daily[0]!.length / 2));
  const overfit = sets.length >= 2
    ? cscv(daily, { groups })
    : { pbo: NaN, logits: [], probabilityOfLoss: NaN, splits: 0 };

  const mean = (f: (m: Metrics) => number) =>
    foldReports.reduce((s, r) => s + f(r.best.metrics), 0) / foldReports.length;
  return {
    title: `Walk-forward · ${dataset.name} · ${sets.length} sets · ${
      wf.anchored ? "anchored" : "rolling"
    } ${wf.inSampleDays}d in / ${wf.outOfSampleDays}d out`,
    wf,
    sort: options.sort,
    seed: options.seed,
    sets: sets.length,
    folds: foldReports,
    stitched,
    inSample: {
      sharpe: mean((m) => m.sharpe),
      cagrPct: mean((m) => m.cagrPct),
      maxDrawdownPct: mean((m) => m.maxDrawdownPct),
    },
    monteCarlo: {
      runs: wf.mcRuns,
      actualPct: mc.actual,
      p5Pct: quantile(mc.simulated, 0.05),
      p50Pct: quantile(mc.simulated, 0.5),
      p95Pct: quantile(mc.simulated, 0.95),
      simulated: mc.simulated,
    },
    fullSample: {
      best: full[bestIndex]!,
      bestDailySharpe: dailySharpes[bestIndex]!,
      deflated,
      observations: daily[bestIndex]!.length,
      cscv: overfit,
    },
  };
}

/** The best row by the metric (ties: the first set). */
function pickBest(rows: readonly SweepRow[], metric: SweepOptions["sort"]): SweepRow {
  let best = rows[0]!;
  for (const r of rows) if (score(r.metrics, metric) > score(best.metrics, metric)) best = r;
  return best;
}

function params(row: SweepRow): string {
  return Object.entries(row.params).map(([k, v]) => `${k} ${v}`).join(", ");
}

function f2(v: number): string {
  return Number.isFinite(v) ? v.toFixed(2) : String(v);
}

function walkForwardText(r: WalkForwardReport): string {
  const s = r.stitched.metrics;
  const h = r.stitched.holdMetrics;
  const w = Math.max(10, ...r.folds.map((f) => params(f.best).length));
  const lines = [
    r.title,
    `In sample the best set by ${r.sort} is chosen; it alone trades the next window.`,
    "",
    `fold  in-sample from  out-of-sample            ${
      "chosen set".padEnd(w)
    }  IS sharpe  IS cagr%  OOS return%  OOS sharpe`,
    ...r.folds.map((f, k) =>
      `${String(k + 1).padStart(4)}  ${formatDate(f.isFromMs)}      ${formatDate(f.oosFromMs)} → ${
        formatDate(f.oosToMs)
      }  ${params(f.best).padEnd(w)}  ${f2(f.best.metrics.sharpe).padStart(9)}  ${
        f2(f.best.metrics.cagrPct).padStart(8)
      }  ${f2(f.outOfSample.totalReturnPct).padStart(11)}  ${f2(f.outOfSample.sharpe).padStart(10)}`
    ),
    "",
    `                          return%     cagr%   sharpe   maxdd%  trades`,
    `out of sample, stitched  ${f2(s.totalReturnPct).padStart(8)}  ${f2(s.cagrPct).padStart(8)}  ${
      f2(s.sharpe).padStart(7)
    }  ${f2(s.maxDrawdownPct).padStart(7)}  ${String(s.trades).padStart(6)}`,
    `buy-and-hold, same span  ${f2(h.totalReturnPct).padStart(8)}  ${f2(h.cagrPct).padStart(8)}  ${
      f2(h.sharpe).padStart(7)
    }  ${f2(h.maxDrawdownPct).padStart(7)}`,
    `in sample (chosen sets)             ${f2(r.inSample.cagrPct).padStart(8)}  ${
      f2(r.inSample.sharpe).padStart(7)
    }  ${f2(r.inSample.maxDrawdownPct).padStart(7)}`,
    "",
    `Monte Carlo of the ${s.trades} out-of-sample trades' order (${r.monteCarlo.runs} runs, seed ${r.seed}): ` +
    `max drawdown ${f2(r.monteCarlo.actualPct)}% as traded; 5/50/95% ${f2(r.monteCarlo.p5Pct)}/${
      f2(r.monteCarlo.p50Pct)
    }/${f2(r.monteCarlo.p95Pct)}%`,
    `Deflated Sharpe ratio of the full-sample best (${params(r.fullSample.best)}, daily SR ${
      r.fullSample.bestDailySharpe.toFixed(4)
    } vs ${r.fullSample.deflated.benchmark.toFixed(4)} expected from luck over ${r.sets} sets): ${
      f2(r.fullSample.deflated.dsr)
    }`,
    `Probability of backtest overfitting (CSCV, ${r.fullSample.cscv.splits} splits): ${
      f2(r.fullSample.cscv.pbo)
    }; in-sample best loses out of sample in ${
      f2(r.fullSample.cscv.probabilityOfLoss * 100)
    }% of splits`,
    "",
  ];
  return lines.join("\n");
}

function walkForwardJson(r: WalkForwardReport): Record<string, unknown> {
  return {
    title: r.title,
    settings: { ...r.wf, sort: r.sort, seed: r.seed, sets: r.sets },
    folds: r.folds.map((f) => ({
      in_sample_from: formatDate(f.isFromMs),
      out_of_sample_from: formatDate(f.oosFromMs),
      out_of_sample_to: formatDate(f.oosToMs),
      params: f.best.params,
      in_sample: { sharpe: f.best.metrics.sharpe, cagr_pct: f.best.metrics.cagrPct },
      out_of_sample: f.outOfSample,
    })),
    out_of_sample: r.stitched.metrics,
    buy_and_hold: r.stitched.holdMetrics,
    in_sample: r.inSample,
    monte_carlo: {
      runs: r.monteCarlo.runs,
      actual_max_drawdown_pct: r.monteCarlo.actualPct,
      p5_pct: r.monteCarlo.p5Pct,
      p50_pct: r.monteCarlo.p50Pct,
      p95_pct: r.monteCarlo.p95Pct,
    },
    full_sample: {
      best_params: r.fullSample.best.params,
      best_daily_sharpe: r.fullSample.bestDailySharpe,
      expected_max_daily_sharpe: r.fullSample.deflated.benchmark,
      deflated_sharpe_ratio: r.fullSample.deflated.dsr,
      pbo: r.fullSample.cscv.pbo,
      cscv_splits: r.fullSample.cscv.splits,
      probability_of_loss: r.fullSample.cscv.probabilityOfLoss,
    },
  };
}
