/**
 * Model-based test of the order manager over `KvStore` and `PaperExchange` (reliability.md §6.2
 * item 3, §6.3 R4): `fc.commands` drives random sequences of
 *
 * - place (market buy by KRW, market sell by volume, resting or crossing limits), with scripted
 *   network faults and an optional crash point inside the submit;
 * - fill / partial fill / cancel of a resting limit, done by the exchange;
 * - tick (time passes: the manager's polls, backoffs and fill timeouts run);
 * - crash (the process dies where it stands), restart (new `OrderManager` deps and `KvStore`
 *   over the SAME `Deno.Kv`, then `reconcile`), periodic reconcile, resubmit of a decision;
 * - network down (answers lost before or after the exchange acts) and back up.
 *
 * A submit runs in the background on a clock that only moves when the test moves it, so a crash
 * can land while the manager waits for a fill or backs off. A crash drops the process objects;
 * its clock dies with it, so the abandoned submit never runs again (a dead process).
 *
 * After every command the invariants are checked against the exchange's ground truth; after a
 * reconcile with a healthy exchange the strong ones too (see `checkInvariants`).
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { KvStore } from "../../engine/adapters/kv_store.ts";
import { PaperExchange } from "../../engine/adapters/paper_exchange.ts";
import { divUnits, type Units } from "../../engine/core/money.ts";
import type { Result } from "../../engine/core/result.ts";
import { krwTickSize } from "../../engine/core/tick_size.ts";
import {
  type OrderManagerConfig,
  type OrderManagerDeps,
  type OrderOutcome,
  reconcile,
  type ReconcileReport,
  type SubmitDenial,
  type SubmitOrder,
  submitOrder,
} from "../../engine/order_manager.ts";
import type {
  Clock,
  Exchange,
  ExchangeOrder,
  FillBatch,
  FillError,
  OrderRef,
  OrderRejection,
  OrderRequest,
  StoredFill,
} from "../../engine/ports.ts";
import { INTENT_STATES, TERMINAL_INTENT_STATES } from "../../engine/ports.ts";
import type { BookSnapshot } from "../../engine/sandbox/feed.ts";
import {
  type Fault,
  FaultyExchange,
  RecordingNotifier,
  T0_MS,
  testConfig,
  u,
} from "./_order_fixtures.ts";

// ---- the world: what survives a restart (the KV, the exchange, the network, time) -------------

const MARKETS = ["KRW-BTC", "KRW-ETH"] as const;
type MarketName = typeof MARKETS[number];
const LEDGER_KRW = u("1000000");
const CONFIG: OrderManagerConfig = testConfig();

/** A book: best bid `bid`, asks one, two and ten ticks above, deep enough for every order. */
function baseBook(market: MarketName, tsMs: number): BookSnapshot {
  const bid = market === "KRW-BTC" ? u("150000000") : u("5000000");
  const tick = krwTickSize(bid, { atMs: tsMs, market });
  const [s1, s2, s3] = market === "KRW-BTC"
    ? [u("0.002"), u("0.05"), u("5")]
    : [u("0.05"), u("1"), u("100")];
  return {
    market,
    tsMs,
    asks: [
      { price: bid + tick, size: s1 },
      { price: bid + 2n * tick, size: s2 },
      { price: bid + 10n * tick, size: s3 },
    ],
    bids: [
      { price: bid, size: s1 * 5n },
      { price: bid - tick, size: s2 },
      { price: bid - 10n * tick, size: s3 },
    ],
  };
}

/** Below the network faults: records every order the exchange accepted (the ground truth). */
class RecordingExchange implements Exchange {
  readonly inner: PaperExchange;
  /** uuid → identifier of every accepted order. */
  readonly accepted = new Map<string, string>();
  constructor(inner: PaperExchange) {
    this.inner = inner;
  }
  async placeOrder(request: OrderRequest): Promise<Result<ExchangeOrder, OrderRejection>> {
    const res = await this.inner.placeOrder(request);
    if (res.ok) this.accepted.set(res.value.uuid, request.identifier);
    return res;
  }
  getOrder(ref: OrderRef): Promise<ExchangeOrder | undefined> {
    return this.inner.getOrder(ref);
  }
  cancelOrder(ref: OrderRef): Promise<Result<ExchangeOrder, OrderRejection>> {
    return this.inner.cancelOrder(ref);
  }
  openOrders(market?: string): Promise<readonly ExchangeOrder[]> {
    return this.inner.openOrders(market);
  }
}

type NetMode = "up" | "down_before" | "down_lose";

