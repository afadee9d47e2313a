/**
 * The quiet first run: `deno task demo` (or backtest, paper, live, ctl, sandbox) fetches only the
 * npm packages the app imports. Deno 2.9 installs every package of the lockfile a run uses, and
 * `deno task` installs every package of `deno.json`'s `imports`/`scopes` before any task; so the
 * map lives in import_map.json, the app's tasks use deno.lock, which must hold exactly what
 * main.ts and the sandbox import, and test-only packages (ccxt, fast-check, …) stay in
 * deno.test.lock.
 */

import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);
const APP_TASKS = [
  "demo",
  "backtest",
  "sweep",
  "walkforward",
  "paper",
  "live",
  "ctl",
  "sandbox",
  "preflight",
];

async function readJson(name: string): Promise<Record<string, unknown>> {
  return JSON.parse(await Deno.readTextFile(new URL(name, ROOT)));
}

/** The `name@version` of every npm package the entry points import (code or types). */
async function importedPackages(entries: readonly string[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (const entry of entries) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", "--frozen", "--lock=deno.lock", entry],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
      modules: {
        dependencies?: { code?: { specifier?: string }; type?: { specifier?: string } }[];
      }[];
    };
    for (const module of info.modules) {
      for (const dep of module.dependencies ?? []) {
        for (const specifier of [dep.code?.specifier, dep.type?.specifier]) {
          const m = /^npm:\/?((?:@[^/]+\/)?[^/@]+@[^/]+)/.exec(specifier ?? "");
          if (m !== null) found.add(m[1]!);
        }
      }
    }
  }
  return found;
}

Deno.test("deno.json names no npm package itself: deno task would install them all", async () => {
  const config = await readJson("deno.json");
  assert.equal(config.imports, undefined);
  assert.equal(config.scopes, undefined);
  assert.equal(config.importMap, "./import_map.json");
  assert.equal(config.lock, false, "a plain deno check/test writes no lockfile");
  const tasks = config.tasks as Record<string, string>;
  for (const name of APP_TASKS) {
    assert.match(tasks[name]!, /^deno run (--quiet )?--lock=deno\.lock /, name);
  }
  for (const name of ["test", "bench"]) assert.match(tasks[name]!, /--lock=deno\.test\.lock /);
});

Deno.test("deno.lock holds exactly the packages main.ts and the sandbox import", async () => {
  const lock = await readJson("deno.lock");
  const locked = Object.keys(lock.specifiers as Record<string, string>)
    .map((s) => s.replace(/^npm:/, "")).sort();
  const imported = [...await importedPackages(["main.ts", "engine/sandbox/cli.ts"])].sort();
  assert.deepEqual(locked, imported);
  for (const testOnly of ["ccxt", "fast-check", "trading-signals", "playwright-core"]) {
    assert.ok(!locked.some((p) => p.startsWith(`${testOnly}@`)), `${testOnly} is test-only`);
  }
});

Deno.test("deno task test names every folder of tests/ (a workspace member's folder hides the rest when tests/ is passed whole)", async () => {
  const config = await readJson("deno.json");
  const task = String((config.tasks as Record<string, string>).test);
  const args = task.split(/\s+/);
  assert.ok(!args.includes("tests/"), `the test task passes tests/ whole: ${task}`);
  for await (const entry of Deno.readDir(new URL("tests/", ROOT))) {
    const named = entry.isDirectory
      ? args.includes(`tests/${entry.name}`)
      : !/_test\.tsx?$/.test(entry.name) || args.includes("tests/*_test.ts");
    assert.ok(named, `tests/${entry.name} is not run by the test task: ${task}`);
  }
});

Deno.test("the sweep and walk-forward tasks give V8 a 32 MB young generation, and the bench measures the sweep with it", async () => {
  // Two workers on two cores: with V8's default young generation, each set's records outlive it
  // into the old generation, whose marking on helper threads competes with the second worker.
  const tasks = (await readJson("deno.json")).tasks as Record<string, string>;
  for (const name of ["sweep", "walkforward"]) {
    assert.match(tasks[name]!, / --v8-flags=--min-semi-space-size=32 main\.ts /, name);
  }
  const { sweepTaskV8Flags } = await import("../bench/sweep_bench.ts");
  assert.deepEqual(await sweepTaskV8Flags(), ["--v8-flags=--min-semi-space-size=32"]);
});
