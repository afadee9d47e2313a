/**
 * The paper bot's clock when it trades against an exchange whose time is not the wall's (a
 * sandbox replaying fast): the wall clock moved forward to the newest exchange timestamp the
 * market stream delivered, so fills, day boundaries, the loss guard and the stale-data check all
 * follow the exchange's time (one clock per run). Against Upbit itself the two agree to within the
 * stream's latency. Never goes back once the exchange has been seen.
 *
 * A sandbox replaying BEHIND the wall (`--start` at an earlier time of day) sets the clock back
 * once, at its first timestamp, before the bot has recorded anything: the run starts on the
 * exchange's time, as its candles' closes and the stale-data check need. A first timestamp less
 * than a minute behind is Upbit's own latency, and the wall stays.
 */

import type { Clock } from "../ports.ts";

/** How far behind the wall a first exchange timestamp must be to set the clock back (a replay). */
const BEHIND_MS = 60_000;

/** A clock that the market stream's timestamps move forward. */
export interface ExchangeClock extends Clock {
  /** An exchange timestamp (UTC epoch ms) just received. */
  observe(tsMs: number): void;
}

/** The wall clock `wall`, moved forward to the exchange's time as timestamps are observed. */
export function exchangeClock(wall: Clock): ExchangeClock {
  let offset = 0;
  let last = -Infinity;
  let seen = false;
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
      if (!seen && ahead < -BEHIND_MS) {
        offset = ahead;
        last = -Infinity;
      }
      seen = true;
      if (ahead > offset) offset = ahead;
    },
  };
}
