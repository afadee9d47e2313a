/** Tests of the backtester: fills at the next open, exits before entries, no look-ahead. */

import assert from "node:assert/strict";
import fc from "fast-check";
import { loadCandleFile } from "../../../engine/adapters/candle_file.ts";
import { type BacktestConfig, runBacktest } from "../../../engine/core/backtest.ts";
import type { Candle } from "../../../engine/core/candle.ts";
import { DAY_MS } from "../../../engine/core/candle.ts";
import { parseUnits, type Units, unitsFromNumber } from "../../../engine/core/money.ts";
import { DEFAULT_RISK_RULES, type RiskRules } from "../../../engine/core/risk.ts";
import { HOLD, type Signal, type Strategy } from "../../../engine/core/strategies/strategy.ts";
import { createStrategy } from "../../../engine/core/strategies/mod.ts";

const DATA = new URL("../../../data/", import.meta.url).pathname;
const T0 = Date.UTC(2025, 0, 1);

function candle(
  i: number,
  ohlc: readonly [number, number, number, number],
  stepMs = DAY_MS,
): Candle {
  const [open, high, low, close] = ohlc;
  return { startMs: T0 + i * stepMs, open, high, low, close, volume: 1, value: Number.NaN };
}

/** A strategy that says what a script tells it, candle by candle. */
function scripted(actions: Record<number, "buy" | "sell">): Strategy {
  let i = -1;
  return {
    name: "scripted",
    warmup: 0,
    update(): Signal {
      i++;
      const action = actions[i];
      return action === undefined ? HOLD : { action, reason: `script ${action} at ${i}` };
    },
  };
}

function config(strategy: Strategy, overrides: Partial<BacktestConfig> = {}): BacktestConfig {
  return {
    market: "KRW-BTC",
    strategy,
    rules: DEFAULT_RISK_RULES,
    feeBps: 5,
    slippageBps: 0,
    capital: parseUnits("1000000"),
    ...overrides,
  };
}

const FLAT: readonly [number, number, number, number] = [
  100_000_000,
  100_000_000,
  100_000_000,
  100_000_000,
];

Deno.test("runBacktest() fills a signal at the next candle's open, never at the signal's close", () => {
  const candles = [
    candle(0, FLAT),
    candle(1, [101_000_000, 101_000_000, 101_000_000, 101_000_000]),
    candle(2, [102_000_000, 102_000_000, 102_000_000, 102_000_000]),
  ];
  const result = runBacktest(candles, config(scripted({ 0: "buy", 1: "sell" })));
  assert.equal(result.fills.length, 2);
  assert.equal(result.fills[0]!.price, parseUnits("101000000"));
  assert.equal(result.fills[0]!.tsMs, candles[1]!.startMs);
  assert.equal(result.fills[1]!.price, parseUnits("102000000"));
  assert.equal(result.trades.length, 1);
  assert.equal(result.trades[0]!.exit, "signal");
});

Deno.test("runBacktest() applies slippage against us, on the tick grid of the day", () => {
  const candles = [candle(0, FLAT), candle(1, FLAT), candle(2, FLAT)];
  const result = runBacktest(
    candles,
    config(scripted({ 0: "buy", 1: "sell" }), { slippageBps: 5 }),
  );
  // 100,000,000 × 1.0005 = 100,050,000 (on the 1,000 KRW tick); the sell: 99,950,000.
  assert.equal(result.fills[0]!.price, parseUnits("100050000"));
  assert.equal(result.fills[1]!.price, parseUnits("99950000"));
});

Deno.test("runBacktest() exits at the stop level when a candle's low touches it", () => {
  const candles = [
    candle(0, FLAT),
    candle(1, FLAT),
    candle(2, [99_000_000, 99_500_000, 94_000_000, 96_000_000]),
    candle(3, FLAT),
  ];
  const result = runBacktest(candles, config(scripted({ 0: "buy" })));
  const sell = result.fills[1]!;
  assert.equal(sell.side, "sell");
  assert.equal(sell.price, parseUnits("95000000"));
  assert.equal(sell.tsMs, candles[2]!.startMs);
  assert.equal(result.trades[0]!.exit, "stop_loss");
});

