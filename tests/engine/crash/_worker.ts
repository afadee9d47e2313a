/**
 * Subprocess of the crash-safety test (`sigkill_test.ts`): "the bot" in miniature. It owns a
 * file-backed KV (instance lock first), trades against the sandbox over HTTP with the real
 * `KvStore` + `HttpExchange` + order manager, and is killed with SIGKILL at random moments.
 *
 * Args: `kvPath restUrl accessKey secretKey signals initialKrw`.
 *
 * What it does, as the real bot does on start: lock → open KV → open the ledger → reconcile (retried
 * while the exchange fails) → trade. The trading is a deterministic list of decisions, signal
 * `s<i>` for i in [0, signals): even i buys `BUY_KRW` of `MARKET` at market, odd i sells the
 * whole held volume at market. A restart resumes at the newest intent, so the same decision always
 * regenerates the same intent id and identifier, and each decision is taken only once all earlier
 * intents are terminal (the held volume it reads is then final).
 *
 * Each finished order's trades are delivered a second time (`echo`), as the private stream's
 * late `myOrder` would: applying them again must change nothing.
 *
 * Progress is one JSON line per step on stdout: `ready`, `reconciled`, `intent`, `echo`,
 * `skipped`, `done`. Exit codes: 0 done, 3 lock refused, 1 anything else.
 */

import { HttpExchange } from "../../../engine/adapters/http_exchange.ts";
import { acquireInstanceLock, KvStore } from "../../../engine/adapters/kv_store.ts";
import { Secret } from "../../../engine/adapters/upbit/auth.ts";
import { RateLimitedError, TemporaryError } from "../../../engine/errors.ts";
import { UpbitRestClient } from "../../../engine/adapters/upbit/rest_client.ts";
import { parseUnits } from "../../../engine/core/money.ts";
import {
  applyTrades,
  DEFAULT_ORDER_MANAGER_CONFIG,
  driveIntent,
  intentId,
  type OrderManagerConfig,
  type OrderManagerDeps,
  reconcile,
  type SubmitOrder,
  submitOrder,
} from "../../../engine/order_manager.ts";
import type { Clock, EngineEvent, Intent, IntentState, Notifier } from "../../../engine/ports.ts";
import { LIVE_INTENT_STATES, TERMINAL_INTENT_STATES } from "../../../engine/ports.ts";

/** The market traded. */
export const MARKET = "KRW-BTC";
/** KRW spent by each buy. */
export const BUY_KRW = "20000";
/** Part of every identifier. */
export const BOT_ID = "crash-bot";
/** Every intent state (for listing all intents). */
export const ALL_STATES: readonly IntentState[] = [
  ...LIVE_INTENT_STATES,
  ...TERMINAL_INTENT_STATES,
];

/**
 * The order manager's tuning in this test: a grace well above the longest injected delay (the
 * sandbox may still create a POST's order that long after the client gave up), lookups fast.
 */
export function crashConfig(): OrderManagerConfig {
  return {
    ...DEFAULT_ORDER_MANAGER_CONFIG,
    botId: BOT_ID,
    visibilityGraceMs: 1_000,
    maxSends: 10,
    backoffMs: [50, 100, 200, 400],
    maxLookups: 60,
    fillTimeoutMs: 3_000,
    pollMs: 100,
    cancelWaitMs: 3_000,
  };
}

/** The signal id of decision `i`. */
export function signalIdOf(i: number): string {
  return `s${i}`;
}

/** The index of a signal id (`s12` → 12). */
export function signalIndexOf(signalId: string): number {
  return Number(signalId.slice(1));
}

/** Buy on even signals, sell on odd ones. */
export function sideOf(i: number): "bid" | "ask" {
  return i % 2 === 0 ? "bid" : "ask";
}

class SystemClock implements Clock {
  nowMs(): number {
    return Date.now();
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const timer = setTimeout(resolve, ms);
      signal?.addEventListener("abort", () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
    });
  }
}

class SilentNotifier implements Notifier {
  notify(_event: EngineEvent): void {}
}

const encoder = new TextEncoder();

async function say(line: Record<string, unknown>): Promise<void> {
  await Deno.stdout.write(encoder.encode(JSON.stringify(line) + "\n"));
}

function isTransient(error: unknown): boolean {
  return error instanceof TemporaryError || error instanceof RateLimitedError;
}

/** Runs `work` until it stops failing with a transient exchange error (as the tick loop would). */
async function retrying<T>(clock: Clock, work: () => Promise<T>): Promise<T> {
  for (let i = 0;; i++) {
    try {
      return await work();
    } catch (error) {
      if (!isTransient(error) || i >= 200) throw error;
      await clock.sleep(50);
    }
  }
}

/** The command of decision `i`, or undefined when there is nothing to sell. */
async function commandOf(deps: OrderManagerDeps, i: number): Promise<SubmitOrder | undefined> {
  const signalId = signalIdOf(i);
  if (sideOf(i) === "bid") {
    return { kind: "market_buy", market: MARKET, signalId, amountKrw: parseUnits(BUY_KRW) };
  }
  const ledger = await deps.store.getLedger(MARKET);
  if (ledger === undefined || ledger.qty <= 0n) return undefined;
  return {
    kind: "market_sell",
    market: MARKET,
    signalId,
    volume: ledger.qty,
    referencePrice: ledger.avgPrice,
  };
}

