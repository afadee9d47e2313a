/**
 * Candle files on disk: loads `.csv` / `.csv.gz` candle files and reads market and timeframe from
 * names like `upbit-KRW-BTC-1m-20180125-20180201.csv`. Parsing itself is the pure
 * `parseCandleCsvBytes`; this adapter only does the I/O and maps I/O failures to `CandleFileError`.
 */

import type { Candle, Timeframe } from "../core/candle.ts";
import { isTimeframe } from "../core/candle.ts";
import { CandleFileError, parseCandleCsvBytes } from "../core/candle_csv.ts";

/** `upbit-<QUOTE>-<BASE>-<timeframe>[-<anything>].csv[.gz]`, e.g. `upbit-KRW-BTC-30m-2024…csv`. */
const FILE_NAME =
  /^upbit-([A-Z]{2,6}-[A-Z0-9]{1,20})-(\d{1,4}[mhd])(?:-[0-9A-Za-z_-]*)?\.csv(?:\.gz)?$/;
/** Upbit's minute-unit names for the timeframes the engine spells in hours. */
const TIMEFRAME_ALIASES: Readonly<Record<string, Timeframe>> = { "60m": "1h", "240m": "4h" };

/**
 * Loads and validates a candle file (`.csv`, or gzipped `.csv.gz`); throws `CandleFileError`.
 *
 * A missing file is `CandleFileError` with line 0 and reason "file not found".
 */
export async function loadCandleFile(path: string): Promise<Candle[]> {
  const gzipped = path.endsWith(".csv.gz");
  if (!gzipped && !path.endsWith(".csv")) {
    throw new CandleFileError(path, 0, "unsupported file type: expected .csv or .csv.gz");
  }
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new CandleFileError(path, 0, "file not found");
    }
    if (error instanceof Deno.errors.IsADirectory) {
      throw new CandleFileError(path, 0, "is a directory, not a file");
    }
    throw error;
  }
  if (gzipped) bytes = await gunzip(path, bytes);
  return parseCandleCsvBytes(bytes, path);
}

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
