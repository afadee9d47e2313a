/** Tests for `Stochastic` / `stochasticBatch` against windows scanned from scratch. */

import assert from "node:assert/strict";
import fc from "fast-check";
import { Stochastic, stochasticBatch } from "../../../../engine/core/indicators/stochastic.ts";
import {
  assertSeriesClose,
  CANDLE_FILES,
  candlesArb,
  close,
  randomWalk,
  readCandles,
  refStochastic,
  warmUp,
} from "./_reference.ts";

const PARAMS = [
  [14, 3, 3],
  [5, 3, 3],
  [1, 1, 1],
  [9, 1, 5],
  [50, 5, 2],
] as const;

Deno.test("Stochastic.update() matches the TA-Lib STOCH on real KRW candles", () => {
  for (const file of CANDLE_FILES) {
    const candles = readCandles(file);
    for (const [kPeriod, kSmoothing, dPeriod] of PARAMS) {
      const ours = stochasticBatch(candles, { kPeriod, kSmoothing, dPeriod });
      const ref = refStochastic(candles, kPeriod, kSmoothing, dPeriod);
      const label = `${file} STOCH(${kPeriod}, ${kSmoothing}, ${dPeriod})`;
      assertSeriesClose(ours.k, ref.k, `${label}.k`);
      assertSeriesClose(ours.d, ref.d, `${label}.d`);
    }
  }
});

Deno.test("Stochastic.update() stays accurate over 3,000,000 candles around 1e8", () => {
  const walk = randomWalk(3_000_000, { seed: 23, start: 100_000_000, step: 5_000 });
  const s = new Stochastic();
  const n = walk.close.length;
  for (let i = 0; i < n; i++) {
    s.update(walk.high[i]!, walk.low[i]!, walk.close[i]!);
    if (i % 250_000 === 249_999 || i >= n - 3) {
      const from = i - 40;
      const window = {
        high: walk.high.subarray(from, i + 1),
        low: walk.low.subarray(from, i + 1),
        close: walk.close.subarray(from, i + 1),
      };
      const ref = refStochastic(window, 14, 3, 3);
      assert.ok(close(s.k, ref.k[40]!), `k at ${i}: ${s.k} vs ${ref.k[40]}`);
      assert.ok(close(s.d, ref.d[40]!), `d at ${i}: ${s.d} vs ${ref.d[40]}`);
    }
  }
});

Deno.test("Stochastic() defaults to 14/3/3: %K from index 15, %D from 17", () => {
  const s = new Stochastic();
  const n = 30;
  const high = Array.from({ length: n }, (_, i) => 110 + Math.sin(i) * 5);
  const low = high.map((h) => h - 10);
  const closes = high.map((h, i) => h - (i % 7));
  const out = stochasticBatch({ high, low, close: closes });
  assert.equal(warmUp(out.k), 15);
  assert.equal(warmUp(out.d), 17);
  for (let i = 0; i < n; i++) {
    assert.equal(s.update(high[i]!, low[i]!, closes[i]!), i >= 17, `index ${i}`);
    assert.equal(s.ready, i >= 17);
    assert.ok(Object.is(s.k, out.k[i]) && Object.is(s.d, out.d[i]), `index ${i}`);
  }
});

Deno.test("Stochastic.update() gives 0 when the highest high equals the lowest low", () => {
  const out = stochasticBatch({ high: [5, 5, 5, 5], low: [5, 5, 5, 5], close: [5, 5, 5, 5] }, {
    kPeriod: 2,
    kSmoothing: 1,
    dPeriod: 1,
  });
  assert.deepEqual([...out.k], [NaN, 0, 0, 0]);
  assert.deepEqual([...out.d], [NaN, 0, 0, 0]);
});

Deno.test("Stochastic.update() tracks the window's extremes as they expire", () => {
  // kPeriod 3: highs 10, 9, 8, 7 → HH over the last 3 falls from 10 to 9 at index 3.
  const out = stochasticBatch(
    { high: [10, 9, 8, 7], low: [0, 1, 2, 3], close: [5, 5, 5, 5] },
    { kPeriod: 3, kSmoothing: 1, dPeriod: 1 },
  );
  assert.ok(close(out.k[2]!, 50)); // (5 - 0) / (10 - 0)
  assert.ok(close(out.k[3]!, 50)); // (5 - 1) / (9 - 1)
});

