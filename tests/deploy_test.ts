/**
 * The systemd deployment (deploy/upbit-trader.service, `deno task install-service`), tested without
 * root or systemd: the installer writes into a staging root, every path the unit names exists,
 * the secrets file is 0600 in a 0700 folder and survives a re-install, `systemd-analyze verify`
 * (when present) finds nothing; and a supervisor that does what systemd does (the unit's
 * ExecStart in its WorkingDirectory with its EnvironmentFile, SIGTERM to the whole group) stops
 * a trading paper bot cleanly within TimeoutStopSec, and a restart resumes the very same state;
 * a live bot stopped with its order in flight records it and the restart settles it with the
 * exchange; and with the file system as the unit leaves it (checkout and Deno's cache read-only,
 * only ./data writable, a private /tmp; in a mount namespace, when root) the bot trades and stops.
 */

import assert from "node:assert/strict";
import { parseEnv } from "node:util";
import { USAGE } from "../deploy/install_service.ts";
import { KvStore } from "../engine/adapters/kv_store.ts";
import { INTENT_STATES } from "../engine/ports.ts";
import type { FaultSpec } from "../engine/sandbox/faults.ts";
import {
  createSandbox,
  DEFAULT_ACCOUNT,
  DEMO_ACCESS_KEY,
  DEMO_SECRET_KEY,
} from "../engine/sandbox/mod.ts";
import { readOutput } from "./_child_output.ts";
import { storeProblems, storeSnapshot } from "./_store_check.ts";

const ROOT = decodeURIComponent(new URL("../", import.meta.url).pathname).replace(/\/$/, "");
const FILE = `${ROOT}/data/upbit-KRW-BTC-1m-20220531-20220607.csv`;

/** `deno task install-service <args>` in the checkout: exit code and output. */
async function installService(
  args: readonly string[],
): Promise<{ code: number; out: string; err: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "install-service", ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: out.code, out: d.decode(out.stdout), err: d.decode(out.stderr) };
}

/** The unit's `Key=value` settings (every value of a key, in order). */
function unitSettings(text: string): Map<string, string[]> {
  const settings = new Map<string, string[]>();
  for (const line of text.split("\n")) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (m === null) continue;
    settings.set(m[1]!, [...settings.get(m[1]!) ?? [], m[2]!]);
  }
  return settings;
}

function one(settings: Map<string, string[]>, key: string): string {
  const values = settings.get(key) ?? [];
  assert.equal(values.length, 1, `${key}: expected one value, got ${values.length}`);
  return values[0]!;
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

async function modeOf(path: string): Promise<number> {
  return (await Deno.stat(path)).mode! & 0o777;
}

/** A staging install: the root, the unit's text and settings. */
async function stagedInstall(
  root: string,
  args: readonly string[] = [],
): Promise<{ unit: string; settings: Map<string, string[]>; out: string }> {
  const r = await installService(["--root", root, ...args]);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.err, "");
  const unit = await Deno.readTextFile(`${root}/etc/systemd/system/upbit-trader.service`);
  return { unit, settings: unitSettings(unit), out: r.out };
}

