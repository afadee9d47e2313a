/** Tests for the candle CSV codec: valid input, every rejection with its line and reason, round-trips. */

import assert from "node:assert/strict";
import * as fc from "fast-check";
import type { Candle } from "../../../engine/core/candle.ts";
import {
  CANDLE_CSV_HEADER,
  CandleFileError,
  formatCandleCsv,
  parseCandleCsv,
  parseCandleCsvBytes,
} from "../../../engine/core/candle_csv.ts";

const H = CANDLE_CSV_HEADER;
const ROW_1 = "2017-09-29T00:00:00Z,4586000,4709000,4476000,4657000,59.35237346,272455756.80078";
const ROW_2 = "2017-09-30T00:00:00Z,4657000,4896000,4651000,4895000,19.31,";
const GOOD = `${H}\n${ROW_1}\n${ROW_2}\n`;

/** Runs `parseCandleCsv` and returns the `CandleFileError` it must throw. */
function rejection(text: string, source = "data/x.csv"): CandleFileError {
  try {
    parseCandleCsv(text, source);
  } catch (error) {
    assert.ok(error instanceof CandleFileError, `expected CandleFileError, got ${error}`);
    return error;
  }
  assert.fail("parseCandleCsv accepted malformed input");
}

/** A file whose bad row is line 3 (header, one good row, then `row`). */
function withRow(row: string): string {
  return `${H}\n${ROW_1}\n${row}\n`;
}

Deno.test("parseCandleCsv() reads every field of a row", () => {
  assert.deepEqual(parseCandleCsv(GOOD, "x.csv"), [
    {
      startMs: Date.UTC(2017, 8, 29),
      open: 4586000,
      high: 4709000,
      low: 4476000,
      close: 4657000,
      volume: 59.35237346,
      value: 272455756.80078,
    },
    {
      startMs: Date.UTC(2017, 8, 30),
      open: 4657000,
      high: 4896000,
      low: 4651000,
      close: 4895000,
      volume: 19.31,
      value: Number.NaN,
    },
  ]);
});

Deno.test("parseCandleCsv() accepts CRLF line ends, a BOM and no final newline", () => {
  const expected = parseCandleCsv(GOOD, "x.csv");
  assert.deepEqual(parseCandleCsv(`\uFEFF${H}\r\n${ROW_1}\r\n${ROW_2}\r\n`, "x.csv"), expected);
  assert.deepEqual(parseCandleCsv(`${H}\n${ROW_1}\n${ROW_2}`, "x.csv"), expected);
});

Deno.test("parseCandleCsv() reads exponents, long mantissas and bare fractions like Number()", () => {
  const numbers = [
    "1e-8",
    "2.5E+3",
    "12345678901234567890",
    "0.1000000000000000055511",
    ".5",
    "7.",
  ];
  for (const n of numbers) {
    const [c] = parseCandleCsv(withRow(`2017-10-01T00:00:00Z,1,1,1,1,${n},${n}`), "x.csv").slice(1);
    assert.equal(c?.volume, Number(n), n);
    assert.equal(c?.value, Number(n), n);
  }
});

Deno.test("parseCandleCsv() reads decimals exactly as Number() does", () => {
  fc.assert(
    fc.property(fc.double({ min: 0, max: 1e300, noNaN: true, noDefaultInfinity: true }), (d) => {
      const text = d.toFixed(Math.min(20, Math.max(0, 15 - Math.floor(Math.log10(d || 1)))));
      const [c] = parseCandleCsv(withRow(`2017-10-01T00:00:00Z,1,1,1,1,${text},`), "x.csv")
        .slice(1);
      assert.equal(c?.volume, Number(text), text);
    }),
  );
});

Deno.test("parseCandleCsvBytes() gives the same candles as parseCandleCsv()", () => {
  assert.deepEqual(
    parseCandleCsvBytes(new TextEncoder().encode(GOOD), "x.csv"),
    parseCandleCsv(GOOD, "x.csv"),
  );
});

