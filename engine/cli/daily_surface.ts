/**
 * The daily report and watchdog worker as one piece of a running bot (`surfaces.ts`): the
 * worker's checks run on the bot's clock every minute (the demo's clock runs fast), and
 * `Deno.cron` (wall clock, UTC) triggers them at the report time and every minute. The crons are
 * unregistered when the piece closes; a cron that cannot register is logged and the minute check
 * still issues every report.
 */

import { formatReportTime, startDailyWorker } from "../mod.ts";
import type { Store } from "../ports.ts";
import type { SurfaceContext, Worker } from "./surfaces.ts";

/** Starts the worker over `store` (the bot's, built by `main.ts`); close() stops it cleanly. */
export function startDailySurface(ctx: SurfaceContext, store: Store): Worker {
  const { config, logger } = ctx;
  const crons = new AbortController();
  // Cron names are unique per process: the store's bot id tells two bots of one process apart.
  const suffix = config.botId.replace(/[^A-Za-z0-9_-]/g, "_");
  const worker = startDailyWorker({
    store,
    clock: ctx.clock,
    notifier: ctx.events,
    schedule(name, spec, run) {
      try {
        Deno.cron(`${name} ${suffix}`.slice(0, 64), spec, { signal: crons.signal }, run);
      } catch (error) {
        logger.warn(`${config.mode}: ${name}: Deno.cron unavailable; checking every minute only`, {
          error: error instanceof Error ? error.message : String(error),
        });
      }
    },
  }, { reportTime: config.reportTime });
  logger.info(
    `${config.mode}: daily report at ${formatReportTime(config.reportTime)} KST ` +
      "(missed ones are sent at start); watchdog every minute",
  );
  return {
    name: "daily report",
    async close() {
      crons.abort();
      await worker.stop();
    },
  };
}
