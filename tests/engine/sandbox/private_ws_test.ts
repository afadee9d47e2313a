// deno-lint-ignore-file no-explicit-any
/**
 * The private WebSocket (`/websocket/v1/private`, API.md §7.1, §7.3, §7.5) over a real socket:
 * JWT on the upgrade, `myOrder` and `myAsset` for an order placed and filled over REST, exact
 * amounts, both key formats, Upbit's auth error, and no leaks between accounts.
 */

import assert from "node:assert/strict";
import { openDenoSocket } from "../../../engine/adapters/upbit/ws_connection.ts";
import { formatUnits, parseUnits, SCALE, type Units } from "../../../engine/core/money.ts";
import { createSandbox, type Sandbox } from "../../../engine/sandbox/mod.ts";
import { bodyPlain, signToken, type TestKey } from "./_sign.ts";

const KEY_A: TestKey = { accessKey: "PRIVATE-WS-ACCESS-A", secretKey: "PRIVATE-WS-SECRET-A" };
const KEY_B: TestKey = { accessKey: "PRIVATE-WS-ACCESS-B", secretKey: "PRIVATE-WS-SECRET-B" };
const OPENING_KRW = "1000000";

const ORDER_KEYS = [
  "type",
  "code",
  "uuid",
  "ask_bid",
  "order_type",
  "state",
  "trade_uuid",
  "price",
  "avg_price",
  "volume",
  "remaining_volume",
  "executed_volume",
  "trades_count",
  "reserved_fee",
  "remaining_fee",
  "paid_fee",
  "locked",
  "executed_funds",
  "time_in_force",
  "trade_fee",
  "is_maker",
  "identifier",
  "smp_type",
  "prevented_volume",
  "prevented_locked",
  "trade_timestamp",
  "order_timestamp",
  "timestamp",
  "stream_type",
];
/** API.md §7.3 abbreviations, in `ORDER_KEYS` order (`type` is `ty`, §7.2). */
const ORDER_SIMPLE_KEYS = [
  "ty",
  "cd",
  "uid",
  "ab",
  "ot",
  "s",
  "tuid",
  "p",
  "ap",
  "v",
  "rv",
  "ev",
  "tc",
  "rsf",
  "rmf",
  "pf",
  "l",
  "ef",
  "tif",
  "tf",
  "im",
  "id",
  "smpt",
  "pv",
  "pl",
  "ttms",
  "otms",
  "tms",
  "st",
];
const ASSET_KEYS = ["type", "asset_uuid", "assets", "asset_timestamp", "timestamp", "stream_type"];
const ASSET_SIMPLE_KEYS = ["ty", "astuid", "ast", "asttms", "tms", "st"];

async function start(): Promise<Sandbox> {
  return await createSandbox({
    port: 0,
    dataFiles: ["data/upbit-KRW-BTC-1d.csv", "data/upbit-KRW-XRP-1d.csv"],
    manualClock: true,
    startAt: "2025-08-01T06:00:00Z",
    rateLimits: false,
    accounts: [{ ...KEY_A, accountId: "a" }, { ...KEY_B, accountId: "b" }],
    accountBalances: { a: { KRW: OPENING_KRW }, b: { KRW: OPENING_KRW } },
  });
}

/** Parses a frame keeping every JSON number as its exact source text. */
function parseExact(text: string): any {
  return (JSON.parse as (t: string, r: (k: string, v: unknown, ctx: any) => unknown) => any)(
    text,
    (_k, v, ctx) => typeof v === "number" ? ctx.source : v,
  );
}

interface Client {
  readonly ws: WebSocket;
  readonly messages: any[];
  readonly closed: Promise<CloseEvent>;
  next(pred: (m: any) => boolean, ms?: number): Promise<any>;
  /** The format of the last request (a LIST_SUBSCRIPTIONS request re-formats the streams). */
  format: "DEFAULT" | "SIMPLE";
  /** Sends LIST_SUBSCRIPTIONS and waits for its answer: every earlier frame has arrived. */
  barrier(): Promise<void>;
}

function connect(url: string, token?: string): Promise<Client> {
  const ws = openDenoSocket(
    url,
    token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } },
  );
  ws.binaryType = "arraybuffer";
  const messages: any[] = [];
  const waiters: Array<() => void> = [];
  const closed = new Promise<CloseEvent>((resolve) => ws.addEventListener("close", resolve));
  ws.onmessage = (e) => {
    const text = e.data instanceof ArrayBuffer ? new TextDecoder().decode(e.data) : e.data;
    messages.push(parseExact(text));
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
  let barriers = 0;
  async function barrier(): Promise<void> {
    const ticket = `barrier-${++barriers}`;
    ws.send(
      JSON.stringify([{ ticket }, { method: "LIST_SUBSCRIPTIONS" }, { format: client.format }]),
    );
    await next((m) => m.method === "LIST_SUBSCRIPTIONS" && m.ticket === ticket);
  }
  const client: Client = { ws, messages, closed, next, format: "DEFAULT", barrier };
  return new Promise((resolve, reject) => {
    ws.onopen = () => resolve(client);
    ws.onerror = () => reject(new Error("connect failed"));
  });
}

