/** Tests of the leg-by-leg comparison of a run with its backtest, and the causes it names. */

import assert from "node:assert/strict";
import { compareLegs, summarize, type TaggedLeg } from "../../../engine/core/compare.ts";
import { parseUnits } from "../../../engine/core/money.ts";
import { DEFAULT_RISK_RULES } from "../../../engine/core/risk.ts";

const T0 = Date.UTC(2022, 5, 1);
const MIN = 60_000;
const RULES = { ...DEFAULT_RISK_RULES, stopLossPct: 1, takeProfitPct: 1.5 };

function leg(
  side: "bid" | "ask",
  minute: number,
  price: string,
  kind: TaggedLeg["kind"],
): TaggedLeg {
  return { side, tsMs: T0 + minute * MIN + 3_000, price: parseUnits(price), volume: 1n, kind };
}

/** Flat minutes at 100,000 (high 100,100, low 99,900) with some replaced. */
function minutes(count: number, replace: Record<number, [number, number]> = {}) {
  return Array.from({ length: count }, (_, i) => {
    const [high, low] = replace[i] ?? [100_100, 99_900];
    return { startMs: T0 + i * MIN, high, low };
  });
}

const BASE = { market: "KRW-BTC", rules: RULES, tfMs: 5 * MIN, warmUntilMs: T0 };

Deno.test("compareLegs() calls legs in the same minute identical and gives the price gap in bps", () => {
  const rows = compareLegs({
    ...BASE,
    minutes: minutes(60),
    bot: [leg("bid", 5, "100050", "entry"), leg("ask", 20, "101000", "signal")],
    backtest: [
      { ...leg("bid", 5, "100000", "entry"), tsMs: T0 + 5 * MIN },
      { ...leg("ask", 20, "101000", "signal"), tsMs: T0 + 20 * MIN },
    ],
  });
  assert.deepEqual(rows.map((r) => r.status), ["identical", "identical"]);
  assert.equal(rows[0]!.bps, 5);
  assert.equal(rows[1]!.bps, 0);
  assert.equal(summarize(rows).identicalPct, 100);
});

Deno.test("compareLegs() explains a stop one side hit as a near miss with both levels", () => {
  // Bot entry 100,050 → stop 99,049.5 → tick-floored 99,040 (10-won ticks at this price);
  // backtest entry 100,000 → stop 99,000. Minute 12's low, 99,020, falls between them.
  const rows = compareLegs({
    ...BASE,
    minutes: minutes(60, { 12: [100_000, 99_020] }),
    bot: [leg("bid", 5, "100050", "entry"), leg("ask", 12, "99040", "stop_loss")],
    backtest: [
      { ...leg("bid", 5, "100000", "entry"), tsMs: T0 + 5 * MIN },
      { ...leg("ask", 30, "100500", "signal"), tsMs: T0 + 30 * MIN },
    ],
  });
  // The two exits of one round trip are paired, in different minutes, with the near miss named.
  assert.deepEqual(rows.map((r) => r.status), ["identical", "matched"]);
  for (const row of rows.slice(1)) {
    const cause = row.cause!;
    assert.equal(cause.kind, "near_miss");
    if (cause.kind !== "near_miss") continue;
    assert.equal(cause.level, "stop");
    assert.equal(cause.atMs, T0 + 12 * MIN);
    assert.equal(cause.extreme, 99_020);
    assert.equal(cause.botLevel, parseUnits("99040"));
    assert.equal(cause.backtestLevel, parseUnits("99000"));
    assert.ok(cause.bps > 3 && cause.bps < 5, String(cause.bps));
  }
  assert.equal(summarize(rows).unexplained, 0);
});

Deno.test("compareLegs() names the consequence: a re-entry while the other side still held", () => {
  const rows = compareLegs({
    ...BASE,
    minutes: minutes(90, { 12: [100_000, 99_020] }),
    bot: [
      leg("bid", 5, "100050", "entry"),
      leg("ask", 12, "99040", "stop_loss"),
      leg("bid", 40, "99500", "entry"),
    ],
    backtest: [
      { ...leg("bid", 5, "100000", "entry"), tsMs: T0 + 5 * MIN },
      { ...leg("ask", 60, "100500", "signal"), tsMs: T0 + 60 * MIN },
    ],
  });
  const reentry = rows.find((r) => r.bot?.tsMs === T0 + 40 * MIN + 3_000)!;
  assert.equal(reentry.status, "bot_only");
  assert.equal(reentry.cause?.kind, "still_holding");
});

Deno.test("compareLegs() pairs the legs of one signal filled minutes apart, naming who was late", () => {
  const rows = compareLegs({
    ...BASE,
    minutes: minutes(60),
    bot: [{ ...leg("bid", 13, "100000", "entry"), signalMs: T0 + 5 * MIN }],
    backtest: [{ ...leg("bid", 10, "100000", "entry"), signalMs: T0 + 5 * MIN }],
  });
  assert.equal(rows.length, 1);
  assert.equal(rows[0]!.status, "matched");
  assert.deepEqual(rows[0]!.cause, { kind: "late", who: "bot", ms: 3 * MIN });
});

