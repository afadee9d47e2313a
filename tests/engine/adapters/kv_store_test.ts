import assert from "node:assert/strict";
import fc from "fast-check";
import { acquireInstanceLock, KvStore, splitFees } from "../../../engine/adapters/kv_store.ts";
import { applyFill, type Ledger, openLedger } from "../../../engine/core/ledger.ts";
import { mulUnits, type Units } from "../../../engine/core/money.ts";
import type { ExchangeTrade, FillBatch } from "../../../engine/ports.ts";
import { newIntent, T0_MS, u } from "../_order_fixtures.ts";
import { withStore } from "./_memory_store.ts";

function trade(uuid: string, price: string, volume: string): ExchangeTrade {
  const p = u(price);
  const v = u(volume);
  return { uuid, price: p, volume: v, funds: mulUnits(p, v, "floor"), createdAtMs: T0_MS };
}

function batch(trades: readonly ExchangeTrade[], overrides: Partial<FillBatch> = {}): FillBatch {
  return {
    market: "KRW-BTC",
    side: "bid",
    orderUuid: "order-1",
    intentId: "KRW-BTC:bid:s1",
    paidFee: trades.reduce((s, t) => s + (t.funds * 5n + 9_999n) / 10_000n, 0n),
    trades,
    feeBps: 5,
    atMs: T0_MS,
    ...overrides,
  };
}

function ledgerFields(l: Ledger | undefined): unknown {
  if (l === undefined) return undefined;
  const { fillIds: _ids, ...rest } = l;
  return rest;
}

Deno.test("createIntent() uses an identifier once and keeps one live intent per market", async () => {
  await withStore(async (store) => {
    assert.ok((await store.createIntent(newIntent())).ok);
    const again = await store.createIntent(newIntent());
    assert.equal(!again.ok && again.error.kind, "intent_exists");
    const sameIdent = await store.createIntent(
      newIntent({ id: "KRW-ETH:bid:x", market: "KRW-ETH" }),
    );
    assert.deepEqual(!sameIdent.ok && sameIdent.error, {
      kind: "identifier_used",
      identifier: "utaaaa",
    });
    const busy = await store.createIntent(
      newIntent({ id: "KRW-BTC:bid:s2", identifier: "utbbbb" }),
    );
    assert.deepEqual(!busy.ok && busy.error, {
      kind: "market_busy",
      market: "KRW-BTC",
      intentId: "KRW-BTC:bid:s1",
    });
    assert.equal((await store.getIntent({ identifier: "utaaaa" }))?.id, "KRW-BTC:bid:s1");
  });
});

Deno.test("updateIntent() moves the state index in the same commit and refuses a stale prev", async () => {
  await withStore(async (store) => {
    const a = newIntent();
    await store.createIntent(a);
    const b = { ...a, state: "UNKNOWN" as const, sends: 1, lastSentAtMs: T0_MS };
    assert.ok((await store.updateIntent(a, b)).ok);
    assert.deepEqual((await store.listIntents(["NEW"])).length, 0);
    assert.deepEqual((await store.listIntents(["UNKNOWN"])).map((i) => i.id), [a.id]);
    const stale = await store.updateIntent(a, { ...a, state: "OPEN" });
    assert.deepEqual(!stale.ok && stale.error, { kind: "stale", id: a.id });
    // A new attempt claims its identifier once.
    await store.createIntent(
      newIntent({ id: "KRW-ETH:bid:e", market: "KRW-ETH", identifier: "ute" }),
    );
    const taken = await store.updateIntent(b, { ...b, attempt: 1, identifier: "ute" });
    assert.deepEqual(!taken.ok && taken.error, { kind: "identifier_used", identifier: "ute" });
    // A terminal state frees the market.
    const done = { ...b, state: "CANCELLED" as const, uuid: "order-x" };
    assert.ok((await store.updateIntent(b, done)).ok);
    const next = await store.createIntent(newIntent({ id: "KRW-BTC:bid:s2", identifier: "utc" }));
    assert.ok(next.ok);
  });
});

