import assert from "node:assert/strict";
import fc from "fast-check";
import { KvStore } from "../../engine/adapters/kv_store.ts";
import { PaperExchange } from "../../engine/adapters/paper_exchange.ts";
import type { Units } from "../../engine/core/money.ts";
import {
  orderIdentifier,
  type OrderManagerConfig,
  type OrderManagerDeps,
  reconcile,
  submitOrder,
} from "../../engine/order_manager.ts";
import { type Exchange, INTENT_STATES } from "../../engine/ports.ts";
import {
  BTC_BOOK,
  type Fault,
  FaultyExchange,
  ManualClock,
  RecordingNotifier,
  testConfig,
  u,
} from "./_order_fixtures.ts";

interface Rig {
  readonly deps: OrderManagerDeps;
  readonly paper: PaperExchange;
  readonly store: KvStore;
  readonly clock: ManualClock;
  readonly notifier: RecordingNotifier;
  readonly config: OrderManagerConfig;
}

async function withRig(
  options: { exchange?: (paper: PaperExchange, clock: ManualClock) => Exchange; krw?: string },
  fn: (rig: Rig) => Promise<void>,
): Promise<void> {
  const kv = await Deno.openKv(":memory:");
  try {
    const clock = new ManualClock();
    const paper = new PaperExchange({
      book: (m) => (m === "KRW-BTC" ? BTC_BOOK : undefined),
      nowMs: () => clock.nowMs(),
      balances: { KRW: u(options.krw ?? "1000000") },
    });
    const store = new KvStore(kv);
    const notifier = new RecordingNotifier();
    const exchange = options.exchange?.(paper, clock) ?? paper;
    const deps = { exchange, store, clock, notifier };
    const config = testConfig();
    await store.openLedger("KRW-BTC", u(options.krw ?? "1000000"));
    const first = await reconcile(deps, config, { account: paper });
    assert.equal(first.seeded, true);
    await fn({ deps, paper, store, clock, notifier, config });
  } finally {
    kv.close();
  }
}

async function paperTotals(paper: PaperExchange): Promise<Map<string, Units>> {
  const out = new Map<string, Units>();
  for (const b of await paper.balances()) out.set(b.currency, b.balance + b.locked);
  return out;
}

Deno.test("orderIdentifier() is deterministic, 28 chars of [a-z2-7], different per attempt", async () => {
  const parts = { botId: "b", market: "KRW-BTC", side: "bid" as const, signalId: "s", attempt: 0 };
  const a = await orderIdentifier(parts);
  assert.match(a, /^ut[a-z2-7]{26}$/);
  assert.equal(a, await orderIdentifier(parts));
  assert.notEqual(a, await orderIdentifier({ ...parts, attempt: 1 }));
  assert.notEqual(a, await orderIdentifier({ ...parts, side: "ask" }));
});

Deno.test("submitOrder() market buy: fills once, ledger and balances match the exchange", async () => {
  await withRig({}, async ({ deps, paper, store, config }) => {
    const res = await submitOrder(deps, config, {
      kind: "market_buy",
      market: "KRW-BTC",
      signalId: "rsi@1",
      amountKrw: u("100000"),
    });
    assert.ok(res.ok);
    assert.equal(res.value.intent.state, "FILLED");
    assert.ok(res.value.fills.length >= 1);
    assert.equal(res.value.intent.filledVolume, res.value.fills.reduce((s, f) => s + f.volume, 0n));
    const ledger = await store.getLedger("KRW-BTC");
    assert.equal(ledger?.qty, res.value.intent.filledVolume);
    assert.deepEqual(await store.getBalances(), await paperTotals(paper));
    // The same decision again: no second order.
    const again = await submitOrder(deps, config, {
      kind: "market_buy",
      market: "KRW-BTC",
      signalId: "rsi@1",
      amountKrw: u("100000"),
    });
    assert.ok(again.ok);
    assert.equal(again.value.intent.uuid, res.value.intent.uuid);
    assert.equal((await paper.balances()).find((b) => b.currency === "BTC")?.balance, ledger?.qty);
    const report = await reconcile(deps, config, { account: paper });
    assert.deepEqual(report.mismatches, []);
    assert.equal(report.safeMode, false);
  });
});

