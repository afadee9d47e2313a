/** Tests for `BollingerBands` / `bollingerBandsBatch` against two-pass windows from scratch. */

import assert from "node:assert/strict";
import fc from "fast-check";
import {
  BollingerBands,
  bollingerBandsBatch,
} from "../../../../engine/core/indicators/bollinger.ts";
import {
  assertSeriesClose,
  CANDLE_FILES,
  close,
  periodArb,
  pricesArb,
  randomWalk,
  readCandles,
  refBollinger,
  warmUp,
} from "./_reference.ts";

Deno.test("BollingerBands.update() matches the reference on real KRW candles", () => {
  for (const file of CANDLE_FILES) {
    const closes = readCandles(file).close;
    for (const [period, stdDev] of [[20, 2], [20, 2.5], [1, 2], [2, 1], [5, 3], [100, 2]]) {
      const ours = bollingerBandsBatch(closes, { period, stdDev });
      const ref = refBollinger(closes, period!, stdDev!);
      const label = `${file} BB(${period}, ${stdDev})`;
      assertSeriesClose(ours.upper, ref.upper, `${label}.upper`);
      assertSeriesClose(ours.middle, ref.middle, `${label}.middle`);
      assertSeriesClose(ours.lower, ref.lower, `${label}.lower`);
      // Stricter than the bands: σ itself, relative to σ.
      const sd = ours.upper.map((u, i) => (u - ours.lower[i]!) / (2 * stdDev!));
      assertSeriesClose(sd, ref.sd, `${label}.σ`, 1e-6);
    }
  }
});

Deno.test("BollingerBands.update() stays accurate over 3,000,000 updates around 1e8", () => {
  // σ of a few thousand KRW on prices of 1e8 (x² ≈ 1e16) is where plain running sums of x and
  // x² return noise; steps of 1 KRW (σ below 1e-5 of the price) take the exact-recompute path.
  for (const step of [5_000, 1_000, 1]) {
    const { close: x } = randomWalk(3_000_000, { seed: 19, start: 100_000_000, step });
    const period = 20;
    const stdDev = 2.5;
    const bb = new BollingerBands(period, stdDev);
    for (let i = 0; i < x.length; i++) {
      bb.update(x[i]!);
      if (i % 250_000 === 249_999 || i >= x.length - 3) {
        const ref = refBollinger(x.subarray(i - period + 1, i + 1), period, stdDev);
        const j = period - 1;
        assert.ok(close(bb.upper, ref.upper[j]!), `upper at ${i}`);
        assert.ok(close(bb.middle, ref.middle[j]!), `middle at ${i}`);
        assert.ok(close(bb.lower, ref.lower[j]!), `lower at ${i}`);
        const sd = (bb.upper - bb.lower) / (2 * stdDev);
        assert.ok(close(sd, ref.sd[j]!, 1e-6), `σ at ${i}: ${sd} vs ${ref.sd[j]}`);
      }
    }
  }
});

Deno.test("BollingerBands() defaults to 20 and 2; bands are valid from index period - 1", () => {
  const bb = new BollingerBands();
  assert.deepEqual([bb.period, bb.stdDev], [20, 2]);
  for (let i = 0; i < 19; i++) assert.equal(bb.update(i), false);
  assert.equal(bb.ready, false);
  assert.ok(Number.isNaN(bb.upper) && Number.isNaN(bb.middle) && Number.isNaN(bb.lower));
  assert.equal(bb.update(19), true);
  assert.equal(bb.ready, true);
  assert.equal(bb.middle, 9.5);
  assert.ok(close(bb.upper - bb.middle, 2 * Math.sqrt(33.25)));
});

Deno.test("BollingerBands.update() of a constant window gives three equal bands", () => {
  for (const c of [1e8, 0.1, 123456789.123]) {
    const bb = new BollingerBands(5, 2);
    for (let i = 0; i < 50; i++) bb.update(c);
    assert.deepEqual([bb.upper, bb.middle, bb.lower], [c, c, c]);
  }
});

Deno.test("BollingerBands.update() gives exact flat bands between long busy stretches", () => {
  // Flat windows take the exact-recompute path; run it after the busy path is optimised, twice.
  const { close: x } = randomWalk(400_000, { seed: 31, start: 100_000_000, step: 5_000 });
  const bb = new BollingerBands(20, 2.5);
  for (const flat of [123_456_000, 98_765_000]) {
    for (let i = 0; i < 200_000; i++) bb.update(x[i]!);
    for (let i = 0; i < 25; i++) bb.update(flat);
    assert.deepEqual([bb.upper, bb.middle, bb.lower], [flat, flat, flat]);
    bb.update(flat + 1000);
    const ref = refBollinger([...new Array<number>(19).fill(flat), flat + 1000], 20, 2.5);
    assert.ok(close(bb.upper, ref.upper[19]!) && close(bb.lower, ref.lower[19]!));
    assert.ok(close(bb.middle, ref.middle[19]!));
  }
});

Deno.test("BollingerBands.update() gives flat bands after a jump of six orders of magnitude", () => {
  // Shrunk fast-check counterexample: the sums' reference was still ≈ 383 when the window was
  // already flat at 0.001; their residue must not pass for a real σ.
  const x = [1149.0716430362434, 0.001, 0.001, 0.001, 0.001, 0.001, 0.001, 0.001];
  const { upper, middle, lower } = bollingerBandsBatch(x, {
    period: 3,
    stdDev: 0.0135316425830041,
  });
  assert.deepEqual([upper[7], middle[7], lower[7]], [0.001, 0.001, 0.001]);
});

