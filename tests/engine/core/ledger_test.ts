/** Tests of the ledger: fill arithmetic, P&L, Upbit's average price, duplicates and sizing. */

import assert from "node:assert/strict";
import fc from "fast-check";
import {
  applyFill,
  describeDenial,
  equityAt,
  type Fill,
  FillIds,
  type Ledger,
  makeFill,
  MAX_ORDER_KRW,
  MIN_ORDER_KRW,
  openLedger,
  sellAll,
  type Side,
  sizeBuy,
  sizeSell,
  UPBIT_KRW_FEE_BPS,
} from "../../../engine/core/ledger.ts";
import { parseUnits, SCALE, type Units } from "../../../engine/core/money.ts";

const T = Date.UTC(2025, 0, 1);
const u = parseUnits;

function fill(side: Side, id: string, price: string, volume: string): Fill {
  return makeFill(side, { id, price: u(price), volume: u(volume), feeBps: 5, tsMs: T });
}

function applied(ledger: Ledger, f: Fill): Ledger {
  const result = applyFill(ledger, f);
  assert.ok(result.ok, `expected ${f.id} to apply: ${JSON.stringify(result, replacer)}`);
  return result.value;
}

function replacer(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  return value;
}

/** Exact half-up of a ≥ 0 rational p/q, written independently of money.ts. */
function halfUp(p: bigint, q: bigint): bigint {
  return (2n * p + q) / (2n * q);
}

// ---------------------------------------------------------------- makeFill

Deno.test("makeFill() computes funds = price × volume and a 0.05% fee on a BTC fill", () => {
  const f = fill("buy", "b1", "100000000", "0.001");
  assert.equal(UPBIT_KRW_FEE_BPS, 5);
  assert.deepEqual(f, {
    id: "b1",
    side: "buy",
    price: u("100000000"),
    volume: u("0.001"),
    funds: u("100000"),
    fee: u("50"),
    tsMs: T,
  });
});

Deno.test("makeFill() rounds funds and fee half up to 1e-8 KRW (XRP 721.3 × 13.86389853)", () => {
  const f = fill("sell", "x1", "721.3", "13.86389853");
  // 721.3 × 13.86389853 = 10000.030009689 → 10000.03000969 (half up)
  assert.equal(f.funds, u("10000.03000969"));
  // 10000.03000969 × 0.0005 = 5.000015004845 → 5.00001500
  assert.equal(f.fee, u("5.000015"));
});

Deno.test("makeFill() rounds an exact half of 1e-8 up", () => {
  // 1 KRW × 0.00001 = 0.00001 KRW; its fee is 0.000000005 KRW, exactly half a unit.
  const f = fill("buy", "h1", "1", "0.00001");
  assert.equal(f.funds, 1_000n);
  assert.equal(f.fee, 1n);
  // 0.99999999 KRW × 0.00000001 = 0.0000000099999999 → 0.00000001
  const g = fill("buy", "h2", "0.99999999", "0.00000001");
  assert.equal(g.funds, 1n);
  // 0.49999999 × 0.00000001 → 0.0000000049999999 → 0
  const h = fill("buy", "h3", "0.49999999", "0.00000001");
  assert.equal(h.funds, 0n);
});

Deno.test("makeFill() matches exact half-up arithmetic (property)", () => {
  fc.assert(
    fc.property(
      fc.bigInt({ min: 1n, max: 10n ** 17n }),
      fc.bigInt({ min: 1n, max: 10n ** 14n }),
      fc.constantFrom(0, 5, 25, 13.9),
      (price, volume, feeBps) => {
        const f = makeFill("buy", { id: "p", price, volume, feeBps, tsMs: T });
        assert.equal(f.funds, halfUp(price * volume, SCALE));
        // fee = funds × feeBps / 10,000, with feeBps × 10 an integer here.
        const tenthsBps = BigInt(Math.round(feeBps * 10));
        assert.equal(f.fee, halfUp(f.funds * tenthsBps, 100_000n));
      },
    ),
    { numRuns: 500 },
  );
});

Deno.test("makeFill() refuses a price or volume <= 0", () => {
  assert.throws(() => fill("buy", "z", "0", "1"), RangeError);
  assert.throws(() => fill("buy", "z", "100", "0"), RangeError);
  assert.throws(() => fill("sell", "z", "-1", "1"), RangeError);
});

// ---------------------------------------------------------------- applyFill

