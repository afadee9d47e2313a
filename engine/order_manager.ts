/**
 * The order manager: places orders so that a retry can never double an order, and applies every
 * fill exactly once (the retry protocol of reliability.md §1.6).
 *
 * - The identifier is deterministic: `"ut" + base32(sha256(botId|market|side|signalId|attempt))`
 *   cut to 28 characters, so even a crash before the intent was written regenerates it.
 * - The intent is written to KV before anything is sent, and marked `UNKNOWN` before each POST
 *   (the write-ahead record). A decision's first intent is written `UNKNOWN` at once (its first
 *   send counted): one commit before the first POST instead of `NEW` then `UNKNOWN`.
 * - An ambiguous POST (timeout, reset, 5xx, 429, unreadable answer) is resolved by looking the
 *   identifier up, with backoff, until the visibility grace has passed; only then is the order
 *   resent, with the SAME identifier. A new identifier (`attempt + 1`) comes only after a
 *   definitive rejection (on request) or a burned identifier (`duplicated_identifier` while the
 *   lookup keeps saying 404 past the grace).
 * - POSTs are capped per intent; past the cap the intent stays `UNKNOWN`, the engine enters safe
 *   mode and an event says why.
 * - Fills go through `FillStore.applyFills`, keyed by Upbit's trade uuid; the intent becomes
 *   `FILLED`/`CANCELLED` only after the order is terminal and its trades sum to its executed volume.
 * - One order in flight per market (the store's `["inflight", market]` slot).
 *
 * Not pure (it awaits ports and hashes with `crypto.subtle`), so it lives outside `engine/core`.
 */

import { MAX_ORDER_KRW, MIN_ORDER_KRW, UPBIT_KRW_FEE_BPS, VOLUME_STEP } from "./core/ledger.ts";
import { formatUnits, mulUnits, roundToStep, type Units } from "./core/money.ts";
import { err, ok, type Result } from "./core/result.ts";
import { roundToTick } from "./core/tick_size.ts";
import { baseCurrency } from "./core/market.ts";
import { RateLimitedError, TemporaryError } from "./errors.ts";
import type {
  Account,
  Clock,
  EngineEvent,
  Exchange,
  ExchangeOrder,
  Intent,
  Notifier,
  OrderRequest,
  OrderSide,
  OrderTrace,
  Store,
  StoredFill,
} from "./ports.ts";
import { intentIdOf, LIVE_INTENT_STATES, orderFilledEvent } from "./ports.ts";

/** Tuning of the protocol. */
export interface OrderManagerConfig {
  /** Part of every identifier: two bots on one account must differ. */
  readonly botId: string;
  /** Fee rate used to split `paid_fee` over trades (Upbit KRW: 5 bp). */
  readonly feeBps: number;
  /** How long a just-sent order may stay invisible to a lookup before it counts as absent. */
  readonly visibilityGraceMs: number;
  /** POSTs per intent, over all attempts, before safe mode. */
  readonly maxSends: number;
  /** Waits between lookups of an unresolved order (the last repeats). */
  readonly backoffMs: readonly number[];
  /** Lookups of one unresolved order before giving up for now (it stays `UNKNOWN`). */
  readonly maxLookups: number;
  /** How long to wait for an open order to fill before cancelling it. */
  readonly fillTimeoutMs: number;
  /** How often to poll an open order. */
  readonly pollMs: number;
  /** How long to wait for a cancel to become final. */
  readonly cancelWaitMs: number;
}

/** The protocol's defaults (reliability.md §1.6). */
export const DEFAULT_ORDER_MANAGER_CONFIG: Omit<OrderManagerConfig, "botId"> = Object.freeze({
  feeBps: UPBIT_KRW_FEE_BPS,
  visibilityGraceMs: 10_000,
  maxSends: 5,
  backoffMs: Object.freeze([250, 500, 1000, 2000, 4000]),
  maxLookups: 40,
  fillTimeoutMs: 30_000,
  pollMs: 1000,
  cancelWaitMs: 30_000,
});

