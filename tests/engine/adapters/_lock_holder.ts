/**
 * Subprocess of the instance-lock test: takes the lock on `args[0]`, then either holds it
 * ("hold": prints "locked" and waits to be killed) or exits ("try": 0 when taken, 3 refused).
 */

import { acquireInstanceLock } from "../../../engine/adapters/kv_store.ts";

const [path = "", mode = "try"] = Deno.args;
try {
  const lock = await acquireInstanceLock(path);
  await Deno.stdout.write(new TextEncoder().encode("locked\n"));
  if (mode === "hold") {
    // Keep the process (and its lock) alive until killed.
    setInterval(() => {}, 60_000);
  } else {
    lock.release();
  }
} catch (error) {
  await Deno.stdout.write(new TextEncoder().encode(`refused: ${(error as Error).message}\n`));
  Deno.exit(3);
}
