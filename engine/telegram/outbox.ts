/**
 * The notification outbox: ONE background worker that delivers the engine's events to the
 * owner's Telegram chat, in journal order, each exactly once in normal operation.
 *
 * The outbox is the KV event journal itself: every event is written in the same atomic commit
 * as the state change that caused it, and the journal's keys never go back in time (see
 * `KvStore`), so following it from a cursor sees every event once, in commit order. The worker:
 *
 * - reads the journal after its cursor (`EventStream.follow`, batches of 100: memory stays
 *   bounded however long Telegram is away; nothing is queued in memory);
 * - maps each event to its kind (`notifications.ts`): an `off` kind is skipped, a `silent` one is
 *   sent with `disable_notification`;
 * - coalesces bursts: consecutive events of a bursting kind (fills, errors, disconnects) within
 *   `COALESCE_MS` of the first become ONE message (50 fills in a second: one summary);
 * - sends with grammY's `api.sendMessage` and retries forever, in place, without skipping or
 *   reordering: a 429 waits Telegram's `retry_after` (plus jitter), a 5xx, a timeout or a refused
 *   connection backs off exponentially with jitter up to `maxBackoffMs`; a 401/403/404 or a 400
 *   "chat not found" (bad token, bot blocked, the owner never opened the chat) waits for the
 *   operator the same way. Only another 400 (Telegram refuses this text) gives up on the text: a
 *   short fallback naming the event is sent instead;
 * - advances the cursor in KV after each message Telegram accepted (and past skipped events).
 *
 * Duplicates: the cursor is written after the send, so a crash (or a kill) between Telegram's
 * answer and the cursor write sends that one message again at the next start: at most one
 * duplicate per crash. A send that times out may still have reached Telegram; it is retried, so
 * a timeout can also cause one duplicate. Nothing is ever lost or reordered.
 *
 * It never blocks trading or start-up: `startOutbox` returns at once, the worker runs on its own,
 * every error is caught and logged, and `close()` waits at most `closeGraceMs` (real time) for
 * the worker to catch up and a send and its cursor write to finish.
 */

import { type Api, GrammyError } from "grammy/web";
import {
  type Clock,
  type EngineEvent,
  errorLine,
  formatDateTime,
  type JournalEntry,
  type Logger,
  type OutboxCursorStore,
} from "../mod.ts";
import type { Language } from "./messages.ts";
import {
  COALESCE_MS,
  DEFAULT_NOTIFY,
  type Delivery,
  deliveryOf,
  type FillReference,
  type NotificationKind,
  notificationKind,
  notificationText,
  type NotifyPolicy,
} from "./notifications.ts";

/** What the worker uses. */
export interface OutboxDeps {
  /** The event journal (`EventStream`). */
  readonly journal: {
    follow(options: {
      readonly afterId?: string;
      readonly signal: AbortSignal;
      readonly pollMs?: number;
    }): AsyncIterable<JournalEntry>;
    /** The newest journal id (`close()` lets the worker catch up to it first). */
    lastId?(): Promise<string | undefined>;
  };
  /**
   * Sleeps between tries (default `clock`): the wall clock when the engine's clock runs fast (the
   * demo), so an unreachable Telegram is not hammered.
   */
  readonly sleepClock?: Clock;
  /** Where the cursor is kept (`KvChatStore`). */
  readonly cursor: OutboxCursorStore;
  /** grammY's API client (`bot.api`). */
  readonly api: Pick<Api, "sendMessage">;
  /** The engine's clock (events are stamped with it): the coalescing window, late messages. */
  readonly clock: Clock;
  readonly log: Logger;
  /** Jitter in [0, 1) (default `Math.random`). */
  readonly random?: () => number;
}

