/**
 * zod schemas of Upbit's REST responses (`shared/upbit/API.md` §3) and the engine's own types
 * they turn into. Validation happens here, at the edge; inside the engine data is trusted.
 *
 * Exact amounts: Exchange decimals arrive as strings and are parsed straight to `Units`;
 * Quotation numbers are JSON floats and go through `unitsFromNumber` (shortest decimal form), so
 * no float noise reaches an order. Candles become `engine/core/candle.ts` `Candle`s keyed by
 * `candle_date_time_utc` (the bucket start; `timestamp` is the last trade, API.md §9.9).
 * Negative sizes, non-finite numbers, malformed decimals and unknown enum values are rejected.
 */

import { z } from "zod";
import type { Candle } from "../../core/candle.ts";
import { parseUnits, type Rounding, type Units, unitsFromNumber } from "../../core/money.ts";

/** `bid` buys, `ask` sells. */
export type Side = "bid" | "ask";
/** Upbit order types: `limit`, `price` (market buy by KRW total), `market` (market sell), `best`. */
export type OrdType = "limit" | "price" | "market" | "best";
/** REST order states. */
export type OrderState = "wait" | "watch" | "done" | "cancel";
/** `time_in_force` values. */
export type TimeInForce = "ioc" | "fok" | "post_only";
/** Self-match prevention modes. */
export type SmpType = "cancel_maker" | "cancel_taker" | "reduce";

const DECIMAL_TEXT = /^\d{1,24}(\.\d{1,30})?$/;
const CANDLE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/;
const OFFSET_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const MAX_AMOUNT = 1e18;

/** A non-negative decimal string → `Units` (more than 8 decimals: rejected unless rounded). */
function decimal(rounding?: Rounding) {
  return z.string().regex(DECIMAL_TEXT, "not a non-negative decimal").transform((s, ctx) => {
    try {
      return parseUnits(s, rounding);
    } catch (error) {
      ctx.addIssue({ code: "custom", message: (error as Error).message });
      return z.NEVER;
    }
  });
}

/** A non-negative finite JSON number → `Units` (rounded half-up at 1e-8). */
const amount = z.number().min(0).max(MAX_AMOUNT).transform((n) => unitsFromNumber(n, "half_up"));
/** A finite JSON number (may be negative: signed changes). */
const finite = z.number().min(-MAX_AMOUNT).max(MAX_AMOUNT);
/** Epoch ms. */
const epochMs = z.number().int().min(0).max(8.64e15);

const candleTime = z.string().regex(CANDLE_TIME).transform((s, ctx) => {
  const ms = Date.parse(`${s}Z`);
  if (!Number.isFinite(ms)) {
    ctx.addIssue({ code: "custom", message: `not a date: ${s}` });
    return z.NEVER;
  }
  return ms;
});

const offsetTime = z.string().regex(OFFSET_TIME).transform((s, ctx) => {
  const ms = Date.parse(s);
  if (!Number.isFinite(ms)) {
    ctx.addIssue({ code: "custom", message: `not a date: ${s}` });
    return z.NEVER;
  }
  return ms;
});

// ---- Quotation ------------------------------------------------------------------------------

/** A pair of `/v1/market/all` with its warning flags. */
export interface MarketInfo {
  readonly market: string;
  readonly koreanName: string;
  readonly englishName: string;
  /** 유의종목 (investment warning): the pair may be delisted. False when not asked for. */
  readonly warning: boolean;
  /** The caution flags that are set (`PRICE_FLUCTUATIONS`, …). */
  readonly cautions: readonly string[];
}

const marketSchema = z.object({
  market: z.string().min(1),
  korean_name: z.string(),
  english_name: z.string(),
  market_event: z.object({
    warning: z.boolean(),
    caution: z.record(z.string(), z.boolean()).optional(),
  }).optional(),
}).transform((m): MarketInfo => ({
  market: m.market,
  koreanName: m.korean_name,
  englishName: m.english_name,
  warning: m.market_event?.warning ?? false,
  cautions: Object.entries(m.market_event?.caution ?? {}).filter(([, on]) => on).map(([k]) => k),
}));

/** `GET /v1/market/all`. */
export const marketsSchema = z.array(marketSchema);

