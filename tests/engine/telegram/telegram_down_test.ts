/**
 * Telegram failing never blocks or repeats a command: with the Bot API down, rate-limiting or
 * stalled, a command from the webhook still runs exactly once and the webhook still answers in
 * time (the lost reply is logged; the outbox that resends it comes later). Long polling starts
 * while the Bot API is down and catches up when it is back.
 */

import assert from "node:assert/strict";
import { message, OWNER, withWorld } from "./_harness.ts";

Deno.test("Telegram down or rate-limiting: the command runs once, the lost reply is logged", async () => {
  await withWorld(async (t) => {
    await t.fake.setFault({ kind: "down" });
    const pause = message(t, "/pause down");
    assert.equal(await t.post(pause), 200);
    assert.equal(await t.post(pause), 200, "delivered again");
    await t.fake.setFault({ kind: "rate_limit", retryAfterS: 30 }, { methods: ["sendMessage"] });
    t.w.clock.set(t.w.clock.nowMs() + 1_000);
    assert.equal(await t.post(message(t, "/resume")), 200);
    await t.fake.setFault(null);
    const log = await t.operator.auditLog({ limit: 10 });
    assert.deepEqual(log.map((r) => [r.actor, r.command]), [
      [`telegram:${OWNER}`, "resume"],
      [`telegram:${OWNER}`, "pause: down"],
    ]);
    const lost = t.log.lines.filter((l) => l.message === "telegram: reply not sent");
    assert.equal(lost.length, 2);
    assert.match(String(lost[1]!.data?.error), /429: Too Many Requests: retry after 30/);
    assert.ok(!JSON.stringify(t.log.lines).includes(t.fake.token), "the token is never logged");
  });
});

Deno.test("Telegram stalled: the webhook answers at once and a redelivery runs nothing", async () => {
  await withWorld(async (t) => {
    await t.fake.setFault({ kind: "timeout" }, { methods: ["sendMessage"] });
    const pause = message(t, "/pause stalled");
    const started = performance.now();
    assert.equal(await t.postOnly(pause), 200);
    const tookMs = performance.now() - started;
    // Not a speed goal: the answer never waits for the command (nor its 3 s stalled reply).
    assert.ok(tookMs < 2_500, `answered after ${Math.round(tookMs)} ms`);
    assert.equal(await t.postOnly(pause), 200, "Telegram delivers it again");
    for (let i = 0; i < 250 && (await t.operator.auditLog({ limit: 10 })).length === 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal((await t.operator.auditLog({ limit: 10 })).length, 1);
    await t.fake.setFault(null);
    // Released, the stalled reply is answered and the command's handler ends: wait for it.
    for (let i = 0; i < 250 && t.fake.sentTexts().length === 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.deepEqual(t.fake.sentTexts(), ["Done: paused: stalled\nTrading: paused (stalled)"]);
  }, { timeoutMs: 200, apiTimeoutSeconds: 3 });
});

Deno.test("Telegram long polling starts while the Bot API is down and answers once it is back", async () => {
  await withWorld(async (t) => {
    await t.fake.setFault({ kind: "down" });
    t.fake.queueUpdate(message(t, "/help"));
    const stop = new AbortController();
    const polling = t.telegram.poll(stop.signal);
    await new Promise((r) => setTimeout(r, 300));
    await t.fake.setFault(null);
    for (let i = 0; i < 200 && t.fake.sentTexts().length === 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    stop.abort();
    await polling;
    assert.equal(t.fake.sentTexts().length, 1);
    assert.match(t.fake.sentTexts()[0]!, /^Commands\n/);
  }, { polling: true });
});
