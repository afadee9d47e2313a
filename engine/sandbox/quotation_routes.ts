/**
 * Upbit's Quotation REST API (API.md §3.2) over the market replay: markets, candles, trades,
 * tickers and order books, answered as of the sandbox clock, with Upbit's field names, time
 * formats and error bodies (quotation errors carry the HTTP status as an *integer* `name`).
 */

import { Hono } from "hono";
import type { Context } from "hono";
import { DAY_MS } from "../core/candle.ts";
import { formatUnits, parseUnits, SCALE, type Units } from "../core/money.ts";
import { krwTickSize } from "../core/tick_size.ts";
import { groupBook } from "./book.ts";
import { type CandleSpan, MINUTE_UNITS, type Replay } from "./replay.ts";
import {
  type CandleKind,
  restCandle,
  restOrderbook,
  restTicker,
  restTrade,
} from "./upbit_format.ts";

/** Korean and English names of the markets the sandbox knows by name. */
export const MARKET_NAMES: Readonly<Record<string, readonly [string, string]>> = {
  "KRW-BTC": ["비트코인", "Bitcoin"],
  "KRW-ETH": ["이더리움", "Ethereum"],
  "KRW-XRP": ["엑스알피(리플)", "XRP"],
  "KRW-SOL": ["솔라나", "Solana"],
  "KRW-DOGE": ["도지코인", "Dogecoin"],
};

const MSG_MISSING = "Missing request parameter error. Check the required parameters!";
const MSG_TYPE = "Type mismatch error. Check the parameters type!";
const MSG_INVALID = "Invalid parameter. Check the given value!";
const MSG_NO_CODE = "Code not found";

/** A quotation failure: integer `name` = HTTP status. */
class QuotationError extends Error {
  readonly status: 400 | 404;
  constructor(status: 400 | 404, message: string) {
    super(message);
    this.status = status;
  }
}

/** Upbit's body for an unknown path (a *string* name, from its gateway). */
export function notFoundBody(): { error: { name: string; message: string } } {
  return { error: { name: "not_found", message: "no Route matched with those values" } };
}

function quotationError(c: Context, err: QuotationError): Response {
  return c.json({ error: { name: err.status, message: err.message } }, err.status);
}

/** The raw (still URL-encoded) value of `name` in the request's query string. */
function rawParam(url: string, name: string): string | undefined {
  const q = url.indexOf("?");
  if (q < 0) return undefined;
  for (const part of url.slice(q + 1).split("&")) {
    const eq = part.indexOf("=");
    if ((eq < 0 ? part : part.slice(0, eq)) === name) return eq < 0 ? "" : part.slice(eq + 1);
  }
  return undefined;
}

function intParam(
  value: string | undefined,
  options: { def: number; min: number; max: number },
): number {
  if (value === undefined) return options.def;
  if (!/^-?\d+$/.test(value)) throw new QuotationError(400, MSG_TYPE);
  const n = Number(value);
  if (n < options.min || n > options.max) throw new QuotationError(400, MSG_INVALID);
  return n;
}

const TO_RE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/;

/** Parses Upbit's candle `to` (ISO with `Z`/offset, or naive = UTC); throws a 400. */
export function parseCandleTo(text: string): number {
  const m = TO_RE.exec(text.trim());
  if (m === null) throw new QuotationError(400, MSG_INVALID);
  const [, y, mo, d, h = "0", mi = "0", s = "0", zone] = m;
  let ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  if (zone !== undefined && zone !== "Z") {
    const sign = zone.startsWith("-") ? -1 : 1;
    const digits = zone.slice(1).replace(":", "");
    ms -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000;
  }
  if (!Number.isFinite(ms)) throw new QuotationError(400, MSG_INVALID);
  return ms;
}

