/**
 * `deno task backup` / `restore` through their commands (in process, as main.ts wires them):
 * a backup taken from a RUNNING live bot against the sandbox (over its control channel, while it
 * trades) restores into a store whose state verifies; the stopped store's backup restores into a
 * new path the bot then resumes from and keeps trading on; mistakes are one line, exit 2, and
 * write nothing.
 */

import assert from "node:assert/strict";
import { backupStoreFile, restoreStoreFile } from "../../../engine/adapters/kv_backup_file.ts";
import { KvStore } from "../../../engine/adapters/kv_store.ts";
import { runBackupCommand, runRestoreCommand } from "../../../engine/cli/backup_command.ts";
import { runTradingCommand, sandboxClock } from "../../../engine/cli/run_command.ts";
import { createSandbox, type Sandbox } from "../../../engine/sandbox/mod.ts";
import * as trader from "../../../engine/trader.ts";
import { sandboxEnv } from "../adapters/upbit/_sandbox.ts";

const SPEED = 720;
const FILE = decodeURIComponent(
  new URL("../../../data/upbit-KRW-BTC-30m-20240123-20250127.csv", import.meta.url).pathname,
);
const TRADE_OFTEN = [
  "--market",
  "KRW-BTC",
  "--timeframe",
  "1m",
  "--period",
  "10",
  "--std",
  "1",
  "--stop-loss",
  "0.3",
  "--take-profit",
  "0.3",
  "--max-daily-loss",
  "0",
  "--account-daily-loss",
  "0",
  "--capital",
  "100000",
  "--stale-after",
  "3600",
  "--i-understand-real-money",
  "--log-format",
  "json",
];

async function command(
  run: typeof runBackupCommand,
  args: string[],
  cwd: string,
): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await run(args, {
    stdout: (t) => out += t,
    stderr: (t) => err += t,
    env: {},
    cwd,
    nowMs: () => Date.UTC(2026, 11, 5, 1, 2, 3),
    backups: { take: backupStoreFile, restore: restoreStoreFile },
  });
  return { code, out, err };
}

/** Runs `live` on `kvPath` against `sandbox` until `stop` aborts; `onLine` sees each output. */
async function live(
  sandbox: Sandbox,
  kvPath: string,
  stop: AbortSignal,
  onLine: (text: string) => void = () => {},
): Promise<{ code: number; output: string }> {
  let output = "";
  const code = await runTradingCommand("live", [...TRADE_OFTEN, "--kv", kvPath], {
    stdout: (t) => {
      output += t;
      onLine(t);
    },
    stderr: (t) => output += t,
    isTerminal: false,
    env: sandboxEnv(sandbox),
    interrupt: stop,
    pid: Deno.pid,
    cwd: Deno.cwd(),
    clock: sandboxClock(sandbox, SPEED),
  }, trader);
  return { code, output };
}

async function fillsOf(kvPath: string): Promise<number> {
  const kv = await Deno.openKv(kvPath);
  try {
    const store = new KvStore(kv);
    await store.verifyState();
    return (await store.listFills()).length;
  } finally {
    kv.close();
  }
}

