/**
 * Upbit's WebSocket API (API.md §7) over the market replay: `/websocket/v1` (and `/private`),
 * Upbit's request format (ticket, typed requests with codes, `is_only_snapshot`/`is_only_realtime`,
 * DEFAULT/SIMPLE/…_LIST formats), binary frames of JSON, `PING` → `{"status":"UP"}` every 10 s,
 * idle close, §7.5 errors, §6 connect/message limits, private `myOrder`/`myAsset` streams, and
 * fault switches that drop sockets cleanly, abruptly (no close frame: 1006) or stall them.
 */

import { parseUnits, type Units } from "../core/money.ts";
import { groupBook } from "./book.ts";
import type { BookSnapshot } from "./feed.ts";
import type { TapeTrade, UnitCandle } from "./paths.ts";
import { type PrivateEvent, privateEventJson } from "./private_events.ts";
import { bucketEnd, bucketStart, type CandleSpan, MINUTE_UNITS, type Replay } from "./replay.ts";
import {
  type StreamType,
  toSimple,
  wsCandle,
  wsOrderbook,
  wsTicker,
  wsTrade,
} from "./upbit_format.ts";

/** Who a private connection belongs to. */
export interface WsIdentity {
  readonly accountId: string;
}

/** The private side: token check on the upgrade and the exchange's own-order/asset events. */
export interface WsPrivateSource {
  /** Checks the upgrade's `Authorization` header; undefined when it is missing or invalid. */
  authenticate(req: Request): Promise<WsIdentity | undefined>;
  /** Subscribes to private events; returns an unsubscribe function. */
  onPrivateEvent(listener: (event: PrivateEvent) => void): () => void;
}

/** Options of `createWsServer`. */
export interface WsServerOptions {
  readonly replay: Replay;
  readonly privateSource?: WsPrivateSource;
  /** Close after this long without data either way (real ms). Default 120 000. */
  readonly idleTimeoutMs?: number;
  /** Connection attempts per second per IP. Default 5. */
  readonly connectPerSecond?: number;
  /** Request messages per second per connection (and 100 per minute). Default 5. */
  readonly messagesPerSecond?: number;
  /** Aborts the TCP connection of `remote` without a close frame; true when it did. */
  readonly abortConnection?: (remote: Deno.NetAddr) => boolean;
}

/** How to drop every open socket. */
export type DropMode = "clean" | "abrupt";

/** WebSocket fault switches. */
export interface WsFaults {
  /** Closes every open socket: `clean` with a 1000 close frame, `abrupt` without one (1006). */
  dropAll(mode: DropMode): number;
  /** While on, sockets stay open but nothing is sent (a silent stall). */
  stall(on: boolean): void;
}

/** The WebSocket endpoint. */
export interface WsServer {
  /**
   * Upgrades `req` (call for `/websocket/v1` and `/websocket/v1/private`); `remoteAddr` is the
   * socket's peer (what `abortConnection` gets), `clientIp` the caller when a front stands between.
   */
  handle(req: Request, info: { remoteAddr: Deno.Addr; clientIp?: string }): Promise<Response>;
  readonly faults: WsFaults;
  /** Open sockets. */
  connectionCount(): number;
  /** Closes every socket and stops listening to the replay. */
  close(): void;
}

type Format = "DEFAULT" | "SIMPLE" | "JSON_LIST" | "SIMPLE_LIST";
const FORMATS: readonly Format[] = ["DEFAULT", "SIMPLE", "JSON_LIST", "SIMPLE_LIST"];
const PUBLIC_TYPES = [
  "ticker",
  "trade",
  "orderbook",
  "candle.1s",
  ...MINUTE_UNITS.map((u) => `candle.${u}m`),
];
const PRIVATE_TYPES = ["myOrder", "myAsset"];
const BOOK_DEPTHS = [1, 5, 15, 30];
/** Codes per typed request at most (Upbit lists about 700 markets in all). */
export const MAX_CODES = 1000;
/** Typed requests per message at most (one per type is all a client needs). */
export const MAX_TYPES = 32;