Deno.test("openLedger() starts flat and refuses negative cash", () => {
  const l = openLedger(u("1000000"));
  assert.equal(l.initialCash, u("1000000"));
  assert.equal(l.cash, u("1000000"));
  assert.equal(l.qty, 0n);
  assert.equal(l.avgPrice, 0n);
  assert.equal(l.cost, 0n);
  assert.equal(l.realizedPnl, 0n);
  assert.equal(l.fees, 0n);
  assert.equal(l.fillIds.size, 0);
  assert.throws(() => openLedger(-1n), RangeError);
});

Deno.test("applyFill() deducts funds and fee on a buy, and a sell realizes P&L after both fees", () => {
  const start = openLedger(u("1000000"));
  const long = applied(start, fill("buy", "b1", "100000000", "0.001"));
  assert.equal(long.cash, u("899950")); // 1,000,000 − 100,000 − 50
  assert.equal(long.qty, u("0.001"));
  assert.equal(long.avgPrice, u("100000000"));
  assert.equal(long.cost, u("100050"));
  assert.equal(long.fees, u("50"));
  assert.equal(long.realizedPnl, 0n);

  const flat = applied(long, fill("sell", "s1", "110000000", "0.001"));
  // proceeds 110,000 − 55 = 109,945; P&L = 109,945 − 100,050 = 9,895
  assert.equal(flat.cash, u("1009895"));
  assert.equal(flat.qty, 0n);
  assert.equal(flat.avgPrice, 0n);
  assert.equal(flat.cost, 0n);
  assert.equal(flat.realizedPnl, u("9895"));
  assert.equal(flat.fees, u("105"));
  assert.equal(flat.cash - flat.initialCash, flat.realizedPnl);
  assert.equal(flat.fillIds.size, 2);
  assert.ok(flat.fillIds.has("b1") && flat.fillIds.has("s1"));
  assert.ok(!long.fillIds.has("s1"), "an earlier ledger does not see later fills");
});

Deno.test("applyFill() realizes a loss that includes both fees on a round trip at one price", () => {
  const l0 = openLedger(u("1000000"));
  const l1 = applied(l0, fill("buy", "b", "721.3", "13.86389853"));
  const l2 = applied(l1, fill("sell", "s", "721.3", "13.86389853"));
  assert.equal(l2.realizedPnl, -(u("5.000015") * 2n));
  assert.equal(l2.cash, u("1000000") - u("10.00003"));
});

Deno.test("applyFill() keeps avgPrice as Upbit's avg_buy_price: volume-weighted, fees excluded", () => {
  let l = openLedger(u("10000000"));
  l = applied(l, fill("buy", "b1", "100000000", "0.001")); // 100,000
  l = applied(l, fill("buy", "b2", "80000000", "0.003")); // 240,000
  assert.equal(l.avgPrice, u("85000000")); // 340,000 ÷ 0.004
  assert.equal(l.cost, u("340170")); // fees 50 + 120 included in the cost, not the average
  l = applied(l, fill("sell", "s1", "90000000", "0.002"));
  assert.equal(l.avgPrice, u("85000000"), "a sell leaves the average unchanged");
  assert.equal(l.qty, u("0.002"));
  assert.equal(l.cost, u("170085")); // half of the cost left with half the coins
  // proceeds 180,000 − 90 = 179,910; cost out 170,085
  assert.equal(l.realizedPnl, u("9825"));
  l = applied(l, fill("buy", "b3", "91000000", "0.002"));
  assert.equal(l.avgPrice, u("88000000")); // (0.002 × 85M + 0.002 × 91M) ÷ 0.004
  l = applied(l, fill("sell", "s2", "70000000", "0.004"));
  assert.equal(l.qty, 0n);
  assert.equal(l.avgPrice, 0n, "0 when flat");
  assert.equal(l.cost, 0n);
  assert.equal(l.cash + l.cost, l.initialCash + l.realizedPnl);
});

Deno.test("applyFill() rounds the average price half up to 1e-8", () => {
  let l = openLedger(u("1000000"));
  l = applied(l, fill("buy", "b1", "100", "1"));
  l = applied(l, fill("buy", "b2", "101", "2"));
  // (100 + 202) ÷ 3 = 100.666666666… → 100.66666667
  assert.equal(l.avgPrice, u("100.66666667"));
});

