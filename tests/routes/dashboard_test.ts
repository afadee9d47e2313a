/**
 * The main page and the controls: what the page shows comes from the operator's read models
 * (mode, equity, today's P&L and the loss budget, the position with entry, mark and levels,
 * open orders, recent trades); a control runs only through its confirmation, as
 * `web:<session>` (never the cookie's id); nothing secret reaches a page.
 */

import assert from "node:assert/strict";
import { stateOf } from "../../islands/LiveStatus.tsx";
import type { AccountStatus } from "../../engine/mod.ts";
import { h } from "preact";
import { renderToString } from "preact-render-to-string";
import { budgetUsedPct, Summary } from "../../routes/dashboard_page.tsx";
import { loadStaticAssets } from "../../routes/mod.ts";
import { PASSWORD, withWorld } from "./_web_world.ts";

/** The page's text without tags (entities of `&` decoded). */
function textOf(html: string): string {
  return html.replace(/<[^>]+>/g, " ").replace(/&amp;/g, "&").replace(/\s+/g, " ");
}

Deno.test("the main page shows the bot from the operator's read models", async () => {
  await withWorld(async (w) => {
    const cookie = await w.login();
    const res = await w.request("/", { headers: { cookie } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("cache-control"), "no-store");
    const text = textOf(await res.text());
    for (
      const part of [
        "Not running", // the operator of a stopped bot (no exchange)
        "bot · paper",
        "Mode paper",
        "Market data bot not running",
        "Last price 10 s ago",
        "Last loop tick 10 s ago",
        "Last error none",
        "KRW-BTC 10 s ago",
        "KRW-ETH no price yet",
        // Equity: the 1,000,000 cap, -10,000 realized on ETH, BTC bought at 100,000,000 and
        // marked at 103,000,000 (+6,000).
        "Equity 996,000 KRW",
        "Today's P&L -10,000 KRW",
        // 10,000 of a 10% budget of 1,000,000.
        "Daily loss budget used (realized today) 10%",
        "Unrealized P&L +6,000 KRW",
        "Positions (1)",
        "KRW-BTC +6,000 KRW",
        "Volume 0.002",
        "Entry 100,000,000",
        "Mark 103,000,000",
        "Stop 95,000,000",
        "Target 110,000,000",
        "Trailing off",
        "Open orders (0)",
        "KRW-BTC buy 0.002 @ 100,000,000",
        "KRW-ETH sell 0.1 @ 3,900,000",
        "390,000 KRW · 2026-11-24 01:02:00",
      ]
    ) assert.ok(text.includes(part), `"${part}" in: ${text}`);
    // Newest trade first.
    assert.ok(text.indexOf("KRW-BTC buy") < text.indexOf("KRW-ETH sell"));
  });
});

Deno.test("pause and resume run only through the confirmation, as web:<session>", async () => {
  await withWorld(async (w) => {
    const cookie = await w.login();
    const token = await w.csrfOf(cookie);
    const ask = await w.request("/control/pause", { headers: { cookie } });
    assert.equal(ask.status, 200);
    const html = await ask.text();
    assert.match(html, /Pause the bot\?/);
    assert.match(html, /<form method="post" action="\/control\/pause">/);
    assert.match(html, /name="confirm" value="yes"/);
    assert.match(html, /href="\/">Cancel</);
    assert.equal((await w.operator.status()).paused, false, "asking does nothing");

    const unconfirmed = await w.postForm("/control/pause", { _csrf: token }, cookie);
    assert.equal(unconfirmed.status, 400);
    assert.equal((await w.operator.status()).paused, false);

    const done = await w.postForm("/control/pause", { _csrf: token, confirm: "yes" }, cookie);
    assert.equal(done.status, 303);
    assert.equal(done.headers.get("location"), "/");
    assert.equal((await w.operator.status()).paused, true);
    const [record] = await w.operator.auditLog({ limit: 1 });
    assert.match(record!.actor, /^web:[0-9a-f]{16}$/);
    assert.equal(record!.command, "pause: paused from the status page");
    const sid = cookie.split("=")[1]!;
    assert.ok(!record!.actor.includes(sid.slice(0, 8)), "the actor is not the cookie's id");
    const page = textOf(await (await w.request("/", { headers: { cookie } })).text());
    assert.ok(page.includes("Last command: pause: paused from the status page: done"), page);
    assert.ok(page.includes("Paused") || page.includes("Not running"));

    const resumed = await w.postForm("/control/resume", { _csrf: token, confirm: "yes" }, cookie);
    assert.equal(resumed.status, 303);
    assert.equal((await w.operator.status()).paused, false);
  });
});

Deno.test("the emergency stop halts through the JSON API with a confirmation", async () => {
  await withWorld(async (w) => {
    const cookie = await w.login();
    const token = await w.csrfOf(cookie);
    const res = await w.postJson("/api/control", { kind: "stop", confirmed: true }, cookie, token);
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.result, "done");
    assert.equal(body.command, "stop");
    assert.equal(body.status.halted, true);
    const text = textOf(await (await w.request("/", { headers: { cookie } })).text());
    assert.ok(text.includes("Halted"), text);
  });
});

