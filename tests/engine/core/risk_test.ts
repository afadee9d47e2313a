/** Tests of the risk manager: exit levels, exits within a bar, the daily loss guard, cooldown. */

import assert from "node:assert/strict";
import fc from "fast-check";
import { DAY_MS } from "../../../engine/core/candle.ts";
import { parseUnits, SCALE, unitsToNumber } from "../../../engine/core/money.ts";
import {
  checkDailyLoss,
  checkExit,
  DEFAULT_RISK_RULES,
  entryDenial,
  type PriceBar,
  RISK_RULES_SCHEMA,
  riskLevels,
  type RiskRules,
  rollDay,
  trackHighest,
  trailingStopPx,
} from "../../../engine/core/risk.ts";
import { isOnTick, krwTickSize } from "../../../engine/core/tick_size.ts";

const IN_2024 = Date.UTC(2024, 5, 1);
const IN_2026 = Date.UTC(2026, 0, 1);
const u = parseUnits;

function rules(overrides: Partial<RiskRules> = {}): RiskRules {
  return { ...DEFAULT_RISK_RULES, ...overrides };
}

function bar(open: number, high: number, low: number): PriceBar {
  return { open, high, low };
}

const BTC = riskLevels(u("100000000"), { rules: rules(), atMs: IN_2026, market: "KRW-BTC" });

// ---------------------------------------------------------------- riskLevels

Deno.test("DEFAULT_RISK_RULES are stop −5%, target +10%, daily limit −10%, no trailing, no cooldown", () => {
  assert.deepEqual(DEFAULT_RISK_RULES, {
    stopLossPct: 5,
    takeProfitPct: 10,
    maxDailyLossPct: 10,
    trailingStopPct: 0,
    cooldownMs: 0,
  });
  assert.ok(RISK_RULES_SCHEMA.safeParse(DEFAULT_RISK_RULES).success);
  assert.equal(RISK_RULES_SCHEMA.safeParse(rules({ stopLossPct: -1 })).success, false);
  assert.equal(RISK_RULES_SCHEMA.safeParse(rules({ stopLossPct: 100 })).success, false);
  assert.equal(RISK_RULES_SCHEMA.safeParse(rules({ trailingStopPct: 100 })).success, false);
  assert.equal(RISK_RULES_SCHEMA.safeParse(rules({ cooldownMs: 1.5 })).success, false);
});

Deno.test("riskLevels() puts the stop 5% under and the target 10% over a BTC entry", () => {
  assert.equal(BTC.stop, u("95000000"));
  assert.equal(BTC.target, u("110000000"));
  assert.equal(BTC.stopPx, 95_000_000);
  assert.equal(BTC.targetPx, 110_000_000);
  assert.equal(BTC.highestPx, 100_000_000);
});

Deno.test("riskLevels() floors the stop and ceils the target onto the tick of the date", () => {
  // 721.3 × 0.95 = 685.235 → 685.2; 721.3 × 1.1 = 793.43 → 793.5 (0.1 KRW ticks in 2024)
  const xrp = riskLevels(u("721.3"), { rules: rules(), atMs: IN_2024, market: "KRW-XRP" });
  assert.equal(xrp.stop, u("685.2"));
  assert.equal(xrp.target, u("793.5"));
  assert.equal(xrp.stopPx, 685.2);
  assert.equal(xrp.targetPx, 793.5);
  // 1 KRW ticks from 2025-07-31.
  const later = riskLevels(u("721.3"), { rules: rules(), atMs: IN_2026, market: "KRW-XRP" });
  assert.equal(later.stop, u("685"));
  assert.equal(later.target, u("794"));
  // And for KRW-TRX after October 2024 (1 KRW ticks at 100–1,000 KRW).
  const trx = riskLevels(u("721.3"), {
    rules: rules(),
    atMs: Date.UTC(2024, 10, 15),
    market: "KRW-TRX",
  });
  assert.equal(trx.stop, u("685"));
  assert.equal(trx.target, u("794"));
});

Deno.test("riskLevels() rounds the exact level, not an already-rounded one, onto the tick", () => {
  // 99,999,999.99999999 × 0.95 = 94,999,999.9999999905: the stop is 94,999,000, not 95,000,000.
  const stop = riskLevels(9_999_999_999_999_999n, {
    rules: rules(),
    atMs: IN_2026,
    market: "KRW-BTC",
  });
  assert.equal(stop.stop, u("94999000"));
  // 10,001,818.18181819 × 1.1 = 11,002,000.000000009: the target is 11,003,000, not 11,002,000.
  const target = riskLevels(1_000_181_818_181_819n, {
    rules: rules(),
    atMs: IN_2026,
    market: "KRW-BTC",
  });
  assert.equal(target.target, u("11003000"));
});

