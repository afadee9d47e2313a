/** A sweep/walk-forward command's io for tests: captured output, the repo's data, two cores. */

import { loadCandleFile } from "../../../engine/adapters/candle_file.ts";
import type { SweepIo } from "../../../engine/cli/sweep_command.ts";

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
