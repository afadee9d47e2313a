/**
 * `KvStore`: the engine's state in Deno KV (layout in `engine/kv_keys.ts`).
 *
 * Every change is ONE `kv.atomic()` with version checks: the primary record, its indexes, the
 * audit event and the change marker commit together or not at all. Values carry `v: 1` and keep
 * money as exact decimal strings; everything read back is parsed with zod.
 *
 * A failed commit says only `{ ok: false }` (reliability.md §2.1), so each write re-reads and
 * decides again: a duplicate found on the re-read is the answer, anything else is retried a few
 * times and then thrown as a `ConflictError`.
 *
 * One process per KV file (reliability.md §2.6): `acquireInstanceLock` takes an OS lock on a
 * sidecar file and refuses to start when another process holds it. The commits that lead to an
 * order (intents, reservations) also check the KV lease when one is given (`fence`, kv_lease.ts),
 * so a process that lost it cannot write them.
 */

import { backupText, snapshotStore } from "./kv_backup.ts";
import type { KvLease } from "./kv_lease.ts";
import { z } from "zod";
import { type Candle, upbitDayStartMs } from "../core/candle.ts";
import { applyFill, type Fill, FillIds, type Ledger, openLedger } from "../core/ledger.ts";
import { applyBps, formatUnits, mulUnits, parseUnits, type Units } from "../core/money.ts";
import { err, ok, type Result } from "../core/result.ts";
import {
  type AccountView,
  checkReservation,
  type MarketBook,
  type PortfolioDenial,
  type PortfolioRules,
  type Reservation,
} from "../core/portfolio.ts";
import type { DayGuard } from "../core/risk.ts";
import * as keys from "../kv_keys.ts";
import type {
  CommandRecord,
  Control,
  EngineEvent,
  EquitySnapshot,
  ExchangeTrade,
  FillBatch,
  FillCursor,
  FillError,
  FillPage,
  Intent,
  IntentConflict,
  IntentState,
  IntentUpdateError,
  JournalEntry,
  ParamChange,
  ReportMarker,
  RunRecord,
  RunSpan,
  SignalRecord,
  Store,
  StoredFill,
  StoredParams,
  TraderState,
  WatchdogCheck,
} from "../ports.ts";
import { LIVE_INTENT_STATES, orderFilledEvent, TERMINAL_INTENT_STATES } from "../ports.ts";
import { baseCurrency } from "../core/market.ts";
import { ConfigError, ConflictError } from "../errors.ts";
import { CorruptStateError, parseStored } from "./kv_stored.ts";

import { metaSchema, type StoreMeta } from "./kv_identity.ts";

export { CorruptStateError } from "./kv_stored.ts";
export {
  accountHash,
  checkDemoStore,
  claimStore,
  type Holding,
  inspectStoreFile,
  openStoreFile,
  removeStoreFiles,
  resolveStorePath,
  StartRefusal,
  storeFilesBefore,
  type StoreFound,
  type StoreMeta,
  undoStoreStart,
} from "./kv_identity.ts";
export { type KvLease, LeaseLostError } from "./kv_lease.ts";
export { isRemoteStore, type LeaseTiming, refuseLiveLease, takeStoreLease } from "./store_lease.ts";

/** How many times a write re-reads and retries after a lost race before giving up. */
const MAX_COMMIT_TRIES = 20;

/** Fills per commit (each adds a check; a commit allows 100). */
const FILLS_PER_COMMIT = 40;

// ---- value schemas ----------------------------------------------------------------------------

const DECIMAL = /^-?\d+(\.\d{1,8})?$/;

const units = z.string().regex(DECIMAL, "not an exact decimal").transform((s) => parseUnits(s));
const side = z.enum(["bid", "ask"]);

const intentSchema = z.object({
  v: z.literal(1),
  id: z.string(),
  market: z.string(),
  side,
  ordType: z.enum(["limit", "price", "market"]),
  price: units.nullable(),
  volume: units.nullable(),
  refPrice: units.optional(),
  signalId: z.string(),
  attempt: z.number().int().min(0),
  identifier: z.string(),
  state: z.enum(["NEW", "UNKNOWN", "OPEN", "FILLED", "CANCELLED", "REJECTED"]),
  sends: z.number().int().min(0),
  lastSentAtMs: z.number().nullable(),
  duplicateSeen: z.boolean(),
  uuid: z.string().nullable(),
  error: z.string().nullable(),
  filledVolume: units,
  filledFunds: units,
  createdAtMs: z.number(),
  updatedAtMs: z.number(),
});

const idRefSchema = z.object({ v: z.literal(1), id: z.string() });

const orderRecordSchema = z.object({
  v: z.literal(1),
  intentId: z.string().nullable(),
  feesApplied: units,
});

const fillSchema = z.object({
  v: z.literal(1),
  orderUuid: z.string(),
  tradeUuid: z.string(),
  market: z.string(),
  side,
  price: units,
  volume: units,
  funds: units,
  fee: units,
  tsMs: z.number(),
});

const ledgerSchema = z.object({
  v: z.literal(1),
  initialCash: units,
  cash: units,
  qty: units,
  avgPrice: units,
  cost: units,
  realizedPnl: units,
  fees: units,
});

const amountSchema = z.object({ v: z.literal(1), amount: units });

const controlSchema = z.object({
  v: z.literal(1),
  paused: z.boolean(),
  safeMode: z.boolean(),
  // Written since the emergency stop became a halt; older records were never halted.
  halted: z.boolean().default(false),
  reason: z.string(),
  changedAtMs: z.number(),
});

const atMs = z.number();
const commandResult = z.enum(["done", "refused", "failed"]);
const decimalText = z.string().regex(DECIMAL);

const eventSchema: z.ZodType<EngineEvent> = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("SignalRaised"),
    atMs,
    market: z.string(),
    signalId: z.string(),
    action: z.enum(["buy", "sell"]),
    reason: z.string(),
  }),
  z.object({
    type: z.literal("SignalFailed"),
    atMs,
    market: z.string(),
    signalId: z.string(),
    action: z.enum(["buy", "sell"]),
    reason: z.string(),
  }),
  z.object({
    type: z.literal("OrderSubmitted"),
    atMs,
    intentId: z.string(),
    market: z.string(),
    side,
    identifier: z.string(),
    uuid: z.string(),
    refPrice: decimalText.optional(),
  }),
  z.object({
    type: z.literal("OrderFilled"),
    atMs,
    market: z.string(),
    side,
    orderUuid: z.string(),
    tradeUuid: z.string(),
    price: decimalText,
    volume: decimalText,
    funds: decimalText,
    fee: decimalText,
  }),
  z.object({
    type: z.literal("OrderRejected"),
    atMs,
    intentId: z.string(),
    market: z.string(),
    identifier: z.string(),
    name: z.string(),
    message: z.string(),
  }),
  z.object({
    type: z.literal("RiskTriggered"),
    atMs,
    market: z.string(),
    rule: z.string(),
    price: decimalText,
    dayStartEquity: decimalText.optional(),
  }),
  z.object({ type: z.literal("ErrorRaised"), atMs, code: z.string(), message: z.string() }),
  z.object({
    type: z.literal("StateChanged"),
    atMs,
    paused: z.boolean(),
    safeMode: z.boolean(),
    halted: z.boolean().optional(),
    reason: z.string(),
    actor: z.string().optional(),
  }),
  z.object({
    type: z.literal("CommandExecuted"),
    atMs,
    actor: z.string(),
    command: z.string(),
    result: commandResult,
    detail: z.string(),
  }),
  z.object({
    type: z.literal("DailyReport"),
    atMs,
    date: z.string(),
    late: z.boolean(),
    realizedPnl: decimalText,
    unrealizedPnl: decimalText,
    fees: decimalText,
    slippage: decimalText,
    fills: z.number(),
    exits: z.number(),
    maxDrawdownPct: z.number().nullable(),
    lossBudgetUsedPct: z.number().nullable(),
    uptimePct: z.number(),
    backtestPnl: decimalText.nullable(),
    matched: z.number(),
    reconciled: z.boolean(),
  }),
  z.object({
    type: z.literal("WatchdogAlert"),
    atMs,
    check: z.enum(["loop", "market_data"]),
    market: z.string(),
    stale: z.boolean(),
    ageMs: z.number(),
    limitMs: z.number(),
  }),
  z.object({
    type: z.literal("RunStarted"),
    atMs,
    mode: z.string(),
    markets: z.array(z.string()),
    strategy: z.string(),
    timeframe: z.string(),
    recovered: z.boolean(),
  }),
  z.object({ type: z.literal("RunStopped"), atMs, mode: z.string(), uptimeMs: z.number() }),
  z.object({
    type: z.literal("ReconciliationFailed"),
    atMs,
    reason: z.string(),
    mismatches: z.array(
      z.object({ currency: z.string(), ledger: decimalText, exchange: decimalText }),
    ),
  }),
]);

const storedEventSchema = z.object({ v: z.literal(1), event: eventSchema });

const commandSchema = z.object({
  v: z.literal(1),
  id: z.string(),
  atMs: z.number(),
  actor: z.string(),
  command: z.string(),
  result: commandResult,
  detail: z.string(),
});

const paramsSchema = z.object({
  v: z.literal(1),
  version: z.number().int().min(0),
  values: z.record(z.string(), z.number().finite()),
  changedAtMs: z.number(),
});

const paramChangeSchema = z.object({
  v: z.literal(1),
  version: z.number().int().min(1),
  name: z.string(),
  from: z.number().finite().nullable(),
  to: z.number().finite().nullable(),
  actor: z.string(),
  atMs: z.number(),
});

const runRecordSchema = z.object({
  v: z.literal(1),
  botId: z.string(),
  mode: z.string(),
  traders: z.array(z.object({ botId: z.string(), market: z.string() })).min(1),
  timeframe: z.string(),
  strategy: z.string(),
  strategyParams: z.record(z.string(), z.number().finite()),
  rules: z.object({
    stopLossPct: z.number(),
    takeProfitPct: z.number(),
    maxDailyLossPct: z.number(),
    trailingStopPct: z.number(),
    cooldownMs: z.number(),
  }),
  budgetPct: z.number(),
  staleAfterMs: z.number(),
  feeBps: z.number(),
  startedAtMs: z.number(),
  capitalKrw: z.string().regex(DECIMAL, "not an exact decimal").optional(),
  portfolio: z.object({
    maxOpenPositions: z.number(),
    maxMarketSharePct: z.number(),
    accountDailyLossPct: z.number(),
    sizing: z.object({ mode: z.enum(["all", "fixed", "equity_pct", "risk"]), value: z.number() }),
    blockCaution: z.boolean(),
  }).optional(),
  endedAtMs: z.number().optional(),
});

