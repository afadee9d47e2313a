/**
 * The KV lease at start-up, on a real local store: a remote store (a URL) refuses while another
 * process's lease is live, with one line naming it and until when, and without writing; a local
 * store (guarded by its file lock) takes a live lease left by a killed process over, with a
 * warning.
 */

import assert from "node:assert/strict";
import { acquireLease, readLease } from "../../../engine/adapters/kv_lease.ts";
import { StartRefusal } from "../../../engine/adapters/kv_store.ts";
import { isRemoteStore, refuseLiveLease, takeStoreLease } from "../../../engine/cli/store_lease.ts";
import { createLogger } from "../../../engine/log.ts";
import { WALL_CLOCK } from "../../../engine/wall_clock.ts";

async function withStoreFile(fn: (kv: Deno.Kv) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "store_lease_" });
  const kv = await Deno.openKv(`${dir}/bot.kv`);
  try {
    await fn(kv);
  } finally {
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
}

function logged(): { logger: ReturnType<typeof createLogger>; lines: string[] } {
  const lines: string[] = [];
  const logger = createLogger({
    format: "pretty",
    write: (line) => lines.push(line),
    nowMs: () => 0,
    level: "debug",
  });
  return { logger, lines };
}

Deno.test("isRemoteStore() tells a KV Connect URL from a file", () => {
  assert.equal(isRemoteStore("https://kv.example.com:4512"), true);
  assert.equal(isRemoteStore("http://127.0.0.1:4512"), true);
  assert.equal(isRemoteStore("./data/bot.kv"), false);
  assert.equal(isRemoteStore(":memory:"), false);
});

Deno.test("a remote store refuses a start while another process's lease is live, writing nothing", async () => {
  await withStoreFile(async (kv) => {
    const other = await acquireLease(kv, { clock: WALL_CLOCK, label: "pid 4242" });
    assert.ok(other.ok);
    const before = (await readLease(kv))!.versionstamp;
    const expected = new RegExp(
      "DENO_KV_PATH: another process holds this store's KV lease: pid 4242 \\(lease epoch 1, " +
        "until \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\); one process per store \\(stop that bot, or if it " +
        "is gone start again once its lease has expired\\)$",
    );
    await assert.rejects(() => refuseLiveLease(kv, "DENO_KV_PATH"), (e: Error) => {
      assert.ok(e instanceof StartRefusal);
      assert.match(e.message, expected);
      return true;
    });
    const { logger } = logged();
    await assert.rejects(
      () =>
        takeStoreLease(kv, {
          kvPath: "https://kv.example.com:4512",
          label: "DENO_KV_PATH",
          pid: 7,
          logger,
        }),
      expected,
    );
    assert.equal((await readLease(kv))!.versionstamp, before, "the refusal wrote nothing");
    // Once released, the next process starts at once.
    await other.value.release();
    await refuseLiveLease(kv, "DENO_KV_PATH");
    const mine = await takeStoreLease(kv, {
      kvPath: "https://kv.example.com:4512",
      label: "DENO_KV_PATH",
      pid: 7,
      logger,
    });
    assert.equal(mine.record.label, "pid 7");
    assert.equal(mine.record.epoch, 2);
    await mine.release();
  });
});

Deno.test("a local store takes a lease left live by a killed process over, with a warning", async () => {
  await withStoreFile(async (kv) => {
    // The killed process never released its lease (the store's file lock is free again).
    assert.ok((await acquireLease(kv, { clock: WALL_CLOCK, label: "pid 4242" })).ok);
    const { logger, lines } = logged();
    const mine = await takeStoreLease(kv, {
      kvPath: "./data/bot.kv",
      label: "--kv",
      pid: 7,
      logger,
      timing: { ttlMs: 20_000, renewEveryMs: 1_000 },
    });
    assert.equal(mine.record.epoch, 2);
    assert.equal(mine.record.expiresAtMs - mine.record.acquiredAtMs, 20_000);
    assert.match(
      lines.join(""),
      /WARN took over the KV lease of pid 4242 \(lease epoch 1, until [^)]+\): that process is gone/,
    );
    await mine.release();
  });
});
