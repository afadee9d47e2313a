/**
 * One more try for a command's reply (a grammY API transformer, in place of the auto-retry
 * plugin, whose Node build needs broad environment access and pulls Node's deprecated
 * `punycode`): after a 429 whose `retry_after` is at most `maxDelayMs` (waiting it), or after a
 * 5xx (waiting `serverErrorDelayMs`). Anything else, and the second answer, go back as they
 * are. Notifications do not use it: the outbox has its own retries.
 */

import type { Transformer } from "grammy/web";

/** The transformer; `sleep` waits (tests pass a fast one). */
export function retryReplyOnce(options: {
  readonly maxDelayMs: number;
  readonly serverErrorDelayMs?: number;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}): Transformer {
  const sleep = options.sleep ?? pause;
  return async (prev, method, payload, signal) => {
    const first = await prev(method, payload, signal);
    if (first.ok) return first;
    const retryAfterS = first.parameters?.retry_after;
    let waitMs: number | undefined;
    if (first.error_code === 429 && typeof retryAfterS === "number") {
      if (retryAfterS * 1000 <= options.maxDelayMs) waitMs = retryAfterS * 1000;
    } else if (first.error_code >= 500) {
      waitMs = options.serverErrorDelayMs ?? 1_000;
    }
    if (waitMs === undefined || signal?.aborted) return first;
    // grammY types the signal with its Node polyfill's AbortSignal; on Deno it is the web one.
    await sleep(waitMs, signal as unknown as AbortSignal | undefined);
    return signal?.aborted ? first : await prev(method, payload, signal);
  };
}

function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}
