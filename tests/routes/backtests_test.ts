/**
 * The backtest reports page: the `.html` reports of the folder listed newest first (links,
 * other files and hidden names skipped), each served as written under a sandboxing CSP that lets
 * its inline code run in an opaque origin, and nothing outside the folder reachable by any name.
 */

import assert from "node:assert/strict";
import { listReports } from "../../routes/backtests.tsx";
import { withWorld } from "./_web_world.ts";

const REPORT = "<!doctype html><html><head><style>body{color:red}</style></head><body>" +
  '<script>document.body.dataset.ok = "1"</script><p>BTC report</p></body></html>';

/** A reports folder with two reports, other files, a link out and a secret beside it. */
async function reportsFolder(): Promise<{ root: string; dir: string }> {
  const root = await Deno.makeTempDir({ prefix: "reports_" });
  const dir = `${root}/reports`;
  await Deno.mkdir(`${dir}/2026`, { recursive: true });
  await Deno.writeTextFile(`${dir}/btc.html`, REPORT);
  await Deno.utime(`${dir}/btc.html`, 1_700_000_000, 1_700_000_000);
  await Deno.writeTextFile(`${dir}/2026/eth.html`, "<p>ETH</p>");
  await Deno.writeTextFile(`${dir}/notes.txt`, "not a report");
  await Deno.writeTextFile(`${dir}/.hidden.html`, "<p>hidden</p>");
  await Deno.writeTextFile(`${root}/secret.html`, "<p>SECRET</p>");
  await Deno.symlink(`${root}/secret.html`, `${dir}/link.html`);
  return { root, dir };
}

Deno.test("the folder's reports are listed newest first; links and other files are not", async () => {
  const { root, dir } = await reportsFolder();
  try {
    const reports = await listReports(dir);
    assert.deepEqual(reports.map((r) => r.name), ["2026/eth.html", "btc.html"]);
    assert.equal(reports[1]!.bytes, new TextEncoder().encode(REPORT).length);
    assert.deepEqual(await listReports(`${root}/missing`), []);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("the page lists them (English and Korean); a report is served sandboxed", async () => {
  const { root, dir } = await reportsFolder();
  try {
    await withWorld(async (w) => {
      const anon = await w.request("/backtests", { redirect: "manual" });
      assert.equal(anon.status, 303);
      const anonReport = await w.request("/backtests/report/btc.html", { redirect: "manual" });
      assert.equal(anonReport.status, 303);
      const cookie = await w.login();
      const page = await w.request("/backtests", { headers: { cookie } });
      const html = await page.text();
      assert.match(html, /aria-current="page">Backtests</);
      assert.match(html, /href="\/backtests\/report\/2026\/eth\.html"/);
      assert.match(html, /href="\/backtests\/report\/btc\.html"/);
      assert.ok(!/notes\.txt|link\.html|\.hidden|secret/.test(html));
      assert.match(page.headers.get("content-security-policy") ?? "", /frame-ancestors 'none'/);
      const ko = await w.request("/backtests", { headers: { cookie: `${cookie}; lang=ko` } });
      assert.match(await ko.text(), /<h1>백테스트 리포트<\/h1>/);

      const res = await w.request("/backtests/report/btc.html", { headers: { cookie } });
      assert.equal(res.status, 200);
      assert.equal(await res.text(), REPORT);
      assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
      const csp = res.headers.get("content-security-policy") ?? "";
      for (
        const part of [
          "sandbox allow-scripts",
          "default-src 'none'",
          "script-src 'unsafe-inline'",
          "frame-ancestors 'none'",
          "form-action 'none'",
        ]
      ) assert.ok(csp.includes(part), `${part} in ${csp}`);
      assert.ok(!csp.includes("allow-same-origin"), "the report never shares the page's origin");
      assert.equal(res.headers.get("x-frame-options"), "DENY");
      assert.equal(res.headers.get("x-content-type-options"), "nosniff");
      const nested = await w.request("/backtests/report/2026/eth.html", { headers: { cookie } });
      assert.equal(await nested.text(), "<p>ETH</p>");
    }, { reportsDir: dir });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("no name reaches a file outside the folder or one the listing skips", async () => {
  const { root, dir } = await reportsFolder();
  try {
    await withWorld(async (w) => {
      const cookie = await w.login();
      for (
        const path of [
          "link.html",
          "notes.txt",
          ".hidden.html",
          "..%2Fsecret.html",
          "%2e%2e/secret.html",
          "%2e%2e%2fsecret.html",
          "2026/..%2F..%2Fsecret.html",
          "..%5Csecret.html",
          "%E0%A4%A",
          "",
          "2026",
          `${encodeURIComponent(root)}%2Fsecret.html`,
        ]
      ) {
        const res = await w.request(`/backtests/report/${path}`, { headers: { cookie } });
        const text = await res.text();
        assert.ok(res.status === 404, `${path}: ${res.status}`);
        assert.ok(!text.includes("SECRET"), path);
      }
    }, { reportsDir: dir });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
