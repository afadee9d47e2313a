/**
 * One journal follower shared by every open event stream of the app: each new journal entry is
 * read from KV once and handed to every stream, instead of each stream polling the journal on
 * every notify (100 open pages were 100 KV reads per event).
 *
 * A stream attaches first, then catches up from the journal itself (from its `Last-Event-ID`)
 * and takes the hub's entries after the last id it wrote: `attach` resolves only once the hub
 * knows where it starts, so the catch-up read covers everything before that point and the hub
 * everything after it — nothing is missed, and the ids drop what both delivered.
 */

import type { EventStream, JournalEntry, Logger } from "../engine/mod.ts";
import { errorLine } from "../engine/mod.ts";

/** The hub's journal: follow it from an id, and the newest id. */
export type HubEvents = Pick<EventStream, "follow" | "lastId">;

/** Shares one `follow` of the journal among its listeners. */
export class EventHub {
  readonly #events: HubEvents;
  readonly #pollMs: number | undefined;
  readonly #log: Logger | undefined;
  /** Each listener, with what to call when the follower fails (its stream then ends). */
  readonly #listeners = new Map<(entry: JournalEntry) => void, () => void>();
  /** The running follower (resolves once it knows its start), or null. */
  #running: { readonly stop: AbortController; readonly started: Promise<void> } | null = null;

  /** Over `events`; `pollMs` paces the journal polling between notifies. */
  constructor(events: HubEvents, options: { pollMs?: number; log?: Logger } = {}) {
    this.#events = events;
    this.#pollMs = options.pollMs;
    this.#log = options.log;
  }

  /**
   * Hands `listener` every entry the hub reads from now on; resolves (with the detach function)
   * once the hub follows the journal from a known point, so a read made after it misses nothing.
   * `onFail` is called if the follower fails (the store closed): the listener gets nothing more.
   */
  async attach(
    listener: (entry: JournalEntry) => void,
    onFail: () => void = () => {},
  ): Promise<() => void> {
    this.#listeners.set(listener, onFail);
    const running = this.#running ?? this.#start();
    const detach = () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0 && this.#running === running) {
        running.stop.abort();
        this.#running = null;
      }
    };
    try {
      await running.started;
    } catch (error) {
      detach();
      throw error;
    }
    return detach;
  }

  #start(): { stop: AbortController; started: Promise<void> } {
    const stop = new AbortController();
    const started = Promise.withResolvers<void>();
    const running = { stop, started: started.promise };
    this.#running = running;
    void (async () => {
      const afterId = await this.#events.lastId();
      started.resolve();
      for await (
        const entry of this.#events.follow({
          ...(afterId === undefined ? {} : { afterId }),
          signal: stop.signal,
          ...(this.#pollMs === undefined ? {} : { pollMs: this.#pollMs }),
        })
      ) {
        for (const listener of this.#listeners.keys()) listener(entry);
      }
    })().catch((error) => {
      started.reject(error);
      if (!stop.signal.aborted) {
        this.#log?.error("web: event hub stopped", { error: errorLine(error) });
      }
    }).finally(() => {
      if (this.#running === running) this.#running = null;
    });
    return running;
  }
}

/** Whether journal id `a` (`<tsMs>-<seq>`) comes after `b` (undefined: before everything). */
export function idAfter(a: string, b: string | undefined): boolean {
  if (b === undefined) return true;
  const [at = "", as = ""] = a.split("-");
  const [bt = "", bs = ""] = b.split("-");
  const ts = BigInt(at) - BigInt(bt);
  return ts > 0n || (ts === 0n && BigInt(as) > BigInt(bs));
}
