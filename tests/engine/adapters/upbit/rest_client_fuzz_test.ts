import assert from "node:assert/strict";
import fc from "fast-check";
import { parseUnits } from "../../../../engine/core/money.ts";
import { Secret } from "../../../../engine/adapters/upbit/auth.ts";
import { EngineError, TemporaryError } from "../../../../engine/errors.ts";
import { UpbitRestClient } from "../../../../engine/adapters/upbit/rest_client.ts";

type FieldKind = "num" | "dec" | "str" | "bool" | "time" | "enum";

interface Endpoint {
  readonly name: string;
  readonly call: (c: UpbitRestClient) => Promise<unknown>;
  /** The valid object (the response is `[obj]` when `list`). */
  readonly valid: Record<string, unknown>;
  readonly list: boolean;
  readonly fields: Readonly<Record<string, FieldKind>>;
  readonly check: (result: unknown) => void;
}

const ORDER = {
  uuid: "4f6c2a1e-0b7d-4c8e-9a31-2d5e7f9b1c40",
  side: "bid",
  ord_type: "limit",
  price: "131250000",
  state: "wait",
  market: "KRW-BTC",
  created_at: "2026-11-24T10:15:02+09:00",
  volume: "0.0004",
  remaining_volume: "0.0004",
  executed_volume: "0",
  reserved_fee: "26.25",
  remaining_fee: "26.25",
  paid_fee: "0",
  locked: "52526.25",
  trades_count: 0,
  identifier: "bot-1",
};

const ENDPOINTS: readonly Endpoint[] = [
  {
    name: "accounts",
    call: (c) => c.accounts(),
    list: true,
    valid: {
      currency: "KRW",
      balance: "1250000.52",
      locked: "52526.25",
      avg_buy_price: "0",
      avg_buy_price_modified: false,
      unit_currency: "KRW",
    },
    fields: {
      currency: "str",
      balance: "dec",
      locked: "dec",
      avg_buy_price: "dec",
      avg_buy_price_modified: "bool",
      unit_currency: "str",
    },
    check: (r) => assert.equal((r as Array<{ balance: bigint }>)[0]?.balance, 125000052000000n),
  },
  {
    name: "candles",
    call: (c) => c.minuteCandles("KRW-BTC", { count: 1 }),
    list: true,
    valid: {
      market: "KRW-BTC",
      candle_date_time_utc: "2026-11-24T01:05:00",
      candle_date_time_kst: "2026-11-24T10:05:00",
      opening_price: 131200000,
      high_price: 131290000,
      low_price: 131180000,
      trade_price: 131250000,
      timestamp: 1795482358412,
      candle_acc_trade_price: 402118733.51,
      candle_acc_trade_volume: 3.0641,
      unit: 1,
    },
    fields: {
      market: "str",
      candle_date_time_utc: "time",
      opening_price: "num",
      high_price: "num",
      low_price: "num",
      trade_price: "num",
      candle_acc_trade_price: "num",
      candle_acc_trade_volume: "num",
    },
    check: (r) => assert.equal((r as Array<{ startMs: number }>)[0]?.startMs, 1795482300000),
  },
  {
    name: "orderbook",
    call: (c) => c.orderbooks(["KRW-BTC"]),
    list: true,
    valid: {
      market: "KRW-BTC",
      timestamp: 1795482358506,
      total_ask_size: 0.0213,
      total_bid_size: 0.312,
      orderbook_units: [{
        ask_price: 131251000,
        bid_price: 131250000,
        ask_size: 0.0213,
        bid_size: 0.312,
      }],
      level: 0,
    },
    fields: { market: "str", timestamp: "num", orderbook_units: "enum" },
    check: (r) =>
      assert.equal((r as Array<{ bids: Array<{ size: bigint }> }>)[0]?.bids[0]?.size, 31_200_000n),
  },
  {
    name: "order",
    call: (c) => c.getOrder({ identifier: "bot-1" }),
    list: false,
    valid: ORDER,
    fields: {
      uuid: "str",
      side: "enum",
      ord_type: "enum",
      state: "enum",
      market: "str",
      created_at: "time",
      executed_volume: "dec",
      reserved_fee: "dec",
      remaining_fee: "dec",
      paid_fee: "dec",
      locked: "dec",
      trades_count: "num",
      price: "dec",
      volume: "dec",
    },
    check: (r) => assert.equal((r as { locked: bigint }).locked, parseUnits("52526.25")),
  },
];

const INVALID: Readonly<Record<FieldKind, readonly unknown[]>> = {
  num: ["NaN", "1", null, -1, -0.5, {}, [], true, "Infinity"],
  dec: ["NaN", "-1", "1e", "1.2.3", 1, null, "", "abc", "-0.5", "1,000", {}, []],
  str: [1, null, {}, [], true],
  bool: ["true", 1, null, {}],
  time: ["2026-13-45T99:99:99", "yesterday", 123, null, "2026-11-24"],
  enum: ["sideways", 1, null, {}, "WAIT"],
};

