/**
 * The market stream against the real sandbox over real sockets: 25 hours of real 1-minute
 * KRW-BTC data replayed fast through 100 injected disconnects (clean close, abrupt close without
 * a close frame, silent stall, refused upgrade), then the final candles are compared with the
 * reference (the CSV shifted by the replay's day offset): no gap, no duplicate, every value exact.
 * Stall detection time, the backoff schedule and the connect limit are asserted on the way.
 */

import assert from "node:assert/strict";
import { loadCandleFile } from "../../../../engine/adapters/candle_file.ts";
import { createMarketStream, marketRequest } from "../../../../engine/adapters/upbit/ws_client.ts";
import {
  backfillMinuteCandles,
  UpbitRestClient,
} from "../../../../engine/adapters/upbit/rest_client.ts";
import { backoffDelayMs, openDenoSocket } from "../../../../engine/adapters/upbit/ws_connection.ts";
import { createSandbox } from "../../../../engine/sandbox/mod.ts";
import { collect, delay, ONE_MINUTE_FILE, seededRandom } from "./ws_harness_test.ts";

const MINUTE = 60_000;
const STALL_MS = 300;
const BACKOFF = { baseMs: 20, maxMs: 320, jitter: 0.5, resetAfterMs: 150 };
type Fault = "clean" | "abrupt" | "stall" | "refused";
/** Mostly clean/abrupt/stall in turn; every 25th a refused upgrade (each costs ~2 s real). */
const FAULTS: readonly Fault[] = Array.from(
  { length: 100 },
  (_, i) => i % 25 === 24 ? "refused" : (["clean", "abrupt", "stall"] as const)[i % 3] as Fault,
);
const count = (f: Fault) => FAULTS.filter((x) => x === f).length;

