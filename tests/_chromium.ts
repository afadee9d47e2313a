/**
 * Debian's `chromium` for the browser tests, driven by `playwright-core` (never a downloaded
 * browser): headless, no sandbox (root in CI), nothing phoning home, a fresh profile in `dir`.
 */

import assert from "node:assert/strict";
import { type BrowserContext, chromium } from "playwright-core";

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
