/** `openStoreFile`: owner-only store files (main, `-wal`, `-shm`) in an owner-only directory. */

import assert from "node:assert/strict";
import { openStoreFile } from "../../../engine/adapters/kv_identity.ts";

Deno.test("a new store is 0600 (main, -wal, -shm) in a new 0700 directory", async () => {
  const root = await Deno.makeTempDir();
  try {
    const path = `${root}/nested/data/bot.kv`;
    const kv = await openStoreFile(path);
    await kv.set(["k"], "v");
    for (const file of [path, `${path}-wal`, `${path}-shm`]) {
      const mode = (await Deno.stat(file)).mode! & 0o777;
      assert.equal(mode, 0o600, `${file}: ${mode.toString(8)}`);
    }
    assert.equal((await Deno.stat(`${root}/nested/data`)).mode! & 0o777, 0o700);
    kv.close();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("an existing world-readable store is narrowed to 0600", async () => {
  const root = await Deno.makeTempDir();
  try {
    const path = `${root}/old.kv`;
    const first = await Deno.openKv(path);
    await first.set(["k"], "v");
    first.close();
    await Deno.chmod(path, 0o644);
    const kv = await openStoreFile(path);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    assert.equal((await kv.get(["k"])).value, "v");
    kv.close();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