class World {
  readonly kv: Deno.Kv;
  readonly time = { now: T0_MS };
  readonly books = new Map<string, BookSnapshot>();
  readonly paper: PaperExchange;
  readonly recorder: RecordingExchange;
  readonly net: FaultyExchange;
  netMode: NetMode = "up";
  /** Faults for the next calls, then `netMode` decides. */
  readonly faults: Fault[] = [];
  /** Terminal intents as first seen: they must never change again. */
  readonly frozen = new Map<string, string>();
  /** The last decision per market (for resubmits). */
  readonly lastCommand = new Map<string, SubmitOrder>();
  proc: Proc | undefined;
  seq = 0;
  log: string[] = [];

  private constructor(kv: Deno.Kv, lagMs: number) {
    this.kv = kv;
    this.refreshBooks();
    this.paper = new PaperExchange({
      book: (m) => this.books.get(m),
      nowMs: () => this.time.now,
      balances: { KRW: LEDGER_KRW * BigInt(MARKETS.length) },
    });
    this.recorder = new RecordingExchange(this.paper);
    const clock: Clock = { nowMs: () => this.time.now, sleep: () => Promise.resolve() };
    this.net = new FaultyExchange(this.recorder, {
      clock,
      lagMs,
      next: () =>
        this.faults.shift() ??
          (this.netMode === "up"
            ? "ok"
            : this.netMode === "down_before"
            ? "fail_before"
            : "accept_then_lose"),
    });
  }

  static async create(lagMs: number): Promise<World> {
    const w = new World(await Deno.openKv(":memory:"), lagMs);
    const first = new Proc(w);
    for (const m of MARKETS) await first.store.openLedger(m, LEDGER_KRW);
    const report = await first.reconcile();
    assert.equal(report.seeded, true);
    // Start with a position in each market, so sells have something to sell.
    for (const market of MARKETS) {
      const res = await submitOrder(first.deps, CONFIG, {
        kind: "market_buy",
        market,
        signalId: "seed",
        amountKrw: u("300000"),
      });
      assert.equal(res.ok && res.value.intent.state, "FILLED");
    }
    w.proc = first;
    return w;
  }

  /** The market moved: new book snapshots (fresh liquidity), same prices. */
  refreshBooks(): void {
    for (const m of MARKETS) this.books.set(m, baseBook(m, this.time.now));
  }

  healthy(): boolean {
    return this.netMode === "up" && this.faults.length === 0;
  }
}

// ---- the process: what a crash loses -------------------------------------------------------------

/** Thrown at a crash point: the process dies there. */
class CrashSignal extends Error {}

type CrashPoint =
  | "before_post"
  | "after_post"
  | "after_lookup"
  | "before_fill_commit"
  | "after_fill_commit"
  | "after_cancel";

const CRASH_POINTS: readonly CrashPoint[] = [
  "before_post",
  "after_post",
  "after_lookup",
  "before_fill_commit",
  "after_fill_commit",
  "after_cancel",
];

/**
 * The process's clock: `sleep` parks until the test moves time past it (or, in `auto` mode,
 * moves time itself: a reconcile that waits as long as it needs). A dead process's clock never
 * fires again.
 */
