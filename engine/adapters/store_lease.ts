/**
 * The KV lease at start-up (kv_lease.ts): which process may trade on a store. Re-exported by
 * kv_store.ts, the store's one entry point for the commands.
 *
 * - A remote store (a KV Connect URL) has no file lock that other hosts see: a live lease of
 *   another process is watched until it expires. Renewed meanwhile, its holder runs: the start is
 *   refused with one line naming it and until when (exit 2), before anything is written.
 * - A local store is also guarded by its file lock, taken first: whoever held the lease before is
 *   gone (the OS dropped its lock), so a lease it left live is taken over at once.
 *
 * Either way the lease is then renewed while the bot runs, and every order commit checks it.
 */

import {
  acquireLease,
  describeLease,
  type KvLease,
  LEASE_RENEW_EVERY_MS,
  LEASE_TTL_MS,
  leaseLive,
  readLease,
} from "./kv_lease.ts";
import { StartRefusal } from "./kv_identity.ts";
import type { Logger } from "../log.ts";
import type { Clock } from "../ports.ts";
import { WALL_CLOCK } from "../wall_clock.ts";

/** How long a lease lasts and how often it is renewed (the defaults of kv_lease.ts otherwise). */
export interface LeaseTiming {
  readonly ttlMs: number;
  readonly renewEveryMs: number;
  /** The clock difference allowed between hosts (default 5 s). */
  readonly skewMs?: number;
  /** After the lease is lost, how long the bot's shutdown may take before it exits anyway. */
  readonly exitAfterLostMs?: number;
}

/** True for a store reached over the network (a URL), where the file lock excludes nobody. */
export function isRemoteStore(kvPath: string): boolean {
  return /^[a-z]+:\/\//i.test(kvPath);
}

function refusal(label: string, holder: string): StartRefusal {
  return new StartRefusal(
    `${label}: another process holds this store's KV lease and renews it: ${holder}; one ` +
      "process per store (stop that bot first)",
  );
}

/**
 * Before anything is written to a remote store: a live lease of another process is watched until
 * it expires (at most its ttl). Renewed meanwhile: its holder runs, and the start is refused
 * with one line. Not renewed: its holder is gone (killed, its host down), and the start goes on.
 * Read only.
 */
export async function refuseLiveLease(
  kv: Deno.Kv,
  options: { readonly label: string; readonly logger: Logger; readonly clock?: Clock },
): Promise<void> {
  const clock = options.clock ?? WALL_CLOCK;
  const first = await readLease(kv);
  if (first === undefined || !leaseLive(first.record, clock.nowMs())) return;
  options.logger.warn(
    `the store's KV lease is held by ${
      describeLease(first.record)
    }: waiting for it to expire (a running holder renews it, and this start is refused)`,
  );
  for (;;) {
    const current = await readLease(kv);
    if (current === undefined || !leaseLive(current.record, clock.nowMs())) return;
    if (current.versionstamp !== first.versionstamp) {
      throw refusal(options.label, describeLease(current.record));
    }
    await clock.sleep(Math.min(1_000, Math.max(1, current.record.expiresAtMs - clock.nowMs())));
  }
}

/** Takes the store's lease for process `pid` (see the module doc); refuses with one line. */
export async function takeStoreLease(
  kv: Deno.Kv,
  options: {
    readonly kvPath: string;
    readonly label: string;
    readonly pid: number;
    readonly logger: Logger;
    readonly timing?: LeaseTiming | undefined;
    /** The lease's clock (default the wall clock). */
    readonly clock?: Clock;
  },
): Promise<KvLease> {
  const remote = isRemoteStore(options.kvPath);
  const before = await readLease(kv);
  const taken = await acquireLease(kv, {
    clock: options.clock ?? WALL_CLOCK,
    label: `pid ${options.pid}`,
    ...options.timing,
  }, !remote);
  if (!taken.ok) throw refusal(options.label, describeLease(taken.error));
  const lease = taken.value;
  if (before !== undefined && leaseLive(before.record, lease.record.acquiredAtMs)) {
    options.logger.warn(
      `took over the KV lease of ${
        describeLease(before.record)
      }: that process is gone (it left the store's file lock)`,
    );
  }
  // A remote store's operator wants to see it; a local one has the file lock's line already.
  options.logger[remote ? "info" : "debug"](
    `KV lease epoch ${lease.record.epoch} held by pid ${options.pid} (renewed every ${
      (options.timing?.renewEveryMs ?? LEASE_RENEW_EVERY_MS) / 1000
    } s, expires ${(options.timing?.ttlMs ?? LEASE_TTL_MS) / 1000} s after the last renewal)`,
  );
  return lease;
}
