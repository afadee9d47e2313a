/** Tests for `Rsi` / `rsiBatch` against the TA-Lib (Wilder) RSI on real and generated data. */

import assert from "node:assert/strict";
import fc from "fast-check";
import { Rsi, rsiBatch } from "../../../../engine/core/indicators/rsi.ts";
import {
  assertSeriesClose,
  CANDLE_FILES,
  close,
  periodArb,
  pricesArb,
  randomWalk,
  readCandles,
  refRsi,
  warmUp,
} from "./_reference.ts";

Deno.test("Rsi.update() matches the TA-Lib RSI on real KRW candles", () => {
  for (const file of CANDLE_FILES) {
    const closes = readCandles(file).close;
    for (const period of [1, 2, 6, 14, 21, 100]) {
      assertSeriesClose(rsiBatch(closes, period), refRsi(closes, period), `${file} RSI(${period})`);
    }
  }
});

Deno.test("Rsi.update() stays accurate over 3,000,000 updates of a random walk around 1e8", () => {
  const closes = randomWalk(3_000_000, { seed: 13, start: 100_000_000, step: 5_000 }).close;
  assertSeriesClose(rsiBatch(closes, 14), refRsi(closes, 14), "RSI(14)");
});

Deno.test("Rsi.update() starts at index period with the mean gain and loss", () => {
  const rsi = new Rsi(2);
  assert.ok(Number.isNaN(rsi.update(10)));
  assert.ok(Number.isNaN(rsi.update(12))); // +2
  assert.equal(rsi.ready, false);
  assert.ok(close(rsi.update(11), (100 * 1) / (1 + 0.5))); // -1: gain 1, loss 0.5
  assert.equal(rsi.ready, true);
  // gain (1 * 1 + 0) / 2 = 0.5, loss (0.5 * 1 + 1) / 2 = 0.75
  assert.ok(close(rsi.update(10), (100 * 0.5) / 1.25));
});

Deno.test("Rsi.update() is 0 when prices do not move, 100 when they only rise", () => {
  const flat = rsiBatch([5, 5, 5, 5, 5], 3);
  assert.deepEqual([...flat.slice(3)], [0, 0]);
  const up = rsiBatch([1, 2, 3, 4, 5, 6], 3);
  assert.deepEqual([...up.slice(3)], [100, 100, 100]);
  const down = rsiBatch([6, 5, 4, 3, 2], 3);
  assert.deepEqual([...down.slice(3)], [0, 0]);
});

Deno.test("Rsi() throws a RangeError on an invalid period", () => {
  for (const period of [0, -14, 14.5, NaN, Infinity]) {
    assert.throws(() => new Rsi(period), RangeError, `period ${period}`);
  }
  assert.throws(() => rsiBatch([1], 0), /Cannot create Rsi: period must be an integer >= 1/);
});

Deno.test("Rsi.update() throws a RangeError on non-finite input, also once optimised", () => {
  for (const bad of [NaN, Infinity, -Infinity]) {
    assert.throws(() => new Rsi(3).update(bad), RangeError);
    const warm = new Rsi(14);
    for (let i = 0; i < 200_000; i++) warm.update(1e8 + (i % 97));
    assert.throws(() => warm.update(bad), /Cannot update Rsi: input must be finite/);
  }
});

Deno.test("rsiBatch() property: streaming equals batch, same length, exact warm-up", () => {
  fc.assert(
    fc.property(pricesArb, periodArb, (x, period) => {
      const batch = rsiBatch(x, period);
      assert.equal(batch.length, x.length);
      const rsi = new Rsi(period);
      for (let i = 0; i < x.length; i++) {
        assert.ok(Object.is(rsi.update(x[i]!), batch[i]), `index ${i}`);
      }
      assert.equal(warmUp(batch), Math.min(x.length, period));
    }),
    { numRuns: 300 },
  );
});

Deno.test("rsiBatch() property: within [0, 100]", () => {
  fc.assert(
    fc.property(pricesArb, periodArb, (x, period) => {
      for (const v of rsiBatch(x, period)) {
        assert.ok(Number.isNaN(v) || (v >= 0 && v <= 100), `${v}`);
      }
    }),
    { numRuns: 500 },
  );
});

Deno.test("rsiBatch() property: matches the TA-Lib RSI", () => {
  fc.assert(
    fc.property(pricesArb, periodArb, (x, period) => {
      assertSeriesClose(rsiBatch(x, period), refRsi(x, period), `RSI(${period})`);
    }),
    { numRuns: 300 },
  );
});
