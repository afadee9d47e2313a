/** `KvSessionStore`: sessions expire on read, deletes are final, failures count by window. */

import assert from "node:assert/strict";
import { KvSessionStore } from "../../../engine/adapters/kv_session_store.ts";
import { CorruptStateError } from "../../../engine/adapters/kv_stored.ts";
import { webSessionKey } from "../../../engine/kv_keys.ts";
import type { WebSession } from "../../../engine/ports.ts";

const HASH = "a".repeat(64);
const SESSION: WebSession = {
  idHash: HASH,
  csrfToken: "t".repeat(43),
  createdAtMs: 1_000,
  expiresAtMs: 61_000,
};

async function withKv(fn: (kv: Deno.Kv, store: KvSessionStore) => Promise<void>): Promise<void> {
  const kv = await Deno.openKv(":memory:");
  try {
    await fn(kv, new KvSessionStore(kv));
  } finally {
    kv.close();
  }
}

Deno.test("a session reads back until its expiry, then is gone", async () => {
  await withKv(async (_kv, store) => {
    await store.putSession(SESSION);
    assert.deepEqual(await store.getSession(HASH, 60_999), SESSION);
    assert.equal(await store.getSession(HASH, 61_000), undefined);
    assert.equal(await store.getSession("b".repeat(64), 2_000), undefined);
  });
});

Deno.test("a deleted session is gone; deleting twice is fine", async () => {
  await withKv(async (_kv, store) => {
    await store.putSession(SESSION);
    await store.deleteSession(HASH);
    await store.deleteSession(HASH);
    assert.equal(await store.getSession(HASH, 2_000), undefined);
  });
});

Deno.test("a corrupt stored session names its key and field", async () => {
  await withKv(async (kv, store) => {
    await kv.set(webSessionKey(HASH), { v: 1, ...SESSION, expiresAtMs: "soon" });
    await assert.rejects(
      () => store.getSession(HASH, 2_000),
      (e) => e instanceof CorruptStateError && e.field === "expiresAtMs",
    );
  });
});

Deno.test("failed logins count per scope from a time on, up to max", async () => {
  await withKv(async (_kv, store) => {
    for (let i = 0; i < 4; i++) await store.recordLoginFailure(["ip:a", "*"], 1_000 * i);
    await store.recordLoginFailure(["ip:b", "*"], 3_000);
    assert.equal(await store.countLoginFailures("ip:a", { sinceMs: 0, max: 100 }), 4);
    assert.equal(await store.countLoginFailures("ip:a", { sinceMs: 2_000, max: 100 }), 2);
    assert.equal(await store.countLoginFailures("ip:b", { sinceMs: 0, max: 100 }), 1);
    assert.equal(await store.countLoginFailures("*", { sinceMs: 0, max: 100 }), 5);
    assert.equal(await store.countLoginFailures("*", { sinceMs: 0, max: 3 }), 3);
    assert.equal(await store.countLoginFailures("ip:c", { sinceMs: 0, max: 100 }), 0);
    // Two failures in the same millisecond are two.
    await store.recordLoginFailure(["ip:c"], 5_000);
    await store.recordLoginFailure(["ip:c"], 5_000);
    assert.equal(await store.countLoginFailures("ip:c", { sinceMs: 5_000, max: 100 }), 2);
  });
});
