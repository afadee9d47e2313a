// deno-lint-ignore-file no-explicit-any
/** Tests of the sandbox WebSocket server over a real socket on 127.0.0.1 (port 0). */

import assert from "node:assert/strict";
import { createSandbox, type Sandbox } from "../../../engine/sandbox/mod.ts";

const FILES = ["data/upbit-KRW-BTC-1d.csv", "data/upbit-KRW-XRP-1d.csv"];

async function start(): Promise<Sandbox> {
  return await createSandbox({
    port: 0,
    dataFiles: FILES,
    manualClock: true,
    startAt: "2025-08-01T06:00:00Z",
    rateLimits: false,
  });
}

/** A client that collects decoded frames (binary or text) and close events. */
function connect(url: string): Promise<{
  ws: WebSocket;
  messages: any[];
  binary: boolean[];
  closed: Promise<CloseEvent>;
  next(pred: (m: any) => boolean, ms?: number): Promise<any>;
}> {
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  const messages: any[] = [];
  const binary: boolean[] = [];
  const waiters: Array<() => void> = [];
  const closed = new Promise<CloseEvent>((resolve) => ws.addEventListener("close", resolve));
  ws.onmessage = (e) => {
    const isBinary = e.data instanceof ArrayBuffer;
    binary.push(isBinary);
    messages.push(JSON.parse(isBinary ? new TextDecoder().decode(e.data) : e.data));
    for (const w of waiters.splice(0)) w();
  };
  function next(pred: (m: any) => boolean, ms = 2000): Promise<any> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("timed out waiting for a message")), ms);
      const check = () => {
        const hit = messages.find(pred);
        if (hit !== undefined) {
          clearTimeout(timer);
          resolve(hit);
        } else waiters.push(check);
      };
      check();
    });
  }
  return new Promise((resolve, reject) => {
    ws.onopen = () => resolve({ ws, messages, binary, closed, next });
    ws.onerror = () => reject(new Error("connect failed"));
  });
}

Deno.test("ws: subscribe ticker/trade/orderbook/candle, snapshots then realtime, binary JSON", async () => {
  const sb = await start();
  const c = await connect(sb.wsUrl);
  c.ws.send(JSON.stringify([
    { ticket: "t1" },
    { type: "ticker", codes: ["KRW-BTC", "KRW-XRP"] },
    { type: "trade", codes: ["KRW-BTC"] },
    { type: "orderbook", codes: ["KRW-BTC.5"] },
    { type: "candle.1m", codes: ["KRW-BTC"] },
    { format: "DEFAULT" },
  ]));
  const snapTicker = await c.next((m) => m.type === "ticker" && m.stream_type === "SNAPSHOT");
  for (
    const k of [
      "code",
      "trade_price",
      "acc_trade_volume_24h",
      "highest_52_week_date",
      "market_state",
      "timestamp",
    ]
  ) {
    assert.ok(k in snapTicker, k);
  }
  assert.match(snapTicker.trade_date, /^\d{8}$/);
  await c.next((m) => m.type === "ticker" && m.code === "KRW-XRP");
  const snapBook = await c.next((m) => m.type === "orderbook");
  assert.equal(snapBook.orderbook_units.length, 5);
  await c.next((m) => m.type === "candle.1m" && m.stream_type === "SNAPSHOT");
  sb.replay.advanceBy(120_000);
  const trade = await c.next((m) => m.type === "trade" && m.stream_type === "REALTIME");
  assert.match(trade.trade_date, /^\d{4}-\d{2}-\d{2}$/);
  assert.match(trade.trade_time, /^\d{2}:\d{2}:\d{2}$/);
  for (
    const k of ["sequential_id", "best_ask_price", "best_bid_size", "prev_closing_price", "change"]
  ) assert.ok(k in trade, k);
  const candle = await c.next((m) => m.type === "candle.1m" && m.stream_type === "REALTIME");
  assert.match(candle.candle_date_time_kst, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/);
  await c.next((m) => m.type === "ticker" && m.stream_type === "REALTIME");
  await c.next((m) => m.type === "orderbook" && m.stream_type === "REALTIME");
  assert.ok(c.binary.every((b) => b));
  // Only trades up to the clock were sent.
  const now = sb.replay.nowMs();
  assert.ok(c.messages.filter((m) => m.type === "trade").every((m) => m.trade_timestamp <= now));
  // The unfinished candle is re-sent as it grows; the last state per bucket equals REST.
  const candles = c.messages.filter((m) => m.type === "candle.1m");
  const byBucket = new Map<string, any>();
  for (const m of candles) byBucket.set(m.candle_date_time_utc, m);
  const res = await fetch(`${sb.restUrl}/v1/candles/minutes/1?market=KRW-BTC&count=3`);
  const rest = await res.json() as any[];
  const newest = candles[candles.length - 1].candle_date_time_utc;
  let compared = 0;
  for (const r of rest) {
    // The newest WS bucket may still owe its last (throttled) update; older ones are final.
    if (r.candle_date_time_utc >= newest) continue;
    const w = byBucket.get(r.candle_date_time_utc);
    if (w !== undefined) compared++;
    if (w !== undefined) {
      assert.equal(w.trade_price, r.trade_price);
      assert.equal(w.candle_acc_trade_volume, r.candle_acc_trade_volume);
    }
  }
  assert.ok(compared >= 1);
  c.ws.close();
  await c.closed;
  await sb.close();
});

