/** The store tests' world: a `KvStore` over a fresh in-memory Deno KV, closed after the test. */

import { KvStore } from "../../../engine/adapters/kv_store.ts";

/** Runs `fn` with a store over a new in-memory KV (and the KV itself), then closes it. */
export async function withStore(
  fn: (store: KvStore, kv: Deno.Kv) => Promise<void>,
): Promise<void> {
  const kv = await Deno.openKv(":memory:");
  try {
    await fn(new KvStore(kv), kv);
  } finally {
    kv.close();
  }
}
