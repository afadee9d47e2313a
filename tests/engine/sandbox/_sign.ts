/**
 * Test-only Upbit request signing (API.md §2): builds JWTs with jose and the query strings that
 * are hashed. The production client is written elsewhere; this stays in the tests.
 */

import { SignJWT } from "jose";

/** An access/secret key pair. */
export interface TestKey {
  readonly accessKey: string;
  readonly secretKey: string;
}

/** Lowercase hex SHA-512 (computed independently of the sandbox's own helper). */
export async function sha512(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-512", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** `{ plain, encoded }` query strings for ordered pairs; `[]` stays unencoded in both. */
export function queryOf(pairs: ReadonlyArray<readonly [string, string]>): {
  plain: string;
  encoded: string;
} {
  const plain = pairs.map(([k, v]) => `${k}=${v}`).join("&");
  const encoded = pairs.map(([k, v]) =>
    `${encodeURIComponent(k).replace(/%5B%5D$/, "[]")}=${encodeURIComponent(v)}`
  ).join("&");
  return { plain, encoded };
}

/** A POST body rendered the way it is hashed (`k=v&…`, body order, nulls skipped). */
export function bodyPlain(body: Readonly<Record<string, unknown>>): string {
  return Object.entries(body).filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => `${k}=${v}`).join("&");
}

/** Signs a token; `hashed` is the plain string to hash (omit for no-parameter requests). */
export async function signToken(
  key: TestKey,
  options: {
    readonly hashed?: string;
    readonly alg?: "HS256" | "HS512";
    readonly nonce?: string;
    readonly queryHash?: string;
    readonly extraClaims?: Record<string, unknown>;
  } = {},
): Promise<string> {
  const claims: Record<string, unknown> = {
    access_key: key.accessKey,
    nonce: options.nonce ?? crypto.randomUUID(),
    ...options.extraClaims,
  };
  if (options.queryHash !== undefined) {
    claims.query_hash = options.queryHash;
    claims.query_hash_alg = "SHA512";
  } else if (options.hashed !== undefined && options.hashed !== "") {
    claims.query_hash = await sha512(options.hashed);
    claims.query_hash_alg = "SHA512";
  }
  const alg = options.alg ?? "HS512";
  return await new SignJWT(claims).setProtectedHeader({ alg, typ: "JWT" })
    .sign(new TextEncoder().encode(key.secretKey));
}
