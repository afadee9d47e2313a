/**
 * Architecture rules that keep the trading core pure and clock-injected: `engine/core` never
 * touches the process, the network, the wall clock, randomness, timers or the console.
 */

import assert from "node:assert/strict";

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
