/**
 * End-to-end parity through the user's own commands: `deno task sandbox` replaying the bundled
 * real 1-minute KRW-BTC file fast, `deno task paper` against it, then `deno task compare` (the
 * backtest with 1-minute detail over the candles the bot recorded, leg by leg). Prints the
 * comparison's summary as one JSON line; exits 1 when a leg is unexplained or the share of
 * identical legs is under `--min-pct`.
 *
 *   deno run -A bench/parity_e2e.ts [--minutes 15] [--speed 120] [--min-pct 95] [--five]
 *
 * `--five`: one account over the five bundled 30-minute markets (at most 2 positions, 30 % of
 * the equity each, so markets closing together contend for the last slot: the same-close rule).
 *
 * Takes the minutes asked (the paper bot runs that long), so it is not part of `deno task bench`.
 */

const ROOT = new URL("../", import.meta.url).pathname;
const FIVE = Deno.args.includes("--five");
const MARKETS = ["KRW-BTC", "KRW-ETH", "KRW-XRP", "KRW-SOL", "KRW-DOGE"];
const FILES = FIVE
  ? MARKETS.map((m) =>
    `data/upbit-${m}-30m-${m === "KRW-BTC" ? "20240123" : "20241023"}-20250127.csv`
  )
  : ["data/upbit-KRW-BTC-1m-20220531-20220607.csv"];
const START = FIVE ? "2024-11-24T00:00:00Z" : "2022-06-01T00:00:00Z";
/**
 * One market: BB(20, 2) on 1-minute candles with tight exits, about two trades an hour of data.
 * Five: BB(20, 1.5) on 30-minute candles, stop 1.5 %, target 2 %, 2 positions of 30 % at most.
 */
const SETTINGS = FIVE
  ? [
    "--market",
    MARKETS.join(","),
    "--timeframe",
    "30m",
    "--std",
    "1.5",
    "--stop-loss",
    "1.5",
    "--take-profit",
    "2",
    "--max-positions",
    "2",
    "--sizing",
    "equity_pct",
    "--sizing-value",
    "30",
  ]
  : [
    "--market",
    "KRW-BTC",
    "--timeframe",
    "1m",
    "--std",
    "2",
    "--stop-loss",
    "0.5",
    "--take-profit",
    "0.5",
  ];

function flag(name: string, fallback: number): number {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Number(Deno.args[i + 1]) : fallback;
}

async function firstLine(stream: ReadableStream<Uint8Array>, match: RegExp): Promise<string> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the process ended before printing ${match}: ${text.slice(-500)}`);
    text += decoder.decode(value, { stream: true });
    const m = match.exec(text);
    if (m !== null) {
      // Keep draining so the process never blocks on a full pipe.
      (async () => {
        while (!(await reader.read()).done) { /* drain */ }
      })();
      return m[1]!;
    }
  }
}

/** The `deno run` process under `deno task`'s (Ctrl-C goes to the bot itself). */
async function childOf(pid: number): Promise<number> {
  const out = await new Deno.Command("pgrep", { args: ["-P", String(pid)], stdout: "piped" })
    .output();
  const child = Number(new TextDecoder().decode(out.stdout).trim().split("\n")[0]);
  return Number.isInteger(child) && child > 0 ? child : pid;
}

const minutes = flag("minutes", 15);
const speed = flag("speed", 120);
const minPct = flag("min-pct", 95);
const kv = `./data/parity-e2e-${Date.now()}.kv`;
const sandbox = new Deno.Command("deno", {
  args: [
    "task",
    "sandbox",
    "--port",
    "0",
    "--speed",
    String(speed),
    "--data",
    ...FILES,
    "--start",
    START,
  ],
  cwd: ROOT,
  stdout: "piped",
  stderr: "null",
}).spawn();
try {
  const port = await firstLine(sandbox.stdout, /rest=http:\/\/127\.0\.0\.1:(\d+)/);
  const bot = new Deno.Command("deno", {
    args: ["task", "paper", ...SETTINGS, "--kv", kv],
    cwd: ROOT,
    env: {
      UPBIT_REST_URL: `http://127.0.0.1:${port}`,
      UPBIT_WS_URL: `ws://127.0.0.1:${port}/websocket/v1`,
    },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  await new Promise((resolve) => setTimeout(resolve, minutes * 60_000));
  // Ctrl-C: the bot stops cleanly (its run record closed, the store released).
  Deno.kill(await childOf(bot.pid), "SIGINT");
  const paper = await bot.output();
  if (paper.code !== 0) {
    throw new Error(
      `paper exited ${paper.code}: ${new TextDecoder().decode(paper.stderr).slice(-500)}`,
    );
  }
  const compare = await new Deno.Command("deno", {
    args: ["task", "compare", "--kv", kv, "--json"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (compare.code !== 0) throw new Error(new TextDecoder().decode(compare.stderr));
  const report = JSON.parse(new TextDecoder().decode(compare.stdout));
  const line = { minutes, speed, settings: SETTINGS.join(" "), kv, ...report.summary };
  // deno-lint-ignore no-console
  console.log(JSON.stringify(line));
  const ok = report.summary.unexplained === 0 && report.summary.identical_pct >= minPct;
  Deno.exitCode = ok ? 0 : 1;
} finally {
  sandbox.kill("SIGTERM");
  await sandbox.status;
}
