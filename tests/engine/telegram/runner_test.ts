/**
 * The Telegram runner against the fake Bot API over real HTTP: the webhook is registered through
 * 5xx answers and a 429, and a refusal is logged once and not retried; long polling waits out a
 * Bot API that is down (one warning, however many failures), polls once it is back, and
 * `close()` ends everything (the sanitizers fail the test on a timer or socket left open).
 */

import assert from "node:assert/strict";
import { KvChatStore } from "../../../engine/adapters/kv_chat_store.ts";
import { KvStore } from "../../../engine/adapters/kv_store.ts";
import { createOperator, EventStream, Secret } from "../../../engine/mod.ts";
import { createTelegramBot, type TelegramBot } from "../../../engine/telegram/mod.ts";
import { registerWebhook, startPolling } from "../../../engine/telegram/runner.ts";
import { StepClock } from "../_trader_fixtures.ts";
import { type FakeBotApi, startFakeBotApi } from "./_fake_bot_api.ts";
import { OWNER, RecordingLogger, SECRET } from "./_harness.ts";

const FAST = { firstDelayMs: 10, maxDelayMs: 40 };

async function withBot(
  fn: (t: { fake: FakeBotApi; telegram: TelegramBot; log: RecordingLogger }) => Promise<void>,
): Promise<void> {
  const kv = await Deno.openKv(":memory:");
  const fake = await startFakeBotApi();
  try {
    const clock = new StepClock();
    const store = new KvStore(kv);
    const log = new RecordingLogger();
    const telegram = createTelegramBot({
      operator: createOperator({ store, clock, notifier: new EventStream(store, clock) }),
      chats: new KvChatStore(kv),
      clock,
      log,
    }, { token: new Secret(fake.token), ownerId: OWNER, apiRoot: fake.apiRoot, timeoutSeconds: 5 });
    await fn({ fake, telegram, log });
  } finally {
    await fake.close();
    kv.close();
  }
}

async function until(what: string, probe: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const messages = (log: RecordingLogger, level: string) =>
  log.lines.filter((l) => l.level === level).map((l) => l.message);

Deno.test("the webhook is registered through 5xx answers, then left alone", async () => {
  await withBot(async ({ fake, telegram, log }) => {
    await fake.setFault({ kind: "fail", status: 502 }, { methods: ["setWebhook"], times: 2 });
    const url = "https://bot.example.com/telegram/webhook";
    const runner = registerWebhook(telegram, {
      url,
      secretToken: new Secret(SECRET),
      log,
      ...FAST,
    });
    try {
      await until("the webhook", () => fake.webhook !== null);
      assert.deepEqual(fake.webhook, { url, secretToken: SECRET });
      assert.equal(fake.callsOf("getMe").length, 1);
      assert.deepEqual(fake.callsOf("setWebhook").map((c) => c.status), [502, 502, 200]);
      await until("the / menu", () => fake.callsOf("setMyCommands").length > 0);
      // The fake records the webhook before the runner has its answer and logs it.
      await until("the log line", () => messages(log, "info").length > 0);
      assert.deepEqual(messages(log, "info"), [
        `telegram: webhook set to ${url} for @upbit_trader_test_bot`,
      ]);
    } finally {
      await runner.close();
    }
    assert.equal(fake.callsOf("setWebhook").length, 3, "nothing more once set");
    assert.equal(fake.callsOf("setMyCommands").length, 1, "the / menu, once");
  });
});

Deno.test("a 429 on setWebhook waits its retry_after, then sets it", async () => {
  await withBot(async ({ fake, telegram, log }) => {
    await fake.setFault({ kind: "rate_limit", retryAfterS: 1 }, {
      methods: ["setWebhook"],
      times: 1,
    });
    const url = "https://bot.example.com/telegram/webhook";
    const runner = registerWebhook(telegram, {
      url,
      secretToken: new Secret(SECRET),
      log,
      ...FAST,
    });
    try {
      await until("the webhook", () => fake.webhook !== null);
      const [limited, set] = fake.callsOf("setWebhook");
      assert.deepEqual([limited!.status, set!.status], [429, 200]);
      assert.ok(set!.atMs - limited!.atMs >= 1_000, "retry_after honoured, not the 10 ms backoff");
    } finally {
      await runner.close();
    }
  });
});

Deno.test("a webhook the Bot API refuses is logged once and not retried", async () => {
  await withBot(async ({ fake, telegram, log }) => {
    const runner = registerWebhook(telegram, {
      url: "http://127.0.0.1:8080/telegram/webhook",
      secretToken: new Secret("not allowed!"),
      log,
      ...FAST,
    });
    try {
      await until("the refusal", () => messages(log, "warn").length > 0);
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(fake.callsOf("setWebhook").length, 1);
      assert.equal(fake.webhook, null);
      const [warning, ...more] = messages(log, "warn");
      assert.deepEqual(more, []);
      assert.match(warning!, /refused the webhook .*unallowed characters.*set WEB_ORIGIN/);
    } finally {
      await runner.close();
    }
  });
});

Deno.test("polling waits out a Bot API that is down, with one warning, then polls", async () => {
  await withBot(async ({ fake, telegram, log }) => {
    await fake.setFault({ kind: "down" });
    const runner = startPolling(telegram, { log, ...FAST });
    try {
      await until("several failed attempts", () => messages(log, "debug").length >= 3);
      assert.deepEqual(messages(log, "warn"), [
        "telegram: cannot reach the Bot API; the bot runs on and retries in the background",
      ]);
      await fake.setFault(null);
      await until("a long poll", () => fake.callsOf("getUpdates").length > 0);
      assert.equal(fake.callsOf("setMyCommands").length, 1, "the / menu, before polling");
      assert.deepEqual(messages(log, "info"), [
        "telegram: the Bot API is reachable again",
        "telegram: polling for updates as @upbit_trader_test_bot",
      ]);
      assert.equal(messages(log, "warn").length, 1);
    } finally {
      await runner.close();
    }
    assert.ok(!telegram.bot.isRunning(), "closed: no poll left running");
  });
});

Deno.test("closing while the Bot API is down ends the retries", async () => {
  await withBot(async ({ fake, telegram, log }) => {
    await fake.setFault({ kind: "down" });
    const runner = startPolling(telegram, { log, firstDelayMs: 60_000 });
    await until("the first failure", () => messages(log, "warn").length === 1);
    await runner.close();
    assert.equal(fake.callsOf("getMe").length, 0);
  });
});
