/** Tests of exact amounts: parsing, formatting, rounding and fixed-point arithmetic. */

import assert from "node:assert/strict";
import fc from "fast-check";
import {
  applyBps,
  DECIMALS,
  divRound,
  divUnits,
  formatUnits,
  minUnits,
  mulUnits,
  parseUnits,
  type Rounding,
  roundToStep,
  SCALE,
  unitsFromNumber,
  unitsToNumber,
} from "../../../engine/core/money.ts";

const MODES: readonly Rounding[] = ["floor", "ceil", "half_up"];

/** Reference division, written differently from `divRound`: through the floor of a ≥ 0 quotient. */
function referenceDiv(a: bigint, b: bigint, rounding: Rounding): bigint {
  const negative = a < 0n;
  const abs = negative ? -a : a;
  const down = abs / b; // toward zero on |a|
  const exact = down * b === abs;
  let magnitude: bigint;
  switch (rounding) {
    case "floor":
      magnitude = negative && !exact ? down + 1n : down;
      break;
    case "ceil":
      magnitude = !negative && !exact ? down + 1n : down;
      break;
    case "half_up":
      // Halves go away from zero, as Upbit rounds amounts (and as parseUnits does).
      magnitude = (2n * abs + b) / (2n * b);
      break;
  }
  return negative ? -magnitude : magnitude;
}

/** Writes `n × 10^-decimals` as a plain decimal string, e.g. (−1234n, 3) → "-1.234". */
function decimalString(n: bigint, decimals: number): string {
  const negative = n < 0n;
  const digits = (negative ? -n : n).toString().padStart(decimals + 1, "0");
  const whole = digits.slice(0, digits.length - decimals);
  const frac = digits.slice(digits.length - decimals);
  return (negative ? "-" : "") + whole + (decimals > 0 ? "." + frac : "");
}

const WIDE = fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n });

// ---------------------------------------------------------------- parseUnits / formatUnits

Deno.test("parseUnits() reads plain decimals into units of 1e-8", () => {
  assert.equal(DECIMALS, 8);
  assert.equal(SCALE, 100_000_000n);
  assert.equal(parseUnits("721.3"), 72_130_000_000n);
  assert.equal(parseUnits("0"), 0n);
  assert.equal(parseUnits("-0"), 0n);
  assert.equal(parseUnits("5000"), 500_000_000_000n);
  assert.equal(parseUnits("0.00000001"), 1n);
  assert.equal(parseUnits("-0.5"), -50_000_000n);
  assert.equal(parseUnits("  13.86389853 "), 1_386_389_853n);
  assert.equal(parseUnits("007.10"), 710_000_000n);
  assert.equal(parseUnits("1.000000000000"), SCALE, "zeros beyond 8 decimals are exact");
  assert.equal(
    parseUnits("123456789012345678901234567890"),
    123456789012345678901234567890n * SCALE,
  );
});

Deno.test("parseUnits() reads exponent forms", () => {
  assert.equal(parseUnits("1e-7"), 10n);
  assert.equal(parseUnits("1e-8"), 1n);
  assert.equal(parseUnits("1.5E3"), 150_000_000_000n);
  assert.equal(parseUnits("1E+2"), 10_000_000_000n);
  assert.equal(parseUnits("12.345e1"), 12_345_000_000n);
  assert.equal(parseUnits("-2.5e-3"), -250_000n);
  assert.equal(parseUnits("1e21"), 10n ** 21n * SCALE);
  assert.equal(parseUnits("1234e-4"), 12_340_000n);
  assert.equal(parseUnits("0e-20"), 0n);
});

Deno.test("parseUnits() rejects text that is not a decimal number", () => {
  for (
    const text of [
      "",
      " ",
      "abc",
      "1.",
      ".5",
      "+5",
      "1e",
      "1e+",
      "NaN",
      "Infinity",
      "1,000",
      "0x10",
      "1 2",
      "--1",
    ]
  ) {
    assert.throws(() => parseUnits(text), RangeError, JSON.stringify(text));
  }
});

Deno.test("parseUnits() rejects more than 8 decimals by default", () => {
  assert.throws(() => parseUnits("0.123456789"), RangeError);
  assert.throws(() => parseUnits("-0.123456789"), RangeError);
  assert.throws(() => parseUnits("1e-9"), RangeError);
  assert.throws(() => parseUnits("0.1000000001"), /more than 8 decimals/);
});

