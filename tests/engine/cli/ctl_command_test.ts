import assert from "node:assert/strict";
import { KvStore } from "../../../engine/adapters/kv_store.ts";
import { runCtlCommand } from "../../../engine/cli/ctl_command.ts";
import { u } from "../_order_fixtures.ts";
import { PAPER_RUN } from "../_operator_world.ts";

interface Out {
  code: number;
  stdout: string;
  stderr: string;
}

async function ctl(args: string[], env: Record<string, string> = {}): Promise<Out> {
  let stdout = "";
  let stderr = "";
  const code = await runCtlCommand(args, {
    stdout: (t) => stdout += t,
    stderr: (t) => stderr += t,
    env,
  });
  return { code, stdout, stderr };
}

/** A stopped bot's store: it ran KRW-BTC and KRW-ETH as bot "eth-bot" and holds ETH. */
async function stoppedBot(): Promise<{ dir: string; kv: string }> {
  const dir = await Deno.makeTempDir();
  const kv = `${dir}/bot.kv`;
  const db = await Deno.openKv(kv);
  const store = new KvStore(db);
  await store.putRunRecord({
    ...PAPER_RUN,
    botId: "eth-bot",
    traders: [
      { botId: "eth-bot-btc", market: "KRW-BTC" },
      { botId: "eth-bot-eth", market: "KRW-ETH" },
    ],
    timeframe: "1h",
    startedAtMs: Date.UTC(2026, 10, 24),
  });
  await store.openLedger("KRW-ETH", u("500000"));
  await store.applyFills({
    market: "KRW-ETH",
    side: "bid",
    orderUuid: "o1",
    intentId: undefined,
    paidFee: u("0"),
    trades: [{
      uuid: "t1",
      price: u("4000000"),
      volume: u("0.01"),
      funds: u("40000"),
      createdAtMs: Date.UTC(2026, 10, 24, 1),
    }],
    feeBps: 5,
    atMs: Date.UTC(2026, 10, 24, 1),
  });
  db.close();
  return { dir, kv };
}

