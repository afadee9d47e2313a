/**
 * A status-page test world: the operator over a paper store (two markets, one position with its
 * levels, three fills, a day's P&L), the web app over a KV session store, and helpers that sign
 * in and post the way a browser does (`Origin`, the session cookie, the CSRF token).
 * `restart()` closes the KV file and builds a new app over it: a restart of the bot's process.
 */

import { KvSessionStore } from "../../engine/adapters/kv_session_store.ts";
import { KvStore } from "../../engine/adapters/kv_store.ts";
import {
  createOperator,
  EventStream,
  type GuardLimits,
  type Operator,
  Secret,
} from "../../engine/mod.ts";
import type { RunRecord } from "../../engine/ports.ts";
import { createWebApp, loadStaticAssets } from "../../routes/mod.ts";
import { startWebServer, type WebServer } from "../../routes/server.ts";
import { PAPER_RUN, seedPaperStore } from "../engine/_operator_world.ts";
import { StepClock, T0_MS } from "../engine/_trader_fixtures.ts";

/** The test password (20 characters). */
export const PASSWORD = "correct-horse-battery";
/** Where the page is served in the tests. */
export const ORIGIN = "http://127.0.0.1:8080";
/** The client address the tests post from (unless told otherwise). */
export const CLIENT = "203.0.113.7";

const RUN: RunRecord = { ...PAPER_RUN, capitalKrw: "1000000" };

/** A web test world. */
export interface WebWorld {
  readonly clock: StepClock;
  readonly store: KvStore;
  readonly operator: Operator;
  /** The engine's event stream (the operator's notifier). */
  readonly events: EventStream;
  /** The app's `request`, with the test origin as the base URL. */
  request(path: string, init?: RequestInit & { client?: string }): Promise<Response>;
  /** Signs in; the session cookie (`name=value`). */
  login(): Promise<string>;
  /** The CSRF token of a signed-in session (read from its main page, as the browser does). */
  csrfOf(cookie: string): Promise<string>;
  /** Posts a form as the page does (same origin, the cookie). */
  postForm(path: string, fields: Record<string, string>, cookie?: string): Promise<Response>;
  /** Posts JSON as the page's script does (same origin, the cookie, the CSRF header). */
  postJson(path: string, body: unknown, cookie: string, token: string): Promise<Response>;
  /** The page's origin (with `serve`, the real server's). */
  readonly origin: string;
  /** Closes the KV and starts a new app over the same file (a process restart). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/** Runs `fn` in a fresh world (built with `options`), closing it afterwards. */
export async function withWorld(
  fn: (w: WebWorld) => Promise<void>,
  options: Parameters<typeof webWorld>[0] = {},
): Promise<void> {
  const w = await webWorld(options);
  try {
    await fn(w);
  } finally {
    await w.close();
  }
}

/**
 * A world over a KV file in a temp folder; `origin` changes the page's origin; `serve` also
 * serves the app on `127.0.0.1:0` (the origin is then the server's).
 */
export async function webWorld(
  options: {
    readonly origin?: string;
    readonly serve?: boolean;
    readonly metricsToken?: string;
    /** The folder of backtest reports the page lists (default: `reports/`). */
    readonly reportsDir?: string;
  } = {},
): Promise<WebWorld> {
  const dir = await Deno.makeTempDir({ prefix: "web_" });
  const path = `${dir}/web.kv`;
  const clock = new StepClock();
  let server: Deno.HttpServer | undefined;
  let origin = options.origin ?? ORIGIN;
  if (options.serve === true) {
    const listening = Promise.withResolvers<number>();
    server = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      onListen: (addr) => listening.resolve(addr.port),
    }, (req, info) => running.app.fetch(req, info));
    origin = `http://127.0.0.1:${await listening.promise}`;
  }
  const assets = await loadStaticAssets(new URL("../../static/", import.meta.url));
  let kv = await Deno.openKv(path);
  const seed = new KvStore(kv);
  await seedPaperStore(seed, RUN, "3900000");
  clock.set(T0_MS + 600_000);
  function boot(kv: Deno.Kv) {
    const store = new KvStore(kv);
    const events = new EventStream(store, clock);
    const operator = createOperator({ store, clock, notifier: events });
    let client = CLIENT;
    // Aborted by restart(): the old app's event streams end, as at a real shutdown.
    const closing = new AbortController();
    const app = createWebApp({
      operator,
      events,
      sessions: new KvSessionStore(kv),
      clock,
      password: new Secret(PASSWORD),
      origin,
      assets,
      clientAddress: () => client,
      closing: closing.signal,
      ...(options.reportsDir === undefined ? {} : { reportsDir: options.reportsDir }),
      ...(options.metricsToken === undefined
        ? {}
        : { metricsToken: new Secret(options.metricsToken) }),
    });
    return {
      app,
      closing,
      events,
      store,
      operator,
      async request(p: string, init: RequestInit & { client?: string } = {}) {
        const { client: from, ...rest } = init;
        client = from ?? CLIENT;
        return await app.request(new URL(p, origin).href, rest);
      },
    };
  }
  let running = boot(kv);
  const world: WebWorld = {
    clock,
    origin,
    get store() {
      return running.store;
    },
    get operator() {
      return running.operator;
    },
    get events() {
      return running.events;
    },
    request: (p, init) => running.request(p, init),
    async login() {
      const res = await world.postForm("/login", { password: PASSWORD });
      if (res.status !== 303) throw new Error(`login failed: ${res.status}`);
      const cookie = res.headers.get("set-cookie")?.split(";")[0];
      if (cookie === undefined) throw new Error("login set no cookie");
      return cookie;
    },
    async csrfOf(cookie) {
      const html = await (await world.request("/", { headers: { cookie } })).text();
      const token = /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
      if (token === undefined) throw new Error("no CSRF token on the page");
      return token;
    },
    async postForm(p, fields, cookie) {
      return await world.request(p, {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          origin,
          ...(cookie === undefined ? {} : { cookie }),
        },
        body: new URLSearchParams(fields).toString(),
        redirect: "manual",
      });
    },
    async postJson(p, body, cookie, token) {
      return await world.request(p, {
        method: "POST",
        headers: { cookie, origin, "content-type": "application/json", "x-csrf-token": token },
        body: JSON.stringify(body),
      });
    },
    async restart() {
      running.closing.abort();
      kv.close();
      kv = await Deno.openKv(path);
      running = boot(kv);
    },
    async close() {
      await server?.shutdown();
      kv.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
  return world;
}

/**
 * The bot's own web server (`startWebServer` on `127.0.0.1:0`) serving the status page over an
 * empty in-memory store with `password`; the caller shuts the server down, then closes `kv`.
 */
export async function serveEmptyApp(
  options: { readonly password: string; readonly limits?: Partial<GuardLimits> },
): Promise<{ readonly server: WebServer; readonly kv: Deno.Kv }> {
  const kv = await Deno.openKv(":memory:");
  const clock = new StepClock();
  const store = new KvStore(kv);
  const events = new EventStream(store, clock);
  const assets = await loadStaticAssets(new URL("../../static/", import.meta.url));
  const server = await startWebServer({
    hostname: "127.0.0.1",
    port: 0,
    origin: undefined,
    limits: options.limits,
    build: (origin, closing) =>
      createWebApp({
        operator: createOperator({ store, clock, notifier: events }),
        events,
        sessions: new KvSessionStore(kv),
        clock,
        password: new Secret(options.password),
        origin,
        assets,
        closing,
      }),
  });
  return { server, kv };
}
