/**
 * `GET /api/events`: Server-Sent Events from the engine's journal. A command's events arrive
 * with their journal ids; a reconnect with `Last-Event-ID` resumes after that id (nothing missed,
 * nothing twice); a new client starts after the newest stored event; the stream needs a session
 * and ends when the session expires.
 */

import assert from "node:assert/strict";
import { SESSION_TTL_MS } from "../../routes/mod.ts";
import { type WebWorld, webWorld } from "./_web_world.ts";

interface Sse {
  readonly id: string;
  readonly event: string;
  readonly data: Record<string, unknown>;
}

/** Reads SSE messages from `res` until `until` says stop (or 5 s pass: a failure). */
async function readSse(
  res: Response,
  until: (seen: readonly Sse[]) => boolean,
): Promise<{ seen: Sse[]; ended: boolean }> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const seen: Sse[] = [];
  let buffer = "";
  let ended = false;
  const deadline = Date.now() + 5_000;
  // One read in flight at a time: a read left behind by a timeout would swallow its chunk.
  let pending = reader.read();
  try {
    while (!until(seen)) {
      const timeout = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 100));
      const next = await Promise.race([pending, timeout]);
      if (next === "timeout") {
        assert.ok(Date.now() < deadline, `timed out with ${JSON.stringify(seen)}`);
        continue;
      }
      pending = reader.read();
      if (next.done) {
        ended = true;
        break;
      }
      buffer += next.value;
      let cut: number;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const field = (name: string) =>
          block.split("\n").find((l) => l.startsWith(`${name}: `))?.slice(name.length + 2);
        const data = field("data");
        if (data === undefined) continue;
        seen.push({ id: field("id") ?? "", event: field("event") ?? "", data: JSON.parse(data) });
      }
    }
  } finally {
    if (!ended) await reader.cancel();
  }
  return { seen, ended };
}

async function pause(w: WebWorld, cookie: string, token: string, kind = "pause") {
  const res = await w.postJson("/api/control", { kind, confirmed: true }, cookie, token);
  assert.equal(res.status, 200);
}

Deno.test("events stream live with ids, and a reconnect resumes after Last-Event-ID", async () => {
  const w = await webWorld();
  try {
    const cookie = await w.login();
    const token = await w.csrfOf(cookie);
    const res = await w.request("/api/events", { headers: { cookie } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
    assert.equal(res.headers.get("cache-control"), "no-store");
    const reading = readSse(res, (seen) => seen.some((e) => e.event === "CommandExecuted"));
    await pause(w, cookie, token);
    const { seen } = await reading;
    const command = seen.find((e) => e.event === "CommandExecuted")!;
    assert.equal(command.data.command, "pause: paused from the status page");
    assert.match(String(command.data.actor), /^web:[0-9a-f]{16}$/);
    for (const e of seen) assert.match(e.id, /^\d+-\d+$/);
    assert.ok(!seen.some((e) => e.event === "OrderFilled"), "the seeded fills are not replayed");

    // Two more commands while away; the reconnect gets exactly those, in order.
    await pause(w, cookie, token, "resume");
    await pause(w, cookie, token, "stop");
    const last = seen.at(-1)!.id;
    const again = await w.request("/api/events", {
      headers: { cookie, "last-event-id": last },
    });
    const resumed = await readSse(
      again,
      (s) => s.filter((e) => e.event === "CommandExecuted").length >= 2,
    );
    const commands = resumed.seen.filter((e) => e.event === "CommandExecuted");
    assert.deepEqual(commands.map((e) => String(e.data.command).split(" ")[0]), [
      "resume",
      "stop",
    ]);
    // The journal keeps the halt (a page that reconnects learns the bot is halted).
    const states = resumed.seen.filter((e) => e.event === "StateChanged").map((e) => e.data);
    assert.equal(states.at(-1)?.halted, true, JSON.stringify(states));
    const before = new Set(seen.map((e) => e.id));
    assert.ok(resumed.seen.every((e) => !before.has(e.id)), "nothing seen before comes again");
    const ids = resumed.seen.map((e) => e.id);
    assert.equal(new Set(ids).size, ids.length, "each event once");

    // From the start of the journal (a bogus id is ignored: the client starts at the newest).
    const bogus = await w.request("/api/events?after=x", { headers: { cookie } });
    const fresh = readSse(bogus, (s) => s.length >= 1);
    await pause(w, cookie, token, "resume");
    const first = (await fresh).seen[0]!;
    assert.ok(["StateChanged", "CommandExecuted"].includes(first.event), first.event);
  } finally {
    await w.close();
  }
});

Deno.test("the event stream needs a session and ends when it expires", async () => {
  const w = await webWorld();
  try {
    assert.equal((await w.request("/api/events")).status, 401);
    const cookie = await w.login();
    const res = await w.request("/api/events", { headers: { cookie } });
    assert.equal(res.status, 200);
    const reading = readSse(res, () => false);
    await new Promise((r) => setTimeout(r, 50));
    w.clock.set(w.clock.nowMs() + SESSION_TTL_MS);
    const { ended } = await reading;
    assert.equal(ended, true);
    assert.equal((await w.request("/api/events", { headers: { cookie } })).status, 401);
  } finally {
    await w.close();
  }
});

Deno.test("a fill and a signal arrive with their display rows, in the page's language", async () => {
  const w = await webWorld();
  try {
    const cookie = await w.login();
    const res = await w.request("/api/events", { headers: { cookie: `${cookie}; lang=ko` } });
    const reading = readSse(res, (seen) => seen.length >= 2);
    const atMs = w.clock.nowMs();
    const signal = {
      type: "SignalRaised" as const,
      atMs,
      market: "KRW-BTC",
      signalId: "sig-1",
      action: "buy" as const,
      reason: "close under the lower band",
    };
    await w.store.recordEvent(signal);
    w.events.notify(signal);
    const fill = {
      type: "OrderFilled" as const,
      atMs,
      market: "KRW-BTC",
      side: "bid" as const,
      orderUuid: "o-1",
      tradeUuid: "t-1",
      price: "101000000",
      volume: "0.001",
      funds: "101000",
      fee: "50.5",
    };
    await w.store.recordEvent(fill);
    w.events.notify(fill);
    const { seen } = await reading;
    assert.deepEqual(seen.map((e) => e.event), ["SignalRaised", "OrderFilled"]);
    assert.deepEqual(seen[0]!.data.row, {
      id: "sig-1",
      market: "KRW-BTC",
      action: "buy",
      actionText: "매수",
      reason: "close under the lower band",
      when: "2026-11-24 01:10:00",
      note: "",
    });
    assert.deepEqual(seen[1]!.data.row, {
      id: "t-1",
      market: "KRW-BTC",
      side: "bid",
      sideText: "매수",
      what: "0.001 @ 101,000,000",
      detail: "101,000 KRW · 2026-11-24 01:10:00",
    });
  } finally {
    await w.close();
  }
});
