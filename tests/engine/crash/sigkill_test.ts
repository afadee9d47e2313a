/**
 * Crash safety (issue 6 "Done when", reliability.md §6.3 R1): the bot (`_worker.ts`, the real
 * `KvStore` + `HttpExchange` + order manager on a KV file) trades market buys and sells against
 * the sandbox while the sandbox loses answers (before and after accepting the order), delays them
 * past the client's timeout, and answers 5xx and HTML error pages, all drawn from a seeded PRNG.
 * The worker is killed with SIGKILL at a random moment, `CRASH_KILLS` times (default 200, the
 * issue's figure), and restarted each time; then one clean run finishes the decisions and
 * reconciles.
 *
 * After every kill (the dead worker's lock must be free), against the sandbox as ground truth:
 * - every sandbox order carries an identifier derived from exactly one intent (none unknown);
 * - no intent has more than one sandbox order;
 * - every stored fill is a trade of that sandbox order, with the same price, volume and funds;
 * - no balance, stored or on the sandbox, is negative.
 * After the final run, in addition:
 * - 0 live intents; every sandbox order belongs to an intent that adopted exactly that order, and
 *   an intent whose order traded is `FILLED` with the traded volume and funds;
 * - the stored fills equal the sandbox trades exactly, by trade uuid (0 missing, 0 duplicated),
 *   and their fees add up to each order's `paid_fee`;
 * - stored balances and the ledger equal the sandbox account exactly, per currency;
 * - no reconciliation, in any of the runs, found a mismatch or entered safe mode.
 *
 * `CRASH_SEED` changes the fault and kill schedule (the seed is printed with the summary).
 */

import assert from "node:assert/strict";
import { acquireInstanceLock, KvStore } from "../../../engine/adapters/kv_store.ts";
import { intBetween, mulberry32, type Rng } from "../../../engine/core/prng.ts";
import { orderIdentifier } from "../../../engine/order_manager.ts";
import type { Intent } from "../../../engine/ports.ts";
import { LIVE_INTENT_STATES } from "../../../engine/ports.ts";
import type { FaultSpec } from "../../../engine/sandbox/faults.ts";
import {
  createSandbox,
  DEFAULT_ACCOUNT,
  DEMO_ACCESS_KEY,
  DEMO_SECRET_KEY,
  type Sandbox,
} from "../../../engine/sandbox/mod.ts";
import type { SandboxOrder } from "../../../engine/sandbox/orders.ts";
import { ALL_STATES, BOT_ID, MARKET } from "./_worker.ts";

/** Kills in the test (the issue asks for at least 200). */
const KILLS = Number(Deno.env.get("CRASH_KILLS") ?? "200");
/** Seed of the fault and kill schedule. */
const SEED = Number(Deno.env.get("CRASH_SEED") ?? "20261124");
/**
 * When a kill lands, after the worker says it is ready: mostly within [0, 800) ms (startup,
 * reconciliation, the first orders), sometimes within [800, 2500) ms so that runs also live past
 * the visibility grace and resend.
 */
function killDelayMs(rng: Rng): number {
  return rng() < 0.8 ? intBetween(rng, 0, 799) : intBetween(rng, 800, 2_499);
}
/** Decisions the clean final run takes past the newest one of the kill phase. */
const FINAL_SIGNALS = 12;
/** Decisions asked of a worker that is going to be killed (it never gets that far). */
const ENDLESS = 1_000_000;
const INITIAL_KRW = "10000000";
const WORKER = new URL("./_worker.ts", import.meta.url).pathname;
const CONFIG = new URL("../../../deno.json", import.meta.url).pathname;

// ---- fault schedule ---------------------------------------------------------------------------

type Weighted = ReadonlyArray<readonly [number, (rng: Rng) => FaultSpec]>;

/** Passes the request through untouched (a zero delay): the "no fault" draw. */
const PASS = (): FaultSpec => ({ kind: "delay", delayMs: 0 });

function loseMode(rng: Rng): "hang" | "reset" {
  return rng() < 0.1 ? "reset" : "hang";
}

/**
 * Per route, the chance of each fault (reliability.md §6.3 R1: 20% lost answers, 10% timeouts
 * before acceptance, 5% 5xx on the order POST). Injected delays stay below the order manager's
 * visibility grace (1 s), the bound on how late a POST may still create its order.
 */
