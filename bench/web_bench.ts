/**
 * Status page bench, over real HTTP on 127.0.0.1 (the app of `routes/mod.ts` on `Deno.serve`, a
 * file-backed Deno KV with the paper world's store, a signed-in session):
 *
 * - first-paint weight: the main page's HTML, the scripts it loads before the chart (the
 *   `<script src>` of the page: the islands' bundle), its stylesheet and icon, as a browser that
 *   accepts gzip receives them; the chart bundle, fetched after the first paint, apart;
 * - time to first byte of the main page (`GET /`, answer headers in), sequential, p50/p99;
 * - SSE fan-out: 100 clients on `/api/events` (in a worker: their own thread); per event, the
 *   time from its commit and notify to the LAST client parsing it (the next event waits for
 *   all), p50/p99.
 */

import { upperQuantile } from "./stats.ts";
import { WALL_CLOCK } from "../engine/wall_clock.ts";
import { KvSessionStore } from "../engine/adapters/kv_session_store.ts";
import { KvStore } from "../engine/adapters/kv_store.ts";
import { createOperator, EventStream, Secret } from "../engine/mod.ts";
import { createWebApp, loadStaticAssets } from "../routes/mod.ts";
import { PAPER_RUN, seedPaperStore } from "../tests/engine/_operator_world.ts";

/** Bench results. */
export interface WebBench {
  /** Gzipped KB of the scripts the page loads before the chart. */
  readonly firstPaintJsGzipKb: number;
  /** KB a browser receives for the page without the chart (HTML + CSS + JS + icon). */
  readonly pageWeightKb: number;
  /** Gzipped KB of the chart bundle (lazy). */
  readonly chartJsGzipKb: number;
  readonly ttfbP50Ms: number;
  readonly ttfbP99Ms: number;
  readonly sseClients: number;
  readonly sseEvents: number;
  readonly sseFanoutP50Ms: number;
  readonly sseFanoutP99Ms: number;
}

const PASSWORD = "bench-password-0123456789";
async function gzipSize(bytes: Uint8Array): Promise<number> {
  const stream = new Blob([bytes.slice()]).stream().pipeThrough(new CompressionStream("gzip"));
  return (await new Response(stream).arrayBuffer()).byteLength;
}

const kb = (bytes: number) => Math.round(bytes / 102.4) / 10;

