/**
 * The shutdown path of `runTradingCommand`, in process: an interrupt stops the demo with exit
 * code 0 and a "stopped" line as the very last thing, and leaves nothing running and nothing
 * behind (Deno's resource and op sanitizers fail the test on a timer, socket or file still
 * open; the directory must hold only the store).
 */

import assert from "node:assert/strict";
import { runTradingCommand } from "../../../engine/cli/run_command.ts";
import * as trader from "../../../engine/trader.ts";

async function demoUntilInterrupted(
  interruptAfter: "start" | "trading",
): Promise<
  { code: number; out: string; err: string; left: string[]; leftAtStopped?: string[] }
> {
  const dir = await Deno.makeTempDir({ prefix: "run_stop_" });
  const interrupt = new AbortController();
  if (interruptAfter === "start") interrupt.abort("SIGTERM");
  let out = "";
  let err = "";
  let leftAtStopped: string[] | undefined;
  const code = await runTradingCommand("demo", ["--kv", `${dir}/bot.kv`], {
    stdout: (text) => {
      out += text;
      if (/demo: trading /.test(text)) setTimeout(() => interrupt.abort("SIGINT"), 300);
      // When the bot says "stopped", its lock and control file must already be gone.
      if (/demo: stopped/.test(text)) {
        leftAtStopped = Array.from(Deno.readDirSync(dir), (e) => e.name);
      }
    },
    stderr: (text) => err += text,
    isTerminal: false,
    env: { LOG_FORMAT: "pretty" },
    interrupt: interrupt.signal,
    pid: Deno.pid,
    cwd: Deno.cwd(),
  }, trader);
  const left = (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
  await Deno.remove(dir, { recursive: true });
  return { code, out, err, left, leftAtStopped: leftAtStopped?.sort() };
}

Deno.test("an interrupt while trading stops the demo cleanly and leaves nothing open", async () => {
  const { code, out, err, left, leftAtStopped } = await demoUntilInterrupted("trading");
  assert.equal(err, "");
  assert.equal(code, 0);
  const lines = out.trimEnd().split("\n");
  const stopping = lines.findIndex((l) => /demo: stopping… press Ctrl-C again to force/.test(l));
  const stopped = lines.findIndex((l) => /demo: stopped/.test(l));
  assert.ok(stopping > 0 && stopped > stopping, out);
  assert.deepEqual(
    leftAtStopped,
    ["bot.kv"],
    '"stopped" comes once KV, lock and control file are let go',
  );
  assert.deepEqual(left, ["bot.kv"], "no lock, control file or WAL left");
});

Deno.test("an interrupt during start-up is not lost: the demo stops as soon as it is up", async () => {
  const { code, out, err, left } = await demoUntilInterrupted("start");
  assert.equal(err, "");
  assert.equal(code, 0);
  assert.match(out, /demo: stopping…/);
  assert.match(out, /demo: stopped/);
  assert.deepEqual(left, ["bot.kv"]);
});
