/**
 * The trading loop under the account's rules: sizing modes reach the order exactly, Upbit's
 * warning and caution flags block entries (and a held market's new flag raises one alert), and
 * reservations survive a crash and are released on the reconciliation at start.
 */

import assert from "node:assert/strict";
import { DEFAULT_PORTFOLIO_RULES, type MarketFlags } from "../../engine/core/portfolio.ts";
import { formatUnits } from "../../engine/core/money.ts";
import type { EngineEvent } from "../../engine/ports.ts";
import { candle, minute, runSteps, scripted, traderConfig, world } from "./_trader_fixtures.ts";
import { u } from "./_order_fixtures.ts";

const BUY_AT_0 = scripted({ [minute(0)]: "buy" });
const BUY_STEPS = [
  { atMs: minute(0) + 30_000, price: 100_000_000 },
  { atMs: minute(1) + 500, candle: candle(0, 100_000_000) },
] as const;

function errors(events: readonly EngineEvent[], code: string): EngineEvent[] {
  return events.filter((e) => e.type === "ErrorRaised" && e.code === code);
}

Deno.test("runTrader() sizes a fixed entry exactly, and a risk entry from the stop distance", async () => {
  const fixed = await world();
  await runSteps(
    fixed,
    traderConfig({
      strategy: BUY_AT_0,
      capitalKrw: u("1000000"),
      portfolio: { ...DEFAULT_PORTFOLIO_RULES, sizing: { mode: "fixed", value: 30_000 } },
    }),
    BUY_STEPS,
  );
  const [buy] = await fixed.store.listIntents(["FILLED", "CANCELLED"]);
  assert.equal(buy?.side, "bid");
  assert.equal(formatUnits(buy!.price!), "30000");

  // 1% of the 1,000,000 equity at risk over the 5% stop: 200,000 KRW.
  const risk = await world();
  await runSteps(
    risk,
    traderConfig({
      strategy: BUY_AT_0,
      capitalKrw: u("1000000"),
      portfolio: { ...DEFAULT_PORTFOLIO_RULES, sizing: { mode: "risk", value: 1 } },
    }),
    BUY_STEPS,
  );
  const [riskBuy] = await risk.store.listIntents(["FILLED", "CANCELLED"]);
  assert.equal(formatUnits(riskBuy!.price!), "200000");
  fixed.kv.close();
  risk.kv.close();
});

Deno.test("runTrader() never enters a market Upbit warns on; cautions block when configured", async () => {
  const flagsOf = (flags: MarketFlags) => () => Promise.resolve(flags);
  const warned = await world();
  await runSteps(warned, traderConfig({ strategy: BUY_AT_0 }), BUY_STEPS, {
    marketFlags: flagsOf({ warning: true, cautions: [] }),
  });
  const [w] = await warned.store.listSignals("KRW-BTC");
  assert.match(w?.reason ?? "", /not entered: KRW-BTC is under an Upbit investment warning/);
  assert.equal((await warned.store.listFills()).length, 0);

  const caution = { warning: false, cautions: ["TRADING_VOLUME_SOARING"] };
  const blocked = await world();
  await runSteps(
    blocked,
    traderConfig({
      strategy: BUY_AT_0,
      portfolio: { ...DEFAULT_PORTFOLIO_RULES, blockCaution: true },
    }),
    BUY_STEPS,
    { marketFlags: flagsOf(caution) },
  );
  const [b] = await blocked.store.listSignals("KRW-BTC");
  assert.match(b?.reason ?? "", /not entered: KRW-BTC has Upbit caution flags/);

  const allowed = await world();
  await runSteps(allowed, traderConfig({ strategy: BUY_AT_0 }), BUY_STEPS, {
    marketFlags: flagsOf(caution),
  });
  assert.ok((await allowed.store.listFills()).length > 0, "a caution alone does not block");
  for (const x of [warned, blocked, allowed]) x.kv.close();
});

