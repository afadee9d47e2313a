/**
 * An outbox test world: a KV store with its event journal and `EventStream`, the fake Bot API
 * (real HTTP), a grammY `Api` pointed at it, and the outbox worker on a virtual clock whose
 * sleeps pass at once (a simulated hour of backoff runs in milliseconds). Events are journaled
 * as the engine does: committed, then notified.
 */

import { WALL_CLOCK } from "../../../engine/wall_clock.ts";
import { Api } from "grammy/web";
import { KvChatStore } from "../../../engine/adapters/kv_chat_store.ts";
import { KvStore } from "../../../engine/adapters/kv_store.ts";
import { type Clock, type EngineEvent, EventStream } from "../../../engine/mod.ts";
import type { OutboxCursorStore } from "../../../engine/ports.ts";
import { type Outbox, type OutboxConfig, startOutbox } from "../../../engine/telegram/mod.ts";
import { type FakeBotApi, startFakeBotApi } from "./_fake_bot_api.ts";
import { OWNER, RecordingLogger } from "./_harness.ts";

/** 2026-12-05 00:00 UTC. */
export const START_MS = Date.UTC(2026, 11, 5);

/**
 * A clock that moves only when slept on: each sleep adds its time and resolves after 1 real ms
 * (at once when aborted, without adding). It records every sleep.
 */
export class VirtualClock implements Clock {
  now: number;
  readonly sleeps: number[] = [];
  constructor(startMs: number) {
    this.now = startMs;
  }
  nowMs(): number {
    return this.now;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      this.sleeps.push(ms);
      const timer = setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        this.now += ms;
        resolve();
      }, 1);
      const onAbort = () => {
        clearTimeout(timer);
        resolve();
      };
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }
}

/** A cursor store that can "crash" on a write: the write never finishes (nor lands). */
export class CrashingCursor implements OutboxCursorStore {
  readonly inner: OutboxCursorStore;
  /** Set: the write after `writes` reaches this number hangs and this becomes `crashed`. */
  crashAfter: number | null = null;
  crashed = false;
  writes = 0;
  /** Called after each write that landed, with the count. */
  onWrite: ((writes: number) => void) | undefined;
  constructor(inner: OutboxCursorStore) {
    this.inner = inner;
  }
  getOutboxCursor(): Promise<string | undefined> {
    return this.inner.getOutboxCursor();
  }
  setOutboxCursor(id: string): Promise<void> {
    if (this.crashAfter === this.writes) {
      this.crashAfter = null;
      this.crashed = true;
      return new Promise(() => {});
    }
    return this.inner.setOutboxCursor(id).then(() => {
      this.writes++;
      this.onWrite?.(this.writes);
    });
  }
}

/** Everything an outbox test touches. */
export interface OutboxWorld {
  readonly kv: Deno.Kv;
  readonly store: KvStore;
  readonly stream: EventStream;
  readonly fake: FakeBotApi;
  readonly api: Api;
  readonly clock: VirtualClock;
  readonly log: RecordingLogger;
  readonly cursor: CrashingCursor;
  /** The running worker (undefined when stopped). */
  outbox: Outbox | undefined;
  /** Commits `event` to the journal and notifies it, as the engine does. */
  journal(event: EngineEvent): Promise<void>;
  /** Starts a worker (a process start) with `config` over the defaults. */
  start(config?: Partial<OutboxConfig> & { readonly clock?: Clock }): Outbox;
  /** Stops the worker (a clean stop). */
  stop(): Promise<void>;
  /** The texts the fake accepted from the offset `from` on. */
  texts(from?: number): string[];
  /** Waits (real time, at most `ms`) until `done()`; false on time-out. */
  until(done: () => boolean, ms?: number): Promise<boolean>;
  close(): Promise<void>;
}

/** A signal event whose text is `Signal BUY KRW-BTC: #n`. */
export function signal(n: number, atMs: number): EngineEvent {
  return {
    type: "SignalRaised",
    atMs,
    market: "KRW-BTC",
    signalId: `s${n}`,
    action: "buy",
    reason: `#${n}`,
  };
}

/** A fill of 0.001 BTC at `price` (KRW). */
export function fill(n: number, atMs: number, price = 50_000_000): EngineEvent {
  return {
    type: "OrderFilled",
    atMs,
    market: "KRW-BTC",
    side: "bid",
    orderUuid: "order-1",
    tradeUuid: `trade-${n}`,
    price: String(price),
    volume: "0.001",
    funds: String(price / 1000),
    fee: (price / 1000 * 0.0005).toFixed(8),
  };
}

/** Runs `fn` in a fresh world, closing it afterwards. */
export async function withOutboxWorld(fn: (o: OutboxWorld) => Promise<void>): Promise<void> {
  const o = await outboxWorld();
  try {
    await fn(o);
  } finally {
    await o.close();
  }
}

/** A fresh world; the worker is not started. */
export async function outboxWorld(): Promise<OutboxWorld> {
  const kv = await Deno.openKv(":memory:");
  const store = new KvStore(kv);
  const stream = new EventStream(store, WALL_CLOCK);
  const fake = await startFakeBotApi();
  const api = new Api(fake.token, {
    apiRoot: fake.apiRoot,
    timeoutSeconds: 2,
    sensitiveLogs: false,
  });
  const clock = new VirtualClock(START_MS);
  const log = new RecordingLogger();
  const cursor = new CrashingCursor(new KvChatStore(kv));
  const world: OutboxWorld = {
    kv,
    store,
    stream,
    fake,
    api,
    clock,
    log,
    cursor,
    outbox: undefined,
    async journal(event) {
      await store.recordEvent(event);
      stream.notify(event);
    },
    start(config = {}) {
      const { clock: workerClock, ...rest } = config;
      world.outbox = startOutbox(
        { journal: stream, cursor, api, clock: workerClock ?? clock, log, random: () => 0.5 },
        { chatId: OWNER, pollMs: 20, firstStartFromMs: 0, closeGraceMs: 300, ...rest },
      );
      return world.outbox;
    },
    async stop() {
      await world.outbox?.close();
      world.outbox = undefined;
    },
    texts(from = 0) {
      return fake.sentTexts().slice(from);
    },
    async until(done, ms = 10_000) {
      const deadline = Date.now() + ms;
      while (!done()) {
        if (Date.now() > deadline) return false;
        await new Promise((r) => setTimeout(r, 5));
      }
      return true;
    },
    async close() {
      await world.stop();
      await fake.close();
      kv.close();
    },
  };
  return world;
}
