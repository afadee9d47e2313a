/**
 * The notification outbox through real HTTP against the fake Bot API: Telegram down for a
 * simulated hour loses, repeats and reorders nothing; 429s wait `retry_after`; a burst of fills
 * is one message; a restart mid-backlog resumes at the cursor; a crash between a send and its
 * cursor write repeats that one message; each kind is on, silent or off.
 */

import assert from "node:assert/strict";
import type { EngineEvent } from "../../../engine/mod.ts";
import { Api } from "grammy/web";
import { DEFAULT_NOTIFY, startOutbox } from "../../../engine/telegram/mod.ts";
import { WALL_CLOCK } from "../../../engine/wall_clock.ts";
import { fill, signal, START_MS, withOutboxWorld } from "./_outbox_world.ts";
import { OWNER } from "./_harness.ts";

const HOUR_MS = 3_600_000;

function firstLines(texts: readonly string[]): string[] {
  return texts.map((t) => t.split("\n")[0]!);
}

function expected(from: number, to: number): string[] {
  const out: string[] = [];
  for (let n = from; n <= to; n++) out.push(`Signal BUY KRW-BTC: #${n}`);
  return out;
}

Deno.test("Telegram down for a simulated hour: every notification arrives once, in order, marked late", async () => {
  await withOutboxWorld(async (o) => {
    await o.fake.setFault({ kind: "down" });
    const outbox = o.start();
    // An event about every 30 simulated seconds while Telegram is down (the worker's backoff
    // sleeps move the clock).
    let n = 0;
    while (o.clock.nowMs() < START_MS + HOUR_MS) {
      await o.journal(signal(++n, o.clock.nowMs()));
      const next = o.clock.nowMs() + 30_000;
      assert.ok(await o.until(() => o.clock.nowMs() >= next), "the worker keeps retrying");
    }
    assert.ok(n >= 25, `${n} events over the hour`);
    assert.deepEqual(o.texts(), [], "nothing got through while down");
    const triesWhileDown = outbox.stats().failures;
    // Backing off (at most 60 s apart, jittered), not hammering: about one try a minute.
    assert.ok(triesWhileDown >= 60 && triesWhileDown <= 120, `${triesWhileDown} tries in the hour`);
    assert.ok(Math.max(...o.clock.sleeps) <= 60_000, "the backoff is capped at 60 s");
    await o.fake.setFault(null);
    assert.ok(await o.until(() => o.texts().length >= n), `${o.texts().length} of ${n} arrived`);
    // A late event still comes in order, after the backlog.
    await o.journal(signal(++n, o.clock.nowMs()));
    assert.ok(await o.until(() => o.texts().length >= n));
    await new Promise((r) => setTimeout(r, 100));
    const texts = o.texts();
    assert.deepEqual(firstLines(texts), expected(1, n), "all, in order, once");
    assert.match(texts[0]!, /\n\(delayed: happened at 2026-12-05 00:00:00 UTC\)$/);
    assert.doesNotMatch(texts[texts.length - 1]!, /delayed/, "a fresh event is not marked late");
    assert.equal(outbox.stats().sent, n);
    assert.equal(outbox.stats().lastError, null);
    const warned = o.log.lines.filter((l) =>
      l.message.startsWith("telegram: notification not sent")
    );
    assert.equal(warned.length, 1, "one warning per outage, not one per try");
    assert.ok(!JSON.stringify(o.log.lines).includes(o.fake.token), "the token is never logged");
    const cursor = await o.cursor.getOutboxCursor();
    assert.equal(cursor, (await o.store.listJournal({ limit: 1, newest: true }))[0]!.id);
  });
});

Deno.test("429 Too Many Requests: the worker waits retry_after (plus jitter), then sends in order", async () => {
  await withOutboxWorld(async (o) => {
    await o.fake.setFault({ kind: "rate_limit", retryAfterS: 30 }, {
      methods: ["sendMessage"],
      times: 3,
    });
    for (let n = 1; n <= 3; n++) await o.journal(signal(n, START_MS + n));
    const t0 = o.clock.nowMs();
    o.start();
    assert.ok(await o.until(() => o.texts().length === 3));
    assert.deepEqual(firstLines(o.texts()), expected(1, 3));
    const waits = o.clock.sleeps.filter((ms) => ms >= 1_000);
    assert.deepEqual(waits.length, 3, `three waits: ${o.clock.sleeps}`);
    for (const ms of waits) assert.ok(ms >= 30_000 && ms < 31_000, `waited ${ms} ms`);
    assert.ok(o.clock.nowMs() - t0 >= 90_000);
    assert.equal(o.fake.callsOf("sendMessage").length, 6, "3 refused + 3 sent");
  });
});

