/**
 * The telemetry module: REST answers counted by Upbit's rate-limit group (a real 429 from the
 * sandbox lands in its group's counter), the loop-lag histogram and data age, orders by state and
 * the order trace's log lines (each carrying its intent), bounded series, escaped labels.
 */

import assert from "node:assert/strict";
import { UpbitRestClient } from "../../engine/adapters/upbit/rest_client.ts";
import { createSandbox } from "../../engine/sandbox/mod.ts";
import { createLogger } from "../../engine/log.ts";
import type { Intent } from "../../engine/ports.ts";
import {
  escapeLabel,
  LAG_BUCKETS_S,
  MAX_SERIES,
  orderTrace,
  PromText,
  Telemetry,
} from "../../engine/telemetry.ts";
import { newIntent } from "./_order_fixtures.ts";
import { StepClock, T0_MS } from "./_trader_fixtures.ts";
import { samplesOf } from "../_metrics_text.ts";

Deno.test("a 429 from the sandbox is counted in its rate-limit group, beside the 2xx calls", async () => {
  const sandbox = await createSandbox({ port: 0, seed: 1 });
  try {
    const clock = new StepClock();
    const telemetry = new Telemetry({ clock });
    const rest = new UpbitRestClient({
      restUrl: sandbox.restUrl,
      onAnswer: (group, status) => telemetry.restAnswer(group, status),
      backoffBaseMs: 1,
    });
    await rest.orderbooks(["KRW-BTC"]);
    sandbox.faults.rest.arm({ kind: "rate_limited", path: "/v1/candles/minutes/1", count: 1 });
    const now = sandbox.replay.nowMs();
    // The read retries after the 429 and succeeds.
    await rest.candleHistory("KRW-BTC", "1m", { fromMs: now - 10 * 60_000, toMs: now });
    const s = samplesOf(await telemetry.text());
    assert.equal(s.get('upbit_trader_rest_rate_limited_total{group="candle",status="429"}'), 1);
    assert.equal(s.get('upbit_trader_rest_requests_total{group="candle",code="429"}'), 1);
    assert.ok(s.get('upbit_trader_rest_requests_total{group="candle",code="2xx"}')! >= 1);
    assert.equal(s.get('upbit_trader_rest_requests_total{group="orderbook",code="2xx"}'), 1);
    assert.ok(!s.has('upbit_trader_rest_rate_limited_total{group="orderbook",status="429"}'));
    // No answer at all (nothing listens there) is an error, not a status.
    const dead = new UpbitRestClient({
      restUrl: "http://127.0.0.1:1",
      onAnswer: (group, status) => telemetry.restAnswer(group, status),
      maxReadRetries: 0,
    });
    await assert.rejects(dead.tickers(["KRW-BTC"]));
    const after = samplesOf(await telemetry.text());
    assert.equal(after.get('upbit_trader_rest_requests_total{group="ticker",code="error"}'), 1);
    // A connection reset mid-answer (its head said 200) is an error too, not a 2xx.
    sandbox.faults.rest.arm({ kind: "lose_response", mode: "reset", path: "/v1/ticker" });
    const once = new UpbitRestClient({
      restUrl: sandbox.restUrl,
      onAnswer: (group, status) => telemetry.restAnswer(group, status),
      maxReadRetries: 0,
    });
    await assert.rejects(once.tickers(["KRW-BTC"]));
    const reset = samplesOf(await telemetry.text());
    assert.equal(reset.get('upbit_trader_rest_requests_total{group="ticker",code="error"}'), 2);
    assert.ok(!reset.has('upbit_trader_rest_requests_total{group="ticker",code="2xx"}'));
  } finally {
    await sandbox.close();
  }
});

Deno.test("loop lag is a cumulative histogram per market; data age counts from the newest data", async () => {
  const clock = new StepClock();
  const telemetry = new Telemetry({ clock });
  const price = (market: string, lagMs: number) =>
    telemetry.handled({
      kind: "price",
      market,
      price: 1,
      atMs: clock.now - lagMs,
      source: "trade",
    });
  price("KRW-BTC", 3); // 0.003 s: first bucket
  price("KRW-BTC", 40); // 0.04 s: the 0.05 bucket
  price("KRW-BTC", 60_000); // 60 s: only +Inf
  telemetry.handled({ kind: "connection", connected: false, reason: "closed" } as never);
  clock.now += 5_000;
  const s = samplesOf(await telemetry.text());
  const bucket = (le: string) =>
    s.get(`upbit_trader_loop_lag_seconds_bucket{market="KRW-BTC",le="${le}"}`);
  assert.equal(bucket("0.005"), 1);
  assert.equal(bucket("0.025"), 1);
  assert.equal(bucket("0.05"), 2);
  assert.equal(bucket(String(LAG_BUCKETS_S.at(-1))), 2);
  assert.equal(bucket("+Inf"), 3);
  assert.equal(s.get('upbit_trader_loop_lag_seconds_count{market="KRW-BTC"}'), 3);
  assert.ok(
    Math.abs(s.get('upbit_trader_loop_lag_seconds_sum{market="KRW-BTC"}')! - 60.043) < 1e-9,
  );
  // The newest data came 3 ms before the first handled price, 5 s ago.
  assert.equal(s.get('upbit_trader_data_age_seconds{market="KRW-BTC"}'), 5.003);
  // A candle is data too (its close), though it has no lag of its own.
  telemetry.handled({
    kind: "candle",
    market: "KRW-ETH",
    candle: {
      startMs: clock.now - 60_000,
      open: 1,
      high: 1,
      low: 1,
      close: 1,
      volume: 1,
      value: 1,
    },
  });
  const t = samplesOf(await telemetry.text());
  assert.equal(t.get('upbit_trader_data_age_seconds{market="KRW-ETH"}'), 0);
  assert.equal(t.get('upbit_trader_loop_lag_seconds_count{market="KRW-ETH"}'), 0);
});

