/**
 * Secrets never leave the process (issue 13): the live bot, started as `deno task live` starts it
 * (a child process with the task's permission flags) against the sandbox, runs with canary
 * secrets (Upbit keys, the Telegram token and webhook secret, the page password, the metrics
 * token, a KV access token) and is driven everywhere a secret could slip out: trades, a rejected
 * order, a refused Upbit key, a failed page login, every page route signed in (its controls and a
 * refused setting too), /metrics with its token, every Telegram command through the fake Bot API,
 * `deno task backup` while it trades, the stop. Then every output is searched for every canary (as is, base64, base64url, hex and
 * URL-encoded, and inside any JWT-looking token): stdout and stderr, every page body, every call
 * the fake Bot API received, /metrics, the backup file, every KV entry and the store's raw files.
 */

import assert from "node:assert/strict";
import { createSandbox, DEFAULT_ACCOUNT } from "../engine/sandbox/mod.ts";
import { startKvConnectServer } from "./engine/adapters/_kv_connect_server.ts";
import { commandUpdate, startFakeBotApi } from "./engine/telegram/_fake_bot_api.ts";
import { readOutput } from "./_child_output.ts";

const ROOT = decodeURIComponent(new URL("../", import.meta.url).pathname).replace(/\/$/, "");
const FILE = `${ROOT}/data/upbit-KRW-BTC-1m-20220531-20220607.csv`;
const OWNER = 111_222_333;

/** The canaries: distinctive, so any hit is a leak. */
const CANARY = {
  UPBIT_ACCESS_KEY: "CANARYaccessKEYq7f3e9a1c5b2d4e6f8a0b1c2d3e4",
  UPBIT_SECRET_KEY: "CANARYsecretKEYw9b8a7c6d5e4f3a2b1c0d9e8f7a6",
  TELEGRAM_BOT_TOKEN: "987654321:CANARYtelegramTOKENe5e1f2a3b4c5d6e7f8a9",
  TELEGRAM_WEBHOOK_SECRET: "CANARYwebhookSECRETr0a1b2c3d4e5f6a7b8c9d",
  WEB_PASSWORD: "CANARY-web-PASSWORD-t4d5e6f7a8b9",
  WEB_METRICS_TOKEN: "CANARYmetricsTOKENy3c4d5e6f7a8b9c0d1e2f3a",
  DENO_KV_ACCESS_TOKEN: "CANARYkvACCESStokenu1a2b3c4d5e6f7a8b9c0d",
} as const;
/** A wrong secret for the same key (the refused start); a canary too. */
const WRONG_SECRET = "CANARYwrongSECRETi8f7e6d5c4b3a2f1e0d9c8b7";
/** A wrong KV access token (the refused remote store); a canary too. */
const WRONG_KV_TOKEN = "CANARYwrongKVtokeno2p3q4r5s6t7u8v9w0x1y2";

/** Each canary's forms an output could carry it in. */
function needles(): Map<string, string> {
  const found = new Map<string, string>();
  const secrets: [string, string][] = [
    ...Object.entries(CANARY),
    ["wrong UPBIT_SECRET_KEY", WRONG_SECRET],
    ["wrong DENO_KV_ACCESS_TOKEN", WRONG_KV_TOKEN],
    // The token's secret half, alone.
    ["TELEGRAM_BOT_TOKEN secret", CANARY.TELEGRAM_BOT_TOKEN.split(":")[1]!],
  ];
  for (const [name, value] of secrets) {
    const bytes = new TextEncoder().encode(value);
    const b64 = btoa(String.fromCharCode(...bytes));
    found.set(value, name);
    found.set(encodeURIComponent(value), `${name} (URL-encoded)`);
    // base64 at each of the 3 alignments, without the edge characters that depend on neighbours.
    for (let shift = 0; shift < 3; shift++) {
      const aligned = btoa("x".repeat(shift) + value);
      const core = aligned.slice(Math.ceil((shift * 4) / 3) + 1, -4);
      found.set(core, `${name} (base64)`);
      found.set(core.replaceAll("+", "-").replaceAll("/", "_"), `${name} (base64url)`);
    }
    found.set(b64.replace(/=+$/, ""), `${name} (base64)`);
    const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
    found.set(hex, `${name} (hex)`);
    found.set(hex.toUpperCase(), `${name} (hex)`);
  }
  return found;
}

