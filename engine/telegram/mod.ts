/**
 * The Telegram surface: a grammY bot over the operator (commands, read models) with the access
 * rules, update dedupe and confirmations of reliability.md §3, and its webhook route.
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
