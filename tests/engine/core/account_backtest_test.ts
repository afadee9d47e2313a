/** Tests of the account backtester: one market equals `runBacktest`, the portfolio rules bind, detail candles resolve exits in time order. */

import assert from "node:assert/strict";
import fc from "fast-check";
import { loadCandleFile } from "../../../engine/adapters/candle_file.ts";
import { runAccountBacktest } from "../../../engine/core/account_backtest.ts";
import { runBacktest } from "../../../engine/core/backtest.ts";
import { type Candle, TIMEFRAME_MS } from "../../../engine/core/candle.ts";
import { parseUnits, unitsToNumber } from "../../../engine/core/money.ts";
import { DEFAULT_PORTFOLIO_RULES } from "../../../engine/core/portfolio.ts";
import { DEFAULT_RISK_RULES } from "../../../engine/core/risk.ts";
import { createStrategy } from "../../../engine/core/strategies/mod.ts";
import { HOLD, type Signal, type Strategy } from "../../../engine/core/strategies/strategy.ts";

const DATA = new URL("../../../data/", import.meta.url).pathname;
const T0 = Date.UTC(2025, 0, 1);
const M30 = TIMEFRAME_MS["30m"];
const BTC = (await loadCandleFile(`${DATA}upbit-KRW-BTC-30m-20240123-20250127.csv`)).slice(0, 3000);
const ETH = await loadCandleFile(`${DATA}upbit-KRW-ETH-30m-20241023-20250127.csv`);
const XRP = await loadCandleFile(`${DATA}upbit-KRW-XRP-30m-20241023-20250127.csv`);

function candle(startMs: number, ohlc: readonly [number, number, number, number]): Candle {
  const [open, high, low, close] = ohlc;
  return { startMs, open, high, low, close, volume: 1, value: Number.NaN };
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

const BASE = {
  rules: DEFAULT_RISK_RULES,
  feeBps: 5,
  slippageBps: 5,
  capital: parseUnits("1000000"),
  timeframeMs: M30,
};

Deno.test("runAccountBacktest() over one market gives runBacktest's fills, trades and equity", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 5, max: 40 }),
      fc.double({ min: 1, max: 3, noNaN: true }),
      fc.integer({ min: 0, max: 8 }),
      fc.integer({ min: 0, max: 12 }),
      fc.constantFrom("all", "equity_pct", "risk", "fixed"),
      fc.integer({ min: 0, max: 3 }),
      (period, std, stop, target, mode, lossPct) => {
        const rules = { ...DEFAULT_RISK_RULES, stopLossPct: stop, takeProfitPct: target };
        const value = mode === "fixed" ? 300_000 : mode === "risk" ? 2 : 50;
        const portfolio = {
          ...DEFAULT_PORTFOLIO_RULES,
          accountDailyLossPct: lossPct,
          sizing: { mode, value },
        };
        const single = runBacktest(BTC, {
          ...BASE,
          market: "KRW-BTC",
          rules,
          portfolio,
          strategy: createStrategy("bb", { period, std }),
        });
        const account = runAccountBacktest([{ market: "KRW-BTC", candles: BTC }], {
          ...BASE,
          rules,
          portfolio,
          strategyFor: () => createStrategy("bb", { period, std }),
        });
        const one = account.markets[0]!;
        assert.deepEqual(one.fills, single.fills);
        assert.deepEqual(one.trades, single.trades);
        assert.deepEqual(one.signals, single.signals);
        assert.deepEqual([...one.equity], [...single.equity]);
        assert.deepEqual([...account.account.equity], [...single.equity]);
      },
    ),
    { numRuns: 25 },
  );
});

