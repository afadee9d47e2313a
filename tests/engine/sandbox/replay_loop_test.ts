/** Tests of a looping replay: the real week plays again, unchanged, and never runs out. */

import assert from "node:assert/strict";
import { loadCandleFile } from "../../../engine/adapters/candle_file.ts";
import { DAY_MS } from "../../../engine/core/candle.ts";
import { unitsFromNumber } from "../../../engine/core/money.ts";
import { createReplay } from "../../../engine/sandbox/replay.ts";

const BTC_1M = "data/upbit-KRW-BTC-1m-20220531-20220607.csv";
const REAL_NOW = Date.UTC(2026, 10, 24, 3, 0);
const FIRST = Date.UTC(2022, 4, 31, 12, 1);
const LAST = Date.UTC(2022, 5, 7, 10, 46);

Deno.test("loop: the week repeats every 7 days with its real 1-minute candles", async () => {
  const minutes = await loadCandleFile(BTC_1M);
  const replay = await createReplay({
    dataFiles: [BTC_1M],
    manualClock: true,
    startAt: Date.UTC(2022, 4, 31, 18, 0),
    realNowMs: () => REAL_NOW,
    loop: true,
  });
  const shift = replay.shiftMs;
  assert.deepEqual(replay.loop, { firstMs: FIRST, endMs: LAST + 60_000, periodMs: 7 * DAY_MS });
  // Across the seam: the last real minute, 75 quiet minutes, then the first real minute again.
  replay.advanceTo(FIRST + shift + 7 * DAY_MS + 2 * 60_000);
  const seam = replay.candles("KRW-BTC", "1m", { count: 3 });
  assert.deepEqual(
    seam.map((c) => replay.dataTimeOf(c.startMs)),
    [
      { dataMs: FIRST + 60_000, pass: 1 },
      { dataMs: FIRST, pass: 1 },
      { dataMs: LAST, pass: 0 },
    ],
  );
  assert.equal(seam[1]!.open, unitsFromNumber(minutes[0]!.open));
  // Third pass, one day in: every served minute is the real minute of the first pass.
  const pass = 2;
  const moveMs = pass * 7 * DAY_MS;
  replay.advanceTo(Date.UTC(2022, 5, 1, 12, 0) + shift + moveMs);
  const served = replay.candles("KRW-BTC", "1m", { count: 300 });
  assert.equal(served.length, 300);
  const byStart = new Map(minutes.map((c) => [c.startMs, c]));
  for (const s of served) {
    const real = byStart.get(s.startMs - shift - moveMs);
    assert.ok(real !== undefined, `no real minute for ${new Date(s.startMs).toISOString()}`);
    assert.equal(s.close, unitsFromNumber(real.close));
    assert.equal(s.volume, unitsFromNumber(real.volume));
    assert.deepEqual(replay.dataTimeOf(s.startMs), { dataMs: real.startMs, pass });
  }
  replay.close();
});

Deno.test("loop: without it the replay has nothing after the data's end", async () => {
  const replay = await createReplay({
    dataFiles: [BTC_1M],
    manualClock: true,
    startAt: LAST,
    realNowMs: () => REAL_NOW,
  });
  assert.equal(replay.loop, undefined);
  replay.advanceTo(LAST + replay.shiftMs + 7 * DAY_MS);
  const last = replay.candles("KRW-BTC", "1m", { count: 1 })[0]!;
  assert.equal(last.startMs - replay.shiftMs, LAST);
  replay.close();
});