const ROUTES: ReadonlyArray<
  { readonly method: string; readonly path: string; readonly mix: Weighted }
> = [
  {
    method: "POST",
    path: "/v1/orders",
    mix: [
      [0.2, (r) => ({ kind: "accept_then_lose", mode: loseMode(r), hangMs: 1_000 })],
      [0.1, (r) => ({ kind: "lose_response", mode: loseMode(r), hangMs: 1_000 })],
      [0.05, (r) => ({ kind: "server_error", status: r() < 0.5 ? 500 : 503 })],
      [0.03, () => ({ kind: "html_error", status: 502 })],
      [0.07, (r) => ({ kind: "delay", delayMs: intBetween(r, 100, 500) })],
    ],
  },
  {
    method: "GET",
    path: "/v1/order",
    mix: [
      [0.06, () => ({ kind: "server_error", status: 500 })],
      [0.04, () => ({ kind: "html_error", status: 502 })],
      [0.08, (r) => ({ kind: "lose_response", mode: loseMode(r), hangMs: 1_000 })],
      [0.06, (r) => ({ kind: "delay", delayMs: intBetween(r, 50, 400) })],
    ],
  },
  {
    method: "GET",
    path: "/v1/accounts",
    mix: [
      [0.1, () => ({ kind: "server_error", status: 500 })],
      [0.05, () => ({ kind: "html_error", status: 502 })],
      [0.05, (r) => ({ kind: "delay", delayMs: intBetween(r, 100, 400) })],
    ],
  },
  {
    method: "GET",
    path: "/v1/orders/open",
    mix: [
      [0.1, () => ({ kind: "server_error", status: 503 })],
      [0.05, () => ({ kind: "html_error", status: 502 })],
      [0.05, (r) => ({ kind: "lose_response", mode: loseMode(r), hangMs: 1_000 })],
    ],
  },
];

/** Pending draws kept armed per route. */
const QUEUE = 16;

/**
 * Keeps every route's queue of one-shot faults topped up from the seeded PRNG, so each request
 * meets the next draw; counts the faults consumed, by kind.
 */
class FaultFeeder {
  readonly #sb: Sandbox;
  readonly #rng: Rng;
  readonly #armed = new Map<number, string>();
  readonly hits = new Map<string, number>();
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(sb: Sandbox, rng: Rng) {
    this.#sb = sb;
    this.#rng = rng;
  }

  start(): void {
    this.#topUp();
    this.#timer = setInterval(() => this.#topUp(), 10);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#topUp();
    this.#sb.faults.rest.clear();
  }

  #topUp(): void {
    const pending = this.#sb.faults.rest.list();
    const live = new Set(pending.map((f) => f.id));
    for (const [id, name] of this.#armed) {
      if (!live.has(id)) {
        this.hits.set(name, (this.hits.get(name) ?? 0) + 1);
        this.#armed.delete(id);
      }
    }
    for (const route of ROUTES) {
      let left = QUEUE - pending.filter((f) => f.path === route.path && f.method === route.method)
        .length;
      for (; left > 0; left--) {
        const spec = this.#draw(route.mix);
        const id = this.#sb.faults.rest.arm({
          ...spec,
          path: route.path,
          method: route.method,
          count: 1,
        });
        const pass = spec.kind === "delay" && spec.delayMs === 0;
        this.#armed.set(id, `${route.method} ${route.path} ${pass ? "pass" : spec.kind}`);
      }
    }
  }

  #draw(mix: Weighted): FaultSpec {
    let x = this.#rng();
    for (const [p, make] of mix) {
      if (x < p) return make(this.#rng);
      x -= p;
    }
    return PASS();
  }
}

// ---- the worker process -----------------------------------------------------------------------

interface WorkerEvent {
  readonly ev: string;
  readonly [k: string]: unknown;
}

interface WorkerRun {
  readonly child: Deno.ChildProcess;
  readonly events: WorkerEvent[];
  /** Resolves at the `ready` line, or when the output ends without one. */
  readonly ready: Promise<void>;
  /** Resolves once the process is gone and its output read. */
  readonly finished: Promise<Deno.CommandStatus>;
  stderr(): string;
}

