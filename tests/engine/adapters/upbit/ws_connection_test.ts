/**
 * The resilient socket over real local sockets (`Deno.serve` stubs on 127.0.0.1:0): the default
 * backoff schedule 1 s → 30 s with jitter (on an injected clock and sleep), the 5 connects/s
 * gate, stall detection on a silent server, and PING keep-alive.
 */

import assert from "node:assert/strict";
import {
  backoffDelayMs,
  openDenoSocket,
  type ReconnectPlan,
  startWsConnection,
} from "../../../../engine/adapters/upbit/ws_connection.ts";

function refusingServer(): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response("busy", { status: 503 }),
  );
}

/** A fake clock whose sleep advances it instantly (and yields to the event loop). */
function fakeTime() {
  let now = 0;
  return {
    nowMs: () => now,
    async sleep(ms: number) {
      now += ms;
      await new Promise((r) => setTimeout(r, 0));
    },
  };
}

Deno.test("backoffDelayMs(): 1 s doubling to a 30 s cap, jitter takes up to half away", () => {
  const r0 = [0, 1, 2, 3, 4, 5, 6, 10].map((a) => backoffDelayMs(a, { r: 0 }));
  assert.deepEqual(r0, [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  assert.equal(backoffDelayMs(0, { r: 0.999999 }) > 500, true);
  assert.equal(backoffDelayMs(3, { r: 0.5 }), 6000);
});

Deno.test({
  name: "connection: refused upgrades follow the 1 s → 30 s schedule within 5 connects/s",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const server = refusingServer();
    const time = fakeTime();
    const plans: ReconnectPlan[] = [];
    const attempts: number[] = [];
    const draws = [0, 0.5, 0.25, 0, 0.9, 0, 0.1, 0];
    let d = 0;
    let resolveDone: () => void = () => {};
    const done = new Promise<void>((r) => resolveDone = r);
    const conn = startWsConnection({
      url: `ws://127.0.0.1:${server.addr.port}/websocket/v1`,
      nowMs: time.nowMs,
      sleep: time.sleep,
      random: () => draws[d++ % draws.length]!,
      openSocket(url, init) {
        attempts.push(time.nowMs());
        return openDenoSocket(url, init);
      },
    }, {
      request: () => "[]",
      onOpen() {},
      onClose() {},
      onReconnecting(plan) {
        plans.push(plan);
        if (plans.length === 8) resolveDone();
      },
      onMessage: () => undefined,
    });
    await done;
    await conn.close();
    await server.shutdown();
    assert.deepEqual(plans.map((p) => p.attempt), [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.deepEqual(plans.map((p) => p.delayMs), [
      1000,
      1500,
      3500,
      8000,
      8800,
      30000,
      28500,
      30000,
    ]);
    assert.ok(plans.every((p) => p.cause === "connect_failed" && p.upMs === 0));
    assert.equal(conn.status().failedConnects, 8);
    assert.equal(conn.status().connected, false);
    // Attempt times are the cumulative delays: the schedule really was slept.
    const gaps = attempts.slice(1).map((t, i) => t - attempts[i]!);
    assert.deepEqual(gaps.slice(0, 7), plans.slice(0, 7).map((p) => p.delayMs));
  },
});

Deno.test({
  name: "connection: never more than 5 connection attempts in any rolling second",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const server = refusingServer();
    const time = fakeTime();
    const attempts: number[] = [];
    const conn = startWsConnection({
      url: `ws://127.0.0.1:${server.addr.port}/websocket/v1`,
      nowMs: time.nowMs,
      sleep: time.sleep,
      backoff: { baseMs: 1, maxMs: 1 },
      openSocket(url, init) {
        attempts.push(time.nowMs());
        return openDenoSocket(url, init);
      },
    }, {
      request: () => "[]",
      onOpen() {},
      onClose() {},
      onMessage: () => undefined,
    });
    while (attempts.length < 23) await new Promise((r) => setTimeout(r, 5));
    await conn.close();
    await server.shutdown();
    for (let i = 5; i < attempts.length; i++) {
      assert.ok(attempts[i]! - attempts[i - 5]! >= 1000, `6 attempts within 1 s at ${i}`);
    }
    // …and the gate does not slow it below the limit: ~5 per second of fake time.
    const span = attempts[attempts.length - 1]! - attempts[0]!;
    assert.ok(span <= 4 * 1000 + 50, `${attempts.length} attempts over ${span} ms`);
  },
});

Deno.test({
  name: "connection: a silent server is declared dead within stallTimeoutMs, PINGs are sent",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const received: string[] = [];
    let silent = false;
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
      const { socket, response } = Deno.upgradeWebSocket(req);
      socket.onmessage = (e) => {
        received.push(String(e.data));
        if (e.data === "PING" && !silent) socket.send('{"status":"UP"}');
      };
      return response;
    });
    const closes: Array<{ cause: string; atMs: number }> = [];
    let silentSince = 0;
    const conn = startWsConnection({
      url: `ws://127.0.0.1:${server.addr.port}/websocket/v1`,
      pingIntervalMs: 50,
      stallTimeoutMs: 300,
      backoff: { baseMs: 10, maxMs: 10 },
    }, {
      request: () => '[{"ticket":"t"},{"type":"ticker","codes":["KRW-BTC"]}]',
      onOpen() {},
      onClose(cause) {
        closes.push({ cause, atMs: performance.now() });
      },
      onMessage: () => undefined,
    });
    try {
      // Healthy: UP answers keep it alive well past the stall time.
      await new Promise((r) => setTimeout(r, 700));
      assert.equal(closes.length, 0);
      assert.ok(received.filter((m) => m === "PING").length >= 8);
      assert.equal(received[0], '[{"ticket":"t"},{"type":"ticker","codes":["KRW-BTC"]}]');
      silent = true;
      silentSince = performance.now();
      const deadline = performance.now() + 3_000;
      while (closes.length === 0 && performance.now() < deadline) {
        await new Promise((r) => setTimeout(r, 5));
      }
      const first = closes[0];
      assert.ok(first !== undefined, "the silent link was never declared dead");
      assert.equal(first.cause, "stall");
      const took = first.atMs - silentSince;
      // The last UP came ≤ 50 ms before silence, so detection lands in [250, 300 + slack].
      assert.ok(took >= 240 && took <= 380, `stall detected after ${took} ms`);
      assert.equal(conn.status().stalls, 1);
    } finally {
      await conn.close();
      await server.shutdown();
    }
  },
});