Deno.test("runAccountBacktest() never commits more than the capital plus the realized P&L", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 5, max: 30 }),
      fc.double({ min: 1, max: 1.8, noNaN: true }), // period 5 with std 2 never signals
      fc.integer({ min: 0, max: 3 }),
      fc.integer({ min: 20, max: 100 }),
      (period, std, maxOpen, sharePct) => {
        const portfolio = {
          ...DEFAULT_PORTFOLIO_RULES,
          maxOpenPositions: maxOpen,
          maxMarketSharePct: sharePct,
        };
        const result = runAccountBacktest([
          { market: "KRW-ETH", candles: ETH },
          { market: "KRW-XRP", candles: XRP },
        ], {
          ...BASE,
          rules: { ...DEFAULT_RISK_RULES, stopLossPct: 2, takeProfitPct: 3 },
          portfolio,
          strategyFor: () => createStrategy("bb", { period, std }),
        });
        assert.ok(result.account.fills.length > 0);
        for (let k = 0; k < result.openPositions.length; k++) {
          if (maxOpen > 0) assert.ok(result.openPositions[k]! <= maxOpen);
          // At cost, against the equity: never above the capital's share (with a margin for marks).
          assert.ok(result.committedPct[k]! <= 100 + 25);
        }
        // Replaying every fill in time order, the committed KRW stays under capital + realized.
        const cost = new Map<string, number>();
        let realized = 0;
        // At one instant the signal exits fill first, then the entries, then the risk exits
        // inside the candle; each phase has the markets in their order (a stable sort).
        const signalExits = new Set(
          result.markets.flatMap((m) =>
            m.trades.filter((t) => t.exit === "signal").map((t) => `${m.market}@${t.exitMs}`)
          ),
        );
        const phase = (market: string, f: { side: string; tsMs: number }) =>
          f.side === "buy" ? 1 : signalExits.has(`${market}@${f.tsMs}`) ? 0 : 2;
        const byTime = result.markets.flatMap((m) => m.fills.map((f) => ({ market: m.market, f })))
          .sort((a, b) => a.f.tsMs - b.f.tsMs || phase(a.market, a.f) - phase(b.market, b.f));
        const share = (unitsToNumber(BASE.capital) * sharePct) / 100;
        for (const { market, f } of byTime) {
          const total = unitsToNumber(f.price) * unitsToNumber(f.volume) +
            unitsToNumber(f.fee);
          if (f.side === "buy") {
            cost.set(market, total);
            const committed = [...cost.values()].reduce((a, b) => a + b, 0);
            assert.ok(committed <= unitsToNumber(BASE.capital) + realized + 10, "over the cap");
            assert.ok(total <= share + 1, "over the market's share");
          } else {
            realized += unitsToNumber(f.price) * unitsToNumber(f.volume) - unitsToNumber(f.fee) -
              cost.get(market)!;
            cost.set(market, 0);
          }
        }
      },
    ),
    { numRuns: 10 },
  );
});

Deno.test("runAccountBacktest() with max open positions 1 enters only the first market of two signalling together", () => {
  const flat = (t: number) => candle(t, [100_000, 100_000, 100_000, 100_000]);
  const candles = [0, 1, 2, 3].map((i) => flat(T0 + i * M30));
  const result = runAccountBacktest([
    { market: "KRW-AAA", candles },
    { market: "KRW-BBB", candles },
  ], {
    ...BASE,
    portfolio: { ...DEFAULT_PORTFOLIO_RULES, maxOpenPositions: 1 },
    strategyFor: () => scripted({ 0: "buy" }),
  });
  assert.equal(result.markets[0]!.fills.length, 1);
  assert.equal(result.markets[1]!.fills.length, 0);
  const skipped = result.markets[1]!.signals.find((s) => !s.executed);
  assert.match(skipped?.reason ?? "", /not executed: 1 of at most 1 positions are open/);
  assert.deepEqual([...result.openPositions], [0, 1, 1, 1]);
});

Deno.test("runAccountBacktest() same-close rule: an exit frees the slot for an entry of that close, whatever the market order", () => {
  const flat = (t: number) => candle(t, [100_000, 100_000, 100_000, 100_000]);
  const candles = [0, 1, 2, 3, 4].map((i) => flat(T0 + i * M30));
  // BBB holds the one slot; at close 2 BBB sells and AAA (listed first) buys: the exit goes first.
  const result = runAccountBacktest([
    { market: "KRW-AAA", candles },
    { market: "KRW-BBB", candles },
  ], {
    ...BASE,
    portfolio: { ...DEFAULT_PORTFOLIO_RULES, maxOpenPositions: 1 },
    strategyFor: (market) =>
      market === "KRW-AAA" ? scripted({ 2: "buy" }) : scripted({ 0: "buy", 2: "sell" }),
  });
  const aaa = result.markets[0]!;
  assert.deepEqual(aaa.fills.map((f) => [f.side, f.tsMs]), [["buy", T0 + 3 * M30]]);
  assert.deepEqual(aaa.signals.map((s) => s.executed), [true]);
  assert.deepEqual([...result.openPositions], [0, 1, 1, 1, 1]);
});

