/**
 * The event stream: ONE `Notifier` the engine reports to, fanning every event out to every
 * listener (the console now; Telegram and the status page later).
 *
 * Two ways to listen:
 * - `subscribe(listener)`: every event as it is notified, at once and in order (the console's
 *   story-like log reads signal, order, fill, P&L);
 * - `follow({ afterId })`: the KV journal (`["events", tsMs, seq]`), the source of truth: the
 *   stored events after `afterId`, then each new one as it is committed, with its id. A listener
 *   that went away (a closed page, Telegram down, a restart) resumes from the last id it handled
 *   and misses nothing; the stream only wakes it (on each notify, or every `pollMs`).
 *
 * A listener never blocks the engine and its errors are swallowed (`notify()` never throws).
 */

import type { Clock, EngineEvent, JournalEntry, Notifier, OperatorStore } from "../ports.ts";

/** How many journal entries `follow` reads per batch. */
const BATCH = 100;

/** The engine's one notifier and its listeners. */
export class EventStream implements Notifier {
  readonly #journal: Pick<OperatorStore, "listJournal">;
  readonly #clock: Clock;
  readonly #listeners = new Set<(event: EngineEvent) => void>();
  #wake: (() => void)[] = [];
  /** Counts notifies, so a follower that was busy reading still sees that one happened. */
  #notified = 0;

  /** Over `journal` (the store); `clock.sleep` paces the journal polling. */
  constructor(journal: Pick<OperatorStore, "listJournal">, clock: Clock) {
    this.#journal = journal;
    this.#clock = clock;
  }

  /** Hands the event to every listener and wakes the journal followers; never throws. */
  notify(event: EngineEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // A broken listener must not stop the engine or the other listeners.
      }
    }
    this.#notified++;
    const wake = this.#wake;
    this.#wake = [];
    for (const w of wake) w();
  }

  /** Calls `listener` with every event from now on; returns the unsubscribe function. */
  subscribe(listener: (event: EngineEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The stored events after `afterId` (from the start when undefined), oldest first. */
  async read(
    options: { readonly afterId?: string; readonly limit: number },
  ): Promise<readonly JournalEntry[]> {
    return await this.#journal.listJournal(options);
  }

  /** The id of the newest journal event (undefined: the journal is empty). */
  async lastId(): Promise<string | undefined> {
    return (await this.#journal.listJournal({ limit: 1, newest: true }))[0]?.id;
  }

  /**
   * The journal's events after `afterId` (from the start when undefined), then each new one as
   * it is committed, until `signal` aborts.
   */
  async *follow(
    options: { readonly afterId?: string; readonly signal: AbortSignal; readonly pollMs?: number },
  ): AsyncGenerator<JournalEntry> {
    let cursor = options.afterId;
    const pollMs = options.pollMs ?? 1_000;
    while (!options.signal.aborted) {
      const seen = this.#notified;
      const batch = await this.#journal.listJournal({
        ...(cursor === undefined ? {} : { afterId: cursor }),
        limit: BATCH,
      });
      for (const entry of batch) {
        if (options.signal.aborted) return;
        cursor = entry.id;
        yield entry;
      }
      if (batch.length === BATCH || this.#notified !== seen) continue;
      // Aborted while reading: the abort listener below would never fire.
      if (options.signal.aborted) return;
      // Wait for a notify (the event may commit just after it: the poll catches that) or a poll.
      const nudge = new AbortController();
      const stop = () => nudge.abort();
      options.signal.addEventListener("abort", stop, { once: true });
      this.#wake.push(stop);
      await this.#clock.sleep(pollMs, nudge.signal);
      options.signal.removeEventListener("abort", stop);
      this.#wake = this.#wake.filter((w) => w !== stop);
    }
  }
}
