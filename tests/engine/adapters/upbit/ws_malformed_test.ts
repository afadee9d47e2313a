/**
 * 10,000 malformed frames (fast-check: truncated JSON, wrong types, NaN, negative volumes,
 * unknown types, HTML pages, binary garbage, inconsistent candles, foreign codes, oversize)
 * sent over a real socket from a tiny local `Deno.serve` stub, each followed by one valid trade:
 * the stream never stops, every bad frame is rejected with its typed reason, every valid trade
 * comes through in order, and each kind of problem is logged once.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { createMarketStream } from "../../../../engine/adapters/upbit/ws_client.ts";
import {
  decodeFrame,
  MALFORMED_REASONS,
  type MalformedReason,
  MAX_FRAME_BYTES,
} from "../../../../engine/adapters/upbit/ws_messages.ts";
import { collect } from "./ws_harness_test.ts";

type Json = Record<string, unknown>;

function trade(seq: number, code = "KRW-BTC"): Json {
  return {
    type: "trade",
    code,
    timestamp: 1795482358530,
    trade_date: "2026-11-24",
    trade_time: "01:05:58",
    trade_timestamp: 1795482358471,
    trade_price: 131250000.0,
    trade_volume: 0.0021,
    ask_bid: "BID",
    prev_closing_price: 130410000.0,
    change: "RISE",
    change_price: 840000.0,
    sequential_id: seq,
    best_ask_price: 131251000,
    best_ask_size: 0.0213,
    best_bid_price: 131250000,
    best_bid_size: 0.3099,
    stream_type: "REALTIME",
  };
}

const CANDLE: Json = {
  type: "candle.1m",
  code: "KRW-BTC",
  candle_date_time_utc: "2026-11-24T01:05:00",
  candle_date_time_kst: "2026-11-24T10:05:00",
  opening_price: 131200000.0,
  high_price: 131260000.0,
  low_price: 131190000.0,
  trade_price: 131250000.0,
  candle_acc_trade_volume: 0.5127,
  candle_acc_trade_price: 67290312.4,
  timestamp: 1795482358471,
  stream_type: "REALTIME",
};

const TICKER: Json = {
  type: "ticker",
  code: "KRW-BTC",
  opening_price: 130000000,
  high_price: 132000000,
  low_price: 129000000,
  trade_price: 131250000,
  prev_closing_price: 130410000,
  change: "RISE",
  change_price: 840000,
  signed_change_price: 840000,
  change_rate: 0.0064,
  signed_change_rate: 0.0064,
  trade_volume: 0.0021,
  acc_trade_volume: 12.5,
  acc_trade_volume_24h: 30.1,
  acc_trade_price: 1640000000,
  acc_trade_price_24h: 3900000000,
  trade_timestamp: 1795482358471,
  ask_bid: "BID",
  market_state: "ACTIVE",
  timestamp: 1795482358530,
  stream_type: "REALTIME",
};

const TEMPLATES: readonly Json[] = [trade(1), CANDLE, TICKER];
const VOLUME_FIELDS: Readonly<Record<string, readonly string[]>> = {
  trade: ["trade_volume"],
  "candle.1m": ["candle_acc_trade_volume", "candle_acc_trade_price"],
  ticker: ["trade_volume", "acc_trade_volume", "acc_trade_volume_24h"],
};
const KNOWN_TYPES = new Set(["ticker", "trade", "orderbook", "myOrder", "myAsset"]);

/** One malformed frame and the reasons it may be rejected with. */
interface Case {
  readonly frame: string | Uint8Array;
  readonly expect: readonly MalformedReason[];
  readonly category: string;
}

const enc = new TextEncoder();

/** An independent classifier for random bytes (does not use the client's decoder). */
function bytesReason(bytes: Uint8Array): MalformedReason {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return "not_utf8";
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return "not_json";
  }
  return v !== null && typeof v === "object" && !Array.isArray(v) ? "unknown_type" : "not_object";
}

const wrongFor = (value: unknown) =>
  typeof value === "number"
    ? fc.oneof(fc.string(), fc.boolean(), fc.constant(null), fc.array(fc.nat()), fc.object())
    : fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.string()));

const template = fc.constantFrom(...TEMPLATES);

const truncated = fc.tuple(template, fc.double({ min: 0, max: 1, noNaN: true })).map(
  ([t, f]): Case => {
    const s = JSON.stringify(t);
    return {
      frame: enc.encode(s.slice(0, Math.floor(f * (s.length - 1)))),
      expect: ["not_json"],
      category: "truncated",
    };
  },
);

const wrongType = template.chain((t) => {
  const keys = Object.keys(t).filter((k) =>
    k !== "type" && !k.startsWith("best_") &&
    k !== "candle_date_time_kst" && k !== "trade_date" && k !== "trade_time"
  );
  return fc.constantFrom(...keys).chain((k) =>
    wrongFor(t[k]).map((v): Case => ({
      frame: enc.encode(JSON.stringify({ ...t, [k]: v })),
      expect: ["invalid_fields"],
      category: "wrong_type",
    }))
  );
});

