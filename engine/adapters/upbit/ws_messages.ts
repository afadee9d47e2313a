/**
 * Decoding and validation of Upbit WebSocket frames (API.md §7.2–7.5): binary or text frames of
 * UTF-8 JSON, DEFAULT or SIMPLE keys, parsed with zod into typed messages. A frame that fails is
 * never thrown: it comes back as `{ ok: false, reason }` with a typed reason, so one bad frame can
 * be counted and skipped without stopping the stream.
 *
 * Private messages (`myOrder`, `myAsset`) keep every amount as an exact decimal string read from
 * the JSON source text (Upbit prints balances with ~28 significant digits), because those amounts
 * reach the ledger. Market data keeps JSON numbers: indicators may use floats.
 */

import { z } from "zod";
import type { Candle } from "../../core/candle.ts";

/** Why a frame was rejected. */
export type MalformedReason =
  | "too_large"
  | "not_utf8"
  | "not_json"
  | "not_object"
  | "unknown_type"
  | "invalid_fields"
  | "inconsistent"
  | "unexpected_type"
  | "unexpected_code";

/** Every `MalformedReason`, for counters. */
export const MALFORMED_REASONS: readonly MalformedReason[] = [
  "too_large",
  "not_utf8",
  "not_json",
  "not_object",
  "unknown_type",
  "invalid_fields",
  "inconsistent",
  "unexpected_type",
  "unexpected_code",
];

/** Largest frame decoded (bytes); a whole 30-level book is ~4 KB, so 1 MB is only garbage. */
export const MAX_FRAME_BYTES = 1_048_576;

const price = z.number().positive();
const amount = z.number().nonnegative();
const ms = z.number().int().nonnegative();
const code = z.string().regex(/^[A-Z0-9]{2,10}-[A-Z0-9]{1,20}$/);
const streamType = z.enum(["SNAPSHOT", "REALTIME"]);
const askBid = z.enum(["ASK", "BID"]);
const change = z.enum(["RISE", "EVEN", "FALL"]);

const tickerSchema = z.object({
  type: z.literal("ticker"),
  code,
  opening_price: price,
  high_price: price,
  low_price: price,
  trade_price: price,
  prev_closing_price: price,
  change,
  change_price: amount,
  signed_change_price: z.number(),
  change_rate: amount,
  signed_change_rate: z.number(),
  trade_volume: amount,
  acc_trade_volume: amount,
  acc_trade_volume_24h: amount,
  acc_trade_price: amount,
  acc_trade_price_24h: amount,
  trade_timestamp: ms,
  ask_bid: askBid,
  market_state: z.enum(["PREVIEW", "ACTIVE", "DELISTED"]).optional(),
  timestamp: ms,
  stream_type: streamType,
});

const tradeSchema = z.object({
  type: z.literal("trade"),
  code,
  timestamp: ms,
  trade_timestamp: ms,
  trade_price: price,
  trade_volume: amount,
  ask_bid: askBid,
  prev_closing_price: price,
  change,
  change_price: amount,
  // Upbit's ids exceed 2^53 (17954823584710001): the exact digits are kept in `sequentialId`.
  sequential_id: z.number().nonnegative(),
  best_ask_price: amount.optional(),
  best_ask_size: amount.optional(),
  best_bid_price: amount.optional(),
  best_bid_size: amount.optional(),
  stream_type: streamType,
});

const bookUnitSchema = z.object({
  ask_price: amount,
  bid_price: amount,
  ask_size: amount,
  bid_size: amount,
});

const orderbookSchema = z.object({
  type: z.literal("orderbook"),
  code,
  timestamp: ms,
  total_ask_size: amount,
  total_bid_size: amount,
  orderbook_units: z.array(bookUnitSchema).max(30),
  level: amount.optional(),
  stream_type: streamType,
});

const candleSchema = z.object({
  type: z.literal("candle.1m"),
  code,
  candle_date_time_utc: z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:00$/),
  opening_price: price,
  high_price: price,
  low_price: price,
  trade_price: price,
  candle_acc_trade_volume: amount,
  candle_acc_trade_price: amount,
  timestamp: ms,
  stream_type: streamType,
});

/** A decimal amount as exact text (`"0.0001"`, `"1197474.27"`), never a float. */
const decimal = z.string().regex(/^-?\d+(\.\d+)?$/);
const nonNegDecimal = z.string().regex(/^\d+(\.\d+)?$/);