interface Served {
  readonly status: number;
  readonly contentType: string;
  readonly body: Uint8Array<ArrayBuffer>;
}

const enc = new TextEncoder();

function json(status: number, value: unknown): Served {
  return { status, contentType: "application/json", body: enc.encode(JSON.stringify(value)) };
}

function validBody(e: Endpoint): unknown {
  return e.list ? [e.valid] : e.valid;
}

/** Malformed answers: every one must be refused with a typed error. */
function malformed(e: Endpoint): fc.Arbitrary<Served> {
  const text = JSON.stringify(validBody(e));
  const fieldNames = Object.keys(e.fields);
  const truncated = fc.integer({ min: 0, max: text.length - 1 }).map((n): Served => ({
    status: 200,
    contentType: "application/json",
    body: enc.encode(text.slice(0, n)),
  }));
  const wrongField = fc.tuple(fc.constantFrom(...fieldNames), fc.nat()).map(([f, i]): Served => {
    const options = INVALID[e.fields[f]!];
    const obj: Record<string, unknown> = { ...e.valid, [f]: options[i % options.length] };
    return json(200, e.list ? [obj] : obj);
  });
  const missingField = fc.constantFrom(...fieldNames).map((f): Served => {
    const obj: Record<string, unknown> = { ...e.valid };
    delete obj[f];
    return json(200, e.list ? [obj] : obj);
  });
  const nanLiteral = fc.constant<Served>({
    status: 200,
    contentType: "application/json",
    body: enc.encode(text.replace(/:(\d+(\.\d+)?)([,}])/, ":NaN$3").replace(/"0"/, "NaN")),
  });
  const html = fc.tuple(fc.constantFrom(200, 400, 403, 404, 500, 502, 503), fc.string())
    .map(([status, s]): Served => ({
      status,
      contentType: "text/html",
      body: enc.encode(`<html><head><title>${status}</title></head><body>${s}</body></html>`),
    }));
  const garbage = fc.tuple(
    fc.constantFrom(0x00, 0xff, 0x3c, 0x7b),
    fc.uint8Array({ maxLength: 300 }),
    fc.constantFrom(200, 201, 400, 404, 500, 503),
  ).map(([first, bytes, status]): Served => ({
    status,
    contentType: "application/octet-stream",
    body: new Uint8Array([first, ...bytes, 0x00]),
  }));
  const wrongTop = fc.constantFrom<unknown>(null, 1, "x", {}, [[]], true, e.list ? {} : [])
    .map((v) => json(200, v));
  const oddError = fc.tuple(
    fc.constantFrom<unknown>(400, "weird_name", null, [], {}, 1.5, "insufficient_funds_bid"),
    fc.constantFrom(400, 401, 403, 404, 422, 500),
  ).map(([name, status]) => json(status, { error: { name, message: 1 } }));
  return fc.oneof(
    truncated,
    wrongField,
    missingField,
    nanLiteral,
    html,
    garbage,
    wrongTop,
    oddError,
  );
}

Deno.test("2,000 malformed REST bodies: each refused with a typed error, the next valid one parsed", async () => {
  let next: Served = json(200, []);
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) => {
      assert.equal(req.headers.get("origin"), null, "never an Origin header");
      return new Response(next.body, {
        status: next.status,
        headers: { "content-type": next.contentType },
      });
    },
  );
  const client = new UpbitRestClient({
    restUrl: `http://127.0.0.1:${server.addr.port}`,
    accessKey: "ACCESS",
    secretKey: new Secret("SECRET"),
    maxReadRetries: 0,
    timeoutMs: 2000,
    rateLimits: Object.fromEntries(
      ["candle", "orderbook", "default"].map((g) => [g, { limit: 1e9, windowMs: 1000 }]),
    ),
  });
  let crashes = 0;
  let refused = 0;
  try {
    const arb = fc.constantFrom(...ENDPOINTS).chain((e) => fc.tuple(fc.constant(e), malformed(e)));
    await fc.assert(
      fc.asyncProperty(arb, async ([endpoint, served]) => {
        next = served;
        try {
          await endpoint.call(client);
          assert.fail(
            `accepted a malformed ${endpoint.name} body: ${new TextDecoder().decode(served.body)}`,
          );
        } catch (error) {
          if (!(error instanceof EngineError)) {
            crashes++;
            throw error;
          }
          if (served.status === 200 || served.status === 201) {
            assert.ok(
              error instanceof TemporaryError && error.reason === "bad_response",
              String(error),
            );
          }
          refused++;
        }
        next = json(200, validBody(endpoint));
        endpoint.check(await endpoint.call(client));
      }),
      { numRuns: 2000 },
    );
  } finally {
    await server.shutdown();
  }
  assert.equal(crashes, 0);
  assert.equal(refused, 2000);
});
