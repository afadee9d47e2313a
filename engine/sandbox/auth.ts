/**
 * Upbit JWT verification for the sandbox (`docs/upbit-api.md` §2): `Authorization: Bearer`,
 * HS256 or HS512 over the raw UTF-8 secret, a fresh `nonce` per request and a `query_hash`
 * (SHA-512 hex) of the unencoded query string or of the JSON body rendered as `k=v&…`.
 *
 * Each key pair belongs to one account; several keys may share an account (Upbit's "pocket").
 * Failures are answered with Upbit's own error names, in the order Upbit would hit them.
 */

import { decodeJwt, jwtVerify } from "jose";
import { type ExchangeResult, fail, ok } from "./errors.ts";

/**
 * Upbit's permission groups that matter to the sandbox's endpoints (API.md §2.1): the three a
 * trading key needs, and 출금조회 (view withdrawals, `GET /v1/withdraws/chance`).
 */
export type Permission = "view_assets" | "view_orders" | "place_orders" | "view_withdrawals";

/** One API key pair of a sandbox account. */
export interface ApiKeyConfig {
  readonly accessKey: string;
  /** Used as raw UTF-8 bytes, exactly as Upbit does (never base64-decoded). */
  readonly secretKey: string;
  /** The account (pocket) the key trades for. */
  readonly accountId: string;
  /** Permission groups; the three trading groups (no withdrawal group) when omitted. */
  readonly permissions?: readonly Permission[];
  /** Key expiry, UTC epoch ms (`expired_access_key` after it). */
  readonly expiresAtMs?: number;
  /** Allow-listed caller IPs (`no_authorization_ip` otherwise); any IP when omitted. */
  readonly allowedIps?: readonly string[];
}

/** What the verifier needs to know about one HTTP request. */
export interface AuthRequest {
  /** The `Authorization` header, if any. */
  readonly authorization: string | undefined;
  /** The raw (still URL-encoded) query string, without the leading `?`. */
  readonly rawQuery: string;
  /** The parsed JSON body of a POST, in the order its keys were sent. */
  readonly body?: Readonly<Record<string, unknown>>;
  /** The caller's IP, checked against `allowedIps`. */
  readonly ip?: string;
  /** The permission group the endpoint needs. */
  readonly permission?: Permission;
}

/** A caller whose token checked out. */
export interface Authenticated {
  readonly accessKey: string;
  readonly accountId: string;
}

const ALGORITHMS = ["HS256", "HS512"];

/**
 * How long a spent nonce is remembered (real ms). Upbit's tokens carry no time claim (API.md
 * §2.2), so no window is published; 10 minutes is far beyond any retry, and the memory is
 * bounded: at most the pocket's request budget over the window.
 */
export const NONCE_WINDOW_MS = 600_000;
/** Spent nonces remembered per key at most (reached only with rate limits off). */
export const MAX_NONCES_PER_KEY = 100_000;
/** A key's groups when none are configured: what the bot needs, nothing of withdrawals. */
const TRADING_PERMISSIONS: readonly Permission[] = ["view_assets", "view_orders", "place_orders"];

/** Options of `SandboxAuth`. */
export interface SandboxAuthOptions {
  /** The clock of key expiry (sandbox time). */
  readonly nowMs: () => number;
  /** The clock of the nonce memory (real time; default `Date.now`). */
  readonly realNowMs?: () => number;
  /** Default `NONCE_WINDOW_MS`. */
  readonly nonceWindowMs?: number;
  /** Default `MAX_NONCES_PER_KEY`. */
  readonly maxNoncesPerKey?: number;
}

/** The key registry plus the nonces spent recently (per access key, bounded). */
export class SandboxAuth {
  readonly #keys = new Map<string, ApiKeyConfig>();
  /** Access key → nonce → when it was spent (insertion order = age). */
  readonly #nonces = new Map<string, Map<string, number>>();
  readonly #nowMs: () => number;
  readonly #realNowMs: () => number;
  readonly #nonceWindowMs: number;
  readonly #maxNonces: number;

  /** Registers `keys`; see `SandboxAuthOptions` for the clocks and nonce bounds. */
  constructor(keys: readonly ApiKeyConfig[], options: SandboxAuthOptions) {
    for (const key of keys) this.#keys.set(key.accessKey, key);
    this.#nowMs = options.nowMs;
    this.#realNowMs = options.realNowMs ?? (() => Date.now());
    this.#nonceWindowMs = options.nonceWindowMs ?? NONCE_WINDOW_MS;
    this.#maxNonces = options.maxNoncesPerKey ?? MAX_NONCES_PER_KEY;
  }

  /** The account of `accessKey`, or undefined for an unknown key. */
  accountOf(accessKey: string): string | undefined {
    return this.#keys.get(accessKey)?.accountId;
  }