Deno.test("5xx and a stalled Bot API: retried in place; a timed-out send may arrive twice, never out of order", async () => {
  await withOutboxWorld(async (o) => {
    await o.fake.setFault({ kind: "fail", status: 502 }, { methods: ["sendMessage"], times: 4 });
    for (let n = 1; n <= 2; n++) await o.journal(signal(n, START_MS + n));
    o.start();
    assert.ok(await o.until(() => o.texts().length === 2));
    assert.deepEqual(o.texts(), expected(1, 2));
    // Stalled: the request is held past the client's 2 s timeout, then answered.
    await o.fake.setFault({ kind: "timeout" }, { methods: ["sendMessage"], times: 1 });
    await o.journal(signal(3, START_MS + 3));
    assert.ok(await o.until(() => o.outbox!.stats().failures >= 5, 5_000), "timed out");
    await o.fake.setFault(null);
    await o.journal(signal(4, START_MS + 4));
    assert.ok(await o.until(() => o.outbox!.stats().sent === 4));
    await new Promise((r) => setTimeout(r, 100));
    // The held request was answered after the client gave up: Telegram may show it twice.
    const texts = o.texts();
    assert.ok(
      JSON.stringify(texts) === JSON.stringify(expected(1, 4)) ||
        JSON.stringify(texts) === JSON.stringify([...expected(1, 3), ...expected(3, 4)]),
      JSON.stringify(texts),
    );
  });
});

Deno.test("50 fills within a second are ONE message; the next event is its own", async () => {
  await withOutboxWorld(async (o) => {
    // Live: the worker is running and the fills commit one by one (real time, 1 s window).
    o.start({ clock: WALL_CLOCK });
    const t0 = Date.now();
    for (let n = 1; n <= 50; n++) {
      await o.journal(fill(n, t0 + n * 10, 50_000_000 + n * 1_000));
    }
    await o.journal(signal(1, t0 + 1_200));
    assert.ok(await o.until(() => o.texts().length === 2));
    await new Promise((r) => setTimeout(r, 100));
    const [fills, next] = o.texts();
    assert.equal(
      fills,
      "50 fills in 0.5 s:\n" +
        "BUY 0.05 BTC on KRW-BTC, avg 50,026,000 KRW, 2,501,275 KRW, fees 1,250.64 KRW",
    );
    assert.equal(next, "Signal BUY KRW-BTC: #1");
    assert.equal(o.outbox!.stats().events, 51);
  });
});

Deno.test("50 fills in a second while Telegram is down: one message once it is back", async () => {
  await withOutboxWorld(async (o) => {
    await o.fake.setFault({ kind: "down" });
    o.start();
    await o.journal(signal(1, START_MS));
    for (let n = 1; n <= 50; n++) await o.journal(fill(n, START_MS + 100 + n * 18));
    await o.journal(signal(2, START_MS + 2_000));
    assert.ok(await o.until(() => o.outbox!.stats().failures >= 3));
    await o.fake.setFault(null);
    assert.ok(await o.until(() => o.texts().length === 3));
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(firstLines(o.texts()), [
      "Signal BUY KRW-BTC: #1",
      "50 fills in 0.9 s:",
      "Signal BUY KRW-BTC: #2",
    ]);
    assert.match(o.texts()[1]!, /^BUY 0\.05 BTC on KRW-BTC, avg 50,000,000 KRW, 2,500,000 KRW/m);
  });
});

Deno.test("a restart mid-backlog resumes at the cursor: nothing lost, repeated or reordered", async () => {
  await withOutboxWorld(async (o) => {
    for (let n = 1; n <= 30; n++) await o.journal(signal(n, START_MS + n));
    let stopped: Promise<void> | undefined;
    // Right after the 10th message's cursor write Telegram starts refusing (429) and the
    // process is stopped (a clean stop does not wait to catch up while Telegram refuses).
    o.cursor.onWrite = (n) => {
      if (n !== 10) return;
      stopped = o.fake.setFault({ kind: "rate_limit", retryAfterS: 5 }).then(() => o.stop());
    };
    o.start();
    assert.ok(await o.until(() => stopped !== undefined));
    await stopped;
    o.cursor.onWrite = undefined;
    assert.equal(o.texts().length, 10, "stopped mid-backlog");
    await o.fake.setFault(null);
    o.start();
    assert.ok(await o.until(() => o.texts().length >= 30));
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(o.texts(), expected(1, 30));
  });
});