Deno.test("submitOrder() checks the 5,000 KRW minimum before sending", async () => {
  await withRig({}, async ({ deps, store, config }) => {
    const res = await submitOrder(deps, config, {
      kind: "market_buy",
      market: "KRW-BTC",
      signalId: "s",
      amountKrw: u("4999.99999999"),
    });
    assert.deepEqual(!res.ok && res.error, { kind: "under_min_total", total: u("4999.99999999") });
    const sell = await submitOrder(deps, config, {
      kind: "market_sell",
      market: "KRW-BTC",
      signalId: "s",
      volume: u("0.00003"),
      referencePrice: u("150000000"),
    });
    assert.equal(!sell.ok && sell.error.kind, "under_min_total");
    assert.deepEqual(await store.listIntents(["NEW", "UNKNOWN", "OPEN", "REJECTED"]), []);
  });
});

Deno.test("submitOrder() records a definitive rejection with Upbit's error name", async () => {
  await withRig({ krw: "10000" }, async ({ deps, config, notifier }) => {
    const res = await submitOrder(deps, config, {
      kind: "market_buy",
      market: "KRW-BTC",
      signalId: "s",
      amountKrw: u("20000"),
    });
    assert.ok(res.ok);
    assert.equal(res.value.intent.state, "REJECTED");
    assert.equal(res.value.intent.error, "insufficient_funds_bid");
    assert.ok(notifier.events.some((e) => e.type === "OrderRejected"));
  });
});

Deno.test("submitOrder() limit order: waits, cancels on timeout, reports what filled", async () => {
  await withRig({}, async ({ deps, paper, store, config }) => {
    const res = await submitOrder(deps, config, {
      kind: "limit",
      market: "KRW-BTC",
      signalId: "s",
      side: "buy",
      price: u("150001999"), // rounds down to the 1,000 KRW tick: 150,001,000
      volume: u("0.005"),
    });
    assert.ok(res.ok);
    assert.equal(res.value.intent.price, u("150001000"));
    // Only the 0.002 at 150,001,000 crossed; the rest was cancelled after the timeout.
    assert.equal(res.value.intent.state, "FILLED");
    assert.equal(res.value.intent.filledVolume, u("0.002"));
    assert.deepEqual(await paper.openOrders(), []);
    assert.deepEqual(await store.getBalances(), await paperTotals(paper));
  });
});

Deno.test("submitOrder(): an unresolvable send stays UNKNOWN and holds the market", async () => {
  const dead = (paper: PaperExchange, clock: ManualClock): Exchange =>
    new FaultyExchange(paper, { clock, next: () => "fail_before" });
  await withRig({ exchange: dead }, async ({ deps, config, notifier }) => {
    const res = await submitOrder(deps, config, {
      kind: "market_buy",
      market: "KRW-BTC",
      signalId: "s",
      amountKrw: u("10000"),
    });
    // Lookups fail too: the manager cannot tell, so it never resends blindly.
    assert.ok(res.ok);
    assert.equal(res.value.intent.state, "UNKNOWN");
    assert.equal(res.value.intent.sends, 1);
    assert.ok(
      notifier.events.some((e) => e.type === "ErrorRaised" && e.code === "order_unresolved"),
    );
    // One order in flight per market: a new decision waits.
    const other = await submitOrder(deps, config, {
      kind: "market_buy",
      market: "KRW-BTC",
      signalId: "t",
      amountKrw: u("10000"),
    });
    assert.deepEqual(!other.ok && other.error, { kind: "market_busy", intentId: "KRW-BTC:bid:s" });
  });
});

