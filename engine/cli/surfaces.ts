/**
 * The seam between a running bot and everything that serves it besides the trading loop: the
 * one HTTP server (status page, Telegram webhook), Telegram polling, the notification worker,
 * crons. `main.ts` composes them into a `SurfacePlan` (it alone may import `routes/` and the
 * adapters); `run_command` checks the plan's configuration at start (one line, exit 2), starts it
 * once the operator is up and closes it, newest piece first, before the KV closes.
 *
 * A plan's `start` hands each piece to `add` as soon as it runs, so a failure later in the start
 * still closes what was started. A piece that talks to the network (Telegram) must not wait for
 * it at start: it starts in the background and logs while it retries.
 */

import type { BotConfig } from "../config.ts";
import type { Logger } from "../log.ts";
import type { Result } from "../core/result.ts";
import type { Clock } from "../ports.ts";
import type { Telemetry } from "../telemetry.ts";
import { errorLine, type EventStream, type Operator } from "../mod.ts";

/** One started piece of a running bot (a server, a poller, a worker, a cron). */
export interface Worker {
  /** For the log (`http`, `telegram polling`, …). */
  readonly name: string;
  /** Stops it and resolves once it let go of everything (sockets, timers, KV reads). */
  close(): Promise<void>;
}

/** What the surfaces of a running bot get. */
export interface SurfaceContext {
  readonly config: BotConfig;
  readonly operator: Operator;
  /** The engine's one event stream (notifications, live page updates). */
  readonly events: EventStream;
  /** The bot's store (sessions, chats, outbox live beside its state). */
  readonly kv: Deno.Kv;
  /** The bot's clock (the demo's is the replayed market's). */
  readonly clock: Clock;
  /** The wall clock (Telegram's dates are real ones, also in the demo). */
  readonly wallClock: Clock;
  readonly logger: Logger;
  /** The newest log lines, redacted (Telegram's `/logs`). */
  readonly recentLogs: { recent(n: number): readonly string[] };
  /** The run's metrics (`/metrics`; more sources register here, e.g. the outbox). */
  readonly telemetry?: Telemetry;
}

/** What `main.ts` composed for one run. */
export interface SurfacePlan {
  /** Secret values the log must scrub (passwords, tokens). */
  readonly secrets: readonly string[];
  /**
   * Starts every piece, handing each to `add` as soon as it runs. Throws a `ConfigError` for a
   * mistake the user can fix (a port in use): one line, exit code 2.
   */
  start(ctx: SurfaceContext, add: (worker: Worker) => void): Promise<void>;
}

/** Main's composition: the plan of a run, or one line naming the variable or flag at fault. */
export type SurfaceFactory = (
  config: BotConfig,
  env: Readonly<Record<string, string | undefined>>,
) => Result<SurfacePlan, string>;

/** The started surfaces of a run. */
export interface Surfaces {
  /** In start order. */
  readonly workers: readonly Worker[];
  /** Closes every worker, the newest first; a failing or slow one is logged, never thrown. */
  close(): Promise<void>;
}

/** How long one worker may take to close before the shutdown goes on without it. */
const CLOSE_TIMEOUT_MS = 10_000;

/** Starts `plan`; on a failure closes what it had started and rethrows. */
export async function startSurfaces(
  plan: SurfacePlan,
  ctx: SurfaceContext,
  options: {
    /** How long one worker may take to close (default 10 s). */
    readonly closeTimeoutMs?: number;
  } = {},
): Promise<Surfaces> {
  const workers: Worker[] = [];
  const timeoutMs = options.closeTimeoutMs ?? CLOSE_TIMEOUT_MS;
  const surfaces: Surfaces = {
    workers,
    async close() {
      while (workers.length > 0) await closeOne(workers.pop()!, ctx.logger, timeoutMs);
    },
  };
  try {
    await plan.start(ctx, (worker) => workers.push(worker));
  } catch (error) {
    await surfaces.close();
    throw error;
  }
  return surfaces;
}

async function closeOne(worker: Worker, logger: Logger, timeoutMs: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const late = new Promise<"late">((resolve) => {
      timer = setTimeout(() => resolve("late"), timeoutMs);
    });
    const outcome = await Promise.race([worker.close().then(() => "closed" as const), late]);
    if (outcome === "late") {
      logger.warn(`${worker.name}: not closed after ${timeoutMs / 1000} s; going on`);
    }
  } catch (error) {
    logger.warn(`${worker.name}: close failed`, { error: errorLine(error) });
  } finally {
    clearTimeout(timer);
  }
}