Deno.test("riskLevels() with a rule at 0 switches that level off", () => {
  const none = riskLevels(u("100000000"), {
    rules: rules({ stopLossPct: 0, takeProfitPct: 0 }),
    atMs: IN_2026,
    market: "KRW-BTC",
  });
  assert.equal(none.stop, 0n);
  assert.equal(none.target, 0n);
  assert.ok(Number.isNaN(none.stopPx));
  assert.ok(Number.isNaN(none.targetPx));
});

Deno.test("riskLevels() is never kinder than the rule, and within one tick of it (property)", () => {
  fc.assert(
    fc.property(
      fc.tuple(fc.bigInt({ min: 1n, max: 99_999_999n }), fc.integer({ min: 6, max: 15 }))
        .map(([m, e]) => m * 10n ** BigInt(e)), // 0.000001 to 1e15 KRW
      fc.integer({ min: 1, max: 99 }),
      fc.integer({ min: 1, max: 10_000 }),
      fc.integer({ min: Date.UTC(2017, 9, 1), max: Date.UTC(2027, 0, 1) }),
      fc.constantFrom("KRW-BTC", "KRW-XRP", "KRW-TRX", "KRW-USDT"),
      (entry, stopLossPct, takeProfitPct, atMs, market) => {
        const levels = riskLevels(entry, {
          rules: rules({ stopLossPct, takeProfitPct }),
          atMs,
          market,
        });
        // Exact levels as fractions over 100: stop ≤ entry × (100 − s) / 100 ≤ stop + tick.
        const stopExact100 = entry * BigInt(100 - stopLossPct);
        const targetExact100 = entry * BigInt(100 + takeProfitPct);
        assert.ok(levels.stop * 100n <= stopExact100, "stop above the rule");
        assert.ok(levels.target * 100n >= targetExact100, "target below the rule");
        const stopTick = krwTickSize(stopExact100 / 100n, { atMs, market });
        const targetTick = krwTickSize(levels.target, { atMs, market });
        assert.ok((levels.stop + stopTick) * 100n > stopExact100, "stop more than a tick low");
        assert.ok((levels.target - targetTick) * 100n < targetExact100, "target a tick too high");
        assert.ok(isOnTick(levels.stop, { atMs, market }), "stop off the grid");
        assert.ok(isOnTick(levels.target, { atMs, market }), "target off the grid");
        if (levels.stop > 0n) assert.equal(levels.stopPx, unitsToNumber(levels.stop));
        assert.equal(levels.targetPx, unitsToNumber(levels.target));
      },
    ),
    { numRuns: 1000 },
  );
});

// ---------------------------------------------------------------- checkExit

Deno.test("checkExit() returns null when the bar touches no level", () => {
  assert.equal(checkExit(BTC, rules(), bar(100_000_000, 109_999_000, 95_001_000)), null);
});

Deno.test("checkExit() exits at the stop when the low touches it", () => {
  assert.deepEqual(checkExit(BTC, rules(), bar(100_000_000, 101_000_000, 95_000_000)), {
    reason: "stop_loss",
    price: 95_000_000,
  });
  assert.deepEqual(checkExit(BTC, rules(), bar(100_000_000, 101_000_000, 90_000_000)), {
    reason: "stop_loss",
    price: 95_000_000,
  });
});

Deno.test("checkExit() takes profit at the target when the high touches it", () => {
  assert.deepEqual(checkExit(BTC, rules(), bar(100_000_000, 110_000_000, 99_000_000)), {
    reason: "take_profit",
    price: 110_000_000,
  });
  assert.deepEqual(checkExit(BTC, rules(), bar(100_000_000, 120_000_000, 99_000_000)), {
    reason: "take_profit",
    price: 110_000_000,
  });
});

Deno.test("checkExit() assumes the stop came first when both levels lie inside one bar", () => {
  assert.deepEqual(checkExit(BTC, rules(), bar(100_000_000, 111_000_000, 94_000_000)), {
    reason: "stop_loss",
    price: 95_000_000,
  });
});

