/** Tests for `Ema` / `emaBatch` against the TA-Lib recurrence on real and generated data. */

import assert from "node:assert/strict";
import fc from "fast-check";
import { Ema, emaBatch } from "../../../../engine/core/indicators/ema.ts";
import {
  assertSeriesClose,
  CANDLE_FILES,
  periodArb,
  pricesArb,
  randomWalk,
  readCandles,
  refEma,
  warmUp,
} from "./_reference.ts";

Deno.test("Ema.update() matches the TA-Lib EMA on real KRW candles", () => {
  for (const file of CANDLE_FILES) {
    const { close } = readCandles(file);
    for (const period of [1, 2, 3, 9, 12, 20, 26, 50, 200]) {
      assertSeriesClose(emaBatch(close, period), refEma(close, period), `${file} EMA(${period})`);
    }
  }
});

Deno.test("Ema.update() stays accurate over 3,000,000 updates of a random walk around 1e8", () => {
  const { close } = randomWalk(3_000_000, { seed: 11, start: 100_000_000, step: 5_000 });
  for (const period of [2, 20, 500]) {
    assertSeriesClose(emaBatch(close, period), refEma(close, period), `EMA(${period})`);
  }
});

Deno.test("Ema.update() is seeded with the SMA of the first period values", () => {
  const ema = new Ema(3);
  assert.ok(Number.isNaN(ema.update(1)));
  assert.ok(Number.isNaN(ema.update(2)));
  assert.equal(ema.ready, false);
  assert.equal(ema.update(6), 3);
  assert.equal(ema.ready, true);
  assert.equal(ema.k, 0.5);
  assert.equal(ema.update(5), 4);
  assert.equal(ema.value, 4);
});

Deno.test("Ema(1) follows its input exactly", () => {
  const ema = new Ema(1);
  for (const x of [5, 1e8, 0.001, 7]) assert.equal(ema.update(x), x);
  // Shrunk fast-check counterexample: TA-Lib's (x - v) * k + v with k = 1 is off here.
  assert.deepEqual([...emaBatch([16777216.001, 0.001], 1)], [16777216.001, 0.001]);
});

Deno.test("Ema() throws a RangeError on an invalid period", () => {
  for (const period of [0, -3, 2.5, NaN, Infinity]) {
    assert.throws(() => new Ema(period), RangeError, `period ${period}`);
  }
  assert.throws(() => emaBatch([1], 0), /Cannot create Ema: period must be an integer >= 1/);
});

Deno.test("Ema.update() throws a RangeError on non-finite input, also once optimised", () => {
  for (const bad of [NaN, Infinity, -Infinity]) {
    assert.throws(() => new Ema(3).update(bad), RangeError);
    const warm = new Ema(20);
    for (let i = 0; i < 200_000; i++) warm.update(1e8 + (i % 97));
    assert.throws(() => warm.update(bad), /Cannot update Ema: input must be finite/);
  }
});

Deno.test("emaBatch() property: streaming equals batch, same length, exact warm-up", () => {
  fc.assert(
    fc.property(pricesArb, periodArb, (x, period) => {
      const batch = emaBatch(x, period);
      assert.equal(batch.length, x.length);
      const ema = new Ema(period);
      for (let i = 0; i < x.length; i++) {
        assert.ok(Object.is(ema.update(x[i]!), batch[i]), `index ${i}`);
      }
      assert.equal(warmUp(batch), Math.min(x.length, period - 1));
    }),
    { numRuns: 300 },
  );
});

Deno.test("emaBatch() property: matches the TA-Lib recurrence", () => {
  fc.assert(
    fc.property(pricesArb, periodArb, (x, period) => {
      // The recurrence (ours and TA-Lib's) errs relative to the inputs' magnitude, not the output's.
      const scale = { values: x, span: x.length };
      assertSeriesClose(emaBatch(x, period), refEma(x, period), `EMA(${period})`, 1e-9, scale);
    }),
    { numRuns: 300 },
  );
});

Deno.test("emaBatch() property: stays within the range of its inputs", () => {
  fc.assert(
    fc.property(pricesArb, periodArb, (x, period) => {
      const out = emaBatch(x, period);
      const lo = Math.min(...x);
      const hi = Math.max(...x);
      for (let i = period - 1; i < x.length; i++) {
        assert.ok(out[i]! >= lo * (1 - 1e-12) && out[i]! <= hi * (1 + 1e-12), `index ${i}`);
      }
    }),
    { numRuns: 300 },
  );
});