Deno.test("a crash between a send and its cursor write repeats that one message, nothing else", async () => {
  await withOutboxWorld(async (o) => {
    for (let n = 1; n <= 12; n++) await o.journal(signal(n, START_MS + n));
    o.cursor.crashAfter = 5;
    o.start();
    assert.ok(await o.until(() => o.cursor.crashed));
    const crashedAfter = o.texts().length;
    assert.equal(crashedAfter, 6, "the 6th message was sent, its cursor write never landed");
    await o.stop(); // the process dies: its cursor write never lands (the grace runs out)
    o.start();
    assert.ok(await o.until(() => o.texts().length >= 13));
    await new Promise((r) => setTimeout(r, 100));
    const want = expected(1, 12);
    want.splice(crashedAfter, 0, want[crashedAfter - 1]!);
    assert.deepEqual(o.texts(), want, `one duplicate: #${crashedAfter}`);
  });
});

Deno.test("each kind is on, silent or off; the texts sent for every engine event (EN)", async () => {
  await withOutboxWorld(async (o) => {
    const at = START_MS + 1_000;
    const events: EngineEvent[] = [
      {
        type: "RunStarted",
        atMs: at,
        mode: "paper",
        markets: ["KRW-BTC", "KRW-ETH"],
        strategy: "bollinger",
        timeframe: "5m",
        recovered: true,
      },
      signal(1, at + 1),
      {
        type: "OrderSubmitted",
        atMs: at + 2,
        intentId: "KRW-BTC:bid:s1",
        market: "KRW-BTC",
        side: "bid",
        identifier: "id-1",
        uuid: "order-1",
        refPrice: "49990000",
      },
      fill(1, at + 3),
      {
        type: "RiskTriggered",
        atMs: at + 4,
        market: "KRW-BTC",
        rule: "stop_loss",
        price: "47500000",
      },
      {
        type: "OrderFilled",
        atMs: at + 5,
        market: "KRW-BTC",
        side: "ask",
        orderUuid: "order-2",
        tradeUuid: "trade-2",
        price: "47450000",
        volume: "0.001",
        funds: "47450",
        fee: "23.725",
      },
      {
        type: "RiskTriggered",
        atMs: at + 3_000,
        market: "",
        rule: "account_daily_loss_limit",
        price: "950000",
        dayStartEquity: "1000000",
      },
      { type: "ErrorRaised", atMs: at + 5_000, code: "order_unresolved", message: "left UNKNOWN" },
      {
        type: "StateChanged",
        atMs: at + 6_000,
        paused: false,
        safeMode: true,
        reason: "ledger mismatch",
      },
      {
        type: "CommandExecuted",
        atMs: at + 7_000,
        actor: "ctl",
        command: "set stop-loss 4",
        result: "done",
        detail: "stop-loss = 4",
      },
      {
        type: "ErrorRaised",
        atMs: at + 8_000,
        code: "market_disconnected",
        message: "market data disconnected: idle",
      },
      { type: "RunStopped", atMs: at + 20_000 + 2 * HOUR_MS, mode: "paper", uptimeMs: 7_500_000 },
    ];
    for (const e of events) await o.journal(e);
    o.start({ notify: { ...DEFAULT_NOTIFY, order: "off", command: "silent", fill: "on" } });
    assert.ok(await o.until(() => o.texts().length === 11));
    await new Promise((r) => setTimeout(r, 100));
    const sent = o.fake.callsOf("sendMessage").filter((c) => c.status === 200);
    assert.ok(sent.every((c) => c.params.chat_id === OWNER));
    assert.deepEqual(sent.map((c) => c.params.disable_notification), [
      false,
      false,
      false,
      false,
      false,
      false,
      false,
      false,
      true,
      false,
      false,
    ]);
    assert.deepEqual(o.texts().map((t) => t.replace(/\n\(delayed: .*\)$/, "")), [
      "Bot started: paper, KRW-BTC, KRW-ETH, bollinger 5m\n" +
      "The previous run did not stop cleanly (crash or kill): state was recovered.",
      "Signal BUY KRW-BTC: #1",
      "Filled: BUY 0.001 BTC @ 50,000,000 KRW (KRW-BTC)\n" +
      "amount 50,000 KRW · fee 25.00 KRW · slippage +2.0 bps vs the price decided at 49,990,000",
      "Stop loss hit on KRW-BTC at 47,500,000 KRW: selling",
      "Filled: SELL 0.001 BTC @ 47,450,000 KRW (KRW-BTC)\n" +
      "amount 47,450 KRW · fee 23.73 KRW · slippage +10.5 bps vs the stop loss at 47,500,000",
      "Account daily loss limit reached: equity 950,000 KRW (-5.00% from the day's start " +
      "1,000,000 KRW): no new entries on any market today",
      "Error order_unresolved: left UNKNOWN",
      "Safe mode ON: no new entries (ledger mismatch)",
      "Command by ctl: set stop-loss 4: done (stop-loss = 4)",
      "Market data: market data disconnected: idle",
      "Bot stopped cleanly (paper, up 2 h 5 min)",
    ]);
  });
});

