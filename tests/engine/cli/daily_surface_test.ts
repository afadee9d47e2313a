/**
 * The daily report piece of a running bot: it catches up at start, registers its two Deno.cron
 * triggers (the report time in UTC, every minute) and unregisters them when it closes, so the
 * next run of the same bot in one process registers them again.
 */

import assert from "node:assert/strict";
import { startDailySurface } from "../../../engine/cli/daily_surface.ts";
import type { SurfaceContext } from "../../../engine/cli/surfaces.ts";
import type { BotConfig } from "../../../engine/config.ts";
import { EventStream } from "../../../engine/mod.ts";
import { RecordingLogger } from "../telegram/_harness.ts";
import { recordTestRun, world } from "../_trader_fixtures.ts";

const DAY = Date.UTC(2026, 11, 7);

Deno.test({
  name: "startDailySurface(): catch-up at start, crons registered once per run and let go at close",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const w = await world();
    try {
      w.clock.set(DAY + 3_600_000);
      await recordTestRun(w);
      w.clock.set(DAY + 2 * 86_400_000 + 60_000);
      const log = new RecordingLogger();
      const ctx = {
        config: { mode: "paper", botId: "bot", reportTime: { hour: 9, minute: 0 } } as BotConfig,
        events: new EventStream(w.store, w.clock),
        clock: w.clock,
        logger: log,
      } as unknown as SurfaceContext;
      for (let run = 0; run < 2; run++) {
        const piece = startDailySurface(ctx, w.store);
        await piece.close();
      }
      assert.deepEqual(log.lines.filter((l) => l.level !== "info"), []);
      assert.deepEqual(
        (await w.store.listReportMarkers({ limit: 5 })).map((m) => m.date).reverse(),
        ["2026-12-07", "2026-12-08"],
      );
      // A second piece while the first runs: its crons cannot register (same names); it says so
      // and its minute check still runs.
      const a = startDailySurface(ctx, w.store);
      const b = startDailySurface(ctx, w.store);
      await Promise.all([a.close(), b.close()]);
      assert.equal(log.lines.filter((l) => l.level === "warn").length, 2);
    } finally {
      w.kv.close();
    }
  },
});
