/**
 * The demo's log as a newcomer reads it (`deno task demo`, pretty lines), end to end in a child
 * process with the task's own permissions: the first five lines say what real data it replays, it trades within seconds, every
 * line is dated with the replayed (real) date, prices sit on Upbit's tick grid, KRW amounts carry
 * no float noise, it ends with a summary beside buy-and-hold, and a second run starts too.
 */

import assert from "node:assert/strict";
import { parseUnits } from "../../../engine/core/money.ts";
import { isOnTick } from "../../../engine/core/tick_size.ts";

const ROOT = new URL("../../../", import.meta.url).pathname;
const DATED = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}) /;
/** A price in a line: after `@`, `close`, `band`, `stop`, `target`, `last price` or in `% (a → b)`. */
const PRICE =
  /(?:@ |close |band |stop |target |last price |% \(|→ )(\d{1,3}(?:,\d{3})+(?:\.\d+)?)/g;

Deno.test("demo: real data named up front, a trade within seconds, a dated story with clean numbers", async () => {
  // `deno task demo` itself, with the task's permissions (writes only under ./data), twice.
  const kv = `./data/test-demo-${Deno.pid}.kv`;
  const demo = (minutes: string) =>
    new Deno.Command(Deno.execPath(), {
      args: ["task", "demo", "--minutes", minutes, "--kv", kv],
      cwd: ROOT,
      env: { NO_COLOR: "1", PATH: Deno.env.get("PATH") ?? "" },
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
  const out = await demo("0.3");
  const again = await demo("0.05");
  // The stopped bot's store, read by ctl (the lock is free).
  const ctl = await new Deno.Command(Deno.execPath(), {
    args: ["task", "ctl", "status", "--kv", kv],
    cwd: ROOT,
    env: { NO_COLOR: "1", PATH: Deno.env.get("PATH") ?? "" },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  for (const suffix of ["", "-wal", "-shm", ".lock"]) {
    await Deno.remove(`${ROOT}${kv}${suffix}`).catch(() => {});
  }
  const stdout = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.equal(again.code, 0, `a second run: ${new TextDecoder().decode(again.stderr)}`);
  const lines = stdout.trimEnd().split("\n");

  // What it replays, in the first five lines: market, real dates, speed.
  const head = lines.slice(0, 5).join("\n");
  assert.match(head, /REAL Upbit KRW-BTC 1-minute candles of 2022-05-31 12:01 → 2022-06-07 10:46/);
  assert.match(head, /speed 60x/);
  assert.match(head, /looped/);

  // Every line is dated, with a date of the real week (not the sandbox's shifted "today").
  for (const line of lines) {
    const m = DATED.exec(line);
    assert.ok(m, `undated line: ${line}`);
    assert.ok(m[1]! >= "2022-05-31" && m[1]! <= "2022-06-07", `not a replayed date: ${line}`);
  }

  // A trade within the 18 s run: signal, order, fill, in that order.
  const signal = lines.findIndex((l) => / signal BUY KRW-BTC: close /.test(l));
  const fill = lines.findIndex((l) => / filled BUY [\d.]+ BTC @ /.test(l));
  assert.ok(signal > 0 && fill > signal, stdout);

  // Prices on the tick grid of their date; no KRW value with float noise.
  let prices = 0;
  for (const line of lines) {
    const atMs = Date.parse(`${DATED.exec(line)![1]}T00:00:00Z`);
    for (const [, text] of line.matchAll(PRICE)) {
      const units = parseUnits(text!.replaceAll(",", ""));
      assert.ok(isOnTick(units, { atMs, market: "KRW-BTC" }), `off the tick grid: ${line}`);
      prices++;
    }
    // Only coin volumes (`0.02503818 BTC`, `position: 0.02503818 @`) may carry > 2 decimals.
    const rest = line.replace(/\d+\.\d+ (?:BTC|@)/g, "");
    assert.doesNotMatch(rest, /\d\.\d{3,}/, `float noise: ${line}`);
    assert.ok(!line.includes("−"), `a second minus sign: ${line}`);
  }
  assert.ok(prices >= 6, `only ${prices} prices checked`);

  // The end: the bot says it stopped (not "running"), then the summary beside buy-and-hold.
  assert.ok(!lines.some((l) => / \(bot bot\): running/.test(l)), stdout);
  assert.ok(lines.some((l) => / KRW-BTC \(bot bot\): stopped/.test(l)), stdout);
  // ...when, and the trading switch, with no stale reason ("— resumed").
  const ended =
    /KRW-BTC \(bot bot\): stopped \(last run ended \d{4}-\d\d-\d\d \d\d:\d\d UTC\); trading switch: on$/;
  assert.ok(lines.some((l) => ended.test(l)), stdout);
  assert.ok(!lines.some((l) => / — resumed|state: running: trader/.test(l)), stdout);
  assert.ok(lines.some((l) => / trader started: KRW-BTC 5m /.test(l)), stdout);
  // ctl on the stopped bot says so too (not "running").
  const ctlOut = new TextDecoder().decode(ctl.stdout);
  assert.equal(ctl.code, 0, new TextDecoder().decode(ctl.stderr));
  assert.match(
    ctlOut,
    /^KRW-BTC \(bot bot\): stopped \(last run ended .* UTC\); trading switch: on\n/,
  );
  const summary = lines.findIndex((l) =>
    / final summary after [\d.]+ min: replayed 2022-06-02 12:58 → /.test(l)
  );
  assert.ok(summary > fill, stdout);
  // The end-of-run status and the final summary mark at the same last price: same P&L.
  const statusPnl = lines.map((l) => /since start [^;]+; P&L (\S+) KRW$/.exec(l)?.[1]).find((p) =>
    p !== undefined
  );
  const summaryPnl = /; P&L (\S+) KRW \(/.exec(lines[summary + 1]!)?.[1];
  assert.ok(statusPnl !== undefined, stdout);
  assert.equal(statusPnl, summaryPnl, stdout);
  assert.match(
    lines[summary + 1]!,
    / \d+ trades? \(\d+ won, \d+ lost.*\); P&L [+-]?[\d,]+ KRW \([+-]?\d+\.\d\d%\).*fees [\d,]+ KRW$/,
  );
  assert.match(
    lines[summary + 2]!,
    / buy & hold over the same replay, same fees: KRW-BTC [+-]?\d+\.\d\d% \(/,
  );
});
