import assert from "node:assert/strict";
import { KvChatStore } from "../../../engine/adapters/kv_chat_store.ts";
import { CorruptStateError } from "../../../engine/adapters/kv_stored.ts";
import { chatCommandKey, chatConfirmKey } from "../../../engine/kv_keys.ts";
import type { ChatCommandRecord, PendingConfirmation } from "../../../engine/ports.ts";

const C: PendingConfirmation = {
  nonce: "n0nce-0123456789abcdef",
  action: "stop",
  userId: 42,
  chatId: 42,
  createdAtMs: 1_000,
  expiresAtMs: 61_000,
};

/** A `/pause` from user 42 as update `updateId`. */
function pause(updateId: number, receivedAtMs = 1_000): ChatCommandRecord {
  return {
    request: {
      kind: "command",
      updateId,
      userId: 42,
      chatId: 42,
      role: "owner",
      name: "pause",
      args: ["why"],
    },
    receivedAtMs,
  };
}

Deno.test("KvChatStore.enqueueCommand() claims an update id once, even when deliveries race", async () => {
  using kv = await Deno.openKv(":memory:");
  const store = new KvChatStore(kv);
  const claims = await Promise.all(
    Array.from({ length: 20 }, () => store.enqueueCommand(pause(7))),
  );
  assert.equal(claims.filter((c) => c).length, 1);
  assert.equal(await store.enqueueCommand(pause(7, 2_000)), false);
  assert.equal(await new KvChatStore(kv).enqueueCommand(pause(7)), false, "a restart remembers");
  await store.deleteCommand(7);
  assert.equal(await store.enqueueCommand(pause(7)), false, "the claim outlives the record");
  assert.equal(await store.enqueueCommand(pause(8)), true);
  assert.deepEqual(await store.listCommands(10), [pause(8)]);
});

Deno.test("KvChatStore: command records come back in update-id order, bounded, and go once deleted", async () => {
  using kv = await Deno.openKv(":memory:");
  const store = new KvChatStore(kv);
  for (const id of [30, 10, 20]) assert.ok(await store.enqueueCommand(pause(id)));
  const tap: ChatCommandRecord = {
    request: {
      kind: "button",
      updateId: 40,
      userId: 42,
      chatId: 42,
      queryId: "q-1",
      messageId: 5,
      action: "confirm",
      nonce: C.nonce,
    },
    receivedAtMs: 1_500,
  };
  assert.ok(await store.enqueueCommand(tap));
  assert.deepEqual(
    (await new KvChatStore(kv).listCommands(10)).map((r) => r.request.updateId),
    [10, 20, 30, 40],
  );
  assert.deepEqual(await store.listCommands(2), [pause(10), pause(20)]);
  await store.deleteCommand(10);
  await store.deleteCommand(99);
  assert.deepEqual((await store.listCommands(10)).map((r) => r.request.updateId), [20, 30, 40]);
  // Taking the tap's nonce deletes its record in the same commit.
  await store.putConfirmation(C);
  assert.deepEqual(await store.takeConfirmation(C.nonce, 5_000, 40), C);
  assert.deepEqual((await store.listCommands(10)).map((r) => r.request.updateId), [20, 30]);
  assert.ok(!JSON.stringify(await store.listCommands(10)).includes("token"));
});

Deno.test("KvChatStore: a damaged command record names its key and field", async () => {
  using kv = await Deno.openKv(":memory:");
  await kv.set(chatCommandKey(7), { v: 1, receivedAtMs: 1, request: { kind: "command" } });
  await assert.rejects(
    new KvChatStore(kv).listCommands(10),
    (e: unknown) =>
      e instanceof CorruptStateError && /^store key \["chat_command", 7\]/.test(e.message),
  );
});

Deno.test("KvChatStore.takeConfirmation() gives a confirmation once, and never after it expired", async () => {
  using kv = await Deno.openKv(":memory:");
  const store = new KvChatStore(kv);
  await store.putConfirmation(C);
  const taken = await Promise.all(
    Array.from({ length: 10 }, () => store.takeConfirmation(C.nonce, 5_000)),
  );
  assert.deepEqual(taken.filter((c) => c !== undefined), [C]);
  assert.equal(await store.takeConfirmation(C.nonce, 5_000), undefined);
  await store.putConfirmation({ ...C, nonce: "other-0123456789abcdef" });
  assert.equal(
    await store.takeConfirmation("other-0123456789abcdef", 61_001),
    undefined,
    "expired",
  );
  assert.equal(
    await store.takeConfirmation("other-0123456789abcdef", 5_000),
    undefined,
    "and gone",
  );
  assert.equal(await store.takeConfirmation("never-0123456789abcdef", 5_000), undefined);
});

Deno.test("KvChatStore: a damaged confirmation names its key and field", async () => {
  using kv = await Deno.openKv(":memory:");
  await kv.set(chatConfirmKey(C.nonce), { ...C, v: 1, action: "explode" });
  await assert.rejects(
    new KvChatStore(kv).takeConfirmation(C.nonce, 5_000),
    (e: unknown) =>
      e instanceof CorruptStateError &&
      /^store key \["chat_confirm", "n0nce-0123456789abcdef"\], field action: /.test(e.message),
  );
});

Deno.test("the outbox cursor: none at first, then the last id set, kept across a reopen", async () => {
  const dir = await Deno.makeTempDir();
  try {
    let kv = await Deno.openKv(`${dir}/chat.kv`);
    assert.equal(await new KvChatStore(kv).getOutboxCursor(), undefined);
    await new KvChatStore(kv).setOutboxCursor("1764892800000-123000");
    await new KvChatStore(kv).setOutboxCursor("1764892800001-123001");
    kv.close();
    kv = await Deno.openKv(`${dir}/chat.kv`);
    assert.equal(await new KvChatStore(kv).getOutboxCursor(), "1764892800001-123001");
    // A value that is not a journal id is refused on read.
    await kv.set(["chat_outbox_cursor"], { v: 1, id: "yesterday" });
    await assert.rejects(() => new KvChatStore(kv).getOutboxCursor(), CorruptStateError);
    kv.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