const INTENT: Intent = newIntent({
  id: "KRW-BTC:bid:bb@1",
  signalId: "bb@1",
  identifier: "utabc",
});

Deno.test("the order trace logs each step with the intent's id and counts orders by state", async () => {
  const lines: string[] = [];
  const logger = createLogger({ format: "json", write: (l) => lines.push(l), nowMs: () => T0_MS });
  const telemetry = new Telemetry({ clock: new StepClock() });
  telemetry.watchOrders(() => Promise.resolve([{ state: "OPEN" }, { state: "UNKNOWN" }]));
  const trace = orderTrace({ logger, telemetry });
  let intent = INTENT;
  const step = (next: Partial<Intent>) => {
    const from = intent.state;
    intent = { ...intent, ...next };
    trace.stored(intent, from);
  };
  trace.stored(intent, undefined);
  step({ state: "UNKNOWN", sends: 1 });
  trace.noted(intent, "send 1 failed: RateLimitedError: too many; looking it up");
  step({ state: "UNKNOWN", sends: 2 });
  step({ state: "OPEN", uuid: "u-1" });
  step({ state: "FILLED", filledVolume: 10n ** 6n, filledFunds: 10_000n * 10n ** 8n });
  const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(parsed.map((p) => p.msg), [
    "order KRW-BTC:bid:bb@1: intent written: buy KRW-BTC, identifier utabc",
    "order KRW-BTC:bid:bb@1: sending (send 1)",
    "order KRW-BTC:bid:bb@1: send 1 failed: RateLimitedError: too many; looking it up",
    "order KRW-BTC:bid:bb@1: resending (send 2)",
    "order KRW-BTC:bid:bb@1: open on the exchange as u-1",
    "order KRW-BTC:bid:bb@1: filled: 0.01 BTC for 10,000 KRW",
  ]);
  assert.ok(parsed.every((p) => p.intent === INTENT.id), lines.join(""));
  const s = samplesOf(await telemetry.text());
  assert.equal(s.get('upbit_trader_orders_total{state="NEW"}'), 1);
  assert.equal(s.get('upbit_trader_orders_total{state="UNKNOWN"}'), 1, "a resend is no new state");
  assert.equal(s.get('upbit_trader_orders_total{state="OPEN"}'), 1);
  assert.equal(s.get('upbit_trader_orders_total{state="FILLED"}'), 1);
  assert.equal(s.get('upbit_trader_orders_total{state="REJECTED"}'), 0);
  assert.equal(s.get('upbit_trader_orders_in_flight{state="OPEN"}'), 1);
  assert.equal(s.get('upbit_trader_orders_in_flight{state="NEW"}'), 0);
});

Deno.test("fills, the stream's counters, the outbox backlog and memory are rendered", async () => {
  const telemetry = new Telemetry({
    clock: new StepClock(),
    memory: () => ({ rss: 100, heapUsed: 20, heapTotal: 30 }),
  });
  for (const funds of ["5000.5", "4999.5"]) {
    telemetry.noteEvent({
      type: "OrderFilled",
      atMs: T0_MS,
      market: "KRW-BTC",
      side: "bid",
      orderUuid: "o",
      tradeUuid: funds,
      price: "1",
      volume: "1",
      funds,
      fee: "0",
    });
  }
  telemetry.watchStream(() => ({
    connected: true,
    reconnects: 2,
    failedConnects: 1,
    stalls: 0,
    messages: 99,
    malformed: 3,
  }));
  const journal = ["1", "2", "3", "4"].map((id) => ({ id, event: {} }));
  telemetry.watchOutbox({
    stats: () => ({ cursor: "2", sent: 7, failures: 1 }),
    journal: {
      read: (o) =>
        Promise.resolve(
          journal.filter((e) => o.afterId === undefined || e.id > o.afterId) as never,
        ),
    },
  });
  const s = samplesOf(await telemetry.text());
  assert.equal(s.get('upbit_trader_fills_total{market="KRW-BTC",side="bid"}'), 2);
  assert.equal(s.get('upbit_trader_fill_funds_krw_total{market="KRW-BTC",side="bid"}'), 10000);
  assert.equal(s.get("upbit_trader_ws_connected"), 1);
  assert.equal(s.get("upbit_trader_ws_reconnects_total"), 2);
  assert.equal(s.get("upbit_trader_ws_messages_total"), 99);
  assert.equal(s.get("upbit_trader_outbox_depth"), 2);
  assert.equal(s.get("upbit_trader_outbox_sent_total"), 7);
  assert.equal(s.get("upbit_trader_rss_bytes"), 100);
  assert.equal(s.get("upbit_trader_heap_used_bytes"), 20);
});

Deno.test("a family keeps at most MAX_SERIES series; label values are escaped", async () => {
  const telemetry = new Telemetry({ clock: new StepClock() });
  for (let i = 0; i < MAX_SERIES * 4; i++) telemetry.restAnswer(`g${i}`, 200);
  const text = await telemetry.text();
  const series = text.split("\n").filter((l) => l.startsWith("upbit_trader_rest_requests_total{"));
  assert.equal(series.length, MAX_SERIES);
  assert.equal(escapeLabel('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
  const doc = new PromText().family("x", "gauge", "X.", [[{ m: 'q"\n' }, 1], [{}, null]]).text();
  assert.equal(
    doc,
    '# HELP upbit_trader_x X.\n# TYPE upbit_trader_x gauge\nupbit_trader_x{m="q\\"\\n"} 1\n',
  );
});