/** Subscribes to both private types and waits until the server has taken the request. */
async function subscribe(
  c: Client,
  format: "DEFAULT" | "SIMPLE",
  codes?: string[],
): Promise<void> {
  c.format = format;
  c.ws.send(JSON.stringify([
    { ticket: `sub-${format}` },
    codes === undefined ? { type: "myOrder" } : { type: "myOrder", codes },
    { type: "myAsset" },
    { format },
  ]));
  await c.barrier();
}

/** A signed exchange call over the real socket. */
async function rest(
  sb: Sandbox,
  key: TestKey,
  method: "GET" | "POST",
  path: string,
  params: Record<string, string> = {},
): Promise<[number, any]> {
  let url = sb.restUrl + path;
  let body: string | undefined;
  let hashed = "";
  if (method === "POST") {
    body = JSON.stringify(params);
    hashed = bodyPlain(params);
  } else if (Object.keys(params).length > 0) {
    hashed = Object.entries(params).map(([k, v]) => `${k}=${v}`).join("&");
    url += "?" + Object.entries(params).map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join("&");
  }
  const res = await fetch(url, {
    method,
    headers: {
      authorization: `Bearer ${await signToken(key, { hashed })}`,
      ...(body === undefined ? {} : { "content-type": "application/json; charset=utf-8" }),
    },
    ...(body === undefined ? {} : { body }),
  });
  return [res.status, parseExact(await res.text())];
}

const units = (text: string): Units => parseUnits(text);
const mulFloor = (a: Units, b: Units): Units => a * b / SCALE;
const ceilDiv = (a: bigint, b: bigint): bigint => (a + b - 1n) / b;

/** Places a limit bid at the best ask for `volume`, which the top level alone fills. */
async function buyAtBestAsk(
  sb: Sandbox,
  key: TestKey,
  identifier: string,
): Promise<{ order: any; price: Units; volume: Units }> {
  const book = (await (await fetch(`${sb.restUrl}/v1/orderbook?markets=KRW-BTC`)).json())[0];
  const top = book.orderbook_units[0];
  const price = units(String(top.ask_price));
  const volume = units("0.00012345");
  assert.ok(units(String(top.ask_size)) >= volume, "the top ask fills the whole order");
  assert.ok(mulFloor(price, volume) >= 5000n * SCALE, "above the 5,000 KRW minimum");
  const [status, order] = await rest(sb, key, "POST", "/v1/orders", {
    market: "KRW-BTC",
    side: "bid",
    volume: formatUnits(volume),
    price: formatUnits(price),
    ord_type: "limit",
    identifier,
  });
  assert.equal(status, 201, JSON.stringify(order));
  return { order, price, volume };
}

