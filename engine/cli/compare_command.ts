/**
 * `deno task compare --kv PATH [--from --to] [--json]`: the backtest re-run over the candles the
 * bot recorded, beside what the bot did, trade leg by trade leg (identical, matched with the
 * price difference in bps, or one side only with its cause). Reads the store; changes nothing.
 */

import { join } from "node:path";
import type { Cause, CompareRow } from "../core/compare.ts";
import { formatUnits } from "../core/money.ts";
import { formatIsoUtc } from "../core/time.ts";
import { DEFAULT_KV_PATH, kvEnvName } from "../config.ts";
import { clip, parseFlags } from "../flags.ts";
import {
  compareRun,
  type CompareStore,
  NothingToCompareError,
  type RunComparison,
} from "../mod.ts";
import { existingStoreRefusal } from "./store_path.ts";

/** Where the command writes and reads its settings. */
export interface CompareIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The user's working folder: a relative `--kv` starts there. */
  readonly cwd: string;
  /** Opens the bot's store at a path (main.ts composes it: a KV store). */
  readonly openStore: (path: string) => Promise<{ store: CompareStore; close(): void }>;
}

/** Usage text of `deno task compare --help`. */
export const COMPARE_USAGE = `Usage: deno task compare [--kv PATH] [--from T] [--to T] [--json]

Re-runs the backtest over the final 1-minute candles the bot recorded (its strategy, settings and
capital; fills and exits resolved on those minutes) and lists, leg by leg, what the bot did and
what the backtest did: identical (same side, decided on the same 1-minute candle), matched (within one
strategy candle, or answering the same signal) with the price difference in bps and the reason,
or one side only with the reason. A leg is decided on a candle: the bot's risk exit on the price
that triggered it, its strategy order at the end of the signal's candle (both fill moments later);
the backtest's legs where they fill.

  --kv PATH     the bot's store (default DENO_KV_PATH, else ${DEFAULT_KV_PATH})
  --from T      from this time (YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS]Z, UTC; default: all recorded)
  --to T        before this time (a date alone: to the end of that day)
  --json        one JSON object: the rows and the summary
  --help        this text
`;

/** Runs the compare command and returns its exit code. */
export async function runCompareCommand(args: readonly string[], io: CompareIo): Promise<number> {
  const flags = parseFlags(args, {
    kv: "string",
    from: "string",
    to: "string",
    json: "boolean",
    help: "boolean",
  }, { h: "help" });
  if (!flags.ok) return fail(io, `${flags.error} (see --help)`);
  const v = flags.value;
  if (v.help === true) {
    io.stdout(COMPARE_USAGE);
    return 0;
  }
  const from = v.from === undefined ? 0 : timeOf(String(v.from), "from");
  if (typeof from === "string") return fail(io, from);
  const to = v.to === undefined ? 8.64e15 : timeOf(String(v.to), "to");
  if (typeof to === "string") return fail(io, to);
  if (to <= from) return fail(io, "--to: must be after --from");
  const fromFlag = typeof v.kv === "string" ? v.kv.trim() : undefined;
  if (fromFlag === "") return fail(io, "--kv: must not be empty");
  const fromEnv = io.env.DENO_KV_PATH?.trim() || undefined;
  const text = fromFlag ?? fromEnv ?? DEFAULT_KV_PATH;
  const kvPath = /^[a-z]+:\/\//i.test(text) || text.startsWith("/") ? text : join(io.cwd, text);
  const label = fromFlag === undefined && fromEnv !== undefined ? kvEnvName(io.env) : "--kv";
  const refusal = await existingStoreRefusal(kvPath, label);
  if (refusal !== undefined) return fail(io, refusal);
  let comparison: RunComparison;
  const opened = await io.openStore(kvPath);
  try {
    comparison = await compareRun(opened.store, { fromMs: from, toMs: to });
  } catch (error) {
    if (error instanceof NothingToCompareError) return fail(io, `${label}: ${error.message}`);
    return fail(io, `stopped by an unexpected error: ${clip(String(error), 300)}`, 1);
  } finally {
    opened.close();
  }
  io.stdout(v.json === true ? JSON.stringify(toJson(comparison)) + "\n" : renderText(comparison));
  return 0;
}

function fail(io: CompareIo, message: string, code = 2): number {
  io.stderr(`compare: ${message}\n`);
  return code;
}

/** A `--from`/`--to` time: a UTC date (to: its end) or an ISO time with Z. */
function timeOf(text: string, flag: "from" | "to"): number | string {
  const t = text.trim();
  if (/^\d{4}-\d{2}-\d{2}$/.test(t)) {
    const ms = Date.parse(`${t}T00:00:00Z`);
    if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== t) {
      return `--${flag}: not a real date (got "${clip(t)}")`;
    }
    return flag === "to" ? ms + 86_400_000 : ms;
  }
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?Z$/.test(t)) {
    const ms = Date.parse(t);
    if (!Number.isNaN(ms)) return ms;
  }
  return `--${flag}: expected YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS]Z (got "${clip(t)}")`;
}