/** What the order manager uses. */
export interface OrderManagerDeps {
  readonly exchange: Exchange;
  readonly store: Store;
  readonly clock: Clock;
  readonly notifier: Notifier;
  /** Each step of each intent, for the log and the metrics (none: not traced). */
  readonly trace?: OrderTrace;
}

/** An order the engine wants placed (a command: imperative). */
export type SubmitOrder =
  | {
    readonly kind: "market_buy";
    readonly market: string;
    readonly signalId: string;
    /** KRW to spend, fee excluded (Upbit reserves the fee on top). */
    readonly amountKrw: Units;
    /** The price the buy was decided at (for its fills' slippage; not sent). */
    readonly refPrice?: Units;
  }
  | {
    readonly kind: "market_sell";
    readonly market: string;
    readonly signalId: string;
    readonly volume: Units;
    /** The best bid now: the 5,000 KRW minimum is checked at this price. */
    readonly referencePrice: Units;
    /** The price the sale was decided at (default `referencePrice`; for its fills' slippage). */
    readonly refPrice?: Units;
  }
  | {
    readonly kind: "limit";
    readonly market: string;
    readonly signalId: string;
    readonly side: "buy" | "sell";
    /** Rounded onto the tick grid: buys down, sells up. */
    readonly price: Units;
    readonly volume: Units;
  };

/** The intent's reference price of `command` (a limit order's is its own price). */
function refPriceOf(command: SubmitOrder): { readonly refPrice?: Units } {
  const ref = command.kind === "market_buy"
    ? command.refPrice
    : command.kind === "market_sell"
    ? command.refPrice ?? command.referencePrice
    : command.price;
  return ref === undefined ? {} : { refPrice: ref };
}

/** Why an order was not placed (nothing was sent). */
export type SubmitDenial =
  | { readonly kind: "under_min_total"; readonly total: Units }
  | { readonly kind: "over_max_total"; readonly total: Units }
  | { readonly kind: "invalid_amount" }
  | { readonly kind: "paused" }
  | { readonly kind: "halted" }
  | { readonly kind: "safe_mode" }
  | { readonly kind: "market_busy"; readonly intentId: string }
  | { readonly kind: "identifier_used"; readonly identifier: string };

/** Where an intent ended up after `submitOrder`. */
export interface OrderOutcome {
  readonly intent: Intent;
  /** Every fill of the intent's order (applied now or before). */
  readonly fills: readonly StoredFill[];
}

// ---- identifiers ------------------------------------------------------------------------------

const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";

/** RFC 4648 base32 (lowercase, no padding). */
function base32(bytes: Uint8Array): string {
  let out = "";
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32[(buffer << (5 - bits)) & 31];
  return out;
}

/**
 * The deterministic Upbit identifier of one attempt of one decision (28 chars of `[a-z2-7]`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const a = await orderIdentifier({ botId: "b", market: "KRW-BTC", side: "bid", signalId: "s", attempt: 0 });
 * assert.equal(a.length, 28);
 * assert.equal(a, await orderIdentifier({ botId: "b", market: "KRW-BTC", side: "bid", signalId: "s", attempt: 0 }));
 * ```
 */
export async function orderIdentifier(parts: {
  readonly botId: string;
  readonly market: string;
  readonly side: OrderSide;
  readonly signalId: string;
  readonly attempt: number;
}): Promise<string> {
  const text = [parts.botId, parts.market, parts.side, parts.signalId, parts.attempt].join("|");
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return "ut" + base32(new Uint8Array(digest)).slice(0, 26);
}

/** The intent id of one decision: one intent per market, side and signal. */
export function intentId(market: string, side: OrderSide, signalId: string): string {
  return intentIdOf(market, side, signalId);
}

// ---- submitting -------------------------------------------------------------------------------

interface Planned {
  readonly side: OrderSide;
  readonly ordType: Intent["ordType"];
  readonly price: Units | undefined;
  readonly volume: Units | undefined;
}

