/**
 * The guard in front of every HTTP server of the project (the sandbox's and the bot's).
 * `Deno.serve` has no header deadline, no connection cap, no body cap and no WebSocket message
 * cap, so each server listens behind a TCP front that owns the client's connection:
 *
 * - **connection cap**: at `maxConnections` a new connection evicts the oldest one still waiting
 *   for its request head (a slow client), else the least recently active plain HTTP one;
 * - **head deadline and size**: the first request head must arrive whole within `headTimeoutMs`
 *   and fit `maxHeadBytes` (else 408 / 431 and close); no upstream socket exists before that, so
 *   a slow connection costs one file handle and at most `maxHeadBytes`;
 * - **idle timeout**: no byte either way for `idleTimeoutMs` closes the connection;
 * - **WebSocket message cap**: after a `101`, a client message longer than `maxWsMessageBytes`
 *   is refused from its frame header (before its payload is read): an optional error frame, then
 *   close 1009.
 *
 * `limitBody` caps request bodies in the inner handler, before any route (or auth) runs; the
 * front closes a connection that got a 413, so the rest of the body is never read.
 * The inner server sees the front's upstream socket; `clientOf` maps it back to the client.
 */

/** The bounds a front enforces (README "Bounds"). */
export interface GuardLimits {
  /** Open client connections at most. */
  readonly maxConnections: number;
  /** Real ms a new connection has to deliver its first request head. */
  readonly headTimeoutMs: number;
  /** Bytes of the first request head at most (request line + headers). */
  readonly maxHeadBytes: number;
  /** Real ms without a byte either way before a connection is closed. */
  readonly idleTimeoutMs: number;
  /** Bytes of one client WebSocket message at most (all its fragments). */
  readonly maxWsMessageBytes: number;
  /** Bytes of one request body at most (`limitBody`). */
  readonly maxBodyBytes: number;
}

/** The defaults: generous for a browser, an API client or Telegram; small for an attacker. */
export const DEFAULT_GUARD_LIMITS: GuardLimits = {
  maxConnections: 1024,
  headTimeoutMs: 10_000,
  maxHeadBytes: 16_384,
  idleTimeoutMs: 120_000,
  maxWsMessageBytes: 65_536,
  maxBodyBytes: 65_536,
};

/** A running front. */
export interface GuardedFront {
  /** The public address. */
  readonly addr: Deno.NetAddr;
  /** The client behind the upstream socket whose local port the inner server sees. */
  clientOf(upstreamPort: number): Deno.NetAddr | undefined;
  /** Cuts the client connection behind `upstreamPort` (no close frame); true if found. */
  abort(upstreamPort: number): boolean;
  /** Open client connections. */
  connectionCount(): number;
  /** Stops accepting and cuts every connection. */
  close(): void;
  /**
   * Stops accepting, then lets connections whose server side is closing (after the inner
   * server's `shutdown()`) pass their last bytes for up to `graceMs`, then cuts the rest.
   */
  drain(graceMs?: number): Promise<void>;
}

/** Options of `startGuardedFront`. */
export interface FrontOptions {
  /** Where to listen. */
  readonly listen: { readonly hostname: string; readonly port: number };
  /** The inner HTTP server. */
  readonly target: Deno.NetAddr;
  /** Overrides of `DEFAULT_GUARD_LIMITS`. */
  readonly limits?: Partial<GuardLimits>;
  /** Text sent (as a binary frame) before closing a WebSocket whose message is too long. */
  readonly wsTooLongText?: string;
}

interface Link {
  readonly client: Deno.Conn;
  readonly remote: Deno.NetAddr;
  readonly openedMs: number;
  lastActivityMs: number;
  /** Still waiting for its first request head. */
  pending: boolean;
  /** Switched to WebSocket (the inner server answered 101 to an upgrade). */
  websocket: boolean;
  upstream: Deno.TcpConn | undefined;
  upstreamPort: number | undefined;
  closed: boolean;
  /** Serialises writes to the client (the pump and a refusal frame). */
  clientWrites: Promise<void>;
}

const HEAD_END = [13, 10, 13, 10];
/** Read buffer per direction of an established connection (small: 1,000 sockets are 16 MB). */
const PUMP_BYTES = 8192;
const encoder = new TextEncoder();