  /** Spent nonces remembered now, over every key (for the bounds test). */
  nonceCount(): number {
    let n = 0;
    for (const spent of this.#nonces.values()) n += spent.size;
    return n;
  }

  /**
   * The account of a bearer token whose signature checks out (nonce, expiry and scope not
   * checked, nothing spent); undefined otherwise. Rate limits charge a pocket only through this.
   */
  async verifiedAccount(authorization: string | undefined): Promise<string | undefined> {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
    if (match === null) return undefined;
    const token = match[1] ?? "";
    try {
      const accessKey = decodeJwt(token)["access_key"];
      const key = typeof accessKey === "string" ? this.#keys.get(accessKey) : undefined;
      if (key === undefined) return undefined;
      await jwtVerify(token, new TextEncoder().encode(key.secretKey), { algorithms: ALGORITHMS });
      return key.accountId;
    } catch {
      return undefined;
    }
  }

  /** Spends `nonce` for `accessKey`; false when it was spent within the window. */
  #spend(accessKey: string, nonce: string): boolean {
    const now = this.#realNowMs();
    let spent = this.#nonces.get(accessKey);
    if (spent === undefined) {
      spent = new Map();
      this.#nonces.set(accessKey, spent);
    }
    for (const [old, atMs] of spent) {
      if (now - atMs < this.#nonceWindowMs && spent.size < this.#maxNonces) break;
      spent.delete(old);
    }
    if (spent.has(nonce)) return false;
    spent.set(nonce, now);
    return true;
  }

  /** Verifies a request's token as Upbit does; spends the nonce once the signature is valid. */
  async verify(request: AuthRequest): Promise<ExchangeResult<Authenticated>> {
    const header = request.authorization;
    if (header === undefined || header.trim() === "") return fail("no_authorization_token");
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match === null) return fail("jwt_verification");
    const token = match[1] ?? "";
    let claims: Record<string, unknown>;
    try {
      claims = decodeJwt(token);
    } catch {
      return fail("jwt_verification");
    }
    const accessKey = claims["access_key"];
    if (typeof accessKey !== "string") return fail("jwt_verification");
    const key = this.#keys.get(accessKey);
    if (key === undefined) return fail("invalid_access_key");
    try {
      await jwtVerify(token, new TextEncoder().encode(key.secretKey), { algorithms: ALGORITHMS });
    } catch {
      return fail("jwt_verification");
    }
    if (key.expiresAtMs !== undefined && this.#nowMs() >= key.expiresAtMs) {
      return fail("expired_access_key");
    }
    if (key.allowedIps !== undefined && !key.allowedIps.includes(request.ip ?? "")) {
      return fail("no_authorization_ip");
    }
    const nonce = claims["nonce"];
    if (typeof nonce !== "string" || nonce === "") return fail("jwt_verification");
    if (!this.#spend(accessKey, nonce)) return fail("nonce_used");

    const hashed = request.body === undefined
      ? canonicalQuery(request.rawQuery)
      : bodyQueryString(request.body);
    if (hashed === undefined) return fail("invalid_query_payload");
    if (hashed !== "") {
      const alg = claims["query_hash_alg"];
      if (alg !== undefined && (typeof alg !== "string" || alg.toUpperCase() !== "SHA512")) {
        return fail("invalid_query_payload");
      }
      const given = claims["query_hash"];
      if (typeof given !== "string" || given.toLowerCase() !== await sha512Hex(hashed)) {
        return fail("invalid_query_payload");
      }
    }
    const permissions = key.permissions ?? TRADING_PERMISSIONS;
    if (request.permission !== undefined && !permissions.includes(request.permission)) {
      return fail("out_of_scope");
    }
    return ok({ accessKey, accountId: key.accountId });
  }
}

/**
 * The unencoded form of a raw query string, in the order sent (`a%3Ab=1` → `a:b=1`), as Upbit
 * hashes it; undefined when a component is not valid percent-encoding.
 */
export function canonicalQuery(rawQuery: string): string | undefined {
  const raw = rawQuery.startsWith("?") ? rawQuery.slice(1) : rawQuery;
  if (raw === "") return "";
  try {
    return raw.split("&").map(decodeURIComponent).join("&");
  } catch {
    return undefined;
  }
}

/** A JSON body rendered as Upbit hashes it: `k=v` in body key order, null values left out. */
export function bodyQueryString(body: Readonly<Record<string, unknown>>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(body)) {
    if (v === null || v === undefined) continue;
    if (Array.isArray(v)) {
      const name = k.endsWith("[]") ? k : `${k}[]`;
      for (const item of v) parts.push(`${name}=${scalarText(item)}`);
    } else {
      parts.push(`${k}=${scalarText(v)}`);
    }
  }
  return parts.join("&");
}

function scalarText(value: unknown): string {
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

/** Lowercase hex SHA-512 of the UTF-8 bytes of `text`. */
export async function sha512Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-512", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}
