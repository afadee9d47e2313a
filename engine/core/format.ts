/**
 * The ONE number and date formatter of every text output (console log, status text, text
 * backtest report, HTML report, ctl answers). Conventions, chosen once:
 *
 * - **Minus**: ASCII `-` (U+002D) everywhere, never `−` (U+2212): it copies into shells,
 *   spreadsheets and `grep` unchanged. Positive changes (P&L, returns) carry `+` where a sign
 *   matters (`signed: true`); zero is unsigned and never `-0`.
 * - **KRW**: grouped by thousands with `,` (`1,234,567 KRW`); whole won unless asked for
 *   decimals; rounded half away from zero.
 * - **Prices**: on Upbit's KRW tick grid of the date (`krwTickSize`), with exactly the tick's
 *   decimals (`38,512,000`, `721.3`, `0.0513`), so an indicator level never prints float noise.
 * - **%**: two decimals (`+1.23%`, `-63.35%`); non-finite values print `∞`, `-∞` or `n/a`.
 * - **Dates and times**: UTC, the timezone of the candle files and of Upbit's daily candle
 *   (00:00 UTC = 09:00 KST): `2022-05-31 14:05:00` / `2022-05-31`. Headers say "UTC" once.
 * - **JSON** (not formatted here): money (KRW amounts, prices, volumes, fees, P&L) is ALWAYS a
 *   decimal string made by `jsonMoney()` (`formatUnits`: `"-1234.5"`, no grouping, no exponent,
 *   ASCII minus); percentages and ratios are JSON numbers; times are ISO 8601 UTC strings.
 *
 * Pure: no Date, no Intl (the output must not depend on the machine's locale).
 */

import { divRound, formatUnits, SCALE, type Units, unitsFromNumber } from "./money.ts";
import { krwTickSize, krwTickSizeOfWholeKrw } from "./tick_size.ts";
import { formatIsoUtc } from "./time.ts";

/** The minus sign of every text output. */
export const MINUS = "-";

/** Options of the number formatters. */
export interface NumberFormat {
  /** Digits after the point (default: 0 for KRW, 2 for % and plain numbers). */
  readonly decimals?: number;
  /** Print `+` before positive values (default false). */
  readonly signed?: boolean;
}

/** Groups the digits of a plain decimal (`"-1234567.5"` → `"-1,234,567.5"`). */
export function groupDigits(decimal: string): string {
  const negative = decimal.startsWith("-");
  const [whole = "", frac] = (negative ? decimal.slice(1) : decimal).split(".");
  // A loop, not a look-ahead regex: prices are formatted in every backtest's signal reasons.
  let grouped = whole.slice(0, ((whole.length - 1) % 3) + 1);
  for (let i = grouped.length; i < whole.length; i += 3) grouped += "," + whole.slice(i, i + 3);
  return (negative ? MINUS : "") + grouped + (frac === undefined ? "" : `.${frac}`);
}

/** `Units` rounded half away from zero to `decimals` digits, as a plain decimal string. */
function unitsFixed(units: Units, decimals: number): string {
  const places = Math.max(0, Math.min(8, Math.trunc(decimals)));
  const step = SCALE / 10n ** BigInt(places);
  const abs = units < 0n ? -units : units;
  const scaled = divRound(abs, step, "half_up");
  const digits = scaled.toString().padStart(places + 1, "0");
  const whole = digits.slice(0, digits.length - places);
  const frac = digits.slice(digits.length - places);
  const negative = units < 0n && scaled !== 0n;
  return (negative ? "-" : "") + whole + (places > 0 ? `.${frac}` : "");
}

function toUnits(value: Units | number): Units {
  return typeof value === "bigint" ? value : unitsFromNumber(value);
}

function withSign(text: string, positive: boolean, signed: boolean | undefined): string {
  return signed === true && positive ? `+${text}` : text;
}

/**
 * A KRW amount, grouped, whole won by default (no currency suffix: callers add ` KRW`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(formatKrw(123_456_789_000_000n), "1,234,568");
 * assert.equal(formatKrw(-63.35, { decimals: 1 }), "-63.4");
 * assert.equal(formatKrw(1500, { signed: true }), "+1,500");
 * assert.equal(formatKrw(-0.2), "0");
 * ```
 */
export function formatKrw(value: Units | number, options: NumberFormat = {}): string {
  if (typeof value === "number" && !Number.isFinite(value)) return nonFinite(value);
  const units = toUnits(value);
  const text = groupDigits(unitsFixed(units, options.decimals ?? 0));
  return withSign(text, units > 0n && /[1-9]/.test(text), options.signed);
}

/**
 * A percentage with two decimals and a sign by default (`+1.23%`, `-63.35%`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(formatPct(-63.3456), "-63.35%");
 * assert.equal(formatPct(54.5, { signed: false, decimals: 1 }), "54.5%");
 * assert.equal(formatPct(-0.001), "0.00%");
 * ```
 */
