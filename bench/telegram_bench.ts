/**
 * Telegram webhook bench: how long the bot's webhook takes to answer Telegram, with the fake
 * Bot API up (real HTTP both ways on 127.0.0.1, a file-backed Deno KV, the operator of a running
 * paper bot). The clock runs from the request leaving to its answer arriving, sequentially:
 *
 * - owner commands (`/status`, `/balance`, `/positions`, `/health` in turn): the access rules
 *   and the one KV commit of the update-id claim and the command record happen before the
 *   webhook answers; the bot's command worker runs the command (read models, `sendMessage` to
 *   the fake) after it, and every reply is counted at the end;
 * - ignored updates (a stranger's command): the access rules only, nothing stored or sent.
 */

import { upperQuantile } from "./stats.ts";
import { WALL_CLOCK } from "../engine/wall_clock.ts";
import { KvChatStore } from "../engine/adapters/kv_chat_store.ts";
import { KvStore } from "../engine/adapters/kv_store.ts";
import { PaperExchange } from "../engine/adapters/paper_exchange.ts";
import { unitsFromNumber } from "../engine/core/money.ts";
import { createLogger, LogRing } from "../engine/log.ts";
import { createOperator } from "../engine/operator/mod.ts";
import { Secret } from "../engine/secret.ts";
import { createTelegramBot, createTelegramRoutes, WEBHOOK_PATH } from "../engine/telegram/mod.ts";
import { PAPER_RUN, seedPaperStore } from "../tests/engine/_operator_world.ts";
import { bookAt } from "../tests/engine/_trader_fixtures.ts";
import { FAKE_BOT_INFO, startFakeBotApi } from "../tests/engine/telegram/_fake_bot_api.ts";

/** Bench results, milliseconds. */
export interface TelegramBench {
  readonly commands: number;
  readonly commandP50Ms: number;
  readonly commandP99Ms: number;
  readonly ignoredP99Ms: number;
}

const OWNER = 111_222_333;
const STRANGER = 987_654_321;
const SECRET = "bench-webhook-secret_0123456789abcdefXYZ";

/** Posts `n` owner commands and `n` ignored updates to the webhook, one at a time. */
export async function benchTelegramWebhook(n = 1_000): Promise<TelegramBench> {
  const dir = await Deno.makeTempDir({ prefix: "tg-bench-" });
  const kv = await Deno.openKv(`${dir}/bot.kv`);
  const fake = await startFakeBotApi();
  const store = new KvStore(kv);
  await seedPaperStore(store, PAPER_RUN, "4100000");
  const exchange = new PaperExchange({
    book: (market) => bookAt(market, 103_000_000, Date.now()),
    nowMs: () => Date.now(),
    balances: { KRW: unitsFromNumber(1_810_000), BTC: unitsFromNumber(0.002) },
  });
  const operator = createOperator({
    store,
    clock: WALL_CLOCK,
    notifier: { notify() {} },
    exchange,
  });
  const logs = new LogRing();
  const log = createLogger({
    format: "json",
    write: () => {},
    nowMs: () => Date.now(),
    secrets: [fake.token, SECRET],
    recent: logs,
  });
  const telegram = createTelegramBot(
    { operator, chats: new KvChatStore(kv), clock: WALL_CLOCK, log, logs },
    {
      token: new Secret(fake.token),
      ownerId: OWNER,
      apiRoot: fake.apiRoot,
      botInfo: FAKE_BOT_INFO,
    },
  );
  const worker = telegram.startWorker();
  const app = createTelegramRoutes(telegram, { secretToken: new Secret(SECRET), log });
  const listening = Promise.withResolvers<number>();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: (a) => listening.resolve(a.port) },
    app.fetch,
  );
  const url = `http://127.0.0.1:${await listening.promise}${WEBHOOK_PATH}`;
  let updateId = 1_000;
  async function post(from: number, text: string): Promise<number> {
    const update = {
      update_id: ++updateId,
      message: {
        message_id: updateId,
        from: { id: from, is_bot: false, first_name: "Bench" },
        chat: { id: from, type: "private" },
        date: Math.floor(Date.now() / 1000),
        text,
      },
    };
    const start = performance.now();
    const res = await fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "X-Telegram-Bot-Api-Secret-Token": SECRET,
      },
      body: JSON.stringify(update),
    });
    await res.body?.cancel();
    const ms = performance.now() - start;
    if (res.status !== 200) throw new Error(`webhook answered ${res.status}`);
    return ms;
  }
  const commands = ["/status", "/balance", "/positions", "/health"];
  try {
    for (let i = 0; i < 50; i++) await post(OWNER, commands[i % commands.length]!);
    const answered: number[] = [];
    const ignored: number[] = [];
    for (let i = 0; i < n; i++) {
      answered.push(await post(OWNER, commands[i % commands.length]!));
      ignored.push(await post(STRANGER, "/stop"));
    }
    await telegram.settled();
    const sent = fake.callsOf("sendMessage").length;
    if (sent !== n + 50) throw new Error(`expected ${n + 50} replies, the fake got ${sent}`);
    answered.sort((a, b) => a - b);
    ignored.sort((a, b) => a - b);
    return {
      commands: n,
      commandP50Ms: upperQuantile(answered, 0.5),
      commandP99Ms: upperQuantile(answered, 0.99),
      ignoredP99Ms: upperQuantile(ignored, 0.99),
    };
  } finally {
    await server.shutdown();
    await worker.close();
    await fake.close();
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  const r = await benchTelegramWebhook();
  Deno.stdout.writeSync(new TextEncoder().encode(JSON.stringify(r) + "\n"));
}
