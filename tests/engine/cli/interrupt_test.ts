import assert from "node:assert/strict";
import fc from "fast-check";
import { createInterrupt, FORCE_AFTER_MS, type StopSignal } from "../../../engine/cli/interrupt.ts";

function run(signals: ReadonlyArray<readonly [StopSignal, number]>) {
  let forced = 0;
  const interrupt = createInterrupt({ force: () => forced++ });
  for (const [signal, atMs] of signals) interrupt.receive(signal, atMs);
  return { aborted: interrupt.signal.aborted, reason: interrupt.signal.reason, forced };
}

Deno.test("createInterrupt(): the first SIGINT or SIGTERM stops, naming the signal", () => {
  assert.deepEqual(run([["SIGINT", 5]]), { aborted: true, reason: "SIGINT", forced: 0 });
  assert.deepEqual(run([["SIGTERM", 5]]), { aborted: true, reason: "SIGTERM", forced: 0 });
  assert.deepEqual(run([]), { aborted: false, reason: undefined, forced: 0 });
});

Deno.test("createInterrupt(): copies of one stop (deno task, the process group) never force", () => {
  // A terminal's Ctrl-C plus deno task's forwarded copy; systemd's SIGTERM plus the copy.
  assert.equal(run([["SIGINT", 1000], ["SIGINT", 1001]]).forced, 0);
  assert.equal(run([["SIGTERM", 1000], ["SIGTERM", 1003], ["SIGINT", 1005]]).forced, 0);
  assert.equal(run([["SIGINT", 0], ["SIGINT", FORCE_AFTER_MS - 1]]).forced, 0);
});

Deno.test("createInterrupt(): a Ctrl-C FORCE_AFTER_MS or more after the first forces", () => {
  assert.equal(run([["SIGINT", 0], ["SIGINT", FORCE_AFTER_MS]]).forced, 1);
  assert.equal(run([["SIGTERM", 0], ["SIGINT", FORCE_AFTER_MS + 500]]).forced, 1);
  // A late SIGTERM (systemd repeating itself) is not a deliberate Ctrl-C.
  assert.equal(run([["SIGINT", 0], ["SIGTERM", 60_000]]).forced, 0);
});

Deno.test("createInterrupt(): forced exactly by the late Ctrl-Cs (property)", () => {
  const signal = fc.constantFrom<StopSignal>("SIGINT", "SIGTERM");
  fc.assert(fc.property(fc.array(fc.tuple(signal, fc.nat(10_000)), { minLength: 1 }), (raw) => {
    const signals = [...raw].sort((a, b) => a[1] - b[1]);
    const firstMs = signals[0]![1];
    const late = signals.slice(1).filter(([s, t]) =>
      s === "SIGINT" && t - firstMs >= FORCE_AFTER_MS
    );
    const result = run(signals);
    assert.equal(result.aborted, true);
    assert.equal(result.reason, signals[0]![0]);
    assert.equal(result.forced, late.length);
  }));
});
