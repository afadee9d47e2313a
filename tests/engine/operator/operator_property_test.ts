/**
 * Operator commands (emergency stops with and without selling, pauses, resumes, parameter
 * changes) run at random moments, concurrently with the trading loop's order handling and its
 * periodic reconciliation, on a real `KvStore` and the paper exchange. Whatever the
 * interleaving: no command and no loop step throws (no conflict error), no order reaches the
 * exchange while an emergency stop is in force, the ledger equals its fills, the switches are as
 * last commanded, and the parameter version counts the accepted changes.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { applyFill, FillIds, type Ledger } from "../../../engine/core/ledger.ts";
import type { Exchange, MarketEvent, OrderRequest } from "../../../engine/ports.ts";
import { runTrader } from "../../../engine/trader.ts";
import {
  candle,
  minute,
  operatorOf,
  recordTestRun,
  scripted,
  traderConfig,
  world,
  worldDeps,
} from "../_trader_fixtures.ts";

type Command =
  | { readonly kind: "pause"; readonly reason: string }
  | { readonly kind: "resume" }
  | { readonly kind: "stop"; readonly sell: boolean }
  | { readonly kind: "set"; readonly name: string; readonly value: string };

const COMMAND: fc.Arbitrary<Command> = fc.oneof(
  fc.constant({ kind: "pause" as const, reason: "property" }),
  fc.constant({ kind: "resume" as const }),
  fc.boolean().map((sell) => ({ kind: "stop" as const, sell })),
  fc.record({
    kind: fc.constant("set" as const),
    name: fc.constantFrom("stop-loss", "take-profit", "budget", "trailing-stop"),
    value: fc.integer({ min: 1, max: 30 }).map(String),
  }),
);

/** Lets other promises and timers run: the loop and the commands interleave here. */
function tick(n: number): Promise<void> {
  return n <= 0 ? Promise.resolve() : new Promise((r) => setTimeout(() => r(tick(n - 1)), 0));
}

Deno.test("operator commands concurrent with order handling: no conflict, no order after a stop, state consistent", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.constantFrom<"buy" | "sell" | "hold">("buy", "sell", "hold"), {
        minLength: 6,
        maxLength: 12,
      }),
      fc.array(fc.integer({ min: 96, max: 104 }), { minLength: 12, maxLength: 12 }),
      // The price inside each candle, in % of its close: down to a stop loss, or a target.
      fc.array(fc.integer({ min: 90, max: 112 }), { minLength: 12, maxLength: 12 }),
      fc.array(fc.tuple(COMMAND, fc.integer({ min: 0, max: 6 })), { minLength: 1, maxLength: 8 }),
      async (actions, moves, inside, commands) => {
        const w = await world();
        const script: Record<number, "buy" | "sell"> = {};
        actions.forEach((a, i) => {
          if (a !== "hold") script[minute(i)] = a;
        });
        const config = traderConfig({
          strategy: scripted(script),
          orders: { visibilityGraceMs: 0 },
          reconcileEveryMs: 90_000,
        });
        await recordTestRun(w, config);
        // Every order the exchange receives, with the switches in force at that moment.
        const placed: { request: OrderRequest; halted: boolean }[] = [];
        const exchange: Exchange = {
          placeOrder: async (request) => {
            placed.push({ request, halted: (await w.store.getControl()).halted });
            return await w.exchange.placeOrder(request);
          },
          getOrder: (ref) => w.exchange.getOrder(ref),
          cancelOrder: (ref) => w.exchange.cancelOrder(ref),
          openOrders: (market) => w.exchange.openOrders(market),
        };
        let done = false;
        async function* feed(): AsyncGenerator<MarketEvent> {
          for (let i = 0; i < actions.length; i++) {
            const px = 1_000_000 * (moves[i] ?? 100);
            w.clock.set(minute(i + 1) + 500);
            w.px.value = px;
            yield { kind: "candle", market: "KRW-BTC", candle: candle(i, px) };
            await tick(1);
            const within = px * (inside[i] ?? 100) / 100;
            w.clock.set(minute(i + 1) + 30_000);
            w.px.value = within;
            yield {
              kind: "price",
              market: "KRW-BTC",
              price: within,
              atMs: minute(i + 1) + 30_000,
              source: "trade",
            };
            await tick(1);
          }
          done = true;
        }
        const deps = worldDeps(w, feed(), { exchange });
        const operator = operatorOf(w);
        // The model of the switches: what the accepted commands say they should be.
        let paused = false;
        let halted = false;
        let versions = 0;
        const operate = async () => {
          for (const [command, wait] of commands) {
            await tick(wait);
            const outcome = await operator.execute("ctl", command);
            assert.notEqual(outcome.result, "failed", `${outcome.command}: ${outcome.detail}`);
            if (outcome.result !== "done") {
              assert.equal(command.kind, "resume", `${outcome.command}: ${outcome.detail}`);
              continue;
            }
            if (command.kind === "pause") paused = true;
            if (command.kind === "stop") [paused, halted] = [true, true];
            if (command.kind === "resume") [paused, halted] = [false, false];
            if (command.kind === "set") versions++;
          }
        };
        await Promise.all([
          runTrader(deps, config, new AbortController().signal),
          operate(),
        ]);
        assert.ok(done, "the loop handled the whole feed");
        // No order while an emergency stop was in force, except a later stop's own sale.
        const afterStop = [];
        for (const p of placed.filter((p) => p.halted)) {
          const intent = await w.store.getIntent({ identifier: p.request.identifier });
          if (!intent?.signalId.startsWith("emergency@")) afterStop.push(intent?.signalId);
        }
        assert.deepEqual(afterStop, []);
        // The switches as last commanded; the parameter version counts the changes.
        const control = await w.store.getControl();
        assert.deepEqual([control.paused, control.halted], [paused, halted]);
        assert.equal((await w.store.getParams()).version, versions);
        // The ledger equals its fills, replayed from the opening cash.
        const stored = (await w.store.getLedger("KRW-BTC"))!;
        let replay: Ledger = {
          initialCash: stored.initialCash,
          cash: stored.initialCash,
          qty: 0n,
          avgPrice: 0n,
          cost: 0n,
          realizedPnl: 0n,
          fees: 0n,
          fillIds: new FillIds(),
        };
        // In the order they were applied (the journal's order: a sale and a buy may share a ms).
        const byTrade = new Map((await w.store.listFills()).map((f) => [f.tradeUuid, f]));
        const applied = (await w.store.listEvents()).flatMap((e) =>
          e.type === "OrderFilled" ? [byTrade.get(e.tradeUuid)!] : []
        );
        assert.equal(applied.length, byTrade.size, "every fill has its event");
        for (const f of applied) {
          const next = applyFill(replay, {
            id: f.tradeUuid,
            side: f.side === "bid" ? "buy" : "sell",
            price: f.price,
            volume: f.volume,
            funds: f.funds,
            fee: f.fee,
            tsMs: f.tsMs,
          });
          assert.ok(next.ok, `every fill applies: ${next.ok ? "" : next.error.kind}`);
          replay = next.value;
        }
        assert.deepEqual(
          [stored.cash, stored.qty, stored.realizedPnl, stored.fees],
          [replay.cash, replay.qty, replay.realizedPnl, replay.fees],
        );
        // Every order placed was filled or resolved: nothing is left in flight.
        assert.deepEqual(await operator.openOrders(), []);
        w.kv.close();
      },
    ),
    { numRuns: 40 },
  );
});