/**
 * Delivers the trades of a finished order once more, as the private stream does when its
 * `myOrder` message arrives after the REST poll already applied them: must change nothing.
 */
async function echoFills(
  deps: OrderManagerDeps,
  config: OrderManagerConfig,
  intent: Intent,
): Promise<void> {
  const uuid = intent.uuid;
  if (uuid === undefined) return;
  const order = await retrying(deps.clock, () => deps.exchange.getOrder({ uuid }));
  if (order === undefined) return;
  const applied = await applyTrades(deps, config, order, intent.id);
  await say({ ev: "echo", id: intent.id, applied: applied.length });
}

/** Drives decision `i` until its intent is terminal (or it is denied before sending). */
async function runSignal(
  deps: OrderManagerDeps,
  config: OrderManagerConfig,
  i: number,
): Promise<void> {
  const id = intentId(MARKET, sideOf(i), signalIdOf(i));
  for (let round = 0; round < 1000; round++) {
    const existing = await deps.store.getIntent({ id });
    let intent: Intent;
    if (existing !== undefined) {
      // Resume: never re-plan a decision that already has an intent.
      intent = TERMINAL_INTENT_STATES.includes(existing.state) ? existing : await retrying(
        deps.clock,
        () => driveIntent(deps, config, existing, { send: true, waitForFills: true }),
      );
    } else {
      const command = await commandOf(deps, i);
      if (command === undefined) {
        await say({ ev: "skipped", i, reason: "nothing_held" });
        return;
      }
      const res = await retrying(deps.clock, () => submitOrder(deps, config, command));
      if (!res.ok) {
        if (res.error.kind === "market_busy") {
          // An earlier intent still holds the market: finish it first.
          const busy = await deps.store.getIntent({ id: res.error.intentId });
          if (busy !== undefined) {
            await retrying(
              deps.clock,
              () => driveIntent(deps, config, busy, { send: true, waitForFills: true }),
            );
          }
          continue;
        }
        await say({ ev: "skipped", i, reason: res.error.kind });
        return;
      }
      intent = res.value.intent;
    }
    if (TERMINAL_INTENT_STATES.includes(intent.state)) {
      await say({ ev: "intent", i, state: intent.state, sends: intent.sends, a: intent.attempt });
      await echoFills(deps, config, intent);
      return;
    }
  }
  throw new Error(`Cannot finish signal ${i}: still live after 1000 rounds`);
}

async function main(): Promise<void> {
  const [kvPath = "", restUrl = "", accessKey = "", secretKey = "", signalsText = "0", krw = "0"] =
    Deno.args;
  const signals = Number(signalsText);
  let lock;
  try {
    lock = await acquireInstanceLock(kvPath);
  } catch (error) {
    await say({ ev: "refused", message: (error as Error).message });
    Deno.exit(3);
  }
  const kv = await Deno.openKv(kvPath);
  const store = new KvStore(kv);
  const clock = new SystemClock();
  await store.claimInstance(Deno.pid, clock.nowMs());
  const client = new UpbitRestClient({
    restUrl,
    accessKey,
    secretKey: new Secret(secretKey),
    // Short, so injected hangs and delays turn into timeouts quickly.
    timeoutMs: 250,
    maxReadRetries: 2,
    backoffBaseMs: 20,
    backoffMaxMs: 100,
  });
  const exchange = new HttpExchange(client);
  const deps: OrderManagerDeps = { exchange, store, clock, notifier: new SilentNotifier() };
  const config = crashConfig();
  await say({ ev: "ready", pid: Deno.pid });

  await store.openLedger(MARKET, parseUnits(krw));
  const report = await retrying(clock, () => reconcile(deps, config, { account: exchange }));
  await say({
    ev: "reconciled",
    seeded: report.seeded,
    safeMode: report.safeMode,
    resolved: report.intents.map((i) => i.state),
    external: report.external.length,
    mismatches: report.mismatches.map((m) => ({
      currency: m.currency,
      ledger: String(m.ledger),
      exchange: String(m.exchange),
    })),
  });

  // Resume at the newest decision that has an intent; the ones before it are terminal.
  const intents = await store.listIntents(ALL_STATES);
  const from = intents.reduce((max, i) => Math.max(max, signalIndexOf(i.signalId)), 0);
  for (let i = from; i < signals; i++) await runSignal(deps, config, i);
  // The closing reconciliation: every intent resolved, the ledger checked against the account.
  const closing = await retrying(clock, () => reconcile(deps, config, { account: exchange }));
  const live = await store.listIntents(LIVE_INTENT_STATES);
  await say({
    ev: "done",
    live: live.length,
    safeMode: closing.safeMode,
    mismatches: closing.mismatches.length,
  });
  kv.close();
  lock.release();
}

if (import.meta.main) await main();
