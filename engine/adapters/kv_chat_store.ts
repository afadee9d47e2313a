/**
 * `KvChatStore`: the Telegram surface's memory in Deno KV (reliability.md §3).
 *
 * - Each update id is claimed with one atomic check-for-absence, so a duplicate delivery or a
 *   replayed request never runs a command twice, even when two deliveries race. The record keeps
 *   its `seenAtMs` and expires after 48 hours (Telegram resends for far less; its ids are
 *   sequential, random only after a week without updates).
 * - A confirmation is taken with one atomic check of its versionstamp and a delete, so two taps
 *   of one Confirm button run one command. `expireIn` is lazy, so expiry is checked on read.
 * - The notification outbox's cursor: the id of the last journal event it handled.
 */

import { z } from "zod";
import * as keys from "../kv_keys.ts";
import type { ChatStore, OutboxCursorStore, PendingConfirmation } from "../ports.ts";
import { parseStored } from "./kv_stored.ts";

/** How long an update id is remembered. */
const UPDATE_TTL_MS = 48 * 3_600_000;

const updateSchema = z.object({ v: z.literal(1), seenAtMs: z.number() });

const cursorSchema = z.object({ v: z.literal(1), id: z.string().regex(/^\d+-\d+$/) });

const confirmationSchema = z.object({
  v: z.literal(1),
  nonce: z.string().min(1),
  action: z.enum(["stop", "sell_all", "sell"]),
  market: z.string().optional(),
  userId: z.number().int(),
  chatId: z.number().int(),
  createdAtMs: z.number(),
  expiresAtMs: z.number(),
});

/** The chat surface's store over a `Deno.Kv` (the bot's one store). */
export class KvChatStore implements ChatStore, OutboxCursorStore {
  readonly #kv: Deno.Kv;

  /** Over `kv`. */
  constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  /** Records `updateId` once; false when it was there already. */
  async claimUpdate(updateId: number, atMs: number): Promise<boolean> {
    const key = keys.chatUpdateKey(updateId);
    const result = await this.#kv.atomic()
      .check({ key, versionstamp: null })
      .set(key, { v: 1, seenAtMs: atMs } satisfies z.input<typeof updateSchema>, {
        expireIn: UPDATE_TTL_MS,
      })
      .commit();
    return result.ok;
  }

  /** Stores `confirmation` (it lapses at its `expiresAtMs`; KV drops it some time later). */
  async putConfirmation(confirmation: PendingConfirmation): Promise<void> {
    const ttl = Math.max(1_000, confirmation.expiresAtMs - confirmation.createdAtMs);
    await this.#kv.set(keys.chatConfirmKey(confirmation.nonce), { v: 1, ...confirmation }, {
      expireIn: ttl + 60_000,
    });
  }

  /** Deletes and returns the confirmation of `nonce` if it is there and not expired at `nowMs`. */
  async takeConfirmation(nonce: string, nowMs: number): Promise<PendingConfirmation | undefined> {
    const key = keys.chatConfirmKey(nonce);
    const entry = await this.#kv.get(key);
    if (entry.versionstamp === null) return undefined;
    const { v: _v, market, ...rest } = parseStored(confirmationSchema, key, entry.value);
    const confirmation: PendingConfirmation = market === undefined ? rest : { ...rest, market };
    const taken = await this.#kv.atomic().check(entry).delete(key).commit();
    if (!taken.ok) return undefined;
    return nowMs <= confirmation.expiresAtMs ? confirmation : undefined;
  }

  /** The last journal id the outbox handled, or undefined before the first. */
  async getOutboxCursor(): Promise<string | undefined> {
    const key = keys.chatOutboxCursorKey();
    const entry = await this.#kv.get(key);
    if (entry.versionstamp === null) return undefined;
    return parseStored(cursorSchema, key, entry.value).id;
  }

  /** Records `id` as the last journal id the outbox handled. */
  async setOutboxCursor(id: string): Promise<void> {
    await this.#kv.set(
      keys.chatOutboxCursorKey(),
      { v: 1, id } satisfies z.input<
        typeof cursorSchema
      >,
    );
  }
}