function startWorker(kvPath: string, sb: Sandbox, signals: number): WorkerRun {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--config",
      CONFIG,
      WORKER,
      kvPath,
      sb.restUrl,
      DEMO_ACCESS_KEY,
      DEMO_SECRET_KEY,
      String(signals),
      INITIAL_KRW,
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const events: WorkerEvent[] = [];
  let errText = "";
  let onReady = () => {};
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  const stdoutDone = (async () => {
    let buffer = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      buffer += chunk;
      let nl;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (line.trim() === "") continue;
        const event = JSON.parse(line) as WorkerEvent;
        events.push(event);
        if (event.ev === "ready") onReady();
      }
    }
    // A line cut by the kill is dropped: it was never fully said.
    onReady();
  })();
  const stderrDone = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) errText += chunk;
  })();
  const finished = Promise.all([stdoutDone, stderrDone, child.status]).then(([, , s]) => s);
  return { child, events, ready, finished, stderr: () => errText };
}

/** Resolves after `ms`, or at once (false) when `until` settles first; leaves no timer behind. */
async function waitOrExit(ms: number, until: Promise<unknown>): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const slept = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), ms)));
  try {
    return await Promise.race([slept, until.then(() => false)]);
  } finally {
    clearTimeout(timer);
  }
}

// ---- invariants -------------------------------------------------------------------------------

interface Checked {
  readonly violations: string[];
  readonly intents: readonly Intent[];
  readonly orders: readonly SandboxOrder[];
  readonly fills: number;
}

/** identifier → intent id, over every attempt of every intent. */
async function identifiersOf(intents: readonly Intent[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const i of intents) {
    for (let attempt = 0; attempt <= i.attempt; attempt++) {
      const parts = { botId: BOT_ID, market: i.market, side: i.side, signalId: i.signalId };
      out.set(await orderIdentifier({ ...parts, attempt }), i.id);
    }
  }
  return out;
}

/** The invariants that hold at every moment (a crash may leave fills not yet applied). */
async function checkAlways(store: KvStore, sb: Sandbox): Promise<Checked> {
  const violations: string[] = [];
  const intents = await store.listIntents(ALL_STATES);
  const byIdentifier = await identifiersOf(intents);
  const orders = sb.accounts.allOrders().filter((o) => o.accountId === DEFAULT_ACCOUNT);
  const ordersOfIntent = new Map<string, string[]>();
  for (const o of orders) {
    const owner = o.identifier === undefined ? undefined : byIdentifier.get(o.identifier);
    if (owner === undefined) {
      violations.push(`sandbox order ${o.uuid} (${o.identifier}) belongs to no intent`);
      continue;
    }
    ordersOfIntent.set(owner, [...(ordersOfIntent.get(owner) ?? []), o.uuid]);
  }
  for (const [id, uuids] of ordersOfIntent) {
    if (uuids.length > 1) violations.push(`intent ${id} has ${uuids.length} orders: ${uuids}`);
  }
  const sandboxOrders = new Map(orders.map((o) => [o.uuid, o]));
  const fills = await store.listFills();
  for (const f of fills) {
    const trade = sandboxOrders.get(f.orderUuid)?.trades.find((t) => t.uuid === f.tradeUuid);
    if (trade === undefined) {
      violations.push(`fill ${f.orderUuid}/${f.tradeUuid} is no sandbox trade`);
    } else if (
      trade.price !== f.price || trade.volume !== f.volume || trade.funds !== f.funds
    ) {
      violations.push(`fill ${f.tradeUuid} differs from the sandbox trade`);
    }
  }
  for (const [currency, amount] of await store.getBalances()) {
    if (amount < 0n) violations.push(`stored ${currency} balance is negative: ${amount}`);
  }
  const ledger = await store.getLedger(MARKET);
  if (ledger !== undefined && (ledger.cash < 0n || ledger.qty < 0n)) {
    violations.push(`ledger is negative: cash ${ledger.cash}, qty ${ledger.qty}`);
  }
  for (const [currency, h] of sb.accounts.holdings(DEFAULT_ACCOUNT)) {
    if (h.balance < 0n || h.locked < 0n) violations.push(`sandbox ${currency} is negative`);
  }
  return { violations, intents, orders, fills: fills.length };
}

