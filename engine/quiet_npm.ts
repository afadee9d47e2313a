/**
 * Keeps Node's deprecation warnings of npm dependencies off the bot's stderr: grammY's auto-retry
 * plugin loads grammY's Node build, whose `node-fetch` → `whatwg-url` → `tr46` requires Node's
 * deprecated `punycode` and would print a `DeprecationWarning` line at every start of every mode.
 * Only `main.ts` imports this, FIRST, so the flag is set before any npm module is evaluated.
 */

import process from "node:process";

// Node reads `process.noDeprecation`; its type is not in Deno's `Process`.
Object.assign(process, { noDeprecation: true });
