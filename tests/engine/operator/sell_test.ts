/**
 * The operator's `sell` command: one market's position sold at market through the paper
 * exchange, audited, with its event; refused (changing nothing) for a market not traded, a bad
 * market name, nothing held, or no bot running; allowed while paused or halted (it only closes).
 */

import assert from "node:assert/strict";
import {
  candle,
  marketStatusAt,
  minute,
  operatorOf,
  recordTestRun,
  runSteps,
  scripted,
  traderConfig,
  type World,
  world,
} from "../_trader_fixtures.ts";

/** A world whose bot bought 0.01 BTC at 100,000,000 at minute 1 (the price then moves up). */
async function holding(): Promise<World> {
  const w = await world();
  await runSteps(w, traderConfig({ strategy: scripted({ [minute(0)]: "buy" }) }), [
    { atMs: minute(0) + 30_000, price: 100_000_000 },
    { atMs: minute(1) + 500, candle: candle(0, 100_000_000) },
    { atMs: minute(1) + 20_000, price: 101_000_000 },
  ]);
  await recordTestRun(w);
  return w;
}

Deno.test("operator sell: sells the market's position at market, audited, trading goes on", async () => {
  const w = await holding();
  try {
    const before = await marketStatusAt(w, minute(2));
    assert.notEqual(before.position, null);
    w.clock.set(minute(2));
    const out = await operatorOf(w).execute("telegram:42", { kind: "sell", market: "krw-btc" });
    assert.equal(out.result, "done", out.detail);
    assert.equal(out.command, "sell KRW-BTC");
    assert.match(out.detail, /^KRW-BTC: 0 orders cancelled, sold [\d.]+ for [\d,]+ KRW$/);
    const [report] = out.reports;
    assert.equal(report?.market, "KRW-BTC");
    assert.equal(report?.sold?.state, "FILLED");
    assert.equal(report?.sold?.volume, before.position!.volume);
    assert.equal(out.status.markets[0]!.position, null);
    assert.equal(out.status.paused, false, "a sale is no stop");
    assert.equal(out.status.halted, false);
    const fills = await w.store.listFills();
    assert.deepEqual(fills.map((f) => f.side).sort(), ["ask", "bid"]);
    const [audit] = await operatorOf(w).auditLog({ limit: 5 });
    assert.deepEqual([audit?.actor, audit?.command, audit?.result], [
      "telegram:42",
      "sell KRW-BTC",
      "done",
    ]);
    const events = (await w.store.listEvents()).filter((e) =>
      e.type === "CommandExecuted" && e.command === "sell KRW-BTC"
    );
    assert.equal(events.length, 1);
    assert.ok(
      (await w.store.listEvents()).some((e) => e.type === "OrderFilled" && e.side === "ask"),
      "the sale's fill is an event as the loop's are",
    );
    // Nothing left: a second sale is refused and places no order.
    const again = await operatorOf(w).execute("ctl", { kind: "sell", market: "KRW-BTC" });
    assert.deepEqual([again.result, again.detail], ["refused", "KRW-BTC: no position to sell"]);
    assert.equal((await w.store.listFills()).length, 2);
  } finally {
    w.kv.close();
  }
});

Deno.test("operator sell: refused for a market not traded, a bad name, or a stopped bot", async () => {
  const w = await holding();
  try {
    const cases: [unknown, string][] = [
      [{ kind: "sell", market: "KRW-XRP" }, "KRW-XRP: not traded (KRW-BTC)"],
      [{ kind: "sell", market: "BTC" }, "market: expected a KRW market like KRW-BTC"],
      [{ kind: "sell", market: "KRW-BTC; drop" }, "market: expected a KRW market like KRW-BTC"],
      [{ kind: "sell" }, "market: Invalid input: expected string, received undefined"],
    ];
    for (const [command, detail] of cases) {
      const out = await operatorOf(w).execute("ctl", command);
      assert.deepEqual([out.result, out.detail], ["refused", detail], JSON.stringify(command));
    }
    const stopped = await operatorOf(w, { running: false }).execute("ctl", {
      kind: "sell",
      market: "KRW-BTC",
    });
    assert.deepEqual([stopped.result, stopped.detail], [
      "refused",
      "KRW-BTC: no bot is running; selling needs its exchange (start the bot first)",
    ]);
    assert.notEqual((await marketStatusAt(w, minute(2))).position, null, "still held");
    assert.equal((await w.store.listFills()).length, 1);
  } finally {
    w.kv.close();
  }
});

Deno.test("operator sell: allowed after an emergency stop without sale (it only closes)", async () => {
  const w = await holding();
  try {
    const stop = await operatorOf(w).execute("ctl", { kind: "stop", sell: false });
    assert.equal(stop.result, "done", stop.detail);
    const out = await operatorOf(w).execute("ctl", { kind: "sell", market: "KRW-BTC" });
    assert.equal(out.result, "done", out.detail);
    assert.equal(out.status.markets[0]!.position, null);
    assert.equal(out.status.halted, true, "the halt stays");
  } finally {
    w.kv.close();
  }
});
