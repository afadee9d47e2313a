/**
 * The account's history is bounded: `pruneHistory` drops journal events and signals older than
 * 35 days, audit records older than a year and daily P&L (with each day's report marker and
 * count of 429/418 answers) older than 400 days and parameter changes older than a year, keeps
 * everything
 * newer, never touches the books, and deletes at most `limit` keys of each kind per call.
 */

import assert from "node:assert/strict";
import { HISTORY_RETENTION, KvStore } from "../../../engine/adapters/kv_store.ts";

const DAY = 24 * 3_600_000;
const NOW = Date.UTC(2026, 11, 5);

async function count(kv: Deno.Kv, prefix: Deno.KvKey): Promise<number> {
  return (await Array.fromAsync(kv.list({ prefix }))).length;
}

Deno.test("pruneHistory drops the history past its retention and keeps the rest", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const store = new KvStore(kv);
    const ages = [400 * DAY + 1, 366 * DAY, 36 * DAY, 34 * DAY, DAY];
    for (const [i, age] of ages.entries()) {
      const atMs = NOW - age;
      // Each adds a journal event too (SignalRaised, CommandExecuted, Started).
      await store.recordSignal({
        market: "KRW-BTC",
        signalId: `bb@${i}`,
        action: "buy",
        reason: "r",
        atMs,
      });
      await store.recordCommand({
        id: `c${i}`,
        atMs,
        actor: "ctl",
        command: "pause",
        result: "done",
        detail: "",
      });
      await kv.set(["pnl_day", atMs - (atMs % DAY)], { v: 1, pnl: "0" });
      await kv.set(["pnl_day_market", atMs - (atMs % DAY), "KRW-BTC"], { v: 1, pnl: "0" });
      await kv.set(["daily_report", atMs - (atMs % DAY)], { v: 1, date: "d", issuedAtMs: atMs });
      await kv.atomic().sum(["rate_limited", atMs - (atMs % DAY)], 1n).commit();
      await store.setParam({ name: "stopLossPct", value: i + 1, actor: "ctl", atMs }, i);
    }
    await kv.set(["fill", "o1", "t1"], { v: 1 });
    assert.equal(await count(kv, ["events"]), 10);
    const deleted = await store.pruneHistory(NOW, 1_000);
    // Events and signals: 3 of 5 days are past 35 days (6 events, 3 signals); audit: 2 past a
    // year (and 2 parameter changes); daily P&L, report markers, refusal counts: 1 past 400
    // days (four keys).
    assert.equal(deleted, 6 + 3 + 2 + 2 + 4);
    assert.equal(await count(kv, ["events"]), 4);
    assert.equal(await count(kv, ["signal"]), 2);
    assert.equal(await count(kv, ["audit"]), 3);
    assert.equal(await count(kv, ["pnl_day"]), 4);
    assert.equal(await count(kv, ["pnl_day_market"]), 4);
    assert.equal(await count(kv, ["daily_report"]), 4);
    assert.equal(await count(kv, ["rate_limited"]), 4);
    assert.equal(await count(kv, ["params_history"]), 3);
    assert.equal((await store.getParams()).values.stopLossPct, 5, "the values in force stay");
    assert.equal(await count(kv, ["fill"]), 1, "the books are never pruned");
    assert.equal(await store.pruneHistory(NOW, 1_000), 0, "nothing more to prune");
    assert.equal(HISTORY_RETENTION.eventsDays, 35);
  } finally {
    kv.close();
  }
});

Deno.test("pruneHistory deletes at most `limit` keys of each kind a call", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const store = new KvStore(kv);
    for (let i = 0; i < 7; i++) {
      await store.recordSignal({
        market: "KRW-ETH",
        signalId: `bb@${i}`,
        action: "sell",
        reason: "r",
        atMs: NOW - 40 * DAY - i,
      });
    }
    assert.equal(await store.pruneHistory(NOW, 3), 3 + 3, "3 events and 3 signals");
    assert.equal(await count(kv, ["signal"]), 4);
    assert.equal(await count(kv, ["events"]), 4);
  } finally {
    kv.close();
  }
});
