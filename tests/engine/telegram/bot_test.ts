/**
 * The Telegram bot through real HTTP both ways: updates posted to its webhook route, replies
 * read from the fake Bot API. Every command's text, the owner/viewer split, the confirmation
 * flow of `/stop` and `/sell all`, and the webhook's secret.
 */

import assert from "node:assert/strict";
import { ConfigError } from "../../../engine/errors.ts";
import { Secret } from "../../../engine/secret.ts";
import { createTelegramRoutes } from "../../../engine/telegram/mod.ts";
import {
  message,
  OWNER,
  SECRET,
  STRANGER,
  tap,
  type TgWorld,
  VIEWER,
  withWorld,
} from "./_harness.ts";

/** Sends `text` as the owner and returns the one reply it got. */
async function reply(t: TgWorld, text: string, from = OWNER, tickMs = 0): Promise<string> {
  t.w.clock.set(t.w.clock.nowMs() + tickMs);
  const before = t.fake.sentTexts().length;
  assert.equal(await t.post(message(t, text, { from })), 200);
  const sent = t.fake.sentTexts().slice(before);
  assert.equal(sent.length, 1, `one reply to ${text}: ${JSON.stringify(sent)}`);
  return sent[0]!;
}

const HELP = [
  "Commands",
  "/status - mode, switches, markets and positions",
  "/balance - cash, positions at cost, equity",
  "/positions - open positions and their exit levels",
  "/trades [n] - the last n fills (10)",
  "/profit - realized and unrealized P&L, fees",
  "/daily [n] - realized P&L of the last n days (7)",
  "/report [date] - the daily report (default: the last complete day, else the latest active one)",
  "/settings - run-time parameters",
  "/health - process, data freshness, orders in flight, errors",
  "/logs [n] - the last n log lines (20)",
  "/pause [reason] - no new entries (exits go on)",
  "/resume - trade again after the safety checks",
  "/set <param> <value> - change a run-time parameter",
  "/sell <market> - sell one market's position (asks to confirm)",
  "/sell all - stop and sell every position (asks to confirm)",
  "/stop - emergency stop (asks to confirm)",
].join("\n");

const BTC_LINES = [
  "KRW-BTC: 0.002 @ entry 100,000,000 · now 103,000,000 · P&L +6,000 KRW",
  "  stop 95,000,000 · target 110,000,000",
  "  price 10 s old",
];