const equitySchema = z.object({ v: z.literal(1), equity: units, cash: units });

const candleSchema = z.object({
  v: z.literal(1),
  open: z.number(),
  high: z.number(),
  low: z.number(),
  close: z.number(),
  volume: z.number(),
  // NaN (a source without it) is stored as null.
  value: z.number().nullable(),
});

const reportMarkerSchema = z.object({
  v: z.literal(1),
  date: z.string(),
  issuedAtMs: z.number(),
});

const runSpanSchema = z.object({
  v: z.literal(1),
  lastSeenMs: z.number(),
  endedAtMs: z.number().nullable(),
});

const watchdogSchema = z.object({ v: z.literal(1), stale: z.boolean(), atMs: z.number() });

/** Candles per commit when recording a warm-up (well under a commit's 1000 mutations). */
const CANDLES_PER_COMMIT = 500;

const signalSchema = z.object({
  v: z.literal(1),
  market: z.string(),
  signalId: z.string(),
  action: z.enum(["buy", "sell"]),
  reason: z.string(),
  atMs: z.number(),
});

const reservationsSchema = z.object({
  v: z.literal(1),
  list: z.array(z.object({
    market: z.string(),
    intentId: z.string(),
    amountKrw: units,
    atMs: z.number(),
  })),
});

function reservationsValue(list: readonly Reservation[]): z.input<typeof reservationsSchema> {
  return { v: 1, list: list.map((r) => ({ ...r, amountKrw: formatUnits(r.amountKrw) })) };
}

/** The reservations with the buy's own one reduced by `spent` (floored at 0); undefined: none. */
function reservedAfterFills(
  entry: Deno.KvEntryMaybe<unknown> | undefined,
  batch: FillBatch,
  spent: Units,
): Reservation[] | undefined {
  if (batch.side !== "bid" || spent <= 0n || entry === undefined || entry.value === null) {
    return undefined;
  }
  const { list } = parseStored(reservationsSchema, entry.key, entry.value);
  const i = list.findIndex((r) => r.market === batch.market && r.intentId === batch.intentId);
  if (i < 0) return undefined;
  return list.map((r, j) =>
    j === i ? { ...r, amountKrw: r.amountKrw > spent ? r.amountKrw - spent : 0n } : r
  );
}

const guardSchema = z.object({
  v: z.literal(1),
  dayStartMs: z.number(),
  startEquity: z.number(),
  blocked: z.boolean(),
});

const traderStateSchema = z.object({
  v: z.literal(1),
  guard: z.object({ dayStartMs: z.number(), startEquity: z.number(), blocked: z.boolean() })
    .nullable(),
  levels: z.object({
    stop: units,
    target: units,
    highestPx: z.number(),
    entryMs: z.number(),
  }).nullable(),
  cooldownUntilMs: z.number(),
  lastDecisionMs: z.number(),
  lastPrice: z.number(),
  lastPriceAtMs: z.number(),
  updatedAtMs: z.number(),
});

// ---- conversions ------------------------------------------------------------------------------

function optUnits(u: Units | undefined): string | null {
  return u === undefined ? null : formatUnits(u);
}

function intentValue(i: Intent): z.input<typeof intentSchema> {
  return {
    v: 1,
    id: i.id,
    market: i.market,
    side: i.side,
    ordType: i.ordType,
    price: optUnits(i.price),
    volume: optUnits(i.volume),
    ...(i.refPrice === undefined ? {} : { refPrice: formatUnits(i.refPrice) }),
    signalId: i.signalId,
    attempt: i.attempt,
    identifier: i.identifier,
    state: i.state,
    sends: i.sends,
    lastSentAtMs: i.lastSentAtMs ?? null,
    duplicateSeen: i.duplicateSeen,
    uuid: i.uuid ?? null,
    error: i.error ?? null,
    filledVolume: formatUnits(i.filledVolume),
    filledFunds: formatUnits(i.filledFunds),
    createdAtMs: i.createdAtMs,
    updatedAtMs: i.updatedAtMs,
  };
}

function parseIntent(key: Deno.KvKey, value: unknown): Intent {
  const p = parseStored(intentSchema, key, value);
  return {
    id: p.id,
    market: p.market,
    side: p.side,
    ordType: p.ordType,
    price: p.price ?? undefined,
    volume: p.volume ?? undefined,
    ...(p.refPrice === undefined ? {} : { refPrice: p.refPrice }),
    signalId: p.signalId,
    attempt: p.attempt,
    identifier: p.identifier,
    state: p.state,
    sends: p.sends,
    lastSentAtMs: p.lastSentAtMs ?? undefined,
    duplicateSeen: p.duplicateSeen,
    uuid: p.uuid ?? undefined,
    error: p.error ?? undefined,
    filledVolume: p.filledVolume,
    filledFunds: p.filledFunds,
    createdAtMs: p.createdAtMs,
    updatedAtMs: p.updatedAtMs,
  };
}

function ledgerValue(l: Ledger): z.input<typeof ledgerSchema> {
  return {
    v: 1,
    initialCash: formatUnits(l.initialCash),
    cash: formatUnits(l.cash),
    qty: formatUnits(l.qty),
    avgPrice: formatUnits(l.avgPrice),
    cost: formatUnits(l.cost),
    realizedPnl: formatUnits(l.realizedPnl),
    fees: formatUnits(l.fees),
  };
}

function parseLedger(key: Deno.KvKey, value: unknown): Ledger {
  const p = parseStored(ledgerSchema, key, value);
  // Which fills were applied is kept in KV (`["fill", …]`), not in the ledger value.
  return {
    initialCash: p.initialCash,
    cash: p.cash,
    qty: p.qty,
    avgPrice: p.avgPrice,
    cost: p.cost,
    realizedPnl: p.realizedPnl,
    fees: p.fees,
    fillIds: new FillIds(),
  };
}

/** Two KV keys are the same. */
function sameKey(a: Deno.KvKey, b: Deno.KvKey): boolean {
  return a.length === b.length && a.every((part, i) => part === b[i]);
}

function fillValue(f: StoredFill): z.input<typeof fillSchema> {
  return {
    v: 1,
    orderUuid: f.orderUuid,
    tradeUuid: f.tradeUuid,
    market: f.market,
    side: f.side,
    price: formatUnits(f.price),
    volume: formatUnits(f.volume),
    funds: formatUnits(f.funds),
    fee: formatUnits(f.fee),
    tsMs: f.tsMs,
  };
}

function parseFill(key: Deno.KvKey, value: unknown): StoredFill {
  const { v: _v, ...fill } = parseStored(fillSchema, key, value);
  return fill;
}

function amountValue(amount: Units): z.input<typeof amountSchema> {
  return { v: 1, amount: formatUnits(amount) };
}

/**
 * Splits an order's `paid_fee` over the trades not applied yet. Upbit's `trades[]` carry no fee,
 * so each new trade but the last gets `funds × fee` rounded up (as Upbit and the sandbox charge
 * it) within what is left, and the last takes the rest: the fills then sum to `paid_fee` exactly.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const trade = { uuid: "t", price: 100n, volume: 100_000_000n, funds: 100n, createdAtMs: 0 };
 * assert.deepEqual(splitFees([trade, { ...trade, uuid: "u" }], { budget: 3n, feeBps: 5 }), [1n, 2n]);
 * ```
 */
export function splitFees(
  trades: readonly ExchangeTrade[],
  options: { readonly budget: Units; readonly feeBps: number },
): Units[] {
  let left = options.budget > 0n ? options.budget : 0n;
  return trades.map((t, i) => {
    if (i === trades.length - 1) return left;
    const estimate = applyBps(t.funds, options.feeBps, "ceil");
    const fee = estimate < left ? estimate : left;
    left -= fee;
    return fee;
  });
}

function sameIntent(a: Intent, b: Intent): boolean {
  return JSON.stringify(intentValue(a)) === JSON.stringify(intentValue(b));
}

/**
 * How long the account's history is kept (days); `pruneHistory` enforces it. Fills, orders,
 * intents and ledgers are the books and are never pruned (their size grows with the trades).
 */
export const HISTORY_RETENTION = {
  /** The event journal (the Telegram outbox and the page's live feed read it). */
  eventsDays: 35,
  /** Strategy signals (recorded once each; an older candle never signals again). */
  signalsDays: 35,
  /** The operator's audit log (and the history of run-time parameter changes). */
  auditDays: 365,
  /** Realized P&L per Upbit day (and each day's report marker and count of 429/418 answers). */
  dailyPnlDays: 400,
} as const;

// ---- the store --------------------------------------------------------------------------------

/**
 * Where the journal's keys stand, per open database: shared by every `KvStore` over it in this
 * process (the loop's, the daily worker's), so their keys never go back in time (see #event).
 */
interface JournalKeys {
  /** The time part of the last event key written. */
  lastMs: number;
  /**
   * Tells events of one ms apart; it starts high and random so a restart in the same ms cannot
   * overwrite an event of the previous run.
   */
  seq: number;
}

const JOURNAL_KEYS = new WeakMap<Deno.Kv, JournalKeys>();

/** The engine's state in one Deno KV database. */
export class KvStore implements Store {
  readonly #kv: Deno.Kv;
  readonly #journal: JournalKeys;
  /** The by-time index of fills is known complete (`#indexFills`). */
  #fillsIndexed = false;
  /** The lease every order commit checks (none: unfenced). */
  readonly #fence: Pick<KvLease, "guard" | "confirm"> | undefined;