/** One sentence for a cause. */
export function describeCause(cause: Cause): string {
  switch (cause.kind) {
    case "near_miss": {
      const which = cause.level === "stop" ? "low" : "high";
      return `near miss at ${formatIsoUtc(cause.atMs)}: the candle's ${which} ${cause.extreme} ` +
        `fell between the ${cause.level}s (bot ${formatUnits(cause.botLevel)}, backtest ${
          formatUnits(cause.backtestLevel)
        }; ${cause.bps.toFixed(1)} bps apart, from the entries' prices)`;
    }
    case "still_holding":
      return `the ${cause.who} still held the position entered at ${formatIsoUtc(cause.sinceMs)}`;
    case "was_flat":
      return `the ${cause.who} held no position then (an earlier difference)`;
    case "warm_up":
      return `the backtest's strategy was warming up on the recorded candles until ${
        formatIsoUtc(cause.untilMs)
      }`;
    case "no_candles":
      return `no candle recorded from ${formatIsoUtc(cause.fromMs)} to ${
        formatIsoUtc(cause.toMs)
      } (the bot was down or disconnected)`;
    case "manual":
      return "an operator's sell";
    case "other_exit":
      return `the bot exited by ${cause.bot.replace("_", " ")}, the backtest by ${
        cause.backtest.replace("_", " ")
      } (no level split them on the recorded candles)`;
    case "late":
      return `the same decision; the ${cause.who} filled ${Math.round(cause.ms / 1000)} s later`;
    case "skipped":
      return `the ${cause.who}'s strategy signalled too; ${cause.reason}`;
    case "no_signal":
      return `the ${cause.who}'s strategy gave no such signal on the candle of ${
        formatIsoUtc(cause.bucketMs)
      } (it saw other candles)`;
    case "unexplained":
      return "unexplained";
  }
}

function legText(leg: CompareRow["bot"]): string {
  if (leg === undefined) return "—";
  return `${formatIsoUtc(leg.tsMs).slice(5, 16).replace("T", " ")} ${formatUnits(leg.price)} (${
    leg.kind.replace("_", " ")
  })`;
}

function renderText(c: RunComparison): string {
  const s = c.summary;
  const lines = [
    `Bot "${c.botId}" (${c.strategy} on ${c.timeframe}, ${
      c.markets.join(", ")
    }) beside its backtest`,
    `over ${c.minutes} recorded 1-minute candles, ${
      c.fromMs === null ? "—" : formatIsoUtc(c.fromMs)
    } to ${c.toMs === null ? "—" : formatIsoUtc(c.toMs)}`,
    "",
  ];
  for (const r of c.rows) {
    const side = r.side === "bid" ? "buy " : "sell";
    const head = `${r.market} ${side}`;
    switch (r.status) {
      case "identical":
      case "matched":
        lines.push(
          `  ${r.status === "identical" ? "=" : "~"} ${head}  bot ${legText(r.bot)}  backtest ${
            legText(r.backtest)
          }  ${(r.bps ?? 0) >= 0 ? "+" : ""}${(r.bps ?? 0).toFixed(1)} bps${
            r.cause === undefined ? "" : `: ${describeCause(r.cause)}`
          }`,
        );
        break;
      case "bot_only":
        lines.push(`  + ${head}  bot ${legText(r.bot)}  only the bot: ${describeCause(r.cause!)}`);
        break;
      case "backtest_only":
        lines.push(
          `  - ${head}  backtest ${legText(r.backtest)}  only the backtest: ${
            describeCause(r.cause!)
          }`,
        );
        break;
    }
  }
  lines.push(
    "",
    `${s.legs} legs: ${s.identical} identical (same side, decided on the same 1-minute candle: ${
      s.identicalPct.toFixed(1)
    } %; ${s.sameFillMinute} of them also filled in that minute), ${s.matched} matched otherwise, ${s.botOnly} bot only, ${s.backtestOnly} backtest only; ${s.unexplained} unexplained`,
    "",
  );
  return lines.join("\n");
}

function toJson(c: RunComparison): Record<string, unknown> {
  const leg = (l: CompareRow["bot"]) =>
    l === undefined ? null : {
      time: formatIsoUtc(l.tsMs),
      price: formatUnits(l.price),
      volume: formatUnits(l.volume),
      kind: l.kind,
    };
  return {
    bot_id: c.botId,
    strategy: c.strategy,
    timeframe: c.timeframe,
    markets: c.markets,
    from: c.fromMs === null ? null : formatIsoUtc(c.fromMs),
    to: c.toMs === null ? null : formatIsoUtc(c.toMs),
    minutes: c.minutes,
    summary: {
      legs: c.summary.legs,
      identical: c.summary.identical,
      matched: c.summary.matched,
      bot_only: c.summary.botOnly,
      backtest_only: c.summary.backtestOnly,
      unexplained: c.summary.unexplained,
      identical_pct: Math.round(c.summary.identicalPct * 100) / 100,
      same_fill_minute: c.summary.sameFillMinute,
    },
    rows: c.rows.map((r) => ({
      market: r.market,
      side: r.side,
      status: r.status,
      bot: leg(r.bot),
      backtest: leg(r.backtest),
      bps: r.bps === undefined ? null : Math.round(r.bps * 100) / 100,
      reason: r.cause === undefined ? null : { kind: r.cause.kind, text: describeCause(r.cause) },
    })),
  };
}