/** Checks and shapes a command (exact, rounded once): the 5,000 KRW minimum, ticks, volume step. */
export function planOrder(command: SubmitOrder, atMs: number): Result<Planned, SubmitDenial> {
  switch (command.kind) {
    case "market_buy": {
      const total = roundToStep(command.amountKrw, VOLUME_STEP, "floor");
      if (total <= 0n) return err({ kind: "invalid_amount" });
      if (total < MIN_ORDER_KRW) return err({ kind: "under_min_total", total });
      if (total > MAX_ORDER_KRW) return err({ kind: "over_max_total", total });
      return ok({ side: "bid", ordType: "price", price: total, volume: undefined });
    }
    case "market_sell": {
      if (command.volume <= 0n || command.referencePrice <= 0n) {
        return err({ kind: "invalid_amount" });
      }
      const total = mulUnits(command.referencePrice, command.volume, "floor");
      if (total < MIN_ORDER_KRW) return err({ kind: "under_min_total", total });
      return ok({ side: "ask", ordType: "market", price: undefined, volume: command.volume });
    }
    case "limit": {
      if (command.volume <= 0n || command.price <= 0n) return err({ kind: "invalid_amount" });
      const price = roundToTick(command.price, {
        atMs,
        market: command.market,
        rounding: command.side === "buy" ? "floor" : "ceil",
      });
      if (price <= 0n) return err({ kind: "invalid_amount" });
      const total = mulUnits(price, command.volume, "floor");
      if (total < MIN_ORDER_KRW) return err({ kind: "under_min_total", total });
      if (total > MAX_ORDER_KRW) return err({ kind: "over_max_total", total });
      return ok({
        side: command.side === "buy" ? "bid" : "ask",
        ordType: "limit",
        price,
        volume: command.volume,
      });
    }
  }
}

/**
 * Places one order for one decision and follows it to the end: writes the intent, sends,
 * resolves ambiguity, waits for fills (cancelling after `fillTimeoutMs`) and reports what
 * filled. Calling it again with the same `signalId` resumes the same intent and never places a
 * second order. Pause and safe mode refuse buys (exits stay allowed).
 */
export async function submitOrder(
  deps: OrderManagerDeps,
  config: OrderManagerConfig,
  command: SubmitOrder,
  options: {
    /** The emergency stop's own sale: allowed while the halt it keeps is in force. */
    readonly emergency?: boolean;
    /**
     * Journaled in the commit that writes the intent (one commit less before the POST), or
     * alone when no intent is written; notified once stored. Exactly once either way.
     */
    readonly journal?: EngineEvent;
  } = {},
): Promise<Result<OrderOutcome, SubmitDenial>> {
  const { store, clock } = deps;
  const { journal } = options;
  const journalAlone = async (): Promise<void> => {
    if (journal === undefined) return;
    await store.recordEvent(journal);
    deps.notifier.notify(journal);
  };
  const nowMs = clock.nowMs();
  const planned = planOrder(command, nowMs);
  if (!planned.ok) {
    await journalAlone();
    return planned;
  }
  const plan = planned.value;
  const id = intentId(command.market, plan.side, command.signalId);
  let intent = await store.getIntent({ id });
  if (intent !== undefined) await journalAlone();
  if (intent === undefined) {
    const control = await store.getControl();
    const denial: SubmitDenial | undefined =
      // An emergency stop halts every order until an operator resumes.
      control.halted && options.emergency !== true
        ? { kind: "halted" }
        // Both switches stop new entries only: a position must always be closable.
        : control.paused && plan.side === "bid"
        ? { kind: "paused" }
        : control.safeMode && plan.side === "bid"
        ? { kind: "safe_mode" }
        : undefined;
    if (denial !== undefined) {
      await journalAlone();
      return err(denial);
    }
    const identifier = await orderIdentifier({
      botId: config.botId,
      market: command.market,
      side: plan.side,
      signalId: command.signalId,
      attempt: 0,
    });
    const created = await store.createIntent({
      id,
      market: command.market,
      side: plan.side,
      ordType: plan.ordType,
      price: plan.price,
      volume: plan.volume,
      ...refPriceOf(command),
      signalId: command.signalId,
      attempt: 0,
      identifier,
      // Durable with its identifier before the POST below (§0): the write-ahead record.
      state: "UNKNOWN",
      sends: 1,
      lastSentAtMs: nowMs,
      duplicateSeen: false,
      uuid: undefined,
      error: undefined,
      filledVolume: 0n,
      filledFunds: 0n,
      createdAtMs: nowMs,
      updatedAtMs: nowMs,
    }, journal);
    if (!created.ok) {
      await journalAlone();
      const conflict = created.error;
      if (conflict.kind === "market_busy") {
        return err({ kind: "market_busy", intentId: conflict.intentId });
      }
      if (conflict.kind === "identifier_used") return err(conflict);
      intent = conflict.intent;
    } else {
      intent = created.value;
      deps.trace?.stored(intent, undefined);
      if (journal !== undefined) deps.notifier.notify(journal);
      intent = await post(deps, config, intent);
    }
  }
  intent = await driveIntent(deps, config, intent, { send: true, waitForFills: true });
  const fills = intent.uuid === undefined ? [] : await store.listFills(intent.uuid);
  return ok({ intent, fills });
}

