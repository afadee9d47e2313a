/**
 * A single-consumer async event queue: producers `push` synchronously (from socket callbacks),
 * one consumer reads with `for await`. Unbounded on purpose: market events must not be dropped,
 * and the consumer (the engine loop) is far faster than Upbit's push rate.
 */

/** An async queue of events with one reader. */
export interface EventQueue<T> {
  /** Appends an event (ignored after `end`). */
  push(event: T): void;
  /** Ends the stream: the reader drains what is queued, then finishes. */
  end(): void;
  /** Queued, unread events. */
  size(): number;
  /** The reader side; call once. */
  iterate(): AsyncIterableIterator<T>;
}

/**
 * Creates an event queue.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const q = createEventQueue<number>();
 * q.push(1);
 * q.push(2);
 * q.end();
 * const seen: number[] = [];
 * for await (const n of q.iterate()) seen.push(n);
 * assert.deepEqual(seen, [1, 2]);
 * ```
 */
export function createEventQueue<T>(): EventQueue<T> {
  let items: T[] = [];
  let head = 0;
  let ended = false;
  let wake: (() => void) | undefined;

  function push(event: T): void {
    if (ended) return;
    items.push(event);
    const w = wake;
    wake = undefined;
    w?.();
  }

  function end(): void {
    ended = true;
    const w = wake;
    wake = undefined;
    w?.();
  }

  async function* iterate(): AsyncGenerator<T> {
    while (true) {
      if (head < items.length) {
        const item = items[head] as T;
        head++;
        if (head > 1024 && head * 2 > items.length) {
          // Compact now and then so a long-running stream does not keep every old event.
          items = items.slice(head);
          head = 0;
        }
        yield item;
        continue;
      }
      if (ended) return;
      await new Promise<void>((resolve) => wake = resolve);
    }
  }

  return { push, end, size: () => items.length - head, iterate };
}