Deno.test("runBacktest() with texts off names a risk exit without its price, same figures", () => {
  const candles = [
    candle(0, FLAT),
    candle(1, FLAT),
    candle(2, [99_000_000, 99_500_000, 94_000_000, 96_000_000]),
    candle(3, FLAT),
  ];
  const full = runBacktest(candles, config(scripted({ 0: "buy" })));
  const lean = runBacktest(candles, config(scripted({ 0: "buy" }), { texts: false }));
  assert.equal(full.trades[0]!.exitReason, "stop loss at 95,000,000");
  assert.equal(lean.trades[0]!.exitReason, "stop loss");
  assert.deepEqual(lean.fills, full.fills);
  assert.deepEqual([...lean.equity], [...full.equity]);
  assert.deepEqual(lean.ledger, full.ledger);
});

Deno.test("runBacktest() exits at the open when a candle gaps through the stop", () => {
  const candles = [
    candle(0, FLAT),
    candle(1, FLAT),
    candle(2, [90_000_000, 91_000_000, 89_000_000, 90_000_000]),
  ];
  const result = runBacktest(candles, config(scripted({ 0: "buy" })));
  assert.equal(result.fills[1]!.price, parseUnits("90000000"));
});

Deno.test("runBacktest() assumes the stop came first when stop and target share a candle", () => {
  const candles = [
    candle(0, FLAT),
    candle(1, FLAT),
    candle(2, [100_000_000, 120_000_000, 80_000_000, 100_000_000]),
  ];
  const result = runBacktest(candles, config(scripted({ 0: "buy" })));
  assert.equal(result.trades[0]!.exit, "stop_loss");
  assert.equal(result.fills[1]!.price, parseUnits("95000000"));
});

Deno.test("runBacktest() takes profit at the target", () => {
  const candles = [
    candle(0, FLAT),
    candle(1, FLAT),
    candle(2, [100_000_000, 111_000_000, 99_000_000, 105_000_000]),
  ];
  const result = runBacktest(candles, config(scripted({ 0: "buy" })));
  assert.equal(result.trades[0]!.exit, "take_profit");
  assert.equal(result.fills[1]!.price, parseUnits("110000000"));
});

Deno.test("runBacktest() follows a trailing stop from the highest earlier high", () => {
  const rules: RiskRules = { ...DEFAULT_RISK_RULES, takeProfitPct: 0, trailingStopPct: 3 };
  const candles = [
    candle(0, FLAT),
    candle(1, FLAT),
    candle(2, [100_000_000, 108_000_000, 100_000_000, 107_000_000]),
    candle(3, [107_000_000, 107_500_000, 104_000_000, 105_000_000]),
  ];
  const result = runBacktest(candles, config(scripted({ 0: "buy" }), { rules }));
  assert.equal(result.trades[0]!.exit, "trailing_stop");
  // 108,000,000 × 0.97 = 104,760,000
  assert.equal(result.fills[1]!.price, parseUnits("104760000"));
});

Deno.test("runBacktest() blocks entries for the rest of the Upbit day after the daily loss limit", () => {
  const hour = 3_600_000;
  const rules: RiskRules = {
    ...DEFAULT_RISK_RULES,
    stopLossPct: 0,
    takeProfitPct: 0,
    maxDailyLossPct: 2,
  };
  const px = (p: number) => [p, p, p, p] as const;
  const candles = [
    candle(0, px(100_000_000), hour),
    candle(1, px(100_000_000), hour), // bought at this open
    candle(2, px(97_000_000), hour), // −3% of the day's equity: blocked; sell at close
    candle(3, px(97_000_000), hour), // sold at this open; buy signal at close is skipped
    candle(4, px(97_000_000), hour),
    candle(24, px(97_000_000), hour), // next Upbit day: entries allowed again
    candle(25, px(97_000_000), hour),
  ];
  const result = runBacktest(
    candles,
    config(scripted({ 0: "buy", 2: "sell", 3: "buy", 5: "buy" }), { rules }),
  );
  const skipped = result.signals.filter((s) => !s.executed);
  assert.equal(skipped.length, 1);
  assert.match(skipped[0]!.reason, /daily loss limit reached/);
  assert.equal(result.fills.length, 3);
  assert.equal(result.fills[2]!.tsMs, candles[6]!.startMs);
});