/**
 * Moves a live intent as far as it can go: sends a `NEW` one (when `send`), resolves `UNKNOWN`,
 * follows `OPEN` (waiting and cancelling when `waitForFills`, else one poll). Returns the intent
 * as stored.
 */
export async function driveIntent(
  deps: OrderManagerDeps,
  config: OrderManagerConfig,
  start: Intent,
  options: { readonly send: boolean; readonly waitForFills: boolean },
): Promise<Intent> {
  let intent = start;
  for (let step = 0; step < config.maxSends * 4 + 8; step++) {
    const before = intent;
    switch (intent.state) {
      case "NEW":
        if (!options.send) return intent;
        intent = await send(deps, config, intent);
        break;
      case "UNKNOWN":
        intent = await resolveUnknown(deps, config, intent, options);
        break;
      case "OPEN":
        return await followOpen(deps, config, intent, options.waitForFills);
      default:
        return intent;
    }
    // No progress (capped, lookups failing, or left for later): stop here.
    if (intent === before) return intent;
  }
  return intent;
}

function requestOf(intent: Intent): OrderRequest {
  return {
    market: intent.market,
    side: intent.side,
    ordType: intent.ordType,
    identifier: intent.identifier,
    ...(intent.price === undefined ? {} : { price: intent.price }),
    ...(intent.volume === undefined ? {} : { volume: intent.volume }),
  };
}

/** An error as one short line for the trace. */
function traceText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function isAmbiguous(error: unknown): boolean {
  return error instanceof TemporaryError || error instanceof RateLimitedError;
}

/** Commits `next` over `prev` (and records `event`); throws when another writer got there first. */
async function commit(
  deps: OrderManagerDeps,
  prev: Intent,
  next: Intent,
  event?: EngineEvent,
): Promise<Intent> {
  const res = await deps.store.updateIntent(prev, next, event);
  if (!res.ok) {
    // Only one process owns the store, and one call drives an intent: this is a bug.
    throw new Error(`Cannot update intent ${prev.id}: ${res.error.kind}`);
  }
  if (event !== undefined) deps.notifier.notify(event);
  deps.trace?.stored(res.value, prev.state);
  return res.value;
}

async function enterSafeMode(deps: OrderManagerDeps, reason: string, code: string): Promise<void> {
  const atMs = deps.clock.nowMs();
  await deps.store.setControl({ safeMode: true, reason }, atMs);
  const event: EngineEvent = { type: "ErrorRaised", atMs, code, message: reason };
  await deps.store.recordEvent(event);
  deps.notifier.notify({ type: "StateChanged", atMs, paused: false, safeMode: true, reason });
  deps.notifier.notify(event);
}

