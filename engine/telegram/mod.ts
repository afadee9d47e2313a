/**
 * The Telegram surface: a grammY bot over the operator (commands, read models) with the access
 * rules, update dedupe and confirmations of reliability.md §3, and its webhook route; the
 * notifications of the engine's events and their delivery worker (the outbox).
 */

export {
  type BotInfo,
  createTelegramBot,
  type TelegramBot,
  type TelegramConfig,
  type TelegramDeps,
} from "./bot.ts";
export { createTelegramRoutes, WEBHOOK_PATH, type WebhookOptions } from "./routes.ts";
export { type Language, messagesOf } from "./messages.ts";
export {
  parseTelegramEnv,
  TELEGRAM_ENV,
  type TelegramMode,
  type TelegramSettings,
} from "./settings.ts";
export {
  COALESCE_MS,
  DEFAULT_NOTIFY,
  type Delivery,
  deliveryOf,
  NOTIFICATION_KINDS,
  type NotificationKind,
  notificationKind,
  notificationText,
  type NotifyPolicy,
} from "./notifications.ts";
export {
  type Outbox,
  type OutboxConfig,
  type OutboxDeps,
  type OutboxStats,
  startOutbox,
} from "./outbox.ts";