const myOrderSchema = z.object({
  type: z.literal("myOrder"),
  code,
  uuid: z.string().min(1),
  ask_bid: askBid,
  order_type: z.enum(["limit", "price", "market", "best"]),
  state: z.enum(["wait", "watch", "trade", "done", "cancel", "prevented"]),
  trade_uuid: z.string().nullable().optional(),
  price: nonNegDecimal.nullable(),
  avg_price: nonNegDecimal.nullable().optional(),
  volume: nonNegDecimal.nullable(),
  remaining_volume: nonNegDecimal.nullable(),
  executed_volume: nonNegDecimal,
  trades_count: z.number().int().nonnegative(),
  reserved_fee: nonNegDecimal.nullable().optional(),
  remaining_fee: nonNegDecimal.nullable().optional(),
  paid_fee: nonNegDecimal,
  locked: nonNegDecimal.nullable().optional(),
  executed_funds: nonNegDecimal.nullable().optional(),
  time_in_force: z.string().nullable().optional(),
  trade_fee: nonNegDecimal.nullable().optional(),
  is_maker: z.boolean().nullable().optional(),
  identifier: z.string().nullable().optional(),
  trade_timestamp: ms.nullable().optional(),
  order_timestamp: ms,
  timestamp: ms,
  stream_type: streamType,
});

const myAssetSchema = z.object({
  type: z.literal("myAsset"),
  asset_uuid: z.string().min(1),
  assets: z.array(z.object({
    currency: z.string().regex(/^[A-Z0-9]{1,20}$/),
    balance: decimal,
    locked: decimal,
  })),
  asset_timestamp: ms,
  timestamp: ms,
  stream_type: streamType,
});

const errorSchema = z.object({
  error: z.object({ name: z.union([z.string(), z.number()]), message: z.string() }),
});

const statusSchema = z.object({ status: z.string() });

const listSchema = z.object({
  method: z.literal("LIST_SUBSCRIPTIONS"),
  result: z.array(z.object({ type: z.string(), codes: z.array(z.string()).optional() })),
  ticket: z.string().optional(),
});

/** A validated `ticker` message (DEFAULT keys). */
export type TickerMessage = z.infer<typeof tickerSchema>;
/** A validated `trade` message; `sequentialId` holds the id's exact digits. */
export type TradeMessage = z.infer<typeof tradeSchema> & { readonly sequentialId: string };
/** A validated `orderbook` message: always the whole book (replace, don't merge). */
export type OrderbookMessage = z.infer<typeof orderbookSchema>;
/** A validated `candle.1m` message, with the bucket start parsed to `startMs`. */
export type CandleMessage = z.infer<typeof candleSchema> & { readonly startMs: number };
/** A `candle.1m` message's bucket as the core's candle. */
export function toCandle(m: CandleMessage): Candle {
  return {
    startMs: m.startMs,
    open: m.opening_price,
    high: m.high_price,
    low: m.low_price,
    close: m.trade_price,
    volume: m.candle_acc_trade_volume,
    value: m.candle_acc_trade_price,
  };
}

/** A validated `myOrder` message; amounts are exact decimal strings. */
export type MyOrderMessage = z.infer<typeof myOrderSchema>;
/** A validated `myAsset` message; balances are exact decimal strings. */
export type MyAssetMessage = z.infer<typeof myAssetSchema>;
/** An Upbit error (§7.5); the server closes the socket after it. */
export type ErrorMessage = z.infer<typeof errorSchema>;

/** Any frame that decoded and validated. */
export type WsMessage =
  | { readonly kind: "ticker"; readonly message: TickerMessage }
  | { readonly kind: "trade"; readonly message: TradeMessage }
  | { readonly kind: "orderbook"; readonly message: OrderbookMessage }
  | { readonly kind: "candle"; readonly message: CandleMessage }
  | { readonly kind: "myOrder"; readonly message: MyOrderMessage }
  | { readonly kind: "myAsset"; readonly message: MyAssetMessage }
  | { readonly kind: "error"; readonly message: ErrorMessage }
  | { readonly kind: "status"; readonly status: string }
  | { readonly kind: "subscriptions"; readonly types: readonly string[] };

