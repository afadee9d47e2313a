/**
 * The paper bot's clock when it trades against an exchange whose time is not the wall's (a
 * sandbox replaying fast): the wall clock moved forward to the newest exchange timestamp the
 * market stream delivered, so fills, day boundaries, the loss guard and the stale-data check all
 * follow the exchange's time (one clock per run). Against Upbit itself the two agree to within the
 * stream's latency. Never goes back.
 */

import type { Clock } from "../ports.ts";

/** A clock that the market stream's timestamps move forward. */
export interface ExchangeClock extends Clock {
  /** An exchange timestamp (UTC epoch ms) just received. */
  observe(tsMs: number): void;
}

/** The wall clock `wall`, moved forward to the exchange's time as timestamps are observed. */
export function exchangeClock(wall: Clock): ExchangeClock {
  let offset = 0;
  let last = -Infinity;
  const nowMs = () => {
    const t = wall.nowMs() + offset;
    if (t > last) last = t;
    return last;
  };
  return {
    nowMs,
    sleep: wall.sleep,
    observe(tsMs) {
      const ahead = tsMs - wall.nowMs();
      if (ahead > offset) offset = ahead;
    },
  };
}
