/**
 * The acceptance check: a widely used third-party Upbit client, ccxt (its `upbit` REST
 * class and `ccxt.pro.upbit` for WebSocket), unmodified, with only its base URLs pointed at the
 * sandbox and the sandbox's API key pair, can read the market, trade, get the right error classes
 * and stream ticker/trades/order book while the sandbox clock advances.
 */

import assert from "node:assert/strict";
import {
  AuthenticationError,
  type Dict,
  ExchangeError,
  InsufficientFunds,
  InvalidOrder,
  OrderNotFound,
  pro,
  upbit,
} from "ccxt";
import { createSandbox, type Sandbox } from "../../../engine/sandbox/mod.ts";

const SYMBOL = "BTC/KRW";
const FILES = ["data/upbit-KRW-BTC-1d.csv", "data/upbit-KRW-XRP-1d.csv"];
const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

async function start(): Promise<Sandbox> {
  return await createSandbox({
    port: 0,
    dataFiles: FILES,
    manualClock: true,
    startAt: "2025-08-01T06:00:00Z",
    balances: { KRW: "1000000", BTC: "0.01" },
  });
}

/** The WebSocket client ccxt hands to `handleMessage`. */
type WsClient = Parameters<InstanceType<typeof pro.upbit>["handleMessage"]>[0];

/**
 * ccxt under Deno takes its browser path: the native `WebSocket` with `binaryType = "arraybuffer"`,
 * then turns binary frames into text with `toString()`, which only decodes Node `Buffer`s, so an
 * `ArrayBuffer` becomes "[object ArrayBuffer]". Real Upbit sends every frame binary (API.md §7.1),
 * so this hits the real venue too; it is not a sandbox deviation. The work-around lives here, not
 * in ccxt: keep frames raw (`decompressBinary: false`, a ccxt option) and decode them before
 * ccxt's own, unchanged message handler.
 */
class DenoUpbitPro extends pro.upbit {
  override handleMessage(client: WsClient, message: unknown): void {
    const decoded = message instanceof ArrayBuffer
      ? JSON.parse(new TextDecoder().decode(message))
      : message;
    super.handleMessage(client, decoded as Dict);
  }
}

/** Everything a test needs: the sandbox, a ccxt client on it, and every URL ccxt fetched. */
interface Setup {
  readonly sb: Sandbox;
  readonly ex: DenoUpbitPro;
  readonly fetched: string[];
}

/**
 * Points a ccxt upbit client at the sandbox. Only the base URLs change (`urls.api`; ccxt's default
 * is `https://{hostname}` and `wss://{hostname}/websocket/v1`); the fetch wrapper only records
 * and refuses URLs off the sandbox, so an accidental call to the internet fails the test.
 */
function pointAt<T extends upbit>(ex: T, sb: Sandbox, fetched: string[]): T {
  ex.urls["api"] = { public: sb.restUrl, private: sb.restUrl, ws: sb.wsUrl };
  ex.fetchImplementation = (input: string | URL | Request, init?: RequestInit) => {
    const url = input instanceof Request ? input.url : String(input);
    fetched.push(url);
    if (!url.startsWith(`${sb.restUrl}/v1/`)) {
      return Promise.reject(new Error(`Cannot fetch: not the sandbox: ${url}`));
    }
    return fetch(input, init);
  };
  return ex;
}

async function withCcxt(fn: (s: Setup) => Promise<void>): Promise<void> {
  const sb = await start();
  const key = sb.keys[0];
  assert.ok(key !== undefined);
  const fetched: string[] = [];
  const ex = pointAt(
    new DenoUpbitPro({
      apiKey: key.accessKey,
      secret: key.secretKey,
      options: { decompressBinary: false },
    }),
    sb,
    fetched,
  );
  try {
    await fn({ sb, ex, fetched });
  } finally {
    await ex.close();
    await sb.close();
  }
  assert.ok(fetched.length > 0);
  assert.ok(fetched.every((u) => u.startsWith(`${sb.restUrl}/v1/`)), fetched.join("\n"));
}

/** The order's id (ccxt types it as optional). */
function idOf(order: { readonly id?: string }): string {
  assert.ok(order.id !== undefined);
  return order.id;
}