Deno.test("compareLegs() names a signal the other side skipped, or never had", () => {
  const rows = compareLegs({
    ...BASE,
    minutes: minutes(60),
    bot: [],
    backtest: [
      leg("bid", 11, "100000", "entry"),
      leg("ask", 20, "100000", "signal"),
      leg("bid", 31, "100000", "entry"),
    ],
    botSignals: new Map([[T0 + 5 * MIN, {
      action: "buy",
      skipped: "not entered: trading is paused (ops)",
    }]]),
  });
  assert.equal(rows[0]!.cause?.kind, "skipped");
  assert.equal(rows[1]!.cause?.kind, "was_flat");
  assert.deepEqual(rows[2]!.cause, { kind: "no_signal", who: "bot", bucketMs: T0 + 25 * MIN });
});

Deno.test("compareLegs() names warm-up, missing candles and an operator's sell", () => {
  const rows = compareLegs({
    ...BASE,
    warmUntilMs: T0 + 10 * MIN,
    // Minutes 30 to 49 were not recorded.
    minutes: minutes(80).filter((m) => m.startMs < T0 + 30 * MIN || m.startMs >= T0 + 50 * MIN),
    bot: [
      leg("bid", 2, "100000", "entry"),
      leg("ask", 8, "100000", "signal"),
      leg("bid", 50, "100000", "entry"),
      leg("ask", 60, "100000", "manual"),
    ],
    backtest: [],
  });
  assert.deepEqual(rows.map((r) => r.cause?.kind), ["warm_up", "warm_up", "no_candles", "manual"]);
});

Deno.test("compareLegs() leaves nothing of one side only unexplained when it cannot tell", () => {
  const rows = compareLegs({
    ...BASE,
    minutes: minutes(60),
    bot: [leg("bid", 20, "100000", "entry")],
    backtest: [],
  });
  assert.equal(rows[0]!.cause?.kind, "unexplained");
  assert.equal(summarize(rows).unexplained, 1);
});

Deno.test("compareLegs() judges a leg by the candle it was decided on, and counts the fill minutes apart", () => {
  // The bot's stop triggered at 12:00:58 and filled at 12:01:02; the backtest's at 12:00.
  const rows = compareLegs({
    ...BASE,
    minutes: minutes(60),
    bot: [
      { ...leg("bid", 5, "100000", "entry"), signalMs: T0 + 4 * MIN, decidedMs: T0 + 5 * MIN },
      {
        ...leg("ask", 12, "99000", "stop_loss"),
        tsMs: T0 + 13 * MIN + 2_000,
        decidedMs: T0 + 12 * MIN + 58_000,
      },
    ],
    backtest: [
      { ...leg("bid", 5, "100000", "entry"), tsMs: T0 + 5 * MIN, signalMs: T0 + 4 * MIN },
      { ...leg("ask", 12, "99000", "stop_loss"), tsMs: T0 + 12 * MIN },
    ],
  });
  assert.deepEqual(rows.map((r) => r.status), ["identical", "identical"]);
  const summary = summarize(rows);
  assert.equal(summary.identicalPct, 100);
  assert.equal(summary.sameFillMinute, 1);
});

Deno.test("compareLegs() counts a candle touching one side's level exactly as a near miss", () => {
  // Bot stop 99,040 (entry 100,050); backtest stop 99,000. The low is exactly the bot's stop.
  const rows = compareLegs({
    ...BASE,
    minutes: minutes(60, { 12: [100_000, 99_040] }),
    bot: [leg("bid", 5, "100050", "entry"), leg("ask", 12, "99040", "stop_loss")],
    backtest: [
      { ...leg("bid", 5, "100000", "entry"), tsMs: T0 + 5 * MIN },
      { ...leg("ask", 30, "100500", "signal"), tsMs: T0 + 30 * MIN },
    ],
  });
  assert.equal(rows[1]!.cause?.kind, "near_miss");
});

Deno.test("compareLegs() names different exits no level split as such, not as lateness", () => {
  const rows = compareLegs({
    ...BASE,
    minutes: minutes(60),
    bot: [leg("bid", 5, "100000", "entry"), leg("ask", 12, "99000", "stop_loss")],
    backtest: [
      { ...leg("bid", 5, "100000", "entry"), tsMs: T0 + 5 * MIN },
      { ...leg("ask", 30, "100500", "signal"), tsMs: T0 + 30 * MIN },
    ],
  });
  assert.deepEqual(rows[1]!.cause, { kind: "other_exit", bot: "stop_loss", backtest: "signal" });
});
