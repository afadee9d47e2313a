/**
 * Who may do what over Telegram, decided from the update alone (reliability.md §3): deny by
 * default. A command counts only from the owner (or a read-only viewer) in their private chat
 * with the bot, in a new message (not an edit) sent less than `maxAgeMs` ago; a button tap only
 * from the owner, on a message of that same chat. Everything else is `ignore`d with a reason.
 *
 * The update's body is attacker-controlled when the webhook secret leaks, so every field is read
 * defensively: a missing or mistyped one means "ignore", never a throw.
 */

import type { ChatRequest } from "../ports.ts";

/** What the person may do: the owner runs every command; a viewer only the reading ones. */
export type Role = Extract<ChatRequest, { kind: "command" }>["role"];

/** Why an update runs nothing. */
export type IgnoreReason =
  | "malformed"
  | "unsupported"
  | "edited"
  | "not_private"
  | "stranger"
  | "bot_sender"
  | "stale"
  | "other_bot"
  | "not_owner_button"
  | "bad_button";

/** What an update asks for, after the access rules: a request for the worker, or nothing. */
export type Verdict =
  | ChatRequest
  | {
    readonly kind: "ignore";
    readonly reason: IgnoreReason;
    /** The sender, when the update names one (for the one log line). */
    readonly userId: number | null;
  };

/** The access rules. */
export interface AccessPolicy {
  readonly ownerId: number;
  readonly viewerIds: readonly number[];
  /** The bot's username: `/cmd@other_bot` is for another bot. */
  readonly botUsername: string;
  /** Commands sent longer ago than this (or that far in the future) are stale. */
  readonly maxAgeMs: number;
}

/** A button's callback data: `confirm:<nonce>` or `cancel:<nonce>`. */
const BUTTON = /^(confirm|cancel):([A-Za-z0-9_-]{16,64})$/;

const COMMAND = /^\/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]{1,64}))?(?:\s+([\s\S]*))?$/;

type Json = Record<string, unknown>;

function obj(value: unknown): Json | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? value as Json
    : undefined;
}

function int(value: unknown): number | undefined {
  return typeof value === "number" && Number.isSafeInteger(value) ? value : undefined;
}

/** `/cmd@bot args` → name and args; text that is no command has the empty name. */
function parseCommand(
  text: string,
): { readonly name: string; readonly bot: string | null; readonly args: readonly string[] } {
  const m = COMMAND.exec(text.trim());
  if (m === null) return { name: "", bot: null, args: [] };
  const rest = (m[3] ?? "").trim();
  return {
    name: m[1]!.toLowerCase(),
    bot: m[2] ?? null,
    args: rest === "" ? [] : rest.split(/\s+/),
  };
}

/** What `update` may do under `policy` at `nowMs`. */
export function classifyUpdate(update: unknown, policy: AccessPolicy, nowMs: number): Verdict {
  const u = obj(update);
  const updateId = int(u?.update_id);
  if (u === undefined || updateId === undefined) {
    return { kind: "ignore", reason: "malformed", userId: null };
  }
  for (const edited of ["edited_message", "edited_channel_post", "edited_business_message"]) {
    if (u[edited] !== undefined) {
      return {
        kind: "ignore",
        reason: "edited",
        userId: int(obj(obj(u[edited])?.from)?.id) ?? null,
      };
    }
  }
  const ctx = { updateId, policy, nowMs };
  if (u.message !== undefined) return classifyMessage(obj(u.message), ctx);
  if (u.callback_query !== undefined) return classifyButton(obj(u.callback_query), ctx);
  return { kind: "ignore", reason: "unsupported", userId: null };
}

/** The update's id, the rules and the time it is judged at. */
interface Judging {
  readonly updateId: number;
  readonly policy: AccessPolicy;
  readonly nowMs: number;
}

function classifyMessage(message: Json | undefined, ctx: Judging): Verdict {
  const { updateId, policy, nowMs } = ctx;
  const from = obj(message?.from);
  const chat = obj(message?.chat);
  const userId = int(from?.id);
  const chatId = int(chat?.id);
  const date = int(message?.date);
  if (message === undefined || userId === undefined || chatId === undefined || date === undefined) {
    return { kind: "ignore", reason: "malformed", userId: userId ?? null };
  }
  if (chat?.type !== "private" || chatId !== userId) {
    return { kind: "ignore", reason: "not_private", userId };
  }
  if (from?.is_bot !== false) return { kind: "ignore", reason: "bot_sender", userId };
  const role: Role | undefined = userId === policy.ownerId
    ? "owner"
    : policy.viewerIds.includes(userId)
    ? "viewer"
    : undefined;
  if (role === undefined) return { kind: "ignore", reason: "stranger", userId };
  if (Math.abs(nowMs - date * 1000) > policy.maxAgeMs) {
    return { kind: "ignore", reason: "stale", userId };
  }
  const text = typeof message.text === "string" ? message.text : "";
  const command = parseCommand(text);
  if (command.bot !== null && command.bot.toLowerCase() !== policy.botUsername.toLowerCase()) {
    return { kind: "ignore", reason: "other_bot", userId };
  }
  return {
    kind: "command",
    updateId,
    userId,
    chatId,
    role,
    name: command.name,
    args: command.args,
  };
}

function classifyButton(query: Json | undefined, ctx: Judging): Verdict {
  const { updateId, policy } = ctx;
  const userId = int(obj(query?.from)?.id);
  const message = obj(query?.message);
  const chat = obj(message?.chat);
  const chatId = int(chat?.id);
  const messageId = int(message?.message_id);
  const queryId = query?.id;
  if (
    userId === undefined || chatId === undefined || messageId === undefined ||
    typeof queryId !== "string"
  ) {
    return { kind: "ignore", reason: "malformed", userId: userId ?? null };
  }
  if (userId !== policy.ownerId) return { kind: "ignore", reason: "not_owner_button", userId };
  if (chat?.type !== "private" || chatId !== userId) {
    return { kind: "ignore", reason: "not_private", userId };
  }
  const m = typeof query?.data === "string" ? BUTTON.exec(query.data) : null;
  if (m === null) return { kind: "ignore", reason: "bad_button", userId };
  return {
    kind: "button",
    updateId,
    userId,
    chatId,
    queryId,
    messageId,
    action: m[1] as "confirm" | "cancel",
    nonce: m[2]!,
  };
}