Deno.test("ws: SIMPLE format, is_only_snapshot, PING → UP, LIST_SUBSCRIPTIONS", async () => {
  const sb = await start();
  const c = await connect(sb.wsUrl);
  c.ws.send("PING");
  await c.next((m) => m.status === "UP");
  c.ws.send(JSON.stringify([
    { ticket: "t2" },
    { type: "ticker", codes: ["KRW-BTC"], is_only_snapshot: true },
    { type: "trade", codes: ["KRW-BTC"] },
    { format: "SIMPLE" },
  ]));
  const t = await c.next((m) => m.ty === "ticker");
  assert.equal(t.cd, "KRW-BTC");
  assert.equal(t.st, "SNAPSHOT");
  for (const k of ["tp", "atv24h", "h52wp", "scr", "tms"]) assert.ok(k in t, k);
  sb.replay.advanceBy(60_000);
  const tr = await c.next((m) => m.ty === "trade" && m.st === "REALTIME");
  for (const k of ["tp", "tv", "ab", "sid", "bap", "td", "ttm"]) assert.ok(k in tr, k);
  assert.equal(c.messages.filter((m) => m.ty === "ticker").length, 1);
  c.ws.send(JSON.stringify([{ ticket: "t3" }, { method: "LIST_SUBSCRIPTIONS" }]));
  const list = await c.next((m) => m.method === "LIST_SUBSCRIPTIONS");
  assert.deepEqual(list.result.map((r: any) => r.type), ["ticker", "trade"]);
  c.ws.close();
  await c.closed;
  await sb.close();
});

Deno.test("ws: request errors are Upbit's and close the socket", async () => {
  const sb = await start();
  const cases: Array<[string, string]> = [
    ["not json", "WRONG_FORMAT"],
    [JSON.stringify([{ type: "ticker", codes: ["KRW-BTC"] }]), "NO_TICKET"],
    [JSON.stringify([{ ticket: "x" }, { type: "ticker" }]), "NO_CODES"],
    [JSON.stringify([{ ticket: "x" }, { type: "nope", codes: ["KRW-BTC"] }]), "INVALID_PARAM"],
    [JSON.stringify([{ ticket: "x" }]), "NO_TYPE"],
    [JSON.stringify([{ ticket: "x" }, { type: "myAsset" }]), "INVALID_AUTH"],
  ];
  for (const [text, name] of cases) {
    const c = await connect(sb.wsUrl);
    c.ws.send(text);
    const err = await c.next((m) => m.error !== undefined);
    assert.equal(err.error.name, name);
    const ev = await c.closed;
    assert.equal(ev.code, 1000);
  }
  await sb.close();
});

