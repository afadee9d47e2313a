/**
 * `deno task preflight` over real HTTP: a sandbox on 127.0.0.1:0 (keys with Upbit's permission
 * groups), the fake Telegram Bot API and real Deno KV files. Each test breaks one thing (a key
 * that may read withdrawals, a key that may not order, a skewed clock, a cap above the balance,
 * Telegram down, a store of another account, a bad setting) and checks that exactly that line
 * fails, with the exit code; the all-pass case checks that nothing was ordered or written.
 */

import assert from "node:assert/strict";
import { createPreflightProbes } from "../../../engine/adapters/preflight_probes.ts";
import { accountHash, KvStore } from "../../../engine/adapters/kv_store.ts";
import { runPreflightCommand } from "../../../engine/cli/preflight_command.ts";
import { createSandbox, type Sandbox } from "../../../engine/sandbox/mod.ts";
import type { Permission } from "../../../engine/sandbox/auth.ts";
import { type FakeBotApi, startFakeBotApi } from "../telegram/_fake_bot_api.ts";
import { DATA_FILES } from "../adapters/upbit/_sandbox.ts";

const TRADER = {
  access: "PFTRADERACCESSKEY00000000000000000000000",
  secret: "PFTRADERSECRET0000000000000000000000000000",
};
const WITHDRAWER = {
  access: "PFWITHDRAWACCESS00000000000000000000000",
  secret: "PFWITHDRAWSECRET0000000000000000000000000",
};
const VIEWER = {
  access: "PFVIEWERACCESSKEY00000000000000000000000",
  secret: "PFVIEWERSECRET0000000000000000000000000000",
};

interface World {
  readonly sandbox: Sandbox;
  readonly telegram: FakeBotApi;
  readonly dir: string;
  close(): Promise<void>;
}