/** The kinds of `WsMessage`. */
export type WsMessageKind = WsMessage["kind"];

/** A rejected frame: the reason, the message type when known, and a short detail for the log. */
export interface Malformed {
  readonly reason: MalformedReason;
  readonly type?: string;
  readonly detail: string;
}

/** Outcome of `decodeFrame`. */
export type DecodeResult =
  | { readonly ok: true; readonly value: WsMessage }
  | { readonly ok: false; readonly error: Malformed };

const COMMON_SIMPLE: Readonly<Record<string, string>> = {
  ty: "type",
  cd: "code",
  tms: "timestamp",
  st: "stream_type",
};

/** SIMPLE → DEFAULT key names per type (keys collide across types, e.g. `ap`, `l`). */
const SIMPLE_KEYS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  ticker: {
    ...COMMON_SIMPLE,
    op: "opening_price",
    hp: "high_price",
    lp: "low_price",
    tp: "trade_price",
    pcp: "prev_closing_price",
    c: "change",
    cp: "change_price",
    scp: "signed_change_price",
    cr: "change_rate",
    scr: "signed_change_rate",
    tv: "trade_volume",
    atv: "acc_trade_volume",
    atv24h: "acc_trade_volume_24h",
    atp: "acc_trade_price",
    atp24h: "acc_trade_price_24h",
    tdt: "trade_date",
    ttm: "trade_time",
    ttms: "trade_timestamp",
    ab: "ask_bid",
    aav: "acc_ask_volume",
    abv: "acc_bid_volume",
    h52wp: "highest_52_week_price",
    h52wdt: "highest_52_week_date",
    l52wp: "lowest_52_week_price",
    l52wdt: "lowest_52_week_date",
    ms: "market_state",
    its: "is_trading_suspended",
    dd: "delisting_date",
    mw: "market_warning",
  },
  trade: {
    ...COMMON_SIMPLE,
    tp: "trade_price",
    tv: "trade_volume",
    ab: "ask_bid",
    pcp: "prev_closing_price",
    c: "change",
    cp: "change_price",
    td: "trade_date",
    ttm: "trade_time",
    ttms: "trade_timestamp",
    sid: "sequential_id",
    bap: "best_ask_price",
    bas: "best_ask_size",
    bbp: "best_bid_price",
    bbs: "best_bid_size",
  },
  orderbook: {
    ...COMMON_SIMPLE,
    tas: "total_ask_size",
    tbs: "total_bid_size",
    obu: "orderbook_units",
    ap: "ask_price",
    bp: "bid_price",
    as: "ask_size",
    bs: "bid_size",
    lv: "level",
  },
  candle: {
    ...COMMON_SIMPLE,
    cdttmu: "candle_date_time_utc",
    cdttmk: "candle_date_time_kst",
    op: "opening_price",
    hp: "high_price",
    lp: "low_price",
    tp: "trade_price",
    catv: "candle_acc_trade_volume",
    catp: "candle_acc_trade_price",
  },
  myOrder: {
    ...COMMON_SIMPLE,
    uid: "uuid",
    ab: "ask_bid",
    ot: "order_type",
    s: "state",
    tuid: "trade_uuid",
    p: "price",
    ap: "avg_price",
    v: "volume",
    rv: "remaining_volume",
    ev: "executed_volume",
    tc: "trades_count",
    rsf: "reserved_fee",
    rmf: "remaining_fee",
    pf: "paid_fee",
    l: "locked",
    ef: "executed_funds",
    tif: "time_in_force",
    tf: "trade_fee",
    im: "is_maker",
    id: "identifier",
    smpt: "smp_type",
    pv: "prevented_volume",
    pl: "prevented_locked",
    ttms: "trade_timestamp",
    otms: "order_timestamp",
  },
  myAsset: {
    ...COMMON_SIMPLE,
    astuid: "asset_uuid",
    ast: "assets",
    cu: "currency",
    b: "balance",
    l: "locked",
    asttms: "asset_timestamp",
  },
};

/** Integer fields of private messages that stay numbers when amounts become strings. */
const PRIVATE_INTEGER_KEYS = new Set([
  "timestamp",
  "trade_timestamp",
  "order_timestamp",
  "asset_timestamp",
  "trades_count",
  "tms",
  "ttms",
  "otms",
  "asttms",
  "tc",
]);

