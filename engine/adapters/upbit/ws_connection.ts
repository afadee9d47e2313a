/**
 * One resilient Upbit WebSocket (API.md §6–7, reliability.md §1.7): connect within Upbit's
 * 5 connects/s, send the whole subscription in one request message on every open, keep alive
 * with a text `PING` every ≤ 30 s, declare the link dead after a configurable silence (default
 * 60 s: a live capture saw a 60 s idle close with no close frame), and reconnect with jittered
 * exponential backoff (1 s → 30 s, reset after a healthy period).
 *
 * Every frame goes through `decodeFrame`; a malformed or unexpected frame is counted by reason,
 * logged once per reason and type, and skipped. Handlers of the old socket are detached before
 * a reconnect, so a late frame from a dead socket can never reach the stream.
 */

import {
  decodeFrame,
  type Malformed,
  MALFORMED_REASONS,
  type MalformedReason,
  type WsMessage,
} from "./ws_messages.ts";

/** Where warnings go (injected; the engine has no console). */
export interface WsLogger {
  /** A condition worth a look: a malformed frame kind, an Upbit error, a failed back-fill. */
  warn(message: string, data?: Readonly<Record<string, unknown>>): void;
}

/** Reconnect backoff: delay = min(maxMs, baseMs·2^attempt) · (1 − jitter·random()). */
export interface BackoffOptions {
  /** First delay (ms). Default 1 000. */
  readonly baseMs?: number;
  /** Cap (ms). Default 30 000. */
  readonly maxMs?: number;
  /** Fraction of the delay that is randomised away (0–1). Default 0.5. */
  readonly jitter?: number;
  /** A connection open this long (ms) resets the attempt count. Default 60 000. */
  readonly resetAfterMs?: number;
}

/** Opens a socket; Deno's `WebSocket` takes upgrade headers as a second argument. */
export type OpenSocket = (url: string, init: { headers?: Record<string, string> }) => WebSocket;

/** Options every Upbit socket shares. */
export interface WsConnectionOptions {
  /** `wss://api.upbit.com/websocket/v1` (or `/private`). */
  readonly url: string;
  /** Text `PING` period (ms). Default 30 000 (Upbit closes idle sockets after 60–120 s). */
  readonly pingIntervalMs?: number;
  /** No frame for this long (ms) = dead link, even without a close frame. Default 60 000. */
  readonly stallTimeoutMs?: number;
  /** Give up on an upgrade that has not opened after this long (ms). Default 10 000. */
  readonly connectTimeoutMs?: number;
  /** Connection attempts per rolling second. Default 5 (Upbit's `websocket-connect`). */
  readonly connectsPerSecond?: number;
  /** Reconnect backoff. */
  readonly backoff?: BackoffOptions;
  /** Uniform [0, 1) source for jitter. Default `Math.random`. */
  readonly random?: () => number;
  /** Waits `ms` or until `signal` aborts (then resolves early). Default: a timer. */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Wall clock (ms) for lag, rates and health. Default `Date.now`. */
  readonly nowMs?: () => number;
  /** Warnings. Default: none. */
  readonly logger?: WsLogger;
  /** Socket factory (tests wrap it to observe attempts). Default `new WebSocket`. */
  readonly openSocket?: OpenSocket;
}

/** Why a socket ended. */
export type CloseCause =
  | "closed"
  | "abnormal"
  | "stall"
  | "connect_failed"
  | "connect_timeout"
  | "upbit_error"
  | "shutdown";

/** A reconnect about to be attempted. */
export interface ReconnectPlan {
  /** Consecutive unhealthy attempts before this one (0 after a healthy connection). */
  readonly attempt: number;
  /** The backoff delay chosen (ms). */
  readonly delayMs: number;
  /** Why the previous socket ended. */
  readonly cause: CloseCause;
  /** How long the previous socket was open (ms; 0 if it never opened). */
  readonly upMs: number;
}

/** Counters for a status page. */
export interface WsStatus {
  /** A socket is open and subscribed. */
  readonly connected: boolean;
  /** ms since the last frame (undefined before the first). */
  readonly lagMs: number | undefined;
  /** Successful opens after the first. */
  readonly reconnects: number;
  /** Attempts that never opened. */
  readonly failedConnects: number;
  /** Links declared dead by silence. */
  readonly stalls: number;
  /** Frames per second over the last ≥ 1 s window. */
  readonly messagesPerSec: number;
  /** Frames received in all. */
  readonly messages: number;
  /** Frames rejected, all reasons. */
  readonly malformed: number;
  /** Frames rejected, by reason. */
  readonly malformedByReason: Readonly<Record<MalformedReason, number>>;
  /** Upbit error frames (§7.5) received. */
  readonly upbitErrors: number;
  /** The last Upbit error name or socket error text. */
  readonly lastError: string | undefined;
}

