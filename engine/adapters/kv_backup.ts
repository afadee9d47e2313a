/**
 * Backups of the store as JSON lines with a SHA-256 checksum, and their restore.
 *
 * A backup file is:
 *
 * ```text
 * {"format":"upbit-trader-backup","version":1,"createdAtMs":…}
 * {"key":[…],"value":…}            one line per KV entry, in key order
 * {"end":true,"entries":N,"sha256":"<hex>"}
 * ```
 *
 * The checksum covers every line before the last (each with its `\n`). Values keep their exact
 * types through a small tagged encoding (`{"$bigint":"12"}`, `{"$bytes":"<base64>"}`,
 * `{"$u64":"3"}`, `{"$num":"Infinity"}`, `{"$undefined":true}`, `{"$date":ms}`; an object with
 * a `$`-key is wrapped as `{"$object":{…}}`), so a restored store holds exactly what was read.
 *
 * Consistency: a backup is read while the bot may be committing, so the whole listing is taken
 * again until the store's change marker (set by every state commit) and the reservations key
 * (the one state commit without the marker) are the same before and after it.
 *
 * Not backed up (each expires on its own and would never expire once restored): status-page
 * sessions and failed logins, Telegram update ids, waiting commands and confirmation nonces, the instance record and the
 * KV lease (a restored lease would name a process long gone).
 */

import * as keys from "../kv_keys.ts";

/** The first line's `format`. */
export const BACKUP_FORMAT = "upbit-trader-backup";
/** The format's version. */
export const BACKUP_VERSION = 1;

/** Key prefixes a backup leaves out (short-lived records with a KV expiry). */
export const NOT_BACKED_UP: readonly string[] = [
  "web_session",
  "web_login_fail",
  "chat_update",
  "chat_command",
  "chat_confirm",
  "instance",
  "lease",
];

/** How many times a listing is retaken while the bot keeps committing. */
const SNAPSHOT_TRIES = 50;
/** Mutations per restore commit (Deno KV allows 1,000 and 800 KiB per atomic operation). */
const RESTORE_BATCH = 100;

/** A backup file that cannot be restored: the reason, naming the line. */
export class BackupError extends Error {
  override name = "BackupError";
}

/** One KV entry as it is backed up. */
export interface BackupEntry {
  readonly key: Deno.KvKey;
  readonly value: unknown;
}

/** A consistent copy of every backed-up entry, in key order. */
export async function snapshotStore(kv: Deno.Kv): Promise<BackupEntry[]> {
  const skipped = new Set(NOT_BACKED_UP);
  const guards = [keys.markerKey(), keys.reservationsKey()];
  for (let attempt = 0; attempt < SNAPSHOT_TRIES; attempt++) {
    const before = await kv.getMany(guards);
    const entries: BackupEntry[] = [];
    for await (const entry of kv.list({ prefix: [] })) {
      if (skipped.has(String(entry.key[0]))) continue;
      entries.push({ key: entry.key, value: entry.value });
    }
    const after = await kv.getMany(guards);
    if (before.every((b, i) => b.versionstamp === after[i]!.versionstamp)) return entries;
    await new Promise((resolve) => setTimeout(resolve, 5 * (attempt + 1)));
  }
  throw new Error(
    `Cannot back up the store: it changed during each of ${SNAPSHOT_TRIES} readings`,
  );
}

/** The backup file's text of `entries` (taken at `createdAtMs`). */
export async function backupText(
  entries: readonly BackupEntry[],
  createdAtMs: number,
): Promise<string> {
  const lines = [
    JSON.stringify({ format: BACKUP_FORMAT, version: BACKUP_VERSION, createdAtMs }),
    ...entries.map((e) => JSON.stringify({ key: encode(e.key), value: encode(e.value) })),
  ];
  const body = lines.map((l) => `${l}\n`).join("");
  const trailer = JSON.stringify({
    end: true,
    entries: entries.length,
    sha256: await sha256(body),
  });
  return `${body}${trailer}\n`;
}

/** What a backup file holds, checked: the entries and when it was taken. */
export interface ParsedBackup {
  readonly createdAtMs: number;
  readonly entries: readonly BackupEntry[];
}

