/** Tests of Upbit's KRW tick size as it stood on each date (docs/upbit-api.md §8.1). */

import assert from "node:assert/strict";
import fc from "fast-check";
import { parseUnits, type Rounding, SCALE, type Units } from "../../../engine/core/money.ts";
import {
  isOnTick,
  krwTickSize,
  krwTickSizeOfWholeKrw,
  roundToTick,
} from "../../../engine/core/tick_size.ts";

/** 00:00 KST of a calendar date (15:00 UTC the day before), in UTC epoch ms. */
function kstMidnight(year: number, month: number, day: number): number {
  return Date.UTC(year, month - 1, day - 1, 15);
}

const SWITCH_2024_01_29 = kstMidnight(2024, 1, 29);
const SWITCH_2024_10_14 = kstMidnight(2024, 10, 14);
const SWITCH_2025_03_21 = kstMidnight(2025, 3, 21);
const SWITCH_2025_07_31 = kstMidnight(2025, 7, 31);

const IN_2023 = Date.UTC(2023, 5, 1);
const IN_2024 = Date.UTC(2024, 5, 1); // after the January 2024 change, before October's
const NOV_2024 = Date.UTC(2024, 10, 15); // after the 16-pair change
const APR_2025 = Date.UTC(2025, 3, 15); // after the USDT/USDC change, before the 2025 table
const IN_2026 = Date.UTC(2026, 0, 1);

function tick(price: string, atMs: number, market = "KRW-BTC"): string {
  return unitsText(krwTickSize(parseUnits(price), { atMs, market }));
}

/** Writes units back as a decimal for readable assertion messages. */
function unitsText(units: Units): string {
  const whole = units / 100_000_000n;
  const frac = (units % 100_000_000n).toString().padStart(8, "0").replace(/0+$/, "");
  return whole.toString() + (frac === "" ? "" : "." + frac);
}

/** Tables transcribed from API.md §8.1 (not from the source): `[fromKrw, tickKrw]`, highest first. */
const DOC_TABLE_2017: ReadonlyArray<readonly [string, string]> = [
  ["2000000", "1000"],
  ["1000000", "500"],
  ["500000", "100"],
  ["100000", "50"],
  ["10000", "10"],
  ["1000", "5"],
  ["100", "1"],
  ["10", "0.1"],
  ["1", "0.01"],
  ["0.1", "0.001"],
  ["0", "0.0001"],
];
const DOC_TABLE_2024: ReadonlyArray<readonly [string, string]> = [
  ["2000000", "1000"],
  ["1000000", "500"],
  ["500000", "100"],
  ["100000", "50"],
  ["10000", "10"],
  ["1000", "1"],
  ["100", "0.1"],
  ["10", "0.01"],
  ["1", "0.001"],
  ["0.1", "0.0001"],
  ["0.01", "0.00001"],
  ["0.001", "0.000001"],
  ["0.0001", "0.0000001"],
  ["0", "0.00000001"],
];
const DOC_TABLE_2025: ReadonlyArray<readonly [string, string]> = [
  ["2000000", "1000"],
  ["1000000", "1000"],
  ["500000", "500"],
  ["100000", "100"],
  ["50000", "50"],
  ["10000", "10"],
  ["5000", "5"],
  ["1000", "1"],
  ["100", "1"],
  ["10", "0.1"],
  ["1", "0.01"],
  ["0.1", "0.001"],
  ["0.01", "0.0001"],
  ["0.001", "0.00001"],
  ["0.0001", "0.000001"],
  ["0.00001", "0.0000001"],
  ["0", "0.00000001"],
];

// ---------------------------------------------------------------- the tables by date

Deno.test("krwTickSize() is 1000 KRW for 150,000,000 KRW on any date", () => {
  for (const at of [IN_2023, IN_2024, NOV_2024, APR_2025, IN_2026]) {
    assert.equal(tick("150000000", at), "1000");
  }
});

