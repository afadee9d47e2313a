/**
 * The daily reports page: the last days newest first with the account's realized P&L, one day
 * per market, a day out of range or malformed answered 404, Korean.
 */

import assert from "node:assert/strict";
import { T0_MS } from "../engine/_trader_fixtures.ts";
import { withWorld } from "./_web_world.ts";

const DAY = new Date(Math.floor(T0_MS / 86_400_000) * 86_400_000).toISOString().slice(0, 10);

Deno.test("the reports list shows the last 30 days, the trading day with its P&L", async () => {
  await withWorld(async (w) => {
    const anon = await w.request("/reports", { redirect: "manual" });
    assert.equal(anon.status, 303);
    const cookie = await w.login();
    const res = await w.request("/reports", { headers: { cookie } });
    assert.equal(res.status, 200);
    const html = await res.text();
    const links = [...html.matchAll(/href="\/reports\/(\d{4}-\d{2}-\d{2})"/g)].map((m) => m[1]);
    assert.equal(links.length, 30);
    assert.equal(links[0], DAY, "newest first: today");
    assert.deepEqual(links, [...links].sort().reverse());
    // The ETH round trip lost 10,000 KRW (bought 0.1 at 4,000,000, sold at 3,900,000).
    assert.match(html, /class="neg">−10,000 KRW|class="neg">-10,000 KRW/);
  });
});

Deno.test("one day shows each market; out of range or malformed is 404", async () => {
  await withWorld(async (w) => {
    const cookie = await w.login();
    const res = await w.request(`/reports/${DAY}`, { headers: { cookie } });
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.match(html, new RegExp(`<h1>Daily reports · ${DAY}</h1>`));
    assert.match(html, /KRW-ETH · Realized P&amp;L/);
    assert.match(html, /KRW-BTC · Realized P&amp;L/);
    for (const date of ["2001-01-01", "2999-01-01", "nope", "2026-13-45", "%3Cscript%3E"]) {
      const bad = await w.request(`/reports/${date}`, { headers: { cookie } });
      assert.equal(bad.status, 404, date);
      assert.ok(!(await bad.text()).includes("<script>"), date);
    }
    const ko = await w.request(`/reports/${DAY}`, { headers: { cookie: `${cookie}; lang=ko` } });
    const koHtml = await ko.text();
    assert.match(koHtml, /계좌 손익/);
    assert.match(koHtml, /전체 리포트/);
  });
});
