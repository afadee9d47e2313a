/**
 * The bot's one HTTP server: bound to the settings' address (127.0.0.1 unless told otherwise),
 * serving the app built for the origin the browser will use (with port 0, the port the server
 * got). It listens behind the guarded TCP front (`engine/http_guard.ts`: head deadline, idle
 * timeout, connection cap) and caps request bodies before any route runs, so a slow or huge
 * request costs a bounded amount. The app sees the client's own address as `remoteAddr`.
 * `shutdown()` closes it (open event streams included).
 */

import {
  DEFAULT_GUARD_LIMITS,
  type GuardLimits,
  limitBody,
  startGuardedFront,
} from "../engine/mod.ts";

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
  const limits: GuardLimits = { ...WEB_LIMITS, ...options.limits };
  let app: Fetcher | undefined;
  let clientOf: (port: number) => Deno.NetAddr | undefined = () => undefined;
  const closing = new AbortController();
  const listening = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: (addr) => listening.resolve(addr) },
    async (request, info) => {
      if (app === undefined) return new Response("starting", { status: 503 });
      const limited = await limitBody(request, {
        maxBytes: limits.maxBodyBytes,
        tooLarge: () =>
          new Response("Payload Too Large", { status: 413, headers: { connection: "close" } }),
      });
      if (limited instanceof Response) return limited;
      const remoteAddr = clientOf(info.remoteAddr.port) ?? info.remoteAddr;
      return app.fetch(limited, { ...info, remoteAddr });
    },
  );
  const inner = await listening.promise;
  let front;
  try {
    front = startGuardedFront({
      listen: { hostname: options.hostname, port: options.port },
      target: inner,
      limits,
    });
  } catch (error) {
    await server.shutdown();
    throw error;
  }
  clientOf = front.clientOf;
  const addr = front.addr;
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  const origin = options.origin ?? `http://${host}:${addr.port}`;
  async function shutdown(): Promise<void> {
    closing.abort();
    await server.shutdown(); // Ends the open answers cleanly; the front passes their last bytes.
    await front!.drain();
  }
  try {
    app = options.build(origin, closing.signal);
  } catch (error) {
    await shutdown();
    throw error;
  }
  return { origin, address: `${host}:${addr.port}`, shutdown };
}
