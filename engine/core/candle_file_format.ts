/**
 * Candle files by name and bytes, without the disk: reads market and timeframe from names like
 * `upbit-KRW-BTC-1m-20180125-20180201.csv` and decodes a file's bytes (`.csv`, or gzipped
 * `.csv.gz`) into candles. Shared by the bot's loader (`engine/adapters/candle_file.ts`) and the
 * sandbox's replay, which each do their own reading.
 */

import { isTimeframe, type Timeframe } from "./candle.ts";
import type { Candle } from "./candle.ts";
import { CandleFileError, parseCandleCsvBytes } from "./candle_csv.ts";

/** `upbit-<QUOTE>-<BASE>-<timeframe>[-<anything>].csv[.gz]`, e.g. `upbit-KRW-BTC-30m-2024…csv`. */
const FILE_NAME =
  /^upbit-([A-Z]{2,6}-[A-Z0-9]{1,20})-(\d{1,4}[mhd])(?:-[0-9A-Za-z_-]*)?\.csv(?:\.gz)?$/;
/** Upbit's minute-unit names for the timeframes the engine spells in hours. */
const TIMEFRAME_ALIASES: Readonly<Record<string, Timeframe>> = { "60m": "1h", "240m": "4h" };

/** The market named by a candle file name (`upbit-KRW-BTC-1d.csv` → "KRW-BTC"), or undefined. */
export function marketFromFileName(path: string): string | undefined {
  return FILE_NAME.exec(baseName(path))?.[1];
}

/** The timeframe named by a candle file name (`upbit-KRW-BTC-1m-….csv` → "1m"), or undefined. */
export function timeframeFromFileName(path: string): Timeframe | undefined {
  const name = FILE_NAME.exec(baseName(path))?.[2];
  if (name === undefined) return undefined;
  return isTimeframe(name) ? name : TIMEFRAME_ALIASES[name];
}

/** Throws `CandleFileError` unless `path` names a `.csv` or `.csv.gz` file. */
export function checkCandleFileType(path: string): void {
  if (!path.endsWith(".csv.gz") && !path.endsWith(".csv")) {
    throw new CandleFileError(path, 0, "unsupported file type: expected .csv or .csv.gz");
  }
}

/** Decodes the bytes of the candle file `path` (gunzipping a `.csv.gz`); throws `CandleFileError`. */
export async function decodeCandleFile(path: string, bytes: Uint8Array): Promise<Candle[]> {
  checkCandleFileType(path);
  return parseCandleCsvBytes(path.endsWith(".csv.gz") ? await gunzip(path, bytes) : bytes, path);
}

async function gunzip(path: string, bytes: Uint8Array): Promise<Uint8Array> {
  try {
    const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream()
      .pipeThrough(new DecompressionStream("gzip"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new CandleFileError(path, 0, `not a valid gzip file: ${detail}`);
  }
}

function baseName(path: string): string {
  return path.slice(Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\")) + 1);
}
