import assert from "node:assert/strict";
import { EventStream } from "../../../engine/operator/event_stream.ts";
import type { EngineEvent, JournalEntry } from "../../../engine/ports.ts";
import { minute, world } from "../_trader_fixtures.ts";

function error(n: number): EngineEvent {
  return { type: "ErrorRaised", atMs: minute(n), code: "test", message: `event ${n}` };
}

Deno.test("EventStream fans every event out to every listener; a broken one stops nobody", () => {
  const stream = new EventStream({ listJournal: () => Promise.resolve([]) }, {
    nowMs: () => 0,
    sleep: () => Promise.resolve(),
  });
  const a: string[] = [];
  const b: string[] = [];
  stream.subscribe(() => {
    throw new Error("broken listener");
  });
  stream.subscribe((e) => a.push(e.type));
  const off = stream.subscribe((e) => b.push(e.type));
  stream.notify(error(1));
  off();
  stream.notify(error(2));
  assert.deepEqual(a, ["ErrorRaised", "ErrorRaised"]);
  assert.deepEqual(b, ["ErrorRaised"]);
});

Deno.test("follow() replays the journal after an id, then yields new events as they commit", async () => {
  const w = await world();
  const stream = new EventStream(w.store, w.clock);
  for (const n of [1, 2, 3]) await w.store.recordEvent(error(n));
  const all = await w.store.listJournal({ limit: 10 });
  assert.equal(all.length, 3);
  assert.equal(await stream.lastId(), all[2]!.id);
  const stop = new AbortController();
  const seen: JournalEntry[] = [];
  // Resume after the first event: a listener that handled event 1 before it went away.
  const following = (async () => {
    for await (const entry of stream.follow({ afterId: all[0]!.id, signal: stop.signal })) {
      seen.push(entry);
      if (seen.length === 4) stop.abort();
    }
  })();
  while (seen.length < 2) await new Promise((r) => setTimeout(r, 1));
  // A new event: recorded, then notified (as the engine does): the follower wakes at once.
  await w.store.recordEvent(error(4));
  stream.notify(error(4));
  await w.store.recordEvent(error(5));
  stream.notify(error(5));
  await following;
  assert.deepEqual(
    seen.map((e) => e.event.type === "ErrorRaised" ? e.event.message : ""),
    ["event 2", "event 3", "event 4", "event 5"],
  );
  const ids = seen.map((e) => e.id);
  assert.equal(new Set(ids).size, 4, "ids are unique");
  w.kv.close();
});

Deno.test("follow() ends when aborted while it reads the journal (it does not sleep on)", async () => {
  // A clock whose sleeps end only on abort: a follower that sleeps after the abort never ends.
  const clock = {
    nowMs: () => 0,
    sleep: (_ms: number, signal?: AbortSignal) =>
      new Promise<void>((resolve) => signal?.addEventListener("abort", () => resolve())),
  };
  const stop = new AbortController();
  const stream = new EventStream({
    listJournal: () => {
      stop.abort(); // the listener goes away while the journal is being read
      return Promise.resolve([]);
    },
  }, clock);
  const ended = (async () => {
    for await (const _ of stream.follow({ signal: stop.signal })) {
      // nothing is journaled
    }
    return "ended";
  })();
  const timeout = new Promise((r) => setTimeout(() => r("still sleeping"), 500));
  assert.equal(await Promise.race([ended, timeout]), "ended");
});