  /** Wraps an open KV database (`Deno.openKv(path)`, or `":memory:"` in tests). */
  constructor(kv: Deno.Kv, options: { readonly fence?: Pick<KvLease, "guard" | "confirm"> } = {}) {
    this.#kv = kv;
    this.#fence = options.fence;
    let journal = JOURNAL_KEYS.get(kv);
    if (journal === undefined) {
      journal = { lastMs: 0, seq: Math.floor(Math.random() * 1e9) * 1000 };
      JOURNAL_KEYS.set(kv, journal);
    }
    this.#journal = journal;
  }

  /**
   * Journals `event` in `op`. Its key's time is `max(atMs, the last key's)`: an event stamped
   * earlier but committed later (a signal is recorded with its time after its order filled) sorts
   * after what was committed before it, so a reader that follows the journal by key (the
   * notification outbox) never finds an event behind its cursor. The event keeps its own `atMs`.
   */
  #event(op: Deno.AtomicOperation, event: EngineEvent): void {
    const journal = this.#journal;
    journal.lastMs = Math.max(journal.lastMs, event.atMs);
    op.set(keys.eventKey(journal.lastMs, journal.seq++), { v: 1, event });
  }

  #mark(op: Deno.AtomicOperation, atMs: number, what: string): void {
    op.set(keys.markerKey(), { v: 1, atMs, what });
  }

  /** Commits `op` checked on the lease: a lost lease throws `LeaseLostError` (never retried). */
  async #fencedCommit(op: Deno.AtomicOperation): Promise<boolean> {
    this.#fence?.guard(op);
    if ((await op.commit()).ok) return true;
    await this.#fence?.confirm();
    return false;
  }

  // ---- IntentStore ----

  /** Inserts a `NEW` intent with its identifier, state index and the market's in-flight slot. */
  async createIntent(intent: Intent, event?: EngineEvent): Promise<Result<Intent, IntentConflict>> {
    for (let i = 0; i < MAX_COMMIT_TRIES; i++) {
      const op = this.#kv.atomic()
        .check({ key: keys.intentKey(intent.id), versionstamp: null })
        .check({ key: keys.identKey(intent.identifier), versionstamp: null })
        .check({ key: keys.inflightKey(intent.market), versionstamp: null })
        .set(keys.intentKey(intent.id), intentValue(intent))
        .set(keys.identKey(intent.identifier), { v: 1, id: intent.id })
        .set(keys.intentByStateKey(intent.state, intent.id), { v: 1, id: intent.id })
        .set(keys.inflightKey(intent.market), { v: 1, id: intent.id });
      if (event !== undefined) this.#event(op, event);
      this.#mark(op, intent.createdAtMs, `intent ${intent.id}`);
      if (await this.#fencedCommit(op)) return ok(intent);
      const [existing, ident, inflight] = await this.#kv.getMany([
        keys.intentKey(intent.id),
        keys.identKey(intent.identifier),
        keys.inflightKey(intent.market),
      ]);
      if (existing?.value != null) {
        return err({ kind: "intent_exists", intent: parseIntent(existing.key, existing.value) });
      }
      if (ident?.value != null) {
        return err({ kind: "identifier_used", identifier: intent.identifier });
      }
      if (inflight?.value != null) {
        return err({
          kind: "market_busy",
          market: intent.market,
          intentId: parseStored(idRefSchema, inflight.key, inflight.value).id,
        });
      }
    }
    throw new ConflictError(`Cannot create intent ${intent.id}: the store kept changing`);
  }

  /** One intent by id or by any identifier it used. */
  async getIntent(
    ref: { readonly id: string } | { readonly identifier: string },
  ): Promise<Intent | undefined> {
    let id: string;
    if ("id" in ref) {
      id = ref.id;
    } else {
      const entry = await this.#kv.get(keys.identKey(ref.identifier));
      if (entry.versionstamp === null) return undefined;
      id = parseStored(idRefSchema, entry.key, entry.value).id;
    }
    const entry = await this.#kv.get(keys.intentKey(id));
    return entry.versionstamp === null ? undefined : parseIntent(entry.key, entry.value);
  }

  /**
   * Replaces `prev` by `next` when `prev` is still what is stored: the state index moves, a new
   * identifier is claimed (`versionstamp: null`), the order uuid is registered, and a terminal
   * state frees the market's in-flight slot, all in one commit.
   */
  async updateIntent(
    prev: Intent,
    next: Intent,
    event?: EngineEvent,
  ): Promise<Result<Intent, IntentUpdateError>> {
    if (prev.id !== next.id || prev.market !== next.market) {
      throw new RangeError(`Cannot update intent ${prev.id}: id and market are fixed`);
    }
    for (let i = 0; i < MAX_COMMIT_TRIES; i++) {
      const [current, inflight, order] = await this.#kv.getMany([
        keys.intentKey(prev.id),
        keys.inflightKey(prev.market),
        next.uuid === undefined ? keys.markerKey() : keys.orderKey(next.uuid),
      ]);
      if (current === undefined || current.value === null) {
        return err({ kind: "stale", id: prev.id });
      }
      if (!sameIntent(parseIntent(current.key, current.value), prev)) {
        return err({ kind: "stale", id: prev.id });
      }
      const op = this.#kv.atomic()
        .check(current)
        .set(keys.intentKey(next.id), intentValue(next));
      if (prev.state !== next.state) {
        op.delete(keys.intentByStateKey(prev.state, prev.id));
        op.set(keys.intentByStateKey(next.state, next.id), { v: 1, id: next.id });
      }
      if (prev.identifier !== next.identifier) {
        op.check({ key: keys.identKey(next.identifier), versionstamp: null });
        op.set(keys.identKey(next.identifier), { v: 1, id: next.id });
      }
      if (next.uuid !== undefined && order !== undefined && order.value === null) {
        op.check({ key: keys.orderKey(next.uuid), versionstamp: null });
        op.set(keys.orderKey(next.uuid), { v: 1, intentId: next.id, feesApplied: "0" });
      }
      const terminal = TERMINAL_INTENT_STATES.includes(next.state);
      if (
        terminal && inflight !== undefined && inflight.value !== null &&
        parseStored(idRefSchema, inflight.key, inflight.value).id === next.id
      ) {
        op.check(inflight).delete(keys.inflightKey(next.market));
      } else if (!terminal && (inflight === undefined || inflight.value === null)) {
        // A terminal intent brought back (a new attempt) takes the market's slot again.
        op.check({ key: keys.inflightKey(next.market), versionstamp: null });
        op.set(keys.inflightKey(next.market), { v: 1, id: next.id });
      }
      if (event !== undefined) this.#event(op, event);
      this.#mark(op, next.updatedAtMs, `intent ${next.id} ${next.state}`);
      if (await this.#fencedCommit(op)) return ok(next);
      if (prev.identifier !== next.identifier) {
        const ident = await this.#kv.get(keys.identKey(next.identifier));
        if (ident.value !== null) {
          return err({ kind: "identifier_used", identifier: next.identifier });
        }
      }
    }
    throw new ConflictError(`Cannot update intent ${prev.id}: the store kept changing`);
  }

  /** The intents in `states` (read through the state index), oldest first. */
  async listIntents(states: readonly IntentState[]): Promise<readonly Intent[]> {
    const out: Intent[] = [];
    for (const state of states) {
      for await (const entry of this.#kv.list({ prefix: keys.intentByStatePrefix(state) })) {
        const { id } = parseStored(idRefSchema, entry.key, entry.value);
        const intent = await this.#kv.get(keys.intentKey(id));
        // The index moves with the intent in one commit; a miss means it moved since the list.
        if (intent.value === null) continue;
        const parsed = parseIntent(intent.key, intent.value);
        if (parsed.state === state) out.push(parsed);
      }
    }
    return out.sort((a, b) => a.createdAtMs - b.createdAtMs || (a.id < b.id ? -1 : 1));
  }

  // ---- FillStore ----

  /**
   * Applies the trades of one order snapshot that were not applied before: each fill key is
   * checked absent and written together with the ledger, the balances, the order's fee record,
   * the day's P&L and an `OrderFilled` event. Applying the same snapshot again changes nothing.
   */
  async applyFills(batch: FillBatch): Promise<Result<readonly StoredFill[], FillError>> {
    const applied: StoredFill[] = [];
    for (let from = 0; from < batch.trades.length; from += FILLS_PER_COMMIT) {
      const chunk = batch.trades.slice(from, from + FILLS_PER_COMMIT);
      // Later trades of the snapshot (in later chunks) take their fees from what is left.
      const isLast = from + FILLS_PER_COMMIT >= batch.trades.length;
      const result = await this.#applyChunk(batch, chunk, isLast);
      if (!result.ok) return result;
      applied.push(...result.value);
    }
    return ok(applied);
  }

  async #applyChunk(
    batch: FillBatch,
    trades: readonly ExchangeTrade[],
    isLast: boolean,
  ): Promise<Result<readonly StoredFill[], FillError>> {
    const coin = baseCurrency(batch.market);
    for (let attempt = 0; attempt < MAX_COMMIT_TRIES; attempt++) {
      const [ledgerEntry, orderEntry, krwEntry, coinEntry, reservedEntry] = await this.#kv.getMany([
        keys.ledgerKey(batch.market),
        keys.orderKey(batch.orderUuid),
        keys.balanceKey("KRW"),
        keys.balanceKey(coin),
        keys.reservationsKey(),
      ]);
      if (ledgerEntry === undefined || ledgerEntry.value === null) {
        return err({ kind: "no_ledger", market: batch.market });
      }
      const fresh: ExchangeTrade[] = [];
      for (let i = 0; i < trades.length; i += 10) {
        const part = trades.slice(i, i + 10);
        const entries = await this.#kv.getMany(
          part.map((t) => keys.fillKey(batch.orderUuid, t.uuid)),
        );
        part.forEach((t, j) => {
          if (entries[j]?.value === null) fresh.push(t);
        });
      }
      if (fresh.length === 0) return ok([]);
      const record = orderEntry?.value == null
        ? { intentId: batch.intentId ?? null, feesApplied: 0n }
        : parseStored(orderRecordSchema, orderEntry.key, orderEntry.value);
      let budget = batch.paidFee - record.feesApplied;
      if (!isLast) {
        // Not the snapshot's last trades: estimate each fee, leave the rest to later chunks.
        budget = fresh.reduce((s, t) => s + applyBps(t.funds, batch.feeBps, "ceil"), 0n);
        if (budget > batch.paidFee - record.feesApplied) {
          budget = batch.paidFee - record.feesApplied;
        }
      }
      const fees = splitFees(fresh, { budget, feeBps: batch.feeBps });
      let ledger = parseLedger(ledgerEntry.key, ledgerEntry.value);
      const costBefore = ledger.cost;
      const krw = krwEntry?.value == null
        ? undefined
        : parseStored(amountSchema, krwEntry.key, krwEntry.value).amount;
      const held = coinEntry?.value == null
        ? undefined
        : parseStored(amountSchema, coinEntry.key, coinEntry.value).amount;
      let krwDelta = 0n;
      let coinDelta = 0n;
      let feeSum = 0n;
      const pnlByDay = new Map<number, Units>();
      const fills: StoredFill[] = [];
      for (const [i, t] of fresh.entries()) {
        const fee = fees[i] ?? 0n;
        const fill: Fill = {
          id: t.uuid,
          side: batch.side === "bid" ? "buy" : "sell",
          price: t.price,
          volume: t.volume,
          funds: t.funds,
          fee,
          tsMs: t.createdAtMs,
        };
        const next = applyFill(ledger, fill);
        if (!next.ok) {
          const reason = next.error.kind === "insufficient_position"
            ? "insufficient_position"
            : "insufficient_cash";
          return err({ kind: "ledger_refused", tradeUuid: t.uuid, reason });
        }
        const day = upbitDayStartMs(t.createdAtMs);
        pnlByDay.set(
          day,
          (pnlByDay.get(day) ?? 0n) + next.value.realizedPnl - ledger.realizedPnl,
        );
        ledger = next.value;
        krwDelta += batch.side === "bid" ? -(t.funds + fee) : t.funds - fee;
        coinDelta += batch.side === "bid" ? t.volume : -t.volume;
        feeSum += fee;
        fills.push({
          orderUuid: batch.orderUuid,
          tradeUuid: t.uuid,
          market: batch.market,
          side: batch.side,
          price: t.price,
          volume: t.volume,
          funds: t.funds,
          fee,
          tsMs: t.createdAtMs,
        });
      }
      const dayEntries = await this.#kv.getMany([...pnlByDay.keys()].map((d) => keys.pnlDayKey(d)));
      const marketDayEntries = await this.#kv.getMany(
        [...pnlByDay.keys()].map((d) => keys.pnlDayMarketKey(d, batch.market)),
      );
      const op = this.#kv.atomic().check(ledgerEntry);
      op.check(orderEntry ?? { key: keys.orderKey(batch.orderUuid), versionstamp: null });
      op.set(keys.ledgerKey(batch.market), ledgerValue(ledger));
      op.set(keys.orderKey(batch.orderUuid), {
        v: 1,
        intentId: record.intentId,
        feesApplied: formatUnits(record.feesApplied + feeSum),
      });
      // Balances are tracked once seeded; an unseeded one must stay unseeded for this commit.
      op.check(krwEntry ?? { key: keys.balanceKey("KRW"), versionstamp: null });
      op.check(coinEntry ?? { key: keys.balanceKey(coin), versionstamp: null });
      if (krw !== undefined) {
        op.set(keys.balanceKey("KRW"), amountValue(krw + krwDelta));
        op.set(keys.balanceKey(coin), amountValue((held ?? 0n) + coinDelta));
      }
      [...pnlByDay.entries()].forEach(([day, delta], i) => {
        const entry = dayEntries[i];
        const before = entry?.value == null
          ? 0n
          : parseStored(amountSchema, entry.key, entry.value).amount;
        op.check(entry ?? { key: keys.pnlDayKey(day), versionstamp: null });
        op.set(keys.pnlDayKey(day), amountValue(before + delta));
        const mEntry = marketDayEntries[i];
        const mBefore = mEntry?.value == null
          ? 0n
          : parseStored(amountSchema, mEntry.key, mEntry.value).amount;
        op.check(mEntry ?? { key: keys.pnlDayMarketKey(day, batch.market), versionstamp: null });
        op.set(keys.pnlDayMarketKey(day, batch.market), amountValue(mBefore + delta));
      });
      // What the buy's fills cost moves from its reservation to the position in this commit, so
      // the account never counts the same won twice (positions at cost + reservations).
      const reserved = reservedAfterFills(reservedEntry, batch, ledger.cost - costBefore);
      if (reserved !== undefined && reservedEntry !== undefined) {
        op.check(reservedEntry).set(keys.reservationsKey(), reservationsValue(reserved));
      }
      for (const f of fills) {
        op.check({ key: keys.fillKey(f.orderUuid, f.tradeUuid), versionstamp: null });
        op.set(keys.fillKey(f.orderUuid, f.tradeUuid), fillValue(f));
        op.set(keys.fillAtKey(f.tsMs, f.orderUuid, f.tradeUuid), fillValue(f));
        this.#event(op, orderFilledEvent(f, batch.atMs));
      }
      this.#mark(op, batch.atMs, `fills ${batch.orderUuid}`);
      if ((await op.commit()).ok) return ok(fills);
    }
    throw new ConflictError(
      `Cannot apply fills of order ${batch.orderUuid}: the store kept changing`,
    );
  }

  /** Stored fills, of one order or all, in key order. */
  async listFills(orderUuid?: string): Promise<readonly StoredFill[]> {
    const out: StoredFill[] = [];
    for await (const entry of this.#kv.list({ prefix: keys.fillPrefix(orderUuid) })) {
      out.push(parseFill(entry.key, entry.value));
    }
    return out;
  }

  /**
   * One page of fills, newest first, read from the by-time index (`["fill_at", …]`): only the
   * page's entries are read, however many fills there are. A store written before the index
   * existed is back-filled once, on the first call.
   */
  async listFillsPage(
    options: { readonly after?: FillCursor; readonly before?: FillCursor; readonly limit: number },
  ): Promise<FillPage> {
    await this.#indexFills();
    const limit = Math.max(1, Math.min(1000, Math.floor(options.limit)));
    const prefix = keys.fillAtPrefix();
    const at = (c: FillCursor) => keys.fillAtKey(c.tsMs, c.orderUuid, c.tradeUuid);
    const cursorOf = (f: StoredFill | undefined): FillCursor | null =>
      f === undefined ? null : { tsMs: f.tsMs, orderUuid: f.orderUuid, tradeUuid: f.tradeUuid };
    const fills: StoredFill[] = [];
    let more = false;
    if (options.before !== undefined) {
      // Forward from the cursor (`start` includes it: skipped), then turned newest first.
      const from = at(options.before);
      const it = this.#kv.list({ prefix, start: from }, { limit: limit + 2 });
      for await (const entry of it) {
        if (sameKey(entry.key, from)) continue;
        if (fills.length === limit) {
          more = true;
          break;
        }
        fills.push(parseFill(entry.key, entry.value));
      }
      fills.reverse();
      return { fills, next: cursorOf(fills.at(-1)), prev: more ? cursorOf(fills[0]) : null };
    }
    const selector: Deno.KvListSelector = options.after === undefined
      ? { prefix }
      : { prefix, end: at(options.after) };
    for await (const entry of this.#kv.list(selector, { reverse: true, limit: limit + 1 })) {
      if (fills.length === limit) {
        more = true;
        break;
      }
      fills.push(parseFill(entry.key, entry.value));
    }
    return {
      fills,
      next: more ? cursorOf(fills.at(-1)) : null,
      prev: options.after === undefined ? null : cursorOf(fills[0]),
    };
  }

  /** Puts every fill in the by-time index once (fills written before it existed). */
  async #indexFills(): Promise<void> {
    if (this.#fillsIndexed) return;
    if ((await this.#kv.get(keys.fillAtReadyKey())).versionstamp === null) {
      let op = this.#kv.atomic();
      let n = 0;
      for await (const entry of this.#kv.list({ prefix: keys.fillPrefix() })) {
        const f = parseFill(entry.key, entry.value);
        op.set(keys.fillAtKey(f.tsMs, f.orderUuid, f.tradeUuid), fillValue(f));
        if (++n % 200 === 0) {
          await op.commit();
          op = this.#kv.atomic();
        }
      }
      await op.set(keys.fillAtReadyKey(), { v: 1 }).commit();
    }
    this.#fillsIndexed = true;
  }

  /** Realized P&L of one Upbit day. */
  async dailyPnl(dayStartMs: number): Promise<Units> {
    const entry = await this.#kv.get(keys.pnlDayKey(dayStartMs));
    return entry.versionstamp === null
      ? 0n
      : parseStored(amountSchema, entry.key, entry.value).amount;
  }

  // ---- PortfolioStore ----

  /** The ledger of `market`, or undefined. */
  async getLedger(market: string): Promise<Ledger | undefined> {
    const entry = await this.#kv.get(keys.ledgerKey(market));
    return entry.versionstamp === null ? undefined : parseLedger(entry.key, entry.value);
  }

  /** Creates the ledger of `market` with `cash` KRW unless it exists; returns the stored one. */
  async openLedger(market: string, cash: Units): Promise<Ledger> {
    const fresh: Ledger = {
      initialCash: cash,
      cash,
      qty: 0n,
      avgPrice: 0n,
      cost: 0n,
      realizedPnl: 0n,
      fees: 0n,
      fillIds: new FillIds(),
    };
    const res = await this.#kv.atomic()
      .check({ key: keys.ledgerKey(market), versionstamp: null })
      .set(keys.ledgerKey(market), ledgerValue(fresh))
      .commit();
    if (res.ok) return fresh;
    const stored = await this.getLedger(market);
    if (stored === undefined) throw new ConflictError(`Cannot open ledger ${market}: it vanished`);
    return stored;
  }

  /** The balances the fills say the account holds. */
  async getBalances(): Promise<ReadonlyMap<string, Units>> {
    const out = new Map<string, Units>();
    for await (const entry of this.#kv.list({ prefix: keys.balancePrefix() })) {
      out.set(String(entry.key[1]), parseStored(amountSchema, entry.key, entry.value).amount);
    }
    return out;
  }

  /** Sets the expected balances on first start (all at once); false when any was set before. */
  async seedBalances(balances: ReadonlyMap<string, Units>, atMs: number): Promise<boolean> {
    const all = new Map(balances);
    if (!all.has("KRW")) all.set("KRW", 0n);
    const op = this.#kv.atomic();
    for (const [currency, amount] of all) {
      op.check({ key: keys.balanceKey(currency), versionstamp: null });
      op.set(keys.balanceKey(currency), amountValue(amount));
    }
    this.#mark(op, atMs, "balances seeded");
    if (!(await op.commit()).ok) return false;
    return true;
  }

  // ---- ControlStore ----

  /** The switches (both off when never set). */
  async getControl(): Promise<Control> {
    const entry = await this.#kv.get(keys.controlKey());
    if (entry.versionstamp === null) {
      return { paused: false, safeMode: false, halted: false, reason: "", changedAtMs: 0 };
    }
    const { v: _v, ...control } = parseStored(controlSchema, entry.key, entry.value);
    return control;
  }

  /** Changes the switches, with a `StateChanged` event in the same commit. */
  async setControl(
    change: {
      readonly paused?: boolean;
      readonly safeMode?: boolean;
      readonly halted?: boolean;
      readonly reason: string;
      readonly actor?: string;
    },
    atMs: number,
  ): Promise<Control> {
    for (let i = 0; i < MAX_COMMIT_TRIES; i++) {
      const entry = await this.#kv.get(keys.controlKey());
      const before = entry.versionstamp === null
        ? undefined
        : parseStored(controlSchema, entry.key, entry.value);
      const next: Control = {
        paused: change.paused ?? before?.paused ?? false,
        safeMode: change.safeMode ?? before?.safeMode ?? false,
        halted: change.halted ?? before?.halted ?? false,
        reason: change.reason,
        changedAtMs: atMs,
      };
      const op = this.#kv.atomic().check(entry).set(keys.controlKey(), { v: 1, ...next });
      this.#event(op, {
        type: "StateChanged",
        atMs,
        paused: next.paused,
        safeMode: next.safeMode,
        halted: next.halted,
        reason: next.reason,
        ...(change.actor === undefined ? {} : { actor: change.actor }),
      });
      this.#mark(op, atMs, "control");
      if ((await op.commit()).ok) return next;
    }
    throw new ConflictError("Cannot change the control switches: the store kept changing");
  }

  // ---- JournalStore ----

  /** Appends an event. */
  async recordEvent(event: EngineEvent): Promise<void> {
    const op = this.#kv.atomic();
    this.#event(op, event);
    this.#mark(op, event.atMs, event.type);
    await op.commit();
  }

  /** Records a signal once, with its `SignalRaised` event. */
  async recordSignal(signal: SignalRecord): Promise<boolean> {
    const key = keys.signalKey(signal.market, signal.signalId);
    const op = this.#kv.atomic().check({ key, versionstamp: null }).set(key, { v: 1, ...signal });
    this.#event(op, { type: "SignalRaised", ...signal });
    this.#mark(op, signal.atMs, `signal ${signal.signalId}`);
    return (await op.commit()).ok;
  }

  /** Overwrites a signal's record with its failed outcome, with its `SignalFailed` event. */
  async recordSignalFailed(signal: SignalRecord, failedAtMs: number): Promise<void> {
    const key = keys.signalKey(signal.market, signal.signalId);
    const op = this.#kv.atomic().set(key, { v: 1, ...signal });
    this.#event(op, { ...signal, type: "SignalFailed", atMs: failedAtMs });
    this.#mark(op, failedAtMs, `signal ${signal.signalId} failed`);
    await op.commit();
  }

  /** Records an equity snapshot. */
  async recordEquity(snapshot: EquitySnapshot): Promise<void> {
    const op = this.#kv.atomic().set(keys.equityKey(snapshot.market, snapshot.tsMs), {
      v: 1,
      equity: formatUnits(snapshot.equity),
      cash: formatUnits(snapshot.cash),
    });
    this.#mark(op, snapshot.tsMs, "equity");
    await op.commit();
  }

  /** Events from `fromMs` on, before `toMs`, oldest first. */
  async listEvents(
    options: { readonly fromMs?: number; readonly toMs?: number; readonly limit?: number } = {},
  ): Promise<readonly EngineEvent[]> {
    const out: EngineEvent[] = [];
    const end = options.toMs === undefined
      ? [...keys.eventPrefix(), Infinity]
      : keys.eventKey(options.toMs, 0);
    const iter = options.fromMs === undefined && options.toMs === undefined
      ? this.#kv.list({ prefix: keys.eventPrefix() }, { limit: options.limit })
      : this.#kv.list(
        { start: keys.eventKey(options.fromMs ?? 0, 0), end },
        { limit: options.limit },
      );
    for await (const entry of iter) {
      out.push(parseStored(storedEventSchema, entry.key, entry.value).event);
    }
    return out;
  }

  // ---- TraderStateStore ----

  /** The trading loop's state of `botId`, or undefined. */
  async getTraderState(botId: string): Promise<TraderState | undefined> {
    const entry = await this.#kv.get(keys.traderKey(botId));
    if (entry.versionstamp === null) return undefined;
    const { v: _v, ...state } = parseStored(traderStateSchema, entry.key, entry.value);
    return state;
  }

  /** Replaces the trading loop's state of `botId`. */
  async putTraderState(botId: string, state: TraderState): Promise<void> {
    const value: z.input<typeof traderStateSchema> = {
      v: 1,
      ...state,
      levels: state.levels === null ? null : {
        ...state.levels,
        stop: formatUnits(state.levels.stop),
        target: formatUnits(state.levels.target),
      },
    };
    const op = this.#kv.atomic().set(keys.traderKey(botId), value);
    this.#mark(op, state.updatedAtMs, `trader ${botId}`);
    await op.commit();
  }

  // ---- AccountStore ----

  /** Every market's book and the reservations in flight. */
  async accountView(): Promise<AccountView> {
    // One snapshot: the ledgers and the reservations are read apart, so the read is kept only if
    // none of them changed meanwhile (a fill moves KRW from a reservation to a position).
    for (let attempt = 0; attempt < MAX_COMMIT_TRIES; attempt++) {
      const { view, entries } = await this.#readAccount();
      if ((await this.#kv.atomic().check(...entries).commit()).ok) return view;
    }
    throw new ConflictError("Cannot read the account: the store kept changing");
  }

  /**
   * Reserves KRW for a buy: reads every ledger and reservation, checks the account's rules with
   * the new reservation (`checkReservation`) and commits only if none of them changed meanwhile,
   * so two markets can never reserve the same won.
   */
  async reserve(
    reservation: Reservation,
    rules: PortfolioRules,
  ): Promise<Result<Reservation, PortfolioDenial>> {
    for (let attempt = 0; attempt < MAX_COMMIT_TRIES; attempt++) {
      const { view, entries } = await this.#readAccount();
      const checked = checkReservation(view, {
        market: reservation.market,
        amountKrw: reservation.amountKrw,
        rules,
      });
      if (!checked.ok) return checked;
      const op = this.#kv.atomic();
      // The ledgers and the ONE reservations key: any change to either retries the check.
      for (const entry of entries) op.check(entry);
      op.set(keys.reservationsKey(), reservationsValue([...view.reservations, reservation]));
      this.#mark(op, reservation.atMs, `reservation ${reservation.market}`);
      if (await this.#fencedCommit(op)) return ok(reservation);
    }
    throw new ConflictError(
      `Cannot reserve KRW for ${reservation.market}: the store kept changing`,
    );
  }

  /** Releases the market's reservation if it is for `intentId`. */
  async release(market: string, intentId: string): Promise<boolean> {
    for (let attempt = 0; attempt < MAX_COMMIT_TRIES; attempt++) {
      const entry = await this.#kv.get(keys.reservationsKey());
      const list = entry.versionstamp === null
        ? []
        : parseStored(reservationsSchema, entry.key, entry.value).list;
      const kept = list.filter((r) => !(r.market === market && r.intentId === intentId));
      if (kept.length === list.length) return false;
      const op = this.#kv.atomic().check(entry).set(
        keys.reservationsKey(),
        reservationsValue(kept),
      );
      if ((await op.commit()).ok) return true;
    }
    throw new ConflictError(`Cannot release the reservation of ${market}: the store kept changing`);
  }

  /** Realized P&L of one market on one Upbit day. */
  async marketDailyPnl(dayStartMs: number, market: string): Promise<Units> {
    const entry = await this.#kv.get(keys.pnlDayMarketKey(dayStartMs, market));
    return entry.versionstamp === null
      ? 0n
      : parseStored(amountSchema, entry.key, entry.value).amount;
  }

  async #readAccount(): Promise<{ view: AccountView; entries: Deno.KvEntryMaybe<unknown>[] }> {
    const entries: Deno.KvEntryMaybe<unknown>[] = [];
    const books: MarketBook[] = [];
    for await (const entry of this.#kv.list({ prefix: keys.ledgerPrefix() })) {
      entries.push(entry);
      const l = parseLedger(entry.key, entry.value);
      books.push({
        market: String(entry.key[1]),
        qty: l.qty,
        cost: l.cost,
        realizedPnl: l.realizedPnl,
      });
    }
    const entry = await this.#kv.get(keys.reservationsKey());
    entries.push(entry);
    const reservations = entry.versionstamp === null
      ? []
      : parseStored(reservationsSchema, entry.key, entry.value).list;
    return { view: { books, reservations }, entries };
  }

  // ---- AccountGuardStore ----

  /** The account's daily loss guard (null before the first day). */
  async getAccountGuard(): Promise<DayGuard | null> {
    const entry = await this.#kv.get(keys.accountGuardKey());
    if (entry.versionstamp === null) return null;
    const { v: _v, ...guard } = parseStored(guardSchema, entry.key, entry.value);
    return guard;
  }

  /**
   * Stores the account's daily loss guard, merged with the stored one in one checked commit: the
   * same day keeps its first starting equity and stays blocked once blocked (markets' loops write
   * concurrently); an older day never replaces a newer one. Returns the guard in force.
   */
  async putAccountGuard(guard: DayGuard, atMs: number): Promise<DayGuard> {
    for (let attempt = 0; attempt < MAX_COMMIT_TRIES; attempt++) {
      const entry = await this.#kv.get(keys.accountGuardKey());
      const stored = entry.versionstamp === null
        ? null
        : (({ v: _v, ...g }) => g)(parseStored(guardSchema, entry.key, entry.value));
      let next = guard;
      if (stored !== null && stored.dayStartMs > guard.dayStartMs) return stored;
      if (stored !== null && stored.dayStartMs === guard.dayStartMs) {
        next = { ...stored, blocked: stored.blocked || guard.blocked };
        if (next.blocked === stored.blocked) return stored;
      }
      const op = this.#kv.atomic().check(entry).set(keys.accountGuardKey(), { v: 1, ...next });
      this.#mark(op, atMs, "account guard");
      if ((await op.commit()).ok) return next;
    }
    throw new ConflictError("Cannot store the account's loss guard: the store kept changing");
  }

  // ---- identity ----

  /** Whose store this is, or undefined for a store that never recorded it. */
  async getMeta(): Promise<StoreMeta | undefined> {
    const entry = await this.#kv.get(keys.metaKey());
    if (entry.versionstamp === null) return undefined;
    const { v: _v, ...meta } = parseStored(metaSchema, entry.key, entry.value);
    return meta;
  }

  /** `true` when the store holds no key at all (a new or emptied file). */
  async isEmpty(): Promise<boolean> {
    for await (const _ of this.#kv.list({ prefix: [] }, { limit: 1 })) return false;
    return true;
  }

  /**
   * Records whose store this is, with the control switches (both off) when never set: a store
   * with a meta record always has its control record, so a lost one is found on load. False
   * when a meta record exists already.
   */
  async createMeta(meta: StoreMeta): Promise<boolean> {
    const control = await this.#kv.get(keys.controlKey());
    const op = this.#kv.atomic()
      .check({ key: keys.metaKey(), versionstamp: null })
      .set(keys.metaKey(), { v: 1, ...meta });
    if (control.versionstamp === null) {
      op.check(control).set(keys.controlKey(), {
        v: 1,
        paused: false,
        safeMode: false,
        reason: "",
        changedAtMs: meta.createdAtMs,
      });
    }
    this.#mark(op, meta.createdAtMs, "meta");
    return (await op.commit()).ok;
  }

  /** Notes the markets of this start in the meta record (which must exist). */
  async noteStart(markets: readonly string[], atMs: number): Promise<void> {
    for (let i = 0; i < MAX_COMMIT_TRIES; i++) {
      const entry = await this.#kv.get(keys.metaKey());
      if (entry.versionstamp === null) throw new ConflictError("Cannot note the start: no meta");
      const meta = parseStored(metaSchema, entry.key, entry.value);
      const op = this.#kv.atomic().check(entry).set(keys.metaKey(), {
        ...meta,
        markets: [...markets],
        updatedAtMs: atMs,
      });
      if ((await op.commit()).ok) return;
    }
    throw new ConflictError("Cannot note the start: the store kept changing");
  }

  /**
   * Takes coins the account already held over as the position of `market` (`--adopt`): a ledger
   * holding `qty` bought at `price` plus `cash` KRW, written with one fill (`adopted-<market>`)
   * so that the ledger still equals its fills. False when the market has a ledger already.
   */
  async adoptPosition(
    market: string,
    options: {
      readonly qty: Units;
      readonly price: Units;
      readonly cash: Units;
      readonly atMs: number;
    },
  ): Promise<boolean> {
    const { qty, price, cash, atMs } = options;
    if (qty <= 0n || price <= 0n || cash < 0n) {
      throw new RangeError(
        `Cannot adopt ${market}: qty and price must be > 0, cash >= 0: current values are ` +
          `${qty}, ${price}, ${cash}`,
      );
    }
    const funds = mulUnits(price, qty, "half_up");
    const fill: StoredFill = {
      orderUuid: `adopted-${market}`,
      tradeUuid: "adopted",
      market,
      side: "bid",
      price,
      volume: qty,
      funds,
      fee: 0n,
      tsMs: atMs,
    };
    const applied = applyFill(openLedger(cash + funds), {
      id: fill.tradeUuid,
      side: "buy",
      price,
      volume: qty,
      funds,
      fee: 0n,
      tsMs: atMs,
    });
    if (!applied.ok) throw new RangeError(`Cannot adopt ${market}: ${applied.error.kind}`);
    const fillKey = keys.fillKey(fill.orderUuid, fill.tradeUuid);
    const op = this.#kv.atomic()
      .check({ key: keys.ledgerKey(market), versionstamp: null })
      .check({ key: fillKey, versionstamp: null })
      .set(keys.ledgerKey(market), ledgerValue(applied.value))
      .set(fillKey, fillValue(fill))
      .set(keys.fillAtKey(fill.tsMs, fill.orderUuid, fill.tradeUuid), fillValue(fill));
    this.#mark(op, atMs, `adopted ${market}`);
    return (await op.commit()).ok;
  }

  /**
   * Parses every state record and checks the invariants: cash, quantities, balances and fees
   * >= 0, each ledger equal to its fills, and the intent indexes pointing at their intents. The
   * first failure throws a `CorruptStateError` naming its key and field. The journal (events,
   * equity) is history, parsed when read.
   */
  async verifyState(): Promise<void> {
    const meta = await this.getMeta();
    const control = await this.#kv.get(keys.controlKey());
    if (control.versionstamp !== null) parseStored(controlSchema, control.key, control.value);
    else if (meta !== undefined) {
      throw new CorruptStateError(
        control.key,
        "(value)",
        "missing (the meta record says it was set)",
      );
    }
    await verifyLedgers(this.#kv);
    for await (const e of this.#kv.list({ prefix: keys.balancePrefix() })) {
      nonNegative(e.key, { amount: parseStored(amountSchema, e.key, e.value).amount });
    }
    for (const prefix of [["pnl_day"], ["pnl_day_market"]]) {
      for await (const e of this.#kv.list({ prefix })) parseStored(amountSchema, e.key, e.value);
    }
    const reservations = await this.#kv.get(keys.reservationsKey());
    if (reservations.versionstamp !== null) {
      const { list } = parseStored(reservationsSchema, reservations.key, reservations.value);
      list.forEach((r, i) =>
        nonNegative(reservations.key, { [`list.${i}.amountKrw`]: r.amountKrw })
      );
    }
    const guard = await this.#kv.get(keys.accountGuardKey());
    if (guard.versionstamp !== null) parseStored(guardSchema, guard.key, guard.value);
    for await (const e of this.#kv.list({ prefix: ["order"] })) {
      nonNegative(e.key, {
        feesApplied: parseStored(orderRecordSchema, e.key, e.value).feesApplied,
      });
    }
    await verifyIntents(this.#kv);
    for await (const e of this.#kv.list({ prefix: ["trader"] })) {
      parseStored(traderStateSchema, e.key, e.value);
    }
    for await (const e of this.#kv.list({ prefix: ["signal"] })) {
      parseStored(signalSchema, e.key, e.value);
    }
    // Run-time parameters: a lost override must not silently fall back to the start-up value.
    const params = await this.#kv.get(keys.paramsKey());
    let lastVersion = 0;
    for await (const e of this.#kv.list({ prefix: keys.paramHistoryPrefix() })) {
      lastVersion = Math.max(lastVersion, parseStored(paramChangeSchema, e.key, e.value).version);
    }
    const version = params.versionstamp === null
      ? 0
      : parseStored(paramsSchema, params.key, params.value).version;
    if (version !== lastVersion) {
      throw new CorruptStateError(
        params.key,
        params.versionstamp === null ? "(value)" : "version",
        `${params.versionstamp === null ? "missing" : `version ${version}`}, but the history ` +
          `goes to version ${lastVersion}`,
      );
    }
    const run = await this.#kv.get(keys.runRecordKey());
    if (run.versionstamp !== null) parseStored(runRecordSchema, run.key, run.value);
  }

  // ---- beyond the ports ----

  /** Recorded signals of `market`. */
  async listSignals(market: string): Promise<readonly SignalRecord[]> {
    const out: SignalRecord[] = [];
    for await (const entry of this.#kv.list({ prefix: ["signal", market] })) {
      const { v: _v, ...signal } = parseStored(signalSchema, entry.key, entry.value);
      out.push(signal);
    }
    return out;
  }

  // ---- OperatorStore ----

  /** Appends a command to the audit log with its `CommandExecuted` event (one commit). */
  async recordCommand(record: CommandRecord): Promise<void> {
    const op = this.#kv.atomic().set(keys.auditKey(record.atMs, record.id), { v: 1, ...record });
    const { id: _id, ...fields } = record;
    this.#event(op, { type: "CommandExecuted", ...fields });
    this.#mark(op, record.atMs, `command ${record.command}`);
    await op.commit();
  }

  /** The newest `limit` commands, newest first. */
  async listCommands(options: { readonly limit: number }): Promise<readonly CommandRecord[]> {
    const out: CommandRecord[] = [];
    const iter = this.#kv.list({ prefix: keys.auditPrefix() }, {
      reverse: true,
      limit: options.limit,
    });
    for await (const entry of iter) {
      const { v: _v, ...record } = parseStored(commandSchema, entry.key, entry.value);
      out.push(record);
    }
    return out;
  }

  /** The run-time parameters in force (version 0, none, before any change). */
  async getParams(): Promise<StoredParams> {
    const entry = await this.#kv.get(keys.paramsKey());
    if (entry.versionstamp === null) return { version: 0, values: {}, changedAtMs: 0 };
    const { v: _v, ...params } = parseStored(paramsSchema, entry.key, entry.value);
    return params;
  }

  /** Sets or removes one override if the version is still `expectVersion`, with its history. */
  async setParam(
    change: {
      readonly name: string;
      readonly value: number | null;
      readonly actor: string;
      readonly atMs: number;
    },
    expectVersion: number,
  ): Promise<StoredParams | undefined> {
    const entry = await this.#kv.get(keys.paramsKey());
    const before = entry.versionstamp === null
      ? { version: 0, values: {} as Record<string, number> }
      : parseStored(paramsSchema, entry.key, entry.value);
    if (before.version !== expectVersion) return undefined;
    const values = { ...before.values };
    const from = values[change.name] ?? null;
    if (change.value === null) delete values[change.name];
    else values[change.name] = change.value;
    const next: StoredParams = { version: before.version + 1, values, changedAtMs: change.atMs };
    const op = this.#kv.atomic().check(entry).set(keys.paramsKey(), { v: 1, ...next });
    op.check({ key: keys.paramHistoryKey(next.version), versionstamp: null });
    op.set(keys.paramHistoryKey(next.version), {
      v: 1,
      version: next.version,
      name: change.name,
      from,
      to: change.value,
      actor: change.actor,
      atMs: change.atMs,
    });
    this.#mark(op, change.atMs, `params v${next.version}`);
    return (await op.commit()).ok ? next : undefined;
  }

  /** Every parameter change, oldest first. */
  async listParamHistory(): Promise<readonly ParamChange[]> {
    const out: ParamChange[] = [];
    for await (const entry of this.#kv.list({ prefix: keys.paramHistoryPrefix() })) {
      const { v: _v, ...change } = parseStored(paramChangeSchema, entry.key, entry.value);
      out.push(change);
    }
    return out;
  }

  /** The last run's record, or undefined before the first start. */
  async getRunRecord(): Promise<RunRecord | undefined> {
    const entry = await this.#kv.get(keys.runRecordKey());
    if (entry.versionstamp === null) return undefined;
    const { v: _v, ...record } = parseStored(runRecordSchema, entry.key, entry.value);
    return record;
  }

  /** Replaces the run record (with `event` journaled in the same commit). */
  async putRunRecord(record: RunRecord, event?: EngineEvent): Promise<void> {
    const op = this.#kv.atomic().set(keys.runRecordKey(), { v: 1, ...record });
    if (event !== undefined) this.#event(op, event);
    this.#mark(op, record.startedAtMs, "run record");
    await op.commit();
  }

  /** The store as a backup file (kv_backup.ts): a consistent copy, taken while trading. */
  async backupText(nowMs: number): Promise<string> {
    return backupText(await snapshotStore(this.#kv), nowMs);
  }

  /** Journal events after `afterId` (`<tsMs>-<seq>`; all when undefined), oldest first. */
  async listJournal(
    options: { readonly afterId?: string; readonly limit: number; readonly newest?: boolean },
  ): Promise<readonly JournalEntry[]> {
    const after = options.afterId === undefined ? undefined : /^(\d+)-(\d+)$/.exec(options.afterId);
    if (options.afterId !== undefined && after == null) {
      throw new RangeError(`Cannot read the journal: bad event id: ${options.afterId}`);
    }
    const selector = after == null ? { prefix: keys.eventPrefix() } : {
      start: keys.eventKey(Number(after[1]), Number(after[2]) + 1),
      end: [...keys.eventPrefix(), Infinity],
    };
    const out: JournalEntry[] = [];
    const newest = options.newest === true;
    for await (const entry of this.#kv.list(selector, { limit: options.limit, reverse: newest })) {
      out.push({
        id: `${String(entry.key[1])}-${String(entry.key[2])}`,
        event: parseStored(storedEventSchema, entry.key, entry.value).event,
      });
    }
    return newest ? out.reverse() : out;
  }

  /** Equity snapshots of `market` from `fromMs` on, oldest first. */
  async listEquity(
    options: { readonly market: string; readonly fromMs?: number },
  ): Promise<readonly EquitySnapshot[]> {
    const selector = options.fromMs === undefined
      ? { prefix: keys.equityPrefix(options.market) }
      : {
        start: keys.equityKey(options.market, options.fromMs),
        end: [...keys.equityPrefix(options.market), Infinity],
      };
    const out: EquitySnapshot[] = [];
    for await (const entry of this.#kv.list(selector)) {
      const p = parseStored(equitySchema, entry.key, entry.value);
      out.push({ market: options.market, tsMs: Number(entry.key[2]), ...p });
    }
    return out;
  }

  /** Deletes the equity snapshots of `market` older than `beforeMs` (at most `limit`). */
  async pruneEquity(market: string, beforeMs: number, limit: number): Promise<number> {
    let deleted = 0;
    const old = this.#kv.list({
      start: keys.equityPrefix(market),
      end: keys.equityKey(market, beforeMs),
    }, { limit });
    for await (const entry of old) {
      await this.#kv.delete(entry.key);
      deleted++;
    }
    return deleted;
  }

  /** Deletes the history past `HISTORY_RETENTION` (at most `limit` keys of each kind). */
  async pruneHistory(nowMs: number, limit: number): Promise<number> {
    const day = 24 * 3_600_000;
    const ranges: Deno.KvListSelector[] = [
      {
        start: keys.eventPrefix(),
        end: keys.eventKey(nowMs - HISTORY_RETENTION.eventsDays * day, 0),
      },
      {
        start: keys.auditPrefix(),
        end: [...keys.auditPrefix(), nowMs - HISTORY_RETENTION.auditDays * day],
      },
      {
        start: ["pnl_day"],
        end: keys.pnlDayKey(nowMs - HISTORY_RETENTION.dailyPnlDays * day),
      },
      {
        start: ["pnl_day_market"],
        end: ["pnl_day_market", nowMs - HISTORY_RETENTION.dailyPnlDays * day],
      },
      // One key a day each, kept as long as the daily P&L they go with.
      {
        start: keys.dailyReportPrefix(),
        end: keys.dailyReportKey(nowMs - HISTORY_RETENTION.dailyPnlDays * day),
      },
      {
        start: keys.rateLimitedPrefix(),
        end: keys.rateLimitedKey(nowMs - HISTORY_RETENTION.dailyPnlDays * day),
      },
    ];
    let deleted = 0;
    for (const selector of ranges) {
      for await (const entry of this.#kv.list(selector, { limit })) {
        await this.#kv.delete(entry.key);
        deleted++;
      }
    }
    // Signals and parameter changes are keyed by id or version, not time: the scan reads their
    // time (one per strategy signal; one per operator change, kept as long as the audit log).
    const byValueTime: [Deno.KvKey, number][] = [
      [["signal"], nowMs - HISTORY_RETENTION.signalsDays * day],
      [keys.paramHistoryPrefix(), nowMs - HISTORY_RETENTION.auditDays * day],
    ];
    for (const [prefix, before] of byValueTime) {
      let n = 0;
      for await (const entry of this.#kv.list<{ atMs?: unknown }>({ prefix })) {
        if (n >= limit) break;
        const atMs = entry.value?.atMs;
        if (typeof atMs === "number" && atMs < before) {
          await this.#kv.delete(entry.key);
          n++;
        }
      }
      deleted += n;
    }
    return deleted;
  }

  // ---- CandleStore ----

  /** Records final 1-minute candles of `market`. */
  async recordCandles(market: string, candles: readonly Candle[]): Promise<void> {
    for (let from = 0; from < candles.length; from += CANDLES_PER_COMMIT) {
      const op = this.#kv.atomic();
      for (const c of candles.slice(from, from + CANDLES_PER_COMMIT)) {
        op.set(keys.candleKey(market, c.startMs), {
          v: 1,
          open: c.open,
          high: c.high,
          low: c.low,
          close: c.close,
          volume: c.volume,
          value: Number.isNaN(c.value) ? null : c.value,
        });
      }
      await op.commit();
    }
  }

  /** The recorded candles of `market` starting in [fromMs, toMs), oldest first. */
  async listCandles(
    market: string,
    range: { readonly fromMs: number; readonly toMs: number },
  ): Promise<readonly Candle[]> {
    const out: Candle[] = [];
    const iter = this.#kv.list({
      start: keys.candleKey(market, range.fromMs),
      end: keys.candleKey(market, range.toMs),
    });
    for await (const entry of iter) {
      const c = parseStored(candleSchema, entry.key, entry.value);
      out.push({
        startMs: Number(entry.key[2]),
        open: c.open,
        high: c.high,
        low: c.low,
        close: c.close,
        volume: c.volume,
        value: c.value ?? Number.NaN,
      });
    }
    return out;
  }

  /** Deletes the candles of `market` older than `beforeMs` (at most `limit`). */
  async pruneCandles(market: string, beforeMs: number, limit: number): Promise<number> {
    let op = this.#kv.atomic();
    let deleted = 0;
    const old = this.#kv.list({
      start: keys.candlePrefix(market),
      end: keys.candleKey(market, beforeMs),
    }, { limit });
    for await (const entry of old) {
      op.delete(entry.key);
      if (++deleted % CANDLES_PER_COMMIT === 0) {
        await op.commit();
        op = this.#kv.atomic();
      }
    }
    if (deleted % CANDLES_PER_COMMIT !== 0) await op.commit();
    return deleted;
  }

  // ---- ReportStore ----

  /** The report's marker and its `DailyReport` event in one commit, if the marker is absent. */
  async issueDailyReport(
    marker: ReportMarker,
    event: Extract<EngineEvent, { type: "DailyReport" }>,
  ): Promise<boolean> {
    const key = keys.dailyReportKey(marker.dayStartMs);
    const op = this.#kv.atomic().check({ key, versionstamp: null }).set(key, {
      v: 1,
      date: marker.date,
      issuedAtMs: marker.issuedAtMs,
    });
    this.#event(op, event);
    this.#mark(op, event.atMs, `daily report ${marker.date}`);
    return (await op.commit()).ok;
  }

  /** Markers of the issued reports, newest first. */
  async listReportMarkers(options: { readonly limit: number }): Promise<readonly ReportMarker[]> {
    const out: ReportMarker[] = [];
    const iter = this.#kv.list({ prefix: keys.dailyReportPrefix() }, {
      limit: options.limit,
      reverse: true,
    });
    for await (const entry of iter) {
      const m = parseStored(reportMarkerSchema, entry.key, entry.value);
      out.push({ dayStartMs: Number(entry.key[1]), date: m.date, issuedAtMs: m.issuedAtMs });
    }
    return out;
  }

  /** Writes a run's heartbeat; with `pruneBeforeMs`, drops the runs that ended before it. */
  async noteRun(span: RunSpan, pruneBeforeMs?: number): Promise<void> {
    await this.#kv.set(keys.runLogKey(span.startedAtMs), {
      v: 1,
      lastSeenMs: span.lastSeenMs,
      endedAtMs: span.endedAtMs,
    });
    if (pruneBeforeMs === undefined) return;
    const op = this.#kv.atomic();
    let stale = 0;
    for (const run of await this.listRuns()) {
      if ((run.endedAtMs ?? run.lastSeenMs) >= pruneBeforeMs) break;
      op.delete(keys.runLogKey(run.startedAtMs));
      stale++;
    }
    if (stale > 0) await op.commit();
  }

  /** Every run in the log, oldest first. */
  async listRuns(): Promise<readonly RunSpan[]> {
    const out: RunSpan[] = [];
    for await (const entry of this.#kv.list({ prefix: keys.runLogPrefix() })) {
      const r = parseStored(runSpanSchema, entry.key, entry.value);
      out.push({
        startedAtMs: Number(entry.key[1]),
        lastSeenMs: r.lastSeenMs,
        endedAtMs: r.endedAtMs,
      });
    }
    return out;
  }

  // ---- RefusalStore ----

  /** Counts one Upbit refusal on its Upbit day (summed in place: no read, no conflict). */
  async countRefusal(atMs: number): Promise<void> {
    await this.#kv.atomic().sum(keys.rateLimitedKey(upbitDayStartMs(atMs)), 1n).commit();
  }

  /** The refusals counted on one Upbit day. */
  async refusalsOn(dayStartMs: number): Promise<number> {
    const entry = await this.#kv.get(keys.rateLimitedKey(dayStartMs));
    const value = entry.value;
    if (entry.versionstamp === null) return 0;
    if (!(value instanceof Deno.KvU64)) {
      throw new CorruptStateError(entry.key, "(value)", "not a counter");
    }
    return Number(value.value);
  }

  // ---- WatchdogStore ----

  /** Whether the watchdog's `check` of `market` is alerted now. */
  async isAlerted(check: WatchdogCheck, market: string): Promise<boolean> {
    const entry = await this.#kv.get(keys.watchdogKey(check, market));
    return entry.versionstamp !== null &&
      parseStored(watchdogSchema, entry.key, entry.value).stale;
  }

  /** Moves the alert state to `event.stale` with its event, unless it is there already. */
  async alert(event: Extract<EngineEvent, { type: "WatchdogAlert" }>): Promise<boolean> {
    const key = keys.watchdogKey(event.check, event.market);
    for (let i = 0; i < MAX_COMMIT_TRIES; i++) {
      const entry = await this.#kv.get(key);
      const stale = entry.versionstamp !== null &&
        parseStored(watchdogSchema, entry.key, entry.value).stale;
      if (stale === event.stale) return false;
      const op = this.#kv.atomic().check(entry).set(key, {
        v: 1,
        stale: event.stale,
        atMs: event.atMs,
      });
      this.#event(op, event);
      this.#mark(op, event.atMs, `watchdog ${event.check} ${event.market}`);
      if ((await op.commit()).ok) return true;
    }
    throw new ConflictError(
      `Cannot change the watchdog of ${event.market}: the store kept changing`,
    );
  }

  /** Notes who holds the instance lock (informative: `acquireInstanceLock` excludes). */
  async claimInstance(pid: number, atMs: number): Promise<void> {
    await this.#kv.set(keys.instanceKey(), { v: 1, pid, sinceMs: atMs });
  }
}

