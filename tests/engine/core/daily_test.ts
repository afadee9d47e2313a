import assert from "node:assert/strict";
import fc from "fast-check";
import { DAY_MS } from "../../../engine/core/candle.ts";
import {
  type DayFill,
  dayStartOfDate,
  dueReportDays,
  exitKindOf,
  lossBudgetUsedPct,
  matchLegs,
  maxDrawdown,
  parseReportTime,
  replayDay,
  reportCronSpec,
  reportDate,
  reportDueMs,
  slippageOf,
  staleVerdict,
  unrealizedOf,
  uptimeMs,
} from "../../../engine/core/daily.ts";
import { parseUnits } from "../../../engine/core/money.ts";

const D = Date.UTC(2026, 11, 1);
const H = 3_600_000;
const NINE = { hour: 9, minute: 0 };
const u = parseUnits;

Deno.test("reportCronSpec() is the KST report time in UTC; parseReportTime() names bad input", () => {
  assert.equal(reportCronSpec(NINE), "0 0 * * *");
  assert.equal(reportCronSpec({ hour: 8, minute: 30 }), "30 23 * * *");
  assert.equal(reportCronSpec({ hour: 18, minute: 5 }), "5 9 * * *");
  assert.deepEqual(parseReportTime("07:45"), { ok: true, value: { hour: 7, minute: 45 } });
  assert.equal(parseReportTime("24:00").ok, false);
  assert.equal(parseReportTime("9:00").ok, false);
  assert.equal(parseReportTime("09:60").ok, false);
});

Deno.test("reportDueMs(): 09:00 KST is the day's end; 10:30 KST is 01:30 UTC after it; 08:00 KST the next morning", () => {
  assert.equal(reportDueMs(D, NINE), D + DAY_MS);
  assert.equal(reportDueMs(D, { hour: 10, minute: 30 }), D + DAY_MS + 1.5 * H);
  assert.equal(reportDueMs(D, { hour: 8, minute: 0 }), D + 2 * DAY_MS - H);
});

Deno.test("dayStartOfDate() takes real dates only and inverts reportDate()", () => {
  assert.equal(dayStartOfDate("2026-12-01"), D);
  assert.equal(reportDate(D), "2026-12-01");
  assert.equal(dayStartOfDate("2026-02-30"), undefined);
  assert.equal(dayStartOfDate("2026-1-01"), undefined);
});

Deno.test("dueReportDays(): due at the report time, not before; the catch-up lists the missed days", () => {
  const base = { time: NINE, firstDayStartMs: D, issued: new Set<number>() };
  assert.deepEqual(dueReportDays({ ...base, nowMs: D + DAY_MS - 1 }), []);
  assert.deepEqual(dueReportDays({ ...base, nowMs: D + DAY_MS }), [D]);
  // Down from day 2 to day 5 10:00 KST with days 1 reported: days 2, 3, 4 are due.
  const issued = new Set([D]);
  assert.deepEqual(
    dueReportDays({ ...base, issued, nowMs: D + 4 * DAY_MS + H }),
    [D + DAY_MS, D + 2 * DAY_MS, D + 3 * DAY_MS],
  );
  // Never before the bot's first day, never more than maxDays back.
  assert.deepEqual(
    dueReportDays({ ...base, firstDayStartMs: D + 3 * DAY_MS, nowMs: D + 5 * DAY_MS }),
    [
      D + 3 * DAY_MS,
      D + 4 * DAY_MS,
    ],
  );
  assert.equal(dueReportDays({ ...base, nowMs: D + 100 * DAY_MS, maxDays: 7 }).length, 7);
});

Deno.test("dueReportDays() lists exactly the unissued days in the window whose time has come (property)", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 40 * DAY_MS }),
      fc.integer({ min: 0, max: 23 }),
      fc.integer({ min: 0, max: 59 }),
      fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 20 }),
      fc.integer({ min: 0, max: 20 }),
      (offset, hour, minute, issuedDays, firstDay) => {
        const time = { hour, minute };
        const nowMs = D + offset;
        const issued = new Set(issuedDays.map((d) => D + d * DAY_MS));
        const first = D + firstDay * DAY_MS;
        const due = dueReportDays({ nowMs, time, firstDayStartMs: first, issued, maxDays: 7 });
        for (let d = first - 3 * DAY_MS; d <= nowMs; d += DAY_MS) {
          const inWindow = d >= first && reportDueMs(d, time) <= nowMs &&
            reportDueMs(d, time) > nowMs - 7 * DAY_MS;
          assert.equal(due.includes(d), inWindow && !issued.has(d), `day ${reportDate(d)}`);
        }
      },
    ),
  );
});

/** A worked example: buy 0.1 BTC at 50,000,000 on day 1, sell it at 51,000,000 on day 2. */
const FILLS: DayFill[] = [
  {
    id: "b",
    side: "bid",
    price: u("50000000"),
    volume: u("0.1"),
    funds: u("5000000"),
    fee: u("2500"),
    tsMs: D + 10 * H,
  },
  {
    id: "s",
    side: "ask",
    price: u("51000000"),
    volume: u("0.1"),
    funds: u("5100000"),
    fee: u("2550"),
    tsMs: D + DAY_MS + 5 * H,
  },
];

