/**
 * The daily reports page over the operator's daily report: the list (today so far, then the
 * issued reports), one day with its P&L, health, backtest and markets, a bad or future date
 * answered 404, Korean.
 */

import assert from "node:assert/strict";
import { T0_MS } from "../engine/_trader_fixtures.ts";
import { withWorld } from "./_web_world.ts";

const DAY = new Date(Math.floor(T0_MS / 86_400_000) * 86_400_000).toISOString().slice(0, 10);

Deno.test("the reports list links today so far; no issued report yet says so", async () => {
  await withWorld(async (w) => {
    const anon = await w.request("/reports", { redirect: "manual" });
    assert.equal(anon.status, 303);
    const cookie = await w.login();
    const res = await w.request("/reports", { headers: { cookie } });
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.match(html, /aria-current="page">Reports</);
    assert.match(html, new RegExp(`href="/reports/${DAY}">${DAY}</a><span class="muted">today`));
    assert.match(html, /No reports yet\./);
  });
});

Deno.test("one day shows the account, health, backtest and each market", async () => {
  await withWorld(async (w) => {
    const cookie = await w.login();
    const res = await w.request(`/reports/${DAY}`, { headers: { cookie } });
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.match(html, new RegExp(`<h1>Daily reports · ${DAY}</h1>`));
    assert.match(html, /Day in progress/);
    // The ETH round trip lost 10,000 KRW (bought 0.1 at 4,000,000, sold at 3,900,000).
    const report = await w.operator.dailyReport(DAY);
    assert.equal(report.account.realizedPnl, "-10000");
    assert.match(html, /class="neg">[−-]10,000 KRW/);
    for (const text of ["Data health and uptime", "Backtest over the day", "Matches the ledger"]) {
      assert.ok(html.includes(text), text);
    }
    assert.match(html, /<h2>KRW-ETH<\/h2>/);
    assert.match(html, /<h2>KRW-BTC<\/h2>/);
    const ko = await w.request(`/reports/${DAY}`, { headers: { cookie: `${cookie}; lang=ko` } });
    const koHtml = await ko.text();
    assert.match(koHtml, /실현 손익/);
    assert.match(koHtml, /진행 중인 날/);
    assert.match(koHtml, /전체 리포트/);
  });
});

Deno.test("a malformed, impossible or future date is 404 and never echoed raw", async () => {
  await withWorld(async (w) => {
    const cookie = await w.login();
    for (const date of ["2999-01-01", "nope", "2026-13-45", "2026-02-30", "%3Cscript%3E"]) {
      const bad = await w.request(`/reports/${date}`, { headers: { cookie } });
      assert.equal(bad.status, 404, date);
      assert.ok(!(await bad.text()).includes("<script>"), date);
    }
  });
});
