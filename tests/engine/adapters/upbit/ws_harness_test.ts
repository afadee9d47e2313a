/**
 * Shared helpers of the WebSocket client tests: a REST `MinuteHistory` over the sandbox's
 * `/v1/candles/minutes/1` (paged by `to`, 200 per call, retrying 429s), an event collector with
 * `waitFor`, and a seeded random source. The one test here checks the history helper itself.
 */

import assert from "node:assert/strict";
import type { Candle } from "../../../../engine/core/candle.ts";
import type { MinuteHistory } from "../../../../engine/adapters/upbit/ws_client.ts";
import { createSandbox } from "../../../../engine/sandbox/mod.ts";

/** The 1-minute data file the tests replay. */
export const ONE_MINUTE_FILE = "data/upbit-KRW-BTC-1m-20220531-20220607.csv";

/** A REST candle object as JSON. */
interface RestCandle {
  readonly candle_date_time_utc: string;
  readonly opening_price: number;
  readonly high_price: number;
  readonly low_price: number;
  readonly trade_price: number;
  readonly candle_acc_trade_volume: number;
  readonly candle_acc_trade_price: number;
}

/** Parses a REST candle into the engine's `Candle`. */
export function restCandleToCandle(c: RestCandle): Candle {
  return {
    startMs: Date.parse(`${c.candle_date_time_utc}Z`),
    open: c.opening_price,
    high: c.high_price,
    low: c.low_price,
    close: c.trade_price,
    volume: c.candle_acc_trade_volume,
    value: c.candle_acc_trade_price,
  };
}

/** `MinuteHistory` over a sandbox (or Upbit) REST base URL; counts its calls in `calls`. */
export function restMinuteHistory(restUrl: string): MinuteHistory & { calls: number } {
  const fn = async (market: string, range: { fromMs: number; toMs: number }) => {
    const out: Candle[] = [];
    let to = range.toMs;
    while (to > range.fromMs) {
      const url = `${restUrl}/v1/candles/minutes/1?market=${market}&count=200&to=${
        encodeURIComponent(new Date(to).toISOString().slice(0, 19) + "Z")
      }`;
      fn.calls++;
      const res = await fetch(url);
      if (res.status === 429) {
        await res.body?.cancel();
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      if (!res.ok) {
        await res.body?.cancel();
        throw new Error(`Cannot read candles: HTTP ${res.status}`);
      }
      const page = (await res.json() as RestCandle[]).map(restCandleToCandle);
      for (const c of page) if (c.startMs >= range.fromMs && c.startMs < range.toMs) out.push(c);
      const oldest = page[page.length - 1];
      if (page.length < 200 || oldest === undefined) break;
      to = oldest.startMs;
    }
    return out;
  };
  fn.calls = 0;
  return fn;
}

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

Deno.test("restMinuteHistory() pages the sandbox's REST candles into one ascending range", async () => {
  const sb = await createSandbox({
    port: 0,
    manualClock: true,
    dataFiles: [ONE_MINUTE_FILE],
    startAt: "2022-06-01T06:00:00Z",
  });
  try {
    const history = restMinuteHistory(sb.restUrl);
    const now = sb.replay.nowMs();
    const got = await history("KRW-BTC", { fromMs: now - 450 * 60_000, toMs: now });
    got.sort((a, b) => a.startMs - b.startMs);
    assert.equal(history.calls, 3);
    assert.ok(got.length > 440 && got.length <= 450, `${got.length}`);
    assert.equal(new Set(got.map((c) => c.startMs)).size, got.length);
    assert.ok(got.every((c) => c.startMs >= now - 450 * 60_000 && c.startMs < now));
  } finally {
    await sb.close();
  }
});