/** How the worker delivers. */
export interface OutboxConfig {
  /** The owner's chat (their user id: a private chat's id is the user's). */
  readonly chatId: number;
  readonly language?: Language;
  /** Per kind: on, silent or off (default `DEFAULT_NOTIFY`). */
  readonly notify?: NotifyPolicy;
  /** First retry delay (default 1 s); it doubles per failure up to `maxBackoffMs` (60 s). */
  readonly baseBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** The most events one coalesced message covers (default 200). */
  readonly maxRun?: number;
  /** How often the journal is polled between notifies (default 1 s). */
  readonly pollMs?: number;
  /**
   * How long `close()` lets the worker catch up with the journal (a stop's own "Bot stopped"),
   * when Telegram answers, and then a send in flight finish (real time, default 3 s).
   */
  readonly closeGraceMs?: number;
  /**
   * With no cursor stored yet (Telegram's first start on this store), events before this time
   * are not sent (default: 10 minutes before the worker starts), so an old journal is not
   * replayed into the chat; the start-up's own events are.
   */
  readonly firstStartFromMs?: number;
}

/** What the worker has done (for tests, benches and the health view). */
export interface OutboxStats {
  /** Messages Telegram accepted. */
  readonly sent: number;
  /** Events those messages covered (coalesced ones count each). */
  readonly events: number;
  /** Failed send attempts (each retried). */
  readonly failures: number;
  /** The cursor: the last journal id handled. */
  readonly cursor: string | undefined;
  /** The last error, while sends fail (null once one succeeds). */
  readonly lastError: string | null;
}

/** The running worker. */
export interface Outbox {
  stats(): OutboxStats;
  /** Stops the worker after it caught up (at most `closeGraceMs`, when Telegram answers). */
  close(): Promise<void>;
}

/** How many orders' reference prices the worker remembers. */
const REFERENCES_MAX = 1_000;

/** The fills' reference prices the worker has seen, by order and by market (bounded). */
class References {
  readonly #byMarket = new Map<string, FillReference>();
  readonly #byOrder = new Map<string, FillReference>();

  note(event: EngineEvent): void {
    if (event.type === "OrderSubmitted" && event.refPrice !== undefined) {
      if (this.#byOrder.size >= REFERENCES_MAX) {
        this.#byOrder.delete(this.#byOrder.keys().next().value!);
      }
      this.#byOrder.set(event.uuid, { price: event.refPrice, by: "signal" });
    } else if (event.type === "RiskTriggered") {
      if (
        event.rule === "stop_loss" || event.rule === "take_profit" ||
        event.rule === "trailing_stop"
      ) {
        this.#byMarket.set(event.market, { price: event.price, by: event.rule });
      }
    } else if (event.type === "OrderFilled" && event.side === "bid") {
      // A new position: the exit triggers of the last one no longer apply.
      this.#byMarket.delete(event.market);
    }
  }

  /** A sale after an exit trigger: the trigger's price; otherwise the order's decision price. */
  of(fill: Extract<EngineEvent, { type: "OrderFilled" }>): FillReference | undefined {
    return (fill.side === "ask" ? this.#byMarket.get(fill.market) : undefined) ??
      this.#byOrder.get(fill.orderUuid);
  }
}

/** Events waiting to become one message. */
interface Run {
  readonly kind: NotificationKind;
  readonly delivery: Delivery;
  readonly events: EngineEvent[];
  /** The last journal id it covers (skipped events included). */
  lastId: string;
  /** Events later than this start a new message. */
  readonly untilMs: number;
}

class Aborted extends Error {}

/** A journal id just before every event at or after `ms` (ids are `<tsMs>-<seq>`). */
function beforeId(ms: number): string {
  return `${Math.max(0, Math.floor(ms) - 1)}-${Number.MAX_SAFE_INTEGER - 1}`;
}

/** Resolves with `promise`, or with `undefined` once `ms` passed or `signal` aborted. */
async function within<T>(
  promise: Promise<T>,
  wait: { readonly ms: number; readonly clock: Clock; readonly signal: AbortSignal },
): Promise<T | undefined> {
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  wait.signal.addEventListener("abort", onAbort, { once: true });
  try {
    return await Promise.race([
      promise,
      wait.clock.sleep(Math.max(0, wait.ms), stop.signal).then(() => undefined),
    ]);
  } finally {
    wait.signal.removeEventListener("abort", onAbort);
    stop.abort();
  }
}

/** Resolves with `promise`; throws `Aborted` as soon as `signal` aborts. */
async function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) throw new Aborted();
  const aborted = Promise.withResolvers<never>();
  const onAbort = () => aborted.reject(new Aborted());
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    return await Promise.race([promise, aborted.promise]);
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

