/**
 * A Telegram test world: the operator over a paper store (two markets, one position, one day of
 * fills), the bot pointed at the fake Bot API, its webhook route served on `127.0.0.1:0`, and
 * builders of the updates Telegram posts. Everything crosses real HTTP both ways. With
 * `running`, the operator is a running bot's: a paper exchange holding the store's position, so
 * `/sell` and `/stop` really cancel and sell. The bot logs through a real logger (redacting the
 * token, the webhook secret and `CANARY`) into the `LogRing` that `/logs` reads. Each boot starts
 * the bot's command worker (unless told not to) and `post` waits until it ran what it recorded.
 */

import { KvChatStore } from "../../../engine/adapters/kv_chat_store.ts";
import { PaperExchange } from "../../../engine/adapters/paper_exchange.ts";
import { unitsFromNumber } from "../../../engine/core/money.ts";
import { createLogger, type LogData, type Logger, LogRing } from "../../../engine/log.ts";
import { createOperator, type Operator } from "../../../engine/mod.ts";
import { Secret } from "../../../engine/secret.ts";
import {
  createTelegramBot,
  createTelegramRoutes,
  type Language,
  type TelegramBot,
  WEBHOOK_PATH,
} from "../../../engine/telegram/mod.ts";
import { PAPER_RUN, seedPaperStore } from "../_operator_world.ts";
import { bookAt, T0_MS, type World, world } from "../_trader_fixtures.ts";
import { FAKE_BOT_INFO, type FakeBotApi, startFakeBotApi } from "./_fake_bot_api.ts";

/** The owner's user id (and private chat id). */
export const OWNER = 111_222_333;
/** A read-only viewer. */
export const VIEWER = 444_555_666;
/** Someone else. */
export const STRANGER = 987_654_321;
/** The webhook's secret token. */
export const SECRET = "s3cr3t-webhook-token_0123456789abcdefXYZ";
/** A configured secret that must never show in `/logs` (or anything else the bot sends). */
export const CANARY = "canary-9f8e7d6c5b4a-never-show-me";
/** The markets' prices on the paper exchange's book. */
const PRICES: Readonly<Record<string, number>> = { "KRW-BTC": 103_000_000, "KRW-ETH": 4_100_000 };

/** A logger that keeps every line. */
export class RecordingLogger implements Logger {
  readonly lines: { level: string; message: string; data: LogData | undefined }[] = [];
  debug(message: string, data?: LogData): void {
    this.lines.push({ level: "debug", message, data });
  }
  info(message: string, data?: LogData): void {
    this.lines.push({ level: "info", message, data });
  }
  warn(message: string, data?: LogData): void {
    this.lines.push({ level: "warn", message, data });
  }
  error(message: string, data?: LogData): void {
    this.lines.push({ level: "error", message, data });
  }
}

/** Everything a Telegram test touches. */
export interface TgWorld {
  readonly w: World;
  readonly fake: FakeBotApi;
  readonly operator: Operator;
  readonly telegram: TelegramBot;
  readonly log: RecordingLogger;
  /** The process's logger (into `ring`, redacting the token, the secret and `CANARY`). */
  readonly appLog: Logger;
  /** The newest log lines, as `/logs` reads them. */
  readonly ring: LogRing;
  /** The paper exchange of a `running` world. */
  readonly exchange: PaperExchange | undefined;
  /** The webhook's URL. */
  readonly url: string;
  /**
   * Posts `update` to the webhook (with the secret unless told otherwise); the HTTP status, once
   * the command worker (when it runs) has run what the post recorded.
   */
  post(update: unknown, secret?: string | null): Promise<number>;
  /** Posts `update` with the secret; the HTTP status, without waiting for the worker. */
  postOnly(update: unknown): Promise<number>;
  /** The next update id. */
  nextId(): number;
  /** Telegram's `date` for a message sent `agoMs` before the clock's now. */
  date(agoMs?: number): number;
  /**
   * Stops the bot's process and starts a new one over the same store (a restart), with its
   * command worker unless `worker` is false.
   */
  restart(options?: { readonly worker?: boolean }): Promise<void>;
  close(): Promise<void>;
}

