/**
 * What a stop signal means. One stop often arrives as several signals: `deno task` forwards a
 * copy of what it receives, and a terminal's Ctrl-C, systemd (KillMode=control-group) and
 * `timeout` signal the whole process group, so the bot gets two copies at nearly the same time.
 * The first SIGINT or SIGTERM starts the clean stop; later ones are ignored, except a Ctrl-C at
 * least `forceAfterMs` after the first: that one is deliberate and forces the exit.
 * `main.ts` wires the process's signals and exit to it.
 */

/** A stop signal the bot listens to. */
export type StopSignal = "SIGINT" | "SIGTERM";

/** A second Ctrl-C this long after the first forces the exit; an earlier one is a copy of it. */
export const FORCE_AFTER_MS = 2_000;

/** The interrupt of one run: `signal` aborts on the first stop; `receive` takes every signal. */
export interface Interrupt {
  /** Aborted (with the signal's name as reason) on the first SIGINT or SIGTERM. */
  readonly signal: AbortSignal;
  /** Handles one received signal at `nowMs`. */
  receive(signal: StopSignal, nowMs: number): void;
}

/** Builds the interrupt; `force` is called for a deliberate second Ctrl-C (it should exit). */
export function createInterrupt(
  options: { readonly force: () => void; readonly forceAfterMs?: number },
): Interrupt {
  const controller = new AbortController();
  const forceAfterMs = options.forceAfterMs ?? FORCE_AFTER_MS;
  let firstMs = 0;
  return {
    signal: controller.signal,
    receive(signal, nowMs) {
      if (!controller.signal.aborted) {
        firstMs = nowMs;
        controller.abort(signal);
      } else if (signal === "SIGINT" && nowMs - firstMs >= forceAfterMs) {
        options.force();
      }
    },
  };
}
