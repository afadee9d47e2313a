/**
 * The KV lease in the running bot, in process on a real local store: while the demo trades,
 * another holder takes the lease over (as a bot on another host would after a partition; it
 * writes through the bot's own KV handle, reached as the surfaces get it, because a second
 * handle on one SQLite file may throw "database is locked", reliability.md §2.6). The bot notices at its next renewal, stops every loop and ends with ONE line naming
 * who holds the lease now, exit code 1; the lease is left to the new holder. The KV access
 * token is one of the secrets every line is scrubbed of. And `paper` on a remote store over KV
 * Connect (Deno's remote client against the test server `_kv_connect_server.ts`): a second bot
 * on the same store from another "host" is refused by the lease with one line, exit 2; after
 * the first stops cleanly the next starts at once; cut off by a partition, it gives the lease up
 * before it expires and exits with one line although its shutdown hangs on the store.
 */

import assert from "node:assert/strict";
import { acquireLease, type LeaseRecord, readLease } from "../../../engine/adapters/kv_lease.ts";
import { lockBaseOf, runTradingCommand } from "../../../engine/cli/run_command.ts";
import type { LeaseTiming } from "../../../engine/adapters/store_lease.ts";
import * as trader from "../../../engine/trader.ts";
import { WALL_CLOCK } from "../../../engine/wall_clock.ts";
import { ok } from "../../../engine/core/result.ts";
import { createSandbox, type Sandbox } from "../../../engine/sandbox/mod.ts";
import { DATA_FILES } from "../adapters/upbit/_sandbox.ts";
import { clockOf } from "./_sandbox_clock.ts";
import { type KvConnectServer, startKvConnectServer } from "../adapters/_kv_connect_server.ts";