Deno.test("runBacktest() waits out the cooldown after a stop loss when one is set", () => {
  const rules: RiskRules = { ...DEFAULT_RISK_RULES, cooldownMs: 2 * DAY_MS };
  const candles = [
    candle(0, FLAT),
    candle(1, FLAT),
    candle(2, [99_000_000, 99_000_000, 94_000_000, 94_000_000]),
    candle(3, px(94_000_000)),
    candle(4, px(94_000_000)),
    candle(5, px(94_000_000)),
  ];
  const result = runBacktest(
    candles,
    config(scripted({ 0: "buy", 2: "buy", 4: "buy" }), { rules }),
  );
  const skipped = result.signals.filter((s) => !s.executed);
  assert.equal(skipped.length, 1);
  assert.match(skipped[0]!.reason, /cooling down/);
  assert.equal(result.fills.at(-1)!.tsMs, candles[5]!.startMs);

  function px(p: number): readonly [number, number, number, number] {
    return [p, p, p, p];
  }
});

Deno.test("runBacktest() records a signal it cannot afford instead of ordering", () => {
  const candles = [candle(0, FLAT), candle(1, FLAT)];
  const result = runBacktest(
    candles,
    config(scripted({ 0: "buy" }), { capital: parseUnits("4000") }),
  );
  assert.equal(result.fills.length, 0);
  assert.match(result.signals[0]!.reason, /under the 5,000 KRW minimum/);
});

/** Random valid candles: a walk on the 1,000 KRW grid around 100M KRW. */
const candlesArb = fc.array(
  fc.tuple(
    fc.integer({ min: -3000, max: 3000 }),
    fc.nat(2500),
    fc.nat(2500),
    fc.integer({ min: -3000, max: 3000 }),
  ),
  { minLength: 30, maxLength: 160 },
).map((steps) => {
  let price = 100_000;
  return steps.map(([move, up, down, closeMove], i) => {
    const open = Math.max(1000, price + move);
    const close = Math.max(1000, open + closeMove);
    const high = Math.max(open, close) + up;
    const low = Math.max(500, Math.min(open, close) - down);
    price = close;
    return candle(i, [open * 1000, high * 1000, low * 1000, close * 1000]);
  });
});

function sumFills(
  result: ReturnType<typeof runBacktest>,
  initial: Units,
): { cash: Units; qty: Units } {
  let cash = initial;
  let qty = 0n;
  for (const f of result.fills) {
    if (f.side === "buy") {
      cash -= f.funds + f.fee;
      qty += f.volume;
    } else {
      cash += f.funds - f.fee;
      qty -= f.volume;
    }
  }
  return { cash, qty };
}

Deno.test("runBacktest() never looks ahead: a prefix of the candles makes the same early fills", () => {
  fc.assert(
    fc.property(candlesArb, fc.nat(), (candles, cut) => {
      const k = 2 + (cut % (candles.length - 2));
      const make = () => config(createStrategy("bb", { period: 5, std: 1 }), { slippageBps: 5 });
      const full = runBacktest(candles, make());
      const prefix = runBacktest(candles.slice(0, k), make());
      const endMs = candles[k - 1]!.startMs;
      assert.deepEqual(prefix.fills, full.fills.filter((f) => f.tsMs <= endMs));
      assert.deepEqual(prefix.equity, full.equity.subarray(0, k));
    }),
    { numRuns: 150 },
  );
});

Deno.test("runBacktest() keeps the ledger equal to its fills and never negative", () => {
  let traded = 0;
  fc.assert(
    fc.property(candlesArb, fc.integer({ min: 0, max: 50 }), (candles, slip) => {
      const capital = parseUnits("1000000");
      const result = runBacktest(
        candles,
        config(createStrategy("bb", { period: 5, std: 1 }), { slippageBps: slip, capital }),
      );
      const sums = sumFills(result, capital);
      assert.equal(result.ledger.cash, sums.cash);
      assert.equal(result.ledger.qty, sums.qty);
      assert.ok(result.ledger.cash >= 0n);
      assert.ok(result.ledger.qty >= 0n);
      traded += result.fills.length;
    }),
    { numRuns: 150 },
  );
  // The property means something only if the random markets made the strategy trade.
  assert.ok(traded > 150, `only ${traded} fills in 150 runs`);
});

Deno.test("runBacktest() BB(20, 2.5) on real KRW-BTC daily candles matches the golden figures", async () => {
  const candles = await loadCandleFile(`${DATA}upbit-KRW-BTC-1d.csv`);
  const result = runBacktest(candles, config(createStrategy("bb", {}), { slippageBps: 5 }));
  assert.equal(result.trades.length, 50);
  assert.equal(result.fills.length, 100);
  assert.equal(result.trades.filter((t) => t.exit === "stop_loss").length, 38);
  assert.equal(Math.round(result.equity[result.equity.length - 1]!), 366_527);
  // Every fill price is on Upbit's tick grid of its day.
  for (const f of result.fills) assert.equal(f.price % unitsFromNumber(1000), 0n);
});

