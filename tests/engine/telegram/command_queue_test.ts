/**
 * The Telegram command queue through real HTTP and a real KV: the webhook answers once the
 * update's claim and command record are committed, before the command runs; a record left by a
 * process that stopped before running it runs once in the next process; duplicates and replays
 * add no run; a record too old when its turn comes is dropped with one log line; a record the
 * worker cannot read holds it up with one error line until it is repaired.
 */

import assert from "node:assert/strict";
import { KvChatStore } from "../../../engine/adapters/kv_chat_store.ts";
import { chatCommandKey } from "../../../engine/kv_keys.ts";
import type { Operator, OperatorCommand } from "../../../engine/mod.ts";
import { message, tap, type TgWorld, tgWorld } from "./_harness.ts";

/** The waiting command records' update ids. */
async function waiting(t: TgWorld): Promise<number[]> {
  return (await new KvChatStore(t.w.kv).listCommands(100)).map((r) => r.request.updateId);
}

/** The audit log's commands, sorted (commands run at one clock time share a timestamp). */
async function audited(t: TgWorld): Promise<string[]> {
  return (await t.operator.auditLog({ limit: 100 })).map((r) => r.command).sort();
}

/** The Bot API methods the bot called since call `from`, in order. */
function methods(t: TgWorld, from = 0): string[] {
  return t.fake.calls.slice(from).map((c) => c.method);
}

/** The newest message with buttons: its Confirm nonce and id. */
function newestButton(t: TgWorld): { nonce: string; messageId: number } {
  const m = [...t.fake.messages.values()].filter((x) => x.reply_markup !== null).at(-1)!;
  const markup = m.reply_markup as { inline_keyboard: { callback_data: string }[][] };
  return {
    nonce: markup.inline_keyboard[0]![0]!.callback_data.replace(/^confirm:/, ""),
    messageId: m.message_id,
  };
}

