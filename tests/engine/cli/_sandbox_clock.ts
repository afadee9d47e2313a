/**
 * The clock the run-command tests hand a bot on the sandbox: the sandbox's time, with sleeps
 * shortened (a hundredth, at most 200 ms of wall time) so the loop's timers keep up with the test.
 */

import type { Clock } from "../../../engine/ports.ts";
import type { Sandbox } from "../../../engine/sandbox/mod.ts";

/** The sandbox's clock; sleeps are shortened so the loop's timers keep up with the test. */
export function clockOf(sb: Sandbox): Clock {
  return {
    nowMs: () => sb.replay.nowMs(),
    sleep: (ms, signal) =>
      new Promise((resolve) => {
        if (signal?.aborted) return resolve();
        const timer = setTimeout(done, Math.min(ms / 100, 200));
        signal?.addEventListener("abort", done, { once: true });
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
      }),
  };
}