Deno.test("applyFills() writes fill, ledger, balances, day P&L and event in one commit", async () => {
  await withStore(async (store) => {
    await store.openLedger("KRW-BTC", u("1000000"));
    await store.seedBalances(new Map([["KRW", u("1000000")]]), T0_MS);
    const t = trade("t1", "150000000", "0.0001");
    const res = await store.applyFills(batch([t]));
    assert.ok(res.ok);
    assert.equal(res.value.length, 1);
    const fee = res.value[0]!.fee;
    assert.equal(fee, u("7.5"));
    const ledger = await store.getLedger("KRW-BTC");
    assert.equal(ledger?.qty, u("0.0001"));
    assert.equal(ledger?.cash, u("1000000") - u("15000") - fee);
    const balances = await store.getBalances();
    assert.equal(balances.get("KRW"), u("1000000") - u("15000") - fee);
    assert.equal(balances.get("BTC"), u("0.0001"));
    assert.equal((await store.listFills("order-1")).length, 1);
    const events = await store.listEvents();
    assert.deepEqual(events.map((e) => e.type), ["OrderFilled"]);
  });
});

Deno.test("applyFills() is all or nothing: a refused fill writes nothing", async () => {
  await withStore(async (store) => {
    await store.openLedger("KRW-BTC", u("10000"));
    await store.seedBalances(new Map([["KRW", u("10000")]]), T0_MS);
    const res = await store.applyFills(
      batch([trade("t1", "150000000", "0.00001"), trade("t2", "150000000", "0.0001")]),
    );
    assert.deepEqual(!res.ok && res.error, {
      kind: "ledger_refused",
      tradeUuid: "t2",
      reason: "insufficient_cash",
    });
    assert.deepEqual(await store.listFills(), []);
    assert.equal((await store.getLedger("KRW-BTC"))?.cash, u("10000"));
    assert.equal((await store.getBalances()).get("KRW"), u("10000"));
    assert.deepEqual(await store.listEvents(), []);
  });
});

Deno.test("applyFills() applied twice is a no-op", async () => {
  await withStore(async (store) => {
    await store.openLedger("KRW-BTC", u("1000000"));
    const b = batch([trade("t1", "150000000", "0.0001"), trade("t2", "150001000", "0.0002")]);
    assert.equal(
      (await store.applyFills(b)).ok && (await store.getLedger("KRW-BTC"))?.qty,
      u("0.0003"),
    );
    const before = ledgerFields(await store.getLedger("KRW-BTC"));
    const again = await store.applyFills(b);
    assert.deepEqual(again.ok && again.value, []);
    assert.deepEqual(ledgerFields(await store.getLedger("KRW-BTC")), before);
    assert.equal((await store.listFills()).length, 2);
  });
});

