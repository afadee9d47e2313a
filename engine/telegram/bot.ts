/**
 * The Telegram bot: grammY over the operator (reliability.md §0.7, §3). It reads through the
 * operator's read models and acts through `operator.execute` as `telegram:<user id>`; it never
 * touches KV keys, the loop or an adapter.
 *
 * Each update goes, in order, through:
 * 1. the access rules (`classifyUpdate`): only the owner (or a read-only viewer) in their private
 *    chat, a new message less than `maxAgeMs` old; a button only from the owner. Anything else is
 *    ignored without an answer (nothing tells a stranger a bot is there) and logged once per
 *    sender and reason, without its text;
 * 2. the update-id claim (`ChatStore.claimUpdate`, one atomic check): a duplicate delivery or a
 *    replayed request runs nothing;
 * 3. the command. `/stop` and `/sell all` only store a one-time nonce (expiring in 60 s) and ask
 *    for a Confirm button; the tap takes the nonce atomically, so one confirmation runs one stop.
 *
 * The claim comes before the work: a crash in between loses that command (the owner sends it
 * again) rather than running it twice. Replies that fail to send are logged, not retried (the
 * outbox comes later).
 */

import { Bot, type Context } from "grammy/web";
import type { ChatStore, Clock, PendingConfirmation } from "../ports.ts";
import type { Logger } from "../log.ts";
import type { Secret } from "../secret.ts";
import { errorLine, NoRunRecordError, type Operator, type OperatorCommand } from "../mod.ts";
import { type AccessPolicy, classifyUpdate, type IgnoreReason, type Verdict } from "./access.ts";
import { type Language, type Messages, messagesOf } from "./messages.ts";
import {
  balanceText,
  dailyText,
  healthText,
  outcomeText,
  positionsText,
  profitText,
  settingsText,
  statusText,
  tradesText,
} from "./render.ts";

/** The bot as `getMe` describes it (grammY skips `getMe` when it is given). */
export type BotInfo = NonNullable<ConstructorParameters<typeof Bot>[1]>["botInfo"] & object;

/** What the Telegram bot is configured with. */
export interface TelegramConfig {
  /** The bot token from BotFather (it is part of every request URL; never logged). */
  readonly token: Secret;
  /** The one user id that may command the bot. */
  readonly ownerId: number;
  /** User ids that may only read (status, balance, …). */
  readonly viewerIds?: readonly number[];
  /** The Bot API's root URL, without a trailing slash (default Telegram's). */
  readonly apiRoot?: string;
  /** The bot's `getMe` answer, to skip that call at start (tests always pass it). */
  readonly botInfo?: BotInfo;
  /** The reply language (default English). */
  readonly language?: Language;
  /** Commands older than this are ignored (default 120 s). */
  readonly maxAgeMs?: number;
  /** How long a Confirm button works (default 60 s). */
  readonly confirmTtlMs?: number;
  /** Timeout of each Bot API call (default 30 s). */
  readonly timeoutSeconds?: number;
}

/** What the bot uses. */
export interface TelegramDeps {
  readonly operator: Operator;
  readonly chats: ChatStore;
  readonly clock: Clock;
  readonly log: Logger;
  /** One-time nonces for Confirm buttons (default: 16 random bytes, base64url). */
  readonly newNonce?: () => string;
}

/** The bot: grammY's `Bot` with our handler installed, and ways to feed it updates. */
export interface TelegramBot {
  /** grammY's bot: its `api` sends; each update it handles goes through the rules above. */
  readonly bot: Bot;
  /** Long polling until `signal` aborts (the alternative to the webhook). */
  poll(signal: AbortSignal): Promise<void>;
}

const READ_COMMANDS = new Set([
  "help",
  "start",
  "status",
  "balance",
  "positions",
  "trades",
  "profit",
  "daily",
  "settings",
  "health",
]);

/** How many (sender, reason) pairs the "log once" memory keeps. */
const LOGGED_ONCE_MAX = 1_000;

function randomNonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_")
    .replace(/=+$/, "");
}

/** `12345678` → `****5678`: enough to tell senders apart in a log, not to name them. */
function maskId(id: number | null): string {
  if (id === null) return "none";
  const text = String(id);
  return `${"*".repeat(Math.max(0, text.length - 4))}${text.slice(-4)}`;
}

