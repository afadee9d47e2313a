/**
 * Shared helpers of the WebSocket client tests: the 1-minute data file, an event collector with
 * `waitFor`, and a seeded random source (no tests of its own).
 */

/** The 1-minute data file the tests replay. */
export const ONE_MINUTE_FILE = "data/upbit-KRW-BTC-1m-20220531-20220607.csv";

/** Collects an async iterator's items and lets a test wait for one that matches. */
export interface Collector<T> {
  readonly items: T[];
  /** Resolves with the first item (at index ≥ `from`) matching `pred`; rejects after `ms`. */
  waitFor(pred: (item: T) => boolean, options?: { ms?: number; from?: number }): Promise<T>;
  /** Resolves when the iterator ends. */
  readonly done: Promise<void>;
}

/** Starts reading `iterator` in the background. */
export function collect<T>(iterator: AsyncIterableIterator<T>): Collector<T> {
  const items: T[] = [];
  const waiters = new Set<() => void>();
  const done = (async () => {
    for await (const item of iterator) {
      items.push(item);
      for (const w of [...waiters]) w();
    }
  })();
  function waitFor(
    pred: (item: T) => boolean,
    options: { ms?: number; from?: number } = {},
  ): Promise<T> {
    const ms = options.ms ?? 5_000;
    let index = options.from ?? 0;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`timed out after ${ms} ms waiting for an event`));
      }, ms);
      function check(): void {
        for (; index < items.length; index++) {
          const item = items[index] as T;
          if (pred(item)) {
            clearTimeout(timer);
            waiters.delete(check);
            resolve(item);
            return;
          }
        }
      }
      waiters.add(check);
      check();
    });
  }
  return { items, waitFor, done };
}

/** A seeded uniform [0, 1) source (mulberry32) that records every draw. */
export function seededRandom(seed: number): (() => number) & { draws: number[] } {
  let a = seed >>> 0;
  const fn = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const r = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    fn.draws.push(r);
    return r;
  };
  fn.draws = [] as number[];
  return fn;
}

/** Resolves after `ms` real ms. */
export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