Deno.test("parseCandleCsv() rejects malformed files with the line and reason", () => {
  const cases: ReadonlyArray<readonly [string, string, number, string]> = [
    ["empty file", "", 1, "empty file"],
    ["blank file", "\n\n", 1, "empty file"],
    ["header only", `${H}\n`, 2, "no candles after the header"],
    [
      "wrong header",
      `time,open,high,low,close,volume,value\n${ROW_1}\n`,
      1,
      `header must be "${H}": found "time,open,high,low,close,volume,value"`,
    ],
    ["missing header", `${ROW_1}\n`, 1, `header must be "${H}": found "${ROW_1}"`],
    [
      "too few columns",
      withRow("2017-10-01T00:00:00Z,1,1,1,1,1"),
      3,
      "expected 7 columns, found 6",
    ],
    [
      "too many columns",
      withRow("2017-10-01T00:00:00Z,1,1,1,1,1,1,1"),
      3,
      "expected 7 columns, found 8",
    ],
    ["one column", withRow("hello"), 3, "expected 7 columns, found 1"],
    ["empty line", `${H}\n${ROW_1}\n\n${ROW_2}\n`, 3, "empty line"],
    ["trailing blank line", `${GOOD}\n`, 4, "empty line"],
    [
      "space in time",
      withRow("2017-10-01 00:00:00Z,1,1,1,1,1,1"),
      3,
      `time_utc "2017-10-01 00:00:00Z" is not YYYY-MM-DDTHH:MM:SSZ`,
    ],
    [
      "time with offset",
      withRow("2017-10-01T00:00:00+09:00,1,1,1,1,1,1"),
      3,
      `time_utc "2017-10-01T00:00:00+09:00" is not YYYY-MM-DDTHH:MM:SSZ`,
    ],
    [
      "time with ms",
      withRow("2017-10-01T00:00:00.000Z,1,1,1,1,1,1"),
      3,
      `time_utc "2017-10-01T00:00:00.000Z" is not YYYY-MM-DDTHH:MM:SSZ`,
    ],
    [
      "letter in year",
      withRow("20x7-10-01T00:00:00Z,1,1,1,1,1,1"),
      3,
      `time_utc "20x7-10-01T00:00:00Z" is not YYYY-MM-DDTHH:MM:SSZ`,
    ],
    [
      "date only",
      withRow("2017-10-01,1,1,1,1,1,1"),
      3,
      `time_utc "2017-10-01" is not YYYY-MM-DDTHH:MM:SSZ`,
    ],
    [
      "month 13",
      withRow("2017-13-01T00:00:00Z,1,1,1,1,1,1"),
      3,
      `time_utc "2017-13-01T00:00:00Z" is not a valid date and time`,
    ],
    [
      "February 30",
      withRow("2017-02-30T00:00:00Z,1,1,1,1,1,1"),
      3,
      `time_utc "2017-02-30T00:00:00Z" is not a valid date and time`,
    ],
    [
      "not a leap year",
      withRow("2100-02-29T00:00:00Z,1,1,1,1,1,1"),
      3,
      `time_utc "2100-02-29T00:00:00Z" is not a valid date and time`,
    ],
    [
      "hour 24",
      withRow("2017-10-01T24:00:00Z,1,1,1,1,1,1"),
      3,
      `time_utc "2017-10-01T24:00:00Z" is not a valid date and time`,
    ],
    [
      "minute 60",
      withRow("2017-10-01T00:60:00Z,1,1,1,1,1,1"),
      3,
      `time_utc "2017-10-01T00:60:00Z" is not a valid date and time`,
    ],
    ["empty open", withRow("2017-10-01T00:00:00Z,,1,1,1,1,1"), 3, "open is empty"],
    ["empty volume", withRow("2017-10-01T00:00:00Z,1,1,1,1,,1"), 3, "volume is empty"],
    ["word", withRow("2017-10-01T00:00:00Z,1,abc,1,1,1,1"), 3, `high "abc" is not a number`],
    ["hex", withRow("2017-10-01T00:00:00Z,1,1,0x1,1,1,1"), 3, `low "0x1" is not a number`],
    ["space", withRow("2017-10-01T00:00:00Z,1,1,1, 1,1,1"), 3, `close " 1" is not a number`],
    [
      "two dots",
      withRow("2017-10-01T00:00:00Z,1,1,1,1,1.2.3,1"),
      3,
      `volume "1.2.3" is not a number`,
    ],
    ["NaN", withRow("2017-10-01T00:00:00Z,1,1,1,1,1,NaN"), 3, `value "NaN" is not a number`],
    [
      "Infinity word",
      withRow("2017-10-01T00:00:00Z,1,1,1,1,Infinity,1"),
      3,
      `volume "Infinity" is not a number`,
    ],
    ["overflow", withRow("2017-10-01T00:00:00Z,1,1e999,1,1,1,1"), 3, "high 1e999 is not finite"],
    ["negative open", withRow("2017-10-01T00:00:00Z,-1,1,1,1,1,1"), 3, "open -1 is negative"],
    [
      "negative volume",
      withRow("2017-10-01T00:00:00Z,1,1,1,1,-0.5,1"),
      3,
      "volume -0.5 is negative",
    ],
    ["negative value", withRow("2017-10-01T00:00:00Z,1,1,1,1,1,-2"), 3, "value -2 is negative"],
    [
      "high below low",
      withRow("2017-10-01T00:00:00Z,110,100,120,110,1,1"),
      3,
      "high 100 is below low 120",
    ],
    [
      "low above open",
      withRow("2017-10-01T00:00:00Z,100,130,110,120,1,1"),
      3,
      "low 110 is above open 100",
    ],
    [
      "low above close",
      withRow("2017-10-01T00:00:00Z,120,130,110,100,1,1"),
      3,
      "low 110 is above close 100",
    ],
    [
      "high below open",
      withRow("2017-10-01T00:00:00Z,130,120,100,110,1,1"),
      3,
      "high 120 is below open 130",
    ],
    [
      "high below close",
      withRow("2017-10-01T00:00:00Z,110,120,100,130,1,1"),
      3,
      "high 120 is below close 130",
    ],
    ["zero low", withRow("2017-10-01T00:00:00Z,0,1,0,1,1,1"), 3, "low 0 must be > 0"],
    ["duplicate time", withRow(ROW_1), 3, "time 2017-09-29T00:00:00Z repeats the previous row"],
    [
      "earlier time",
      withRow("2017-09-28T00:00:00Z,1,1,1,1,1,1"),
      3,
      "time 2017-09-28T00:00:00Z is before the previous row's 2017-09-29T00:00:00Z",
    ],
    ["lone carriage return", `${H}\n${ROW_1}\r${ROW_2}\n`, 2, "carriage return without line feed"],
  ];
  for (const [name, text, line, reason] of cases) {
    const error = rejection(text);
    assert.deepEqual({ line: error.line, reason: error.reason }, { line, reason }, name);
  }
});