class ProcClock implements Clock {
  readonly #time: { now: number };
  readonly #timers: { dueMs: number; resolve: () => void }[] = [];
  #parked: (() => void)[] = [];
  auto = false;
  constructor(time: { now: number }) {
    this.#time = time;
  }
  nowMs(): number {
    return this.#time.now;
  }
  sleep(ms: number): Promise<void> {
    if (this.auto) {
      this.#time.now += ms;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.#timers.push({ dueMs: this.#time.now + ms, resolve });
      const parked = this.#parked;
      this.#parked = [];
      for (const p of parked) p();
    });
  }
  /** Resolves at the next (non-auto) sleep. */
  parked(): Promise<"parked"> {
    return new Promise((resolve) => this.#parked.push(() => resolve("parked")));
  }
  earliestDueMs(): number | undefined {
    let min: number | undefined;
    for (const t of this.#timers) if (min === undefined || t.dueMs < min) min = t.dueMs;
    return min;
  }
  fireDue(): void {
    for (let i = this.#timers.length - 1; i >= 0; i--) {
      const t = this.#timers[i]!;
      if (t.dueMs <= this.#time.now) {
        this.#timers.splice(i, 1);
        t.resolve();
      }
    }
  }
}

/** The exchange as the process sees it: the network, plus the process's crash points. */
class ProcExchange implements Exchange {
  readonly #proc: Proc;
  readonly #inner: Exchange;
  constructor(proc: Proc, inner: Exchange) {
    this.#proc = proc;
    this.#inner = inner;
  }
  async placeOrder(request: OrderRequest): Promise<Result<ExchangeOrder, OrderRejection>> {
    this.#proc.hit("before_post");
    const res = await this.#inner.placeOrder(request);
    this.#proc.hit("after_post");
    return res;
  }
  async getOrder(ref: OrderRef): Promise<ExchangeOrder | undefined> {
    this.#proc.hit();
    const res = await this.#inner.getOrder(ref);
    if (res !== undefined) this.#proc.hit("after_lookup");
    return res;
  }
  async cancelOrder(ref: OrderRef): Promise<Result<ExchangeOrder, OrderRejection>> {
    this.#proc.hit();
    const res = await this.#inner.cancelOrder(ref);
    this.#proc.hit("after_cancel");
    return res;
  }
  openOrders(market?: string): Promise<readonly ExchangeOrder[]> {
    this.#proc.hit();
    return this.#inner.openOrders(market);
  }
}

/** The store as the process sees it: `KvStore`, plus crash points around the fill commit. */
class ProcStore extends KvStore {
  readonly #proc: Proc;
  constructor(kv: Deno.Kv, proc: Proc) {
    super(kv);
    this.#proc = proc;
  }
  override async applyFills(batch: FillBatch): Promise<Result<readonly StoredFill[], FillError>> {
    this.#proc.hit("before_fill_commit");
    const res = await super.applyFills(batch);
    if (res.ok && res.value.length > 0) this.#proc.hit("after_fill_commit");
    return res;
  }
  override updateIntent(
    ...args: Parameters<KvStore["updateIntent"]>
  ): ReturnType<KvStore["updateIntent"]> {
    this.#proc.hit();
    return super.updateIntent(...args);
  }
}

type Outcome =
  | { readonly ok: true; readonly value: Result<OrderOutcome, SubmitDenial> | ReconcileReport }
  | { readonly ok: false; readonly error: unknown };

/** One run of the bot: its clock, store objects and the submit in flight. */
class Proc {
  readonly world: World;
  readonly clock: ProcClock;
  readonly store: ProcStore;
  readonly deps: OrderManagerDeps;
  readonly notifier = new RecordingNotifier();
  dead = false;
  crashAt: CrashPoint | undefined;
  pending: Promise<Outcome> | undefined;

  constructor(world: World) {
    this.world = world;
    this.clock = new ProcClock(world.time);
    this.store = new ProcStore(world.kv, this);
    this.deps = {
      exchange: new ProcExchange(this, world.net),
      store: this.store,
      clock: this.clock,
      notifier: this.notifier,
    };
  }

  /** A crash point: dies when armed there; a dead process never touches the world again. */
  hit(point?: CrashPoint): void {
    if (!this.dead && point !== undefined && point === this.crashAt) {
      this.dead = true;
      this.world.log.push(`  crashed at ${point}`);
      cover(`crash at ${point}`);
    }
    if (this.dead) throw new CrashSignal(point ?? "dead");
  }

  /** Starts `task` in the background and waits until it ends or parks on the clock. */
  async start(task: () => Promise<Result<OrderOutcome, SubmitDenial>>): Promise<void> {
    const parked = this.clock.parked();
    this.pending = task().then(
      (value) => ({ ok: true, value }) as Outcome,
      (error) => ({ ok: false, error }) as Outcome,
    );
    await this.settle(parked);
  }

  /** Moves time to `targetMs`, waking the parked submit at each of its deadlines on the way. */
  async advanceTo(targetMs: number): Promise<void> {
    for (;;) {
      const due = this.pending === undefined ? undefined : this.clock.earliestDueMs();
      if (due === undefined || due > targetMs) break;
      if (due > this.world.time.now) this.world.time.now = due;
      const parked = this.clock.parked();
      this.clock.fireDue();
      await this.settle(parked);
      if (this.dead) break;
    }
    if (targetMs > this.world.time.now) this.world.time.now = targetMs;
  }

  async settle(parked: Promise<"parked">): Promise<void> {
    const pending = this.pending;
    if (pending === undefined) return;
    const r = await Promise.race([pending, parked]);
    if (r === "parked") return;
    this.pending = undefined;
    this.crashAt = undefined;
    if (!r.ok && !(r.error instanceof CrashSignal)) throw r.error;
    if (r.ok) {
      this.world.log.push(`  -> ${describe(r.value)}`);
      cover(`submit ${describe(r.value).replace(/^\S+ /, "").replace(/ filled.*/, "")}`);
    }
  }

  /** Reconciles, waiting as long as it needs (the clock moves itself). */
  async reconcile(): Promise<ReconcileReport> {
    this.clock.auto = true;
    try {
      const report = await reconcile(this.deps, CONFIG, { account: this.world.paper });
      this.world.log.push(
        `  reconciled: ${report.intents.map((i) => `${i.id}=${i.state}`).join(" ")}${
          report.mismatches.length > 0 ? ` MISMATCH ${JSON.stringify(report.mismatches, big)}` : ""
        }`,
      );
      return report;
    } finally {
      this.clock.auto = false;
    }
  }
}

function big(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}

function describe(value: Result<OrderOutcome, SubmitDenial> | ReconcileReport): string {
  if ("ok" in value) {
    if (!value.ok) return `denied ${value.error.kind}`;
    const i = value.value.intent;
    return `${i.id} ${i.state}${
      i.error === undefined ? "" : ` (${i.error})`
    } filled ${i.filledVolume}`;
  }
  return "reconciled";
}

// ---- invariants ------------------------------------------------------------------------------------

/**
 * Checked after every command:
 * 1. every order the exchange accepted belongs to an intent (by identifier), and no intent has
 *    more than one exchange order; an intent's uuid is its order's;
 * 2. every stored fill is a trade of that order on the exchange (same price, volume, funds),
 *    each trade uuid stored once; an order's stored fees never exceed its `paid_fee`;
 * 3. each ledger equals the sum of its fills; the KV balances equal the seed plus the fills;
 * 4. no balance is negative (exchange, KV, ledger);
 * 5. at most one live intent per market; a terminal intent never changes again.
 *
 * `strong` (after a reconcile with a healthy exchange): every exchange trade is stored (fees to
 * the unit), the KV balances equal the exchange's, no intent is `NEW`/`UNKNOWN`, every `OPEN`
 * intent's order rests on the book and every finished order's intent is finished with its volume.
 */
async function checkInvariants(w: World, strong: boolean): Promise<void> {
  const store = new KvStore(w.kv);
  const intents = await store.listIntents(INTENT_STATES);
  const orders = new Map<string, ExchangeOrder>();
  const orderOfIntent = new Map<string, ExchangeOrder>();
  for (const [uuid, identifier] of w.recorder.accepted) {
    const order = await w.paper.getOrder({ uuid });
    assert.ok(order !== undefined, `exchange lost order ${uuid}`);
    orders.set(uuid, order);
    const intent = await store.getIntent({ identifier });
    assert.ok(intent !== undefined, `exchange order ${uuid} (${identifier}) has no intent`);
    const other = orderOfIntent.get(intent.id);
    assert.ok(
      other === undefined,
      `intent ${intent.id} has two exchange orders: ${other?.uuid} and ${uuid}`,
    );
    orderOfIntent.set(intent.id, order);
  }
  const liveByMarket = new Map<string, string>();
  for (const intent of intents) {
    const order = orderOfIntent.get(intent.id);
    if (intent.uuid !== undefined) {
      assert.equal(intent.uuid, order?.uuid, `intent ${intent.id}: uuid is not its order's`);
    }
    if (!TERMINAL_INTENT_STATES.includes(intent.state)) {
      const other = liveByMarket.get(intent.market);
      assert.ok(
        other === undefined,
        `two live intents on ${intent.market}: ${other}, ${intent.id}`,
      );
      liveByMarket.set(intent.market, intent.id);
    }
    const text = JSON.stringify(intent, big);
    const before = w.frozen.get(intent.id);
    if (before !== undefined) {
      assert.equal(text, before, `terminal intent ${intent.id} changed`);
    } else if (TERMINAL_INTENT_STATES.includes(intent.state)) {
      w.frozen.set(intent.id, text);
    }
  }
  assert.ok(w.frozen.size <= intents.length, "a terminal intent vanished");

  const fills = await store.listFills();
  const stored = new Set<string>();
  const feesByOrder = new Map<string, Units>();
  for (const f of fills) {
    assert.ok(!stored.has(f.tradeUuid), `trade ${f.tradeUuid} stored twice`);
    stored.add(f.tradeUuid);
    const order = orders.get(f.orderUuid);
    assert.ok(order !== undefined, `fill of unknown order ${f.orderUuid}`);
    const trade = order.trades?.find((t) => t.uuid === f.tradeUuid);
    assert.ok(trade !== undefined, `fill ${f.tradeUuid} is no trade of ${f.orderUuid}`);
    assert.deepEqual(
      [f.market, f.side, f.price, f.volume, f.funds],
      [order.market, order.side, trade.price, trade.volume, trade.funds],
    );
    feesByOrder.set(f.orderUuid, (feesByOrder.get(f.orderUuid) ?? 0n) + f.fee);
  }
  for (const order of orders.values()) {
    const fees = feesByOrder.get(order.uuid) ?? 0n;
    assert.ok(fees <= order.paidFee, `order ${order.uuid}: fees ${fees} > paid ${order.paidFee}`);
    if (strong) {
      for (const t of order.trades ?? []) {
        assert.ok(stored.has(t.uuid), `trade ${t.uuid} of ${order.uuid} missing from the store`);
      }
      assert.equal(fees, order.paidFee, `order ${order.uuid}: fees`);
    }
  }

  const expectedBalances = new Map<string, Units>([["KRW", LEDGER_KRW * BigInt(MARKETS.length)]]);
  for (const market of MARKETS) {
    const ledger = await store.getLedger(market);
    assert.ok(ledger !== undefined);
    let qty = 0n;
    let cash = ledger.initialCash;
    let fees = 0n;
    for (const f of fills.filter((x) => x.market === market)) {
      qty += f.side === "bid" ? f.volume : -f.volume;
      cash += f.side === "bid" ? -(f.funds + f.fee) : f.funds - f.fee;
      fees += f.fee;
    }
    assert.deepEqual([ledger.qty, ledger.cash, ledger.fees], [qty, cash, fees], `ledger ${market}`);
    assert.ok(ledger.qty >= 0n && ledger.cash >= 0n, `ledger ${market} negative`);
    const coin = market.split("-")[1]!;
    expectedBalances.set(coin, qty);
    expectedBalances.set(
      "KRW",
      expectedBalances.get("KRW")! - ledger.initialCash + ledger.cash,
    );
  }
  const kvBalances = await store.getBalances();
  for (const [currency, amount] of kvBalances) {
    assert.ok(amount >= 0n, `KV balance ${currency} negative`);
    assert.equal(amount, expectedBalances.get(currency) ?? 0n, `KV balance ${currency}`);
  }
  const exchangeTotals = new Map<string, Units>();
  for (const b of await w.paper.balances()) {
    assert.ok(b.balance >= 0n && b.locked >= 0n, `exchange balance ${b.currency} negative`);
    exchangeTotals.set(b.currency, b.balance + b.locked);
  }
  if (!strong) return;

  for (const currency of new Set([...kvBalances.keys(), ...exchangeTotals.keys()])) {
    assert.equal(
      kvBalances.get(currency) ?? 0n,
      exchangeTotals.get(currency) ?? 0n,
      `balance ${currency}: KV vs exchange`,
    );
  }
  for (const intent of intents) {
    const order = orderOfIntent.get(intent.id);
    assert.ok(
      intent.state !== "NEW" && intent.state !== "UNKNOWN",
      `intent ${intent.id} left ${intent.state} after reconcile`,
    );
    if (intent.state === "OPEN") {
      assert.equal(order?.state, "wait", `OPEN intent ${intent.id}: order not resting`);
    }
    if (intent.state === "FILLED" || intent.state === "CANCELLED") {
      const executed = order?.executedVolume ?? 0n;
      assert.equal(intent.filledVolume, executed, `intent ${intent.id}: filled volume`);
      assert.equal(intent.state === "FILLED", executed > 0n, `intent ${intent.id}: state`);
    }
  }
  for (const [id, order] of orderOfIntent) {
    const intent = intents.find((i) => i.id === id)!;
    const finished = order.state === "done" || order.state === "cancel";
    assert.equal(
      TERMINAL_INTENT_STATES.includes(intent.state),
      finished,
      `intent ${id} is ${intent.state} but its order is ${order.state}`,
    );
  }
}

// ---- commands ----------------------------------------------------------------------------------

interface Model {
  alive: boolean;
  pending: boolean;
}

type Cmd = fc.AsyncCommand<Model, World>;

type PlaceKind =
  | "buy"
  | "sell"
  | "limit_buy_rest"
  | "limit_buy_cross"
  | "limit_sell_rest"
  | "limit_sell_cross";

interface PlaceSpec {
  readonly market: MarketName;
  readonly kind: PlaceKind;
  /** Percent of the ledger's cash (buys) or position (sells). */
  readonly pct: number;
  /** Ticks away from the touch for a resting limit. */
  readonly ticks: number;
  readonly faults: readonly Fault[];
  readonly crashAt: CrashPoint | null;
}

async function buildCommand(w: World, store: KvStore, spec: PlaceSpec): Promise<SubmitOrder> {
  const signalId = `s${w.seq++}`;
  const { market, kind, pct } = spec;
  const ledger = (await store.getLedger(market))!;
  const book = w.books.get(market)!;
  const bid = book.bids[0]!.price;
  const ask = book.asks[0]!.price;
  const tick = krwTickSize(bid, { atMs: w.time.now, market });
  const spend = ledger.cash * BigInt(pct) / 100n;
  const sellVolume = ledger.qty * BigInt(pct * 2 > 100 ? 100 : pct * 2) / 100n;
  switch (kind) {
    case "buy":
      return { kind: "market_buy", market, signalId, amountKrw: spend };
    case "sell":
      return { kind: "market_sell", market, signalId, volume: sellVolume, referencePrice: bid };
    case "limit_buy_rest":
    case "limit_buy_cross": {
      const price = kind === "limit_buy_rest" ? bid - BigInt(spec.ticks) * tick : ask;
      const volume = divUnits(spend, price, "floor");
      return { kind: "limit", market, signalId, side: "buy", price, volume };
    }
    case "limit_sell_rest":
    case "limit_sell_cross": {
      const price = kind === "limit_sell_rest" ? ask + BigInt(spec.ticks) * tick : bid;
      return { kind: "limit", market, signalId, side: "sell", price, volume: sellVolume };
    }
  }
}

function runSubmit(w: World, model: Model, command: SubmitOrder): Promise<void> {
  const proc = w.proc!;
  return proc.start(() => submitOrder(proc.deps, CONFIG, command)).then(() => {
    syncModel(w, model);
  });
}

function syncModel(w: World, model: Model): void {
  const proc = w.proc;
  if (proc !== undefined && proc.dead) w.proc = undefined;
  model.alive = w.proc !== undefined;
  model.pending = w.proc?.pending !== undefined;
}

function canAct(m: Readonly<Model>): boolean {
  return m.alive && !m.pending;
}

class PlaceCmd implements Cmd {
  readonly spec: PlaceSpec;
  constructor(spec: PlaceSpec) {
    this.spec = spec;
  }
  check = canAct;
  async run(model: Model, w: World): Promise<void> {
    const proc = w.proc!;
    w.refreshBooks();
    const command = await buildCommand(w, proc.store, this.spec);
    w.log.push(`${this} ${JSON.stringify(command, big)}`);
    cover("commands: place");
    w.lastCommand.set(command.market, command);
    w.faults.push(...this.spec.faults);
    proc.crashAt = this.spec.crashAt ?? undefined;
    await runSubmit(w, model, command);
    await checkInvariants(w, false);
  }
  toString(): string {
    return `place(${JSON.stringify(this.spec)})`;
  }
}

class ResubmitCmd implements Cmd {
  readonly market: MarketName;
  constructor(market: MarketName) {
    this.market = market;
  }
  check = canAct;
  async run(model: Model, w: World): Promise<void> {
    const command = w.lastCommand.get(this.market);
    w.log.push(`${this}`);
    if (command === undefined) return;
    await runSubmit(w, model, command);
    await checkInvariants(w, false);
  }
  toString(): string {
    return `resubmit(${this.market})`;
  }
}

/** The exchange fills our resting orders on `market` (fully, or half of what is left). */
class FillCmd implements Cmd {
  readonly market: MarketName;
  readonly partial: boolean;
  constructor(market: MarketName, partial: boolean) {
    this.market = market;
    this.partial = partial;
  }
  check = (): boolean => true;
  async run(_model: Model, w: World): Promise<void> {
    w.log.push(`${this}`);
    for (const order of await w.paper.openOrders(this.market)) {
      const left = (order.volume ?? 0n) - order.executedVolume;
      const size = this.partial && left > 1n ? left / 2n : left;
      const base = baseBook(this.market, w.time.now);
      const level = { price: order.price!, size };
      w.books.set(this.market, {
        ...base,
        asks: order.side === "bid" ? [level, ...base.asks] : base.asks,
        bids: order.side === "ask" ? [level, ...base.bids] : base.bids,
      });
      await w.paper.openOrders(this.market); // the exchange matches on any call
      cover(this.partial ? "partial fill" : "fill");
    }
    w.refreshBooks();
    await checkInvariants(w, false);
  }
  toString(): string {
    return `${this.partial ? "partialFill" : "fill"}(${this.market})`;
  }
}

/** Someone cancels our resting orders on `market` at the exchange (the Upbit app, an operator). */
class CancelCmd implements Cmd {
  readonly market: MarketName;
  constructor(market: MarketName) {
    this.market = market;
  }
  check = (): boolean => true;
  async run(_model: Model, w: World): Promise<void> {
    w.log.push(`${this}`);
    for (const order of await w.paper.openOrders(this.market)) {
      await w.paper.cancelOrder({ uuid: order.uuid });
      cover("external cancel");
    }
    await checkInvariants(w, false);
  }
  toString(): string {
    return `cancel(${this.market})`;
  }
}

/** Time passes; the parked submit wakes at each of its deadlines. */
class TickCmd implements Cmd {
  readonly ms: number;
  constructor(ms: number) {
    this.ms = ms;
  }
  check = (): boolean => true;
  async run(model: Model, w: World): Promise<void> {
    w.log.push(`${this}`);
    cover("commands: tick");
    const target = w.time.now + this.ms;
    if (w.proc !== undefined) await w.proc.advanceTo(target);
    if (target > w.time.now) w.time.now = target;
    syncModel(w, model);
    await checkInvariants(w, false);
  }
  toString(): string {
    return `tick(${this.ms})`;
  }
}

/** The process dies where it stands (mid-wait when a submit is parked). */
class CrashCmd implements Cmd {
  check = (m: Readonly<Model>): boolean => m.alive;
  async run(model: Model, w: World): Promise<void> {
    w.log.push(`${this}`);
    const proc = w.proc!;
    proc.dead = true;
    cover(proc.pending === undefined ? "crash idle" : "crash mid-submit");
    w.proc = undefined;
    syncModel(w, model);
    await checkInvariants(w, false);
  }
  toString(): string {
    return "crash";
  }
}

/** A new process over the same KV: new store and deps, reconcile before anything else. */
class RestartCmd implements Cmd {
  check = (): boolean => true;
  async run(model: Model, w: World): Promise<void> {
    w.log.push(`${this}`);
    if (w.proc !== undefined) w.proc.dead = true;
    const proc = new Proc(w);
    w.proc = proc;
    const healthy = w.healthy();
    const report = await proc.reconcile();
    syncModel(w, model);
    for (const i of report.intents) cover(`restart resolved ${i.state}`);
    cover(healthy ? "restart healthy" : "restart unhealthy");
    if (healthy) assert.deepEqual(report.mismatches, [], "reconcile found mismatches");
    await checkInvariants(w, healthy);
  }
  toString(): string {
    return "restart";
  }
}

/** The periodic reconcile of a running process. */
class ReconcileCmd implements Cmd {
  check = canAct;
  async run(model: Model, w: World): Promise<void> {
    w.log.push(`${this}`);
    const healthy = w.healthy();
    const report = await w.proc!.reconcile();
    syncModel(w, model);
    if (healthy) assert.deepEqual(report.mismatches, [], "reconcile found mismatches");
    await checkInvariants(w, healthy);
  }
  toString(): string {
    return "reconcile";
  }
}

/** The link to the exchange breaks (answers lost before or after it acts) or comes back. */
class NetCmd implements Cmd {
  readonly mode: NetMode;
  constructor(mode: NetMode) {
    this.mode = mode;
  }
  check = (): boolean => true;
  async run(_model: Model, w: World): Promise<void> {
    w.log.push(`${this}`);
    w.netMode = this.mode;
    if (this.mode === "up") w.faults.length = 0;
    await checkInvariants(w, false);
  }
  toString(): string {
    return `net(${this.mode})`;
  }
}

/** The operator looked and clears safe mode. */
class ClearSafeModeCmd implements Cmd {
  check = canAct;
  async run(_model: Model, w: World): Promise<void> {
    w.log.push(`${this}`);
    await w.proc!.store.setControl({ safeMode: false, reason: "operator" }, w.time.now);
  }
  toString(): string {
    return "clearSafeMode";
  }
}

const marketArb = fc.constantFrom<MarketName>(...MARKETS);

const placeArb: fc.Arbitrary<Cmd> = fc.record({
  market: marketArb,
  kind: fc.constantFrom<PlaceKind>(
    "buy",
    "sell",
    "limit_buy_rest",
    "limit_buy_cross",
    "limit_sell_rest",
    "limit_sell_cross",
  ),
  pct: fc.integer({ min: 1, max: 40 }),
  ticks: fc.integer({ min: 1, max: 3 }),
  faults: fc.array(fc.constantFrom<Fault>("ok", "fail_before", "accept_then_lose"), {
    maxLength: 3,
  }),
  crashAt: fc.option(fc.constantFrom(...CRASH_POINTS), { freq: 3 }),
}).map((spec) => new PlaceCmd(spec));

const COMMANDS: fc.Arbitrary<Cmd>[] = [
  placeArb,
  placeArb,
  placeArb,
  placeArb,
  placeArb,
  marketArb.map((m) => new ResubmitCmd(m)),
  fc.tuple(marketArb, fc.boolean()).map(([m, p]) => new FillCmd(m, p)),
  marketArb.map((m) => new CancelCmd(m)),
  fc.integer({ min: 100, max: 8_000 }).map((ms) => new TickCmd(ms)),
  fc.integer({ min: 100, max: 8_000 }).map((ms) => new TickCmd(ms)),
  fc.constant(new CrashCmd()),
  fc.constant(new RestartCmd()),
  fc.constant(new RestartCmd()),
  fc.constant(new ReconcileCmd()),
  fc.constantFrom<NetMode>("down_before", "down_lose").map((m) => new NetCmd(m)),
  fc.constant(new NetCmd("up")),
  fc.constant(new NetCmd("up")),
  fc.constant(new ClearSafeModeCmd()),
];

/** Runs `cmds`, then heals the network, lets the grace pass, restarts: everything must agree. */
async function runScenario(lagMs: number, cmds: Iterable<Cmd>): Promise<World> {
  const w = await World.create(lagMs);
  try {
    await fc.asyncModelRun(() => ({ model: { alive: true, pending: false }, real: w }), cmds);
    w.log.push("final: net up, 60 s, restart");
    await new NetCmd("up").run({ alive: true, pending: false }, w);
    const model = { alive: w.proc !== undefined, pending: false };
    await new TickCmd(60_000).run(model, w);
    await new RestartCmd().run(model, w);
    return w;
  } catch (error) {
    if (error instanceof Error) error.message += `\n${w.log.join("\n")}`;
    throw error;
  } finally {
    w.kv.close();
  }
}

/** What the runs reached (printed, and asserted so a broken generator cannot pass quietly). */
const COVERAGE = new Map<string, number>();

function cover(what: string): void {
  COVERAGE.set(what, (COVERAGE.get(what) ?? 0) + 1);
}

const NUM_RUNS = Number(Deno.env.get("MODEL_RUNS") ?? 300);
const MAX_COMMANDS = 60;

Deno.test({
  name: "model: random place/fill/cancel/crash/restart/reconnect keep every order invariant",
  async fn() {
    const seed = Number(Deno.env.get("MODEL_SEED") ?? Date.now() % 2_147_483_647);
    const started = performance.now();
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 1_500 }),
        fc.commands(COMMANDS, { maxCommands: MAX_COMMANDS, size: "max" }),
        async (lagMs, cmds) => {
          await runScenario(lagMs, cmds);
        },
      ),
      { numRuns: NUM_RUNS, seed, verbose: true },
    );
    const reached = [...COVERAGE.entries()].sort().map(([k, v]) => `${k}: ${v}`);
    // deno-lint-ignore no-console
    console.log(
      `model: ${NUM_RUNS} runs × ≤ ${MAX_COMMANDS} commands, seed ${seed}, ${
        Math.round(performance.now() - started)
      } ms\n  ${reached.join("\n  ")}`,
    );
  },
});

