/** Tests of the Bollinger Bands strategy against bands computed here with plain loops. */

import assert from "node:assert/strict";
import fc from "fast-check";
import { BOLLINGER, createBollinger } from "../../../../engine/core/strategies/bollinger.ts";
import {
  createStrategy,
  DEFAULT_STRATEGY,
  type Holding,
  type Signal,
  STRATEGIES,
} from "../../../../engine/core/strategies/mod.ts";
import { feed } from "./_feed.ts";

/** Feeds `closes` with one holding (or one per candle) and returns every signal. */
function run(
  params: { readonly period: number; readonly std: number },
  closes: readonly number[],
  holding: Holding | readonly Holding[],
): Signal[] {
  return feed(createBollinger(params), closes, holding);
}

/** Reference bands at index `i`: SMA ± std × population σ over the last `period` closes. */
function bands(
  closes: readonly number[],
  i: number,
  params: { readonly period: number; readonly std: number },
): { readonly lower: number; readonly middle: number; readonly upper: number } | null {
  if (i < params.period - 1) return null;
  let sum = 0;
  for (let j = i - params.period + 1; j <= i; j++) sum += closes[j]!;
  const middle = sum / params.period;
  let squares = 0;
  for (let j = i - params.period + 1; j <= i; j++) squares += (closes[j]! - middle) ** 2;
  const sigma = Math.sqrt(squares / params.period);
  return { lower: middle - params.std * sigma, middle, upper: middle + params.std * sigma };
}

const P = { period: 5, std: 1.5 };

Deno.test("bb buys when flat and a close falls below the lower band", () => {
  const closes = [100, 102, 98, 101, 99, 90];
  const ref = bands(closes, 5, P)!;
  assert.ok(90 < ref.lower, `the series must break the band: lower is ${ref.lower}`);
  const signals = run(P, closes, "flat");
  assert.equal(signals[5]!.action, "buy");
  for (const s of signals.slice(0, 5)) assert.equal(s.action, "hold");
});

Deno.test("bb reasons name the close and the band", () => {
  const closes = [100, 102, 98, 101, 99, 90];
  const buy = run(P, closes, "flat")[5]!;
  const m = /^close ([\d,.]+) < lower band ([\d,.]+) \(bb\(5, 1\.5\)\)$/.exec(buy.reason);
  assert.ok(m, buy.reason);
  assert.equal(Number(m[1]!.replaceAll(",", "")), 90);
  // The band prints on the tick grid (0.1 KRW between 10 and 100 KRW): within half a tick.
  assert.ok(Math.abs(Number(m[2]!.replaceAll(",", "")) - bands(closes, 5, P)!.lower) <= 0.05);

  const up = [100, 102, 98, 101, 99, 110];
  const sell = run(P, up, "long")[5]!;
  const n = /^close ([\d,.]+) > upper band ([\d,.]+) \(bb\(5, 1\.5\)\)$/.exec(sell.reason);
  assert.ok(n, sell.reason);
  assert.equal(Number(n[1]!.replaceAll(",", "")), 110);
  // 1 KRW ticks between 100 and 1,000 KRW.
  assert.ok(Math.abs(Number(n[2]!.replaceAll(",", "")) - bands(up, 5, P)!.upper) <= 0.5);
  // Thousands separators and the 1,000 KRW tick above 2,000,000 KRW: no float noise.
  const btc = run(P, closes.map((c) => c * 1_000_000), "flat")[5]!;
  assert.match(btc.reason, /^close 90,000,000 < lower band 91,636,000 \(bb\(5, 1\.5\)\)$/);
});

Deno.test("bb does not buy below the lower band while long", () => {
  const signals = run(P, [100, 102, 98, 101, 99, 90], "long");
  assert.equal(signals[5]!.action, "hold");
});

Deno.test("bb sells when long and a close rises above the upper band", () => {
  const closes = [100, 102, 98, 101, 99, 110];
  assert.ok(110 > bands(closes, 5, P)!.upper);
  assert.equal(run(P, closes, "long")[5]!.action, "sell");
});

Deno.test("bb does not sell above the upper band while flat", () => {
  assert.equal(run(P, [100, 102, 98, 101, 99, 110], "flat")[5]!.action, "hold");
});

Deno.test("bb holds inside the bands", () => {
  const closes = [100, 102, 98, 101, 99, 100, 101, 99];
  for (const holding of ["flat", "long"] as const) {
    for (const s of run(P, closes, holding)) assert.equal(s.action, "hold");
  }
});

Deno.test("bb holds on a close exactly on the band (below means below)", () => {
  // [100, 100, 100, 100, 80]: mean 96, σ 8, lower = 96 − 2 × 8 = 80, exactly the close.
  const closes = [100, 100, 100, 100, 80];
  assert.equal(bands(closes, 4, { period: 5, std: 2 })!.lower, 80);
  assert.equal(run({ period: 5, std: 2 }, closes, "flat")[4]!.action, "hold");
  const up = [100, 100, 100, 100, 120];
  assert.equal(bands(up, 4, { period: 5, std: 2 })!.upper, 120);
  assert.equal(run({ period: 5, std: 2 }, up, "long")[4]!.action, "hold");
});

