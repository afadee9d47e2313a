/** Tests of the decision core: signal × holding × risk gates, and the assumed market fill price. */

import assert from "node:assert/strict";
import fc from "fast-check";
import { DAY_MS } from "../../../engine/core/candle.ts";
import {
  decideOnClose,
  type DecisionContext,
  describeEntryDenial,
  marketFillPrice,
} from "../../../engine/core/decide.ts";
import { applyBps, parseUnits, type Units, unitsFromNumber } from "../../../engine/core/money.ts";
import type { DayGuard } from "../../../engine/core/risk.ts";
import type { Signal } from "../../../engine/core/strategies/strategy.ts";
import { isOnTick, krwTickSize, roundToTick } from "../../../engine/core/tick_size.ts";

const DAY = Date.UTC(2025, 0, 2);
const NOW = DAY + 3 * 3_600_000;
const OPEN_DAY: DayGuard = { dayStartMs: DAY, startEquity: 1_000_000, blocked: false };
const BLOCKED_DAY: DayGuard = { ...OPEN_DAY, blocked: true };

const BUY: Signal = { action: "buy", reason: "close 90 < lower band 91 (bb(20, 2.5))" };
const SELL: Signal = { action: "sell", reason: "close 120 > upper band 110 (bb(20, 2.5))" };
const HOLD_SIGNAL: Signal = { action: "hold", reason: "no signal" };

function context(overrides: Partial<DecisionContext> = {}): DecisionContext {
  return { holding: "flat", guard: OPEN_DAY, nowMs: NOW, cooldownUntilMs: 0, ...overrides };
}

// ---------------------------------------------------------------- decideOnClose

Deno.test("decideOnClose() does nothing on hold, flat or long", () => {
  assert.deepEqual(decideOnClose(HOLD_SIGNAL, context()), { kind: "none" });
  assert.deepEqual(decideOnClose(HOLD_SIGNAL, context({ holding: "long" })), { kind: "none" });
});

Deno.test("decideOnClose() exits on a sell while long, with the signal's reason", () => {
  assert.deepEqual(decideOnClose(SELL, context({ holding: "long" })), {
    kind: "exit",
    exit: "signal",
    reason: SELL.reason,
  });
});

Deno.test("decideOnClose() ignores a sell while flat and a buy while long", () => {
  assert.deepEqual(decideOnClose(SELL, context()), { kind: "none" });
  assert.deepEqual(decideOnClose(BUY, context({ holding: "long" })), { kind: "none" });
});

Deno.test("decideOnClose() enters on a buy while flat, with the signal's reason", () => {
  assert.deepEqual(decideOnClose(BUY, context()), { kind: "enter", reason: BUY.reason });
  // A cooldown that has ended does not block.
  assert.deepEqual(decideOnClose(BUY, context({ cooldownUntilMs: NOW })), {
    kind: "enter",
    reason: BUY.reason,
  });
});

Deno.test("decideOnClose() skips a buy on a day blocked by the loss limit, saying until when", () => {
  assert.deepEqual(decideOnClose(BUY, context({ guard: BLOCKED_DAY })), {
    kind: "skip",
    reason: `${BUY.reason}; not entered: daily loss limit reached, entries blocked until ` +
      "2025-01-03 00:00 UTC",
  });
});

Deno.test("decideOnClose() skips a buy during the cooldown, saying until when", () => {
  const until = DAY + 13 * 3_600_000 + 30 * 60_000;
  assert.deepEqual(decideOnClose(BUY, context({ cooldownUntilMs: until })), {
    kind: "skip",
    reason: `${BUY.reason}; not entered: cooling down after a stop loss until 2025-01-02 13:30 UTC`,
  });
});

Deno.test("decideOnClose() skips a buy when entries are switched off, with why", () => {
  assert.deepEqual(decideOnClose(BUY, context({ entriesBlocked: "kill switch on" })), {
    kind: "skip",
    reason: `${BUY.reason}; not entered: kill switch on`,
  });
  // The switch's reason is given even when a risk gate would also refuse.
  const both = decideOnClose(BUY, context({ entriesBlocked: "stale data", guard: BLOCKED_DAY }));
  assert.equal(both.kind, "skip");
  assert.match(both.kind === "skip" ? both.reason : "", /not entered: stale data$/);
});

Deno.test("decideOnClose() never blocks an exit", () => {
  const everything = context({
    holding: "long",
    guard: BLOCKED_DAY,
    cooldownUntilMs: NOW + DAY_MS,
    entriesBlocked: "kill switch on",
  });
  assert.deepEqual(decideOnClose(SELL, everything), {
    kind: "exit",
    exit: "signal",
    reason: SELL.reason,
  });
});