interface Subscription {
  readonly type: string;
  /** Code → orderbook depth (30 unless a `.N` suffix asked for 1/5/15). */
  readonly codes: Map<string, number>;
  readonly rawCodes: readonly string[];
  readonly level: Units;
  readonly onlySnapshot: boolean;
  readonly onlyRealtime: boolean;
}

interface CandleMark {
  bucket: number;
  sentMs: number;
  dirty: boolean;
}

interface Connection {
  readonly socket: WebSocket;
  readonly remote: Deno.Addr;
  readonly identity: WsIdentity | undefined;
  format: Format;
  subs: Subscription[];
  lastActivity: number;
  readonly messageTimes: number[];
  upTimer: ReturnType<typeof setInterval> | undefined;
  readonly candles: Map<string, CandleMark>;
}

/** A §7.5 error body. */
function errorJson(name: string, message: string): string {
  return JSON.stringify({ error: { name, message } });
}

class RequestError extends Error {
  readonly errorName: string;
  constructor(name: string, message: string) {
    super(message);
    this.errorName = name;
  }
}

function spanOfType(type: string): CandleSpan {
  const unit = type.slice("candle.".length);
  return (unit === "1s" ? "1s" : unit) as CandleSpan;
}

function parseRequest(
  text: string,
  identity: WsIdentity | undefined,
): { ticket: string; subs: Subscription[]; format: Format; list: boolean } {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new RequestError("WRONG_FORMAT", "Format 이 맞지 않습니다.");
  }
  if (!Array.isArray(data) || data.some((x) => x === null || typeof x !== "object")) {
    throw new RequestError("WRONG_FORMAT", "Format 이 맞지 않습니다.");
  }
  const items = data as Record<string, unknown>[];
  if (items.length > MAX_TYPES + 3) {
    throw new RequestError("INVALID_PARAM", `요청은 최대 ${MAX_TYPES} 개의 타입까지 가능합니다.`);
  }
  const ticketItem = items.find((x) => "ticket" in x);
  if (
    ticketItem === undefined || typeof ticketItem.ticket !== "string" || ticketItem.ticket === ""
  ) {
    throw new RequestError("NO_TICKET", "티켓이 존재하지 않거나, 유효하지 않습니다.");
  }
  let format: Format = "DEFAULT";
  let list = false;
  const subs: Subscription[] = [];
  for (const item of items) {
    if (item === ticketItem) continue;
    if ("format" in item && !("type" in item)) {
      if (!FORMATS.includes(item.format as Format)) {
        throw new RequestError(
          "INVALID_PARAM",
          `${String(item.format)} 은 지원하지 않는 포맷입니다.`,
        );
      }
      format = item.format as Format;
      continue;
    }
    if ("method" in item) {
      if (item.method !== "LIST_SUBSCRIPTIONS") {
        throw new RequestError(
          "INVALID_PARAM",
          `${String(item.method)} 은 지원하지 않는 메서드입니다.`,
        );
      }
      list = true;
      continue;
    }
    if (typeof item.type !== "string" || item.type === "") {
      throw new RequestError("NO_TYPE", "타입 필드가 존재하지 않습니다.");
    }
    const type = item.type;
    const isPrivate = PRIVATE_TYPES.includes(type);
    if (!PUBLIC_TYPES.includes(type) && !isPrivate) {
      throw new RequestError("INVALID_PARAM", `${type} 은 지원하지 않는 타입입니다.`);
    }
    if (isPrivate && identity === undefined) {
      throw new RequestError("INVALID_AUTH", "인증 정보가 올바르지 않습니다.");
    }
    if (type === "myAsset" && "codes" in item) {
      throw new RequestError("WRONG_FORMAT", "Format 이 맞지 않습니다.");
    }
    const codesRaw = item.codes;
    if (!isPrivate && (!Array.isArray(codesRaw) || codesRaw.length === 0)) {
      throw new RequestError("NO_CODES", "codes 필드가 존재하지 않습니다.");
    }
    if (
      codesRaw !== undefined &&
      (!Array.isArray(codesRaw) || codesRaw.some((c) => typeof c !== "string"))
    ) {
      throw new RequestError("WRONG_FORMAT", "Format 이 맞지 않습니다.");
    }
    const rawCodes = (codesRaw ?? []) as string[];
    if (rawCodes.length > MAX_CODES) {
      throw new RequestError("INVALID_PARAM", `codes 는 최대 ${MAX_CODES} 개까지 가능합니다.`);
    }
    const codes = new Map<string, number>();
    for (const raw of rawCodes) {
      const [code = "", suffix] = raw.split(".");
      const n = Number(suffix);
      codes.set(code, type === "orderbook" && BOOK_DEPTHS.includes(n) ? n : 30);
    }
    let level = 0n;
    if (item.level !== undefined) {
      try {
        level = parseUnits(String(item.level));
      } catch {
        throw new RequestError("WRONG_FORMAT", "Format 이 맞지 않습니다.");
      }
    }
    subs.push({
      type,
      codes,
      rawCodes,
      level,
      onlySnapshot: item.is_only_snapshot === true || item.isOnlySnapshot === true,
      onlyRealtime: item.is_only_realtime === true || item.isOnlyRealtime === true,
    });
  }
  if (subs.length === 0 && !list) {
    throw new RequestError("NO_TYPE", "타입 필드가 존재하지 않습니다.");
  }
  return { ticket: ticketItem.ticket, subs, format, list };
}