/** One POST, with the write-ahead `UNKNOWN` record before it. */
async function send(
  deps: OrderManagerDeps,
  config: OrderManagerConfig,
  start: Intent,
): Promise<Intent> {
  const { clock } = deps;
  if (start.sends >= config.maxSends) {
    await enterSafeMode(
      deps,
      `order ${start.id} (${start.identifier}) still unresolved after ${start.sends} sends`,
      "attempts_exhausted",
    );
    return start;
  }
  const nowMs = clock.nowMs();
  const intent = await commit(deps, start, {
    ...start,
    state: "UNKNOWN",
    sends: start.sends + 1,
    lastSentAtMs: nowMs,
    duplicateSeen: false,
    updatedAtMs: nowMs,
  });
  return await post(deps, config, intent);
}

/** The POST of an intent already committed `UNKNOWN` for this send, and what its answer says. */
async function post(
  deps: OrderManagerDeps,
  config: OrderManagerConfig,
  sent: Intent,
): Promise<Intent> {
  const { clock, exchange } = deps;
  let intent = sent;
  let placed;
  try {
    placed = await exchange.placeOrder(requestOf(intent));
  } catch (error) {
    if (!isAmbiguous(error)) throw error;
    deps.trace?.noted(intent, `send ${intent.sends} failed: ${traceText(error)}; looking it up`);
    return intent;
  }
  if (placed.ok) return await adopt(deps, config, intent, placed.value);
  const rejection = placed.error;
  const atMs = clock.nowMs();
  if (rejection.name === "duplicated_identifier") {
    // The order exists (or the identifier is burned): the lookup decides which.
    return await commit(deps, intent, { ...intent, duplicateSeen: true, updatedAtMs: atMs });
  }
  intent = await commit(
    deps,
    intent,
    { ...intent, state: "REJECTED", error: rejection.name, updatedAtMs: atMs },
    {
      type: "OrderRejected",
      atMs,
      intentId: intent.id,
      market: intent.market,
      identifier: intent.identifier,
      name: rejection.name,
      message: rejection.message,
    },
  );
  return intent;
}

/** Moves to the next attempt: a new identifier, state `NEW`. */
async function nextAttempt(
  deps: OrderManagerDeps,
  config: OrderManagerConfig,
  intent: Intent,
): Promise<Intent> {
  const attempt = intent.attempt + 1;
  const identifier = await orderIdentifier({
    botId: config.botId,
    market: intent.market,
    side: intent.side,
    signalId: intent.signalId,
    attempt,
  });
  return await commit(deps, intent, {
    ...intent,
    attempt,
    identifier,
    state: "NEW",
    duplicateSeen: false,
    error: undefined,
    updatedAtMs: deps.clock.nowMs(),
  });
}

/**
 * Resolves an `UNKNOWN` intent by looking its identifier up: found → adopt it; 404 past the
 * grace → resend with the same identifier (or the next attempt when the identifier is burned);
 * when not allowed to send (at startup), a proven-absent order is `CANCELLED`.
 */
async function resolveUnknown(
  deps: OrderManagerDeps,
  config: OrderManagerConfig,
  intent: Intent,
  options: { readonly send: boolean },
): Promise<Intent> {
  const { clock, exchange } = deps;
  for (let lookup = 0; lookup < config.maxLookups; lookup++) {
    let found: ExchangeOrder | undefined | "failed";
    try {
      found = await exchange.getOrder({ identifier: intent.identifier });
    } catch (error) {
      if (!isAmbiguous(error)) throw error;
      deps.trace?.noted(intent, `look-up failed: ${traceText(error)}`);
      found = "failed";
    }
    if (found !== "failed" && found !== undefined) return await adopt(deps, config, intent, found);
    if (found === undefined) {
      const sinceMs = clock.nowMs() - (intent.lastSentAtMs ?? 0);
      if (sinceMs > config.visibilityGraceMs) {
        if (!options.send) {
          return await commit(deps, intent, {
            ...intent,
            state: "CANCELLED",
            error: "not_found_after_grace",
            updatedAtMs: clock.nowMs(),
          });
        }
        if (intent.duplicateSeen) return await nextAttempt(deps, config, intent);
        return await send(deps, config, intent);
      }
    }
    const backoff = config.backoffMs;
    await clock.sleep(backoff[Math.min(lookup, backoff.length - 1)] ?? 1000);
  }
  const atMs = clock.nowMs();
  const event: EngineEvent = {
    type: "ErrorRaised",
    atMs,
    code: "order_unresolved",
    message: `order ${intent.id} (${intent.identifier}) could not be looked up; left UNKNOWN`,
  };
  await deps.store.recordEvent(event);
  deps.notifier.notify(event);
  return intent;
}

