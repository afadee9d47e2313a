/**
 * Upbit's KRW-market price unit (tick size) as it stood on any date since Upbit opened.
 *
 * Source: Upbit's notices, digested in `docs/upbit-api.md` §8.1. Each change is taken to apply
 * from 00:00 KST of its announced date (15:00 UTC the day before). A price must be an exact
 * multiple of the tick of the band it falls in; the tick depends on the order price, not the
 * last trade.
 */

import { type Rounding, roundToStep, SCALE, type Units } from "./money.ts";

/** One band of a tick table: prices `>= fromKrw` (down to the next band) use `tick`. */
interface Band {
  readonly from: Units;
  readonly tick: Units;
}

/** Builds a table from `[fromKrw, tickKrw]` pairs written as decimal strings, highest first. */
function table(rows: ReadonlyArray<readonly [string, string]>): readonly Band[] {
  return rows.map(([from, tick]) => ({ from: decimal(from), tick: decimal(tick) }));
}

function decimal(text: string): Units {
  const [whole = "0", frac = ""] = text.split(".");
  return BigInt(whole) * SCALE + BigInt(frac.padEnd(8, "0"));
}

/** Before 2024-01-29. */
const TABLE_2017 = table([
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
]);

/** From 2024-01-29: every price below 10,000 KRW got finer ticks. */
const TABLE_2024 = table([
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
]);

/** From 2025-07-31: the whole KRW table replaced (the current table). */
const TABLE_2025 = table([
  ["1000000", "1000"],
  ["500000", "500"],
  ["100000", "100"],
  ["50000", "50"],
  ["10000", "10"],
  ["5000", "5"],
  ["100", "1"],
  ["10", "0.1"],
  ["1", "0.01"],
  ["0.1", "0.001"],
  ["0.01", "0.0001"],
  ["0.001", "0.00001"],
  ["0.0001", "0.000001"],
  ["0.00001", "0.0000001"],
  ["0", "0.00000001"],
]);

const KST_OFFSET_MS = 9 * 3_600_000;

/** 00:00 KST of a calendar date, in UTC epoch ms. */
function kstMidnightMs(year: number, month: number, day: number): number {
  return Date.UTC(year, month - 1, day) - KST_OFFSET_MS;
}

const FROM_2024_01_29_MS = kstMidnightMs(2024, 1, 29);
const FROM_2024_10_14_MS = kstMidnightMs(2024, 10, 14);
const FROM_2025_03_21_MS = kstMidnightMs(2025, 3, 21);
const FROM_2025_07_31_MS = kstMidnightMs(2025, 7, 31);

/** The 16 pairs whose 100–1,000 KRW band went from 0.1 to 1 KRW in October 2024. */
const OCT_2024_PAIRS: ReadonlySet<string> = new Set(
  ["ADA", "ALGO", "BLUR", "CELO", "ELF", "EOS", "GRS", "GRT", "ICX", "MANA", "MINA", "POL", "SAND"]
    .concat(["SEI", "STG", "TRX"])
    .map((c) => `KRW-${c}`),
);

const STABLE_PAIRS: ReadonlySet<string> = new Set(["KRW-USDT", "KRW-USDC"]);

const ONE_KRW: Units = SCALE;
const HALF_KRW: Units = SCALE / 2n;
const KRW_100: Units = 100n * SCALE;
const KRW_1000: Units = 1000n * SCALE;
const KRW_10000: Units = 10000n * SCALE;

/** Options naming when and where a tick is asked for. */
export interface TickOptions {
  /** The moment (UTC epoch ms) whose table applies. */
  readonly atMs: number;
  /** The market, e.g. `KRW-BTC` (some changes applied to a few pairs only). */
  readonly market?: string;
}

/**
 * The KRW tick size for `price` (in `Units`) on the date `atMs`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseUnits } from "./money.ts";
 * const at = Date.UTC(2026, 0, 1);
 * assert.equal(krwTickSize(parseUnits("150000000"), { atMs: at }), parseUnits("1000"));
 * assert.equal(krwTickSize(parseUnits("721.3"), { atMs: at }), parseUnits("1"));
 * ```
 */