const candleSchema = z.object({
  market: z.string().min(1),
  candle_date_time_utc: candleTime,
  opening_price: z.number().positive().max(MAX_AMOUNT),
  high_price: z.number().positive().max(MAX_AMOUNT),
  low_price: z.number().positive().max(MAX_AMOUNT),
  trade_price: z.number().positive().max(MAX_AMOUNT),
  candle_acc_trade_price: z.number().min(0).max(MAX_AMOUNT),
  candle_acc_trade_volume: z.number().min(0).max(MAX_AMOUNT),
}).refine(
  (c) =>
    c.high_price >= c.low_price && c.high_price >= Math.max(c.opening_price, c.trade_price) &&
    c.low_price <= Math.min(c.opening_price, c.trade_price),
  "high/low do not bound open/close",
).transform((c): Candle => ({
  startMs: c.candle_date_time_utc,
  open: c.opening_price,
  high: c.high_price,
  low: c.low_price,
  close: c.trade_price,
  volume: c.candle_acc_trade_volume,
  value: c.candle_acc_trade_price,
}));

/** `GET /v1/candles/*` (newest first, as sent). */
export const candlesSchema = z.array(candleSchema);

/** One public trade of `/v1/trades/ticks`. */
export interface PublicTrade {
  readonly market: string;
  readonly tsMs: number;
  readonly price: Units;
  readonly volume: Units;
  /** The taker's side. */
  readonly takerSide: Side;
  /** Upbit's `sequential_id`, exact (it exceeds 2^53); pass it back as `cursor`. */
  readonly sequentialId: string;
}

const tradeSchema = z.object({
  market: z.string().min(1),
  timestamp: epochMs,
  trade_price: amount,
  trade_volume: amount,
  ask_bid: z.enum(["ASK", "BID"]),
  sequential_id: z.union([
    z.string().regex(/^\d{1,30}$/),
    z.number().int().min(0).transform((n) => String(n)),
  ]),
}).transform((t): PublicTrade => ({
  market: t.market,
  tsMs: t.timestamp,
  price: t.trade_price,
  volume: t.trade_volume,
  takerSide: t.ask_bid === "BID" ? "bid" : "ask",
  sequentialId: t.sequential_id,
}));

/** `GET /v1/trades/ticks`. */
export const tradesSchema = z.array(tradeSchema);

/** A ticker of `/v1/ticker`. */
export interface Ticker {
  readonly market: string;
  readonly tradePrice: Units;
  readonly openingPrice: Units;
  readonly highPrice: Units;
  readonly lowPrice: Units;
  /** Close at 00:00 UTC. */
  readonly prevClosingPrice: Units;
  readonly change: "RISE" | "EVEN" | "FALL";
  readonly signedChangeRate: number;
  readonly tradeVolume: Units;
  readonly accTradePrice24h: Units;
  readonly accTradeVolume24h: Units;
  readonly tradeTimestampMs: number;
  readonly timestampMs: number;
}

const tickerSchema = z.object({
  market: z.string().min(1),
  trade_timestamp: epochMs,
  opening_price: amount,
  high_price: amount,
  low_price: amount,
  trade_price: amount,
  prev_closing_price: amount,
  change: z.enum(["RISE", "EVEN", "FALL"]),
  signed_change_rate: finite,
  trade_volume: amount,
  acc_trade_price_24h: amount,
  acc_trade_volume_24h: amount,
  timestamp: epochMs,
}).transform((t): Ticker => ({
  market: t.market,
  tradePrice: t.trade_price,
  openingPrice: t.opening_price,
  highPrice: t.high_price,
  lowPrice: t.low_price,
  prevClosingPrice: t.prev_closing_price,
  change: t.change,
  signedChangeRate: t.signed_change_rate,
  tradeVolume: t.trade_volume,
  accTradePrice24h: t.acc_trade_price_24h,
  accTradeVolume24h: t.acc_trade_volume_24h,
  tradeTimestampMs: t.trade_timestamp,
  timestampMs: t.timestamp,
}));

/** `GET /v1/ticker`, `/v1/ticker/all`. */
export const tickersSchema = z.array(tickerSchema);

