/**
 * `KvSessionStore`: the status page's memory in Deno KV (reliability.md §4).
 *
 * - A session is stored under the SHA-256 of its cookie id, so a copy of the store cannot be
 *   replayed as a cookie. KV's `expireIn` is lazy, so the expiry is checked on every read.
 * - Each failed login is one key `["web_login_fail", scope, atMs, id]` (expiring after 2 hours),
 *   so the rate limit is a range count and survives a restart of the process.
 */

import { z } from "zod";
import * as keys from "../kv_keys.ts";
import type { LoginAttemptStore, SessionStore, WebSession } from "../ports.ts";
import { parseStored } from "./kv_stored.ts";

/** How long a failed login is kept: longer than the longest rate-limit window (1 hour). */
const FAILURE_TTL_MS = 2 * 3_600_000;

const sessionSchema = z.object({
  v: z.literal(1),
  idHash: z.string().regex(/^[0-9a-f]{64}$/),
  csrfToken: z.string().min(32),
  createdAtMs: z.number(),
  expiresAtMs: z.number(),
});

/** The status page's sessions and failed logins over a `Deno.Kv` (the bot's one store). */
export class KvSessionStore implements SessionStore, LoginAttemptStore {
  readonly #kv: Deno.Kv;

  /** Over `kv`. */
  constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  /** Stores `session`; KV drops it some time after its expiry. */
  async putSession(session: WebSession): Promise<void> {
    const ttl = Math.max(1_000, session.expiresAtMs - session.createdAtMs);
    await this.#kv.set(keys.webSessionKey(session.idHash), { v: 1, ...session }, {
      expireIn: ttl + 60_000,
    });
  }

  /** The session of `idHash` if it is there and not expired at `nowMs`. */
  async getSession(idHash: string, nowMs: number): Promise<WebSession | undefined> {
    const key = keys.webSessionKey(idHash);
    const entry = await this.#kv.get(key);
    if (entry.versionstamp === null) return undefined;
    const { v: _v, ...session } = parseStored(sessionSchema, key, entry.value);
    return nowMs < session.expiresAtMs ? session : undefined;
  }

  /** Deletes the session of `idHash`. */
  async deleteSession(idHash: string): Promise<void> {
    await this.#kv.delete(keys.webSessionKey(idHash));
  }

  /** One key per scope, in one commit. */
  async recordLoginFailure(scopes: readonly string[], atMs: number): Promise<void> {
    const id = crypto.randomUUID();
    const op = this.#kv.atomic();
    for (const scope of scopes) {
      op.set(keys.webLoginFailKey(scope, atMs, id), { v: 1 }, { expireIn: FAILURE_TTL_MS });
    }
    await op.commit();
  }

  /** Counts the keys of `scope` from `sinceMs` on (lazy expiry does not matter: the range does). */
  async countLoginFailures(
    scope: string,
    options: { sinceMs: number; max: number },
  ): Promise<number> {
    const prefix = keys.webLoginFailPrefix(scope);
    let n = 0;
    const iter = this.#kv.list({
      start: [...prefix, options.sinceMs],
      end: [...prefix, Number.MAX_SAFE_INTEGER],
    }, { limit: options.max });
    for await (const _ of iter) n++;
    return n;
  }
}
