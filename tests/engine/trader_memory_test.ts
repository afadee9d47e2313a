/**
 * The loop keeps nothing per market event: 20,000 price updates through `runTrader` leave the
 * V8 heap (after a full GC) where it was after the first 2,000. A `Promise.race` of each event
 * against one long-lived "aborted" promise kept 440 bytes per event (measured: this test failed).
 */

import assert from "node:assert/strict";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import {
  type HookStep,
  minute,
  runSteps,
  type Step,
  traderConfig,
  world,
} from "./_trader_fixtures.ts";

function heapAfterGc(): number {
  setFlagsFromString("--expose_gc");
  (runInNewContext("gc") as () => void)();
  return Deno.memoryUsage().heapUsed;
}

Deno.test({
  name: "runTrader keeps no memory per market event (20,000 price updates)",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const w = await world();
    try {
      const heap: number[] = [];
      const steps: (Step | HookStep)[] = [];
      for (let i = 0; i < 22_000; i++) {
        const atMs = minute(0) + i * 100;
        if (i === 2_000 || i === 21_999) {
          steps.push({
            atMs,
            run: () => Promise.resolve(void heap.push(heapAfterGc())),
          });
        }
        steps.push({ atMs, price: 100_000_000 + (i % 7) * 1_000 });
      }
      await runSteps(w, traderConfig(), steps);
      const perEventBytes = (heap[1]! - heap[0]!) / 20_000;
      assert.ok(perEventBytes < 40, `${perEventBytes.toFixed(0)} bytes kept per event`);
    } finally {
      w.kv.close();
    }
  },
});
