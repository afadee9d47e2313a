/**
 * Backtest throughput: BB(20, 2.5) with the risk manager and the ledger over 1,000,000 one-minute
 * candles through `runBacktest` (the same decision code as paper and live), beside a plain
 * `Float64Array` loop doing the same arithmetic in the same process.
 */

import { loadCandleFile } from "../engine/adapters/candle_file.ts";
import { runBacktest } from "../engine/core/backtest.ts";
import type { Candle } from "../engine/core/candle.ts";
import { parseUnits } from "../engine/core/money.ts";
import { DEFAULT_RISK_RULES } from "../engine/core/risk.ts";
import { createStrategy } from "../engine/core/strategies/mod.ts";

/** What the backtest bench measured. */
export interface BacktestBench {
  readonly candles: number;
  readonly trades: number;
  readonly backtest_candles_per_sec: number;
  readonly tight_loop_candles_per_sec: number;
  readonly backtest_ratio_to_tight_loop: number;
}

const SOURCE = new URL("../data/upbit-KRW-BTC-1m-20220531-20220607.csv", import.meta.url);

/**
 * `n` one-minute candles of real market behaviour: the bundled real KRW-BTC week, repeated and
 * shifted later in time (each copy starts one minute after the previous one ends).
 */
export async function realMinuteCandles(n: number): Promise<Candle[]> {
  const week = await loadCandleFile(SOURCE.pathname);
  const spanMs = week[week.length - 1]!.startMs - week[0]!.startMs + 60_000;
  const out: Candle[] = [];
  for (let copy = 0; out.length < n; copy++) {
    for (const c of week) {
      if (out.length === n) break;
      out.push({ ...c, startMs: c.startMs + copy * spanMs });
    }
  }
  return out;
}

/**
 * The same trading arithmetic as the backtest with everything inlined over typed arrays: BB(20,
 * 2.5) with exact re-summing at each wrap, stop −5% / target +10% on the high/low, fills at the
 * next open with slippage and a 0.05% fee.
 */
function tightLoop(o: Float64Array, h: Float64Array, l: Float64Array, c: Float64Array): number {
  const period = 20;
  const k = 2.5;
  const ring = new Float64Array(period);
  let pos = 0;
  let count = 0;
  let sum = 0;
  let sumSq = 0;
  let cash = 1_000_000;
  let qty = 0;
  let stop = 0;
  let target = 0;
  let pending = 0;
  let trades = 0;
  const fee = 0.0005;
  const slip = 0.0005;
  for (let i = 0; i < c.length; i++) {
    if (pending === 1) {
      const px = o[i]! * (1 + slip);
      qty = cash / (px * (1 + fee));
      cash = 0;
      stop = px * 0.95;
      target = px * 1.1;
    } else if (pending === -1) {
      cash += qty * o[i]! * (1 - slip) * (1 - fee);
      qty = 0;
      trades++;
    }
    pending = 0;
    if (qty > 0) {
      const exit = o[i]! <= stop ? o[i]! : l[i]! <= stop ? stop : h[i]! >= target ? target : 0;
      if (exit > 0) {
        cash += qty * exit * (1 - slip) * (1 - fee);
        qty = 0;
        trades++;
      }
    }
    const x = c[i]!;
    const old = ring[pos]!;
    ring[pos] = x;
    pos = pos === period - 1 ? 0 : pos + 1;
    if (count < period) count++;
    else {
      sum -= old;
      sumSq -= old * old;
    }
    sum += x;
    sumSq += x * x;
    if (pos === 0) {
      sum = 0;
      sumSq = 0;
      for (let j = 0; j < period; j++) {
        sum += ring[j]!;
        sumSq += ring[j]! * ring[j]!;
      }
    }
    if (count < period) continue;
    const mean = sum / period;
    const sd = Math.sqrt(Math.max(0, sumSq / period - mean * mean));
    if (qty === 0 && x < mean - k * sd) pending = 1;
    else if (qty > 0 && x > mean + k * sd) pending = -1;
  }
  return trades + cash * 0;
}

function best(runs: number, fn: () => void): number {
  let bestMs = Infinity;
  for (let r = 0; r < runs; r++) {
    const t = performance.now();
    fn();
    bestMs = Math.min(bestMs, performance.now() - t);
  }
  return bestMs;
}

/** Runs the backtest bench on `n` real one-minute candles (default 1,000,000). */
export async function benchBacktest(n = 1_000_000): Promise<BacktestBench> {
  const candles = await realMinuteCandles(n);
  const o = Float64Array.from(candles, (x) => x.open);
  const h = Float64Array.from(candles, (x) => x.high);
  const l = Float64Array.from(candles, (x) => x.low);
  const c = Float64Array.from(candles, (x) => x.close);
  let trades = 0;
  const backtest = () => {
    const result = runBacktest(candles, {
      market: "KRW-BTC",
      strategy: createStrategy("bb", {}),
      rules: DEFAULT_RISK_RULES,
      feeBps: 5,
      slippageBps: 5,
      capital: parseUnits("1000000"),
    });
    trades = result.trades.length;
  };
  let sink = 0;
  const tight = () => {
    sink += tightLoop(o, h, l, c);
  };
  // Warm up both, then alternate so that machine noise hits both alike.
  backtest();
  tight();
  let oursMs = Infinity;
  let tightMs = Infinity;
  for (let r = 0; r < 5; r++) {
    oursMs = Math.min(oursMs, best(1, backtest));
    tightMs = Math.min(tightMs, best(1, tight));
  }
  if (sink < 0) throw new RangeError("unreachable");
  return {
    candles: n,
    trades,
    backtest_candles_per_sec: Math.round(n / (oursMs / 1000)),
    tight_loop_candles_per_sec: Math.round(n / (tightMs / 1000)),
    backtest_ratio_to_tight_loop: Math.round((tightMs > 0 ? oursMs / tightMs : 0) * 100) / 100,
  };
}

if (import.meta.main) {
  // deno-lint-ignore no-console
  console.log(await benchBacktest());
}
