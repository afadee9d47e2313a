/**
 * Whose store it is, end to end over real sockets: live against a sandbox account that already
 * holds BTC refuses a 0-byte file, a new path, a truncated file, another account's store and a
 * paper store (one line, exit 2, no order sent); `--adopt` takes the BTC over and its stop loss
 * sells it; `demo --kv` leaves a store it did not create byte-equal; 20 kinds of corrupt stored
 * values each refuse naming key and field, and none trades.
 */

import assert from "node:assert/strict";
import { accountHash, KvStore, type StoreMeta } from "../../../engine/adapters/kv_store.ts";
import { runTradingCommand } from "../../../engine/cli/run_command.ts";
import type { TradingMode } from "../../../engine/config.ts";
import { formatUnits } from "../../../engine/core/money.ts";
import {
  createSandbox,
  DEFAULT_ACCOUNT,
  DEMO_ACCESS_KEY,
  type Sandbox,
} from "../../../engine/sandbox/mod.ts";
import * as trader from "../../../engine/trader.ts";
import { newIntent } from "../_order_fixtures.ts";
import { DATA_FILES, sandboxEnv } from "../adapters/upbit/_sandbox.ts";
import { clockOf } from "./_sandbox_clock.ts";

interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function run(
  sb: Sandbox,
  mode: TradingMode,
  args: readonly string[],
  interrupt: AbortSignal = new AbortController().signal,
): Promise<Ran> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runTradingCommand(mode, [...args, "--log-format", "json"], {
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    isTerminal: false,
    env: sandboxEnv(sb),
    interrupt,
    pid: Deno.pid,
    cwd: Deno.cwd(),
    clock: clockOf(sb),
  }, trader);
  return { code, stdout: out.join(""), stderr: err.join("") };
}

/** Awaits `running` while the sandbox's market keeps moving (a stop needs the sandbox's time). */
async function ticking<T>(sb: Sandbox, running: Promise<T>): Promise<T> {
  const tick = setInterval(() => sb.replay.advanceBy(1_000), 50);
  try {
    return await running;
  } finally {
    clearInterval(tick);
  }
}

/**
 * A live start expected to refuse. One that starts instead is stopped after 3 s and then fails
 * its assertions (the market keeps moving meanwhile, as a stop needs the sandbox's time to run).
 */
async function live(sb: Sandbox, kv: string, extra: readonly string[] = []): Promise<Ran> {
  const args = ["--i-understand-real-money", "--kv", kv, "--timeframe", "1h", ...extra];
  return await ticking(sb, run(sb, "live", args, AbortSignal.timeout(3_000)));
}

function oneLine(text: string): string {
  const lines = text.split("\n").filter((l) => l !== "");
  assert.equal(lines.length, 1, `expected one line, got:\n${text}`);
  return lines[0]!;
}

/** A sandbox whose account bought about 200,000 KRW of BTC (so `avg_buy_price` is set). */
async function sandboxHoldingBtc(): Promise<{ sb: Sandbox; btc: string; avg: string }> {
  const sb = await createSandbox({
    port: 0,
    manualClock: true,
    dataFiles: DATA_FILES,
    startAt: "2025-08-01T00:10:00Z",
    balances: { KRW: "1000000" },
    rateLimits: false,
  });
  const placed = sb.accounts.placeOrder(DEFAULT_ACCOUNT, {
    market: "KRW-BTC",
    side: "bid",
    ord_type: "price",
    price: "200000",
  });
  assert.ok(placed.ok);
  const btc = sb.accounts.accountsJson(DEFAULT_ACCOUNT).find((a) => a.currency === "BTC");
  assert.ok(btc !== undefined && Number(btc.balance) > 0, "the account holds BTC");
  return { sb, btc: btc.balance, avg: btc.avg_buy_price };
}

function ordersOf(sb: Sandbox): number {
  return sb.accounts.allOrders().length;
}