// ---- checks on load ----

function nonNegative(key: Deno.KvKey, fields: Readonly<Record<string, Units>>): void {
  for (const [field, value] of Object.entries(fields)) {
    if (value < 0n) {
      throw new CorruptStateError(
        key,
        field,
        `must be >= 0: current value is ${formatUnits(value)}`,
      );
    }
  }
}

/** Every ledger parses, holds nothing negative and equals the sum of its market's fills. */
async function verifyLedgers(kv: Deno.Kv): Promise<void> {
  const sums = new Map<string, { cash: Units; qty: Units; fees: Units; key: Deno.KvKey }>();
  for await (const e of kv.list({ prefix: keys.fillPrefix() })) {
    const f = parseFill(e.key, e.value);
    if (e.key[1] !== f.orderUuid) {
      throw new CorruptStateError(e.key, "orderUuid", `does not match its key: ${f.orderUuid}`);
    }
    if (e.key[2] !== f.tradeUuid) {
      throw new CorruptStateError(e.key, "tradeUuid", `does not match its key: ${f.tradeUuid}`);
    }
    if (f.price <= 0n) {
      throw new CorruptStateError(
        e.key,
        "price",
        `must be > 0: current value is ${formatUnits(f.price)}`,
      );
    }
    if (f.volume <= 0n) {
      throw new CorruptStateError(
        e.key,
        "volume",
        `must be > 0: current value is ${formatUnits(f.volume)}`,
      );
    }
    nonNegative(e.key, { funds: f.funds, fee: f.fee });
    const s = sums.get(f.market) ?? { cash: 0n, qty: 0n, fees: 0n, key: e.key };
    sums.set(f.market, {
      cash: s.cash + (f.side === "bid" ? -(f.funds + f.fee) : f.funds - f.fee),
      qty: s.qty + (f.side === "bid" ? f.volume : -f.volume),
      fees: s.fees + f.fee,
      key: s.key,
    });
  }
  for await (const e of kv.list({ prefix: keys.ledgerPrefix() })) {
    const market = String(e.key[1]);
    const l = parseLedger(e.key, e.value);
    nonNegative(e.key, {
      initialCash: l.initialCash,
      cash: l.cash,
      qty: l.qty,
      avgPrice: l.avgPrice,
      cost: l.cost,
      fees: l.fees,
    });
    const s = sums.get(market) ?? { cash: 0n, qty: 0n, fees: 0n, key: e.key };
    sums.delete(market);
    const expected: Record<string, Units> = {
      cash: l.initialCash + s.cash,
      qty: s.qty,
      fees: s.fees,
      cost: l.qty === 0n ? 0n : l.cost,
      realizedPnl: l.cash + l.cost - l.initialCash,
    };
    const stored: Record<string, Units> = {
      cash: l.cash,
      qty: l.qty,
      fees: l.fees,
      cost: l.cost,
      realizedPnl: l.realizedPnl,
    };
    for (const field of Object.keys(expected)) {
      if (expected[field] !== stored[field]) {
        throw new CorruptStateError(
          e.key,
          field,
          `the ledger does not equal its fills: the fills give ${
            formatUnits(expected[field]!)
          }, the ledger says ${formatUnits(stored[field]!)}`,
        );
      }
    }
  }
  for (const [market, s] of sums) {
    throw new CorruptStateError(s.key, "market", `a fill of ${market}, which has no ledger`);
  }
}