Deno.test("bb holds while warming up (warmup = period) and can signal on the period-th close", () => {
  const strategy = createBollinger(P);
  assert.equal(strategy.warmup, 5);
  assert.equal(strategy.name, "bb(5, 1.5)");
  // Wild closes during the warm-up never signal.
  const signals = run(P, [100, 1, 1000, 5], "flat");
  for (const s of signals) assert.deepEqual(s, { action: "hold", reason: "warming up" });
  // [100, 100, 100, 100, 50]: mean 90, σ 20, lower 60 — the 5th close already buys.
  assert.equal(run(P, [100, 100, 100, 100, 50], "flat")[4]!.action, "buy");
});

Deno.test("bb follows the band rules on random closes (property)", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 2, max: 12 }),
      fc.constantFrom(0.5, 1, 1.5, 2, 2.5),
      fc.array(fc.tuple(fc.double({ min: -0.1, max: 0.1, noNaN: true }), fc.boolean()), {
        minLength: 1,
        maxLength: 80,
      }),
      (period, std, steps) => {
        const closes: number[] = [];
        let price = 50_000_000;
        for (const [change] of steps) closes.push(price = Math.max(1, price * (1 + change)));
        const holdings = steps.map(([, long]): Holding => long ? "long" : "flat");
        const signals = run({ period, std }, closes, holdings);
        for (const [i, signal] of signals.entries()) {
          const ref = bands(closes, i, { period, std });
          if (ref === null) {
            assert.deepEqual(signal, { action: "hold", reason: "warming up" }, `candle ${i}`);
            continue;
          }
          const close = closes[i]!;
          const eps = 1e-9 * close;
          if (Math.abs(close - ref.lower) < eps || Math.abs(close - ref.upper) < eps) continue;
          let expected: string = "hold";
          if (holdings[i] === "flat" && close < ref.lower) expected = "buy";
          if (holdings[i] === "long" && close > ref.upper) expected = "sell";
          assert.equal(signal.action, expected, `candle ${i}: ${signal.reason}`);
        }
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("bb parameters are validated by zod", () => {
  assert.equal(STRATEGIES.bb, BOLLINGER);
  assert.equal(DEFAULT_STRATEGY, "bb");
  assert.deepEqual(STRATEGIES.bb.params.parse({}), { period: 20, std: 2.5 });
  assert.equal(STRATEGIES.bb.params.safeParse({ period: 1 }).success, false);
  assert.equal(STRATEGIES.bb.params.safeParse({ period: 2.5 }).success, false);
  assert.equal(STRATEGIES.bb.params.safeParse({ period: 1001 }).success, false);
  assert.equal(STRATEGIES.bb.params.safeParse({ std: 0 }).success, false);
  assert.equal(STRATEGIES.bb.params.safeParse({ std: -1 }).success, false);
  assert.equal(STRATEGIES.bb.params.safeParse({ std: 11 }).success, false);
  assert.equal(STRATEGIES.bb.params.safeParse({ period: "20" }).success, false);
  assert.ok(STRATEGIES.bb.params.safeParse({ period: 2, std: 0.1 }).success);
  assert.throws(() => createStrategy("bb", { period: 1 }));
  assert.equal(createStrategy("bb", {}).name, "bb(20, 2.5)");
});

Deno.test("the BB strategy over shared band series signals exactly as the streaming one", async () => {
  const { loadCandleFile } = await import("../../../../engine/adapters/candle_file.ts");
  const { bandSeries, createBollingerOnSeries } = await import(
    "../../../../engine/core/strategies/bollinger.ts"
  );
  const candles = await loadCandleFile(
    new URL("../../../../data/upbit-KRW-XRP-30m-20241023-20250127.csv", import.meta.url).pathname,
  );
  for (const [period, std] of [[2, 0.5], [20, 2.5], [35, 1.75]] as const) {
    const series = bandSeries(candles, period);
    const streaming = createStrategy("bb", { period, std });
    const shared = createBollingerOnSeries({ period, std }, series);
    const fixed = createBollingerOnSeries({ period, std }, series, { texts: false });
    assert.equal(shared.name, streaming.name);
    let holding: "flat" | "long" = "flat";
    let signals = 0;
    for (const c of candles) {
      const a = streaming.update(c, holding);
      assert.deepEqual(shared.update(c, holding), a);
      const b = fixed.update(c, holding);
      assert.equal(b.action, a.action);
      if (b.action === "buy") assert.equal(b.reason, `close < lower band (${streaming.name})`);
      if (a.action === "buy") holding = "long";
      if (a.action === "sell") holding = "flat";
      if (a.action !== "hold") signals++;
    }
    assert.ok(signals > 10);
  }
  const other = createBollingerOnSeries({ period: 20, std: 2 }, bandSeries(candles, 20));
  assert.throws(() => other.update({ ...candles[0]! }, "flat"), RangeError);
});
