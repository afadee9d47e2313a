/**
 * Architecture rules: `engine/core` stays pure and clock-injected (it never touches the process,
 * the network, the wall clock, randomness, timers or the console), and every import follows the
 * layer table of STYLE.md. The import graph is Deno's own (`deno info --json`, type-only and
 * dynamic imports included), not a regex over the text, and a test builds a small tree with one
 * wrong import per rule to show the checker reports it.
 */

import assert from "node:assert/strict";

const ROOT = decodeURIComponent(new URL("../", import.meta.url).pathname);
const CORE = new URL("../engine/core/", import.meta.url);

const FORBIDDEN: ReadonlyArray<readonly [RegExp, string]> = [
  [/\bDeno\./, "Deno.*"],
  [/\bfetch\(/, "fetch"],
  [/\bDate\.now\b/, "Date.now"],
  [/\bnew Date\b/, "new Date"],
  [/\bMath\.random\b/, "Math.random"],
  [/\bset(?:Timeout|Interval)\b/, "timers"],
  [/\bconsole\./, "console"],
  [/\bperformance\.now\b/, "performance.now"],
];

/** The layers of STYLE.md, plus `support` (config, log, secret: shared helpers below adapters). */
type Layer =
  | "core"
  | "ports"
  | "support"
  | "adapter"
  | "sandbox"
  | "loop"
  | "operator"
  | "report"
  | "mod"
  | "surface"
  | "routes"
  | "islands"
  | "main"
  | "deploy"
  | "test";

const EVERY_LAYER: readonly Layer[] = [
  "core",
  "ports",
  "support",
  "adapter",
  "sandbox",
  "loop",
  "operator",
  "report",
  "mod",
  "surface",
  "routes",
  "islands",
  "deploy",
];

/** Which layers each layer may import (an arrow may only point down). */
const MAY_IMPORT: Readonly<Record<Layer, readonly Layer[]>> = {
  core: ["core"],
  ports: ["core", "ports"],
  support: ["core", "ports", "support"],
  adapter: ["core", "ports", "support", "adapter"],
  // `support` for `engine/http_guard.ts`: the sandbox's HTTP surface is hardened like the bot's.
  sandbox: ["core", "support", "sandbox"],
  loop: ["core", "ports", "loop"],
  // `support` for config.ts: run-time parameters are checked by the start-up config's schema.
  operator: ["core", "ports", "support", "loop", "operator"],
  report: ["core", "report"],
  mod: ["core", "ports", "support", "loop", "operator", "report", "mod"],
  // STYLE.md's goal is `engine/mod.ts` only; core/ports/support/report stay allowed until it
  // exists. Edges into the loop, adapters and sandbox are only the ones in SURFACE_EDGES_TODAY.
  surface: ["core", "ports", "support", "report", "mod", "surface"],
  // The status page (STYLE.md): `engine/mod.ts` only, plus its own files and the islands it
  // renders on the server.
  routes: ["mod", "routes", "islands"],
  islands: ["islands"],
  main: EVERY_LAYER,
  // The service installer (`deploy/`) stands alone: it runs before the bot exists on a machine.
  deploy: ["deploy"],
  test: [...EVERY_LAYER, "test"],
};

/** Packages (npm or node built-ins) a layer may import; a layer not listed may import any. */
const PACKAGES: Partial<Readonly<Record<Layer, readonly string[]>>> = {
  core: ["zod"],
  ports: [],
  routes: ["hono", "preact", "preact-render-to-string", "zod"],
  // lightweight-charts only in the chart bundle (`islands/charts.ts`), fetched after first paint.
  islands: ["preact", "@preact/signals", "lightweight-charts"],
};

/**
 * Surface → loop/adapter/sandbox imports that exist today and are allowed for now, one edge
 * each. The operator work (issue 9) removes them: delete a line when its import goes (a line
 * whose import no longer exists fails the test, so this list only shrinks). Never add one.
 */
const SURFACE_EDGES_TODAY: readonly string[] = [
  "engine/cli/backtest_command.ts -> engine/adapters/candle_file.ts",
  "engine/cli/ctl_command.ts -> engine/adapters/kv_store.ts",
  "engine/cli/run_command.ts -> engine/adapters/console_notifier.ts",
  "engine/cli/run_command.ts -> engine/adapters/http_exchange.ts",
  "engine/cli/run_command.ts -> engine/adapters/kv_store.ts",
  "engine/cli/run_command.ts -> engine/adapters/paper_exchange.ts",
  "engine/cli/run_command.ts -> engine/adapters/upbit/market_events.ts",
  "engine/cli/run_command.ts -> engine/adapters/upbit/rest_client.ts",
  "engine/cli/run_command.ts -> engine/adapters/upbit/schemas.ts",
  "engine/cli/run_command.ts -> engine/adapters/upbit/ws_client.ts",
  "engine/cli/run_command.ts -> engine/adapters/upbit/ws_events.ts",
  "engine/cli/run_command.ts -> engine/sandbox/mod.ts",
  "engine/cli/trader_api.ts -> engine/trader.ts",
];

/** The layer of a repository-relative path, or undefined for a file no rule covers. */
function layerOf(path: string): Layer | undefined {
  if (path === "main.ts") return "main";
  if (path.startsWith("deploy/")) return "deploy";
  if (/^(tests|bench)\//.test(path)) return "test";
  if (path.startsWith("engine/core/")) return "core";
  if (path === "engine/ports.ts" || path === "engine/errors.ts") return "ports";
  if (path.startsWith("engine/adapters/") || path === "engine/kv_keys.ts") return "adapter";
  if (path.startsWith("engine/sandbox/")) return "sandbox";
  if (/^engine\/((trader|order_manager|order_gate)(_\w+)?\.ts|loop\/)/.test(path)) return "loop";
  if (/^engine\/operator(\/|_\w+\.ts$|\.ts$)/.test(path)) return "operator";
  if (path.startsWith("engine/report/")) return "report";
  if (path === "engine/mod.ts") return "mod";
  if (/^engine\/(cli|bot|telegram)\//.test(path)) return "surface";
  if (path.startsWith("routes/")) return "routes";
  if (path.startsWith("islands/")) return "islands";
  if (/^engine\/[a-z_]+\.tsx?$/.test(path)) return "support";
  return undefined;
}

/** One import: `from` and `to` are repository-relative paths, or `to` is `npm:name` / `node:x`. */
interface Edge {
  readonly from: string;
  readonly to: string;
}

/** Every import of every `.ts`/`.tsx` file under `root`, as Deno resolves it. */
async function importGraph(root: string): Promise<Edge[]> {
  const files: string[] = [];
  for (const dir of ["", "engine/", "routes/", "islands/", "tests/", "bench/"]) {
    await listSources(root, dir, dir !== "", files);
  }
  const tmp = await Deno.makeTempDir({ prefix: "arch_" });
  try {
    const entry = `${tmp}/entry.ts`;
    await Deno.writeTextFile(entry, files.map((f) => `import "file://${root}${f}";\n`).join(""));
    const config = `${root}deno.json`;
    const hasConfig = await Deno.stat(config).then(() => true, () => false);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", "--no-lock", ...(hasConfig ? ["--config", config] : []), entry],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(out.success, `deno info failed: ${new TextDecoder().decode(out.stderr)}`);
    return edgesOf(JSON.parse(new TextDecoder().decode(out.stdout)), `file://${root}`);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

async function listSources(root: string, dir: string, deep: boolean, out: string[]) {
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(root + dir));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw error;
  }
  for (const entry of entries) {
    if (entry.isDirectory && deep) await listSources(root, `${dir}${entry.name}/`, deep, out);
    else if (entry.isFile && /\.tsx?$/.test(entry.name)) out.push(dir + entry.name);
  }
}

interface DenoInfo {
  readonly modules: ReadonlyArray<{
    readonly specifier: string;
    readonly dependencies?: ReadonlyArray<{
      readonly specifier: string;
      readonly code?: { readonly specifier: string };
      readonly type?: { readonly specifier: string };
    }>;
  }>;
}

function edgesOf(info: DenoInfo, rootUrl: string): Edge[] {
  const edges: Edge[] = [];
  for (const module of info.modules) {
    if (!module.specifier.startsWith(rootUrl)) continue;
    const from = decodeURIComponent(module.specifier.slice(rootUrl.length));
    for (const dep of module.dependencies ?? []) {
      for (const target of new Set([dep.code?.specifier, dep.type?.specifier])) {
        if (target === undefined) continue;
        edges.push({ from, to: targetName(target, rootUrl) });
      }
    }
  }
  return edges;
}

/** `file://<root>/engine/x.ts` → `engine/x.ts`; `npm:@a/b@1.0.0/c` → `npm:@a/b`. */
function targetName(specifier: string, rootUrl: string): string {
  if (specifier.startsWith(rootUrl)) return decodeURIComponent(specifier.slice(rootUrl.length));
  const npm = /^npm:\/?((?:@[^/@]+\/)?[^/@]+)/.exec(specifier);
  if (npm !== null) return `npm:${npm[1]}`;
  return specifier;
}

/** Every import that breaks a rule, one line each: `engine/x.ts -> engine/y.ts: why`. */
function layerViolations(edges: readonly Edge[], surfaceEdges: readonly string[]): string[] {
  const allowed = new Set(surfaceEdges);
  const found: string[] = [];
  const seen = new Set<string>();
  for (const { from, to } of edges) {
    const line = `${from} -> ${to}`;
    if (seen.has(line)) continue;
    seen.add(line);
    const fromLayer = layerOf(from);
    if (fromLayer === undefined) {
      found.push(`${from}: in no layer of STYLE.md (classify it in tests/architecture_test.ts)`);
      continue;
    }
    if (to === "main.ts") {
      found.push(`${line}: nothing imports main.ts`);
      continue;
    }
    if (/^(npm|node|jsr|https?):/.test(to)) {
      const name = to.replace(/^(npm|node|jsr):/, "");
      const packages = PACKAGES[fromLayer];
      if (/^(jsr|https?):/.test(to) || (packages !== undefined && !packages.includes(name))) {
        found.push(`${line}: ${fromLayer} may not import ${to}`);
      }
      continue;
    }
    const toLayer = layerOf(to);
    if (toLayer === undefined) continue; // reported as its own file
    if (MAY_IMPORT[fromLayer].includes(toLayer)) continue;
    if (fromLayer === "surface" && allowed.has(line)) continue;
    found.push(`${line}: ${fromLayer} may not import ${toLayer}`);
  }
  return found.sort();
}

/** Import cycles among the source files (tests and benches left out), each as a path list. */
function importCycles(edges: readonly Edge[]): string[][] {
  const next = new Map<string, Set<string>>();
  for (const { from, to } of edges) {
    if (layerOf(from) === "test" || !/^[^:]+\.tsx?$/.test(to) || layerOf(to) === "test") continue;
    let set = next.get(from);
    if (set === undefined) next.set(from, set = new Set());
    set.add(to);
  }
  // Tarjan's strongly connected components: every component of more than one file is a cycle.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  function visit(node: string): void {
    index.set(node, index.size);
    low.set(node, index.get(node)!);
    stack.push(node);
    onStack.add(node);
    for (const to of next.get(node) ?? []) {
      if (!index.has(to)) {
        visit(to);
        low.set(node, Math.min(low.get(node)!, low.get(to)!));
      } else if (onStack.has(to)) {
        low.set(node, Math.min(low.get(node)!, index.get(to)!));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    if (component.length > 1 || next.get(node)?.has(node)) cycles.push(component.sort());
  }
  for (const node of [...next.keys()].sort()) if (!index.has(node)) visit(node);
  return cycles;
}

async function* sourceFiles(dir: URL): AsyncGenerator<URL> {
  for await (const entry of Deno.readDir(dir)) {
    const url = new URL(entry.name + (entry.isDirectory ? "/" : ""), dir);
    if (entry.isDirectory) yield* sourceFiles(url);
    else if (entry.name.endsWith(".ts")) yield url;
  }
}

/** Strips comments so that a doc comment may name what the code must not do. */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:])\/\/.*$/gm, "$1");
}

