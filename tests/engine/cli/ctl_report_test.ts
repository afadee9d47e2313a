/** `deno task report` (= `ctl report`): the daily report of a stopped bot's store, read only. */

import assert from "node:assert/strict";
import { KvStore } from "../../../engine/adapters/kv_store.ts";
import { runCtlCommand } from "../../../engine/cli/ctl_command.ts";
import type { DailyReport } from "../../../engine/mod.ts";
import { u } from "../_order_fixtures.ts";
import { PAPER_RUN } from "../_operator_world.ts";

async function ctl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await runCtlCommand(args, {
    stdout: (t) => stdout += t,
    stderr: (t) => stderr += t,
    env: {},
  });
  return { code, stdout, stderr };
}

/** A stopped bot's store: one KRW-BTC round trip on 2026-11-24 (a 94,950 KRW gain). */
async function stoppedBot(): Promise<string> {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/bot.kv`;
  const kv = await Deno.openKv(path);
  const store = new KvStore(kv);
  const day = Date.UTC(2026, 10, 24);
  await store.putRunRecord({
    ...PAPER_RUN,
    traders: [{ botId: "bot", market: "KRW-BTC" }],
    timeframe: "1h",
    startedAtMs: day,
  });
  await store.openLedger("KRW-BTC", u("10000000"));
  for (
    const [side, price, fee, h] of [["bid", "50000000", "2500", 1], [
      "ask",
      "51000000",
      "2550",
      5,
    ]] as const
  ) {
    const funds = (u(price) * u("0.1")) / u("1");
    await store.applyFills({
      market: "KRW-BTC",
      side,
      orderUuid: `o-${side}`,
      intentId: undefined,
      paidFee: u(fee),
      trades: [{
        uuid: `t-${side}`,
        price: u(price),
        volume: u("0.1"),
        funds,
        createdAtMs: day + h * 3_600_000,
      }],
      feeBps: 5,
      atMs: day + h * 3_600_000,
    });
  }
  // What the bot keeps of an Upbit 429 and a lost market link.
  await store.countRefusal(day + 7_200_000);
  await store.recordEvent({
    type: "ErrorRaised",
    atMs: day + 7_300_000,
    code: "market_disconnected",
    message: "market data disconnected",
  });
  kv.close();
  return path;
}

Deno.test("ctl report --date: the day's figures as text and JSON, exact to the won", async () => {
  const kv = await stoppedBot();
  const text = await ctl(["report", "--date", "2026-11-24", "--kv", kv]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^Daily report 2026-11-24 /);
  assert.match(text.stdout, /realized \+94,950 KRW/);
  assert.match(text.stdout, /fees 5,050 KRW/);
  assert.match(text.stdout, /2 fills; exits: other 1/);
  assert.match(text.stdout, /reconciled to the won/);
  const json = await ctl(["report", "--date", "2026-11-24", "--kv", kv, "--json"]);
  const report = JSON.parse(json.stdout) as DailyReport;
  assert.equal(report.account.realizedPnl, "94950");
  assert.equal(report.account.fees, "5050");
  assert.equal(report.markets[0]!.endVolume, "0");
  assert.equal(report.reconciled, true);
  assert.equal(report.dataHealth.rateLimited, 1);
  assert.equal(report.dataHealth.reconnects, 1);
  assert.equal(report.dataHealth.errors, 1);
  // Another day: nothing happened.
  const other = JSON.parse(
    (await ctl(["report", "--date", "2026-11-25", "--kv", kv, "--json"])).stdout,
  ) as DailyReport;
  assert.equal(other.account.realizedPnl, "0");
  assert.equal(other.account.fills, 0);
  assert.equal(other.dataHealth.errors, 0);
});

Deno.test("ctl report: a bad --date is one line naming the flag, exit 2", async () => {
  const kv = await stoppedBot();
  const out = await ctl(["report", "--date", "2026-02-30", "--kv", kv]);
  assert.equal(out.code, 2);
  assert.equal(
    out.stderr,
    'ctl: --date: expected a date YYYY-MM-DD, got "2026-02-30" (see --help)\n',
  );
});
