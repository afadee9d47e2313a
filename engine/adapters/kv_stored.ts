/**
 * Reading stored values back: a value that fails its schema or an invariant stops the start with
 * a `CorruptStateError` naming the key and the field (never a default that un-pauses).
 */

import type { z } from "zod";
import { ConfigError } from "../errors.ts";

/** A stored value that fails to parse or breaks an invariant; names its key and field. */
export class CorruptStateError extends ConfigError {
  /** The key, as written in the message (`["ledger", "KRW-BTC"]`). */
  readonly key: string;
  /** The field (`cash`, `levels.stop`), or `(value)` for the value as a whole. */
  readonly field: string;

  /** Builds the error: `store key ["ledger", "KRW-BTC"], field cash: must be >= 0: …`. */
  constructor(key: Deno.KvKey, field: string, reason: string) {
    const shown = formatKey(key);
    super(`store key ${shown}, field ${field}: ${reason}`);
    this.name = "CorruptStateError";
    this.key = shown;
    this.field = field;
  }
}

/** A KV key as text: `["ledger", "KRW-BTC"]`. */
function formatKey(key: Deno.KvKey): string {
  const parts = key.map((p) =>
    typeof p === "string" ? JSON.stringify(p) : p instanceof Uint8Array ? "<bytes>" : String(p)
  );
  return `[${parts.join(", ")}]`;
}

/** Parses the value stored at `key`; a failure throws a `CorruptStateError` naming the field. */
export function parseStored<S extends z.ZodType>(
  schema: S,
  key: Deno.KvKey,
  value: unknown,
): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = issue.path.length === 0 ? "(value)" : issue.path.map(String).join(".");
  const shown = show(pick(value, issue.path));
  throw new CorruptStateError(key, field, `${issue.message}: current value is ${shown}`);
}

function pick(value: unknown, path: readonly PropertyKey[]): unknown {
  let at = value;
  for (const part of path) {
    if (at === null || typeof at !== "object") return undefined;
    at = (at as Record<PropertyKey, unknown>)[part];
  }
  return at;
}

/** A stored value as short text for a message. */
function show(value: unknown): string {
  let text: string;
  try {
    text = value === undefined ? "missing" : JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
