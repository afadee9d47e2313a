/**
 * The fake Bot API speaks the real one's envelopes over real HTTP, as grammY's own client sees
 * them: results, errors with `error_code` and `parameters.retry_after`, long polling, and each
 * fault (fail, 429, time out, down and back up).
 */

import assert from "node:assert/strict";
import { Api, GrammyError, HttpError } from "grammy/web";
import { FAKE_BOT_INFO, type FakeBotApi, startFakeBotApi } from "./_fake_bot_api.ts";

function apiOf(fake: FakeBotApi, timeoutSeconds = 5): Api {
  return new Api(fake.token, {
    apiRoot: fake.apiRoot,
    timeoutSeconds,
  });
}

async function withFake(fn: (fake: FakeBotApi) => Promise<void>): Promise<void> {
  const fake = await startFakeBotApi();
  try {
    await fn(fake);
  } finally {
    await fake.close();
  }
}

async function rejects<E extends Error>(
  p: Promise<unknown>,
  type: new (...a: never[]) => E,
): Promise<E> {
  try {
    await p;
  } catch (error) {
    assert.ok(error instanceof type, `expected ${type.name}, got ${error}`);
    return error;
  }
  assert.fail(`expected ${type.name}, got a result`);
}

Deno.test("fake Bot API: getMe, sendMessage, editMessageText and answerCallbackQuery as Telegram answers them", async () => {
  await withFake(async (fake) => {
    const api = apiOf(fake);
    assert.deepEqual(await api.getMe(), FAKE_BOT_INFO);
    const sent = await api.sendMessage(42, "hello", {
      reply_markup: { inline_keyboard: [[{ text: "Confirm", callback_data: "c:n1" }]] },
    });
    assert.equal(sent.text, "hello");
    assert.equal(sent.chat.id, 42);
    assert.equal(sent.from?.id, FAKE_BOT_INFO.id);
    const edited = await api.editMessageText(42, sent.message_id, "done");
    assert.ok(edited !== true && "text" in edited && edited.text === "done");
    const same = await rejects(api.editMessageText(42, sent.message_id, "done"), GrammyError);
    assert.equal(same.error_code, 400);
    assert.match(same.description, /^Bad Request: message is not modified/);
    assert.equal(await api.answerCallbackQuery("cbq-1", { text: "ok" }), true);
    const empty = await rejects(api.sendMessage(42, " "), GrammyError);
    assert.equal(empty.description, "Bad Request: message text is empty");
    assert.deepEqual(fake.sentTexts(), ["hello"]);
    assert.deepEqual(fake.calls.map((c) => [c.method, c.status]), [
      ["getMe", 200],
      ["sendMessage", 200],
      ["editMessageText", 200],
      ["editMessageText", 400],
      ["answerCallbackQuery", 200],
      ["sendMessage", 400],
    ]);
    assert.deepEqual(fake.messages.get(sent.message_id)?.text, "done");
  });
});

Deno.test("fake Bot API: a wrong token is 401, an unknown method 404, method names case-insensitive", async () => {
  await withFake(async (fake) => {
    const wrong = new Api("1:wrong", { apiRoot: fake.apiRoot });
    const e = await rejects(wrong.getMe(), GrammyError);
    assert.equal(e.error_code, 401);
    assert.equal(e.description, "Unauthorized");
    const res = await fetch(`${fake.apiRoot}/bot${fake.token}/noSuchMethod`, { method: "POST" });
    assert.equal(res.status, 404);
    assert.deepEqual(await res.json(), { ok: false, error_code: 404, description: "Not Found" });
    const form = await fetch(`${fake.apiRoot}/bot${fake.token}/SENDMESSAGE`, {
      method: "POST",
      body: new URLSearchParams({ chat_id: "7", text: "via form" }),
    });
    const body = await form.json();
    assert.equal(body.ok, true);
    assert.equal(body.result.chat.id, 7);
    assert.deepEqual(fake.sentTexts(), ["via form"]);
  });
});