/** Best bid rounded down to BTC's 1,000 KRW tick and scaled by `factor`. */
async function restingBid(ex: upbit, factor: number): Promise<number> {
  const book = await ex.fetchOrderBook(SYMBOL);
  const bestBid = book.bids[0]?.[0];
  assert.ok(bestBid !== undefined);
  return Math.floor((bestBid * factor) / 1000) * 1000;
}

Deno.test("ccxt upbit: loadMarkets, fetchTicker, fetchOrderBook, fetchOHLCV 1m/1d, fetchTrades", async () => {
  await withCcxt(async ({ sb, ex }) => {
    const markets = await ex.loadMarkets();
    assert.deepEqual(Object.keys(markets).sort(), ["BTC/KRW", "XRP/KRW"]);
    assert.equal(markets[SYMBOL]?.id, "KRW-BTC");
    const now = sb.replay.nowMs();

    const ticker = await ex.fetchTicker(SYMBOL);
    assert.equal(ticker.symbol, SYMBOL);
    assert.ok(ticker.last !== undefined && ticker.last > 0);
    assert.ok(ticker.high !== undefined && ticker.low !== undefined);
    assert.ok(ticker.low <= ticker.last && ticker.last <= ticker.high);
    assert.ok(ticker.timestamp !== undefined && ticker.timestamp <= now);
    assert.ok((ticker.baseVolume ?? 0) > 0);

    const book = await ex.fetchOrderBook(SYMBOL, 5);
    assert.equal(book.symbol, SYMBOL);
    assert.equal(book.bids.length, 5);
    assert.equal(book.asks.length, 5);
    const [bid] = book.bids[0] ?? [];
    const [ask] = book.asks[0] ?? [];
    assert.ok(bid !== undefined && ask !== undefined && bid < ask);
    for (let i = 1; i < 5; i++) {
      assert.ok((book.bids[i]?.[0] ?? 0) < (book.bids[i - 1]?.[0] ?? 0));
      assert.ok((book.asks[i]?.[0] ?? 0) > (book.asks[i - 1]?.[0] ?? 0));
    }

    const minutes = await ex.fetchOHLCV(SYMBOL, "1m", undefined, 5);
    assert.equal(minutes.length, 5);
    for (const [ts, o, h, l, c, v] of minutes) {
      assert.ok(ts !== undefined && ts % MINUTE_MS === 0 && ts <= now);
      assert.ok(l !== undefined && h !== undefined && o !== undefined && c !== undefined);
      assert.ok(l <= Math.min(o, c) && Math.max(o, c) <= h);
      assert.ok(v !== undefined && v >= 0);
    }
    // ccxt returns oldest first (Upbit sends newest first).
    assert.ok((minutes[0]?.[0] ?? 0) < (minutes[4]?.[0] ?? 0));

    // `since` becomes Upbit's exclusive `to` (an ISO time, URL-encoded by ccxt).
    const since = now - 30 * MINUTE_MS;
    const window = await ex.fetchOHLCV(SYMBOL, "1m", since, 5);
    assert.equal(window.length, 5);
    assert.ok(
      window.every(([ts]) => ts !== undefined && ts >= since && ts < since + 5 * MINUTE_MS),
    );

    const days = await ex.fetchOHLCV(SYMBOL, "1d", undefined, 3);
    assert.equal(days.length, 3);
    assert.ok(days.every(([ts]) => ts !== undefined && ts % DAY_MS === 0));
    // Today's day candle closes at the last trade price, like the ticker.
    assert.equal(days[2]?.[4], ticker.last);

    const trades = await ex.fetchTrades(SYMBOL, undefined, 10);
    assert.equal(trades.length, 10);
    for (const t of trades) {
      assert.equal(t.symbol, SYMBOL);
      assert.ok(t.side === "buy" || t.side === "sell");
      assert.ok(t.price !== undefined && t.price > 0 && t.amount !== undefined && t.amount > 0);
      assert.ok(t.timestamp !== undefined && t.timestamp <= now);
    }
    assert.equal(trades[trades.length - 1]?.price, ticker.last);
  });
});

