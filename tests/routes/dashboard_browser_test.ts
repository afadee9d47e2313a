/**
 * The status page in a real browser: Debian's `chromium` driven by `playwright-core`, against the
 * app served on `127.0.0.1:0` (plain http on loopback: the `sid` cookie). Signs in through the
 * form, shows the main page at 360×740 and 1280×800 with no sideways scroll and no console error
 * (a CSP violation is one), updates the state badge (an island) live from the event stream
 * within a second (and, after a restart, resumes from the last event id), pauses and resumes
 * through the confirmation, and saves the
 * screenshots under `reports/screenshots/` (`web-360.png`, `web-1280.png`).
 */

import assert from "node:assert/strict";
import { assertBar, assertFits, launchChromium, watchErrors } from "../_chromium.ts";
import { PASSWORD, webWorld } from "./_web_world.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const SHOTS = `${ROOT}reports/screenshots`;

Deno.test("the page works in Chromium at 360 px and 1280 px: sign in, pause, resume", async () => {
  const w = await webWorld({ serve: true });
  const work = await Deno.makeTempDir({ prefix: "web-browser-" });
  await Deno.mkdir(SHOTS, { recursive: true });
  const context = await launchChromium(work);
  try {
    for (const [width, height] of [[360, 740], [1280, 800]] as const) {
      const page = await context.newPage();
      await page.setViewportSize({ width, height });
      if (width === 360) {
        // A wrong password is answered 401 (Chromium logs that as a console error: not counted).
        await page.goto(`${w.origin}/login`);
        await page.fill("#password", "wrong-password-123");
        await page.click("button[type=submit]");
        assert.ok((await page.textContent(".error"))?.includes("Wrong password"));
      }
      const errors: string[] = [];
      watchErrors(page, errors);
      await page.goto(`${w.origin}/`);
      assert.equal(new URL(page.url()).pathname, "/login", "no session: the login page");
      await page.fill("#password", PASSWORD);
      await page.click("button[type=submit]");
      await page.waitForURL(`${w.origin}/`);
      assert.ok((await page.textContent("main"))?.includes("Positions (1)"));
      await page.screenshot({ path: `${SHOTS}/web-${width}.png`, fullPage: true });
      await assertFits(page, `${width} px`, "main");
      await assertBar(page, `${width} px`, width === 360 ? 2 : 1);

      // The badge is an island: live from /api/events, within a second, without a reload.
      const badge = "[data-island=LiveStatus] .badge";
      assert.equal(await page.getAttribute(badge, "data-state"), "notRunning");
      await w.operator.execute("ctl", { kind: "stop" });
      await page.waitForSelector(`${badge}[data-state=halted]`, { timeout: 1_000 });
      await w.operator.execute("ctl", { kind: "resume" });
      await page.waitForSelector(`${badge}[data-state=notRunning]`, { timeout: 1_000 });

      if (width === 1280) {
        // A restart ends the stream; the browser reconnects with Last-Event-ID and gets the stop
        // committed while it was away.
        await w.restart();
        // (The journal orders events of one ms by a per-process seq: time moves on, as it would.)
        w.clock.set(w.clock.nowMs() + 1_000);
        await w.operator.execute("ctl", { kind: "stop" });
        await page.waitForSelector(`${badge}[data-state=halted]`, { timeout: 5_000 });
        await w.operator.execute("ctl", { kind: "resume" });
        await page.waitForSelector(`${badge}[data-state=notRunning]`, { timeout: 1_000 });
      }

      await page.click("a[href='/control/pause']");
      await page.waitForURL(`${w.origin}/control/pause`);
      assert.equal((await w.operator.status()).paused, false, "asking does nothing");
      await page.click("button[type=submit]");
      await page.waitForURL(`${w.origin}/`);
      assert.equal((await w.operator.status()).paused, true, `paused at ${width} px`);
      await page.click("a[href='/control/resume']");
      await page.click("button[type=submit]");
      await page.waitForURL(`${w.origin}/`);
      assert.equal((await w.operator.status()).paused, false, `resumed at ${width} px`);

      await page.click("button.link"); // sign out
      await page.waitForURL(`${w.origin}/login`);
      assert.deepEqual(errors, [], `console errors at ${width} px`);
      await page.close();
    }
  } finally {
    await context.close();
    await w.close();
    await Deno.remove(work, { recursive: true });
  }
});