/** Starts the worker in the background; it runs until `close()`. */
export function startOutbox(deps: OutboxDeps, config: OutboxConfig): Outbox {
  const { clock, log } = deps;
  const sleepClock = deps.sleepClock ?? clock;
  const random = deps.random ?? Math.random;
  const policy = config.notify ?? DEFAULT_NOTIFY;
  const language = config.language ?? "en";
  const baseMs = config.baseBackoffMs ?? 1_000;
  const maxMs = config.maxBackoffMs ?? 60_000;
  const maxRun = config.maxRun ?? 200;
  const stopping = new AbortController();
  const sends = new AbortController();
  const stop = stopping.signal;
  const refs = new References();
  const firstStartFromMs = config.firstStartFromMs ?? clock.nowMs() - 600_000;
  let sent = 0;
  let events = 0;
  let failures = 0;
  let cursor: string | undefined;
  let persisted: string | undefined;
  let lastError: string | null = null;
  let failedInRow = 0;

  /** Waits `ms`; throws `Aborted` when closing. */
  async function pause(ms: number): Promise<void> {
    await sleepClock.sleep(ms, stop);
    if (stop.aborted) throw new Aborted();
  }

  /** `attempt` 0, 1, 2… → base·2^attempt capped, times a jitter factor in [0.5, 1). */
  function backoffMs(attempt: number): number {
    return Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30)) * (0.5 + random() / 2);
  }

  /**
   * Sends `text()` (written anew at each try: a late message says so) until Telegram accepts it
   * (true), or gives up on a refused text (false).
   */
  async function send(text: () => string, silent: boolean): Promise<boolean> {
    for (let attempt = 0;; attempt++) {
      if (stop.aborted) throw new Aborted();
      try {
        await deps.api.sendMessage(
          config.chatId,
          text(),
          { disable_notification: silent },
          // grammY types its signal with a polyfill's type; a standard one works.
          sends.signal as Parameters<Api["sendMessage"]>[3],
        );
        if (lastError !== null) {
          log.info("telegram: notifications delivered again", { failures: failedInRow });
        }
        lastError = null;
        failedInRow = 0;
        return true;
      } catch (error) {
        if (sends.signal.aborted) throw new Aborted();
        failures++;
        failedInRow++;
        const line = errorLine(error);
        if (lastError === null) {
          log.warn("telegram: notification not sent; retrying", { error: line });
        }
        lastError = line;
        // "chat not found": the owner has not opened the chat yet; it will be there later.
        if (
          error instanceof GrammyError && error.error_code === 400 &&
          !/chat not found/i.test(error.description)
        ) {
          log.error("telegram: notification refused by Telegram", { error: line });
          return false;
        }
        const retryAfterS = error instanceof GrammyError && error.error_code === 429
          ? error.parameters.retry_after ?? 1
          : undefined;
        await pause(
          retryAfterS === undefined
            ? backoffMs(attempt)
            : retryAfterS * 1_000 + random() * Math.min(1_000, baseMs),
        );
      }
    }
  }

  async function saveCursor(id: string): Promise<void> {
    cursor = id;
    for (let attempt = 0; persisted !== id; attempt++) {
      try {
        // Closing: the write gets the grace of a send; past it, it may land or not, as in a
        // crash (one duplicate at most).
        await untilAborted(deps.cursor.setOutboxCursor(id), sends.signal);
        persisted = id;
      } catch (error) {
        if (error instanceof Aborted) throw error;
        log.error("telegram: outbox cursor not saved; retrying", { error: errorLine(error) });
        await pause(backoffMs(attempt));
      }
    }
  }

  async function flush(run: Run): Promise<void> {
    const silent = run.delivery === "silent";
    const text = () =>
      notificationText(run.events, {
        language,
        nowMs: clock.nowMs(),
        referenceOf: (fill) => refs.of(fill),
      });
    if (!await send(text, silent)) {
      const first = run.events[0]!;
      const at = formatDateTime(first.atMs);
      await send(
        () => `${first.type} ×${run.events.length} at ${at} UTC: refused by Telegram`,
        silent,
      );
    }
    sent++;
    events += run.events.length;
    await saveCursor(run.lastId);
  }

  /** One pass over the journal from the cursor; returns when closing. */
  async function pass(): Promise<void> {
    const it = deps.journal.follow({
      ...(cursor === undefined ? {} : { afterId: cursor }),
      signal: stop,
      ...(config.pollMs === undefined ? {} : { pollMs: config.pollMs }),
    })[Symbol.asyncIterator]();
    let run: Run | null = null;
    let pending: Promise<IteratorResult<JournalEntry>> | null = null;
    try {
      while (!stop.aborted) {
        pending ??= it.next();
        let result: IteratorResult<JournalEntry> | undefined;
        if (run !== null) {
          result = await within(pending, { ms: run.untilMs - clock.nowMs(), clock, signal: stop });
          if (result === undefined) {
            if (stop.aborted) return;
            // Nothing more came within the window: the burst is complete.
            await flush(run);
            run = null;
            continue;
          }
        } else if (cursor !== persisted && cursor !== undefined) {
          // Skipped events only: save the cursor once the journal has nothing ready.
          result = await within(pending, { ms: 0, clock, signal: stop });
          if (result === undefined) {
            if (stop.aborted) return;
            await saveCursor(cursor);
            continue;
          }
        } else {
          result = await pending;
        }
        pending = null;
        if (result.done === true) return;
        const entry: JournalEntry = result.value;
        refs.note(entry.event);
        const kind = notificationKind(entry.event);
        const delivery = deliveryOf(entry.event, policy);
        if (delivery === "off") {
          if (run !== null) run.lastId = entry.id;
          else cursor = entry.id;
          continue;
        }
        if (
          run !== null && run.kind === kind && run.delivery === delivery &&
          entry.event.atMs <= run.untilMs && run.events.length < maxRun
        ) {
          run.events.push(entry.event);
          run.lastId = entry.id;
          continue;
        }
        if (run !== null) await flush(run);
        const windowMs: number | undefined = COALESCE_MS[kind];
        run = {
          kind,
          delivery,
          events: [entry.event],
          lastId: entry.id,
          untilMs: entry.event.atMs + (windowMs ?? 0),
        };
        if (windowMs === undefined) {
          await flush(run);
          run = null;
        }
      }
    } finally {
      // Ends the journal read (the abort ends a wait in it).
      if (pending === null) await it.return?.(undefined);
    }
  }

  async function work(): Promise<void> {
    for (let attempt = 0; !stop.aborted; attempt++) {
      try {
        if (cursor === undefined) {
          cursor = persisted = await deps.cursor.getOutboxCursor() ?? beforeId(firstStartFromMs);
        }
        await pass();
        return;
      } catch (error) {
        if (error instanceof Aborted || stop.aborted) return;
        log.error("telegram: outbox failed; restarting it", { error: errorLine(error) });
        try {
          await pause(backoffMs(attempt));
        } catch {
          return;
        }
      }
    }
  }

  const done = work();

  return {
    stats: () => ({ sent, events, failures, cursor, lastError }),
    async close() {
      // Real time, not the injected clock: this bounds how long the process takes to stop.
      const graceMs = config.closeGraceMs ?? 3_000;
      const deadline = Date.now() + graceMs;
      const timer = setTimeout(() => sends.abort(), graceMs);
      try {
        // Catch up first (the run's end was just journaled), unless Telegram is failing.
        while (Date.now() < deadline && lastError === null && !stop.aborted) {
          const last = await deps.journal.lastId?.();
          if (last === undefined || last === cursor) break;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        stopping.abort();
        await done;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