const SEQUENTIAL_ID = /"(?:sequential_id|sid)"\s*:\s*(\d+)/;

const utf8 = new TextDecoder("utf-8", { fatal: true });

function fail(reason: MalformedReason, detail: string, type?: string): DecodeResult {
  return { ok: false, error: type === undefined ? { reason, detail } : { reason, detail, type } };
}

function renameKeys(value: unknown, keys: Readonly<Record<string, string>>): unknown {
  if (Array.isArray(value)) return value.map((v) => renameKeys(v, keys));
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const k in value as Record<string, unknown>) {
    out[keys[k] ?? k] = renameKeys((value as Record<string, unknown>)[k], keys);
  }
  return out;
}

/**
 * Rewrites a JSON number's source text as a plain decimal (`1.16539E8` → `116539000`); returns
 * `undefined` for text that is not a finite decimal.
 */
export function plainDecimal(source: string): string | undefined {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(source);
  if (m === null) return undefined;
  const [, sign = "", int = "", frac = "", expText] = m;
  const exp = expText === undefined ? 0 : Number(expText);
  if (!Number.isSafeInteger(exp) || Math.abs(exp) > 400) return undefined;
  let digits = int + frac;
  let point = int.length + exp;
  if (point < 0) {
    digits = "0".repeat(-point) + digits;
    point = 0;
  }
  if (point > digits.length) digits += "0".repeat(point - digits.length);
  let whole = digits.slice(0, point).replace(/^0+(?=\d)/, "");
  if (whole === "") whole = "0";
  const fraction = digits.slice(point).replace(/0+$/, "");
  const text = fraction === "" ? whole : `${whole}.${fraction}`;
  return sign === "-" && /[1-9]/.test(text) ? `-${text}` : text;
}

/** JSON.parse reviver that keeps amounts as exact decimal strings from the source text. */
function exactAmounts(
  this: unknown,
  key: string,
  value: unknown,
  context?: { source?: string },
): unknown {
  if (typeof value !== "number" || PRIVATE_INTEGER_KEYS.has(key)) return value;
  const source = context?.source;
  if (source === undefined) return value;
  return plainDecimal(source) ?? value;
}

function issueText(error: z.ZodError): string {
  const first = error.issues[0];
  if (first === undefined) return "invalid";
  return `${first.path.join(".") || "(root)"}: ${first.message}`;
}

function candleStartMs(text: string): number {
  return Date.parse(`${text}Z`);
}

function checkCandle(m: z.infer<typeof candleSchema>): string | undefined {
  if (m.low_price > m.high_price) return "low_price > high_price";
  if (m.opening_price < m.low_price || m.opening_price > m.high_price) {
    return "opening_price outside [low, high]";
  }
  if (m.trade_price < m.low_price || m.trade_price > m.high_price) {
    return "trade_price outside [low, high]";
  }
  if (!Number.isFinite(candleStartMs(m.candle_date_time_utc))) return "bad candle_date_time_utc";
  return undefined;
}

function checkTicker(m: TickerMessage): string | undefined {
  if (m.low_price > m.high_price) return "low_price > high_price";
  return undefined;
}

function checkBook(m: OrderbookMessage): string | undefined {
  let prevAsk = 0;
  let prevBid = Infinity;
  for (const u of m.orderbook_units) {
    // Thin sides are zero-padded; real levels must be sorted outward.
    if (u.ask_price > 0 && u.ask_price < prevAsk) return "asks not ascending";
    if (u.bid_price > 0 && u.bid_price > prevBid) return "bids not descending";
    if (u.ask_price > 0) prevAsk = u.ask_price;
    if (u.bid_price > 0) prevBid = u.bid_price;
  }
  return undefined;
}

function validated<T>(
  schema: z.ZodType<T>,
  data: unknown,
  type: string,
): { ok: true; value: T } | { ok: false; result: DecodeResult } {
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    return { ok: false, result: fail("invalid_fields", issueText(parsed.error), type) };
  }
  return { ok: true, value: parsed.data };
}

