import assert from "node:assert/strict";
import { runWalkForwardCommand } from "../../../engine/cli/walkforward_command.ts";
import { sweepHarness } from "./_sweep_harness.ts";

const ARGS = [
  "--timeframe",
  "1d",
  "--period",
  "10:30:10",
  "--std",
  "2,2.5",
  "--in-sample",
  "730",
  "--out-of-sample",
  "365",
  "--mc-runs",
  "200",
  "--seed",
  "4",
  "--groups",
  "8",
  "--json",
];

Deno.test("walkforward is reproducible and reports out of sample beside buy-and-hold and in sample", async () => {
  const a = sweepHarness();
  assert.equal(await runWalkForwardCommand([...ARGS, "--workers", "1"], a.io), 0, a.err.join(""));
  const b = sweepHarness();
  assert.equal(await runWalkForwardCommand([...ARGS, "--workers", "2"], b.io), 0, b.err.join(""));
  assert.equal(a.out.join(""), b.out.join(""));
  const report = JSON.parse(a.out.join(""));
  // 3,016 daily candles: 730 in sample, then 365-day windows → 7 folds (the last one shorter).
  assert.equal(report.folds.length, 7);
  assert.equal(report.folds[0].out_of_sample_from, "2019-09-29");
  assert.ok(report.out_of_sample.trades > 0);
  assert.ok(report.buy_and_hold.totalReturnPct > 100);
  assert.ok(
    report.full_sample.deflated_sharpe_ratio >= 0 && report.full_sample.deflated_sharpe_ratio <= 1,
  );
  assert.equal(report.full_sample.cscv_splits, 70);
  assert.ok(report.monte_carlo.p5_pct <= report.monte_carlo.p95_pct);
});

Deno.test("walkforward writes an HTML report explaining DSR and PBO", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const h = sweepHarness();
    const args = ARGS.filter((a) => a !== "--json");
    assert.equal(await runWalkForwardCommand([...args, "--html", `${dir}/wf.html`], h.io), 0);
    assert.match(
      h.out.join(""),
      /^Walk-forward · KRW-BTC 1d · 6 sets · rolling 730d in \/ 365d out/,
    );
    const html = await Deno.readTextFile(`${dir}/wf.html`);
    assert.match(html, /The deflated Sharpe ratio \(Bailey &amp; López de Prado, 2014\) is/);
    assert.match(html, /The probability of backtest overfitting \(Bailey, Borwein/);
    assert.doesNotMatch(html, /<script|https?:\/\//);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("walkforward refuses bad flags with one line", async () => {
  const cases: [string[], RegExp][] = [
    [["--groups", "7"], /^walkforward: --groups: must be even/],
    [["--in-sample", "0"], /^walkforward: --in-sample: must be >= 1/],
    [
      ["--market", "KRW-BTC,KRW-ETH"],
      /^walkforward: --market\/--timeframe: a walk-forward takes one/,
    ],
    [
      ["--in-sample", "9000"],
      /^walkforward: --in-sample: 9000 days leave no out-of-sample candles/,
    ],
  ];
  for (const [args, expected] of cases) {
    const h = sweepHarness();
    assert.equal(await runWalkForwardCommand(args, h.io), 2, args.join(" "));
    assert.match(h.err.join(""), expected);
  }
});
