import assert from "node:assert/strict";
import { KvChatStore } from "../../../engine/adapters/kv_chat_store.ts";
import { CorruptStateError } from "../../../engine/adapters/kv_stored.ts";
import { chatConfirmKey } from "../../../engine/kv_keys.ts";
import type { PendingConfirmation } from "../../../engine/ports.ts";

const C: PendingConfirmation = {
  nonce: "n0nce-0123456789abcdef",
  action: "stop",
  userId: 42,
  chatId: 42,
  createdAtMs: 1_000,
  expiresAtMs: 61_000,
};

Deno.test("KvChatStore.claimUpdate() claims an update id once, even when deliveries race", async () => {
  using kv = await Deno.openKv(":memory:");
  const store = new KvChatStore(kv);
  const claims = await Promise.all(Array.from({ length: 20 }, () => store.claimUpdate(7, 1_000)));
  assert.equal(claims.filter((c) => c).length, 1);
  assert.equal(await store.claimUpdate(7, 2_000), false);
  assert.equal(await new KvChatStore(kv).claimUpdate(7, 3_000), false, "a restart remembers");
  assert.equal(await store.claimUpdate(8, 1_000), true);
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
