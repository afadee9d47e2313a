/**
 * Forged and replayed updates run no command (reliability.md §6.3 R9), over real HTTP against
 * the webhook and the fake Bot API: random sequences of bad or missing secrets, strangers,
 * group chats, mismatched chats, bot senders, stale or future dates, edited messages, replayed
 * update ids, viewers trying to act, button taps from others, in other chats, with unknown,
 * expired or used nonces, and random JSON. Mixed in, a valid confirmed `/stop` redelivered and
 * re-tapped: the audit log then holds exactly one stop per confirmed one, and nothing else.
 * Then: one confirmed `/stop` across 20 restarts with duplicate deliveries runs once.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import {
  message,
  OWNER,
  SECRET,
  STRANGER,
  tap,
  type TgWorld,
  tgWorld,
  VIEWER,
} from "./_harness.ts";

/** Commands that would act if they ran. */
const ACT = fc.constantFrom("/pause forged", "/resume", "/set stop-loss 3", "/stop", "/sell all");

type Forgery =
  | { readonly kind: "secret"; readonly secret: string | null; readonly text: string }
  | { readonly kind: "stranger"; readonly from: number; readonly text: string }
  | { readonly kind: "group"; readonly chatType: string; readonly text: string }
  | { readonly kind: "other_chat"; readonly chatId: number; readonly text: string }
  | { readonly kind: "bot_sender"; readonly text: string }
  | { readonly kind: "stale"; readonly agoMs: number; readonly text: string }
  | { readonly kind: "edited"; readonly text: string }
  | { readonly kind: "replay"; readonly text: string }
  | { readonly kind: "viewer"; readonly text: string }
  | { readonly kind: "tap_other"; readonly from: number }
  | { readonly kind: "tap_group" }
  | { readonly kind: "tap_unknown"; readonly nonce: string }
  | { readonly kind: "tap_expired" }
  | { readonly kind: "garbage"; readonly body: unknown }
  | { readonly kind: "confirmed_stop"; readonly replays: number };

const USER = fc.integer({ min: 1, max: 2 ** 40 }).filter((id) => id !== OWNER && id !== VIEWER);

const FORGERY: fc.Arbitrary<Forgery> = fc.oneof(
  fc.record({
    kind: fc.constant("secret" as const),
    secret: fc.oneof(
      fc.constant(null),
      fc.constant(""),
      fc.string({ maxLength: 60 }).filter((s) => s !== SECRET && /^[\x21-\x7e]*$/.test(s)),
      fc.integer({ min: 0, max: SECRET.length - 1 }).map((i) =>
        SECRET.slice(0, i) + (SECRET[i] === "a" ? "b" : "a") + SECRET.slice(i + 1)
      ),
      fc.integer({ min: 1, max: SECRET.length - 1 }).map((n) => SECRET.slice(0, n)),
    ),
    text: ACT,
  }),
  fc.record({ kind: fc.constant("stranger" as const), from: USER, text: ACT }),
  fc.record({
    kind: fc.constant("group" as const),
    chatType: fc.constantFrom("group", "supergroup", "channel"),
    text: ACT,
  }),
  fc.record({
    kind: fc.constant("other_chat" as const),
    chatId: fc.integer({ min: -(2 ** 40), max: 2 ** 40 }).filter((id) => id !== OWNER),
    text: ACT,
  }),
  fc.record({ kind: fc.constant("bot_sender" as const), text: ACT }),
  fc.record({
    kind: fc.constant("stale" as const),
    agoMs: fc.oneof(
      fc.integer({ min: 121_000, max: 30 * 86_400_000 }),
      fc.integer({ min: -30 * 86_400_000, max: -121_000 }),
    ),
    text: ACT,
  }),
  fc.record({ kind: fc.constant("edited" as const), text: ACT }),
  fc.record({ kind: fc.constant("replay" as const), text: ACT }),
  fc.record({ kind: fc.constant("viewer" as const), text: ACT }),
  fc.record({ kind: fc.constant("tap_other" as const), from: fc.oneof(USER, fc.constant(VIEWER)) }),
  fc.record({ kind: fc.constant("tap_group" as const) }),
  fc.record({
    kind: fc.constant("tap_unknown" as const),
    nonce: fc.stringMatching(/^[A-Za-z0-9_-]{16,40}$/),
  }),
  fc.record({ kind: fc.constant("tap_expired" as const) }),
  fc.record({ kind: fc.constant("garbage" as const), body: fc.jsonValue({ maxDepth: 3 }) }),
  fc.record({
    kind: fc.constant("confirmed_stop" as const),
    replays: fc.integer({ min: 1, max: 3 }),
  }),
);

/** The nonce of the newest Confirm button and the message it is on. */
function newestButton(t: TgWorld): { nonce: string; messageId: number } {
  const m = [...t.fake.messages.values()].filter((x) => x.reply_markup !== null).at(-1)!;
  const markup = m.reply_markup as { inline_keyboard: { callback_data: string }[][] };
  return {
    nonce: markup.inline_keyboard[0]![0]!.callback_data.replace(/^confirm:/, ""),
    messageId: m.message_id,
  };
}

/** Asks for a confirmation with a valid `/stop`: a pending nonce to forge taps against. */
async function pending(t: TgWorld): Promise<{ nonce: string; messageId: number }> {
  assert.equal(await t.post(message(t, "/stop")), 200);
  return newestButton(t);
}