Deno.test("parseUnits() rounds digits beyond 8 decimals floor, ceil or half up", () => {
  assert.equal(parseUnits("0.123456789", "floor"), 12_345_678n);
  assert.equal(parseUnits("0.123456789", "ceil"), 12_345_679n);
  assert.equal(parseUnits("0.123456789", "half_up"), 12_345_679n);
  assert.equal(parseUnits("0.123456781", "half_up"), 12_345_678n);
  assert.equal(parseUnits("0.123456785", "half_up"), 12_345_679n, "an exact half goes up");
  assert.equal(parseUnits("0.1234567849999", "half_up"), 12_345_678n);
  assert.equal(parseUnits("0.1234567800001", "ceil"), 12_345_679n);
  assert.equal(parseUnits("0.1234567899999", "floor"), 12_345_678n);
  assert.equal(parseUnits("1e-9", "ceil"), 1n);
  assert.equal(parseUnits("1e-9", "floor"), 0n);
  assert.equal(parseUnits("5e-9", "half_up"), 1n);
  assert.equal(parseUnits("4.9e-9", "half_up"), 0n);
  assert.equal(parseUnits("0.99999999999", "ceil"), SCALE);
});

Deno.test("parseUnits() rounds negatives floor down, ceil up and halves away from zero", () => {
  assert.equal(parseUnits("-0.123456789", "floor"), -12_345_679n);
  assert.equal(parseUnits("-0.123456789", "ceil"), -12_345_678n);
  assert.equal(parseUnits("-0.123456781", "half_up"), -12_345_678n);
  assert.equal(parseUnits("-0.123456785", "half_up"), -12_345_679n);
  assert.equal(parseUnits("-1e-9", "floor"), -1n);
  assert.equal(parseUnits("-1e-9", "ceil"), 0n);
  assert.equal(parseUnits("-0.99999999999", "floor"), -SCALE);
});

Deno.test("parseUnits() rounds like divRound() for every mode (property)", () => {
  // A value with 12 decimals, rounded to 8, is the integer n ÷ 10^4 rounded.
  // Remainders near 0 and near a half are mixed in, since random ones rarely hit them.
  const remainder = fc.oneof(
    fc.bigInt({ min: -9_999n, max: 9_999n }),
    fc.constantFrom(-5_001n, -5_000n, -4_999n, -1n, 0n, 1n, 4_999n, 5_000n, 5_001n),
  );
  fc.assert(
    fc.property(WIDE, remainder, fc.constantFrom(...MODES), (base, rest, mode) => {
      const n = base * 10_000n + rest;
      assert.equal(parseUnits(decimalString(n, 12), mode), referenceDiv(n, 10_000n, mode));
    }),
    { numRuns: 1000 },
  );
});

Deno.test("formatUnits() writes decimals without exponent or trailing zeros", () => {
  assert.equal(formatUnits(72_130_000_000n), "721.3");
  assert.equal(formatUnits(500_000_000_000n), "5000");
  assert.equal(formatUnits(0n), "0");
  assert.equal(formatUnits(1n), "0.00000001");
  assert.equal(formatUnits(-5n), "-0.00000005");
  assert.equal(formatUnits(-50_000_000n), "-0.5");
  assert.equal(formatUnits(10n ** 30n * SCALE), "1" + "0".repeat(30));
  assert.equal(formatUnits(1_386_389_853n), "13.86389853");
});

Deno.test("parseUnits(formatUnits(x)) === x over a wide range, negatives included (property)", () => {
  fc.assert(
    fc.property(WIDE, (units) => {
      const text = formatUnits(units);
      assert.match(text, /^-?\d+(\.\d{0,7}[1-9])?$/);
      assert.equal(parseUnits(text), units);
    }),
    { numRuns: 1000 },
  );
});

Deno.test("formatUnits(parseUnits(s)) is the canonical form of s (property)", () => {
  fc.assert(
    fc.property(WIDE, fc.integer({ min: 0, max: 8 }), (n, decimals) => {
      const units = n * 10n ** BigInt(8 - decimals);
      assert.equal(formatUnits(parseUnits(decimalString(n, decimals))), formatUnits(units));
    }),
    { numRuns: 500 },
  );
});

// ---------------------------------------------------------------- floats

