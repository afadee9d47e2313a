/** How the backtest, sweep and walkforward commands end on an error: one line, an exit code. */

import { CandleFileError } from "../core/candle_csv.ts";
import { clip } from "../flags.ts";

/** A failure the user can fix: printed as one line, exit code 2. */
export class UsageError extends Error {}

/**
 * Writes `error` as one line prefixed with the command's name and returns the exit code: 2 for
 * what the user can fix (a usage mistake, a bad candle file, a file the process may not read or
 * write), 1 for anything unexpected.
 */
export function commandFailure(
  command: string,
  error: unknown,
  stderr: (text: string) => void,
): number {
  if (error instanceof UsageError) {
    stderr(`${command}: ${error.message}\n`);
    return 2;
  }
  if (error instanceof CandleFileError) {
    stderr(`${command}: --candles: ${clip(error.message, 300)}\n`);
    return 2;
  }
  if (error instanceof Error && error.name in Deno.errors) {
    // A file the process may not read (permissions) or another I/O refusal.
    stderr(`${command}: ${error.name}: ${clip(error.message, 300)}\n`);
    return 2;
  }
  stderr(`${command}: stopped by an unexpected error: ${clip(String(error), 300)}\n`);
  return 1;
}
