/** Tests of the market replay: exact aggregation of real data, the clock, and no look-ahead. */

import assert from "node:assert/strict";
import { loadCandleFile } from "../../../engine/adapters/candle_file.ts";
import { aggregateCandles } from "../../../engine/core/aggregate.ts";
import { type Candle, DAY_MS, type Timeframe } from "../../../engine/core/candle.ts";
import { formatUnits, unitsFromNumber } from "../../../engine/core/money.ts";
import type { TapeTrade } from "../../../engine/sandbox/paths.ts";
import { type CandleSpan, createReplay } from "../../../engine/sandbox/replay.ts";

const BTC_1M = "data/upbit-KRW-BTC-1m-20220531-20220607.csv";
const BTC_1D = "data/upbit-KRW-BTC-1d.csv";
const START = Date.UTC(2022, 5, 7, 10, 0, 30);
const REAL_NOW = Date.UTC(2026, 10, 24, 3, 0);

function sameOhlcv(
  served: { open: bigint; high: bigint; low: bigint; close: bigint; volume: bigint },
  csv: Candle,
  options: { open?: boolean; value?: bigint } = {},
): void {
  if (options.open !== false) assert.equal(served.open, unitsFromNumber(csv.open));
  assert.equal(served.high, unitsFromNumber(csv.high));
  assert.equal(served.low, unitsFromNumber(csv.low));
  assert.equal(served.close, unitsFromNumber(csv.close));
  assert.equal(served.volume, unitsFromNumber(csv.volume));
}

Deno.test("replay: served candles of every unit equal the aggregation of the CSV 1m data", async () => {
  const replay = await createReplay({
    dataFiles: [BTC_1M],
    manualClock: true,
    startAt: START,
    realNowMs: () => REAL_NOW,
  });
  const minutes = await loadCandleFile(BTC_1M);
  const shift = replay.shiftMs;
  assert.equal(shift % DAY_MS, 0);
  const nowData = replay.nowMs() - shift;
  const spans: Array<[CandleSpan, Timeframe, number]> = [
    ["1m", "1m", 60_000],
    ["3m", "3m", 180_000],
    ["5m", "5m", 300_000],
    ["10m", "10m", 600_000],
    ["15m", "15m", 900_000],
    ["30m", "30m", 1_800_000],
    ["60m", "1h", 3_600_000],
    ["240m", "4h", 14_400_000],
    ["1d", "1d", DAY_MS],
  ];
  for (const [span, tf, len] of spans) {
    const expected = aggregateCandles(minutes.filter((c) => c.startMs < nowData), tf)
      .filter((c) => c.startMs + len <= nowData).reverse();
    // Skip the current (unfinished) bucket; compare the next 200 complete ones, newest first.
    const served = replay.candles("KRW-BTC", span, {
      count: 200,
      toMs: (expected[0]?.startMs ?? 0) + shift + 1,
    });
    assert.ok(served.length > 0);
    for (let i = 0; i < served.length; i++) {
      const s = served[i]!;
      const e = expected[i]!;
      assert.equal(s.startMs, e.startMs + shift, `${span} #${i}`);
      sameOhlcv(s, e);
      // Turnover above 2^53 units is exact here; the float aggregate holds its nearest double.
      assert.equal(Number(formatUnits(s.value)), e.value, `${span} value #${i}`);
    }
  }
  replay.close();
});

Deno.test("replay: days built from 1m data reproduce the daily file (H, L, C, V)", async () => {
  const replay = await createReplay({
    dataFiles: [BTC_1M, BTC_1D],
    manualClock: true,
    startAt: START,
    realNowMs: () => REAL_NOW,
  });
  const days = await loadCandleFile(BTC_1D);
  const served = replay.candles("KRW-BTC", "1d", { count: 30 });
  // The newest is today (unfinished); 2022-06-01..06 come from the complete 1m days.
  for (const s of served.slice(1, 7)) {
    const day = days.find((d) => d.startMs === s.startMs - replay.shiftMs)!;
    sameOhlcv(s, day, { open: false });
  }
  // Older days come straight from the daily file, opens included, prev close chained.
  for (const s of served.slice(8)) {
    const day = days.find((d) => d.startMs === s.startMs - replay.shiftMs)!;
    sameOhlcv(s, day);
  }
  for (let i = 0; i + 1 < served.length; i++) {
    assert.equal(served[i]!.prevClose, served[i + 1]!.close);
  }
  replay.close();
});