Deno.test("applyFill() refuses a duplicate fill and leaves the ledger unchanged", () => {
  const l0 = openLedger(u("1000000"));
  const b = fill("buy", "dup", "100000000", "0.001");
  const l1 = applied(l0, b);
  const again = applyFill(l1, b);
  assert.deepEqual(again, { ok: false, error: { kind: "duplicate_fill", id: "dup" } });
  // Same id, other content: still a duplicate (fills are deduped by venue id).
  const other = applyFill(l1, fill("sell", "dup", "100000000", "0.0005"));
  assert.equal(other.ok, false);
  assert.equal(!other.ok && other.error.kind, "duplicate_fill");
  // Applying the first time did not touch the original either.
  assert.equal(l0.cash, u("1000000"));
  assert.equal(l0.fillIds.size, 0);
  assert.equal(l1.fillIds.size, 1);
});

Deno.test("applyFill() refuses a buy beyond the cash, leaving the ledger unchanged", () => {
  const l0 = openLedger(u("100049.99999999"));
  const b = fill("buy", "b", "100000000", "0.001"); // needs 100,050
  const result = applyFill(l0, b);
  assert.deepEqual(result, {
    ok: false,
    error: { kind: "insufficient_cash", need: u("100050"), have: u("100049.99999999") },
  });
  assert.equal(l0.fillIds.size, 0, "a refused fill is not recorded");
  // Exactly enough is enough, and spends the cash to 0.
  const l1 = applied(openLedger(u("100050")), b);
  assert.equal(l1.cash, 0n);
});

Deno.test("applyFill() refuses a sell beyond the position, leaving the ledger unchanged", () => {
  const l0 = applied(openLedger(u("1000000")), fill("buy", "b", "100000000", "0.001"));
  const result = applyFill(l0, fill("sell", "s", "100000000", "0.00100001"));
  assert.deepEqual(result, {
    ok: false,
    error: { kind: "insufficient_position", need: u("0.00100001"), have: u("0.001") },
  });
  const flat = applyFill(openLedger(u("1000000")), fill("sell", "s", "100", "1"));
  assert.equal(!flat.ok && flat.error.kind, "insufficient_position");
  // The refused id can still be applied later, once it fits.
  const later = applyFill(l0, fill("sell", "s", "100000000", "0.001"));
  assert.ok(later.ok);
});

Deno.test("equityAt() marks cash plus the coins at a price", () => {
  const l = applied(openLedger(u("1000000")), fill("buy", "b", "100000000", "0.001"));
  assert.equal(equityAt(l, 110_000_000), 899_950 + 110_000);
  assert.equal(equityAt(openLedger(u("5000")), 123), 5000);
});

// ---------------------------------------------------------------- random fill sequences

interface Op {
  readonly side: Side;
  readonly price: Units;
  /** Share of what could be bought or sold, in per mille; > 1000 asks for too much. */
  readonly perMille: number;
  /** When set, replays an earlier fill id instead. */
  readonly replay: number | null;
}

const OP: fc.Arbitrary<Op> = fc.record({
  side: fc.constantFrom<Side>("buy", "sell"),
  price: fc.oneof(
    fc.bigInt({ min: 1n, max: 10n ** 10n }), // up to 100 KRW
    fc.bigInt({ min: 10n ** 8n, max: 2n * 10n ** 16n }), // 1 KRW to 200M KRW
  ),
  perMille: fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: 1, max: 1000 }) },
    { weight: 1, arbitrary: fc.constant(1000) }, // all of it: sells go flat
    { weight: 1, arbitrary: fc.integer({ min: 1001, max: 1200 }) },
  ),
  replay: fc.oneof(
    { weight: 5, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.nat() },
  ),
});

/** Greatest volume whose funds + fee fit in `cash` at `price` (for generating buys). */
function affordable(cash: Units, price: Units): Units {
  return (cash * SCALE * 10_000n) / (price * 10_005n);
}