Deno.test("checkExit() exits at the open when the bar gaps beyond a level", () => {
  assert.deepEqual(checkExit(BTC, rules(), bar(93_000_000, 96_000_000, 92_000_000)), {
    reason: "stop_loss",
    price: 93_000_000,
  });
  assert.deepEqual(checkExit(BTC, rules(), bar(112_000_000, 113_000_000, 111_000_000)), {
    reason: "take_profit",
    price: 112_000_000,
  });
  // Opening exactly on a level is a touch at the open, whatever the bar does next.
  assert.deepEqual(checkExit(BTC, rules(), bar(110_000_000, 111_000_000, 90_000_000)), {
    reason: "take_profit",
    price: 110_000_000,
  });
  assert.deepEqual(checkExit(BTC, rules(), bar(95_000_000, 120_000_000, 94_000_000)), {
    reason: "stop_loss",
    price: 95_000_000,
  });
  // A gap up whose bar then falls through the stop still took profit at the open first.
  assert.deepEqual(checkExit(BTC, rules(), bar(112_000_000, 113_000_000, 90_000_000)), {
    reason: "take_profit",
    price: 112_000_000,
  });
});

Deno.test("checkExit() uses a trailing stop above the fixed stop after a new high", () => {
  const trailing = rules({ trailingStopPct: 10, takeProfitPct: 50 });
  const levels = riskLevels(u("100000000"), { rules: trailing, atMs: IN_2026, market: "KRW-BTC" });
  const high = trackHighest(levels, 120_000_000);
  const level = 120_000_000 * 0.9;
  assert.ok(Math.abs(trailingStopPx(high, trailing) - 108_000_000) < 1e-6);
  const exit = checkExit(high, trailing, bar(115_000_000, 116_000_000, 107_000_000));
  assert.equal(exit?.reason, "trailing_stop");
  assert.ok(Math.abs(exit!.price - level) < 1e-6);
  // No new high yet: 90M trails under the fixed 95M stop, which stays in charge.
  assert.deepEqual(checkExit(levels, trailing, bar(100_000_000, 101_000_000, 94_000_000)), {
    reason: "stop_loss",
    price: 95_000_000,
  });
  // A gap under the trailing stop exits at the open.
  assert.deepEqual(checkExit(high, trailing, bar(100_000_000, 101_000_000, 99_000_000)), {
    reason: "trailing_stop",
    price: 100_000_000,
  });
  // Above it, nothing.
  assert.equal(checkExit(high, trailing, bar(115_000_000, 116_000_000, 108_500_000)), null);
});

Deno.test("checkExit() trails tighter than the fixed stop right from the entry", () => {
  // 3% under the entry's 100M is 97M, above the fixed 95M stop.
  const exit = checkExit(
    BTC,
    rules({ trailingStopPct: 3 }),
    bar(100_000_000, 100_000_000, 96_000_000),
  );
  assert.equal(exit?.reason, "trailing_stop");
  assert.ok(Math.abs(exit!.price - 97_000_000) < 1e-6);
});

Deno.test("checkExit() trailing stop uses only the highest of earlier bars", () => {
  // Within this bar the high (130M) may have come after the low: the trail stays at 120M × 0.9.
  const noTarget = rules({ trailingStopPct: 10, takeProfitPct: 0 });
  const levels = riskLevels(u("100000000"), { rules: noTarget, atMs: IN_2026, market: "KRW-BTC" });
  const high = trackHighest(levels, 120_000_000);
  assert.equal(checkExit(high, noTarget, bar(120_000_000, 130_000_000, 116_000_000)), null);
});

Deno.test("checkExit() with the trailing stop at 0 never trails", () => {
  const high = trackHighest(BTC, 120_000_000);
  assert.ok(Number.isNaN(trailingStopPx(high, rules())));
  assert.equal(checkExit(high, rules(), bar(108_000_000, 109_000_000, 100_000_000)), null);
});

Deno.test("checkExit() with stop and target at 0 never exits on them", () => {
  const off = rules({ stopLossPct: 0, takeProfitPct: 0 });
  const levels = riskLevels(u("100000000"), { rules: off, atMs: IN_2026, market: "KRW-BTC" });
  assert.equal(checkExit(levels, off, bar(100_000_000, 1e12, 1)), null);
  assert.equal(checkExit(levels, off, bar(1, 1, 1)), null);
  assert.equal(checkExit(levels, off, bar(1e12, 1e12, 1e12)), null);
  // The trailing stop still works alone.
  const trailOnly = rules({ stopLossPct: 0, takeProfitPct: 0, trailingStopPct: 10 });
  assert.equal(
    checkExit(levels, trailOnly, bar(100_000_000, 100_000_000, 89_000_000))?.reason,
    "trailing_stop",
  );
});

