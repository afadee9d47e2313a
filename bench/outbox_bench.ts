/**
 * Notification outbox bench (`deno run -A bench/outbox_bench.ts [--json]`):
 *
 * (a) Event to `sendMessage`: an event is committed to a file-backed Deno KV journal and
 *     notified (as the engine does); the clock stops when the fake Bot API (up, real HTTP on
 *     127.0.0.1) has answered the worker's `sendMessage`. One event at a time (the worker is
 *     idle when each arrives), signals (never coalesced). Also the time to the request leaving.
 * (b) The trading loop's price-to-order latency (`engine_bench.ts`'s measure: a WebSocket frame's
 *     text to `Exchange.placeOrder`) without Telegram, and with the outbox worker following the
 *     same journal while the fake Bot API is down (every notification retried with backoff) and
 *     while it is up (every notification sent). Each round runs the three in another order, so
 *     warm-up and the machine's drift hit all; each figure is the median round.
 */

import { percentile, round3 } from "./stats.ts";
import { WALL_CLOCK } from "../engine/wall_clock.ts";
import { Api } from "grammy/web";
import { KvChatStore } from "../engine/adapters/kv_chat_store.ts";
import { KvStore } from "../engine/adapters/kv_store.ts";
import { type EngineEvent, EventStream } from "../engine/mod.ts";
import { startOutbox } from "../engine/telegram/mod.ts";
import type { Logger } from "../engine/log.ts";
import { startFakeBotApi } from "../tests/engine/telegram/_fake_bot_api.ts";
import { benchLatency } from "./engine_bench.ts";

/** What the outbox bench measured. */
export interface OutboxBench {
  readonly events: number;
  /** Commit + notify → the fake's answer to `sendMessage`. */
  readonly eventToSentP50Ms: number;
  readonly eventToSentP99Ms: number;
  /** Commit + notify → the `sendMessage` request leaving the worker. */
  readonly eventToRequestP99Ms: number;
  /** Price message → order request, p50/p99, per setting (the median round of each). */
  readonly loop: Readonly<
    Record<"none" | "down" | "up", { readonly p50Ms: number; readonly p99Ms: number }>
  >;
  /** Notifications the worker sent in the "up" runs (shows it was busy). */
  readonly loopUpSent: number;
}

const OWNER = 111_222_333;

const QUIET: Logger = { debug() {}, info() {}, warn() {}, error() {} };