Deno.test("unitsFromNumber(0.1 + 0.2) === 30_000_000n: float noise never reaches units", () => {
  assert.equal(unitsFromNumber(0.1 + 0.2), 30_000_000n);
  assert.equal(unitsFromNumber(0.1 + 0.2, "half_up"), 30_000_000n);
  assert.equal(unitsFromNumber(0.1), 10_000_000n);
  assert.equal(unitsFromNumber(721.3), 72_130_000_000n);
  assert.equal(unitsFromNumber(-0.1), -10_000_000n);
  assert.equal(unitsFromNumber(1e-7), 10n);
  assert.equal(unitsFromNumber(1e21), 10n ** 21n * SCALE);
  assert.equal(unitsFromNumber(0.30000000000000004, "ceil"), 30_000_001n);
  assert.equal(unitsFromNumber(0.30000000000000004, "floor"), 30_000_000n);
});

Deno.test("unitsFromNumber() refuses non-finite numbers", () => {
  for (const value of [Number.NaN, Infinity, -Infinity]) {
    assert.throws(() => unitsFromNumber(value), RangeError);
  }
});

Deno.test("unitsFromNumber(Number(formatUnits(u))) === u for amounts with up to 15 digits (property)", () => {
  // A double keeps 15 significant decimal digits, and String() gives the shortest round trip.
  fc.assert(
    fc.property(fc.bigInt({ min: -(10n ** 15n) + 1n, max: 10n ** 15n - 1n }), (units) => {
      assert.equal(unitsFromNumber(Number(formatUnits(units))), units);
    }),
    { numRuns: 1000 },
  );
});

Deno.test("unitsToNumber() converts to the nearest float", () => {
  assert.equal(unitsToNumber(72_130_000_000n), 721.3);
  assert.equal(unitsToNumber(-50_000_000n), -0.5);
  assert.equal(unitsToNumber(1n), 1e-8);
  assert.equal(unitsToNumber(10_000_000_000_000_000n), 100_000_000);
  assert.equal(unitsToNumber(0n), 0);
});

Deno.test("unitsToNumber() is bit for bit the float of its whole and fractional parts, at every size (property)", () => {
  const around = (edge: bigint) => fc.bigInt({ min: edge - 10n ** 9n, max: edge + 10n ** 9n });
  const safe = BigInt(Number.MAX_SAFE_INTEGER);
  fc.assert(
    fc.property(
      fc.oneof(WIDE, fc.bigInt({ min: -safe, max: safe }), around(safe), around(-safe)),
      (units) => {
        const reference = Number(units / SCALE) + Number(units % SCALE) / 1e8;
        assert.ok(Object.is(unitsToNumber(units), reference), `${units}`);
      },
    ),
    { numRuns: 2_000 },
  );
});

// ---------------------------------------------------------------- divRound

Deno.test("divRound() rounds each mode on exact, below-half, half and above-half remainders", () => {
  const cases: ReadonlyArray<readonly [bigint, bigint, bigint, bigint, bigint]> = [
    // a, b, floor, ceil, half_up
    [10n, 5n, 2n, 2n, 2n],
    [11n, 5n, 2n, 3n, 2n],
    [12n, 5n, 2n, 3n, 2n],
    [13n, 5n, 2n, 3n, 3n],
    [5n, 10n, 0n, 1n, 1n],
    [4n, 10n, 0n, 1n, 0n],
    [0n, 7n, 0n, 0n, 0n],
    [-10n, 5n, -2n, -2n, -2n],
    [-11n, 5n, -3n, -2n, -2n],
    [-13n, 5n, -3n, -2n, -3n],
    [-5n, 10n, -1n, 0n, -1n],
    [-4n, 10n, -1n, 0n, 0n],
  ];
  for (const [a, b, floor, ceil, halfUp] of cases) {
    assert.equal(divRound(a, b, "floor"), floor, `${a}/${b} floor`);
    assert.equal(divRound(a, b, "ceil"), ceil, `${a}/${b} ceil`);
    assert.equal(divRound(a, b, "half_up"), halfUp, `${a}/${b} half_up`);
  }
});

Deno.test("divRound() refuses a divisor <= 0", () => {
  assert.throws(() => divRound(1n, 0n, "floor"), RangeError);
  assert.throws(() => divRound(1n, -3n, "ceil"), RangeError);
});

