/** The live loop honours the entry filters through the same decision core as the backtest. */

import assert from "node:assert/strict";
import { withEntryFilters } from "../../engine/core/strategies/filters.ts";
import { candle, minute, runSteps, scripted, traderConfig, world } from "./_trader_fixtures.ts";

const OFF = { "trend-days": 0, "max-volatility": 0, "min-volume": 0 };

Deno.test("runTrader() skips a buy the volume filter refuses, with the filter's reason", async () => {
  const w = await world();
  // Each fixture candle trades 1 BTC at 100,000,000 KRW: under a 200,000,000 KRW minimum.
  const strategy = withEntryFilters(scripted({ [minute(0)]: "buy" }), {
    ...OFF,
    "min-volume": 200_000_000,
  });
  await runSteps(w, traderConfig({ strategy }), [
    { atMs: minute(0) + 30_000, price: 100_000_000 },
    { atMs: minute(1) + 500, candle: candle(0, 100_000_000) },
  ]);
  assert.equal((await w.store.listFills()).length, 0);
  const [signal] = await w.store.listSignals("KRW-BTC");
  assert.match(
    signal?.reason ?? "",
    /^scripted buy; not entered: volume filter: traded 100,000,000 KRW < 200,000,000 KRW$/,
  );
  w.kv.close();
});

Deno.test("runTrader() buys when the traded amount clears the volume filter", async () => {
  const w = await world();
  const strategy = withEntryFilters(scripted({ [minute(0)]: "buy" }), {
    ...OFF,
    "min-volume": 50_000_000,
  });
  await runSteps(w, traderConfig({ strategy }), [
    { atMs: minute(0) + 30_000, price: 100_000_000 },
    { atMs: minute(1) + 500, candle: candle(0, 100_000_000) },
  ]);
  assert.equal((await w.store.listFills()).length, 1);
  w.kv.close();
});

Deno.test("the bot's config takes the filters (STRATEGY_PARAMS, flags, ctl set) and checks them", async () => {
  const { parseConfig, parseRuntimeParam } = await import("../../engine/config.ts");
  const { createStrategy } = await import("../../engine/core/strategies/mod.ts");
  const parsed = parseConfig("paper", {
    env: { STRATEGY_PARAMS: "period=30,trend-days=200" },
    args: ["--min-volume", "1000000"],
  });
  assert.ok(parsed.ok, JSON.stringify(parsed));
  const config = parsed.value;
  assert.deepEqual(config.strategyParams, {
    period: 30,
    "trend-days": 200,
    "min-volume": 1_000_000,
  });
  assert.equal(
    createStrategy(config.strategy, config.strategyParams).name,
    "bb(30, 2.5) [above 200d SMA, volume ≥ 1000000 KRW]",
  );
  const bad = parseConfig("paper", { env: { STRATEGY_PARAMS: "trend-days=-3" }, args: [] });
  assert.ok(!bad.ok && /trend-days/.test(bad.error), JSON.stringify(bad));
  const current = { strategy: "bb", strategyParams: {} };
  assert.deepEqual(parseRuntimeParam("max-volatility", "3", current), { ok: true, value: 3 });
  assert.equal(parseRuntimeParam("max-volatility", "500", current).ok, false);
});
