/**
 * The paged trades read model (`tradesPage`): pages concatenated are every trade, newest first,
 * whatever the page size, walking older by `next` or back newer by `prev`; a store written before the by-time index existed is back-filled on the
 * first read; a cursor the model did not make is refused naming the field.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { KvStore } from "../../../engine/adapters/kv_store.ts";
import { fillAtPrefix, fillAtReadyKey } from "../../../engine/kv_keys.ts";
import { tradesPage, type TradeView } from "../../../engine/operator/read_models.ts";
import { fillBatch } from "../_operator_world.ts";
import { u } from "../_order_fixtures.ts";
import { T0_MS } from "../_trader_fixtures.ts";

const MARKETS = ["KRW-BTC", "KRW-ETH"] as const;

/** Buys of 1 at `price` on each market at the given times (several per ms allowed). */
async function seed(store: KvStore, fills: readonly { m: number; at: number; price: number }[]) {
  for (const m of MARKETS) await store.openLedger(m, u("1000000000"));
  const seen = new Set<string>();
  for (const f of fills) {
    const market = MARKETS[f.m]!;
    const id = `${market}-${f.at}`;
    if (seen.has(id)) continue; // one order per market and ms (the batch's uuid)
    seen.add(id);
    const r = await store.applyFills(
      fillBatch(market, "bid", { price: String(f.price), vol: "1", at: f.at }),
    );
    assert.ok(r.ok && r.value.length === 1);
  }
}

/** Every trade, newest first, through pages of `limit`. */
async function allPages(store: KvStore, limit: number): Promise<TradeView[]> {
  return (await pagesOf(store, limit)).pages.flat();
}

/** The pages of `limit` from the newest on, and the `prev` cursor of the oldest one. */
async function pagesOf(
  store: KvStore,
  limit: number,
): Promise<{ pages: TradeView[][]; lastPrev: string | null }> {
  const pages: TradeView[][] = [];
  let cursor: string | undefined;
  for (let i = 0; i < 10_000; i++) {
    const page = await tradesPage(store, { limit, ...(cursor === undefined ? {} : { cursor }) });
    assert.ok(page.ok);
    assert.ok(page.value.trades.length <= limit);
    assert.equal(page.value.prev === null, cursor === undefined || page.value.trades.length === 0);
    pages.push([...page.value.trades]);
    if (page.value.next === null) return { pages, lastPrev: page.value.prev };
    assert.equal(page.value.trades.length, limit, "only the last page is short");
    cursor = page.value.next;
  }
  throw new Error("paging did not end");
}

/** Walks back from the oldest page by `prev` (`before`): the newer trades, newest first. */
async function backFrom(store: KvStore, limit: number, prev: string | null): Promise<TradeView[]> {
  const newerPages: TradeView[][] = [];
  let before = prev;
  for (let i = 0; before !== null && i < 10_000; i++) {
    const page = await tradesPage(store, { limit, before });
    assert.ok(page.ok);
    assert.ok(page.value.trades.length <= limit && page.value.trades.length > 0);
    assert.ok(page.value.next !== null, "a newer page always has an older one");
    newerPages.unshift([...page.value.trades]);
    before = page.value.prev;
  }
  return newerPages.flat();
}

function newestFirst(a: TradeView, b: TradeView): number {
  if (a.atMs !== b.atMs) return b.atMs - a.atMs;
  if (a.orderUuid !== b.orderUuid) return a.orderUuid < b.orderUuid ? 1 : -1;
  return a.tradeUuid < b.tradeUuid ? 1 : a.tradeUuid > b.tradeUuid ? -1 : 0;
}

Deno.test("pages concatenated are every trade, newest first, for any page size", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.record({
          m: fc.integer({ min: 0, max: 1 }),
          at: fc.integer({ min: T0_MS, max: T0_MS + 50 }),
          price: fc.integer({ min: 1, max: 9_999 }),
        }),
        { maxLength: 40 },
      ),
      fc.integer({ min: 1, max: 12 }),
      async (fills, limit) => {
        const kv = await Deno.openKv(":memory:");
        try {
          const store = new KvStore(kv);
          await seed(store, fills);
          const paged = await allPages(store, limit);
          const all = (await store.listFills()).map((f) => ({
            market: f.market,
            atMs: f.tsMs,
            orderUuid: f.orderUuid,
            tradeUuid: f.tradeUuid,
          }));
          assert.deepEqual(
            paged.map((t) => ({
              market: t.market,
              atMs: t.atMs,
              orderUuid: t.orderUuid,
              tradeUuid: t.tradeUuid,
            })),
            [...all].sort((a, b) => newestFirst(a as TradeView, b as TradeView)),
          );
          assert.deepEqual(paged, [...paged].sort(newestFirst));
          // Back from the oldest page by its `prev`: every trade before it, in the same order.
          const { pages, lastPrev } = await pagesOf(store, limit);
          const last = pages.at(-1)!;
          const back = await backFrom(store, limit, lastPrev);
          assert.deepEqual([...back, ...last], paged);
        } finally {
          kv.close();
        }
      },
    ),
    { numRuns: 40 },
  );
});

Deno.test("amounts are the stored exact decimal strings", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const store = new KvStore(kv);
    await store.openLedger("KRW-BTC", u("1000000000"));
    await store.applyFills(
      fillBatch("KRW-BTC", "bid", { price: "123456789", vol: "0.0002", at: T0_MS }),
    );
    const page = await tradesPage(store, { limit: 10 });
    assert.ok(page.ok);
    assert.deepEqual(page.value.trades.map((t) => [t.price, t.volume, t.side]), [
      ["123456789", "0.0002", "bid"],
    ]);
    assert.equal(page.value.next, null);
  } finally {
    kv.close();
  }
});

Deno.test("a store without the by-time index is back-filled on the first read", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const before = new KvStore(kv);
    await seed(
      before,
      Array.from({ length: 30 }, (_, i) => ({ m: i % 2, at: T0_MS + i, price: 5 })),
    );
    // What a store written before the index looks like: fills only.
    for await (const e of kv.list({ prefix: fillAtPrefix() })) await kv.delete(e.key);
    await kv.delete(fillAtReadyKey());
    const store = new KvStore(kv);
    const paged = await allPages(store, 7);
    assert.equal(paged.length, 30);
    assert.deepEqual(
      paged.map((t) => t.atMs),
      Array.from({ length: 30 }, (_, i) => T0_MS + 29 - i),
    );
    assert.notEqual((await kv.get(fillAtReadyKey())).versionstamp, null);
  } finally {
    kv.close();
  }
});

Deno.test("a cursor the model did not make is refused, naming the field", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const store = new KvStore(kv);
    const bad = [
      "",
      "not base64!",
      btoa("[1,2]"),
      btoa('["x","a","b"]'),
      btoa("{}"),
      "A".repeat(700),
      btoa(JSON.stringify([-1, "a", "b"])),
    ];
    for (const cursor of bad) {
      const page = await tradesPage(store, { cursor, limit: 5 });
      assert.ok(!page.ok, cursor);
      assert.equal(page.error, "cursor: not a page of the trades list");
    }
    for (const before of bad) {
      const page = await tradesPage(store, { before, limit: 5 });
      assert.ok(!page.ok && page.error === "before: not a page of the trades list", before);
    }
    const made = btoa(JSON.stringify([T0_MS, "o", "t"])).replace(/=+$/, "");
    assert.ok((await tradesPage(store, { cursor: made, limit: 5 })).ok);
  } finally {
    kv.close();
  }
});
