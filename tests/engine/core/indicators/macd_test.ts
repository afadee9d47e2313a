/** Tests for `Macd` / `macdBatch` against the TA-Lib MACD (INT_MACD) on real and generated data. */

import assert from "node:assert/strict";
import fc from "fast-check";
import { Macd, macdBatch } from "../../../../engine/core/indicators/macd.ts";
import {
  assertSeriesClose,
  CANDLE_FILES,
  pricesArb,
  randomWalk,
  readCandles,
  refMacd,
  warmUp,
} from "./_reference.ts";

const PARAMS = [
  [12, 26, 9],
  [5, 35, 5],
  [3, 10, 16],
  [1, 1, 1],
  [8, 8, 3],
] as const;

Deno.test("Macd.update() matches the TA-Lib MACD on real KRW candles", () => {
  for (const file of CANDLE_FILES) {
    const { close } = readCandles(file);
    for (const [fast, slow, signal] of PARAMS) {
      const ours = macdBatch(close, { fast, slow, signal });
      const ref = refMacd(close, fast, slow, signal);
      const label = `${file} MACD(${fast}, ${slow}, ${signal})`;
      assertSeriesClose(ours.macd, ref.macd, `${label}.macd`);
      assertSeriesClose(ours.signal, ref.signal, `${label}.signal`);
      assertSeriesClose(ours.histogram, ref.histogram, `${label}.histogram`);
    }
  }
});

Deno.test("Macd.update() stays accurate over 3,000,000 updates of a random walk around 1e8", () => {
  const { close } = randomWalk(3_000_000, { seed: 17, start: 100_000_000, step: 5_000 });
  const ours = macdBatch(close);
  const ref = refMacd(close, 12, 26, 9);
  assertSeriesClose(ours.macd, ref.macd, "macd");
  assertSeriesClose(ours.signal, ref.signal, "signal");
  assertSeriesClose(ours.histogram, ref.histogram, "histogram");
});

Deno.test("Macd() defaults to 12/26/9: macd from index 25, signal and histogram from 33", () => {
  const m = new Macd();
  assert.deepEqual([m.fastPeriod, m.slowPeriod, m.signalPeriod], [12, 26, 9]);
  const x = Array.from({ length: 40 }, (_, i) => 100 + i * i);
  const out = macdBatch(x);
  assert.equal(warmUp(out.macd), 25);
  assert.equal(warmUp(out.signal), 33);
  assert.equal(warmUp(out.histogram), 33);
  for (let i = 0; i < x.length; i++) {
    assert.equal(m.update(x[i]!), i >= 33, `index ${i}`);
    assert.equal(m.ready, i >= 33);
    assert.ok(Object.is(m.macd, out.macd[i]));
    assert.ok(Object.is(m.signal, out.signal[i]));
    assert.ok(Object.is(m.histogram, out.histogram[i]));
  }
});

Deno.test("Macd.update() seeds the fast EMA with the values ending at index slow - 1", () => {
  // fast 2, slow 4: slow seed = mean(1, 2, 3, 10) = 4, fast seed = mean(3, 10) = 6.5.
  const m = new Macd(2, 4, 1);
  for (const x of [1, 2, 3]) assert.equal(m.update(x), false);
  assert.equal(m.update(10), true);
  assert.equal(m.macd, 2.5);
  assert.equal(m.signal, 2.5);
  assert.equal(m.histogram, 0);
});

Deno.test("Macd() throws a RangeError on invalid periods", () => {
  assert.throws(() => new Macd(0, 26, 9), /Cannot create Macd: fast must be an integer >= 1/);
  assert.throws(() => new Macd(12, 26.5, 9), /slow must be an integer >= 1/);
  assert.throws(() => new Macd(12, 26, NaN), /signal must be an integer >= 1/);
  assert.throws(() => new Macd(26, 12, 9), /Cannot create Macd: fast must be <= slow/);
  assert.throws(() => macdBatch([1], { signal: -1 }), RangeError);
});

Deno.test("Macd.update() throws a RangeError on non-finite input, also once optimised", () => {
  for (const bad of [NaN, Infinity, -Infinity]) {
    assert.throws(() => new Macd().update(bad), RangeError);
    const warm = new Macd();
    for (let i = 0; i < 200_000; i++) warm.update(1e8 + (i % 97));
    assert.throws(() => warm.update(bad), /Cannot update Macd: input must be finite/);
  }
});

const paramsArb = fc.integer({ min: 1, max: 15 }).chain((fast) =>
  fc.tuple(
    fc.constant(fast),
    fc.integer({ min: fast, max: 30 }),
    fc.integer({ min: 1, max: 12 }),
  )
);

Deno.test("macdBatch() property: streaming equals batch, same lengths, exact warm-up", () => {
  fc.assert(
    fc.property(pricesArb, paramsArb, (x, [fast, slow, signal]) => {
      const batch = macdBatch(x, { fast, slow, signal });
      assert.equal(batch.macd.length, x.length);
      assert.equal(batch.signal.length, x.length);
      assert.equal(batch.histogram.length, x.length);
      const m = new Macd(fast, slow, signal);
      for (let i = 0; i < x.length; i++) {
        assert.equal(m.update(x[i]!), !Number.isNaN(batch.signal[i]!));
        assert.ok(Object.is(m.macd, batch.macd[i]), `macd ${i}`);
        assert.ok(Object.is(m.signal, batch.signal[i]), `signal ${i}`);
        assert.ok(Object.is(m.histogram, batch.histogram[i]), `histogram ${i}`);
      }
      assert.equal(warmUp(batch.macd), Math.min(x.length, slow - 1));
      assert.equal(warmUp(batch.signal), Math.min(x.length, slow + signal - 2));
      assert.equal(warmUp(batch.histogram), Math.min(x.length, slow + signal - 2));
    }),
    { numRuns: 300 },
  );
});

Deno.test("macdBatch() property: matches the TA-Lib MACD", () => {
  fc.assert(
    fc.property(pricesArb, paramsArb, (x, [fast, slow, signal]) => {
      const ours = macdBatch(x, { fast, slow, signal });
      const ref = refMacd(x, fast, slow, signal);
      assertSeriesClose(ours.macd, ref.macd, "macd");
      assertSeriesClose(ours.signal, ref.signal, "signal");
      assertSeriesClose(ours.histogram, ref.histogram, "histogram");
    }),
    { numRuns: 300 },
  );
});
