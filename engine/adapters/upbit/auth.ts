/**
 * Upbit request signing (`shared/upbit/API.md` §2): an HS512 JWT with a fresh UUID `nonce` per
 * request and a `query_hash` = lowercase hex SHA-512 of the *unencoded* query string, built
 * exactly as Upbit rebuilds it (§2.3): parameters in the order sent, arrays as
 * `key[]=a&key[]=b`, a POST body rendered `k=v&…` in body key order, null/undefined keys left out
 * of both the request and the hash. The same builder also produces the URL-encoded wire form, so
 * the hashed string and the sent string can never disagree.
 *
 * Secrets travel wrapped in `Secret`, which prints `[REDACTED]` everywhere (reliability.md §5).
 */

import { SignJWT } from "jose";
import { Secret } from "../../secret.ts";

export { Secret };

/** One scalar parameter value; `null`/`undefined` mean "leave the key out". */
export type QueryScalar = string | number | boolean | null | undefined;

/** A parameter value: a scalar, or a list sent as repeated `key[]=` entries. */
export type QueryValue = QueryScalar | readonly QueryScalar[];

/**
 * Request parameters in the order they are sent: a record (insertion order) or ordered pairs.
 * A key whose value is an array is sent as `key[]=…` repeated (the `[]` is added if missing).
 */
export type QueryParams =
  | Readonly<Record<string, QueryValue>>
  | ReadonlyArray<readonly [string, QueryValue]>;

/** Both forms of one query: `plain` is what Upbit hashes, `encoded` what goes on the wire. */
export interface QueryStrings {
  readonly plain: string;
  readonly encoded: string;
}

/**
 * Builds the unencoded (hashed) and URL-encoded (sent) forms of `params`, in order, skipping
 * null/undefined values. `[]` in key names stays unencoded in both forms.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const q = buildQueryStrings({ market: "KRW-BTC", states: ["wait", "watch"], to: "2026-11-24T09:00:00+09:00", x: null });
 * assert.equal(q.plain, "market=KRW-BTC&states[]=wait&states[]=watch&to=2026-11-24T09:00:00+09:00");
 * assert.equal(q.encoded, "market=KRW-BTC&states[]=wait&states[]=watch&to=2026-11-24T09%3A00%3A00%2B09%3A00");
 * ```
 */
export function buildQueryStrings(params: QueryParams | undefined): QueryStrings {
  const plain: string[] = [];
  const encoded: string[] = [];
  const entries: ReadonlyArray<readonly [string, QueryValue]> = params === undefined
    ? []
    : isPairList(params)
    ? params
    : Object.entries(params);
  for (const [key, value] of entries) {
    if (value === null || value === undefined) continue;
    if (isList(value)) {
      const name = key.endsWith("[]") ? key : `${key}[]`;
      for (const item of value) {
        if (item === null || item === undefined) continue;
        push(name, item);
      }
    } else {
      push(key, value);
    }
  }
  return { plain: plain.join("&"), encoded: encoded.join("&") };

  function push(key: string, value: string | number | boolean): void {
    const text = scalarText(value);
    plain.push(`${key}=${text}`);
    encoded.push(`${encodeKey(key)}=${encodeURIComponent(text)}`);
  }
}

/**
 * The string Upbit hashes for `params` (GET/DELETE query, or a POST body in body key order).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(buildQueryString([["uuids", ["a", "b"]], ["market", "KRW-BTC"]]), "uuids[]=a&uuids[]=b&market=KRW-BTC");
 * ```
 */
export function buildQueryString(params: QueryParams | undefined): string {
  return buildQueryStrings(params).plain;
}

/**
 * The JSON body of a POST with null/undefined keys dropped, in the given key order: hash it with
 * `buildQueryString(body)` and send `JSON.stringify` of the same object.
 */
export function compactBody(
  body: Readonly<Record<string, QueryValue>>,
): Record<string, Exclude<QueryValue, null | undefined>> {
  const out: Record<string, Exclude<QueryValue, null | undefined>> = {};
  for (const [k, v] of Object.entries(body)) {
    if (v === null || v === undefined) continue;
    out[k] = isList(v) ? v.filter((x) => x !== null && x !== undefined) : v;
  }
  return out;
}

/** Lowercase hex SHA-512 of the UTF-8 bytes of `text`. */
export async function sha512Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-512", new TextEncoder().encode(text));
  let hex = "";
  for (const b of new Uint8Array(digest)) hex += b.toString(16).padStart(2, "0");
  return hex;
}

/** Options of `signUpbitJwt`. */
export interface SignUpbitJwtOptions {
  readonly accessKey: string;
  /** Used as raw UTF-8 bytes (never base64-decoded), as Upbit does. */
  readonly secretKey: Secret | string;
  /**
   * The request's parameters (query or POST body), or the already-built unencoded string.
   * Omitted or empty ⇒ no `query_hash` (e.g. `GET /v1/accounts`, the private WebSocket).
   */
  readonly query?: QueryParams | string;
  /** Fixed nonce (test vectors only); default a fresh `crypto.randomUUID()`. */
  readonly nonce?: string;
}

/**
 * Signs an Upbit JWT (HS512). Claims, in order: `access_key`, `nonce`, and when there are
 * parameters `query_hash` + `query_hash_alg: "SHA512"`. Every call needs a new nonce: a reused
 * token is refused with `nonce_used`, so sign again for every retry.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const jwt = await signUpbitJwt({ accessKey: "A", secretKey: new Secret("S"), query: { market: "KRW-BTC" } });
 * assert.equal(jwt.split(".").length, 3);
 * ```
 */
export async function signUpbitJwt(options: SignUpbitJwtOptions): Promise<string> {
  const hashed = typeof options.query === "string"
    ? options.query
    : buildQueryString(options.query);
  const claims: Record<string, string> = {
    access_key: options.accessKey,
    nonce: options.nonce ?? crypto.randomUUID(),
  };
  if (hashed !== "") {
    claims.query_hash = await sha512Hex(hashed);
    claims.query_hash_alg = "SHA512";
  }
  const secret = typeof options.secretKey === "string"
    ? options.secretKey
    : options.secretKey.reveal();
  return await new SignJWT(claims)
    .setProtectedHeader({ alg: "HS512", typ: "JWT" })
    .sign(await hmacKeyOf(secret));
}

/** The HMAC key of the last secret signed with (imported once, not per request). */
let lastKey: { readonly secret: string; readonly key: Promise<CryptoKey> } | undefined;

/** `secret`'s raw UTF-8 bytes as a non-extractable HS512 signing key, cached for the next call. */
function hmacKeyOf(secret: string): Promise<CryptoKey> {
  if (lastKey?.secret !== secret) {
    const key = crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(secret),
      { name: "HMAC", hash: "SHA-512" },
      false,
      ["sign"],
    );
    lastKey = { secret, key };
  }
  return lastKey.key;
}

function isPairList(
  params: QueryParams,
): params is ReadonlyArray<readonly [string, QueryValue]> {
  return Array.isArray(params);
}

function isList(value: QueryValue): value is readonly QueryScalar[] {
  return Array.isArray(value);
}

function scalarText(value: string | number | boolean): string {
  if (typeof value === "number" && !Number.isFinite(value)) {
    throw new RangeError(`Cannot build query: number must be finite: current value is ${value}`);
  }
  return String(value);
}

/** Encodes a key but keeps a trailing `[]` literal, as Upbit expects. */
function encodeKey(key: string): string {
  return key.endsWith("[]") ? `${encodeURIComponent(key.slice(0, -2))}[]` : encodeURIComponent(key);
}