Deno.test("engine/core uses no I/O, wall clock, randomness, timers or console", async () => {
  const offences: string[] = [];
  let files = 0;
  for await (const file of sourceFiles(CORE)) {
    files++;
    const text = code(await Deno.readTextFile(file));
    for (const [pattern, name] of FORBIDDEN) {
      if (pattern.test(text)) offences.push(`${file.pathname.split("/engine/")[1]}: ${name}`);
    }
  }
  assert.ok(files > 10, `expected the core's files, found ${files}`);
  assert.deepEqual(offences, []);
});

Deno.test("engine/core imports nothing from the adapters, the CLI or the reports", async () => {
  const offences: string[] = [];
  for await (const file of sourceFiles(CORE)) {
    const text = code(await Deno.readTextFile(file));
    for (const m of text.matchAll(/from "([^"]+)"/g)) {
      const spec = m[1]!;
      if (/\/(adapters|cli|report|sandbox)\//.test(spec) || spec.startsWith("node:")) {
        offences.push(`${file.pathname.split("/engine/")[1]} imports ${spec}`);
      }
    }
  }
  assert.deepEqual(offences, []);
});

Deno.test("every import follows STYLE.md's layers, with no cycle", async (t) => {
  const edges = await importGraph(ROOT);
  await t.step("the graph is the real one", () => {
    const has = (from: string, to: string) => edges.some((e) => e.from === from && e.to === to);
    assert.ok(edges.length > 300, `expected the repo's imports, found ${edges.length}`);
    assert.ok(has("engine/trader.ts", "engine/order_manager.ts"));
    assert.ok(has("engine/core/strategies/mod.ts", "engine/core/strategies/rsi.ts"));
    assert.ok(has("engine/adapters/kv_store.ts", "npm:zod"), "bare specifiers resolve");
    assert.ok(has("engine/adapters/paper_exchange.ts", "engine/ports.ts"), "type-only imports");
  });
  await t.step("no import points the wrong way", () => {
    assert.deepEqual(layerViolations(edges, SURFACE_EDGES_TODAY), []);
  });
  await t.step("every allowed surface edge still exists (the list only shrinks)", () => {
    const lines = new Set(edges.map((e) => `${e.from} -> ${e.to}`));
    assert.deepEqual(SURFACE_EDGES_TODAY.filter((line) => !lines.has(line)), []);
  });
  await t.step("no cycle", () => {
    assert.deepEqual(importCycles(edges), []);
  });
});