Deno.test("divRound() matches a reference division for every rounding mode (property)", () => {
  fc.assert(
    fc.property(
      WIDE,
      fc.bigInt({ min: 1n, max: 10n ** 20n }),
      fc.constantFrom(...MODES),
      (a, b, mode) => {
        const q = divRound(a, b, mode);
        assert.equal(q, referenceDiv(a, b, mode));
        // And the defining inequalities, independently of any reference:
        if (mode === "floor") assert.ok(q * b <= a && a < (q + 1n) * b);
        if (mode === "ceil") assert.ok((q - 1n) * b < a && a <= q * b);
        if (mode === "half_up") {
          const twiceError = 2n * (a - q * b);
          assert.ok(-b <= twiceError && twiceError <= b, "within half a step");
        }
      },
    ),
    { numRuns: 1000 },
  );
});

Deno.test("divRound() with small divisors matches the reference (property)", () => {
  // Small divisors hit exact halves often.
  fc.assert(
    fc.property(
      fc.bigInt({ min: -1000n, max: 1000n }),
      fc.bigInt({ min: 1n, max: 10n }),
      fc.constantFrom(...MODES),
      (a, b, mode) => {
        assert.equal(divRound(a, b, mode), referenceDiv(a, b, mode));
      },
    ),
    { numRuns: 500 },
  );
});

// ---------------------------------------------------------------- arithmetic

Deno.test("mulUnits() multiplies two amounts and rounds back to 1e-8", () => {
  const p = parseUnits("100000000");
  assert.equal(mulUnits(p, parseUnits("0.001"), "half_up"), parseUnits("100000"));
  assert.equal(
    mulUnits(parseUnits("721.3"), parseUnits("13.86389853"), "half_up"),
    parseUnits("10000.03000969"), // 10000.030009689
  );
  assert.equal(
    mulUnits(parseUnits("721.3"), parseUnits("13.86389853"), "floor"),
    parseUnits("10000.03000968"),
  );
  assert.equal(mulUnits(1n, 1n, "floor"), 0n);
  assert.equal(mulUnits(1n, 1n, "ceil"), 1n);
  assert.equal(mulUnits(1n, 1n, "half_up"), 0n);
  assert.equal(mulUnits(parseUnits("0.5"), 1n, "half_up"), 1n, "0.5e-8 rounds half up");
  assert.equal(mulUnits(parseUnits("-0.5"), 1n, "half_up"), -1n);
  assert.equal(mulUnits(parseUnits("-0.5"), 1n, "ceil"), 0n);
});

Deno.test("divUnits() divides two amounts and rounds to 1e-8", () => {
  assert.equal(
    divUnits(parseUnits("100000"), parseUnits("100000000"), "floor"),
    parseUnits("0.001"),
  );
  assert.equal(divUnits(parseUnits("1"), parseUnits("3"), "floor"), 33_333_333n);
  assert.equal(divUnits(parseUnits("1"), parseUnits("3"), "ceil"), 33_333_334n);
  assert.equal(divUnits(parseUnits("1"), parseUnits("3"), "half_up"), 33_333_333n);
  assert.equal(divUnits(parseUnits("2"), parseUnits("3"), "half_up"), 66_666_667n);
  assert.equal(divUnits(parseUnits("10000"), parseUnits("721.3"), "floor"), 1_386_385_692n);
  assert.throws(() => divUnits(1n, 0n, "floor"), RangeError);
});

Deno.test("applyBps() applies basis points, fractional ones exactly", () => {
  const krw100k = parseUnits("100000");
  assert.equal(applyBps(krw100k, 5, "half_up"), parseUnits("50"));
  assert.equal(applyBps(krw100k, 10_000, "floor"), krw100k);
  assert.equal(applyBps(krw100k, 9_500, "floor"), parseUnits("95000"));
  assert.equal(applyBps(krw100k, 11_000, "ceil"), parseUnits("110000"));
  assert.equal(applyBps(parseUnits("10000"), 2.5, "half_up"), parseUnits("2.5"));
  assert.equal(applyBps(parseUnits("10000"), 13.9, "half_up"), parseUnits("13.9"));
  assert.equal(applyBps(parseUnits("10000"), 0.0001, "half_up"), parseUnits("0.0001"));
  assert.equal(applyBps(0n, 5, "ceil"), 0n);
  // 0.05% of 1e-8 is 5e-12: floor 0, ceil 1, half_up 0.
  assert.equal(applyBps(1n, 5, "floor"), 0n);
  assert.equal(applyBps(1n, 5, "ceil"), 1n);
  assert.equal(applyBps(1n, 5, "half_up"), 0n);
  // 0.05% of 0.00001 KRW is exactly half a unit: half_up rounds it up.
  assert.equal(applyBps(1_000n, 5, "half_up"), 1n);
  assert.equal(applyBps(999n, 5, "half_up"), 0n);
  assert.equal(applyBps(parseUnits("10000.03000969"), 5, "half_up"), parseUnits("5.000015"));
  assert.equal(applyBps(-krw100k, 5, "half_up"), -parseUnits("50"));
});

