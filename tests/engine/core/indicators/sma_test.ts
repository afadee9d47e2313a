/** Tests for `Sma` / `smaBatch` against a from-scratch reference on real and generated data. */

import assert from "node:assert/strict";
import fc from "fast-check";
import { Sma, smaBatch } from "../../../../engine/core/indicators/sma.ts";
import {
  assertSeriesClose,
  CANDLE_FILES,
  close,
  periodArb,
  pricesArb,
  randomWalk,
  readCandles,
  refSma,
  warmUp,
} from "./_reference.ts";

Deno.test("Sma.update() matches the reference SMA on real KRW candles", () => {
  for (const file of CANDLE_FILES) {
    const { close: closes } = readCandles(file);
    for (const period of [1, 2, 5, 20, 50, 200]) {
      assertSeriesClose(smaBatch(closes, period), refSma(closes, period), `${file} SMA(${period})`);
    }
  }
});

Deno.test("Sma.update() stays exact over 3,000,000 updates of a random walk around 1e8", () => {
  const { close: x } = randomWalk(3_000_000, { seed: 7, start: 100_000_000, step: 5_000 });
  for (const period of [20, 7]) {
    const sma = new Sma(period);
    for (let i = 0; i < x.length; i++) {
      const v = sma.update(x[i]!);
      // Spot-check a window from scratch every 250,000 updates, and the last ones.
      if (i % 250_000 === 249_999 || i >= x.length - 3) {
        const expected = refSma(x.subarray(i - period + 1, i + 1), period)[period - 1]!;
        assert.ok(close(v, expected), `SMA(${period}) at ${i}: ${v} vs ${expected}`);
      }
    }
  }
});

Deno.test("Sma.update() returns NaN until period values, then ready", () => {
  const sma = new Sma(3);
  assert.equal(sma.ready, false);
  assert.ok(Number.isNaN(sma.update(1)));
  assert.ok(Number.isNaN(sma.update(2)));
  assert.ok(Number.isNaN(sma.value));
  assert.equal(sma.update(3), 2);
  assert.equal(sma.ready, true);
  assert.equal(sma.value, 2);
  assert.equal(sma.update(7), 4);
});

Deno.test("Sma() throws a RangeError on an invalid period", () => {
  for (const period of [0, -1, 1.5, NaN, Infinity]) {
    assert.throws(() => new Sma(period), RangeError, `period ${period}`);
    assert.throws(() => smaBatch([1, 2, 3], period), RangeError);
  }
  assert.throws(() => new Sma(0), /Cannot create Sma: period must be an integer >= 1/);
});

Deno.test("Sma.update() throws a RangeError on non-finite input, also once optimised", () => {
  for (const bad of [NaN, Infinity, -Infinity]) {
    assert.throws(() => new Sma(3).update(bad), RangeError);
    const warm = new Sma(20);
    for (let i = 0; i < 200_000; i++) warm.update(1e8 + (i % 97));
    assert.throws(() => warm.update(bad), /Cannot update Sma: input must be finite/);
  }
});

Deno.test("Sma.update() of a constant series is exactly the constant", () => {
  for (const c of [0.1, 1e8 + 0.3, 123456789.123, 3]) {
    const sma = new Sma(7);
    for (let i = 0; i < 1000; i++) {
      const v = sma.update(c);
      if (i >= 6) assert.equal(v, c);
    }
  }
});

Deno.test("smaBatch() property: streaming equals batch, same length, exact warm-up", () => {
  fc.assert(
    fc.property(pricesArb, periodArb, (x, period) => {
      const batch = smaBatch(x, period);
      assert.equal(batch.length, x.length);
      const sma = new Sma(period);
      for (let i = 0; i < x.length; i++) {
        assert.ok(Object.is(sma.update(x[i]!), batch[i]), `index ${i}`);
      }
      assert.equal(warmUp(batch), Math.min(x.length, period - 1));
    }),
    { numRuns: 300 },
  );
});

Deno.test("smaBatch() property: matches the reference", () => {
  fc.assert(
    fc.property(pricesArb, periodArb, (x, period) => {
      const scale = { values: x, span: 2 * period };
      assertSeriesClose(smaBatch(x, period), refSma(x, period), `SMA(${period})`, 1e-9, scale);
    }),
    { numRuns: 300 },
  );
});

Deno.test("smaBatch() after a jump of 10 orders of magnitude errs relative to the jump", () => {
  // Shrunk fast-check counterexample: O(1) sliding sums carry error relative to the largest
  // recent input, not to the (tiny) output.
  const out = smaBatch([16777216.001, 0.001], 1);
  assert.ok(Math.abs(out[1]! - 0.001) <= 1e-9 * 16777216.001);
  assert.ok(close(smaBatch([1e8 + 1, 1e8 + 2, 1e8 + 4], 2)[2]!, 1e8 + 3));
});

Deno.test("smaBatch() of a constant -0 series is zero", () => {
  // Shrunk fast-check counterexample: the sign of zero is not preserved.
  assert.ok(smaBatch([-0, -0], 1)[1] === 0);
});

Deno.test("smaBatch() property: a constant series gives the constant", () => {
  fc.assert(
    fc.property(
      fc.double({ min: -1e12, max: 1e12, noNaN: true }),
      fc.integer({ min: 1, max: 200 }),
      periodArb,
      (c, n, period) => {
        const out = smaBatch(new Array<number>(n).fill(c), period);
        // `===`, not Object.is: -0 comes back as 0.
        for (let i = period - 1; i < n; i++) assert.ok(out[i] === c, `index ${i}`);
      },
    ),
    { numRuns: 300 },
  );
});