Deno.test("applyFills(): the ledger equals its fills, each applied once, fees sum to paid_fee", async () => {
  const tradeArb = fc.record({
    price: fc.integer({ min: 1_000, max: 200_000 }),
    volume: fc.integer({ min: 1, max: 50_000 }),
  });
  await fc.assert(
    fc.asyncProperty(
      fc.array(tradeArb, { minLength: 1, maxLength: 8 }),
      fc.array(fc.nat({ max: 7 }), { minLength: 1, maxLength: 12 }),
      async (specs, order) => {
        await withStore(async (store) => {
          await store.openLedger("KRW-BTC", u("1000000000"));
          const trades = specs.map((s, i) =>
            trade(`t${i}`, String(s.price * 1000), (s.volume / 1e6).toFixed(6))
          );
          const paidFee = batch(trades).paidFee;
          // Snapshots: growing prefixes in a random order, repeated: all must dedupe.
          for (const n of order) {
            const snap = trades.slice(0, (n % trades.length) + 1);
            const fee = batch(snap).paidFee;
            await store.applyFills(batch(snap, { paidFee: fee }));
          }
          await store.applyFills(batch(trades, { paidFee }));
          const fills = await store.listFills("order-1");
          assert.equal(fills.length, trades.length);
          assert.equal(fills.reduce((s, f) => s + f.fee, 0n), paidFee);
          let expected = openLedger(u("1000000000"));
          const byTs = [...fills].sort((a, b) =>
            Number(a.tradeUuid.slice(1)) - Number(b.tradeUuid.slice(1))
          );
          // Application order differs from trade order; compare the order-free parts.
          for (const f of byTs) {
            const next = applyFill(expected, {
              id: f.tradeUuid,
              side: "buy",
              price: f.price,
              volume: f.volume,
              funds: f.funds,
              fee: f.fee,
              tsMs: f.tsMs,
            });
            assert.ok(next.ok);
            expected = next.value;
          }
          const stored = await store.getLedger("KRW-BTC");
          assert.equal(stored?.qty, expected.qty);
          assert.equal(stored?.cash, expected.cash);
          assert.equal(stored?.fees, expected.fees);
          assert.equal(stored?.cost, expected.cost);
        });
      },
    ),
    { numRuns: 60 },
  );
});

Deno.test("splitFees() gives each trade its rounded-up fee and the last the rest", () => {
  const t = (funds: Units): ExchangeTrade => ({
    uuid: "x",
    price: 1n,
    volume: 1n,
    funds,
    createdAtMs: 0,
  });
  assert.deepEqual(splitFees([t(10_001n), t(10_000n)], { budget: 11n, feeBps: 5 }), [6n, 5n]);
  assert.deepEqual(splitFees([t(10_001n)], { budget: 0n, feeBps: 5 }), [0n]);
  assert.deepEqual(splitFees([t(10_001n), t(1n)], { budget: 3n, feeBps: 5 }), [3n, 0n]);
});

