/** Tests of the progress bar: only on a terminal, only after a second. */

import assert from "node:assert/strict";
import { createProgressBar } from "../../../engine/cli/progress.ts";

function harness(
  isTerminal: boolean,
): { out: string[]; setNow: (ms: number) => void; bar: ReturnType<typeof createProgressBar> } {
  const out: string[] = [];
  let now = 0;
  const bar = createProgressBar({ stderr: (t) => out.push(t), isTerminal, nowMs: () => now });
  return { out, setNow: (ms) => (now = ms), bar };
}

Deno.test("createProgressBar() stays silent during the first second", () => {
  const h = harness(true);
  h.setNow(999);
  h.bar.update(50, 100);
  h.bar.done();
  assert.deepEqual(h.out, []);
});

Deno.test("createProgressBar() draws on a terminal after a second and clears at the end", () => {
  const h = harness(true);
  h.setNow(1500);
  h.bar.update(50, 100);
  assert.match(h.out[0]!, /^\r\[#{15} {15}\] {2}50% 50\/100 candles$/);
  h.bar.done();
  assert.equal(h.out[1], "\r\x1b[2K");
});

Deno.test("createProgressBar() never draws when stderr is not a terminal", () => {
  const h = harness(false);
  h.setNow(60_000);
  h.bar.update(99, 100);
  h.bar.done();
  assert.deepEqual(h.out, []);
});

Deno.test("createProgressBar() shows the unit and the time left when asked", () => {
  const out: string[] = [];
  let now = 0;
  const bar = createProgressBar(
    { stderr: (t) => out.push(t), isTerminal: true, nowMs: () => now },
    {
      unit: "backtests",
      eta: true,
    },
  );
  now = 30_000;
  bar.update(25, 100);
  assert.match(out[0]!, / 25\/100 backtests ETA 1m30s$/);
});
