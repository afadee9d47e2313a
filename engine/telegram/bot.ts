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
 * 2. the claim and the command record (`ChatStore.enqueueCommand`): one atomic commit keeps the
 *    update id (a duplicate delivery or a replayed request stores nothing and runs nothing) and
 *    the request as a KV command record. The webhook (or the poll) is answered right after it;
 * 3. the command worker (`startWorker`, one per process): it takes the records in update-id
 *    order, one at a time, runs each and deletes it, and at start resumes the records an
 *    earlier process left (a crash after the claim runs the command after the restart). A
 *    record older than 10 minutes when its turn comes is dropped with one log line.
 *    `/stop`, `/sell all` and `/sell <market>` only store a one-time nonce (expiring in 60 s)
 *    and ask for a Confirm button; the tap takes the nonce atomically, so one confirmation runs
 *    one command.
 *
 * When each record is deleted, so that a crash between the work and the delete never runs an
 * operator command twice:
 * - reading commands, `/help`, `/pause`, `/resume`, `/set`: after the reply (a re-run after a
 *   crash repeats a reply or sets the same state again: idempotent);
 * - `/stop` and `/sell` (which ask for a confirmation): before asking (a re-run would ask twice);
 * - a Confirm or Cancel tap: in the same commit that takes its nonce, before the operator runs
 *   (at most once; a crash before the commit runs the tap after the restart).
 *
 * Replies go through their own `Api` with `retryReplyOnce`: one more try after a 429 (waiting
 * its `retry_after`, up to 5 s) or a 5xx (after 1 s), so one slow reply holds the queue up only
 * so long; a reply still not sent is logged. Notifications are the outbox worker's, on
 * `bot.api`, with its own retries.
 */

import { Api, Bot, type Context } from "grammy/web";
import type { ChatCommandRecord, ChatStore, Clock, PendingConfirmation } from "../ports.ts";
import type { Logger } from "../log.ts";
import type { Secret } from "../secret.ts";
import {
  dayStartOfDate,
  errorLine,
  NoRunRecordError,
  type Operator,
  type OperatorCommand,
} from "../mod.ts";
import { type AccessPolicy, classifyUpdate, type IgnoreReason, type Verdict } from "./access.ts";
import { type Language, type Messages, messagesOf } from "./messages.ts";
import { retryReplyOnce } from "./reply_retry.ts";
import {
  balanceText,
  dailyText,
  healthText,
  logsText,
  outcomeText,
  positionsText,
  profitText,
  reportText,
  sellQuestion,
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
  /** The wall clock: Telegram's dates, the Confirm buttons' expiry, stale commands. */
  readonly clock: Clock;
  /**
   * The bot's own clock, for ages and uptime in the replies (the demo's sandbox runs ahead of the
   * wall clock); default `clock`.
   */
  readonly dataClock?: Clock;
  readonly log: Logger;
  /** One-time nonces for Confirm buttons (default: 16 random bytes, base64url). */
  readonly newNonce?: () => string;
  /** The process's newest log lines, redacted (the logger's `LogRing`); `/logs` reads them. */
  readonly logs?: { recent(n: number): readonly string[] };
}

/** The running command worker. */
export interface CommandWorker {
  readonly name: string;
  /** Stops it once the command it runs (if any) is done. */
  close(): Promise<void>;
}

/** The bot: grammY's `Bot` with our handler installed, and ways to feed it updates. */
export interface TelegramBot {
  /** grammY's bot: its `api` sends; each update it handles goes through the rules above. */
  readonly bot: Bot;
  /** Long polling until `signal` aborts (the alternative to the webhook). */
  poll(signal: AbortSignal): Promise<void>;
  /**
   * Fills Telegram's "/" menu: every command in the owner's chat, the reading ones in each
   * viewer's (nobody else sees any). Best effort: a refusal is logged, never thrown.
   */
  setCommands(signal?: AbortSignal): Promise<void>;
  /** Starts the one command worker (it first runs the records a previous process left). */
  startWorker(): CommandWorker;
  /** Resolves once the running worker found no command record waiting (tests). */
  settled(): Promise<void>;
}

