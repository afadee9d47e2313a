/**
 * Up-front checks of the store path a command was given (`--kv` / `DENO_KV_PATH`), so that a path
 * the process may not write, or a folder, is refused with one line naming the flag or variable
 * before anything starts, instead of a `NotCapable … --allow-write` error a `deno task` user
 * cannot act on (the tasks grant writing under ./data only).
 */

import { dirname } from "node:path";

/** True for a remote KV URL or `:memory:` (nothing on disk to check). */
function notOnDisk(kvPath: string): boolean {
  return kvPath === ":memory:" || /^[a-z]+:\/\//i.test(kvPath);
}

/** Why the store at `kvPath` cannot be used (one line naming `label`), or undefined. */
export async function storePathRefusal(kvPath: string, label: string): Promise<string | undefined> {
  if (notOnDisk(kvPath)) return undefined;
  for (const name of ["read", "write"] as const) {
    const permission = await Deno.permissions.query({ name, path: kvPath });
    if (permission.state !== "granted") {
      return `${label}: ${kvPath} is outside ./data, the only folder deno task lets the bot ` +
        `${name === "write" ? "write" : "use"}: pick a path under ./data`;
    }
  }
  if (/[/\\]$/.test(kvPath)) return `${label}: ${kvPath} names a folder, not a store file`;
  const info = await statOrUndefined(kvPath);
  if (info?.isDirectory) return `${label}: ${kvPath} is a folder, not a store file`;
  let dir = dirname(kvPath);
  // The bot creates missing folders; the nearest existing ancestor must be a folder.
  for (;;) {
    const parent = await statOrUndefined(dir);
    if (parent !== undefined) {
      return parent.isDirectory ? undefined : `${label}: ${kvPath}: ${dir} is not a folder`;
    }
    if (dirname(dir) === dir) return undefined;
    dir = dirname(dir);
  }
}

/** Why `ctl` cannot open the store at `kvPath`: the checks above, and it must exist. */
export async function existingStoreRefusal(
  kvPath: string,
  label: string,
): Promise<string | undefined> {
  const refusal = await storePathRefusal(kvPath, label);
  if (refusal !== undefined || notOnDisk(kvPath)) return refusal;
  if (await statOrUndefined(kvPath) === undefined) {
    return `${label}: no bot state at ${kvPath} (start the bot first, or pass --kv)`;
  }
  return undefined;
}

async function statOrUndefined(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.stat(path);
  } catch {
    return undefined;
  }
}
