/**
 * Upbit REST client throughput against the local sandbox over real sockets: signed and unsigned
 * reads per second through the whole client (signing, limiter, timeout, zod), and order
 * placements per second through `placeOrder`, with the sandbox's and the client's limits off.
 */

import { Secret } from "../engine/adapters/upbit/auth.ts";
import { UPBIT_RATE_LIMITS } from "../engine/adapters/upbit/rate_limiter.ts";
import { UpbitRestClient } from "../engine/adapters/upbit/rest_client.ts";
import { parseUnits } from "../engine/core/money.ts";
import { createSandbox, DEMO_ACCESS_KEY, DEMO_SECRET_KEY } from "../engine/sandbox/mod.ts";

/** Bench results. */
export interface RestClientBench {
  readonly quotationReadsPerSec: number;
  readonly signedReadsPerSec: number;
  readonly placementsPerSec: number;
}

const UNLIMITED = Object.fromEntries(
  Object.keys(UPBIT_RATE_LIMITS).map((g) => [g, { limit: 1e9, windowMs: 1000 }]),
);

/** Runs `work` on 8 concurrent workers for `ms` and returns calls per second. */
async function rate(ms: number, work: (i: number) => Promise<unknown>): Promise<number> {
  let calls = 0;
  const start = performance.now();
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (performance.now() - start < ms) await work(calls++);
  }));
  return calls / ((performance.now() - start) / 1000);
}

/** Measures the three rates (~1.5 s each). */
export async function benchRestClient(): Promise<RestClientBench> {
  const sb = await createSandbox({
    port: 0,
    manualClock: true,
    rateLimits: false,
    dataFiles: ["data/upbit-KRW-BTC-1d.csv", "data/upbit-KRW-XRP-1d.csv"],
    startAt: "2025-08-01T06:00:00Z",
    balances: { KRW: "100000000000" },
  });
  const client = new UpbitRestClient({
    restUrl: sb.restUrl,
    accessKey: DEMO_ACCESS_KEY,
    secretKey: new Secret(DEMO_SECRET_KEY),
    rateLimits: UNLIMITED,
  });
  try {
    const quotationReadsPerSec = await rate(
      1500,
      (i) => i % 2 === 0 ? client.tickers(["KRW-BTC", "KRW-XRP"]) : client.orderbooks(["KRW-BTC"]),
    );
    const signedReadsPerSec = await rate(1500, () => client.accounts());
    const placementsPerSec = await rate(1500, (i) =>
      client.placeOrder({
        market: "KRW-BTC",
        side: "bid",
        ordType: "limit",
        price: parseUnits("100000000"),
        volume: parseUnits("0.0001"),
        identifier: `bench-${i}`,
      }));
    return { quotationReadsPerSec, signedReadsPerSec, placementsPerSec };
  } finally {
    await sb.close();
  }
}

if (import.meta.main) {
  const r = await benchRestClient();
  // deno-lint-ignore no-console
  console.log(
    `rest client: ${r.quotationReadsPerSec.toFixed(0)} quotation reads/s, ` +
      `${r.signedReadsPerSec.toFixed(0)} signed reads/s, ${
        r.placementsPerSec.toFixed(0)
      } placements/s`,
  );
}
