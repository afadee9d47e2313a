/**
 * Sandbox throughput: quotation REST requests/s over real sockets on 127.0.0.1, WebSocket
 * messages/s one client receives, and how long replaying one day of 1-minute data for five
 * markets takes (must stay well under a minute).
 */

import { createSandbox } from "../engine/sandbox/mod.ts";
import { createReplay } from "../engine/sandbox/replay.ts";

/** Bench results. */
export interface SandboxBench {
  readonly restRequestsPerSec: number;
  readonly wsMessagesPerSec: number;
  readonly replayDaySeconds: number;
  readonly replayDayTrades: number;
}

/** Runs the three measurements. */
export async function benchSandbox(): Promise<SandboxBench> {
  const sb = await createSandbox({
    port: 0,
    manualClock: true,
    rateLimits: false,
    startAt: "2025-08-01T00:00:00Z",
  });
  // REST: 8 concurrent keep-alive clients for ~2 s over a mix of quotation endpoints.
  const paths = [
    "/v1/ticker?markets=KRW-BTC,KRW-ETH",
    "/v1/orderbook?markets=KRW-BTC",
    "/v1/candles/minutes/1?market=KRW-BTC&count=200",
    "/v1/trades/ticks?market=KRW-XRP&count=50",
  ];
  let requests = 0;
  const restStart = performance.now();
  await Promise.all(Array.from({ length: 8 }, async (_, w) => {
    while (performance.now() - restStart < 2000) {
      const res = await fetch(sb.restUrl + paths[(requests + w) % paths.length]);
      await res.arrayBuffer();
      requests++;
    }
  }));
  const restRequestsPerSec = requests / ((performance.now() - restStart) / 1000);

  // WebSocket: one client on every type of five markets while the clock runs 2 hours.
  const ws = new WebSocket(sb.wsUrl);
  await new Promise((r) => ws.onopen = r);
  let messages = 0;
  ws.onmessage = () => messages++;
  const codes = sb.replay.markets;
  ws.send(JSON.stringify([
    { ticket: "bench" },
    { type: "ticker", codes },
    { type: "trade", codes },
    { type: "orderbook", codes },
    { type: "candle.1m", codes },
  ]));
  await new Promise((r) => setTimeout(r, 100));
  const wsStart = performance.now();
  for (let i = 0; i < 120; i++) {
    sb.replay.advanceBy(60_000);
    await new Promise((r) => setTimeout(r, 0));
  }
  await new Promise((r) => setTimeout(r, 200));
  const wsMessagesPerSec = messages / ((performance.now() - wsStart) / 1000);
  ws.close();
  await sb.close();

  // Replay: one day of 1-minute candles (derived) for five markets, all trades emitted.
  const replay = await createReplay({ manualClock: true, startAt: "2025-08-01T00:00:00Z" });
  let trades = 0;
  replay.onTrade(() => trades++);
  const t0 = performance.now();
  replay.advanceBy(86_400_000);
  const replayDaySeconds = (performance.now() - t0) / 1000;
  replay.close();
  return { restRequestsPerSec, wsMessagesPerSec, replayDaySeconds, replayDayTrades: trades };
}

if (import.meta.main) {
  const r = await benchSandbox();
  // deno-lint-ignore no-console
  console.log(
    `REST ${r.restRequestsPerSec.toFixed(0)} req/s; WS ${r.wsMessagesPerSec.toFixed(0)} msg/s; ` +
      `replay of 1 day × ${5} markets: ${
        r.replayDaySeconds.toFixed(2)
      } s (${r.replayDayTrades} trades)`,
  );
}