Deno.test("applyFill() keeps the ledger equal to the sum of its accepted fills (property)", () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.bigInt({ min: 0n, max: 10n ** 18n }),
        fc.bigInt({ min: 10n ** 12n, max: 10n ** 18n }),
      ),
      fc.array(OP, { minLength: 1, maxLength: 40, size: "max" }),
      (initialCash, ops) => {
        let ledger = openLedger(initialCash);
        const fills: Fill[] = [];
        const accepted: Fill[] = [];
        // The exact average buy price as a fraction, and the rounding it may have drifted by.
        let refAvgNum = 0n;
        let refAvgDen = 1n;
        let tolerance = 0n;
        for (const [i, op] of ops.entries()) {
          let f: Fill;
          if (op.replay !== null && fills.length > 0) {
            f = fills[op.replay % fills.length]!;
          } else {
            const room = op.side === "buy" ? affordable(ledger.cash, op.price) : ledger.qty;
            let volume = (room * BigInt(op.perMille)) / 1000n;
            if (volume <= 0n) volume = BigInt(op.perMille); // asks for something anyway
            f = makeFill(op.side, { id: `f${i}`, price: op.price, volume, feeBps: 5, tsMs: T + i });
            fills.push(f);
          }
          const before = ledger;
          const result = applyFill(ledger, f);
          const duplicate = accepted.some((a) => a.id === f.id);
          if (duplicate) {
            assert.deepEqual(result, { ok: false, error: { kind: "duplicate_fill", id: f.id } });
          } else if (f.side === "buy" && f.funds + f.fee > before.cash) {
            assert.equal(!result.ok && result.error.kind, "insufficient_cash");
          } else if (f.side === "sell" && f.volume > before.qty) {
            assert.equal(!result.ok && result.error.kind, "insufficient_position");
          } else {
            assert.ok(result.ok, `fill ${f.id} should apply`);
          }
          if (!result.ok) continue;
          ledger = result.value;
          accepted.push(f);
          if (f.side === "buy") {
            const qtyBefore = before.qty;
            // avg' = (avg × q + funds) ÷ (q + v), exactly, from the exact previous average.
            const num = refAvgNum * qtyBefore + f.funds * SCALE * refAvgDen;
            const den = refAvgDen * (qtyBefore + f.volume);
            refAvgNum = num;
            refAvgDen = den;
            // Each buy rounds the held funds (half a KRW unit, i.e. SCALE/2 ÷ qty in price
            // units) and the quotient (half a unit): |err'| ≤ (err·q + SCALE/2) ÷ (q + v) + 1/2.
            const qtyAfter = qtyBefore + f.volume;
            tolerance = 1n + (tolerance * qtyBefore + SCALE + qtyAfter - 1n) / qtyAfter;
          } else if (ledger.qty === 0n) {
            refAvgNum = 0n;
            refAvgDen = 1n;
            tolerance = 0n;
          }
          // The exact average times 1e8 ÷ 1e8 units: compare avgPrice × den with num.
          const diff = ledger.avgPrice * refAvgDen - refAvgNum;
          const absDiff = diff < 0n ? -diff : diff;
          assert.ok(
            absDiff <= tolerance * refAvgDen,
            `avgPrice ${ledger.avgPrice} drifted from ${refAvgNum}/${refAvgDen} by more than ${tolerance}`,
          );
        }
        let cash = initialCash;
        let qty = 0n;
        let fees = 0n;
        for (const f of accepted) {
          cash += f.side === "buy" ? -(f.funds + f.fee) : f.funds - f.fee;
          qty += f.side === "buy" ? f.volume : -f.volume;
          fees += f.fee;
        }
        assert.ok(ledger.cash >= 0n, "cash never negative");
        assert.ok(ledger.qty >= 0n, "qty never negative");
        assert.ok(ledger.cost >= 0n, "cost never negative");
        assert.equal(ledger.cash, cash);
        assert.equal(ledger.qty, qty);
        assert.equal(ledger.fees, fees);
        assert.equal(ledger.cash + ledger.cost, ledger.initialCash + ledger.realizedPnl);
        assert.equal(ledger.fillIds.size, accepted.length);
        if (ledger.qty === 0n) {
          assert.equal(ledger.avgPrice, 0n);
          assert.equal(ledger.cost, 0n);
          assert.equal(ledger.realizedPnl, ledger.cash - ledger.initialCash);
        }
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("applyFill() applied twice is a no-op, whatever came before (property)", () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.constantFrom<Side>("buy", "sell"), fc.integer({ min: 1, max: 500 })), {
        maxLength: 10,
      }),
      (steps) => {
        let ledger = openLedger(u("10000000"));
        for (const [i, [side, volumeMilli]] of steps.entries()) {
          const f = makeFill(side, {
            id: `f${i}`,
            price: u("10000"),
            volume: BigInt(volumeMilli) * 100_000n,
            feeBps: 5,
            tsMs: T,
          });
          const once = applyFill(ledger, f);
          if (!once.ok) continue;
          const twice = applyFill(once.value, f);
          assert.equal(twice.ok, false);
          ledger = once.value;
        }
      },
    ),
    { numRuns: 200 },
  );
});