/** Runs `fn` in a fresh world (built with `options`), closing it afterwards. */
export async function withWorld(
  fn: (t: TgWorld) => Promise<void>,
  options: Parameters<typeof tgWorld>[0] = {},
): Promise<void> {
  const t = await tgWorld(options);
  try {
    await fn(t);
  } finally {
    await t.close();
  }
}

/** Starts a world: store with fills, operator (of a stopped bot), fake Bot API, bot, webhook. */
export async function tgWorld(
  options: {
    readonly language?: Language;
    readonly timeoutMs?: number;
    /** Long polling instead of the webhook (the route is then not built: grammY allows one). */
    readonly polling?: boolean;
    /** The bot's Bot API call timeout (default 5 s). */
    readonly apiTimeoutSeconds?: number;
    /** A running bot's operator (with a paper exchange holding the position). */
    readonly running?: boolean;
    /** Give the bot no log ring (`/logs` then says so). */
    readonly noRing?: boolean;
    /** Start the first process without its command worker (records wait in KV). */
    readonly noWorker?: boolean;
    /** Wraps each process's operator (e.g. to hold a command up). */
    readonly wrapOperator?: (operator: Operator) => Operator;
    /** The bot's own clock runs this far ahead of the wall clock (the demo's sandbox). */
    readonly dataAheadMs?: number;
  } = {},
): Promise<TgWorld> {
  const w = await world();
  await seedPaperStore(w.store, PAPER_RUN, "4100000");
  w.clock.set(T0_MS + 600_000);
  const fake = await startFakeBotApi();
  const log = new RecordingLogger();
  const ring = new LogRing({ capacity: 100 });
  const appLog = createLogger({
    format: "json",
    write: () => {},
    nowMs: () => w.clock.nowMs(),
    secrets: [fake.token, SECRET, CANARY],
    level: "debug",
    recent: ring,
  });
  const both: Logger = {
    debug: (m, d) => (log.debug(m, d), appLog.debug(m, d)),
    info: (m, d) => (log.info(m, d), appLog.info(m, d)),
    warn: (m, d) => (log.warn(m, d), appLog.warn(m, d)),
    error: (m, d) => (log.error(m, d), appLog.error(m, d)),
  };
  const exchange = options.running === true
    ? new PaperExchange({
      book: (market) => bookAt(market, PRICES[market] ?? 1_000, w.clock.nowMs()),
      nowMs: () => w.clock.nowMs(),
      balances: {
        KRW: unitsFromNumber(1_810_000),
        BTC: unitsFromNumber(0.002),
      },
      feeBps: 5,
    })
    : undefined;
  let nonces = 0;
  /** A process start: a new operator, bot and webhook server over the same store and fake. */
  async function boot(withWorker: boolean) {
    const created = createOperator({
      store: w.store,
      clock: w.clock,
      notifier: w.notifier,
      ...(exchange === undefined ? {} : { exchange }),
    });
    const operator = options.wrapOperator?.(created) ?? created;
    const telegram = createTelegramBot(
      {
        operator,
        chats: new KvChatStore(w.kv),
        clock: w.clock,
        ...(options.dataAheadMs === undefined ? {} : {
          dataClock: {
            nowMs: () => w.clock.nowMs() + options.dataAheadMs!,
            sleep: (ms: number, signal?: AbortSignal) => w.clock.sleep(ms, signal),
          },
        }),
        log: both,
        newNonce: () => `nonce-${String(++nonces).padStart(12, "0")}`,
        ...(options.noRing === true ? {} : { logs: ring }),
      },
      {
        token: new Secret(fake.token),
        ownerId: OWNER,
        viewerIds: [VIEWER],
        apiRoot: fake.apiRoot,
        botInfo: FAKE_BOT_INFO,
        ...(options.language === undefined ? {} : { language: options.language }),
        timeoutSeconds: options.apiTimeoutSeconds ?? 5,
      },
    );
    const app = options.polling === true
      ? { fetch: () => new Response(null, { status: 404 }) }
      : createTelegramRoutes(telegram, {
        secretToken: new Secret(SECRET),
        log,
        ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      });
    let port = 0;
    const listening = Promise.withResolvers<void>();
    const server = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      onListen: (addr) => {
        port = addr.port;
        listening.resolve();
      },
    }, app.fetch);
    await listening.promise;
    const worker = withWorker ? telegram.startWorker() : undefined;
    return { operator, telegram, server, worker, url: `http://127.0.0.1:${port}${WEBHOOK_PATH}` };
  }
  let running = await boot(options.noWorker !== true);
  async function shutdown(): Promise<void> {
    await running.server.shutdown();
    await running.worker?.close();
  }
  async function postIt(update: unknown, secret: string | null): Promise<number> {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (secret !== null) headers["X-Telegram-Bot-Api-Secret-Token"] = secret;
    const res = await fetch(running.url, {
      method: "POST",
      headers,
      body: JSON.stringify(update),
    });
    await res.body?.cancel();
    return res.status;
  }
  let id = 500_000;
  return {
    w,
    fake,
    get operator() {
      return running.operator;
    },
    get telegram() {
      return running.telegram;
    },
    log,
    appLog,
    ring,
    exchange,
    get url() {
      return running.url;
    },
    async post(update, secret = SECRET) {
      const status = await postIt(update, secret);
      if (running.worker !== undefined) await running.telegram.settled();
      return status;
    },
    postOnly: (update) => postIt(update, SECRET),
    nextId: () => ++id,
    date: (agoMs = 0) => Math.floor((w.clock.nowMs() - agoMs) / 1000),
    async restart(o = {}) {
      await shutdown();
      running = await boot(o.worker ?? true);
    },
    async close() {
      await shutdown();
      await fake.close();
      w.kv.close();
    },
  };
}

