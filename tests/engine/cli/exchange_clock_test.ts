/** Tests of the paper bot's exchange clock: it follows the exchange's timestamps, never goes back. */

import assert from "node:assert/strict";
import { exchangeClock } from "../../../engine/cli/exchange_clock.ts";
import type { Clock } from "../../../engine/ports.ts";

function wallAt(start: number): Clock & { advance(ms: number): void } {
  let now = start;
  return {
    nowMs: () => now,
    sleep: () => Promise.resolve(),
    advance(ms) {
      now += ms;
    },
  };
}

Deno.test("exchangeClock() moves to the exchange's time and runs on from there", () => {
  const wall = wallAt(1_000_000);
  const clock = exchangeClock(wall);
  assert.equal(clock.nowMs(), 1_000_000);
  // A sandbox replaying at 120x: its trades carry times far ahead of the wall.
  clock.observe(1_000_000 + 3_600_000);
  assert.equal(clock.nowMs(), 4_600_000);
  wall.advance(500);
  assert.equal(clock.nowMs(), 4_600_500);
  clock.observe(4_600_500 + 60_000);
  assert.equal(clock.nowMs(), 4_660_500);
});

Deno.test("exchangeClock() never goes back: late or stale timestamps leave it where it is", () => {
  const wall = wallAt(1_000_000);
  const clock = exchangeClock(wall);
  clock.observe(2_000_000);
  const t = clock.nowMs();
  clock.observe(1_500_000);
  clock.observe(0);
  assert.equal(clock.nowMs(), t);
  // Against Upbit itself, trades arrive a little after they happened: the wall leads.
  const real = exchangeClock(wallAt(5_000));
  real.observe(4_900);
  assert.equal(real.nowMs(), 5_000);
});
