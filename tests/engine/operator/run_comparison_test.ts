/** Tests of the run-versus-backtest read model over a real KV store. */

import assert from "node:assert/strict";
import { KvStore } from "../../../engine/adapters/kv_store.ts";
import { loadCandleFile } from "../../../engine/adapters/candle_file.ts";
import { DEFAULT_PORTFOLIO_RULES } from "../../../engine/core/portfolio.ts";
import { compareRun, NothingToCompareError } from "../../../engine/operator/run_comparison.ts";
import type { RunRecord } from "../../../engine/ports.ts";

const FILE = new URL("../../../data/upbit-KRW-BTC-1m-20220531-20220607.csv", import.meta.url)
  .pathname;
const MINUTES = (await loadCandleFile(FILE)).slice(0, 600);

const RUN: RunRecord = {
  botId: "bot",
  mode: "paper",
  traders: [{ botId: "bot", market: "KRW-BTC" }],
  timeframe: "1m",
  strategy: "bb",
  strategyParams: { period: 20, std: 2 },
  rules: {
    stopLossPct: 0.5,
    takeProfitPct: 0.5,
    maxDailyLossPct: 10,
    trailingStopPct: 0,
    cooldownMs: 0,
  },
  budgetPct: 100,
  staleAfterMs: 120_000,
  feeBps: 5,
  startedAtMs: MINUTES[0]!.startMs,
  capitalKrw: "1000000",
  portfolio: { ...DEFAULT_PORTFOLIO_RULES, maxOpenPositions: 1, accountDailyLossPct: 10 },
};

Deno.test("compareRun() names every backtest leg the bot did not make, and keeps the run's portfolio", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const store = new KvStore(kv);
    await assert.rejects(
      compareRun(store, { fromMs: 0, toMs: 8.64e15 }),
      NothingToCompareError,
    );
    await store.putRunRecord(RUN);
    assert.deepEqual((await store.getRunRecord())?.portfolio, RUN.portfolio);
    await store.recordCandles("KRW-BTC", MINUTES);
    const c = await compareRun(store, { fromMs: 0, toMs: 8.64e15 });
    assert.equal(c.minutes, 600);
    assert.ok(c.summary.backtestOnly >= 4, `${c.summary.backtestOnly}`);
    assert.equal(c.summary.botOnly, 0);
    assert.equal(c.summary.unexplained, 0);
    // The bot recorded no signal: its strategy gave none (its entries), so it held nothing (exits).
    for (const row of c.rows) {
      assert.equal(row.status, "backtest_only");
      const kind = row.cause?.kind;
      assert.ok(kind === "no_signal" || kind === "was_flat" || kind === "warm_up", kind);
    }
  } finally {
    kv.close();
  }
});