Deno.test("install-service into a staging root: every path the unit names exists, secrets 0600, verify clean", async () => {
  const root = await Deno.makeTempDir({ prefix: "deploy_root_" });
  try {
    const { unit, settings, out } = await stagedInstall(root, ["--mode", "live"]);
    assert.equal(await modeOf(`${root}/etc/systemd/system/upbit-trader.service`), 0o644);
    // What the unit must say.
    assert.equal(one(settings, "Restart"), "on-failure");
    assert.ok(Number(one(settings, "RestartSec")) >= 5);
    assert.equal(one(settings, "RestartPreventExitStatus"), "2");
    assert.equal(one(settings, "User"), "upbit-trader");
    assert.equal(one(settings, "KillSignal"), "SIGTERM");
    assert.equal(one(settings, "KillMode"), "control-group");
    assert.ok(Number(one(settings, "TimeoutStopSec")) >= 30);
    assert.equal(one(settings, "StandardOutput"), "journal");
    for (const key of ["NoNewPrivileges", "ProtectHome", "PrivateTmp"]) {
      assert.equal(one(settings, key), "true", key);
    }
    assert.equal(one(settings, "ProtectSystem"), "strict");
    assert.equal(one(settings, "WorkingDirectory"), ROOT);
    assert.equal(one(settings, "ReadWritePaths"), `${ROOT}/data`, "the data folder only");
    assert.equal(one(settings, "ExecStart"), `${Deno.execPath()} task live`);
    assert.doesNotMatch(unit, /@[A-Z_]+@/, "every placeholder filled");

    // Every path it names: the code and deno as they are, what the installer made under the root.
    const [exe] = one(settings, "ExecStart").split(" ");
    assert.ok(await exists(exe!), `ExecStart ${exe}`);
    assert.ok(await exists(`${one(settings, "WorkingDirectory")}/main.ts`));
    const envFile = one(settings, "EnvironmentFile");
    const denoDir = settings.get("Environment")!.find((e) => e.startsWith("DENO_DIR="))!
      .slice("DENO_DIR=".length);
    assert.equal(await modeOf(`${root}${envFile}`), 0o600, "the secrets file");
    assert.equal(await modeOf(`${root}${envFile.replace(/\/[^/]+$/, "")}`), 0o700);
    assert.equal(await modeOf(`${root}${one(settings, "ReadWritePaths")}`), 0o700);
    assert.equal(await modeOf(`${root}${denoDir}`), 0o700);
    // The service user can reach its folders: their parents are 0755.
    assert.equal(await modeOf(`${root}${denoDir.replace(/\/[^/]+$/, "")}`), 0o755);
    const env = parseEnv(await Deno.readTextFile(`${root}${envFile}`));
    assert.equal(env.LOG_FORMAT, "json");
    assert.equal(env.UPBIT_SECRET_KEY, undefined, "no secret filled in");
    assert.match(out, /systemctl daemon-reload\n.*systemctl enable --now upbit-trader\n/);
    assert.match(out, /journalctl -u upbit-trader -f/);
    // A staging root creates no user: without one, the output does not claim it owns ./data.
    const user = await new Deno.Command("getent", { args: ["passwd", "upbit-trader"] }).output();
    if (!user.success) {
      assert.match(out, /data \(mode 700, owner unchanged: (no user upbit-trader here|not root)\)/);
    }

    // A re-install keeps the filled-in secrets file and puts its mode back to 0600.
    await Deno.writeTextFile(`${root}${envFile}`, "UPBIT_SECRET_KEY=kept\n");
    await Deno.chmod(`${root}${envFile}`, 0o644);
    await stagedInstall(root, ["--mode", "live"]);
    assert.equal(await Deno.readTextFile(`${root}${envFile}`), "UPBIT_SECRET_KEY=kept\n");
    assert.equal(await modeOf(`${root}${envFile}`), 0o600);

    // systemd's own check: exit 0 and not one warning (a misspelt value only warns).
    const verify = await new Deno.Command("systemd-analyze", {
      args: ["verify", `${root}/etc/systemd/system/upbit-trader.service`],
      stdout: "piped",
      stderr: "piped",
    }).output().catch(() => undefined);
    if (verify !== undefined) {
      const said = new TextDecoder().decode(verify.stderr) +
        new TextDecoder().decode(verify.stdout);
      assert.equal(verify.code, 0, said);
      assert.equal(said, "");
    }

    // The compiled binary instead of deno task.
    const binary = `${root}/upbit-trader`;
    await Deno.copyFile(Deno.execPath(), binary);
    const compiled = await stagedInstall(root, ["--binary", binary]);
    assert.equal(one(compiled.settings, "ExecStart"), `${binary} paper`);
    assert.equal(one(compiled.settings, "Description"), "upbit-trader (paper)");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test({
  name:
    "install-service as root: the service user owns ./data and what it holds; the secrets stay root's",
  ignore: Deno.build.os !== "linux" || Deno.uid() !== 0,
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "deploy_root_" });
    try {
      // An existing user (a staging root never creates one); a store made before by root.
      const nobody = await new Deno.Command("id", { args: ["-u", "nobody"], stdout: "piped" })
        .output();
      const uid = Number(new TextDecoder().decode(nobody.stdout).trim());
      await Deno.mkdir(`${root}${ROOT}/data/old`, { recursive: true });
      await Deno.writeTextFile(`${root}${ROOT}/data/old/bot.kv`, "a store made before");
      const { settings } = await stagedInstall(root, ["--user", "nobody"]);
      assert.equal(one(settings, "User"), "nobody");
      for (const path of ["", "/old", "/old/bot.kv"]) {
        assert.equal((await Deno.stat(`${root}${ROOT}/data${path}`)).uid, uid, `data${path}`);
      }
      const denoDir = settings.get("Environment")!.find((e) => e.startsWith("DENO_DIR="))!;
      assert.equal((await Deno.stat(`${root}${denoDir.slice("DENO_DIR=".length)}`)).uid, uid);
      const envFile = `${root}${one(settings, "EnvironmentFile")}`;
      assert.equal((await Deno.stat(envFile)).uid, 0, "root's: systemd reads it");
      assert.equal((await Deno.stat(envFile.replace(/\/[^/]+$/, ""))).uid, 0);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test("install-service: --dry-run writes nothing; a mistake is one line, exit 2, nothing written", async () => {
  const root = await Deno.makeTempDir({ prefix: "deploy_root_" });
  try {
    const help = await installService(["--help"]);
    assert.equal(help.code, 0);
    assert.equal(help.out, USAGE);
    const dry = await installService(["--root", root, "--dry-run"]);
    assert.equal(dry.code, 0, dry.err);
    assert.match(dry.out, /ExecStart=.* task paper\n/);
    assert.match(dry.out, /would write .*\/etc\/upbit-trader\/env \(mode 600/);
    const cases: [string[], RegExp][] = [
      [["--mode", "demo"], /^install-service: --mode: demo: expected paper or live$/],
      [
        ["--dir", "/root/upbit-trader"],
        /--dir: \/root\/upbit-trader is under \/root, which ProtectHome hides/,
      ],
      [["--dir", "/opt/nothing-here"], /\/opt\/nothing-here\/main\.ts: not found/],
      [
        ["--binary", "/opt/nothing-here/upbit-trader"],
        /^install-service: --binary: \/opt\/nothing-here\/upbit-trader: not found \(build it with deno task compile\)$/,
      ],
      [
        ["--binary", "relative/upbit-trader"],
        /the executable: relative\/upbit-trader: must be an absolute path/,
      ],
      [["--user", "Bad User"], /--user: Bad User: expected a system user name/],
      [["--root", ""], /--root: must not be empty/],
      [["--moed", "paper"], /^install-service: Unknown option '--moed'/],
    ];
    for (const [args, reason] of cases) {
      const r = await installService(["--root", root, ...args]);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.err}`);
      assert.equal(r.out, "");
      assert.equal(r.err.split("\n").length, 2, r.err);
      assert.match(r.err.trimEnd(), reason);
    }
    assert.deepEqual(await Array.fromAsync(Deno.readDir(root)), [], "nothing written");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

/**
 * What an operator writes into the staged env file (`lines`), then the environment systemd gives
 * the unit: its EnvironmentFile and its Environment= lines (DENO_DIR stays this machine's cache:
 * the staged one is empty until `deno cache` fills it).
 */
async function unitEnvironment(
  root: string,
  settings: Map<string, string[]>,
  lines: readonly string[],
): Promise<Record<string, string>> {
  const envFile = `${root}${one(settings, "EnvironmentFile")}`;
  await Deno.writeTextFile(envFile, [await Deno.readTextFile(envFile), ...lines, ""].join("\n"));
  const env: Record<string, string> = { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" };
  for (const line of settings.get("Environment") ?? []) {
    const [name, ...value] = line.split("=");
    if (name !== "DENO_DIR") env[name!] = value.join("=");
  }
  const fromFile = parseEnv(await Deno.readTextFile(envFile));
  for (const [name, value] of Object.entries(fromFile)) env[name] = String(value);
  env.HOME = Deno.env.get("HOME") ?? "/tmp";
  const denoDir = Deno.env.get("DENO_DIR");
  if (denoDir !== undefined) env.DENO_DIR = denoDir;
  return env;
}

/** A child started as the unit starts it, in its own process group (as systemd's cgroup). */
interface Service {
  readonly child: Deno.ChildProcess;
  out(): string;
  waitFor(pattern: RegExp, what: string, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** SIGTERM to the group; the exit status, its time and the whole output. */
  terminate(
    timeoutStopMs: number,
  ): Promise<{ code: number; stopMs: number; killed: boolean; out: string; err: string }>;
}

function startService(
  settings: Map<string, string[]>,
  env: Record<string, string>,
  extraArgs: readonly string[] = [],
): Service {
  const [exe, ...args] = one(settings, "ExecStart").split(" ");
  const child = new Deno.Command("setsid", {
    args: [exe!, ...args, ...extraArgs],
    cwd: one(settings, "WorkingDirectory"),
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = readOutput(child);
  return {
    child,
    out: output.out,
    waitFor: (pattern, what, timeoutMs = 90_000) => output.waitFor(pattern, what, timeoutMs),
    async terminate(timeoutStopMs) {
      const sent = performance.now();
      Deno.kill(-child.pid, "SIGTERM");
      let killed = false;
      // What systemd does after TimeoutStopSec: SIGKILL (then the test fails on `killed`).
      const timer = setTimeout(() => {
        killed = true;
        Deno.kill(-child.pid, "SIGKILL");
      }, timeoutStopMs);
      const status = await child.status;
      const stopMs = performance.now() - sent;
      clearTimeout(timer);
      await output.done;
      return { code: status.code, stopMs, killed, out: output.out(), err: output.err() };
    },
  };
}

Deno.test({
  name:
    "the unit's SIGTERM stops a trading paper bot cleanly within TimeoutStopSec; a restart resumes its state",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "deploy_root_" });
    const storeDir = `${ROOT}/data/deploy-test-${Deno.pid}`;
    await Deno.mkdir(storeDir, { recursive: true });
    const kvPath = `./data/deploy-test-${Deno.pid}/bot.kv`;
    // The replayed market is driven by hand: it moves while the bot should trade and stands still
    // across the stop and the restart, so the restarted bot has nothing new to act on.
    const sandbox = await createSandbox({
      port: 0,
      dataFiles: [FILE],
      startAt: Date.UTC(2022, 5, 2, 12, 30),
      manualClock: true,
      rateLimits: false,
    });
    let moving = true;
    const driver = setInterval(() => moving && sandbox.replay.advanceBy(30_000), 25);
    try {
      const { settings } = await stagedInstall(root, ["--mode", "paper"]);
      const env = await unitEnvironment(root, settings, [
        `UPBIT_REST_URL=${sandbox.restUrl}`,
        `UPBIT_WS_URL=${sandbox.wsUrl}`,
        `DENO_KV_PATH=${kvPath}`,
        "TIMEFRAME=1m",
        "STRATEGY_PARAMS=period=10,std=1",
        "STOP_LOSS_PCT=0.3",
        "TAKE_PROFIT_PCT=0.3",
        "MAX_DAILY_LOSS_PCT=0",
        "ACCOUNT_DAILY_LOSS_PCT=0",
        "CAPITAL_KRW=1000000",
        "STALE_AFTER_SECONDS=3600",
      ]);
      const timeoutStopMs = Number(one(settings, "TimeoutStopSec")) * 1000;

      // 1. Start, trade, SIGTERM as systemd sends it.
      const first = startService(settings, env);
      await first.waitFor(/"event":"OrderFilled"[\s\S]*"event":"OrderFilled"/, "two fills");
      moving = false;
      const stopped = await first.terminate(timeoutStopMs);
      assert.equal(stopped.killed, false, "stopped within TimeoutStopSec");
      if (Deno.env.get("DEPLOY_VERBOSE") !== undefined) {
        // deno-lint-ignore no-console
        console.log(`SIGTERM to exit: ${Math.round(stopped.stopMs)} ms`);
      }
      assert.equal(stopped.code, 0, stopped.err || stopped.out.slice(-2000));
      assert.match(stopped.out, /paper: stopped/);
      assert.equal(stopped.err.replace(/^Task paper .*\n/m, ""), "", "nothing on stderr");
      assert.deepEqual(
        (await Array.fromAsync(Deno.readDir(storeDir))).map((e) => e.name),
        ["bot.kv"],
        "no lock, WAL or control file left",
      );
      assert.deepEqual(await storeProblems(`${storeDir}/bot.kv`), [], "lock free, ledger = fills");
      const before = await storeSnapshot(`${storeDir}/bot.kv`);
      assert.ok(before.fills.length >= 2, `${before.fills.length} fills`);
      // No order in flight unrecorded: every intent is settled (none NEW or UNKNOWN).
      assert.equal(before.intents.NEW ?? 0, 0, JSON.stringify(before.intents));
      assert.equal(before.intents.UNKNOWN ?? 0, 0, JSON.stringify(before.intents));

      // 2. Restart (Restart=on-failure would not: exit 0; `systemctl start` does): same state.
      const second = startService(settings, env);
      await second.waitFor(
        /store \S*\/data\/deploy-test-\d+\/bot\.kv \(existing;/,
        "the existing store",
      );
      await second.waitFor(/paper: trading KRW-BTC/, "the trading line");
      await new Promise((r) => setTimeout(r, 1_000));
      const again = await second.terminate(timeoutStopMs);
      assert.equal(again.code, 0, again.err || again.out.slice(-2000));
      assert.deepEqual(await storeProblems(`${storeDir}/bot.kv`), []);
      const after = await storeSnapshot(`${storeDir}/bot.kv`);
      assert.deepEqual(after.fills, before.fills, "the fills, each as it was");
      assert.deepEqual(after.ledgers, before.ledgers, "positions and cash");
      assert.deepEqual(after.balances, before.balances);
      assert.deepEqual(after.intents, before.intents);
    } finally {
      clearInterval(driver);
      await sandbox.close();
      await Deno.remove(storeDir, { recursive: true });
      await Deno.remove(root, { recursive: true });
    }
  },
});

/** Signs in to the page at `origin`; the session cookie and the sell form's CSRF token. */
async function signIn(origin: string, password: string): Promise<{ cookie: string; csrf: string }> {
  const login = await fetch(`${origin}/login`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", origin },
    body: new URLSearchParams({ password }),
    redirect: "manual",
  });
  await login.body?.cancel();
  assert.equal(login.status, 303, "signed in");
  const cookie = login.headers.get("set-cookie")!.split(";")[0]!;
  const page = await (await fetch(`${origin}/sell/KRW-BTC`, { headers: { cookie } })).text();
  const csrf = page.match(/name="_csrf" value="([^"]+)"/);
  assert.ok(csrf !== null, "the sell form");
  return { cookie, csrf: csrf[1]! };
}

/**
 * A live bot (as the unit starts it) sells the BTC it adopted; the order POST meets `fault` at the
 * exchange and SIGTERM comes while it is in flight. The stop is clean, the order is in the store
 * (recorded before it was sent), and the restart settles it: the store ends equal to the exchange.
 */
async function stopWithOrderInFlight(fault: FaultSpec): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "deploy_root_" });
  const storeDir = `${ROOT}/data/deploy-live-test-${Deno.pid}-${fault.kind}`;
  await Deno.mkdir(storeDir, { recursive: true });
  // The replay at real speed with "now" at this time of day: the live bot's wall clock agrees.
  const now = new Date();
  const sandbox = await createSandbox({
    port: 0,
    dataFiles: [FILE],
    startAt: Date.UTC(2022, 5, 3, now.getUTCHours(), now.getUTCMinutes(), now.getUTCSeconds()),
    rateLimits: false,
    balances: { KRW: "1000000", BTC: "0.002" },
  });
  const password = "deploy-test-page-password";
  try {
    const { settings } = await stagedInstall(root, ["--mode", "live"]);
    const env = await unitEnvironment(root, settings, [
      `UPBIT_ACCESS_KEY=${DEMO_ACCESS_KEY}`,
      `UPBIT_SECRET_KEY=${DEMO_SECRET_KEY}`,
      "UPBIT_TRADER_REAL_MONEY=yes",
      "CAPITAL_KRW=500000",
      "LIVE_CAPITAL_LIMIT_KRW=1000000",
      `UPBIT_REST_URL=${sandbox.restUrl}`,
      `UPBIT_WS_URL=${sandbox.wsUrl}`,
      `DENO_KV_PATH=./data/deploy-live-test-${Deno.pid}-${fault.kind}/bot.kv`,
      "HTTP_PORT=0",
      `WEB_PASSWORD=${password}`,
      "TIMEFRAME=1m",
      "STALE_AFTER_SECONDS=3600",
    ]);
    const timeoutStopMs = Number(one(settings, "TimeoutStopSec")) * 1000;

    // 1. The first start adopts the account's BTC; its sale meets `fault` at the exchange and
    // the stop comes while the order is in flight.
    const first = startService(settings, env, ["--adopt"]);
    await first.waitFor(/live: trading KRW-BTC/, "the trading line");
    const [, origin] = await first.waitFor(/status page at (http:\/\/[\d.:]+)\//, "the page");
    const { cookie, csrf } = await signIn(origin!, password);
    sandbox.faults.rest.arm({ ...fault, path: "/v1/orders", method: "POST" });
    // The page answers once the sale is done: not awaited, so the stop lands while it waits.
    const selling = fetch(`${origin}/sell/KRW-BTC`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: origin!, cookie },
      body: new URLSearchParams({ _csrf: csrf, confirm: "yes" }),
      redirect: "manual",
    }).then((r) => r.body?.cancel(), () => {});
    const deadline = Date.now() + 10_000;
    while (sandbox.faults.rest.list().length > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(sandbox.faults.rest.list().length, 0, "the order reached the exchange");
    const stopped = await first.terminate(timeoutStopMs);
    await selling;
    assert.equal(stopped.killed, false, "stopped within TimeoutStopSec");
    assert.equal(stopped.code, 0, stopped.err || stopped.out.slice(-2000));
    assert.match(stopped.out, /live: stopped/);
    // The held-up request completes at the exchange whatever the bot did.
    await new Promise((r) => setTimeout(r, 2_500));
    const orders = sandbox.accounts.allOrders();
    assert.equal(orders.length, 1, "one order at the exchange");
    assert.deepEqual(await storeProblems(`${storeDir}/bot.kv`), [], "lock free, ledger = fills");
    const kvAfterStop = await Deno.openKv(`${storeDir}/bot.kv`);
    try {
      const intents = await new KvStore(kvAfterStop).listIntents(INTENT_STATES);
      if (Deno.env.get("DEPLOY_VERBOSE") !== undefined) {
        // deno-lint-ignore no-console
        console.log(
          `in flight (${fault.kind}): SIGTERM to exit ${Math.round(stopped.stopMs)} ms; intent ${
            intents.map((i) => i.state)
          } at the stop`,
        );
      }
      // Recorded before it was sent: the exchange's order is the store's intent.
      assert.deepEqual(
        intents.map((i) => i.identifier),
        orders.map((o) => o.identifier),
        "no order in flight unrecorded",
      );
    } finally {
      kvAfterStop.close();
    }

    // 2. The restart reconciles: the store ends equal to the exchange.
    const second = startService(settings, env);
    await second.waitFor(/live: trading KRW-BTC/, "the trading line");
    await new Promise((r) => setTimeout(r, 1_500));
    const again = await second.terminate(timeoutStopMs);
    assert.equal(again.code, 0, again.err || again.out.slice(-2000));
    assert.doesNotMatch(again.out, /safe mode/i);
    const kv = await Deno.openKv(`${storeDir}/bot.kv`);
    try {
      const store = new KvStore(kv);
      const trades = orders.flatMap((o) => o.trades);
      assert.ok(trades.length > 0, "the sale traded");
      const all = await store.listFills();
      const fills = all.filter((f) => orders.some((o) => o.uuid === f.orderUuid));
      assert.deepEqual(
        all.filter((f) => !fills.includes(f)).map((f) => f.tradeUuid),
        ["adopted"],
        "besides the exchange's trades, only the adoption of the held BTC",
      );
      assert.deepEqual(
        fills.map((f) => [f.tradeUuid, f.price, f.volume, f.funds, f.fee]).sort(),
        trades.map((t) => [t.uuid, t.price, t.volume, t.funds, t.fee]).sort(),
        "the stored fills are the exchange's trades",
      );
      const [intent] = await store.listIntents(INTENT_STATES);
      assert.equal(intent!.state, "FILLED");
      assert.equal(intent!.uuid, orders[0]!.uuid);
      assert.equal((await store.getLedger("KRW-BTC"))!.qty, 0n, "the position is gone");
      assert.equal(
        sandbox.accounts.holdings(DEFAULT_ACCOUNT).find(([c]) => c === "BTC")?.[1].balance ?? 0n,
        0n,
      );
    } finally {
      kv.close();
    }
  } finally {
    await sandbox.close();
    await Deno.remove(storeDir, { recursive: true });
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test({
  name:
    "live: SIGTERM while an order is in flight (answered late, or its answer lost); the order is recorded and the restart settles it with the exchange",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    await t.step(
      "the answer comes 2 s late",
      () => stopWithOrderInFlight({ kind: "delay", delayMs: 2_000 }),
    );
    await t.step(
      "the exchange accepts the order and the answer is lost",
      () => stopWithOrderInFlight({ kind: "accept_then_lose", mode: "hang", hangMs: 2_000 }),
    );
  },
});

/** Whether this process may make a mount namespace (root, `unshare` present). */
async function canUnshare(): Promise<boolean> {
  if (Deno.build.os !== "linux" || Deno.uid() !== 0) return false;
  try {
    return (await new Deno.Command("unshare", { args: ["-m", "true"] }).output()).success;
  } catch {
    return false;
  }
}

Deno.test({
  name:
    "the unit's file system view (ProtectSystem=strict, ReadWritePaths=data, PrivateTmp): the bot trades and stops cleanly",
  ignore: !await canUnshare(),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const denoDir = (Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`)
      .replace(/\/$/, "");
    const storeDir = `${ROOT}/data/deploy-ro-test-${Deno.pid}`;
    await Deno.mkdir(storeDir, { recursive: true });
    // In a mount namespace of its own: the checkout and Deno's cache read-only, ./data writable,
    // a private /tmp; then the task as the unit runs it.
    const script = [
      "set -e",
      `mount --bind ${denoDir} ${denoDir}`,
      `mount -o remount,bind,ro ${denoDir}`,
      `mount --bind ${ROOT} ${ROOT}`,
      `mount -o remount,bind,ro ${ROOT}`,
      `mount --bind ${ROOT}/data ${ROOT}/data`,
      `mount -o remount,bind,rw ${ROOT}/data`,
      // PrivateTmp: a fresh /tmp (unless the checkout itself is under /tmp, as a CI clone may
      // be: a unit never runs from there, and the tmpfs would hide it).
      ...ROOT.startsWith("/tmp/") ? [] : ["mount -t tmpfs tmpfs /tmp"],
      `if touch ${ROOT}/.probe 2>/dev/null || touch ${denoDir}/.probe 2>/dev/null; then exit 9; fi`,
      `cd ${ROOT}`,
      `exec ${Deno.execPath()} task demo --http-port 0 --kv ./data/deploy-ro-test-${Deno.pid}/bot.kv`,
    ].join("\n");
    const child = new Deno.Command("setsid", {
      args: ["unshare", "-m", "sh", "-c", script],
      env: {
        PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
        HOME: Deno.env.get("HOME") ?? "/tmp",
        DENO_DIR: denoDir,
        DENO_NO_UPDATE_CHECK: "1",
        NO_COLOR: "1",
      },
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const output = readOutput(child);
    try {
      const deadline = Date.now() + 90_000;
      // The demo's first trade comes about 25 s in (its replay starts just before an entry).
      while (!/ filled (BUY|SELL) /.test(output.out()) && Date.now() < deadline) {
        const exited = await Promise.race([
          child.status.then(() => true),
          new Promise<false>((r) => setTimeout(() => r(false), 50)),
        ]);
        if (exited) break;
      }
      assert.match(
        output.out(),
        / filled (BUY|SELL) /,
        `${output.out().slice(-2000)}\n${output.err()}`,
      );
      Deno.kill(-child.pid, "SIGTERM");
      const status = await child.status;
      await output.done;
      const out = output.out();
      const err = output.err();
      assert.equal(status.code, 0, `${err}\n${out.slice(-2000)}`);
      assert.match(out, /demo: stopped/);
      assert.equal(err.replace(/^Task demo .*\n/m, ""), "", "no warning about a read-only cache");
      assert.deepEqual(await storeProblems(`${storeDir}/bot.kv`), []);
      assert.ok((await storeSnapshot(`${storeDir}/bot.kv`)).fills.length > 0, "the fill is stored");
    } finally {
      try {
        Deno.kill(-child.pid, "SIGKILL");
      } catch {
        // Stopped already.
      }
      await Deno.remove(storeDir, { recursive: true });
    }
  },
});
