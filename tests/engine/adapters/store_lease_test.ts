/**
 * The KV lease at start-up, on a real local store: a remote store (a URL) refuses while another
 * process renews its lease, with one line naming it and until when, and without writing; it waits
 * out a lease nobody renews; a local
 * store (guarded by its file lock) takes a live lease left by a killed process over, with a
 * warning.
 */

import assert from "node:assert/strict";
import { acquireLease, LEASE_TTL_MS, readLease } from "../../../engine/adapters/kv_lease.ts";
import { StartRefusal } from "../../../engine/adapters/kv_store.ts";
import {
  isRemoteStore,
  refuseLiveLease,
  takeStoreLease,
} from "../../../engine/adapters/store_lease.ts";
import { createLogger } from "../../../engine/log.ts";
import { WALL_CLOCK } from "../../../engine/wall_clock.ts";
import type { Clock } from "../../../engine/ports.ts";
import { ManualClock, T0_MS } from "../_order_fixtures.ts";

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

const REMOTE = "https://kv.example.com:4512";

Deno.test("a remote store refuses a start while the lease's holder renews it, writing nothing", async () => {
  await withStoreFile(async (kv) => {
    const clock = new ManualClock();
    const held = await acquireLease(kv, { clock, label: "pid 4242" });
    assert.ok(held.ok);
    const other = held.value;
    // The holder runs: it renews while the new start waits (every 10 s of its clock).
    let waited = 0;
    const watching: Clock = {
      nowMs: () => clock.now,
      sleep: async (ms) => {
        waited += ms;
        clock.now += ms;
        if (waited >= 10_000) {
          waited = 0;
          await other.renew();
        }
      },
    };
    const { logger, lines } = logged();
    await assert.rejects(
      () => refuseLiveLease(kv, { label: "DENO_KV_PATH", logger, clock: watching }),
      (e: Error) => {
        assert.ok(e instanceof StartRefusal);
        assert.match(
          e.message,
          new RegExp(
            "^DENO_KV_PATH: another process holds this store's KV lease and renews it: pid 4242 " +
              "\\(lease epoch 1, until \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\); one process per store " +
              "\\(stop that bot first\\)$",
          ),
        );
        return true;
      },
    );
    assert.match(lines.join(""), /WARN the store's KV lease is held by pid 4242 .*waiting for it/);
    assert.ok(clock.now - T0_MS >= 10_000 && clock.now - T0_MS <= 11_000, "refused at the renewal");
    const before = (await readLease(kv))!;
    assert.equal(before.versionstamp, other.versionstamp, "the waiting start wrote nothing");
    // Once released, the next process starts at once.
    await other.release();
    await refuseLiveLease(kv, { label: "DENO_KV_PATH", logger, clock: watching });
    const mine = await takeStoreLease(kv, {
      kvPath: REMOTE,
      label: "DENO_KV_PATH",
      pid: 7,
      logger,
    });
    assert.equal(mine.record.label, "pid 7");
    assert.equal(mine.record.epoch, 2);
    await mine.release();
  });
});

Deno.test("a remote store's start waits out a lease nobody renews (its holder died), then takes it", async () => {
  await withStoreFile(async (kv) => {
    const clock = new ManualClock(Date.now());
    assert.ok((await acquireLease(kv, { clock, label: "pid 4242" })).ok);
    const { logger } = logged();
    const startMs = clock.now;
    await refuseLiveLease(kv, { label: "DENO_KV_PATH", logger, clock });
    assert.equal(clock.now - startMs, LEASE_TTL_MS, "waited exactly until the expiry");
    const { logger: quiet } = logged();
    const mine = await takeStoreLease(kv, {
      kvPath: REMOTE,
      label: "DENO_KV_PATH",
      pid: 7,
      logger: quiet,
      clock,
    });
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
