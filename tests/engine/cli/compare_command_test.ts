/**
 * Tests of `deno task compare`: on the store of a real demo run (the sandbox replaying real
 * 1-minute KRW-BTC candles, the paper bot against it), every leg is identical, matched or named;
 * and bad input ends with one line and exit code 2.
 */

import assert from "node:assert/strict";
import { KvStore } from "../../../engine/adapters/kv_store.ts";
import { type CompareIo, runCompareCommand } from "../../../engine/cli/compare_command.ts";

const ROOT = new URL("../../../", import.meta.url).pathname;

async function run(args: string[], env: Record<string, string> = {}) {
  let out = "";
  let err = "";
  const io: CompareIo = {
    stdout: (t) => (out += t),
    stderr: (t) => (err += t),
    env,
    cwd: ROOT,
    openStore: async (path) => {
      const kv = await Deno.openKv(path);
      return { store: new KvStore(kv), close: () => kv.close() };
    },
  };
  const code = await runCompareCommand(args, io);
  return { code, out, err };
}

Deno.test({
  name: "compare on a demo run's store reports every leg identical, matched or explained",
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ dir: `${ROOT}data`, prefix: "compare-test-" });
    try {
      const kv = `${dir}/demo.kv`;
      const demo = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-all",
          "main.ts",
          "demo",
          "--minutes",
          "1",
          "--speed",
          "600",
          "--timeframe",
          "1m",
          "--std",
          "2",
          "--stop-loss",
          "0.3",
          "--take-profit",
          "0.3",
          "--kv",
          kv,
          "--http-port",
          "0",
        ],
        cwd: ROOT,
        env: { NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const log = new TextDecoder().decode(demo.stdout) + new TextDecoder().decode(demo.stderr);
      assert.equal(demo.code, 0, log.slice(-2000));
      const { code, out, err } = await run(["--kv", kv, "--json"]);
      assert.equal(code, 0, err);
      const report = JSON.parse(out);
      assert.ok(report.summary.legs >= 4, `${report.summary.legs} legs\n${log.slice(-1500)}`);
      for (const row of report.rows) {
        if (row.status === "identical" || row.status === "matched") {
          assert.equal(typeof row.bps, "number");
          continue;
        }
        assert.notEqual(row.reason.kind, "unexplained", JSON.stringify(row));
      }
      assert.equal(report.summary.unexplained, 0);
      const text = await run(["--kv", kv]);
      assert.equal(text.code, 0, text.err);
      assert.match(
        text.out,
        /\d+ legs: \d+ identical \(same side, decided on the same 1-minute candle/,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("compare refuses bad input with one line and exit code 2", async () => {
  const cases: [string[], RegExp][] = [
    [["--from", "2024-13-01"], /^compare: --from: not a real date/],
    [["--to", "yesterday"], /^compare: --to: expected YYYY-MM-DD/],
    [["--from", "2024-02-02", "--to", "2024-02-01"], /^compare: --to: must be after --from/],
    [["--kv", "./data/no-such.kv"], /^compare: --kv: no bot state at .*no-such\.kv/],
    [["--bogus"], /^compare: --bogus: unknown option/],
  ];
  for (const [args, expected] of cases) {
    const { code, out, err } = await run(args);
    assert.equal(code, 2, `${args.join(" ")}: ${err}`);
    assert.equal(out, "");
    assert.equal(err.trim().split("\n").length, 1, err);
    assert.match(err, expected);
  }
});
