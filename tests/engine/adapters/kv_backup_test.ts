/**
 * The backup file format: every KV value type survives the round trip exactly (a property over
 * random values), a changed, cut or miscounted file is refused with its reason, a restore only
 * writes into an empty store, and the short-lived records are left out.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import {
  BackupError,
  backupText,
  decode,
  encode,
  parseBackup,
  restoreEntries,
  snapshotStore,
} from "../../../engine/adapters/kv_backup.ts";

/** Values Deno KV stores, with the awkward ones (bigint, bytes, `$` keys, -0, NaN). */
const kvValue = fc.letrec((tie) => ({
  leaf: fc.oneof(
    fc.string(),
    fc.double(),
    fc.bigInt(),
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined),
    fc.uint8Array({ maxLength: 8 }),
    fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((n) => new Deno.KvU64(n)),
    fc.date({ noInvalidDate: true }),
  ),
  node: fc.oneof(
    { depthSize: "small" },
    tie("leaf"),
    fc.array(tie("node"), { maxLength: 4 }),
    fc.dictionary(
      fc.oneof(fc.string(), fc.constantFrom("$bigint", "$object", "$u64", "__proto__")),
      tie("node"),
      {
        maxKeys: 4,
        noNullPrototype: true,
      },
    ),
  ),
})).node;

Deno.test("encode/decode keeps -0, NaN, infinities and a __proto__ field", () => {
  const value = { a: [-0, NaN, -Infinity, Infinity], ["__proto__"]: { b: 1n } };
  const back = decode(JSON.parse(JSON.stringify(encode(value))));
  assert.deepStrictEqual(back, value);
  assert.ok(Object.is((back as { a: number[] }).a[0], -0));
});

Deno.test("encode/decode gives back every KV value exactly (property, 500 runs)", () => {
  fc.assert(
    fc.property(kvValue, (value) => {
      const back = decode(JSON.parse(JSON.stringify(encode(value))));
      assert.deepStrictEqual(back, value);
    }),
    { numRuns: 500 },
  );
});

async function withKv<T>(f: (kv: Deno.Kv) => Promise<T>): Promise<T> {
  const kv = await Deno.openKv(":memory:");
  try {
    return await f(kv);
  } finally {
    kv.close();
  }
}

Deno.test("a backup round-trips a store; short-lived records are left out", async () => {
  const text = await withKv(async (kv) => {
    await kv.set(["ledger", "KRW-BTC"], { v: 1, cash: "999.5", qty: 12n });
    await kv.set(["events", 1_700_000_000_000, 7], { v: 1, event: { type: "Started" } });
    await kv.set(["web_session", "abc"], { v: 1 }, { expireIn: 60_000 });
    await kv.set(["chat_update", 5], { v: 1 }, { expireIn: 60_000 });
    return backupText(await snapshotStore(kv), 1_700_000_000_123);
  });
  const parsed = await parseBackup(text);
  assert.equal(parsed.createdAtMs, 1_700_000_000_123);
  assert.deepEqual(parsed.entries.map((e) => e.key), [
    ["events", 1_700_000_000_000, 7],
    ["ledger", "KRW-BTC"],
  ]);
  await withKv(async (kv) => {
    await restoreEntries(kv, parsed.entries);
    assert.deepEqual((await kv.get(["ledger", "KRW-BTC"])).value, {
      v: 1,
      cash: "999.5",
      qty: 12n,
    });
    await assert.rejects(restoreEntries(kv, parsed.entries), /the target store is not empty/);
  });
});

Deno.test("a changed, cut or miscounted backup is refused with the reason", async () => {
  const text = await withKv(async (kv) => {
    await kv.set(["ledger", "KRW-BTC"], { v: 1, cash: "1000" });
    await kv.set(["ledger", "KRW-ETH"], { v: 1, cash: "2000" });
    return backupText(await snapshotStore(kv), 0);
  });
  const refused = async (bad: string, reason: RegExp) => {
    await assert.rejects(
      parseBackup(bad),
      (e) => e instanceof BackupError && reason.test(e.message),
    );
  };
  await refused(text.replace('"1000"', '"9000"'), /^checksum mismatch: .*changed or damaged$/);
  await refused(text.slice(0, text.lastIndexOf("{")), /cut short/);
  await refused(text.slice(0, -1), /cut short \(no final newline\)/);
  await refused(text.replace('"format":"upbit-trader-backup"', '"format":"x"'), /^line 1: not an/);
  await refused("{}\n", /cut short/);
  await refused("not json\n{}\n", /^line 1: not JSON$/);
  // A line dropped, and the checksum recomputed by hand: the count still tells.
  const lines = text.trimEnd().split("\n");
  const body = [lines[0], lines[1]].map((l) => `${l}\n`).join("");
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(body));
  const hex = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
  await refused(
    `${body}${JSON.stringify({ end: true, entries: 2, sha256: hex })}\n`,
    /counts 2 entries: the file has 1/,
  );
});

Deno.test("a listing that a commit falls into is taken again (consistent copy)", async () => {
  await withKv(async (kv) => {
    for (let i = 0; i < 300; i++) await kv.set(["fill", "o", `t${i}`], { v: 1, i });
    await kv.set(["marker"], { v: 1, n: 0 });
    // A writer moving value between two keys while marking each commit, as the store does.
    let stop = false;
    const writer = (async () => {
      let n = 0;
      while (!stop) {
        n++;
        await kv.atomic().set(["a"], { v: 1, n }).set(["z"], { v: 1, n }).set(["marker"], {
          v: 1,
          n,
        }).commit();
        await new Promise((r) => setTimeout(r, 0));
      }
    })();
    try {
      for (let i = 0; i < 20; i++) {
        const entries = await snapshotStore(kv);
        const value = (k: string) =>
          (entries.find((e) => e.key[0] === k)?.value as { n: number } | undefined)?.n;
        assert.equal(value("a"), value("z"), "both sides of one commit, never half of it");
        assert.equal(value("a"), value("marker"));
      }
    } finally {
      stop = true;
      await writer;
    }
  });
});
