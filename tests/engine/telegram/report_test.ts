/**
 * `/report [date]` through real HTTP against the fake Bot API, and the texts of the daily report
 * and watchdog notifications the outbox sends.
 */

import assert from "node:assert/strict";
import { messagesOf } from "../../../engine/telegram/messages.ts";
import { dailyReportNotice, reportText, watchdogNotice } from "../../../engine/telegram/render.ts";
import type { EngineEvent } from "../../../engine/ports.ts";
import { message, OWNER, type TgWorld, VIEWER, withWorld } from "./_harness.ts";

async function reply(t: TgWorld, text: string, from = OWNER): Promise<string> {
  const before = t.fake.sentTexts().length;
  assert.equal(await t.post(message(t, text, { from })), 200);
  const sent = t.fake.sentTexts().slice(before);
  assert.equal(sent.length, 1, `one reply to ${text}: ${JSON.stringify(sent)}`);
  return sent[0]!;
}

Deno.test("Telegram: /report [date] sends the day's report; a bad date gets the usage", async () => {
  await withWorld(async (t) => {
    const today = await reply(t, "/report 2026-11-24", VIEWER);
    const report = await t.operator.dailyReport("2026-11-24");
    assert.equal(today, reportText(report, messagesOf("en")));
    assert.match(today, /^Daily report 2026-11-24 \(09:00 KST to 09:00 KST\) \(so far\)\n/);
    assert.match(today, new RegExp(`\\n${report.account.fills} fills? · exits: `));
    assert.match(await reply(t, "/report"), /^Daily report 2026-11-23 /);
    const usage = "Usage: /report [YYYY-MM-DD] (default: the last complete day)";
    assert.equal(await reply(t, "/report 2026-13-01"), usage);
    assert.equal(await reply(t, "/report 2026-11-24 extra"), usage);
  });
  await withWorld(async (t) => {
    assert.match(await reply(t, "/report 2026-11-24"), /^2026-11-24 일일 보고서 /);
  }, { language: "ko" });
});

const REPORT: Extract<EngineEvent, { type: "DailyReport" }> = {
  type: "DailyReport",
  atMs: Date.UTC(2026, 11, 8),
  date: "2026-12-07",
  late: true,
  realizedPnl: "94950",
  unrealizedPnl: "-102500.5",
  fees: "5050",
  slippage: "120",
  fills: 2,
  exits: 1,
  maxDrawdownPct: 1.5425,
  lossBudgetUsedPct: null,
  uptimePct: 91.6667,
  backtestPnl: "90000",
  matched: 2,
  reconciled: true,
};

Deno.test("dailyReportNotice() and watchdogNotice(): the notifications' texts, EN and KO", () => {
  assert.equal(
    dailyReportNotice(REPORT, messagesOf("en")),
    [
      "Daily report 2026-12-07 (09:00 KST to 09:00 KST) (late)",
      "Realized +94,950 KRW · unrealized -102,501 KRW",
      "Fees 5,050 KRW · slippage 120 KRW",
      "2 fills · exits 1",
      "Max drawdown 1.54% · loss limit used off",
      "Uptime 91.67%",
      "Backtest +90,000 KRW · 2 fills matched",
      "Ledger: reconciled to the won",
      "/report 2026-12-07",
    ].join("\n"),
  );
  assert.match(
    dailyReportNotice(REPORT, messagesOf("ko")),
    /^2026-12-07 일일 보고서 .*\(지연 발송\)\n실현 손익 \+94,950 KRW/,
  );
  const stale = {
    type: "WatchdogAlert",
    atMs: 0,
    check: "market_data",
    market: "KRW-BTC",
    stale: true,
    ageMs: 312_400,
    limitMs: 120_000,
  } as const;
  assert.equal(
    watchdogNotice(stale, messagesOf("en")),
    "Watchdog: market data of KRW-BTC is stale (312 s old, limit 120 s)",
  );
  assert.equal(
    watchdogNotice({ ...stale, check: "loop", stale: false }, messagesOf("en")),
    "Watchdog: trading loop of KRW-BTC recovered",
  );
  assert.equal(
    watchdogNotice(stale, messagesOf("ko")),
    "감시: KRW-BTC 시세 데이터 지연 (312초 전, 한도 120초)",
  );
});
