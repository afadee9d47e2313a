/**
 * The status page's settings: where to listen comes from the bot's config (`HTTP_PORT` /
 * `--http-port`, `HTTP_HOST` / `--http-host`, checked there), the rest from the environment
 * (main.ts reads `Deno.env` and passes it here). The page is off unless a port is given.
 * A mistake is one line naming the variable and the reason.
 *
 * | Variable | Meaning |
 * |---|---|
 * | `WEB_PASSWORD` | the login password, at least 16 characters (the demo makes one when unset) |
 * | `WEB_ORIGIN` | the page's origin as the browser sees it (default `http://127.0.0.1:<port>`; behind a TLS proxy `https://…`, required when not bound to loopback) |
 * | `WEB_METRICS_TOKEN` | a Prometheus scraper's bearer token for `/metrics`, at least 32 characters (optional) |
 */

import { z } from "zod";
import { err, ok, type Result, Secret } from "../engine/mod.ts";
import { MIN_PASSWORD_LENGTH } from "./mod.ts";

/** Every variable this module reads. */
const WEB_ENV = ["WEB_PASSWORD", "WEB_ORIGIN", "WEB_METRICS_TOKEN"] as const;

/** What the bot process needs to serve the page. */
export interface WebSettings {
  readonly hostname: string;
  /** 0: any free port (the origin then names the one the server got). */
  readonly port: number;
  readonly password: Secret;
  /** True when the password was made here (the demo prints it once). */
  readonly passwordGenerated: boolean;
  /** Undefined: `http://<hostname>:<port>` once listening. */
  readonly origin: string | undefined;
  readonly metricsToken: Secret | undefined;
  /** Say this at start (binding beyond loopback), or null. */
  readonly warning: string | null;
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1"]);

const SCHEMA = z.object({
  WEB_PASSWORD: z.string().min(
    MIN_PASSWORD_LENGTH,
    `must be at least ${MIN_PASSWORD_LENGTH} characters`,
  ).max(1024, "must be at most 1024 characters").optional(),
  WEB_ORIGIN: z.string().trim().regex(
    /^https?:\/\/[^/\s]+$/,
    "expected an origin such as https://bot.example.com (no path)",
  ).optional(),
  WEB_METRICS_TOKEN: z.string().trim().min(32, "must be at least 32 characters").optional(),
});

/** Where the server listens, as the bot's config parsed it. */
export interface ListenConfig {
  /** Undefined: the page is off. */
  readonly port: number | undefined;
  readonly hostname: string;
  /** How the user named the address (`HTTP_HOST` or `--http-host`), for errors. */
  readonly hostLabel?: string;
}

/**
 * The page's settings, or null when it is off (no port).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const at = { port: 8080, hostname: "127.0.0.1" };
 * assert.deepEqual(parseWebEnv({}, { ...at, port: undefined }), { ok: true, value: null });
 * const bad = parseWebEnv({ WEB_PASSWORD: "short" }, at);
 * assert.equal(!bad.ok && bad.error, "WEB_PASSWORD: must be at least 16 characters");
 * ```
 */
export function parseWebEnv(
  env: Readonly<Record<string, string | undefined>>,
  listen: ListenConfig & {
    /** Makes a password when none is set (the demo); without it a password is required. */
    readonly generatePassword?: () => string;
  },
): Result<WebSettings | null, string> {
  const given: Record<string, string> = {};
  for (const name of WEB_ENV) {
    const value = env[name];
    if (value !== undefined && value !== "") given[name] = value;
  }
  const parsed = SCHEMA.safeParse(given);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return err(`${String(issue.path[0] ?? "WEB_PASSWORD")}: ${issue.message}`);
  }
  const v = parsed.data;
  if (listen.port === undefined) return ok(null);
  let password = v.WEB_PASSWORD;
  const generated = password === undefined && listen.generatePassword !== undefined;
  if (password === undefined && listen.generatePassword !== undefined) {
    password = listen.generatePassword();
  }
  if (password === undefined) {
    return err("WEB_PASSWORD: must be set to serve the status page (at least 16 characters)");
  }
  const loopback = LOOPBACK.has(listen.hostname);
  if (!loopback && v.WEB_ORIGIN === undefined) {
    return err(
      `WEB_ORIGIN: must be set (https://…, a TLS proxy in front) when ${
        listen.hostLabel ?? "HTTP_HOST"
      } is ${listen.hostname}, not loopback`,
    );
  }
  return ok({
    hostname: listen.hostname,
    port: listen.port,
    password: new Secret(password),
    passwordGenerated: generated,
    origin: v.WEB_ORIGIN,
    metricsToken: v.WEB_METRICS_TOKEN === undefined ? undefined : new Secret(v.WEB_METRICS_TOKEN),
    warning: loopback
      ? null
      : `the status page listens on ${listen.hostname}, beyond this machine: ` +
        "keep it behind a TLS proxy, an SSH tunnel or a VPN",
  });
}

/** A random password for the demo: 24 characters of base64url (144 bits). */
export function generatePassword(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(18));
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_");
}
