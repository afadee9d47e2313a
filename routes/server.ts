/**
 * The bot's one HTTP server: `Deno.serve` bound to the settings' address (127.0.0.1 unless told
 * otherwise: `Deno.serve` alone would bind every interface), serving the app built for the
 * origin the browser will use (with port 0, the port the server got). `shutdown()` closes it
 * (open event streams included).
 */

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

/** Starts serving; `build` makes the app for the page's origin once the port is known. */
export async function startWebServer(options: {
  readonly hostname: string;
  readonly port: number;
  /** The configured origin; undefined: `http://<hostname>:<port>`. */
  readonly origin: string | undefined;
  /** `closing` aborts at shutdown: long answers (event streams) end on it. */
  readonly build: (origin: string, closing: AbortSignal) => Fetcher;
}): Promise<WebServer> {
  let app: Fetcher | undefined;
  const closing = new AbortController();
  const listening = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve(
    {
      hostname: options.hostname,
      port: options.port,
      onListen: (addr) => listening.resolve(addr),
    },
    (request, info) =>
      app === undefined ? new Response("starting", { status: 503 }) : app.fetch(request, info),
  );
  const addr = await listening.promise;
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  const origin = options.origin ?? `http://${host}:${addr.port}`;
  try {
    app = options.build(origin, closing.signal);
  } catch (error) {
    await server.shutdown();
    throw error;
  }
  return {
    origin,
    address: `${host}:${addr.port}`,
    async shutdown() {
      closing.abort();
      await server.shutdown();
    },
  };
}