/** One entry of Telegram's "/" menu. */
export interface MenuCommand {
  readonly command: string;
  readonly description: string;
}

/** The menu of a help text's `/name …` lines: one entry per name (`/sell`'s lines joined). */
export function commandMenu(help: string): MenuCommand[] {
  const menu = new Map<string, string[]>();
  for (const line of help.split("\n")) {
    const m = /^\/([a-z_]{1,32})\s+(?:- )?(.+)$/.exec(line);
    if (m !== null) menu.set(m[1]!, [...(menu.get(m[1]!) ?? []), m[2]!]);
  }
  return [...menu].map(([command, parts]) => ({
    command,
    description: parts.join("; ").slice(0, 256),
  }));
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
  "report",
  "settings",
  "health",
  "logs",
]);

/** Reading commands for the owner only (log lines say more than the figures). */
const OWNER_READS = new Set(["logs"]);

/** `btc`, `KRW-btc` → `KRW-BTC`; null when it cannot be a KRW market. */
function marketArg(arg: string): string | null {
  const upper = arg.toUpperCase();
  const market = upper.startsWith("KRW-") ? upper : `KRW-${upper}`;
  return /^KRW-[A-Z0-9]{1,15}$/.test(market) ? market : null;
}

/** A command record older than this when its turn comes is dropped as stale. */
const COMMAND_MAX_AGE_MS = 10 * 60_000;

/** The arguments a command record keeps (the first 32, each cut to 200 characters). */
const MAX_ARGS = 32;
const MAX_ARG_LENGTH = 200;

