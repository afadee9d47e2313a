/** Tests of the demo's story: closed trades with P&L in KRW and %, win rate, the summary. */

import assert from "node:assert/strict";
import { DemoStory, duration } from "../../../engine/cli/demo_story.ts";
import { parseUnits } from "../../../engine/core/money.ts";
import type { EngineEvent } from "../../../engine/ports.ts";

const T0 = Date.UTC(2022, 4, 31, 18, 33);

function fill(
  side: "bid" | "ask",
  o: { price: string; volume: string; funds: string; fee: string },
): EngineEvent {
  return {
    type: "OrderFilled",
    atMs: 0,
    market: "KRW-BTC",
    side,
    orderUuid: "o",
    tradeUuid: "t",
    ...o,
  };
}

function story(prices: { now: string }, clock: { ms: number }): DemoStory {
  return new DemoStory({
    markets: ["KRW-BTC"],
    capital: parseUnits("1000000"),
    feeBps: 5,
    lastPrice: () => parseUnits(prices.now),
    nowMs: () => clock.ms,
  });
}

Deno.test("DemoStory tells each closed trade with P&L, count and win rate", () => {
  const prices = { now: "40000000" };
  const clock = { ms: T0 };
  const s = story(prices, clock);
  assert.equal(
    s.onEvent(fill("bid", { price: "40000000", volume: "0.02", funds: "800000", fee: "400" })),
    undefined,
  );
  clock.ms += 3 * 3_600_000 + 5 * 60_000;
  // Sold in two parts: the trade closes on the second.
  assert.equal(
    s.onEvent(fill("ask", { price: "41000000", volume: "0.01", funds: "410000", fee: "205" })),
    undefined,
  );
  const won = s.onEvent(
    fill("ask", { price: "41000000", volume: "0.01", funds: "410000", fee: "205" }),
  );
  // 820,000 − 410 fees in, 800,400 out: +19,190 KRW on 800,400 = +2.40%.
  assert.equal(
    won,
    "trade #1 closed KRW-BTC: +19,190 KRW (+2.40%) after 3h 05m · 1 trade (1 won, 0 lost, " +
      "win rate 100%) · realized P&L +19,190 KRW",
  );
  s.onEvent(fill("bid", { price: "41000000", volume: "0.02", funds: "820000", fee: "410" }));
  const lost = s.onEvent(
    fill("ask", { price: "40000000", volume: "0.02", funds: "800000", fee: "400" }),
  );
  assert.match(
    lost!,
    /^trade #2 closed KRW-BTC: -20,810 KRW \(-2\.54%\) after 0m · 2 trades \(1 won, 1 lost, win rate 50%\) · realized P&L -1,620 KRW$/,
  );
  assert.equal(s.trades, 2);
});

Deno.test("DemoStory summary: P&L with the open position, fees, and buy-and-hold with fees", () => {
  const prices = { now: "40000000" };
  const clock = { ms: T0 };
  const s = story(prices, clock);
  s.onEvent(fill("bid", { price: "40000000", volume: "0.02", funds: "800000", fee: "400" }));
  prices.now = "44000000";
  clock.ms += 26 * 3_600_000;
  const [title, pnl, hold, position] = s.summary("summary after 2 min");
  assert.equal(
    title,
    "summary after 2 min: replayed 2022-05-31 18:33 → 2022-06-01 20:33 UTC (1d 2h replayed)",
  );
  // Equity 199,600 cash + 0.02 × 44,000,000 = 1,079,600: +79,600 (+7.96%), all of it open.
  assert.equal(
    pnl,
    "  0 trades (0 won, 0 lost); P&L +79,600 KRW (+7.96%): realized 0, open +79,600; fees 400 KRW",
  );
  // All-in at 40,000,000 and out at 44,000,000 with 0.05% per side: +9.89%.
  assert.equal(
    hold,
    "  buy & hold over the same replay, same fees: KRW-BTC +9.89% (40,000,000 → 44,000,000)",
  );
  assert.equal(position, "  position: 0.02 BTC (cost 800,400 KRW, now 880,000 KRW)");
});

Deno.test("duration() reads like a clock", () => {
  assert.equal(duration(45 * 60_000), "45m");
  assert.equal(duration(125 * 60_000), "2h 05m");
  assert.equal(duration(3 * 86_400_000 + 4 * 3_600_000), "3d 4h");
});

Deno.test("DemoStory measures time on the replay's clock, across a wrap of the data", () => {
  const clock = { ms: T0, replay: 1_000_000 };
  const s = new DemoStory({
    markets: ["KRW-BTC"],
    capital: parseUnits("1000000"),
    feeBps: 5,
    lastPrice: () => parseUnits("40000000"),
    nowMs: () => clock.ms,
    replayMs: () => clock.replay,
  });
  s.onEvent(fill("bid", { price: "40000000", volume: "0.02", funds: "800000", fee: "400" }));
  // Two hours later the week wrapped: the shown date is back at the start of the data.
  clock.ms = Date.UTC(2022, 4, 31, 12, 1);
  clock.replay += 2 * 3_600_000;
  const line = s.onEvent(
    fill("ask", { price: "40000000", volume: "0.02", funds: "800000", fee: "400" }),
  );
  assert.match(line!, / after 2h 00m · /);
  assert.match(s.summary("final summary")[0]!, /→ 2022-05-31 12:01 UTC \(2h 00m replayed\)$/);
});
