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

/** What the bar counts (default "candles"), and whether it shows the time left. */
export interface ProgressStyle {
  readonly unit?: string;
  readonly eta?: boolean;
}

/** Creates a progress bar that stays silent off a terminal or for runs under a second. */
export function createProgressBar(io: ProgressIo, style: ProgressStyle = {}): ProgressBar {
  const startMs = io.nowMs();
  const unit = style.unit ?? "candles";
  let drawn = false;
  return {
    update(done: number, total: number): void {
      const elapsedMs = io.nowMs() - startMs;
      if (!io.isTerminal || elapsedMs < 1000) return;
      const filled = Math.round((done / total) * WIDTH);
      const pct = ((done / total) * 100).toFixed(0).padStart(3);
      io.stderr(
        `\r[${"#".repeat(filled)}${" ".repeat(WIDTH - filled)}] ${pct}% ${done}/${total} ${unit}` +
          (style.eta === true && done > 0
            ? ` ETA ${eta((elapsedMs * (total - done)) / done)}`
            : ""),
      );
      drawn = true;
    },
    done(): void {
      if (drawn) io.stderr("\r\x1b[2K");
    },
  };
}

/** A duration as `1h02m`, `3m05s` or `12s`. */
function eta(ms: number): string {
  const s = Math.ceil(ms / 1000);
  if (s >= 3600) {
    return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, "0")}m`;
  }
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${s}s`;
}