Deno.test("no page or answer carries the password, the cookie's id or its hash", async () => {
  await withWorld(async (w) => {
    const cookie = await w.login();
    const sid = cookie.split("=")[1]!;
    const bodies: string[] = [];
    for (const path of ["/", "/control/stop", "/api/status", "/login", "/healthz"]) {
      bodies.push(await (await w.request(path, { headers: { cookie } })).text());
    }
    bodies.push(await (await w.postForm("/login", { password: "wrong-password-000" })).text());
    const hash = [
      ...new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(sid))),
    ].map((b) => b.toString(16).padStart(2, "0")).join("");
    for (const body of bodies) {
      assert.ok(!body.includes(PASSWORD));
      assert.ok(!body.includes(sid));
      assert.ok(!body.includes(hash));
    }
  });
});

Deno.test("static files are served under hashed names, immutable, without a session", async () => {
  await withWorld(async (w) => {
    const html = await (await w.request("/login")).text();
    const href = /<link rel="stylesheet" href="(\/static\/app\.[0-9a-f]{8}\.css)"/.exec(html)?.[1];
    assert.ok(href !== undefined, html);
    const css = await w.request(href);
    assert.equal(css.status, 200);
    assert.equal(css.headers.get("content-type"), "text/css; charset=utf-8");
    assert.equal(css.headers.get("cache-control"), "public, max-age=31536000, immutable");
    assert.equal(
      await css.text(),
      await Deno.readTextFile(new URL("../../static/app.css", import.meta.url)),
    );
    // With gzip accepted: the same bytes, compressed once at start.
    const gz = await w.request(href, { headers: { "accept-encoding": "gzip, br" } });
    assert.equal(gz.headers.get("content-encoding"), "gzip");
    assert.match(gz.headers.get("vary") ?? "", /^accept-encoding\b/);
    const packed = new Uint8Array(await gz.arrayBuffer());
    assert.ok(
      packed.length <
        (await Deno.readFile(new URL("../../static/app.css", import.meta.url))).length,
    );
    const unpacked = new Blob([packed]).stream().pipeThrough(new DecompressionStream("gzip"));
    assert.equal(
      await new Response(unpacked).text(),
      await Deno.readTextFile(new URL("../../static/app.css", import.meta.url)),
    );
    assert.equal((await w.request("/static/app.css")).status, 404, "only the hashed name");
    assert.equal((await w.request("/static/app.00000000.css")).status, 404);
  });
  const assets = await loadStaticAssets(new URL("../../static/", import.meta.url));
  assert.throws(() => assets.url("missing.css"), /static\/missing\.css is missing/);
});

function used(account: Partial<AccountStatus>, pct?: number): number | null {
  const base = { capitalKrw: null, equity: null, dailyPnl: "0" };
  return budgetUsedPct({ ...base, ...account } as AccountStatus, pct);
}

Deno.test("budgetUsedPct(): the day's loss against the limit's share of the cap or equity", () => {
  assert.equal(used({ capitalKrw: "1000000", dailyPnl: "-50000" }, 10), 50);
  assert.equal(used({ equity: 2_000_000, dailyPnl: "-50000" }, 10), 25);
  assert.equal(used({ capitalKrw: "1000000", dailyPnl: "30000" }, 10), 0);
  assert.equal(used({ capitalKrw: "1000000", dailyPnl: "-1" }, 0), null);
  assert.equal(used({ capitalKrw: "1000000" }), null);
  assert.equal(used({ dailyPnl: "-1" }, 10), null, "no cap, no equity");
});

