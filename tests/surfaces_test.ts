/**
 * The bot's surfaces inside the running process, end to end as `deno task demo` runs it
 * (`main.ts demo` in a child process, real sockets both ways): the status page and Telegram's
 * webhook on ONE server (the demo prints the page's URL and its generated password), Telegram
 * long polling, a start while the (fake) Bot API is down, one line and exit code 2 for each bad
 * setting, and the port free again after the stop.
 */

import assert from "node:assert/strict";
import {
  commandUpdate,
  FAKE_BOT_INFO,
  type FakeBotApi,
  startFakeBotApi,
} from "./engine/telegram/_fake_bot_api.ts";
import { readOutput } from "./_child_output.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const OWNER = 111_222_333;
const WEBHOOK_SECRET = "wire-test-webhook-secret_0123456789abcdef";
const PASSWORD = "a-web-password-of-24-chr";

function childEnv(extra: Record<string, string>): Record<string, string> {
  return {
    PATH: Deno.env.get("PATH") ?? "",
    HOME: Deno.env.get("HOME") ?? "/tmp",
    ...(Deno.env.get("DENO_DIR") === undefined ? {} : { DENO_DIR: Deno.env.get("DENO_DIR")! }),
    NO_COLOR: "1",
    ...extra,
  };
}

/** A running `main.ts` child: its output so far, waits on it, and a Ctrl-C. */
interface Child {
  output(): string;
  /** Resolves with the first match of `pattern` in stdout (rejects after `timeoutMs`). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** SIGINT, then the exit code and the whole output. */
  stop(): Promise<{ code: number; stdout: string; stderr: string }>;
}

/** `deno run -A main.ts <args>` in the repository with only `env`, its output piped. */
function mainCommand(args: readonly string[], env: Record<string, string>): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "main.ts", ...args],
    cwd: ROOT,
    env: childEnv(env),
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  });
}

function start(args: readonly string[], env: Record<string, string>): Child {
  const child = mainCommand(args, env).spawn();
  const output = readOutput(child);
  return {
    output: output.out,
    waitFor: (pattern, timeoutMs = 60_000) => output.waitFor(pattern, `${pattern}`, timeoutMs),
    async stop() {
      try {
        child.kill("SIGINT");
      } catch {
        // Already gone.
      }
      const status = await child.status;
      await output.done;
      return { code: status.code, stdout: output.out(), stderr: output.err() };
    },
  };
}