Deno.test("submitOrder(): past the send cap the engine enters safe mode", async () => {
  // Every POST is lost before reaching the exchange; lookups work and say 404.
  let n = 0;
  const lossy = (paper: PaperExchange, clock: ManualClock): Exchange =>
    new FaultyExchange(paper, { clock, next: () => (n++ % 2 === 0 ? "fail_before" : "ok") });
  await withRig({ exchange: lossy }, async ({ deps, store, config, notifier }) => {
    const res = await submitOrder(deps, { ...config, maxSends: 3 }, {
      kind: "market_buy",
      market: "KRW-BTC",
      signalId: "s",
      amountKrw: u("10000"),
    });
    assert.ok(res.ok);
    assert.equal(res.value.intent.state, "UNKNOWN");
    assert.equal(res.value.intent.sends, 3);
    assert.equal((await store.getControl()).safeMode, true);
    assert.ok(
      notifier.events.some((e) => e.type === "ErrorRaised" && e.code === "attempts_exhausted"),
    );
    const buy = await submitOrder(deps, config, {
      kind: "market_buy",
      market: "KRW-ETH",
      signalId: "x",
      amountKrw: u("10000"),
    });
    assert.deepEqual(!buy.ok && buy.error, { kind: "safe_mode" });
  });
});

Deno.test("property: no double order under random faults; ledger equals fills; balances match", async () => {
  const faultArb = fc.constantFrom<Fault>("ok", "ok", "ok", "fail_before", "accept_then_lose");
  await fc.assert(
    fc.asyncProperty(
      fc.array(faultArb, { minLength: 1, maxLength: 60 }),
      fc.integer({ min: 0, max: 4_000 }),
      fc.integer({ min: 1, max: 4 }),
      async (faults, lagMs, signals) => {
        let i = 0;
        const next = () => faults[i++ % faults.length] ?? "ok";
        let faulty: FaultyExchange | undefined;
        await withRig({
          exchange: (paper, clock) => (faulty = new FaultyExchange(paper, { clock, next, lagMs })),
        }, async ({ deps, paper, store, config }) => {
          for (let s = 0; s < signals; s++) {
            const buy = s % 2 === 0;
            const qty = (await store.getLedger("KRW-BTC"))?.qty ?? 0n;
            if (!buy && qty === 0n) continue;
            await submitOrder(
              deps,
              config,
              buy
                ? {
                  kind: "market_buy",
                  market: "KRW-BTC",
                  signalId: `s${s}`,
                  amountKrw: u("50000"),
                }
                : {
                  kind: "market_sell",
                  market: "KRW-BTC",
                  signalId: `s${s}`,
                  volume: qty,
                  referencePrice: u("150000000"),
                },
            );
          }
          // Every intent: at most one exchange order over all its identifiers.
          const intents = await store.listIntents(INTENT_STATES);
          for (const intent of intents) {
            let orders = 0;
            for (let a = 0; a <= intent.attempt; a++) {
              const identifier = await orderIdentifier({
                botId: config.botId,
                market: intent.market,
                side: intent.side,
                signalId: intent.signalId,
                attempt: a,
              });
              if ((await paper.getOrder({ identifier })) !== undefined) orders++;
            }
            assert.ok(orders <= 1, `${intent.id}: ${orders} orders`);
          }
          // Resolve whatever is left (restart), then the ledger must match the exchange.
          const clean = { ...deps, exchange: paper };
          deps.clock.sleep(60_000);
          await reconcile(clean, config, { account: paper });
          const fills = await store.listFills();
          const ledger = await store.getLedger("KRW-BTC");
          const bought = fills.filter((f) => f.side === "bid").reduce((s, f) => s + f.volume, 0n);
          const sold = fills.filter((f) => f.side === "ask").reduce((s, f) => s + f.volume, 0n);
          assert.equal(ledger?.qty, bought - sold);
          assert.deepEqual(await store.getBalances(), await paperTotals(paper));
          for (const b of await paper.balances()) assert.ok(b.balance >= 0n && b.locked >= 0n);
          assert.ok(faulty !== undefined);
        });
      },
    ),
    { numRuns: 80 },
  );
});
