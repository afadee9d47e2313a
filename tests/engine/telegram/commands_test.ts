/**
 * The Telegram commands of a running bot (a paper exchange holds the position) through real
 * HTTP both ways: `/sell <market>` behind its Confirm button, `/status` and `/health` with the
 * journal's errors and the uptime, `/logs` from the redacting log ring (a canary secret never
 * shows), and `/stop` and `/sell all` really cancelling and selling.
 */

import assert from "node:assert/strict";
import { unitsFromNumber } from "../../../engine/core/money.ts";
import { CANARY, message, OWNER, tap, type TgWorld, VIEWER, withWorld } from "./_harness.ts";

/** Sends `text` (as the owner unless `from`) and returns the one reply it got. */
async function reply(t: TgWorld, text: string, from = OWNER): Promise<string> {
  const before = t.fake.sentTexts().length;
  assert.equal(await t.post(message(t, text, { from })), 200);
  const sent = t.fake.sentTexts().slice(before);
  assert.equal(sent.length, 1, `one reply to ${text}: ${JSON.stringify(sent)}`);
  return sent[0]!;
}

/** Taps Confirm on the newest message with buttons; returns that message's text afterwards. */
async function confirmNewest(t: TgWorld): Promise<string> {
  const m = [...t.fake.messages.values()].filter((x) => x.reply_markup !== null).at(-1)!;
  const markup = m.reply_markup as { inline_keyboard: { callback_data: string }[][] };
  const data = markup.inline_keyboard[0]![0]!.callback_data;
  assert.equal(await t.post(tap(t, data, { messageId: m.message_id })), 200);
  return t.fake.messages.get(m.message_id)!.text;
}

const BTC_HELD = "0.002 KRW-BTC (entry 100,000,000 · now 103,000,000 · P&L +6,000 KRW)";

Deno.test("Telegram /sell <market>: checks the market, asks to confirm, sells once through the operator", async () => {
  await withWorld(async (t) => {
    for (const bad of ["/sell", "/sell btc eth", "/sell KRW-BTC;drop", "/sell ../x"]) {
      assert.equal(
        await reply(t, bad),
        "Usage: /sell <market> (e.g. /sell KRW-BTC or /sell btc) or /sell all",
        bad,
      );
    }
    assert.equal(
      await reply(t, "/sell xrp"),
      "KRW-XRP is not traded by this bot (KRW-BTC, KRW-ETH).",
    );
    assert.equal(await reply(t, "/sell KRW-ETH"), "KRW-ETH: no position to sell.");
    assert.equal(
      await reply(t, "/sell btc", VIEWER),
      "Read-only access: this command is for the owner.",
    );
    assert.equal(t.fake.callsOf("sendMessage").filter((c) => c.params.reply_markup).length, 0);
    assert.equal(
      await reply(t, "/sell btc"),
      `Sell ${BTC_HELD} at market? Trading goes on.\nTap Confirm within 60 s.`,
    );
    assert.deepEqual(await t.operator.auditLog({ limit: 10 }), [], "asking runs nothing");
    assert.equal(
      await confirmNewest(t),
      [
        "Confirmed: sell KRW-BTC",
        "Done: KRW-BTC: 0 orders cancelled, sold 0.002 for 206,000 KRW",
        "KRW-BTC: cancelled orders 0 · sold 0.002 = 206,000 KRW",
        "Trading: on",
      ].join("\n"),
    );
    assert.deepEqual(t.fake.callsOf("answerCallbackQuery").map((c) => c.params.text), [
      "Confirmed: sell KRW-BTC",
    ]);
    const log = await t.operator.auditLog({ limit: 10 });
    assert.deepEqual(log.map((r) => [r.actor, r.command, r.result]), [
      [`telegram:${OWNER}`, "sell KRW-BTC", "done"],
    ]);
    assert.equal(await reply(t, "/positions"), "No open positions.");
    const status = await t.operator.status();
    assert.deepEqual([status.paused, status.halted], [false, false], "a sale is no stop");
    assert.equal(
      (await t.exchange!.balances()).find((b) => b.currency === "BTC")?.balance ?? 0n,
      0n,
    );
  }, { running: true });
});

Deno.test("Telegram /sell <market> in Korean", async () => {
  await withWorld(async (t) => {
    assert.equal(
      await reply(t, "/sell btc"),
      "0.002 KRW-BTC (진입 100,000,000 · 현재 103,000,000 · 손익 +6,000 KRW) 을(를) 시장가로 매도할까요? 거래는 계속됩니다.\n60초 안에 확인을 누르세요.",
    );
    assert.match(await confirmNewest(t), /^확인됨: KRW-BTC 매도\n완료: KRW-BTC: /);
  }, { running: true, language: "ko" });
});

