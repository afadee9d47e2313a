/**
 * `deno task ctl <command>`: parses, hands the command to the bot's operator, formats the answer.
 * No operator logic lives here (it is all in `engine/operator/`).
 *
 * While a bot runs it owns the KV file (one process per KV, reliability.md §2.6), so ctl talks
 * to its operator over the local control channel (`control.ts`: 127.0.0.1, token in a 0600
 * file). When no bot holds the lock, ctl takes the lock itself and builds an operator over the
 * store alone: the markets and bot id are the ones the bot ran with (its run record), never
 * `MARKETS`/`BOT_ID` from the environment.
 */

import { WALL_CLOCK } from "../wall_clock.ts";
import { exchangeClock } from "./exchange_clock.ts";
import { acquireInstanceLock, KvStore } from "../adapters/kv_store.ts";
import { ConfigError, errorLine } from "../errors.ts";
import { type CtlCommand, parseCtlConfig } from "../config.ts";
import {
  type BotStatus,
  type CommandOutcome,
  createOperator,
  type DailyReport,
  type OperatorCommand,
  type ParamsView,
  statusJson,
  type StopReport,
} from "../mod.ts";
import type { CommandRecord } from "../ports.ts";
import { controlFilePath, type ControlHandlers, readControlFile, sendControl } from "./control.ts";
import { lockBaseOf } from "./run_command.ts";
import { formatAudit, formatParams, formatStatus, group } from "./status_text.ts";
import { formatDailyReport } from "./report_text.ts";
import { existingStoreRefusal } from "./store_path.ts";

/** What ctl needs from the process. */
export interface CtlIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The user's working folder: a relative `--kv` starts there. */
  readonly cwd?: string;
}

/** `--help` of ctl. */
const CTL_USAGE = `Usage: deno task ctl <command> [--kv PATH]

Operates the bot whose state is in DENO_KV_PATH (default ./data/bot.kv; --kv overrides).
A running bot is reached through its local control channel (127.0.0.1, token in
<kv path>.ctl.json, mode 0600); a stopped bot's store is changed directly, for the markets and
bot id it last ran with. Every command is recorded in the audit log (ctl audit).

  pause [--reason TEXT]   no new entries until resume (exits of open positions still run)
  resume [--clear-safe-mode]
                          re-runs the safety checks (a running bot reconciles orders and
                          balances first; a difference refuses the resume, exit 1), then
                          clears the pause and an emergency stop; safe mode only with the flag
  stop [--sell]           emergency stop: waits for the order in flight, cancels our open
                          orders, with --sell sells every position at market, then HALTS: no
                          order at all (stop losses included) until resume; exit 1 if any of
                          it failed. With no bot running it can only halt (cancelling and
                          selling need the bot's exchange)
  sell <market>           sells that market's position (KRW-BTC or btc) at market, cancelling
                          our open orders there first; trading goes on. Needs the running
                          bot (exit 1 when none runs, the market is not traded or nothing is
                          held)
  status [--json]         switches, positions, cash and P&L per market and for the account
  set <param> <value>     change a run-time parameter, checked like the start-up flag of the
                          same name; applied at the next candle close (a strategy period
                          re-warms the strategy). Bad value: one line, exit 2.
                          Risk: stop-loss take-profit max-daily-loss trailing-stop
                          cooldown-hours budget stale-after; strategy: period std oversold
                          overbought fast slow signal (those of the bot's strategy)
  unset <param>           drop the run-time value: the start-up value applies again
  params [--json]         the parameters in force, their start-up values and every change
  audit [--json] [--limit N]   the newest operator commands (who, what, when, result)
  report [--date YYYY-MM-DD] [--json]
                          the daily report of an Upbit day (09:00 KST that date to the
                          next; default the last complete day, else the latest active
                          one): P&L, fees, slippage, exits, drawdown, data health, uptime,
                          the backtest beside the bot; reads only (\`deno task report\`
                          is this command)

Precedence: a value set at run time is stored (versioned, audited) and wins over the start-up
configuration (flags, environment, defaults), also after a restart, until \`ctl unset\`.
`;