async function until(what: string, probe: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

Deno.test("Telegram: the webhook answers before the command runs (a held-up command delays no answer)", async () => {
  const events: string[] = [];
  let entered = false;
  const gate = Promise.withResolvers<void>();
  const held = (operator: Operator): Operator => {
    const wrapped: Operator = Object.create(operator);
    wrapped.execute = async (actor, command) => {
      entered = true;
      await gate.promise;
      const outcome = await operator.execute(actor, command);
      events.push(`executed ${(command as OperatorCommand).kind}`);
      return outcome;
    };
    return wrapped;
  };
  // grammY's own time limit far off, so that it cannot answer in the command's place.
  const t = await tgWorld({ wrapOperator: held, timeoutMs: 60_000 });
  try {
    const pause = message(t, "/pause held");
    const answer = t.postOnly(pause).then((status) => (events.push("answered"), status));
    await until("the worker inside the command", () => entered);
    // Only liveness: an answer that waited for the command comes after this release, and the
    // order below shows it.
    const release = setTimeout(() => gate.resolve(), 3_000);
    assert.equal(await answer, 200);
    clearTimeout(release);
    assert.deepEqual(events, ["answered"], "answered while the command was still held");
    assert.deepEqual(t.fake.sentTexts(), []);
    assert.deepEqual(await audited(t), []);
    // A second command queues behind the held one, and is answered at once too.
    assert.equal(await t.postOnly(message(t, "/resume")), 200);
    events.push("answered");
    assert.deepEqual(await waiting(t), [
      pause.update_id as number,
      (pause.update_id as number) + 1,
    ]);
    gate.resolve();
    await t.telegram.settled();
    assert.deepEqual(events, ["answered", "answered", "executed pause", "executed resume"]);
    assert.deepEqual(await audited(t), ["pause: held", "resume"]);
    assert.equal(t.fake.sentTexts().length, 2, "one reply each, in order");
    assert.match(t.fake.sentTexts()[0]!, /^Done: paused: held/);
    assert.deepEqual(await waiting(t), [], "each record deleted once done");
  } finally {
    gate.resolve();
    await t.close();
  }
});

Deno.test("Telegram: commands recorded by a process that stopped before running them run once after the restart", async () => {
  const t = await tgWorld({ running: true });
  try {
    // The first process asks for a confirmation; the next one never runs its worker.
    assert.equal(await t.post(message(t, "/stop")), 200);
    const button = newestButton(t);
    await t.restart({ worker: false });
    const pause = message(t, "/pause before the crash");
    const confirm = tap(t, `confirm:${button.nonce}`, { messageId: button.messageId });
    assert.equal(await t.post(pause), 200);
    assert.equal(await t.post(confirm), 200);
    assert.equal(await t.post(confirm), 200, "delivered again");
    assert.deepEqual(await waiting(t), [pause.update_id, confirm.update_id]);
    assert.deepEqual(await audited(t), [], "nothing ran");
    const repliesBefore = t.fake.sentTexts().length;
    const callsBefore = t.fake.calls.length;
    // A new process over the same store resumes the records, in order, once.
    await t.restart();
    await t.telegram.settled();
    assert.deepEqual(await audited(t), ["pause: before the crash", "stop"]);
    assert.deepEqual(methods(t, callsBefore), [
      "sendMessage",
      "answerCallbackQuery",
      "editMessageText",
    ]);
    assert.deepEqual(await waiting(t), []);
    assert.equal(t.fake.sentTexts().length, repliesBefore + 1, "the pause's reply");
    assert.deepEqual(
      t.fake.callsOf("answerCallbackQuery").map((c) => c.params.text),
      ["Confirmed: emergency stop"],
    );
    assert.equal((await t.operator.status()).halted, true);
    // More restarts and redeliveries run nothing more.
    for (let i = 0; i < 3; i++) {
      await t.restart();
      assert.equal(await t.post(pause), 200);
      assert.equal(await t.post(confirm), 200);
    }
    assert.deepEqual(await audited(t), ["pause: before the crash", "stop"]);
    assert.equal(t.fake.callsOf("answerCallbackQuery").length, 1);
  } finally {
    await t.close();
  }
});

Deno.test("Telegram: duplicate and replayed updates add no command run, whether queued, running or done", async () => {
  const t = await tgWorld({ noWorker: true });
  try {
    const pause = message(t, "/pause once");
    const status = message(t, "/status");
    // Racing deliveries while nothing runs: one record each.
    const first = await Promise.all(
      [pause, pause, pause, status, status].map((u) => t.postOnly(u)),
    );
    assert.deepEqual(first, [200, 200, 200, 200, 200]);
    assert.deepEqual(await waiting(t), [pause.update_id, status.update_id]);
    await t.restart();
    await t.telegram.settled();
    // Replays once done, and while a newer command queues.
    const resume = message(t, "/resume");
    const again = await Promise.all([pause, resume, status, resume].map((u) => t.post(u)));
    assert.deepEqual(again, [200, 200, 200, 200]);
    assert.deepEqual(await audited(t), ["pause: once", "resume"]);
    assert.equal(t.fake.sentTexts().length, 3, "one reply per command");
    assert.deepEqual(await waiting(t), []);
  } finally {
    await t.close();
  }
});

Deno.test("Telegram: a command record older than 10 minutes when its turn comes is dropped, logged once", async () => {
  const t = await tgWorld({ noWorker: true });
  try {
    const pause = message(t, "/pause late");
    assert.equal(await t.post(pause), 200);
    t.w.clock.set(t.w.clock.nowMs() + 10 * 60_000 + 1_000);
    const fresh = message(t, "/resume");
    assert.equal(await t.post(fresh), 200);
    await t.restart();
    await t.telegram.settled();
    assert.deepEqual(await audited(t), ["resume"], "the fresh one ran, the stale one did not");
    assert.deepEqual(await waiting(t), []);
    const dropped = t.log.lines.filter((l) => l.message === "telegram: command dropped as stale");
    assert.deepEqual(dropped.map((l) => l.data), [{ updateId: pause.update_id, ageS: 601 }]);
    assert.equal(await t.post(pause), 200, "and its redelivery runs nothing");
    assert.deepEqual(await audited(t), ["resume"]);
  } finally {
    await t.close();
  }
});

Deno.test("Telegram: /sell's record is deleted before it asks: a process stopped mid-question never asks twice", async () => {
  const t = await tgWorld({ running: true, noWorker: true, apiTimeoutSeconds: 1 });
  try {
    assert.equal(await t.post(message(t, "/sell btc")), 200);
    await t.fake.setFault({ kind: "timeout" }, { methods: ["sendMessage"] });
    await t.restart();
    await until("the question under way", () => t.fake.callsOf("sendMessage").length === 1);
    assert.deepEqual(await waiting(t), [], "deleted before asking");
    // The process stops while its question hangs; the next one has nothing left to run.
    await t.restart();
    await t.fake.setFault(null);
    await t.telegram.settled();
    assert.equal(t.fake.callsOf("sendMessage").length, 1, "not asked again");
    assert.deepEqual(await audited(t), [], "asking runs no operator command");
  } finally {
    await t.close();
  }
});

Deno.test("Telegram: a command worker that cannot read its records logs one error and goes on once it can", async () => {
  const t = await tgWorld();
  try {
    await t.w.kv.set(chatCommandKey(1), { v: 1, request: { kind: "command" } });
    const pause = message(t, "/pause after the repair");
    assert.equal(await t.postOnly(pause), 200);
    const failed = () =>
      t.log.lines.filter((l) => l.message.startsWith("telegram: command worker"));
    await until("a few failed turns", () => failed().length >= 2);
    assert.deepEqual(await audited(t), []);
    await t.w.kv.delete(chatCommandKey(1));
    await t.telegram.settled();
    assert.deepEqual(await audited(t), ["pause: after the repair"]);
    const lines = failed();
    assert.equal(lines.filter((l) => l.level === "error").length, 1, "one error line");
    assert.match(String(lines[0]!.data?.error), /\["chat_command", 1\]/);
  } finally {
    await t.close();
  }
});