Deno.test("krwTickSize() is 500 for 1,500,000 KRW before 2025-07-31 and 1000 from then", () => {
  assert.equal(tick("1500000", IN_2023), "500");
  assert.equal(tick("1500000", IN_2024), "500");
  assert.equal(tick("1500000", APR_2025), "500");
  assert.equal(tick("1500000", IN_2026), "1000");
});

Deno.test("krwTickSize() for 7,500 KRW is 5, then 1 from 2024-01-29, then 5 from 2025-07-31", () => {
  assert.equal(tick("7500", IN_2023), "5");
  assert.equal(tick("7500", IN_2024), "1");
  assert.equal(tick("7500", APR_2025), "1");
  assert.equal(tick("7500", IN_2026), "5");
});

Deno.test("krwTickSize() for 721.3 KRW is 1, then 0.1 from 2024-01-29, then 1 from 2025-07-31", () => {
  assert.equal(tick("721.3", IN_2023, "KRW-XRP"), "1");
  assert.equal(tick("721.3", IN_2024, "KRW-XRP"), "0.1");
  assert.equal(tick("721.3", NOV_2024, "KRW-XRP"), "0.1");
  assert.equal(tick("721.3", IN_2026, "KRW-XRP"), "1");
});

Deno.test("krwTickSize() gives the 16 pairs of October 2024 a 1 KRW tick at 100–1,000 KRW", () => {
  // KRW-TRX was one of them, KRW-XRP was not.
  assert.equal(tick("150", NOV_2024, "KRW-TRX"), "1");
  assert.equal(tick("150", NOV_2024, "KRW-XRP"), "0.1");
  assert.equal(tick("150", IN_2024, "KRW-TRX"), "0.1", "before October 2024");
  const pairs = ["ADA", "ALGO", "BLUR", "CELO", "ELF", "EOS", "GRS", "GRT", "ICX", "MANA"]
    .concat(["MINA", "POL", "SAND", "SEI", "STG", "TRX"]);
  assert.equal(pairs.length, 16);
  for (const coin of pairs) {
    assert.equal(tick("500", NOV_2024, `KRW-${coin}`), "1", coin);
    assert.equal(tick("100", NOV_2024, `KRW-${coin}`), "1", `${coin} at the band's floor`);
    assert.equal(tick("999", NOV_2024, `KRW-${coin}`), "1", `${coin} at the band's top`);
    // Only the 100–1,000 band changed.
    assert.equal(tick("99.99", NOV_2024, `KRW-${coin}`), "0.01", coin);
    assert.equal(tick("1000", NOV_2024, `KRW-${coin}`), "1", coin);
    assert.equal(tick("5000", NOV_2024, `KRW-${coin}`), "1", coin);
  }
  for (const other of ["KRW-XRP", "KRW-DOGE", "KRW-MATIC", "KRW-TRXX", "BTC-TRX", ""]) {
    assert.equal(tick("500", NOV_2024, other), "0.1", other);
  }
  // The market defaults to none: the general table.
  assert.equal(unitsText(krwTickSize(parseUnits("500"), { atMs: NOV_2024 })), "0.1");
});

Deno.test("krwTickSize() gives KRW-USDT and KRW-USDC 0.5 at 1,000–10,000 from 2025-03-21 until 2025-07-31", () => {
  for (const market of ["KRW-USDT", "KRW-USDC"]) {
    assert.equal(tick("1400", NOV_2024, market), "1", `${market} before`);
    assert.equal(tick("1400", APR_2025, market), "0.5", market);
    assert.equal(tick("1000", APR_2025, market), "0.5", `${market} at the band's floor`);
    assert.equal(tick("9999.5", APR_2025, market), "0.5", `${market} at the band's top`);
    assert.equal(tick("999.9", APR_2025, market), "0.1", `${market} below the band`);
    assert.equal(tick("10000", APR_2025, market), "10", `${market} above the band`);
    assert.equal(tick("1400", IN_2026, market), "1", `${market} after the 2025 table`);
  }
  assert.equal(tick("1400", APR_2025, "KRW-BTC"), "1");
});