/** The bot's operator as ctl reaches it: over the control channel, or over the store. */
type Target = Omit<ControlHandlers, "backup">;

/** Runs ctl and returns the exit code. */
export async function runCtlCommand(args: readonly string[], io: CtlIo): Promise<number> {
  const parsed = parseCtlConfig({ env: io.env, args, cwd: io.cwd });
  if (!parsed.ok) {
    io.stderr(`ctl: ${parsed.error} (see --help)\n`);
    return 2;
  }
  const { command, kvPath, kvLabel, help } = parsed.value;
  if (help || command === undefined) {
    io.stdout(CTL_USAGE);
    return 0;
  }
  const refusal = await existingStoreRefusal(kvPath, kvLabel);
  if (refusal !== undefined) {
    io.stderr(`ctl: ${refusal}\n`);
    return 2;
  }
  const lockBase = lockBaseOf(kvPath);
  try {
    let lock;
    try {
      lock = await acquireInstanceLock(lockBase);
    } catch (error) {
      if (!(error instanceof ConfigError)) {
        io.stderr(`ctl: cannot use ${kvPath}: ${errorLine(error)}\n`);
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
      const remote: Target = {
        execute: (body) => sendControl(file, { method: "POST", path: "/command", body }),
        status: () => sendControl(file, { method: "GET", path: "/status" }),
        params: () => sendControl(file, { method: "GET", path: "/params" }),
        audit: (limit) => sendControl(file, { method: "GET", path: `/audit?limit=${limit}` }),
        report: (date) =>
          sendControl(file, {
            method: "GET",
            path: `/report${date === undefined ? "" : `?date=${date}`}`,
          }),
      };
      return await perform(command, remote, io);
    }
    try {
      if (!/^[a-z]+:\/\//i.test(kvPath) && !(await exists(kvPath))) {
        io.stderr(`ctl: no bot state at ${kvPath} (start the bot first, or pass --kv)\n`);
        return 1;
      }
      const kv = await Deno.openKv(kvPath);
      try {
        const store = new KvStore(kv);
        // The run's clock goes on from the exchange time it last recorded (a sandbox replaying
        // fast runs ahead of the wall): "today" is the day of the bot's fills.
        const clock = exchangeClock(WALL_CLOCK);
        const run = await store.getRunRecord();
        if (run !== undefined) clock.observe(run.endedAtMs ?? run.startedAtMs);
        const operator = createOperator({
          store,
          clock,
          checkState: () => store.verifyState(),
          // Nobody else hears a stopped bot's events: the audit log records the command.
          notifier: { notify() {} },
        });
        return await perform(command, {
          execute: (body) => operator.execute("ctl", body),
          status: () => operator.status(),
          params: () => operator.params(),
          audit: (limit) => operator.auditLog({ limit }),
          report: (date) => operator.dailyReport(date),
        }, io);
      } finally {
        kv.close();
      }
    } finally {
      lock.release();
    }
  } catch (error) {
    io.stderr(`ctl: ${errorLine(error)}\n`);
    return 1;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Asks the operator and prints the answer; the exit code. */
async function perform(command: CtlCommand, target: Target, io: CtlIo): Promise<number> {
  switch (command.kind) {
    case "status": {
      const status = await target.status() as BotStatus;
      io.stdout(
        command.json ? `${JSON.stringify(statusJson(status))}\n` : `${formatStatus(status)}\n`,
      );
      return 0;
    }
    case "params": {
      const params = await target.params() as ParamsView;
      io.stdout(command.json ? `${JSON.stringify(params)}\n` : `${formatParams(params)}\n`);
      return 0;
    }
    case "audit": {
      const records = await target.audit(command.limit) as CommandRecord[];
      io.stdout(command.json ? `${JSON.stringify(records)}\n` : `${formatAudit(records)}\n`);
      return 0;
    }
    case "report": {
      const daily = await target.report!(command.date) as DailyReport;
      io.stdout(command.json ? `${JSON.stringify(daily)}\n` : `${formatDailyReport(daily)}\n`);
      return 0;
    }
  }
  const outcome = await target.execute(operatorCommand(command)) as CommandOutcome;
  return report(command, outcome, io);
}

function operatorCommand(command: CtlCommand): OperatorCommand {
  switch (command.kind) {
    case "pause":
      return { kind: "pause", reason: command.reason };
    case "resume":
      return { kind: "resume", clearSafeMode: command.clearSafeMode };
    case "stop":
      return { kind: "stop", sell: command.sell };
    case "sell":
      return { kind: "sell", market: command.market };
    case "set":
      return { kind: "set", name: command.name, value: command.value };
    case "unset":
      return { kind: "unset", name: command.name };
    default:
      throw new RangeError(`Cannot send ctl ${command.kind} as a command`);
  }
}

/** Prints what a command did; refusals are one line on stderr. */
function report(command: CtlCommand, outcome: CommandOutcome, io: CtlIo): number {
  const status = formatStatus(outcome.status);
  if (outcome.result === "refused") {
    io.stderr(`ctl: ${command.kind}: ${outcome.detail}\n`);
    // A refused resume is a failed check and a refused sale had nothing to act on (exit 1);
    // anything else was bad input (exit 2).
    return command.kind === "resume" || command.kind === "sell" ? 1 : 2;
  }
  switch (command.kind) {
    case "stop": {
      if (!outcome.status.running) {
        io.stdout(`halted\n${status}\n`);
        io.stderr(
          "ctl: no bot is running: trading is halted and paused; start the bot (it stays " +
            "stopped) and run stop again to cancel open orders" +
            (command.sell ? " and sell positions\n" : "\n"),
        );
        return 0;
      }
      const done = outcome.result === "done";
      io.stdout(
        `${done ? "emergency stop done" : "emergency stop INCOMPLETE"}\n${
          outcome.reports.map(stopText).join("\n")
        }\n${status}\n`,
      );
      for (const r of outcome.reports) {
        for (const e of r.errors) io.stderr(`ctl: stop: ${r.market}: ${e}\n`);
      }
      return done ? 0 : 1;
    }
    case "sell": {
      const done = outcome.result === "done";
      io.stdout(
        `${done ? "sold" : "sale INCOMPLETE"}\n${
          outcome.reports.map(stopText).join("\n")
        }\n${status}\n`,
      );
      for (const r of outcome.reports) {
        for (const e of r.errors) io.stderr(`ctl: sell: ${r.market}: ${e}\n`);
      }
      return done ? 0 : 1;
    }
    case "set":
    case "unset":
      if (outcome.result !== "done") {
        io.stderr(`ctl: ${command.kind}: ${outcome.detail}\n`);
        return 1;
      }
      io.stdout(`${outcome.detail}\n`);
      return 0;
    default: {
      if (outcome.result !== "done") {
        io.stderr(`ctl: ${command.kind}: ${outcome.detail}\n`);
        return 1;
      }
      const head = command.kind === "pause" ? "paused" : "resumed";
      const note = command.kind === "resume" && outcome.detail.includes("safe mode stays")
        ? `\n${outcome.detail}`
        : "";
      io.stdout(`${head}${note}\n${status}\n`);
      return 0;
    }
  }
}

/** One line of what the emergency stop did on a market. */
function stopText(r: StopReport): string {
  const cancelled = `${r.cancelled.length} order${r.cancelled.length === 1 ? "" : "s"} cancelled`;
  const sold = r.sold === null
    ? ""
    : `, sold ${r.sold.volume} for ${group(r.sold.funds)} KRW (${r.sold.state})`;
  return `${r.market}: ${cancelled}${sold}`;
}
