/**
 * `deno task backup` and `deno task restore`: the store as a JSON-lines file with a checksum
 * (`engine/adapters/kv_backup.ts`), and back.
 *
 * A backup is safe while the bot runs: the bot's own process reads its store (over the local
 * control channel `ctl` uses, since one process owns a KV file) and the copy is consistent (the
 * listing is retaken until no commit fell inside it). With no bot running, the backup takes the
 * instance lock and reads the store itself.
 *
 * A restore only writes a NEW store: the file is checked first (format, checksum, count), the
 * entries go into a temporary store beside the target, its state is verified like at every start
 * (ledger = fills, indexes, reservations…), and only then is it moved into place. A refused
 * restore leaves nothing behind.
 */

import { basename, dirname, join } from "node:path";
import { DEFAULT_KV_PATH, kvEnvName } from "../config.ts";
import { errorLine } from "../errors.ts";
import { parseFlags } from "../flags.ts";
import { formatDateTime } from "../core/format.ts";
import { controlFilePath, readControlFile, sendControl } from "./control.ts";
import { lockBaseOf } from "./run_command.ts";
import { existingStoreRefusal, storePathRefusal } from "./store_path.ts";

/** The store side (engine/adapters/kv_backup_file.ts, handed in by main.ts). */
export interface StoreBackups {
  /** The backup file's text of a store no bot holds; undefined when a running bot holds it. */
  take(kvPath: string, lockBase: string, nowMs: number): Promise<string | undefined>;
  /** Checks `text` and restores it into a new store; throws with the reason, writing nothing. */
  restore(
    kvPath: string,
    lockBase: string,
    text: string,
  ): Promise<{ readonly createdAtMs: number; readonly entries: readonly unknown[] }>;
}

/** What a backup leaves out (kv_backup.ts's NOT_BACKED_UP), for --help. */
const LEFT_OUT = "web_session, web_login_fail, chat_update, chat_command, chat_confirm, instance";

/** What backup and restore need from the process. */
export interface BackupIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The user's working folder: relative paths start there. */
  readonly cwd: string;
  /** The wall clock (the backup's time and default file name). */
  readonly nowMs: () => number;
  readonly backups: StoreBackups;
}

const BACKUP_USAGE = `Usage: deno task backup [--kv PATH] [--out FILE]

Writes the bot's store (DENO_KV_PATH, default ${DEFAULT_KV_PATH}) to a JSON-lines file with a
SHA-256 checksum, mode 0600. Safe while the bot runs: the running bot takes the copy itself
(through its control channel) and the copy is consistent. Default file:
<store folder>/backups/<store name>-<UTC time>.jsonl (under ./data, the folder deno task lets
the bot write).

Not in a backup: status-page sessions and failed logins, Telegram update ids, waiting commands
and confirmation buttons, the instance record (${LEFT_OUT}): after a restore, log in again.
`;

const RESTORE_USAGE = `Usage: deno task restore --from FILE [--kv PATH]

Restores a backup into a NEW store (DENO_KV_PATH, default ${DEFAULT_KV_PATH}; the path must not
exist: move an old store away first). The file is checked (format, checksum, count), the state is
verified like at every start, and only then put in place. Start the bot on it with --kv PATH.
`;

/** `deno task backup`; returns the exit code. */
export async function runBackupCommand(args: readonly string[], io: BackupIo): Promise<number> {
  const parsed = parseArgs("backup", args, io, { out: "string" });
  if (typeof parsed === "number") return parsed;
  if (parsed.help) {
    io.stdout(BACKUP_USAGE);
    return 0;
  }
  const { kvPath, kvLabel } = parsed;
  const refusal = await existingStoreRefusal(kvPath, kvLabel);
  if (refusal !== undefined) return fail(io, "backup", refusal, 2);
  let text: string;
  let source: string;
  try {
    const taken = await takeBackup(kvPath, io);
    text = taken.text;
    source = taken.source;
  } catch (error) {
    return fail(io, "backup", `${kvPath}: ${errorLine(error)}`, 1);
  }
  const stamp = formatDateTime(io.nowMs()).replace(/[-: ]/g, "").slice(0, 15);
  const out = parsed.out === undefined
    ? join(dirname(kvPath), "backups", `${basename(kvPath)}-${stamp}.jsonl`)
    : parsed.out;
  try {
    await Deno.mkdir(dirname(out), { recursive: true, mode: 0o700 });
    const tmp = `${out}.${Deno.pid}.tmp`;
    await Deno.writeTextFile(tmp, text, { mode: 0o600 });
    await Deno.chmod(tmp, 0o600);
    await Deno.rename(tmp, out);
  } catch (error) {
    return fail(io, "backup", `--out: cannot write ${out}: ${fileError(error, "write")}`, 2);
  }
  const lines = text.trimEnd().split("\n");
  const end = JSON.parse(lines[lines.length - 1]!) as { entries: number; sha256: string };
  io.stdout(
    `backup: ${end.entries} entries of ${kvPath} (${source}) written to ${out} ` +
      `(sha256 ${end.sha256.slice(0, 16)}…)\n`,
  );
  return 0;
}

