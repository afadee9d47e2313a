/**
 * Checked state: the meta record, adoption, and `verifyState()` (every bad value names its key
 * and field; a store written by the engine itself always passes).
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import {
  accountHash,
  CorruptStateError,
  KvStore,
  type StoreMeta,
} from "../../../engine/adapters/kv_store.ts";
import { mulUnits } from "../../../engine/core/money.ts";
import type { ExchangeTrade } from "../../../engine/ports.ts";
import { T0_MS, u } from "../_order_fixtures.ts";
import { withStore } from "./_memory_store.ts";

const META: StoreMeta = {
  botId: "bot",
  mode: "live",
  markets: ["KRW-BTC"],
  account: "0123456789abcdef",
  createdAtMs: T0_MS,
  updatedAtMs: T0_MS,
  external: {},
};

async function refusal(store: KvStore): Promise<CorruptStateError> {
  try {
    await store.verifyState();
  } catch (error) {
    if (error instanceof CorruptStateError) return error;
    throw error;
  }
  assert.fail("verifyState() accepted a corrupt store");
}

Deno.test("accountHash() is 16 hex digits of SHA-256 and never contains the key", async () => {
  const hash = await accountHash("my-access-key");
  assert.match(hash, /^[0-9a-f]{16}$/);
  assert.equal(hash, await accountHash("my-access-key"));
  assert.notEqual(hash, await accountHash("my-access-kez"));
});

Deno.test("createMeta() records whose store it is once, with the control record", async () => {
  await withStore(async (store) => {
    assert.equal(await store.getMeta(), undefined);
    assert.equal(await store.isEmpty(), true);
    assert.equal(await store.createMeta(META), true);
    assert.equal(await store.createMeta({ ...META, botId: "other" }), false);
    assert.deepEqual(await store.getMeta(), META);
    assert.equal(await store.isEmpty(), false);
    await store.noteStart(["KRW-BTC", "KRW-ETH"], T0_MS + 1);
    const meta = await store.getMeta();
    assert.deepEqual(meta?.markets, ["KRW-BTC", "KRW-ETH"]);
    assert.equal((await store.getControl()).paused, false);
    await store.verifyState();
  });
});

Deno.test("a null control value refuses, naming key and field; it never reads as un-paused", async () => {
  await withStore(async (store, kv) => {
    await kv.set(["settings", "control"], null);
    await assert.rejects(() => store.getControl(), CorruptStateError);
    const error = await refusal(store);
    assert.equal(error.key, '["settings", "control"]');
    assert.equal(error.field, "(value)");
    assert.match(error.message, /^store key \["settings", "control"\], field \(value\): .*null/);
  });
});

Deno.test("adoptPosition() opens a position that equals its one fill", async () => {
  await withStore(async (store) => {
    await store.createMeta(META);
    const ok = await store.adoptPosition("KRW-BTC", {
      qty: u("0.00062"),
      price: u("150000000"),
      cash: u("100000"),
      atMs: T0_MS,
    });
    assert.equal(ok, true);
    const ledger = await store.getLedger("KRW-BTC");
    assert.equal(ledger?.qty, u("0.00062"));
    assert.equal(ledger?.avgPrice, u("150000000"));
    assert.equal(ledger?.cash, u("100000"));
    assert.equal(ledger?.cost, mulUnits(u("150000000"), u("0.00062"), "half_up"));
    await store.verifyState();
    assert.equal(
      await store.adoptPosition("KRW-BTC", { qty: 1n, price: 1n, cash: 0n, atMs: T0_MS }),
      false,
    );
  });
});

Deno.test("verifyState() accepts every store the engine writes (fills, sells, adoption)", async () => {
  const step = fc.record({
    side: fc.constantFrom("bid" as const, "ask" as const),
    price: fc.integer({ min: 1_000, max: 200_000 }),
    volume: fc.integer({ min: 1, max: 50_000 }),
  });
  await fc.assert(
    fc.asyncProperty(
      fc.array(step, { minLength: 1, maxLength: 10 }),
      fc.boolean(),
      async (steps, adopt) => {
        await withStore(async (store) => {
          await store.createMeta(META);
          if (adopt) {
            await store.adoptPosition("KRW-BTC", {
              qty: u("0.01"),
              price: u("100000"),
              cash: u("1000000000"),
              atMs: T0_MS,
            });
          } else {
            await store.openLedger("KRW-BTC", u("1000000000"));
          }
          for (const [i, s] of steps.entries()) {
            const price = u(String(s.price * 1000));
            const volume = u((s.volume / 1e6).toFixed(6));
            const t: ExchangeTrade = {
              uuid: `t${i}`,
              price,
              volume,
              funds: mulUnits(price, volume, "floor"),
              createdAtMs: T0_MS + i,
            };
            // A sale larger than the position is refused by the ledger and writes nothing.
            await store.applyFills({
              market: "KRW-BTC",
              side: s.side,
              orderUuid: `o${i}`,
              intentId: undefined,
              paidFee: (t.funds * 5n + 9_999n) / 10_000n,
              trades: [t],
              feeBps: 5,
              atMs: T0_MS + i,
            });
          }
          await store.verifyState();
        });
      },
    ),
    { numRuns: 60 },
  );
});
