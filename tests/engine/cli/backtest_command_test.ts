/** Tests of `deno task backtest`: flags, reports, and one clear line with exit code 2 on bad input. */

import assert from "node:assert/strict";
import { type CommandIo, runBacktestCommand } from "../../../engine/cli/backtest_command.ts";
import { parseBacktestArgs } from "../../../engine/cli/backtest_args.ts";

const ROOT = new URL("../../../", import.meta.url).pathname;
const DATA = `${ROOT}data`;

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const io: CommandIo = {
    stdout: (t) => (out += t),
    stderr: (t) => (err += t),
    isTerminal: false,
    dataDir: DATA,
    nowMs: () => 0,
  };
  const code = await runBacktestCommand(args, io);
  return { code, out, err };
}

const JSON_KEYS = [
  "total_return_pct",
  "cagr_pct",
  "sharpe",
  "sortino",
  "max_drawdown_pct",
  "win_rate_pct",
  "profit_factor",
  "trades",
  "trades_per_year",
  "exposure_pct",
  "fees_krw",
  "buy_hold_return_pct",
  "start",
  "end",
  "trade_list",
];

Deno.test("backtest --json prints exactly one JSON object with the metrics and the trades", async () => {
  const { code, out, err } = await run(["--json"]);
  assert.equal(code, 0, err);
  assert.equal(out.trim().split("\n").length, 1);
  const report = JSON.parse(out);
  for (const key of JSON_KEYS) assert.ok(key in report, `missing ${key}`);
  assert.equal(report.start, "2017-09-29T00:00:00Z");
  assert.equal(report.end, "2025-12-31T00:00:00Z");
  assert.equal(report.trades, report.trade_list.length);
  assert.match(report.trade_list[0].entry_price, /^\d+(\.\d+)?$/);
  // Money is a decimal string in JSON, everywhere (core/format.ts).
  assert.equal(report.capital_krw, "1000000");
  for (const key of ["final_equity_krw", "fees_krw", "final_cash_krw"]) {
    assert.match(report[key], /^-?\d+(\.\d+)?$/, key);
  }
  assert.match(report.trade_list[0].pnl_krw, /^-?\d+(\.\d+)?$/);
});

Deno.test("backtest --timeframe 30m without --candles runs the bundled 30-minute file, as the sweep does", async () => {
  const { code, out, err } = await run(["--timeframe", "30m", "--json"]);
  assert.equal(code, 0, err);
  const report = JSON.parse(out);
  assert.equal(report.timeframe, "30m");
  assert.equal(report.start, "2024-01-23T07:30:00Z"); // the 30-minute file's first candle
  assert.ok(report.trades > 0);
});

Deno.test("backtest prints a readable report beside buy-and-hold, year by year", async () => {
  const { code, out } = await run(["--from", "2021-01-01", "--to", "2023-12-31"]);
  assert.equal(code, 0);
  assert.match(out, /buy & hold/);
  assert.match(out, /^ {2}2022 /m);
  assert.match(out, /The strategy (beat|did NOT beat) buy-and-hold/);
});

Deno.test("backtest aggregates finer candles to the asked timeframe", async () => {
  const { code, out, err } = await run([
    "--candles",
    `${DATA}/upbit-KRW-BTC-30m-20240123-20250127.csv`,
    "--timeframe",
    "4h",
    "--json",
  ]);
  assert.equal(code, 0, err);
  assert.equal(JSON.parse(out).timeframe, "4h");
});

Deno.test("backtest runs the RSI and MACD strategies with their parameters", async () => {
  for (
    const args of [["--strategy", "rsi", "--period", "10"], ["--strategy", "macd", "--fast", "8"]]
  ) {
    const { code, out, err } = await run([...args, "--json"]);
    assert.equal(code, 0, err);
    assert.match(JSON.parse(out).strategy, new RegExp(`^${args[1]}\\(`));
  }
});

