/**
 * The bot's one HTTP server: bound to the settings' address (127.0.0.1 unless told otherwise),
 * serving the app built for the origin the browser will use (with port 0, the port the server
 * got). It listens behind the guarded TCP front (`engine/http_guard.ts`: head deadline, idle
 * timeout, connection cap) and caps request bodies before any route runs, so a slow or huge
 * request costs a bounded amount. The app sees the client's own address as `remoteAddr`.
 * `shutdown()` closes it (open event streams included).
 */

import { DEFAULT_GUARD_LIMITS, type GuardLimits, serveGuarded } from "../engine/mod.ts";

/** Anything with a fetch handler (a Hono app). */
export interface Fetcher {
  fetch(request: Request, info: Deno.ServeHandlerInfo): Response | Promise<Response>;
}

/** A running server. */
export interface WebServer {
  /** The page's origin (`http://127.0.0.1:8080`, or the configured one). */
  readonly origin: string;
  /** Where the server listens (for the log). */
  readonly address: string;
  /** Stops accepting, ends the open requests, resolves once closed. */
  shutdown(): Promise<void>;
}

/** The bot's bounds: the guard's defaults with room for a Telegram update or a form. */
export const WEB_LIMITS: GuardLimits = { ...DEFAULT_GUARD_LIMITS, maxBodyBytes: 262_144 };

/** Starts serving; `build` makes the app for the page's origin once the port is known. */
export async function startWebServer(options: {
  readonly hostname: string;
  readonly port: number;
  /** The configured origin; undefined: `http://<hostname>:<port>`. */
  readonly origin: string | undefined;
  /** `closing` aborts at shutdown: long answers (event streams) end on it. */
  readonly build: (origin: string, closing: AbortSignal) => Fetcher;
  /** Overrides of `WEB_LIMITS` (tests). */
  readonly limits?: Partial<GuardLimits>;
}): Promise<WebServer> {
  let app: Fetcher | undefined;
  const closing = new AbortController();
  const server = await serveGuarded({
    listen: { hostname: options.hostname, port: options.port },
    limits: { ...WEB_LIMITS, ...options.limits },
    tooLarge: () =>
      new Response("Payload Too Large", { status: 413, headers: { connection: "close" } }),
    handler: (request, info) =>
      app === undefined ? new Response("starting", { status: 503 }) : app.fetch(request, info),
  });
  const addr = server.addr;
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  const origin = options.origin ?? `http://${host}:${addr.port}`;
  async function shutdown(): Promise<void> {
    closing.abort();
    await server.shutdown();
  }
  try {
    app = options.build(origin, closing.signal);
  } catch (error) {
    await shutdown();
    throw error;
  }
  return { origin, address: `${host}:${addr.port}`, shutdown };
}
