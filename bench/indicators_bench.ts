/**
 * Benchmark: our streaming indicators against npm `trading-signals` 8.3.0.
 *
 * Both sides run over the same deterministic random walk around 1e8 KRW, one indicator at a
 * time, in one process. Each loop is its own function so every call site stays monomorphic.
 * After a warm-up pass, ours and theirs alternate for several repetitions and the best time of
 * each is kept, which damps the noise of a small shared machine. Run alone for a table:
 * `deno run bench/indicators_bench.ts [n]`.
 *
 * trading-signals 8.3.0 has no separate "Faster*" classes any more (every class is number-based
 * since v7), so the equivalents are SMA, EMA, RSI, MACD(EMA, EMA, EMA), BollingerBands and ATR.
 * For RSI and ATR it offers a choice of smoothing: the Wilder default (WSMA, same definition as
 * ours) and RMA (seeded differently, so not TA-Lib's numbers); both are timed and the faster one
 * is reported. Their `update(x, false)` is called directly (what `add(x)` calls).
 */

import { ATR, BollingerBands as TsBollingerBands, EMA, MACD, RMA, RSI, SMA } from "trading-signals";
import { Atr, BollingerBands, Ema, Macd, Rsi, Sma } from "../engine/core/indicators/mod.ts";
import { mulberry32 } from "../engine/core/prng.ts";

/** Indicator names timed by `benchIndicators`. */
export type BenchedIndicator = "sma" | "ema" | "rsi" | "macd" | "bb" | "atr";

/** Best-of-repetitions time per update, in ns, for ours and for trading-signals. */
export interface BenchResult {
  /** Ours, ns per update. */
  readonly ours_ns: number;
  /** trading-signals 8.3.0 (fastest equivalent variant), ns per update. */
  readonly trading_signals_ns: number;
}

interface Walk {
  readonly high: Float64Array;
  readonly low: Float64Array;
  readonly close: Float64Array;
  readonly candles: { high: number; low: number; close: number }[];
}

const REPETITIONS = 5;

/** A random walk around 1e8 with 1000 KRW ticks, as OHLC candles. */
function makeWalk(n: number): Walk {
  const rand = mulberry32(20240516);
  const high = new Float64Array(n);
  const low = new Float64Array(n);
  const close = new Float64Array(n);
  const candles = new Array<{ high: number; low: number; close: number }>(n);
  let price = 100_000_000;
  for (let i = 0; i < n; i++) {
    const open = price;
    price = Math.max(1_000_000, price + Math.round((rand() - 0.5) * 400) * 1000);
    const h = Math.max(open, price) + Math.round(rand() * 100) * 1000;
    const l = Math.min(open, price) - Math.round(rand() * 100) * 1000;
    high[i] = h;
    low[i] = l;
    close[i] = price;
    candles[i] = { high: h, low: l, close: price };
  }
  return { high, low, close, candles };
}

// --- ours -------------------------------------------------------------------------------------

function oursSma(w: Walk): number {
  const s = new Sma(20);
  const c = w.close;
  let sink = 0;
  for (let i = 0; i < c.length; i++) sink += s.update(c[i]!) || 0;
  return sink;
}

function oursEma(w: Walk): number {
  const s = new Ema(20);
  const c = w.close;
  let sink = 0;
  for (let i = 0; i < c.length; i++) sink += s.update(c[i]!) || 0;
  return sink;
}

function oursRsi(w: Walk): number {
  const s = new Rsi(14);
  const c = w.close;
  let sink = 0;
  for (let i = 0; i < c.length; i++) sink += s.update(c[i]!) || 0;
  return sink;
}

function oursMacd(w: Walk): number {
  const s = new Macd(12, 26, 9);
  const c = w.close;
  let sink = 0;
  for (let i = 0; i < c.length; i++) if (s.update(c[i]!)) sink += s.histogram;
  return sink;
}

function oursBb(w: Walk): number {
  const s = new BollingerBands(20, 2.5);
  const c = w.close;
  let sink = 0;
  for (let i = 0; i < c.length; i++) if (s.update(c[i]!)) sink += s.upper - s.lower;
  return sink;
}

function oursAtr(w: Walk): number {
  const s = new Atr(14);
  const { high, low, close } = w;
  let sink = 0;
  for (let i = 0; i < close.length; i++) sink += s.update(high[i]!, low[i]!, close[i]!) || 0;
  return sink;
}

// --- trading-signals --------------------------------------------------------------------------

function theirsSma(w: Walk): number {
  const s = new SMA(20);
  const c = w.close;
  let sink = 0;
  for (let i = 0; i < c.length; i++) sink += s.update(c[i]!, false) ?? 0;
  return sink;
}

function theirsEma(w: Walk): number {
  const s = new EMA(20);
  const c = w.close;
  let sink = 0;
  for (let i = 0; i < c.length; i++) sink += s.update(c[i]!, false) ?? 0;
  return sink;
}

