/**
 * Sessions of the status page (reliability.md §4): the cookie, the session middleware and the
 * CSRF token check.
 *
 * The cookie: `__Host-sid` (HttpOnly, Secure, SameSite=Strict, Path=/, no Domain) when the page
 * is served over TLS. Browsers accept a `__Host-` cookie only with `Secure`, and whether they keep
 * a `Secure` cookie set over plain `http://127.0.0.1` is not something we want to rely on; so on
 * plain http, which is allowed only on a loopback origin (nothing crosses a network), the cookie
 * is `sid` with the same attributes except `Secure`. Any other http origin is a `ConfigError`.
 *
 * The cookie's id is 256 random bits; the store keeps only its SHA-256. Each session has its own
 * random CSRF token: forms echo it in `_csrf`, JSON posts in `X-CSRF-Token` (a custom header
 * forces a CORS preflight, which this server never allows). Tokens and passwords are compared
 * in constant time.
 */

import type { Context, MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { HTTPException } from "hono/http-exception";
import { type Clock, ConfigError, type SessionStore, type WebSession } from "../engine/mod.ts";
import type { Lang } from "./i18n.ts";

/** The variables a request carries once the session middleware passed. */
export interface WebEnv {
  Variables: {
    session: WebSession;
    secureHeadersNonce?: string;
    /** The request's language (`languageMiddleware`). */
    lang: Lang;
  };
}

/** The name of the session cookie (as the browser sends it) and whether it is `Secure`. */
export interface SessionCookie {
  readonly name: string;
  readonly secure: boolean;
}

/** The header a JSON post carries its CSRF token in. */
const CSRF_HEADER = "x-csrf-token";
/** The form field a form post carries its CSRF token in. */
export const CSRF_FIELD = "_csrf";

const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;
const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

/**
 * The cookie for the page's public `origin` (`https://bot.example.com`, `http://127.0.0.1:8080`):
 * `__Host-sid` over TLS, `sid` on loopback http; any other origin is a `ConfigError`.
 */
export function sessionCookieOf(origin: string): SessionCookie {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    throw new ConfigError(`WEB_ORIGIN: must be a URL such as http://127.0.0.1:8080: got ${origin}`);
  }
  if (url.origin !== origin) {
    throw new ConfigError(`WEB_ORIGIN: must be an origin (scheme, host, port) only: got ${origin}`);
  }
  if (url.protocol === "https:") return { name: "__Host-sid", secure: true };
  if (url.protocol === "http:" && LOOPBACK.has(url.hostname)) return { name: "sid", secure: false };
  throw new ConfigError(
    `WEB_ORIGIN: plain http is allowed only on 127.0.0.1, localhost or [::1] (the password would cross the network in clear); serve ${url.host} over https: got ${origin}`,
  );
}

/** 256 random bits, base64url (43 characters). */
export function newSessionId(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}

/** SHA-256 of `text`, hex. */
async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The key `equalSecret` hashes with: random per process, so the digests reveal nothing. */
let compareKey: Promise<CryptoKey> | undefined;

/**
 * Compares two secrets in constant time: both are HMAC'd first (so their lengths do not show),
 * then every byte of the digests is compared.
 */
export async function equalSecret(a: string, b: string): Promise<boolean> {
  compareKey ??= crypto.subtle.generateKey({ name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const key = await compareKey;
  const enc = new TextEncoder();
  const [x, y] = await Promise.all([
    crypto.subtle.sign("HMAC", key, enc.encode(a)),
    crypto.subtle.sign("HMAC", key, enc.encode(b)),
  ]);
  const p = new Uint8Array(x);
  const q = new Uint8Array(y);
  let diff = 0;
  for (let i = 0; i < p.length; i++) diff |= p[i]! ^ q[i]!;
  return diff === 0;
}

/** Who the operator's audit log names for a session: `web:` + 16 hex of its id's hash. */
export function actorOf(session: WebSession): string {
  return `web:${session.idHash.slice(0, 16)}`;
}

/** What the session routes use. */
export interface SessionDeps {
  readonly sessions: SessionStore;
  readonly clock: Clock;
  readonly cookie: SessionCookie;
}

/** Starts a session: stores it and sets the cookie; returns it. */
export async function startSession(
  c: Context,
  deps: SessionDeps & { readonly ttlMs: number; readonly newId: () => string },
): Promise<WebSession> {
  const id = deps.newId();
  const nowMs = deps.clock.nowMs();
  const session: WebSession = {
    idHash: await sha256Hex(id),
    csrfToken: newSessionId(),
    createdAtMs: nowMs,
    expiresAtMs: nowMs + deps.ttlMs,
  };
  await deps.sessions.putSession(session);
  setCookie(c, cookieBase(deps.cookie), id, {
    httpOnly: true,
    secure: deps.cookie.secure,
    sameSite: "Strict",
    path: "/",
    maxAge: Math.floor(deps.ttlMs / 1000),
    ...(deps.cookie.secure ? { prefix: "host" as const } : {}),
  });
  return session;
}

/** Ends the session of the request (if any) and clears the cookie. */
export async function endSession(c: Context<WebEnv>, deps: SessionDeps): Promise<void> {
  const session = c.get("session");
  await deps.sessions.deleteSession(session.idHash);
  deleteCookie(c, cookieBase(deps.cookie), {
    path: "/",
    secure: deps.cookie.secure,
    ...(deps.cookie.secure ? { prefix: "host" as const } : {}),
  });
}

/** The session of the request's cookie, or undefined (none, malformed, unknown or expired). */
export async function sessionOf(c: Context, deps: SessionDeps): Promise<WebSession | undefined> {
  const id = getCookie(c, deps.cookie.name);
  if (id === undefined || !SESSION_ID.test(id)) return undefined;
  return await deps.sessions.getSession(await sha256Hex(id), deps.clock.nowMs());
}

/**
 * Requires a live session: pages (GET) without one go to `/login` (303), everything else gets
 * 401. Sets `session` for the handlers.
 */
export function requireSession(deps: SessionDeps): MiddlewareHandler<WebEnv> {
  return async (c, next) => {
    const session = await sessionOf(c, deps);
    if (session === undefined) {
      if (c.req.method === "GET" && !c.req.path.startsWith("/api/")) {
        return c.redirect("/login", 303);
      }
      throw new HTTPException(401, { message: "sign in first" });
    }
    c.set("session", session);
    await next();
  };
}

/**
 * Requires the session's CSRF token on a post: in `X-CSRF-Token` for JSON, in the `_csrf` field
 * for forms; any other body type is 415. A missing or wrong token is 403.
 */
export function requireCsrfToken(): MiddlewareHandler<WebEnv> {
  return async (c, next) => {
    const type = (c.req.header("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
    let token: string | undefined;
    if (type === "application/json") {
      token = c.req.header(CSRF_HEADER);
    } else if (type === "application/x-www-form-urlencoded" || type === "multipart/form-data") {
      const field = (await c.req.parseBody())[CSRF_FIELD];
      token = typeof field === "string" ? field : undefined;
    } else {
      throw new HTTPException(415, { message: "send JSON or a form" });
    }
    if (token === undefined || !await equalSecret(token, c.get("session").csrfToken)) {
      throw new HTTPException(403, { message: "missing or wrong CSRF token" });
    }
    await next();
  };
}

function cookieBase(cookie: SessionCookie): string {
  return cookie.secure ? cookie.name.replace(/^__Host-/, "") : cookie.name;
}

function base64url(bytes: Uint8Array): string {
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
