/**
 * `RestTransport`: one Upbit REST call end to end — signing (auth.ts), per-group rate limiting
 * (rate_limiter.ts), a timeout per attempt, the HTTP exchange, failure classification
 * (errors.ts) and zod validation of the answer (schemas.ts).
 *
 * - Every call has a timeout (`AbortSignal.timeout`, default 5 s). No `Origin` header is sent.
 * - Reads retry `TemporaryError`s and short `RateLimitedError`s with jittered exponential
 *   backoff. Writes never retry blindly: their failures are thrown as they are.
 */

import {
  buildQueryStrings,
  compactBody,
  type QueryParams,
  type QueryValue,
  type Secret,
  signUpbitJwt,
} from "./auth.ts";
import { ConfigError, EngineError, RateLimitedError, TemporaryError } from "../../errors.ts";
import { blockMsOf, classifyFailure, snippet } from "./errors.ts";
import {
  type GroupLimit,
  type RateGroup,
  rateGroupOf,
  RateLimiter,
  sleep as defaultSleep,
} from "./rate_limiter.ts";
import { parseJsonBody } from "./schemas.ts";

/** Upbit's REST base URL. */
export const DEFAULT_REST_URL = "https://api.upbit.com";

/** Options of `RestTransport` (a subset of `UpbitRestClientOptions`). */
export interface RestTransportOptions {
  /** Base URL without trailing slash (default `https://api.upbit.com`). */
  readonly restUrl?: string;
  /** Exchange API key; required for private endpoints only. */
  readonly accessKey?: string;
  /** Secret of `accessKey`. */
  readonly secretKey?: Secret;
  /** Per-attempt time limit (default 5 000 ms). */
  readonly timeoutMs?: number;
  /** Extra attempts of a read after a temporary failure (default 3). */
  readonly maxReadRetries?: number;
  /** First backoff step (default 200 ms); doubles per attempt, capped by `backoffMaxMs`. */
  readonly backoffBaseMs?: number;
  /** Backoff cap (default 4 000 ms). */
  readonly backoffMaxMs?: number;
  /** Longest rate-limit wait a read sits out before giving up (default 2 000 ms). */
  readonly maxRetryWaitMs?: number;
  /** Overrides of the per-group budgets (`DEFAULT_RATE_LIMITS`). */
  readonly rateLimits?: Partial<Record<RateGroup, GroupLimit>>;
  /** Latency guard added to every rate window (default 50 ms). */
  readonly rateGuardMs?: number;
  /** A limiter shared with other clients of the same IP / pocket (overrides `rateLimits`). */
  readonly limiter?: RateLimiter;
  /** Called with each 429 or 418 answer (without a shared `limiter`). */
  readonly onRateRefused?: (group: RateGroup, status: 429 | 418) => void;
  /** Told each call's outcome: its group and HTTP status (0: no answer; the metrics). */
  readonly onAnswer?: (group: RateGroup, status: number) => void;
  /** Block assumed for a 418 that states no duration (default 60 000 ms). */
  readonly defaultBlockMs?: number;
  /** Jitter source in [0, 1) (default `Math.random`). */
  readonly random?: () => number;
  /** Backoff sleep (default a timer). */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Clock, epoch ms (default `Date.now`). */
  readonly nowMs?: () => number;
  /** HTTP transport (default the global `fetch`). */
  readonly fetch?: typeof fetch;
}

/** One REST call: method, path, query or JSON body, and whether it is signed. */
export interface CallSpec {
  readonly method: "GET" | "POST" | "DELETE";
  readonly path: string;
  readonly params?: QueryParams;
  readonly body?: Readonly<Record<string, QueryValue>>;
  readonly auth: boolean;
  readonly signal?: AbortSignal;
  /** Told the moment the request goes out (after signing and rate-limit waits). */
  readonly onSend?: (atMs: number) => void;
}

/** A zod-like schema: what `read`/`write` validate an answer with. */
export interface Decoder<T> {
  safeParse(
    data: unknown,
  ):
    | { success: true; data: T }
    | {
      success: false;
      error: { issues: ReadonlyArray<{ path: PropertyKey[]; message: string }> };
    };
}

