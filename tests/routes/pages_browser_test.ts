/**
 * The site's other pages in a real browser (Debian's `chromium` via `playwright-core`, the app
 * on `127.0.0.1:0`): trades (with a next page), daily reports, settings, backtests and a sell
 * confirmation, in English and Korean, at 360×740 and 1280×800, with no sideways scroll and no
 * console error (a CSP violation is one). Through the forms: a refused setting shows its reason
 * beside the field, a sell is confirmed and reaches the operator, the language switch sticks,
 * and a backtest report's inline script runs in its sandbox.
 */

import assert from "node:assert/strict";
import { assertBar, assertFits, launchChromium, watchErrors } from "../_chromium.ts";
import { fillBatch } from "../engine/_operator_world.ts";
import { T0_MS } from "../engine/_trader_fixtures.ts";
import { PASSWORD, webWorld } from "./_web_world.ts";

const REPORT = "<!doctype html><html><head><style>p{color:#333}</style></head><body><p>BTC</p>" +
  '<script>document.body.setAttribute("data-ran", "yes")</script></body></html>';

Deno.test("trades, reports, settings, backtests and sell fit a phone, in English and Korean", async () => {
  const reports = await Deno.makeTempDir({ prefix: "web-reports-" });
  await Deno.writeTextFile(`${reports}/krw-btc-bollinger-2026.html`, REPORT);
  const w = await webWorld({ serve: true, reportsDir: reports });
  const work = await Deno.makeTempDir({ prefix: "web-pages-browser-" });
  const context = await launchChromium(work);
  try {
    for (let i = 0; i < 60; i++) {
      const at = T0_MS + 300_000 + i * 1000;
      await w.store.applyFills(fillBatch("KRW-BTC", "bid", { price: "1000", vol: "0.001", at }));
    }
    const day = new Date(Math.floor(T0_MS / 86_400_000) * 86_400_000).toISOString().slice(0, 10);
    const pages = [
      "/trades",
      "/trades.next",
      "/reports",
      `/reports/${day}`,
      "/settings",
      "/backtests",
      "/sell/KRW-BTC",
    ];
    for (const [width, height] of [[360, 740], [1280, 800]] as const) {
      const page = await context.newPage();
      await page.setViewportSize({ width, height });
      const errors: string[] = [];
      // The refused setting below is answered 422 on purpose (Chromium logs the status).
      watchErrors(page, errors, (text) => text.includes("status of 422"));
      await page.goto(`${w.origin}/login`);
      await page.fill("#password", PASSWORD);
      await page.click("button[type=submit]");
      await page.waitForURL(`${w.origin}/`);
      for (const lang of ["en", "ko"] as const) {
        for (const path of pages) {
          if (path === "/trades.next") {
            await page.goto(`${w.origin}/trades`);
            await page.click("a[rel=next]");
            await page.waitForURL(/cursor=/);
          } else {
            await page.goto(`${w.origin}${path}`);
          }
          assert.equal(await page.getAttribute("html", "lang"), lang, `${path} in ${lang}`);
          await assertFits(page, `${path} (${lang}) at ${width} px`);
          // The bar: two rows on a phone (the pages in one), one on a wide screen.
          await assertBar(page, `${path} (${lang}) at ${width} px`, width === 360 ? 2 : 1);
        }
        if (lang === "en") {
          // The switch link: to Korean, back on the same page, kept by the cookie.
          await page.goto(`${w.origin}/settings`);
          await page.click("a[hreflang=ko]");
          await page.waitForURL(`${w.origin}/settings`);
          assert.equal(await page.textContent("h1"), "설정");
        }
      }

      // A refused setting: the reason beside the field, the typed value kept.
      await page.goto(`${w.origin}/settings`);
      await page.fill("#p-stop-loss-value", "-1");
      await page.click("#p-stop-loss button[value=set]");
      await page.waitForSelector("#p-stop-loss-error");
      assert.match((await page.textContent("#p-stop-loss-error")) ?? "", /stop-loss: /);
      assert.equal(await page.inputValue("#p-stop-loss-value"), "-1");
      // An accepted one.
      await page.fill("#p-stop-loss-value", "3");
      await page.click("#p-stop-loss button[value=set]");
      await page.waitForURL(/saved=stop-loss/);
      const stop = (await w.operator.params()).params.find((p) => p.name === "stop-loss");
      assert.equal(stop?.value, 3);
      await page.click("#p-stop-loss button[value=unset]");
      await page.waitForURL(/reset=stop-loss/);

      // Sell through the confirmation: asking does nothing, confirming reaches the operator.
      await page.goto(`${w.origin}/trades`);
      await page.click("a[href='/sell/KRW-BTC']");
      await page.waitForURL(`${w.origin}/sell/KRW-BTC`);
      const sells = async () =>
        (await w.operator.auditLog({ limit: 100 })).filter((a) => a.command === "sell KRW-BTC")
          .length;
      const before = await sells();
      await page.click("button.danger");
      await page.waitForURL(`${w.origin}/`);
      assert.equal(await sells(), before + 1, "the confirmed sell reached the operator");

      // A backtest report: served sandboxed, its inline script runs.
      await page.goto(`${w.origin}/backtests`);
      await page.click("a[href='/backtests/report/krw-btc-bollinger-2026.html']");
      await page.waitForSelector("body[data-ran=yes]", { timeout: 5_000 });

      // Back to English for the next size.
      await page.goto(`${w.origin}/lang/en?next=/trades`);
      assert.equal(await page.getAttribute("html", "lang"), "en");
      await page.click("button.link"); // sign out
      await page.waitForURL(`${w.origin}/login`);
      assert.deepEqual(errors, [], `console errors at ${width} px`);
      await page.close();
    }
  } finally {
    await context.close();
    await w.close();
    await Deno.remove(work, { recursive: true });
    await Deno.remove(reports, { recursive: true });
  }
});
