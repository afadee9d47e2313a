/**
 * Tests of the store's account part: reservations committed atomically against the one capital
 * cap (concurrent markets never reserve the same won, a fill's cost counts against the cap),
 * release by intent, per-market day P&L and the account guard surviving a reopen.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { mulUnits } from "../../../engine/core/money.ts";
import {
  committedKrw,
  DEFAULT_PORTFOLIO_RULES,
  type PortfolioRules,
} from "../../../engine/core/portfolio.ts";
import type { ExchangeTrade } from "../../../engine/ports.ts";
import { T0_MS, u } from "../_order_fixtures.ts";
import { withStore } from "./_memory_store.ts";

const MARKETS = ["KRW-BTC", "KRW-ETH", "KRW-XRP", "KRW-SOL", "KRW-DOGE"];
const RULES: PortfolioRules = { ...DEFAULT_PORTFOLIO_RULES, capitalKrw: u("100000") };

function trade(uuid: string, price: string, volume: string): ExchangeTrade {
  const p = u(price);
  const v = u(volume);
  return { uuid, price: p, volume: v, funds: mulUnits(p, v, "floor"), createdAtMs: T0_MS };
}

Deno.test("reserve() refuses a reservation over the cap and counts filled positions at cost", async () => {
  await withStore(async (store) => {
    for (const m of MARKETS) await store.openLedger(m, u("100000"));
    const a = await store.reserve(
      { market: "KRW-BTC", intentId: "KRW-BTC:bid:1", amountKrw: u("60000"), atMs: T0_MS },
      RULES,
    );
    assert.ok(a.ok);
    const b = await store.reserve(
      { market: "KRW-ETH", intentId: "KRW-ETH:bid:1", amountKrw: u("40001"), atMs: T0_MS },
      RULES,
    );
    assert.equal(!b.ok && b.error.kind, "over_cap");
    // The BTC buy fills (cost 50,025) and its reservation is released: 49,975 are free again.
    const fill = await store.applyFills({
      market: "KRW-BTC",
      side: "bid",
      orderUuid: "o1",
      intentId: "KRW-BTC:bid:1",
      paidFee: u("25"),
      trades: [trade("t1", "50000000", "0.001")],
      feeBps: 5,
      atMs: T0_MS,
    });
    assert.ok(fill.ok);
    assert.equal(await store.release("KRW-BTC", "KRW-BTC:bid:other"), false);
    assert.equal(await store.release("KRW-BTC", "KRW-BTC:bid:1"), true);
    assert.equal(await store.release("KRW-BTC", "KRW-BTC:bid:1"), false);
    const view = await store.accountView();
    assert.equal(committedKrw(view), u("50025"));
    const c = await store.reserve(
      { market: "KRW-ETH", intentId: "KRW-ETH:bid:2", amountKrw: u("49976"), atMs: T0_MS },
      RULES,
    );
    assert.equal(!c.ok && c.error.kind, "over_cap");
    const d = await store.reserve(
      { market: "KRW-ETH", intentId: "KRW-ETH:bid:2", amountKrw: u("49975"), atMs: T0_MS },
      RULES,
    );
    assert.ok(d.ok);
  });
});

Deno.test("property: concurrent reservations of five markets never exceed the cap together", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.tuple(fc.constantFrom(...MARKETS), fc.integer({ min: 5_000, max: 60_000 })), {
        minLength: 2,
        maxLength: 12,
      }),
      async (requests) => {
        await withStore(async (store) => {
          for (const m of MARKETS) await store.openLedger(m, u("100000"));
          const results = await Promise.all(requests.map(([market, amount], i) =>
            store.reserve(
              {
                market,
                intentId: `${market}:bid:${i}`,
                amountKrw: BigInt(amount) * 100_000_000n,
                atMs: T0_MS,
              },
              RULES,
            )
          ));
          const view = await store.accountView();
          assert.ok(committedKrw(view) <= RULES.capitalKrw);
          // What was granted is exactly what is stored: no won granted twice, none lost.
          const granted = results.filter((r) => r.ok).reduce(
            (s, r) => s + (r.ok ? r.value.amountKrw : 0n),
            0n,
          );
          assert.equal(granted, committedKrw(view));
          assert.equal(
            new Set(view.reservations.map((r) => r.market)).size,
            view.reservations.length,
          );
        });
      },
    ),
    { numRuns: 40 },
  );
});

Deno.test("marketDailyPnl() keeps each market's realized P&L of the day; the sum is the account's", async () => {
  await withStore(async (store) => {
    for (const m of ["KRW-BTC", "KRW-ETH"]) await store.openLedger(m, u("100000"));
    const legs = [
      ["KRW-BTC", "bid", "b1", "50000000", "0.001"],
      ["KRW-BTC", "ask", "b2", "51000000", "0.001"],
      ["KRW-ETH", "bid", "e1", "4000000", "0.01"],
      ["KRW-ETH", "ask", "e2", "3900000", "0.01"],
    ] as const;
    for (const [market, side, id, price, volume] of legs) {
      const t = trade(id, price, volume);
      const res = await store.applyFills({
        market,
        side,
        orderUuid: `o-${id}`,
        intentId: undefined,
        paidFee: (t.funds * 5n + 9_999n) / 10_000n,
        trades: [t],
        feeBps: 5,
        atMs: T0_MS,
      });
      assert.ok(res.ok);
    }
    const day = T0_MS - (T0_MS % 86_400_000);
    const btc = await store.marketDailyPnl(day, "KRW-BTC");
    const eth = await store.marketDailyPnl(day, "KRW-ETH");
    assert.ok(btc > 0n && eth < 0n);
    assert.equal(btc + eth, await store.dailyPnl(day));
    assert.equal(btc, (await store.getLedger("KRW-BTC"))!.realizedPnl);
  });
});

Deno.test("putAccountGuard() keeps a blocked day blocked and never goes back a day", async () => {
  await withStore(async (store) => {
    assert.equal(await store.getAccountGuard(), null);
    const guard = { dayStartMs: T0_MS, startEquity: 100_000, blocked: true };
    assert.deepEqual(await store.putAccountGuard(guard, T0_MS), guard);
    assert.deepEqual(await store.getAccountGuard(), guard);
    // Another market's loop, late with an unblocked guard of the same day: the day stays blocked.
    const late = { dayStartMs: T0_MS, startEquity: 99_000, blocked: false };
    assert.deepEqual(await store.putAccountGuard(late, T0_MS), guard);
    assert.deepEqual(await store.getAccountGuard(), guard);
    // An older day never replaces a newer one; a new day does.
    const older = { dayStartMs: T0_MS - 86_400_000, startEquity: 1, blocked: false };
    assert.deepEqual(await store.putAccountGuard(older, T0_MS), guard);
    const next = { dayStartMs: T0_MS + 86_400_000, startEquity: 97_000, blocked: false };
    assert.deepEqual(await store.putAccountGuard(next, T0_MS), next);
  });
});

Deno.test("property: a buy's fills move KRW from its reservation to the position, never counted twice", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 6 }),
      fc.integer({ min: 0, max: 30 }),
      async (parts, unspent) => {
        await withStore(async (store) => {
          for (const m of ["KRW-BTC", "KRW-ETH"]) await store.openLedger(m, u("100000"));
          // Trades of 0.00002 BTC at 50,000,000: 1,000 KRW each (fee 5 bps).
          const trades = parts.flatMap((n, i) =>
            Array.from({ length: n }, (_, j) => trade(`t${i}-${j}`, "50000000", "0.00002"))
          );
          const funds = trades.reduce((s, t) => s + t.funds, 0n);
          const fee = (funds * 5n + 9_999n) / 10_000n;
          const btc = funds + fee + u(String(unspent));
          const id = "KRW-BTC:bid:1";
          assert.ok(
            (await store.reserve(
              { market: "KRW-BTC", intentId: id, amountKrw: btc, atMs: T0_MS },
              RULES,
            )).ok,
          );
          // The rest of the cap is held by another market: the account is exactly at its cap.
          const eth = RULES.capitalKrw - btc;
          assert.ok(
            (await store.reserve(
              { market: "KRW-ETH", intentId: "KRW-ETH:bid:1", amountKrw: eth, atMs: T0_MS },
              RULES,
            )).ok,
          );
          const samples: bigint[] = [];
          let filling = true;
          const reader = (async () => {
            while (filling) samples.push(committedKrw(await store.accountView()));
          })();
          // The order's snapshots grow part by part (each with its paid fee so far).
          let upTo = 0;
          for (const n of parts) {
            upTo += n;
            const seen = trades.slice(0, upTo);
            const seenFunds = seen.reduce((s, t) => s + t.funds, 0n);
            const res = await store.applyFills({
              market: "KRW-BTC",
              side: "bid",
              orderUuid: "o1",
              intentId: id,
              paidFee: (seenFunds * 5n + 9_999n) / 10_000n,
              trades: seen,
              feeBps: 5,
              atMs: T0_MS,
            });
            assert.ok(res.ok);
            samples.push(committedKrw(await store.accountView()));
          }
          filling = false;
          await reader;
          for (const c of samples) assert.ok(c <= RULES.capitalKrw, `committed ${c} > cap`);
          // Filled: the position holds what the fills cost, the reservation only what is unspent.
          const view = await store.accountView();
          assert.equal(committedKrw(view), RULES.capitalKrw);
          assert.equal(
            view.reservations.find((r) => r.market === "KRW-BTC")?.amountKrw,
            u(String(unspent)),
          );
          assert.equal(await store.release("KRW-BTC", id), true);
          assert.equal(
            committedKrw(await store.accountView()),
            RULES.capitalKrw - u(String(unspent)),
          );
        });
      },
    ),
    { numRuns: 25 },
  );
});