Deno.test("private ws: myOrder wait → trade → done and myAsset, exact, DEFAULT and SIMPLE", async () => {
  const sb = await start();
  const clients: Client[] = [];
  try {
    const url = `${sb.wsUrl}/private`;
    const full = await connect(url, await signToken(KEY_A));
    const simple = await connect(url, await signToken(KEY_A, { alg: "HS256" }));
    clients.push(full, simple);
    await subscribe(full, "DEFAULT");
    await subscribe(simple, "SIMPLE", ["KRW-BTC"]);

    const { order, price, volume } = await buyAtBestAsk(sb, KEY_A, "pws-a-1");
    const notional = mulFloor(price, volume);
    const reservedFee = ceilDiv(notional * 5n, 10_000n);
    const funds = notional; // one fill at the limit price
    const fee = ceilDiv(funds * 5n, 10_000n);
    assert.equal(units(order.reserved_fee), reservedFee);
    assert.equal(units(order.locked), notional + reservedFee);

    // DEFAULT: three myOrder messages in order.
    const done = await full.next((m) => m.type === "myOrder" && m.state === "done");
    const orders = full.messages.filter((m) => m.type === "myOrder");
    assert.deepEqual(orders.map((m) => m.state), ["wait", "trade", "done"]);
    for (const m of orders) {
      assert.deepEqual(Object.keys(m).sort(), [...ORDER_KEYS].sort());
      assert.equal(m.code, "KRW-BTC");
      assert.equal(m.uuid, order.uuid);
      assert.equal(m.ask_bid, "BID");
      assert.equal(m.order_type, "limit");
      assert.equal(m.identifier, "pws-a-1");
      assert.equal(m.stream_type, "REALTIME");
      assert.equal(m.time_in_force, null);
      assert.equal(m.smp_type, null);
      assert.equal(units(m.reserved_fee), reservedFee);
      assert.equal(units(m.prevented_volume), 0n);
      assert.equal(units(m.prevented_locked), 0n);
      assert.match(m.order_timestamp, /^\d{13}$/);
      assert.match(m.timestamp, /^\d{13}$/);
    }
    const [wait, trade] = orders;
    assert.equal(wait.trade_uuid, null);
    assert.equal(wait.trade_fee, null);
    assert.equal(wait.is_maker, null);
    assert.equal(wait.trade_timestamp, null);
    assert.equal(units(wait.price), price);
    assert.equal(units(wait.volume), volume);
    assert.equal(units(wait.remaining_volume), volume);
    assert.equal(units(wait.executed_volume), 0n);
    assert.equal(wait.trades_count, "0");
    assert.equal(units(wait.locked), notional + reservedFee);
    assert.equal(units(wait.paid_fee), 0n);

    // The fill: the trade's own id, price, volume and fee.
    const [, detail] = await rest(sb, KEY_A, "GET", "/v1/order", { uuid: order.uuid });
    assert.equal(detail.state, "done");
    assert.equal(detail.trades.length, 1);
    assert.equal(trade.trade_uuid, detail.trades[0].uuid);
    assert.match(trade.trade_uuid, /^[0-9a-f-]{36}$/);
    assert.equal(units(trade.price), price);
    assert.equal(units(trade.volume), volume);
    assert.equal(units(trade.trade_fee), fee);
    assert.equal(trade.is_maker, false);
    assert.match(trade.trade_timestamp, /^\d{13}$/);
    assert.equal(units(trade.executed_volume), volume);
    assert.equal(units(trade.remaining_volume), 0n);
    assert.equal(units(trade.executed_funds), funds);
    assert.equal(units(trade.paid_fee), fee);
    assert.equal(units(trade.remaining_fee), reservedFee - fee);
    assert.equal(units(trade.avg_price), price);
    assert.equal(trade.trades_count, "1");
    assert.equal(done.trade_uuid, null);
    assert.equal(done.trade_fee, null);
    assert.equal(units(done.executed_volume), volume);
    assert.equal(units(done.paid_fee), fee);
    assert.equal(units(done.remaining_volume), 0n);

    // myAsset: first the KRW lock, then KRW spent and BTC received; exact to 1e-8.
    await full.barrier();
    const assets = full.messages.filter((m) => m.type === "myAsset");
    assert.equal(assets.length, 2);
    for (const m of assets) {
      assert.deepEqual(Object.keys(m).sort(), [...ASSET_KEYS].sort());
      assert.equal(m.stream_type, "REALTIME");
      assert.match(m.asset_uuid, /^[0-9a-f-]{36}$/);
      for (const line of m.assets) {
        assert.deepEqual(Object.keys(line).sort(), ["balance", "currency", "locked"]);
      }
    }
    const lines = (m: any) =>
      Object.fromEntries(
        m.assets.map((l: any) => [l.currency, [units(l.balance), units(l.locked)]]),
      );
    const opening = units(OPENING_KRW);
    assert.deepEqual(lines(assets[0]), {
      KRW: [opening - notional - reservedFee, notional + reservedFee],
    });
    assert.deepEqual(lines(assets[1]), {
      KRW: [opening - funds - fee, 0n],
      BTC: [volume, 0n],
    });
    // …and they agree with /v1/accounts.
    const [, accounts] = await rest(sb, KEY_A, "GET", "/v1/accounts");
    const byCurrency = Object.fromEntries(
      accounts.map((a: any) => [a.currency, [units(a.balance), units(a.locked)]]),
    );
    assert.deepEqual(byCurrency.KRW, [opening - funds - fee, 0n]);
    assert.deepEqual(byCurrency.BTC, [volume, 0n]);

    // SIMPLE: the same messages under the abbreviated keys.
    await simple.barrier();
    const simpleOrders = simple.messages.filter((m) => m.ty === "myOrder");
    assert.deepEqual(simpleOrders.map((m) => m.s), ["wait", "trade", "done"]);
    for (const [i, m] of simpleOrders.entries()) {
      assert.deepEqual(Object.keys(m).sort(), [...ORDER_SIMPLE_KEYS].sort());
      const long = orders[i];
      ORDER_KEYS.forEach((k, j) => assert.deepEqual(m[ORDER_SIMPLE_KEYS[j] as string], long[k], k));
    }
    assert.equal(units(simpleOrders[1].tf), fee);
    assert.equal(simpleOrders[1].tuid, trade.trade_uuid);
    const simpleAssets = simple.messages.filter((m) => m.ty === "myAsset");
    assert.equal(simpleAssets.length, 2);
    for (const m of simpleAssets) {
      assert.deepEqual(Object.keys(m).sort(), [...ASSET_SIMPLE_KEYS].sort());
      for (const line of m.ast) assert.deepEqual(Object.keys(line).sort(), ["b", "cu", "l"]);
    }
    assert.deepEqual(
      simpleAssets[1].ast.map((l: any) => [l.cu, units(l.b), units(l.l)]),
      assets[1].assets.map((l: any) => [l.currency, units(l.balance), units(l.locked)]),
    );
  } finally {
    for (const c of clients) c.ws.close();
    await Promise.all(clients.map((c) => c.closed));
    await sb.close();
  }
});