async function world(options: { readonly krw?: string } = {}): Promise<World> {
  const key = (k: { access: string; secret: string }, permissions?: Permission[]) => ({
    accessKey: k.access,
    secretKey: k.secret,
    accountId: "default",
    ...(permissions === undefined ? {} : { permissions }),
  });
  const sandbox = await createSandbox({
    port: 0,
    manualClock: true,
    dataFiles: DATA_FILES,
    startAt: "2025-08-01T06:00:00Z",
    balances: { KRW: options.krw ?? "10000000" },
    accounts: [
      key(TRADER),
      key(WITHDRAWER, ["view_assets", "view_orders", "place_orders", "view_withdrawals"]),
      key(VIEWER, ["view_assets", "view_orders"]),
    ],
  });
  const telegram = await startFakeBotApi();
  const dir = await Deno.makeTempDir({ prefix: "preflight_" });
  return {
    sandbox,
    telegram,
    dir,
    async close() {
      await telegram.close();
      await sandbox.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

interface Run {
  readonly code: number;
  readonly out: string;
  readonly err: string;
  /** The checklist's lines by name (`keys`, `clock`, `KRW-BTC`, …): the mark and the text. */
  readonly lines: Map<string, string>;
}

async function preflight(
  w: World,
  options: {
    readonly key?: { access: string; secret: string };
    readonly env?: Record<string, string>;
    readonly args?: string[];
    readonly skewMs?: number;
    readonly telegram?: boolean;
    /** The user's folder (default the world's). */
    readonly userCwd?: string;
  } = {},
): Promise<Run> {
  const key = options.key ?? TRADER;
  const env: Record<string, string> = {
    UPBIT_ACCESS_KEY: key.access,
    UPBIT_SECRET_KEY: key.secret,
    UPBIT_REST_URL: w.sandbox.restUrl,
    UPBIT_WS_URL: w.sandbox.wsUrl,
    MARKETS: "KRW-BTC,KRW-XRP",
    CAPITAL_KRW: "100000",
    DENO_KV_PATH: `${w.dir}/bot.kv`,
    UPBIT_TRADER_REAL_MONEY: "yes",
    ...(options.telegram === false ? {} : {
      TELEGRAM_BOT_TOKEN: w.telegram.token,
      TELEGRAM_OWNER_ID: "42",
      TELEGRAM_MODE: "polling",
      TELEGRAM_API_ROOT: w.telegram.apiRoot,
    }),
    ...options.env,
  };
  let out = "";
  let err = "";
  const code = await runPreflightCommand(options.args ?? [], {
    stdout: (t) => out += t,
    stderr: (t) => err += t,
    env,
    userCwd: options.userCwd ?? w.dir,
    cwd: w.dir,
    nowMs: () => Date.now() + (options.skewMs ?? 0),
    probes: createPreflightProbes,
  });
  const lines = new Map<string, string>();
  for (const line of out.split("\n")) {
    const m = /^([✓!✗]) (\S+)\s+(.*)$/.exec(line);
    if (m !== null) lines.set(m[2]!, `${m[1]} ${m[3]}`);
  }
  return { code, out, err, lines };
}

/** The names of the lines with `mark`. */
function marked(run: Run, mark: string): string[] {
  return [...run.lines].filter(([, v]) => v.startsWith(mark)).map(([k]) => k);
}

Deno.test("preflight: all checks pass against the sandbox; nothing is ordered or written", async () => {
  const w = await world();
  try {
    const run = await preflight(w);
    assert.equal(run.code, 0, run.out + run.err);
    assert.deepEqual(marked(run, "✗"), [], run.out);
    assert.deepEqual(marked(run, "!"), [], run.out);
    for (
      const name of [
        "keys",
        "withdrawals",
        "clock",
        "capital",
        "real-money",
        "plan",
        "KRW-BTC",
        "KRW-XRP",
        "telegram",
        "store",
        "disk",
      ]
    ) {
      assert.ok(run.lines.get(name)?.startsWith("✓"), `${name} passes:\n${run.out}`);
    }
    const account = await accountHash(TRADER.access);
    assert.match(run.lines.get("keys")!, new RegExp(`account ${account}`));
    assert.match(run.lines.get("withdrawals")!, /out_of_scope/);
    assert.match(run.lines.get("capital")!, /may commit at most 100,000 KRW/);
    assert.match(run.lines.get("KRW-BTC")!, /first buy 99,950 KRW .*orders\/test accepted it/);
    assert.match(run.lines.get("telegram")!, /@upbit_trader_test_bot/);
    assert.match(run.lines.get("store")!, /new store/);
    assert.match(run.out, /11 passed, 0 warnings, 0 failed: ready/);
    // Read-only: no order, no store file, only getMe on Telegram.
    assert.equal(w.sandbox.accounts.allOrders().length, 0);
    assert.deepEqual([...Deno.readDirSync(w.dir)], []);
    assert.deepEqual(w.telegram.calls.map((c) => c.method), ["getMe"]);
    // No secret in the output.
    for (const s of [TRADER.access, TRADER.secret, w.telegram.token]) {
      assert.ok(!run.out.includes(s) && !run.err.includes(s), "a secret was printed");
    }
  } finally {
    await w.close();
  }
});

Deno.test("preflight: a key that may read withdrawals fails", async () => {
  const w = await world();
  try {
    const run = await preflight(w, { key: WITHDRAWER });
    assert.equal(run.code, 1, run.out);
    assert.deepEqual(marked(run, "✗"), ["withdrawals"], run.out);
    assert.match(run.out, /→ a trading key needs no withdrawal group/);
  } finally {
    await w.close();
  }
});

Deno.test("preflight: a key without 주문하기 fails on every market (orders/test out_of_scope)", async () => {
  const w = await world();
  try {
    const run = await preflight(w, { key: VIEWER });
    assert.equal(run.code, 1, run.out);
    assert.deepEqual(marked(run, "✗"), ["KRW-BTC", "KRW-XRP"], run.out);
    assert.match(run.lines.get("KRW-BTC")!, /orders\/test refused it: out_of_scope/);
  } finally {
    await w.close();
  }
});

Deno.test("preflight: a clock 30 s ahead fails; 3 s warns", async () => {
  const w = await world();
  try {
    const bad = await preflight(w, { skewMs: 30_000 });
    assert.equal(bad.code, 1, bad.out);
    assert.deepEqual(marked(bad, "✗"), ["clock"], bad.out);
    assert.match(bad.lines.get("clock")!, /(29|3\d)\.\d s ahead of the exchange/);
    const late = await preflight(w, { skewMs: -3_500 });
    assert.equal(late.code, 0, late.out);
    assert.deepEqual(marked(late, "!"), ["clock"], late.out);
    assert.match(late.lines.get("clock")!, /behind the exchange/);
  } finally {
    await w.close();
  }
});

Deno.test("preflight: a cap above the account's KRW fails, naming what to deposit", async () => {
  const w = await world({ krw: "60000" });
  try {
    const run = await preflight(w);
    assert.equal(run.code, 1, run.out);
    assert.ok(marked(run, "✗").includes("capital"), run.out);
    assert.match(run.out, /→ deposit 40,000 KRW, or lower CAPITAL_KRW to 60,000 or less/);
  } finally {
    await w.close();
  }
});

Deno.test("preflight: an unknown market is blamed on MARKETS, not on the keys or the clock", async () => {
  const w = await world({});
  try {
    const run = await preflight(w, { env: { MARKETS: "KRW-NOPE" } });
    assert.equal(run.code, 1, run.out);
    assert.ok(run.lines.get("keys")!.startsWith("✓"), run.out);
    assert.match(run.lines.get("capital")!, /^✗ .*the markets' prices cannot be read/);
    assert.match(
      run.lines.get("clock")!,
      /^! cannot be checked: GET \/v1\/ticker\?markets=KRW-NOPE/,
    );
    assert.ok(!run.out.includes("fix the keys first"), run.out);
    assert.ok(!run.out.includes("→ make sure NTP runs"), run.out);
    assert.match(run.out, /→ check MARKETS \(see the markets line below\)/);
  } finally {
    await w.close();
  }
});

Deno.test("preflight: Telegram down fails; Telegram not configured warns", async () => {
  const w = await world();
  try {
    await w.telegram.setFault({ kind: "down" });
    const down = await preflight(w);
    assert.equal(down.code, 1, down.out);
    assert.deepEqual(marked(down, "✗"), ["telegram"], down.out);
    assert.match(down.lines.get("telegram")!, /getMe failed: no answer/);
    const none = await preflight(w, { telegram: false });
    assert.equal(none.code, 0, none.out);
    assert.deepEqual(marked(none, "!"), ["telegram"], none.out);
    assert.match(none.lines.get("telegram")!, /skipped: not configured/);
  } finally {
    await w.close();
  }
});

Deno.test("preflight: a store of another account or of paper fails; this account's passes", async () => {
  const w = await world();
  const path = `${w.dir}/bot.kv`;
  const meta = async (account: string, mode: "live" | "paper") => {
    await Deno.remove(path).catch(() => {});
    const kv = await Deno.openKv(path);
    await new KvStore(kv).createMeta({
      botId: "bot",
      mode,
      markets: ["KRW-BTC"],
      account,
      createdAtMs: Date.UTC(2026, 10, 1),
      updatedAtMs: Date.UTC(2026, 10, 2),
      external: {},
    });
    kv.close();
  };
  try {
    await meta("0123456789abcdef", "live");
    const other = await preflight(w);
    assert.equal(other.code, 1, other.out);
    assert.deepEqual(marked(other, "✗"), ["store"], other.out);
    assert.match(other.lines.get("store")!, /belongs to another Upbit account/);
    await meta(await accountHash(TRADER.access), "paper");
    const paper = await preflight(w);
    assert.match(paper.lines.get("store")!, /^✗ .*store of a paper bot/);
    await meta(await accountHash(TRADER.access), "live");
    const mine = await preflight(w);
    assert.equal(mine.code, 0, mine.out);
    assert.match(mine.lines.get("store")!, /^✓ .*bot bot, live, .*last started 2026-11-02/);
  } finally {
    await w.close();
  }
});

Deno.test("preflight: --kv starts in the user's folder, DENO_KV_PATH in the project's (as live)", async () => {
  const w = await world();
  try {
    const userCwd = `${w.dir}/sub`;
    const flag = await preflight(w, { userCwd, args: ["--kv", "mine.kv"] });
    assert.match(flag.lines.get("store")!, new RegExp(`new store at ${userCwd}/mine\\.kv`));
    const variable = await preflight(w, { userCwd, env: { DENO_KV_PATH: "env.kv" } });
    assert.match(variable.lines.get("store")!, new RegExp(`new store at ${w.dir}/env\\.kv`));
  } finally {
    await w.close();
  }
});

Deno.test("preflight: a bad setting is one line naming it, exit 2, before any request", async () => {
  const w = await world();
  try {
    for (
      const [env, expected] of [
        [{ CAPITAL_KRW: "lots" }, /^preflight: CAPITAL_KRW: /],
        [{ UPBIT_SECRET_KEY: "" }, /^preflight: UPBIT_SECRET_KEY: missing/],
        [{ TELEGRAM_OWNER_ID: "me" }, /^preflight: TELEGRAM_OWNER_ID: /],
        [{ CAPITAL_KRW: "5000000" }, /^preflight: CAPITAL_KRW: 5000000 KRW is over the live limit/],
      ] as const
    ) {
      const run = await preflight(w, { env });
      assert.equal(run.code, 2, run.err);
      assert.equal(run.out, "");
      assert.equal(run.err.split("\n").filter((l) => l !== "").length, 1, run.err);
      assert.match(run.err, expected);
    }
    assert.equal(w.telegram.calls.length, 0);
  } finally {
    await w.close();
  }
});

Deno.test("preflight: without the real-money switch it warns, and still checks", async () => {
  const w = await world();
  try {
    const run = await preflight(w, { env: { UPBIT_TRADER_REAL_MONEY: "" } });
    assert.equal(run.code, 0, run.out);
    assert.deepEqual(marked(run, "!"), ["real-money"], run.out);
  } finally {
    await w.close();
  }
});

const ROOT = new URL("../../../", import.meta.url).pathname;

Deno.test("preflight: the task's own permissions are enough (a real process, a store under ./data)", async () => {
  const w = await world();
  const kvPath = `data/preflight-task-${Deno.pid}.kv`;
  try {
    // An existing live store of this account: opening it must work under --allow-write=./data.
    const kv = await Deno.openKv(`${ROOT}${kvPath}`);
    await new KvStore(kv).createMeta({
      botId: "bot",
      mode: "live",
      markets: ["KRW-BTC"],
      account: await accountHash(TRADER.access),
      createdAtMs: Date.UTC(2026, 10, 1),
      updatedAtMs: Date.UTC(2026, 10, 2),
      external: {},
    });
    kv.close();
    const task: string = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`)).tasks.preflight;
    const words = task.split(/\s+/);
    assert.equal(words[0], "deno");
    const out = await new Deno.Command(Deno.execPath(), {
      args: words.slice(1),
      cwd: ROOT,
      clearEnv: true,
      env: {
        PATH: Deno.env.get("PATH") ?? "",
        HOME: Deno.env.get("HOME") ?? "/tmp",
        ...(Deno.env.get("DENO_DIR") === undefined ? {} : { DENO_DIR: Deno.env.get("DENO_DIR")! }),
        NO_COLOR: "1",
        UPBIT_ACCESS_KEY: TRADER.access,
        UPBIT_SECRET_KEY: TRADER.secret,
        UPBIT_REST_URL: w.sandbox.restUrl,
        UPBIT_WS_URL: w.sandbox.wsUrl,
        MARKETS: "KRW-BTC",
        CAPITAL_KRW: "100000",
        DENO_KV_PATH: `./${kvPath}`,
        UPBIT_TRADER_REAL_MONEY: "yes",
        BOT_ID: "bot",
        TELEGRAM_BOT_TOKEN: w.telegram.token,
        TELEGRAM_OWNER_ID: "42",
        TELEGRAM_MODE: "polling",
        TELEGRAM_API_ROOT: w.telegram.apiRoot,
      },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    const errText = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, text + errText);
    assert.match(text, /^✓ store +.*bot bot, live, account [0-9a-f]{16}/m);
    assert.match(text, /^✓ disk +[\d.]+ GiB free/m);
    assert.match(text, /^✓ telegram +getMe answered/m);
    assert.match(text, /0 warnings, 0 failed: ready/);
    assert.ok(!text.includes(TRADER.access) && !errText.includes(TRADER.secret));
  } finally {
    for (const suffix of ["", "-wal", "-shm"]) {
      await Deno.remove(`${ROOT}${kvPath}${suffix}`).catch(() => {});
    }
    await w.close();
  }
});