Deno.test("applyFill() dedupes by id on every snapshot, also when older ledgers branch (property)", () => {
  // Ledgers are values: a fill applied to an older ledger must not leak into its successors, and
  // each ledger must see exactly the ids on its own path.
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat(), fc.nat(), fc.boolean()), { minLength: 1, maxLength: 30 }),
      (steps) => {
        const snapshots: Array<{ readonly ledger: Ledger; readonly ids: ReadonlySet<string> }> = [
          { ledger: openLedger(u("1000000")), ids: new Set() },
        ];
        const universe: string[] = [];
        for (const [i, [from, pick, fresh]] of steps.entries()) {
          const base = snapshots[from % snapshots.length]!;
          const id = fresh || universe.length === 0 ? `f${i}` : universe[pick % universe.length]!;
          if (!universe.includes(id)) universe.push(id);
          const f = makeFill("buy", { id, price: u("1"), volume: u("1"), feeBps: 5, tsMs: T });
          const result = applyFill(base.ledger, f);
          assert.equal(result.ok, !base.ids.has(id), `${id} on a ledger with ${[...base.ids]}`);
          if (result.ok) snapshots.push({ ledger: result.value, ids: new Set(base.ids).add(id) });
          for (const { ledger, ids } of snapshots) {
            assert.equal(ledger.fillIds.size, ids.size);
            for (const known of universe) assert.equal(ledger.fillIds.has(known), ids.has(known));
            assert.equal(ledger.cash, u("1000000") - u("1.0005") * BigInt(ids.size));
          }
        }
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("applyFill() on ledgers opened from one shared root: each sees exactly its own ids (property)", () => {
  // Backtests share one root and mostly replay the same ids in the same order: a ledger must
  // never see an id another one applied, whatever the interleaving.
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat(3), fc.constantFrom("a", "b", "c", "d")), { maxLength: 40 }),
      (steps) => {
        const root = new FillIds();
        const ledgers = [0, 1, 2, 3].map(() => ({
          ledger: openLedger(u("1000000"), root),
          ids: new Set<string>(),
        }));
        for (const [which, id] of steps) {
          const entry = ledgers[which]!;
          const f = makeFill("buy", { id, price: u("1"), volume: u("1"), feeBps: 5, tsMs: T });
          const result = applyFill(entry.ledger, f);
          assert.equal(result.ok, !entry.ids.has(id));
          if (result.ok) {
            entry.ledger = result.value;
            entry.ids.add(id);
          }
          for (const { ledger, ids } of ledgers) {
            assert.equal(ledger.fillIds.size, ids.size);
            for (const known of ["a", "b", "c", "d"]) {
              assert.equal(ledger.fillIds.has(known), ids.has(known));
            }
          }
        }
        assert.equal(root.size, 0);
      },
    ),
    { numRuns: 500 },
  );
});

Deno.test("openLedger() refuses fill ids that are not empty", () => {
  const applied = applyFill(
    openLedger(u("1000000")),
    makeFill("buy", { id: "x", price: u("1"), volume: u("1"), feeBps: 5, tsMs: T }),
  );
  assert.ok(applied.ok);
  assert.throws(() => openLedger(u("1000"), applied.value.fillIds), /fill ids must be empty/);
});

// ---------------------------------------------------------------- sizing

Deno.test("sizeBuy() spends the cash with the fee on top and floors the volume to 1e-8", () => {
  const l = openLedger(u("1000000"));
  const sized = sizeBuy(l, { price: u("100000000"), feeBps: 5, budgetPct: 100 });
  assert.ok(sized.ok);
  // 1,000,000 ÷ 1.0005 = 999,500.2498… → ÷ 100M = 0.00999500|2… → 0.00999500
  assert.equal(sized.value.volume, u("0.009995"));
  assert.equal(sized.value.total, u("999500"));
  const f = makeFill("buy", {
    id: "x",
    price: u("100000000"),
    volume: sized.value.volume,
    feeBps: 5,
    tsMs: T,
  });
  assert.ok(f.funds + f.fee <= l.cash);
  assert.equal(f.funds + f.fee, u("999999.75"));
});