Deno.test("applyBps() matches the exact product for whole basis points (property)", () => {
  fc.assert(
    fc.property(
      WIDE,
      fc.integer({ min: 0, max: 20_000 }),
      fc.constantFrom(...MODES),
      (amount, bps, mode) => {
        assert.equal(
          applyBps(amount, bps, mode),
          referenceDiv(amount * BigInt(bps), 10_000n, mode),
        );
      },
    ),
    { numRuns: 500 },
  );
});

Deno.test("applyBps() with fractional basis points matches the reference division (property)", () => {
  fc.assert(
    fc.property(
      WIDE,
      fc.oneof(
        fc.integer({ min: -200_000_000, max: 200_000_000 }).map((n) => n / 10_000),
        // Rates that divide 100% (applyBps divides by 1e8 ÷ rate instead).
        fc.constantFrom(10_000, 5_000, 5, 2.5, 1, 0.5, 0.0001, 6.25, 0.032, 0),
      ),
      fc.constantFrom(...MODES),
      (amount, bps, mode) => {
        const scaled = BigInt(Math.round(bps * 10_000));
        assert.equal(applyBps(amount, bps, mode), referenceDiv(amount * scaled, 10n ** 8n, mode));
      },
    ),
    { numRuns: 1_000 },
  );
});

Deno.test("roundToStep() rounds onto multiples of the step", () => {
  const tenth = parseUnits("0.1");
  assert.equal(roundToStep(parseUnits("721.37"), tenth, "floor"), parseUnits("721.3"));
  assert.equal(roundToStep(parseUnits("721.37"), tenth, "ceil"), parseUnits("721.4"));
  assert.equal(roundToStep(parseUnits("721.37"), tenth, "half_up"), parseUnits("721.4"));
  assert.equal(roundToStep(parseUnits("721.34"), tenth, "half_up"), parseUnits("721.3"));
  assert.equal(roundToStep(parseUnits("721.35"), tenth, "half_up"), parseUnits("721.4"));
  assert.equal(roundToStep(parseUnits("721.3"), tenth, "ceil"), parseUnits("721.3"));
  assert.equal(roundToStep(parseUnits("-721.35"), tenth, "half_up"), parseUnits("-721.4"));
  assert.equal(roundToStep(parseUnits("-721.37"), tenth, "floor"), parseUnits("-721.4"));
  assert.equal(
    roundToStep(parseUnits("150001234"), parseUnits("1000"), "floor"),
    parseUnits("150001000"),
  );
  assert.equal(
    roundToStep(parseUnits("150001234"), parseUnits("1000"), "ceil"),
    parseUnits("150002000"),
  );
  assert.equal(roundToStep(12_345n, 1n, "ceil"), 12_345n);
});

Deno.test("roundToStep() lands on the step within one step, on the right side (property)", () => {
  fc.assert(
    fc.property(WIDE, fc.bigInt({ min: 1n, max: 10n ** 12n }), (units, step) => {
      const down = roundToStep(units, step, "floor");
      const up = roundToStep(units, step, "ceil");
      const near = roundToStep(units, step, "half_up");
      for (const r of [down, up, near]) assert.equal(r % step, 0n);
      assert.ok(down <= units && units - down < step);
      assert.ok(up >= units && up - units < step);
      assert.ok(near === down || near === up);
    }),
    { numRuns: 500 },
  );
});

Deno.test("roundToStep() equals the rounded quotient times the step, every mode and sign (property)", () => {
  fc.assert(
    fc.property(
      WIDE,
      fc.oneof(fc.bigInt({ min: 1n, max: 10n ** 12n }), fc.constantFrom(1n, 2n, SCALE, 3n * SCALE)),
      fc.constantFrom(...MODES),
      (units, step, mode) => {
        assert.equal(roundToStep(units, step, mode), referenceDiv(units, step, mode) * step);
      },
    ),
    { numRuns: 1_000 },
  );
});

Deno.test("minUnits() returns the smaller amount", () => {
  assert.equal(minUnits(3n, 5n), 3n);
  assert.equal(minUnits(5n, 3n), 3n);
  assert.equal(minUnits(-1n, 0n), -1n);
  assert.equal(minUnits(7n, 7n), 7n);
});
