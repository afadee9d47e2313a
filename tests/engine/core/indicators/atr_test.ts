/** Tests for `Atr` / `atrBatch` against the TA-Lib (Wilder) ATR on real and generated data. */

import assert from "node:assert/strict";
import fc from "fast-check";
import { Atr, atrBatch } from "../../../../engine/core/indicators/atr.ts";
import {
  assertSeriesClose,
  CANDLE_FILES,
  candlesArb,
  close,
  periodArb,
  randomWalk,
  readCandles,
  refAtr,
  warmUp,
} from "./_reference.ts";

Deno.test("Atr.update() matches the TA-Lib ATR on real KRW candles", () => {
  for (const file of CANDLE_FILES) {
    const candles = readCandles(file);
    for (const period of [1, 2, 5, 14, 50]) {
      assertSeriesClose(
        atrBatch(candles, period),
        refAtr(candles, period),
        `${file} ATR(${period})`,
      );
    }
  }
});

Deno.test("Atr.update() stays accurate over 3,000,000 candles around 1e8", () => {
  const walk = randomWalk(3_000_000, { seed: 29, start: 100_000_000, step: 5_000 });
  assertSeriesClose(atrBatch(walk), refAtr(walk, 14), "ATR(14)");
});

Deno.test("Atr.update() skips the first candle and averages the next period true ranges", () => {
  const atr = new Atr(2);
  assert.ok(Number.isNaN(atr.update(10, 8, 9))); // no previous close: no TR
  assert.ok(Number.isNaN(atr.update(12, 11, 11))); // TR = 12 - 9 = 3
  assert.equal(atr.ready, false);
  assert.equal(atr.update(13, 12, 12), 2.5); // TR = max(1, |13 - 11|, |12 - 11|) = 2
  assert.equal(atr.ready, true);
  assert.equal(atr.value, 2.5);
  assert.ok(close(atr.update(20, 19, 19), (2.5 * 1 + 8) / 2)); // TR = 20 - 12 = 8
});

Deno.test("Atr() defaults to 14: the first value is at index 14", () => {
  const atr = new Atr();
  assert.equal(atr.period, 14);
  const walk = randomWalk(40, { seed: 3, start: 1000, step: 10 });
  assert.equal(warmUp(atrBatch(walk)), 14);
});

Deno.test("Atr() throws a RangeError on an invalid period", () => {
  for (const period of [0, -14, 1.5, NaN, Infinity]) {
    assert.throws(() => new Atr(period), /Cannot create Atr: period must be an integer >= 1/);
  }
});

Deno.test("Atr.update() throws a RangeError on a bad candle, also once optimised", () => {
  const bad: [number, number, number][] = [
    [NaN, 1, 1],
    [2, NaN, 1],
    [2, 1, NaN],
    [Infinity, 1, 1],
    [2, -Infinity, 1],
    [2, 1, -Infinity],
    [-Infinity, -Infinity, 1],
    [1, 2, 1.5], // low > high
  ];
  for (const [h, l, c] of bad) {
    assert.throws(() => new Atr().update(h, l, c), RangeError, `${h} ${l} ${c}`);
    const warm = new Atr();
    for (let i = 0; i < 200_000; i++) warm.update(1e8 + (i % 97), 1e8 - (i % 89), 1e8);
    assert.throws(() => warm.update(h, l, c), /Cannot update Atr: candle must be finite/);
  }
});

Deno.test("atrBatch() throws a RangeError on series of different lengths", () => {
  assert.throws(
    () => atrBatch({ high: [1, 2], low: [1, 2], close: [1] }),
    /Cannot run atrBatch: high, low and close must have the same length/,
  );
});

Deno.test("atrBatch() property: streaming equals batch, same length, exact warm-up", () => {
  fc.assert(
    fc.property(candlesArb, periodArb, (candles, period) => {
      const batch = atrBatch(candles, period);
      const n = candles.close.length;
      assert.equal(batch.length, n);
      assert.equal(warmUp(batch), Math.min(n, period));
      const atr = new Atr(period);
      for (let i = 0; i < n; i++) {
        const v = atr.update(candles.high[i]!, candles.low[i]!, candles.close[i]!);
        assert.ok(Object.is(v, batch[i]), `index ${i}`);
      }
    }),
    { numRuns: 300 },
  );
});

Deno.test("atrBatch() property: ATR >= 0", () => {
  fc.assert(
    fc.property(candlesArb, periodArb, (candles, period) => {
      for (const v of atrBatch(candles, period)) assert.ok(Number.isNaN(v) || v >= 0, `${v}`);
    }),
    { numRuns: 500 },
  );
});

Deno.test("atrBatch() property: matches the TA-Lib ATR", () => {
  fc.assert(
    fc.property(candlesArb, periodArb, (candles, period) => {
      assertSeriesClose(atrBatch(candles, period), refAtr(candles, period), `ATR(${period})`);
    }),
    { numRuns: 300 },
  );
});
