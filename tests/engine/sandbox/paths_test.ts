/** Tests of the synthetic detail: derived 1-minute paths and trade tapes keep OHLCV exactly. */

import assert from "node:assert/strict";
import fc from "fast-check";
import { loadCandleFile } from "../../../engine/adapters/candle_file.ts";
import { unitsFromNumber } from "../../../engine/core/money.ts";
import { isOnTick } from "../../../engine/core/tick_size.ts";
import {
  combineCandles,
  derivePath,
  lastTradeMsOf,
  minuteTrades,
  type TapeTrade,
  type UnitCandle,
} from "../../../engine/sandbox/paths.ts";

const CTX = { market: "KRW-BTC", seed: 7, shiftMs: 0 };

/** A random valid candle: low ≤ open, close ≤ high, prices in a band, some volume. */
function candleArb(durMs: number): fc.Arbitrary<UnitCandle> {
  return fc.record({
    minute: fc.integer({ min: 0, max: 5_000_000 }),
    base: fc.integer({ min: 1, max: 200_000_000 }),
    spread: fc.array(fc.integer({ min: 0, max: 1_000_000 }), { minLength: 4, maxLength: 4 }),
    volume: fc.bigInt({ min: 0n, max: 10n ** 14n }),
    value: fc.bigInt({ min: 0n, max: 10n ** 18n }),
  }).map(({ minute, base, spread, volume, value }) => {
    const scale = BigInt(base) * 1000n;
    const pts = spread.map((s) => scale + BigInt(s) * 10_000n).sort((a, b) => (a < b ? -1 : 1));
    const [low, a, b, high] = pts as [bigint, bigint, bigint, bigint];
    const startMs = Math.floor((minute * 60_000) / durMs) * durMs + Date.UTC(2025, 8, 1);
    return {
      startMs,
      open: minute % 2 === 0 ? a : b,
      close: minute % 2 === 0 ? b : a,
      high,
      low,
      volume,
      value,
      lastTradeMs: lastTradeMsOf(startMs + durMs - 60_000, CTX),
    };
  });
}

function assertSameCandle(actual: UnitCandle | undefined, expected: UnitCandle): void {
  assert.ok(actual !== undefined);
  assert.equal(actual.open, expected.open);
  assert.equal(actual.high, expected.high);
  assert.equal(actual.low, expected.low);
  assert.equal(actual.close, expected.close);
  assert.equal(actual.volume, expected.volume);
  assert.equal(actual.value, expected.value);
}

function tapeCandle(trades: readonly TapeTrade[], startMs: number): UnitCandle | undefined {
  return combineCandles(
    trades.map((t) => ({
      startMs,
      open: t.price,
      high: t.price,
      low: t.price,
      close: t.price,
      volume: t.volume,
      value: t.funds,
      lastTradeMs: t.tsMs,
    })),
  );
}

Deno.test("derivePath() aggregates back to the coarse candle exactly", () => {
  for (const durMs of [1_800_000, 86_400_000]) {
    fc.assert(
      fc.property(candleArb(durMs), (piece) => {
        const minutes = derivePath(piece, { ...CTX, durMs });
        assertSameCandle(combineCandles(minutes), piece);
        assert.equal(minutes[minutes.length - 1]?.lastTradeMs, piece.lastTradeMs);
        for (let i = 0; i < minutes.length; i++) {
          const m = minutes[i] as UnitCandle;
          assert.ok(m.low <= m.open && m.open <= m.high && m.low <= m.close && m.close <= m.high);
          assert.ok(m.startMs >= piece.startMs && m.startMs < piece.startMs + durMs);
          if (i > 0) assert.ok(m.startMs > (minutes[i - 1] as UnitCandle).startMs);
        }
      }),
      { numRuns: 60 },
    );
  }
});

Deno.test("minuteTrades() reproduces the candle's OHLCV exactly, in time order", () => {
  fc.assert(
    fc.property(candleArb(60_000), (c) => {
      const trades = minuteTrades(c, CTX);
      assertSameCandle(tapeCandle(trades, c.startMs), c);
      assert.equal(trades[0]?.price, c.open);
      assert.equal(trades[trades.length - 1]?.price, c.close);
      assert.equal(trades[trades.length - 1]?.tsMs, c.lastTradeMs);
      for (let i = 1; i < trades.length; i++) {
        const t = trades[i] as TapeTrade;
        const p = trades[i - 1] as TapeTrade;
        assert.ok(t.tsMs > p.tsMs && t.sequentialId > p.sequentialId);
      }
      for (const t of trades) assert.ok(t.tsMs >= c.startMs && t.tsMs < c.startMs + 60_000);
    }),
    { numRuns: 300 },
  );
});

Deno.test("minuteTrades() is deterministic for a seed and differs across seeds", () => {
  const c: UnitCandle = {
    startMs: Date.UTC(2025, 8, 1),
    open: 100_000_000n * 150_000_000n,
    high: 100_000_000n * 150_100_000n,
    low: 100_000_000n * 149_900_000n,
    close: 100_000_000n * 150_050_000n,
    volume: 123_456_789n,
    value: 100_000_000n * 185_000_000n,
    lastTradeMs: Date.UTC(2025, 8, 1) + 59_000,
  };
  assert.deepEqual(minuteTrades(c, CTX), minuteTrades(c, CTX));
  assert.notDeepEqual(minuteTrades(c, CTX), minuteTrades(c, { ...CTX, seed: 8 }));
});

Deno.test("minuteTrades() on real 1m data: exact OHLCV and prices on the tick grid of the date", async () => {
  const candles = await loadCandleFile("data/upbit-KRW-BTC-1m-20220531-20220607.csv");
  for (const raw of candles.slice(0, 1500)) {
    const c: UnitCandle = {
      startMs: raw.startMs,
      open: unitsFromNumber(raw.open),
      high: unitsFromNumber(raw.high),
      low: unitsFromNumber(raw.low),
      close: unitsFromNumber(raw.close),
      volume: unitsFromNumber(raw.volume),
      value: unitsFromNumber(raw.value),
      lastTradeMs: lastTradeMsOf(raw.startMs, CTX),
    };
    const trades = minuteTrades(c, CTX);
    assertSameCandle(tapeCandle(trades, c.startMs), c);
    for (const t of trades) assert.ok(isOnTick(t.price, { atMs: t.tsMs, market: "KRW-BTC" }));
  }
});

Deno.test("derivePath() on a real day candle: exact, on the grid, seeded", async () => {
  const days = await loadCandleFile("data/upbit-KRW-XRP-1d.csv");
  for (const raw of days.slice(-30)) {
    const piece: UnitCandle = {
      startMs: raw.startMs,
      open: unitsFromNumber(raw.open),
      high: unitsFromNumber(raw.high),
      low: unitsFromNumber(raw.low),
      close: unitsFromNumber(raw.close),
      volume: unitsFromNumber(raw.volume),
      value: unitsFromNumber(raw.value),
      lastTradeMs: lastTradeMsOf(raw.startMs + 86_340_000, { ...CTX, market: "KRW-XRP" }),
    };
    const minutes = derivePath(piece, { ...CTX, market: "KRW-XRP", durMs: 86_400_000 });
    assert.equal(minutes.length, 1440);
    assertSameCandle(combineCandles(minutes), piece);
    for (const m of minutes) {
      for (const p of [m.open, m.high, m.low, m.close]) {
        assert.ok(isOnTick(p, { atMs: m.startMs, market: "KRW-XRP" }));
      }
    }
  }
});
