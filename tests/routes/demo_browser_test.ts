/**
 * The status page of the real demo in a real browser: `deno task demo` (the sandbox replaying
 * real KRW-BTC candles, the paper bot, the page on `--http-port 0`) driven by Debian's
 * `chromium` through `playwright-core`. At 360×740: a wrong password is refused, the right one
 * signs in, the demo's first fill shows in the trade list within 1 s of the bot logging it
 * (no reload: the SSE island), pause and resume go through their confirmations, nothing scrolls
 * sideways; at 1280×800 the same page fits too; no console error anywhere (a CSP violation is
 * one). The screenshots, once the lazily loaded charts are drawn, are saved as
 * `docs/web-360.png` (in the README) and `docs/web-1280.png`.
 */

import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { assertBar, assertFits, launchChromium, watchErrors } from "../_chromium.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const PASSWORD = "demo-browser-test-password-0123";

/** Records (wall-clock ms) when each trade row appears in the live list. */
const WATCH_TRADES_JS = `(() => {
  window.__trades = [];
  const seen = new Set([...document.querySelectorAll("[data-trade]")].map((e) => e.dataset.trade));
  new MutationObserver(() => {
    for (const el of document.querySelectorAll("[data-trade]")) {
      if (seen.has(el.dataset.trade)) continue;
      seen.add(el.dataset.trade);
      window.__trades.push({ at: Date.now(), text: el.textContent });
    }
  }).observe(document.body, { childList: true, subtree: true });
  return seen.size;
})()`;

/** The demo's output lines, each with the wall-clock time it was read. */
interface Demo {
  readonly url: Promise<string>;
  readonly lines: { readonly text: string; readonly atMs: number }[];
  /** Resolves with the first line matching `re` (and when it was read). */
  waitFor(re: RegExp, timeoutMs: number): Promise<{ text: string; atMs: number }>;
  stop(): Promise<void>;
}

function startDemo(kv: string): Demo {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "demo", "--kv", kv, "--http-port", "0"],
    cwd: ROOT,
    env: { WEB_PASSWORD: PASSWORD, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: { text: string; atMs: number }[] = [];
  const url = Promise.withResolvers<string>();
  const reading = (async () => {
    let buffer = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      buffer += chunk;
      let cut: number;
      while ((cut = buffer.indexOf("\n")) >= 0) {
        const text = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 1);
        lines.push({ text, atMs: Date.now() });
        const origin = /status page at (http:\/\/127\.0\.0\.1:\d+)\//.exec(text)?.[1];
        if (origin !== undefined) url.resolve(origin);
      }
    }
    url.reject(new Error(`the demo ended without a page:\n${lines.map((l) => l.text).join("\n")}`));
  })();
  const errors = new Response(child.stderr).text();
  return {
    url: url.promise,
    lines,
    async waitFor(re, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const line = lines.find((l) => re.test(l.text));
        if (line !== undefined) return line;
        await new Promise((r) => setTimeout(r, 5));
      }
      throw new Error(
        `no ${re} from the demo in ${timeoutMs} ms:\n${lines.map((l) => l.text).join("\n")}`,
      );
    },
    async stop() {
      try {
        child.kill("SIGINT");
      } catch {
        // Already gone.
      }
      await child.status;
      await reading.catch(() => {});
      await errors;
    },
  };
}