Deno.test("BollingerBands() throws a RangeError on invalid arguments", () => {
  for (const period of [0, -1, 2.5, NaN]) {
    assert.throws(() => new BollingerBands(period), /Cannot create BollingerBands: period must/);
  }
  for (const stdDev of [-1, NaN, Infinity]) {
    assert.throws(() => new BollingerBands(20, stdDev), /stdDev must be finite and >= 0/);
  }
  assert.throws(() => bollingerBandsBatch([1], { period: 0 }), RangeError);
});

Deno.test("BollingerBands.update() throws a RangeError on non-finite input, also once optimised", () => {
  for (const bad of [NaN, Infinity, -Infinity]) {
    assert.throws(() => new BollingerBands().update(bad), RangeError);
    const warm = new BollingerBands();
    for (let i = 0; i < 200_000; i++) warm.update(1e8 + (i % 97));
    assert.throws(() => warm.update(bad), /Cannot update BollingerBands: input must be finite/);
  }
});

const stdDevArb = fc.double({ min: 0, max: 4, noNaN: true });

/** upper - middle = middle - lower up to the rounding of each band (at the largest magnitude). */
function symmetric(u: number, m: number, l: number): boolean {
  const ulp = 4 * Number.EPSILON * Math.max(Math.abs(u), Math.abs(m), Math.abs(l));
  return Math.abs(u - m - (m - l)) <= ulp;
}

Deno.test("bollingerBandsBatch() bands wider than the middle stay symmetric to rounding", () => {
  // Shrunk fast-check counterexample (of a tolerance that used the middle's ulp only).
  const x = [0.47385435941032483, 0.001, 0.001, 222131.80623485314];
  const { upper, middle, lower } = bollingerBandsBatch(x, {
    period: 4,
    stdDev: 2.7554348449241886,
  });
  assert.ok(lower[3]! < 0 && lower[3]! <= middle[3]! && middle[3]! <= upper[3]!);
  assert.ok(symmetric(upper[3]!, middle[3]!, lower[3]!));
});

Deno.test("bollingerBandsBatch() property: streaming equals batch, same length, exact warm-up", () => {
  fc.assert(
    fc.property(pricesArb, periodArb, stdDevArb, (x, period, stdDev) => {
      const batch = bollingerBandsBatch(x, { period, stdDev });
      for (const s of [batch.upper, batch.middle, batch.lower]) {
        assert.equal(s.length, x.length);
        assert.equal(warmUp(s), Math.min(x.length, period - 1));
      }
      const bb = new BollingerBands(period, stdDev);
      for (let i = 0; i < x.length; i++) {
        assert.equal(bb.update(x[i]!), i >= period - 1);
        assert.ok(Object.is(bb.upper, batch.upper[i]), `upper ${i}`);
        assert.ok(Object.is(bb.middle, batch.middle[i]), `middle ${i}`);
        assert.ok(Object.is(bb.lower, batch.lower[i]), `lower ${i}`);
      }
    }),
    { numRuns: 300 },
  );
});

Deno.test("bollingerBandsBatch() property: lower <= middle <= upper, symmetric bands", () => {
  fc.assert(
    fc.property(pricesArb, periodArb, stdDevArb, (x, period, stdDev) => {
      const { upper, middle, lower } = bollingerBandsBatch(x, { period, stdDev });
      for (let i = period - 1; i < x.length; i++) {
        const u = upper[i]!;
        const m = middle[i]!;
        const l = lower[i]!;
        assert.ok(l <= m && m <= u, `index ${i}: ${l} ${m} ${u}`);
        assert.ok(symmetric(u, m, l), `index ${i}: asymmetric ${l} ${m} ${u}`);
      }
    }),
    { numRuns: 300 },
  );
});

Deno.test("bollingerBandsBatch() property: matches the reference", () => {
  fc.assert(
    fc.property(pricesArb, periodArb, stdDevArb, (x, period, stdDev) => {
      const ours = bollingerBandsBatch(x, { period, stdDev });
      const ref = refBollinger(x, period, stdDev);
      // A sliding variance errs by ~ε·scale² in σ², so by up to √(period·ε)·scale in σ where
      // inputs jump across orders of magnitude (scale = largest |input| the sums can involve:
      // back to the window whose mean is their reference, 3 periods).
      const scale = { values: x, span: 3 * period };
      const tol = Math.max(1e-9, 4 * Math.sqrt(period * Number.EPSILON) * Math.max(1, stdDev));
      assertSeriesClose(ours.middle, ref.middle, "middle", 1e-9, scale);
      assertSeriesClose(ours.upper, ref.upper, "upper", tol, scale);
      assertSeriesClose(ours.lower, ref.lower, "lower", tol, scale);
    }),
    { numRuns: 300 },
  );
});

Deno.test("bollingerBandsBatch() property: matches the reference to 1e-9 on price walks", () => {
  const walkArb = fc.tuple(
    fc.integer({ min: 10_000_000, max: 200_000_000 }),
    fc.array(fc.integer({ min: -50, max: 50 }), { maxLength: 150 }),
  );
  fc.assert(
    fc.property(walkArb, periodArb, stdDevArb, ([start, steps], period, stdDev) => {
      let p = start;
      const x = steps.map((s) => (p += s * 1000));
      const ours = bollingerBandsBatch(x, { period, stdDev });
      const ref = refBollinger(x, period, stdDev);
      assertSeriesClose(ours.upper, ref.upper, "upper");
      assertSeriesClose(ours.middle, ref.middle, "middle");
      assertSeriesClose(ours.lower, ref.lower, "lower");
    }),
    { numRuns: 300 },
  );
});
