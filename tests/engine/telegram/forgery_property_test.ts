/**
 * Forged and replayed updates run no command (reliability.md §6.3 R9), over real HTTP against
 * the webhook of a running bot (a paper exchange holds a position) and the fake Bot API: random
 * sequences of bad or missing secrets, strangers, group chats, mismatched chats, bot senders,
 * stale or future dates, edited messages, replayed update ids, viewers trying to act, button
 * taps from others, in other chats, with unknown, expired or already used nonces, and random
 * JSON. Mixed in, valid confirmed `/stop` and `/sell all` redelivered (also concurrently) and
 * re-tapped: the audit log then holds exactly one command per confirmed one, and nothing else;
 * no stranger is ever answered. Then: a confirmed `/stop`, `/sell all` and `/sell <market>`,
 * each across 20 restarts with duplicate deliveries, run once each.
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
const ACT = fc.constantFrom(
  "/pause forged",
  "/resume",
  "/set stop-loss 3",
  "/stop",
  "/sell all",
  "/sell KRW-BTC",
  "/sell btc",
);

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
  | { readonly kind: "tap_used"; readonly concurrent: boolean }
  | { readonly kind: "garbage"; readonly body: unknown }
  | {
    readonly kind: "confirmed";
    readonly ask: "/stop" | "/sell all";
    readonly replays: number;
  };

/** The audit log's line of each confirmable command. */
const AUDITED = { "/stop": "stop", "/sell all": "stop --sell" } as const;

