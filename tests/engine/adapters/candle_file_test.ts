/** Tests for the candle file adapter: real data files, gzip, I/O errors and file-name parsing. */

import assert from "node:assert/strict";
import { loadCandleFile } from "../../../engine/adapters/candle_file.ts";
import {
  marketFromFileName,
  timeframeFromFileName,
} from "../../../engine/core/candle_file_format.ts";
import { CandleFileError, formatCandleCsv } from "../../../engine/core/candle_csv.ts";

const DATA = new URL("../../../data/", import.meta.url).pathname;

/** Every copied data file: rows, first and last `time_utc` (as in data/README.md). */
const FILES: ReadonlyArray<readonly [string, number, string, string]> = [
  ["upbit-KRW-BTC-1d.csv", 3016, "2017-09-29T00:00:00Z", "2025-12-31T00:00:00Z"],
  ["upbit-KRW-ETH-1d.csv", 3012, "2017-09-25T00:00:00Z", "2025-12-31T00:00:00Z"],
  ["upbit-KRW-XRP-1d.csv", 2790, "2017-09-25T00:00:00Z", "2025-12-31T00:00:00Z"],
  ["upbit-KRW-SOL-1d.csv", 363, "2025-01-03T00:00:00Z", "2025-12-31T00:00:00Z"],
  ["upbit-KRW-DOGE-1d.csv", 363, "2025-01-03T00:00:00Z", "2025-12-31T00:00:00Z"],
  ["upbit-KRW-BTC-1m-20180125-20180201.csv", 9999, "2018-01-25T06:42:00Z", "2018-02-01T05:20:00Z"],
  ["upbit-KRW-BTC-1m-20220531-20220607.csv", 10000, "2022-05-31T12:01:00Z", "2022-06-07T10:46:00Z"],
  ["upbit-KRW-XRP-1h-20170925-20240516.csv", 58203, "2017-09-25T13:00:00Z", "2024-05-16T15:00:00Z"],
  [
    "upbit-KRW-BTC-30m-20240123-20250127.csv",
    16656,
    "2024-01-23T07:30:00Z",
    "2025-01-27T13:00:00Z",
  ],
  ["upbit-KRW-ETH-30m-20241023-20250127.csv", 4247, "2024-10-23T08:30:00Z", "2025-01-27T13:00:00Z"],
  ["upbit-KRW-SOL-30m-20241023-20250127.csv", 4246, "2024-10-23T09:00:00Z", "2025-01-27T13:00:00Z"],
  ["upbit-KRW-XRP-30m-20241023-20250127.csv", 4247, "2024-10-23T08:30:00Z", "2025-01-27T13:00:00Z"],
  [
    "upbit-KRW-DOGE-30m-20241023-20250127.csv",
    4247,
    "2024-10-23T08:30:00Z",
    "2025-01-27T13:00:00Z",
  ],
];

function iso(ms: number | undefined): string {
  return new Date(ms ?? Number.NaN).toISOString().replace(".000Z", "Z");
}

/** Gzips `text` into a new temp `.csv.gz` file and returns its path. */
async function writeGzip(text: string): Promise<string> {
  const path = await Deno.makeTempFile({ suffix: ".csv.gz" });
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  await Deno.writeFile(path, new Uint8Array(await new Response(stream).arrayBuffer()));
  return path;
}

/** Awaits `promise` and returns the `CandleFileError` it must reject with. */
async function rejection(promise: Promise<unknown>): Promise<CandleFileError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof CandleFileError, `expected CandleFileError, got ${error}`);
    return error;
  }
  assert.fail("expected a CandleFileError");
}

Deno.test("loadCandleFile() loads every data file with its rows and time range", async () => {
  for (const [name, rows, first, last] of FILES) {
    const candles = await loadCandleFile(`${DATA}${name}`);
    assert.deepEqual(
      [candles.length, iso(candles[0]?.startMs), iso(candles.at(-1)?.startMs)],
      [rows, first, last],
      name,
    );
  }
});

Deno.test("loadCandleFile() output formats back to each data file byte for byte", async () => {
  for (const [name] of FILES) {
    const text = await Deno.readTextFile(`${DATA}${name}`);
    assert.equal(formatCandleCsv(await loadCandleFile(`${DATA}${name}`)), text, name);
  }
});

Deno.test("loadCandleFile() keeps an empty value as NaN", async () => {
  const [first] = await loadCandleFile(`${DATA}upbit-KRW-XRP-1h-20170925-20240516.csv`);
  assert.deepEqual(first, {
    startMs: Date.UTC(2017, 8, 25, 13),
    open: 200,
    high: 201,
    low: 200,
    close: 200,
    volume: 0.002,
    value: Number.NaN,
  });
});