Deno.test("ccxt upbit: fetchBalance, limit order lifecycle, market buy by cost, market sell by volume", async () => {
  await withCcxt(async ({ ex }) => {
    const before = await ex.fetchBalance();
    assert.equal(before["KRW"]?.free, 1_000_000);
    assert.equal(before["BTC"]?.free, 0.01);

    // A resting limit buy well below the market: created, fetched, listed, cancelled.
    const price = await restingBid(ex, 0.9);
    const created = await ex.createOrder(SYMBOL, "limit", "buy", 0.0001, price);
    assert.equal(created.status, "open");
    assert.equal(created.type, "limit");
    assert.equal(created.side, "buy");
    assert.equal(created.price, price);
    assert.equal(created.amount, 0.0001);
    const fetched = await ex.fetchOrder(idOf(created));
    assert.equal(fetched.id, created.id);
    assert.equal(fetched.status, "open");
    assert.equal(fetched.remaining, 0.0001);
    const open = await ex.fetchOpenOrders(SYMBOL);
    assert.deepEqual(open.map((o) => o.id), [created.id]);
    const locked = await ex.fetchBalance();
    assert.ok((locked["KRW"]?.used ?? 0) > price * 0.0001);
    const cancelled = await ex.cancelOrder(idOf(created));
    assert.equal(cancelled.id, created.id);
    assert.equal((await ex.fetchOrder(idOf(created))).status, "canceled");
    assert.deepEqual(await ex.fetchOpenOrders(SYMBOL), []);
    const released = await ex.fetchBalance();
    assert.equal(released["KRW"]?.free, 1_000_000);
    assert.equal(released["KRW"]?.used, 0);

    // Market buy by KRW amount: ccxt's upbit sends ord_type "price" with the cost.
    const buy = await ex.createMarketBuyOrderWithCost(SYMBOL, 10_000);
    assert.equal(buy.type, "market");
    assert.equal(buy.side, "buy");
    assert.equal(buy.info["ord_type"], "price");
    assert.equal(buy.info["price"], "10000");
    const bought = await ex.fetchOrder(idOf(buy));
    // Upbit ends a market buy `cancel` when a sub-satoshi remainder cannot be spent (API.md §3.3).
    assert.ok(bought.status === "closed" || bought.status === "canceled", bought.status);
    assert.ok(bought.filled !== undefined && bought.filled > 0);
    assert.ok(bought.trades.length >= 1);
    assert.ok(bought.cost !== undefined && bought.cost > 9_999 && bought.cost <= 10_000);
    assert.ok(bought.fee?.cost !== undefined && bought.fee.cost > 0);
    assert.equal(bought.fee.currency, "KRW");

    // Market sell by volume: ord_type "market".
    const sell = await ex.createOrder(SYMBOL, "market", "sell", 0.0001);
    assert.equal(sell.info["ord_type"], "market");
    const sold = await ex.fetchOrder(idOf(sell));
    assert.equal(sold.status, "closed");
    assert.equal(sold.side, "sell");
    assert.equal(sold.filled, 0.0001);
    assert.ok(sold.average !== undefined && sold.average > 0);

    const after = await ex.fetchBalance();
    const btc = 0.01 + bought.filled - 0.0001;
    assert.ok(Math.abs((after["BTC"]?.total ?? 0) - btc) < 1e-12, `BTC ${after["BTC"]?.total}`);
    const krw = 1_000_000 - bought.cost - bought.fee.cost + (sold.cost ?? 0) -
      (sold.fee?.cost ?? 0);
    assert.ok(Math.abs((after["KRW"]?.total ?? 0) - krw) < 1e-6, `KRW ${after["KRW"]?.total}`);
  });
});