Deno.test("krwTickSize() switches at 00:00 KST of each change's date (15:00 UTC the day before)", () => {
  const cases: ReadonlyArray<readonly [number, string, string, string, string]> = [
    // switch, price, market, tick one ms before, tick at the switch
    [SWITCH_2024_01_29, "7500", "KRW-BTC", "5", "1"],
    [SWITCH_2024_01_29, "721.3", "KRW-XRP", "1", "0.1"],
    [SWITCH_2024_01_29, "0.05", "KRW-BTT", "0.0001", "0.00001"],
    // API.md dates the 16-pair change "2024-10-01/14"; the source applies it from the 14th.
    [SWITCH_2024_10_14, "150", "KRW-TRX", "0.1", "1"],
    [SWITCH_2025_03_21, "1400", "KRW-USDT", "1", "0.5"],
    [SWITCH_2025_07_31, "1400", "KRW-USDT", "0.5", "1"],
    [SWITCH_2025_07_31, "1500000", "KRW-BTC", "500", "1000"],
    [SWITCH_2025_07_31, "7500", "KRW-BTC", "1", "5"],
    [SWITCH_2025_07_31, "721.3", "KRW-XRP", "0.1", "1"],
    [SWITCH_2025_07_31, "150", "KRW-TRX", "1", "1"],
  ];
  for (const [at, price, market, before, after] of cases) {
    assert.equal(tick(price, at - 1, market), before, `${market} ${price} 1 ms before ${at}`);
    assert.equal(tick(price, at, market), after, `${market} ${price} at ${at}`);
  }
  // The moments themselves, spelled out.
  assert.equal(SWITCH_2024_01_29, Date.UTC(2024, 0, 28, 15, 0, 0, 0));
  assert.equal(SWITCH_2025_07_31, Date.UTC(2025, 6, 30, 15, 0, 0, 0));
});

function assertEdges(
  table: ReadonlyArray<readonly [string, string]>,
  options: { readonly atMs: number; readonly label: string },
): void {
  for (let i = 0; i < table.length; i++) {
    const [from, tickKrw] = table[i]!;
    const at = `${options.label}: ${from}`;
    assert.equal(tick(from, options.atMs, "KRW-XRP"), tickKrw, `${at} (the band's floor)`);
    const next = table[i + 1];
    if (next !== undefined) {
      // One unit (1e-8 KRW) under the floor is in the band below.
      const under = krwTickSize(parseUnits(from) - 1n, { atMs: options.atMs, market: "KRW-XRP" });
      assert.equal(unitsText(under), next[1], `${at} minus 1e-8`);
      // And the top of the band below, on its own grid.
      const top = parseUnits(from) - parseUnits(next[1]);
      assert.equal(
        unitsText(krwTickSize(top, { atMs: options.atMs, market: "KRW-XRP" })),
        next[1],
        `${at} minus one tick`,
      );
    }
  }
  assert.equal(tick("0", options.atMs), table[table.length - 1]![1], `${options.label}: 0`);
  assert.equal(tick("0.00000001", options.atMs), table[table.length - 1]![1]);
  assert.equal(tick("1000000000000", options.atMs), table[0]![1], `${options.label}: 1e12`);
}

Deno.test("krwTickSize() matches every band edge of the table before 2024-01-29", () => {
  assertEdges(DOC_TABLE_2017, { atMs: IN_2023, label: "2017" });
  assertEdges(DOC_TABLE_2017, { atMs: SWITCH_2024_01_29 - 1, label: "2017 last ms" });
  assertEdges(DOC_TABLE_2017, { atMs: Date.UTC(2017, 9, 1), label: "2017 opening" });
});

