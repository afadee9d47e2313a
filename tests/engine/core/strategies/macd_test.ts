/** Tests of the MACD strategy against a TA-Lib MACD computed here with plain loops. */

import assert from "node:assert/strict";
import fc from "fast-check";
import { createMacd, MACD } from "../../../../engine/core/strategies/macd.ts";
import {
  createStrategy,
  type Holding,
  type Signal,
  STRATEGIES,
} from "../../../../engine/core/strategies/mod.ts";
import { feed } from "./_feed.ts";

interface MacdParams {
  readonly fast: number;
  readonly slow: number;
  readonly signal: number;
}

const P: MacdParams = { fast: 2, slow: 4, signal: 2 };

function run(
  params: MacdParams,
  closes: readonly number[],
  holding: Holding | readonly Holding[],
): Signal[] {
  return feed(createMacd(params), closes, holding);
}

/**
 * Reference MACD (TA-Lib): both EMAs start at index slow − 1, the slow one seeded with the mean
 * of the first `slow` closes and the fast one with the mean of the `fast` closes ending there;
 * the signal is an EMA of MACD seeded with the mean of its first `signal` values.
 */
function referenceMacd(
  closes: readonly number[],
  p: MacdParams,
): { macd: number[]; signal: number[] } {
  const macd = closes.map(() => Number.NaN);
  const signal = closes.map(() => Number.NaN);
  let fast = Number.NaN;
  let slow = Number.NaN;
  for (let i = p.slow - 1; i < closes.length; i++) {
    if (i === p.slow - 1) {
      let s = 0;
      for (let j = 0; j < p.slow; j++) s += closes[j]!;
      slow = s / p.slow;
      let f = 0;
      for (let j = p.slow - p.fast; j < p.slow; j++) f += closes[j]!;
      fast = f / p.fast;
    } else {
      fast += (2 / (p.fast + 1)) * (closes[i]! - fast);
      slow += (2 / (p.slow + 1)) * (closes[i]! - slow);
    }
    macd[i] = fast - slow;
  }
  const first = p.slow - 1 + p.signal - 1;
  for (let i = first; i < closes.length; i++) {
    if (i === first) {
      let s = 0;
      for (let j = p.slow - 1; j <= first; j++) s += macd[j]!;
      signal[i] = s / p.signal;
    } else {
      signal[i] = signal[i - 1]! + (2 / (p.signal + 1)) * (macd[i]! - signal[i - 1]!);
    }
  }
  return { macd, signal };
}

const SWING = [10, 9, 8, 7, 6, 5, 4, 6, 9, 12, 11, 8, 5, 3];

Deno.test("macd buys when MACD crosses above its signal line", () => {
  const ref = referenceMacd(SWING, P);
  const gap = (i: number): number => ref.macd[i]! - ref.signal[i]!;
  assert.ok(gap(6) <= 0 && gap(7) > 0, "the series crosses up at index 7");
  const signals = run(P, SWING, "flat");
  assert.equal(signals[7]!.action, "buy");
  for (const [i, s] of signals.entries()) if (i !== 7) assert.equal(s.action, "hold", `at ${i}`);
});

Deno.test("macd sells when MACD crosses below its signal line", () => {
  const ref = referenceMacd(SWING, P);
  const gap = (i: number): number => ref.macd[i]! - ref.signal[i]!;
  assert.ok(gap(9) >= 0 && gap(10) < 0, "the series crosses down at index 10");
  const signals = run(P, SWING, "long");
  assert.equal(signals[10]!.action, "sell");
  for (const [i, s] of signals.entries()) if (i !== 10) assert.equal(s.action, "hold", `at ${i}`);
});

Deno.test("macd acts on a cross only with the matching holding", () => {
  const holdings: Holding[] = SWING.map((_, i) => (i === 7 ? "long" : "flat"));
  const signals = run(P, SWING, holdings);
  assert.equal(signals[7]!.action, "hold", "no buy while long");
  assert.equal(signals[10]!.action, "hold", "no sell while flat");
});