Deno.test("loadCandleFile() loads a .csv.gz equal to the .csv", async () => {
  const csvPath = `${DATA}upbit-KRW-BTC-1m-20220531-20220607.csv`;
  const gzPath = await writeGzip(await Deno.readTextFile(csvPath));
  try {
    assert.deepEqual(await loadCandleFile(gzPath), await loadCandleFile(csvPath));
  } finally {
    await Deno.remove(gzPath);
  }
});

Deno.test("loadCandleFile() reports a malformed gzipped row with its line", async () => {
  const path = await writeGzip(
    "time_utc,open,high,low,close,volume,value\n2024-01-01T00:00:00Z,1,1,1,1,1,1\n" +
      "2024-01-01T00:01:00Z,1,1,1,1,-1,1\n",
  );
  try {
    const error = await rejection(loadCandleFile(path));
    assert.deepEqual([error.file, error.line, error.reason], [path, 3, "volume -1 is negative"]);
    assert.equal(error.message, `${path}:3: volume -1 is negative`);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("loadCandleFile() rejects a missing file as CandleFileError line 0", async () => {
  const path = `${DATA}upbit-KRW-NOPE-1d.csv`;
  const error = await rejection(loadCandleFile(path));
  assert.deepEqual([error.file, error.line, error.reason], [path, 0, "file not found"]);
  assert.equal(error.message, `${path}: file not found`);
});

Deno.test("loadCandleFile() rejects a .csv.gz that is not gzip", async () => {
  const path = await Deno.makeTempFile({ suffix: ".csv.gz" });
  try {
    await Deno.writeTextFile(path, "time_utc,open,high,low,close,volume,value\n");
    const error = await rejection(loadCandleFile(path));
    assert.equal(error.line, 0);
    assert.match(error.reason, /^not a valid gzip file: /);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("loadCandleFile() rejects files that are not .csv or .csv.gz, and directories", async () => {
  const markdown = await rejection(loadCandleFile(`${DATA}README.md`));
  assert.deepEqual(
    [markdown.line, markdown.reason],
    [0, "unsupported file type: expected .csv or .csv.gz"],
  );
  const dir = await Deno.makeTempDir({ suffix: ".csv" });
  try {
    const error = await rejection(loadCandleFile(dir));
    assert.deepEqual([error.line, error.reason], [0, "is a directory, not a file"]);
  } finally {
    await Deno.remove(dir);
  }
});

Deno.test("marketFromFileName() and timeframeFromFileName() read the data file names", () => {
  const expected: Record<string, readonly [string, string]> = {
    "upbit-KRW-BTC-1d.csv": ["KRW-BTC", "1d"],
    "upbit-KRW-BTC-1m-20180125-20180201.csv": ["KRW-BTC", "1m"],
    "upbit-KRW-XRP-1h-20170925-20240516.csv": ["KRW-XRP", "1h"],
    "upbit-KRW-DOGE-30m-20241023-20250127.csv": ["KRW-DOGE", "30m"],
    "upbit-KRW-ETH-4h-20170926-20240516.csv": ["KRW-ETH", "4h"],
    "upbit-KRW-ETH-15m-20231231-20241230.csv.gz": ["KRW-ETH", "15m"],
    "upbit-KRW-1INCH-60m.csv": ["KRW-1INCH", "1h"],
    "upbit-BTC-ETH-240m.csv": ["BTC-ETH", "4h"],
  };
  for (const [name, [market, timeframe]] of Object.entries(expected)) {
    assert.deepEqual([marketFromFileName(name), timeframeFromFileName(name)], [market, timeframe]);
  }
  for (const [name] of FILES) {
    assert.equal(marketFromFileName(`${DATA}${name}`), marketFromFileName(name));
  }
  assert.equal(marketFromFileName("C:\\data\\upbit-KRW-SOL-1d.csv"), "KRW-SOL");
});

Deno.test("marketFromFileName() and timeframeFromFileName() return undefined for other names", () => {
  for (
    const name of [
      "btc.csv",
      "upbit-KRW-BTC.csv",
      "upbit-KRW-BTC-1d.json",
      "binance-KRW-BTC-1d.csv",
      "upbit-KRW-BTC-1d.csv/",
      "upbit-KRW-BTC-1w.csv",
    ]
  ) {
    assert.equal(timeframeFromFileName(name), undefined, name);
  }
  for (const name of ["btc.csv", "upbit-KRW-BTC.csv", "data/upbit-krw-btc-1d.csv"]) {
    assert.equal(marketFromFileName(name), undefined, name);
  }
});
