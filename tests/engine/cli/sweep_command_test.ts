import assert from "node:assert/strict";
import { runSweepCommand } from "../../../engine/cli/sweep_command.ts";
import { parseSpace, parseSweepArgs } from "../../../engine/cli/sweep_args.ts";
import { sweepHarness } from "./_sweep_harness.ts";

Deno.test("sweep ranks every set by the metric and writes JSON, CSV and HTML", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const h = sweepHarness(dir);
    const code = await runSweepCommand([
      "--market",
      "KRW-ETH,KRW-SOL",
      "--timeframe",
      "1h",
      "--period",
      "10:30:10",
      "--std",
      "2,3",
      "--stop-loss",
      "3,5",
      "--sort",
      "return",
      "--json",
      "--csv",
      "rows.csv",
      "--html",
      `${dir}/sweep.html`,
    ], h.io);
    assert.equal(code, 0, h.err.join(""));
    const json = JSON.parse(h.out.join(""));
    assert.equal(json.sets, 12);
    assert.deepEqual(json.datasets.map((d: { name: string }) => d.name), [
      "KRW-ETH 1h",
      "KRW-SOL 1h",
    ]);
    assert.equal(json.rows.length, 24);
    // Best return first among the sets that traded; the ones that never traded after them.
    const metrics = json.rows.map((r: { metrics: { totalReturnPct: number; trades: number } }) =>
      r.metrics
    );
    const traded = metrics.filter((m: { trades: number }) => m.trades > 0);
    const returns = traded.map((m: { totalReturnPct: number }) => m.totalReturnPct);
    assert.deepEqual(returns, [...returns].sort((a, b) => b - a));
    assert.deepEqual(metrics.slice(0, traded.length), traded);
    const csv = (await Deno.readTextFile(`${dir}/rows.csv`)).trim().split("\n");
    assert.equal(csv.length, 25);
    assert.match(csv[0]!, /^rank,index,dataset,period,std,stop-loss,startMs,/);
    const html = await Deno.readTextFile(`${dir}/sweep.html`);
    assert.match(html, /Heat map: best return by period × std/);
    assert.match(html, /<svg /);
    assert.doesNotMatch(html, /<script|https?:\/\//);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sweep prints a table with the best set first", async () => {
  const h = sweepHarness(Deno.cwd());
  const code = await runSweepCommand(
    ["--timeframe", "4h", "--period", "20", "--std", "2,2.5", "--workers", "1", "--top", "1"],
    h.io,
  );
  assert.equal(code, 0, h.err.join(""));
  const lines = h.out.join("").trim().split("\n");
  assert.match(lines[0]!, /^Sweep: 2 sets × 1 data set = 2 backtests in [\d.]+ s on \d+ workers? /);
  assert.match(lines[1]!, /^#\s+data\s+period\s+std\s+return%/);
  assert.equal(lines.length, 3);
});

Deno.test("sweep refuses bad flags and spaces with one line naming them", async () => {
  const cases: [string[], RegExp][] = [
    [["--period", "1:5:1"], /^sweep: --period: must be >= 2 \(got 1\)/],
    [["--std", "3:2:1"], /^sweep: --std: the max must not be below the min/],
    [["--oversold", "30"], /^sweep: --oversold: not a parameter of strategy bb/],
    [["--stop-loss", "x"], /^sweep: --stop-loss: expected numbers like 10,20,30/],
    [["--sort", "luck"], /^sweep: --sort: expected one of sharpe/],
    [["--market", "KRW-NOPE"], /^sweep: --market: no bundled candles for KRW-NOPE/],
    [["--timeframe", "1m", "--market", "KRW-ETH"], /^sweep: --timeframe: no bundled KRW-ETH/],
    [["--workers", "0"], /^sweep: --workers: must be >= 1/],
  ];
  for (const [args, expected] of cases) {
    const h = sweepHarness(Deno.cwd());
    const code = await runSweepCommand(args, h.io);
    assert.equal(code, 2, args.join(" "));
    assert.match(h.err.join(""), expected);
    assert.equal(h.err.join("").trim().split("\n").length, 1);
  }
});

Deno.test("parseSpace() reads lists, ranges and JSON objects, and defaults to the strategy's", () => {
  const where = (n: string) => `--${n}`;
  const space = parseSpace({
    period: "10:20:5",
    std: [2, 2.5],
    "take-profit": { min: 5, max: 6, step: 0.5 },
  }, {
    strategy: "bb",
    where,
  });
  assert.deepEqual(space, {
    ok: true,
    value: { period: [10, 15, 20], std: [2, 2.5], "take-profit": [5, 5.5, 6] },
  });
  const fallback = parseSpace({}, { strategy: "bb", where });
  assert.ok(fallback.ok && fallback.value.period!.length === 7 && fallback.value.std!.length === 5);
  const random = parseSweepArgs(["--random", "50", "--seed", "3"]);
  assert.ok(random.ok && random.value.random === 50 && random.value.seed === 3);
});