/** Every intent parses; its state index, identifier and in-flight slot point back at it. */
async function verifyIntents(kv: Deno.Kv): Promise<void> {
  const intents = new Map<string, Intent>();
  for await (const e of kv.list({ prefix: keys.intentPrefix() })) {
    const intent = parseIntent(e.key, e.value);
    if (e.key[1] !== intent.id) {
      throw new CorruptStateError(e.key, "id", `does not match its key: ${intent.id}`);
    }
    intents.set(intent.id, intent);
    const index = await kv.get(keys.intentByStateKey(intent.state, intent.id));
    if (index.versionstamp === null) {
      throw new CorruptStateError(e.key, "state", `${intent.state}, but the state index misses it`);
    }
  }
  const pointers = [
    { prefix: ["intent_by_state"], what: "state index" },
    { prefix: ["ident"], what: "identifier" },
    { prefix: ["inflight"], what: "in-flight slot" },
  ];
  for (const { prefix, what } of pointers) {
    for await (const e of kv.list({ prefix })) {
      const { id } = parseStored(idRefSchema, e.key, e.value);
      const intent = intents.get(id);
      if (intent === undefined) {
        throw new CorruptStateError(e.key, "id", `${what} of intent ${id}, which does not exist`);
      }
      if (prefix[0] === "intent_by_state" && e.key[1] !== intent.state) {
        throw new CorruptStateError(
          e.key,
          "id",
          `intent ${id} is ${intent.state}, not ${String(e.key[1])}`,
        );
      }
      if (prefix[0] === "inflight" && !LIVE_INTENT_STATES.includes(intent.state)) {
        throw new CorruptStateError(e.key, "id", `intent ${id} is ${intent.state}, not in flight`);
      }
    }
  }
}

