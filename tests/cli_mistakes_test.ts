/**
 * Every command-line mistake a user can make ends with ONE line on stderr naming the flag,
 * variable, value or file and the reason, exit code 2, and no stack trace: a table over every
 * CLI (backtest, demo, paper, live, ctl, sandbox, and main.ts's mode dispatch).
 *
 * Each case runs as a real process with the exact permission flags of its task in deno.json (read
 * from the file, so the test follows the tasks), a few through `deno task` itself. No case needs
 * the network: paper and live point at 127.0.0.1:1, so one that got as far as connecting would
 * fail here with exit code 1 instead of reaching Upbit.
 */

import assert from "node:assert/strict";
import { childEnv } from "./_child_env.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const TASKS: Record<string, string> = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`)).tasks;

type Task = "backtest" | "demo" | "paper" | "live" | "ctl" | "sandbox" | "main";

interface Mistake {
  readonly task: Task;
  readonly args: readonly string[];
  /** What the line must name (the flag, variable, value or file), and how. */
  readonly names: RegExp;
  readonly env?: Readonly<Record<string, string>>;
  /** Run through `deno task` from this folder (relative to the repo root). */
  readonly viaTask?: string;
}

const tmp = await Deno.makeTempDir({ prefix: "cli_mistakes_" });
const badCsv = `${tmp}/upbit-KRW-BTC-1d.csv`;
await Deno.writeTextFile(
  badCsv,
  "time_utc,open,high,low,close,volume,value\n" +
    "2024-01-01T00:00:00Z,10,12,9,11,1,10\n2024-01-02T00:00:00Z,10,9,12,11,1,10\n",
);
const badJson = `${tmp}/accounts.json`;
await Deno.writeTextFile(badJson, "{ not json");
/** An empty `.env`: the developer's own `.env` (maybe real keys) never reaches these runs. */
const emptyEnv = `${tmp}/empty.env`;
await Deno.writeTextFile(emptyEnv, "");
const busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
const busyPort = String((busy.addr as Deno.NetAddr).port);

const KEYS = {
  UPBIT_ACCESS_KEY: "CANARYACCESSa1b2c3d4e5f6",
  UPBIT_SECRET_KEY: "CANARYSECRETf6e5d4",
};
const LIVE = { ...KEYS, UPBIT_TRADER_REAL_MONEY: "yes" };
const NONE_KV = `data/no-such-store-${Deno.pid}.kv`;
/** A store of the demo's own (none of the cases gets as far as creating it). */
/** One store per demo case: the table runs cases side by side, and a demo locks its store. */
const DEMO_KVS = ["a", "b", "c"].map((c) => `data/cli-mistakes-demo-${Deno.pid}-${c}.kv`);

