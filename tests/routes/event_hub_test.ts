/**
 * The event hub: every open stream gets each journal entry from ONE follower of the journal, in
 * order; a listener attached while events are being committed misses none of them when it
 * catches up from the journal and takes the hub's entries after its last id.
 */

import assert from "node:assert/strict";
import { KvStore } from "../../engine/adapters/kv_store.ts";
import { EventStream, type JournalEntry } from "../../engine/mod.ts";
import { EventHub, idAfter } from "../../routes/event_hub.ts";
import { StepClock, T0_MS } from "../engine/_trader_fixtures.ts";

function errorEvent(i: number) {
  return { type: "ErrorRaised" as const, atMs: T0_MS + i, code: "test", message: `e${i}` };
}

async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!check()) {
    assert.ok(Date.now() < deadline, "timed out");
    await new Promise((r) => setTimeout(r, 2));
  }
}

Deno.test("one follower feeds every listener, in order; it stops with the last listener", async () => {
  const kv = await Deno.openKv(":memory:");
  const store = new KvStore(kv);
  const stream = new EventStream(store, new StepClock());
  let follows = 0;
  const hub = new EventHub({
    lastId: () => stream.lastId(),
    follow: (options) => {
      follows++;
      return stream.follow(options);
    },
  });
  const got: string[][] = [[], [], [], [], []];
  const detach = await Promise.all(
    got.map((list) => hub.attach((e: JournalEntry) => list.push(String(e.event.atMs - T0_MS)))),
  );
  for (let i = 0; i < 3; i++) {
    await store.recordEvent(errorEvent(i));
    stream.notify(errorEvent(i));
  }
  await until(() => got.every((l) => l.length === 3));
  assert.deepEqual(got, got.map(() => ["0", "1", "2"]));
  assert.equal(follows, 1, "one journal follower for five listeners");
  for (const d of detach) d();
  const late: string[] = [];
  const again = await hub.attach((e) => late.push(String(e.event.atMs - T0_MS)));
  await store.recordEvent(errorEvent(3));
  stream.notify(errorEvent(3));
  await until(() => late.length === 1);
  assert.deepEqual(late, ["3"], "a new follower starts after the newest entry");
  assert.equal(follows, 2, "the first stopped with its last listener");
  again();
  kv.close();
});

Deno.test("attach, then catch up from the journal: nothing missed while events keep coming", async () => {
  const kv = await Deno.openKv(":memory:");
  const store = new KvStore(kv);
  const stream = new EventStream(store, new StepClock());
  const hub = new EventHub(stream);
  const keepOpen = await hub.attach(() => {});
  let i = 0;
  let writing = true;
  const writer = (async () => {
    while (writing) {
      await store.recordEvent(errorEvent(i));
      stream.notify(errorEvent(i++));
      await new Promise((r) => setTimeout(r, 0));
    }
  })();
  // Ten streams join at different moments, each resuming from the start of the journal.
  const seen: number[][] = [];
  for (let s = 0; s < 10; s++) {
    await new Promise((r) => setTimeout(r, 3));
    const mine: number[] = [];
    seen.push(mine);
    const queue: JournalEntry[] = [];
    const detach = await hub.attach((e) => queue.push(e));
    let cursor: string | undefined;
    for (const e of await stream.read({ limit: 10_000 })) {
      mine.push(e.event.atMs - T0_MS);
      cursor = e.id;
    }
    void (async () => {
      while (writing || queue.length > 0) {
        const e = queue.shift();
        if (e === undefined) {
          await new Promise((r) => setTimeout(r, 1));
        } else if (idAfter(e.id, cursor)) {
          mine.push(e.event.atMs - T0_MS);
          cursor = e.id;
        }
      }
      detach();
    })();
  }
  await new Promise((r) => setTimeout(r, 20));
  writing = false;
  await writer;
  await until(() => seen.every((m) => m.length === i));
  for (const m of seen) assert.deepEqual(m, [...Array(i).keys()], "every event once, in order");
  keepOpen();
  kv.close();
});

Deno.test("idAfter() orders journal ids by time, then sequence", () => {
  assert.equal(idAfter("10-2", "10-1"), true);
  assert.equal(idAfter("10-1", "10-1"), false);
  assert.equal(idAfter("9-99", "10-0"), false);
  assert.equal(idAfter("11-0", "10-99999999999999999999"), true);
  assert.equal(idAfter("1-0", undefined), true);
});