Deno.test("replayDay(): the worked example's figures, exact to the won", () => {
  const day1 = replayDay(FILLS, { initialCash: u("10000000"), fromMs: D, toMs: D + DAY_MS });
  assert.ok(day1.ok);
  assert.equal(day1.value.realizedPnl, 0n);
  assert.equal(day1.value.fees, u("2500"));
  assert.equal(day1.value.end.qty, u("0.1"));
  assert.equal(day1.value.end.cost, u("5002500"));
  // Unrealized at a 49,000,000 close: 4,900,000 - 5,002,500.
  assert.equal(unrealizedOf(day1.value.end, u("49000000")), u("-102500"));
  const day2 = replayDay(FILLS, {
    initialCash: u("10000000"),
    fromMs: D + DAY_MS,
    toMs: D + 2 * DAY_MS,
  });
  assert.ok(day2.ok);
  // 5,100,000 - 2,550 - 5,002,500 = 94,950.
  assert.equal(day2.value.realizedPnl, u("94950"));
  assert.equal(day2.value.fees, u("2550"));
  assert.equal(day2.value.start.qty, u("0.1"));
  assert.equal(day2.value.end.cash, u("10094950"));
});

Deno.test("replayDay(): a sale and a buy of the same ms go in the order the ledger accepts", () => {
  const sameMs = [
    { ...FILLS[0]!, id: "b2", tsMs: FILLS[1]!.tsMs, funds: u("10000000") },
    FILLS[0]!,
    FILLS[1]!,
  ];
  const r = replayDay(sameMs, { initialCash: u("10200000"), fromMs: D, toMs: D + 2 * DAY_MS });
  assert.ok(r.ok, r.ok ? "" : r.error);
  const bad = replayDay([FILLS[1]!], { initialCash: 0n, fromMs: D, toMs: D + 2 * DAY_MS });
  assert.equal(bad.ok, false);
});

Deno.test("maxDrawdown() and lossBudgetUsedPct() of a worked curve", () => {
  const curve = [u("1000"), u("1100"), u("990"), u("1050"), u("900"), u("1200")];
  const dd = maxDrawdown(curve)!;
  assert.equal(dd.krw, u("200"));
  assert.equal(dd.pct!.toFixed(4), "18.1818");
  // Lost 100 of 1,000 at worst; the limit (10%) is 100: all of it.
  assert.equal(lossBudgetUsedPct(curve, { limitPct: 10 }), 100);
  assert.equal(lossBudgetUsedPct(curve, { limitPct: 0 }), null);
  assert.equal(maxDrawdown([]), null);
});

Deno.test("uptimeMs() counts overlapping runs once, a crashed run to its last heartbeat", () => {
  const runs = [
    { startedAtMs: D - H, lastSeenMs: D + 3 * H, endedAtMs: D + 2 * H },
    { startedAtMs: D + H, lastSeenMs: D + 4 * H, endedAtMs: null },
    { startedAtMs: D + 10 * H, lastSeenMs: D + 30 * H, endedAtMs: null },
  ];
  assert.equal(uptimeMs(runs, { fromMs: D, toMs: D + DAY_MS }), 4 * H + 14 * H);
});

Deno.test("matchLegs() pairs same-side legs within one bucket; slippageOf() signs the cost", () => {
  const leg = (side: "bid" | "ask", tsMs: number, price: string) => ({
    side,
    tsMs,
    price: u(price),
    volume: u("0.1"),
  });
  const m = matchLegs(
    [leg("bid", 1_000, "101"), leg("ask", 900_000, "110"), leg("bid", 5_000_000, "100")],
    [leg("bid", 0, "100"), leg("ask", 600_000, "111"), leg("ask", 7_000_000, "100")],
    300_000,
  );
  assert.equal(m.pairs.length, 2);
  assert.equal(m.botOnly.length, 1);
  assert.equal(m.backtestOnly.length, 1);
  assert.equal(slippageOf({ side: "bid", price: u("101"), volume: u("2") }, u("100")), u("2"));
  assert.equal(slippageOf({ side: "ask", price: u("101"), volume: u("2") }, u("100")), u("-2"));
});

Deno.test("exitKindOf() and staleVerdict()", () => {
  assert.equal(exitKindOf("stop_loss@1"), "stop_loss");
  assert.equal(exitKindOf("bb(20, 2.5)@1"), "signal");
  assert.equal(exitKindOf("emergency@1"), "manual");
  assert.equal(exitKindOf(undefined), "other");
  assert.deepEqual(staleVerdict(1_000, { nowMs: 5_000, limitMs: 3_000 }), {
    stale: true,
    ageMs: 4_000,
  });
  assert.deepEqual(staleVerdict(3_000, { nowMs: 5_000, limitMs: 3_000 }), {
    stale: false,
    ageMs: 2_000,
  });
  assert.equal(staleVerdict(undefined, { nowMs: 5_000, limitMs: 3_000 }), undefined);
});
