/**
 * Debian's `chromium` for the browser tests, driven by `playwright-core` (never a downloaded
 * browser): headless, no sandbox (root in CI), nothing phoning home, a fresh profile in `dir`;
 * and the checks every browser test makes: nothing scrolls sideways, no console error.
 */

import assert from "node:assert/strict";
import { type BrowserContext, chromium, type Page } from "playwright-core";

const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-quic",
  "--no-first-run",
  "--disable-component-update",
  "--disable-sync",
];

/** Starts Chromium with a new profile under `dir` (the caller closes the context). */
export async function launchChromium(dir: string): Promise<BrowserContext> {
  return await chromium.launchPersistentContext(`${dir}/profile`, {
    executablePath: chromiumPath(),
    headless: true,
    args: CHROMIUM_ARGS,
  });
}

function chromiumPath(): string {
  const which = new Deno.Command("which", { args: ["chromium"], stdout: "piped", stderr: "null" })
    .outputSync();
  const path = new TextDecoder().decode(which.stdout).trim();
  assert.ok(which.success && path !== "", "chromium not found: apt-get install -y chromium");
  return path;
}

/** Browser code measuring sideways overflow (a string: the test's types are not the DOM's). */
function widthsJs(scope: string): string {
  return `(() => ({
  inner: window.innerWidth,
  scroll: document.documentElement.scrollWidth,
  wide: [...document.querySelectorAll(${JSON.stringify(`${scope} *`)})]
    .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 0.5)
    .map((el) => el.tagName + "." + el.className).slice(0, 5),
}))()`;
}

/** Asserts the page does not scroll sideways and every element of `scope` fits its width. */
export async function assertFits(page: Page, label: string, scope = "body"): Promise<void> {
  const shown = await page.evaluate(widthsJs(scope)) as {
    inner: number;
    scroll: number;
    wide: string[];
  };
  assert.ok(
    shown.scroll <= shown.inner,
    `${label}: no sideways scroll: ${shown.scroll} > ${shown.inner} (${shown.wide})`,
  );
  assert.deepEqual(shown.wide, [], `${label}: everything fits`);
}

/**
 * Adds to `errors` each console error and uncaught error of `page` from now on (a CSP violation
 * is one), but for those `ignored` says are expected.
 */
export function watchErrors(
  page: Page,
  errors: string[],
  ignored: (text: string) => boolean = () => false,
): void {
  page.on("console", (msg) => {
    if (msg.type() === "error" && !ignored(msg.text())) errors.push(`${page.url()}: ${msg.text()}`);
  });
  page.on("pageerror", (error) => errors.push(error.message));
}

/** Browser code: the rows the top bar's items sit in, and whether the pages' row scrolls. */
const BAR_JS = `(() => {
  const boxes = [...document.querySelectorAll(
    ".top .badge, .top .bot, .top .nav a, .top .langs a, .top button",
  )].map((el) => el.getBoundingClientRect())
    .filter((r) => r.width > 0 && r.height > 0)
    .sort((a, b) => a.top - b.top);
  let rows = 0;
  let bottom = -Infinity;
  for (const r of boxes) {
    if (r.top >= bottom - 1) {
      rows++;
      bottom = r.bottom;
    } else bottom = Math.max(bottom, r.bottom);
  }
  const nav = document.querySelector(".top .nav");
  return {
    rows,
    scrolls: nav !== null && nav.scrollWidth > nav.clientWidth + 0.5,
    widths: nav === null ? "" : nav.scrollWidth + " in " + nav.clientWidth,
  };
})()`;

/** Asserts the top bar takes at most `maxRows` rows and shows every page link (no scrolling). */
export async function assertBar(page: Page, label: string, maxRows = 2): Promise<void> {
  const bar = await page.evaluate(BAR_JS) as { rows: number; scrolls: boolean; widths: string };
  assert.ok(bar.rows >= 1 && bar.rows <= maxRows, `${label}: the bar in ${bar.rows} rows`);
  assert.equal(bar.scrolls, false, `${label}: every page link shows (${bar.widths} px)`);
}
