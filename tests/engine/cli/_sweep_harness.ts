/**
 * A sweep/walk-forward command's io for tests (captured output, the repo's data, two cores), and
 * the shared settings of a KRW-BTC Bollinger sweep as the backtest's defaults give them.
 */

import { loadCandleFile } from "../../../engine/adapters/candle_file.ts";
import type { SweepIo } from "../../../engine/cli/sweep_command.ts";
import { unitsFromNumber } from "../../../engine/core/money.ts";
import { DEFAULT_RISK_RULES } from "../../../engine/core/risk.ts";
import type { SweepBase } from "../../../engine/core/sweep.ts";

/** The io a sweep-like command runs with in `cwd`, and what it wrote to stdout and stderr. */
export function sweepHarness(cwd = Deno.cwd()): { io: SweepIo; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: {
      stdout: (t) => out.push(t),
      stderr: (t) => err.push(t),
      isTerminal: false,
      dataDir: new URL("../../../data", import.meta.url).pathname,
      cwd,
      nowMs: () => performance.now(),
      cores: 2,
      loadCandles: loadCandleFile,
    },
  };
}

/** A KRW-BTC Bollinger sweep's shared settings: the backtest's defaults, all-in, 1,000,000 KRW. */
export const BTC_SWEEP_BASE: SweepBase = {
  market: "KRW-BTC",
  strategy: "bb",
  strategyParams: {},
  rules: DEFAULT_RISK_RULES,
  budgetPct: 100,
  sizing: "all",
  sizingValue: 100,
  feeBps: 5,
  slippageBps: 5,
  capital: unitsFromNumber(1_000_000),
};
