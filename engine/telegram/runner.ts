/**
 * Runs a Telegram bot inside the bot process without ever holding up its start: the first
 * contact (`getMe`, then `setWebhook` or long polling) happens in the background, retried with
 * backoff (1 s doubling to 60 s) while the Bot API is unreachable; the first failure is logged as
 * a warning, the next ones at debug level, and the recovery once. `close()` stops it.
 *
 * - Webhook mode: updates arrive on the bot's HTTP server (`createTelegramRoutes`); this
 *   registers the webhook's URL and secret with `setWebhook` once. A refusal (a URL Telegram does
 *   not accept, such as plain http) is logged once and not retried.
 * - Polling mode: `getUpdates` long polling; grammY retries a failed poll itself, and a poll that
 *   ends with an error (another poller, a revoked token) is started again after the backoff.
 *
 * Once connected, either mode fills Telegram's "/" command menu once (`setCommands`).
 */

import { GrammyError } from "grammy/web";
import { errorLine } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { Secret } from "../secret.ts";
import type { TelegramBot } from "./bot.ts";

/** A running Telegram connection. */
export interface TelegramRunner {
  readonly name: string;
  /** Resolves once the background work stopped. */
  close(): Promise<void>;
}

/** Backoff of the background retries. */
export interface RetryOptions {
  /** First delay (default 1 s); it doubles up to `maxDelayMs`. */
  readonly firstDelayMs?: number;
  /** Default 60 s. */
  readonly maxDelayMs?: number;
}

/** Long polling in the background until closed. */
export function startPolling(
  telegram: TelegramBot,
  options: RetryOptions & { readonly log: Logger },
): TelegramRunner {
  const stop = new AbortController();
  const log = options.log;
  const done = (async () => {
    const backoff = createBackoff(options);
    let menuSet = false;
    while (!stop.signal.aborted) {
      try {
        if (await connect(telegram, { log, backoff, signal: stop.signal })) {
          if (!menuSet) {
            menuSet = true;
            await telegram.setCommands(stop.signal);
          }
          log.info(`telegram: polling for updates as @${telegram.bot.botInfo.username}`);
          await telegram.poll(stop.signal);
          if (stop.signal.aborted) break;
          log.warn("telegram: polling ended; starting it again");
        }
      } catch (error) {
        if (stop.signal.aborted) break;
        log.warn("telegram: polling failed; retrying", { error: errorLine(error) });
      }
      await backoff.wait(stop.signal);
    }
  })();
  return {
    name: "telegram polling",
    async close() {
      stop.abort();
      await done;
    },
  };
}

/** Registers the webhook (`url`, `secretToken`) in the background until it is set or closed. */
export function registerWebhook(
  telegram: TelegramBot,
  options: RetryOptions & {
    readonly url: string;
    readonly secretToken: Secret;
    readonly log: Logger;
  },
): TelegramRunner {
  const stop = new AbortController();
  const { log } = options;
  const done = (async () => {
    const backoff = createBackoff(options);
    while (!stop.signal.aborted) {
      let retryAfterMs = 0;
      try {
        if (await connect(telegram, { log, backoff, signal: stop.signal })) {
          await telegram.bot.api.setWebhook(options.url, {
            secret_token: options.secretToken.reveal(),
            allowed_updates: ["message", "callback_query"],
          }, grammySignal(stop.signal));
          log.info(`telegram: webhook set to ${options.url} for @${telegram.bot.botInfo.username}`);
          await telegram.setCommands(stop.signal);
          return;
        }
      } catch (error) {
        if (stop.signal.aborted) return;
        if (error instanceof GrammyError && error.error_code === 429) {
          retryAfterMs = (error.parameters.retry_after ?? 0) * 1000;
        } else if (
          error instanceof GrammyError && error.error_code >= 400 && error.error_code < 500
        ) {
          log.warn(
            `telegram: the Bot API refused the webhook ${options.url}: ${error.description}` +
              " (a public https origin is needed: set WEB_ORIGIN, or use TELEGRAM_MODE=polling)",
          );
          return;
        }
        log.debug("telegram: setWebhook failed; retrying", { error: errorLine(error) });
      }
      await backoff.wait(stop.signal, retryAfterMs);
    }
  })();
  return {
    name: "telegram webhook",
    async close() {
      stop.abort();
      await done;
    },
  };
}

interface Backoff {
  /** Waits the current delay, or `atLeastMs` when longer (ends early on `signal`); doubles it. */
  wait(signal: AbortSignal, atLeastMs?: number): Promise<void>;
  reset(): void;
}

function createBackoff(options: RetryOptions): Backoff {
  const first = options.firstDelayMs ?? 1_000;
  const max = options.maxDelayMs ?? 60_000;
  let delayMs = first;
  return {
    async wait(signal, atLeastMs = 0) {
      await sleep(Math.max(delayMs, atLeastMs), signal);
      delayMs = Math.min(max, delayMs * 2);
    },
    reset() {
      delayMs = first;
    },
  };
}

/**
 * Makes sure the bot knows itself (`getMe`, skipped when `botInfo` was configured); true once it
 * does. The first failure of a run of failures is a warning, the recovery an info line.
 */
async function connect(
  telegram: TelegramBot,
  ctx: { readonly log: Logger; readonly backoff: Backoff; readonly signal: AbortSignal },
): Promise<boolean> {
  const { bot } = telegram;
  if (bot.isInited()) return true;
  let failures = 0;
  while (!ctx.signal.aborted) {
    try {
      bot.botInfo = await bot.api.getMe(grammySignal(ctx.signal));
      if (failures > 0) ctx.log.info("telegram: the Bot API is reachable again");
      ctx.backoff.reset();
      return true;
    } catch (error) {
      if (ctx.signal.aborted) return false;
      failures++;
      if (error instanceof GrammyError && error.error_code === 401) {
        // A revoked or mistyped token: say so every time (it will not fix itself).
        ctx.log.error("telegram: the Bot API refused TELEGRAM_BOT_TOKEN (401); retrying");
      } else if (failures === 1) {
        ctx.log.warn(
          "telegram: cannot reach the Bot API; the bot runs on and retries in the background",
          { error: errorLine(error) },
        );
      } else ctx.log.debug("telegram: still unreachable", { error: errorLine(error) });
      await ctx.backoff.wait(ctx.signal);
    }
  }
  return false;
}

/** grammY's types name an `abort-controller` shim; the platform's signal is what it uses. */
function grammySignal(signal: AbortSignal): Parameters<TelegramBot["bot"]["api"]["getMe"]>[0] {
  return signal as unknown as Parameters<TelegramBot["bot"]["api"]["getMe"]>[0];
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}
