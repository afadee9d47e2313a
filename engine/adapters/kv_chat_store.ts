/**
 * `KvChatStore`: the Telegram surface's memory in Deno KV (reliability.md §3).
 *
 * - Each update id is claimed with one atomic check-for-absence, so a duplicate delivery or a
 *   replayed request never runs a command twice, even when two deliveries race. The record keeps
 *   its `seenAtMs` and expires after 48 hours (Telegram resends for far less; its ids are
 *   sequential, random only after a week without updates).
 * - The claim and the command record (`["chat_command", updateId]`: the request the access rules
 *   let through, never the token) are one atomic commit, so a crash right after it leaves the
 *   command for the worker of the next start. A record expires after an hour (the worker drops
 *   it as stale after 10 minutes anyway).
 * - A confirmation is taken with one atomic check of its versionstamp and a delete, so two taps
 *   of one Confirm button run one command. `expireIn` is lazy, so expiry is checked on read.
 * - The notification outbox's cursor: the id of the last journal event it handled.
 */

import { z } from "zod";
import * as keys from "../kv_keys.ts";
import type {
  ChatCommandRecord,
  ChatStore,
  OutboxCursorStore,
  PendingConfirmation,
} from "../ports.ts";
import { parseStored } from "./kv_stored.ts";

/** How long an update id is remembered. */
const UPDATE_TTL_MS = 48 * 3_600_000;

/** How long a command record is kept when no worker runs it. */
const COMMAND_TTL_MS = 3_600_000;

const updateSchema = z.object({ v: z.literal(1), seenAtMs: z.number() });

const id = z.number().int();

const requestSchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("command"),
    updateId: id,
    userId: id,
    chatId: id,
    role: z.enum(["owner", "viewer"]),
    name: z.string(),
    args: z.array(z.string()).readonly(),
  }),
  z.object({
    kind: z.literal("button"),
    updateId: id,
    userId: id,
    chatId: id,
    queryId: z.string().min(1),
    messageId: id,
    action: z.enum(["confirm", "cancel"]),
    nonce: z.string().min(1),
  }),
]);

const commandSchema = z.object({
  v: z.literal(1),
  receivedAtMs: z.number(),
  request: requestSchema,
});

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

  /** Claims the request's update id and stores `record`, atomically; false when seen already. */
  async enqueueCommand(record: ChatCommandRecord): Promise<boolean> {
    const updateId = record.request.updateId;
    const key = keys.chatUpdateKey(updateId);
    const result = await this.#kv.atomic()
      .check({ key, versionstamp: null })
      .set(key, { v: 1, seenAtMs: record.receivedAtMs } satisfies z.input<typeof updateSchema>, {
        expireIn: UPDATE_TTL_MS,
      })
      .set(
        keys.chatCommandKey(updateId),
        { v: 1, ...record } satisfies z.input<typeof commandSchema>,
        { expireIn: COMMAND_TTL_MS },
      )
      .commit();
    return result.ok;
  }

  /** The waiting command records, oldest update id first, at most `limit`. */
  async listCommands(limit: number): Promise<ChatCommandRecord[]> {
    const records: ChatCommandRecord[] = [];
    for await (const entry of this.#kv.list({ prefix: keys.chatCommandPrefix() }, { limit })) {
      const { request, receivedAtMs } = parseStored(commandSchema, entry.key, entry.value);
      records.push({ request, receivedAtMs });
    }
    return records;
  }

  /** Deletes the command record of `updateId`. */
  async deleteCommand(updateId: number): Promise<void> {
    await this.#kv.delete(keys.chatCommandKey(updateId));
  }

  /** Stores `confirmation` (it lapses at its `expiresAtMs`; KV drops it some time later). */
  async putConfirmation(confirmation: PendingConfirmation): Promise<void> {
    const ttl = Math.max(1_000, confirmation.expiresAtMs - confirmation.createdAtMs);
    await this.#kv.set(keys.chatConfirmKey(confirmation.nonce), { v: 1, ...confirmation }, {
      expireIn: ttl + 60_000,
    });
  }

  /**
   * Deletes and returns the confirmation of `nonce` if it is there and not expired at `nowMs`;
   * with `commandOf`, deletes that update's command record in the same commit.
   */
  async takeConfirmation(
    nonce: string,
    nowMs: number,
    commandOf?: number,
  ): Promise<PendingConfirmation | undefined> {
    const key = keys.chatConfirmKey(nonce);
    const entry = await this.#kv.get(key);
    if (entry.versionstamp === null) return undefined;
    const { v: _v, market, ...rest } = parseStored(confirmationSchema, key, entry.value);
    const confirmation: PendingConfirmation = market === undefined ? rest : { ...rest, market };
    const op = this.#kv.atomic().check(entry).delete(key);
    if (commandOf !== undefined) op.delete(keys.chatCommandKey(commandOf));
    const taken = await op.commit();
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