Deno.test("runBacktest() sizes entries with the account's rules, as the live loop does", () => {
  const candles = [0, 1, 2, 3].map((i) => candle(i, FLAT));
  const fixed = runBacktest(
    candles,
    config(scripted({ 0: "buy" }), {
      portfolio: {
        maxOpenPositions: 0,
        maxMarketSharePct: 100,
        accountDailyLossPct: 0,
        sizing: { mode: "fixed", value: 30_000 },
        blockCaution: false,
      },
    }),
  );
  // 30,000 KRW at 100,000,000: 0.0003 BTC, exactly what a market buy of 30,000 KRW gets.
  assert.equal(fixed.fills[0]?.volume, parseUnits("0.0003"));
  const share = runBacktest(
    candles,
    config(scripted({ 0: "buy" }), {
      portfolio: {
        maxOpenPositions: 0,
        maxMarketSharePct: 25,
        accountDailyLossPct: 0,
        sizing: { mode: "all", value: 100 },
        blockCaution: false,
      },
    }),
  );
  // A quarter of the 1,000,000 cap, fee included: 249,875 KRW of coin.
  assert.equal(share.fills[0]?.volume, parseUnits("0.00249875"));
});

Deno.test("runBacktest() stops entries for the day once the account's daily loss limit is hit", () => {
  const hourMs = 3_600_000;
  // Buy at 1, the price falls 3% at 2 (a loss of ~3% of the account), a buy signal at 3.
  const drop: readonly [number, number, number, number] = [
    97_000_000,
    97_000_000,
    97_000_000,
    97_000_000,
  ];
  const candles = [
    candle(0, FLAT, hourMs),
    candle(1, FLAT, hourMs),
    candle(2, drop, hourMs),
    candle(3, drop, hourMs),
    candle(4, drop, hourMs),
    candle(5, drop, hourMs),
  ];
  const run = (accountDailyLossPct: number) =>
    runBacktest(
      candles,
      config(scripted({ 0: "buy", 2: "sell", 3: "buy" }), {
        rules: { ...DEFAULT_RISK_RULES, stopLossPct: 0, maxDailyLossPct: 0 },
        portfolio: {
          maxOpenPositions: 0,
          maxMarketSharePct: 100,
          accountDailyLossPct,
          sizing: { mode: "all", value: 100 },
          blockCaution: false,
        },
      }),
    );
  const free = run(0);
  assert.equal(free.fills.filter((f) => f.side === "buy").length, 2);
  const limited = run(2);
  assert.equal(limited.fills.filter((f) => f.side === "buy").length, 1);
  assert.match(
    limited.signals.find((s) => !s.executed)?.reason ?? "",
    /not executed: the account's daily loss limit is reached/,
  );
});

Deno.test("runBacktest() prices opens afresh for another slippage, market or a changed candle on the same candles", async () => {
  // Fill prices at opens are kept per candle array across runs (a sweep's backtests share them).
  const daily = await loadCandleFile(`${DATA}upbit-KRW-BTC-1d.csv`);
  const candles: Candle[] = daily.slice(0, 400);
  const bb = () => createStrategy("bb", { period: 10, std: 1.5 });
  const run = (on: readonly Candle[], overrides: Partial<BacktestConfig> = {}) =>
    runBacktest(on, config(bb(), { slippageBps: 5, ...overrides }));
  const fresh = (overrides: Partial<BacktestConfig> = {}) => run([...candles], overrides);
  const first = run(candles);
  assert.ok(first.fills.length > 10);
  assert.deepEqual(run(candles).fills, first.fills);
  assert.deepEqual(run(candles, { slippageBps: 40 }).fills, fresh({ slippageBps: 40 }).fills);
  assert.notDeepEqual(fresh({ slippageBps: 40 }).fills, first.fills);
  assert.deepEqual(run(candles, { market: "KRW-XRP" }).fills, fresh({ market: "KRW-XRP" }).fills);
  // A candle replaced in place (the array is the same object): its open is priced again.
  const k = first.fills[3]!.tsMs;
  const index = candles.findIndex((c) => c.startMs === k);
  candles[index] = { ...candles[index]!, open: candles[index]!.open + 7_777 };
  const changed = run(candles);
  assert.deepEqual(changed.fills, fresh().fills);
  assert.notEqual(changed.fills[3]!.price, first.fills[3]!.price);
});