/** Everything captured, by where it came from. */
const corpus: { where: string; text: string }[] = [];

function capture(where: string, text: string): void {
  corpus.push({ where, text });
  // A JWT (or any base64url JSON) is decoded too: a signed request's token names the key.
  for (const token of text.match(/eyJ[A-Za-z0-9_-]{8,}(?:\.[A-Za-z0-9_-]*){0,2}/g) ?? []) {
    for (const part of token.split(".")) {
      try {
        const padded = part.replaceAll("-", "+").replaceAll("_", "/");
        corpus.push({ where: `${where} (decoded token)`, text: atob(padded) });
      } catch {
        // Not base64: already searched as it is.
      }
    }
  }
}

function leaks(): string[] {
  const hits: string[] = [];
  for (const [needle, name] of needles()) {
    for (const { where, text } of corpus) {
      if (text.includes(needle)) hits.push(`${name} in ${where}`);
    }
  }
  return [...new Set(hits)];
}

/** Captures every entry of the KV at `path` (key and value); resolves how many there were. */
async function captureKv(path: string): Promise<number> {
  const kv = await Deno.openKv(path);
  let entries = 0;
  try {
    for await (const entry of kv.list({ prefix: [] })) {
      entries++;
      capture(`KV ${text(entry.key)}`, `${text(entry.key)} ${text(entry.value)}`);
    }
  } finally {
    kv.close();
  }
  return entries;
}

function text(value: unknown): string {
  return JSON.stringify(value, (_k, v) => {
    if (typeof v === "bigint") return `${v}n`;
    if (v instanceof Uint8Array) return new TextDecoder().decode(v);
    return v;
  });
}

/** `deno run <the live task's flags> main.ts <args>` as `deno task live` runs it. */
async function taskArgs(task: string): Promise<string[]> {
  const tasks = JSON.parse(await Deno.readTextFile(`${ROOT}/deno.json`)).tasks;
  const words = String(tasks[task]).split(/\s+/);
  assert.equal(words[0], "deno");
  return words.slice(1);
}

function childEnv(extra: Record<string, string>): Record<string, string> {
  const denoDir = Deno.env.get("DENO_DIR");
  return {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: Deno.env.get("HOME") ?? "/tmp",
    NO_COLOR: "1",
    ...denoDir === undefined ? {} : { DENO_DIR: denoDir },
    ...extra,
  };
}