/** Signs, rate-limits, sends, classifies and decodes Upbit REST calls. */
export class RestTransport {
  readonly #restUrl: string;
  readonly #accessKey: string | undefined;
  readonly #secretKey: Secret | undefined;
  readonly #timeoutMs: number;
  readonly #maxReadRetries: number;
  readonly #backoffBaseMs: number;
  readonly #backoffMaxMs: number;
  readonly #maxRetryWaitMs: number;
  readonly #limiter: RateLimiter;
  readonly #defaultBlockMs: number;
  readonly #random: () => number;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly #nowMs: () => number;
  readonly #fetch: typeof fetch;
  readonly #onAnswer: ((group: RateGroup, status: number) => void) | undefined;

  /** Creates a transport; see `RestTransportOptions` for the defaults. */
  constructor(options: RestTransportOptions = {}) {
    const restUrl = (options.restUrl ?? DEFAULT_REST_URL).replace(/\/+$/, "");
    if (!/^https?:\/\/[^/]+$/.test(restUrl)) {
      throw new ConfigError(
        `Cannot create Upbit client: restUrl must be http(s)://host[:port]: current value is ${restUrl}`,
      );
    }
    this.#restUrl = restUrl;
    this.#accessKey = options.accessKey;
    this.#secretKey = options.secretKey;
    this.#timeoutMs = options.timeoutMs ?? 5000;
    this.#maxReadRetries = options.maxReadRetries ?? 3;
    this.#backoffBaseMs = options.backoffBaseMs ?? 200;
    this.#backoffMaxMs = options.backoffMaxMs ?? 4000;
    this.#maxRetryWaitMs = options.maxRetryWaitMs ?? 2000;
    this.#limiter = options.limiter ??
      new RateLimiter({
        ...(options.rateLimits === undefined ? {} : { limits: options.rateLimits }),
        ...(options.rateGuardMs === undefined ? {} : { guardMs: options.rateGuardMs }),
        ...(options.nowMs === undefined ? {} : { nowMs: options.nowMs }),
        // An injected clock is waited on as it is read (a fast or manual clock moves by sleeps).
        ...(options.sleep === undefined ? {} : { sleep: options.sleep }),
        ...(options.onRateRefused === undefined ? {} : { onRefused: options.onRateRefused }),
      });
    this.#defaultBlockMs = options.defaultBlockMs ?? 60_000;
    this.#random = options.random ?? Math.random;
    this.#sleep = options.sleep ?? defaultSleep;
    this.#nowMs = options.nowMs ?? Date.now;
    this.#fetch = options.fetch ?? fetch;
    this.#onAnswer = options.onAnswer;
  }

  /** The limiter (to share it, or to inspect pauses). */
  get limiter(): RateLimiter {
    return this.#limiter;
  }

  /** Longest rate-limit wait a read (or an order placement) sits out before giving up. */
  get maxRetryWaitMs(): number {
    return this.#maxRetryWaitMs;
  }

  /** The clock, epoch ms. */
  nowMs(): number {
    return this.#nowMs();
  }

