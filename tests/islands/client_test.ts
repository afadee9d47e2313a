/**
 * The islands' bundles: `static/islands.js` and `static/charts.js` are what `deno task build`
 * makes from the current islands (a stale committed bundle fails here, so a fresh clone serves
 * current code without a build step), and the first-paint JavaScript (`islands.js`; the chart
 * bundle loads after the first paint) stays within its budget (≤ 30 KB gzipped).
 */

import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url);

async function gzipSize(bytes: Uint8Array<ArrayBuffer>): Promise<number> {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream("gzip"));
  return (await new Response(stream).arrayBuffer()).byteLength;
}

Deno.test("static/islands.js and static/charts.js are the build of the current islands", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  const steps = String(config.tasks.build).split(" && ");
  assert.deepEqual(
    steps.map((s) => /-o (static\/\S+) (islands\/\S+)$/.exec(s)?.slice(1)),
    [["static/islands.js", "islands/client.tsx"], ["static/charts.js", "islands/charts.ts"]],
  );
  const dir = await Deno.makeTempDir({ prefix: "islands_" });
  try {
    for (const step of steps) {
      assert.match(step, /^deno bundle /);
      const out = /-o static\/(\S+) /.exec(step)![1]!;
      const args = step.replace(/^deno /, "").replace(`static/${out}`, `${dir}/${out}`).split(" ");
      const run = await new Deno.Command(Deno.execPath(), {
        args,
        cwd: ROOT,
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.ok(run.success, new TextDecoder().decode(run.stderr));
      const built = await Deno.readFile(`${dir}/${out}`);
      const committed = await Deno.readFile(new URL(`static/${out}`, ROOT));
      assert.ok(
        built.length === committed.length && built.every((b, i) => b === committed[i]),
        `static/${out} is stale: run deno task build`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the first-paint JavaScript is within 30 KB gzipped and holds no chart code", async () => {
  const islands = await Deno.readFile(new URL("static/islands.js", ROOT));
  const gz = await gzipSize(islands);
  assert.ok(gz <= 30 * 1024, `first-paint JavaScript ${gz} bytes gzipped > 30 KB`);
  const text = new TextDecoder().decode(islands);
  assert.ok(!text.includes("createChart"), "lightweight-charts is in the first-paint bundle");
  const charts = new TextDecoder().decode(await Deno.readFile(new URL("static/charts.js", ROOT)));
  assert.match(charts, /export\s*{[^}]*drawCandles[^}]*}/, "the chart bundle exports its drawers");
});
