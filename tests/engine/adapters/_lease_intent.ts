/**
 * The intent the lease tests write through a fenced store (the tests and the `_lease_holder.ts`
 * subprocess): intent `n` is a fresh market bid on its own market `KRW-C<n>`.
 */

import type { Intent } from "../../../engine/ports.ts";
import { T0_MS, u } from "../_order_fixtures.ts";

/** Intent `n`: a new 10,000 KRW market bid on `KRW-C<n>`, created at `atMs`. */
export function leaseIntent(n: number, atMs = T0_MS): Intent {
  const market = `KRW-C${n}`;
  return {
    id: `${market}:bid:s${n}`,
    market,
    side: "bid",
    ordType: "price",
    price: u("10000"),
    volume: undefined,
    signalId: `s${n}`,
    attempt: 0,
    identifier: `ut${n}`,
    state: "NEW",
    sends: 0,
    lastSentAtMs: undefined,
    duplicateSeen: false,
    uuid: undefined,
    error: undefined,
    filledVolume: 0n,
    filledFunds: 0n,
    createdAtMs: atMs,
    updatedAtMs: atMs,
  };
}
