/**
 * `deno task ctl pause|resume|stop [--sell]|status [--json]`: the operator's switches.
 *
 * While a bot runs it owns the KV file (one process per KV, reliability.md §2.6), so ctl talks
 * to it over the local control channel (`control.ts`: 127.0.0.1, token in a 0600 file). When no
 * bot holds the lock, ctl takes the lock itself and changes the KV directly; `stop` then only
 * pauses, since cancelling orders needs the running bot's exchange.
 */

import { acquireInstanceLock, KvStore } from "../adapters/kv_store.ts";
import { ConfigError } from "../errors.ts";
import { type CtlCommand, parseConfig, parseCtlConfig } from "../config.ts";
import { formatUnits } from "../core/money.ts";
import { controlFilePath, readControlFile, sendControl } from "./control.ts";
import { lockBaseOf, traderConfigOf } from "./run_command.ts";
import type { StopAnswer, TraderApi } from "./trader_api.ts";
import type { TraderStatus } from "../trader.ts";
import { formatStatus, group } from "./status_text.ts";

/** What ctl needs from the process. */
export interface CtlIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** `--help` of ctl. */
export const CTL_USAGE = `Usage: deno task ctl <command> [--kv PATH]

Operates the bot whose state is in DENO_KV_PATH (default ./data/bot.kv; --kv overrides).
A running bot is reached through its local control channel (127.0.0.1, token in
<kv path>.ctl.json, mode 0600); a stopped bot's KV is changed directly.

  pause [--reason TEXT]   no new orders until resume (exits of open positions still run)
  resume                  clear the pause
  stop [--sell]           emergency stop: pause, cancel open orders, and with --sell sell
                          every position at market; exit code 1 if any of it failed. With no
                          bot running it can only pause (cancelling needs the bot's exchange)
  status [--json]         paused/safe-mode flags, position, cash and P&L per market
`;

/** Runs ctl and returns the exit code. */
export async function runCtlCommand(
  args: readonly string[],
  io: CtlIo,
  trader: TraderApi,
): Promise<number> {
  const parsed = parseCtlConfig({ env: io.env, args });
  if (!parsed.ok) {
    io.stderr(`ctl: ${parsed.error} (see --help)\n`);
    return 2;
  }
  const { command, kvPath, help } = parsed.value;
  if (help || command === undefined) {
    io.stdout(CTL_USAGE);
    return help && args.length > 0 ? 0 : 2;
  }
  const lockBase = lockBaseOf(kvPath);
  try {
    let value: unknown;
    let lock;
    try {
      lock = await acquireInstanceLock(lockBase);
    } catch (error) {
      if (!(error instanceof ConfigError)) {
        io.stderr(`ctl: cannot use ${kvPath}: ${firstLine(error)}\n`);
        return 1;
      }
    }
    if (lock === undefined) {
      // A bot holds the KV: go through its control channel.
      const file = await readControlFile(controlFilePath(lockBase));
      if (file === undefined) {
        io.stderr(
          `ctl: a bot holds ${kvPath} but its control file ${
            controlFilePath(lockBase)
          } is missing or unreadable (is it still starting?)\n`,
        );
        return 1;
      }
      value = await sendControl(file, requestOf(command));
    } else {
      try {
        value = await direct(command, { kvPath, io, trader });
      } finally {
        lock.release();
      }
      if (value === undefined) return 1;
    }
    if (command.kind === "status" && command.json) {
      io.stdout(JSON.stringify(value, bigintText) + "\n");
      return 0;
    }
    if (command.kind === "stop" && lock === undefined) {
      // The running bot's answer: what it did per market, then the state now.
      const { reports, status } = value as StopAnswer;
      const errors = reports.flatMap((r) => r.errors.map((e) => `${r.market}: ${e}`));
      io.stdout(
        `${errors.length === 0 ? "emergency stop done" : "emergency stop INCOMPLETE"}\n${
          reports.map(stopLine).join("\n")
        }\n${formatStatus(status)}\n`,
      );
      for (const e of errors) io.stderr(`ctl: stop: ${e}\n`);
      return errors.length === 0 ? 0 : 1;
    }
    io.stdout(`${summary(command.kind, value)}\n`);
    return 0;
  } catch (error) {
    io.stderr(`ctl: ${firstLine(error)}\n`);
    return 1;
  }
}

function requestOf(command: CtlCommand): { method: "GET" | "POST"; path: string; body?: unknown } {
  switch (command.kind) {
    case "pause":
      return { method: "POST", path: "/pause", body: { reason: command.reason } };
    case "resume":
      return { method: "POST", path: "/resume", body: {} };
    case "stop":
      return { method: "POST", path: "/stop", body: { sell: command.sell } };
    case "status":
      return { method: "GET", path: "/status" };
  }
}

/** No bot runs: change the KV directly (under the lock). Undefined after printing an error. */
async function direct(
  command: CtlCommand,
  ctx: { kvPath: string; io: CtlIo; trader: TraderApi },
): Promise<unknown> {
  const local = !/^[a-z]+:\/\//i.test(ctx.kvPath);
  if (local) {
    try {
      await Deno.stat(ctx.kvPath);
    } catch {
      ctx.io.stderr(`ctl: no bot state at ${ctx.kvPath} (start the bot first, or pass --kv)\n`);
      return undefined;
    }
  }
  const config = parseConfig("paper", { env: ctx.io.env, args: [] });
  if (!config.ok) {
    ctx.io.stderr(`ctl: ${config.error}\n`);
    return undefined;
  }
  const configs = config.value.markets.map((m) => traderConfigOf(config.value, m));
  const kv = await Deno.openKv(ctx.kvPath);
  try {
    const store = new KvStore(kv);
    const status = async () => {
      const out = [];
      for (const c of configs) {
        out.push(await ctx.trader.traderStatus(store, c, { nowMs: Date.now() }));
      }
      return out;
    };
    switch (command.kind) {
      case "pause":
        await ctx.trader.pauseTrading(store, command.reason, { atMs: Date.now() });
        return await status();
      case "resume":
        await ctx.trader.resumeTrading(store, { atMs: Date.now() });
        return await status();
      case "stop":
        await ctx.trader.pauseTrading(store, "emergency stop requested by ctl (bot not running)", {
          atMs: Date.now(),
        });
        ctx.io.stderr(
          "ctl: no bot is running: trading is paused; start the bot (it stays paused) and run " +
            "stop again to cancel open orders" + (command.sell ? " and sell positions\n" : "\n"),
        );
        return await status();
      case "status":
        return await status();
    }
  } finally {
    kv.close();
  }
}

/** One line of what the emergency stop did on a market. */
function stopLine(r: StopAnswer["reports"][number]): string {
  const cancelled = `${r.cancelled.length} order${r.cancelled.length === 1 ? "" : "s"} cancelled`;
  const sold = r.sold === null
    ? ""
    : `, sold ${r.sold.volume} for ${group(r.sold.funds)} KRW (${r.sold.state})`;
  return `${r.market}: ${cancelled}${sold}`;
}

/** One readable paragraph of what ctl did and the state now. */
function summary(kind: string, value: unknown): string {
  // A stop without a bot only pauses: say that, not "emergency stop done".
  const head = { pause: "paused", resume: "resumed", stop: "paused", status: "" }[kind] ?? kind;
  const body = formatStatus(value as TraderStatus[]);
  return head === "" ? body : `${head}\n${body}`;
}

function bigintText(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? formatUnits(value) : value;
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0]!;
}
