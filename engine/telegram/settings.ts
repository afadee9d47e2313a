/**
 * The Telegram settings from the environment (main.ts reads `Deno.env` and passes it here):
 * Telegram is off when no `TELEGRAM_*` variable is set; once any is, the token and the owner's
 * user id are required, and the webhook mode requires its secret (grammY would accept every
 * request without one). A mistake is one line naming the variable and the reason.
 *
 * | Variable | Meaning |
 * |---|---|
 * | `TELEGRAM_BOT_TOKEN` | the bot's token from BotFather (`123456:ABC…`) |
 * | `TELEGRAM_OWNER_ID` | the one user id that may command the bot |
 * | `TELEGRAM_VIEWER_IDS` | user ids that may only read, comma-separated (optional) |
 * | `TELEGRAM_MODE` | `webhook` (default) or `polling` (a VPS without a public HTTPS name) |
 * | `TELEGRAM_WEBHOOK_SECRET` | the webhook's secret token: 32-256 of `A-Z a-z 0-9 _ -` |
 * | `TELEGRAM_API_ROOT` | the Bot API's root URL (default `https://api.telegram.org`; tests: the fake) |
 * | `TELEGRAM_LANGUAGE` | `en` (default) or `ko` |
 * | `TELEGRAM_NOTIFY` | per notification type `on`, `silent` or `off`, e.g. `fill:on,signal:silent,order:off` (`all:` sets every type; later pairs win) |
 */

import { z } from "zod";
import { err, ok, type Result } from "../core/result.ts";
import { Secret } from "../secret.ts";
import type { TelegramConfig } from "./bot.ts";
import {
  DEFAULT_NOTIFY,
  type Delivery,
  NOTIFICATION_KINDS,
  type NotificationKind,
  type NotifyPolicy,
} from "./notifications.ts";

/** Every variable this module reads. */
export const TELEGRAM_ENV = [
  "TELEGRAM_BOT_TOKEN",
  "TELEGRAM_OWNER_ID",
  "TELEGRAM_VIEWER_IDS",
  "TELEGRAM_MODE",
  "TELEGRAM_WEBHOOK_SECRET",
  "TELEGRAM_API_ROOT",
  "TELEGRAM_LANGUAGE",
  "TELEGRAM_NOTIFY",
] as const;

/** How updates arrive. */
export type TelegramMode = "webhook" | "polling";

/** What the bot process needs to run Telegram. */
export interface TelegramSettings {
  readonly mode: TelegramMode;
  /** Set in webhook mode (required there). */
  readonly webhookSecret: Secret | undefined;
  /** The bot's configuration (no `botInfo`: `getMe` tells it at start). */
  readonly bot: TelegramConfig;
  /** How each kind of notification is delivered. */
  readonly notify: NotifyPolicy;
}

const DELIVERY = z.enum(["on", "silent", "off"]);

/** `TELEGRAM_NOTIFY`'s `type:delivery` pairs over the defaults; a mistake names the pair. */
const NOTIFY = z.string().trim().default("").transform((text, ctx) => {
  const policy: Record<NotificationKind, Delivery> = { ...DEFAULT_NOTIFY };
  for (const pair of text.split(",").map((p) => p.trim()).filter((p) => p !== "")) {
    const [name = "", value = "", extra] = pair.split(":").map((p) => p.trim().toLowerCase());
    const delivery = DELIVERY.safeParse(value);
    if (extra !== undefined || name === "" || value === "") {
      ctx.addIssue({ code: "custom", message: `expected type:on|silent|off, got "${pair}"` });
      return z.NEVER;
    }
    if (name !== "all" && !(NOTIFICATION_KINDS as readonly string[]).includes(name)) {
      ctx.addIssue({
        code: "custom",
        message: `unknown type "${name}" (expected all, ${NOTIFICATION_KINDS.join(", ")})`,
      });
      return z.NEVER;
    }
    if (!delivery.success) {
      ctx.addIssue({
        code: "custom",
        message: `${name}: expected on, silent or off, got "${value}"`,
      });
      return z.NEVER;
    }
    for (const kind of name === "all" ? NOTIFICATION_KINDS : [name as NotificationKind]) {
      policy[kind] = delivery.data;
    }
  }
  return policy as NotifyPolicy;
});