Deno.test("replay: the clock emits trades in order and the future is never visible", async () => {
  const replay = await createReplay({
    dataFiles: [BTC_1M, "data/upbit-KRW-ETH-30m-20241023-20250127.csv"],
    manualClock: true,
    startAt: Date.UTC(2022, 5, 3, 23, 50),
    realNowMs: () => REAL_NOW,
  });
  const seen: TapeTrade[] = [];
  replay.onTrade((t) => seen.push(t as TapeTrade));
  const t0 = replay.nowMs();
  replay.advanceBy(20 * 60_000);
  assert.equal(replay.nowMs(), t0 + 20 * 60_000);
  assert.ok(seen.length > 20);
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i]!.tsMs >= seen[i - 1]!.tsMs);
  assert.ok(seen.every((t) => t.tsMs > t0 && t.tsMs <= replay.nowMs()));
  // Trades of a complete minute aggregate to the served 1m candle.
  const minute = Math.floor((t0 + 5 * 60_000) / 60_000) * 60_000;
  const inMinute = seen.filter((t) => t.tsMs >= minute && t.tsMs < minute + 60_000);
  const served = replay.candles("KRW-BTC", "1m", { count: 1, toMs: minute + 1 })[0]!;
  assert.equal(served.startMs, minute);
  assert.equal(served.open, inMinute[0]!.price);
  assert.equal(served.close, inMinute[inMinute.length - 1]!.price);
  assert.equal(served.volume, inMinute.reduce((a, t) => a + t.volume, 0n));
  // Nothing after now: candles, trades, ticker, book.
  const now = replay.nowMs();
  for (const span of ["1s", "1m", "5m", "240m", "1d", "1w", "1M"] as const) {
    for (const c of replay.candles("KRW-BTC", span, { count: 5, toMs: now + 10 * DAY_MS })) {
      assert.ok(c.startMs <= now && c.lastTradeMs <= now, span);
    }
  }
  for (const t of replay.trades("KRW-BTC", { count: 50 })) assert.ok(t.tsMs <= now);
  assert.ok(replay.ticker("KRW-BTC")!.last.tsMs <= now);
  assert.ok(replay.book("KRW-BTC")!.tsMs <= now);
  // The partial current candle grows with the clock and equals the emitted trades.
  const cur = Math.floor(now / 60_000) * 60_000;
  const partial = replay.candles("KRW-BTC", "1m", { count: 1 })[0]!;
  const sofar = seen.filter((t) => t.market === "KRW-BTC" && t.tsMs >= cur);
  if (sofar.length > 0) {
    assert.equal(partial.startMs, cur);
    assert.equal(partial.volume, sofar.reduce((a, t) => a + t.volume, 0n));
  }
  // The ETH series starts in 2024: in 2022 it has no history and no trades.
  assert.equal(replay.ticker("KRW-ETH"), undefined);
  replay.close();
});

Deno.test("replay: books sit on the tick grid around the last trade, asks above bids", async () => {
  const replay = await createReplay({
    dataFiles: ["data/upbit-KRW-XRP-1d.csv", "data/upbit-KRW-BTC-1d.csv"],
    manualClock: true,
    startAt: Date.UTC(2025, 7, 1, 12),
    realNowMs: () => REAL_NOW,
  });
  for (const market of ["KRW-XRP", "KRW-BTC"]) {
    replay.advanceBy(60_000);
    const book = replay.book(market)!;
    const last = replay.lastTrade(market)!;
    assert.equal(book.asks.length, 15);
    assert.equal(book.bids.length, 15);
    assert.ok(book.asks[0]!.price > book.bids[0]!.price);
    assert.ok(book.asks[0]!.price >= last.price || book.bids[0]!.price <= last.price);
    for (let i = 1; i < 15; i++) {
      assert.ok(book.asks[i]!.price > book.asks[i - 1]!.price);
      assert.ok(book.bids[i]!.price < book.bids[i - 1]!.price);
    }
    for (const l of [...book.asks, ...book.bids]) assert.ok(l.size > 0n);
  }
  // 2025 tick table: XRP (~4,000 KRW) ticks are 1 KRW.
  assert.equal(replay.book("KRW-XRP")!.asks[0]!.price % 100_000_000n, 0n);
  replay.close();
});

Deno.test("replay: a real-time clock runs at speed × real time", async () => {
  let real = REAL_NOW;
  const replay = await createReplay({
    dataFiles: [BTC_1M],
    speed: 60,
    startAt: START,
    realNowMs: () => real,
  });
  const t0 = replay.nowMs();
  real += 1000;
  assert.equal(replay.nowMs(), t0 + 60_000);
  replay.close();
});