async function metaOf(overrides: Partial<StoreMeta>): Promise<StoreMeta> {
  return {
    botId: "bot",
    mode: "live",
    markets: ["KRW-BTC"],
    account: await accountHash(DEMO_ACCESS_KEY),
    createdAtMs: 0,
    updatedAtMs: 0,
    external: {},
    ...overrides,
  };
}

async function writeStore(path: string, fill: (store: KvStore, kv: Deno.Kv) => Promise<void>) {
  const kv = await Deno.openKv(path);
  try {
    await fill(new KvStore(kv), kv);
  } finally {
    kv.close();
  }
}

async function filesOf(path: string): Promise<Map<string, Uint8Array | null>> {
  const out = new Map<string, Uint8Array | null>();
  for (const suffix of ["", "-wal", "-shm", ".lock", ".ctl.json"]) {
    out.set(suffix, await Deno.readFile(path + suffix).catch(() => null));
  }
  return out;
}

Deno.test("live on an account holding BTC refuses a store that is not its own, with one line", async () => {
  const { sb, btc } = await sandboxHoldingBtc();
  const dir = await Deno.makeTempDir();
  try {
    const before = ordersOf(sb);
    const held = `${formatUnits(BigInt(Math.round(Number(btc) * 1e8)))} BTC`;

    await Deno.writeFile(`${dir}/empty.kv`, new Uint8Array());
    const emptyBefore = await filesOf(`${dir}/empty.kv`);
    const empty = await live(sb, `${dir}/empty.kv`);
    assert.equal(empty.code, 2);
    assert.deepEqual(
      await filesOf(`${dir}/empty.kv`),
      emptyBefore,
      "still 0 bytes, nothing beside",
    );
    assert.match(
      oneLine(empty.stderr),
      new RegExp(
        `^live: store ${dir}/empty\\.kv: found a 0-byte file, but the account already ` +
          `holds ${held.replace(".", "\\.")}: pass --adopt .* or --ignore-holdings`,
      ),
    );

    const fresh = await live(sb, `${dir}/new.kv`);
    assert.equal(fresh.code, 2);
    assert.match(
      oneLine(fresh.stderr),
      /^live: store .*new\.kv: found no file, but the account already holds/,
    );
    assert.deepEqual(
      [...(await filesOf(`${dir}/new.kv`)).values()].filter((f) => f !== null),
      [],
      "a refused start leaves no file (nor -wal, -shm, .lock) at a new path",
    );
    // So the next start finds what the first one found.
    const again = await live(sb, `${dir}/new.kv`);
    assert.match(oneLine(again.stderr), /found no file, but the account already holds/);

    await writeStore(`${dir}/cut.kv`, async (store, kv) => {
      await store.createMeta(await metaOf({}));
      for (let i = 0; i < 200; i++) await kv.set(["events", i, 0], { v: 1, pad: "x".repeat(400) });
    });
    const size = (await Deno.stat(`${dir}/cut.kv`)).size;
    await Deno.truncate(`${dir}/cut.kv`, Math.floor(size / 2));
    const cut = await live(sb, `${dir}/cut.kv`);
    assert.equal(cut.code, 2);
    assert.match(oneLine(cut.stderr), /^live: store .*cut\.kv: damaged or not a Deno KV file \(/);

    await writeStore(`${dir}/other.kv`, async (store) => {
      await store.createMeta(await metaOf({ account: await accountHash("someone-elses-key") }));
    });
    const otherBefore = await filesOf(`${dir}/other.kv`);
    const other = await live(sb, `${dir}/other.kv`);
    assert.equal(other.code, 2);
    assert.deepEqual(await filesOf(`${dir}/other.kv`), otherBefore, "another's store byte-equal");
    assert.match(
      oneLine(other.stderr),
      /^live: store .*other\.kv belongs to another Upbit account/,
    );

    await writeStore(`${dir}/paper.kv`, async (store) => {
      await store.createMeta(await metaOf({ mode: "paper", account: null }));
    });
    const paper = await live(sb, `${dir}/paper.kv`);
    assert.equal(paper.code, 2);
    assert.match(oneLine(paper.stderr), /^live: store .*paper\.kv is the store of a paper bot/);

    assert.equal(ordersOf(sb), before, "no order reached the sandbox");
    // Paths are printed absolute at start, whatever the working folder.
    assert.match(empty.stdout, new RegExp(`store ${dir}/empty\\.kv \\(a 0-byte file; lock `));
    for (const r of [empty, fresh, cut, other, paper]) {
      assert.ok(!r.stdout.includes('"event":"OrderSubmitted"'));
    }
  } finally {
    await sb.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("live --adopt takes the BTC over at avg_buy_price and its stop loss sells it", async () => {
  const { sb, btc, avg } = await sandboxHoldingBtc();
  const dir = await Deno.makeTempDir();
  const stop = new AbortController();
  try {
    const before = ordersOf(sb);
    const running = run(sb, "live", [
      "--i-understand-real-money",
      "--kv",
      `${dir}/bot.kv`,
      "--adopt",
      "--timeframe",
      "1h",
      "--stop-loss",
      "1",
      "--take-profit",
      "0",
    ], stop.signal);
    // Drive the market minute by minute until the bot sells (or 20 sandbox hours pass).
    let sell: ReturnType<Sandbox["accounts"]["allOrders"]>[number] | undefined;
    for (let i = 0; i < 20 * 60 && sell === undefined; i++) {
      await new Promise((r) => setTimeout(r, i < 20 ? 250 : 15));
      sb.replay.advanceBy(60_000);
      sell = sb.accounts.allOrders().slice(before).find((o) => o.side === "ask");
    }
    await new Promise((r) => setTimeout(r, 500));
    // The store's files, while the bot runs, are the owner's only.
    for (const suffix of ["", "-wal", "-shm", ".lock", ".ctl.json"]) {
      const mode = (await Deno.stat(`${dir}/bot.kv${suffix}`)).mode! & 0o777;
      assert.equal(mode.toString(8), "600", `bot.kv${suffix}`);
    }
    stop.abort();
    const ran = await ticking(sb, running);
    assert.equal(ran.code, 0, ran.stderr);
    const lines = ran.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.ok(
      lines.some((l) =>
        l.event === "HoldingAdopted" &&
        l.volume === formatUnits(BigInt(Math.round(Number(btc) * 1e8)))
      ),
      "the holding was adopted",
    );
    assert.ok(sell !== undefined, "the adopted BTC was sold");
    assert.equal(sell.ordType, "market");
    assert.equal(formatUnits(sell.volume!), formatUnits(BigInt(Math.round(Number(btc) * 1e8))));
    const risk = lines.find((l) => l.event === "RiskTriggered");
    assert.equal(risk?.rule, "stop_loss", JSON.stringify(risk));
    assert.ok(Number(risk.price) < Number(avg) * 0.99, `${risk.price} is below the stop of ${avg}`);
    assert.equal(
      sb.accounts.allOrders().slice(before).filter((o) => o.side === "bid").length,
      0,
      "the bot bought nothing",
    );
  } finally {
    stop.abort();
    await sb.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("demo --kv refuses a store it did not create and leaves its files byte-equal", async () => {
  const { sb } = await sandboxHoldingBtc();
  const dir = await Deno.makeTempDir();
  try {
    // A live bot's store (stopped, its lock file left), a 0-byte file and a text file.
    await writeStore(`${dir}/live.kv`, async (store, kv) => {
      await store.createMeta(await metaOf({}));
      await store.openLedger("KRW-BTC", 100_000n * 100_000_000n);
      await kv.set(["events", 1, 0], { v: 1, pad: "x".repeat(100) });
    });
    await Deno.writeTextFile(`${dir}/live.kv.lock`, "12345\n");
    await Deno.writeFile(`${dir}/zero.kv`, new Uint8Array());
    await Deno.writeTextFile(`${dir}/notes.kv`, "my notes\n");
    await writeStore(`${dir}/paper.kv`, async (store) => {
      await store.createMeta(await metaOf({ mode: "paper", account: null }));
    });
    const cases = [
      ["live.kv", /is the store of a live bot \(bot bot\), not a store the demo created/],
      ["zero.kv", /is a 0-byte file, not a store the demo created/],
      ["notes.kv", /is not a readable store, not a store the demo created/],
      ["paper.kv", /is the store of a paper bot/],
    ] as const;
    for (const [name, reason] of cases) {
      const path = `${dir}/${name}`;
      const before = await filesOf(path);
      const ran = await run(sb, "demo", ["--kv", path, "--minutes", "0.05"]);
      assert.equal(ran.code, 2, name);
      assert.match(oneLine(ran.stderr), new RegExp(`^demo: --kv: ${path.replaceAll(".", "\\.")} `));
      assert.match(ran.stderr, reason);
      assert.deepEqual(await filesOf(path), before, `${name} is byte-equal`);
    }
    // Its own store (the marker says demo) is replaced.
    await writeStore(`${dir}/demo.kv`, async (store) => {
      await store.createMeta(await metaOf({ mode: "demo", account: null }));
    });
    const { checkDemoStore } = await import("../../../engine/adapters/kv_store.ts");
    await checkDemoStore(`${dir}/demo.kv`);
    await checkDemoStore(`${dir}/none.kv`);
  } finally {
    await sb.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a second demo on a locked store prints only the lock's one line, exit 2", async () => {
  const { sb } = await sandboxHoldingBtc();
  const dir = await Deno.makeTempDir();
  const { acquireInstanceLock } = await import("../../../engine/adapters/kv_store.ts");
  const held = await acquireInstanceLock(`${dir}/demo.kv`);
  try {
    const ran = await run(sb, "demo", ["--kv", `${dir}/demo.kv`, "--minutes", "0.05"]);
    assert.equal(ran.code, 2);
    assert.match(oneLine(ran.stderr), /^demo: Cannot open the store: another process \(pid /);
    assert.equal(ran.stdout, "", "no intro and no summary for a demo that did not start");
  } finally {
    held.release();
    await sb.close();
    await Deno.remove(dir, { recursive: true });
  }
});

const U = 100_000_000n;

/** A valid live store of the sandbox's account: meta, control, a filled buy, its intent, levels. */
async function baseline(path: string): Promise<void> {
  await writeStore(path, async (store) => {
    await store.createMeta(await metaOf({}));
    await store.setControl({ paused: false, reason: "test" }, 1);
    await store.openLedger("KRW-BTC", 1_000_000n * U);
    const intent = newIntent({
      price: 160_000n * U,
      identifier: "utbaseline",
      createdAtMs: 1,
      updatedAtMs: 1,
    });

    assert.ok((await store.createIntent(intent)).ok);
    const filled = {
      ...intent,
      state: "FILLED" as const,
      uuid: "order-1",
      filledVolume: U / 1000n,
      filledFunds: 160_000n * U,
      updatedAtMs: 2,
    };
    assert.ok((await store.updateIntent(intent, filled)).ok);
    const applied = await store.applyFills({
      market: "KRW-BTC",
      side: "bid",
      orderUuid: "order-1",
      intentId: intent.id,
      paidFee: 80n * U,
      trades: [{
        uuid: "trade-1",
        price: 160_000_000n * U,
        volume: U / 1000n,
        funds: 160_000n * U,
        createdAtMs: 2,
      }],
      feeBps: 5,
      atMs: 2,
    });
    assert.ok(applied.ok && applied.value.length === 1);
    const params = await store.setParam(
      { name: "stopLossPct", value: 3, actor: "ctl", atMs: 3 },
      0,
    );
    assert.equal(params?.version, 1);
    await store.putTraderState("bot", {
      guard: null,
      levels: { stop: 150_000_000n * U, target: 0n, highestPx: 160_000_000, entryMs: 2 },
      cooldownUntilMs: 0,
      lastDecisionMs: 0,
      lastPrice: 160_000_000,
      lastPriceAtMs: 2,
      updatedAtMs: 2,
    });
  });
}

type Corruption = readonly [
  what: string,
  key: string,
  field: string,
  mutate: (kv: Deno.Kv) => Promise<unknown>,
];

async function change(kv: Deno.Kv, key: Deno.KvKey, edit: (v: Record<string, unknown>) => unknown) {
  const entry = await kv.get<Record<string, unknown>>(key);
  assert.ok(entry.value !== null, `baseline has ${JSON.stringify(key)}`);
  await kv.set(key, edit(structuredClone(entry.value)));
}

const LEDGER = ["ledger", "KRW-BTC"];
const CONTROL = ["settings", "control"];
const INTENT = ["intent", "KRW-BTC:bid:s1"];
const FILL = ["fill", "order-1", "trade-1"];

const CORRUPTIONS: readonly Corruption[] = [
  ["null control", '["settings", "control"]', "(value)", (kv) => kv.set(CONTROL, null)],
  [
    "control paused as text",
    '["settings", "control"]',
    "paused",
    (kv) => change(kv, CONTROL, (v) => ({ ...v, paused: "no" })),
  ],
  ["control lost", '["settings", "control"]', "(value)", (kv) => kv.delete(CONTROL)],
  [
    "control of v 2",
    '["settings", "control"]',
    "v",
    (kv) => change(kv, CONTROL, (v) => ({ ...v, v: 2 })),
  ],
  [
    "negative cash",
    '["ledger", "KRW-BTC"]',
    "cash",
    (kv) => change(kv, LEDGER, (v) => ({ ...v, cash: "-99999999" })),
  ],
  [
    "negative qty",
    '["ledger", "KRW-BTC"]',
    "qty",
    (kv) => change(kv, LEDGER, (v) => ({ ...v, qty: "-1" })),
  ],
  [
    "cash as a number",
    '["ledger", "KRW-BTC"]',
    "cash",
    (kv) => change(kv, LEDGER, (v) => ({ ...v, cash: 5 })),
  ],
  [
    "ledger field missing",
    '["ledger", "KRW-BTC"]',
    "fees",
    (kv) => change(kv, LEDGER, ({ fees: _f, ...v }) => v),
  ],
  [
    "ledger != fills",
    '["ledger", "KRW-BTC"]',
    "cash",
    (kv) => change(kv, LEDGER, (v) => ({ ...v, cash: String(Number(v.cash) + 1000) })),
  ],
  ["a fill lost", '["ledger", "KRW-BTC"]', "cash", (kv) => kv.delete(FILL)],
  [
    "ledger of v 2",
    '["ledger", "KRW-BTC"]',
    "v",
    (kv) => change(kv, LEDGER, (v) => ({ ...v, v: 2 })),
  ],
  ["garbage meta", '["meta"]', "(value)", (kv) => kv.set(["meta"], "garbage")],
  [
    "meta of an unknown mode",
    '["meta"]',
    "mode",
    (kv) => change(kv, ["meta"], (v) => ({ ...v, mode: "moon" })),
  ],
  [
    "meta account not a hash",
    '["meta"]',
    "account",
    (kv) => change(kv, ["meta"], (v) => ({ ...v, account: 42 })),
  ],
  [
    "bad intent state",
    '["intent", "KRW-BTC:bid:s1"]',
    "state",
    (kv) => change(kv, INTENT, (v) => ({ ...v, state: "BOGUS" })),
  ],
  [
    "intent field missing",
    '["intent", "KRW-BTC:bid:s1"]',
    "identifier",
    (kv) => change(kv, INTENT, ({ identifier: _i, ...v }) => v),
  ],
  [
    "fill volume not a number",
    '["fill", "order-1", "trade-1"]',
    "volume",
    (kv) => change(kv, FILL, (v) => ({ ...v, volume: "abc" })),
  ],
  [
    "negative fill price",
    '["fill", "order-1", "trade-1"]',
    "price",
    (kv) => change(kv, FILL, (v) => ({ ...v, price: "-5" })),
  ],
  [
    "negative balance",
    '["balance", "KRW"]',
    "amount",
    (kv) => kv.set(["balance", "KRW"], { v: 1, amount: "-5" }),
  ],
  [
    "bad stop level",
    '["trader", "bot"]',
    "levels.stop",
    (kv) =>
      change(
        kv,
        ["trader", "bot"],
        (v) => ({ ...v, levels: { ...v.levels as object, stop: "x" } }),
      ),
  ],
  [
    "bad order fee record",
    '["order", "order-1"]',
    "feesApplied",
    (kv) => change(kv, ["order", "order-1"], (v) => ({ ...v, feesApplied: "oops" })),
  ],
  [
    "day P&L of the wrong type",
    '["pnl_day", 0]',
    "amount",
    (kv) => kv.set(["pnl_day", 0], { v: 1, amount: true }),
  ],
  [
    "state index to nowhere",
    '["intent_by_state", "OPEN", "ghost"]',
    "id",
    (kv) => kv.set(["intent_by_state", "OPEN", "ghost"], { v: 1, id: "ghost" }),
  ],
  [
    "null run-time parameters",
    '["settings", "params"]',
    "(value)",
    (kv) => kv.set(["settings", "params"], null),
  ],
  [
    "run-time parameters lost",
    '["settings", "params"]',
    "(value)",
    (kv) => kv.delete(["settings", "params"]),
  ],
  [
    "garbage run record",
    '["settings", "run"]',
    "(value)",
    (kv) => kv.set(["settings", "run"], [1, 2, 3]),
  ],
  [
    "negative reservation",
    '["account", "reservations"]',
    "list.0.amountKrw",
    (kv) =>
      kv.set(["account", "reservations"], {
        v: 1,
        list: [{ market: "KRW-BTC", intentId: "x", amountKrw: "-1", atMs: 0 }],
      }),
  ],
];

Deno.test("corrupt stored values refuse the start naming key and field; none trades", async () => {
  assert.ok(CORRUPTIONS.length >= 20);
  const { sb } = await sandboxHoldingBtc();
  const dir = await Deno.makeTempDir();
  try {
    const base = `${dir}/base.kv`;
    await baseline(base);
    const before = ordersOf(sb);
    for (const [i, [what, key, field, mutate]] of CORRUPTIONS.entries()) {
      const path = `${dir}/case${i}.kv`;
      await Deno.copyFile(base, path);
      await writeStore(path, async (_store, kv) => {
        await mutate(kv);
      });
      const ran = await live(sb, path);
      assert.equal(ran.code, 2, `${what}: ${ran.stderr}`);
      const line = oneLine(ran.stderr);
      assert.ok(
        line.startsWith(`live: store key ${key}, field ${field}: `),
        `${what}: ${line}`,
      );
      assert.match(line, /; nothing was traded$/, what);
    }
    assert.equal(ordersOf(sb), before, "no order reached the sandbox");

    // The uncorrupted baseline starts (so each refusal above is the corruption's).
    const stop = new AbortController();
    const running = run(sb, "live", [
      "--i-understand-real-money",
      "--kv",
      base,
      "--timeframe",
      "1h",
    ], stop.signal);
    for (let i = 0; i < 100; i++) {
      if (await Deno.stat(`${base}.ctl.json`).then(() => true, () => false)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    stop.abort();
    const ok = await ticking(sb, running);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /live: trading KRW-BTC/);
  } finally {
    await sb.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("live on a new store: open orders, --ignore-holdings, a store without owner, another bot id", async () => {
  const { sb, btc } = await sandboxHoldingBtc();
  const dir = await Deno.makeTempDir();
  const stop = new AbortController();
  try {
    // A resting sell far above the market: an open order the new store would not know.
    const resting = sb.accounts.placeOrder(DEFAULT_ACCOUNT, {
      market: "KRW-BTC",
      side: "ask",
      ord_type: "limit",
      price: "900000000",
      volume: "0.0001",
    });
    assert.ok(resting.ok);
    const orders = ordersOf(sb);
    const busy = await live(sb, `${dir}/busy.kv`);
    assert.equal(busy.code, 2);
    assert.match(
      oneLine(busy.stderr),
      /already holds [\d.]+ BTC and 1 open order on KRW-BTC: pass --adopt/,
    );
    const adopt = await live(sb, `${dir}/adopt.kv`, ["--adopt"]);
    assert.equal(adopt.code, 2);
    assert.equal(
      oneLine(adopt.stderr),
      "live: --adopt: 1 open order on KRW-BTC: cancel them first (or --ignore-holdings)",
    );
    assert.ok(sb.accounts.cancelOrder(DEFAULT_ACCOUNT, { uuid: resting.value.uuid }).ok);

    await writeStore(`${dir}/legacy.kv`, async (store) => {
      await store.openLedger("KRW-BTC", 100_000n * U);
    });
    const legacy = await live(sb, `${dir}/legacy.kv`);
    assert.equal(legacy.code, 2);
    assert.match(oneLine(legacy.stderr), /legacy\.kv has state but no owner record \(meta\)/);
    await writeStore(`${dir}/other-bot.kv`, async (store) => {
      await store.createMeta(await metaOf({ botId: "alpha" }));
    });
    const otherBot = await live(sb, `${dir}/other-bot.kv`);
    assert.equal(otherBot.code, 2);
    assert.match(oneLine(otherBot.stderr), /is the store of bot alpha, not bot \(--bot-id\)$/);
    assert.equal(ordersOf(sb), orders + 0, "no order reached the sandbox");

    // --ignore-holdings: the BTC stays untouched through the drop that made --adopt sell it.
    const kv = `${dir}/ignore.kv`;
    const running = run(sb, "live", [
      "--i-understand-real-money",
      "--kv",
      kv,
      "--ignore-holdings",
      "--timeframe",
      "1h",
      "--stop-loss",
      "1",
      "--take-profit",
      "0",
    ], stop.signal);
    for (let i = 0; i < 3 * 60; i++) {
      await new Promise((r) => setTimeout(r, i < 20 ? 250 : 15));
      sb.replay.advanceBy(60_000);
    }
    await new Promise((r) => setTimeout(r, 500));
    stop.abort();
    const ran = await ticking(sb, running);
    assert.equal(ran.code, 0, ran.stderr);
    assert.match(ran.stdout, /leaving [\d.]+ BTC alone \(--ignore-holdings\)/);
    // The bot may trade its own entries; it never sells more than it bought.
    const mine = sb.accounts.allOrders().slice(orders);
    const volume = (side: string) =>
      mine.filter((o) => o.side === side).reduce((s, o) => s + o.executedVolume, 0n);
    assert.ok(volume("ask") <= volume("bid"), "the ignored BTC was never sold");
    const held = sb.accounts.accountsJson(DEFAULT_ACCOUNT).find((a) => a.currency === "BTC");
    assert.ok(Number(held?.balance) + Number(held?.locked) >= Number(btc));
    await writeStore(kv, async (store) => {
      const meta = await store.getMeta();
      assert.equal(meta?.external.BTC, formatUnits(BigInt(Math.round(Number(btc) * 1e8))));
      assert.equal(meta?.mode, "live");
      assert.equal(meta?.account, await accountHash(DEMO_ACCESS_KEY));
    });
  } finally {
    stop.abort();
    await sb.close();
    await Deno.remove(dir, { recursive: true });
  }
});
