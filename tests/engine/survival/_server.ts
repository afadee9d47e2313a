/**
 * The process under attack in the survival test and bench (its RSS is its own):
 * `deno run -A _server.ts sandbox|web [limitsJson]` starts the sandbox (demo key, rate limits
 * on) or the bot's `startWebServer` with the real status-page app on an in-memory store, then
 * prints one JSON line `{ "url": … }` and serves until killed.
 */

import { KvSessionStore } from "../../../engine/adapters/kv_session_store.ts";
import { KvStore } from "../../../engine/adapters/kv_store.ts";
import { createOperator, EventStream, type GuardLimits, Secret } from "../../../engine/mod.ts";
import { createSandbox } from "../../../engine/sandbox/mod.ts";
import { createWebApp, loadStaticAssets } from "../../../routes/mod.ts";
import { startWebServer } from "../../../routes/server.ts";
import { StepClock } from "../_trader_fixtures.ts";

/** The page password of the web target. */
export const SURVIVAL_PASSWORD = "survival-page-password-0123456789";

const [kind, limitsJson] = Deno.args;
const limits = JSON.parse(limitsJson ?? "{}") as Partial<GuardLimits>;

if (kind === "sandbox") {
  const sandbox = await createSandbox({ port: 0, limits });
  say(JSON.stringify({ url: sandbox.restUrl }));
} else if (kind === "web") {
  const kv = await Deno.openKv(":memory:");
  const clock = new StepClock();
  const store = new KvStore(kv);
  const events = new EventStream(store, clock);
  const assets = await loadStaticAssets(new URL("../../../static/", import.meta.url));
  const server = await startWebServer({
    hostname: "127.0.0.1",
    port: 0,
    origin: undefined,
    limits,
    build: (origin, closing) =>
      createWebApp({
        operator: createOperator({ store, clock, notifier: events }),
        events,
        sessions: new KvSessionStore(kv),
        clock,
        password: new Secret(SURVIVAL_PASSWORD),
        origin,
        assets,
        closing,
      }),
  });
  say(JSON.stringify({ url: server.origin }));
} else {
  Deno.stderr.writeSync(new TextEncoder().encode("usage: _server.ts sandbox|web [limitsJson]\n"));
  Deno.exit(2);
}

function say(line: string): void {
  Deno.stdout.writeSync(new TextEncoder().encode(line + "\n"));
}