Deno.test("runTrader() alerts once when a held market gets flagged", async () => {
  const w = await world();
  let flags: MarketFlags = { warning: false, cautions: [] };
  await runSteps(
    w,
    traderConfig({ strategy: BUY_AT_0, reconcileEveryMs: 10_000 }),
    [
      ...BUY_STEPS,
      { atMs: minute(2), price: 100_000_000 },
      {
        atMs: minute(2) + 1,
        run: () => {
          flags = { warning: true, cautions: [] };
          return Promise.resolve();
        },
      },
      // Two reconciliation passes see the flag: one alert.
      { atMs: minute(3), price: 100_000_000 },
      { atMs: minute(4), price: 100_000_000 },
    ],
    { marketFlags: () => Promise.resolve(flags) },
  );
  assert.ok((await w.store.getLedger("KRW-BTC"))!.qty > 0n);
  const alerts = errors(w.notifier.events, "market_flagged");
  assert.equal(alerts.length, 1);
  assert.match(
    alerts[0]!.type === "ErrorRaised" ? alerts[0]!.message : "",
    /KRW-BTC is flagged by Upbit \(WARNING \(유의종목\)\) while a position is held/,
  );
  w.kv.close();
});

Deno.test("a reservation left by a crash is released on the reconciliation at start", async () => {
  const w = await world();
  await w.store.openLedger("KRW-BTC", u("1000000"));
  // A crash between the reservation and the intent: no intent was ever written.
  const rules = { ...DEFAULT_PORTFOLIO_RULES, capitalKrw: u("1000000") };
  const r = await w.store.reserve(
    { market: "KRW-BTC", intentId: "KRW-BTC:bid:lost", amountKrw: u("500000"), atMs: minute(0) },
    rules,
  );
  assert.ok(r.ok);
  assert.equal((await w.store.accountView()).reservations.length, 1);
  await runSteps(w, traderConfig({ strategy: BUY_AT_0 }), BUY_STEPS);
  // Released at start: the buy then had the whole cap, and nothing stays reserved after it.
  assert.equal((await w.store.accountView()).reservations.length, 0);
  const [buy] = await w.store.listIntents(["FILLED", "CANCELLED"]);
  assert.ok(buy!.price! > u("900000"), formatUnits(buy!.price!));
  w.kv.close();
});

Deno.test("runTrader() keeps the share per market and the open-position limit across markets", async () => {
  const w = await world();
  const portfolio = { ...DEFAULT_PORTFOLIO_RULES, maxOpenPositions: 1, maxMarketSharePct: 30 };
  const cap = { capitalKrw: u("1000000"), portfolio };
  await runSteps(w, traderConfig({ strategy: BUY_AT_0, ...cap }), BUY_STEPS);
  const [btc] = await w.store.listIntents(["FILLED", "CANCELLED"]);
  // 30% of the 1,000,000 cap, fee included: 299,850 KRW.
  assert.equal(formatUnits(btc!.price!), "299850");
  // A second market of the same account (same store) may not open a second position.
  await runSteps(
    w,
    traderConfig({ botId: "test-eth", market: "KRW-ETH", strategy: BUY_AT_0, ...cap }),
    BUY_STEPS,
  );
  const [eth] = await w.store.listSignals("KRW-ETH");
  assert.match(eth?.reason ?? "", /not entered: 1 of at most 1 positions are open/);
  w.kv.close();
});

Deno.test("runTrader() alerts at start when the market it holds was flagged meanwhile", async () => {
  const w = await world();
  await runSteps(w, traderConfig({ strategy: BUY_AT_0 }), BUY_STEPS);
  assert.ok((await w.store.getLedger("KRW-BTC"))!.qty > 0n);
  await runSteps(w, traderConfig({ strategy: BUY_AT_0 }), [], {
    marketFlags: () => Promise.resolve({ warning: false, cautions: ["PRICE_FLUCTUATIONS"] }),
  });
  const alerts = errors(w.notifier.events, "market_flagged");
  assert.equal(alerts.length, 1);
  assert.match(
    alerts[0]!.type === "ErrorRaised" ? alerts[0]!.message : "",
    /\(PRICE_FLUCTUATIONS\) while a position is held/,
  );
  w.kv.close();
});