Deno.test("krwTickSize() matches every band edge of the table from 2024-01-29", () => {
  assertEdges(DOC_TABLE_2024, { atMs: SWITCH_2024_01_29, label: "2024 first ms" });
  assertEdges(DOC_TABLE_2024, { atMs: IN_2024, label: "2024" });
  assertEdges(DOC_TABLE_2024, { atMs: SWITCH_2025_07_31 - 1, label: "2024 last ms" });
});

Deno.test("krwTickSize() matches every band edge of the table from 2025-07-31", () => {
  assertEdges(DOC_TABLE_2025, { atMs: SWITCH_2025_07_31, label: "2025 first ms" });
  assertEdges(DOC_TABLE_2025, { atMs: IN_2026, label: "2026" });
});

Deno.test("krwTickSize() refuses a negative price", () => {
  assert.throws(() => krwTickSize(-1n, { atMs: IN_2026 }), RangeError);
});

// ---------------------------------------------------------------- rounding onto the grid

Deno.test("roundToTick() rounds onto the grid of the date", () => {
  const r = (price: string, atMs: number, rounding: Rounding, market = "KRW-XRP"): string =>
    unitsText(roundToTick(parseUnits(price), { atMs, market, rounding }));
  assert.equal(r("685.235", IN_2024, "floor"), "685.2");
  assert.equal(r("793.43", IN_2024, "ceil"), "793.5");
  assert.equal(r("685.235", IN_2026, "floor"), "685");
  assert.equal(r("793.43", IN_2026, "ceil"), "794");
  assert.equal(r("793.43", IN_2024, "half_up"), "793.4");
  assert.equal(r("7502.5", IN_2023, "half_up"), "7505");
  assert.equal(r("150.55", NOV_2024, "floor", "KRW-TRX"), "150");
  assert.equal(r("150.55", NOV_2024, "floor", "KRW-XRP"), "150.5");
  assert.equal(r("1400.3", APR_2025, "ceil", "KRW-USDT"), "1400.5");
  assert.equal(r("150001234", IN_2026, "floor", "KRW-BTC"), "150001000");
  assert.equal(r("150001234", IN_2026, "ceil", "KRW-BTC"), "150002000");
  assert.equal(r("721.3", IN_2024, "ceil"), "721.3", "already on the grid");
});

Deno.test("roundToTick() rounds up across a band edge onto the edge", () => {
  const up = (price: string, atMs: number): string =>
    unitsText(roundToTick(parseUnits(price), { atMs, market: "KRW-BTC", rounding: "ceil" }));
  assert.equal(up("999999.5", IN_2026), "1000000");
  assert.equal(up("9999.99", IN_2024), "10000");
  assert.equal(up("99.999", IN_2023), "100");
  assert.equal(up("1999999", IN_2023), "2000000");
});

Deno.test("isOnTick() tells whether a price is a multiple of its band's tick", () => {
  const on = (price: string, atMs: number, market = "KRW-BTC"): boolean =>
    isOnTick(parseUnits(price), { atMs, market });
  assert.equal(on("721.3", IN_2024), true);
  assert.equal(on("721.3", IN_2026), false);
  assert.equal(on("721.35", IN_2024), false);
  assert.equal(on("999500", IN_2026), true);
  assert.equal(on("1000500", IN_2026), false);
  assert.equal(on("1000500", IN_2024), true);
  assert.equal(on("1400.5", APR_2025, "KRW-USDT"), true);
  assert.equal(on("1400.5", APR_2025, "KRW-BTC"), false);
  assert.equal(on("150.5", NOV_2024, "KRW-TRX"), false);
  assert.equal(on("0", IN_2026), true);
});

/** Prices spread over every band: a mantissa times a power of ten, in units. */
const PRICE = fc.tuple(fc.bigInt({ min: 1n, max: 99_999_999n }), fc.integer({ min: 0, max: 10 }))
  .map(([mantissa, exponent]) => mantissa * 10n ** BigInt(exponent));