/** Runs `main.ts` to its end (a refused start). */
async function runToEnd(args: readonly string[], env: Record<string, string>) {
  const out = await mainCommand(args, env).output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = probe();
    if (value !== undefined) return value;
    await delay(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The demo's page line: its origin and the password printed for this run. */
const PAGE_LINE =
  /status page at (http:\/\/127\.0\.0\.1:(\d+))\/ \(password for this run: ([A-Za-z0-9_-]{24});/;

function telegramEnv(fake: FakeBotApi, extra: Record<string, string> = {}) {
  return {
    TELEGRAM_BOT_TOKEN: fake.token,
    TELEGRAM_OWNER_ID: String(OWNER),
    TELEGRAM_API_ROOT: fake.apiRoot,
    ...extra,
  };
}

/** The sendMessage texts to the owner that answer /status. */
function statusReplies(fake: FakeBotApi): string[] {
  return fake.callsOf("sendMessage")
    .filter((c) => c.status === 200 && c.params.chat_id === OWNER)
    .map((c) => String(c.params.text))
    .filter((t) => t.startsWith("Status: demo"));
}

function portIsFree(port: number): boolean {
  try {
    const listener = Deno.listen({ hostname: "127.0.0.1", port });
    listener.close();
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) return false;
    throw error;
  }
}

Deno.test("the demo serves the page and Telegram's webhook on one server, and frees it at stop", async () => {
  const dir = await Deno.makeTempDir({ prefix: "surfaces_" });
  const fake = await startFakeBotApi();
  const child = start(
    ["demo", "--http-port", "0", "--kv", `${dir}/demo.kv`],
    telegramEnv(fake, { TELEGRAM_WEBHOOK_SECRET: WEBHOOK_SECRET }),
  );
  let stopped: Awaited<ReturnType<Child["stop"]>> | undefined;
  try {
    const [, origin, port, password] = await child.waitFor(PAGE_LINE);
    assert.equal(await (await fetch(`${origin}/healthz`)).text(), "ok");
    const loginPage = await fetch(`${origin}/login`);
    assert.equal(loginPage.status, 200);
    assert.match(await loginPage.text(), /<form[^>]*method="post"/i);
    const login = await fetch(`${origin}/login`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: origin! },
      body: new URLSearchParams({ password: password! }),
      redirect: "manual",
    });
    await login.body?.cancel();
    assert.equal(login.status, 303, "the printed password signs in");
    const setCookie = login.headers.get("set-cookie")!;
    // 12 hours of the demo's 60x clock: 12 real hours.
    assert.match(setCookie, new RegExp(`Max-Age=${12 * 3_600 * 60}\\b`, "i"));
    const cookie = setCookie.split(";")[0]!;
    const status = await fetch(`${origin}/api/status`, { headers: { cookie } });
    assert.equal(status.status, 200);
    const body = await status.json() as { mode: string; markets: { market: string }[] };
    assert.equal(body.mode, "demo");
    assert.deepEqual(body.markets.map((m) => m.market), ["KRW-BTC"]);
    const anonymous = await fetch(`${origin}/api/status`);
    await anonymous.body?.cancel();
    assert.equal(anonymous.status, 401);

    // The bot registered its webhook on the page's server, with the secret.
    const webhook = await until("setWebhook", () => fake.webhook ?? undefined);
    assert.deepEqual(webhook, { url: `${origin}/telegram/webhook`, secretToken: WEBHOOK_SECRET });
    const post = (update: unknown, secret?: string) =>
      fetch(`${origin}/telegram/webhook`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(secret === undefined ? {} : { "X-Telegram-Bot-Api-Secret-Token": secret }),
        },
        body: JSON.stringify(update),
      }).then(async (r) => {
        await r.body?.cancel();
        return r.status;
      });
    assert.equal(await post(commandUpdate(900_001, OWNER, "/status")), 401, "no secret: refused");
    assert.equal(await post(commandUpdate(900_002, OWNER, "/status"), "wrong-secret"), 401);
    assert.equal(await post(commandUpdate(900_003, OWNER, "/status"), WEBHOOK_SECRET), 200);
    const [reply] = await until("the /status reply", () => {
      const replies = statusReplies(fake);
      return replies.length > 0 ? replies : undefined;
    });
    assert.match(reply!, /^Status: demo · bot · running\n/);
    assert.match(reply!, /KRW-BTC/);
    await delay(300);
    assert.equal(statusReplies(fake).length, 1, "the refused posts ran nothing");
    // /logs shows the run's lines, the page's among them, without the generated password.
    assert.equal(await post(commandUpdate(900_004, OWNER, "/logs 100"), WEBHOOK_SECRET), 200);
    const logs = await until(
      "the /logs reply",
      () =>
        fake.callsOf("sendMessage").map((c) => String(c.params.text)).find((t) =>
          t.includes("status page at")
        ),
    );
    assert.match(logs, /password for this run: \[REDACTED\]/);
    assert.ok(!logs.includes(password!));

    stopped = await child.stop();
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.equal(stopped.stderr, "");
    assert.match(stopped.stdout, /demo: stopped/);
    assert.ok(portIsFree(Number(port)), "the server let go of its port");
    const printed = stopped.stdout.split(password!).length - 1;
    assert.equal(printed, 1, "the generated password is printed once");
    for (const secret of [fake.token, WEBHOOK_SECRET]) {
      assert.ok(!stopped.stdout.includes(secret), "no Telegram secret in the output");
    }
  } finally {
    if (stopped === undefined) await child.stop();
    await fake.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Telegram polling: the bot starts while the Bot API is down and answers once it is back", async () => {
  const dir = await Deno.makeTempDir({ prefix: "surfaces_" });
  const fake = await startFakeBotApi();
  await fake.setFault({ kind: "down" });
  const child = start(
    ["demo", "--http-port", "0", "--kv", `${dir}/demo.kv`],
    { ...telegramEnv(fake, { TELEGRAM_MODE: "polling" }), WEB_PASSWORD: PASSWORD },
  );
  let stopped: Awaited<ReturnType<Child["stop"]>> | undefined;
  try {
    await child.waitFor(/demo: trading KRW-BTC/);
    await child.waitFor(/telegram: cannot reach the Bot API; the bot runs on/);
    const [, origin] = await child.waitFor(/status page at (http:\/\/[\d.:]+)\/ \(sign in with/);
    assert.equal(await (await fetch(`${origin}/healthz`)).text(), "ok", "the page is up meanwhile");
    assert.equal(fake.callsOf("getMe").length, 0, "nothing reached the Bot API while down");

    await fake.setFault(null);
    await child.waitFor(/telegram: polling for updates as @upbit_trader_test_bot/, 70_000);
    fake.queueUpdate(commandUpdate(1, OWNER, "/status"));
    const [reply] = await until("the polled /status reply", () => {
      const replies = statusReplies(fake);
      return replies.length > 0 ? replies : undefined;
    });
    assert.match(reply!, /^Status: demo · bot · running\n/);
    assert.equal(fake.webhook, null, "polling sets no webhook");
    assert.equal(FAKE_BOT_INFO.username, "upbit_trader_test_bot");

    stopped = await child.stop();
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.match(stopped.stdout, /demo: stopped/);
    assert.ok(!stopped.stdout.includes(PASSWORD), "a configured password is never printed");
    assert.ok(!stopped.stdout.includes(fake.token));
  } finally {
    if (stopped === undefined) await child.stop();
    await fake.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("each bad surface setting is one line naming it, exit code 2", async (t) => {
  const token = "123456789:AAFakeTokenForTestsOnly_abcdefghijklm";
  const cases: [string, string[], Record<string, string>, string][] = [
    [
      "a short password",
      ["paper"],
      { HTTP_PORT: "8080", WEB_PASSWORD: "fifteen-chars15" },
      "paper: WEB_PASSWORD: must be at least 16 characters (see --help)",
    ],
    [
      "a page without a password (paper)",
      ["paper"],
      { HTTP_PORT: "8080" },
      "paper: WEB_PASSWORD: must be set to serve the status page (at least 16 characters) (see --help)",
    ],
    [
      "a bad port variable",
      ["paper"],
      { HTTP_PORT: "80a", WEB_PASSWORD: PASSWORD },
      "paper: HTTP_PORT: expected a port number 0-65535 (see --help)",
    ],
    [
      "a bad port flag",
      ["live", "--http-port", "70000"],
      { WEB_PASSWORD: PASSWORD },
      "live: --http-port: expected a port number 0-65535 (see --help)",
    ],
    [
      "a bad address",
      ["demo", "--http-host", "a b"],
      {},
      "demo: --http-host: expected an address such as 127.0.0.1 (see --help)",
    ],
    [
      "beyond loopback without an https origin",
      ["paper"],
      { HTTP_PORT: "8080", HTTP_HOST: "0.0.0.0", WEB_PASSWORD: PASSWORD },
      "paper: WEB_ORIGIN: must be set (https://…, a TLS proxy in front) when HTTP_HOST is 0.0.0.0, not loopback (see --help)",
    ],
    [
      "a webhook without its secret",
      ["paper"],
      {
        HTTP_PORT: "8080",
        WEB_PASSWORD: PASSWORD,
        TELEGRAM_BOT_TOKEN: token,
        TELEGRAM_OWNER_ID: "42",
      },
      "paper: TELEGRAM_WEBHOOK_SECRET: must be set in webhook mode (or set TELEGRAM_MODE=polling) (see --help)",
    ],
    [
      "a webhook without a server",
      ["paper"],
      {
        TELEGRAM_BOT_TOKEN: token,
        TELEGRAM_OWNER_ID: "42",
        TELEGRAM_WEBHOOK_SECRET: WEBHOOK_SECRET,
      },
      "paper: HTTP_PORT (--http-port): must be set for the Telegram webhook (it is served on the bot's HTTP server), or set TELEGRAM_MODE=polling (see --help)",
    ],
    [
      "a token that is not one",
      ["demo"],
      { TELEGRAM_BOT_TOKEN: "not-a-token", TELEGRAM_OWNER_ID: "42" },
      "demo: TELEGRAM_BOT_TOKEN: expected the token from BotFather (<digits>:<secret>) (see --help)",
    ],
  ];
  for (const [name, args, env, expected] of cases) {
    await t.step(name, async () => {
      const r = await runToEnd(args, { UPBIT_REST_URL: "http://127.0.0.1:1", ...env });
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stdout, "");
      assert.equal(r.stderr, `${expected}\n`);
      for (const secret of [PASSWORD, token, WEBHOOK_SECRET]) {
        assert.ok(!r.stderr.includes(secret), "no secret in the line");
      }
    });
  }
  await t.step("a port in use (the demo gets that far, then stops)", async () => {
    const busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const dir = await Deno.makeTempDir({ prefix: "surfaces_" });
    try {
      const port = (busy.addr as Deno.NetAddr).port;
      const r = await runToEnd(["demo", "--http-port", String(port), "--kv", `${dir}/demo.kv`], {});
      assert.equal(r.code, 2, r.stderr);
      assert.equal(
        r.stderr,
        `demo: --http-port: port ${port} on 127.0.0.1 is in use (pick another, or 0 for any free port)\n`,
      );
    } finally {
      busy.close();
      await Deno.remove(dir, { recursive: true });
    }
  });
});
