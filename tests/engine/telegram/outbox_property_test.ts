/**
 * The outbox under random fault sequences (fast-check): events arrive while the fake Bot API
 * fails (5xx), rate-limits (429 with `retry_after`) or is down for a while, and the worker is
 * restarted cleanly or crashes between a send and its cursor write. Whatever the sequence, the
 * owner receives the journal's events in journal order, none lost; the only repeats are the
 * documented crash window's, one per crash, right after the original.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import type { FakeFault } from "./_fake_bot_api.ts";
import { outboxWorld, signal } from "./_outbox_world.ts";

type Fault =
  | { readonly kind: "fail"; readonly status: 500 | 502 | 503; readonly times: number }
  | { readonly kind: "rate_limit"; readonly retryAfterS: number; readonly times: number }
  | { readonly kind: "down"; readonly forMs: number };

interface Step {
  readonly events: number;
  readonly fault: Fault | null;
  readonly restart: "none" | "clean" | "crash";
}

const STEP: fc.Arbitrary<Step> = fc.record({
  events: fc.integer({ min: 0, max: 4 }),
  fault: fc.oneof(
    fc.constant(null),
    fc.record({
      kind: fc.constant("fail" as const),
      status: fc.constantFrom(500 as const, 502 as const, 503 as const),
      times: fc.integer({ min: 1, max: 4 }),
    }),
    fc.record({
      kind: fc.constant("rate_limit" as const),
      retryAfterS: fc.integer({ min: 1, max: 60 }),
      times: fc.integer({ min: 1, max: 3 }),
    }),
    fc.record({
      kind: fc.constant("down" as const),
      forMs: fc.integer({ min: 1_000, max: 3_600_000 }),
    }),
  ),
  restart: fc.constantFrom("none", "none", "none", "clean", "crash"),
});

function firstLines(texts: readonly string[]): string[] {
  return texts.map((t) => t.split("\n")[0]!);
}

async function runSteps(steps: readonly Step[]): Promise<void> {
  const o = await outboxWorld();
  try {
    const start = () => o.start({ closeGraceMs: 1_000 });
    start();
    let n = 0;
    let crashes = 0;
    for (const step of steps) {
      for (let i = 0; i < step.events; i++) await o.journal(signal(++n, o.clock.nowMs()));
      const fault = step.fault;
      if (fault?.kind === "down") {
        await o.fake.setFault({ kind: "down" });
        const until = o.clock.nowMs() + fault.forMs;
        // The clock moves while the worker backs off (only when it has something to send).
        await o.until(() => o.clock.nowMs() >= until, 100);
        await o.fake.setFault(null);
      } else if (fault !== null) {
        const injected: FakeFault = fault.kind === "fail"
          ? { kind: "fail", status: fault.status }
          : { kind: "rate_limit", retryAfterS: fault.retryAfterS };
        await o.fake.setFault(injected, { methods: ["sendMessage"], times: fault.times });
      }
      if (step.restart === "clean") {
        await o.stop();
        start();
      } else if (step.restart === "crash") {
        o.cursor.crashAfter = o.cursor.writes;
        // A crash needs a send to happen; with nothing to send, it is a clean stop.
        await o.until(() => o.cursor.crashed, 200);
        if (o.cursor.crashed) crashes++;
        o.cursor.crashAfter = null;
        o.cursor.crashed = false;
        await o.stop();
        start();
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    await o.fake.setFault(null);
    const want = Array.from({ length: n }, (_, i) => `Signal BUY KRW-BTC: #${i + 1}`);
    const arrived = () => new Set(firstLines(o.texts())).size === n;
    assert.ok(await o.until(arrived, 15_000), `${new Set(o.texts()).size} of ${n} arrived`);
    await o.stop();
    const got = firstLines(o.texts());
    const once: string[] = [];
    let repeats = 0;
    for (const text of got) {
      if (once[once.length - 1] === text) repeats++;
      else once.push(text);
    }
    assert.deepEqual(once, want, "journal order, nothing lost");
    assert.ok(repeats <= crashes, `${repeats} repeats for ${crashes} crashes`);
  } finally {
    await o.close();
  }
}

Deno.test("property: any fault sequence delivers the journal in order, no loss, repeats only after a crash", async () => {
  await fc.assert(fc.asyncProperty(fc.array(STEP, { minLength: 1, maxLength: 8 }), runSteps), {
    numRuns: 25,
  });
});

Deno.test("a crash right after a 429 and an hour down: one repeat at most, in place", async () => {
  await runSteps([
    { events: 3, fault: { kind: "rate_limit", retryAfterS: 30, times: 2 }, restart: "none" },
    { events: 2, fault: { kind: "down", forMs: 3_600_000 }, restart: "crash" },
    { events: 2, fault: { kind: "fail", status: 503, times: 3 }, restart: "clean" },
    { events: 1, fault: null, restart: "crash" },
  ]);
});
