/**
 * Test helpers for the Upbit REST client: a real sandbox on 127.0.0.1:0 (manual clock) and a
 * client pointed at it, plus a fetch wrapper that records every request the client sends, and
 * the environment a bot on the sandbox runs with.
 */

import { Secret } from "../../../../engine/adapters/upbit/auth.ts";
import {
  UpbitRestClient,
  type UpbitRestClientOptions,
} from "../../../../engine/adapters/upbit/rest_client.ts";
import { rateGroupOf } from "../../../../engine/adapters/upbit/rate_limiter.ts";
import {
  createSandbox,
  DEMO_ACCESS_KEY,
  DEMO_SECRET_KEY,
  type Sandbox,
} from "../../../../engine/sandbox/mod.ts";

/** Daily files are enough: the replay derives minute detail from them. */
export const DATA_FILES = ["data/upbit-KRW-BTC-1d.csv", "data/upbit-KRW-XRP-1d.csv"];

/** Starts a sandbox with a rich default account. */
export async function startSandbox(
  options: { readonly rateLimits?: boolean; readonly balances?: Record<string, string> } = {},
): Promise<Sandbox> {
  return await createSandbox({
    port: 0,
    manualClock: true,
    dataFiles: DATA_FILES,
    startAt: "2025-08-01T06:00:00Z",
    balances: options.balances ?? { KRW: "1000000000", BTC: "2", XRP: "10000" },
    rateLimits: options.rateLimits ?? false,
  });
}

/** The environment of a bot trading the sandbox's demo account (keys and both URLs). */
export function sandboxEnv(sb: Sandbox): Record<string, string> {
  return {
    UPBIT_ACCESS_KEY: DEMO_ACCESS_KEY,
    UPBIT_SECRET_KEY: DEMO_SECRET_KEY,
    UPBIT_REST_URL: sb.restUrl,
    UPBIT_WS_URL: sb.wsUrl,
  };
}

/** One request as the client sent it. */
export interface SentRequest {
  readonly atMs: number;
  readonly method: string;
  readonly path: string;
  readonly group: string;
  readonly url: string;
  readonly headers: Headers;
  status?: number;
}

/** A `fetch` that records every request (and its status) into `log`. */
export function recordingFetch(log: SentRequest[]): typeof fetch {
  return async function recorded(input: RequestInfo | URL, init?: RequestInit) {
    const url = new URL(typeof input === "string" || input instanceof URL ? input : input.url);
    const method = init?.method ?? "GET";
    const entry: SentRequest = {
      atMs: Date.now(),
      method,
      path: url.pathname,
      group: rateGroupOf(method, url.pathname),
      url: url.toString(),
      headers: new Headers(init?.headers),
    };
    log.push(entry);
    const res = await fetch(input, init);
    entry.status = res.status;
    return res;
  };
}

/** A client for `sb` with the demo key and short test timings (override with `options`). */
export function clientFor(sb: Sandbox, options: UpbitRestClientOptions = {}): UpbitRestClient {
  return new UpbitRestClient({
    restUrl: sb.restUrl,
    accessKey: DEMO_ACCESS_KEY,
    secretKey: new Secret(DEMO_SECRET_KEY),
    timeoutMs: 2000,
    backoffBaseMs: 20,
    lookupBackoffMs: 10,
    visibilityGraceMs: 200,
    ...options,
  });
}
