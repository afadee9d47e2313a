/**
 * The process under attack in the survival test and bench (its RSS is its own):
 * `deno run -A _server.ts sandbox|web [limitsJson]` starts the sandbox (demo key, rate limits
 * on) or the bot's `startWebServer` with the real status-page app on an in-memory store, then
 * prints one JSON line `{ "url": … }` and serves until killed.
 */

import type { GuardLimits } from "../../../engine/mod.ts";
import { createSandbox } from "../../../engine/sandbox/mod.ts";
import { serveEmptyApp } from "../../routes/_web_world.ts";

/** The page password of the web target. */
export const SURVIVAL_PASSWORD = "survival-page-password-0123456789";

const [kind, limitsJson] = Deno.args;
const limits = JSON.parse(limitsJson ?? "{}") as Partial<GuardLimits>;

if (kind === "sandbox") {
  const sandbox = await createSandbox({ port: 0, limits });
  say(JSON.stringify({ url: sandbox.restUrl }));
} else if (kind === "web") {
  const { server } = await serveEmptyApp({ password: SURVIVAL_PASSWORD, limits });
  say(JSON.stringify({ url: server.origin }));
} else {
  Deno.stderr.writeSync(new TextEncoder().encode("usage: _server.ts sandbox|web [limitsJson]\n"));
  Deno.exit(2);
}

function say(line: string): void {
  Deno.stdout.writeSync(new TextEncoder().encode(line + "\n"));
}
