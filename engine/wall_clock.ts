/** The real clock: the machine's time and `setTimeout` sleeps that end early when aborted. */

import type { Clock } from "./ports.ts";

/** Resolves after `ms` (at once when `signal` is or becomes aborted), leaving no timer behind. */
export function sleepReal(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, Math.max(0, ms));
    signal?.addEventListener("abort", done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}

/** The wall clock: `Date.now()` and real sleeps. */
export const WALL_CLOCK: Clock = {
  nowMs: () => Date.now(),
  sleep: (ms, signal) => sleepReal(ms, signal),
};
