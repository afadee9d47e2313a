/**
 * One SIGINT or SIGTERM stops the bot cleanly, whoever sends it. Each run starts the real demo
 * (`deno task demo`, or `deno run` with the task's own flags), waits for its "trading" line,
 * stops it a random moment later in one of five ways, then checks: exit code 0, a "stopped"
 * line, no control file, lock file or WAL left, and a store that reopens with its invariants
 * intact (ledger = fills, nothing negative, the lock free).
 *
 * The five ways: (a) SIGINT to the bot process; (b) SIGINT to the process group, as a terminal's
 * Ctrl-C sends it to `deno task` and the bot at once; (c) SIGTERM to the process group, as
 * systemd stops a unit (KillMode=control-group); (d) `timeout -s INT` around `deno task demo`;
 * (e) `timeout` (SIGTERM) around it. `timeout` signals its child and then its whole group.
 *
 * STOP_RUNS (default 1) runs per way; STOP_RUNS=50 is the full measurement (250 starts).
 * STOP_CONCURRENCY (default 2) runs at a time.
 */

import assert from "node:assert/strict";
import { storeProblems } from "./_store_check.ts";

const ROOT = decodeURIComponent(new URL("../", import.meta.url).pathname);
const RUNS = Number(Deno.env.get("STOP_RUNS") ?? "1");
const CONCURRENCY = Number(Deno.env.get("STOP_CONCURRENCY") ?? "2");
/** How long a stopped bot may take to exit before the run counts as hung (then SIGKILL). */
const EXIT_WITHIN_MS = 30_000;

type Way =
  | "a: SIGINT bot"
  | "b: SIGINT group"
  | "c: SIGTERM group"
  | "d: timeout -s INT"
  | "e: timeout";
const WAYS: readonly Way[] = [
  "a: SIGINT bot",
  "b: SIGINT group",
  "c: SIGTERM group",
  "d: timeout -s INT",
  "e: timeout",
];