export function krwTickSize(price: Units, options: TickOptions): Units {
  const { atMs, market = "" } = options;
  if (price < 0n) {
    throw new RangeError(`Cannot find tick size: price must be >= 0: current value is ${price}`);
  }
  if (atMs >= FROM_2025_07_31_MS) return lookup(TABLE_2025, price);
  if (atMs < FROM_2024_01_29_MS) return lookup(TABLE_2017, price);
  if (
    atMs >= FROM_2025_03_21_MS && STABLE_PAIRS.has(market) && price >= KRW_1000 && price < KRW_10000
  ) {
    return HALF_KRW;
  }
  if (
    atMs >= FROM_2024_10_14_MS && OCT_2024_PAIRS.has(market) && price >= KRW_100 && price < KRW_1000
  ) {
    return ONE_KRW;
  }
  return lookup(TABLE_2024, price);
}

/**
 * `krwTickSize` of a whole-won price (an integer >= 1 KRW) as a number of KRW, without `Units`
 * (formatting prices in signal reasons): every band above 1 KRW starts at a whole won, so the
 * comparisons are exact.
 */
export function krwTickSizeOfWholeKrw(priceKrw: number, options: TickOptions): number {
  const { atMs, market = "" } = options;
  if (!(Number.isSafeInteger(priceKrw) && priceKrw >= 1)) {
    throw new RangeError(
      `Cannot find tick size: not a whole won >= 1: current value is ${priceKrw}`,
    );
  }
  if (atMs >= FROM_2025_07_31_MS) return lookupKrw(TABLE_2025_KRW, priceKrw);
  if (atMs < FROM_2024_01_29_MS) return lookupKrw(TABLE_2017_KRW, priceKrw);
  if (
    atMs >= FROM_2025_03_21_MS && STABLE_PAIRS.has(market) && priceKrw >= 1000 && priceKrw < 10000
  ) {
    return 0.5;
  }
  if (
    atMs >= FROM_2024_10_14_MS && OCT_2024_PAIRS.has(market) && priceKrw >= 100 && priceKrw < 1000
  ) {
    return 1;
  }
  return lookupKrw(TABLE_2024_KRW, priceKrw);
}

/** A table's bands in KRW numbers (`from` and `tick`), for `krwTickSizeOfWholeKrw`. */
function inKrw(bands: readonly Band[]): readonly { from: number; tick: number }[] {
  return bands.map((b) => ({ from: Number(b.from) / 1e8, tick: Number(b.tick) / 1e8 }));
}

const TABLE_2017_KRW = inKrw(TABLE_2017);
const TABLE_2024_KRW = inKrw(TABLE_2024);
const TABLE_2025_KRW = inKrw(TABLE_2025);

function lookupKrw(bands: readonly { from: number; tick: number }[], priceKrw: number): number {
  for (const band of bands) {
    if (priceKrw >= band.from) return band.tick;
  }
  throw new RangeError(`Cannot find tick size for price ${priceKrw}`);
}

function lookup(bands: readonly Band[], price: Units): Units {
  for (const band of bands) {
    if (price >= band.from) return band.tick;
  }
  // Unreachable: the last band starts at 0 and price >= 0 was checked.
  throw new RangeError(`Cannot find tick size for price ${price}`);
}

/**
 * Rounds `price` onto the tick grid of its band: `floor` or `ceil` as the caller needs (a buy
 * rounds up, a sell down). Every band edge lies on the grids of both neighbouring bands, so a
 * price rounded up across an edge still lands on a valid tick.
 */
export function roundToTick(
  price: Units,
  options: TickOptions & { readonly rounding: Rounding },
): Units {
  return roundToStep(price, krwTickSize(price, options), options.rounding);
}

/** `true` when `price` is an exact multiple of its tick on `atMs`. */
export function isOnTick(price: Units, options: TickOptions): boolean {
  return price % krwTickSize(price, options) === 0n;
}