const SCHEMA = z.object({
  TELEGRAM_BOT_TOKEN: z.string({ error: "must be set when Telegram is configured" }).trim()
    .regex(
      /^\d{5,16}:[A-Za-z0-9_-]{30,64}$/,
      "expected the token from BotFather (<digits>:<secret>)",
    ),
  TELEGRAM_OWNER_ID: z.string({ error: "must be set when Telegram is configured" }).trim()
    .regex(/^[1-9]\d{0,15}$/, "expected a user id (digits)").transform(Number),
  TELEGRAM_VIEWER_IDS: z.string().trim().default("").transform((text, ctx) => {
    const ids: number[] = [];
    for (const part of text.split(",").map((p) => p.trim()).filter((p) => p !== "")) {
      if (!/^[1-9]\d{0,15}$/.test(part)) {
        ctx.addIssue({
          code: "custom",
          message: `expected user ids separated by commas: "${part}"`,
        });
        return z.NEVER;
      }
      ids.push(Number(part));
    }
    return ids;
  }),
  TELEGRAM_MODE: z.enum(["webhook", "polling"], { error: "expected webhook or polling" })
    .default("webhook"),
  TELEGRAM_WEBHOOK_SECRET: z.string().trim().regex(
    /^[A-Za-z0-9_-]{32,256}$/,
    "expected 32-256 characters of A-Z a-z 0-9 _ -",
  ).optional(),
  TELEGRAM_API_ROOT: z.string().trim().regex(
    /^https?:\/\/[^/\s]+(\/[^\s]*[^/\s])?$/,
    "expected an http(s) URL without a trailing /",
  ).default("https://api.telegram.org"),
  TELEGRAM_LANGUAGE: z.enum(["en", "ko"], { error: "expected en or ko" }).default("en"),
  TELEGRAM_NOTIFY: NOTIFY,
});

/**
 * The Telegram settings of `env`, null when Telegram is not configured.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseTelegramEnv({}), { ok: true, value: null });
 * const bad = parseTelegramEnv({ TELEGRAM_OWNER_ID: "42" });
 * assert.equal(!bad.ok && bad.error, "TELEGRAM_BOT_TOKEN: must be set when Telegram is configured");
 * ```
 */
export function parseTelegramEnv(
  env: Readonly<Record<string, string | undefined>>,
): Result<TelegramSettings | null, string> {
  const given: Record<string, string> = {};
  for (const name of TELEGRAM_ENV) {
    const value = env[name];
    if (value !== undefined && value.trim() !== "") given[name] = value;
  }
  if (Object.keys(given).length === 0) return ok(null);
  const parsed = SCHEMA.safeParse(given);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return err(`${String(issue.path[0] ?? "TELEGRAM")}: ${issue.message}`);
  }
  const v = parsed.data;
  if (v.TELEGRAM_MODE === "webhook" && v.TELEGRAM_WEBHOOK_SECRET === undefined) {
    return err(
      "TELEGRAM_WEBHOOK_SECRET: must be set in webhook mode (or set TELEGRAM_MODE=polling)",
    );
  }
  if (v.TELEGRAM_VIEWER_IDS.includes(v.TELEGRAM_OWNER_ID)) {
    return err("TELEGRAM_VIEWER_IDS: must not name the owner (TELEGRAM_OWNER_ID)");
  }
  return ok({
    mode: v.TELEGRAM_MODE,
    webhookSecret: v.TELEGRAM_WEBHOOK_SECRET === undefined
      ? undefined
      : new Secret(v.TELEGRAM_WEBHOOK_SECRET),
    bot: {
      token: new Secret(v.TELEGRAM_BOT_TOKEN),
      ownerId: v.TELEGRAM_OWNER_ID,
      viewerIds: v.TELEGRAM_VIEWER_IDS,
      apiRoot: v.TELEGRAM_API_ROOT,
      language: v.TELEGRAM_LANGUAGE,
    },
    notify: v.TELEGRAM_NOTIFY,
  });
}