Deno.test("fake Bot API: setWebhook checks the secret's characters; getUpdates is refused while a webhook is set", async () => {
  await withFake(async (fake) => {
    const api = apiOf(fake);
    const bad = await rejects(
      api.setWebhook("https://x.example/tg", { secret_token: "a b" }),
      GrammyError,
    );
    assert.equal(bad.description, "Bad Request: secret token contains unallowed characters");
    assert.equal(fake.webhook, null);
    assert.equal(await api.setWebhook("https://x.example/tg", { secret_token: "s3cret_-X" }), true);
    assert.deepEqual(fake.webhook, { url: "https://x.example/tg", secretToken: "s3cret_-X" });
    const conflict = await rejects(api.getUpdates(), GrammyError);
    assert.equal(conflict.error_code, 409);
    assert.equal(await api.deleteWebhook(), true);
    assert.equal(fake.webhook, null);
    assert.deepEqual(await api.getUpdates(), []);
  });
});

Deno.test("fake Bot API: long polling waits for an update, an offset confirms the earlier ones, a newer poll ends the older", async () => {
  await withFake(async (fake) => {
    const api = apiOf(fake);
    const waiting = api.getUpdates({ timeout: 5 });
    await new Promise((r) => setTimeout(r, 50));
    const id = fake.queueUpdate({
      message: { message_id: 1, date: 0, chat: { id: 1, type: "private" }, text: "/help" },
    });
    const got = await waiting;
    assert.deepEqual(got.map((u) => u.update_id), [id]);
    fake.queueUpdate({ update_id: id + 1 });
    assert.deepEqual((await api.getUpdates({ offset: id })).map((u) => u.update_id), [id, id + 1]);
    assert.deepEqual((await api.getUpdates({ offset: id + 1 })).map((u) => u.update_id), [id + 1]);
    assert.deepEqual(await api.getUpdates({ offset: id + 2 }), []);
    const older = api.getUpdates({ offset: id + 2, timeout: 5 });
    await new Promise((r) => setTimeout(r, 50));
    const newer = api.getUpdates({ offset: id + 2, timeout: 1 });
    const ended = await rejects(older, GrammyError);
    assert.equal(ended.error_code, 409);
    assert.match(ended.description, /terminated by other getUpdates request/);
    assert.deepEqual(await newer, []);
  });
});

Deno.test("fake Bot API faults: 5xx, 429 with retry_after, limited to some methods and calls", async () => {
  await withFake(async (fake) => {
    const api = apiOf(fake);
    await fake.setFault({ kind: "fail", status: 502 }, { methods: ["sendMessage"], times: 1 });
    const fail = await rejects(api.sendMessage(1, "a"), GrammyError);
    assert.equal(fail.error_code, 502);
    assert.equal((await api.sendMessage(1, "b")).text, "b", "only the next call");
    await fake.setFault({ kind: "rate_limit", retryAfterS: 7 }, { methods: ["sendMessage"] });
    const limited = await rejects(api.sendMessage(1, "c"), GrammyError);
    assert.equal(limited.error_code, 429);
    assert.equal(limited.description, "Too Many Requests: retry after 7");
    assert.deepEqual(limited.parameters, { retry_after: 7 });
    assert.equal(await api.answerCallbackQuery("q"), true, "other methods pass");
    await fake.setFault(null);
    assert.equal((await api.sendMessage(1, "d")).text, "d");
    assert.deepEqual(fake.sentTexts(), ["b", "d"]);
    assert.deepEqual(fake.callsOf("sendMessage").map((c) => [c.status, c.fault]), [
      [502, "fail"],
      [200, null],
      [429, "rate_limit"],
      [200, null],
    ]);
  });
});

Deno.test("fake Bot API faults: a time-out is never answered; down refuses connections, then it listens again", async () => {
  await withFake(async (fake) => {
    const api = apiOf(fake, 1);
    await fake.setFault({ kind: "timeout" });
    const late = await rejects(api.sendMessage(1, "lost"), HttpError);
    assert.match(late.message, /Network request for 'sendMessage' failed/);
    assert.equal(fake.callsOf("sendMessage")[0]!.status, 0, "never answered");
    await fake.setFault({ kind: "down" });
    const down = await rejects(api.sendMessage(1, "refused"), HttpError);
    assert.match(down.message, /Network request for 'sendMessage' failed/);
    assert.equal(fake.callsOf("sendMessage").length, 1, "nothing arrived while down");
    const root = fake.apiRoot;
    await fake.setFault(null);
    assert.equal(fake.apiRoot, root, "back on the same port");
    assert.equal((await api.sendMessage(1, "back")).text, "back");
    assert.deepEqual(fake.sentTexts(), ["back"]);
  });
});
