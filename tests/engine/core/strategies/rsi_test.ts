/** Tests of the RSI strategy against a Wilder RSI computed here with a plain loop. */

import assert from "node:assert/strict";
import fc from "fast-check";
import {
  createStrategy,
  type Holding,
  type Signal,
  STRATEGIES,
} from "../../../../engine/core/strategies/mod.ts";
import { createRsi, RSI } from "../../../../engine/core/strategies/rsi.ts";
import { candle, feed } from "./_feed.ts";

interface RsiParams {
  readonly period: number;
  readonly oversold: number;
  readonly overbought: number;
}

const P2: RsiParams = { period: 2, oversold: 30, overbought: 70 };

function run(
  params: RsiParams,
  closes: readonly number[],
  holding: Holding | readonly Holding[],
): Signal[] {
  return feed(createRsi(params), closes, holding);
}

/**
 * Reference Wilder RSI (TA-Lib): the first averages are the means of the first `period` changes,
 * then avg = (avg × (period − 1) + change) / period; 0 when there was no change at all.
 */
function referenceRsi(closes: readonly number[], period: number): number[] {
  const out: number[] = closes.map(() => Number.NaN);
  let gain = 0;
  let loss = 0;
  for (let i = 1; i < closes.length; i++) {
    const change = closes[i]! - closes[i - 1]!;
    const up = change > 0 ? change : 0;
    const down = change < 0 ? -change : 0;
    if (i <= period) {
      gain += up;
      loss += down;
      if (i < period) continue;
      gain /= period;
      loss /= period;
    } else {
      gain = (gain * (period - 1) + up) / period;
      loss = (loss * (period - 1) + down) / period;
    }
    out[i] = gain + loss === 0 ? 0 : (100 * gain) / (gain + loss);
  }
  return out;
}

Deno.test("rsi buys when RSI crosses up through oversold (previous < 30 <= now)", () => {
  // Changes −3, −4 → RSI 0; then +1 → 22.2 (still under); then +2 → 58.8 (crossed).
  const closes = [100, 97, 93, 94, 96];
  const ref = referenceRsi(closes, 2);
  assert.equal(ref[2], 0);
  assert.ok(ref[3]! < 30 && ref[4]! >= 30, `reference RSI ${ref}`);
  const signals = run(P2, closes, "flat");
  assert.deepEqual(signals.map((s) => s.action), ["hold", "hold", "hold", "hold", "buy"]);
  assert.equal(run(P2, closes, "long")[4]!.action, "hold", "no buy while long");
});

Deno.test("rsi buys when RSI reaches exactly the oversold level from below", () => {
  // Changes −7, −7 → RSI 0; then +3 → gain 1.5, loss 3.5 → RSI 30 exactly.
  const closes = [100, 93, 86, 89];
  assert.equal(referenceRsi(closes, 2)[3], 30);
  assert.equal(run(P2, closes, "flat")[3]!.action, "buy");
});

Deno.test("rsi does not buy when RSI leaves the oversold level without having been under it", () => {
  // RSI is exactly 30 at index 3, then rises: 30 → 41.7 starts at the level, not under it.
  const closes = [100, 93, 86, 89, 90];
  const ref = referenceRsi(closes, 2);
  assert.equal(ref[3], 30);
  assert.ok(ref[4]! > 30);
  const holdings: Holding[] = ["flat", "flat", "flat", "long", "flat"];
  assert.equal(run(P2, closes, holdings)[4]!.action, "hold");
});

Deno.test("rsi does not buy while RSI stays under oversold", () => {
  const closes = [100, 97, 93, 94, 92, 91.5];
  const ref = referenceRsi(closes, 2);
  for (let i = 2; i < closes.length; i++) assert.ok(ref[i]! < 30, `RSI ${ref[i]} at ${i}`);
  for (const s of run(P2, closes, "flat")) assert.equal(s.action, "hold");
});

Deno.test("rsi sells when RSI crosses down through overbought (previous > 70 >= now)", () => {
  // Changes +7, +7 → RSI 100; then −3 → gain 3.5, loss 1.5 → RSI 70 exactly.
  const closes = [100, 107, 114, 111];
  const ref = referenceRsi(closes, 2);
  assert.equal(ref[2], 100);
  assert.equal(ref[3], 70);
  assert.equal(run(P2, closes, "long")[3]!.action, "sell");
  assert.equal(run(P2, closes, "flat")[3]!.action, "hold", "no sell while flat");
  // A deeper fall crosses too.
  assert.equal(run(P2, [100, 107, 114, 100], "long")[3]!.action, "sell");
});

Deno.test("rsi does not sell when RSI leaves the overbought level without having been over it", () => {
  // RSI is exactly 70 at index 3, then falls to 58.3.
  const closes = [100, 107, 114, 111, 110];
  const ref = referenceRsi(closes, 2);
  assert.equal(ref[3], 70);
  assert.ok(ref[4]! < 70);
  const holdings: Holding[] = ["long", "long", "long", "flat", "long"];
  assert.equal(run(P2, closes, holdings)[4]!.action, "hold");
});