/** A whole number from `args[0]` within [1, max], `fallback` when absent, null when bad. */
function countArg(args: readonly string[], fallback: number, max: number): number | null {
  if (args.length === 0) return fallback;
  if (args.length > 1 || !/^\d{1,3}$/.test(args[0]!)) return null;
  const n = Number(args[0]);
  return n >= 1 && n <= max ? n : null;
}

/** The Telegram bot over `deps.operator`, configured by `config`. */
export function createTelegramBot(deps: TelegramDeps, config: TelegramConfig): TelegramBot {
  const { operator, chats, clock, log } = deps;
  const t: Messages = messagesOf(config.language ?? "en");
  const newNonce = deps.newNonce ?? randomNonce;
  const confirmTtlMs = config.confirmTtlMs ?? 60_000;
  const bot = new Bot(config.token.reveal(), {
    ...(config.botInfo === undefined ? {} : { botInfo: config.botInfo }),
    client: {
      apiRoot: config.apiRoot ?? "https://api.telegram.org",
      timeoutSeconds: config.timeoutSeconds ?? 30,
      sensitiveLogs: false,
    },
  });
  const loggedOnce = new Set<string>();

  function policy(): AccessPolicy {
    return {
      ownerId: config.ownerId,
      viewerIds: config.viewerIds ?? [],
      botUsername: bot.botInfo.username,
      maxAgeMs: config.maxAgeMs ?? 120_000,
    };
  }

  function ignored(reason: IgnoreReason, userId: number | null): void {
    const key = `${reason}:${userId}`;
    if (loggedOnce.has(key)) return;
    if (loggedOnce.size >= LOGGED_ONCE_MAX) loggedOnce.clear();
    loggedOnce.add(key);
    log.info("telegram: update ignored", { reason, from: maskId(userId) });
  }

  async function send(chatId: number, text: string, extra: object = {}): Promise<void> {
    try {
      await bot.api.sendMessage(chatId, text, extra);
    } catch (error) {
      log.warn("telegram: reply not sent", { error: errorLine(error) });
    }
  }

  async function execute(userId: number, command: OperatorCommand): Promise<string> {
    try {
      return outcomeText(await operator.execute(`telegram:${userId}`, command), t);
    } catch (error) {
      if (error instanceof NoRunRecordError) return t.noRunRecord;
      log.error("telegram: command failed", { error: errorLine(error) });
      return t.failed(errorLine(error));
    }
  }

  async function askConfirmation(
    v: Extract<Verdict, { kind: "command" }>,
    action: PendingConfirmation["action"],
  ): Promise<void> {
    const createdAtMs = clock.nowMs();
    const nonce = newNonce();
    await chats.putConfirmation({
      nonce,
      action,
      userId: v.userId,
      chatId: v.chatId,
      createdAtMs,
      expiresAtMs: createdAtMs + confirmTtlMs,
    });
    const seconds = Math.round(confirmTtlMs / 1000);
    await send(v.chatId, action === "stop" ? t.confirmStop(seconds) : t.confirmSellAll(seconds), {
      reply_markup: {
        inline_keyboard: [[
          { text: t.confirmButton, callback_data: `confirm:${nonce}` },
          { text: t.cancelButton, callback_data: `cancel:${nonce}` },
        ]],
      },
    });
  }

  /** The reply to a reading command. */
  async function read(name: string, args: readonly string[]): Promise<string> {
    const ctx = { t, nowMs: clock.nowMs() };
    switch (name) {
      case "status":
        return statusText(await operator.status(), ctx);
      case "balance":
        return balanceText(await operator.status(), t);
      case "positions":
        return positionsText(await operator.positions(), ctx);
      case "trades": {
        const n = countArg(args, 10, 50);
        return n === null
          ? t.usageTrades
          : tradesText(await operator.recentTrades({ limit: n }), t);
      }
      case "profit":
        return profitText(await operator.status(), t);
      case "daily": {
        const n = countArg(args, 7, 30);
        return n === null ? t.usageDaily : dailyText(await operator.dailyPnl({ days: n }), t);
      }
      case "settings":
        return settingsText(await operator.params(), t);
      case "health":
        return healthText(await operator.status(), ctx);
      default:
        return t.help;
    }
  }

  async function command(v: Extract<Verdict, { kind: "command" }>): Promise<void> {
    if (v.name === "help" || v.name === "start") {
      return await send(v.chatId, v.role === "owner" ? t.help : t.helpViewer);
    }
    if (READ_COMMANDS.has(v.name)) {
      let text: string;
      try {
        text = await read(v.name, v.args);
      } catch (error) {
        if (error instanceof NoRunRecordError) text = t.noRunRecord;
        else {
          log.error("telegram: read failed", { command: v.name, error: errorLine(error) });
          text = t.failed(errorLine(error));
        }
      }
      return await send(v.chatId, text);
    }
    if (!["pause", "resume", "set", "stop", "sell"].includes(v.name)) {
      return await send(v.chatId, t.unknown);
    }
    if (v.role !== "owner") return await send(v.chatId, t.readOnly);
    switch (v.name) {
      case "pause": {
        const reason = v.args.length === 0 ? t.pausedFromTelegram : v.args.join(" ");
        return await send(v.chatId, await execute(v.userId, { kind: "pause", reason }));
      }
      case "resume":
        return await send(v.chatId, await execute(v.userId, { kind: "resume" }));
      case "set": {
        if (v.args.length !== 2) return await send(v.chatId, t.usageSet);
        const [name, value] = v.args as [string, string];
        return await send(v.chatId, await execute(v.userId, { kind: "set", name, value }));
      }
      case "stop":
        return await askConfirmation(v, "stop");
      default: {
        if (v.args.length !== 1) return await send(v.chatId, t.usageSell);
        if (v.args[0]!.toLowerCase() !== "all") return await send(v.chatId, t.sellOneMarket);
        return await askConfirmation(v, "sell_all");
      }
    }
  }

  async function button(v: Extract<Verdict, { kind: "button" }>): Promise<void> {
    const pending = await chats.takeConfirmation(v.nonce, clock.nowMs());
    const mine = pending !== undefined && pending.userId === v.userId &&
      pending.chatId === v.chatId;
    if (!mine) {
      await answer(v.queryId, t.expired);
      return;
    }
    if (v.action === "cancel") {
      await answer(v.queryId, t.cancelled);
      await edit(v, t.cancelled);
      return;
    }
    await answer(v.queryId, t.confirmed(t.actionName[pending.action]));
    const text = await execute(v.userId, { kind: "stop", sell: pending.action === "sell_all" });
    await edit(v, `${t.confirmed(t.actionName[pending.action])}\n${text}`);
  }

  async function answer(queryId: string, text: string): Promise<void> {
    try {
      await bot.api.answerCallbackQuery(queryId, { text });
    } catch (error) {
      log.warn("telegram: button answer not sent", { error: errorLine(error) });
    }
  }

  /** Replaces the text of the message with the buttons (and removes them). */
  async function edit(
    on: { readonly chatId: number; readonly messageId: number },
    text: string,
  ): Promise<void> {
    try {
      await bot.api.editMessageText(on.chatId, on.messageId, text, {
        reply_markup: { inline_keyboard: [] },
      });
    } catch (error) {
      log.warn("telegram: message not edited", { error: errorLine(error) });
    }
  }

  async function handle(update: unknown): Promise<void> {
    const verdict = classifyUpdate(update, policy(), clock.nowMs());
    if (verdict.kind === "ignore") return ignored(verdict.reason, verdict.userId);
    // Claimed before any work: a second delivery of this update runs nothing.
    if (!await chats.claimUpdate(verdict.updateId, clock.nowMs())) {
      log.debug("telegram: duplicate update ignored", { updateId: verdict.updateId });
      return;
    }
    if (verdict.kind === "command") await command(verdict);
    else await button(verdict);
  }

  bot.use((ctx: Context) => handle(ctx.update));
  bot.catch((error) => {
    log.error("telegram: update failed", { error: errorLine(error.error) });
  });

  return {
    bot,
    async poll(signal) {
      if (signal.aborted) return;
      const stop = () => {
        bot.stop().catch((error) => {
          log.warn("telegram: polling did not stop cleanly", { error: errorLine(error) });
        });
      };
      signal.addEventListener("abort", stop, { once: true });
      try {
        await bot.start({ allowed_updates: ["message", "callback_query"] });
      } finally {
        signal.removeEventListener("abort", stop);
      }
    },
  };
}