/** Runs the three measures (`pages` main-page loads, `clients` × `events` SSE deliveries). */
export async function benchWeb(
  options: { pages?: number; clients?: number; events?: number } = {},
): Promise<WebBench> {
  const pages = options.pages ?? 500;
  const clients = options.clients ?? 100;
  const events = options.events ?? 50;
  const dir = await Deno.makeTempDir({ prefix: "web-bench-" });
  const kv = await Deno.openKv(`${dir}/bot.kv`);
  const store = new KvStore(kv);
  await seedPaperStore(store, { ...PAPER_RUN, capitalKrw: "1000000" }, "4100000");
  const stream = new EventStream(store, WALL_CLOCK);
  const operator = createOperator({ store, clock: WALL_CLOCK, notifier: stream });
  const closing = new AbortController();
  const listening = Promise.withResolvers<number>();
  // Set once the server knows its origin; requests only come after that.
  // deno-lint-ignore prefer-const
  let app: ReturnType<typeof createWebApp> | undefined;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: (a) => listening.resolve(a.port) },
    (req, info) => app!.fetch(req, info),
  );
  const origin = `http://127.0.0.1:${await listening.promise}`;
  app = createWebApp({
    operator,
    events: stream,
    sessions: new KvSessionStore(kv),
    clock: WALL_CLOCK,
    password: new Secret(PASSWORD),
    origin,
    assets: await loadStaticAssets(new URL("../static/", import.meta.url)),
    closing: closing.signal,
  });
  try {
    const login = await fetch(`${origin}/login`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin },
      body: new URLSearchParams({ password: PASSWORD }).toString(),
      redirect: "manual",
    });
    await login.body?.cancel();
    const cookie = login.headers.get("set-cookie")?.split(";")[0];
    if (login.status !== 303 || cookie === undefined) throw new Error(`login: ${login.status}`);
    const headers = { cookie, "accept-encoding": "gzip" };

    // First paint: what the page links before any chart code runs.
    const html = await (await fetch(`${origin}/`, { headers })).text();
    const scripts = [...html.matchAll(/<script[^>]* src="([^"]+)"/g)].map((m) => m[1]!);
    const links = [...html.matchAll(/<link rel="(?:stylesheet|icon)" href="([^"]+)"/g)]
      .map((m) => m[1]!);
    const chartUrl = /(\/static\/charts\.[0-9a-f]{8}\.js)/.exec(html)?.[1];
    if (scripts.length === 0 || chartUrl === undefined) throw new Error("page without scripts");
    if (scripts.includes(chartUrl)) throw new Error("the chart bundle is in the first paint");
    /** Bytes received (compressed when the server compressed) and gzipped size of the content. */
    const sizes = async (url: string) => {
      const res = await fetch(`${origin}${url}`, { headers });
      const body = new Uint8Array(await res.arrayBuffer());
      const encoded = res.headers.get("content-encoding") === "gzip";
      // fetch decodes gzip: the received size is the gzip of the body then.
      return { received: encoded ? await gzipSize(body) : body.length, gzip: await gzipSize(body) };
    };
    let jsGzip = 0;
    let weight = new TextEncoder().encode(html).length;
    for (const url of scripts) {
      const s = await sizes(url);
      jsGzip += s.gzip;
      weight += s.received;
    }
    for (const url of links) weight += (await sizes(url)).received;
    const chartGzip = (await sizes(chartUrl)).gzip;

    // Time to first byte of the main page.
    for (let i = 0; i < 20; i++) await (await fetch(`${origin}/`, { headers })).body?.cancel();
    const ttfb: number[] = [];
    for (let i = 0; i < pages; i++) {
      const start = performance.now();
      const res = await fetch(`${origin}/`, { headers });
      ttfb.push(performance.now() - start);
      await res.body?.cancel();
    }
    ttfb.sort((a, b) => a - b);

    // SSE fan-out: the clients run in a worker (their own thread); per event, the time from
    // just before its commit to the last client parsing it; the next event waits for that.
    const worker = new Worker(new URL("./sse_clients_worker.ts", import.meta.url), {
      type: "module",
    });
    const lastSeen = new Map<string, number>();
    const ready = Promise.withResolvers<void>();
    worker.onmessage = (m: MessageEvent<{ ready?: true; mark?: string; lastMs?: number }>) => {
      if (m.data.ready === true) ready.resolve();
      else lastSeen.set(m.data.mark!, m.data.lastMs!);
    };
    worker.postMessage({ url: `${origin}/api/events`, cookie, clients });
    await ready.promise;
    await new Promise((r) => setTimeout(r, 300)); // every stream reached its wait
    const fanout: number[] = [];
    try {
      for (let i = 0; i < events; i++) {
        const mark = `bench-${i}`;
        const event = {
          type: "ErrorRaised" as const,
          atMs: Date.now(),
          code: "bench",
          message: mark,
        };
        const start = performance.timeOrigin + performance.now();
        await store.recordEvent(event);
        stream.notify(event);
        while (!lastSeen.has(mark)) await new Promise((r) => setTimeout(r, 1));
        fanout.push(lastSeen.get(mark)! - start);
      }
    } finally {
      worker.terminate();
    }
    fanout.sort((a, b) => a - b);
    return {
      firstPaintJsGzipKb: kb(jsGzip),
      pageWeightKb: kb(weight),
      chartJsGzipKb: kb(chartGzip),
      ttfbP50Ms: upperQuantile(ttfb, 0.5),
      ttfbP99Ms: upperQuantile(ttfb, 0.99),
      sseClients: clients,
      sseEvents: events,
      sseFanoutP50Ms: upperQuantile(fanout, 0.5),
      sseFanoutP99Ms: upperQuantile(fanout, 0.99),
    };
  } finally {
    closing.abort();
    await server.shutdown();
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  const r = await benchWeb();
  Deno.stdout.writeSync(new TextEncoder().encode(JSON.stringify(r) + "\n"));
}
