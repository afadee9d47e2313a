/**
 * Exact amounts: fixed-point `bigint`s in units of 1e-8 (Upbit's finest volume and price step).
 *
 * Every price, volume, fund and fee that reaches an order or the ledger is one of these `Units`.
 * Floats from market data are converted once, through their shortest decimal representation, so
 * no binary float noise ever reaches an order. Strings are produced only at the edges.
 */

/** An exact decimal amount in units of 1e-8. */
export type Units = bigint;

/** Number of decimals carried by `Units`. */
export const DECIMALS = 8;

/** `Units` per whole unit (1e8). */
export const SCALE: Units = 100_000_000n;

const HALF_SCALE: Units = SCALE / 2n;
const SCALE_LESS_ONE: Units = SCALE - 1n;
const MAX_SAFE_UNITS: Units = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE_UNITS: Units = -MAX_SAFE_UNITS;
/** Below this (1e22, 1e14 whole units), `unitsToNumber` recovers the whole part from floats. */
const MAX_SPLIT_UNITS: Units = 10n ** 22n;
const MIN_SPLIT_UNITS: Units = -MAX_SPLIT_UNITS;

/** How a division or conversion that cannot be exact is rounded. */
export type Rounding = "floor" | "ceil" | "half_up";

const DECIMAL_RE = /^(-)?(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/**
 * Parses a decimal string (`"721.3"`, `"1e-7"`, `"-0.5"`) into `Units`.
 * Digits beyond 8 decimals are rounded as `rounding` says; the default rejects them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(parseUnits("721.3"), 72_130_000_000n);
 * assert.equal(parseUnits("0.123456789", "floor"), 12_345_678n);
 * ```
 */
export function parseUnits(text: string, rounding?: Rounding): Units {
  const m = DECIMAL_RE.exec(text.trim());
  if (m === null) throw new RangeError(`Cannot parse amount: not a decimal number: "${text}"`);
  const negative = m[1] === "-";
  let digits = (m[2] ?? "") + (m[3] ?? "");
  let point = (m[2] ?? "").length + Number(m[4] ?? "0");
  if (point < 0) {
    digits = "0".repeat(-point) + digits;
    point = 0;
  }
  const intPart = digits.slice(0, point).padEnd(point, "0");
  const frac = digits.slice(point);
  const kept = frac.slice(0, DECIMALS).padEnd(DECIMALS, "0");
  const dropped = frac.slice(DECIMALS);
  let units = BigInt(intPart === "" ? "0" : intPart) * SCALE + BigInt(kept);
  if (/[1-9]/.test(dropped)) {
    if (rounding === undefined) {
      throw new RangeError(`Cannot parse amount: more than 8 decimals: "${text}"`);
    }
    const up = rounding === "half_up"
      ? dropped.charCodeAt(0) >= 53
      : rounding === (negative ? "floor" : "ceil");
    if (up) units += 1n;
  }
  return negative ? -units : units;
}

/**
 * Converts a finite float to `Units` through its shortest decimal form (`0.1` → 10,000,000).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(unitsFromNumber(0.1 + 0.2, "half_up"), 30_000_000n);
 * ```
 */
export function unitsFromNumber(value: number, rounding: Rounding = "half_up"): Units {
  // Whole numbers (most KRW prices) are exact as they are: no decimal string needed.
  if (Number.isSafeInteger(value)) return BigInt(value) * SCALE;
  if (!Number.isFinite(value)) {
    throw new RangeError(`Cannot convert amount: ${value} is not finite`);
  }
  return parseUnits(String(value), rounding);
}

/** Converts `Units` to the nearest float (for indicators, metrics and display only). */
export function unitsToNumber(units: Units): number {
  if (units <= MAX_SAFE_UNITS && units >= MIN_SAFE_UNITS) {
    // The same split without making BigInts (the hot loops convert cash and positions): below
    // 2^53 the float quotient truncates to the exact one (|u| ÷ 1e8 < 2^27, where half an ulp,
    // at most 2^-27, is under the 1e-8 a fraction stays from the next whole), and the product
    // and the difference are exact integers.
    const u = Number(units);
    const whole = Math.trunc(u / 1e8);
    return whole + (u - whole * 1e8) / 1e8;
  }
  if (units < MAX_SPLIT_UNITS && units > MIN_SPLIT_UNITS) {
    // One BigInt operation: the remainder is exact, and (units − frac) ÷ 1e8, an integer W under
    // 2^47, comes out of three float operations within 3·2^-53·|W| < 0.05 of W: rounding finds it.
    const frac = Number(units % SCALE);
    return Math.round((Number(units) - frac) / 1e8) + frac / 1e8;
  }
  const whole = units / SCALE;
  const frac = units % SCALE;
  return Number(whole) + Number(frac) / 1e8;
}

/**
 * Formats `Units` as Upbit writes decimals: no exponent, no trailing zeros (`"721.3"`, `"5000"`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(formatUnits(72_130_000_000n), "721.3");
 * assert.equal(formatUnits(-5n), "-0.00000005");
 * ```
 */
export function formatUnits(units: Units): string {
  const negative = units < 0n;
  const abs = negative ? -units : units;
  const whole = (abs / SCALE).toString();
  const frac = (abs % SCALE).toString().padStart(DECIMALS, "0").replace(/0+$/, "");
  return (negative ? "-" : "") + whole + (frac === "" ? "" : "." + frac);
}

/** Divides two bigints with the given rounding (b > 0). */
export function divRound(a: bigint, b: bigint, rounding: Rounding): bigint {
  if (b <= 0n) throw new RangeError(`Cannot divide: divisor must be > 0: current value is ${b}`);
  // Each BigInt operation allocates. With a >= 0 the truncating division rounds down: a floor
  // is one division, and a ceil by 1e8 (fees, rates) one division of a + 1e8 − 1.
  if (a >= 0n) {
    if (rounding === "floor") return a / b;
    if (rounding === "ceil" && b === SCALE) return (a + SCALE_LESS_ONE) / b;
  }
  const q = a / b;
  const r = a % b;
  if (r === 0n) return q;
  switch (rounding) {
    case "floor":
      return r < 0n ? q - 1n : q;
    case "ceil":
      return r > 0n ? q + 1n : q;
    case "half_up": {
      const abs = r < 0n ? -r : r;
      // 2|r| >= b; by 1e8 (every Units product and rate) that is |r| >= 5e7, with no product.
      if (twiceReaches(abs, b)) return r < 0n ? q - 1n : q + 1n;
      return q;
    }
  }
}

/**
 * 2·r >= b (0 <= r < b) without a BigInt product: by 1e8 (every Units product and rate) that is
 * r >= 5e7; below 2^53 both are exact doubles (and so is 2·r).
 */
function twiceReaches(r: bigint, b: bigint): boolean {
  if (b === SCALE) return r >= HALF_SCALE;
  if (b <= MAX_SAFE_UNITS) return 2 * Number(r) >= Number(b);
  return 2n * r >= b;
}

/** `a × b` of two `Units` values, rounded back to `Units` (e.g. price × volume = funds). */
export function mulUnits(a: Units, b: Units, rounding: Rounding): Units {
  return divRound(a * b, SCALE, rounding);
}

/** `a ÷ b` of two `Units` values, rounded to `Units` (e.g. funds ÷ price = volume). */
export function divUnits(a: Units, b: Units, rounding: Rounding): Units {
  return divRound(a * SCALE, b, rounding);
}

/** Applies a rate in basis points (1 bp = 0.01%) to an amount: `amount × bps / 10000`. */
export function applyBps(amount: Units, bps: number, rounding: Rounding): Units {
  const { scaled, divisor } = rateOf(bps);
  // A rate that divides 1e8 (100%, the 0.05% fee): amount × scaled ÷ 1e8 is amount ÷ divisor,
  // the same quotient with one BigInt operation fewer (none at 100%).
  if (divisor === 1n) return amount;
  if (divisor !== 0n) return divRound(amount, divisor, rounding);
  return divRound(amount * scaled, 100_000_000n, rounding);
}

/**
 * A rate in basis points as the integer `applyBps` multiplies by: bps × 1e4 (bps may carry
 * decimals, e.g. 2.5: 0.0001 bp is exact), rounded to the nearest integer.
 */
export function scaledBps(bps: number): bigint {
  return rateOf(bps).scaled;
}

/** A rate's `scaledBps`, and 1e8 ÷ it when that is a whole number (else 0). */
interface Rate {
  readonly scaled: bigint;
  readonly divisor: bigint;
}

function rateOf(bps: number): Rate {
  let rate = RATES.get(bps);
  if (rate === undefined) {
    const scaled = BigInt(Math.round(bps * 10_000));
    const divisor = scaled > 0n && 100_000_000n % scaled === 0n ? 100_000_000n / scaled : 0n;
    rate = { scaled, divisor };
    // A run uses a handful of rates (fee, slippage, stop, target): remember them, boundedly.
    if (RATES.size < 1_024) RATES.set(bps, rate);
  }
  return rate;
}

const RATES = new Map<number, Rate>();

/** Rounds `units` to a multiple of `step` (step > 0). */
export function roundToStep(units: Units, step: Units, rounding: Rounding): Units {
  if (units < 0n || step <= 0n) return divRound(units, step, rounding) * step;
  // From the remainder (fewer BigInt operations): a price already on the grid is returned as is.
  const r = units % step;
  if (r === 0n) return units;
  switch (rounding) {
    case "floor":
      return units - r;
    case "ceil":
      return units - r + step;
    case "half_up":
      return (step === SCALE ? r >= HALF_SCALE : 2n * r >= step) ? units - r + step : units - r;
  }
}

/** The smaller of two amounts. */
export function minUnits(a: Units, b: Units): Units {
  return a < b ? a : b;
}