/** Sends one forgery; returns how many commands it may legitimately run (its confirmed stops). */
async function send(t: TgWorld, f: Forgery, legitId: number): Promise<number> {
  switch (f.kind) {
    case "secret":
      assert.equal(await t.post(message(t, f.text), f.secret), 401);
      return 0;
    case "stranger":
      assert.equal(await t.post(message(t, f.text, { from: f.from })), 200);
      return 0;
    case "group":
      await t.post(message(t, f.text, { chatType: f.chatType, chatId: -1001234567890 }));
      return 0;
    case "other_chat":
      await t.post(message(t, f.text, { chatId: f.chatId }));
      return 0;
    case "bot_sender":
      await t.post(message(t, f.text, { isBot: true }));
      return 0;
    case "stale":
      await t.post(message(t, f.text, { agoMs: f.agoMs }));
      return 0;
    case "edited": {
      const { message: m, update_id } = message(t, f.text) as {
        message: unknown;
        update_id: number;
      };
      await t.post({ update_id, edited_message: m });
      return 0;
    }
    case "replay":
      await t.post(message(t, f.text, { updateId: legitId }));
      return 0;
    case "viewer":
      await t.post(message(t, f.text, { from: VIEWER }));
      return 0;
    case "tap_other": {
      const p = await pending(t);
      await t.post(
        tap(t, `confirm:${p.nonce}`, { from: f.from, chatId: f.from, messageId: p.messageId }),
      );
      return 0;
    }
    case "tap_group": {
      const p = await pending(t);
      await t.post(
        tap(t, `confirm:${p.nonce}`, { chatId: -1001234567890, messageId: p.messageId }),
      );
      return 0;
    }
    case "tap_unknown":
      await t.post(tap(t, `confirm:${f.nonce}`));
      return 0;
    case "tap_expired": {
      const p = await pending(t);
      t.w.clock.set(t.w.clock.nowMs() + 60_001);
      await t.post(tap(t, `confirm:${p.nonce}`, { messageId: p.messageId }));
      return 0;
    }
    case "garbage":
      await t.post(f.body);
      return 0;
    case "confirmed_stop": {
      const p = await pending(t);
      const confirm = tap(t, `confirm:${p.nonce}`, { messageId: p.messageId });
      assert.equal(await t.post(confirm), 200);
      for (let i = 0; i < f.replays; i++) {
        await t.post(confirm);
        await t.post(tap(t, `confirm:${p.nonce}`, { messageId: p.messageId }));
      }
      return 1;
    }
  }
}

Deno.test("Telegram forgeries: random forged, replayed and mistimed updates run no command", async () => {
  let forged = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(FORGERY, { minLength: 1, maxLength: 12 }), async (forgeries) => {
      const t = await tgWorld();
      try {
        // One valid, harmless update first: its id is what the replays reuse.
        const legit = message(t, "/status");
        assert.equal(await t.post(legit), 200);
        let allowed = 0;
        for (const f of forgeries) {
          allowed += await send(t, f, legit.update_id as number);
          if (f.kind !== "confirmed_stop") forged++;
        }
        const log = await t.operator.auditLog({ limit: 100 });
        assert.deepEqual(
          log.map((r) => [r.actor, r.command]),
          Array(allowed).fill([`telegram:${OWNER}`, "stop"]),
        );
        const status = await t.operator.status();
        assert.equal(status.halted, allowed > 0);
        assert.equal(status.paramsVersion, 0);
        assert.ok(!status.paused || allowed > 0, "only a confirmed stop pauses");
      } finally {
        await t.close();
      }
    }),
    { numRuns: 250 },
  );
  assert.ok(forged >= 1_000, `forged updates sent: ${forged}`);
});

Deno.test("Telegram: a confirmed /stop runs once across 20 restarts with duplicate deliveries", async () => {
  const t = await tgWorld();
  try {
    const ask = message(t, "/stop");
    assert.equal(await t.post(ask), 200);
    const p = newestButton(t);
    const confirm = tap(t, `confirm:${p.nonce}`, { messageId: p.messageId });
    for (let restart = 0; restart < 20; restart++) {
      await t.restart();
      t.w.clock.set(t.w.clock.nowMs() + 1_000);
      assert.equal(await t.post(ask), 200, "the /stop delivered again");
      assert.equal(await t.post(confirm), 200, "the Confirm tap delivered again");
      assert.equal(await t.post(confirm), 200);
      assert.equal(await t.post(tap(t, `confirm:${p.nonce}`, { messageId: p.messageId })), 200);
    }
    const log = await t.operator.auditLog({ limit: 100 });
    assert.deepEqual(log.map((r) => [r.actor, r.command, r.result]), [[
      `telegram:${OWNER}`,
      "stop",
      "done",
    ]]);
    assert.equal(
      t.fake.callsOf("sendMessage").filter((c) => c.params.reply_markup !== undefined).length,
      1,
    );
  } finally {
    await t.close();
  }
});

Deno.test("Telegram: a stranger's message never reaches the store's update log (no memory for them)", async () => {
  const t = await tgWorld();
  try {
    const id = t.nextId();
    assert.equal(await t.post(message(t, "/status", { from: STRANGER, updateId: id })), 200);
    assert.equal(await t.post(message(t, "/status", { updateId: id })), 200);
    assert.equal(t.fake.sentTexts().length, 1, "the owner's update with that id still runs");
  } finally {
    await t.close();
  }
});