const nanLiteral = fc.tuple(template, fc.constantFrom("NaN", "Infinity", "-Infinity", "nan"))
  .map(([t, lit]): Case => {
    const field = Object.keys(t).find((k) => typeof t[k] === "number") as string;
    const s = JSON.stringify(t).replace(`"${field}":${t[field]}`, `"${field}":${lit}`);
    return { frame: s, expect: ["not_json"], category: "nan_literal" };
  });

const nanString = fc.tuple(template, fc.constantFrom("NaN", "Infinity", "1e999x")).map(
  ([t, lit]): Case => {
    const field = Object.keys(t).find((k) => typeof t[k] === "number") as string;
    return {
      frame: enc.encode(JSON.stringify({ ...t, [field]: lit })),
      expect: ["invalid_fields"],
      category: "nan_string",
    };
  },
);

const hugeNumber = template.map((t): Case => {
  const field = VOLUME_FIELDS[t.type as string]![0]!;
  // 1e999 parses to Infinity: not a finite amount.
  const s = JSON.stringify(t).replace(`"${field}":${t[field]}`, `"${field}":1e999`);
  return { frame: s, expect: ["invalid_fields"], category: "infinite" };
});

const negativeVolume = fc.tuple(template, fc.double({ min: -1e12, max: -1e-8, noNaN: true }))
  .chain(([t, v]) =>
    fc.constantFrom(...VOLUME_FIELDS[t.type as string]!).map((field): Case => ({
      frame: enc.encode(JSON.stringify({ ...t, [field]: v })),
      expect: ["invalid_fields"],
      category: "negative_volume",
    }))
  );

const unknownType = fc.tuple(
  template,
  fc.oneof(
    fc.string({ minLength: 1, maxLength: 12 }),
    fc.constantFrom("candle.5m", "candle.1s", "announcement", "TICKER"),
  ).filter((s) => !KNOWN_TYPES.has(s) && s !== "candle.1m"),
).map(([t, type]): Case => ({
  frame: enc.encode(JSON.stringify({ ...t, type })),
  expect: ["unknown_type"],
  category: "unknown_type",
}));

const html = fc.tuple(
  fc.constantFrom(
    "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
    "<!DOCTYPE html><html><body><h1>503 Service Unavailable</h1></body></html>",
    '<?xml version="1.0"?><error>rate limited</error>',
  ),
  fc.string({ maxLength: 40 }),
  fc.boolean(),
).map(([page, tail, asText]): Case => ({
  frame: asText ? page + tail : enc.encode(page + tail),
  expect: ["not_json"],
  category: "html",
}));

const garbage = fc.uint8Array({ minLength: 1, maxLength: 300 }).map((bytes): Case => ({
  frame: bytes,
  expect: [bytesReason(bytes)],
  category: "binary",
}));

const notObject = fc.oneof(
  fc.jsonValue().filter((v) => v === null || typeof v !== "object" || Array.isArray(v)),
).map((v): Case => ({
  frame: enc.encode(JSON.stringify(v)),
  expect: ["not_object"],
  category: "not_object",
}));

const inconsistent = fc.tuple(fc.integer({ min: 1, max: 1000 })).map(([d]): Case => ({
  frame: enc.encode(
    JSON.stringify({ ...CANDLE, high_price: 100_000 + d, low_price: 200_000, opening_price: 1e5 }),
  ),
  expect: ["inconsistent"],
  category: "inconsistent",
}));

const foreignCode = fc.constantFrom("KRW-ETH", "KRW-DOGE", "BTC-XRP").map((code): Case => ({
  frame: enc.encode(JSON.stringify(trade(0, code))),
  expect: ["unexpected_code"],
  category: "foreign_code",
}));

const privateOnPublic = fc.constant<Case>({
  frame: enc.encode(
    JSON.stringify({
      type: "myAsset",
      asset_uuid: "x",
      assets: [{ currency: "KRW", balance: 1, locked: 0 }],
      asset_timestamp: 1,
      timestamp: 1,
      stream_type: "REALTIME",
    }),
  ),
  expect: ["unexpected_type"],
  category: "unexpected_type",
});

const malformedFrame: fc.Arbitrary<Case> = fc.oneof(
  truncated,
  wrongType,
  nanLiteral,
  nanString,
  hugeNumber,
  negativeVolume,
  unknownType,
  html,
  garbage,
  notObject,
  inconsistent,
  foreignCode,
  privateOnPublic,
);

const N = 10_000;

