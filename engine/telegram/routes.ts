/**
 * The webhook: a Hono sub-app with `POST /telegram/webhook`, to mount on the bot's one HTTP
 * server (issue 12). The secret token is REQUIRED: grammY accepts every request when it is
 * unset, so building the route without one is a `ConfigError`. grammY compares the
 * `X-Telegram-Bot-Api-Secret-Token` header with it in constant time and answers 401 on a
 * mismatch.
 *
 * The answer comes fast (Telegram resends after 60 s or on any non-2xx): the request only
 * claims the update and stores its command record (one KV commit) for the bot's command worker,
 * then answers 200; `timeoutMs` bounds even that. An error before the commit answers 500, so
 * Telegram delivers the update again; bodies over 64 KB are refused (413).
 */

import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { webhookCallback } from "grammy/web";
import { ConfigError, errorLine } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { Secret } from "../secret.ts";
import type { TelegramBot } from "./bot.ts";

/** The path Telegram posts updates to. */
export const WEBHOOK_PATH = "/telegram/webhook";

/** What Telegram allows in a secret token; we also require at least 32 characters. */
const SECRET_TOKEN = /^[A-Za-z0-9_-]{32,256}$/;

/** Options of the webhook route. */
export interface WebhookOptions {
  /** The `secret_token` given to `setWebhook`: 32-256 characters of `A-Z a-z 0-9 _ -`. */
  readonly secretToken: Secret | undefined;
  readonly log: Logger;
  /** Answer 200 after this long even if the command is still running (default 10 s). */
  readonly timeoutMs?: number;
}

/** The webhook route of `telegram`; throws a `ConfigError` without a valid secret token. */
export function createTelegramRoutes(telegram: TelegramBot, options: WebhookOptions): Hono {
  const secret = options.secretToken?.reveal();
  if (secret === undefined || secret === "") {
    throw new ConfigError(
      "Cannot create the Telegram webhook: TELEGRAM_WEBHOOK_SECRET must be set: without it anyone could post updates",
    );
  }
  if (!SECRET_TOKEN.test(secret)) {
    throw new ConfigError(
      "Cannot create the Telegram webhook: TELEGRAM_WEBHOOK_SECRET must be 32-256 characters of A-Z a-z 0-9 _ -",
    );
  }
  const handle = webhookCallback(telegram.bot, "hono", {
    secretToken: secret,
    onTimeout: "return",
    timeoutMilliseconds: options.timeoutMs ?? 10_000,
  });
  const app = new Hono();
  app.post(
    WEBHOOK_PATH,
    bodyLimit({ maxSize: 64 * 1024, onError: (c) => c.body(null, 413) }),
    async (c) => {
      try {
        return await handle(c);
      } catch (error) {
        const bad = error instanceof SyntaxError;
        options.log.warn("telegram: webhook request failed", {
          error: errorLine(error),
        });
        return c.body(null, bad ? 400 : 500);
      }
    },
  );
  return app;
}
