/**
 * Backtest throughput: BB(20, 2.5) with the risk manager and the ledger over 1,000,000 one-minute
 * candles through `runBacktest` (the same decision code as paper and live), beside a plain
 * `Float64Array` loop doing the same arithmetic in the same process.
 */

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

/** Deterministic 32-bit PRNG (mulberry32), so every run benches the same market. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return function next(): number {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` one-minute candles of a seeded random walk around 100M KRW on the 1,000 KRW grid. */
export function syntheticMinuteCandles(n: number, seed = 1): Candle[] {
  const random = mulberry32(seed);
  const out: Candle[] = new Array(n);
  let price = 100_000_000;
  const t0 = Date.UTC(2025, 0, 1);
  for (let i = 0; i < n; i++) {
    const open = price;
    const close = Math.max(
      1_000_000,
      Math.round((open * (1 + (random() - 0.5) * 0.003)) / 1000) * 1000,
    );
    const high = Math.max(open, close) + Math.round((random() * open * 0.001) / 1000) * 1000;
    const low = Math.min(open, close) - Math.round((random() * open * 0.001) / 1000) * 1000;
    out[i] = { startMs: t0 + i * 60_000, open, high, low, close, volume: 1, value: close };
    price = close;
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

/** Runs the backtest bench on `n` synthetic one-minute candles (default 1,000,000). */
export function benchBacktest(n = 1_000_000): BacktestBench {
  const candles = syntheticMinuteCandles(n);
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
  console.log(benchBacktest());
}