Deno.test("rsi does not sell while RSI stays over overbought", () => {
  const closes = [100, 103, 107, 106, 108, 108.5];
  const ref = referenceRsi(closes, 2);
  for (let i = 2; i < closes.length; i++) assert.ok(ref[i]! > 70, `RSI ${ref[i]} at ${i}`);
  for (const s of run(P2, closes, "long")) assert.equal(s.action, "hold");
});

Deno.test("rsi reasons name the level and both RSI values", () => {
  const buy = run(P2, [100, 97, 93, 94, 96], "flat")[4]!;
  assert.equal(buy.reason, "RSI crossed up through 30: 22.22 → 58.82 (rsi(2, 30, 70))");
  const sell = run(P2, [100, 107, 114, 111], "long")[3]!;
  assert.equal(sell.reason, "RSI crossed down through 70: 100.00 → 70.00 (rsi(2, 30, 70))");
});

Deno.test("rsi uses its own levels", () => {
  const custom = { period: 2, oversold: 20, overbought: 80 };
  // 22.2 → 58.8 crosses 30, not 20: no buy with oversold 20 (the previous value is above it).
  assert.equal(run(custom, [100, 97, 93, 94, 96], "flat")[4]!.action, "hold");
  // 0 → 30 crosses 20.
  assert.equal(run(custom, [100, 93, 86, 89], "flat")[3]!.action, "buy");
  assert.equal(createRsi(custom).name, "rsi(2, 20, 80)");
});

Deno.test("rsi holds while warming up: the first period + 1 closes", () => {
  const strategy = createRsi({ period: 3, oversold: 30, overbought: 70 });
  // The 5th candle (period + 2) is the first that can signal.
  assert.equal(strategy.warmup, 5);
  const closes = [100, 50, 25, 12, 50];
  const signals = closes.map((c, i) => strategy.update(candle(i, c), "flat"));
  for (const s of signals.slice(0, 4)) {
    assert.deepEqual(s, { action: "hold", reason: "warming up" });
  }
  // The first RSI (0, at the 4th close) has no previous value; the 5th close (39.3) can cross.
  const ref = referenceRsi(closes, 3);
  assert.equal(ref[3], 0);
  assert.ok(ref[4]! > 30);
  assert.equal(signals[4]!.action, "buy");
});

Deno.test("rsi follows the crossing rules on random closes (property)", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 2, max: 10 }),
      fc.tuple(fc.integer({ min: 5, max: 45 }), fc.integer({ min: 55, max: 95 })),
      fc.array(fc.tuple(fc.double({ min: -0.05, max: 0.05, noNaN: true }), fc.boolean()), {
        minLength: 1,
        maxLength: 80,
      }),
      (period, [oversold, overbought], steps) => {
        const closes: number[] = [];
        let price = 1_000;
        for (const [change] of steps) closes.push(price = Math.max(1, price * (1 + change)));
        const holdings = steps.map(([, long]): Holding => long ? "long" : "flat");
        const params = { period, oversold, overbought };
        const signals = run(params, closes, holdings);
        const ref = referenceRsi(closes, period);
        const near = (x: number, level: number): boolean => Math.abs(x - level) < 1e-9;
        for (const [i, signal] of signals.entries()) {
          const now = ref[i]!;
          const before = i > 0 ? ref[i - 1]! : Number.NaN;
          if (Number.isNaN(now) || Number.isNaN(before)) {
            assert.deepEqual(signal, { action: "hold", reason: "warming up" }, `candle ${i}`);
            continue;
          }
          if ([before, now].some((x) => near(x, oversold) || near(x, overbought))) continue;
          let expected = "hold";
          if (holdings[i] === "flat" && before < oversold && now >= oversold) expected = "buy";
          if (holdings[i] === "long" && before > overbought && now <= overbought) expected = "sell";
          assert.equal(signal.action, expected, `candle ${i}: ${before} → ${now}`);
        }
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("rsi parameters are validated by zod", () => {
  assert.equal(STRATEGIES.rsi, RSI);
  assert.deepEqual(STRATEGIES.rsi.params.parse({}), { period: 14, oversold: 30, overbought: 70 });
  assert.equal(STRATEGIES.rsi.params.safeParse({ oversold: 80, overbought: 70 }).success, false);
  assert.equal(STRATEGIES.rsi.params.safeParse({ oversold: 70, overbought: 70 }).success, false);
  assert.equal(STRATEGIES.rsi.params.safeParse({ period: 1 }).success, false);
  assert.equal(STRATEGIES.rsi.params.safeParse({ period: 14.5 }).success, false);
  assert.equal(STRATEGIES.rsi.params.safeParse({ oversold: -1 }).success, false);
  assert.equal(STRATEGIES.rsi.params.safeParse({ overbought: 101 }).success, false);
  assert.ok(STRATEGIES.rsi.params.safeParse({ period: 2, oversold: 0, overbought: 100 }).success);
  assert.throws(() => createStrategy("rsi", { oversold: 80, overbought: 70 }));
  assert.equal(createStrategy("rsi", {}).name, "rsi(14, 30, 70)");
});
