/**
 * The islands' bundle: `static/islands.js` is what `deno task build` makes from the current
 * islands (a stale committed bundle fails here), and the page's first-paint JavaScript stays
 * within its budget (≤ 30 KB gzipped).
 */

import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url);

async function gzipSize(bytes: Uint8Array<ArrayBuffer>): Promise<number> {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream("gzip"));
  return (await new Response(stream).arrayBuffer()).byteLength;
}

Deno.test("static/islands.js is the build of the current islands, within 30 KB gzipped", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  const task = String(config.tasks.build);
  assert.match(task, /^deno bundle .* -o static\/islands\.js islands\/client\.tsx$/);
  const dir = await Deno.makeTempDir({ prefix: "islands_" });
  try {
    const args = task.replace(/^deno /, "").replace("static/islands.js", `${dir}/islands.js`)
      .split(" ");
    const out = await new Deno.Command(Deno.execPath(), {
      args,
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    const built = await Deno.readFile(`${dir}/islands.js`);
    const committed = await Deno.readFile(new URL("static/islands.js", ROOT));
    assert.ok(
      built.length === committed.length && built.every((b, i) => b === committed[i]),
      "static/islands.js is stale: run deno task build",
    );
    const gz = await gzipSize(committed);
    assert.ok(gz <= 30 * 1024, `first-paint JavaScript ${gz} bytes gzipped > 30 KB`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