Deno.test("runAccountBacktest() same-close rule: of two entries on one close for the last slot, the market listed first wins", () => {
  const flat = (t: number) => candle(t, [100_000, 100_000, 100_000, 100_000]);
  const candles = [0, 1, 2, 3].map((i) => flat(T0 + i * M30));
  for (const order of [["KRW-AAA", "KRW-BBB"], ["KRW-BBB", "KRW-AAA"]]) {
    const result = runAccountBacktest(order.map((market) => ({ market, candles })), {
      ...BASE,
      portfolio: { ...DEFAULT_PORTFOLIO_RULES, maxOpenPositions: 1 },
      strategyFor: () => scripted({ 1: "buy" }),
    });
    const entered = result.markets.filter((m) => m.fills.length > 0).map((m) => m.market);
    assert.deepEqual(entered, [order[0]]);
  }
});

Deno.test("runAccountBacktest() shares the capital: the second entry gets what the first left", () => {
  const flat = (t: number) => candle(t, [100_000, 100_000, 100_000, 100_000]);
  const candles = [0, 1, 2, 3].map((i) => flat(T0 + i * M30));
  const result = runAccountBacktest([
    { market: "KRW-AAA", candles },
    { market: "KRW-BBB", candles },
  ], {
    ...BASE,
    slippageBps: 0,
    portfolio: { ...DEFAULT_PORTFOLIO_RULES, sizing: { mode: "equity_pct", value: 60 } },
    strategyFor: () => scripted({ 0: "buy" }),
  });
  const a = result.markets[0]!.fills[0]!;
  const b = result.markets[1]!.fills[0]!;
  assert.equal(unitsToNumber(a.price) * unitsToNumber(a.volume), 600_000);
  // 1,000,000 − 600,000 − its fee: what is left, fee included.
  const spentB = unitsToNumber(b.price) * unitsToNumber(b.volume) + unitsToNumber(b.fee);
  assert.ok(spentB <= 1_000_000 - 600_300 && spentB > 399_000, `spent ${spentB}`);
});

Deno.test("runAccountBacktest() with detail resolves the stop and the target in time order", () => {
  // Entry at 100,000; stop 1 % (99,000), target 1.5 % (101,500). The candle after the entry
  // touches both: its minutes reach the target first, then the stop.
  const rules = { ...DEFAULT_RISK_RULES, stopLossPct: 1, takeProfitPct: 1.5 };
  const t1 = T0 + M30;
  const t2 = T0 + 2 * M30;
  const candles = [
    candle(T0, [100_000, 100_000, 100_000, 100_000]),
    candle(t1, [100_000, 100_100, 99_900, 100_000]),
    candle(t2, [100_000, 102_000, 98_000, 100_000]),
    candle(T0 + 3 * M30, [100_000, 100_000, 100_000, 100_000]),
  ];
  const detail = [
    candle(t1, [100_050, 100_100, 100_000, 100_000]),
    candle(t1 + 60_000, [100_000, 100_000, 99_900, 100_000]),
    candle(t2, [100_000, 102_000, 100_000, 101_000]),
    candle(t2 + 60_000, [101_000, 101_000, 98_000, 98_500]),
  ];
  const run = (withDetail: boolean) =>
    runAccountBacktest([{ market: "KRW-BTC", candles, ...(withDetail ? { detail } : {}) }], {
      ...BASE,
      slippageBps: 0,
      rules,
      strategyFor: () => scripted({ 0: "buy" }),
    }).markets[0]!;
  const coarse = run(false);
  assert.equal(coarse.trades[0]?.exit, "stop_loss");
  const fine = run(true);
  // The entry fills at the first minute's open.
  assert.equal(unitsToNumber(fine.fills[0]!.price), 100_050);
  assert.equal(fine.fills[0]!.tsMs, t1);
  assert.equal(fine.trades[0]?.exit, "take_profit");
  assert.equal(fine.trades[0]?.exitMs, t2);
});