/** One price level. */
export interface BookLevel {
  readonly price: Units;
  readonly size: Units;
}

/** An order book snapshot (zero-padded entries dropped). */
export interface OrderBook {
  readonly market: string;
  readonly tsMs: number;
  /** Best (lowest) first. */
  readonly asks: readonly BookLevel[];
  /** Best (highest) first. */
  readonly bids: readonly BookLevel[];
  /** Price grouping unit (0 = none). */
  readonly level: Units;
}

const orderbookSchema = z.object({
  market: z.string().min(1),
  timestamp: epochMs,
  orderbook_units: z.array(z.object({
    ask_price: amount,
    bid_price: amount,
    ask_size: amount,
    bid_size: amount,
  })),
  level: amount.optional(),
}).transform((b): OrderBook => ({
  market: b.market,
  tsMs: b.timestamp,
  asks: b.orderbook_units.filter((u) => u.ask_price > 0n && u.ask_size > 0n)
    .map((u) => ({ price: u.ask_price, size: u.ask_size })),
  bids: b.orderbook_units.filter((u) => u.bid_price > 0n && u.bid_size > 0n)
    .map((u) => ({ price: u.bid_price, size: u.bid_size })),
  level: b.level ?? 0n,
}));

/** `GET /v1/orderbook`. */
export const orderbooksSchema = z.array(orderbookSchema);

/** Tick size and grouping levels of one pair (`/v1/orderbook/instruments`). */
export interface Instrument {
  readonly market: string;
  readonly quoteCurrency: string;
  /** The authoritative price step of the pair. */
  readonly tickSize: Units;
  readonly supportedLevels: readonly Units[];
}

const instrumentSchema = z.object({
  market: z.string().min(1),
  quote_currency: z.string().min(1),
  tick_size: decimal(),
  supported_levels: z.array(decimal()),
}).refine((i) => i.tick_size > 0n, "tick_size must be > 0").transform((i): Instrument => ({
  market: i.market,
  quoteCurrency: i.quote_currency,
  tickSize: i.tick_size,
  supportedLevels: i.supported_levels,
}));

/** `GET /v1/orderbook/instruments`. */
export const instrumentsSchema = z.array(instrumentSchema);

// ---- Exchange -------------------------------------------------------------------------------

/** One balance line of `/v1/accounts`. */
export interface Account {
  readonly currency: string;
  /** Available. */
  readonly balance: Units;
  /** Held by open orders / withdrawals. */
  readonly locked: Units;
  readonly avgBuyPrice: Units;
  readonly avgBuyPriceModified: boolean;
  readonly unitCurrency: string;
}

const accountSchema = z.object({
  currency: z.string().min(1),
  balance: decimal(),
  locked: decimal(),
  avg_buy_price: decimal("half_up"),
  avg_buy_price_modified: z.boolean(),
  unit_currency: z.string().min(1),
}).transform((a): Account => ({
  currency: a.currency,
  balance: a.balance,
  locked: a.locked,
  avgBuyPrice: a.avg_buy_price,
  avgBuyPriceModified: a.avg_buy_price_modified,
  unitCurrency: a.unit_currency,
}));

/** `GET /v1/accounts`. */
export const accountsSchema = z.array(accountSchema);

/** `GET /v1/orders/chance`: fee rates, limits and balances for one pair. */
export interface OrderChance {
  /** Fee rates as fractions in `Units` (`0.0005` → 50 000n). */
  readonly bidFee: Units;
  readonly askFee: Units;
  readonly makerBidFee: Units;
  readonly makerAskFee: Units;
  readonly market: {
    readonly id: string;
    readonly name: string;
    readonly bidTypes: readonly string[];
    readonly askTypes: readonly string[];
    readonly bidCurrency: string;
    readonly askCurrency: string;
    /** Minimum order total, quote currency. */
    readonly bidMinTotal: Units;
    readonly askMinTotal: Units;
    readonly maxTotal: Units;
    readonly state: string;
  };
  readonly bidAccount: Account;
  readonly askAccount: Account;
}

