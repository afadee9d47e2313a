/**
 * One message per state change: the owner's `/pause` and `/resume` get their reply and no
 * notification of the same change (the outbox skips it), while a pause from `ctl` or the page
 * reaches the chat as one notification naming who did it. The bot, the outbox worker and the
 * operator share one store; every message crosses real HTTP to the fake Bot API.
 */

import assert from "node:assert/strict";
import { Api } from "grammy/web";
import { KvChatStore } from "../../../engine/adapters/kv_chat_store.ts";
import { EventStream } from "../../../engine/mod.ts";
import { startOutbox } from "../../../engine/telegram/mod.ts";
import { WALL_CLOCK } from "../../../engine/wall_clock.ts";
import { message, OWNER, type TgWorld, withWorld } from "./_harness.ts";

/** Runs `fn` with the outbox worker following the world's journal into the owner's chat. */
async function withOutbox(t: TgWorld, fn: (caughtUp: () => Promise<void>) => Promise<void>) {
  const stream = new EventStream(t.w.store, WALL_CLOCK);
  const outbox = startOutbox({
    journal: stream,
    cursor: new KvChatStore(t.w.kv),
    api: new Api(t.fake.token, { apiRoot: t.fake.apiRoot, timeoutSeconds: 2 }),
    // The world's time for the texts; real sleeps (the world's clock moves only by hand).
    clock: { nowMs: () => t.w.clock.nowMs(), sleep: (ms, s) => WALL_CLOCK.sleep(ms, s) },
    log: t.log,
  }, { chatId: OWNER, pollMs: 10, firstStartFromMs: 0, closeGraceMs: 300 });
  /** Waits until the worker has handled every journaled event (and a little more). */
  async function caughtUp(): Promise<void> {
    const last = await stream.lastId();
    const deadline = Date.now() + 5_000;
    while (outbox.stats().cursor !== last) {
      assert.ok(Date.now() < deadline, "the outbox catches up");
      await new Promise((r) => setTimeout(r, 5));
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  try {
    await caughtUp();
    await fn(caughtUp);
  } finally {
    await outbox.close();
  }
}

/** What the chat received after `before` messages. */
function newTexts(t: TgWorld, before: number): string[] {
  return t.fake.sentTexts().slice(before);
}

Deno.test("Telegram /pause and /resume: the owner gets one message each (the reply)", async () => {
  await withWorld(async (t) => {
    await withOutbox(t, async (caughtUp) => {
      let before = t.fake.sentTexts().length;
      assert.equal(await t.post(message(t, "/pause lunch")), 200);
      await caughtUp();
      assert.deepEqual(newTexts(t, before), ["Done: paused: lunch\nTrading: paused (lunch)"]);
      before = t.fake.sentTexts().length;
      assert.equal(await t.post(message(t, "/resume")), 200);
      await caughtUp();
      assert.deepEqual(newTexts(t, before), [
        "Done: resumed (orders and balances are reconciled when the bot starts)\nTrading: on",
      ]);
    });
  });
});

Deno.test("a pause from ctl or the page reaches Telegram as one notification naming who", async () => {
  await withWorld(async (t) => {
    await withOutbox(t, async (caughtUp) => {
      let before = t.fake.sentTexts().length;
      await t.operator.execute("ctl", { kind: "pause", reason: "lunch" });
      await caughtUp();
      assert.deepEqual(newTexts(t, before), ["Trading paused: no new entries (lunch) · by ctl"]);
      before = t.fake.sentTexts().length;
      await t.operator.execute("web:abc123", { kind: "resume" });
      await caughtUp();
      assert.deepEqual(newTexts(t, before), ["Trading on: resumed · by web:abc123"]);
      // A command that changed nothing still reaches the chat (as the audit line).
      before = t.fake.sentTexts().length;
      await t.operator.execute("ctl", { kind: "set", name: "stop-loss", value: "4" });
      await caughtUp();
      assert.equal(newTexts(t, before).length, 1);
      assert.match(newTexts(t, before)[0]!, /^Command by ctl: set stop-loss 4: done/);
    });
  });
});

Deno.test("an emergency stop from ctl reaches Telegram as one message: the halt and what it did", async () => {
  await withWorld(async (t) => {
    await withOutbox(t, async (caughtUp) => {
      let before = t.fake.sentTexts().length;
      await t.operator.execute("ctl", { kind: "stop", sell: false });
      await caughtUp();
      assert.deepEqual(newTexts(t, before), [
        "EMERGENCY STOP: no orders until resumed (halted: KRW-BTC: 0 orders cancelled; " +
        "KRW-ETH: 0 orders cancelled) · by ctl",
      ]);
      // With sound, as a pause from ctl (a plain command line would be silent).
      const sent = t.fake.callsOf("sendMessage").filter((c) => c.status === 200).at(-1);
      assert.notEqual(sent?.params.disable_notification, true);
      // From Telegram the owner's reply is the only message.
      before = t.fake.sentTexts().length;
      await t.operator.execute("telegram:" + OWNER, { kind: "resume" });
      await t.operator.execute("telegram:" + OWNER, { kind: "stop", sell: false });
      await caughtUp();
      assert.deepEqual(newTexts(t, before), []);
    });
  }, { running: true });
});
