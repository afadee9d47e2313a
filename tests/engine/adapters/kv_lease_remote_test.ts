/**
 * The KV lease over KV Connect: Deno's own remote client (`Deno.openKv("http://…")`) against a
 * small KV Connect server (`_kv_connect_server.ts`, a stand-in for `denokv`, which cannot be
 * installed here). Two clients, two "hosts": a stalled holder is taken over and its intent
 * refused; a holder cut off by a partition gives its lease up before it expires even though its
 * renewal hangs, the other takes the lease after the expiry, and when the partition heals the cut
 * holder's intent commit (sent before the cut, held in the network) is refused and its late
 * renewal does not touch the new holder's lease.
 */

import assert from "node:assert/strict";
import {
  acquireLease,
  type KvLease,
  LeaseLostError,
  readLease,
} from "../../../engine/adapters/kv_lease.ts";
import { KvStore } from "../../../engine/adapters/kv_store.ts";
import * as keys from "../../../engine/kv_keys.ts";
import { WALL_CLOCK } from "../../../engine/wall_clock.ts";
import { ManualClock } from "../_order_fixtures.ts";
import { leaseIntent } from "./_lease_intent.ts";
import { type KvConnectServer, startKvConnectServer } from "./_kv_connect_server.ts";

const TOKEN = "kv-connect-test-token-0123456789";

/** Runs `fn` with a server and two remote clients of one database ("a" and "b"). */
async function withRemote(
  fn: (kvA: Deno.Kv, kvB: Deno.Kv, server: KvConnectServer) => Promise<void>,
): Promise<void> {
  const before = Deno.env.get("DENO_KV_ACCESS_TOKEN");
  Deno.env.set("DENO_KV_ACCESS_TOKEN", TOKEN);
  const server = startKvConnectServer(TOKEN);
  const handles: Deno.Kv[] = [];
  try {
    handles.push(await Deno.openKv(server.url("a")), await Deno.openKv(server.url("b")));
    await fn(handles[0]!, handles[1]!, server);
  } finally {
    await server.close();
    for (const kv of handles) kv.close();
    if (before === undefined) Deno.env.delete("DENO_KV_ACCESS_TOKEN");
    else Deno.env.set("DENO_KV_ACCESS_TOKEN", before);
  }
}

Deno.test("over KV Connect: a stalled holder is taken over and its next intent is refused", async () => {
  await withRemote(async (kvA, kvB) => {
    const clockA = new ManualClock();
    const clockB = new ManualClock();
    const a = await acquireLease(kvA, { clock: clockA, label: "host a" });
    assert.ok(a.ok);
    assert.ok(!(await acquireLease(kvB, { clock: clockB, label: "host b" })).ok);
    const storeA = new KvStore(kvA, { fence: a.value });
    assert.ok((await storeA.createIntent(leaseIntent(1))).ok);
    clockB.now = a.value.record.expiresAtMs;
    const b = await acquireLease(kvB, { clock: clockB, label: "host b" });
    assert.ok(b.ok);
    await assert.rejects(() => storeA.createIntent(leaseIntent(2)), /taken over by host b/);
    assert.equal((await kvB.get(keys.intentKey(leaseIntent(2).id))).versionstamp, null);
    assert.ok((await new KvStore(kvB, { fence: b.value }).createIntent(leaseIntent(3))).ok);
  });
});

Deno.test("over KV Connect: a partitioned holder stops before expiry; after healing, its held commits are refused", async () => {
  await withRemote(async (kvA, kvB, server) => {
    const timing = { ttlMs: 2_000, renewEveryMs: 300, skewMs: 600 };
    const taken = await acquireLease(kvA, { clock: WALL_CLOCK, label: "host a", ...timing });
    assert.ok(taken.ok);
    const a: KvLease = taken.value;
    const stop = new AbortController();
    const kept = a.keep(stop.signal);
    const storeA = new KvStore(kvA, { fence: a });
    assert.ok((await storeA.createIntent(leaseIntent(1))).ok);
    // Renewals keep it alive across more than one ttl.
    await new Promise((r) => setTimeout(r, 2_500));
    assert.ok(!a.lost.aborted, "renewed while connected");

    // The cut: A's commit goes out and waits in the network, its renewals hang.
    server.partition("a");
    const cutAtMs = Date.now();
    const expiresAtMs = a.record.expiresAtMs;
    const heldIntent = storeA.createIntent(leaseIntent(2));
    heldIntent.catch(() => {});
    await new Promise<void>((resolve) => a.lost.addEventListener("abort", () => resolve()));
    const lostAtMs = Date.now();
    assert.match(
      String(a.lost.reason),
      /could not renew the KV lease \(epoch 1\) before it expires/,
    );
    assert.ok(
      lostAtMs <= expiresAtMs - 600 + 150,
      `gave up ${lostAtMs - expiresAtMs} ms vs expiry`,
    );
    assert.ok(lostAtMs - cutAtMs < timing.ttlMs, "within one ttl of the cut");
    assert.ok(server.held("a") >= 1, "A's requests are held in the network");
    await kept;
    // Its own later commits are refused locally at once.
    await assert.rejects(() => storeA.createIntent(leaseIntent(4)), LeaseLostError);

    // B may take the lease only after the expiry.
    const refused = await acquireLease(kvB, { clock: WALL_CLOCK, label: "host b", ...timing });
    assert.ok(!refused.ok && refused.error.label === "host a");
    while (Date.now() < expiresAtMs) await new Promise((r) => setTimeout(r, 50));
    const b = await acquireLease(kvB, { clock: WALL_CLOCK, label: "host b", ...timing });
    assert.ok(b.ok);
    const bRecord = b.value.record;

    // The partition heals: A's held intent commit reaches the server and fails its lease check.
    server.heal("a");
    await assert.rejects(() => heldIntent, LeaseLostError);
    assert.equal((await kvB.get(keys.intentKey(leaseIntent(2).id))).versionstamp, null);
    // A's late renewal (held too) did not touch B's lease.
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual((await readLease(kvB))?.record, bRecord);
    stop.abort();
  });
});
