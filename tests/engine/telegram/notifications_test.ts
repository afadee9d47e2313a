import assert from "node:assert/strict";
import type { EngineEvent } from "../../../engine/mod.ts";
import {
  DEFAULT_NOTIFY,
  deliveryOf,
  notificationKind,
  notificationText,
} from "../../../engine/telegram/mod.ts";

const AT = Date.UTC(2026, 11, 5, 0, 30);

function disconnect(n: number): EngineEvent {
  return {
    type: "ErrorRaised",
    atMs: AT + n * 500,
    code: "market_disconnected",
    message: `market data disconnected: try ${n}`,
  };
}

Deno.test("notificationText(): a reconnect storm and an error burst are one summary each", () => {
  const storm = [1, 2, 3, 4, 5, 6].map(disconnect);
  assert.ok(storm.every((e) => notificationKind(e) === "reconnect"));
  assert.equal(
    notificationText(storm, { language: "en", nowMs: AT }),
    "Reconnect storm: 6 market-data disconnects in 2.5 s (last: market data disconnected: try 6)",
  );
  const errors: EngineEvent[] = Array.from({ length: 12 }, (_, i) => ({
    type: "ErrorRaised",
    atMs: AT + i,
    code: "external_order",
    message: `order ${i}`,
  }));
  const text = notificationText(errors, { language: "en", nowMs: AT }).split("\n");
  assert.equal(text[0], "12 errors:");
  assert.equal(text[1], "Error external_order: order 0");
  assert.equal(text.length, 12);
  assert.equal(text[11], "… and 2 more");
});

Deno.test("notificationText(): Korean texts, the daily report and the watchdog", () => {
  const ko = (e: EngineEvent) => notificationText([e], { language: "ko", nowMs: AT });
  assert.equal(
    ko({
      type: "SignalRaised",
      atMs: AT,
      market: "KRW-BTC",
      signalId: "s",
      action: "sell",
      reason: "RSI 75 > 70",
    }),
    "신호 매도 KRW-BTC: RSI 75 > 70",
  );
  assert.equal(
    ko({
      type: "RiskTriggered",
      atMs: AT,
      market: "KRW-ETH",
      rule: "trailing_stop",
      price: "4012000",
    }),
    "추적 손절 도달 KRW-ETH 4,012,000 KRW: 매도합니다",
  );
  assert.equal(
    ko({ type: "RunStopped", atMs: AT, mode: "live", uptimeMs: 45 * 60_000 }),
    "봇 정상 종료 (live, 가동 45분)",
  );
  const report: EngineEvent = {
    type: "DailyReport",
    atMs: AT,
    date: "2026-12-04",
    late: true,
    realizedPnl: "12345.6",
    unrealizedPnl: "-2000",
    fees: "321.5",
    slippage: "40",
    fills: 6,
    exits: 3,
    maxDrawdownPct: 1.234,
    lossBudgetUsedPct: null,
    uptimePct: 99.5,
    backtestPnl: "10000",
    matched: 5,
    reconciled: false,
  };
  assert.equal(notificationKind(report), "report");
  assert.equal(
    notificationText([report], { language: "en", nowMs: AT }),
    [
      "Daily report 2026-12-04 (sent late)",
      "realized +12,346 KRW · unrealized -2,000 KRW · fees 322 KRW",
      "6 fills, 3 exits · uptime 99.50%",
      "max drawdown 1.23% · daily loss budget used at the day's low n/a",
      "backtest over the day: +10,000 KRW, 5 fills matched",
      "The P&L does NOT reconcile with the ledger: check /report.",
      "/report 2026-12-04 for the whole report",
    ].join("\n"),
  );
  const stale: EngineEvent = {
    type: "WatchdogAlert",
    atMs: AT,
    check: "market_data",
    market: "KRW-BTC",
    stale: true,
    ageMs: 95_400,
    limitMs: 60_000,
  };
  assert.equal(notificationKind(stale), "watchdog");
  assert.equal(
    notificationText([stale], { language: "en", nowMs: AT }),
    "Watchdog: market data of KRW-BTC stale: 95 s old (limit 60 s)",
  );
  assert.equal(
    ko({ ...stale, stale: false, ageMs: 2_000 }),
    "감시: KRW-BTC 시세 데이터 복구됨 (2초 전)",
  );
});

Deno.test("notificationText(): a text never exceeds Telegram's limit", () => {
  const long: EngineEvent = {
    type: "ErrorRaised",
    atMs: AT,
    code: "x",
    message: "y".repeat(5_000),
  };
  const text = notificationText([long], { language: "en", nowMs: AT });
  assert.equal(text.length, 4_000);
  assert.ok(text.endsWith("…"));
});

Deno.test("notificationKind(): a rejected order is an error (on even when orders are off)", () => {
  const rejected: EngineEvent = {
    type: "OrderRejected",
    atMs: AT,
    intentId: "KRW-BTC:bid:s1",
    market: "KRW-BTC",
    identifier: "id-1",
    name: "insufficient_funds_bid",
    message: "not enough KRW",
  };
  assert.equal(notificationKind(rejected), "error");
  assert.equal(
    notificationText([rejected], { language: "en", nowMs: AT }),
    "Order rejected on KRW-BTC: insufficient_funds_bid: not enough KRW",
  );
  assert.equal(
    notificationText([rejected], { language: "ko", nowMs: AT }),
    "주문 거부 KRW-BTC: insufficient_funds_bid: not enough KRW",
  );
});

Deno.test("deliveryOf(): the kind's setting; a command from Telegram is not echoed to the chat", () => {
  const command = (actor: string, text = "set stop-loss 4"): EngineEvent => ({
    type: "CommandExecuted",
    atMs: AT,
    actor,
    command: text,
    result: "done",
    detail: "stop-loss = 4",
  });
  assert.equal(deliveryOf(command("ctl"), DEFAULT_NOTIFY), "silent");
  assert.equal(
    deliveryOf(command("web:0123456789abcdef"), { ...DEFAULT_NOTIFY, command: "on" }),
    "on",
  );
  assert.equal(
    deliveryOf(command("telegram:111222333"), { ...DEFAULT_NOTIFY, command: "on" }),
    "off",
  );
  // A pause or resume done: its state change (naming who) is the one message.
  for (const text of ["pause: lunch", "resume", "resume --clear-safe-mode"]) {
    assert.equal(deliveryOf(command("ctl", text), DEFAULT_NOTIFY), "off", text);
  }
  const refused: EngineEvent = { ...command("ctl", "resume"), result: "refused" } as EngineEvent;
  assert.equal(deliveryOf(refused, DEFAULT_NOTIFY), "silent", "a refused resume changed nothing");
  const paused = (actor?: string): EngineEvent => ({
    type: "StateChanged",
    atMs: AT,
    paused: true,
    safeMode: false,
    reason: "lunch",
    ...(actor === undefined ? {} : { actor }),
  });
  assert.equal(deliveryOf(paused(), DEFAULT_NOTIFY), "on");
  assert.equal(deliveryOf(paused("ctl"), DEFAULT_NOTIFY), "on");
  assert.equal(deliveryOf(paused("telegram:111222333"), DEFAULT_NOTIFY), "off");
});
