/**
 * The status page's settings from the environment (main.ts reads `Deno.env` and the flags and
 * passes them here). The page is off unless a port is given (`HTTP_PORT` or `--http-port`).
 * A mistake is one line naming the variable and the reason.
 *
 * | Variable | Meaning |
 * |---|---|
 * | `HTTP_PORT` | the port to serve on (0: any free port); `--http-port` overrides it |
 * | `HTTP_HOSTNAME` | the address to bind (default `127.0.0.1`; anything else gets a warning) |
 * | `WEB_PASSWORD` | the login password, at least 16 characters (the demo makes one when unset) |
 * | `WEB_ORIGIN` | the page's origin as the browser sees it (default `http://127.0.0.1:<port>`; behind a TLS proxy `https://…`, required when not bound to loopback) |
 * | `WEB_METRICS_TOKEN` | a Prometheus scraper's bearer token for `/metrics`, at least 32 characters (optional) |
 */

import { z } from "zod";
import { err, ok, type Result, Secret } from "../engine/mod.ts";
import { MIN_PASSWORD_LENGTH } from "./mod.ts";

/** Every variable this module reads. */
const WEB_ENV = [
  "HTTP_PORT",
  "HTTP_HOSTNAME",
  "WEB_PASSWORD",
  "WEB_ORIGIN",
  "WEB_METRICS_TOKEN",
] as const;

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

const PORT = z.string().trim().regex(/^\d{1,5}$/, "expected a port number 0-65535")
  .transform(Number).refine((n) => n <= 65_535, "expected a port number 0-65535");

const SCHEMA = z.object({
  HTTP_PORT: PORT.optional(),
  HTTP_HOSTNAME: z.string().trim().regex(
    /^[A-Za-z0-9.:-]{1,253}$/,
    "expected an address such as 127.0.0.1",
  ).default("127.0.0.1"),
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

/**
 * The page's settings, or null when it is off (no port).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseWebEnv({}, {}), { ok: true, value: null });
 * const bad = parseWebEnv({ HTTP_PORT: "8080", WEB_PASSWORD: "short" }, {});
 * assert.equal(!bad.ok && bad.error, "WEB_PASSWORD: must be at least 16 characters");
 * ```
 */
export function parseWebEnv(
  env: Readonly<Record<string, string | undefined>>,
  options: {
    /** `--http-port`, which wins over `HTTP_PORT`. */
    readonly port?: string;
    /** Makes a password when none is set (the demo); without it a password is required. */
    readonly generatePassword?: () => string;
  },
): Result<WebSettings | null, string> {
  const given: Record<string, string> = {};
  for (const name of WEB_ENV) {
    const value = env[name];
    if (value !== undefined && value !== "") given[name] = value;
  }
  if (options.port !== undefined) given.HTTP_PORT = options.port;
  const parsed = SCHEMA.safeParse(given);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0] ?? "HTTP_PORT");
    const shown = name === "HTTP_PORT" && options.port !== undefined ? "--http-port" : name;
    return err(`${shown}: ${issue.message}`);
  }
  const v = parsed.data;
  if (v.HTTP_PORT === undefined) return ok(null);
  let password = v.WEB_PASSWORD;
  const generated = password === undefined && options.generatePassword !== undefined;
  if (password === undefined && options.generatePassword !== undefined) {
    password = options.generatePassword();
  }
  if (password === undefined) {
    return err("WEB_PASSWORD: must be set to serve the status page (at least 16 characters)");
  }
  const loopback = LOOPBACK.has(v.HTTP_HOSTNAME);
  if (!loopback && v.WEB_ORIGIN === undefined) {
    return err(
      `WEB_ORIGIN: must be set (https://…, a TLS proxy in front) when HTTP_HOSTNAME is ${v.HTTP_HOSTNAME}, not loopback`,
    );
  }
  return ok({
    hostname: v.HTTP_HOSTNAME,
    port: v.HTTP_PORT,
    password: new Secret(password),
    passwordGenerated: generated,
    origin: v.WEB_ORIGIN,
    metricsToken: v.WEB_METRICS_TOKEN === undefined ? undefined : new Secret(v.WEB_METRICS_TOKEN),
    warning: loopback
      ? null
      : `the status page listens on ${v.HTTP_HOSTNAME}, beyond this machine: ` +
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