Deno.test("control, signals, equity and events survive a restart (file KV)", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/state.kv`;
  try {
    let kv = await Deno.openKv(path);
    let store = new KvStore(kv);
    const a = newIntent();
    await store.createIntent(a);
    await store.updateIntent(a, { ...a, state: "OPEN", uuid: "order-1", sends: 1 });
    await store.openLedger("KRW-BTC", u("1000000"));
    await store.seedBalances(new Map([["KRW", u("1000000")], ["BTC", 0n]]), T0_MS);
    await store.applyFills(batch([trade("t1", "150000000", "0.0001")]));
    await store.setControl({ safeMode: true, reason: "test" }, T0_MS + 1);
    assert.equal(
      await store.recordSignal({
        market: "KRW-BTC",
        signalId: "s1",
        action: "buy",
        reason: "rsi",
        atMs: T0_MS,
      }),
      true,
    );
    await store.recordEquity({
      market: "KRW-BTC",
      tsMs: T0_MS,
      equity: u("1000000"),
      cash: u("985000"),
    });
    const before = {
      intents: await store.listIntents(["OPEN"]),
      ledger: ledgerFields(await store.getLedger("KRW-BTC")),
      balances: await store.getBalances(),
      fills: await store.listFills(),
      events: await store.listEvents(),
      control: await store.getControl(),
      pnl: await store.dailyPnl(Date.UTC(2026, 10, 24)),
    };
    kv.close();
    kv = await Deno.openKv(path);
    store = new KvStore(kv);
    assert.deepEqual(await store.listIntents(["OPEN"]), before.intents);
    assert.deepEqual(ledgerFields(await store.getLedger("KRW-BTC")), before.ledger);
    assert.deepEqual(await store.getBalances(), before.balances);
    assert.deepEqual(await store.listFills(), before.fills);
    assert.deepEqual(await store.listEvents(), before.events);
    assert.deepEqual(await store.getControl(), before.control);
    assert.equal(await store.dailyPnl(Date.UTC(2026, 10, 24)), before.pnl);
    assert.deepEqual((await store.listSignals("KRW-BTC")).map((s) => s.signalId), ["s1"]);
    assert.deepEqual((await store.listEquity({ market: "KRW-BTC" })).map((e) => e.cash), [
      u("985000"),
    ]);
    assert.equal(
      await store.recordSignal({
        market: "KRW-BTC",
        signalId: "s1",
        action: "buy",
        reason: "rsi",
        atMs: T0_MS,
      }),
      false,
    );
    // In commit order: the signal, stamped T0 but recorded last, sorts last and keeps its time
    // (a reader following the journal by key never finds an event behind its cursor).
    assert.deepEqual(before.events.map((e) => e.type), [
      "OrderFilled",
      "StateChanged",
      "SignalRaised",
    ]);
    assert.equal(before.events[2]!.atMs, T0_MS);
    kv.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const LOCK_SCRIPT = new URL("./_lock_holder.ts", import.meta.url).pathname;

Deno.test("acquireInstanceLock() refuses a second process and frees on kill", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/bot.kv`;
  try {
    // Another process takes the lock and holds it.
    const holder = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", LOCK_SCRIPT, path, "hold"],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const reader = holder.stdout.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    assert.match(first, /locked/);
    await assert.rejects(() => acquireInstanceLock(path), (e: Error) => {
      assert.equal(e.name, "ConfigError");
      assert.match(e.message, new RegExp(`another process \\(pid ${holder.pid}\\) holds`));
      return true;
    });
    holder.kill("SIGKILL");
    await holder.status;
    reader.releaseLock();
    await holder.stdout.cancel();
    // The OS dropped the dead holder's lock.
    const lock = await acquireInstanceLock(path);
    // …and now a second process is the one refused.
    const second = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", LOCK_SCRIPT, path, "try"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(second.code, 3);
    assert.match(new TextDecoder().decode(second.stdout), /refused: .*one process per KV database/);
    lock.release();
    const third = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", LOCK_SCRIPT, path, "try"],
      stdout: "piped",
    }).output();
    assert.equal(third.code, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("release() removes the lock file, and the next holder takes a fresh one", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/bot.kv`;
  const exists = () => Deno.stat(`${path}.lock`).then(() => true, () => false);
  try {
    const first = await acquireInstanceLock(path);
    assert.equal(await exists(), true);
    await assert.rejects(() => acquireInstanceLock(path), /one process per KV database/);
    first.release();
    assert.equal(await exists(), false, "a stopped bot leaves no lock file");
    const second = await acquireInstanceLock(path);
    assert.equal(await exists(), true);
    await assert.rejects(() => acquireInstanceLock(path), /one process per KV database/);
    second.release();
    assert.equal(await exists(), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the journal is in commit order: keys never go back in time, across stores over one KV", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const loop = new KvStore(kv);
    const daily = new KvStore(kv);
    const error = (atMs: number, code: string) => ({
      type: "ErrorRaised" as const,
      atMs,
      code,
      message: code,
    });
    await loop.recordEvent(error(T0_MS + 5_000, "later"));
    // Stamped earlier, committed later, by another store over the same database.
    await daily.recordEvent(error(T0_MS + 1_000, "earlier"));
    await loop.recordEvent(error(T0_MS + 2_000, "last"));
    const journal = await loop.listJournal({ limit: 10 });
    assert.deepEqual(journal.map((e) => e.event.type === "ErrorRaised" && e.event.code), [
      "later",
      "earlier",
      "last",
    ]);
    assert.deepEqual(journal.map((e) => e.event.atMs), [
      T0_MS + 5_000,
      T0_MS + 1_000,
      T0_MS + 2_000,
    ], "each event keeps its own time");
    // A reader resuming after the first sees the other two.
    const after = await daily.listJournal({ afterId: journal[0]!.id, limit: 10 });
    assert.equal(after.length, 2);
  } finally {
    kv.close();
  }
});
