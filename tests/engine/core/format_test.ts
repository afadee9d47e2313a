/** Tests of the one text formatter: KRW, %, prices on the tick grid, signs and dates. */

import assert from "node:assert/strict";
import fc from "fast-check";
import {
  formatDate,
  formatDateTime,
  formatKrw,
  formatNumber,
  formatPct,
  formatPrice,
  formatVolume,
  groupDigits,
  jsonMoney,
  MINUS,
} from "../../../engine/core/format.ts";
import { parseUnits, SCALE, unitsFromNumber } from "../../../engine/core/money.ts";
import { isOnTick } from "../../../engine/core/tick_size.ts";

const AT_2022 = Date.UTC(2022, 5, 1);
const AT_2024 = Date.UTC(2024, 5, 1);

/** Undoes the grouping and the `+`: the plain decimal a formatted amount stands for. */
function plain(text: string): string {
  return text.replaceAll(",", "").replace(/^\+/, "");
}

Deno.test("formatKrw() groups whole won and rounds half away from zero", () => {
  assert.equal(formatKrw(parseUnits("1234567.5")), "1,234,568");
  assert.equal(formatKrw(parseUnits("-1234567.5")), "-1,234,568");
  assert.equal(formatKrw(parseUnits("999.49")), "999");
  assert.equal(formatKrw(parseUnits("0.05"), { decimals: 2 }), "0.05");
  assert.equal(formatKrw(-0.4), "0");
  assert.equal(formatKrw(0, { signed: true }), "0");
  assert.equal(formatKrw(12_000, { signed: true }), "+12,000");
});

Deno.test("formatKrw() round-trips: the text parses back to the amount rounded to won", () => {
  fc.assert(
    fc.property(fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }), (units) => {
      const text = formatKrw(units, { signed: true });
      const back = parseUnits(plain(text));
      const diff = units - back;
      assert.ok(diff * 2n <= SCALE && diff * 2n >= -SCALE, `${units} → ${text}`);
      assert.ok(!text.includes("−"));
      assert.match(text, /^[+-]?\d{1,3}(,\d{3})*$/);
    }),
  );
});

Deno.test("formatPct() and formatNumber() use one ASCII minus and a plus on gains", () => {
  assert.equal(formatPct(-63.3456), "-63.35%");
  assert.equal(formatPct(12.3), "+12.30%");
  assert.equal(formatPct(0), "0.00%");
  assert.equal(formatPct(54.55, { signed: false, decimals: 1 }), "54.6%");
  assert.equal(formatPct(-Infinity), "-∞%");
  assert.equal(formatNumber(-0.654), "-0.65");
  assert.equal(formatNumber(12345.678, { decimals: 1 }), "12,345.7");
  assert.equal(formatNumber(NaN), "n/a");
  assert.equal(MINUS, "-");
});

Deno.test("formatPct() never prints -0 nor float noise", () => {
  fc.assert(
    fc.property(fc.double({ min: -1e9, max: 1e9, noNaN: true }), (value) => {
      const text = formatPct(value);
      assert.match(text, /^([+-]?\d{1,3}(,\d{3})*\.\d{2}%)$/);
      assert.ok(!text.startsWith("-0.00"), text);
    }),
  );
});

Deno.test("formatPrice() puts band levels on Upbit's tick grid of the date", () => {
  assert.equal(formatPrice(159_656_652.926267, { atMs: AT_2022 }), "159,657,000");
  assert.equal(formatPrice(38_512_345.6, { atMs: AT_2022 }), "38,512,000");
  assert.equal(formatPrice(1_234_567, { atMs: AT_2022 }), "1,234,500");
  assert.equal(formatPrice(721.34, { atMs: AT_2022 }), "721");
  assert.equal(formatPrice(721.34, { atMs: AT_2024 }), "721.3");
  assert.equal(formatPrice(parseUnits("0.05134"), { atMs: AT_2022 }), "0.0513");
  assert.equal(formatPrice(NaN, { atMs: AT_2022 }), "n/a");
});

Deno.test("formatPrice() always prints a price that is on the tick grid", () => {
  fc.assert(
    fc.property(
      fc.double({ min: 0.0001, max: 5e9, noNaN: true }),
      fc.constantFrom(AT_2022, AT_2024),
      (price, atMs) => {
        const text = formatPrice(price, { atMs });
        assert.ok(isOnTick(parseUnits(plain(text)), { atMs }), `${price} → ${text}`);
      },
    ),
  );
});

Deno.test("formatVolume(), groupDigits() and jsonMoney() are exact", () => {
  assert.equal(formatVolume(2_597_402n), "0.02597402");
  assert.equal(formatVolume(123_400_000_000n), "1,234");
  assert.equal(groupDigits("-1234567.891"), "-1,234,567.891");
  assert.equal(jsonMoney(-123_450_000_000n), "-1234.5");
});

Deno.test("formatDateTime() and formatDate() print UTC", () => {
  const ms = Date.UTC(2022, 4, 31, 23, 59, 7);
  assert.equal(formatDateTime(ms), "2022-05-31 23:59:07");
  assert.equal(formatDate(ms + 60_000), "2022-06-01");
});

Deno.test("formatPrice() of a float equals the exact path through Units (fast whole-tick path)", () => {
  const dates = [
    Date.UTC(2020, 0, 1),
    Date.UTC(2024, 5, 1),
    Date.UTC(2025, 3, 1),
    Date.UTC(2026, 0, 1),
  ];
  const markets = ["KRW-BTC", "KRW-USDT", "KRW-XRP"];
  const check = (value: number, atMs: number, market: string) => {
    const context = { atMs, market };
    assert.equal(
      formatPrice(value, context),
      formatPrice(unitsFromNumber(value), context),
      `${value} at ${atMs} on ${market}`,
    );
  };
  fc.assert(
    fc.property(
      fc.oneof(
        fc.double({ min: 1, max: 1e12, noNaN: true }),
        // Prices a hair from a band edge or a half tick, where float error could decide.
        fc.tuple(
          fc.integer({ min: 1, max: 3_000_000 }),
          fc.constantFrom(0, 0.5, 1e-9, -1e-9, 0.4999999, 0.5000001, 25, 250, 500),
        )
          .map(([k, d]) => Math.max(1, k + d)),
      ),
      fc.constantFrom(...dates),
      fc.constantFrom(...markets),
      check,
    ),
    { numRuns: 3000 },
  );
  for (
    const v of [
      1,
      99.99999999,
      100,
      1000.5,
      2_000_000 - 1e-9,
      150_000_025,
      150_000_500,
      41_234_567.891,
    ]
  ) {
    for (const at of dates) check(v, at, "KRW-BTC");
  }
});