Deno.test("Telegram: each reading command answers with the operator's figures", async () => {
  await withWorld(async (t) => {
    assert.equal(await reply(t, "/help"), HELP);
    assert.equal(await reply(t, "/start"), HELP);
    assert.equal(
      await reply(t, "/status"),
      [
        "Status: paper · bot · stopped (store only)",
        "Trading: on",
        ...BTC_LINES,
        "KRW-ETH: flat · no price yet",
        "Account: equity 2,016,000 KRW · P&L +16,000 KRW · today +10,000 KRW",
        "Last error: none",
      ].join("\n"),
    );
    assert.equal(
      await reply(t, "/balance"),
      [
        "Balance",
        "cash: 1,810,000 KRW",
        "positions at cost: 200,000 KRW",
        "equity: 2,016,000 KRW",
        "committed: 200,000 KRW",
      ].join("\n"),
    );
    assert.equal(await reply(t, "/positions"), ["Positions", ...BTC_LINES].join("\n"));
    assert.equal(
      await reply(t, "/trades"),
      [
        "Last trades",
        "2026-11-24 01:03:00 KRW-BTC buy 0.002 @ 100,000,000 = 200,000 KRW (fee 0 KRW)",
        "2026-11-24 01:02:00 KRW-ETH sell 0.1 @ 4,100,000 = 410,000 KRW (fee 0 KRW)",
        "2026-11-24 01:01:00 KRW-ETH buy 0.1 @ 4,000,000 = 400,000 KRW (fee 0 KRW)",
      ].join("\n"),
    );
    assert.equal(
      await reply(t, "/trades 1"),
      "Last trades\n2026-11-24 01:03:00 KRW-BTC buy 0.002 @ 100,000,000 = 200,000 KRW (fee 0 KRW)",
    );
    for (const bad of ["/trades 0", "/trades 51", "/trades x", "/trades 1 2"]) {
      assert.equal(await reply(t, bad), "Usage: /trades [n], n a whole number from 1 to 50", bad);
    }
    assert.equal(
      await reply(t, "/profit"),
      [
        "Profit",
        "KRW-BTC: realized 0 KRW · unrealized +6,000 KRW · fees 0 KRW",
        "KRW-ETH: realized +10,000 KRW · unrealized 0 KRW · fees 0 KRW",
        "Account: realized +10,000 KRW · unrealized +6,000 KRW · total +16,000 KRW · fees 0 KRW",
        "today: +10,000 KRW",
      ].join("\n"),
    );
    assert.equal(
      await reply(t, "/daily 2"),
      "Daily realized P&L (UTC days)\n2026-11-24: +10,000 KRW\n2026-11-23: 0 KRW",
    );
    assert.equal(await reply(t, "/daily 31"), "Usage: /daily [n], n a whole number from 1 to 30");
    assert.equal(
      await reply(t, "/settings"),
      [
        "Settings (strategy bb, version 0)",
        "  stop-loss = 5",
        "  take-profit = 10",
        "  max-daily-loss = 10",
        "  trailing-stop = 0",
        "  cooldown-hours = 0",
        "  budget = 100",
        "  stale-after = 120",
        "  period = 20",
        "  std = 2.5",
      ].join("\n"),
    );
    assert.equal(
      await reply(t, "/health"),
      [
        "Health",
        "process: stopped (store only) · last start 2026-11-24 01:00:00 UTC",
        "Trading: on",
        "market data: no bot running · loop's last tick 10 s ago",
        "KRW-BTC: price 10 s old",
        "KRW-ETH: no price yet",
        "orders in flight: 0",
        "daily loss limit: ok",
        "Last error: none",
      ].join("\n"),
    );
    assert.equal(await reply(t, "/nope"), "Unknown command. Send /help for the list.");
    assert.equal(await reply(t, `/status@${"other_bot"}`).catch(() => "none"), "none");
    assert.equal(await reply(t, "/health@upbit_trader_test_bot"), await reply(t, "/health"));
    assert.deepEqual(await t.operator.auditLog({ limit: 10 }), [], "reading runs no command");
  });
});