/** Listens on `listen` and hands each connection whose head arrived in time to `target`. */
export function startGuardedFront(options: FrontOptions): GuardedFront {
  const limits: GuardLimits = { ...DEFAULT_GUARD_LIMITS, ...options.limits };
  const listener = Deno.listen({ hostname: options.listen.hostname, port: options.listen.port });
  const links = new Set<Link>();
  const byPort = new Map<number, Link>();
  const tooLong = options.wsTooLongText === undefined
    ? new Uint8Array()
    : wsFrame(0x2, encoder.encode(options.wsTooLongText));

  function drop(link: Link): void {
    if (link.closed) return;
    link.closed = true;
    links.delete(link);
    if (link.upstreamPort !== undefined) byPort.delete(link.upstreamPort);
    for (const c of [link.client, link.upstream]) {
      try {
        c?.close();
      } catch {
        // Already closed by the other direction.
      }
    }
  }

  function refuse(link: Link, status: string): void {
    const bytes = encoder.encode(
      `HTTP/1.1 ${status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`,
    );
    void writeAll(link.client, bytes).catch(() => {}).finally(() => drop(link));
  }

  function evictFor(): boolean {
    let victim: Link | undefined;
    for (const link of links) {
      if (link.pending) {
        victim = link;
        break;
      }
      if (
        !link.websocket && (victim === undefined || link.lastActivityMs < victim.lastActivityMs)
      ) {
        victim = link;
      }
    }
    if (victim === undefined) return false;
    drop(victim);
    return true;
  }

  const sweep = setInterval(() => {
    const now = Date.now();
    for (const link of [...links]) {
      if (link.pending && now - link.openedMs >= limits.headTimeoutMs) {
        link.pending = false;
        refuse(link, "408 Request Timeout");
      } else if (!link.pending && now - link.lastActivityMs >= limits.idleTimeoutMs) {
        drop(link);
      }
    }
  }, Math.max(50, Math.min(1000, limits.headTimeoutMs / 4)));
  Deno.unrefTimer(sweep);

  async function readHead(link: Link): Promise<Uint8Array | undefined> {
    // Small reads: a slow connection should cost little (a head rarely needs more than one).
    const buf = new Uint8Array(2048);
    let head = new Uint8Array(0);
    for (;;) {
      const n = await link.client.read(buf);
      if (n === null || link.closed) return undefined;
      link.lastActivityMs = Date.now();
      const grown = new Uint8Array(head.length + n);
      grown.set(head);
      grown.set(buf.subarray(0, n), head.length);
      head = grown;
      const end = indexOf(head, HEAD_END, Math.max(0, head.length - n - 3));
      if (end >= 0 && end + 4 <= limits.maxHeadBytes) return head;
      if (end >= 0 || head.length > limits.maxHeadBytes) {
        link.pending = false;
        refuse(link, "431 Request Header Fields Too Large");
        return undefined;
      }
    }
  }

  async function serve(link: Link): Promise<void> {
    const head = await readHead(link);
    if (head === undefined || link.closed) return;
    link.pending = false;
    const upgrade = /^upgrade:[ \t]*websocket[ \t]*$/im.test(
      new TextDecoder().decode(head.subarray(0, indexOf(head, HEAD_END, 0))),
    );
    const upstream = await Deno.connect({
      hostname: options.target.hostname,
      port: options.target.port,
    });
    if (link.closed) {
      upstream.close();
      return;
    }
    upstream.setNoDelay(true);
    link.upstream = upstream;
    link.upstreamPort = (upstream.localAddr as Deno.NetAddr).port;
    byPort.set(link.upstreamPort, link);
    await writeAll(upstream, head);
    await Promise.race([pumpUp(link, upstream), pumpDown(link, upstream, upgrade)]);
  }

  async function pumpUp(link: Link, upstream: Deno.TcpConn): Promise<void> {
    const buf = new Uint8Array(PUMP_BYTES);
    const meter = new WsMeter(limits.maxWsMessageBytes);
    for (;;) {
      const n = await link.client.read(buf);
      if (n === null || link.closed) return;
      link.lastActivityMs = Date.now();
      const chunk = buf.subarray(0, n);
      if (link.websocket && !meter.feed(chunk)) {
        try {
          upstream.close();
        } catch {
          // Closed meanwhile.
        }
        const bye = concat(tooLong, wsFrame(0x8, new Uint8Array([0x03, 0xf1]))); // 1009
        link.clientWrites = link.clientWrites.then(() => writeAll(link.client, bye));
        await link.clientWrites.catch(() => {});
        return;
      }
      await writeAll(upstream, chunk);
    }
  }

  async function pumpDown(link: Link, upstream: Deno.TcpConn, upgrade: boolean): Promise<void> {
    const buf = new Uint8Array(PUMP_BYTES);
    let first = true;
    for (;;) {
      const n = await upstream.read(buf);
      if (n === null || link.closed) return;
      link.lastActivityMs = Date.now();
      if (first && upgrade && startsWith(buf.subarray(0, n), "HTTP/1.1 101")) {
        link.websocket = true;
      }
      first = false;
      const chunk = buf.subarray(0, n);
      link.clientWrites = link.clientWrites.then(() => writeAll(link.client, chunk));
      await link.clientWrites;
      // A 413 ends the connection: the rest of the body is never read (or passed on).
      if (!link.websocket && startsWith(chunk, "HTTP/1.1 413 ")) return;
    }
  }

  function stopAccepting(): void {
    clearInterval(sweep);
    try {
      listener.close();
    } catch {
      // Already closed.
    }
  }

  function close(): void {
    stopAccepting();
    for (const link of [...links]) drop(link);
  }

  (async () => {
    try {
      for await (const client of listener) {
        if (links.size >= limits.maxConnections && !evictFor()) {
          client.close();
          continue;
        }
        if ("setNoDelay" in client) (client as Deno.TcpConn).setNoDelay(true);
        const now = Date.now();
        const link: Link = {
          client,
          remote: client.remoteAddr as Deno.NetAddr,
          openedMs: now,
          lastActivityMs: now,
          pending: true,
          websocket: false,
          upstream: undefined,
          upstreamPort: undefined,
          closed: false,
          clientWrites: Promise.resolve(),
        };
        links.add(link);
        serve(link).catch(() => {}).finally(() => drop(link));
      }
    } catch {
      // The listener was closed.
    }
  })();

  return {
    addr: listener.addr as Deno.NetAddr,
    clientOf: (port) => byPort.get(port)?.remote,
    abort(upstreamPort) {
      const link = byPort.get(upstreamPort);
      if (link === undefined) return false;
      drop(link);
      return true;
    },
    connectionCount: () => links.size,
    close,
    async drain(graceMs = 1000) {
      stopAccepting();
      for (const link of [...links]) if (link.upstream === undefined) drop(link);
      const deadline = Date.now() + graceMs;
      while (links.size > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      close();
    },
  };
}

/** A guarded HTTP server: the front on the public address, `Deno.serve` behind it. */
export interface GuardedServer {
  /** The public address. */
  readonly addr: Deno.NetAddr;
  /** Ends the open answers cleanly, lets the front pass their last bytes, then closes. */
  shutdown(): Promise<void>;
}

/**
 * Serves `handler` behind a front on `listen`: bodies over `maxBodyBytes` get `tooLarge()`
 * before the handler runs, and the handler sees the client's own address as `remoteAddr`.
 */
export async function serveGuarded(options: {
  readonly listen: { readonly hostname: string; readonly port: number };
  readonly limits?: Partial<GuardLimits>;
  readonly tooLarge: () => Response;
  readonly handler: (
    request: Request,
    info: Deno.ServeHandlerInfo<Deno.NetAddr>,
  ) => Response | Promise<Response>;
}): Promise<GuardedServer> {
  const limits: GuardLimits = { ...DEFAULT_GUARD_LIMITS, ...options.limits };
  let clientOf: (port: number) => Deno.NetAddr | undefined = () => undefined;
  const listening = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: (addr) => listening.resolve(addr) },
    async (request, info) => {
      const limited = await limitBody(request, {
        maxBytes: limits.maxBodyBytes,
        tooLarge: options.tooLarge,
      });
      if (limited instanceof Response) return limited;
      const remoteAddr = clientOf(info.remoteAddr.port) ?? info.remoteAddr;
      return options.handler(limited, { ...info, remoteAddr });
    },
  );
  const inner = await listening.promise;
  let front: GuardedFront;
  try {
    front = startGuardedFront({ listen: options.listen, target: inner, limits });
  } catch (error) {
    await server.shutdown();
    throw error;
  }
  clientOf = front.clientOf;
  return {
    addr: front.addr,
    async shutdown() {
      await server.shutdown();
      await front.drain();
    },
  };
}