Deno.test("sizeBuy() spends only the budget share of the cash", () => {
  const l = openLedger(u("1000000"));
  const sized = sizeBuy(l, { price: u("721.3"), feeBps: 5, budgetPct: 50 });
  assert.ok(sized.ok);
  const f = makeFill("buy", {
    id: "x",
    price: u("721.3"),
    volume: sized.value.volume,
    feeBps: 5,
    tsMs: T,
  });
  assert.ok(f.funds + f.fee <= u("500000"));
  assert.ok(f.funds + f.fee > u("500000") - u("1"));
});

Deno.test("sizeBuy() refuses a total under 5,000 KRW", () => {
  const tooSmall = sizeBuy(openLedger(u("5002")), {
    price: u("100000000"),
    feeBps: 5,
    budgetPct: 100,
  });
  // 5,002 ÷ 1.0005 = 4,999.50… KRW of funds → 0.00004999 BTC → 4,999 KRW < 5,000
  assert.deepEqual(tooSmall, { ok: false, error: { kind: "under_min_total", total: u("4999") } });
  assert.equal(
    describeDenial({ kind: "under_min_total", total: u("4999.5") }),
    "order total 4999.5 KRW is under the 5,000 KRW minimum",
  );
  const enough = sizeBuy(openLedger(u("5002.5")), {
    price: u("100000000"),
    feeBps: 5,
    budgetPct: 100,
  });
  assert.ok(enough.ok);
  assert.equal(enough.value.total, u("5000"));
  const empty = sizeBuy(openLedger(0n), { price: u("100"), feeBps: 5, budgetPct: 100 });
  assert.equal(!empty.ok && empty.error.kind, "under_min_total");
  // A coin dearer than the cash: volume 0.
  const dear = sizeBuy(openLedger(u("10000")), {
    price: u("100000000000000"),
    feeBps: 5,
    budgetPct: 100,
  });
  assert.equal(!dear.ok && dear.error.kind, "under_min_total");
});

Deno.test("sizeBuy() caps the total at 1,000,000,000 KRW", () => {
  const rich = openLedger(u("5000000000"));
  const sized = sizeBuy(rich, { price: u("100000000"), feeBps: 5, budgetPct: 100 });
  assert.ok(sized.ok);
  assert.equal(sized.value.volume, u("10"));
  assert.equal(sized.value.total, MAX_ORDER_KRW);
  const odd = sizeBuy(rich, { price: u("721.3"), feeBps: 5, budgetPct: 100 });
  assert.ok(odd.ok);
  assert.ok(odd.value.total <= MAX_ORDER_KRW);
  assert.ok(odd.value.total > MAX_ORDER_KRW - u("1"));
});

Deno.test("sizeBuy() stays within the cash and the limits, and the order applies (property)", () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.bigInt({ min: 0n, max: 10n ** 12n }), // up to 10,000 KRW
        fc.bigInt({ min: 0n, max: 10n ** 20n }), // up to 1e12 KRW
      ),
      fc.oneof(
        fc.bigInt({ min: 1n, max: 10n ** 9n }),
        fc.bigInt({ min: 1n, max: 10n ** 17n }),
      ),
      fc.integer({ min: 1, max: 100 }),
      fc.constantFrom(0, 5, 13.9, 25),
      (cash, price, budgetPct, feeBps) => {
        const ledger = openLedger(cash);
        const sized = sizeBuy(ledger, { price, feeBps, budgetPct });
        const budget = (cash * BigInt(budgetPct)) / 100n;
        if (!sized.ok) {
          assert.equal(sized.error.kind, "under_min_total");
          assert.ok(sized.error.kind === "under_min_total" && sized.error.total < MIN_ORDER_KRW);
          // Refused only when the budget could not reach 5,000 KRW plus one volume step.
          const oneStep = price / SCALE + 1n;
          assert.ok(budget * 10_000n < (MIN_ORDER_KRW + oneStep) * 10_026n, "refused too eagerly");
          return;
        }
        const { volume, total } = sized.value;
        assert.equal(typeof volume, "bigint", "an integer count of 1e-8");
        assert.ok(volume > 0n);
        assert.ok(total >= MIN_ORDER_KRW, "never under 5,000 KRW");
        assert.ok(total <= MAX_ORDER_KRW, "never over 1,000,000,000 KRW");
        const f = makeFill("buy", { id: "s", price, volume, feeBps, tsMs: T });
        assert.equal(f.funds, total);
        assert.ok(f.funds + f.fee <= cash, "never spends more than the cash");
        assert.ok(f.funds + f.fee <= budget, "never spends more than the budget");
        // Volume is floored, not rounded up: one more step would break the budget or the cap
        // (up to the half-unit rounding of funds for sub-1e-8 price steps).
        const next = makeFill("buy", { id: "n", price, volume: volume + 1n, feeBps, tsMs: T });
        const slack = (price * 2n) / SCALE + 2n;
        assert.ok(
          next.funds + next.fee + slack > budget || next.funds > MAX_ORDER_KRW - slack,
          "volume left budget on the table",
        );
        const result = applyFill(ledger, f);
        assert.ok(result.ok, "the sized order always applies");
      },
    ),
    { numRuns: 1000 },
  );
});