function checkEncoded(url: string, name: string): void {
  const raw = rawParam(url, name);
  // Upbit rejects an unencoded `:` or `+` (a `+` would decode to a space anyway).
  if (raw !== undefined && /[:+ ]/.test(raw)) throw new QuotationError(400, MSG_INVALID);
}

function requireMarket(replay: Replay, value: string | undefined): string {
  if (value === undefined || value === "") throw new QuotationError(400, MSG_MISSING);
  if (!replay.markets.includes(value)) throw new QuotationError(404, MSG_NO_CODE);
  return value;
}

function requireMarkets(replay: Replay, value: string | undefined, upper: boolean): string[] {
  if (value === undefined || value.trim() === "") throw new QuotationError(400, MSG_MISSING);
  const list = value.split(",").map((s) => (upper ? s.trim().toUpperCase() : s.trim()));
  for (const m of list) {
    if (!replay.markets.includes(m)) throw new QuotationError(404, MSG_NO_CODE);
  }
  return list;
}

/** The current tick of `market` at its last price. */
function currentTick(replay: Replay, market: string): Units {
  const last = replay.lastTrade(market);
  const price = last?.price ?? parseUnits("1");
  return krwTickSize(price, { atMs: replay.nowMs(), market });
}

/** The price-grouping levels `market` supports (`"0"` first), Upbit's `supported_levels`. */
export function supportedLevels(replay: Replay, market: string): string[] {
  const tick = currentTick(replay, market);
  const price = replay.lastTrade(market)?.price ?? 0n;
  const out = ["0"];
  for (let p = SCALE; p <= price / 10n; p *= 10n) if (p >= tick) out.push(formatUnits(p));
  return out;
}