for (
  const [args, message] of [
    [["--stop-loss", "abc"], /--stop-loss: expected a number \(got "abc"\)/],
    [["--capital", "-1000"], /--capital: must be >= 5000 \(got "-1000"\)/],
    [
      ["--market", "KRW-ETH", "--candles", `${DATA}/upbit-KRW-BTC-1d.csv`],
      /--market: KRW-ETH does/,
    ],
    [["--market", "KRW-ADA"], /--market: no bundled candles for KRW-ADA \(bundled: KRW-BTC, /],
    [["--html", "/nonexistent/r.html"], /--html: cannot write \/nonexistent\/r\.html: folder/],
    [["--strategy", "xyz"], /--strategy: /],
    [["--bogus"], /bogus/],
    [["--period", "1"], /--period: /],
    [["--period", "0"], /--period: must be >= 2 \(got "0"\)/],
    [["--period", "2.5"], /--period: must be a whole number \(got "2\.5"\)/],
    [["--std", "2", "--strategy", "rsi"], /--std: not a parameter of strategy rsi/],
    [["--from", "2024-13-01"], /--from: /],
    [["--to", "2024-02-30"], /--to: not a real date \(got "2024-02-30"\)/],
    [["--from", "2024-02-01", "--to", "2024-01-01"], /--to: must not be before --from/],
    [["--candles", "nope.csv"], /nope\.csv: file not found/],
    [
      ["--candles", `${DATA}/upbit-KRW-BTC-1d.csv`, "--timeframe", "1h"],
      /--timeframe: .* holds 1d candles, which cannot make 1h candles/,
    ],
    [["--from", "2025-12-30"], /--from\/--to: \d+ 1d candles of .* in range/],
  ] as const
) {
  Deno.test(`backtest ${args.join(" ")} fails with one line and exit code 2`, async () => {
    const { code, out, err } = await run([...args]);
    assert.equal(code, 2);
    assert.equal(out, "");
    assert.equal(err.trim().split("\n").length, 1);
    assert.match(err, message);
    assert.doesNotMatch(err, /\bat .*\.ts:\d+/);
  });
}

Deno.test("backtest rejects a malformed candle file naming the file and line", async () => {
  const path = await Deno.makeTempFile({ suffix: ".csv" });
  try {
    await Deno.writeTextFile(
      path,
      "time_utc,open,high,low,close,volume,value\n2024-01-01T00:00:00Z,10,12,9,11,1,10\n2024-01-02T00:00:00Z,10,9,12,11,1,10\n",
    );
    const { code, err } = await run(["--candles", path]);
    assert.equal(code, 2);
    assert.match(err, new RegExp(`${path}:3: `));
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("parseBacktestArgs() turns percentages into basis points and hours into ms", () => {
  const parsed = parseBacktestArgs([
    "--fee",
    "0.1",
    "--slippage",
    "0.2",
    "--cooldown-hours",
    "2",
    "--trailing-stop",
    "3",
  ]);
  assert.ok(parsed.ok);
  assert.equal(parsed.value.feeBps, 10);
  assert.equal(parsed.value.slippageBps, 20);
  assert.equal(parsed.value.rules.cooldownMs, 7_200_000);
  assert.equal(parsed.value.rules.trailingStopPct, 3);
});

Deno.test("deno task backtest works end to end as the README says", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "backtest", "--json"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const report = JSON.parse(new TextDecoder().decode(out.stdout));
  assert.equal(typeof report.total_return_pct, "number");
});

Deno.test("backtest takes the market from the candle file's name and paths from the user's folder", async () => {
  let out = "";
  const io: CommandIo = {
    stdout: (t) => (out += t),
    stderr: () => {},
    isTerminal: false,
    dataDir: "/nonexistent",
    cwd: DATA,
    nowMs: () => 0,
  };
  assert.equal(await runBacktestCommand(["--candles", "upbit-KRW-ETH-1d.csv", "--json"], io), 0);
  assert.equal(JSON.parse(out).market, "KRW-ETH");
});

Deno.test("backtest --html ../FILE is taken from the user's folder, and checked before the run", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/sub`);
    let out = "";
    let err = "";
    const io: CommandIo = {
      stdout: (t) => (out += t),
      stderr: (t) => (err += t),
      isTerminal: false,
      dataDir: DATA,
      cwd: `${dir}/sub`,
      nowMs: () => 0,
    };
    const args = ["--from", "2024-01-01", "--json"];
    assert.equal(await runBacktestCommand([...args, "--html", "../r.html"], io), 0, err);
    assert.ok((await Deno.stat(`${dir}/r.html`)).size > 1000);
    out = "";
    assert.equal(await runBacktestCommand([...args, "--html", "../none/r.html"], io), 2);
    assert.equal(out, "", "nothing printed before the refusal");
    assert.match(err, /--html: cannot write .*none\/r\.html: folder .*none does not exist/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