Deno.test("a lease taken over while the demo trades stops it with one line, exit 1", async () => {
  const dir = await Deno.makeTempDir({ prefix: "run_lease_" });
  const path = `${dir}/bot.kv`;
  let out = "";
  let err = "";
  let taken: LeaseRecord | undefined;
  let botKv: Deno.Kv | undefined;
  let takeover: Promise<void> | undefined;
  const interrupt = new AbortController();
  // A guard: a bot that never notices must not hang the suite.
  const guard = setTimeout(() => interrupt.abort("SIGTERM"), 60_000);
  try {
    const code = await runTradingCommand("demo", ["--kv", path], {
      stdout: (text) => {
        out += text;
        if (takeover === undefined && /demo: trading /.test(text)) {
          takeover = (async () => {
            const res = await acquireLease(botKv!, { clock: WALL_CLOCK, label: "pid 999" }, true);
            assert.ok(res.ok);
            taken = res.value.record;
          })();
        }
      },
      stderr: (text) => err += text,
      isTerminal: false,
      env: { LOG_FORMAT: "pretty" },
      interrupt: interrupt.signal,
      pid: Deno.pid,
      cwd: Deno.cwd(),
      leaseTiming: { ttlMs: 30_000, renewEveryMs: 100 },
      surfaces: () =>
        ok({
          secrets: [],
          start: (ctx) => {
            botKv = ctx.kv;
            return Promise.resolve();
          },
        }),
    }, trader);
    await takeover;
    assert.ok(taken !== undefined, out);
    assert.equal(code, 1, `${out}\n${err}`);
    assert.match(
      err,
      /^demo: stopped trading: the KV lease was taken over by pid 999 \(lease epoch 2, until [^)]+\); another process may trade on this store now\n$/,
    );
    assert.doesNotMatch(out, /demo: stopped\b/, "no clean-stop line after a lost lease");
    // The bot let the new holder's lease be: it did not release or renew it.
    const kv = await Deno.openKv(path);
    try {
      assert.deepEqual((await readLease(kv))?.record, taken);
    } finally {
      kv.close();
    }
  } finally {
    clearTimeout(guard);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the KV access token is a secret: a line that would show it is redacted", async () => {
  const dir = await Deno.makeTempDir({ prefix: "run_token_" });
  // A market named like the token puts the token's value in the refusal line.
  const token = "KRW-KVTOKENCANARY42";
  let out = "";
  let err = "";
  try {
    const code = await runTradingCommand("demo", ["--kv", `${dir}/bot.kv`, "--market", token], {
      stdout: (text) => out += text,
      stderr: (text) => err += text,
      isTerminal: false,
      env: { LOG_FORMAT: "pretty", DENO_KV_ACCESS_TOKEN: token },
      interrupt: new AbortController().signal,
      pid: Deno.pid,
      cwd: Deno.cwd(),
    }, trader);
    assert.equal(code, 2, err);
    assert.match(err, /^demo: --market: \[REDACTED\]: /);
    assert.ok(!`${out}${err}`.includes("KVTOKENCANARY42"), err);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// ---- paper over KV Connect ------------------------------------------------------------------

/** Starts `paper` on the store at `kvUrl`; resolves its code and output once it ends. */
function paper(
  sb: Sandbox,
  kvUrl: string,
  interrupt: AbortSignal,
  onLine: (text: string) => void = () => {},
  leaseTiming: LeaseTiming = { ttlMs: 30_000, renewEveryMs: 200 },
): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  return runTradingCommand("paper", ["--kv", kvUrl, "--timeframe", "1h"], {
    stdout: (text) => {
      out += text;
      onLine(text);
    },
    stderr: (text) => err += text,
    isTerminal: false,
    env: { LOG_FORMAT: "pretty", UPBIT_REST_URL: sb.restUrl, UPBIT_WS_URL: sb.wsUrl },
    interrupt,
    pid: Deno.pid,
    cwd: Deno.cwd(),
    clock: clockOf(sb),
    leaseTiming,
  }, trader).then((code) => ({ code, out, err }));
}

/** Runs `fn` with a KV Connect server and a sandbox whose clock ticks 1 s every 50 ms. */
async function onRemote(
  fn: (sb: Sandbox, server: KvConnectServer) => Promise<void>,
): Promise<void> {
  const token = "kv-connect-test-token-0123456789";
  const before = Deno.env.get("DENO_KV_ACCESS_TOKEN");
  Deno.env.set("DENO_KV_ACCESS_TOKEN", token);
  const server = startKvConnectServer(token);
  const sb = await createSandbox({
    port: 0,
    manualClock: true,
    dataFiles: DATA_FILES,
    startAt: "2025-08-01T06:00:00Z",
    rateLimits: false,
  });
  const tick = setInterval(() => sb.replay.advanceBy(1_000), 50);
  try {
    await fn(sb, server);
  } finally {
    clearInterval(tick);
    await sb.close();
    await server.close();
    if (before === undefined) Deno.env.delete("DENO_KV_ACCESS_TOKEN");
    else Deno.env.set("DENO_KV_ACCESS_TOKEN", before);
  }
}

Deno.test("paper on a remote KV (KV Connect): a second bot on the same store is refused by the lease; after a clean stop the next starts at once", async () => {
  await onRemote(async (sb, server) => {
    // Bot 1 on host "a".
    const stop1 = new AbortController();
    const trading1 = Promise.withResolvers<void>();
    const bot1 = paper(sb, server.url("a"), stop1.signal, (text) => {
      if (/paper: trading /.test(text)) trading1.resolve();
    });
    await Promise.race([trading1.promise, bot1.then((r) => assert.fail(`${r.out}\n${r.err}`))]);
    // Bot 2 on host "b", same database: the lease (not a file lock) refuses it.
    const bot2 = await paper(sb, server.url("b"), new AbortController().signal);
    assert.equal(bot2.code, 2, `${bot2.out}\n${bot2.err}`);
    assert.match(
      bot2.err,
      /^paper: --kv: another process holds this store's KV lease and renews it: pid \d+ \(lease epoch 1, until [^)]+\); one process per store \(stop that bot first\)\n$/,
    );
    assert.match(bot2.out, /waiting for it to expire/);
    assert.doesNotMatch(bot2.out, /paper: trading /);
    stop1.abort("SIGTERM");
    const done1 = await bot1;
    assert.equal(done1.code, 0, done1.err);
    assert.match(done1.out, /KV lease epoch 1 held by pid/);
    // Released on the clean stop: the next bot starts without waiting.
    const kv = await Deno.openKv(server.url("check"));
    try {
      assert.equal((await readLease(kv))?.record.released, true);
    } finally {
      kv.close();
    }
    const stop3 = new AbortController();
    const bot3 = paper(sb, server.url("b"), stop3.signal, (text) => {
      if (/paper: trading /.test(text)) stop3.abort("SIGTERM");
    });
    const done3 = await bot3;
    assert.equal(done3.code, 0, done3.err);
    assert.match(done3.out, /KV lease epoch 2 held by pid/);
    assert.doesNotMatch(done3.out, /waiting for it to expire/);
  });
});

Deno.test("paper on a remote KV cut off by a partition stops trading before its lease expires and exits with one line", async () => {
  await onRemote(async (sb, server) => {
    const url = server.url("a");
    try {
      const trading = Promise.withResolvers<void>();
      const bot = paper(sb, url, new AbortController().signal, (text) => {
        if (/paper: trading /.test(text)) trading.resolve();
      }, { ttlMs: 2_000, renewEveryMs: 300, skewMs: 600, exitAfterLostMs: 1_000 });
      await Promise.race([trading.promise, bot.then((r) => assert.fail(`${r.out}\n${r.err}`))]);
      const cutAtMs = Date.now();
      server.partition("a");
      const done = await bot;
      const tookMs = Date.now() - cutAtMs;
      assert.equal(done.code, 1, done.err);
      assert.match(
        done.err,
        /^paper: stopped trading: could not renew the KV lease \(epoch 1\) before it expires at [^;]+; another process may trade on this store now\n$/,
      );
      // Given up 600 ms (the skew here) before the 2 s lease expires, then 1 s for the shutdown.
      assert.ok(tookMs < 2_000 + 1_000 + 500, `exited ${tookMs} ms after the cut`);
    } finally {
      // The partition heals: the abandoned shutdown finishes (its stand-in lock file goes).
      server.heal("a");
      const lockFile = `${lockBaseOf(url)}.lock`;
      for (let i = 0; i < 200 && await Deno.stat(lockFile).then(() => true, () => false); i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  });
});