Deno.test("Telegram /status and /health: the journal's last error, the link, uptime of a running bot", async () => {
  await withWorld(async (t) => {
    const now = t.w.clock.nowMs();
    assert.match(await reply(t, "/status"), /\nLast error: none$/);
    await t.w.store.recordEvent({
      type: "ErrorRaised",
      atMs: now - 65_000,
      code: "exit_failed",
      message: "stop loss on KRW-BTC: not executed: order rejected",
    });
    await t.w.store.recordEvent({
      type: "ErrorRaised",
      atMs: now - 5_000,
      code: "market_disconnected",
      message: "market data: the WebSocket closed; reconnecting",
    });
    const last =
      "Last error: 2026-11-24 01:09:55 UTC market_disconnected: market data: the WebSocket closed; reconnecting";
    assert.match(await reply(t, "/status"), new RegExp(`\n${last}$`));
    assert.equal(
      await reply(t, "/health"),
      [
        "Health",
        "process: running · up 10 min (since 2026-11-24 01:00:00 UTC)",
        "Trading: on",
        "market data: DISCONNECTED · loop's last tick 10 s ago",
        "KRW-BTC: price 10 s old",
        "KRW-ETH: no price yet",
        "orders in flight: 0",
        "daily loss limit: ok",
        last,
      ].join("\n"),
    );
    t.w.clock.set(now + 2 * 86_400_000 + 3 * 3_600_000);
    const later = await reply(t, "/health");
    assert.match(later, /\nprocess: running · up 2 d 3 h 10 min \(since /);
    assert.match(later, /\nmarket data: DISCONNECTED · loop's last tick 183610 s ago\n/);
  }, { running: true });
});

Deno.test("Telegram /health and /status: ages and uptime on the bot's clock, not the wall's (the demo)", async () => {
  await withWorld(async (t) => {
    const health = await reply(t, "/health");
    // The bot's clock is 1 h ahead of the wall clock that dates Telegram's messages.
    assert.match(health, /\nprocess: running · up 1 h 10 min \(since /);
    assert.match(health, /\nKRW-BTC: price 3610 s old\n/);
    assert.match(await reply(t, "/status"), /\n {2}price 3610 s old\n/);
  }, { running: true, dataAheadMs: 3_600_000 });
});

Deno.test("Telegram /logs: the newest redacted log lines, owner only; a canary secret never shows", async () => {
  await withWorld(async (t) => {
    assert.equal(await reply(t, "/logs"), "No log lines yet.");
    t.appLog.info("upbit: connected", { accessKey: CANARY });
    t.appLog.warn(`order failed: ${CANARY} was refused`);
    t.appLog.error("telegram: reply not sent", {
      error: new Error(`POST https://api.telegram.org/bot${t.fake.token}/sendMessage failed`),
    });
    for (let i = 0; i < 30; i++) t.appLog.info(`tick ${i}`);
    const all = await reply(t, "/logs 100");
    assert.ok(!all.includes(CANARY), all);
    assert.ok(!all.includes(t.fake.token.split(":")[1]!), all);
    const lines = all.split("\n");
    assert.equal(lines[0], "Last 33 log lines (UTC)");
    assert.deepEqual(lines.slice(1, 4), [
      "2026-11-24 01:10:00 upbit: connected  accessKey=[REDACTED]",
      "2026-11-24 01:10:00 WARN order failed: [REDACTED] was refused",
      '2026-11-24 01:10:00 ERROR telegram: reply not sent  error="Error: POST https://api.telegram.org/bot[REDACTED]/sendMessage failed"',
    ]);
    assert.equal(
      await reply(t, "/logs 2"),
      "Last 2 log lines (UTC)\n2026-11-24 01:10:00 tick 28\n2026-11-24 01:10:00 tick 29",
    );
    for (const bad of ["/logs 0", "/logs 101", "/logs x"]) {
      assert.equal(await reply(t, bad), "Usage: /logs [n], n a whole number from 1 to 100", bad);
    }
    assert.equal(
      await reply(t, "/logs", VIEWER),
      "Read-only access: this command is for the owner.",
    );
  });
  await withWorld(async (t) => {
    assert.equal(await reply(t, "/logs"), "This process keeps no log lines for /logs.");
  }, { noRing: true });
});

Deno.test("Telegram /stop and /sell all on a running bot: cancel, sell, halt, after one Confirm", async () => {
  await withWorld(async (t) => {
    await reply(t, "/stop");
    assert.match(
      await confirmNewest(t),
      /^Confirmed: emergency stop\nDone: halted: KRW-BTC: 0 orders cancelled; KRW-ETH: 0 orders cancelled\n/,
    );
    assert.equal((await t.operator.status()).halted, true);
    assert.notEqual((await t.operator.positions()).length, 0, "a plain stop keeps the position");
    t.w.clock.set(t.w.clock.nowMs() + 1_000);
    await reply(t, "/sell all");
    const text = await confirmNewest(t);
    assert.match(
      text,
      /^Confirmed: stop and sell every position\nDone: halted: KRW-BTC: 0 orders cancelled, sold 0.002 for 206,000 KRW; /,
    );
    assert.match(text, /\nTrading: HALTED \(emergency stop\)$/);
    assert.equal(await reply(t, "/positions"), "No open positions.");
    const log = await t.operator.auditLog({ limit: 10 });
    assert.deepEqual(log.map((r) => r.command).reverse(), ["stop", "stop --sell"]);
  }, { running: true });
});

Deno.test("Telegram /resume re-runs the safety checks: a balance changed outside the bot refuses it", async () => {
  await withWorld(async (t) => {
    assert.equal(
      await reply(t, "/pause checking"),
      "Done: paused: checking\nTrading: paused (checking)",
    );
    // The first reconciliation records what the exchange holds.
    assert.equal(await reply(t, "/resume"), "Done: resumed (reconciliation passed)\nTrading: on");
    await reply(t, "/pause checking");
    // Someone sells half the BTC on the exchange, outside the bot.
    const sold = await t.exchange!.placeOrder({
      market: "KRW-BTC",
      side: "ask",
      ordType: "market",
      volume: unitsFromNumber(0.001),
      identifier: "outside-the-bot",
    });
    assert.ok(sold.ok);
    const differ = "BTC ledger 0.002 vs exchange 0.001, KRW ledger 1810000 vs exchange 1912948.5";
    assert.equal(
      await reply(t, "/resume"),
      `Refused: safety check failed: balances differ: ${differ}\n` +
        "Trading: paused, safe mode (balances differ: BTC: ledger 0.002 vs exchange 0.001; KRW: ledger 1810000 vs exchange 1912948.5)",
    );
    const status = await t.operator.status();
    assert.deepEqual([status.paused, status.safeMode], [true, true], "still paused, safe mode on");
  }, { running: true });
});

Deno.test("Telegram replies are tried once more after a 429 (its retry_after) or a 5xx, then logged", async () => {
  await withWorld(async (t) => {
    await t.fake.setFault({ kind: "rate_limit", retryAfterS: 1 }, {
      methods: ["sendMessage"],
      times: 1,
    });
    const start = performance.now();
    assert.match(await reply(t, "/balance"), /^Balance\n/);
    assert.ok(performance.now() - start >= 900, "waited the retry_after");
    await t.fake.setFault({ kind: "fail", status: 502 }, { methods: ["sendMessage"], times: 1 });
    assert.match(await reply(t, "/balance"), /^Balance\n/);
    assert.deepEqual(t.fake.callsOf("sendMessage").map((c) => c.status), [429, 200, 502, 200]);
    await t.fake.setFault({ kind: "fail" }, { methods: ["sendMessage"], times: 2 });
    assert.equal(await t.post(message(t, "/balance")), 200, "the webhook still answers");
    assert.equal(t.fake.callsOf("sendMessage").length, 6, "two tries, then no more");
    assert.equal(t.log.lines.filter((l) => l.message === "telegram: reply not sent").length, 1);
  }, { timeoutMs: 30_000 });
});

Deno.test("Telegram's / menu: every command in the owner's chat, the reading ones in a viewer's", async () => {
  await withWorld(async (t) => {
    await t.telegram.setCommands();
    const calls = t.fake.callsOf("setMyCommands").map((c) => c.params) as {
      commands: { command: string; description: string }[];
      scope: { type: string; chat_id: number };
    }[];
    assert.deepEqual(calls.map((c) => c.scope), [
      { type: "chat", chat_id: OWNER },
      { type: "chat", chat_id: VIEWER },
    ]);
    const [owner, viewer] = calls;
    assert.deepEqual(owner!.commands.map((c) => c.command), [
      "status",
      "balance",
      "positions",
      "trades",
      "profit",
      "daily",
      "report",
      "settings",
      "health",
      "logs",
      "pause",
      "resume",
      "set",
      "sell",
      "stop",
    ]);
    assert.deepEqual(owner!.commands.find((c) => c.command === "sell"), {
      command: "sell",
      description:
        "<market> - sell one market's position (asks to confirm); all - stop and sell every position (asks to confirm)",
    });
    assert.deepEqual(owner!.commands[0], {
      command: "status",
      description: "mode, switches, markets and positions",
    });
    assert.deepEqual(viewer!.commands.map((c) => c.command), [
      "status",
      "balance",
      "positions",
      "trades",
      "profit",
      "daily",
      "report",
      "settings",
      "health",
    ]);
    // A refusal (e.g. a viewer who never opened the bot) is logged, not thrown.
    await t.fake.setFault({ kind: "fail" }, { methods: ["setMyCommands"] });
    await t.telegram.setCommands();
    assert.equal(
      t.log.lines.filter((l) => l.message === "telegram: command menu not set").length,
      2,
    );
  });
});