Deno.test("ccxt upbit: Upbit rejections become ccxt's error classes", async () => {
  await withCcxt(async ({ sb, ex }) => {
    const price = await restingBid(ex, 0.9);

    // ccxt's upbit `exceptions` table has no entry for Upbit's `under_min_total_bid`, so ccxt
    // raises its generic ExchangeError (not InvalidOrder) for it: the same against real Upbit.
    await assert.rejects(
      ex.createOrder(SYMBOL, "limit", "buy", 0.00001, price),
      (e: unknown) => {
        assert.ok(e instanceof ExchangeError);
        assert.ok(!(e instanceof InvalidOrder));
        assert.match(e.message, /under_min_total_bid/);
        return true;
      },
    );
    // What the table does map to InvalidOrder ("validation_error" with this exact message).
    await assert.rejects(
      ex.createOrder(SYMBOL, "limit", "buy", 0.0001, price, { side: "sideways" }),
      InvalidOrder,
    );
    await assert.rejects(
      ex.createOrder(SYMBOL, "limit", "buy", 1, price),
      (e: unknown) => e instanceof InsufficientFunds && /insufficient_funds_bid/.test(e.message),
    );
    await assert.rejects(
      ex.createOrder(SYMBOL, "market", "sell", 1),
      (e: unknown) => e instanceof InsufficientFunds && /insufficient_funds_ask/.test(e.message),
    );
    await assert.rejects(
      ex.fetchOrder("00000000-0000-4000-8000-000000000000"),
      OrderNotFound,
    );

    const key = sb.keys[0];
    assert.ok(key !== undefined);
    const fetched: string[] = [];
    const wrong = pointAt(
      new upbit({ apiKey: key.accessKey, secret: "WRONGSECRET00000000000000000000000000000" }),
      sb,
      fetched,
    );
    try {
      await assert.rejects(
        wrong.fetchBalance(),
        (e: unknown) => e instanceof AuthenticationError && /jwt_verification/.test(e.message),
      );
    } finally {
      await wrong.close();
    }
    assert.ok(fetched.every((u) => u.startsWith(`${sb.restUrl}/v1/`)));
  });
});

Deno.test("ccxt.pro upbit: watchTicker, watchTrades, watchOrderBook while the clock advances", async () => {
  await withCcxt(async ({ sb, ex }) => {
    await ex.loadMarkets();
    // Snapshots first (Upbit sends the state at subscribe time). Each watch on a new channel
    // sends ccxt's whole subscription list again, which replaces the previous one and brings
    // fresh snapshots of every type, in order; the order book's is the last of them.
    const ticker0 = await ex.watchTicker(SYMBOL);
    assert.equal(ticker0.symbol, SYMBOL);
    assert.equal(ticker0.info["stream_type"], "SNAPSHOT");
    const trades0 = await ex.watchTrades(SYMBOL);
    assert.equal(trades0.at(-1)?.info["stream_type"], "SNAPSHOT");
    assert.equal(trades0.at(-1)?.price, ticker0.last);
    const book0 = await ex.watchOrderBook(SYMBOL);
    assert.equal(book0.symbol, SYMBOL);
    assert.ok(book0.bids.length > 0 && book0.asks.length > 0);
    assert.ok((book0.bids[0]?.[0] ?? 0) < (book0.asks[0]?.[0] ?? 0));

    // Then realtime data as the sandbox clock moves: each watch resolves on the next push.
    const startMs = sb.replay.nowMs();
    const trades = ex.watchTrades(SYMBOL);
    const ticker = ex.watchTicker(SYMBOL);
    const book = ex.watchOrderBook(SYMBOL);
    sb.replay.advanceBy(MINUTE_MS);
    const [tradeList, ticker1, book1] = await Promise.all([trades, ticker, book]);
    assert.ok(tradeList.length > 0);
    for (const t of tradeList) {
      assert.equal(t.symbol, SYMBOL);
      assert.ok(t.price !== undefined && t.price > 0);
      assert.ok(t.side === "buy" || t.side === "sell");
      assert.ok(t.timestamp !== undefined && t.timestamp <= sb.replay.nowMs());
    }
    assert.ok(tradeList.some((t) => t.info["stream_type"] === "REALTIME"));
    assert.equal(ticker1.info["stream_type"], "REALTIME");
    assert.ok(ticker1.timestamp !== undefined && ticker1.timestamp > startMs);
    assert.ok(book1.timestamp !== undefined && book1.timestamp > startMs);
    assert.ok((book1.bids[0]?.[0] ?? 0) < (book1.asks[0]?.[0] ?? 0));

    // A later realtime trade agrees with REST.
    const more = ex.watchTrades(SYMBOL);
    sb.replay.advanceBy(MINUTE_MS);
    const latest = (await more).at(-1);
    assert.ok(latest !== undefined);
    const rest = await ex.fetchTrades(SYMBOL, undefined, 200);
    const same = rest.find((t) => t.id === latest.id);
    assert.ok(same !== undefined, `trade ${latest.id} over REST`);
    assert.equal(same.price, latest.price);
    assert.equal(same.amount, latest.amount);
    assert.equal(same.side, latest.side);
    // The only socket ccxt opened is the sandbox's.
    assert.deepEqual(Object.keys(ex.clients), [sb.wsUrl]);
  });
});
