/**
 * `createSandbox`: a local Upbit on 127.0.0.1 that speaks Upbit's REST and WebSocket protocol
 * over a deterministic market replay, with accounts, a matching engine, JWT auth, rate limits
 * and fault switches, for tests and the offline demo.
 *
 * Layout: one Hono app (rate limiter → REST faults → quotation + exchange routes, plus the
 * fault admin routes when `adminFaults` is on), one inner `Deno.serve` that also upgrades
 * `/websocket/v1`, and the guarded TCP front (`engine/http_guard.ts`) on the public port: head
 * deadline, idle timeout, connection cap, WebSocket message cap, and sockets that can be cut
 * without a close frame. Request bodies are capped before any route (auth included) runs.
 */

import { Hono } from "hono";
import {
  DEFAULT_GUARD_LIMITS,
  type GuardedFront,
  type GuardLimits,
  limitBody,
  startGuardedFront,
} from "../http_guard.ts";
import type { ApiKeyConfig } from "./auth.ts";
import { SandboxAuth } from "./auth.ts";
import type { InitialBalances } from "./accounts.ts";
import { createExchangeRoutes } from "./exchange_routes.ts";
import { createFaultAdminRoutes, Faults } from "./faults.ts";
import { SandboxExchange } from "./matching.ts";
import { createQuotationRoutes, notFoundBody } from "./quotation_routes.ts";
import { callerIp, RateLimiter } from "./rate_limit.ts";
import { createReplay, type Replay } from "./replay.ts";

export { defaultDataDir } from "./replay.ts";
import { createWsServer, type WsFaults } from "./ws_server.ts";

/** Demo keys accepted when no keys are configured (they guard nothing: the sandbox is local). */
export const DEMO_ACCESS_KEY = "SANDBOXDEMOACCESSKEY000000000000000000000";
/** Secret of `DEMO_ACCESS_KEY`. */
export const DEMO_SECRET_KEY = "SANDBOXDEMOSECRETKEY000000000000000000000";
/** The account the default key trades for. */
export const DEFAULT_ACCOUNT = "default";

/** Options of `createSandbox`. */
export interface SandboxOptions {
  /** Public port (0 = any free port, for tests). Default 7770. */
  readonly port?: number;
  /** Default `127.0.0.1`. */
  readonly hostname?: string;
  /** Sandbox ms per real ms. Default 1. */
  readonly speed?: number;
  /** Seed of the synthetic market detail. Default 1. */
  readonly seed?: number;
  /** Candle files; default every `data/upbit-*.csv`. */
  readonly dataFiles?: readonly string[];
  /** Opening balances of the default account (e.g. `{ KRW: "10000000" }`). */
  readonly balances?: Readonly<Record<string, string>>;
  /** API keys; default one demo key (`DEMO_ACCESS_KEY`) for the default account. */
  readonly accounts?: readonly ApiKeyConfig[];
  /** Opening balances of further accounts (account id → currency → amount). */
  readonly accountBalances?: InitialBalances;
  /** Data-time point that becomes "now" (ms or ISO). */
  readonly startAt?: number | string;
  /** Replay the data end to end again and again (see `ReplayOptions.loop`). Default false. */
  readonly loop?: boolean;
  /** Drive the clock by hand (`replay.advanceTo`). */
  readonly manualClock?: boolean;
  /** Levels per book side (default 15, max 30). */
  readonly bookLevels?: number;
  /** Apply Upbit's REST and WebSocket rate limits (default true). */
  readonly rateLimits?: boolean;
  /** WebSocket idle timeout, real ms (default 120 000). */
  readonly wsIdleTimeoutMs?: number;
  /** Serve the fault switches over HTTP at `/sandbox/faults` (default false: not exposed). */
  readonly adminFaults?: boolean;
  /** Per-IP limits use `X-Forwarded-For` (only behind a proxy that sets it). Default false. */
  readonly trustForwardedFor?: boolean;
  /** Overrides of the HTTP bounds (`DEFAULT_GUARD_LIMITS`; idle default: WS idle + 10 s). */
  readonly limits?: Partial<GuardLimits>;
}

/** A running sandbox. */
export interface Sandbox {
  /** e.g. `http://127.0.0.1:7770` (no trailing slash; paths start with `/v1`). */
  readonly restUrl: string;
  /** e.g. `ws://127.0.0.1:7770/websocket/v1`. */
  readonly wsUrl: string;
  /** The replay: clock control (`advanceTo`, `advanceBy`, `nowMs`) and market queries. */
  readonly replay: Replay;
  /** The exchange (accounts, orders). */
  readonly accounts: SandboxExchange;
  /** The API keys the sandbox accepts. */
  readonly keys: readonly ApiKeyConfig[];
  /** REST faults (`arm`, `clear`) and WebSocket faults (`ws.dropAll`, `ws.stall`). */
  readonly faults: { readonly rest: Faults; readonly ws: WsFaults };
  /** The Hono app (for `app.request()` tests). */
  readonly app: Hono;
  /** Stops everything. */
  close(): Promise<void>;
}