/** Everything `checkAlways` checks, plus what must hold once the final run reconciled. */
async function checkFinal(store: KvStore, sb: Sandbox): Promise<Checked> {
  const checked = await checkAlways(store, sb);
  const { violations, intents, orders } = checked;
  const live = intents.filter((i) => LIVE_INTENT_STATES.includes(i.state));
  for (const i of live) violations.push(`intent ${i.id} is still ${i.state}`);
  const byIdentifier = await identifiersOf(intents);
  const intentById = new Map(intents.map((i) => [i.id, i]));
  for (const o of orders) {
    const intent = intentById.get(byIdentifier.get(o.identifier ?? "") ?? "");
    if (intent === undefined) continue;
    if (intent.uuid !== o.uuid) {
      violations.push(`intent ${intent.id} did not adopt its order ${o.uuid} (${intent.state})`);
    }
    if (o.state === "wait" || o.state === "watch") {
      violations.push(`sandbox order ${o.uuid} is still open`);
    }
    const traded = o.executedVolume > 0n;
    if (traded && intent.state !== "FILLED") {
      violations.push(`intent ${intent.id} is ${intent.state} but its order traded`);
    }
    if (intent.filledVolume !== o.executedVolume || intent.filledFunds !== o.executedFunds) {
      violations.push(`intent ${intent.id} filled ${intent.filledVolume} vs ${o.executedVolume}`);
    }
    const stored = await store.listFills(o.uuid);
    const storedIds = stored.map((f) => f.tradeUuid).sort();
    const tradeIds = o.trades.map((t) => t.uuid).sort();
    if (JSON.stringify(storedIds) !== JSON.stringify(tradeIds)) {
      violations.push(`order ${o.uuid}: fills ${storedIds} vs trades ${tradeIds}`);
    }
    const fees = stored.reduce((s, f) => s + f.fee, 0n);
    if (fees !== o.paidFee) violations.push(`order ${o.uuid}: fees ${fees} vs paid ${o.paidFee}`);
  }
  const sandboxTrades = orders.reduce((n, o) => n + o.trades.length, 0);
  if (checked.fills !== sandboxTrades) {
    violations.push(`${checked.fills} stored fills vs ${sandboxTrades} sandbox trades`);
  }
  const held = new Map(
    sb.accounts.holdings(DEFAULT_ACCOUNT).map(([c, h]) => [c, h.balance + h.locked]),
  );
  const stored = await store.getBalances();
  for (const currency of new Set([...held.keys(), ...stored.keys()])) {
    const a = stored.get(currency) ?? 0n;
    const b = held.get(currency) ?? 0n;
    if (a !== b) violations.push(`${currency}: stored ${a} vs sandbox ${b}`);
  }
  const ledger = await store.getLedger(MARKET);
  if (ledger?.cash !== held.get("KRW") || ledger?.qty !== (held.get("BTC") ?? 0n)) {
    violations.push(`ledger cash ${ledger?.cash} qty ${ledger?.qty} vs sandbox`);
  }
  return checked;
}

/** Opens the KV file (taking the instance lock: the dead worker must have lost it), checks. */
async function inspect(
  kvPath: string,
  check: (store: KvStore) => Promise<Checked>,
): Promise<Checked> {
  const lock = await acquireInstanceLock(kvPath);
  const kv = await Deno.openKv(kvPath);
  try {
    return await check(new KvStore(kv));
  } finally {
    kv.close();
    lock.release();
  }
}

/** What the worker itself saw go wrong: reconciliation mismatches, safe mode, a fill applied twice. */
function reconcileViolations(events: readonly WorkerEvent[]): string[] {
  const out: string[] = [];
  for (const e of events) {
    if (e.ev === "echo" && e.applied !== 0) out.push(`a repeated delivery applied: ${e.id}`);
    if (e.ev !== "reconciled" && e.ev !== "done") continue;
    const mismatches = e.ev === "done" ? Number(e.mismatches) : (e.mismatches as unknown[]).length;
    if (mismatches > 0 || e.safeMode === true) {
      out.push(`worker ${e.ev}: ${JSON.stringify(e)}`);
    }
  }
  return out;
}

// ---- the test -----------------------------------------------------------------------------------

