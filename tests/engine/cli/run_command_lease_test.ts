/**
 * The KV lease in the running bot, in process on a real local store: while the demo trades,
 * another holder takes the lease over (as a bot on another host would after a partition; it
 * writes through the bot's own KV handle, reached as the surfaces get it, because a second
 * handle on one SQLite file may throw "database is locked", reliability.md §2.6). The bot notices at its next renewal, stops every loop and ends with ONE line naming
 * who holds the lease now, exit code 1; the lease is left to the new holder. And the KV access
 * token is one of the secrets every line is scrubbed of.
 */

import assert from "node:assert/strict";
import { acquireLease, type LeaseRecord, readLease } from "../../../engine/adapters/kv_lease.ts";
import { runTradingCommand } from "../../../engine/cli/run_command.ts";
import * as trader from "../../../engine/trader.ts";
import { WALL_CLOCK } from "../../../engine/wall_clock.ts";
import { ok } from "../../../engine/core/result.ts";

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