export function formatPct(value: number, options: NumberFormat = {}): string {
  if (!Number.isFinite(value)) return `${nonFinite(value)}%`;
  return `${formatNumber(value, { decimals: 2, signed: true, ...options })}%`;
}

/**
 * A plain number (ratios such as Sharpe), grouped, two decimals by default.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(formatNumber(-0.654), "-0.65");
 * assert.equal(formatNumber(Infinity), "∞");
 * ```
 */
export function formatNumber(value: number, options: NumberFormat = {}): string {
  if (!Number.isFinite(value)) return nonFinite(value);
  const units = unitsFromNumber(value);
  const text = groupDigits(unitsFixed(units, options.decimals ?? 2));
  return withSign(text, units > 0n && /[1-9]/.test(text), options.signed);
}

function nonFinite(value: number): string {
  if (Number.isNaN(value)) return "n/a";
  return value > 0 ? "∞" : `${MINUS}∞`;
}

/** Where a price is quoted: the date picks Upbit's tick table; the market its exceptions. */
export interface PriceContext {
  /** UTC epoch ms of the quote. */
  readonly atMs: number;
  /** e.g. `KRW-BTC`. */
  readonly market?: string;
}

/**
 * A KRW price on Upbit's tick grid (nearest tick, half up), grouped, with the tick's decimals.
 * Takes exact `Units` or a float level (an indicator band, an average).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const atMs = Date.UTC(2022, 5, 1);
 * assert.equal(formatPrice(159_656_652.926267, { atMs }), "159,657,000");
 * assert.equal(formatPrice(721.34, { atMs }), "721");
 * assert.equal(formatPrice(0.05134, { atMs }), "0.0513");
 * ```
 */
export function formatPrice(value: Units | number, context: PriceContext): string {
  if (typeof value === "number" && !Number.isFinite(value)) return nonFinite(value);
  if (typeof value === "number" && value >= 1 && value < 1e15) {
    const fast = wholeTickPrice(value, context);
    if (fast !== undefined) return fast;
  }
  const units = toUnits(value);
  if (units < 0n) return `${MINUS}${formatPrice(-units, context)}`;
  const tick = krwTickSize(units, context);
  const onGrid = divRound(units, tick, "half_up") * tick;
  return groupDigits(unitsFixed(onGrid, tickDecimals(tick)));
}

/**
 * `formatPrice` of a float price whose tick is whole won, without exact decimal arithmetic (signal
 * reasons format band levels in every backtest): the same text whenever the price is not within
 * a hair (1e-6) of a whole won below, nor of half a tick, where float error could decide; then
 * undefined, and the exact path answers. The tick bands start at whole won above 1 KRW, so the
 * floor of the price lies in the price's band.
 */
function wholeTickPrice(value: number, context: PriceContext): string | undefined {
  const whole = Math.floor(value);
  if (value - whole > 1 - 1e-6) return undefined;
  const tickKrw = krwTickSizeOfWholeKrw(whole, context);
  if (!Number.isInteger(tickKrw)) return undefined;
  const q = value / tickKrw;
  const frac = q - Math.floor(q);
  if (Math.abs(frac - 0.5) < 1e-6) return undefined;
  return groupDigits(String((frac < 0.5 ? Math.floor(q) : Math.floor(q) + 1) * tickKrw));
}

/** Decimals needed to write every multiple of `tick` (e.g. 0.001 → 3, 1000 → 0). */
function tickDecimals(tick: Units): number {
  let decimals = 0;
  let step = SCALE;
  while (decimals < 8 && tick % step !== 0n) {
    decimals++;
    step /= 10n;
  }
  return decimals;
}

/**
 * A coin volume: exact, up to 8 decimals, trailing zeros dropped (`0.02597402`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(formatVolume(2_597_402n), "0.02597402");
 * ```
 */
export function formatVolume(units: Units): string {
  return groupDigits(formatUnits(units));
}

/**
 * A count with its noun, singular for one (`1 worker`, `2 workers`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(formatCount(1, "data set"), "1 data set");
 * assert.equal(formatCount(2, "worker"), "2 workers");
 * ```
 */
export function formatCount(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/**
 * Date and time, UTC: `2022-05-31 14:05:00`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(formatDateTime(Date.UTC(2022, 4, 31, 14, 5)), "2022-05-31 14:05:00");
 * ```
 */
export function formatDateTime(ms: number): string {
  return formatIsoUtc(ms).slice(0, 19).replace("T", " ");
}

/** The UTC date: `2022-05-31`. */
export function formatDate(ms: number): string {
  return formatIsoUtc(ms).slice(0, 10);
}

/**
 * Money in JSON: an exact decimal string (`"-1234.5"`), never a JSON number.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(jsonMoney(-123_450_000_000n), "-1234.5");
 * ```
 */
export function jsonMoney(units: Units): string {
  return formatUnits(units);
}