Deno.test("Telegram: /pause, /set and /resume act through the operator as telegram:<owner id>", async () => {
  await withWorld(async (t) => {
    assert.equal(
      await reply(t, "/pause lunch break", OWNER, 1_000),
      "Done: paused: lunch break\nTrading: paused (lunch break)",
    );
    assert.equal(
      await reply(t, "/set stop-loss 4", OWNER, 1_000),
      "Done: stop-loss = 4 (v1); applied at the next candle close\nTrading: paused (lunch break)",
    );
    assert.match(
      await reply(t, "/set nope 1", OWNER, 1_000),
      /^Refused: nope: not a run-time parameter \(one of stop-loss, /,
    );
    assert.equal(await reply(t, "/set stop-loss"), "Usage: /set <param> <value> (see /settings)");
    assert.equal(
      await reply(t, "/resume", OWNER, 1_000),
      "Done: resumed (orders and balances are reconciled when the bot starts)\nTrading: on",
    );
    assert.equal(
      await reply(t, "/pause", OWNER, 1_000),
      "Done: paused: paused from Telegram\nTrading: paused (paused from Telegram)",
    );
    const log = await t.operator.auditLog({ limit: 10 });
    assert.deepEqual(log.map((r) => [r.actor, r.command, r.result]).reverse(), [
      [`telegram:${OWNER}`, "pause: lunch break", "done"],
      [`telegram:${OWNER}`, "set stop-loss 4", "done"],
      [`telegram:${OWNER}`, "set nope 1", "refused"],
      [`telegram:${OWNER}`, "resume", "done"],
      [`telegram:${OWNER}`, "pause: paused from Telegram", "done"],
    ]);
  });
});

Deno.test("Telegram: a viewer reads but cannot act; Korean replies by config", async () => {
  await withWorld(async (t) => {
    assert.match(await reply(t, "/status", VIEWER), /^Status: paper · bot/);
    assert.equal(
      await reply(t, "/help", VIEWER),
      "Commands (read-only)\n/status, /balance, /positions, /trades [n], /profit, /daily [n], /report [date], /settings, /health",
    );
    for (const act of ["/pause", "/resume", "/set stop-loss 4", "/stop", "/sell all"]) {
      assert.equal(
        await reply(t, act, VIEWER),
        "Read-only access: this command is for the owner.",
        act,
      );
    }
    assert.deepEqual(await t.operator.auditLog({ limit: 10 }), []);
    assert.equal(
      t.fake.callsOf("sendMessage").filter((c) => c.params.reply_markup !== undefined).length,
      0,
    );
  });
  await withWorld(async (t) => {
    assert.match(await reply(t, "/help"), /^명령어\n\/status - 모드, 상태, 마켓과 포지션/);
    assert.equal(
      await reply(t, "/balance"),
      "잔고\n현금: 1,810,000 KRW\n포지션 원가: 200,000 KRW\n평가금액: 2,016,000 KRW\n사용 중: 200,000 KRW",
    );
    assert.equal(
      await reply(t, "/pause"),
      "완료: paused: 텔레그램에서 일시정지\n거래: 일시정지 (텔레그램에서 일시정지)",
    );
  }, { language: "ko" });
});

/** The nonce of the Confirm button in the last message that had one. */
function lastButton(t: TgWorld): { nonce: string; messageId: number } {
  const asked = t.fake.callsOf("sendMessage").filter((c) => c.params.reply_markup !== undefined).at(
    -1,
  )!;
  const markup = asked.params.reply_markup as { inline_keyboard: { callback_data: string }[][] };
  const nonce = markup.inline_keyboard[0]![0]!.callback_data.replace(/^confirm:/, "");
  const messageId =
    [...t.fake.messages.values()].find((m) => m.reply_markup === asked.params.reply_markup)!
      .message_id;
  return { nonce, messageId };
}

Deno.test("Telegram: /stop runs exactly once, only after its Confirm button, whatever is tapped or replayed", async () => {
  await withWorld(async (t) => {
    assert.equal(
      await reply(t, "/stop"),
      "Emergency stop: cancel every open order and halt all trading?\nTap Confirm within 60 s.",
    );
    assert.deepEqual(await t.operator.auditLog({ limit: 10 }), [], "asking runs nothing");
    const { nonce, messageId } = lastButton(t);
    // A viewer, a stranger, and the owner's tap shown in another chat: ignored, nothing answered.
    for (const from of [VIEWER, STRANGER]) {
      assert.equal(
        await t.post(tap(t, `confirm:${nonce}`, { from, chatId: from, messageId })),
        200,
      );
    }
    assert.equal(await t.post(tap(t, `confirm:${nonce}`, { chatId: -100123, messageId })), 200);
    assert.equal(t.fake.callsOf("answerCallbackQuery").length, 0);
    const confirm = tap(t, `confirm:${nonce}`, { messageId });
    assert.equal(await t.post(confirm), 200);
    assert.equal(await t.post(confirm), 200, "the same update delivered again");
    assert.equal(await t.post(tap(t, `confirm:${nonce}`, { messageId })), 200, "a second tap");
    const log = await t.operator.auditLog({ limit: 10 });
    assert.deepEqual(log.map((r) => [r.actor, r.command, r.result]), [[
      `telegram:${OWNER}`,
      "stop",
      "done",
    ]]);
    assert.equal((await t.operator.status()).halted, true);
    assert.deepEqual(t.fake.callsOf("answerCallbackQuery").map((c) => c.params.text), [
      "Confirmed: emergency stop",
      "This confirmation has expired or was already used.",
    ]);
    assert.match(t.fake.messages.get(messageId)!.text, /^Confirmed: emergency stop\nDone: /);
  });
});

Deno.test("Telegram: an expired or cancelled confirmation runs nothing; /sell all confirmed stops and sells", async () => {
  await withWorld(async (t) => {
    await reply(t, "/stop");
    const first = lastButton(t);
    t.w.clock.set(t.w.clock.nowMs() + 60_001);
    assert.equal(
      await t.post(tap(t, `confirm:${first.nonce}`, { messageId: first.messageId })),
      200,
    );
    await reply(t, "/stop");
    const second = lastButton(t);
    assert.equal(
      await t.post(tap(t, `cancel:${second.nonce}`, { messageId: second.messageId })),
      200,
    );
    assert.equal(
      await t.post(tap(t, `confirm:${second.nonce}`, { messageId: second.messageId })),
      200,
    );
    assert.equal(await t.post(tap(t, "confirm:nonce-000000000999", { messageId: 1 })), 200);
    assert.deepEqual(await t.operator.auditLog({ limit: 10 }), []);
    assert.equal((await t.operator.status()).halted, false);
    assert.equal(t.fake.messages.get(second.messageId)!.text, "Cancelled: nothing was done.");
    assert.equal(
      await reply(t, "/sell all"),
      "Stop trading and sell EVERY position at market?\nTap Confirm within 60 s.",
    );
    const sell = lastButton(t);
    assert.equal(await t.post(tap(t, `confirm:${sell.nonce}`, { messageId: sell.messageId })), 200);
    const log = await t.operator.auditLog({ limit: 10 });
    assert.deepEqual(log.map((r) => [r.actor, r.command]), [[`telegram:${OWNER}`, "stop --sell"]]);
  });
});

Deno.test("Telegram webhook: the secret is required to build it and checked on every request", async () => {
  await withWorld(async (t) => {
    for (
      const secret of [
        undefined,
        new Secret(""),
        new Secret("short"),
        new Secret("x".repeat(31)),
        new Secret(`${"x".repeat(40)} y`),
      ]
    ) {
      assert.throws(
        () => createTelegramRoutes(t.telegram, { secretToken: secret, log: t.log }),
        ConfigError,
      );
    }
    assert.equal(await t.post(message(t, "/pause"), null), 401);
    assert.equal(await t.post(message(t, "/pause"), "wrong"), 401);
    assert.equal(await t.post(message(t, "/pause"), SECRET.slice(0, -1) + "Q"), 401);
    assert.equal(await t.post(message(t, "/pause"), SECRET + "x"), 401);
    const res = await fetch(t.url, {
      method: "POST",
      headers: { "X-Telegram-Bot-Api-Secret-Token": SECRET },
      body: "x".repeat(70_000),
    });
    await res.body?.cancel();
    assert.equal(res.status, 413);
    assert.deepEqual(await t.operator.auditLog({ limit: 10 }), []);
    assert.equal(t.fake.sentTexts().length, 0);
  });
});

Deno.test("Telegram: ignored updates are logged once per sender and reason, without their text", async () => {
  await withWorld(async (t) => {
    for (let i = 0; i < 3; i++) {
      assert.equal(await t.post(message(t, "/pause my-secret-words", { from: STRANGER })), 200);
      assert.equal(await t.post(message(t, "/pause", { chatType: "group", chatId: -100200 })), 200);
    }
    assert.equal(t.fake.calls.length, 0, "nothing is answered");
    const lines = t.log.lines.filter((l) => l.message === "telegram: update ignored");
    assert.deepEqual(lines.map((l) => l.data), [
      { reason: "stranger", from: "*****4321" },
      { reason: "not_private", from: "*****2333" },
    ]);
    assert.ok(!JSON.stringify(t.log.lines).includes("my-secret-words"));
    assert.deepEqual(await t.operator.auditLog({ limit: 10 }), []);
  });
});

Deno.test("Telegram long polling: updates from getUpdates go through the same rules", async () => {
  await withWorld(async (t) => {
    t.fake.queueUpdate(message(t, "/pause", { from: STRANGER }));
    t.fake.queueUpdate(message(t, "/balance"));
    const stop = new AbortController();
    const polling = t.telegram.poll(stop.signal);
    for (let i = 0; i < 100 && t.fake.sentTexts().length === 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    stop.abort();
    await polling;
    assert.deepEqual(t.fake.sentTexts(), [
      "Balance\ncash: 1,810,000 KRW\npositions at cost: 200,000 KRW\nequity: 2,016,000 KRW\ncommitted: 200,000 KRW",
    ]);
    assert.equal(t.fake.callsOf("deleteWebhook").length, 1, "polling removes a webhook first");
    assert.deepEqual(t.fake.callsOf("getUpdates")[0]!.params.allowed_updates, [
      "message",
      "callback_query",
    ]);
    assert.deepEqual(await t.operator.auditLog({ limit: 10 }), []);
  }, { polling: true });
});