/** Command records read per turn of the worker. */
const COMMAND_BATCH = 100;

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
  const dataClock = deps.dataClock ?? clock;
  const t: Messages = messagesOf(config.language ?? "en");
  const newNonce = deps.newNonce ?? randomNonce;
  const confirmTtlMs = config.confirmTtlMs ?? 60_000;
  const client = {
    apiRoot: config.apiRoot ?? "https://api.telegram.org",
    timeoutSeconds: config.timeoutSeconds ?? 30,
    sensitiveLogs: false,
  };
  const bot = new Bot(config.token.reveal(), {
    ...(config.botInfo === undefined ? {} : { botInfo: config.botInfo }),
    client,
  });
  const replies = new Api(config.token.reveal(), client);
  replies.config.use(retryReplyOnce({ maxDelayMs: 5_000 }));
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
      await replies.sendMessage(chatId, text, extra);
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

  /** Stores a one-time nonce for `what` and sends `question` with Confirm and Cancel buttons. */
  async function askConfirmation(
    v: Extract<Verdict, { kind: "command" }>,
    what: Pick<PendingConfirmation, "action" | "market">,
    question: (seconds: number) => string,
  ): Promise<void> {
    const createdAtMs = clock.nowMs();
    const nonce = newNonce();
    await chats.putConfirmation({
      nonce,
      ...what,
      userId: v.userId,
      chatId: v.chatId,
      createdAtMs,
      expiresAtMs: createdAtMs + confirmTtlMs,
    });
    await send(v.chatId, question(Math.round(confirmTtlMs / 1000)), {
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
    const ctx = { t, nowMs: dataClock.nowMs() };
    switch (name) {
      case "status": {
        const [status, health] = await Promise.all([operator.status(), operator.health()]);
        return statusText(status, ctx, health.lastError);
      }
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
      case "report": {
        if (args.length > 1 || (args[0] !== undefined && dayStartOfDate(args[0]) === undefined)) {
          return t.report.usage;
        }
        return reportText(await operator.dailyReport(args[0]), t);
      }
      case "settings":
        return settingsText(await operator.params(), t);
      case "health": {
        const [status, health] = await Promise.all([operator.status(), operator.health()]);
        return healthText(status, health, ctx);
      }
      case "logs": {
        const n = countArg(args, 20, 100);
        if (n === null) return t.usageLogs;
        return deps.logs === undefined ? t.noLogs : logsText(deps.logs.recent(n), t);
      }
      default:
        return t.help;
    }
  }

  async function command(v: Extract<Verdict, { kind: "command" }>): Promise<void> {
    if (v.name === "help" || v.name === "start") {
      return await send(v.chatId, v.role === "owner" ? t.help : t.helpViewer);
    }
    if (READ_COMMANDS.has(v.name)) {
      if (OWNER_READS.has(v.name) && v.role !== "owner") return await send(v.chatId, t.readOnly);
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
        return await askConfirmation(v, { action: "stop" }, t.confirmStop);
      default:
        return await sell(v);
    }
  }

  /** `/sell all` or `/sell <market>`: checks what there is to sell, then asks to confirm. */
  async function sell(v: Extract<Verdict, { kind: "command" }>): Promise<void> {
    const arg = v.args.length === 1 ? v.args[0]! : "";
    if (arg.toLowerCase() === "all") {
      return await askConfirmation(v, { action: "sell_all" }, t.confirmSellAll);
    }
    const market = marketArg(arg);
    if (market === null) return await send(v.chatId, t.usageSell);
    let status;
    try {
      status = await operator.status();
    } catch (error) {
      if (error instanceof NoRunRecordError) return await send(v.chatId, t.noRunRecord);
      log.error("telegram: read failed", { command: "sell", error: errorLine(error) });
      return await send(v.chatId, t.failed(errorLine(error)));
    }
    const m = status.markets.find((x) => x.market === market);
    if (m === undefined) {
      return await send(v.chatId, t.notTraded(market, status.markets.map((x) => x.market)));
    }
    if (m.position === null) return await send(v.chatId, t.nothingToSell(market));
    const question = sellQuestion(m, { t, nowMs: dataClock.nowMs() });
    return await askConfirmation(v, { action: "sell", market }, question);
  }

  async function button(v: Extract<Verdict, { kind: "button" }>): Promise<void> {
    const pending = await chats.takeConfirmation(v.nonce, clock.nowMs(), v.updateId);
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
    const what = pending.action === "sell"
      ? t.sellName(pending.market ?? "")
      : t.actionName[pending.action];
    await answer(v.queryId, t.confirmed(what));
    const command: OperatorCommand = pending.action === "sell"
      ? { kind: "sell", market: pending.market ?? "" }
      : { kind: "stop", sell: pending.action === "sell_all" };
    const text = await execute(v.userId, command);
    await edit(v, `${t.confirmed(what)}\n${text}`);
  }

  async function answer(queryId: string, text: string): Promise<void> {
    try {
      await replies.answerCallbackQuery(queryId, { text });
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
      await replies.editMessageText(on.chatId, on.messageId, text, {
        reply_markup: { inline_keyboard: [] },
      });
    } catch (error) {
      log.warn("telegram: message not edited", { error: errorLine(error) });
    }
  }

  async function handle(update: unknown): Promise<void> {
    const verdict = classifyUpdate(update, policy(), clock.nowMs());
    if (verdict.kind === "ignore") return ignored(verdict.reason, verdict.userId);
    // The claim and the record in one commit: a second delivery of this update stores nothing.
    // No command takes more than a line of arguments: a record stays far below KV's 64 KiB.
    const request = verdict.kind === "command"
      ? { ...verdict, args: verdict.args.slice(0, MAX_ARGS).map((a) => a.slice(0, MAX_ARG_LENGTH)) }
      : verdict;
    if (!await chats.enqueueCommand({ request, receivedAtMs: clock.nowMs() })) {
      log.debug("telegram: duplicate update ignored", { updateId: verdict.updateId });
      return;
    }
    wakeWorker();
  }

  /** Runs one command record and deletes it (when: see the file's comment). */
  async function run({ request, receivedAtMs }: ChatCommandRecord): Promise<void> {
    const ageMs = clock.nowMs() - receivedAtMs;
    if (ageMs > COMMAND_MAX_AGE_MS) {
      await chats.deleteCommand(request.updateId);
      log.warn("telegram: command dropped as stale", {
        updateId: request.updateId,
        ageS: Math.round(ageMs / 1000),
      });
      return;
    }
    if (request.kind === "button") await button(request);
    else if (request.name === "stop" || request.name === "sell") {
      await chats.deleteCommand(request.updateId);
      await command(request);
    } else await command(request);
    await chats.deleteCommand(request.updateId);
  }

  let wakeWorker = (): void => {};
  let waiters: (() => void)[] = [];
  let working = false;

  function startWorker(): CommandWorker {
    if (working) throw new Error("the Telegram command worker runs already");
    working = true;
    const stop = new AbortController();
    // Each wait leaves nothing behind: a race against one long-lived "stopped" promise would
    // keep a reaction per wait for the life of the worker.
    function untilStopped(promise: Promise<unknown>): Promise<void> {
      return new Promise((resolve) => {
        if (stop.signal.aborted) return resolve();
        const onStop = () => resolve();
        stop.signal.addEventListener("abort", onStop, { once: true });
        promise.then(() => {
          stop.signal.removeEventListener("abort", onStop);
          resolve();
        });
      });
    }
    const done = (async () => {
      let failures = 0;
      while (!stop.signal.aborted) {
        const woken = Promise.withResolvers<void>();
        wakeWorker = woken.resolve;
        // Only a listing that started after a `settled()` call may answer it.
        const due = waiters;
        waiters = [];
        try {
          const records = await chats.listCommands(COMMAND_BATCH);
          if (records.length === 0) {
            failures = 0;
            for (const resolve of due) resolve();
            await untilStopped(woken.promise);
            continue;
          }
          waiters.unshift(...due);
          for (const record of records) {
            if (stop.signal.aborted) break;
            await run(record);
          }
          failures = 0;
        } catch (error) {
          waiters.unshift(...due);
          // A store that keeps failing: one error line, then debug lines until it works again.
          if (failures++ === 0) {
            log.error("telegram: command worker failed; retrying every second", {
              error: errorLine(error),
            });
          } else log.debug("telegram: command worker still failing", { error: errorLine(error) });
          let timer: ReturnType<typeof setTimeout> | undefined;
          await untilStopped(new Promise((r) => timer = setTimeout(r, 1_000)));
          clearTimeout(timer);
        }
      }
    })();
    return {
      name: "telegram commands",
      async close() {
        stop.abort();
        await done;
        working = false;
        wakeWorker = () => {};
      },
    };
  }

  bot.use((ctx: Context) => handle(ctx.update));
  bot.catch((error) => {
    log.error("telegram: update failed", { error: errorLine(error.error) });
  });

  async function setCommands(signal?: AbortSignal): Promise<void> {
    const owner = commandMenu(t.help);
    const viewer = owner.filter((c) => READ_COMMANDS.has(c.command) && !OWNER_READS.has(c.command));
    const chats = [
      { chatId: config.ownerId, commands: owner },
      ...(config.viewerIds ?? []).map((chatId) => ({ chatId, commands: viewer })),
    ];
    for (const { chatId, commands } of chats) {
      try {
        await bot.api.setMyCommands(
          commands,
          { scope: { type: "chat", chat_id: chatId } },
          signal as Parameters<typeof bot.api.setMyCommands>[2],
        );
      } catch (error) {
        if (signal?.aborted === true) return;
        log.warn("telegram: command menu not set", {
          chat: maskId(chatId),
          error: errorLine(error),
        });
      }
    }
  }

  return {
    bot,
    setCommands,
    startWorker,
    settled() {
      return new Promise<void>((resolve) => {
        waiters.push(resolve);
        wakeWorker();
      });
    },
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