Deno.test("ws: 1,001 codes or over 32 types are refused; a message over 64 KiB is cut at its header", async () => {
  const sb = await start();
  const codes = Array.from({ length: 1001 }, (_, i) => `KRW-C${i}`);
  const types = Array.from({ length: 36 }, () => ({ type: "ticker", codes: ["KRW-BTC"] }));
  for (const items of [[{ type: "ticker", codes }], types]) {
    const c = await connect(sb.wsUrl);
    c.ws.send(JSON.stringify([{ ticket: "x" }, ...items]));
    assert.equal((await c.next((m) => m.error !== undefined)).error.name, "INVALID_PARAM");
    assert.equal((await c.closed).code, 1000);
  }
  const ok = await connect(sb.wsUrl);
  ok.ws.send(JSON.stringify([{ ticket: "x" }, { type: "ticker", codes: codes.slice(0, 1000) }]));
  ok.ws.send(JSON.stringify([{ ticket: "y" }, { method: "LIST_SUBSCRIPTIONS" }]));
  const listed = await ok.next((m) => m.method === "LIST_SUBSCRIPTIONS");
  assert.equal(listed.result[0].codes.length, 1000, "1,000 codes are fine");
  ok.ws.close();
  await ok.closed;
  // 40 MB in one message: refused from the frame header, the payload is never read.
  const big = await connect(sb.wsUrl);
  big.ws.send(new Uint8Array(40 * 1024 * 1024));
  const err = await big.next((m) => m.error !== undefined, 5000);
  assert.equal(err.error.name, "WRONG_FORMAT");
  assert.match(err.error.message, /65536 bytes/);
  await big.closed;
  await sb.close();
});

Deno.test("ws: faults drop sockets cleanly (1000), abruptly (1006) and stall silently", async () => {
  const sb = await start();
  const sub = JSON.stringify([{ ticket: "f" }, {
    type: "trade",
    codes: ["KRW-BTC"],
    is_only_realtime: true,
  }]);
  const clean = await connect(sb.wsUrl);
  sb.faults.ws.dropAll("clean");
  assert.equal((await clean.closed).code, 1000);
  const abrupt = await connect(sb.wsUrl);
  abrupt.ws.send(sub);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(sb.faults.ws.dropAll("abrupt"), 1);
  const ev = await abrupt.closed;
  // No close frame: browsers report 1006; Deno's client reports the same abnormal closure as 0.
  assert.ok(ev.code === 1006 || ev.code === 0, `code ${ev.code}`);
  assert.equal(ev.wasClean, false);
  const stalled = await connect(sb.wsUrl);
  stalled.ws.send(sub);
  await new Promise((r) => setTimeout(r, 50));
  sb.faults.ws.stall(true);
  sb.replay.advanceBy(120_000);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(stalled.messages.length, 0);
  assert.equal(stalled.ws.readyState, WebSocket.OPEN);
  sb.faults.ws.stall(false);
  sb.replay.advanceBy(60_000);
  await stalled.next((m) => m.type === "trade");
  stalled.ws.close();
  await stalled.closed;
  await sb.close();
});

Deno.test("ws: idle sockets are closed; message rate limit answers Too Many Requests", async () => {
  const sb = await createSandbox({
    port: 0,
    dataFiles: FILES,
    manualClock: true,
    startAt: "2025-08-01T06:00:00Z",
    wsIdleTimeoutMs: 200,
  });
  const idle = await connect(sb.wsUrl);
  assert.equal((await idle.closed).code, 1000);
  const busy = await connect(sb.wsUrl);
  for (let i = 0; i < 7; i++) {
    busy.ws.send(JSON.stringify([{ ticket: `r${i}` }, { type: "ticker", codes: ["KRW-BTC"] }]));
  }
  const err = await busy.next((m) => m.error?.name === "Too Many Requests");
  assert.ok(err);
  busy.ws.close();
  await busy.closed;
  await sb.close();
});
