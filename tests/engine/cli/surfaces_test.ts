/**
 * `startSurfaces()`: the seam's promises. Workers close newest first; a start that fails half-way
 * closes what it had started and rethrows; a worker whose close throws or hangs is logged and the
 * shutdown goes on (the KV closes after it either way).
 */

import assert from "node:assert/strict";
import { KvStore } from "../../../engine/adapters/kv_store.ts";
import {
  startSurfaces,
  type SurfaceContext,
  type SurfacePlan,
  type Worker,
} from "../../../engine/cli/surfaces.ts";
import { parseConfig } from "../../../engine/config.ts";
import { ConfigError } from "../../../engine/errors.ts";
import { createOperator, EventStream } from "../../../engine/mod.ts";
import { StepClock } from "../_trader_fixtures.ts";
import { RecordingLogger } from "../telegram/_harness.ts";

async function withContext(fn: (ctx: SurfaceContext, log: RecordingLogger) => Promise<void>) {
  const kv = await Deno.openKv(":memory:");
  try {
    const parsed = parseConfig("paper", { env: {}, args: [] });
    assert.ok(parsed.ok);
    const clock = new StepClock();
    const store = new KvStore(kv);
    const events = new EventStream(store, clock);
    const logger = new RecordingLogger();
    await fn({
      config: parsed.value,
      operator: createOperator({ store, clock, notifier: events }),
      events,
      kv,
      clock,
      wallClock: clock,
      logger,
      recentLogs: { recent: () => [] },
    }, logger);
  } finally {
    kv.close();
  }
}

/** A worker that records its close in `closed`. */
function worker(name: string, closed: string[], close?: () => Promise<void>): Worker {
  return {
    name,
    async close() {
      closed.push(name);
      await close?.();
    },
  };
}

Deno.test("workers close newest first, each once", async () => {
  await withContext(async (ctx) => {
    const closed: string[] = [];
    const plan: SurfacePlan = {
      secrets: [],
      start(_ctx, add) {
        for (const name of ["http", "telegram", "outbox", "daily cron"]) add(worker(name, closed));
        return Promise.resolve();
      },
    };
    const surfaces = await startSurfaces(plan, ctx);
    assert.deepEqual(surfaces.workers.map((w) => w.name), [
      "http",
      "telegram",
      "outbox",
      "daily cron",
    ]);
    assert.deepEqual(closed, []);
    await surfaces.close();
    assert.deepEqual(closed, ["daily cron", "outbox", "telegram", "http"]);
    await surfaces.close();
    assert.equal(closed.length, 4, "a second close closes nothing again");
  });
});

Deno.test("a start that fails half-way closes what it started and rethrows", async () => {
  await withContext(async (ctx) => {
    const closed: string[] = [];
    const plan: SurfacePlan = {
      secrets: [],
      async start(_ctx, add) {
        add(worker("http", closed));
        add(worker("telegram", closed));
        await Promise.resolve();
        throw new ConfigError("HTTP_PORT: port 8080 on 127.0.0.1 is in use");
      },
    };
    await assert.rejects(
      startSurfaces(plan, ctx),
      (e) => e instanceof ConfigError && /HTTP_PORT: port 8080/.test(e.message),
    );
    assert.deepEqual(closed, ["telegram", "http"]);
  });
});

Deno.test("a close that throws or hangs is logged and the others still close", async () => {
  await withContext(async (ctx, log) => {
    const closed: string[] = [];
    let release: () => void = () => {};
    const hung = new Promise<void>((resolve) => release = resolve);
    const plan: SurfacePlan = {
      secrets: [],
      start(_ctx, add) {
        add(worker("first", closed));
        add(worker("hangs", closed, () => hung));
        add(worker("throws", closed, () => Promise.reject(new Error("socket already gone"))));
        return Promise.resolve();
      },
    };
    const surfaces = await startSurfaces(plan, ctx, { closeTimeoutMs: 100 });
    await surfaces.close();
    release();
    assert.deepEqual(closed, ["throws", "hangs", "first"]);
    const warnings = log.lines.filter((l) => l.level === "warn").map((l) => l.message);
    assert.deepEqual(warnings, ["throws: close failed", "hangs: not closed after 0.1 s; going on"]);
  });
});