function decodeObject(obj: Record<string, unknown>, text: string): DecodeResult {
  const simple = typeof obj.ty === "string" && !("type" in obj);
  const type = simple ? obj.ty : obj.type;
  if (typeof type !== "string") {
    if ("error" in obj) {
      const v = validated(errorSchema, obj, "error");
      return v.ok ? { ok: true, value: { kind: "error", message: v.value } } : v.result;
    }
    if ("status" in obj) {
      const v = validated(statusSchema, obj, "status");
      return v.ok ? { ok: true, value: { kind: "status", status: v.value.status } } : v.result;
    }
    if ("method" in obj) {
      const v = validated(listSchema, obj, "subscriptions");
      return v.ok
        ? { ok: true, value: { kind: "subscriptions", types: v.value.result.map((r) => r.type) } }
        : v.result;
    }
    return fail("unknown_type", "no type field");
  }
  const keyTable = SIMPLE_KEYS[type.startsWith("candle.") ? "candle" : type];
  if (keyTable === undefined && type !== "candle.1m") {
    // No `type` on the rejection: arbitrary type names must not each get their own log line.
    return fail("unknown_type", `type ${type.slice(0, 40)}`);
  }
  const isPrivate = type === "myOrder" || type === "myAsset";
  let data: unknown = obj;
  if (isPrivate) {
    // Amounts must stay exact: parse again keeping each number's source text.
    data = JSON.parse(text, exactAmounts as (k: string, v: unknown) => unknown);
  }
  if (simple && keyTable !== undefined) data = renameKeys(data, keyTable);
  switch (type) {
    case "ticker": {
      const v = validated(tickerSchema, data, type);
      if (!v.ok) return v.result;
      const bad = checkTicker(v.value);
      if (bad !== undefined) return fail("inconsistent", bad, type);
      return { ok: true, value: { kind: "ticker", message: v.value } };
    }
    case "trade": {
      const v = validated(tradeSchema, data, type);
      if (!v.ok) return v.result;
      const sid = SEQUENTIAL_ID.exec(text)?.[1] ?? String(v.value.sequential_id);
      return { ok: true, value: { kind: "trade", message: { ...v.value, sequentialId: sid } } };
    }
    case "orderbook": {
      const v = validated(orderbookSchema, data, type);
      if (!v.ok) return v.result;
      const bad = checkBook(v.value);
      if (bad !== undefined) return fail("inconsistent", bad, type);
      return { ok: true, value: { kind: "orderbook", message: v.value } };
    }
    case "candle.1m": {
      const v = validated(candleSchema, data, type);
      if (!v.ok) return v.result;
      const bad = checkCandle(v.value);
      if (bad !== undefined) return fail("inconsistent", bad, type);
      const message = { ...v.value, startMs: candleStartMs(v.value.candle_date_time_utc) };
      return { ok: true, value: { kind: "candle", message } };
    }
    case "myOrder": {
      const v = validated(myOrderSchema, data, type);
      return v.ok ? { ok: true, value: { kind: "myOrder", message: v.value } } : v.result;
    }
    case "myAsset": {
      const v = validated(myAssetSchema, data, type);
      return v.ok ? { ok: true, value: { kind: "myAsset", message: v.value } } : v.result;
    }
    default:
      // Other candle units are valid Upbit types, but never subscribed by this client.
      return fail("unknown_type", `type ${type.slice(0, 40)}`);
  }
}

/**
 * Decodes one frame (binary UTF-8 or text) into a validated message, or a typed rejection.
 * Never throws.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const ok = decodeFrame('{"status":"UP"}');
 * assert.deepEqual(ok, { ok: true, value: { kind: "status", status: "UP" } });
 * const bad = decodeFrame("<html>502</html>");
 * assert.equal(bad.ok ? "" : bad.error.reason, "not_json");
 * ```
 */
export function decodeFrame(data: string | ArrayBuffer | Uint8Array): DecodeResult {
  let text: string;
  if (typeof data === "string") {
    if (data.length > MAX_FRAME_BYTES) return fail("too_large", `${data.length} chars`);
    text = data;
  } else {
    if (data.byteLength > MAX_FRAME_BYTES) return fail("too_large", `${data.byteLength} bytes`);
    try {
      text = utf8.decode(data);
    } catch {
      return fail("not_utf8", `${data.byteLength} bytes`);
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return fail("not_json", text.slice(0, 40));
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    return fail("not_object", Array.isArray(parsed) ? "array" : typeof parsed);
  }
  return decodeObject(parsed as Record<string, unknown>, text);
}
