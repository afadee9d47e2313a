/**
 * Tests of the account rules: the cap over all markets, reservations, the share and position
 * limits, the sizing modes (exact, whole won, never under the minimum), flags and the account
 * loss guard. Properties drive random accounts through reservations and fills.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import {
  accountEquity,
  type AccountView,
  allotmentKrw,
  checkAccountLoss,
  checkReservation,
  committedKrw,
  DEFAULT_PORTFOLIO_RULES,
  describePortfolioDenial,
  entryStopPrice,
  flagDenial,
  type MarketBook,
  marketCommittedKrw,
  openMarkets,
  planEntry,
  type PortfolioRules,
  type Reservation,
  rollAccountDay,
  sameCloseOrder,
  shareLimitKrw,
  summarizePnl,
  withFee,
} from "../../../engine/core/portfolio.ts";
import { MAX_ORDER_KRW, MIN_ORDER_KRW } from "../../../engine/core/ledger.ts";
import { parseUnits, SCALE, type Units } from "../../../engine/core/money.ts";

const u = parseUnits;
const krw = (n: number): Units => BigInt(n) * SCALE;
const T = Date.UTC(2025, 0, 1);
const MARKETS = ["KRW-BTC", "KRW-ETH", "KRW-XRP", "KRW-SOL", "KRW-DOGE"];

function rules(overrides: Partial<PortfolioRules> = {}): PortfolioRules {
  return { ...DEFAULT_PORTFOLIO_RULES, capitalKrw: krw(100_000), ...overrides };
}

function book(market: string, cost: number, qty = cost > 0 ? u("0.001") : 0n): MarketBook {
  return { market, qty, cost: krw(cost), realizedPnl: 0n };
}

function res(market: string, amount: number): Reservation {
  return { market, intentId: `${market}:bid:s`, amountKrw: krw(amount), atMs: T };
}

const EMPTY: AccountView = { books: [], reservations: [] };

function plan(view: AccountView, overrides: Partial<Parameters<typeof planEntry>[1]> = {}) {
  return planEntry(view, {
    market: "KRW-BTC",
    rules: rules(),
    price: krw(100_000_000),
    feeBps: 5,
    equityKrw: 100_000,
    ...overrides,
  });
}

Deno.test("committedKrw() sums positions at cost and reservations over every market", () => {
  const view: AccountView = {
    books: [book("KRW-BTC", 30_000), book("KRW-ETH", 20_000)],
    reservations: [res("KRW-XRP", 10_000)],
  };
  assert.equal(committedKrw(view), krw(60_000));
  assert.equal(marketCommittedKrw(view, "KRW-BTC"), krw(30_000));
  assert.deepEqual([...openMarkets(view)].sort(), ["KRW-BTC", "KRW-ETH", "KRW-XRP"]);
});

Deno.test("planEntry() with sizing all spends the whole allotment, fee on top, in whole won", () => {
  const p = plan(EMPTY);
  assert.ok(p.ok);
  // 100,000 / 1.0005 = 99,950.02 → 99,950 KRW; with its fee (49.975 → 49.975) ≤ 100,000.
  assert.equal(p.value.amountKrw, krw(99_950));
  assert.equal(p.value.reserveKrw, krw(99_950) + u("49.975"));
  assert.ok(p.value.reserveKrw <= krw(100_000));
  // The second market gets what is left under the ONE cap.
  const after: AccountView = { books: [], reservations: [res("KRW-BTC", 99_999)] };
  const q = plan(after, { market: "KRW-ETH" });
  assert.ok(!q.ok);
  assert.equal(q.error.kind, "over_cap");
});

Deno.test("planEntry() fixed spends exactly the amount, limited by the cap", () => {
  const fixed = rules({ sizing: { mode: "fixed", value: 30_000 } });
  const p = plan(EMPTY, { rules: fixed });
  assert.ok(p.ok);
  assert.equal(p.value.amountKrw, krw(30_000));
  assert.equal(p.value.reserveKrw, krw(30_015));
  const view: AccountView = { books: [book("KRW-ETH", 80_000)], reservations: [] };
  const q = plan(view, { rules: fixed });
  assert.ok(q.ok);
  // 20,000 left: the most that fits with its fee.
  assert.equal(q.value.amountKrw, krw(19_990));
  assert.ok(q.value.reserveKrw <= krw(20_000));
});

Deno.test("planEntry() equity_pct takes the % of the equity, floored to whole won", () => {
  const p = plan(EMPTY, {
    rules: rules({ sizing: { mode: "equity_pct", value: 25 } }),
    equityKrw: 98_765.43,
  });
  assert.ok(p.ok);
  assert.equal(p.value.amountKrw, krw(24_691));
});

Deno.test("planEntry() risk sizes from the stop distance: the stop loses value% of the equity", () => {
  const price = krw(100_000_000);
  const stop = entryStopPrice(price, { stopLossPct: 5 });
  assert.equal(stop, krw(95_000_000));
  const p = plan(EMPTY, {
    rules: rules({ sizing: { mode: "risk", value: 1 } }),
    stopPrice: stop,
    equityKrw: 100_000,
  });
  assert.ok(p.ok);
  // 1% of 100,000 = 1,000 KRW at risk over a 5% stop → 20,000 KRW.
  assert.equal(p.value.amountKrw, krw(20_000));
  const none = plan(EMPTY, { rules: rules({ sizing: { mode: "risk", value: 1 } }) });
  assert.ok(!none.ok);
  assert.equal(none.error.kind, "no_stop");
  assert.match(describePortfolioDenial(none.error), /needs a stop/);
});

Deno.test("entryStopPrice() uses the tighter of the stop loss and the ATR stop", () => {
  const price = krw(1_000);
  assert.equal(entryStopPrice(price, { stopLossPct: 10, atr: 20, atrMultiple: 2 }), krw(960));
  assert.equal(entryStopPrice(price, { stopLossPct: 2, atr: 20, atrMultiple: 2 }), krw(980));
  assert.equal(entryStopPrice(price, { stopLossPct: 0 }), 0n);
  assert.equal(entryStopPrice(price, { stopLossPct: 0, atr: 600, atrMultiple: 2 }), 0n);
});

Deno.test("planEntry() refuses under the 5,000 KRW minimum and names the cap when it binds", () => {
  const small = plan(EMPTY, { rules: rules({ sizing: { mode: "fixed", value: 4_999 } }) });
  assert.ok(!small.ok);
  assert.equal(small.error.kind, "under_min_total");
  const full: AccountView = { books: [book("KRW-ETH", 96_000)], reservations: [] };
  const capped = plan(full);
  assert.ok(!capped.ok);
  assert.equal(capped.error.kind, "over_cap");
  assert.match(describePortfolioDenial(capped.error), /96000 of its 100000 KRW cap/);
});

Deno.test("planEntry() respects the market share and the open position limit", () => {
  const shared = rules({ maxMarketSharePct: 30 });
  assert.equal(shareLimitKrw(shared), krw(30_000));
  const p = plan(EMPTY, { rules: shared });
  assert.ok(p.ok);
  assert.ok(p.value.reserveKrw <= krw(30_000));
  const limited = rules({ maxOpenPositions: 2 });
  const two: AccountView = {
    books: [book("KRW-ETH", 10_000)],
    reservations: [res("KRW-XRP", 10_000)],
  };
  const q = plan(two, { rules: limited });
  assert.ok(!q.ok);
  assert.deepEqual(q.error, { kind: "max_open_positions", open: 2, max: 2 });
  const again = plan({ books: [book("KRW-BTC", 10_000)], reservations: [] });
  assert.ok(!again.ok);
  assert.equal(again.error.kind, "already_open");
});

Deno.test("planEntry() never enters a flagged market; cautions only when configured", () => {
  const warned = plan(EMPTY, { flags: { warning: true, cautions: [] } });
  assert.ok(!warned.ok);
  assert.equal(warned.error.kind, "market_warning");
  const caution = { warning: false, cautions: ["PRICE_FLUCTUATIONS"] };
  assert.ok(plan(EMPTY, { flags: caution }).ok);
  const blocked = plan(EMPTY, { flags: caution, rules: rules({ blockCaution: true }) });
  assert.ok(!blocked.ok);
  assert.match(describePortfolioDenial(blocked.error), /PRICE_FLUCTUATIONS/);
  assert.equal(flagDenial("KRW-BTC", { flags: undefined, blockCaution: true }), null);
});

Deno.test("planEntry() stops entries once the account's day guard is blocked", () => {
  const guard = rollAccountDay(null, T + 3_600_000, 100_000);
  assert.equal(checkAccountLoss(guard, { accountDailyLossPct: 2, equity: 98_001 }), guard);
  const blocked = checkAccountLoss(guard, { accountDailyLossPct: 2, equity: 98_000 });
  assert.equal(blocked.blocked, true);
  assert.equal(checkAccountLoss(guard, { accountDailyLossPct: 0, equity: 1 }), guard);
  const p = plan(EMPTY, { guard: blocked, rules: rules({ accountDailyLossPct: 2 }) });
  assert.ok(!p.ok);
  assert.equal(p.error.kind, "account_daily_loss");
  // Restarted with the limit off (0): the day's stored block no longer refuses entries.
  assert.ok(plan(EMPTY, { guard: blocked, rules: rules({ accountDailyLossPct: 0 }) }).ok);
  // A new Upbit day unblocks.
  assert.equal(rollAccountDay(blocked, T + 86_400_000, 98_000).blocked, false);
});

Deno.test("planEntry() stays within the market ledger's own cash", () => {
  const p = plan(EMPTY, { ledgerCashKrw: krw(10_000) });
  assert.ok(p.ok);
  assert.ok(p.value.reserveKrw <= krw(10_000));
});

Deno.test("planEntry() all: the most whole won whose total with the fee fits the ledger's cash (property)", () => {
  fc.assert(
    fc.property(
      fc.bigInt({ min: 6_000n * SCALE, max: 900_000_000n * SCALE }),
      fc.integer({ min: 0, max: 5_000 }).map((n) => n / 100),
      (cash, feeBps) => {
        const planned = plan(EMPTY, {
          rules: rules({ capitalKrw: MAX_ORDER_KRW * 2n }),
          feeBps,
          ledgerCashKrw: cash,
        });
        assert.ok(planned.ok);
        const { amountKrw, reserveKrw } = planned.value;
        assert.equal(amountKrw % SCALE, 0n);
        assert.equal(reserveKrw, withFee(amountKrw, feeBps));
        assert.ok(reserveKrw <= cash, "fits");
        assert.ok(withFee(amountKrw + SCALE, feeBps) > cash, "one more won would not");
      },
    ),
    { numRuns: 1_000 },
  );
});

Deno.test("accountEquity() marks positions and keeps reserved KRW as the account's", () => {
  const view: AccountView = {
    books: [{ market: "KRW-BTC", qty: u("0.001"), cost: krw(50_000), realizedPnl: krw(-1_000) }],
    reservations: [res("KRW-ETH", 10_000)],
  };
  const eq = accountEquity(view, {
    capitalKrw: krw(100_000),
    priceOf: (m) => (m === "KRW-BTC" ? 60_000_000 : undefined),
  });
  // 100,000 − 1,000 − 50,000 + 60,000 = 109,000
  assert.equal(eq, 109_000);
  assert.equal(
    accountEquity(view, { capitalKrw: krw(100_000), priceOf: () => undefined }),
    99_000,
  );
});

Deno.test("summarizePnl(): the account's P&L is the sum of the markets'", () => {
  const view: AccountView = {
    books: [
      { market: "KRW-BTC", qty: u("0.001"), cost: krw(50_000), realizedPnl: krw(-1_000) },
      { market: "KRW-ETH", qty: 0n, cost: 0n, realizedPnl: u("2500.5") },
    ],
    reservations: [],
  };
  const s = summarizePnl(view, (m) => (m === "KRW-BTC" ? krw(60_000_000) : undefined));
  assert.equal(s.markets[0]!.pnl, krw(9_000));
  assert.equal(s.markets[1]!.pnl, u("2500.5"));
  assert.equal(s.pnl, krw(9_000) + u("2500.5"));
  assert.equal(s.realizedPnl + s.unrealizedPnl, s.pnl);
});

// ---- properties ----

const rulesArb = fc.record({
  capitalKrw: fc.integer({ min: 5_000, max: 10_000_000 }).map(krw),
  maxOpenPositions: fc.integer({ min: 0, max: 5 }),
  maxMarketSharePct: fc.constantFrom(10, 25, 33.3, 50, 100),
  accountDailyLossPct: fc.constant(0),
  sizing: fc.oneof(
    fc.record({ mode: fc.constant("all" as const), value: fc.integer({ min: 1, max: 100 }) }),
    fc.record({ mode: fc.constant("fixed" as const), value: fc.integer({ min: 1, max: 5e6 }) }),
    fc.record({
      mode: fc.constant("equity_pct" as const),
      value: fc.double({ min: 0.1, max: 100, noNaN: true }),
    }),
    fc.record({
      mode: fc.constant("risk" as const),
      value: fc.double({ min: 0.1, max: 10, noNaN: true }),
    }),
  ),
  blockCaution: fc.boolean(),
});

/** One step of a random account: try to enter, fill a reservation, or sell a position. */
const stepArb = fc.record({
  kind: fc.constantFrom("enter", "enter", "fill", "fill", "sell", "cancel"),
  market: fc.constantFrom(...MARKETS),
  price: fc.integer({ min: 1, max: 200_000_000 }),
  stopPct: fc.integer({ min: 1, max: 50 }),
  fillPct: fc.integer({ min: 0, max: 100 }),
  pnlPct: fc.integer({ min: -50, max: 50 }),
});

