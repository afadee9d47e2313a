/**
 * The intent the lease tests write through a fenced store (the tests and the `_lease_holder.ts`
 * subprocess): intent `n` is a fresh market bid on its own market `KRW-C<n>`.
 */

import type { Intent } from "../../../engine/ports.ts";
import { newIntent, T0_MS } from "../_order_fixtures.ts";

/** Intent `n`: a new 10,000 KRW market bid on `KRW-C<n>`, created at `atMs`. */
export function leaseIntent(n: number, atMs = T0_MS): Intent {
  const market = `KRW-C${n}`;
  return newIntent({
    id: `${market}:bid:s${n}`,
    market,
    signalId: `s${n}`,
    identifier: `ut${n}`,
    createdAtMs: atMs,
    updatedAtMs: atMs,
  });
}