/** The exchange has the order: record its uuid (`OPEN`), apply its trades, finish if terminal. */
async function adopt(
  deps: OrderManagerDeps,
  config: OrderManagerConfig,
  start: Intent,
  order: ExchangeOrder,
): Promise<Intent> {
  let intent = start;
  if (intent.state !== "OPEN" || intent.uuid !== order.uuid) {
    const atMs = deps.clock.nowMs();
    intent = await commit(
      deps,
      intent,
      { ...intent, state: "OPEN", uuid: order.uuid, duplicateSeen: false, updatedAtMs: atMs },
      {
        type: "OrderSubmitted",
        atMs,
        intentId: intent.id,
        market: intent.market,
        side: intent.side,
        identifier: intent.identifier,
        uuid: order.uuid,
        ...(intent.refPrice === undefined ? {} : { refPrice: formatUnits(intent.refPrice) }),
      },
    );
  }
  return await absorb(deps, config, intent, order);
}

/** Applies the trades of an order snapshot, and finishes the intent when the order is final. */
async function absorb(
  deps: OrderManagerDeps,
  config: OrderManagerConfig,
  intent: Intent,
  order: ExchangeOrder,
): Promise<Intent> {
  let snapshot = order;
  if (snapshot.trades === undefined) {
    let full: ExchangeOrder | undefined;
    try {
      full = await deps.exchange.getOrder({ uuid: order.uuid });
    } catch (error) {
      // The next poll reads it again.
      if (!isAmbiguous(error)) throw error;
    }
    if (full === undefined || full.trades === undefined) return intent;
    snapshot = full;
  }
  await applyTrades(deps, config, snapshot, intent.id);
  const terminal = snapshot.state === "done" || snapshot.state === "cancel";
  const traded = (snapshot.trades ?? []).reduce((s, t) => s + t.volume, 0n);
  // Terminal only once every trade is known: the fills must add up to the executed volume.
  if (!terminal || traded !== snapshot.executedVolume) return intent;
  const fills = await deps.store.listFills(snapshot.uuid);
  const filledVolume = fills.reduce((s, f) => s + f.volume, 0n);
  const filledFunds = fills.reduce((s, f) => s + f.funds, 0n);
  return await commit(deps, intent, {
    ...intent,
    state: filledVolume > 0n ? "FILLED" : "CANCELLED",
    filledVolume,
    filledFunds,
    updatedAtMs: deps.clock.nowMs(),
  });
}

/** Applies an order snapshot's trades exactly once; a ledger refusal means safe mode. */
export async function applyTrades(
  deps: OrderManagerDeps,
  config: OrderManagerConfig,
  order: ExchangeOrder,
  intentIdOfOrder: string | undefined,
): Promise<readonly StoredFill[]> {
  if (order.trades === undefined || order.trades.length === 0) return [];
  const atMs = deps.clock.nowMs();
  const res = await deps.store.applyFills({
    market: order.market,
    side: order.side,
    orderUuid: order.uuid,
    intentId: intentIdOfOrder,
    paidFee: order.paidFee,
    trades: order.trades,
    feeBps: config.feeBps,
    atMs,
  });
  if (!res.ok) {
    await enterSafeMode(
      deps,
      `fills of order ${order.uuid} do not fit the ledger: ${JSON.stringify(res.error)}`,
      "ledger_refused",
    );
    return [];
  }
  for (const f of res.value) {
    deps.notifier.notify(orderFilledEvent(f, atMs, intentIdOfOrder));
  }
  return res.value;
}