/** A small tree that follows every rule; each case below adds one wrong import to it. */
const GOOD_TREE: Readonly<Record<string, string>> = {
  "engine/core/money.ts": `import { z } from "npm:zod@4.6.7";\nexport const M = z;\n`,
  "engine/core/ledger.ts": `import { M } from "./money.ts";\nexport const L = M;\n`,
  "engine/ports.ts": `import type { L } from "./core/ledger.ts";\nexport type P = typeof L;\n`,
  "engine/errors.ts": `export class TemporaryError extends Error {}\n`,
  "engine/adapters/kv_store.ts":
    `import type { P } from "../ports.ts";\nimport { TemporaryError } from "../errors.ts";\nexport const K: P | typeof TemporaryError = TemporaryError;\n`,
  "engine/adapters/system_clock.ts": `export const W = 1;\n`,
  "engine/sandbox/feed.ts": `import { L } from "../core/ledger.ts";\nexport const F = L;\n`,
  "engine/order_manager.ts": `import { L } from "./core/ledger.ts";\nexport const O = L;\n`,
  "engine/trader.ts":
    `import { O } from "./order_manager.ts";\nimport { TemporaryError } from "./errors.ts";\nexport const T = [O, TemporaryError];\n`,
  "engine/operator/commands.ts": `import { T } from "../trader.ts";\nexport const C = T;\n`,
  "engine/mod.ts": `export { C } from "./operator/commands.ts";\n`,
  "engine/cli/ctl.ts": `import { C } from "../mod.ts";\nexport const X = C;\n`,
  "main.ts":
    `import { X } from "./engine/cli/ctl.ts";\nimport { K } from "./engine/adapters/kv_store.ts";\nexport const Y = [X, K];\n`,
  "tests/ctl_test.ts": `import { X } from "../engine/cli/ctl.ts";\nexport const Z = X;\n`,
  "islands/Badge.ts":
    `import { signal } from "npm:@preact/signals@2.11.4";\nexport const B = signal(1);\n`,
  "routes/page.ts":
    `import { C } from "../engine/mod.ts";\nimport { B } from "../islands/Badge.ts";\nexport const R = [C, B];\n`,
};

