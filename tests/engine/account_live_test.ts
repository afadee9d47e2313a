/**
 * The account issue's acceptance run: `live` (the real command, in process) against the sandbox
 * over real sockets, replaying the five bundled 30-minute markets accelerated, with ONE 100,000
 * KRW cap and settings that trade often.
 *
 * - Over 12 replayed hours, the KRW committed (positions at cost + open buy orders) never exceeds
 *   the cap at any sampled moment. It is measured at the EXCHANGE (the sandbox's holdings:
 *   coins × avg_buy_price plus the fee, and the KRW locked by open bids), independently of the
 *   bot's own books, and checked again on the bot's ledgers after the stop.
 * - With a low account daily loss limit, once the limit is hit no market enters again.
 * - The status read model's per-market P&L adds up to the account's.
 */

import assert from "node:assert/strict";
import { runTradingCommand, sandboxClock } from "../../engine/cli/run_command.ts";
import { runCtlCommand } from "../../engine/cli/ctl_command.ts";
import type { BotStatusJson } from "../../engine/mod.ts";
import { KvStore } from "../../engine/adapters/kv_store.ts";
import {
  applyBps,
  formatUnits,
  mulUnits,
  parseUnits,
  SCALE,
  type Units,
} from "../../engine/core/money.ts";
import { committedKrw } from "../../engine/core/portfolio.ts";
import { createSandbox, DEFAULT_ACCOUNT, type Sandbox } from "../../engine/sandbox/mod.ts";
import * as trader from "../../engine/trader.ts";
import { sandboxEnv } from "./adapters/upbit/_sandbox.ts";

const MARKETS = ["KRW-BTC", "KRW-ETH", "KRW-XRP", "KRW-SOL", "KRW-DOGE"];
const FILES = MARKETS.map((m) =>
  decodeURIComponent(
    new URL(
      `../../data/upbit-${m}-30m-${m === "KRW-BTC" ? "20240123" : "20241023"}-20250127.csv`,
      import.meta.url,
    )
      .pathname,
  )
);
const CAP_KRW = 100_000;
const HOUR_MS = 3_600_000;
const SPEED = 720;
const FEE_BPS = 5;

/** Settings that trade often on 1-minute candles: a tight band, tight stop and target. */
const TRADE_OFTEN = [
  "--market",
  MARKETS.join(","),
  "--timeframe",
  "1m",
  "--strategy",
  "bb",
  "--period",
  "10",
  "--std",
  "1",
  "--stop-loss",
  "0.3",
  "--take-profit",
  "0.3",
  "--max-daily-loss",
  "0",
  "--capital",
  String(CAP_KRW),
  "--sizing",
  "fixed",
  "--sizing-value",
  "40000",
  // At 720x, 120 market seconds are 0.17 real seconds: a GC pause or a busy machine must not
  // read as stale data (3600 market seconds are 5 real seconds).
  "--stale-after",
  "3600",
  "--i-understand-real-money",
  "--log-format",
  "json",
];

/**
 * Starts a sandbox replaying from 2024-11-10 01:00 UTC (all five files cover it), so that a run
 * of up to 23 hours stays within one Upbit day (00:00 UTC), the daily loss limit's period.
 */
function sandboxNow(): Promise<Sandbox> {
  return createSandbox({
    port: 0,
    speed: SPEED,
    dataFiles: FILES,
    startAt: Date.UTC(2024, 10, 10, 1),
    rateLimits: false,
    balances: { KRW: "10000000" },
  });
}

/** KRW committed as the exchange sees it: coins at avg_buy_price with the fee, KRW locked by bids. */
function exchangeCommitted(sandbox: Sandbox): Units {
  let sum = 0n;
  for (const [currency, h] of sandbox.accounts.holdings(DEFAULT_ACCOUNT)) {
    if (currency === "KRW") {
      sum += h.locked;
      continue;
    }
    const funds = mulUnits(h.avgBuyPrice, h.balance + h.locked, "ceil");
    sum += funds + applyBps(funds, FEE_BPS, "ceil");
  }
  return sum;
}