Deno.test("checkExit() trailing stop fires when the price falls exactly trailingStopPct from the high", () => {
  // A 7% trail under a high of 1,000,000 is 930,000: a low of exactly 930,000 has fallen 7%.
  const trail7 = rules({ trailingStopPct: 7, takeProfitPct: 0 });
  const levels = trackHighest(
    riskLevels(u("900000"), { rules: trail7, atMs: IN_2026, market: "KRW-BTC" }),
    1_000_000,
  );
  const exit = checkExit(levels, trail7, bar(950_000, 950_000, 930_000));
  assert.notEqual(exit, null, `no exit at exactly −7%: trail is ${trailingStopPx(levels, trail7)}`);
  assert.equal(exit?.reason, "trailing_stop");
});

Deno.test("checkExit() trailing stop fires at exactly −34% of a 100 KRW high (shrunk counterexample)", () => {
  // 100 × (1 − 0.34) is 65.99999999999999 in floats.
  const off = rules({ stopLossPct: 0, takeProfitPct: 0 });
  const levels = trackHighest(
    riskLevels(u("100"), { rules: off, atMs: IN_2026, market: "KRW-BTC" }),
    100,
  );
  const exit = checkExit(levels, rules({ ...off, trailingStopPct: 34 }), bar(100, 100, 66));
  assert.equal(exit?.reason, "trailing_stop");
});

Deno.test("checkExit() trailing stop fires whenever a whole-KRW fall reaches trailingStopPct (property)", () => {
  const off = rules({ stopLossPct: 0, takeProfitPct: 0 });
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 10_000_000 }).map((x) => x * 100), // whole KRW, divisible by 100
      fc.integer({ min: 1, max: 99 }),
      fc.constantFrom(-1, 0, 1),
      (highest, pct, offset) => {
        const trail = rules({ stopLossPct: 0, takeProfitPct: 0, trailingStopPct: pct });
        const levels = trackHighest(
          riskLevels(u("100"), { rules: off, atMs: IN_2026, market: "KRW-BTC" }),
          highest,
        );
        const level = (highest / 100) * (100 - pct); // exact: integers below 2^53
        const exit = checkExit(levels, trail, bar(highest, highest, level + offset));
        assert.equal(
          exit !== null,
          offset <= 0,
          `high ${highest}, −${pct}%, low ${level + offset}`,
        );
      },
    ),
    { numRuns: 1000 },
  );
});

Deno.test("trackHighest() raises the highest price and keeps the same object otherwise", () => {
  const up = trackHighest(BTC, 101_000_000);
  assert.equal(up.highestPx, 101_000_000);
  assert.equal(BTC.highestPx, 100_000_000, "the input is not changed");
  assert.equal(up.stop, BTC.stop);
  assert.equal(trackHighest(up, 100_500_000), up);
  assert.equal(trackHighest(up, 101_000_000), up);
});

/** Exit levels and a bar around them, everything in KRW floats. */
const SCENARIO = fc.record({
  entry: fc.tuple(fc.integer({ min: 1_000, max: 99_999 }), fc.integer({ min: 0, max: 4 }))
    .map(([m, e]) => BigInt(m) * 10n ** BigInt(e) * SCALE), // 1,000 to ~1e9 KRW
  stopLossPct: fc.constantFrom(0, 1, 5, 7, 10, 30),
  takeProfitPct: fc.constantFrom(0, 1, 10, 33, 100),
  trailingStopPct: fc.constantFrom(0, 1, 3, 10, 20),
  risePct: fc.integer({ min: 0, max: 60 }),
  // Bar prices as shares of the entry: from 50% to 200%, or exactly on a level.
  a: fc.oneof(
    fc.double({ min: 0.5, max: 2, noNaN: true }),
    fc.constantFrom("stop", "target", "trail"),
  ),
  b: fc.oneof(
    fc.double({ min: 0.5, max: 2, noNaN: true }),
    fc.constantFrom("stop", "target", "trail"),
  ),
  c: fc.oneof(
    fc.double({ min: 0.5, max: 2, noNaN: true }),
    fc.constantFrom("stop", "target", "trail"),
  ),
  atMs: fc.constantFrom(IN_2024, IN_2026),
});