Deno.test("sizeSell() sells the whole position", () => {
  const l = applied(openLedger(u("1000000")), fill("buy", "b", "100000000", "0.00512345"));
  const sized = sizeSell(l, u("99000000"));
  assert.ok(sized.ok);
  assert.equal(sized.value.volume, u("0.00512345"));
  assert.equal(sized.value.total, u("507221.55"));
  const after = applied(
    l,
    makeFill("sell", {
      id: "s",
      price: u("99000000"),
      volume: sized.value.volume,
      feeBps: 5,
      tsMs: T,
    }),
  );
  assert.equal(after.qty, 0n);
});

Deno.test("sizeSell() refuses without a position or under 5,000 KRW", () => {
  assert.deepEqual(sizeSell(openLedger(u("1000")), u("100")), {
    ok: false,
    error: { kind: "no_position" },
  });
  assert.equal(describeDenial({ kind: "no_position" }), "no position to sell");
  const l = applied(openLedger(u("1000000")), fill("buy", "b", "100000000", "0.0001"));
  const low = sizeSell(l, u("49999999"));
  assert.deepEqual(low, { ok: false, error: { kind: "under_min_total", total: u("4999.9999") } });
  assert.ok(sizeSell(l, u("50000000")).ok);
});

Deno.test("sizeSell() sells exactly the held quantity, and it always applies (property)", () => {
  fc.assert(
    fc.property(
      fc.bigInt({ min: 1n, max: 10n ** 12n }),
      fc.bigInt({ min: 10n ** 6n, max: 10n ** 16n }),
      (volume, price) => {
        const cash = price * volume / SCALE * 2n + u("1");
        const l = applied(
          openLedger(cash),
          makeFill("buy", { id: "b", price, volume, feeBps: 5, tsMs: T }),
        );
        const sized = sizeSell(l, price);
        if (!sized.ok) {
          assert.equal(sized.error.kind, "under_min_total");
          return;
        }
        assert.equal(sized.value.volume, l.qty);
        const f = makeFill("sell", {
          id: "s",
          price,
          volume: sized.value.volume,
          feeBps: 5,
          tsMs: T,
        });
        assert.equal(sized.value.total, f.funds);
        const after = applyFill(l, f);
        assert.ok(after.ok && after.value.qty === 0n);
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("sellAll() is makeFill() of sizeSell()'s volume, and refuses as sizeSell() does (property)", () => {
  fc.assert(
    fc.property(
      fc.bigInt({ min: 1n, max: 10n ** 12n }),
      fc.bigInt({ min: 10n ** 6n, max: 10n ** 16n }),
      fc.bigInt({ min: 1n, max: 10n ** 16n }),
      fc.constantFrom(0, 2.5, 5, 25),
      (volume, buyPrice, price, feeBps) => {
        const cash = buyPrice * volume / SCALE * 2n + u("1");
        const l = applied(
          openLedger(cash),
          makeFill("buy", { id: "b", price: buyPrice, volume, feeBps: 5, tsMs: T }),
        );
        for (const ledger of [l, openLedger(cash)]) {
          const sized = sizeSell(ledger, price);
          const sold = sellAll(ledger, { id: "s", price, feeBps, tsMs: T });
          if (!sized.ok) {
            assert.deepEqual(sold, sized);
            continue;
          }
          const fill = makeFill("sell", {
            id: "s",
            price,
            volume: sized.value.volume,
            feeBps,
            tsMs: T,
          });
          assert.ok(sold.ok);
          assert.deepEqual(sold.value, fill);
          assert.deepEqual(Object.keys(sold.value), Object.keys(fill));
        }
      },
    ),
    { numRuns: 500 },
  );
});