Deno.test("ctl status on a stopped bot shows the markets it ran with, not MARKETS/BOT_ID", async () => {
  const { dir, kv } = await stoppedBot();
  const out = await ctl(["status", "--kv", kv, "--json"], { MARKETS: "KRW-BTC", BOT_ID: "other" });
  assert.equal(out.code, 0, out.stderr);
  const status = JSON.parse(out.stdout);
  assert.equal(status.botId, "eth-bot");
  assert.equal(status.running, false);
  assert.deepEqual(status.markets.map((m: { market: string }) => m.market), ["KRW-BTC", "KRW-ETH"]);
  assert.equal(status.markets[1].position.volume, "0.01", "the open ETH position is shown");
  assert.deepEqual(numericAmounts(status), [], "every amount in the JSON is a decimal string");
  assert.match(status.markets[0].equity, /^\d+(\.\d+)?$/);
  const text = await ctl(["status", "--kv", kv], { MARKETS: "KRW-BTC" });
  // No end recorded and the lock free: the last run did not stop cleanly.
  assert.match(
    text.stdout,
    /KRW-ETH \(bot eth-bot-eth\): stopped \(the run started 2026-11-24 00:00 UTC did not stop cleanly\); trading switch: on\n {2}position: 0\.01 @ /,
  );
  assert.doesNotMatch(text.stdout, /running/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("ctl set: a bad value is one line naming the parameter and the reason, exit 2", async () => {
  const { dir, kv } = await stoppedBot();
  const cases: [string[], RegExp][] = [
    [["set", "stop-loss", "150"], /^ctl: set: stop-loss: must be <= 99$/],
    [["set", "stop-loss", "-1"], /^ctl: set: stop-loss: must be >= 0$/],
    [["set", "stop-loss", "five"], /^ctl: set: stop-loss: expected a number$/],
    [["set", "take-profit", ""], /^ctl: set: value: must not be empty$/],
    [["set", "macd-fast", "3"], /^ctl: set: macd-fast: not a run-time parameter \(one of /],
    [["set", "fast", "3"], /^ctl: set: fast: not a parameter of strategy bb/],
    [["set", "period", "0"], /^ctl: set: period: /],
    [["set", "stop-loss"], /^ctl: set: expected a parameter and a value, e\.g\. ctl set/],
    [["unset"], /^ctl: unset: expected a parameter/],
    [["unset", "budget"], /^ctl: unset: budget: no override to remove$/],
  ];
  for (const [args, message] of cases) {
    const out = await ctl([...args, "--kv", kv]);
    assert.equal(out.code, 2, `${args.join(" ")}: ${out.stderr}`);
    assert.equal(out.stdout, "");
    assert.equal(out.stderr.split("\n").length, 2, `one line: ${out.stderr}`);
    assert.match(out.stderr.trimEnd(), message);
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("ctl set and unset are versioned; ctl params shows the values and the history", async () => {
  const { dir, kv } = await stoppedBot();
  const set = await ctl(["set", "stop-loss", "3", "--kv", kv]);
  assert.equal(set.code, 0, set.stderr);
  assert.match(set.stdout, /^stop-loss = 3 \(v1\); applied at the next candle close\n$/);
  assert.equal((await ctl(["set", "period", "30", "--kv", kv])).code, 0);
  assert.equal((await ctl(["unset", "stop-loss", "--kv", kv])).code, 0);
  const params = await ctl(["params", "--kv", kv]);
  assert.equal(params.code, 0, params.stderr);
  assert.match(params.stdout, /^run-time parameters \(version 3, strategy bb\):\n/);
  assert.match(params.stdout, /\n {2}stop-loss {7}\s+5\n/);
  assert.match(params.stdout, /\n {2}period {10}\s+30 {2}\(set at run time; start-up value 20\)\n/);
  assert.match(
    params.stdout,
    /history:\n {2}v1 \S+ \S+ ctl: stop-loss \(start-up\) -> 3\n {2}v2 \S+ \S+ ctl: period \(start-up\) -> 30\n {2}v3 \S+ \S+ ctl: stop-loss 3 -> \(start-up\)\n$/,
  );
  const json = JSON.parse((await ctl(["params", "--json", "--kv", kv])).stdout);
  assert.equal(json.history.length, 3);
  const audit = JSON.parse((await ctl(["audit", "--json", "--kv", kv])).stdout);
  assert.deepEqual(
    audit.map((r: { command: string; result: string }) => `${r.command}: ${r.result}`).sort(),
    ["set period 30: done", "set stop-loss 3: done", "unset stop-loss: done"],
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("ctl resume re-runs the safety checks: a corrupt ledger refuses it (exit 1), paused stays", async () => {
  const { dir, kv } = await stoppedBot();
  assert.equal((await ctl(["pause", "--kv", kv])).code, 0);
  const db = await Deno.openKv(kv);
  const entry = await db.get<Record<string, unknown>>(["ledger", "KRW-ETH"]);
  await db.set(["ledger", "KRW-ETH"], { ...entry.value, cash: "-99999999" });
  db.close();
  const out = await ctl(["resume", "--kv", kv]);
  assert.equal(out.code, 1, out.stderr);
  assert.match(out.stderr, /^ctl: resume: safety check failed: .*ledger.*KRW-ETH.*cash/);
  assert.equal(out.stderr.split("\n").length, 2);
  const status = JSON.parse((await ctl(["status", "--kv", kv, "--json"])).stdout);
  assert.equal(status.paused, true, "a refused resume leaves trading paused");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("ctl status on a cleanly stopped bot: when its run ended, the switch, no stale reason", async () => {
  const { dir, kv } = await stoppedBot();
  const db = await Deno.openKv(kv);
  const store = new KvStore(db);
  const run = await store.getRunRecord();
  await store.putRunRecord({ ...run!, endedAtMs: Date.UTC(2026, 10, 24, 15, 46, 30) });
  await store.setControl({ paused: false, reason: "resumed" }, Date.UTC(2026, 10, 24, 2));
  db.close();
  const on = await ctl(["status", "--kv", kv]);
  assert.equal(on.code, 0, on.stderr);
  assert.match(
    on.stdout,
    /^KRW-BTC \(bot eth-bot-btc\): stopped \(last run ended 2026-11-24 15:46 UTC\); trading switch: on\n/,
  );
  assert.doesNotMatch(on.stdout, /resumed|running/);
  const paused = await ctl(["pause", "--kv", kv, "--reason", "night"]);
  assert.equal(paused.code, 0, paused.stderr);
  assert.match(
    paused.stdout,
    /KRW-BTC \(bot eth-bot-btc\): stopped \(last run ended 2026-11-24 15:46 UTC\); trading switch: paused — night\n/,
  );
  await Deno.remove(dir, { recursive: true });
});

/** The paths of amounts (money, prices, volumes) printed as JSON numbers instead of strings. */
function numericAmounts(value: unknown, path = "$"): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => numericAmounts(v, `${path}[${i}]`));
  if (value === null || typeof value !== "object") return [];
  const out: string[] = [];
  for (const [key, v] of Object.entries(value)) {
    const amount = /equity|pnl|price|cash|fees|cost|krw|stop|target|volume/i.test(key) &&
      !/Ms$|Blocked$|Pct$/.test(key);
    if (amount && typeof v === "number") out.push(`${path}.${key}`);
    out.push(...numericAmounts(v, `${path}.${key}`));
  }
  return out;
}

Deno.test("ctl sell: checked at parse (exit 2); on a stopped bot refused and audited (exit 1), the position stays", async () => {
  const { dir, kv } = await stoppedBot();
  const bad = await ctl(["sell", "--kv", kv]);
  assert.deepEqual([bad.code, bad.stderr], [
    2,
    "ctl: sell: expected a market, e.g. ctl sell KRW-BTC (see --help)\n",
  ]);
  const out = await ctl(["sell", "eth", "--kv", kv]);
  assert.deepEqual([out.code, out.stdout, out.stderr], [
    1,
    "",
    "ctl: sell: KRW-ETH: no bot is running; selling needs its exchange (start the bot first)\n",
  ]);
  const audit = await ctl(["audit", "--kv", kv, "--json"]);
  const [record] = JSON.parse(audit.stdout);
  assert.deepEqual([record.actor, record.command, record.result], [
    "ctl",
    "sell KRW-ETH",
    "refused",
  ]);
  const status = JSON.parse((await ctl(["status", "--kv", kv, "--json"])).stdout);
  assert.equal(status.markets[1].position.volume, "0.01");
  await Deno.remove(dir, { recursive: true });
});