Deno.test("checkExit() never exits kinder than the levels, and always when the stop is touched (property)", () => {
  fc.assert(
    fc.property(SCENARIO, (s) => {
      const r = rules({
        stopLossPct: s.stopLossPct,
        takeProfitPct: s.takeProfitPct,
        trailingStopPct: s.trailingStopPct,
      });
      const base = riskLevels(s.entry, { rules: r, atMs: s.atMs, market: "KRW-BTC" });
      const entryPx = unitsToNumber(s.entry);
      const levels = trackHighest(base, entryPx * (1 + s.risePct / 100));
      const trail = trailingStopPx(levels, r);
      const price = (x: number | "stop" | "target" | "trail"): number => {
        if (x === "stop") return Number.isNaN(levels.stopPx) ? entryPx : levels.stopPx;
        if (x === "target") return Number.isNaN(levels.targetPx) ? entryPx : levels.targetPx;
        if (x === "trail") return Number.isNaN(trail) ? entryPx : trail;
        return entryPx * x;
      };
      const [low, open, high] = [price(s.a), price(s.b), price(s.c)].sort((x, y) => x - y) as [
        number,
        number,
        number,
      ];
      const exit = checkExit(levels, r, { open, high, low });
      const stops = [levels.stopPx, trail].filter((x) => !Number.isNaN(x));
      const effectiveStop = stops.length === 0 ? Number.NaN : Math.max(...stops);
      const targetOn = !Number.isNaN(levels.targetPx);
      // Touching the (effective) stop always exits.
      if (low <= effectiveStop) assert.notEqual(exit, null, "stop touched but no exit");
      if (targetOn && high >= levels.targetPx) {
        assert.notEqual(exit, null, "target touched but no exit");
      }
      // A bar strictly between the levels never exits.
      const aboveStop = Number.isNaN(effectiveStop) || low > effectiveStop;
      const belowTarget = !targetOn || high < levels.targetPx;
      if (aboveStop && belowTarget) assert.equal(exit, null, "exit without a touch");
      if (exit === null) return;
      // Exits happen at prices the bar traded.
      assert.ok(low <= exit.price && exit.price <= high, "exit outside the bar");
      switch (exit.reason) {
        case "stop_loss":
          assert.ok(exit.price <= levels.stopPx, "stop exit above the stop level");
          assert.ok(levels.stopPx <= entryPx * (1 - s.stopLossPct / 100) + 1e-6);
          break;
        case "trailing_stop":
          assert.ok(exit.price <= trail, "trailing exit above the trailing level");
          break;
        case "take_profit":
          assert.ok(exit.price >= levels.targetPx, "target exit below the target");
          assert.ok(levels.targetPx >= entryPx * (1 + s.takeProfitPct / 100) - 1e-6);
          break;
      }
      // Both levels inside one bar that opened between them: the stop (the worse) wins.
      if (low <= effectiveStop && targetOn && high >= levels.targetPx) {
        if (open > effectiveStop && open < levels.targetPx) {
          assert.notEqual(exit.reason, "take_profit", "took profit when the stop was also hit");
        }
      }
    }),
    { numRuns: 2000 },
  );
});

// ---------------------------------------------------------------- the day guard

const DAY = Date.UTC(2025, 0, 2); // 00:00 UTC = 09:00 KST, the start of an Upbit day

Deno.test("rollDay() starts a guard on the Upbit day (00:00 UTC) of the moment", () => {
  const guard = rollDay(null, DAY + 5 * 3_600_000, 1_000_000);
  assert.deepEqual(guard, { dayStartMs: DAY, startEquity: 1_000_000, blocked: false });
});

Deno.test("rollDay() keeps the guard within a day and resets it at the next 00:00 UTC", () => {
  const guard = { dayStartMs: DAY, startEquity: 1_000_000, blocked: true };
  assert.equal(rollDay(guard, DAY + DAY_MS - 1, 500_000), guard, "same day: unchanged");
  assert.equal(rollDay(guard, DAY, 500_000), guard);
  assert.deepEqual(rollDay(guard, DAY + DAY_MS, 800_000), {
    dayStartMs: DAY + DAY_MS,
    startEquity: 800_000,
    blocked: false,
  });
  // 08:59:59.999 KST is still the previous Upbit day; 09:00 KST is the next.
  assert.equal(rollDay(guard, DAY + DAY_MS - 1, 1).dayStartMs, DAY);
  // Several days later.
  assert.equal(rollDay(guard, DAY + 3 * DAY_MS + 1, 1).dayStartMs, DAY + 3 * DAY_MS);
});