function theirsRsi(w: Walk): number {
  const s = new RSI(14);
  const c = w.close;
  let sink = 0;
  for (let i = 0; i < c.length; i++) sink += s.update(c[i]!, false) ?? 0;
  return sink;
}

function theirsRsiRma(w: Walk): number {
  const s = new RSI(14, RMA);
  const c = w.close;
  let sink = 0;
  for (let i = 0; i < c.length; i++) sink += s.update(c[i]!, false) ?? 0;
  return sink;
}

function theirsMacd(w: Walk): number {
  const s = new MACD(new EMA(12), new EMA(26), new EMA(9));
  const c = w.close;
  let sink = 0;
  for (let i = 0; i < c.length; i++) {
    const r = s.update(c[i]!, false);
    if (r) sink += r.histogram;
  }
  return sink;
}

function theirsBb(w: Walk): number {
  const s = new TsBollingerBands(20, 2.5);
  const c = w.close;
  let sink = 0;
  for (let i = 0; i < c.length; i++) {
    const r = s.update(c[i]!, false);
    if (r) sink += r.upper - r.lower;
  }
  return sink;
}

function theirsAtr(w: Walk): number {
  const s = new ATR(14);
  const candles = w.candles;
  let sink = 0;
  for (let i = 0; i < candles.length; i++) sink += s.update(candles[i]!, false) ?? 0;
  return sink;
}

function theirsAtrRma(w: Walk): number {
  const s = new ATR(14, RMA);
  const candles = w.candles;
  let sink = 0;
  for (let i = 0; i < candles.length; i++) sink += s.update(candles[i]!, false) ?? 0;
  return sink;
}

// --- harness ----------------------------------------------------------------------------------

type Loop = (w: Walk) => number;

const CASES: Record<BenchedIndicator, { ours: Loop; theirs: readonly Loop[] }> = {
  sma: { ours: oursSma, theirs: [theirsSma] },
  ema: { ours: oursEma, theirs: [theirsEma] },
  rsi: { ours: oursRsi, theirs: [theirsRsi, theirsRsiRma] },
  macd: { ours: oursMacd, theirs: [theirsMacd] },
  bb: { ours: oursBb, theirs: [theirsBb] },
  atr: { ours: oursAtr, theirs: [theirsAtr, theirsAtrRma] },
};

let blackHole = 0;

/** Runs `loop` once and returns ns per update. */
function timeOnce(loop: Loop, w: Walk): number {
  const t0 = performance.now();
  blackHole += loop(w);
  const t1 = performance.now();
  return ((t1 - t0) * 1e6) / w.close.length;
}

/** Sleeps a little: lets concurrent GC and JIT threads settle between timed runs. */
function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Times ours and trading-signals on `n` candles; best of several alternating repetitions. */
export async function benchIndicators(
  n = 1_000_000,
): Promise<Record<BenchedIndicator, BenchResult>> {
  const walk = makeWalk(n);
  const warm = makeWalk(Math.min(n, 50_000));
  const out = {} as Record<BenchedIndicator, BenchResult>;
  for (const name of Object.keys(CASES) as BenchedIndicator[]) {
    const { ours, theirs } = CASES[name];
    // Warm-up: let the JIT reach its optimised tier on both sides.
    for (let i = 0; i < 5; i++) {
      timeOnce(ours, warm);
      for (const t of theirs) timeOnce(t, warm);
    }
    await pause(20);
    let best = Infinity;
    let bestTheirs = Infinity;
    for (let r = 0; r < REPETITIONS; r++) {
      // Ours takes milliseconds, so a few tries per repetition cost nothing.
      for (let k = 0; k < 3; k++) best = Math.min(best, timeOnce(ours, walk));
      for (const t of theirs) {
        await pause(10);
        bestTheirs = Math.min(bestTheirs, timeOnce(t, walk));
      }
      await pause(10);
    }
    out[name] = { ours_ns: best, trading_signals_ns: bestTheirs };
  }
  if (blackHole === 42) throw new Error("unreachable: keeps the loops' results alive");
  return out;
}

if (import.meta.main) {
  const n = Number(Deno.args[0] ?? 1_000_000);
  const results = await benchIndicators(n);
  const lines = [
    `n = ${n} candles, best of ${REPETITIONS} rounds, ns per update`,
    "indicator      ours  trading-signals  speed-up",
  ];
  for (const [name, r] of Object.entries(results)) {
    lines.push(
      `${name.padEnd(9)} ${r.ours_ns.toFixed(2).padStart(9)} ${
        r.trading_signals_ns.toFixed(2).padStart(16)
      } ${(r.trading_signals_ns / r.ours_ns).toFixed(1).padStart(8)}×`,
    );
  }
  // The lint config forbids console; a bench's table is its whole point.
  Deno.stdout.writeSync(new TextEncoder().encode(lines.join("\n") + "\n"));
}
