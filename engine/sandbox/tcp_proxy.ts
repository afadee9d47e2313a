/**
 * A TCP pass-through in front of the sandbox's HTTP server. It exists for one fault: Deno's
 * WebSocket API can only close with a close frame, but a real Upbit link also dies *abruptly*
 * (no close frame: the client sees 1006). The proxy owns the client's TCP connection, so it can
 * cut it; the inner server identifies a connection by the proxy's upstream port.
 */

interface Pair {
  readonly client: Deno.Conn;
  readonly upstream: Deno.TcpConn;
}

/** A running proxy. */
export interface TcpProxy {
  /** The public address. */
  readonly addr: Deno.NetAddr;
  /** Cuts the client connection whose upstream local port is `upstreamPort`; true if found. */
  abort(upstreamPort: number): boolean;
  /** Stops accepting and cuts every connection. */
  close(): void;
}

/** Listens on `hostname:port` and forwards every connection to `target`. */
export function startTcpProxy(
  listen: { hostname: string; port: number },
  target: Deno.NetAddr,
): TcpProxy {
  const listener = Deno.listen({ hostname: listen.hostname, port: listen.port });
  const pairs = new Map<number, Pair>();

  function drop(port: number): void {
    const pair = pairs.get(port);
    if (pair === undefined) return;
    pairs.delete(port);
    for (const c of [pair.client, pair.upstream]) {
      try {
        c.close();
      } catch {
        // Already closed by the other direction.
      }
    }
  }

  async function serve(client: Deno.Conn): Promise<void> {
    let upstream: Deno.TcpConn;
    try {
      upstream = await Deno.connect({ hostname: target.hostname, port: target.port });
    } catch {
      client.close();
      return;
    }
    upstream.setNoDelay(true);
    if ("setNoDelay" in client) (client as Deno.TcpConn).setNoDelay(true);
    const port = (upstream.localAddr as Deno.NetAddr).port;
    pairs.set(port, { client, upstream });
    const a = client.readable.pipeTo(upstream.writable).catch(() => {});
    const b = upstream.readable.pipeTo(client.writable).catch(() => {});
    await Promise.race([a, b]);
    drop(port);
  }

  (async () => {
    try {
      for await (const conn of listener) serve(conn).catch(() => {});
    } catch {
      // The listener was closed.
    }
  })();

  return {
    addr: listener.addr as Deno.NetAddr,
    abort(upstreamPort) {
      if (!pairs.has(upstreamPort)) return false;
      drop(upstreamPort);
      return true;
    },
    close() {
      try {
        listener.close();
      } catch {
        // Already closed.
      }
      for (const port of [...pairs.keys()]) drop(port);
    },
  };
}
