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

Deno.test("exchangeClock() starts on a replay's time behind the wall, then only moves forward", () => {
  const wall = wallAt(10 * 3_600_000);
  const clock = exchangeClock(wall);
  assert.equal(clock.nowMs(), 36_000_000);
  // A sandbox started at an earlier time of day: its first order book is 3 hours behind.
  clock.observe(7 * 3_600_000);
  assert.equal(clock.nowMs(), 25_200_000);
  wall.advance(1_000);
  assert.equal(clock.nowMs(), 25_201_000);
  // Only the first timestamp sets it back: a later stale one leaves it where it is.
  clock.observe(0);
  assert.equal(clock.nowMs(), 25_201_000);
  clock.observe(25_201_000 + 60_000);
  assert.equal(clock.nowMs(), 25_261_000);
  // A first timestamp within a minute behind is latency: the wall stays.
  const near = exchangeClock(wallAt(100_000));
  near.observe(100_000 - 59_000);
  assert.equal(near.nowMs(), 100_000);
});