/** What the owner of a connection plugs in. */
export interface WsConnectionHooks {
  /** The one request message sent on every open (the full subscription). */
  request(): string;
  /** Upgrade headers, built fresh per attempt (a new JWT nonce each time). */
  headers?(): Promise<Record<string, string>>;
  /** A socket opened and the request was sent; `reconnect` is false the first time. */
  onOpen(info: { readonly reconnect: boolean }): void;
  /** The socket ended (handlers already detached). */
  onClose(cause: CloseCause): void;
  /** A reconnect is planned. */
  onReconnecting?(plan: ReconnectPlan): void;
  /** A valid frame; return a reason to reject it as unexpected (e.g. a code not subscribed). */
  onMessage(message: WsMessage): Malformed | undefined;
}

/** A running connection. */
export interface WsConnection {
  /** Counters for the status page. */
  status(): WsStatus;
  /** Stops reconnecting and closes the socket. */
  close(): Promise<void>;
}

/** The backoff delay for `attempt` (0-based) with random draw `r` in [0, 1). */
export function backoffDelayMs(
  attempt: number,
  options: { backoff?: BackoffOptions; r: number },
): number {
  const base = options.backoff?.baseMs ?? 1_000;
  const max = options.backoff?.maxMs ?? 30_000;
  const jitter = options.backoff?.jitter ?? 0.5;
  const raw = Math.min(max, base * 2 ** Math.min(attempt, 30));
  return raw * (1 - jitter * options.r);
}

function defaultSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done);
  });
}

/** Deno's WebSocket client, with `init.headers` sent on the upgrade request. */
export function openDenoSocket(url: string, init: { headers?: Record<string, string> }): WebSocket {
  if (init.headers === undefined) return new WebSocket(url);
  // Deno's WebSocket takes `{ headers }`; the DOM lib's type (main.ts's program includes the
  // status page, checked with it) knows only protocols.
  const options = init as unknown as ConstructorParameters<typeof WebSocket>[1];
  return new WebSocket(url, options);
}

