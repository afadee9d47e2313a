import assert from "node:assert/strict";
import { CloseRounds } from "../../engine/trader_close_round.ts";
import type { Clock } from "../../engine/ports.ts";

const MARKETS = ["KRW-BTC", "KRW-ETH", "KRW-XRP"];
const CLOSE_MS = 1_800_000;
const WAIT_MS = 10_000;

/** A clock moved by hand: a sleep ends once the clock passes it (or on abort). */
function manualClock(): Clock & { advance(ms: number): void; sleeping(): number } {
  let now = 0;
  const sleepers = new Set<{ atMs: number; wake: () => void }>();
  return {
    nowMs: () => now,
    sleep: (ms, signal) =>
      new Promise((resolve) => {
        const sleeper = { atMs: now + ms, wake: () => done() };
        const done = () => {
          sleepers.delete(sleeper);
          resolve();
        };
        sleepers.add(sleeper);
        signal?.addEventListener("abort", done, { once: true });
      }),
    advance(ms) {
      now += ms;
      for (const s of [...sleepers]) if (s.atMs <= now) s.wake();
    },
    sleeping: () => sleepers.size,
  };
}

/** Lets pending promise callbacks run. */
function flush(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

Deno.test("CloseRounds grants the entries of one close in the account's market order, whoever asked first", async () => {
  const clock = manualClock();
  const rounds = new CloseRounds();
  const granted: string[] = [];
  const ask = (market: string) =>
    rounds.turn(market, { closeMs: CLOSE_MS, markets: MARKETS, clock, waitMs: WAIT_MS })
      .then((done) => {
        granted.push(market);
        return done;
      });
  const xrp = ask("KRW-XRP");
  const eth = ask("KRW-ETH");
  await flush();
  assert.deepEqual(granted, [], "BTC has not reported the close: nobody goes");
  assert.deepEqual(rounds.waiting().sort(), ["KRW-ETH", "KRW-XRP"]);
  rounds.arrive("KRW-BTC", CLOSE_MS);
  await flush();
  assert.deepEqual(granted, ["KRW-ETH"], "one at a time, the first listed first");
  (await eth)();
  await flush();
  assert.deepEqual(granted, ["KRW-ETH", "KRW-XRP"]);
  (await xrp)();
  assert.equal(rounds.openedByDeadline, 0);
  assert.equal(clock.sleeping(), 0, "the deadline's sleep ended with the round");
});

Deno.test("CloseRounds: a market that never reports the close holds the others back only until the deadline", async () => {
  const clock = manualClock();
  const rounds = new CloseRounds();
  const granted: string[] = [];
  const ask = (market: string) =>
    rounds.turn(market, { closeMs: CLOSE_MS, markets: MARKETS, clock, waitMs: WAIT_MS })
      .then((done) => {
        granted.push(market);
        done();
      });
  const xrp = ask("KRW-XRP");
  rounds.arrive("KRW-ETH", CLOSE_MS);
  clock.advance(WAIT_MS - 1);
  await flush();
  assert.deepEqual(granted, [], "still waiting for BTC");
  clock.advance(1);
  await xrp;
  assert.deepEqual(granted, ["KRW-XRP"]);
  assert.equal(rounds.openedByDeadline, 1);
  // BTC's close comes late: its entry goes at once (the round is open).
  await ask("KRW-BTC");
  assert.deepEqual(granted, ["KRW-XRP", "KRW-BTC"]);
});

Deno.test("CloseRounds: a later close reported counts for an earlier one (a market without that candle)", async () => {
  const clock = manualClock();
  const rounds = new CloseRounds();
  const eth = rounds.turn("KRW-ETH", {
    closeMs: CLOSE_MS,
    markets: MARKETS,
    clock,
    waitMs: WAIT_MS,
  });
  rounds.arrive("KRW-BTC", CLOSE_MS + 1_800_000);
  rounds.arrive("KRW-XRP", CLOSE_MS);
  (await eth)();
  assert.equal(rounds.openedByDeadline, 0);
  assert.deepEqual(rounds.waiting(), []);
});

Deno.test("CloseRounds: closes are separate rounds; a done called twice lets only one go", async () => {
  const clock = manualClock();
  const rounds = new CloseRounds();
  const markets = ["KRW-BTC", "KRW-ETH"];
  const order: string[] = [];
  const ask = (market: string, closeMs: number) =>
    rounds.turn(market, { closeMs, markets, clock, waitMs: WAIT_MS }).then((done) => {
      order.push(`${market}@${closeMs}`);
      return done;
    });
  const a = ask("KRW-ETH", CLOSE_MS);
  const b = ask("KRW-BTC", CLOSE_MS);
  const doneB = await b;
  await flush();
  assert.deepEqual(order, [`KRW-BTC@${CLOSE_MS}`]);
  doneB();
  doneB();
  const doneA = await a;
  const c = ask("KRW-BTC", 2 * CLOSE_MS);
  await flush();
  assert.deepEqual(order, [`KRW-BTC@${CLOSE_MS}`, `KRW-ETH@${CLOSE_MS}`], "ETH has not closed");
  rounds.arrive("KRW-ETH", 2 * CLOSE_MS);
  (await c)();
  doneA();
  assert.equal(order.length, 3);
});