interface Run {
  /** `ctl status --json` and `ctl status` asked of the running bot halfway through. */
  readonly midStatus: { readonly json: string; readonly text: string };
  readonly maxCommitted: Units;
  readonly samples: number;
  /** The most `ctl status --json` ever said the account commits, over `statusSamples` asks. */
  readonly maxStatusCommitted: Units;
  readonly statusSamples: number;
  readonly output: string;
  readonly code: number;
  readonly replayedMs: number;
}

/** Runs `live` against `sandbox` until `replayMs` of market time passed, sampling the exchange. */
async function runLive(
  sandbox: Sandbox,
  options: { readonly kvPath: string; readonly replayMs: number; readonly args: readonly string[] },
): Promise<Run> {
  const stop = new AbortController();
  let output = "";
  const startMs = sandbox.replay.nowMs();
  let maxCommitted = 0n;
  let samples = 0;
  const midStatus = { json: "", text: "" };
  let asked: Promise<unknown> | undefined;
  let maxStatusCommitted = 0n;
  let statusSamples = 0;
  const ctlRun = async (args: string[]): Promise<{ code: number; out: string }> => {
    let out = "";
    const code = await runCtlCommand([...args, "--kv", options.kvPath], {
      stdout: (t) => out += t,
      stderr: (t) => out += t,
      env: {},
    });
    return { code, out };
  };
  const ctl = async (args: string[]): Promise<string> => {
    const { code, out } = await ctlRun(args);
    assert.equal(code, 0, out);
    return out;
  };
  // The user's view, asked in a loop all run long (fills land between the asks and during them).
  const looping = (async () => {
    while (!stop.signal.aborted) {
      const { code, out } = await ctlRun(["status", "--json"]);
      if (code === 0) {
        const committed = parseUnits((JSON.parse(out) as BotStatusJson).account.committedKrw);
        statusSamples++;
        if (committed > maxStatusCommitted) maxStatusCommitted = committed;
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();
  const sampler = setInterval(() => {
    const c = exchangeCommitted(sandbox);
    samples++;
    if (c > maxCommitted) maxCommitted = c;
    const elapsedMs = sandbox.replay.nowMs() - startMs;
    if (asked === undefined && elapsedMs >= options.replayMs / 2) {
      asked = (async () => {
        midStatus.json = await ctl(["status", "--json"]);
        midStatus.text = await ctl(["status"]);
      })();
    }
    if (elapsedMs >= options.replayMs && asked !== undefined) stop.abort();
  }, 20);
  try {
    const code = await runTradingCommand("live", [...options.args, "--kv", options.kvPath], {
      stdout: (t) => output += t,
      stderr: (t) => output += t,
      isTerminal: false,
      env: sandboxEnv(sandbox),
      interrupt: stop.signal,
      pid: Deno.pid,
      cwd: Deno.cwd(),
      // The bot runs on the market's (the sandbox's) time, as against Upbit in real time.
      clock: sandboxClock(sandbox, SPEED),
    }, trader);
    await asked;
    await looping;
    return {
      midStatus,
      maxCommitted,
      samples,
      maxStatusCommitted,
      statusSamples,
      output,
      code,
      replayedMs: sandbox.replay.nowMs() - startMs,
    };
  } finally {
    clearInterval(sampler);
  }
}

/**
 * Runs `live` on a fresh sandbox into a temporary store named `kvName` (as `runLive`), asserts it
 * exited 0, then hands the run and its store to `check`; cleans everything up afterwards.
 */
async function withLiveRun(
  options: { readonly kvName: string; readonly replayMs: number; readonly args: readonly string[] },
  check: (run: Run, store: KvStore) => Promise<void>,
): Promise<void> {
  const sandbox = await sandboxNow();
  const dir = await Deno.makeTempDir();
  try {
    const kvPath = `${dir}/${options.kvName}`;
    const run = await runLive(sandbox, { kvPath, replayMs: options.replayMs, args: options.args });
    assert.equal(run.code, 0, run.output.slice(-2000));
    const kv = await Deno.openKv(kvPath);
    try {
      await check(run, new KvStore(kv));
    } finally {
      kv.close();
    }
  } finally {
    await sandbox.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** The status's per-market P&L adds up to the account's, and the account stays under the cap. */
function assertStatusAddsUp(json: string): BotStatusJson {
  const s = JSON.parse(json) as BotStatusJson;
  assert.deepEqual(s.markets.map((m) => m.market), MARKETS);
  const sum = (f: (m: BotStatusJson["markets"][number]) => string) =>
    s.markets.reduce((acc, m) => acc + parseUnits(f(m)), 0n);
  assert.equal(sum((m) => m.realizedPnl), parseUnits(s.account.realizedPnl));
  assert.equal(sum((m) => m.dailyPnl), parseUnits(s.account.dailyPnl));
  // Each amount is rounded to 1e-8 KRW on its own: the sum may differ by half a unit a market.
  assert.ok(s.markets.every((m) => m.pnl !== null) && s.account.pnl !== null, json);
  const pnl = sum((m) => m.pnl!);
  const gap = pnl - parseUnits(s.account.pnl!);
  assert.ok(gap <= BigInt(MARKETS.length) && -gap <= BigInt(MARKETS.length), `${pnl}`);
  assert.ok(s.markets.some((m) => parseUnits(m.pnl!) !== 0n), "no market has any P&L yet");
  assert.equal(s.account.capitalKrw, String(CAP_KRW));
  assert.ok(parseUnits(s.account.committedKrw) <= BigInt(CAP_KRW) * SCALE);
  return s;
}

Deno.test({
  name:
    "live on the sandbox, 5 markets, one 100,000 KRW cap, 12 replayed hours: never over the cap",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await withLiveRun({
      kvName: "live.kv",
      replayMs: 12 * HOUR_MS,
      args: [...TRADE_OFTEN, "--account-daily-loss", "0"],
    }, async (run, store) => {
      assert.ok(run.replayedMs >= 12 * HOUR_MS);
      const view = await store.accountView();
      const fills = await store.listFills();
      const buys = fills.filter((f) => f.side === "bid");
      const marketsTraded = new Set(buys.map((f) => f.market));
      const refusals = (await Promise.all(MARKETS.map((m) => store.listSignals(m)))).flat()
        .filter((s) => /not entered: the account commits/.test(s.reason));
      // deno-lint-ignore no-console -- the measured figure, for the report
      console.log(
        `account live run: ${(run.replayedMs / HOUR_MS).toFixed(1)} h replayed, ${run.samples} ` +
          `samples, max committed ${formatUnits(run.maxCommitted)} KRW (cap ${CAP_KRW}), ` +
          `${buys.length} buy fills on ${marketsTraded.size} markets, ${refusals.length} ` +
          `entries refused by the cap; committed at stop ${formatUnits(committedKrw(view))}`,
      );
      const why = new Map<string, number>();
      for (const m of MARKETS) {
        for (const sg of await store.listSignals(m)) {
          const k = sg.reason.replace(/^.*?; /, "").replace(/[\d.,]+/g, "N").slice(0, 70);
          why.set(k, (why.get(k) ?? 0) + 1);
        }
      }
      // deno-lint-ignore no-console -- the measured figure, for the report
      console.log(`signal outcomes: ${JSON.stringify(Object.fromEntries(why))}`);
      // It traded, on every market, and the cap bound more than once.
      // About 90 when the loops keep up (request pacing on the run's clock); 20 when they starve.
      assert.ok(buys.length >= 50, `only ${buys.length} buys`);
      const stale = [...why].filter(([k]) => k.includes("stale data")).reduce(
        (n, [, c]) => n + c,
        0,
      );
      assert.ok(stale <= 10, `${stale} entries refused as stale data: the loops fell behind`);
      assert.equal(marketsTraded.size, 5);
      assert.ok(refusals.length > 0, "the cap never had to refuse an entry");
      assert.ok(run.samples > 1_000);
      // `ctl status` asked of the running bot: per-market P&L adds up to the account's.
      const mid = assertStatusAddsUp(run.midStatus.json);
      assert.match(run.midStatus.text, /committed [\d,.]+ of the 100,000 KRW/);
      assert.match(run.midStatus.text, /P&L \(realized \+ unrealized, all markets\)/);
      // deno-lint-ignore no-console -- the measured figure, for the report
      console.log(
        `ctl status halfway: account P&L ${mid.account.pnl} KRW = sum of ${
          mid.markets.map((m) => `${m.market} ${m.pnl}`).join(" + ")
        }; realized ${mid.account.realizedPnl}; committed ${mid.account.committedKrw}`,
      );
      // deno-lint-ignore no-console -- the measured figure, for the report
      console.log(
        `ctl status --json in a loop: ${run.statusSamples} samples, max committed ${
          formatUnits(run.maxStatusCommitted)
        } KRW (cap ${CAP_KRW})`,
      );
      // The user's view never counts a won twice: at most the cap at every ask.
      assert.ok(run.statusSamples > 100, `${run.statusSamples}`);
      assert.ok(
        run.maxStatusCommitted <= BigInt(CAP_KRW) * SCALE,
        formatUnits(run.maxStatusCommitted),
      );
      // THE figure: never over the one cap, measured at the exchange.
      assert.ok(run.maxCommitted <= BigInt(CAP_KRW) * SCALE, formatUnits(run.maxCommitted));
      assert.ok(run.maxCommitted > 60_000n * SCALE, "the run never came near the cap");
      // After the stop, no reservation is left and the books hold no more than the cap.
      assert.equal(view.reservations.length, 0);
      assert.ok(committedKrw(view) <= BigInt(CAP_KRW) * SCALE);
    });
  },
});

Deno.test({
  name: "live on the sandbox: the account's daily loss limit stops entries on every market",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await withLiveRun({
      kvName: "loss.kv",
      replayMs: 8 * HOUR_MS,
      // A low limit forces the block within the run: 0.3% of the day's starting equity.
      args: [...TRADE_OFTEN, "--account-daily-loss", "0.3"],
    }, async (run, store) => {
      const events = await store.listEvents();
      const block = events.find((e) =>
        e.type === "RiskTriggered" && e.rule === "account_daily_loss_limit"
      );
      assert.ok(block !== undefined, "the account's loss limit never triggered");
      const guard = await store.getAccountGuard();
      assert.equal(guard?.blocked, true);
      const bids =
        (await store.listIntents(["NEW", "UNKNOWN", "OPEN", "FILLED", "CANCELLED", "REJECTED"]))
          .filter((i) => i.side === "bid");
      const before = bids.filter((i) => i.createdAtMs <= block.atMs);
      const after = bids.filter((i) => i.createdAtMs > block.atMs);
      const signals = (await Promise.all(MARKETS.map((m) => store.listSignals(m)))).flat();
      const refused = signals.filter((s) =>
        s.atMs > block.atMs && /not entered: the account's daily loss limit/.test(s.reason)
      );
      const refusedMarkets = new Set(refused.map((s) => s.market));
      // deno-lint-ignore no-console -- the measured figure, for the report
      console.log(
        `account loss run: limit hit after ${before.length} buys (${
          ((block.atMs - bids[0]!.createdAtMs) / 60_000).toFixed(0)
        } market minutes); after it: ${after.length} buys, ${refused.length} buy signals refused on ${refusedMarkets.size} markets`,
      );
      assert.ok(before.length > 0);
      const mid = assertStatusAddsUp(run.midStatus.json);
      assert.equal(mid.account.dailyLossBlocked, true, "halfway, the account is blocked");
      assert.match(run.midStatus.text, /account daily loss limit hit: entries blocked/);
      // No entry on ANY market after the block; buy signals kept coming and were refused.
      assert.equal(after.length, 0, after.map((i) => i.id).join(", "));
      assert.ok(refusedMarkets.size >= 3, [...refusedMarkets].join(","));
    });
  },
});