Deno.test({
  name: `SIGKILL ×${KILLS} while trading with lost answers, timeouts and 5xx: 0 duplicate ` +
    `orders, 0 lost or doubled fills, ledger = sandbox`,
  async fn() {
    const startedMs = performance.now();
    const rng = mulberry32(SEED);
    const dir = await Deno.makeTempDir({ prefix: "crash_" });
    const kvPath = `${dir}/bot.kv`;
    const sb = await createSandbox({
      port: 0,
      speed: 10,
      dataFiles: ["data/upbit-KRW-BTC-1d.csv"],
      startAt: "2025-08-01T06:00:00Z",
      balances: { KRW: INITIAL_KRW },
      rateLimits: false,
    });
    const feeder = new FaultFeeder(sb, rng);
    const phases = { beforeReconcile: 0, duringTrading: 0 };
    let maxSignal = -1;
    try {
      feeder.start();
      for (let kill = 0; kill < KILLS; kill++) {
        const run = startWorker(kvPath, sb, ENDLESS);
        await run.ready;
        const delayMs = killDelayMs(rng);
        const slept = await waitOrExit(delayMs, run.finished);
        if (slept) run.child.kill("SIGKILL");
        const status = await run.finished;
        assert.equal(
          status.signal,
          "SIGKILL",
          `run ${kill}: the worker ended by itself (code ${status.code}): ${run.stderr()}`,
        );
        if (run.events.some((e) => e.ev === "reconciled")) phases.duringTrading++;
        else phases.beforeReconcile++;
        for (const e of run.events) {
          if (e.ev === "intent" || e.ev === "skipped") maxSignal = Math.max(maxSignal, Number(e.i));
        }
        const checked = await inspect(kvPath, (store) => checkAlways(store, sb));
        const violations = [...reconcileViolations(run.events), ...checked.violations];
        assert.deepEqual(violations, [], `after kill ${kill + 1} (at ${delayMs} ms)`);
      }

      // The clean final run: past the newest decision by FINAL_SIGNALS, faults still on.
      const newest = await inspect(kvPath, async (store) => {
        const intents = await store.listIntents(ALL_STATES);
        return { violations: [], intents, orders: [], fills: 0 };
      });
      const newestSignal = newest.intents.reduce(
        (m, i) => Math.max(m, Number(i.signalId.slice(1))),
        maxSignal,
      );
      const final = startWorker(kvPath, sb, newestSignal + 1 + FINAL_SIGNALS);
      const ended = !(await waitOrExit(90_000, final.finished));
      if (!ended) final.child.kill("SIGKILL");
      const status = await final.finished;
      assert.ok(ended, "the final run did not finish within 90 s");
      assert.equal(status.code, 0, `the final run failed: ${final.stderr()}`);
      const done = final.events.find((e) => e.ev === "done");
      assert.ok(done !== undefined, "the final run did not report done");
      feeder.stop();

      const checked = await inspect(kvPath, (store) => checkFinal(store, sb));
      const violations = [...reconcileViolations(final.events), ...checked.violations];
      assert.deepEqual(violations, []);

      const states = new Map<string, number>();
      for (const i of checked.intents) states.set(i.state, (states.get(i.state) ?? 0) + 1);
      const summary = {
        seed: SEED,
        kills: KILLS,
        killedBeforeReconcileDone: phases.beforeReconcile,
        killedWhileTrading: phases.duringTrading,
        intents: checked.intents.length,
        states: Object.fromEntries(states),
        resent: checked.intents.filter((i) => i.sends > 1).length,
        newAttempt: checked.intents.filter((i) => i.attempt > 0).length,
        sandboxOrders: checked.orders.length,
        fills: checked.fills,
        faults: Object.fromEntries([...feeder.hits].filter(([k]) => !k.endsWith("pass")).sort()),
        seconds: Math.round((performance.now() - startedMs) / 1000),
      };
      await Deno.stdout.write(
        new TextEncoder().encode(`crash summary ${JSON.stringify(summary)}\n`),
      );
      // The run must have exercised the protocol, not just idled.
      assert.ok(checked.intents.length >= KILLS / 2, `only ${checked.intents.length} intents`);
      assert.ok(checked.fills > 0);
    } finally {
      feeder.stop();
      await sb.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