Deno.test("parseCandleCsv() reports file:line: reason and the error's fields", () => {
  const rows = Array.from({ length: 15 }, (_, i) => {
    const day = String(i + 1).padStart(2, "0");
    return `2017-10-${day}T00:00:00Z,110,120,100,110,1,1`;
  });
  const text = `${H}\n${rows.join("\n")}\n2017-10-16T00:00:00Z,110,100,120,110,1,1\n`;
  const error = rejection(text, "data/x.csv");
  assert.equal(error.message, "data/x.csv:17: high 100 is below low 120");
  assert.equal(error.name, "CandleFileError");
  assert.equal(error.file, "data/x.csv");
  assert.equal(error.line, 17);
  assert.equal(error.reason, "high 100 is below low 120");
  assert.ok(error instanceof Error);
});

Deno.test("CandleFileError() leaves the line out of the message for whole-file errors", () => {
  const error = new CandleFileError("data/y.csv", 0, "file not found");
  assert.equal(error.message, "data/y.csv: file not found");
});

Deno.test("parseCandleCsv() rejects a time field that is too short to hold a comma", () => {
  const error = rejection(`${H}\n2017-10-01T00:00:00Z\n`);
  assert.deepEqual([error.line, error.reason], [2, "expected 7 columns, found 1"]);
});