async function withKv<T>(fn: (kv: Deno.Kv) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "outbox_bench_" });
  const kv = await Deno.openKv(`${dir}/bot.kv`);
  try {
    return await fn(kv);
  } finally {
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** (a): `n` events, one at a time, each to its `sendMessage` answered by the fake. */
export async function benchEventToSend(n: number): Promise<{
  p50: number;
  p99: number;
  requestP99: number;
}> {
  const fake = await startFakeBotApi();
  try {
    return await withKv(async (kv) => {
      const store = new KvStore(kv);
      const stream = new EventStream(store, WALL_CLOCK);
      const api = new Api(fake.token, { apiRoot: fake.apiRoot, sensitiveLogs: false });
      let requestAt = 0;
      let answeredAt = 0;
      const timed: Pick<Api, "sendMessage"> = {
        sendMessage: async (...args: Parameters<Api["sendMessage"]>) => {
          requestAt = performance.now();
          const message = await api.sendMessage(...args);
          answeredAt = performance.now();
          return message;
        },
      };
      const outbox = startOutbox(
        { journal: stream, cursor: new KvChatStore(kv), api: timed, clock: WALL_CLOCK, log: QUIET },
        { chatId: OWNER },
      );
      const total: number[] = [];
      const request: number[] = [];
      try {
        for (let i = 1; i <= n; i++) {
          const event: EngineEvent = {
            type: "SignalRaised",
            atMs: Date.now(),
            market: "KRW-BTC",
            signalId: `s${i}`,
            action: "buy",
            reason: `bench ${i}`,
          };
          const t0 = performance.now();
          await store.recordEvent(event);
          stream.notify(event);
          while (outbox.stats().sent < i) await new Promise((r) => setTimeout(r, 0));
          if (i <= 20) continue; // warm-up
          total.push(answeredAt - t0);
          request.push(requestAt - t0);
        }
      } finally {
        await outbox.close();
      }
      if (fake.sentTexts().length !== n) throw new Error("bench: a notification went missing");
      total.sort((a, b) => a - b);
      request.sort((a, b) => a - b);
      return {
        p50: round3(percentile(total, 50)),
        p99: round3(percentile(total, 99)),
        requestP99: round3(percentile(request, 99)),
      };
    });
  } finally {
    await fake.close();
  }
}

/** (b): the loop's latency with no Telegram, with the outbox and the fake down, and up. */
export async function benchLoopWithOutbox(
  cycles: number,
  rounds: number,
): Promise<{ loop: OutboxBench["loop"]; upSent: number }> {
  const fake = await startFakeBotApi();
  let upSent = 0;
  const runs: Record<"none" | "down" | "up", { p50: number[]; p99: number[] }> = {
    none: { p50: [], p99: [] },
    down: { p50: [], p99: [] },
    up: { p50: [], p99: [] },
  };
  try {
    for (let round = 0; round < rounds; round++) {
      // Each round in another order, so neither warm-up nor drift favours one setting.
      const order = (["none", "down", "up"] as const).map((_, i, all) => all[(i + round) % 3]!);
      for (const setting of order) {
        await fake.setFault(setting === "down" ? { kind: "down" } : null);
        const latency = await benchLatency(cycles, 100, {
          ...(setting === "none" ? {} : {
            notifier: (kv: Deno.Kv, store: KvStore) => {
              const stream = new EventStream(store, WALL_CLOCK);
              const api = new Api(fake.token, { apiRoot: fake.apiRoot, sensitiveLogs: false });
              const outbox = startOutbox({
                journal: stream,
                cursor: new KvChatStore(kv),
                api,
                clock: WALL_CLOCK,
                log: QUIET,
              }, { chatId: OWNER, firstStartFromMs: 0, closeGraceMs: 0 });
              return {
                notifier: stream,
                async close() {
                  await outbox.close();
                  if (setting === "up") upSent += outbox.stats().sent;
                },
              };
            },
          }),
        });
        runs[setting].p50.push(latency.p50_ms);
        runs[setting].p99.push(latency.p99_ms);
      }
    }
  } finally {
    await fake.close();
  }
  const median = (xs: number[]) => percentile([...xs].sort((a, b) => a - b), 50);
  const loop = Object.fromEntries(
    Object.entries(runs).map(([k, v]) => [k, { p50Ms: median(v.p50), p99Ms: median(v.p99) }]),
  ) as unknown as OutboxBench["loop"];
  return { loop, upSent };
}

/** Both parts. */
export async function benchOutbox(
  options: { readonly events?: number; readonly cycles?: number; readonly rounds?: number } = {},
): Promise<OutboxBench> {
  const send = await benchEventToSend(options.events ?? 500);
  const { loop, upSent } = await benchLoopWithOutbox(options.cycles ?? 200, options.rounds ?? 5);
  return {
    events: options.events ?? 500,
    eventToSentP50Ms: send.p50,
    eventToSentP99Ms: send.p99,
    eventToRequestP99Ms: send.requestP99,
    loop,
    loopUpSent: upSent,
  };
}

if (import.meta.main) {
  const result = await benchOutbox();
  const out = (text: string) => Deno.stdout.writeSync(new TextEncoder().encode(text + "\n"));
  if (Deno.args.includes("--json")) out(JSON.stringify(result, null, 2));
  else {
    out(
      `event → sendMessage answered (fake Bot API up): p50 ${result.eventToSentP50Ms} ms, ` +
        `p99 ${result.eventToSentP99Ms} ms (request leaves: p99 ${result.eventToRequestP99Ms} ms)`,
    );
    for (const [k, v] of Object.entries(result.loop)) {
      out(`price → order with Telegram ${k}: p50 ${v.p50Ms} ms, p99 ${v.p99Ms} ms`);
    }
  }
}