/** A text message update. */
export function message(
  t: TgWorld,
  text: string,
  o: {
    readonly from?: number;
    readonly chatId?: number;
    readonly chatType?: string;
    readonly agoMs?: number;
    readonly updateId?: number;
    readonly isBot?: boolean;
  } = {},
): Record<string, unknown> {
  const from = o.from ?? OWNER;
  return {
    update_id: o.updateId ?? t.nextId(),
    message: {
      message_id: Math.floor(Math.random() * 1e6),
      from: { id: from, is_bot: o.isBot ?? false, first_name: "Someone" },
      chat: { id: o.chatId ?? from, type: o.chatType ?? "private" },
      date: t.date(o.agoMs ?? 0),
      text,
      ...(text.startsWith("/")
        ? { entities: [{ type: "bot_command", offset: 0, length: text.split(" ")[0]!.length }] }
        : {}),
    },
  };
}

/** A button tap on message `messageId` of `chatId`. */
export function tap(
  t: TgWorld,
  data: string,
  o: {
    readonly from?: number;
    readonly chatId?: number;
    readonly messageId?: number;
    readonly updateId?: number;
  } = {},
): Record<string, unknown> {
  const from = o.from ?? OWNER;
  return {
    update_id: o.updateId ?? t.nextId(),
    callback_query: {
      id: `cbq-${Math.floor(Math.random() * 1e9)}`,
      from: { id: from, is_bot: false, first_name: "Someone" },
      chat_instance: "ci",
      data,
      message: {
        message_id: o.messageId ?? 1,
        date: t.date(),
        chat: { id: o.chatId ?? OWNER, type: "private" },
        text: "confirm?",
      },
    },
  };
}