/** Starts a sandbox. */
export async function createSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const hostname = options.hostname ?? "127.0.0.1";
  const replay = await createReplay({
    dataFiles: options.dataFiles,
    seed: options.seed,
    speed: options.speed,
    startAt: options.startAt,
    loop: options.loop,
    manualClock: options.manualClock,
    bookLevels: options.bookLevels,
  });
  const keys: readonly ApiKeyConfig[] = options.accounts ??
    [{ accessKey: DEMO_ACCESS_KEY, secretKey: DEMO_SECRET_KEY, accountId: DEFAULT_ACCOUNT }];
  const balances: InitialBalances = {
    [DEFAULT_ACCOUNT]: options.balances ?? { KRW: "10000000" },
    ...options.accountBalances,
  };
  for (const k of keys) {
    if (!(k.accountId in balances)) {
      (balances as Record<string, Record<string, string>>)[k.accountId] = {};
    }
  }
  const exchange = new SandboxExchange({ feed: replay, balances });
  const auth = new SandboxAuth(keys, { nowMs: () => replay.nowMs() });
  const restFaults = new Faults();

  const app = new Hono();
  // The limiter runs first so that every answer, injected faults included, has `Remaining-Req`.
  if (options.rateLimits ?? true) {
    const limiter = new RateLimiter({
      verifiedPocket: (authorization) => auth.verifiedAccount(authorization),
      trustForwardedFor: options.trustForwardedFor ?? false,
    });
    app.use("/v1/*", limiter.middleware());
  }
  app.use("/v1/*", restFaults.middleware());
  // Mount point of every REST API: quotation (public) first, then the exchange (private).
  app.route("/", createQuotationRoutes(replay));
  app.route(
    "/",
    createExchangeRoutes({
      exchange,
      auth,
      clientIp: (c) => callerIp(c, options.trustForwardedFor ?? false),
    }),
  );
  // The admin routes carry their full `/sandbox/faults` paths; exposed only when asked for.
  if (options.adminFaults === true) app.route("/", createFaultAdminRoutes(restFaults));
  app.notFound((c) => c.json(notFoundBody(), 404));

  // The front starts after the inner server it forwards to; the handlers reach it late.
  const frontRef: { current?: GuardedFront } = {};
  const wsIdleMs = options.wsIdleTimeoutMs ?? 120_000;
  const limits: GuardLimits = {
    ...DEFAULT_GUARD_LIMITS,
    idleTimeoutMs: wsIdleMs + 10_000,
    ...options.limits,
  };
  const ws = createWsServer({
    replay,
    idleTimeoutMs: options.wsIdleTimeoutMs,
    ...(options.rateLimits === false
      ? { connectPerSecond: Infinity, messagesPerSecond: Infinity }
      : {}),
    privateSource: {
      async authenticate(req) {
        const result = await auth.verify({
          authorization: req.headers.get("authorization") ?? undefined,
          rawQuery: "",
        });
        return result.ok ? { accountId: result.value.accountId } : undefined;
      },
      onPrivateEvent: (listener) => exchange.onPrivateEvent(listener),
    },
    abortConnection: (remote) => frontRef.current?.abort(remote.port) ?? false,
  });

  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: () => {},
    onError: (error) => restFaults.onServeError(error),
  }, async (req, info) => {
    // The client behind the front's upstream socket (its port stays the connection's id).
    const client = frontRef.current?.clientOf(info.remoteAddr.port);
    const path = new URL(req.url).pathname;
    if (path === "/websocket/v1" || path === "/websocket/v1/private") {
      return ws.handle(req, { remoteAddr: info.remoteAddr, clientIp: client?.hostname });
    }
    const limited = await limitBody(req, {
      maxBytes: limits.maxBodyBytes,
      tooLarge: () => payloadTooLarge(limits.maxBodyBytes),
    });
    if (limited instanceof Response) return limited;
    return app.fetch(limited, { remoteAddr: client ?? info.remoteAddr });
  });
  const front = startGuardedFront({
    listen: { hostname, port: options.port ?? 7770 },
    target: server.addr,
    limits,
    wsTooLongText: JSON.stringify({
      error: {
        name: "WRONG_FORMAT",
        message: `message longer than ${limits.maxWsMessageBytes} bytes`,
      },
    }),
  });
  frontRef.current = front;
  const base = `${hostname}:${front.addr.port}`;

  return {
    restUrl: `http://${base}`,
    wsUrl: `ws://${base}/websocket/v1`,
    replay,
    accounts: exchange,
    keys,
    faults: { rest: restFaults, ws: ws.faults },
    app,
    async close() {
      ws.close();
      replay.close();
      exchange.close();
      front.close();
      await server.shutdown();
    },
  };
}

/** 413 in Upbit's error shape; the connection closes (the rest of the body is never read). */
function payloadTooLarge(maxBytes: number): Response {
  return new Response(
    JSON.stringify({
      error: { name: "payload_too_large", message: `the body is longer than ${maxBytes} bytes` },
    }),
    { status: 413, headers: { "content-type": "application/json", connection: "close" } },
  );
}
