/** Relative `--html` names land under reports/ (ignored by git); absolute ones stay put. */

import assert from "node:assert/strict";
import { htmlReportPath } from "../../../engine/report/report_path.ts";

Deno.test("htmlReportPath() puts relative names under reports/ and keeps the rest", () => {
  assert.equal(htmlReportPath("report.html"), "reports/report.html");
  assert.equal(htmlReportPath("./btc/r.html"), "reports/btc/r.html");
  assert.equal(htmlReportPath("reports/r.html"), "reports/r.html");
  assert.equal(htmlReportPath("reports.html"), "reports/reports.html");
  assert.equal(htmlReportPath("/tmp/r.html"), "/tmp/r.html");
  assert.equal(htmlReportPath("../r.html"), "../r.html");
});

Deno.test("git ignores what lands under reports/", async () => {
  const root = new URL("../../../", import.meta.url).pathname;
  const check = await new Deno.Command("git", {
    args: ["check-ignore", "-q", htmlReportPath("report.html")],
    cwd: root,
  }).output();
  assert.equal(check.code, 0, "reports/report.html is ignored");
});