Deno.test("a clean stop first delivers what the journal already holds (the run's own end)", async () => {
  await withOutboxWorld(async (o) => {
    o.start({ clock: WALL_CLOCK, closeGraceMs: 3_000 });
    await o.journal(signal(1, Date.now()));
    assert.ok(await o.until(() => o.texts().length === 1));
    // Journaled without a notify (as `recordRunEnd` does), just before the stop.
    await o.store.recordEvent({ type: "RunStopped", atMs: Date.now(), mode: "paper", uptimeMs: 0 });
    await o.stop();
    assert.deepEqual(o.texts(), [
      "Signal BUY KRW-BTC: #1",
      "Bot stopped cleanly (paper, up 0 min)",
    ]);
  });
});

/** A Bot API that answers `sendMessage` with `answers` in turn (then ok), recording the texts. */
async function scriptedBotApi(answers: readonly { code: number; description: string }[]) {
  const texts: string[] = [];
  let call = 0;
  const listening = Promise.withResolvers<number>();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: (a) => listening.resolve(a.port) },
    async (req) => {
      const body = await req.json() as { text: string };
      const answer = answers[call++];
      if (answer !== undefined) {
        return Response.json({
          ok: false,
          error_code: answer.code,
          description: answer.description,
        }, {
          status: answer.code,
        });
      }
      texts.push(body.text);
      const message = { message_id: texts.length, date: 0, chat: { id: OWNER, type: "private" } };
      return Response.json({ ok: true, result: { ...message, text: body.text } });
    },
  );
  return {
    apiRoot: `http://127.0.0.1:${await listening.promise}`,
    texts,
    close: () => server.shutdown(),
  };
}

Deno.test("400 chat not found (the owner never opened the chat) waits; another 400 sends a stand-in", async () => {
  await withOutboxWorld(async (o) => {
    const api = await scriptedBotApi([
      { code: 400, description: "Bad Request: chat not found" },
      { code: 400, description: "Bad Request: chat not found" },
      { code: 400, description: "Bad Request: can't parse entities" },
    ]);
    try {
      await o.journal(signal(1, START_MS));
      await o.journal(signal(2, START_MS + 1));
      const worker = startOutbox({
        journal: o.stream,
        cursor: o.cursor,
        api: new Api(o.fake.token, { apiRoot: api.apiRoot, sensitiveLogs: false }),
        clock: o.clock,
        log: o.log,
        random: () => 0.5,
      }, { chatId: OWNER, pollMs: 20, firstStartFromMs: 0 });
      assert.ok(await o.until(() => api.texts.length === 2));
      await worker.close();
      assert.deepEqual(api.texts, [
        "SignalRaised ×1 at 2026-12-05 00:00:00 UTC: refused by Telegram",
        "Signal BUY KRW-BTC: #2",
      ]);
      assert.equal(worker.stats().failures, 3);
      assert.equal(
        o.log.lines.filter((l) => l.message === "telegram: notification refused by Telegram")
          .length,
        1,
      );
    } finally {
      await api.close();
    }
  });
});
