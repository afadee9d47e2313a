/**
 * Trades page bench: the status page's `GET /trades` over real HTTP on 127.0.0.1 with 10,000
 * trades in a file-backed Deno KV (the bot's store, the operator, the session check, the render),
 * timed from the request leaving to the whole page arriving, one at a time: the first page and
 * pages deep in the list (their cursors collected by walking it once). Also the CSV of all
 * 10,000 trades, streamed.
 */

import { upperQuantile } from "./stats.ts";
import { WALL_CLOCK } from "../engine/wall_clock.ts";
import { KvSessionStore } from "../engine/adapters/kv_session_store.ts";
import { KvStore } from "../engine/adapters/kv_store.ts";
import { parseUnits } from "../engine/core/money.ts";
import { createOperator, EventStream } from "../engine/operator/mod.ts";
import type { FillBatch } from "../engine/ports.ts";
import { Secret } from "../engine/secret.ts";
import { createWebApp, loadStaticAssets } from "../routes/mod.ts";
import { PAPER_RUN, seedPaperStore } from "../tests/engine/_operator_world.ts";

/** Bench results. */
export interface TradesPageBench {
  readonly trades: number;
  readonly requests: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** The whole CSV of every trade, ms. */
  readonly csvMs: number;
}

const PASSWORD = "bench-password-0123456789";
/** `trades` BTC buys (0.1 KRW each) in orders of 100 trades, a second apart. */
async function seedTrades(store: KvStore, trades: number): Promise<void> {
  const start = Date.UTC(2026, 10, 1);
  for (let o = 0; o * 100 < trades; o++) {
    const batch: FillBatch = {
      market: "KRW-BTC",
      side: "bid",
      orderUuid: `bench-order-${o}`,
      intentId: undefined,
      paidFee: 0n,
      trades: Array.from({ length: Math.min(100, trades - o * 100) }, (_, i) => ({
        uuid: `bench-trade-${o}-${i}`,
        price: parseUnits("1000"),
        volume: parseUnits("0.0001"),
        funds: parseUnits("0.1"),
        createdAtMs: start + (o * 100 + i) * 1000,
      })),
      feeBps: 0,
      atMs: start + o * 100_000,
    };
    const r = await store.applyFills(batch);
    if (!r.ok) throw new Error(`seeding failed: ${r.error.kind}`);
  }
}

/** Requests the trades page `requests` times over real HTTP with `trades` trades stored. */
export async function benchTradesPage(trades = 10_000, requests = 400): Promise<TradesPageBench> {
  const dir = await Deno.makeTempDir({ prefix: "trades-bench-" });
  const kv = await Deno.openKv(`${dir}/bot.kv`);
  const store = new KvStore(kv);
  await seedPaperStore(store, PAPER_RUN, "4100000");
  await seedTrades(store, trades - 3);
  const operator = createOperator({ store, clock: WALL_CLOCK, notifier: { notify() {} } });
  const listening = Promise.withResolvers<number>();
  let origin = "";
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: (addr) => listening.resolve(addr.port),
  }, (req, info) => app.fetch(req, info));
  origin = `http://127.0.0.1:${await listening.promise}`;
  const app = createWebApp({
    operator,
    events: new EventStream(store, WALL_CLOCK),
    sessions: new KvSessionStore(kv),
    clock: WALL_CLOCK,
    password: new Secret(PASSWORD),
    origin,
    assets: await loadStaticAssets(new URL("../static/", import.meta.url)),
  });
  try {
    const login = await fetch(`${origin}/login`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin },
      body: new URLSearchParams({ password: PASSWORD }),
      redirect: "manual",
    });
    await login.body?.cancel();
    const cookie = login.headers.get("set-cookie")?.split(";")[0];
    if (cookie === undefined) throw new Error(`login failed: ${login.status}`);
    // Walk the list once for the cursors of every page (and warm up).
    const paths = ["/trades"];
    for (let i = 0; i < paths.length; i++) {
      const html = await (await fetch(`${origin}${paths[i]}`, { headers: { cookie } })).text();
      const next = /<a href="(\/trades\?cursor=[^"]+)" rel="next"/.exec(html)?.[1];
      if (next !== undefined) paths.push(next.replace(/&amp;/g, "&"));
    }
    const times: number[] = [];
    for (let i = 0; i < requests; i++) {
      const path = i % 2 === 0 ? "/trades" : paths[(i * 7919) % paths.length]!;
      const t0 = performance.now();
      const res = await fetch(`${origin}${path}`, { headers: { cookie } });
      await res.text();
      times.push(performance.now() - t0);
      if (res.status !== 200) throw new Error(`${path}: ${res.status}`);
    }
    const t0 = performance.now();
    const csv = await (await fetch(`${origin}/trades.csv`, { headers: { cookie } })).text();
    const csvMs = performance.now() - t0;
    const rows = csv.split("\r\n").length - 2;
    if (rows !== trades) throw new Error(`the CSV has ${rows} trades, expected ${trades}`);
    times.sort((a, b) => a - b);
    return {
      trades,
      requests,
      p50Ms: upperQuantile(times, 0.5),
      p99Ms: upperQuantile(times, 0.99),
      csvMs,
    };
  } finally {
    await server.shutdown();
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  const r = await benchTradesPage();
  Deno.stdout.writeSync(new TextEncoder().encode(JSON.stringify(r) + "\n"));
}