Deno.test("macd does not signal while MACD stays on one side of its signal", () => {
  // A steady fall keeps MACD under its signal line after the first cross: no new buy.
  const falling = Array.from({ length: 30 }, (_, i) => 1_000 - i * i);
  const ref = referenceMacd(falling, P);
  for (let i = 5; i < falling.length; i++) assert.ok(ref.macd[i]! < ref.signal[i]!, `at ${i}`);
  for (const s of run(P, falling, "flat")) assert.equal(s.action, "hold");
  for (const s of run(P, falling, "long")) assert.equal(s.action, "hold");
});

Deno.test("macd reasons name MACD and its signal", () => {
  const ref = referenceMacd(SWING, P);
  const buy = run(P, SWING, "flat")[7]!;
  assert.equal(
    buy.reason,
    `MACD ${ref.macd[7]!.toFixed(2)} crossed above signal ${
      ref.signal[7]!.toFixed(2)
    } (macd(2, 4, 2))`,
  );
  assert.equal(buy.reason, "MACD -0.20 crossed above signal -0.47 (macd(2, 4, 2))");
  const sell = run(P, SWING, "long")[10]!;
  assert.equal(sell.reason, "MACD 1.06 crossed below signal 1.11 (macd(2, 4, 2))");
});

Deno.test("macd holds while warming up: the first slow + signal − 1 closes", () => {
  const strategy = createMacd(P);
  assert.equal(strategy.warmup, 6);
  assert.equal(strategy.name, "macd(2, 4, 2)");
  const signals = run(P, SWING, "flat");
  for (const s of signals.slice(0, 5)) {
    assert.deepEqual(s, { action: "hold", reason: "warming up" });
  }
  assert.equal(signals[5]!.reason, "no signal");
});

Deno.test("macd follows the crossing rules on random closes (property)", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 1, max: 8 }),
      fc.integer({ min: 1, max: 6 }),
      fc.array(fc.tuple(fc.double({ min: -0.05, max: 0.05, noNaN: true }), fc.boolean()), {
        minLength: 1,
        maxLength: 80,
      }),
      (fast, extra, signal, steps) => {
        const params = { fast, slow: fast + extra, signal };
        const closes: number[] = [];
        let price = 100_000;
        for (const [change] of steps) closes.push(price = Math.max(1, price * (1 + change)));
        const holdings = steps.map(([, long]): Holding => long ? "long" : "flat");
        const signals = run(params, closes, holdings);
        const ref = referenceMacd(closes, params);
        for (const [i, s] of signals.entries()) {
          const now = ref.macd[i]! - ref.signal[i]!;
          const before = i > 0 ? ref.macd[i - 1]! - ref.signal[i - 1]! : Number.NaN;
          if (Number.isNaN(now) || Number.isNaN(before)) {
            assert.deepEqual(s, { action: "hold", reason: "warming up" }, `candle ${i}`);
            continue;
          }
          const eps = 1e-9 * closes[i]!;
          if (Math.abs(now) < eps || Math.abs(before) < eps) continue;
          let expected = "hold";
          if (holdings[i] === "flat" && before < 0 && now > 0) expected = "buy";
          if (holdings[i] === "long" && before > 0 && now < 0) expected = "sell";
          assert.equal(s.action, expected, `candle ${i}: ${before} → ${now}`);
        }
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("macd parameters are validated by zod", () => {
  assert.equal(STRATEGIES.macd, MACD);
  assert.deepEqual(STRATEGIES.macd.params.parse({}), { fast: 12, slow: 26, signal: 9 });
  assert.equal(STRATEGIES.macd.params.safeParse({ fast: 26, slow: 12 }).success, false);
  assert.equal(STRATEGIES.macd.params.safeParse({ fast: 12, slow: 12 }).success, false);
  assert.equal(STRATEGIES.macd.params.safeParse({ fast: 0 }).success, false);
  assert.equal(STRATEGIES.macd.params.safeParse({ signal: 0 }).success, false);
  assert.equal(STRATEGIES.macd.params.safeParse({ slow: 1, fast: 1 }).success, false);
  assert.equal(STRATEGIES.macd.params.safeParse({ fast: 1.5 }).success, false);
  assert.ok(STRATEGIES.macd.params.safeParse({ fast: 1, slow: 2, signal: 1 }).success);
  assert.throws(() => createStrategy("macd", { fast: 26, slow: 12 }));
  assert.equal(createStrategy("macd", {}).name, "macd(12, 26, 9)");
});