Deno.test("private ws: a missing, forged or replayed JWT gets INVALID_AUTH and a 1000 close", async () => {
  const sb = await start();
  try {
    const url = `${sb.wsUrl}/private`;
    const replayed = await signToken(KEY_A);
    const first = await connect(url, replayed);
    const forged = await signToken({ accessKey: KEY_A.accessKey, secretKey: "WRONG-SECRET" });
    const unknown = await signToken({ accessKey: "NOT-A-KEY", secretKey: "x" });
    const cases: Array<[string, string | undefined]> = [
      ["missing", undefined],
      ["forged", forged],
      ["unknown key", unknown],
      ["replayed nonce", replayed],
      ["not a JWT", "garbage"],
    ];
    for (const [label, token] of cases) {
      const c = await connect(url, token);
      const closed = await c.closed;
      assert.equal(closed.code, 1000, label);
      assert.equal(c.messages.length, 1, label);
      assert.equal(c.messages[0].error.name, "INVALID_AUTH", label);
      assert.equal(typeof c.messages[0].error.message, "string", label);
      assert.deepEqual(Object.keys(c.messages[0]), ["error"], label);
    }
    // The public endpoint without a token refuses the private types the same way.
    const pub = await connect(sb.wsUrl);
    pub.ws.send(JSON.stringify([{ ticket: "t" }, { type: "myOrder" }]));
    const closed = await pub.closed;
    assert.equal(closed.code, 1000);
    assert.equal(pub.messages[0].error.name, "INVALID_AUTH");
    // The first connection, whose token was valid, is still usable.
    await subscribe(first, "DEFAULT");
    first.ws.close();
    await first.closed;
  } finally {
    await sb.close();
  }
});

Deno.test("private ws: one account never sees another account's events", async () => {
  const sb = await start();
  const clients: Client[] = [];
  try {
    const url = `${sb.wsUrl}/private`;
    const a = await connect(url, await signToken(KEY_A));
    const b = await connect(url, await signToken(KEY_B));
    clients.push(a, b);
    await subscribe(a, "DEFAULT");
    await subscribe(b, "DEFAULT");

    const { order: orderB } = await buyAtBestAsk(sb, KEY_B, "pws-b-1");
    await b.next((m) => m.type === "myOrder" && m.state === "done");
    const { order: orderA } = await buyAtBestAsk(sb, KEY_A, "pws-a-2");
    await a.next((m) => m.type === "myOrder" && m.state === "done");
    await a.barrier();
    await b.barrier();

    const uuidsOf = (c: Client) =>
      new Set(c.messages.filter((m) => m.type === "myOrder").map((m) => m.uuid));
    assert.deepEqual([...uuidsOf(a)], [orderA.uuid]);
    assert.deepEqual([...uuidsOf(b)], [orderB.uuid]);
    assert.ok(a.messages.every((m) => m.identifier !== "pws-b-1"));
    assert.ok(b.messages.every((m) => m.identifier !== "pws-a-2"));
    // Each side's asset stream matches its own account only.
    for (const [c, key] of [[a, KEY_A], [b, KEY_B]] as const) {
      const last = c.messages.filter((m) => m.type === "myAsset").at(-1);
      const [, accounts] = await rest(sb, key, "GET", "/v1/accounts");
      for (const line of last.assets) {
        const acct = accounts.find((x: any) => x.currency === line.currency);
        assert.equal(units(line.balance), units(acct.balance));
        assert.equal(units(line.locked), units(acct.locked));
      }
      assert.equal(c.messages.filter((m) => m.type === "myAsset").length, 2);
    }
  } finally {
    for (const c of clients) c.ws.close();
    await Promise.all(clients.map((c) => c.closed));
    await sb.close();
  }
});