/** One wrong import each: [file, line appended to it, the violation expected]. */
const WRONG_IMPORTS: ReadonlyArray<readonly [string, string, string]> = [
  [
    "engine/core/ledger.ts",
    `import { W } from "../adapters/system_clock.ts";`,
    "engine/core/ledger.ts -> engine/adapters/system_clock.ts: core may not import adapter",
  ],
  [
    "engine/core/ledger.ts",
    `import { parseArgs } from "node:util";`,
    "engine/core/ledger.ts -> node:util: core may not import node:util",
  ],
  [
    "engine/ports.ts",
    `import type { W } from "./adapters/system_clock.ts";`,
    "engine/ports.ts -> engine/adapters/system_clock.ts: ports may not import adapter",
  ],
  [
    "engine/order_manager.ts",
    `import { W } from "./adapters/system_clock.ts";`,
    "engine/order_manager.ts -> engine/adapters/system_clock.ts: loop may not import adapter",
  ],
  [
    "engine/trader.ts",
    `import type { W } from "./adapters/system_clock.ts";`,
    "engine/trader.ts -> engine/adapters/system_clock.ts: loop may not import adapter",
  ],
  [
    "engine/adapters/kv_store.ts",
    `import { F } from "../sandbox/feed.ts";`,
    "engine/adapters/kv_store.ts -> engine/sandbox/feed.ts: adapter may not import sandbox",
  ],
  [
    "engine/adapters/kv_store.ts",
    `import { O } from "../order_manager.ts";`,
    "engine/adapters/kv_store.ts -> engine/order_manager.ts: adapter may not import loop",
  ],
  [
    "engine/adapters/kv_store.ts",
    `import { X } from "../cli/ctl.ts";`,
    "engine/adapters/kv_store.ts -> engine/cli/ctl.ts: adapter may not import surface",
  ],
  [
    "engine/sandbox/feed.ts",
    `import { W } from "../adapters/system_clock.ts";`,
    "engine/sandbox/feed.ts -> engine/adapters/system_clock.ts: sandbox may not import adapter",
  ],
  [
    "engine/operator/commands.ts",
    `import { W } from "../adapters/system_clock.ts";`,
    "engine/operator/commands.ts -> engine/adapters/system_clock.ts: operator may not import adapter",
  ],
  [
    "engine/cli/ctl.ts",
    `import { T } from "../trader.ts";`,
    "engine/cli/ctl.ts -> engine/trader.ts: surface may not import loop",
  ],
  [
    "engine/cli/ctl.ts",
    `const m = await import("../adapters/system_clock.ts");\nexport const D = m;`,
    "engine/cli/ctl.ts -> engine/adapters/system_clock.ts: surface may not import adapter",
  ],
  [
    "routes/page.ts",
    `import type { P } from "../engine/ports.ts";`,
    "routes/page.ts -> engine/ports.ts: routes may not import ports",
  ],
  [
    "routes/page.ts",
    `import { K } from "../engine/adapters/kv_store.ts";`,
    "routes/page.ts -> engine/adapters/kv_store.ts: routes may not import adapter",
  ],
  [
    "routes/page.ts",
    `import { X } from "../engine/cli/ctl.ts";`,
    "routes/page.ts -> engine/cli/ctl.ts: routes may not import surface",
  ],
  [
    "islands/Badge.ts",
    `import { C } from "../engine/mod.ts";`,
    "islands/Badge.ts -> engine/mod.ts: islands may not import mod",
  ],
  [
    "islands/Badge.ts",
    `import { z } from "npm:zod@4.6.7";`,
    "islands/Badge.ts -> npm:zod: islands may not import npm:zod",
  ],
  [
    "tests/ctl_test.ts",
    `import { Y } from "../main.ts";`,
    "tests/ctl_test.ts -> main.ts: nothing imports main.ts",
  ],
  [
    "engine/core/money.ts",
    `import "./money.ts";`,
    "cycle: engine/core/money.ts",
  ],
  [
    "engine/core/money.ts",
    `import { L } from "./ledger.ts";`,
    "cycle: engine/core/ledger.ts, engine/core/money.ts",
  ],
];