Deno.test({
  name: "market stream: 10,000 malformed frames over a real socket → 0 crashes, typed rejects",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const cases = fc.sample(malformedFrame, { numRuns: N - 2, seed: 20260924 });
    cases.push(
      {
        frame: enc.encode("x".repeat(MAX_FRAME_BYTES + 1)),
        expect: ["too_large"],
        category: "big",
      },
      { frame: "[".repeat(MAX_FRAME_BYTES + 10), expect: ["too_large"], category: "big" },
    );
    const expected = Object.fromEntries(MALFORMED_REASONS.map((r) => [r, 0])) as Record<
      MalformedReason,
      number
    >;
    for (const c of cases) {
      assert.equal(c.expect.length, 1);
      expected[c.expect[0]!]++;
    }
    // Every category is represented.
    assert.ok(new Set(cases.map((c) => c.category)).size >= 13);

    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
      const { socket, response } = Deno.upgradeWebSocket(req);
      socket.onmessage = (e) => {
        if (e.data === "PING") return;
        // The subscription arrived: one bad frame, then one valid trade, N times.
        cases.forEach((c, i) => {
          socket.send(c.frame);
          socket.send(enc.encode(JSON.stringify(trade(i + 1))));
        });
      };
      return response;
    });
    const warnings: Array<Readonly<Record<string, unknown>> | undefined> = [];
    const stream = createMarketStream({
      url: `ws://127.0.0.1:${server.addr.port}/websocket/v1`,
      markets: ["KRW-BTC"],
      types: ["ticker", "trade", "candle.1m"],
      history: () => Promise.resolve([]),
      logger: { warn: (_m, data) => warnings.push(data) },
    });
    const events = collect(stream.events());
    try {
      await events.waitFor((e) => e.kind === "trade" && e.trade.sequential_id === N, {
        ms: 30_000,
      });
      const trades = events.items.flatMap((e) => e.kind === "trade" ? [e.trade] : []);
      assert.deepEqual(trades.map((t) => t.sequential_id), cases.map((_, i) => i + 1));
      const status = stream.status();
      assert.equal(status.malformed, N);
      assert.deepEqual(status.malformedByReason, expected);
      assert.equal(status.connected, true);
      assert.equal(status.reconnects, 0);
      // Logged once per (reason, type) kind, not once per frame.
      const kinds = new Set(warnings.map((w) => `${w?.reason}|${w?.type ?? ""}`));
      assert.equal(kinds.size, warnings.length);
      assert.ok(warnings.length < 40, `${warnings.length} warnings`);
      // Candles emitted from bad frames: none (all candle frames here were bad).
      assert.equal(events.items.filter((e) => e.kind === "candle").length, 0);
    } finally {
      await stream.close();
      await events.done;
      await server.shutdown();
    }
  },
});

Deno.test("decodeFrame() never throws and rejects each category with its reason (in-process)", () => {
  fc.assert(
    fc.property(malformedFrame, (c) => {
      const r = decodeFrame(c.frame);
      if (c.category === "foreign_code" || c.category === "unexpected_type") {
        // Valid frames: the client, not the decoder, rejects them.
        return r.ok;
      }
      return !r.ok && c.expect.includes(r.error.reason);
    }),
    { numRuns: 5_000, seed: 42 },
  );
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.uint8Array()), (x) => {
      decodeFrame(x);
      return true;
    }),
    { numRuns: 5_000 },
  );
});

Deno.test("decodeFrame() accepts Upbit's documented DEFAULT and SIMPLE samples", () => {
  // Upbit's ids exceed 2^53: the exact digits survive (a JSON number would round them).
  const t = decodeFrame(
    enc.encode(
      JSON.stringify(trade(1)).replace('"sequential_id":1', '"sequential_id":17954823584710001'),
    ),
  );
  assert.ok(t.ok && t.value.kind === "trade");
  assert.equal(t.value.message.sequentialId, "17954823584710001");
  const simple = decodeFrame(JSON.stringify({
    ty: "candle.1m",
    cd: "KRW-BTC",
    cdttmu: "2026-11-24T01:05:00",
    cdttmk: "2026-11-24T10:05:00",
    op: 131200000.0,
    hp: 131260000.0,
    lp: 131190000.0,
    tp: 131250000.0,
    catv: 0.5127,
    catp: 67290312.4,
    tms: 1795482358471,
    st: "REALTIME",
  }));
  assert.ok(simple.ok && simple.value.kind === "candle");
  assert.equal(simple.value.message.startMs, Date.UTC(2026, 10, 24, 1, 5));
  assert.equal(simple.value.message.candle_acc_trade_volume, 0.5127);
  const upbitError = decodeFrame(
    '{"error":{"name":"WRONG_FORMAT","message":"Format 이 맞지 않습니다."}}',
  );
  assert.ok(upbitError.ok && upbitError.value.kind === "error");
  const book = decodeFrame(JSON.stringify({
    type: "orderbook",
    code: "KRW-BTC",
    timestamp: 1,
    total_ask_size: 1.5,
    total_bid_size: 2,
    orderbook_units: [
      { ask_price: 101, bid_price: 100, ask_size: 1, bid_size: 1 },
      { ask_price: 102, bid_price: 0, ask_size: 0.5, bid_size: 0 },
    ],
    level: 0,
    stream_type: "SNAPSHOT",
  }));
  assert.ok(book.ok && book.value.kind === "orderbook");
});