/** Moments around every switch and inside every era. */
const MOMENT = fc.oneof(
  fc.constantFrom(
    SWITCH_2024_01_29 - 1,
    SWITCH_2024_01_29,
    SWITCH_2024_10_14 - 1,
    SWITCH_2024_10_14,
    SWITCH_2025_03_21 - 1,
    SWITCH_2025_03_21,
    SWITCH_2025_07_31 - 1,
    SWITCH_2025_07_31,
  ),
  fc.integer({ min: Date.UTC(2017, 9, 1), max: Date.UTC(2027, 0, 1) }),
);

const MARKET = fc.constantFrom("KRW-BTC", "KRW-XRP", "KRW-TRX", "KRW-SAND", "KRW-USDT", "KRW-USDC");

Deno.test("roundToTick() floor and ceil land on the grid within one tick of the price (property)", () => {
  fc.assert(
    fc.property(PRICE, MOMENT, MARKET, (price, atMs, market) => {
      const t = krwTickSize(price, { atMs, market });
      assert.ok(t > 0n);
      const down = roundToTick(price, { atMs, market, rounding: "floor" });
      const up = roundToTick(price, { atMs, market, rounding: "ceil" });
      const near = roundToTick(price, { atMs, market, rounding: "half_up" });
      assert.ok(isOnTick(down, { atMs, market }), `floor ${down} of ${price} off the grid`);
      assert.ok(isOnTick(up, { atMs, market }), `ceil ${up} of ${price} off the grid`);
      assert.ok(isOnTick(near, { atMs, market }), `half_up ${near} of ${price} off the grid`);
      assert.ok(down <= price && price <= up);
      assert.ok(price - down < t && up - price < t, "within one tick");
      assert.ok(near === down || near === up);
      if (isOnTick(price, { atMs, market })) {
        assert.equal(down, price);
        assert.equal(up, price);
      } else {
        assert.ok(down < price && price < up);
      }
    }),
    { numRuns: 2000 },
  );
});

Deno.test("krwTickSize() never shrinks as the price rises, on any date (property)", () => {
  fc.assert(
    fc.property(PRICE, PRICE, MOMENT, MARKET, (a, b, atMs, market) => {
      const [low, high] = a <= b ? [a, b] : [b, a];
      assert.ok(krwTickSize(low, { atMs, market }) <= krwTickSize(high, { atMs, market }));
    }),
    { numRuns: 1000 },
  );
});

Deno.test("krwTickSizeOfWholeKrw() is krwTickSize() in KRW for every whole-won price", () => {
  const dates = [
    Date.UTC(2020, 0, 1),
    Date.UTC(2024, 5, 1),
    Date.UTC(2024, 11, 1),
    Date.UTC(2025, 4, 1),
    Date.UTC(2026, 0, 1),
  ];
  fc.assert(
    fc.property(
      fc.oneof(
        fc.integer({ min: 1, max: 3_000_000 }),
        fc.constantFrom(
          1,
          99,
          100,
          999,
          1000,
          4999,
          5000,
          9999,
          10000,
          49_999,
          50_000,
          99_999,
          100_000,
          499_999,
          500_000,
          999_999,
          1_000_000,
          1_999_999,
          2_000_000,
          1e12,
        ),
      ),
      fc.constantFrom(...dates),
      fc.constantFrom("KRW-BTC", "KRW-USDT", "KRW-ADA"),
      (price, atMs, market) => {
        const exact = krwTickSize(BigInt(price) * SCALE, { atMs, market });
        assert.equal(krwTickSizeOfWholeKrw(price, { atMs, market }), Number(exact) / 1e8);
      },
    ),
    { numRuns: 2000 },
  );
  assert.throws(() => krwTickSizeOfWholeKrw(0.5, { atMs: 0 }), RangeError);
});