/** Every kind, each of which the property must have tried often. */
const FORGERY_KINDS: readonly Forgery["kind"][] = [
  "secret",
  "stranger",
  "group",
  "other_chat",
  "bot_sender",
  "stale",
  "edited",
  "replay",
  "viewer",
  "tap_other",
  "tap_group",
  "tap_unknown",
  "tap_expired",
  "tap_used",
  "garbage",
  "confirmed",
];

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
  fc.record({ kind: fc.constant("tap_used" as const), concurrent: fc.boolean() }),
  fc.record({ kind: fc.constant("garbage" as const), body: fc.jsonValue({ maxDepth: 3 }) }),
  fc.record({
    kind: fc.constant("confirmed" as const),
    ask: fc.constantFrom("/stop" as const, "/sell all" as const),
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

/** Asks for a confirmation with a valid `ask`: a pending nonce to forge taps against. */
async function pending(
  t: TgWorld,
  ask: "/stop" | "/sell all" = "/stop",
): Promise<{ nonce: string; messageId: number }> {
  assert.equal(await t.post(message(t, ask)), 200);
  return newestButton(t);
}

/** What one step sent: forged updates (each must run nothing) and the commands it may run. */
interface Sent {
  readonly forged: number;
  readonly runs: readonly string[];
}

const FORGED_ONE: Sent = { forged: 1, runs: [] };

/** Posts `update` and checks the webhook answered `status` (200: taken, and then ignored). */
async function post(t: TgWorld, update: unknown, status = 200): Promise<void> {
  assert.equal(await t.post(update), status);
}

/** Sends one forgery (with what it needs, e.g. a pending confirmation); what it sent. */
async function send(t: TgWorld, f: Forgery, legitId: number): Promise<Sent> {
  switch (f.kind) {
    case "secret":
      assert.equal(await t.post(message(t, f.text), f.secret), 401);
      return FORGED_ONE;
    case "stranger":
      await post(t, message(t, f.text, { from: f.from }));
      return FORGED_ONE;
    case "group":
      await post(t, message(t, f.text, { chatType: f.chatType, chatId: -1001234567890 }));
      return FORGED_ONE;
    case "other_chat":
      await post(t, message(t, f.text, { chatId: f.chatId }));
      return FORGED_ONE;
    case "bot_sender":
      await post(t, message(t, f.text, { isBot: true }));
      return FORGED_ONE;
    case "stale":
      await post(t, message(t, f.text, { agoMs: f.agoMs }));
      return FORGED_ONE;
    case "edited": {
      const { message: m, update_id } = message(t, f.text) as {
        message: unknown;
        update_id: number;
      };
      await post(t, { update_id, edited_message: m });
      return FORGED_ONE;
    }
    case "replay":
      await post(t, message(t, f.text, { updateId: legitId }));
      return FORGED_ONE;
    case "viewer":
      await post(t, message(t, f.text, { from: VIEWER }));
      return FORGED_ONE;
    case "tap_other": {
      const p = await pending(t);
      await post(
        t,
        tap(t, `confirm:${p.nonce}`, { from: f.from, chatId: f.from, messageId: p.messageId }),
      );
      return FORGED_ONE;
    }
    case "tap_group": {
      const p = await pending(t);
      await post(
        t,
        tap(t, `confirm:${p.nonce}`, { chatId: -1001234567890, messageId: p.messageId }),
      );
      return FORGED_ONE;
    }
    case "tap_unknown":
      await post(t, tap(t, `confirm:${f.nonce}`));
      return FORGED_ONE;
    case "tap_expired": {
      const p = await pending(t);
      t.w.clock.set(t.w.clock.nowMs() + 60_001);
      await post(t, tap(t, `confirm:${p.nonce}`, { messageId: p.messageId }));
      return FORGED_ONE;
    }
    case "tap_used": {
      // Cancelled, then tapped Confirm (once, or twice at the same time): nothing runs.
      const p = await pending(t, "/sell all");
      await post(t, tap(t, `cancel:${p.nonce}`, { messageId: p.messageId }));
      const again = () => post(t, tap(t, `confirm:${p.nonce}`, { messageId: p.messageId }));
      if (f.concurrent) await Promise.all([again(), again()]);
      else await again();
      return { forged: f.concurrent ? 2 : 1, runs: [] };
    }
    case "garbage":
      // Whatever the webhook answers (a body that is no update may be an error), nothing runs.
      await t.post(f.body);
      return FORGED_ONE;
    case "confirmed": {
      const p = await pending(t, f.ask);
      const confirm = tap(t, `confirm:${p.nonce}`, { messageId: p.messageId });
      // The tap, delivered twice at once: one of them runs it.
      await Promise.all([post(t, confirm), post(t, confirm)]);
      for (let i = 0; i < f.replays; i++) {
        await post(t, confirm);
        await post(t, tap(t, `confirm:${p.nonce}`, { messageId: p.messageId }));
      }
      return { forged: 1 + 2 * f.replays, runs: [AUDITED[f.ask]] };
    }
  }
}

Deno.test("Telegram forgeries: random forged, replayed and mistimed updates run no command", async () => {
  let forged = 0;
  const kinds = new Map<string, number>();
  await fc.assert(
    fc.asyncProperty(fc.array(FORGERY, { minLength: 1, maxLength: 12 }), async (forgeries) => {
      const t = await tgWorld({ running: true });
      try {
        // One valid, harmless update first: its id is what the replays reuse.
        const legit = message(t, "/status");
        assert.equal(await t.post(legit), 200);
        const runs: string[] = [];
        for (const f of forgeries) {
          const sent = await send(t, f, legit.update_id as number);
          forged += sent.forged;
          runs.push(...sent.runs);
          kinds.set(f.kind, (kinds.get(f.kind) ?? 0) + 1);
        }
        const log = await t.operator.auditLog({ limit: 100 });
        assert.deepEqual(
          log.map((r) => `${r.actor} ${r.command}`).sort(),
          runs.map((c) => `telegram:${OWNER} ${c}`).sort(),
        );
        const status = await t.operator.status();
        assert.equal(status.halted, runs.length > 0);
        assert.equal(status.paused, runs.length > 0, "only a confirmed command pauses");
        assert.equal(status.paramsVersion, 0);
        assert.equal(
          status.markets[0]!.position === null,
          runs.includes("stop --sell"),
          "only a confirmed /sell all sells",
        );
        // Nobody but the owner and the viewer was ever answered.
        for (const c of t.fake.callsOf("sendMessage")) {
          assert.ok([OWNER, VIEWER].includes(Number(c.params.chat_id)), String(c.params.chat_id));
        }
      } finally {
        await t.close();
      }
    }),
    { numRuns: 250 },
  );
  assert.ok(forged >= 1_000, `forged updates sent: ${forged}`);
  for (const kind of FORGERY_KINDS) {
    assert.ok((kinds.get(kind) ?? 0) >= 20, `${kind}: ${kinds.get(kind) ?? 0} runs`);
  }
});

/** Each destructive command: what the audit log records, the pop-up, whether it halts, sells. */
const DESTRUCTIVE = [
  { ask: "/stop", audited: "stop", popup: "Confirmed: emergency stop", halts: true, sells: false },
  {
    ask: "/sell all",
    audited: "stop --sell",
    popup: "Confirmed: stop and sell every position",
    halts: true,
    sells: true,
  },
  {
    ask: "/sell btc",
    audited: "sell KRW-BTC",
    popup: "Confirmed: sell KRW-BTC",
    halts: false,
    sells: true,
  },
] as const;

for (const { ask, audited, popup, halts, sells } of DESTRUCTIVE) {
  Deno.test(`Telegram: a confirmed ${ask} runs once across 20 restarts with duplicate deliveries`, async () => {
    const t = await tgWorld({ running: true });
    try {
      const asked = message(t, ask);
      assert.equal(await t.post(asked), 200);
      const p = newestButton(t);
      const confirm = tap(t, `confirm:${p.nonce}`, { messageId: p.messageId });
      for (let restart = 0; restart < 20; restart++) {
        // The confirmation lives in KV: it survives the restart before its tap.
        await t.restart();
        t.w.clock.set(t.w.clock.nowMs() + 1_000);
        assert.equal(await t.post(asked), 200, `${ask} delivered again`);
        // The Confirm tap delivered twice at once, then again, then tapped anew.
        const both = await Promise.all([t.post(confirm), t.post(confirm)]);
        assert.deepEqual(both, [200, 200]);
        assert.equal(await t.post(confirm), 200);
        assert.equal(await t.post(tap(t, `confirm:${p.nonce}`, { messageId: p.messageId })), 200);
      }
      const log = await t.operator.auditLog({ limit: 100 });
      assert.deepEqual(log.map((r) => [r.actor, r.command, r.result]), [[
        `telegram:${OWNER}`,
        audited,
        "done",
      ]]);
      assert.equal(
        t.fake.callsOf("sendMessage").filter((c) => c.params.reply_markup !== undefined).length,
        1,
        "one question: the redelivered asks ran nothing",
      );
      assert.deepEqual(
        t.fake.callsOf("answerCallbackQuery").map((c) => c.params.text).filter((x) =>
          String(x).startsWith("Confirmed")
        ),
        [popup],
      );
      const status = await t.operator.status();
      assert.equal(status.halted, halts);
      const sales = (await t.w.store.listFills()).filter((f) =>
        f.side === "ask" && f.market === "KRW-BTC"
      );
      assert.equal(sales.length, sells ? 1 : 0, "at most one sale");
      assert.equal(status.markets[0]!.position === null, sells);
    } finally {
      await t.close();
    }
  });
}

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