/** Polls an open order until it is final; past `fillTimeoutMs` cancels it and reads what filled. */
async function followOpen(
  deps: OrderManagerDeps,
  config: OrderManagerConfig,
  start: Intent,
  wait: boolean,
): Promise<Intent> {
  const { clock, exchange } = deps;
  const uuid = start.uuid;
  if (uuid === undefined) throw new Error(`Cannot follow intent ${start.id}: OPEN without a uuid`);
  let intent = start;
  const deadlineMs = clock.nowMs() + config.fillTimeoutMs;
  let cancelAtMs: number | undefined;
  for (;;) {
    let order: ExchangeOrder | undefined;
    try {
      order = await exchange.getOrder({ uuid });
    } catch (error) {
      if (!isAmbiguous(error)) throw error;
    }
    if (order !== undefined) {
      intent = await absorb(deps, config, intent, order);
      if (intent.state !== "OPEN") return intent;
    }
    if (!wait) return intent;
    const nowMs = clock.nowMs();
    if (cancelAtMs === undefined && nowMs >= deadlineMs) {
      cancelAtMs = nowMs;
      deps.trace?.noted(intent, `not filled after ${config.fillTimeoutMs / 1000} s: cancelling`);
      try {
        // A refusal (already done or cancelled) is fine: the next poll reads the final state.
        await exchange.cancelOrder({ uuid });
      } catch (error) {
        if (!isAmbiguous(error)) throw error;
        deps.trace?.noted(intent, `cancel failed: ${traceText(error)}`);
        cancelAtMs = undefined;
      }
    } else if (cancelAtMs !== undefined && nowMs - cancelAtMs > config.cancelWaitMs) {
      return intent;
    }
    await clock.sleep(config.pollMs);
  }
}

// ---- reconciliation ---------------------------------------------------------------------------

/** Tolerance of the balance check, per currency (default: exact). */
export interface ReconcileOptions {
  readonly account: Account;
  /** Allowed |ledger − exchange| per currency; missing currencies use `defaultTolerance`. */
  readonly tolerance?: ReadonlyMap<string, Units>;
  readonly defaultTolerance?: Units;
}

/** What a reconciliation found. */
export interface ReconcileReport {
  /** Intents that were live at the start and what became of them. */
  readonly intents: readonly Intent[];
  /** Open orders on the exchange that are not ours (left alone). */
  readonly external: readonly ExchangeOrder[];
  readonly mismatches: readonly {
    readonly currency: string;
    readonly ledger: Units;
    readonly exchange: Units;
  }[];
  /** True when the expected balances were seeded from the exchange (first start). */
  readonly seeded: boolean;
  /** True when trading must stay in safe mode. */
  readonly safeMode: boolean;
  /** Currencies not compared: an intent on them is still unresolved (its fills are unknown). */
  readonly unsettled: readonly string[];
}

/**
 * Startup reconciliation, before any trading (reliability.md §1.6 step 7), idempotent:
 * 1. every `NEW`/`UNKNOWN` intent is looked up by identifier (adopted, or `CANCELLED` when proven
 *    absent after the grace: a stale decision is never resent);
 * 2. every `OPEN` intent's order is read and its missing trades applied;
 * 3. open orders that are not ours are reported (alert, left alone);
 * 4. the account's balances are compared to the ledger's: any difference → safe mode, with the
 *    numbers, except for the currencies of an intent that could not be resolved now (exchange
 *    errors: its fills are unknown), listed in `unsettled` for a later pass. On first start the
 *    ledger's balances are seeded from the account.
 */