/** `GET /v1/orders/chance`. */
export const chanceSchema = z.object({
  bid_fee: decimal(),
  ask_fee: decimal(),
  maker_bid_fee: decimal(),
  maker_ask_fee: decimal(),
  market: z.object({
    id: z.string().min(1),
    name: z.string(),
    bid_types: z.array(z.string()).optional(),
    ask_types: z.array(z.string()).optional(),
    bid: z.object({ currency: z.string(), min_total: decimal() }),
    ask: z.object({ currency: z.string(), min_total: decimal() }),
    max_total: decimal(),
    state: z.string(),
  }),
  bid_account: accountSchema,
  ask_account: accountSchema,
}).transform((c): OrderChance => ({
  bidFee: c.bid_fee,
  askFee: c.ask_fee,
  makerBidFee: c.maker_bid_fee,
  makerAskFee: c.maker_ask_fee,
  market: {
    id: c.market.id,
    name: c.market.name,
    bidTypes: c.market.bid_types ?? [],
    askTypes: c.market.ask_types ?? [],
    bidCurrency: c.market.bid.currency,
    askCurrency: c.market.ask.currency,
    bidMinTotal: c.market.bid.min_total,
    askMinTotal: c.market.ask.min_total,
    maxTotal: c.market.max_total,
    state: c.market.state,
  },
  bidAccount: c.bid_account,
  askAccount: c.ask_account,
}));

/** One fill in `GET /v1/order`'s `trades[]`. */
export interface OrderTrade {
  readonly uuid: string;
  readonly market: string;
  readonly price: Units;
  readonly volume: Units;
  readonly funds: Units;
  readonly side: Side;
  readonly trend: "up" | "down" | undefined;
  readonly createdAtMs: number;
}

/** An Upbit order (API.md §3.4), exact. */
export interface Order {
  readonly uuid: string;
  /** Our client order id, when one was given. */
  readonly identifier: string | undefined;
  readonly market: string;
  readonly side: Side;
  readonly ordType: OrdType;
  readonly state: OrderState;
  /** Limit price, or the KRW total of `price` / `best`-bid orders. */
  readonly price: Units | undefined;
  /** Requested quantity (absent for orders by KRW total). */
  readonly volume: Units | undefined;
  readonly remainingVolume: Units | undefined;
  readonly executedVolume: Units;
  /** Filled quote amount, when Upbit reports it. */
  readonly executedFunds: Units | undefined;
  readonly reservedFee: Units;
  readonly remainingFee: Units;
  readonly paidFee: Units;
  readonly locked: Units;
  readonly tradesCount: number;
  readonly createdAtMs: number;
  readonly timeInForce: TimeInForce | undefined;
  readonly smpType: SmpType | undefined;
  /** Only from `GET /v1/order`. */
  readonly trades: readonly OrderTrade[] | undefined;
}

const orderTradeSchema = z.object({
  market: z.string().min(1),
  uuid: z.string().min(1),
  price: decimal(),
  volume: decimal(),
  funds: decimal("half_up"),
  side: z.enum(["bid", "ask"]),
  trend: z.enum(["up", "down"]).nullish(),
  created_at: offsetTime,
}).transform((t): OrderTrade => ({
  uuid: t.uuid,
  market: t.market,
  price: t.price,
  volume: t.volume,
  funds: t.funds,
  side: t.side,
  trend: t.trend ?? undefined,
  createdAtMs: t.created_at,
}));

const orderFields = {
  uuid: z.string().min(1),
  side: z.enum(["bid", "ask"]),
  ord_type: z.enum(["limit", "price", "market", "best"]),
  price: decimal().nullish(),
  state: z.enum(["wait", "watch", "done", "cancel"]),
  market: z.string().min(1),
  created_at: offsetTime,
  volume: decimal().nullish(),
  remaining_volume: decimal().nullish(),
  executed_volume: decimal(),
  executed_funds: decimal("half_up").nullish(),
  reserved_fee: decimal("half_up"),
  remaining_fee: decimal("half_up"),
  paid_fee: decimal("half_up"),
  locked: decimal("half_up"),
  trades_count: z.number().int().min(0),
  time_in_force: z.enum(["ioc", "fok", "post_only"]).nullish(),
  smp_type: z.enum(["cancel_maker", "cancel_taker", "reduce"]).nullish(),
  identifier: z.string().nullish(),
  trades: z.array(orderTradeSchema).optional(),
};