/** `deno task restore`; returns the exit code. */
export async function runRestoreCommand(args: readonly string[], io: BackupIo): Promise<number> {
  const parsed = parseArgs("restore", args, io, { from: "string" });
  if (typeof parsed === "number") return parsed;
  if (parsed.help) {
    io.stdout(RESTORE_USAGE);
    return 0;
  }
  const { kvPath, kvLabel } = parsed;
  if (parsed.from === undefined) {
    return fail(io, "restore", "--from: missing: the backup file to restore", 2);
  }
  const from = parsed.from;
  const refusal = await storePathRefusal(kvPath, kvLabel);
  if (refusal !== undefined) return fail(io, "restore", refusal, 2);
  let text: string;
  try {
    text = await Deno.readTextFile(from);
  } catch (error) {
    return fail(io, "restore", `--from: cannot read ${from}: ${fileError(error, "read")}`, 2);
  }
  let backup;
  try {
    if (!/^[a-z]+:\/\//i.test(kvPath)) await Deno.mkdir(dirname(kvPath), { recursive: true });
    backup = await io.backups.restore(kvPath, lockBaseOf(kvPath), text);
  } catch (error) {
    return fail(io, "restore", `${from}: ${errorLine(error)}; nothing was written to ${kvPath}`, 2);
  }
  io.stdout(
    `restore: ${backup.entries.length} entries from ${from} (taken ${
      formatDateTime(backup.createdAtMs).slice(0, 16)
    } UTC) into ${kvPath}; checksum and state verified. Start the bot with --kv ${kvPath}\n`,
  );
  return 0;
}

/** The backup's text, from the store itself or (a bot holds it) from the running bot. */
async function takeBackup(
  kvPath: string,
  io: BackupIo,
): Promise<{ text: string; source: string }> {
  const lockBase = lockBaseOf(kvPath);
  const text = await io.backups.take(kvPath, lockBase, io.nowMs());
  if (text !== undefined) return { text, source: "no bot running" };
  const file = await readControlFile(controlFilePath(lockBase));
  if (file === undefined) {
    throw new Error("a bot holds the store but its control file is missing (still starting?)");
  }
  const answer = await sendControl(file, { method: "GET", path: "/backup" });
  if (typeof answer !== "string") throw new Error("the bot answered no backup");
  return { text: answer, source: `taken by the running bot, pid ${file.pid}` };
}

interface Parsed {
  readonly kvPath: string;
  readonly kvLabel: string;
  readonly help: boolean;
  readonly out?: string;
  readonly from?: string;
}

/** `--kv`, `--help` and the command's own path flag; an exit code on a mistake. */
function parseArgs(
  name: "backup" | "restore",
  args: readonly string[],
  io: BackupIo,
  own: { readonly out: "string" } | { readonly from: "string" },
): Parsed | number {
  const flags = parseFlags(args, { kv: "string", help: "boolean", ...own }, { h: "help" });
  if (!flags.ok) return fail(io, name, `${flags.error} (see --help)`, 2);
  const values = flags.value;
  for (const flag of ["kv", "out", "from"]) {
    const v = values[flag];
    if (typeof v === "string" && v.trim() === "") {
      return fail(io, name, `--${flag}: must not be empty`, 2);
    }
  }
  const fromFlag = values.kv as string | undefined;
  const fromEnv = io.env.DENO_KV_PATH?.trim() || undefined;
  const kvText = fromFlag ?? fromEnv ?? DEFAULT_KV_PATH;
  const resolve = (path: string) =>
    /^[a-z]+:\/\//i.test(path) || path.startsWith("/") ? path : join(io.cwd, path);
  return {
    kvPath: resolve(kvText),
    kvLabel: fromFlag !== undefined ? "--kv" : fromEnv !== undefined ? kvEnvName(io.env) : "--kv",
    help: values.help === true,
    ...(typeof values.out === "string" ? { out: resolve(values.out) } : {}),
    ...(typeof values.from === "string" ? { from: resolve(values.from) } : {}),
  };
}

function fail(io: BackupIo, name: string, message: string, code: number): number {
  io.stderr(`${name}: ${message}\n`);
  return code;
}

/** Why a file could not be read or written; a path outside the task's permissions says so. */
function fileError(error: unknown, verb: "read" | "write"): string {
  if (!(error instanceof Deno.errors.NotCapable)) return errorLine(error);
  return verb === "read"
    ? "outside this folder, the only one `deno task restore` may read: copy the file under ./data"
    : "outside ./data, the only folder `deno task backup` may write: pick a path under ./data";
}