interface Running {
  out(): string;
  waitFor(pattern: RegExp, what: string, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** SIGTERM, then the exit code and the whole output. */
  stop(): Promise<{ code: number; out: string; err: string }>;
  /** The exit code and the whole output, once it ends by itself. */
  ended(): Promise<{ code: number; out: string; err: string }>;
}

function spawn(args: readonly string[], env: Record<string, string>): Running {
  const child = new Deno.Command(Deno.execPath(), {
    args: [...args],
    cwd: ROOT,
    env: childEnv(env),
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = readOutput(child);
  return {
    out: output.out,
    waitFor: (pattern, what, timeoutMs = 60_000) => output.waitFor(pattern, what, timeoutMs),
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch {
        // Already gone.
      }
      return await this.ended();
    },
    async ended() {
      const status = await child.status;
      await output.done;
      return { code: status.code, out: output.out(), err: output.err() };
    },
  };
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

Deno.test({
  name: "canary secrets appear in no log, page, message, metric, backup or KV entry",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    corpus.length = 0;
    const storeDir = `${ROOT}/data/canary-test-${Deno.pid}`;
    const kvPath = `./data/canary-test-${Deno.pid}/bot.kv`;
    await Deno.mkdir(storeDir, { recursive: true });
    // The replay at real speed, "now" at this time of day, so the live bot's wall clock agrees.
    const now = new Date();
    const startAt = Date.UTC(
      2022,
      5,
      3,
      now.getUTCHours(),
      now.getUTCMinutes(),
      now.getUTCSeconds(),
    );
    const sandbox = await createSandbox({
      port: 0,
      dataFiles: [FILE],
      startAt,
      rateLimits: false,
      accounts: [{
        accessKey: CANARY.UPBIT_ACCESS_KEY,
        secretKey: CANARY.UPBIT_SECRET_KEY,
        accountId: DEFAULT_ACCOUNT,
      }],
      balances: { KRW: "1000000", BTC: "0.002" },
    });
    const fake = await startFakeBotApi({ token: CANARY.TELEGRAM_BOT_TOKEN });
    const live = await taskArgs("live");
    const env: Record<string, string> = {
      ...CANARY,
      UPBIT_REST_URL: sandbox.restUrl,
      UPBIT_WS_URL: sandbox.wsUrl,
      UPBIT_TRADER_REAL_MONEY: "yes",
      CAPITAL_KRW: "500000",
      LIVE_CAPITAL_LIMIT_KRW: "1000000",
      LOG_FORMAT: "json",
      TIMEFRAME: "1m",
      STALE_AFTER_SECONDS: "3600",
      HTTP_PORT: "0",
      TELEGRAM_OWNER_ID: String(OWNER),
      TELEGRAM_API_ROOT: fake.apiRoot,
    };
    let bot: Running | undefined;
    try {
      // 1. A refused key (the wrong secret): one line, exit 2, through the refusal's error path.
      const refused = spawn([...live, "--kv", kvPath, "--adopt"], {
        ...env,
        UPBIT_SECRET_KEY: WRONG_SECRET,
      });
      const r = await refused.ended();
      assert.equal(r.code, 2, r.err);
      assert.match(r.err, /^live: UPBIT_ACCESS_KEY: refused by Upbit/);
      capture("refused start's stdout", r.out);
      capture("refused start's stderr", r.err);

      // 2. The bot, adopting the account's BTC as its position.
      bot = spawn([...live, "--kv", kvPath, "--adopt"], env);
      await bot.waitFor(/live: trading KRW-BTC/, "the trading line");
      const [, origin] = await bot.waitFor(
        /status page at (http:\/\/127\.0\.0\.1:\d+)\/ \(sign in/,
        "the page line",
      );
      const get = async (path: string, headers: Record<string, string> = {}) => {
        const res = await fetch(`${origin}${path}`, { headers, redirect: "manual" });
        const body = await res.text();
        capture(`GET ${path} (${res.status})`, body);
        capture(`GET ${path} headers`, text([...res.headers]));
        return { status: res.status, body, headers: res.headers };
      };
      const postForm = async (path: string, form: Record<string, string>, cookie?: string) => {
        const res = await fetch(`${origin}${path}`, {
          method: "POST",
          headers: {
            "content-type": "application/x-www-form-urlencoded",
            origin: origin!,
            ...cookie === undefined ? {} : { cookie },
          },
          body: new URLSearchParams(form),
          redirect: "manual",
        });
        const body = await res.text();
        capture(`POST ${path} (${res.status})`, body);
        capture(`POST ${path} headers`, text([...res.headers]));
        return { status: res.status, body, headers: res.headers };
      };

      // The page: a failed login, then signed in, every route.
      assert.equal((await get("/login")).status, 200);
      const failed = await postForm("/login", { password: "not-the-password-at-all" });
      assert.notEqual(failed.status, 303, "a wrong password does not sign in");
      const login = await postForm("/login", { password: CANARY.WEB_PASSWORD });
      assert.equal(login.status, 303, login.body);
      const cookie = login.headers.get("set-cookie")!.split(";")[0]!;
      const signed = { cookie };
      for (
        const path of [
          "/",
          "/api/status",
          "/api/summary",
          "/api/equity",
          "/api/chart?market=KRW-BTC",
          "/trades",
          "/trades.csv",
          "/reports",
          "/backtests",
          "/settings",
          "/sell/KRW-BTC",
          "/control/pause",
          "/lang/ko",
          "/healthz",
          "/metrics",
        ]
      ) {
        const res = await get(path, signed);
        // Signed in: each page answers (the language switch redirects back).
        assert.equal(res.status, path.startsWith("/lang/") ? 303 : 200, `${path}: ${res.body}`);
      }
      // A few seconds of the live event stream.
      const events = await fetch(`${origin}/api/events`, { headers: signed });
      const reader = events.body!.getReader();
      let sse = "";
      const sseUntil = Date.now() + 1_500;
      while (Date.now() < sseUntil) {
        const next = await Promise.race([
          reader.read(),
          new Promise<undefined>((r) => setTimeout(() => r(undefined), 300)),
        ]);
        if (next === undefined) continue;
        if (next.done) break;
        sse += new TextDecoder().decode(next.value);
      }
      await reader.cancel();
      capture("GET /api/events", sse);

      // A rejected order (the market under maintenance), then the sale that fills.
      const csrf = (await get("/sell/KRW-BTC", signed)).body.match(/name="_csrf" value="([^"]+)"/);
      assert.ok(csrf !== null, "the sell form's CSRF token");
      sandbox.accounts.setMarketOffline("KRW-BTC", true);
      await postForm("/sell/KRW-BTC", { _csrf: csrf[1]!, confirm: "yes" }, cookie);
      await bot.waitFor(/"event":"OrderRejected"/, "the rejected order");
      sandbox.accounts.setMarketOffline("KRW-BTC", false);
      await postForm("/sell/KRW-BTC", { _csrf: csrf[1]!, confirm: "yes" }, cookie);
      await bot.waitFor(/"event":"OrderFilled"/, "the sale's fill");

      // The page's controls and settings, a refused value among them, then the pages again.
      for (const control of ["pause", "resume"]) {
        const res = await postForm(
          `/control/${control}`,
          { _csrf: csrf[1]!, confirm: "yes" },
          cookie,
        );
        assert.ok(res.status < 400, `${control}: ${res.status}`);
      }
      for (const value of ["5", "not-a-number"]) {
        await postForm(
          "/settings",
          { _csrf: csrf[1]!, name: "stop-loss", action: "set", value },
          cookie,
        );
      }
      for (const path of ["/settings", "/", "/api/status", "/trades"]) await get(path, signed);

      // /metrics with the scraper's token, and with a wrong one.
      const metrics = await get("/metrics", {
        authorization: `Bearer ${CANARY.WEB_METRICS_TOKEN}`,
      });
      assert.equal(metrics.status, 200);
      assert.match(metrics.body, /^# (HELP|TYPE) /m, "Prometheus text");
      const wrong = await get("/metrics", {
        authorization: "Bearer wrong-token-wrong-token-wrong-1",
      });
      assert.equal(wrong.status, 401);

      // Telegram: the webhook the bot registered, every command.
      const hook = await until("setWebhook", () => fake.webhook ?? undefined);
      assert.equal(hook.secretToken, CANARY.TELEGRAM_WEBHOOK_SECRET);
      const post = async (body: unknown, secret: string) => {
        const res = await fetch(`${origin}/telegram/webhook`, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "X-Telegram-Bot-Api-Secret-Token": secret,
          },
          body: JSON.stringify(body),
        });
        capture("POST /telegram/webhook", await res.text());
        return res.status;
      };
      assert.equal(await post(commandUpdate(1, OWNER, "/status"), "wrong-secret"), 401);
      const commands = [
        "/start",
        "/status",
        "/health",
        "/settings",
        "/positions",
        "/balance",
        "/profit",
        "/trades",
        "/daily",
        "/report",
        "/logs 200",
        "/set stop-loss 5",
        "/pause",
        "/resume",
      ];
      const sentBefore = fake.callsOf("sendMessage").length;
      for (const [i, command] of commands.entries()) {
        assert.equal(
          await post(commandUpdate(100 + i, OWNER, command), CANARY.TELEGRAM_WEBHOOK_SECRET),
          200,
        );
      }
      await until(
        "an answer to each command",
        () => fake.callsOf("sendMessage").length - sentBefore >= commands.length ? true : undefined,
      );
      // Any confirmation buttons pressed, too.
      for (const call of fake.callsOf("sendMessage")) {
        const markup = call.params.reply_markup as
          | { inline_keyboard?: { callback_data?: string }[][] }
          | undefined;
        for (const button of markup?.inline_keyboard?.flat() ?? []) {
          if (button.callback_data === undefined) continue;
          await post({
            update_id: 500 + Math.floor(Math.random() * 1e6),
            callback_query: {
              id: String(Math.floor(Math.random() * 1e9)),
              from: { id: OWNER, is_bot: false, first_name: "Owner" },
              chat_instance: "1",
              data: button.callback_data,
              message: {
                message_id: 1,
                chat: { id: OWNER, type: "private" },
                date: Math.floor(Date.now() / 1000),
                text: "…",
              },
            },
          }, CANARY.TELEGRAM_WEBHOOK_SECRET);
        }
      }
      await new Promise((r) => setTimeout(r, 1_000));

      // 3. `deno task backup` while it trades.
      const backupFile = `${storeDir}/backup.jsonl`;
      const backup = await new Deno.Command(Deno.execPath(), {
        args: [...await taskArgs("backup"), "--kv", kvPath, "--out", backupFile],
        cwd: ROOT,
        env: childEnv(env),
        clearEnv: true,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const backupOut = new TextDecoder().decode(backup.stdout);
      assert.equal(backup.code, 0, new TextDecoder().decode(backup.stderr));
      assert.match(backupOut, /taken by the running bot/);
      capture("backup's stdout", backupOut);
      capture("backup's stderr", new TextDecoder().decode(backup.stderr));
      capture("the backup file", await Deno.readTextFile(backupFile));

      // 4. The stop.
      const stopped = await bot.stop();
      bot = undefined;
      assert.equal(stopped.code, 0, stopped.err || stopped.out.slice(-2000));
      capture("the bot's stdout", stopped.out);
      capture("the bot's stderr", stopped.err);
      assert.match(stopped.out, /"event":"OrderRejected"/);
      assert.match(stopped.out, /"event":"OrderFilled"/);

      // Everything the fake Bot API received.
      // (setWebhook's secret_token is where the webhook secret must go: Telegram echoes it.)
      for (const call of fake.calls) {
        const { secret_token, ...params } = call.params;
        if (secret_token !== undefined) {
          assert.equal(call.method.toLowerCase(), "setwebhook");
          assert.equal(secret_token, CANARY.TELEGRAM_WEBHOOK_SECRET);
        }
        capture(`Bot API ${call.method}`, text(params));
      }
      assert.ok(fake.calls.length > commands.length, `${fake.calls.length} Bot API calls`);

      // Every KV entry, and the store's files as raw bytes.
      const entries = await captureKv(`${storeDir}/bot.kv`);
      assert.ok(entries > 50, `${entries} KV entries`);
      for await (const file of Deno.readDir(storeDir)) {
        const bytes = await Deno.readFile(`${storeDir}/${file.name}`);
        capture(`file ${file.name}`, new TextDecoder("latin1").decode(bytes));
      }

      if (Deno.env.get("CANARY_VERBOSE") !== undefined) {
        const chars = corpus.reduce((n, c) => n + c.text.length, 0);
        // deno-lint-ignore no-console
        console.log(
          `searched ${corpus.length} outputs (${chars} characters) for ${needles().size} forms; ` +
            `${entries} KV entries, ${fake.calls.length} Bot API calls`,
        );
      }
      assert.deepEqual(leaks(), [], "canaries found");
      // The search itself finds a planted canary (it bites).
      capture("planted", `x${btoa(`{"access_key":"${CANARY.UPBIT_ACCESS_KEY}"}`)}y`);
      assert.ok(leaks().some((hit) => hit.startsWith("UPBIT_ACCESS_KEY")));
    } finally {
      await bot?.stop();
      await fake.close();
      await sandbox.close();
      await Deno.remove(storeDir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "canary secrets on a remote KV (KV Connect): the access token appears nowhere, a refused one neither",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    corpus.length = 0;
    const server = startKvConnectServer(CANARY.DENO_KV_ACCESS_TOKEN);
    const now = new Date();
    const sandbox = await createSandbox({
      port: 0,
      dataFiles: [FILE],
      startAt: Date.UTC(2022, 5, 3, now.getUTCHours(), now.getUTCMinutes(), now.getUTCSeconds()),
      rateLimits: false,
      accounts: [{
        accessKey: CANARY.UPBIT_ACCESS_KEY,
        secretKey: CANARY.UPBIT_SECRET_KEY,
        accountId: DEFAULT_ACCOUNT,
      }],
      balances: { KRW: "1000000" },
    });
    const live = await taskArgs("live");
    const env: Record<string, string> = {
      UPBIT_ACCESS_KEY: CANARY.UPBIT_ACCESS_KEY,
      UPBIT_SECRET_KEY: CANARY.UPBIT_SECRET_KEY,
      WEB_PASSWORD: CANARY.WEB_PASSWORD,
      WEB_METRICS_TOKEN: CANARY.WEB_METRICS_TOKEN,
      DENO_KV_ACCESS_TOKEN: CANARY.DENO_KV_ACCESS_TOKEN,
      DENO_KV_PATH: server.url("bot"),
      UPBIT_REST_URL: sandbox.restUrl,
      UPBIT_WS_URL: sandbox.wsUrl,
      UPBIT_TRADER_REAL_MONEY: "yes",
      CAPITAL_KRW: "500000",
      LIVE_CAPITAL_LIMIT_KRW: "1000000",
      LOG_FORMAT: "json",
      HTTP_PORT: "0",
    };
    let bot: Running | undefined;
    const before = Deno.env.get("DENO_KV_ACCESS_TOKEN");
    try {
      // A refused token: one line, exit 2.
      const refused = await spawn(live, { ...env, DENO_KV_ACCESS_TOKEN: WRONG_KV_TOKEN }).ended();
      assert.equal(refused.code, 2, refused.err);
      assert.match(refused.err, /cannot open the remote KV/);
      // Not opened yet: its start line says remote, not "existing".
      assert.match(refused.out, /store http\S+ \(remote KV; lock /);
      capture("refused KV's stdout", refused.out);
      capture("refused KV's stderr", refused.err);

      bot = spawn(live, env);
      await bot.waitFor(/live: trading KRW-BTC/, "the trading line");
      const [, origin] = await bot.waitFor(/status page at (http:\/\/[\d.:]+)\//, "the page");
      const login = await fetch(`${origin}/login`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", origin: origin! },
        body: new URLSearchParams({ password: CANARY.WEB_PASSWORD }),
        redirect: "manual",
      });
      await login.body?.cancel();
      assert.equal(login.status, 303);
      const cookie = login.headers.get("set-cookie")!.split(";")[0]!;
      for (const path of ["/", "/settings", "/api/status", "/metrics"]) {
        const res = await fetch(`${origin}${path}`, { headers: { cookie } });
        capture(`GET ${path} (${res.status})`, await res.text());
        assert.equal(res.status, 200, path);
      }
      const stopped = await bot.stop();
      bot = undefined;
      assert.equal(stopped.code, 0, stopped.err);
      assert.match(stopped.out, /KV lease epoch 1 held by pid/);
      capture("the bot's stdout", stopped.out);
      capture("the bot's stderr", stopped.err);

      // The whole remote store.
      Deno.env.set("DENO_KV_ACCESS_TOKEN", CANARY.DENO_KV_ACCESS_TOKEN);
      const entries = await captureKv(server.url("check"));
      assert.ok(entries > 10, `${entries} entries`);
      assert.deepEqual(leaks(), [], "canaries found");
    } finally {
      await bot?.stop();
      await sandbox.close();
      await server.close();
      if (before === undefined) Deno.env.delete("DENO_KV_ACCESS_TOKEN");
      else Deno.env.set("DENO_KV_ACCESS_TOKEN", before);
    }
  },
});