// ---- shrunk counterexamples (each found by the model against a deliberately broken build) -------

function buyBtc(faults: readonly Fault[], crashAt: CrashPoint | null): PlaceCmd {
  return new PlaceCmd({ market: "KRW-BTC", kind: "buy", pct: 1, ticks: 1, faults, crashAt });
}

Deno.test("model case: crash right after a fill commit, then a poll: the fill is applied once", async () => {
  // Broken build: no fill dedupe (the fill was applied twice).
  await runScenario(0, [buyBtc([], "after_fill_commit"), new TickCmd(100)]);
});

Deno.test("model case: the POST's answer is lost, then a restart: adopted by identifier", async () => {
  // Broken build: no lookup by identifier (the intent was closed, its fills never applied).
  await runScenario(0, [buyBtc(["accept_then_lose"], null), new RestartCmd()]);
});

Deno.test("model case: crash after the exchange accepted, before recording: adopted at restart", async () => {
  // Broken build: no write-ahead UNKNOWN record (the restart thought it was never sent).
  await runScenario(0, [buyBtc([], "after_post"), new RestartCmd()]);
});

Deno.test("model case: a lost answer is never retried under a new identifier", async () => {
  // Broken build: a new identifier per retry (two exchange orders for one intent).
  await runScenario(0, [buyBtc(["accept_then_lose"], null)]);
});

Deno.test("model case: a resting limit, crash mid-wait, filled while down, restart", async () => {
  await runScenario(1_500, [
    new PlaceCmd({
      market: "KRW-ETH",
      kind: "limit_buy_rest",
      pct: 20,
      ticks: 2,
      faults: ["accept_then_lose", "fail_before"],
      crashAt: null,
    }),
    new TickCmd(1_000),
    new CrashCmd(),
    new FillCmd("KRW-ETH", true),
    new RestartCmd(),
    new FillCmd("KRW-ETH", false),
    new NetCmd("down_lose"),
    new ReconcileCmd(),
    new NetCmd("up"),
    new ReconcileCmd(),
  ]);
});