/** Creates the WebSocket endpoint over `replay`. */
export function createWsServer(options: WsServerOptions): WsServer {
  const { replay } = options;
  const idleMs = options.idleTimeoutMs ?? 120_000;
  const connectLimit = options.connectPerSecond ?? 5;
  const msgLimit = options.messagesPerSecond ?? 5;
  const conns = new Set<Connection>();
  const connectTimes = new Map<string, number[]>();
  const encoder = new TextEncoder();
  let stalled = false;

  function send(conn: Connection, message: Record<string, unknown> | string): void {
    if (stalled || conn.socket.readyState !== WebSocket.OPEN) return;
    let text: string;
    if (typeof message === "string") text = message;
    else {
      const simple = conn.format === "SIMPLE" || conn.format === "SIMPLE_LIST";
      const shaped = simple ? toSimple(message) : message;
      const listed = conn.format.endsWith("_LIST") ? [shaped] : shaped;
      text = JSON.stringify(listed);
    }
    conn.lastActivity = Date.now();
    conn.socket.send(encoder.encode(text));
  }

  function candleMessage(code: string, type: string, c: UnitCandle, stream: StreamType) {
    return wsCandle(code, c, { type, stream });
  }

  function bookMessage(book: BookSnapshot, depth: number, level: Units, stream: StreamType) {
    const grouped = groupBook(book, level);
    return wsOrderbook(
      { ...grouped, asks: grouped.asks.slice(0, depth), bids: grouped.bids.slice(0, depth) },
      { level, stream },
    );
  }

  function tradeMessage(tr: TapeTrade, stream: StreamType) {
    return wsTrade(tr, {
      prevClose: replay.prevCloseOf(tr.market, tr.tsMs) ?? tr.price,
      book: replay.bookWith(tr.market, 1),
      stream,
      nowMs: replay.nowMs(),
    });
  }

  function currentCandle(code: string, type: string, atMs: number): UnitCandle | undefined {
    const span = spanOfType(type);
    const b = bucketStart(span, atMs);
    return replay.visibleCandle(code, b, bucketEnd(span, b)) ??
      replay.candles(code, span, { count: 1 })[0];
  }

  function snapshots(conn: Connection): void {
    for (const sub of conn.subs) {
      if (sub.onlyRealtime || PRIVATE_TYPES.includes(sub.type)) continue;
      for (const [code, depth] of sub.codes) {
        if (!replay.markets.includes(code)) continue;
        if (sub.type === "ticker") {
          const t = replay.ticker(code);
          if (t !== undefined) send(conn, wsTicker(t, "SNAPSHOT"));
        } else if (sub.type === "trade") {
          const tr = replay.lastTrade(code);
          if (tr !== undefined) send(conn, tradeMessage(tr, "SNAPSHOT"));
        } else if (sub.type === "orderbook") {
          const book = replay.bookWith(code);
          if (book !== undefined) send(conn, bookMessage(book, depth, sub.level, "SNAPSHOT"));
        } else {
          const c = currentCandle(code, sub.type, replay.nowMs());
          if (c !== undefined) {
            send(conn, candleMessage(code, sub.type, c, "SNAPSHOT"));
            conn.candles.set(`${sub.type}|${code}`, {
              bucket: c.startMs,
              sentMs: replay.nowMs(),
              dirty: false,
            });
          }
        }
      }
    }
  }

  function onTrade(tr: TapeTrade): void {
    if (conns.size === 0) return;
    let ticker: Record<string, unknown> | undefined;
    let trade: Record<string, unknown> | undefined;
    for (const conn of conns) {
      for (const sub of conn.subs) {
        if (sub.onlySnapshot) continue;
        const depth = sub.codes.get(tr.market);
        if (depth === undefined) continue;
        if (sub.type === "ticker") {
          const t = ticker ??= (() => {
            const state = replay.ticker(tr.market);
            return state === undefined ? undefined : wsTicker(state, "REALTIME");
          })();
          if (t !== undefined) send(conn, t);
        } else if (sub.type === "trade") {
          send(conn, trade ??= tradeMessage(tr, "REALTIME"));
        } else if (sub.type === "orderbook") {
          const book = replay.bookWith(tr.market);
          if (book !== undefined) send(conn, bookMessage(book, depth, sub.level, "REALTIME"));
        } else if (sub.type.startsWith("candle.")) {
          liveCandle(conn, sub.type, tr);
        }
      }
    }
  }

  /** Upbit pushes a candle at most once a second, only when a trade changed it. */
  function liveCandle(conn: Connection, type: string, tr: TapeTrade): void {
    const span = spanOfType(type);
    const key = `${type}|${tr.market}`;
    const b = bucketStart(span, tr.tsMs);
    const mark = conn.candles.get(key);
    if (mark !== undefined && mark.bucket !== b && mark.dirty) {
      // Finish the previous bucket first, so its last message is its final state.
      const prev = replay.visibleCandle(tr.market, mark.bucket, bucketEnd(span, mark.bucket));
      if (prev !== undefined) send(conn, candleMessage(tr.market, type, prev, "REALTIME"));
    }
    if (mark === undefined || mark.bucket !== b || tr.tsMs - mark.sentMs >= 1000) {
      const c = replay.visibleCandle(tr.market, b, bucketEnd(span, b));
      if (c !== undefined) send(conn, candleMessage(tr.market, type, c, "REALTIME"));
      conn.candles.set(key, { bucket: b, sentMs: tr.tsMs, dirty: false });
    } else mark.dirty = true;
  }

  function onPrivate(event: PrivateEvent): void {
    for (const conn of conns) {
      if (conn.identity?.accountId !== event.accountId) continue;
      for (const sub of conn.subs) {
        if (sub.type !== event.type) continue;
        if (event.type === "myOrder" && sub.codes.size > 0 && !sub.codes.has(event.order.market)) {
          continue;
        }
        const simple = conn.format === "SIMPLE" || conn.format === "SIMPLE_LIST";
        const json = privateEventJson(event, simple ? "SIMPLE" : "DEFAULT");
        send(conn, conn.format.endsWith("_LIST") ? `[${json}]` : json);
      }
    }
  }

  const unsubscribeTrades = replay.onTrade((t) => onTrade(t as TapeTrade));
  const unsubscribePrivate = options.privateSource?.onPrivateEvent(onPrivate);

  const idleTimer = setInterval(() => {
    const now = Date.now();
    // Connect counts older than a second are spent: forget them (one entry per recent caller).
    for (const [ip, times] of connectTimes) {
      if (times.every((t) => now - t >= 1000)) connectTimes.delete(ip);
    }
    for (const conn of conns) {
      if (now - conn.lastActivity > idleMs && conn.socket.readyState === WebSocket.OPEN) {
        conn.socket.close(1000, "idle");
      }
    }
  }, Math.min(1000, Math.max(50, idleMs / 4)));

  function rateLimited(conn: Connection): boolean {
    const now = Date.now();
    const times = conn.messageTimes;
    while (times.length > 0 && now - (times[0] as number) >= 60_000) times.shift();
    const lastSecond = times.filter((t) => now - t < 1000).length;
    if (lastSecond >= msgLimit || (Number.isFinite(msgLimit) && times.length >= 100)) return true;
    times.push(now);
    return false;
  }

  function onMessage(conn: Connection, data: unknown): void {
    conn.lastActivity = Date.now();
    const text = typeof data === "string" ? data : new TextDecoder().decode(data as ArrayBuffer);
    if (text.trim() === "PING") {
      send(conn, JSON.stringify({ status: "UP" }));
      if (conn.upTimer === undefined) {
        conn.upTimer = setInterval(() => send(conn, JSON.stringify({ status: "UP" })), 10_000);
      }
      return;
    }
    if (rateLimited(conn)) {
      send(conn, errorJson("Too Many Requests", "요청 수 제한을 초과했습니다."));
      return;
    }
    try {
      const req = parseRequest(text, conn.identity);
      if (req.subs.length > 0) {
        conn.subs = req.subs;
        conn.format = req.format;
        conn.candles.clear();
        snapshots(conn);
      } else if (req.list) conn.format = req.format;
      if (req.list) {
        send(
          conn,
          JSON.stringify({
            method: "LIST_SUBSCRIPTIONS",
            result: conn.subs.map((s) => ({ type: s.type, codes: s.rawCodes })),
            ticket: req.ticket,
          }),
        );
      }
    } catch (err) {
      if (!(err instanceof RequestError)) throw err;
      send(conn, errorJson(err.errorName, err.message));
      conn.socket.close(1000);
    }
  }

  async function handle(
    req: Request,
    info: { remoteAddr: Deno.Addr; clientIp?: string },
  ): Promise<Response> {
    const ip = info.clientIp ??
      ("hostname" in info.remoteAddr ? info.remoteAddr.hostname : "local");
    const now = Date.now();
    const times = (connectTimes.get(ip) ?? []).filter((t) => now - t < 1000);
    if (times.length >= connectLimit) {
      connectTimes.set(ip, times);
      return new Response("Too Many Requests", { status: 429 });
    }
    times.push(now);
    connectTimes.set(ip, times);
    if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new Response("Upgrade Required", { status: 426 });
    }
    const isPrivatePath = new URL(req.url).pathname.endsWith("/private");
    const identity = req.headers.has("authorization")
      ? await options.privateSource?.authenticate(req)
      : undefined;
    const { socket, response } = Deno.upgradeWebSocket(req);
    socket.binaryType = "arraybuffer";
    const conn: Connection = {
      socket,
      remote: info.remoteAddr,
      identity,
      format: "DEFAULT",
      subs: [],
      lastActivity: Date.now(),
      messageTimes: [],
      upTimer: undefined,
      candles: new Map(),
    };
    socket.onopen = () => {
      conns.add(conn);
      if (isPrivatePath && identity === undefined) {
        send(conn, errorJson("INVALID_AUTH", "인증 정보가 올바르지 않습니다."));
        socket.close(1000);
      }
    };
    socket.onmessage = (e) => onMessage(conn, e.data);
    socket.onclose = () => {
      conns.delete(conn);
      if (conn.upTimer !== undefined) clearInterval(conn.upTimer);
    };
    socket.onerror = () => {};
    return response;
  }

  return {
    handle,
    connectionCount: () => conns.size,
    faults: {
      dropAll(mode) {
        let n = 0;
        for (const conn of [...conns]) {
          n++;
          if (conn.upTimer !== undefined) clearInterval(conn.upTimer);
          const aborted = mode === "abrupt" && "hostname" in conn.remote &&
            options.abortConnection?.(conn.remote) === true;
          conns.delete(conn);
          if (!aborted && conn.socket.readyState === WebSocket.OPEN) conn.socket.close(1000);
        }
        return n;
      },
      stall(on) {
        stalled = on;
      },
    },
    close() {
      unsubscribeTrades();
      unsubscribePrivate?.();
      clearInterval(idleTimer);
      for (const conn of conns) {
        if (conn.upTimer !== undefined) clearInterval(conn.upTimer);
        if (conn.socket.readyState === WebSocket.OPEN) conn.socket.close(1001);
      }
      conns.clear();
    },
  };
}