Deno.test("Stochastic() throws a RangeError on invalid periods", () => {
  assert.throws(() => new Stochastic(0), /Cannot create Stochastic: kPeriod must be an integer/);
  assert.throws(() => new Stochastic(14, 1.5), /kSmoothing must be an integer >= 1/);
  assert.throws(() => new Stochastic(14, 3, -3), /dPeriod must be an integer >= 1/);
});

Deno.test("Stochastic.update() throws a RangeError on a bad candle, also once optimised", () => {
  const bad: [number, number, number][] = [
    [NaN, 1, 1],
    [2, NaN, 1],
    [2, 1, NaN],
    [Infinity, 1, 1],
    [2, -Infinity, 1],
    [2, 1, Infinity],
    [Infinity, Infinity, 1],
    [1, 2, 1.5], // low > high
  ];
  for (const [h, l, c] of bad) {
    assert.throws(() => new Stochastic().update(h, l, c), RangeError, `${h} ${l} ${c}`);
    const warm = new Stochastic();
    for (let i = 0; i < 200_000; i++) warm.update(1e8 + (i % 97), 1e8 - (i % 89), 1e8);
    assert.throws(() => warm.update(h, l, c), /Cannot update Stochastic: candle must be finite/);
  }
});

Deno.test("stochasticBatch() throws a RangeError on series of different lengths", () => {
  assert.throws(
    () => stochasticBatch({ high: [1, 2], low: [1], close: [1, 2] }),
    /Cannot run stochasticBatch: high, low and close must have the same length/,
  );
});

const paramsArb = fc.tuple(
  fc.integer({ min: 1, max: 20 }),
  fc.integer({ min: 1, max: 5 }),
  fc.integer({ min: 1, max: 5 }),
);

Deno.test("stochasticBatch() property: streaming equals batch, same length, exact warm-up", () => {
  fc.assert(
    fc.property(candlesArb, paramsArb, (candles, [kPeriod, kSmoothing, dPeriod]) => {
      const batch = stochasticBatch(candles, { kPeriod, kSmoothing, dPeriod });
      const n = candles.close.length;
      assert.equal(batch.k.length, n);
      assert.equal(batch.d.length, n);
      assert.equal(warmUp(batch.k), Math.min(n, kPeriod + kSmoothing - 2));
      assert.equal(warmUp(batch.d), Math.min(n, kPeriod + kSmoothing + dPeriod - 3));
      const s = new Stochastic(kPeriod, kSmoothing, dPeriod);
      for (let i = 0; i < n; i++) {
        const ready = s.update(candles.high[i]!, candles.low[i]!, candles.close[i]!);
        assert.equal(ready, !Number.isNaN(batch.d[i]!));
        assert.ok(Object.is(s.k, batch.k[i]) && Object.is(s.d, batch.d[i]), `index ${i}`);
      }
    }),
    { numRuns: 300 },
  );
});

Deno.test("stochasticBatch() property: %K and %D within [0, 100]", () => {
  fc.assert(
    fc.property(candlesArb, paramsArb, (candles, [kPeriod, kSmoothing, dPeriod]) => {
      const { k, d } = stochasticBatch(candles, { kPeriod, kSmoothing, dPeriod });
      for (const v of [...k, ...d]) assert.ok(Number.isNaN(v) || (v >= 0 && v <= 100), `${v}`);
    }),
    { numRuns: 500 },
  );
});

Deno.test("stochasticBatch() property: matches the TA-Lib STOCH", () => {
  fc.assert(
    fc.property(candlesArb, paramsArb, (candles, [kPeriod, kSmoothing, dPeriod]) => {
      const ours = stochasticBatch(candles, { kPeriod, kSmoothing, dPeriod });
      const ref = refStochastic(candles, kPeriod, kSmoothing, dPeriod);
      assertSeriesClose(ours.k, ref.k, "k");
      assertSeriesClose(ours.d, ref.d, "d");
    }),
    { numRuns: 300 },
  );
});