Deno.test("checkDailyLoss() blocks at exactly −10% and not at −9.99%", () => {
  const guard = rollDay(null, DAY, 1_000_000);
  assert.equal(checkDailyLoss(guard, rules(), 900_100).blocked, false);
  assert.equal(checkDailyLoss(guard, rules(), 900_000).blocked, true);
  assert.equal(checkDailyLoss(guard, rules(), 500_000).blocked, true);
  assert.equal(checkDailyLoss(guard, rules(), 1_100_000).blocked, false);
  assert.equal(
    checkDailyLoss(guard, rules(), 900_100),
    guard,
    "unchanged guard is the same object",
  );
});

Deno.test("checkDailyLoss() stays blocked for the day once blocked, and 0 switches it off", () => {
  const blocked = checkDailyLoss(rollDay(null, DAY, 1_000_000), rules(), 850_000);
  assert.equal(blocked.blocked, true);
  assert.equal(checkDailyLoss(blocked, rules(), 1_200_000), blocked, "recovering does not unblock");
  const off = rules({ maxDailyLossPct: 0 });
  assert.equal(checkDailyLoss(rollDay(null, DAY, 1_000_000), off, 1).blocked, false);
});

Deno.test("checkDailyLoss() blocks at exactly −7% of the day's start", () => {
  // 1,000,000 × (1 − 7/100) is 929,999.9999999999 in floats, so a float threshold misses −7%.
  const guard = rollDay(null, DAY, 1_000_000);
  assert.equal(checkDailyLoss(guard, rules({ maxDailyLossPct: 7 }), 930_000).blocked, true);
});

Deno.test("checkDailyLoss() blocks at exactly −78% of 100 KRW (shrunk counterexample)", () => {
  // 100 × (1 − 0.78) is 21.999999999999996 in floats.
  const guard = rollDay(null, DAY, 100);
  assert.equal(checkDailyLoss(guard, rules({ maxDailyLossPct: 78 }), 22).blocked, true);
});

Deno.test("checkDailyLoss() blocks whenever a whole-KRW loss reaches the limit (property)", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 10_000_000 }).map((x) => x * 100), // whole KRW, divisible by 100
      fc.integer({ min: 1, max: 99 }),
      fc.oneof(fc.constantFrom(-1, 0, 1), fc.integer({ min: -1_000, max: 1_000 })),
      (start, pct, offset) => {
        const limitEquity = (start / 100) * (100 - pct); // exact: integers below 2^53
        const equity = limitEquity + offset;
        const blocked =
          checkDailyLoss(rollDay(null, DAY, start), rules({ maxDailyLossPct: pct }), equity)
            .blocked;
        assert.equal(blocked, offset <= 0, `start ${start}, −${pct}%, equity ${equity}`);
      },
    ),
    { numRuns: 1000 },
  );
});

// ---------------------------------------------------------------- entry gates

Deno.test("entryDenial() refuses entries until the next Upbit day once the daily limit is hit", () => {
  const blocked = { dayStartMs: DAY, startEquity: 1_000_000, blocked: true };
  assert.deepEqual(entryDenial(blocked, { nowMs: DAY + 3_600_000, cooldownUntilMs: 0 }), {
    kind: "daily_loss_limit",
    untilMs: DAY + DAY_MS,
  });
  // The limit wins over a cooldown.
  assert.equal(
    entryDenial(blocked, { nowMs: DAY, cooldownUntilMs: DAY + 10 * DAY_MS })?.kind,
    "daily_loss_limit",
  );
  // The next day's guard lets entries through again.
  const next = rollDay(blocked, DAY + DAY_MS, 900_000);
  assert.equal(entryDenial(next, { nowMs: DAY + DAY_MS, cooldownUntilMs: 0 }), null);
});

Deno.test("entryDenial() refuses entries during the cooldown and allows them from its end", () => {
  const guard = rollDay(null, DAY, 1_000_000);
  const until = DAY + 3_600_000;
  assert.deepEqual(entryDenial(guard, { nowMs: until - 1, cooldownUntilMs: until }), {
    kind: "cooldown",
    untilMs: until,
  });
  assert.equal(entryDenial(guard, { nowMs: until, cooldownUntilMs: until }), null);
  assert.equal(entryDenial(guard, { nowMs: DAY, cooldownUntilMs: 0 }), null);
});