  /** The backoff sleep. */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return this.#sleep(ms, signal);
  }

  /** A read: retried on temporary failures and short rate-limit waits. */
  async read<T>(spec: CallSpec, schema: Decoder<T>): Promise<T> {
    for (let attempt = 0;; attempt++) {
      try {
        return decode(schema, await this.#once(spec), spec);
      } catch (error) {
        const retryable = error instanceof TemporaryError ||
          (error instanceof RateLimitedError && !error.blocked &&
            error.retryAfterMs <= this.#maxRetryWaitMs);
        if (!retryable || attempt >= this.#maxReadRetries) throw error;
        // A 429 already paused the group in the limiter; the next acquire waits for it.
        if (error instanceof TemporaryError) {
          const step = Math.min(this.#backoffMaxMs, this.#backoffBaseMs * 2 ** attempt);
          await this.#sleep(this.jitter(step), spec.signal);
        }
      }
    }
  }

  /** A write: one attempt, failures thrown as they are. */
  async write<T>(spec: CallSpec, schema: Decoder<T>): Promise<T> {
    return decode(schema, await this.#once(spec), spec);
  }

  /** Half fixed, half random: spreads retries of many callers (`[step/2, step)`). */
  jitter(stepMs: number): number {
    return stepMs / 2 + this.#random() * (stepMs / 2);
  }

  /** One HTTP exchange: sign, wait for the group's budget, send with a timeout, read, classify. */
  async #once(spec: CallSpec): Promise<unknown> {
    const what = `${spec.method} ${spec.path}`;
    const group = rateGroupOf(spec.method, spec.path);
    let url = this.#restUrl + spec.path;
    let bodyText: string | undefined;
    let hashed = "";
    if (spec.body !== undefined) {
      const body = compactBody(spec.body);
      bodyText = JSON.stringify(body);
      hashed = buildQueryStrings(body).plain;
    } else {
      const q = buildQueryStrings(spec.params);
      if (q.encoded !== "") url += `?${q.encoded}`;
      hashed = q.plain;
    }
    const headers: Record<string, string> = { accept: "application/json" };
    if (bodyText !== undefined) headers["content-type"] = "application/json; charset=utf-8";
    if (spec.auth) {
      if (this.#accessKey === undefined || this.#secretKey === undefined) {
        throw new ConfigError(`Cannot ${what}: no API key configured`);
      }
      const jwt = await signUpbitJwt({
        accessKey: this.#accessKey,
        secretKey: this.#secretKey,
        query: hashed,
      });
      headers.authorization = `Bearer ${jwt}`;
    }
    await this.#limiter.acquire(group, spec.signal);
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const signal = spec.signal === undefined ? timeout : AbortSignal.any([timeout, spec.signal]);
    let res: Response;
    let text: string;
    spec.onSend?.(this.#nowMs());
    try {
      res = await this.#fetch(url, {
        method: spec.method,
        headers,
        ...(bodyText === undefined ? {} : { body: bodyText }),
        signal,
      });
    } catch (error) {
      this.#onAnswer?.(group, 0);
      throw transportError(what, error, spec.signal);
    }
    const status = res.status;
    try {
      text = await res.text();
    } catch (error) {
      // The connection was lost mid-answer: no answer, whatever its head said.
      this.#onAnswer?.(group, 0);
      this.#limiter.observe(group, { status, remainingReq: res.headers.get("remaining-req") });
      throw transportError(what, error, spec.signal, status);
    }
    this.#onAnswer?.(group, status);
    const blockMs = status === 418
      ? blockMsOf(text, res.headers.get("retry-after"), this.#defaultBlockMs)
      : undefined;
    this.#limiter.observe(group, {
      status,
      remainingReq: res.headers.get("remaining-req"),
      ...(blockMs === undefined ? {} : { blockMs }),
    });
    if (status < 200 || status > 299) {
      throw classifyFailure({
        status,
        bodyText: text,
        retryAfter: res.headers.get("retry-after"),
        group,
        what,
        nowMs: this.#nowMs(),
        defaultBlockMs: this.#defaultBlockMs,
      });
    }
    try {
      return parseJsonBody(text);
    } catch {
      throw new TemporaryError(
        `Cannot ${what}: HTTP ${status} with a body that is not JSON: ${snippet(text)}`,
        { reason: "bad_response", status },
      );
    }
  }
}

function decode<T>(schema: Decoder<T>, json: unknown, spec: CallSpec): T {
  const parsed = schema.safeParse(json);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue === undefined ? "" : `${issue.path.map(String).join(".")}: ${issue.message}`;
  throw new TemporaryError(
    `Cannot ${spec.method} ${spec.path}: response does not match Upbit's schema: ${where}`,
    { reason: "bad_response" },
  );
}

/** Maps a fetch/body failure: our timeout, the caller's abort, or a network failure. */
function transportError(
  what: string,
  error: unknown,
  callerSignal: AbortSignal | undefined,
  status?: number,
): EngineError | unknown {
  if (callerSignal?.aborted) return callerSignal.reason ?? error;
  const name = error instanceof Error ? error.name : "";
  if (name === "TimeoutError") {
    return new TemporaryError(`Cannot ${what}: no answer in time`, {
      reason: "timeout",
      cause: error,
      ...(status === undefined ? {} : { status }),
    });
  }
  return new TemporaryError(`Cannot ${what}: connection failed: ${(error as Error)?.message}`, {
    reason: "network",
    cause: error,
    ...(status === undefined ? {} : { status }),
  });
}
