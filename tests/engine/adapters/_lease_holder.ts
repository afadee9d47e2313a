/**
 * Subprocess of the lease test: takes the KV lease on the store at `args[0]` on a clock standing
 * still at `args[1]` (a stalled process that believes its lease is fresh), prints "held epoch N",
 * then writes intent `n` (fenced) for each line `n` read on stdin and prints what happened.
 */

import { acquireLease } from "../../../engine/adapters/kv_lease.ts";
import { KvStore } from "../../../engine/adapters/kv_store.ts";
import { T0_MS } from "../_order_fixtures.ts";
import { leaseIntent } from "./_lease_intent.ts";

const [path = "", startMs = String(T0_MS)] = Deno.args;
const frozen = { nowMs: () => Number(startMs), sleep: () => Promise.resolve() };
const kv = await Deno.openKv(path);
const out = (line: string) => Deno.stdout.write(new TextEncoder().encode(`${line}\n`));
const taken = await acquireLease(kv, { clock: frozen, label: `pid ${Deno.pid}` });
if (!taken.ok) {
  await out(`refused: held by ${taken.error.label}`);
  Deno.exit(3);
}
await out(`held epoch ${taken.value.record.epoch}`);
const store = new KvStore(kv, { fence: taken.value });
for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
  for (const line of chunk.split("\n").filter((l) => l.trim() !== "")) {
    const n = Number(line);
    try {
      const res = await store.createIntent(leaseIntent(n, Number(startMs)));
      await out(res.ok ? `intent ${n} written` : `intent ${n} conflict ${res.error.kind}`);
    } catch (error) {
      await out(`intent ${n} refused: ${(error as Error).name}: ${(error as Error).message}`);
    }
  }
}
kv.close();