Deno.test("backup while trading, restore, resume: the restored bot keeps trading", async () => {
  const dir = await Deno.makeTempDir({ prefix: "backup_" });
  const sandbox = await createSandbox({
    port: 0,
    speed: SPEED,
    dataFiles: [FILE],
    startAt: Date.UTC(2024, 10, 10, 1),
    rateLimits: false,
    balances: { KRW: "10000000" },
  });
  try {
    const kvPath = `${dir}/bot.kv`;
    // 1. A backup taken from the running bot once it has filled orders, then the bot stops.
    const stop = new AbortController();
    let fills = 0;
    let whileTrading: Promise<{ code: number; out: string; err: string }> | undefined;
    const first = await live(sandbox, kvPath, stop.signal, (text) => {
      fills += text.match(/"event":"OrderFilled"/g)?.length ?? 0;
      if (fills >= 4 && whileTrading === undefined) {
        whileTrading = command(runBackupCommand, ["--kv", kvPath, "--out", `${dir}/b1.jsonl`], dir)
          .finally(() => setTimeout(() => stop.abort(), 500));
      }
    });
    assert.equal(first.code, 0, first.output.slice(-2000));
    const b1 = await whileTrading!;
    assert.equal(b1.code, 0, b1.err);
    assert.match(
      b1.out,
      /^backup: \d+ entries of .*bot\.kv \(taken by the running bot, pid \d+\) written to .*b1\.jsonl \(sha256 [0-9a-f]{16}…\)\n$/,
    );
    assert.equal((await Deno.stat(`${dir}/b1.jsonl`)).mode! & 0o777, 0o600);
    // Restored: its state verifies like at any start (ledger = fills, indexes, reservations).
    const r1 = await command(runRestoreCommand, [
      "--from",
      `${dir}/b1.jsonl`,
      "--kv",
      `${dir}/r1.kv`,
    ], dir);
    assert.equal(r1.code, 0, r1.err);
    assert.match(
      r1.out,
      /^restore: \d+ entries from .*b1\.jsonl \(taken .* UTC\) into .*r1\.kv; checksum and state verified/,
    );
    assert.ok(await fillsOf(`${dir}/r1.kv`) >= 4);

    // 2. The stopped store's backup into a new path; the bot resumes from it and trades on.
    const b2 = await command(runBackupCommand, ["--kv", kvPath, "--out", `${dir}/b2.jsonl`], dir);
    assert.equal(b2.code, 0, b2.err);
    assert.match(b2.out, /\(no bot running\)/);
    const r2 = await command(runRestoreCommand, [
      "--from",
      `${dir}/b2.jsonl`,
      "--kv",
      `${dir}/r2.kv`,
    ], dir);
    assert.equal(r2.code, 0, r2.err);
    const before = await fillsOf(`${dir}/r2.kv`);
    assert.equal(before, await fillsOf(kvPath), "the restored store holds every fill");
    const again = new AbortController();
    let more = 0;
    const resumed = await live(sandbox, `${dir}/r2.kv`, again.signal, (text) => {
      more += text.match(/"event":"OrderFilled"/g)?.length ?? 0;
      if (more >= 2) again.abort();
    });
    assert.equal(resumed.code, 0, resumed.output.slice(-2000));
    assert.match(resumed.output, /store .*r2\.kv \(existing;/);
    assert.ok(await fillsOf(`${dir}/r2.kv`) > before, "the resumed bot traded on");
  } finally {
    await sandbox.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("backup and restore mistakes: one line, exit 2, nothing written", async () => {
  const dir = await Deno.makeTempDir({ prefix: "backup_" });
  try {
    const kv = await Deno.openKv(`${dir}/bot.kv`);
    await kv.set(["ledger", "KRW-BTC"], { v: 1 });
    kv.close();
    const ok = await command(runBackupCommand, ["--kv", "bot.kv", "--out", "b.jsonl"], dir);
    assert.equal(ok.code, 0, ok.err);
    const text = await Deno.readTextFile(`${dir}/b.jsonl`);
    await Deno.writeTextFile(`${dir}/bad.jsonl`, text.replace('"v":1', '"v":2'));
    const cases: [typeof runBackupCommand, string[], RegExp][] = [
      [runRestoreCommand, ["--kv", "new.kv"], /^restore: --from: missing/],
      [
        runRestoreCommand,
        ["--from", "nothing.jsonl", "--kv", "new.kv"],
        /^restore: --from: cannot read .*nothing\.jsonl/,
      ],
      [
        runRestoreCommand,
        ["--from", "b.jsonl", "--kv", "bot.kv"],
        /bot\.kv exists: a restore only writes a new store/,
      ],
      [
        runRestoreCommand,
        ["--from", "bad.jsonl", "--kv", "new.kv"],
        /checksum mismatch: .*; nothing was written to .*new\.kv$/,
      ],
      [runBackupCommand, ["--kv", "missing.kv"], /^backup: --kv: no bot state at .*missing\.kv/],
      [runBackupCommand, ["--kv", ""], /^backup: --kv: must not be empty$/],
      [runBackupCommand, ["--outt", "x"], /^backup: --outt: unknown option/],
    ];
    for (const [run, args, reason] of cases) {
      const r = await command(run, args, dir);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.err}`);
      assert.equal(r.out, "");
      assert.equal(r.err.split("\n").length, 2, r.err);
      assert.match(r.err.trimEnd(), reason);
    }
    const left = (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
    assert.deepEqual(left, ["b.jsonl", "bad.jsonl", "bot.kv"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a backup file outside the task's folders: one line saying so, exit 2", async () => {
  // The restore task's own permissions (deno.json): read the checkout, write ./data.
  const root = decodeURIComponent(new URL("../../../", import.meta.url).pathname);
  const kv = `./data/test-restore-outside-${Deno.pid}.kv`;
  const run = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--lock=deno.lock",
      "--allow-read=.",
      "--allow-write=./data",
      "--allow-env=DENO_KV_PATH,DENO_KV_ACCESS_TOKEN,INIT_CWD",
      "main.ts",
      "restore",
      "--from",
      "/etc/hostname",
      "--kv",
      kv,
    ],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(run.stderr);
  assert.equal(run.code, 2, err);
  assert.equal(
    err,
    "restore: --from: cannot read /etc/hostname: outside this folder, the only one " +
      "`deno task restore` may read: copy the file under ./data\n",
  );
  await assert.rejects(Deno.stat(`${root}/${kv}`));
});
