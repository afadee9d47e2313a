/**
 * One clock per run, end to end over real sockets: `paper` against a sandbox replaying at 120×
 * across the Upbit day boundary (00:00 UTC, 09:00 KST) runs on the exchange's time. While it
 * runs, `ctl status` says "today" is the exchange's day, before and after the exchange's day
 * change (the wall's day does not change meanwhile); the day guards it persists (each market's
 * and the account's) rolled to the exchange's new day; a stopped bot's `ctl status` still says
 * the exchange's day, not the wall's.
 */

import assert from "node:assert/strict";
import { KvStore } from "../../../engine/adapters/kv_store.ts";
import { runCtlCommand } from "../../../engine/cli/ctl_command.ts";
import { runTradingCommand } from "../../../engine/cli/run_command.ts";
import { DAY_MS, upbitDayStartMs } from "../../../engine/core/candle.ts";
import { createSandbox } from "../../../engine/sandbox/mod.ts";
import * as trader from "../../../engine/trader.ts";
import { sandboxEnv } from "../adapters/upbit/_sandbox.ts";

const BTC_1M = "data/upbit-KRW-BTC-1m-20220531-20220607.csv";
const SPEED = 120;
/** How far (market ms) the bot's knowledge of the exchange's time may trail the sandbox's. */
const HEARD_MS = 60_000;

interface Sample {
  /** Exchange time just before and just after the status was asked. */
  readonly fromMs: number;
  readonly toMs: number;
  readonly dayStartMs: number;
}

async function ctlStatus(kvPath: string): Promise<{ dayStartMs: number; running: boolean }> {
  let out = "";
  let err = "";
  const code = await runCtlCommand(["status", "--json", "--kv", kvPath], {
    stdout: (t) => out += t,
    stderr: (t) => err += t,
    env: {},
  });
  assert.equal(code, 0, err);
  const status = JSON.parse(out) as { dayStartMs: number; running: boolean };
  return status;
}

Deno.test({
  name: "paper on a 120x sandbox: status, day guards and ctl follow the exchange's day change",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir();
    const kvPath = `${dir}/bot.kv`;
    // 23:55 UTC on the wall's date: the exchange's day changes 5 min later (2.5 s real).
    const sb = await createSandbox({
      port: 0,
      speed: SPEED,
      dataFiles: [BTC_1M],
      startAt: "2022-06-01T23:55:00Z",
      rateLimits: false,
    });
    const wallDay = upbitDayStartMs(Date.now());
    const firstDay = upbitDayStartMs(sb.replay.nowMs());
    assert.equal(firstDay, wallDay, "the sandbox starts on the wall's date");
    const nextDay = firstDay + DAY_MS;
    const stop = new AbortController();
    const out: string[] = [];
    try {
      const running = runTradingCommand("paper", [
        "--kv",
        kvPath,
        "--market",
        "KRW-BTC",
        "--timeframe",
        "1m",
        "--log-format",
        "json",
      ], {
        stdout: (t) => out.push(t),
        stderr: (t) => out.push(t),
        isTerminal: false,
        env: sandboxEnv(sb),
        interrupt: stop.signal,
        pid: Deno.pid,
        cwd: Deno.cwd(),
      }, trader);
      const samples: Sample[] = [];
      // Ask the running bot until the exchange is 4 minutes into its new day.
      while (sb.replay.nowMs() < nextDay + 240_000) {
        await new Promise((r) => setTimeout(r, 100));
        const fromMs = sb.replay.nowMs();
        const status = await ctlStatus(kvPath).catch(() => undefined);
        const toMs = sb.replay.nowMs();
        if (status?.running === true) samples.push({ fromMs, toMs, dayStartMs: status.dayStartMs });
      }
      stop.abort();
      assert.equal(await running, 0, out.join(""));
      // Every answer names the exchange's day of the moment it was asked, as far as the bot had
      // heard from the exchange by then (its clock is the newest exchange time the stream
      // delivered: on a busy machine it may trail the sandbox by up to `HEARD_MS`).
      const clear = samples.filter((s) =>
        upbitDayStartMs(s.fromMs - HEARD_MS) === upbitDayStartMs(s.toMs)
      );
      for (const s of clear) assert.equal(s.dayStartMs, upbitDayStartMs(s.fromMs));
      // Never back to the old day once on the new one.
      const days = samples.map((s) => s.dayStartMs);
      assert.deepEqual(days, [...days].sort((a, b) => a - b));
      assert.ok(clear.some((s) => s.dayStartMs === firstDay), "asked before the day change");
      assert.ok(clear.some((s) => s.dayStartMs === nextDay), "asked after the day change");
      // The guards the bot persisted rolled at the exchange's day change.
      const kv = await Deno.openKv(kvPath);
      try {
        const store = new KvStore(kv);
        const run = await store.getRunRecord();
        const botId = run?.traders[0]?.botId;
        assert.ok(botId !== undefined);
        assert.equal((await store.getTraderState(botId))?.guard?.dayStartMs, nextDay);
        assert.equal((await store.getAccountGuard())?.dayStartMs, nextDay);
      } finally {
        kv.close();
      }
      // Stopped: ctl reads the store alone, and still means the exchange's day.
      const stopped = await ctlStatus(kvPath);
      assert.equal(stopped.running, false);
      assert.equal(stopped.dayStartMs, nextDay);
    } finally {
      stop.abort();
      await sb.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
