/**
 * The five-market bench's sandbox, in a Worker of its own (`markets_latency_bench.ts`): like the
 * exchange, it runs on another thread, so its work and its garbage are not the bot's. It tells
 * when each `POST /v1/orders` reached its REST app (epoch ms with sub-ms precision:
 * `performance.timeOrigin + performance.now()`, comparable across threads), moves its manual
 * clock and reports the markets' best bids on request.
 */

import { unitsToNumber } from "../engine/core/money.ts";
import { createSandbox, type Sandbox } from "../engine/sandbox/mod.ts";
import type { SandboxReply, SandboxRequest } from "./markets_latency_bench.ts";

/** Epoch ms with the monotonic clock's precision. */
function preciseNowMs(): number {
  return performance.timeOrigin + performance.now();
}

// deno-lint-ignore no-explicit-any
const worker = self as any;
let sandbox: Sandbox | undefined;
let markets: readonly string[] = [];
const pending = new Set<Promise<void>>();

function reply(message: SandboxReply): void {
  worker.postMessage(message);
}

worker.onmessage = async (e: MessageEvent<SandboxRequest>) => {
  const m = e.data;
  switch (m.type) {
    case "start": {
      markets = m.markets;
      sandbox = await createSandbox({
        port: 0,
        manualClock: true,
        startAt: m.startAt,
        rateLimits: false,
        balances: { KRW: "1000000000" },
      });
      const app = sandbox.app;
      const inner = app.fetch;
      app.fetch = (req: Request, ...rest: unknown[]) => {
        if (req.method === "POST" && req.url.endsWith("/v1/orders")) {
          const atMs = preciseNowMs();
          const read = req.clone().json().then(
            (body) => reply({ type: "arrived", market: String(body.market), atMs }),
            () => {},
          ).finally(() => pending.delete(read));
          pending.add(read);
        }
        return (inner as (req: Request, ...rest: unknown[]) => Response | Promise<Response>)(
          req,
          ...rest,
        );
      };
      reply({ type: "ready", restUrl: sandbox.restUrl, nowMs: sandbox.replay.nowMs() });
      return;
    }
    case "advance": {
      const replay = sandbox!.replay;
      replay.advanceTo(m.ms);
      const bids: Record<string, number> = {};
      for (const market of markets) {
        const bid = replay.book(market)?.bids[0]?.price;
        if (bid !== undefined) bids[market] = unitsToNumber(bid);
      }
      reply({ type: "advanced", bids });
      return;
    }
    case "flush":
      await Promise.all([...pending]);
      reply({ type: "flushed" });
      return;
    case "close":
      await sandbox?.close();
      reply({ type: "closed" });
      worker.close();
      return;
  }
};