Deno.test("property: the account never commits more than its cap, share or position limit", () => {
  let entered = 0;
  fc.assert(
    fc.property(rulesArb, fc.array(stepArb, { maxLength: 60 }), (r, steps) => {
      let books = new Map<string, MarketBook>();
      let reservations: Reservation[] = [];
      const view = (): AccountView => ({ books: [...books.values()], reservations });
      for (const s of steps) {
        if (s.kind === "enter") {
          const price = krw(s.price);
          const equity = accountEquity(view(), {
            capitalKrw: r.capitalKrw,
            priceOf: () => s.price,
          });
          const p = planEntry(view(), {
            market: s.market,
            rules: r,
            price,
            feeBps: 5,
            equityKrw: equity,
            stopPrice: entryStopPrice(price, { stopLossPct: s.stopPct }),
          });
          if (!p.ok) continue;
          const { amountKrw, reserveKrw } = p.value;
          // Sizing: whole won, ≥ the minimum, fee on top, and the mode's amount as a bound.
          assert.equal(amountKrw % SCALE, 0n);
          assert.ok(amountKrw >= MIN_ORDER_KRW);
          assert.equal(reserveKrw, withFee(amountKrw, 5));
          const room = allotmentKrw(view(), s.market, r);
          assert.ok(reserveKrw <= room);
          // Exact when it fits: the mode's amount itself, else the most that fits (whole won).
          const wanted = r.sizing.mode === "fixed"
            ? krw(r.sizing.value)
            : r.sizing.mode === "equity_pct"
            ? krw(Math.floor((equity * r.sizing.value) / 100))
            : undefined;
          if (wanted !== undefined) {
            if (withFee(wanted, 5) <= room) assert.equal(amountKrw, wanted);
            else assert.ok(amountKrw < wanted && withFee(amountKrw + SCALE, 5) > room);
          }
          if (r.sizing.mode === "all" && r.sizing.value === 100) {
            assert.ok(withFee(amountKrw + SCALE, 5) > room, "all leaves a whole won unspent");
          }
          // The store's check agrees with the plan.
          const checked = checkReservation(view(), {
            market: s.market,
            amountKrw: reserveKrw,
            rules: r,
          });
          assert.ok(
            checked.ok,
            JSON.stringify(checked, (_k, v) => typeof v === "bigint" ? String(v) : v),
          );
          reservations = [...reservations, {
            market: s.market,
            intentId: s.market,
            amountKrw: reserveKrw,
            atMs: T,
          }];
          entered++;
        } else if (s.kind === "fill" || s.kind === "cancel") {
          const r0 = reservations.find((x) => x.market === s.market);
          if (r0 === undefined) continue;
          // A fill books at most the reservation as cost; the reservation goes when terminal.
          const spent = s.kind === "cancel" ? 0n : (r0.amountKrw * BigInt(s.fillPct)) / 100n;
          if (spent > 0n) {
            const b = books.get(s.market) ??
              { market: s.market, qty: 0n, cost: 0n, realizedPnl: 0n };
            books = new Map(books).set(s.market, { ...b, qty: b.qty + 1n, cost: b.cost + spent });
          }
          reservations = reservations.filter((x) => x !== r0);
        } else {
          const b = books.get(s.market);
          if (b === undefined || b.qty === 0n) continue;
          const pnl = (b.cost * BigInt(s.pnlPct)) / 100n;
          books = new Map(books).set(s.market, {
            market: s.market,
            qty: 0n,
            cost: 0n,
            realizedPnl: b.realizedPnl + pnl,
          });
        }
        const v = view();
        assert.ok(committedKrw(v) <= r.capitalKrw, "over the cap");
        for (const m of MARKETS) assert.ok(marketCommittedKrw(v, m) <= shareLimitKrw(r));
        if (r.maxOpenPositions > 0) assert.ok(openMarkets(v).size <= r.maxOpenPositions);
        // One reservation per market: a won is never reserved twice.
        assert.equal(new Set(reservations.map((x) => x.market)).size, reservations.length);
      }
    }),
    { numRuns: 300 },
  );
  // The property must have exercised entries, not only refusals.
  assert.ok(entered > 150, `only ${entered} entries`);
});