export async function reconcile(
  deps: OrderManagerDeps,
  config: OrderManagerConfig,
  options: ReconcileOptions,
): Promise<ReconcileReport> {
  const { store, exchange, clock, notifier } = deps;
  const live = await store.listIntents(LIVE_INTENT_STATES);
  const intents: Intent[] = [];
  const unsettled = new Set<string>();
  for (const intent of live) {
    let current = intent;
    if (current.state === "NEW") {
      // Never sent (UNKNOWN is written before every POST); close it like a proven-absent one.
      current = await commit(deps, current, {
        ...current,
        state: "CANCELLED",
        error: "not_sent_before_restart",
        updatedAtMs: clock.nowMs(),
      });
    }
    let resolved = await driveIntent(deps, config, current, { send: false, waitForFills: false });
    let settled = resolved.state !== "UNKNOWN";
    if (resolved.state === "OPEN" && resolved.uuid !== undefined) {
      // driveIntent keeps an intent OPEN when its one poll failed, so its trades may be missing:
      // read the order once more before the balances are compared.
      settled = false;
      try {
        const order = await exchange.getOrder({ uuid: resolved.uuid });
        if (order?.trades !== undefined) {
          resolved = await absorb(deps, config, resolved, order);
          settled = true;
        }
      } catch (error) {
        if (!isAmbiguous(error)) throw error;
      }
    }
    // Fills not known yet would show as a false mismatch: leave these currencies for later.
    if (!settled) unsettled.add("KRW").add(baseCurrency(resolved.market));
    intents.push(resolved);
  }

  const external: ExchangeOrder[] = [];
  for (const order of await exchange.openOrders()) {
    const ours = order.identifier === undefined
      ? undefined
      : await store.getIntent({ identifier: order.identifier });
    if (ours === undefined) {
      external.push(order);
      const event: EngineEvent = {
        type: "ErrorRaised",
        atMs: clock.nowMs(),
        code: "external_order",
        message: `open order ${order.uuid} on ${order.market} (${order.side}, identifier ${
          order.identifier ?? "none"
        }) is not ours: left alone`,
      };
      await store.recordEvent(event);
      notifier.notify(event);
    }
  }

  const accountTotals = new Map<string, Units>();
  for (const b of await options.account.balances()) {
    accountTotals.set(b.currency, (accountTotals.get(b.currency) ?? 0n) + b.balance + b.locked);
  }
  const expected = await store.getBalances();
  let seeded = false;
  const mismatches: { currency: string; ledger: Units; exchange: Units }[] = [];
  if (expected.size === 0) {
    seeded = await store.seedBalances(accountTotals, clock.nowMs());
  } else {
    const currencies = new Set([...expected.keys(), ...accountTotals.keys()]);
    for (const currency of [...currencies].sort()) {
      if (unsettled.has(currency)) continue;
      const ledger = expected.get(currency) ?? 0n;
      const held = accountTotals.get(currency) ?? 0n;
      const diff = ledger > held ? ledger - held : held - ledger;
      const tolerance = options.tolerance?.get(currency) ?? options.defaultTolerance ?? 0n;
      if (diff > tolerance) mismatches.push({ currency, ledger, exchange: held });
    }
  }
  let safeMode = (await store.getControl()).safeMode;
  if (mismatches.length > 0) {
    const atMs = clock.nowMs();
    const text = mismatches
      .map((m) =>
        `${m.currency}: ledger ${formatUnits(m.ledger)} vs exchange ${formatUnits(m.exchange)}`
      )
      .join("; ");
    await store.setControl({ safeMode: true, reason: `balances differ: ${text}` }, atMs);
    const event: EngineEvent = {
      type: "ReconciliationFailed",
      atMs,
      reason: "balances differ from the ledger",
      mismatches: mismatches.map((m) => ({
        currency: m.currency,
        ledger: formatUnits(m.ledger),
        exchange: formatUnits(m.exchange),
      })),
    };
    await store.recordEvent(event);
    notifier.notify(event);
    safeMode = true;
  }
  return { intents, external, mismatches, seeded, safeMode, unsettled: [...unsettled].sort() };
}

/** The coin a market trades (`KRW-BTC` → `BTC`). */
export function coinOf(market: string): string {
  return baseCurrency(market);
}