Deno.test("formatCandleCsv() writes integers without decimals and NaN value as empty", () => {
  const candle: Candle = {
    startMs: Date.UTC(2024, 0, 23, 7, 30),
    open: 721.3,
    high: 725,
    low: 700,
    close: 1e21,
    volume: 1e-8,
    value: Number.NaN,
  };
  assert.equal(
    formatCandleCsv([candle]),
    `${H}\n2024-01-23T07:30:00Z,721.3,725,700,1e+21,1e-8,\n`,
  );
  assert.equal(formatCandleCsv([]), `${H}\n`);
});

Deno.test("formatCandleCsv() throws RangeError on a NaN price or a sub-second time", () => {
  const ok: Candle = { startMs: 0, open: 1, high: 1, low: 1, close: 1, volume: 1, value: 1 };
  assert.throws(() => formatCandleCsv([{ ...ok, close: Number.NaN }]), RangeError);
  assert.throws(() => formatCandleCsv([{ ...ok, volume: Infinity }]), RangeError);
  assert.throws(() => formatCandleCsv([{ ...ok, startMs: 1 }]), RangeError);
});

Deno.test("formatCandleCsv() writes UTC times across the whole calendar", () => {
  const ok: Candle = { startMs: 0, open: 1, high: 1, low: 1, close: 1, volume: 1, value: 1 };
  for (
    const ms of [0, 951_782_400_000, 4_107_542_400_000, -62_167_219_200_000, 253_402_300_799_000]
  ) {
    const row = formatCandleCsv([{ ...ok, startMs: ms }]).split("\n")[1];
    assert.equal(row?.slice(0, 20), new Date(ms).toISOString().replace(".000Z", "Z"));
  }
  assert.throws(() => formatCandleCsv([{ ...ok, startMs: 253_402_300_800_000 }]), RangeError);
});

/** Four positive prices and their roles: low <= open, close <= high. */
const price = fc.oneof(
  fc.integer({ min: 1, max: 2_000_000_000 }),
  fc.integer({ min: 1, max: 1e12 }).map((n) => n / 1e4),
  fc.double({ min: Number.MIN_VALUE, max: 1e300, noNaN: true }),
);
const amount = fc.oneof(
  fc.integer({ min: 0, max: 1e15 }).map((n) => n / 1e8),
  fc.double({ min: 0, max: 1e300, noNaN: true }).map((n) => n === 0 ? 0 : n),
);
const candleBody = fc.record({
  prices: fc.tuple(price, price, price, price).map((p) => p.sort((a, b) => a - b)),
  openFirst: fc.boolean(),
  volume: amount,
  value: fc.option(amount, { nil: Number.NaN }),
});
/** Strictly increasing whole-second times within years 0000..9999. */
const candles = fc.record({
  startSec: fc.integer({ min: -62_167_219_200, max: 200_000_000_000 }),
  rows: fc.array(fc.tuple(fc.integer({ min: 1, max: 10_000_000 }), candleBody), {
    minLength: 1,
    maxLength: 40,
    size: "medium",
  }),
}).map(({ startSec, rows }) => {
  let sec = startSec;
  return rows.map(([gapSec, b]): Candle => {
    sec += gapSec;
    const [low, mid1, mid2, high] = b.prices as [number, number, number, number];
    return {
      startMs: sec * 1000,
      open: b.openFirst ? mid1 : mid2,
      high,
      low,
      close: b.openFirst ? mid2 : mid1,
      volume: b.volume,
      value: b.value,
    };
  });
});

Deno.test("parseCandleCsv() inverts formatCandleCsv() on valid candles", () => {
  fc.assert(
    fc.property(candles, (cs) => {
      assert.deepEqual(parseCandleCsv(formatCandleCsv(cs), "x.csv"), cs);
    }),
    { numRuns: 300 },
  );
});

Deno.test("formatCandleCsv() inverts parseCandleCsv() on the row forms the data uses", () => {
  const text = `${H}\n${ROW_1}\n${ROW_2}\n2017-10-01T00:00:00Z,721.3,725,700,721.3,0.002,\n`;
  assert.equal(formatCandleCsv(parseCandleCsv(text, "x.csv")), text);
});