type RawOrder = z.output<z.ZodObject<typeof orderFields>>;

function toOrder(o: RawOrder): Order {
  return {
    uuid: o.uuid,
    identifier: o.identifier ?? undefined,
    market: o.market,
    side: o.side,
    ordType: o.ord_type,
    state: o.state,
    price: o.price ?? undefined,
    volume: o.volume ?? undefined,
    remainingVolume: o.remaining_volume ?? undefined,
    executedVolume: o.executed_volume,
    executedFunds: o.executed_funds ?? undefined,
    reservedFee: o.reserved_fee,
    remainingFee: o.remaining_fee,
    paidFee: o.paid_fee,
    locked: o.locked,
    tradesCount: o.trades_count,
    createdAtMs: o.created_at,
    timeInForce: o.time_in_force ?? undefined,
    smpType: o.smp_type ?? undefined,
    trades: o.trades,
  };
}

/** Which amounts each order type must carry (API.md §3.3 "Required combinations"). */
function amountsFit(o: {
  ord_type: OrdType;
  side: Side;
  price?: Units | null;
  volume?: Units | null;
}): boolean {
  const byFunds = o.ord_type === "price" || (o.ord_type === "best" && o.side === "bid");
  const needsPrice = o.ord_type === "limit" || byFunds;
  return (!needsPrice || o.price != null) && (byFunds || o.volume != null);
}

const AMOUNTS_MESSAGE = "price/volume missing for the order type";

/** One order object (create, test, get, cancel). */
export const orderSchema = z.object(orderFields).refine(amountsFit, AMOUNTS_MESSAGE)
  .transform(toOrder);

/** A list of order objects. */
export const ordersSchema = z.array(orderSchema);

/** An order named in a batch-cancel answer. */
export interface OrderBrief {
  readonly uuid: string;
  readonly market: string | undefined;
  readonly identifier: string | undefined;
}

/** The answer of `DELETE /v1/orders/uuids` and `DELETE /v1/orders/open`. */
export interface BatchCancelResult {
  readonly success: readonly OrderBrief[];
  readonly failed: readonly OrderBrief[];
}

const briefSchema = z.object({
  uuid: z.string().min(1),
  market: z.string().nullish(),
  identifier: z.string().nullish(),
}).transform((b): OrderBrief => ({
  uuid: b.uuid,
  market: b.market ?? undefined,
  identifier: b.identifier ?? undefined,
}));

const briefListSchema = z.object({
  count: z.number().int().min(0),
  orders: z.array(briefSchema),
}).refine((l) => l.count === l.orders.length, "count differs from orders.length");

/** Batch-cancel answer. */
export const batchCancelSchema = z.object({
  success: briefListSchema,
  failed: briefListSchema,
}).transform((b): BatchCancelResult => ({
  success: b.success.orders,
  failed: b.failed.orders,
}));

/** `POST /v1/orders/cancel_and_new`: the cancelled order plus the new order's ids. */
export interface CancelAndNewResult {
  readonly cancelled: Order;
  readonly newOrderUuid: string;
  readonly newOrderIdentifier: string | undefined;
}

/** `POST /v1/orders/cancel_and_new`. */
export const cancelAndNewSchema = z.object({
  ...orderFields,
  new_order_uuid: z.string().min(1),
  new_order_identifier: z.string().nullish(),
}).refine(amountsFit, AMOUNTS_MESSAGE).transform((o): CancelAndNewResult => ({
  cancelled: toOrder(o),
  newOrderUuid: o.new_order_uuid,
  newOrderIdentifier: o.new_order_identifier ?? undefined,
}));

/**
 * Parses a response body: JSON, with `sequential_id` kept as its exact source digits (it
 * exceeds 2^53). Throws `SyntaxError` on bad JSON.
 */
export function parseJsonBody(text: string): unknown {
  return JSON.parse(text, function (key, value, context?: { source?: string }) {
    if (key === "sequential_id" && typeof value === "number" && context?.source !== undefined) {
      return context.source;
    }
    return value;
  });
}
