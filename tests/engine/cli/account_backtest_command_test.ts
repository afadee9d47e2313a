/** Tests of `deno task backtest` over several markets (one account) and with `--detail`. */

import assert from "node:assert/strict";
import { type CommandIo, runBacktestCommand } from "../../../engine/cli/backtest_command.ts";

const ROOT = new URL("../../../", import.meta.url).pathname;
const DATA = `${ROOT}data`;
const BTC_1M = `${DATA}/upbit-KRW-BTC-1m-20220531-20220607.csv`;

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

const FIVE = "KRW-BTC,KRW-ETH,KRW-XRP,KRW-SOL,KRW-DOGE";
const ACCOUNT = [
  "--market",
  FIVE,
  "--timeframe",
  "30m",
  "--from",
  "2024-10-24",
  "--stop-loss",
  "2",
  "--take-profit",
  "3",
];

Deno.test("backtest --market A,B,… --json: the account's keys, each market's, correlation and exposure", async () => {
  const { code, out, err } = await run([...ACCOUNT, "--max-positions", "2", "--json"]);
  assert.equal(code, 0, err);
  const report = JSON.parse(out);
  for (const key of ["total_return_pct", "sharpe", "max_drawdown_pct", "trades", "trade_list"]) {
    assert.ok(key in report, `missing ${key}`);
  }
  assert.deepEqual(Object.keys(report.markets), FIVE.split(","));
  // The account's P&L is the sum of the markets' (each market's curve: capital + its P&L).
  const sum = Object.values(report.markets as Record<string, { final_equity_krw: string }>)
    .reduce((a, m) => a + Number(m.final_equity_krw) - 1_000_000, 1_000_000);
  assert.ok(
    Math.abs(sum - Number(report.final_equity_krw)) < 1,
    `${sum} vs ${report.final_equity_krw}`,
  );
  assert.equal(
    report.trades,
    Object.values(report.markets as Record<string, { trades: number }>).reduce(
      (a, m) => a + m.trades,
      0,
    ),
  );
  assert.ok(report.trade_list.every((t: { market: string }) => FIVE.includes(t.market)));
  assert.ok(report.max_open_positions <= 2 && report.max_open_positions >= 1);
  assert.equal(report.correlation.price_daily_returns.length, 5);
  assert.equal(report.correlation.price_daily_returns[0][0], 1);
  assert.ok(report.exposure.length >= 90);
  assert.match(
    report.skipped_signals.map((s: { reason: string }) => s.reason).join("\n"),
    /2 of at most 2 positions are open/,
  );
});

Deno.test("backtest over several markets prints each market, the correlations and the exposure", async () => {
  const { code, out, err } = await run(ACCOUNT);
  assert.equal(code, 0, err);
  assert.match(out, /Markets \(each: the capital plus its own P&L\)/);
  assert.match(out, /KRW-DOGE +[+-]\d/);
  assert.match(out, /Correlation of the markets' daily price returns/);
  assert.match(out, /Exposure: at most \d positions open at once/);
});

Deno.test("backtest --market and the account flags refuse bad input with one line", async () => {
  const cases: [string[], RegExp][] = [
    [["--market", "KRW-BTC,BTC"], /^backtest: --market: expected KRW markets .*"BTC"/],
    [["--market", "KRW-BTC,KRW-BTC"], /^backtest: --market: a market is listed twice/],
    [["--market", "KRW-BTC,KRW-ADA", "--timeframe", "30m"], /^backtest: --market: no bundled 30m/],
    [
      ["--market", FIVE, "--candles", "a.csv,b.csv"],
      /^backtest: --candles: give one file per market/,
    ],
    [["--sizing", "half"], /^backtest: --sizing: expected one of all, fixed/],
    [["--sizing", "fixed"], /^backtest: --sizing-value: required with --sizing fixed/],
    [["--max-positions", "1.5"], /^backtest: --max-positions: must be a whole number/],
    [["--detail", "2s"], /^backtest: --detail: expected auto, off or a timeframe/],
    [["--detail", "1m"], /^backtest: --detail: no 1m candles of KRW-BTC cover 2017-09-29/],
  ];
  for (const [args, expected] of cases) {
    const { code, out, err } = await run(args);
    assert.equal(code, 2, `${args.join(" ")}: ${err}`);
    assert.equal(out, "");
    assert.equal(err.trim().split("\n").length, 1, err);
    assert.match(err, expected);
  }
});

Deno.test("backtest over a 1-minute file resolves fills and exits on its minutes unless --detail off", async () => {
  const base = ["--candles", BTC_1M, "--timeframe", "5m", "--std", "2", "--stop-loss", "1"];
  const fine = await run([...base, "--take-profit", "1.5", "--json"]);
  assert.equal(fine.code, 0, fine.err);
  const coarse = await run([...base, "--take-profit", "1.5", "--detail", "off", "--json"]);
  assert.equal(coarse.code, 0, coarse.err);
  const f = JSON.parse(fine.out);
  const c = JSON.parse(coarse.out);
  assert.equal(f.detail, "1m");
  assert.equal(c.detail, null);
  assert.ok(f.trades >= 20, `${f.trades} trades`);
  // Exits inside a 5-minute candle land on their minute, not on the candle's start.
  const offMinute = f.trade_list.filter((t: { exit_time: string }) =>
    Number(t.exit_time.slice(14, 16)) % 5 !== 0
  );
  assert.ok(offMinute.length > 0);
  assert.ok(
    c.trade_list.every((t: { exit_time: string }) => Number(t.exit_time.slice(14, 16)) % 5 === 0),
  );
});