/** Polls `js` in the page until true (`waitForFunction` evaluates with eval: the CSP forbids it). */
async function until(page: Page, js: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await page.evaluate(js))) {
    assert.ok(Date.now() < deadline, `not within ${timeoutMs} ms: ${js}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Waits until both charts are drawn (canvas) and settled, then saves the page. */
async function screenshot(page: Page, path: string): Promise<void> {
  await until(
    page,
    `[...document.querySelectorAll(".chart")].every((c) => c.querySelector("canvas") !== null)`,
    10_000,
  );
  await page.waitForTimeout(300);
  await page.screenshot({ path, fullPage: true });
}

Deno.test({
  name:
    "the demo's page in Chromium: sign in, a fill within 1 s, pause and resume, 360 and 1280 px",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const kv = `data/web-browser-test-${crypto.randomUUID().slice(0, 8)}.kv`;
    const demo = startDemo(kv);
    const work = await Deno.makeTempDir({ prefix: "demo-browser-" });
    const context = await launchChromium(work);
    try {
      const origin = await demo.url;
      const page = await context.newPage();
      await page.setViewportSize({ width: 360, height: 740 });
      // A wrong password is answered 401 (Chromium logs that as a console error: not counted).
      await page.goto(`${origin}/`);
      assert.equal(new URL(page.url()).pathname, "/login", "no session: the login page");
      await page.fill("#password", "wrong-password-123");
      await page.click("button[type=submit]");
      assert.ok((await page.textContent(".error"))?.includes("Wrong password"));
      const errors: string[] = [];
      watchErrors(page, errors);
      await page.fill("#password", PASSWORD);
      await page.click("button[type=submit]");
      await page.waitForURL(`${origin}/`);
      await page.waitForSelector("[data-live=on]", { timeout: 5_000 }); // the event stream is open

      // The first fill: logged by the bot, shown by the page's trade list without a reload.
      const before = await page.evaluate(WATCH_TRADES_JS) as number;
      assert.equal(before, 0, "the demo's fresh store has no trade yet");
      assert.equal(demo.lines.some((l) => /filled (BUY|SELL)/.test(l.text)), false);
      const filled = await demo.waitFor(/filled (BUY|SELL)/, 90_000);
      await until(page, "window.__trades.length > 0", 5_000);
      const shown = (await page.evaluate("window.__trades[0]")) as { at: number; text: string };
      const delayMs = shown.at - filled.atMs;
      assert.ok(delayMs <= 1_000, `the fill showed ${delayMs} ms after the bot logged it`);
      const volume = /filled (?:BUY|SELL) ([\d.]+) BTC @ ([\d,]+) KRW/.exec(filled.text)!;
      assert.ok(shown.text.includes(`${volume[1]} @ ${volume[2]}`), shown.text);
      Deno.stderr.writeSync(
        new TextEncoder().encode(`fill shown ${delayMs} ms after the bot logged it\n`),
      );

      // Pause and resume, each through its confirmation.
      const badge = "[data-island=LiveStatus] .badge";
      await page.waitForSelector(`${badge}[data-state=running]`);
      await page.click("a[href='/control/pause']");
      await page.waitForURL(`${origin}/control/pause`);
      await page.click("button[type=submit]");
      await page.waitForURL(`${origin}/`);
      await page.waitForSelector(`${badge}[data-state=paused]`, { timeout: 2_000 });
      await page.click("a[href='/control/resume']");
      await page.waitForURL(`${origin}/control/resume`);
      await page.click("button[type=submit]");
      await page.waitForURL(`${origin}/`);
      await page.waitForSelector(`${badge}[data-state=running]`, { timeout: 2_000 });

      await assertFits(page, "360 px");
      await assertBar(page, "360 px");
      await screenshot(page, `${ROOT}docs/web-360.png`);

      const wide = await context.newPage();
      watchErrors(wide, errors);
      await wide.setViewportSize({ width: 1280, height: 800 });
      await wide.goto(`${origin}/`);
      await assertFits(wide, "1280 px");
      await assertBar(wide, "1280 px", 1);
      await screenshot(wide, `${ROOT}docs/web-1280.png`);
      await wide.close();
      await page.close();
      assert.deepEqual(errors, [], "console errors");
    } finally {
      await context.close();
      await demo.stop();
      await Deno.remove(work, { recursive: true });
      for await (const f of Deno.readDir(`${ROOT}data`)) {
        if (f.name.startsWith(kv.slice("data/".length))) await Deno.remove(`${ROOT}data/${f.name}`);
      }
    }
  },
});
