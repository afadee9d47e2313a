/**
 * The HTTP guard over real sockets: the head deadline (408) and size (431), the connection cap
 * (a new connection evicts the oldest still waiting for its head), the idle timeout, the body cap
 * before the handler (declared and streamed), the client's own address for the handler, and the
 * WebSocket message cap across fragments.
 */

import assert from "node:assert/strict";
import { serveGuarded } from "../../engine/http_guard.ts";

const encoder = new TextEncoder();

async function withServer(
  limits: Parameters<typeof serveGuarded>[0]["limits"],
  fn: (port: number, seen: { bodies: number; remotes: string[] }) => Promise<void>,
): Promise<void> {
  const seen = { bodies: 0, remotes: [] as string[] };
  const server = await serveGuarded({
    listen: { hostname: "127.0.0.1", port: 0 },
    limits,
    tooLarge: () => new Response("too large", { status: 413 }),
    handler: async (request, info) => {
      seen.remotes.push(`${info.remoteAddr.hostname}:${info.remoteAddr.port}`);
      if (request.method === "POST") {
        seen.bodies++;
        return new Response(`got ${(await request.arrayBuffer()).byteLength}`);
      }
      if (new URL(request.url).pathname === "/ws") {
        const { socket, response } = Deno.upgradeWebSocket(request);
        socket.onmessage = (e) => socket.send(`echo ${String(e.data).length}`);
        return response;
      }
      return new Response("ok");
    },
  });
  try {
    await fn(server.addr.port, seen);
  } finally {
    await server.shutdown();
  }
}

async function raw(port: number, text: string, waitMs = 3000): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(encoder.encode(text));
  const timer = setTimeout(() => conn.close(), waitMs);
  let out = "";
  const buf = new Uint8Array(4096);
  try {
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      out += new TextDecoder().decode(buf.subarray(0, n));
    }
  } catch {
    // Closed by the timer.
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // Closed already.
    }
  }
  return out;
}

Deno.test("a head that is too slow gets 408, one too long 431; the handler never runs", async () => {
  await withServer({ headTimeoutMs: 300 }, async (port, seen) => {
    const t0 = Date.now();
    const slow = await raw(port, "GET / HTTP/1.1\r\nhost: x\r\n");
    assert.match(slow, /^HTTP\/1\.1 408 /);
    assert.ok(Date.now() - t0 < 2000);
    const long = await raw(
      port,
      `GET / HTTP/1.1\r\nhost: x\r\nx-pad: ${"a".repeat(20_000)}\r\n\r\n`,
    );
    assert.match(long, /^HTTP\/1\.1 431 /);
    assert.equal(seen.remotes.length, 0, "the handler never ran");
    const ok = await raw(port, "GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
    assert.match(ok, /^HTTP\/1\.1 200 /);
    const [host, clientPort] = seen.remotes[0]!.split(":");
    assert.equal(host, "127.0.0.1", "the handler sees the client's own address");
    assert.ok(Number(clientPort) > 0);
  });
});

Deno.test("at the cap, a new connection evicts the oldest one still waiting for its head", async () => {
  await withServer({ maxConnections: 4, headTimeoutMs: 10_000 }, async (port) => {
    const waiting = await Promise.all(
      Array.from({ length: 4 }, () => Deno.connect({ hostname: "127.0.0.1", port })),
    );
    await new Promise((r) => setTimeout(r, 100));
    const res = await fetch(`http://127.0.0.1:${port}/`, {
      client: Deno.createHttpClient({ poolMaxIdlePerHost: 0 }),
    });
    assert.equal(await res.text(), "ok", "the legitimate request got in");
    const closed = await waiting[0]!.read(new Uint8Array(16)).catch(() => null);
    assert.equal(closed, null, "the oldest waiting connection was closed");
    for (const c of waiting) c.close();
  });
});

Deno.test("an idle connection is closed after idleTimeoutMs", async () => {
  await withServer({ idleTimeoutMs: 300 }, async (port) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(encoder.encode("GET / HTTP/1.1\r\nhost: x\r\n\r\n"));
    const buf = new Uint8Array(4096);
    assert.ok((await conn.read(buf))! > 0);
    const t0 = Date.now();
    assert.equal(await conn.read(buf), null, "kept alive, then closed for idling");
    assert.ok(Date.now() - t0 < 3000);
    conn.close();
  });
});

Deno.test("bodies over the cap get 413 before the handler, declared or streamed", async () => {
  await withServer({ maxBodyBytes: 1000 }, async (port, seen) => {
    const declared = await raw(
      port,
      "POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 200000000\r\n\r\n" + "a".repeat(1000),
    );
    assert.match(declared, /^HTTP\/1\.1 413 /);
    const chunk = "a".repeat(600);
    const streamed = await raw(
      port,
      "POST / HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n" +
        `258\r\n${chunk}\r\n258\r\n${chunk}\r\n`,
    );
    assert.match(streamed, /^HTTP\/1\.1 413 /);
    assert.equal(seen.bodies, 0);
    const small = await raw(
      port,
      "POST / HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n" +
        `258\r\n${chunk}\r\n0\r\n\r\n`,
    );
    assert.match(small, /^HTTP\/1\.1 200 [^]*got 600$/);
  });
});

Deno.test("a WebSocket message over the cap is refused; one at the cap passes", async () => {
  await withServer({ maxWsMessageBytes: 1000 }, async (port) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    const messages: string[] = [];
    const closed = new Promise<CloseEvent>((r) => ws.onclose = r);
    ws.onmessage = (e) => messages.push(String(e.data));
    await new Promise((r) => ws.onopen = r);
    ws.send("a".repeat(1000));
    while (messages.length === 0) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(messages, ["echo 1000"]);
    ws.send("a".repeat(1001));
    const event = await closed;
    assert.equal(event.code, 1009);
    assert.deepEqual(messages, ["echo 1000"], "the long message never reached the server");
  });
});

Deno.test("the WebSocket cap counts a fragmented message whole, before its payload", async () => {
  await withServer({ maxWsMessageBytes: 1000 }, async (port) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(encoder.encode(
      "GET /ws HTTP/1.1\r\nhost: x\r\nupgrade: websocket\r\nconnection: Upgrade\r\n" +
        "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\n",
    ));
    const buf = new Uint8Array(4096);
    const n = await conn.read(buf);
    assert.match(new TextDecoder().decode(buf.subarray(0, n!)), /^HTTP\/1\.1 101 /);
    // Masked client frames (mask 0): text, not final, 600 bytes; then a final continuation
    // that only announces 600 more: the message would be 1,200 bytes.
    const frame = (first: number) => new Uint8Array([first, 0x80 | 126, 0x02, 0x58, 0, 0, 0, 0]);
    await conn.write(frame(0x01));
    await conn.write(new Uint8Array(600).fill(0x61));
    await conn.write(frame(0x80));
    const m = await conn.read(buf);
    assert.deepEqual([...buf.subarray(0, m!)], [0x88, 0x02, 0x03, 0xf1], "close 1009");
    assert.equal(await conn.read(buf), null);
    conn.close();
  });
});
