/**
 * The modes end to end, as separate processes: config errors and live refusals (one line, exit
 * 2), paper without network (one line, exit 1), a short demo that trades, ctl against the running
 * demo and against its KV afterwards, and a canary secret that appears in no output at all.
 */

import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url).pathname;
const ACCESS = "CANARYACCESSa1b2c3d4e5f6";
const SECRET = "CANARYSECRETf6e5d4c3b2a1";
const outputs: string[] = [];

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: Deno.env.get("PATH") ?? "",
    HOME: Deno.env.get("HOME") ?? "/tmp",
    ...(Deno.env.get("DENO_DIR") === undefined ? {} : { DENO_DIR: Deno.env.get("DENO_DIR")! }),
    NO_COLOR: "1",
    UPBIT_ACCESS_KEY: ACCESS,
    UPBIT_SECRET_KEY: SECRET,
    ...extra,
  };
}

function command(args: readonly string[], extra: Record<string, string> = {}): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "main.ts", ...args],
    cwd: ROOT,
    env: env(extra),
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  });
}

async function run(args: readonly string[], extra: Record<string, string> = {}): Promise<Run> {
  const out = await command(args, extra).output();
  const decoder = new TextDecoder();
  const result = {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
  };
  outputs.push(result.stdout, result.stderr);
  return result;
}

function oneLine(text: string): string {
  const lines = text.split("\n").filter((l) => l !== "");
  assert.equal(lines.length, 1, `expected one line, got:\n${text}`);
  return lines[0]!;
}

Deno.test("a bad setting fails at start naming the field, exit code 2", async () => {
  const r = await run(["paper"], { CAPITAL_KRW: "lots" });
  assert.equal(r.code, 2);
  assert.equal(oneLine(r.stderr), "paper: CAPITAL_KRW: expected a number (see --help)");
  const f = await run(["demo", "--timeframe", "2h"]);
  assert.equal(f.code, 2);
  assert.match(oneLine(f.stderr), /^demo: --timeframe: expected one of/);
});

Deno.test("live refuses without the flag, without keys, and over the capital limit", async () => {
  const noFlag = await run(["live"], { UPBIT_REST_URL: "http://127.0.0.1:1" });
  assert.equal(noFlag.code, 2);
  assert.match(oneLine(noFlag.stderr), /^live: --i-understand-real-money: missing/);
  const noKeys = await run(["live", "--i-understand-real-money"], {
    UPBIT_ACCESS_KEY: "",
    UPBIT_SECRET_KEY: "",
  });
  assert.equal(noKeys.code, 2);
  assert.match(oneLine(noKeys.stderr), /^live: UPBIT_ACCESS_KEY: missing/);
  const over = await run(["live", "--capital", "2000000"], { UPBIT_TRADER_REAL_MONEY: "yes" });
  assert.equal(over.code, 2);
  assert.match(oneLine(over.stderr), /^live: --capital: 2000000 KRW is over the live limit/);
});