/** Builds the quotation sub-app (mount at `/`). */
export function createQuotationRoutes(replay: Replay): Hono {
  const app = new Hono();

  function candleRoute(c: Context, span: CandleSpan, kind: CandleKind): Response {
    const market = requireMarket(replay, c.req.query("market"));
    const count = intParam(c.req.query("count"), { def: 1, min: 1, max: 200 });
    const toText = c.req.query("to");
    let toMs: number | undefined;
    if (toText !== undefined && toText !== "") {
      checkEncoded(c.req.url, "to");
      toMs = parseCandleTo(toText);
    }
    if (kind.kind === "days") {
      const unit = c.req.query("converting_price_unit");
      if (unit !== undefined && unit !== "KRW") throw new QuotationError(400, MSG_INVALID);
    }
    const list = replay.candles(market, span, { toMs, count });
    return c.json(list.map((x) => restCandle(market, x, kind)));
  }

  app.get("/v1/market/all", (c) => {
    const details = c.req.query("is_details") === "true";
    return c.json(replay.markets.map((market) => {
      const [ko, en] = MARKET_NAMES[market] ?? [market, market];
      const base: Record<string, unknown> = { market, korean_name: ko, english_name: en };
      if (details) {
        base.market_event = {
          warning: false,
          caution: {
            PRICE_FLUCTUATIONS: false,
            TRADING_VOLUME_SOARING: false,
            DEPOSIT_AMOUNT_SOARING: false,
            GLOBAL_PRICE_DIFFERENCES: false,
            CONCENTRATION_OF_SMALL_ACCOUNTS: false,
          },
        };
      }
      return base;
    }));
  });

  app.get("/v1/candles/seconds", (c) => candleRoute(c, "1s", { kind: "seconds" }));
  app.get("/v1/candles/minutes/:unit", (c) => {
    const unit = Number(c.req.param("unit"));
    if (!MINUTE_UNITS.includes(unit)) throw new QuotationError(400, MSG_INVALID);
    return candleRoute(c, `${unit}m` as CandleSpan, { kind: "minutes", unit });
  });
  app.get("/v1/candles/days", (c) =>
    candleRoute(c, "1d", {
      kind: "days",
      convertKrw: c.req.query("converting_price_unit") === "KRW",
    }));
  app.get("/v1/candles/weeks", (c) => candleRoute(c, "1w", { kind: "weeks" }));
  app.get("/v1/candles/months", (c) => candleRoute(c, "1M", { kind: "months" }));
  app.get("/v1/candles/years", (c) => candleRoute(c, "1y", { kind: "years" }));

  app.get("/v1/trades/ticks", (c) => {
    const market = requireMarket(replay, c.req.query("market"));
    const count = intParam(c.req.query("count"), { def: 1, min: 1, max: 500 });
    const daysAgoText = c.req.query("days_ago");
    const daysAgo = daysAgoText === undefined
      ? 0
      : intParam(daysAgoText, { def: 0, min: 1, max: 7 });
    const cursorText = c.req.query("cursor");
    if (cursorText !== undefined && !/^\d+$/.test(cursorText)) {
      throw new QuotationError(400, MSG_TYPE);
    }
    const day = Math.floor(replay.nowMs() / DAY_MS) * DAY_MS - daysAgo * DAY_MS;
    let toMs: number | undefined = daysAgo > 0 ? day + DAY_MS : undefined;
    const toText = c.req.query("to");
    if (toText !== undefined && toText !== "") {
      checkEncoded(c.req.url, "to");
      const m = /^(\d{2}):?(\d{2}):?(\d{2})$/.exec(toText);
      if (m === null) throw new QuotationError(400, MSG_INVALID);
      toMs = day + ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1000;
    }
    const list = replay.trades(market, {
      toMs,
      cursor: cursorText === undefined ? undefined : Number(cursorText),
      count,
      notBeforeMs: daysAgo > 0 || toMs !== undefined ? day : undefined,
    });
    return c.json(list.map((tr) => restTrade(tr, replay.prevCloseOf(market, tr.tsMs) ?? tr.price)));
  });

  function tickers(markets: readonly string[]): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = [];
    for (const m of markets) {
      const t = replay.ticker(m);
      if (t !== undefined) out.push(restTicker(t));
    }
    return out;
  }

  app.get(
    "/v1/ticker",
    (c) => c.json(tickers(requireMarkets(replay, c.req.query("markets"), false))),
  );
  app.get("/v1/ticker/all", (c) => {
    const q = c.req.query("quote_currencies");
    if (q === undefined || q.trim() === "") throw new QuotationError(400, MSG_MISSING);
    const quotes = q.split(",").map((s) => s.trim().toUpperCase());
    return c.json(tickers(replay.markets.filter((m) => quotes.includes(m.split("-")[0] ?? ""))));
  });

  app.get("/v1/orderbook", (c) => {
    const markets = requireMarkets(replay, c.req.query("markets"), true);
    const count = intParam(c.req.query("count"), { def: 30, min: 1, max: 30 });
    const levelText = c.req.query("level") ?? "0";
    let level: Units;
    try {
      level = parseUnits(levelText);
    } catch {
      throw new QuotationError(400, MSG_TYPE);
    }
    const out: Record<string, unknown>[] = [];
    for (const m of markets) {
      if (level !== 0n && !supportedLevels(replay, m).includes(levelText)) continue;
      const book = replay.bookWith(m);
      if (book === undefined) continue;
      const grouped = groupBook(book, level);
      out.push(restOrderbook(
        { ...grouped, asks: grouped.asks.slice(0, count), bids: grouped.bids.slice(0, count) },
        level,
      ));
    }
    return c.json(out);
  });

  app.get("/v1/orderbook/instruments", (c) => {
    const markets = requireMarkets(replay, c.req.query("markets"), true);
    return c.json(markets.map((m) => ({
      market: m,
      quote_currency: m.split("-")[0],
      tick_size: formatUnits(currentTick(replay, m)),
      supported_levels: supportedLevels(replay, m),
    })));
  });

  app.onError((err, c) => {
    if (err instanceof QuotationError) return quotationError(c, err);
    throw err;
  });
  return app;
}