/** Starts a connection that runs until `close()`. */
export function startWsConnection(
  options: WsConnectionOptions,
  hooks: WsConnectionHooks,
): WsConnection {
  const nowMs = options.nowMs ?? Date.now;
  const sleep = options.sleep ?? defaultSleep;
  const random = options.random ?? Math.random;
  const openSocket = options.openSocket ?? openDenoSocket;
  const pingMs = options.pingIntervalMs ?? 30_000;
  const stallMs = options.stallTimeoutMs ?? 60_000;
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  const connectLimit = options.connectsPerSecond ?? 5;
  const resetAfterMs = options.backoff?.resetAfterMs ?? 60_000;
  const logger = options.logger;
  const stop = new AbortController();

  const malformedByReason = Object.fromEntries(MALFORMED_REASONS.map((r) => [r, 0])) as Record<
    MalformedReason,
    number
  >;
  const logged = new Set<string>();
  const attemptTimes: number[] = [];
  let connected = false;
  let opens = 0;
  let failedConnects = 0;
  let stalls = 0;
  let messages = 0;
  let malformed = 0;
  let upbitErrors = 0;
  let lastError: string | undefined;
  let lastMessageMs: number | undefined;
  let windowStartMs = nowMs();
  let windowCount = 0;
  let rate = 0;
  let endSession: ((cause: CloseCause) => void) | undefined;

  function warnOnce(key: string, message: string, data: Record<string, unknown>): void {
    if (logged.has(key)) return;
    logged.add(key);
    logger?.warn(message, data);
  }

  function reject(error: Malformed): void {
    malformed++;
    malformedByReason[error.reason]++;
    warnOnce(
      `${error.reason}|${error.type ?? ""}`,
      `Skipped an Upbit WebSocket frame: ${error.reason}`,
      { reason: error.reason, type: error.type, detail: error.detail, url: options.url },
    );
  }

  function countFrame(now: number): void {
    messages++;
    lastMessageMs = now;
    windowCount++;
    const span = now - windowStartMs;
    if (span >= 1000) {
      rate = windowCount * 1000 / span;
      windowStartMs = now;
      windowCount = 0;
    }
  }

  function onFrame(data: unknown): void {
    countFrame(nowMs());
    const result = typeof data === "string" || data instanceof ArrayBuffer ||
        data instanceof Uint8Array
      ? decodeFrame(data)
      : decodeFrame(new Uint8Array(0));
    if (!result.ok) return reject(result.error);
    const message = result.value;
    if (message.kind === "error") {
      upbitErrors++;
      lastError = String(message.message.error.name);
      warnOnce(`error|${lastError}`, `Upbit WebSocket error: ${lastError}`, {
        name: lastError,
        message: message.message.error.message,
        url: options.url,
      });
      // Upbit closes the socket after an error frame; do not wait for it to do so.
      endSession?.("upbit_error");
      return;
    }
    const unexpected = hooks.onMessage(message);
    if (unexpected !== undefined) reject(unexpected);
  }

  /** Waits until fewer than `connectLimit` attempts were made in the last second. */
  async function connectSlot(): Promise<void> {
    while (!stop.signal.aborted) {
      const now = nowMs();
      while (attemptTimes.length > 0 && now - (attemptTimes[0] as number) >= 1000) {
        attemptTimes.shift();
      }
      if (attemptTimes.length < connectLimit) {
        attemptTimes.push(now);
        return;
      }
      await sleep(1000 - (now - (attemptTimes[0] as number)) + 1, stop.signal);
    }
  }

  /** One socket from attempt to end; resolves with how it ended and how long it was open. */
  async function session(reconnect: boolean): Promise<{ cause: CloseCause; openMs: number }> {
    let headers: Record<string, string> | undefined;
    try {
      headers = hooks.headers === undefined ? undefined : await hooks.headers();
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
      return { cause: "connect_failed", openMs: 0 };
    }
    let socket: WebSocket;
    try {
      socket = openSocket(options.url, headers === undefined ? {} : { headers });
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
      return { cause: "connect_failed", openMs: 0 };
    }
    socket.binaryType = "arraybuffer";
    return await new Promise((resolve) => {
      let openedAt: number | undefined;
      let pingTimer: ReturnType<typeof setInterval> | undefined;
      let stallTimer: ReturnType<typeof setTimeout> | undefined;
      const connectTimer = setTimeout(() => finish("connect_timeout"), connectTimeoutMs);

      function checkStall(): void {
        const idle = nowMs() - (lastMessageMs ?? 0);
        if (idle >= stallMs) {
          stalls++;
          finish("stall");
        } else stallTimer = setTimeout(checkStall, stallMs - idle);
      }

      function finish(cause: CloseCause): void {
        if (endSession !== finish) return;
        endSession = undefined;
        clearTimeout(connectTimer);
        clearInterval(pingTimer);
        clearTimeout(stallTimer);
        socket.onopen = null;
        socket.onmessage = null;
        socket.onerror = null;
        socket.onclose = null;
        // A stalled or erroring socket may never complete a close handshake; we do not wait.
        socket.onerror = () => {};
        if (socket.readyState === WebSocket.CONNECTING || socket.readyState === WebSocket.OPEN) {
          try {
            socket.close(1000);
          } catch {
            // Already closing.
          }
        }
        const wasOpen = openedAt !== undefined;
        connected = false;
        if (wasOpen) hooks.onClose(cause);
        resolve({
          cause: !wasOpen && cause !== "shutdown" && cause !== "connect_timeout"
            ? "connect_failed"
            : cause,
          openMs: wasOpen ? nowMs() - (openedAt as number) : 0,
        });
      }
      endSession = finish;

      socket.onopen = () => {
        clearTimeout(connectTimer);
        openedAt = nowMs();
        lastMessageMs = openedAt;
        opens++;
        connected = true;
        socket.send(hooks.request());
        pingTimer = setInterval(() => {
          if (socket.readyState === WebSocket.OPEN) socket.send("PING");
        }, pingMs);
        stallTimer = setTimeout(checkStall, stallMs);
        hooks.onOpen({ reconnect });
      };
      socket.onmessage = (e: MessageEvent) => onFrame(e.data);
      socket.onerror = (e: Event) => {
        lastError = e instanceof ErrorEvent ? e.message : "socket error";
      };
      socket.onclose = (e: CloseEvent) => finish(e.code === 1000 ? "closed" : "abnormal");
    });
  }

  async function run(): Promise<void> {
    let attempt = 0;
    let reconnect = false;
    while (!stop.signal.aborted) {
      await connectSlot();
      if (stop.signal.aborted) break;
      const { cause, openMs } = await session(reconnect);
      if (stop.signal.aborted) break;
      if (cause === "connect_failed" || cause === "connect_timeout") failedConnects++;
      else reconnect = true;
      if (openMs >= resetAfterMs) attempt = 0;
      const delayMs = backoffDelayMs(attempt, { backoff: options.backoff, r: random() });
      hooks.onReconnecting?.({ attempt, delayMs, cause, upMs: openMs });
      attempt++;
      await sleep(delayMs, stop.signal);
    }
  }

  const running = run();

  function status(): WsStatus {
    const now = nowMs();
    const span = now - windowStartMs;
    const current = span >= 1000 ? windowCount * 1000 / span : rate;
    return {
      connected,
      lagMs: lastMessageMs === undefined ? undefined : Math.max(0, now - lastMessageMs),
      reconnects: Math.max(0, opens - 1),
      failedConnects,
      stalls,
      messagesPerSec: current,
      messages,
      malformed,
      malformedByReason: { ...malformedByReason },
      upbitErrors,
      lastError,
    };
  }

  async function close(): Promise<void> {
    stop.abort();
    endSession?.("shutdown");
    await running;
  }

  return { status, close };
}