/** Parses and checks a backup file (format, checksum, count); throws a `BackupError`. */
export async function parseBackup(text: string): Promise<ParsedBackup> {
  if (!text.endsWith("\n")) throw new BackupError("the file is cut short (no final newline)");
  const lines = text.slice(0, -1).split("\n");
  if (lines.length < 2) throw new BackupError("the file is cut short (no end line)");
  const head = parseLine(lines[0]!, 1) as Record<string, unknown>;
  if (head.format !== BACKUP_FORMAT) {
    throw new BackupError(`line 1: not an upbit-trader backup (format: ${String(head.format)})`);
  }
  if (head.version !== BACKUP_VERSION) {
    throw new BackupError(`line 1: version ${String(head.version)}: expected ${BACKUP_VERSION}`);
  }
  if (typeof head.createdAtMs !== "number") throw new BackupError("line 1: createdAtMs: missing");
  const last = parseLine(lines[lines.length - 1]!, lines.length) as Record<string, unknown>;
  if (last.end !== true || typeof last.sha256 !== "string" || typeof last.entries !== "number") {
    throw new BackupError(`line ${lines.length}: not the end line: the file is cut short`);
  }
  const body = lines.slice(0, -1).map((l) => `${l}\n`).join("");
  const actual = await sha256(body);
  if (actual !== last.sha256) {
    throw new BackupError(
      `checksum mismatch: the file says ${last.sha256.slice(0, 12)}…, its lines hash to ` +
        `${actual.slice(0, 12)}…: the file was changed or damaged`,
    );
  }
  if (last.entries !== lines.length - 2) {
    throw new BackupError(
      `the end line counts ${last.entries} entries: the file has ${lines.length - 2}`,
    );
  }
  const entries = lines.slice(1, -1).map((line, i): BackupEntry => {
    const row = parseLine(line, i + 2) as Record<string, unknown>;
    const key = decode(row.key);
    if (!Array.isArray(key) || key.length === 0) {
      throw new BackupError(`line ${i + 2}: key: not a KV key`);
    }
    return { key: key as Deno.KvKey, value: decode(row.value) };
  });
  return { createdAtMs: head.createdAtMs, entries };
}

/** Writes `entries` into an EMPTY store in batches; refuses a store that holds anything. */
export async function restoreEntries(kv: Deno.Kv, entries: readonly BackupEntry[]): Promise<void> {
  for await (const _ of kv.list({ prefix: [] }, { limit: 1 })) {
    throw new BackupError("the target store is not empty");
  }
  for (let i = 0; i < entries.length; i += RESTORE_BATCH) {
    const op = kv.atomic();
    for (const e of entries.slice(i, i + RESTORE_BATCH)) {
      op.check({ key: e.key, versionstamp: null }).set(e.key, e.value);
    }
    if (!(await op.commit()).ok) {
      throw new BackupError("the target store changed during the restore");
    }
  }
}

function parseLine(line: string, n: number): unknown {
  try {
    return JSON.parse(line);
  } catch {
    throw new BackupError(`line ${n}: not JSON`);
  }
}

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A KV value or key as plain JSON (see the module comment for the tags). */
export function encode(value: unknown): unknown {
  switch (typeof value) {
    case "bigint":
      return { $bigint: value.toString() };
    case "undefined":
      return { $undefined: true };
    case "number":
      if (Object.is(value, -0)) return { $num: "-0" };
      return Number.isFinite(value) ? value : { $num: String(value) };
    case "string":
    case "boolean":
      return value;
    case "object": {
      if (value === null) return null;
      if (value instanceof Uint8Array) return { $bytes: btoa(String.fromCharCode(...value)) };
      if (value instanceof Deno.KvU64) return { $u64: value.value.toString() };
      if (value instanceof Date) return { $date: value.getTime() };
      if (Array.isArray(value)) return value.map(encode);
      if (Object.getPrototypeOf(value) !== Object.prototype) {
        throw new TypeError(`Cannot back up a ${value.constructor?.name ?? "special"} value`);
      }
      // fromEntries defines own properties: a "__proto__" field stays a field.
      const out = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, encode(v)]));
      return Object.keys(out).some((k) => k.startsWith("$")) ? { $object: out } : out;
    }
    default:
      throw new TypeError(`Cannot back up a ${typeof value} value`);
  }
}

/** The value `encode` was given. */
export function decode(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decode);
  if (value === null || typeof value !== "object") return value;
  const o = value as Record<string, unknown>;
  const tags = Object.keys(o);
  if (tags.length === 1) {
    const [tag] = tags;
    const v = o[tag!];
    if (tag === "$bigint" && typeof v === "string") return BigInt(v);
    if (tag === "$undefined") return undefined;
    if (tag === "$num" && typeof v === "string") return v === "-0" ? -0 : Number(v);
    if (tag === "$bytes" && typeof v === "string") {
      return Uint8Array.from(atob(v), (c) => c.charCodeAt(0));
    }
    if (tag === "$u64" && typeof v === "string") return new Deno.KvU64(BigInt(v));
    if (tag === "$date" && typeof v === "number") return new Date(v);
    if (tag === "$object" && v !== null && typeof v === "object") return decodeFields(v);
  }
  return decodeFields(o);
}

function decodeFields(o: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, decode(v)]));
}