/**
 * The request with its body read (at most `maxBytes`), or `tooLarge()`: at once when the
 * declared `Content-Length` is over the cap (nothing is read), else once the count passes it.
 */
export async function limitBody(
  request: Request,
  options: { readonly maxBytes: number; readonly tooLarge: () => Response },
): Promise<Request | Response> {
  if (request.body === null) return request;
  const declared = request.headers.get("content-length");
  if (declared !== null) {
    const length = Number(declared);
    if (!Number.isSafeInteger(length) || length > options.maxBytes) return options.tooLarge();
    return request; // The server holds the body to its declared length.
  }
  const reader = request.body.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > options.maxBytes) {
      await reader.cancel().catch(() => {});
      return options.tooLarge();
    }
    parts.push(value);
  }
  const body = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    body.set(part, at);
    at += part.length;
  }
  return new Request(request.url, {
    method: request.method,
    headers: request.headers,
    body,
    signal: request.signal,
  });
}

/** Measures client WebSocket messages from their frame headers (masked client frames). */
class WsMeter {
  readonly #max: number;
  readonly #head = new Uint8Array(14);
  #headLength = 0;
  #need = 2;
  #skip = 0;
  #message = 0;

  constructor(max: number) {
    this.#max = max;
  }

  /** Feeds client bytes; false once a message is longer than the cap. */
  feed(chunk: Uint8Array): boolean {
    let i = 0;
    while (i < chunk.length) {
      if (this.#skip > 0) {
        const take = Math.min(this.#skip, chunk.length - i);
        this.#skip -= take;
        i += take;
        continue;
      }
      this.#head[this.#headLength++] = chunk[i++] as number;
      if (this.#headLength === 2) {
        const len7 = (this.#head[1] as number) & 0x7f;
        const masked = ((this.#head[1] as number) & 0x80) !== 0;
        this.#need = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (masked ? 4 : 0);
      }
      if (this.#headLength < this.#need) continue;
      const length = this.#payloadLength();
      const opcode = (this.#head[0] as number) & 0x0f;
      const fin = ((this.#head[0] as number) & 0x80) !== 0;
      if (opcode < 8) {
        if (opcode !== 0) this.#message = 0;
        this.#message += length;
        if (this.#message > this.#max) return false;
        if (fin) this.#message = 0;
      } else if (length > 125) {
        return false;
      }
      this.#skip = length;
      this.#headLength = 0;
      this.#need = 2;
    }
    return true;
  }

  #payloadLength(): number {
    const len7 = (this.#head[1] as number) & 0x7f;
    if (len7 < 126) return len7;
    const h = this.#head;
    if (len7 === 126) return ((h[2] as number) << 8) | (h[3] as number);
    let n = 0;
    for (let k = 2; k < 10; k++) n = n * 256 + (h[k] as number);
    return n;
  }
}

/** One unmasked (server → client) WebSocket frame with FIN set. */
function wsFrame(opcode: number, payload: Uint8Array): Uint8Array {
  const size = payload.length;
  const head = size < 126
    ? new Uint8Array([0x80 | opcode, size])
    : new Uint8Array([0x80 | opcode, 126, size >> 8, size & 0xff]);
  return concat(head, payload.subarray(0, 65_535));
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function indexOf(haystack: Uint8Array, needle: readonly number[], from: number): number {
  outer: for (let i = from; i <= haystack.length - needle.length; i++) {
    for (let k = 0; k < needle.length; k++) if (haystack[i + k] !== needle[k]) continue outer;
    return i;
  }
  return -1;
}

function startsWith(bytes: Uint8Array, text: string): boolean {
  if (bytes.length < text.length) return false;
  for (let i = 0; i < text.length; i++) if (bytes[i] !== text.charCodeAt(i)) return false;
  return true;
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let at = 0;
  while (at < bytes.length) at += await conn.write(bytes.subarray(at));
}
