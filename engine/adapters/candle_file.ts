/**
 * Candle files on disk: loads `.csv` / `.csv.gz` candle files. Decoding and file-name parsing are
 * the pure `engine/core/candle_file_format.ts`; this adapter only does the I/O and maps I/O
 * failures to `CandleFileError`.
 */

import type { Candle } from "../core/candle.ts";
import { CandleFileError } from "../core/candle_csv.ts";
import { checkCandleFileType, decodeCandleFile } from "../core/candle_file_format.ts";

/**
 * Loads and validates a candle file (`.csv`, or gzipped `.csv.gz`); throws `CandleFileError`.
 *
 * A missing file is `CandleFileError` with line 0 and reason "file not found".
 */
export async function loadCandleFile(path: string): Promise<Candle[]> {
  checkCandleFileType(path);
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
  return decodeCandleFile(path, bytes);
}