const MISTAKES: readonly Mistake[] = [
  // backtest
  {
    task: "backtest",
    args: ["--capital", "-1000"],
    names: /^backtest: --capital: must be >= 5000/,
  },
  { task: "backtest", args: ["--capital"], names: /^backtest: --capital: needs a value/ },
  { task: "backtest", args: ["--capitl", "5"], names: /--capitl: unknown option.*--capital/ },
  { task: "backtest", args: ["--fee", "-1"], names: /--fee: must be >= 0 \(got "-1"\)/ },
  { task: "backtest", args: ["--slippage", "11"], names: /--slippage: must be <= 10/ },
  { task: "backtest", args: ["--timeframe", "2h"], names: /--timeframe: expected one of 1m/ },
  { task: "backtest", args: ["--strategy", "xyz"], names: /--strategy: expected one of bb/ },
  { task: "backtest", args: ["--period", "-5"], names: /--period: .*\(got "-5"\)/ },
  { task: "backtest", args: ["--std", "2", "--strategy", "rsi"], names: /--std: not a param/ },
  { task: "backtest", args: ["--from", "2024-13-01"], names: /--from: not a real date/ },
  { task: "backtest", args: ["--from", "2024-02-01", "--to", "2024-01-01"], names: /--to: / },
  { task: "backtest", args: ["--json=yes"], names: /--json: takes no value/ },
  { task: "backtest", args: ["KRW-BTC"], names: /"KRW-BTC": unexpected argument/ },
  { task: "backtest", args: ["--market", "BTC"], names: /--market: expected a KRW market/ },
  {
    task: "backtest",
    args: ["--market", "KRW-ADA"],
    names: /--market: no bundled candles for KRW-ADA \(bundled: KRW-BTC, KRW-DOGE, KRW-ETH/,
  },
  {
    task: "backtest",
    args: ["--market", "KRW-ETH", "--candles", "data/upbit-KRW-BTC-1d.csv"],
    names: /--market: KRW-ETH does not match --candles .*upbit-KRW-BTC-1d\.csv.*KRW-BTC/,
  },
  { task: "backtest", args: ["--candles", "nope.csv"], names: /--candles: .*nope\.csv: file not/ },
  { task: "backtest", args: ["--candles", "data/README.md"], names: /--candles: .*README\.md: / },
  { task: "backtest", args: ["--candles", "data"], names: /--candles: .*data: / },
  {
    task: "backtest",
    args: ["--candles", badCsv],
    names: /--candles: .*upbit-KRW-BTC-1d\.csv:3: /,
  },
  {
    task: "backtest",
    args: ["--html", "/nonexistent/r.html"],
    names: /--html: cannot write \/nonexistent\/r\.html: folder \/nonexistent does not exist/,
  },
  { task: "backtest", args: ["--html", tmp], names: /--html: .*cli_mistakes_\w+ is a folder/ },
  {
    task: "backtest",
    args: ["--candles", "data/upbit-KRW-BTC-1d.csv", "--timeframe", "1h"],
    names: /--timeframe: .*upbit-KRW-BTC-1d\.csv holds 1d candles, which cannot make 1h/,
  },
  { task: "backtest", args: ["--candles", ""], names: /^backtest: --candles: must not be empty/ },
  {
    task: "backtest",
    args: ["--market", "KRW-ETH", "--timeframe", "1m"],
    names: /^backtest: --market: no bundled 1m .*candles for KRW-ETH/,
  },
  { task: "backtest", args: ["--from", "2030-01-01"], names: /--from\/--to: 0 1d candles/ },
  {
    task: "backtest",
    args: ["--capital", "-1000"],
    names: /^backtest: --capital: must be >= 5000/,
    viaTask: ".",
  },
  {
    // From data/, a relative --candles is read from data/ (where the user is).
    task: "backtest",
    args: ["--candles", "upbit-KRW-BTC-1d.csv", "--market", "KRW-ETH"],
    names: /--market: KRW-ETH does not match --candles \/.*\/data\/upbit-KRW-BTC-1d\.csv/,
    viaTask: "data",
  },
  // demo
  { task: "demo", args: ["--speed", "-5"], names: /^demo: --speed: must be >= 1/ },
  { task: "demo", args: ["--speed", "100000"], names: /^demo: --speed: must be <= 1000/ },
  { task: "demo", args: ["--minutes", "0"], names: /^demo: --minutes: must be >= 0\.01/ },
  { task: "demo", args: ["--minutes", "-1"], names: /^demo: --minutes: must be >= 0\.01/ },
  { task: "demo", args: ["--seed", "1.5"], names: /^demo: --seed: / },
  {
    task: "demo",
    args: ["--market", "KRW-ETH", "--kv", DEMO_KVS[0]!],
    names: /^demo: --market: KRW-ETH: the demo's real 1-minute data is KRW-BTC only/,
  },
  {
    task: "demo",
    args: ["--synthetic", "--market", "KRW-XXX", "--kv", DEMO_KVS[1]!],
    names: /^demo: --market: KRW-XXX: not in the demo's data \(it replays .*KRW-BTC/,
  },
  {
    task: "demo",
    args: ["--kv", DEMO_KVS[2]!],
    env: { MARKETS: "KRW-XXX" },
    names: /^demo: MARKETS: KRW-XXX: the demo's real 1-minute data is KRW-BTC only/,
  },
  { task: "demo", args: ["--rest-url", "http://x"], names: /--rest-url: not used by the demo/ },
  { task: "demo", args: ["--kv", `${tmp}/demo.kv`], names: /--kv: .*demo\.kv is outside \.\/data/ },
  { task: "demo", args: ["--timeframe", "7m"], names: /^demo: --timeframe: expected one of/ },
  { task: "demo", args: ["--i-understand-real-money"], names: /--i-understand-real-money: not/ },
  { task: "demo", args: [], env: { MARKETS: "BTC" }, names: /^demo: MARKETS: expected KRW/ },
  { task: "demo", args: ["--log-format", "xml"], names: /^demo: --log-format: expected json/ },
  { task: "demo", args: ["--bot-id", "Bad Id"], names: /^demo: --bot-id: expected 1-16/ },
  { task: "demo", args: ["--speed", "-5"], names: /^demo: --speed: must be >= 1/, viaTask: "data" },
  { task: "demo", args: ["--synthetic=yes"], names: /^demo: --synthetic: takes no value/ },
  { task: "demo", args: ["--kv", "data/x/"], names: /^demo: --kv: .*data\/x\/ names a folder/ },
  // paper
  { task: "paper", args: ["--adopt"], names: /^paper: --adopt: not an option of this mode/ },
  { task: "paper", args: ["--sizing", "all-in"], names: /^paper: --sizing: expected one of/ },
  {
    task: "paper",
    args: ["--max-positions", "-1"],
    names: /^paper: --max-positions: must be >= 0/,
  },
  { task: "paper", args: ["--capital", "-1000"], names: /^paper: --capital: must be >= 5000/ },
  { task: "paper", args: ["--capital", "12345.5"], names: /^paper: --capital: expected a whole/ },
  { task: "paper", args: ["--stop-loss", "150"], names: /^paper: --stop-loss: must be <= 99/ },
  { task: "paper", args: ["--budget", "0"], names: /^paper: --budget: must be >= 1/ },
  { task: "paper", args: ["--market", "KRW-BTC,krw-btc"], names: /--market: a market is listed/ },
  { task: "paper", args: ["--kv", `${tmp}/p.kv`], names: /^paper: --kv: .*p\.kv is outside/ },
  { task: "paper", args: ["--kv", "data"], names: /^paper: --kv: .*data is a folder/ },
  { task: "paper", args: [], env: { CAPITAL_KRW: "abc" }, names: /^paper: CAPITAL_KRW: expected/ },
  {
    task: "paper",
    args: [],
    env: { STRATEGY_PARAMS: "period=x" },
    names: /^paper: STRATEGY_PARAMS: /,
  },
  {
    task: "paper",
    args: [],
    env: { UPBIT_ACCESS_KEY: KEYS.UPBIT_ACCESS_KEY },
    names: /^paper: UPBIT_SECRET_KEY: missing/,
  },
  { task: "paper", args: ["--rest-url", "ftp://x"], names: /^paper: --rest-url: expected a http/ },
  { task: "paper", args: ["--speed", "5"], names: /^paper: --speed: not an option of this mode/ },
  { task: "paper", args: ["--period", "1"], names: /^paper: --period: period / },
  { task: "paper", args: [], env: { TIMEFRAME: "2m" }, names: /^paper: TIMEFRAME: expected one/ },
  { task: "paper", args: ["--stale-after", "-1"], names: /^paper: --stale-after: must be >= 1/ },
  // live
  { task: "live", args: [], names: /^live: UPBIT_ACCESS_KEY: missing/ },
  { task: "live", args: [], env: KEYS, names: /^live: --i-understand-real-money: missing/ },
  {
    task: "live",
    args: ["--capital", "2000000"],
    env: LIVE,
    names: /^live: --capital: 2000000 KRW is over the live limit/,
  },
  { task: "live", args: ["--kv", ":memory:"], env: LIVE, names: /^live: --kv: .*:memory:/ },
  {
    task: "live",
    args: ["--rest-url", "http://example.com"],
    env: LIVE,
    names: /^live: --rest-url: live mode sends keys only over TLS/,
  },
  {
    task: "live",
    args: [],
    env: { ...KEYS, UPBIT_TRADER_REAL_MONEY: "maybe" },
    names: /^live: UPBIT_TRADER_REAL_MONEY: expected yes or no/,
  },
  { task: "live", args: ["--capital", "-5"], env: LIVE, names: /^live: --capital: must be >= / },
  { task: "live", args: ["--kv", `${tmp}/l.kv`], env: LIVE, names: /^live: --kv: .*outside/ },
  {
    task: "live",
    args: ["--adopt", "--ignore-holdings"],
    env: LIVE,
    names: /^live: --adopt, --ignore-holdings: pick one/,
  },
  // ctl
  { task: "ctl", args: ["audit", "--limit", "-5"], names: /^ctl: --limit: must be >= 1/ },
  { task: "ctl", args: ["status", "--kv", ""], names: /^ctl: --kv: must not be empty/ },
  {
    // From data/, a relative --kv is taken from data/ (where the user is).
    task: "ctl",
    args: ["status", "--kv", NONE_KV.slice("data/".length)],
    names: /^ctl: --kv: no bot state at \/.*\/data\/no-such-store-\d+\.kv/,
    viaTask: "data",
  },
  { task: "ctl", args: ["set"], names: /^ctl: set: expected a parameter and a value/ },
  { task: "ctl", args: [], names: /^ctl: command: missing/ },
  { task: "ctl", args: ["halt"], names: /^ctl: command: expected pause.*"halt"/ },
  { task: "ctl", args: ["status", "--sell"], names: /^ctl: --sell: not an option of ctl status/ },
  { task: "ctl", args: ["status", "--kv", NONE_KV], names: /^ctl: --kv: no bot state at .*no-/ },
  { task: "ctl", args: ["status", "--kv", `${tmp}/c.kv`], names: /^ctl: --kv: .*c\.kv is outside/ },
  { task: "ctl", args: ["pause", "--reason"], names: /^ctl: --reason: needs a value/ },
  { task: "ctl", args: ["--kv", NONE_KV, "status"], names: /^ctl: command: missing.*"--kv"/ },
  { task: "ctl", args: ["status", "--json", "--json"], names: /^ctl: --json: given more than/ },
  {
    task: "ctl",
    args: ["status"],
    env: { DENO_KV_PATH: NONE_KV },
    names: /^ctl: DENO_KV_PATH: no bot state at/,
  },
  // sandbox
  { task: "sandbox", args: ["--bogus"], names: /^sandbox: unknown option --bogus/ },
  { task: "sandbox", args: ["--port", "-1"], names: /^sandbox: --port needs a whole number >= 0/ },
  { task: "sandbox", args: ["--port", "70000"], names: /^sandbox: --port must be <= 65535/ },
  {
    task: "sandbox",
    args: ["--port", busyPort],
    names: new RegExp(`^sandbox: --port ${busyPort}: already in use`),
  },
  { task: "sandbox", args: ["--speed", "-5"], names: /^sandbox: --speed needs a number >= 0/ },
  { task: "sandbox", args: ["--speed", "0"], names: /^sandbox: --speed must be > 0/ },
  {
    task: "sandbox",
    args: ["--port", "0", "--data", "/nonexistent.csv"],
    names: /^sandbox: --data: .*\/nonexistent\.csv/,
  },
  {
    task: "sandbox",
    args: ["--port", "0", "--data", "data/upbit-KRW-ADA-1d.csv"],
    names: /^sandbox: --data: .*upbit-KRW-ADA-1d\.csv: file not found/,
  },
  {
    task: "sandbox",
    args: ["--port", "0", "--data", badCsv],
    names: /^sandbox: --data: .*upbit-KRW-BTC-1d\.csv:3: /,
  },
  { task: "sandbox", args: ["--start", "yesterday"], names: /^sandbox: --start needs an ISO/ },
  { task: "sandbox", args: ["--balance", "KRW"], names: /^sandbox: --balance needs CUR=AMOUNT/ },
  { task: "sandbox", args: ["--accounts", `${tmp}/no.json`], names: /^sandbox: --accounts: .*no/ },
  { task: "sandbox", args: ["--accounts", badJson], names: /^sandbox: --accounts: .*not valid/ },
  { task: "sandbox", args: ["--data"], names: /^sandbox: --data needs at least one file/ },
  // main.ts's mode dispatch
  {
    task: "main",
    args: ["bogus"],
    names: /^upbit-trader: unknown mode "bogus": expected backtest/,
  },
  { task: "main", args: [], names: /^upbit-trader: missing mode: expected backtest/ },
];

/** The `deno run …` arguments of a task, as deno.json spells them (`--env-file` made empty). */
function taskArgs(task: Task): string[] {
  const words = TASKS[task === "main" ? "backtest" : task]!.split(/\s+/);
  assert.equal(words[0], "deno", `task ${task} does not start with deno`);
  const args = words.slice(1).map((w) => (w === "--env-file" ? `--env-file=${emptyEnv}` : w));
  return task === "main" ? args.slice(0, -1) : args;
}

function env(extra: Readonly<Record<string, string>>): Record<string, string> {
  return childEnv({
    // Nowhere to connect: a case that got past its checks would fail with exit code 1.
    UPBIT_REST_URL: "http://127.0.0.1:1",
    UPBIT_WS_URL: "ws://127.0.0.1:1/websocket/v1",
    ...extra,
  });
}

interface Outcome {
  readonly code: number;
  readonly stdout: string;
  readonly lines: readonly string[];
}

async function run(m: Mistake): Promise<Outcome> {
  const command = m.viaTask === undefined
    ? new Deno.Command(Deno.execPath(), {
      args: [...taskArgs(m.task), ...m.args],
      cwd: ROOT,
      env: env(m.env ?? {}),
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    })
    : new Deno.Command(Deno.execPath(), {
      args: ["task", "--config", `${ROOT}deno.json`, m.task, ...m.args],
      cwd: `${ROOT}${m.viaTask}`,
      env: env(m.env ?? {}),
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    });
  const out = await command.output();
  const decoder = new TextDecoder();
  // `deno task` announces the command it runs; that line is Deno's, not ours.
  const lines = decoder.decode(out.stderr).split("\n")
    .filter((l) => l !== "" && !(m.viaTask !== undefined && /^Task \w+ /.test(l)));
  return { code: out.code, stdout: decoder.decode(out.stdout), lines };
}

function describe(m: Mistake): string {
  const env = Object.entries(m.env ?? {}).map(([k, v]) => `${k}=${v} `).join("");
  return `${env}${m.viaTask === undefined ? "" : `(deno task in ${m.viaTask}) `}${m.task} ${
    m.args.join(" ")
  }`;
}

Deno.test(`${MISTAKES.length} CLI mistakes: each is one line naming it, exit code 2, no trace`, async () => {
  assert.ok(MISTAKES.length >= 50, `only ${MISTAKES.length} mistakes in the table`);
  const failures: string[] = [];
  const BATCH = 6;
  try {
    for (let i = 0; i < MISTAKES.length; i += BATCH) {
      const batch = MISTAKES.slice(i, i + BATCH);
      const outcomes = await Promise.all(batch.map(run));
      batch.forEach((m, j) => {
        const o = outcomes[j]!;
        const problems = [
          o.code === 2 ? "" : `exit code ${o.code}`,
          o.lines.length === 1 ? "" : `${o.lines.length} lines on stderr`,
          o.stdout === "" ? "" : "output on stdout",
          o.lines.some((l) => /^\s*at |\berror:|Uncaught/.test(l)) ? "a stack trace" : "",
          o.lines.length === 1 && !m.names.test(o.lines[0]!) ? `does not match ${m.names}` : "",
        ].filter((p) => p !== "");
        if (problems.length > 0) {
          failures.push(
            `${describe(m)}: ${problems.join(", ")}\n    ${o.lines.join("\n    ")}${
              o.stdout === "" ? "" : `\n    stdout: ${o.stdout.slice(0, 300)}`
            }`,
          );
        }
      });
    }
  } finally {
    busy.close();
    await Deno.remove(tmp, { recursive: true });
    for (const kv of DEMO_KVS) {
      for (const suffix of ["", ".lock", "-wal", "-shm"]) {
        await Deno.remove(`${ROOT}${kv}${suffix}`).catch(() => {});
      }
    }
  }
  assert.deepEqual(failures, []);
});
