/**
 * A progress bar for long runs: drawn on a terminal only, and only once a run has taken more than
 * a second, so short runs and piped output stay clean.
 */

/** What the progress bar needs from its surroundings. */
export interface ProgressIo {
  readonly stderr: (text: string) => void;
  readonly isTerminal: boolean;
  readonly nowMs: () => number;
}

/** A progress bar: `update(done, total)` as work goes, `done()` at the end. */
export interface ProgressBar {
  readonly update: (done: number, total: number) => void;
  readonly done: () => void;
}

const WIDTH = 30;

/** Creates a progress bar that stays silent off a terminal or for runs under a second. */
export function createProgressBar(io: ProgressIo): ProgressBar {
  const startMs = io.nowMs();
  let drawn = false;
  return {
    update(done: number, total: number): void {
      if (!io.isTerminal || io.nowMs() - startMs < 1000) return;
      const filled = Math.round((done / total) * WIDTH);
      const pct = ((done / total) * 100).toFixed(0).padStart(3);
      io.stderr(
        `\r[${"#".repeat(filled)}${" ".repeat(WIDTH - filled)}] ${pct}% ${done}/${total} candles`,
      );
      drawn = true;
    },
    done(): void {
      if (drawn) io.stderr("\r\x1b[2K");
    },
  };
}