Deno.test("paper without network says so in one line and suggests the demo, exit code 1", async () => {
  const dir = await Deno.makeTempDir();
  const r = await run(["paper"], {
    UPBIT_REST_URL: "http://127.0.0.1:1",
    UPBIT_WS_URL: "ws://127.0.0.1:1/websocket/v1",
    DENO_KV_PATH: `${dir}/bot.kv`,
  });
  assert.equal(r.code, 1);
  assert.match(oneLine(r.stderr), /^paper: cannot reach http:\/\/127\.0\.0\.1:1 .*deno task demo/);
  assert.equal(r.stdout, "");
  // Live with keys stops at the same check, before any key is used.
  const live = await run(["live", "--i-understand-real-money"], {
    UPBIT_REST_URL: "http://127.0.0.1:1",
    UPBIT_WS_URL: "ws://127.0.0.1:1/websocket/v1",
    DENO_KV_PATH: `${dir}/live.kv`,
  });
  assert.equal(live.code, 1);
  assert.match(oneLine(live.stderr), /^live: cannot reach/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("--help of every mode prints usage", async () => {
  for (const mode of ["demo", "paper", "live", "ctl", "backtest"]) {
    const r = await run([mode, "--help"]);
    assert.equal(r.code, 0, `${mode}: ${r.stderr}`);
    assert.match(r.stdout, /Usage: deno task/);
  }
});

Deno.test("demo trades within seconds; ctl pauses, resumes and reads it while it runs", async () => {
  const dir = await Deno.makeTempDir();
  const kv = `${dir}/demo.kv`;
  const child = command(["demo", "--minutes", "0.3", "--kv", kv, "--log-format", "json"]).spawn();
  const decoder = new TextDecoder();
  const ctlOut: Run[] = [];
  try {
    // Wait for the control file, then operate the running bot.
    for (let i = 0; i < 100; i++) {
      if (await Deno.stat(`${kv}.ctl.json`).then(() => true, () => false)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const mode = (await Deno.stat(`${kv}.ctl.json`)).mode! & 0o777;
    assert.equal(mode, 0o600);
    ctlOut.push(await run(["ctl", "pause", "--kv", kv, "--reason", "test pause"]));
    ctlOut.push(await run(["ctl", "status", "--kv", kv, "--json"]));
    ctlOut.push(await run(["ctl", "resume", "--kv", kv]));
    ctlOut.push(await run(["ctl", "status", "--kv", kv]));
  } finally {
    const out = await child.output();
    outputs.push(decoder.decode(out.stdout), decoder.decode(out.stderr));
    assert.equal(out.code, 0, decoder.decode(out.stderr));
    const lines = decoder.decode(out.stdout).trim().split("\n").map((l) => JSON.parse(l));
    const events = new Set(lines.map((l) => l.event));
    assert.ok(events.has("SignalRaised"), "a signal");
    assert.ok(events.has("OrderSubmitted"), "an order");
    assert.ok(events.has("OrderFilled"), "a fill");
    assert.ok(
      lines.some((l) => l.event === "StateChanged" && l.paused === true),
      "the pause reached the bot",
    );
  }
  for (const r of ctlOut) assert.equal(r.code, 0, r.stderr);
  assert.match(ctlOut[0]!.stdout, /^paused\nKRW-BTC \(bot bot\): PAUSED — test pause/);
  const status = JSON.parse(ctlOut[1]!.stdout);
  assert.equal(status.paused, true);
  assert.match(ctlOut[2]!.stdout, /^resumed\nKRW-BTC \(bot bot\): running/);
  assert.match(ctlOut[3]!.stdout, /cash: [\d,.]+ KRW/);

  // The bot is gone: ctl opens the KV itself.
  const direct = await run(["ctl", "status", "--kv", kv, "--json"]);
  assert.equal(direct.code, 0, direct.stderr);
  assert.equal(JSON.parse(direct.stdout).paused, false);
  const missing = await run(["ctl", "status", "--kv", `${dir}/none.kv`]);
  assert.equal(missing.code, 2);
  assert.match(oneLine(missing.stderr), /^ctl: --kv: no bot state at/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a second bot on the same KV refuses to start with one line", async () => {
  const dir = await Deno.makeTempDir();
  const kv = `${dir}/demo.kv`;
  const first = command(["demo", "--kv", kv, "--log-format", "json"]).spawn();
  for (let i = 0; i < 100; i++) {
    if (await Deno.stat(`${kv}.ctl.json`).then(() => true, () => false)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const second = await run(["demo", "--minutes", "0.1", "--kv", kv]);
  first.kill("SIGINT");
  const out = await first.output();
  assert.equal(out.code, 0);
  outputs.push(new TextDecoder().decode(out.stdout), new TextDecoder().decode(out.stderr));
  assert.equal(second.code, 2);
  assert.match(oneLine(second.stderr), /^demo: Cannot open the store: another process/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("ctl stop --sell on a running demo pauses, cancels and goes flat; without a bot it only pauses", async () => {
  const dir = await Deno.makeTempDir();
  const kv = `${dir}/demo.kv`;
  const child = command(["demo", "--minutes", "1", "--kv", kv, "--log-format", "json"]).spawn();
  const decoder = new TextDecoder();
  let stop: Run | undefined;
  let after: Run | undefined;
  let held = false;
  try {
    await waitForControlFile(kv);
    // Stop while the bot holds a position (the demo buys within seconds), or after 20 s anyway.
    for (let i = 0; i < 80 && !held; i++) {
      const s = await run(["ctl", "status", "--kv", kv, "--json"]);
      held = s.code === 0 && JSON.parse(s.stdout).markets[0].position !== null;
      if (!held) await new Promise((r) => setTimeout(r, 250));
    }
    stop = await run(["ctl", "stop", "--sell", "--kv", kv]);
    after = await run(["ctl", "status", "--kv", kv, "--json"]);
  } finally {
    child.kill("SIGINT");
    const out = await child.output();
    const stdout = decoder.decode(out.stdout);
    outputs.push(stdout, decoder.decode(out.stderr));
    assert.equal(out.code, 0, decoder.decode(out.stderr));
    const lines = stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.ok(
      lines.some((l) => l.event === "StateChanged" && l.paused && l.reason === "emergency stop"),
      "the bot logged the emergency stop",
    );
  }
  assert.equal(stop.code, 0, stop.stderr);
  assert.equal(stop.stderr, "");
  assert.match(stop.stdout, /^emergency stop done\nKRW-BTC: \d+ orders? cancelled/);
  assert.ok(held, "the demo held a position within 20 s");
  assert.match(stop.stdout, /, sold [\d.]+ for [\d,.]+ KRW \(FILLED\)\n/);
  assert.match(
    stop.stdout,
    /KRW-BTC \(bot bot\): STOPPED \(emergency stop\) — emergency stop\n {2}position: flat\n/,
  );
  assert.equal(after!.code, 0, after!.stderr);
  const status = JSON.parse(after!.stdout);
  assert.equal(status.paused, true);
  assert.equal(status.halted, true, "an emergency stop halts every order until resume");
  assert.equal(status.markets[0].position, null, "--sell leaves the market flat");
  assert.deepEqual(status.markets[0].openIntents, [], "no open orders remain");

  // The bot is gone: stop can only halt (documented), says so, and never claims more.
  await run(["ctl", "resume", "--kv", kv]);
  const offline = await run(["ctl", "stop", "--sell", "--kv", kv]);
  assert.equal(offline.code, 0, offline.stderr);
  assert.match(
    oneLine(offline.stderr),
    /^ctl: no bot is running: trading is halted and paused; .*sell positions$/,
  );
  assert.match(
    offline.stdout,
    /^halted\nKRW-BTC \(bot bot\): stopped \(last run ended [^)]+\); trading switch: halted \(emergency stop\)/,
  );
  const paused = await run(["ctl", "status", "--kv", kv, "--json"]);
  assert.equal(JSON.parse(paused.stdout).halted, true);
  const audit = await run(["ctl", "audit", "--kv", kv, "--json"]);
  assert.deepEqual(
    // Sorted: the demo's commands carry the sandbox's replay time, ctl's own the wall clock.
    JSON.parse(audit.stdout).map((r: { command: string }) => r.command).sort(),
    ["resume", "stop --sell", "stop --sell"],
    "every ctl command is in the audit log",
  );
  await Deno.remove(dir, { recursive: true });
});

async function waitForControlFile(kv: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await Deno.stat(`${kv}.ctl.json`).then(() => true, () => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

Deno.test("the canary secrets appear in no output of any mode", () => {
  assert.ok(outputs.length >= 20, `only ${outputs.length} outputs collected`);
  for (const text of outputs) {
    assert.ok(!text.includes(ACCESS), "access key leaked");
    assert.ok(!text.includes(SECRET), "secret key leaked");
  }
});