Deno.test("property: checkReservation() refuses whatever would break the cap", () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.constantFrom(...MARKETS), fc.integer({ min: 0, max: 60_000 })), {
        maxLength: 5,
      }),
      fc.constantFrom(...MARKETS),
      fc.integer({ min: 1, max: 120_000 }),
      (costs, market, amount) => {
        const books = new Map<string, MarketBook>();
        for (const [m, c] of costs) books.set(m, book(m, c));
        const view: AccountView = { books: [...books.values()], reservations: [] };
        const r = rules();
        const checked = checkReservation(view, { market, amountKrw: krw(amount), rules: r });
        assert.equal(checked.ok, committedKrw(view) + krw(amount) <= r.capitalKrw);
      },
    ),
  );
});

Deno.test("sameCloseOrder() puts same-close entries in the account's market order, unknown markets last, stable", () => {
  const markets = ["KRW-BTC", "KRW-ETH", "KRW-XRP"];
  const items = [
    { market: "KRW-DOGE", n: 0 },
    { market: "KRW-XRP", n: 1 },
    { market: "KRW-BTC", n: 2 },
    { market: "KRW-SOL", n: 3 },
    { market: "KRW-XRP", n: 4 },
  ];
  assert.deepEqual(sameCloseOrder(items, markets).map((i) => i.n), [2, 1, 4, 0, 3]);
  fc.assert(
    fc.property(fc.shuffledSubarray(markets), (subset) => {
      const ordered = sameCloseOrder(subset.map((market) => ({ market })), markets);
      assert.deepEqual(
        ordered.map((i) => i.market),
        markets.filter((m) => subset.includes(m)),
      );
    }),
  );
});
