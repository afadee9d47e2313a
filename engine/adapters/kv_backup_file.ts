/**
 * Backup and restore of a store FILE (`deno task backup` / `restore` with no bot running, and
 * every restore): the instance lock held throughout, a restore written beside the target,
 * verified like at every start, and only then moved into place.
 */

import { ConfigError, errorLine } from "../errors.ts";
import {
  BackupError,
  backupText,
  parseBackup,
  type ParsedBackup,
  restoreEntries,
  snapshotStore,
} from "./kv_backup.ts";
import { acquireInstanceLock, CorruptStateError, KvStore } from "./kv_store.ts";

/** The files of one local store. */
const STORE_FILE_SUFFIXES = ["", "-wal", "-shm"];

/**
 * The backup file of the store at `kvPath` when no bot holds it (its instance lock at
 * `lockBase` is taken meanwhile); undefined when a running bot holds it (ask that bot).
 */
export async function backupStoreFile(
  kvPath: string,
  lockBase: string,
  nowMs: number,
): Promise<string | undefined> {
  let lock;
  try {
    lock = await acquireInstanceLock(lockBase);
  } catch (error) {
    if (error instanceof ConfigError) return undefined;
    throw error;
  }
  try {
    const kv = await Deno.openKv(kvPath);
    try {
      return await backupText(await snapshotStore(kv), nowMs);
    } finally {
      kv.close();
    }
  } finally {
    lock.release();
  }
}

/**
 * Restores the backup `text` into a NEW store at `kvPath` (a local path must not exist): checked
 * (format, checksum, count), written into a temporary store beside it, its state verified like
 * at every start, then moved into place; the instance lock at `lockBase` is held throughout. A
 * refusal (`BackupError` with the reason) leaves nothing behind.
 */
export async function restoreStoreFile(
  kvPath: string,
  lockBase: string,
  text: string,
): Promise<ParsedBackup> {
  const remote = /^[a-z]+:\/\//i.test(kvPath);
  if (!remote) {
    for (const suffix of STORE_FILE_SUFFIXES) {
      if (await exists(`${kvPath}${suffix}`)) {
        throw new BackupError(
          `${kvPath}${suffix} exists: a restore only writes a new store (move the old one away)`,
        );
      }
    }
  }
  const backup = await parseBackup(text);
  let lock;
  try {
    lock = await acquireInstanceLock(lockBase);
  } catch (error) {
    throw new BackupError(errorLine(error));
  }
  const target = remote ? kvPath : `${kvPath}.restoring-${Deno.pid}`;
  try {
    const kv = await Deno.openKv(target);
    try {
      await restoreEntries(kv, backup.entries);
      await new KvStore(kv).verifyState();
    } catch (error) {
      if (error instanceof CorruptStateError) throw new BackupError(error.message);
      throw error;
    } finally {
      kv.close();
    }
    if (!remote) {
      for (const suffix of STORE_FILE_SUFFIXES) {
        if (!(await exists(`${target}${suffix}`))) continue;
        await Deno.rename(`${target}${suffix}`, `${kvPath}${suffix}`);
        await Deno.chmod(`${kvPath}${suffix}`, 0o600);
      }
    }
  } catch (error) {
    if (!remote) {
      for (const suffix of STORE_FILE_SUFFIXES) {
        await Deno.remove(`${target}${suffix}`).catch(() => {});
      }
    }
    throw error;
  } finally {
    lock.release();
  }
  return backup;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}