Deno.test({
  name:
    "market stream: 25 h of 1m data through 100 disconnects = reference candles, 0 gaps, 0 dups",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const sb = await createSandbox({
      port: 0,
      manualClock: true,
      dataFiles: [ONE_MINUTE_FILE],
      startAt: "2022-06-01T00:00:00Z",
    });
    const attempts: number[] = [];
    const random = seededRandom(7);
    // The REST engineer's client does the back-fill (paged `/v1/candles/minutes/1`).
    const rest = new UpbitRestClient({ restUrl: sb.restUrl });
    let historyCalls = 0;
    const history = (market: string, range: { fromMs: number; toMs: number }) => {
      historyCalls++;
      return backfillMinuteCandles(rest, market, range);
    };
    const warnings: string[] = [];
    const stream = createMarketStream({
      url: sb.wsUrl,
      markets: ["KRW-BTC"],
      history,
      warmupMinutes: 200,
      marketNowMs: () => sb.replay.nowMs(),
      pingIntervalMs: 100,
      stallTimeoutMs: STALL_MS,
      backoff: BACKOFF,
      random,
      logger: { warn: (m) => warnings.push(m) },
      openSocket(url, init) {
        attempts.push(performance.now());
        return openDenoSocket(url, init);
      },
    });
    const events = collect(stream.events());
    const startMs = sb.replay.nowMs();
    const stallDetections: number[] = [];
    try {
      await events.waitFor((e) => e.kind === "backfilled");
      for (let i = 0; i < FAULTS.length; i++) {
        // Live period: 12 minutes of data, one minute at a time.
        for (let s = 0; s < 12; s++) {
          sb.replay.advanceBy(MINUTE);
          await delay(1);
        }
        const from = events.items.length;
        const fault = FAULTS[i] as Fault;
        const t0 = performance.now();
        if (fault === "stall") sb.faults.ws.stall(true);
        else if (fault === "refused") {
          // In a fresh connect window, spend the IP's 5 connects/s: the client's next upgrades
          // are refused (429: error + close) until the window passes.
          await delay(1_000);
          const raw: WebSocket[] = [];
          for (let k = 0; k < 5; k++) {
            const w = new WebSocket(sb.wsUrl);
            const opened = await new Promise<boolean>((r) => {
              w.onopen = () => r(true);
              w.onclose = () => r(false);
            });
            assert.ok(opened, "a raw socket within the budget opens");
            raw.push(w);
          }
          for (const w of raw) w.close();
          sb.faults.ws.dropAll("clean");
        } else sb.faults.ws.dropAll(fault);
        const down = await events.waitFor((e) => e.kind === "disconnected", { from });
        if (fault === "stall") {
          stallDetections.push(performance.now() - t0);
          assert.equal(down.kind === "disconnected" && down.cause, "stall");
          sb.faults.ws.stall(false);
        }
        // Outage: 3 minutes the stream never sees; the back-fill must bring them.
        sb.replay.advanceBy(3 * MINUTE);
        await events.waitFor((e) => e.kind === "backfilled", { from, ms: 10_000 });
      }
      // Let the last bucket close, then read until the stream has caught up with the data.
      sb.replay.advanceBy(5 * MINUTE);
      const lastStart = Math.floor(sb.replay.nowMs() / MINUTE) * MINUTE - 2 * MINUTE;
      await events.waitFor((e) => e.kind === "candle" && e.candle.startMs >= lastStart);
    } finally {
      await stream.close();
      await events.done;
      await sb.close();
    }

    // 1. Candles equal the reference exactly: no gap, no duplicate, every OHLCV value.
    const candles = events.items.flatMap((e) => e.kind === "candle" ? [e] : []);
    const starts = candles.map((c) => c.candle.startMs);
    for (let i = 1; i < starts.length; i++) {
      assert.ok(starts[i]! > starts[i - 1]!, `out of order or duplicate at ${i}`);
    }
    const first = starts[0]!;
    const last = starts[starts.length - 1]!;
    assert.equal(first, Math.floor(startMs / MINUTE) * MINUTE - 200 * MINUTE);
    assert.ok(last - startMs >= 24 * 3_600_000, `covered ${(last - startMs) / 3_600_000} h`);
    const reference = (await loadCandleFile(ONE_MINUTE_FILE))
      .map((c) => ({ ...c, startMs: c.startMs + sb.replay.shiftMs }))
      .filter((c) => c.startMs >= first && c.startMs <= last);
    assert.equal(candles.length, reference.length, "candle count (gaps or duplicates)");
    assert.deepEqual(candles.map((c) => c.candle), reference);
    const byOrigin = Object.groupBy(candles, (c) => c.origin);
    assert.ok((byOrigin.backfill?.length ?? 0) >= 100 * 3, "back-fill supplied the outages");
    assert.ok((byOrigin.stream?.length ?? 0) >= 100 * 8, "the stream supplied the rest");

    // 2. Every stall was detected within the configured time (+ one scheduling slice).
    assert.equal(stallDetections.length, count("stall"));
    for (const ms of stallDetections) assert.ok(ms <= STALL_MS + 100, `stall seen after ${ms} ms`);

    // 3. Backoff: each plan's delay is the formula at its attempt; healthy links reset it.
    const plans = events.items.flatMap((e) => e.kind === "reconnecting" ? [e.plan] : []);
    assert.ok(plans.length >= FAULTS.length + 2 * count("refused"), `${plans.length} plans`);
    plans.forEach((p, i) => {
      assert.equal(p.delayMs, backoffDelayMs(p.attempt, { backoff: BACKOFF, r: random.draws[i]! }));
      // A link that stayed up for resetAfterMs resets the count; anything else adds one.
      const expected = p.upMs >= BACKOFF.resetAfterMs ? 0 : (plans[i - 1]?.attempt ?? -1) + 1;
      assert.equal(p.attempt, expected, `plan ${i}: ${JSON.stringify(p)}`);
    });
    // Both branches happen: healthy links reset, short-lived ones keep climbing.
    assert.ok(plans.filter((p) => p.upMs >= BACKOFF.resetAfterMs).length >= 30, "resets");
    assert.ok(plans.some((p) => p.upMs > 0 && p.upMs < BACKOFF.resetAfterMs && p.attempt > 0));
    const failed = plans.filter((p) => p.cause === "connect_failed");
    assert.ok(failed.length >= 2 * count("refused"), `${failed.length} refused upgrades`);
    assert.ok(failed.some((p) => p.attempt >= 2), "repeated refusals back off further");
    assert.ok(plans.every((p) => p.delayMs <= BACKOFF.maxMs));

    // 4. Never more than 5 connection attempts in any rolling second.
    for (let i = 5; i < attempts.length; i++) {
      assert.ok(attempts[i]! - attempts[i - 5]! >= 1000 - 1, `6 attempts within 1 s at ${i}`);
    }
    const status = stream.status();
    assert.equal(status.reconnects, FAULTS.length);
    assert.equal(status.stalls, count("stall"));
    assert.equal(status.malformed, 0);
    assert.equal(status.finalCandles, candles.length);
    assert.equal(warnings.filter((w) => w.includes("back-fill")).length, 0);
    assert.equal(historyCalls, FAULTS.length + 1, "one back-fill per (re)connect");
  },
});

Deno.test("marketRequest() puts every type and code in one message, format last", () => {
  const text = marketRequest("t", {
    markets: ["KRW-BTC", "KRW-ETH"],
    types: ["ticker", "trade", "orderbook", "candle.1m"],
    orderbookDepth: 5,
    format: "DEFAULT",
  });
  assert.deepEqual(JSON.parse(text), [
    { ticket: "t" },
    { type: "ticker", codes: ["KRW-BTC", "KRW-ETH"] },
    { type: "trade", codes: ["KRW-BTC", "KRW-ETH"] },
    { type: "orderbook", codes: ["KRW-BTC.5", "KRW-ETH.5"] },
    { type: "candle.1m", codes: ["KRW-BTC", "KRW-ETH"] },
    { format: "DEFAULT" },
  ]);
});