Deno.test("decideOnClose() matches the decision table for every combination (property)", () => {
  fc.assert(
    fc.property(
      fc.constantFrom<Signal>(BUY, SELL, HOLD_SIGNAL),
      fc.constantFrom<"flat" | "long">("flat", "long"),
      fc.boolean(),
      fc.integer({ min: -2, max: 2 }),
      fc.option(fc.constantFrom("kill switch on", "safe mode")),
      (signal, holding, blocked, cooldownOffset, entriesBlocked) => {
        const ctx = context({
          holding,
          guard: blocked ? BLOCKED_DAY : OPEN_DAY,
          cooldownUntilMs: NOW + cooldownOffset,
          ...(entriesBlocked === null ? {} : { entriesBlocked }),
        });
        const decision = decideOnClose(signal, ctx);
        const gated = blocked || cooldownOffset > 0 || entriesBlocked !== null;
        let expected: string;
        if (signal.action === "sell" && holding === "long") expected = "exit";
        else if (signal.action === "buy" && holding === "flat") expected = gated ? "skip" : "enter";
        else expected = "none";
        assert.equal(decision.kind, expected);
        if (decision.kind !== "none") assert.ok(decision.reason.startsWith(signal.reason));
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("describeEntryDenial() names the gate and the minute it opens (UTC)", () => {
  assert.equal(
    describeEntryDenial({ kind: "daily_loss_limit", untilMs: DAY + DAY_MS }),
    "daily loss limit reached, entries blocked until 2025-01-03 00:00 UTC",
  );
  assert.equal(
    describeEntryDenial({ kind: "cooldown", untilMs: Date.UTC(2024, 1, 29, 23, 59, 30) }),
    "cooling down after a stop loss until 2024-02-29 23:59 UTC",
  );
});

// ---------------------------------------------------------------- marketFillPrice

Deno.test("marketFillPrice() of a whole-won reference is the slippage applied to its Units, on the tick (property)", () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.integer({ min: 1, max: 2_000_000_000 }),
        fc.double({ min: 0.001, max: 1e9, noNaN: true }),
      ),
      fc.integer({ min: 0, max: 5_000 }).map((n) => n / 10),
      fc.constantFrom("buy", "sell") as fc.Arbitrary<"buy" | "sell">,
      fc.constantFrom(Date.UTC(2023, 5, 1), Date.UTC(2024, 10, 15), Date.UTC(2026, 0, 1)),
      (reference, slippageBps, side, atMs) => {
        const rounding = side === "buy" ? "ceil" : "floor";
        const bps = side === "buy" ? 10_000 + slippageBps : 10_000 - slippageBps;
        const moved = applyBps(unitsFromNumber(reference), bps, rounding);
        const market = "KRW-TRX";
        assert.equal(
          marketFillPrice(side, { reference, slippageBps, atMs, market }),
          roundToTick(moved, { atMs, market, rounding }),
        );
      },
    ),
    { numRuns: 1_000 },
  );
});

const IN_2023 = Date.UTC(2023, 5, 1);
const IN_2024 = Date.UTC(2024, 5, 1);
const IN_2026 = Date.UTC(2026, 0, 1);

function fillPrice(
  side: "buy" | "sell",
  reference: number,
  options: { readonly slippageBps: number; readonly atMs: number; readonly market?: string },
): Units {
  return marketFillPrice(side, {
    reference,
    slippageBps: options.slippageBps,
    atMs: options.atMs,
    market: options.market ?? "KRW-XRP",
  });
}

Deno.test("marketFillPrice() moves a buy up and a sell down by the slippage", () => {
  const buy = fillPrice("buy", 100_000_000, { slippageBps: 10, atMs: IN_2026, market: "KRW-BTC" });
  const sell = fillPrice("sell", 100_000_000, {
    slippageBps: 10,
    atMs: IN_2026,
    market: "KRW-BTC",
  });
  assert.equal(buy, parseUnits("100100000"));
  assert.equal(sell, parseUnits("99900000"));
});

Deno.test("marketFillPrice() rounds onto the tick of the date against us (buy up, sell down)", () => {
  // 721.3 × 1.0005 = 721.66065; 721.3 × 0.9995 = 720.93935
  assert.equal(fillPrice("buy", 721.3, { slippageBps: 5, atMs: IN_2024 }), parseUnits("721.7"));
  assert.equal(fillPrice("sell", 721.3, { slippageBps: 5, atMs: IN_2024 }), parseUnits("720.9"));
  assert.equal(fillPrice("buy", 721.3, { slippageBps: 5, atMs: IN_2026 }), parseUnits("722"));
  assert.equal(fillPrice("sell", 721.3, { slippageBps: 5, atMs: IN_2026 }), parseUnits("720"));
  assert.equal(fillPrice("buy", 721.3, { slippageBps: 5, atMs: IN_2023 }), parseUnits("722"));
  // 7,500 × 1.0001 = 7,500.75: 5 KRW ticks before 2024-01-29 and from 2025-07-31, 1 KRW between.
  assert.equal(fillPrice("buy", 7_500, { slippageBps: 1, atMs: IN_2023 }), parseUnits("7505"));
  assert.equal(fillPrice("buy", 7_500, { slippageBps: 1, atMs: IN_2024 }), parseUnits("7501"));
  assert.equal(fillPrice("buy", 7_500, { slippageBps: 1, atMs: IN_2026 }), parseUnits("7505"));
  assert.equal(fillPrice("sell", 7_500, { slippageBps: 1, atMs: IN_2026 }), parseUnits("7495"));
  // The market matters where a change applied to a few pairs only.
  const nov2024 = Date.UTC(2024, 10, 15);
  assert.equal(
    fillPrice("buy", 150.05, { slippageBps: 0, atMs: nov2024, market: "KRW-TRX" }),
    parseUnits("151"),
  );
  assert.equal(
    fillPrice("buy", 150.05, { slippageBps: 0, atMs: nov2024, market: "KRW-XRP" }),
    parseUnits("150.1"),
  );
});

Deno.test("marketFillPrice() without slippage keeps an on-tick price and rounds an off-tick one", () => {
  assert.equal(fillPrice("buy", 721.3, { slippageBps: 0, atMs: IN_2024 }), parseUnits("721.3"));
  assert.equal(fillPrice("sell", 721.3, { slippageBps: 0, atMs: IN_2024 }), parseUnits("721.3"));
  assert.equal(fillPrice("buy", 721.35, { slippageBps: 0, atMs: IN_2024 }), parseUnits("721.4"));
  assert.equal(fillPrice("sell", 721.35, { slippageBps: 0, atMs: IN_2024 }), parseUnits("721.3"));
  // 0.1 + 0.2 is taken as 0.3, not 0.30000000000000004 (which would round a buy up a tick).
  assert.equal(fillPrice("buy", 0.1 + 0.2, { slippageBps: 0, atMs: IN_2026 }), parseUnits("0.3"));
  // Up across a band edge lands on the edge.
  assert.equal(
    fillPrice("buy", 999_999, { slippageBps: 0, atMs: IN_2026, market: "KRW-BTC" }),
    parseUnits("1000000"),
  );
});

Deno.test("marketFillPrice() is on the tick, never kinder than the slippage, within a tick of it (property)", () => {
  fc.assert(
    fc.property(
      fc.tuple(fc.integer({ min: 1, max: 99_999_999 }), fc.integer({ min: -6, max: 4 }))
        .map(([m, e]) => m * 10 ** e),
      fc.integer({ min: 0, max: 500 }),
      fc.constantFrom(IN_2023, IN_2024, Date.UTC(2024, 10, 15), Date.UTC(2025, 3, 15), IN_2026),
      fc.constantFrom("KRW-BTC", "KRW-XRP", "KRW-TRX", "KRW-USDT"),
      (reference, slippageBps, atMs, market) => {
        const ref = unitsFromNumber(reference);
        const buy = marketFillPrice("buy", { reference, slippageBps, atMs, market });
        const sell = marketFillPrice("sell", { reference, slippageBps, atMs, market });
        assert.ok(isOnTick(buy, { atMs, market }), `buy ${buy} off the grid`);
        assert.ok(isOnTick(sell, { atMs, market }), `sell ${sell} off the grid`);
        // Exact targets as fractions over 10,000.
        const buyTarget = ref * BigInt(10_000 + slippageBps);
        const sellTarget = ref * BigInt(10_000 - slippageBps);
        assert.ok(buy * 10_000n >= buyTarget, "buy cheaper than the slippage says");
        assert.ok(sell * 10_000n <= sellTarget, "sell dearer than the slippage says");
        const buyTick = krwTickSize((buyTarget + 9_999n) / 10_000n, { atMs, market });
        const sellTick = krwTickSize(sellTarget / 10_000n, { atMs, market });
        assert.ok((buy - buyTick) * 10_000n < buyTarget, "buy more than a tick too high");
        assert.ok((sell + sellTick) * 10_000n > sellTarget, "sell more than a tick too low");
        assert.ok(sell <= buy);
      },
    ),
    { numRuns: 1000 },
  );
});