async function checkTree(tree: Readonly<Record<string, string>>): Promise<string[]> {
  const dir = await Deno.makeTempDir({ prefix: "arch_tree_" });
  try {
    for (const [path, text] of Object.entries(tree)) {
      await Deno.mkdir(`${dir}/${path}`.replace(/\/[^/]+$/, ""), { recursive: true });
      await Deno.writeTextFile(`${dir}/${path}`, text);
    }
    const edges = await importGraph(`${dir}/`);
    return [
      ...layerViolations(edges, []),
      ...importCycles(edges).map((cycle) => `cycle: ${cycle.join(", ")}`),
    ];
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("the layer check reports one deliberately wrong import of each kind", async (t) => {
  await t.step("the tree without it passes", async () => {
    assert.deepEqual(await checkTree(GOOD_TREE), []);
  });
  for (const [file, line, expected] of WRONG_IMPORTS) {
    await t.step(expected, async () => {
      const tree = { ...GOOD_TREE, [file]: `${line}\n${GOOD_TREE[file]}` };
      assert.deepEqual(await checkTree(tree), [expected]);
    });
  }
  await t.step("an allowed surface edge passes, and only that edge", () => {
    const edges = [
      { from: "engine/cli/ctl.ts", to: "engine/trader.ts" },
      { from: "engine/cli/ctl.ts", to: "engine/kv_keys.ts" },
    ];
    assert.deepEqual(layerViolations(edges, ["engine/cli/ctl.ts -> engine/trader.ts"]), [
      "engine/cli/ctl.ts -> engine/kv_keys.ts: surface may not import adapter",
    ]);
  });
});