Deno.test("stateOf(): halted beats not running beats safe mode beats paused", () => {
  const s = (o: Record<string, boolean>) =>
    stateOf({ halted: false, running: true, safeMode: false, paused: false, ...o }).state;
  assert.equal(s({}), "running");
  assert.equal(s({ paused: true }), "paused");
  assert.equal(s({ paused: true, safeMode: true }), "safeMode");
  assert.equal(s({ paused: true, running: false }), "notRunning");
  assert.equal(s({ halted: true, running: false }), "halted");
});

Deno.test("the summary block, the chart data and the Korean page, each behind the session", async () => {
  await withWorld(async (w) => {
    for (const path of ["/api/summary", "/api/equity", "/api/chart?market=KRW-BTC"]) {
      const res = await w.request(path, { redirect: "manual" });
      assert.equal(res.status, 401, `${path} without a session`);
      await res.body?.cancel();
    }
    const cookie = await w.login();
    const summary = await w.request("/api/summary", { headers: { cookie } });
    assert.equal(summary.headers.get("cache-control"), "no-store");
    const html = await summary.text();
    assert.ok(!html.includes("<html"), "a fragment, not a page");
    assert.ok(textOf(html).includes("Equity 996,000 KRW"), html);
    assert.ok(textOf(html).includes("Positions (1)"), html);

    // The equity curve: ETH's and BTC's snapshots over the 1,000,000 cap.
    await w.store.recordEquity({
      market: "KRW-BTC",
      tsMs: w.clock.nowMs() - 60_000,
      equity: 1_006_000n * 100_000_000n,
      cash: 0n,
    });
    const curve = await (await w.request("/api/equity", { headers: { cookie } })).json();
    assert.deepEqual(curve, [
      { time: Math.floor((w.clock.nowMs() - 60_000) / 1000), value: 1_006_000 },
      // Then the equity now (996,000: the status's figure).
      { time: Math.floor(w.clock.nowMs() / 1000), value: 996_000 },
    ]);
    const chart = await w.request("/api/chart?market=KRW-BTC", { headers: { cookie } });
    assert.equal(chart.status, 200);
    const body = await chart.json();
    assert.equal(body.market, "KRW-BTC");
    assert.deepEqual(body.candles, [], "a stopped bot has no candle history");
    for (const bad of ["KRW-XRP", "<script>", ""]) {
      const res = await w.request(`/api/chart?market=${encodeURIComponent(bad)}`, {
        headers: { cookie },
      });
      assert.equal(res.status, 400, bad);
      assert.equal(await res.text(), "market: not a market this bot trades");
    }

    const page = await (await w.request("/", { headers: { cookie: `${cookie}; lang=ko` } })).text();
    assert.match(page, /<html lang="ko">/);
    for (
      const part of ["평가 자산 996,000 KRW", "오늘 손익 -10,000 KRW", "최근 체결", "최근 신호"]
    ) {
      assert.ok(textOf(page).includes(part), part);
    }
    // The first paint loads one script, the islands' bundle; the chart bundle is only named.
    const scripts = [...page.matchAll(/<script[^>]*src="([^"]+)"/g)].map((m) => m[1]);
    assert.equal(scripts.length, 1);
    assert.match(scripts[0]!, /^\/static\/islands\.[0-9a-f]{8}\.js$/);
    assert.match(page, /\/static\/charts\.[0-9a-f]{8}\.js/);
  });
});

Deno.test("the demo's main page says its times are the sandbox's clock, not the console's dates", async () => {
  await withWorld(async (w) => {
    const [status, health] = await Promise.all([w.operator.status(), w.operator.health()]);
    const summary = (mode: string, lang: "en" | "ko") =>
      textOf(renderToString(h(Summary, {
        data: {
          lang,
          nowMs: 0,
          status: { ...status, mode },
          health,
          orders: [],
          maxDailyLossPct: 10,
        },
      })));
    assert.match(summary("demo", "en"), /Demo: times here are the sandbox's clock/);
    assert.match(summary("demo", "ko"), /샌드박스 시계/);
    assert.doesNotMatch(summary("paper", "en"), /sandbox/);
  });
});