/** `deno run <flags> main.ts demo`, exactly as `deno task demo` runs it. */
async function demoRunArgs(): Promise<string[]> {
  const tasks = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`)).tasks;
  const words = String(tasks.demo).split(/\s+/);
  assert.equal(words[0], "deno");
  return words.slice(1);
}

interface RunResult {
  readonly way: Way;
  readonly problems: readonly string[];
  /** Whether the signal came after the "trading" line. */
  readonly afterTrading: boolean;
  readonly startupMs: number | undefined;
  /** From the signal to the process's exit (ways a–c, where the test sends it). */
  readonly stopMs: number | undefined;
}

/** Startup times seen so far (spawn → "trading"), to aim `timeout` just after it. */
const startups: number[] = [];

function median(values: readonly number[], fallback: number): number {
  if (values.length === 0) return fallback;
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function runOnce(way: Way, index: number, runArgs: readonly string[]): Promise<RunResult> {
  const dir = `${ROOT}data/stop-test-${Deno.pid}-${index}`;
  await Deno.mkdir(dir, { recursive: true });
  const kv = `./data/stop-test-${Deno.pid}-${index}/bot.kv`;
  const deno = Deno.execPath();
  const pauseMs = 100 + Math.floor(Math.random() * 1500);
  // `timeout` cannot wait for the "trading" line: aim around it, some runs stopping in start-up.
  const aimMs = Math.max(1500, median(startups, 4000) - 800 + Math.floor(Math.random() * 2300));
  const timeoutSec = (aimMs / 1000).toFixed(2);
  const command: string[] = way === "a: SIGINT bot"
    ? [deno, ...runArgs, "--kv", kv]
    : way === "d: timeout -s INT"
    ? ["timeout", "--preserve-status", "-s", "INT", timeoutSec, deno, "task", "demo", "--kv", kv]
    : way === "e: timeout"
    ? ["timeout", "--preserve-status", timeoutSec, deno, "task", "demo", "--kv", kv]
    : [deno, "task", "demo", "--kv", kv];
  // setsid: a process group of its own, as a terminal or systemd gives the bot.
  const child = new Deno.Command("setsid", {
    args: command,
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const started = performance.now();
  let out = "";
  let err = "";
  let onTrading: () => void = () => {};
  const trading = new Promise<void>((resolve) => onTrading = resolve);
  const readAll = async (stream: ReadableStream<Uint8Array>, into: (text: string) => void) => {
    for await (
      const text of stream.pipeThrough(
        new TextDecoderStream() as TransformStream<Uint8Array, string>,
      )
    ) into(text);
  };
  const reading = Promise.all([
    readAll(child.stdout, (text) => {
      out += text;
      if (/: trading /.test(out)) onTrading();
    }),
    readAll(child.stderr, (text) => err += text),
  ]);
  const exited = child.status;
  let startupMs: number | undefined;
  let signalledMs: number | undefined;
  let afterTrading = true;
  if (way === "d: timeout -s INT" || way === "e: timeout") {
    await Promise.race([trading, exited]);
    startupMs = /: trading /.test(out) ? performance.now() - started : undefined;
    afterTrading = startupMs !== undefined && startupMs < Number(timeoutSec) * 1000;
  } else {
    const first = await Promise.race([
      trading.then(() => "trading"),
      exited.then(() => "exited"),
      new Promise<string>((r) => setTimeout(() => r("slow"), 60_000)),
    ]);
    if (first === "trading") {
      startupMs = performance.now() - started;
      startups.push(startupMs);
      await new Promise((r) => setTimeout(r, pauseMs));
    }
    signalledMs = performance.now();
    try {
      if (way === "a: SIGINT bot") Deno.kill(child.pid, "SIGINT");
      else Deno.kill(-child.pid, way === "b: SIGINT group" ? "SIGINT" : "SIGTERM");
    } catch {
      // Already gone: the checks below say why.
    }
  }
  let hung = false;
  const killer = setTimeout(() => {
    hung = true;
    try {
      Deno.kill(-child.pid, "SIGKILL");
    } catch {
      // Gone meanwhile.
    }
  }, EXIT_WITHIN_MS + (way === "d: timeout -s INT" || way === "e: timeout" ? 60_000 : 0));
  const status = await exited;
  const stopMs = signalledMs === undefined ? undefined : performance.now() - signalledMs;
  clearTimeout(killer);
  await reading;
  const problems: string[] = [];
  if (hung) problems.push("hung: still running after the stop");
  if (status.code !== 0) {
    problems.push(`exit code ${status.code}${status.signal ? ` (${status.signal})` : ""}`);
  }
  if (!/demo: stopped/.test(out)) problems.push("no stopped line");
  // `deno task` prints the task it runs on stderr; anything else there is a problem.
  const errLines = err.split("\n").filter((line) =>
    line.trim() !== "" && !/^Task demo /.test(line)
  );
  if (errLines.length > 0) problems.push(`stderr: ${errLines[0]}`);
  const left = (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name);
  for (const name of left) {
    if (name !== "bot.kv") problems.push(`left behind: ${name}`);
  }
  if (left.includes("bot.kv")) problems.push(...await storeProblems(`${dir}/bot.kv`));
  await Deno.remove(dir, { recursive: true });
  return { way, problems, afterTrading, startupMs, stopMs };
}

Deno.test({
  name: `one SIGINT or SIGTERM stops the demo cleanly: ${RUNS} runs through each of 5 ways`,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const runArgs = await demoRunArgs();
    const jobs = Array.from({ length: RUNS * WAYS.length }, (_, i) => WAYS[i % WAYS.length]!);
    const results: RunResult[] = [];
    let next = 0;
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (next < jobs.length) {
        const i = next++;
        results.push(await runOnce(jobs[i]!, i, runArgs));
      }
    }));
    const lines = WAYS.map((way) => {
      const mine = results.filter((r) => r.way === way);
      const clean = mine.filter((r) => r.problems.length === 0).length;
      const early = mine.filter((r) => !r.afterTrading).length;
      return `${way}: ${clean}/${mine.length} clean (${early} stopped before "trading")`;
    });
    const failures = results.filter((r) => r.problems.length > 0)
      .map((r) => `${r.way}: ${r.problems.join("; ")}`);
    const stops = results.flatMap((r) => r.stopMs === undefined ? [] : [r.stopMs]);
    const summary = [
      ...lines,
      `median startup ${Math.round(median(startups, 0))} ms; signal to exit: median ${
        Math.round(median(stops, 0))
      } ms, max ${Math.round(Math.max(0, ...stops))} ms`,
    ].join("\n");
    if (Deno.env.get("STOP_RUNS") !== undefined) {
      // deno-lint-ignore no-console
      console.log(`${summary}\n${failures.join("\n")}`);
    }
    assert.deepEqual(failures, [], summary);
  },
});