// ---- the instance lock ------------------------------------------------------------------------

/** A held instance lock. */
export interface InstanceLock {
  readonly path: string;
  /** Releases the lock and removes its file (a killed process leaves the file, not the lock). */
  release(): void;
}

/**
 * Takes the exclusive OS lock on `<kvPath>.lock` without waiting. Another process holding it
 * (a second bot on the same KV file) makes this throw a `ConfigError` naming the holder's pid.
 */
export async function acquireInstanceLock(kvPath: string): Promise<InstanceLock> {
  const path = `${kvPath}.lock`;
  for (;;) {
    const file = await Deno.open(path, { create: true, read: true, write: true, mode: 0o600 });
    await Deno.chmod(path, 0o600).catch(() => {});
    let locked: boolean;
    try {
      locked = await file.tryLock(true);
    } catch (error) {
      file.close();
      throw error;
    }
    if (!locked) {
      file.close();
      let holder = "unknown";
      try {
        holder = (await Deno.readTextFile(path)).trim() || "unknown";
      } catch {
        // The pid is only for the message.
      }
      throw new ConfigError(
        `Cannot open the store: another process (pid ${holder}) holds ${path}; ` +
          `one process per KV database (stop the other bot first)`,
      );
    }
    // The holder deletes the file when it lets go: a lock on a file no longer at `path` is a lock
    // on nothing, so open the path again.
    if (!await sameFile(file, path)) {
      file.close();
      continue;
    }
    await file.truncate(0);
    await file.write(new TextEncoder().encode(`${Deno.pid}\n`));
    return {
      path,
      release() {
        try {
          // Removed while still held, so no one can lock the old file after us.
          Deno.removeSync(path);
        } catch {
          // Already gone, or not ours to remove: the OS lock is what excludes.
        }
        try {
          file.unlockSync();
        } finally {
          file.close();
        }
      },
    };
  }
}

async function sameFile(file: Deno.FsFile, path: string): Promise<boolean> {
  const held = await file.stat();
  const named = await Deno.stat(path).catch(() => undefined);
  return named !== undefined && named.ino === held.ino && named.dev === held.dev;
}
