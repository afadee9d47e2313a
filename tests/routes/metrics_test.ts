/**
 * `GET /metrics`: Prometheus text from the operator's status and the run's telemetry, for a
 * session or a bearer token.
 *
 * End to end over real sockets: `live` (the real command, in process) trading against the sandbox
 * with the page served on a real port, the sandbox answering the first order 429: every family is
 * there with sane values, the 429 is counted in the `order` group, a dropped market socket is
 * counted as one reconnect, no secret is in the text, and that order's log lines (decision,
 * intent, send, 429, resend, placement, fill) all carry its `intent`. And the real `deno task demo` process serves the telemetry on its `/metrics` too
 * (main.ts's wiring), with `/healthz` answering without data, and its Telegram outbox's backlog
 * growing while the (fake) Bot API fails and draining once it answers again.
 */

import assert from "node:assert/strict";
import { KvSessionStore } from "../../engine/adapters/kv_session_store.ts";
import { runTradingCommand, sandboxClock } from "../../engine/cli/run_command.ts";
import type { SurfaceFactory } from "../../engine/cli/surfaces.ts";
import { type BotStatus, ok, Secret } from "../../engine/mod.ts";
import { createSandbox, DEMO_ACCESS_KEY, DEMO_SECRET_KEY } from "../../engine/sandbox/mod.ts";
import * as trader from "../../engine/trader.ts";
import { metricsText } from "../../routes/metrics.ts";
import { createWebApp, loadStaticAssets } from "../../routes/mod.ts";
import { startWebServer } from "../../routes/server.ts";
import { webWorld } from "./_web_world.ts";
import { startFakeBotApi } from "../engine/telegram/_fake_bot_api.ts";
import { sandboxEnv } from "../engine/adapters/upbit/_sandbox.ts";
import { samplesOf } from "../_metrics_text.ts";

const TOKEN = "scraper-token-0123456789abcdef";

Deno.test("/metrics needs a session or the scraper's token", async () => {
  const w = await webWorld({ metricsToken: TOKEN });
  try {
    assert.equal((await w.request("/metrics")).status, 401);
    for (const auth of [`Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(1)}`, TOKEN, "Bearer "]) {
      const res = await w.request("/metrics", { headers: { authorization: auth } });
      assert.equal(res.status, 401, auth);
    }
    const scraped = await w.request("/metrics", { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(scraped.status, 200);
    assert.equal(scraped.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    const text = await scraped.text();
    for (
      const line of [
        "# TYPE upbit_trader_equity_krw gauge",
        'upbit_trader_running{bot="bot",mode="paper"} 0',
        'upbit_trader_paused{bot="bot",mode="paper"} 0',
        'upbit_trader_equity_krw{bot="bot",mode="paper"} 996000',
        'upbit_trader_daily_pnl_krw{bot="bot",mode="paper"} -10000',
        'upbit_trader_open_positions{bot="bot",mode="paper"} 1',
        'upbit_trader_last_price_time_seconds{bot="bot",market="KRW-BTC"} 1795482590',
        'upbit_trader_unrealized_pnl_krw{bot="bot",market="KRW-BTC"} 6000',
      ]
    ) assert.ok(text.split("\n").includes(line), `${line} in:\n${text}`);
    assert.ok(
      !text.includes('last_price_time_seconds{bot="bot",market="KRW-ETH"}'),
      "no sample for a market without a price",
    );
    const cookie = await w.login();
    assert.equal((await w.request("/metrics", { headers: { cookie } })).status, 200);
  } finally {
    await w.close();
  }
});

Deno.test("/metrics without a configured token takes no bearer at all", async () => {
  const w = await webWorld();
  try {
    const res = await w.request("/metrics", { headers: { authorization: "Bearer anything" } });
    assert.equal(res.status, 401);
  } finally {
    await w.close();
  }
});

Deno.test("metricsText() escapes label values", () => {
  const text = metricsText({
    botId: 'a"b\\c\nd',
    mode: "demo",
    running: true,
    paused: false,
    safeMode: false,
    halted: false,
    markets: [],
    account: { equity: null, dailyPnl: "0", openPositions: 0, openOrders: 0 },
  } as unknown as BotStatus);
  assert.ok(text.includes('upbit_trader_running{bot="a\\"b\\\\c\\nd",mode="demo"} 1'), text);
  assert.ok(!text.includes("upbit_trader_equity_krw{"), "no sample for an unknown equity");
});

/** Every family `/metrics` must have (issue 13), with its type. */
const FAMILIES: readonly (readonly [string, string])[] = [
  ["running", "gauge"],
  ["equity_krw", "gauge"],
  ["daily_pnl_krw", "gauge"],
  ["realized_pnl_krw", "gauge"],
  ["pnl_krw", "gauge"],
  ["unrealized_pnl_krw", "gauge"],
  ["open_orders", "gauge"],
  ["rest_requests_total", "counter"],
  ["rest_rate_limited_total", "counter"],
  ["ws_connected", "gauge"],
  ["ws_reconnects_total", "counter"],
  ["ws_messages_total", "counter"],
  ["loop_lag_seconds", "histogram"],
  ["data_age_seconds", "gauge"],
  ["orders_total", "counter"],
  ["orders_in_flight", "gauge"],
  ["fills_total", "counter"],
  ["outbox_depth", "gauge"],
  ["rss_bytes", "gauge"],
  ["heap_used_bytes", "gauge"],
];

const PASSWORD = "metrics-test-password-0123456789";
const SCRAPER = "metrics-scraper-token-0123456789abcdef";
const SPEED = 720;

/** The page served as main.ts serves it, on a real port, with the run's telemetry. */
function pageSurface(served: (origin: string) => void): SurfaceFactory {
  return () =>
    ok({
      secrets: [PASSWORD, SCRAPER],
      async start(ctx, add) {
        const assets = await loadStaticAssets(new URL("../../static/", import.meta.url));
        const server = await startWebServer({
          hostname: "127.0.0.1",
          port: 0,
          origin: undefined,
          build: (origin, closing) =>
            createWebApp({
              operator: ctx.operator,
              events: ctx.events,
              sessions: new KvSessionStore(ctx.kv),
              clock: ctx.clock,
              password: new Secret(PASSWORD),
              metricsToken: new Secret(SCRAPER),
              origin,
              assets,
              log: ctx.logger,
              closing,
              ...(ctx.telemetry === undefined ? {} : { metrics: ctx.telemetry }),
            }),
        });
        add({ name: "http", close: () => server.shutdown() });
        served(server.origin);
      },
    });
}

async function scrape(origin: string, token = SCRAPER): Promise<Response> {
  return await fetch(`${origin}/metrics`, { headers: { authorization: `Bearer ${token}` } });
}

Deno.test("live against the sandbox: every family with sane values, the 429 in its group, one order's story under one intent", async () => {
  const sandbox = await createSandbox({
    port: 0,
    speed: SPEED,
    dataFiles: [
      decodeURIComponent(
        new URL("../../data/upbit-KRW-BTC-30m-20240123-20250127.csv", import.meta.url).pathname,
      ),
    ],
    startAt: Date.UTC(2024, 10, 10, 1),
    rateLimits: false,
    balances: { KRW: "10000000" },
  });
  // The first order is refused with a 429: it is looked up, then sent again.
  sandbox.faults.rest.arm({ kind: "rate_limited", path: "/v1/orders", method: "POST", count: 1 });
  const dir = await Deno.makeTempDir();
  const stop = new AbortController();
  let output = "";
  try {
    const served = Promise.withResolvers<string>();
    const running = runTradingCommand("live", [
      ...["--market", "KRW-BTC", "--timeframe", "1m", "--strategy", "bb", "--period", "10"],
      ...["--std", "1", "--stop-loss", "0.3", "--take-profit", "0.3", "--capital", "100000"],
      ...["--stale-after", "3600", "--i-understand-real-money", "--log-format", "json"],
      ...["--kv", `${dir}/bot.kv`],
    ], {
      stdout: (t) => output += t,
      stderr: (t) => output += t,
      isTerminal: false,
      env: sandboxEnv(sandbox),
      interrupt: stop.signal,
      pid: Deno.pid,
      cwd: Deno.cwd(),
      clock: sandboxClock(sandbox, SPEED),
      surfaces: pageSurface(served.resolve),
    }, trader);
    const origin = await Promise.race([
      served.promise,
      running.then((code) => {
        throw new Error(`live ended (${code}) before serving:\n${output}`);
      }),
    ]);
    assert.equal((await scrape(origin, `${SCRAPER}x`)).status, 401);
    // Until a round trip filled (a buy and a sell); then the sandbox drops the market socket,
    // until the bot is connected again.
    let text = "";
    let s = new Map<string, number>();
    let dropped = false;
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline) {
      const res = await scrape(origin);
      assert.equal(res.status, 200);
      text = await res.text();
      s = samplesOf(text);
      const traded = (s.get('upbit_trader_fills_total{market="KRW-BTC",side="ask"}') ?? 0) >= 1 &&
        (s.get('upbit_trader_orders_total{state="FILLED"}') ?? 0) >= 2;
      if (traded && !dropped) {
        assert.equal(s.get("upbit_trader_ws_reconnects_total"), 0, text);
        dropped = sandbox.faults.ws.dropAll("abrupt") > 0;
      } else if (
        dropped && s.get("upbit_trader_ws_reconnects_total")! >= 1 &&
        s.get("upbit_trader_ws_connected") === 1
      ) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    stop.abort();
    assert.equal(await running, 0, output.slice(-3000));

    for (const [name, type] of FAMILIES) {
      assert.ok(
        text.includes(`\n# TYPE upbit_trader_${name} ${type}\n`),
        `${name} ${type}:\n${text}`,
      );
    }
    const at = (key: string) => {
      const v = s.get(key);
      assert.ok(v !== undefined && Number.isFinite(v), `${key} in:\n${text}`);
      return v;
    };
    assert.equal(at('upbit_trader_running{bot="bot",mode="live"}'), 1);
    assert.ok(at('upbit_trader_equity_krw{bot="bot",mode="live"}') > 50_000);
    // The 429 in its group, and nowhere else; orders went out in that group afterwards.
    assert.equal(at('upbit_trader_rest_rate_limited_total{group="order",status="429"}'), 1);
    assert.equal(at('upbit_trader_rest_requests_total{group="order",code="429"}'), 1);
    assert.ok(at('upbit_trader_rest_requests_total{group="order",code="2xx"}') >= 2);
    assert.ok(![...s.keys()].some((k) => /rate_limited_total\{group="(?!order")/.test(k)), text);
    for (const group of ["candle", "orderbook", "market", "default"]) {
      assert.ok(at(`upbit_trader_rest_requests_total{group="${group}",code="2xx"}`) >= 1, group);
    }
    assert.equal(at("upbit_trader_ws_connected"), 1);
    assert.ok(at("upbit_trader_ws_messages_total") > 10);
    assert.equal(at("upbit_trader_ws_reconnects_total"), 1);
    // The loop handled prices, each within the histogram; the data is fresh on the bot's clock.
    const handled = at('upbit_trader_loop_lag_seconds_count{market="KRW-BTC"}');
    assert.ok(handled > 10);
    assert.equal(at('upbit_trader_loop_lag_seconds_bucket{market="KRW-BTC",le="+Inf"}'), handled);
    assert.ok(at('upbit_trader_loop_lag_seconds_sum{market="KRW-BTC"}') >= 0);
    const age = at('upbit_trader_data_age_seconds{market="KRW-BTC"}');
    assert.ok(age >= 0 && age < 3600, `data age ${age}`);
    // Orders by state: the 429'd buy was written UNKNOWN (a first intent skips NEW: one commit
    // before its POST), then went OPEN → FILLED, and a sell after it.
    assert.ok(at('upbit_trader_orders_total{state="UNKNOWN"}') >= 2);
    assert.ok(at('upbit_trader_orders_total{state="OPEN"}') >= 2);
    assert.ok(at('upbit_trader_orders_total{state="FILLED"}') >= 2);
    assert.ok(at('upbit_trader_orders_in_flight{state="OPEN"}') <= 1);
    assert.ok(at('upbit_trader_fills_total{market="KRW-BTC",side="bid"}') >= 1);
    assert.ok(at('upbit_trader_fill_funds_krw_total{market="KRW-BTC",side="bid"}') > 5000);
    assert.ok(at("upbit_trader_rss_bytes") > 10_000_000);
    assert.ok(at("upbit_trader_heap_used_bytes") > 1_000_000);
    // No Telegram in this run: the outbox family is there, without a sample.
    assert.ok(!s.has("upbit_trader_outbox_depth"));
    for (const secret of [PASSWORD, SCRAPER, DEMO_SECRET_KEY, DEMO_ACCESS_KEY]) {
      assert.ok(!text.includes(secret), "a secret in /metrics");
    }

    // The log: every line about the refused order carries its intent, and tells its whole story.
    const lines = output.split("\n").filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const refused = lines.find((l) => /send 1 failed: RateLimitedError/.test(String(l.msg)));
    assert.ok(refused !== undefined, output.slice(-3000));
    const intent = String(refused.intent);
    assert.match(intent, /^KRW-BTC:bid:/);
    const story = output.split("\n").filter((l) => l.includes(intent))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(story.every((l) => l.intent === intent), "every line naming it carries it");
    const told = story.map((l) => l.event === "OrderStep" ? String(l.msg) : String(l.event));
    const expected = [
      /^SignalRaised$/,
      /intent written: buy KRW-BTC, identifier \w+; sending \(send 1\)$/,
      /send 1 failed: RateLimitedError/,
      /resending \(send 2\)/,
      /^OrderSubmitted$/,
      /open on the exchange as [\w-]+$/,
      /^OrderFilled$/,
      /filled: [\d.]+ BTC for [\d,]+ KRW/,
    ];
    let from = 0;
    for (const re of expected) {
      const i = told.findIndex((t, k) => k >= from && re.test(t));
      assert.ok(i >= 0, `${re} after step ${from} in:\n${told.join("\n")}`);
      from = i + 1;
    }
    // Every order's story starts with its decision: a signal, or the stop that sold.
    const written = lines.filter((l) => /: intent written: /.test(String(l.msg)));
    assert.ok(written.length >= 2);
    for (const w of written) {
      const decision = lines.findIndex((l) =>
        l.intent === w.intent && (l.event === "SignalRaised" || l.event === "RiskTriggered")
      );
      assert.ok(decision >= 0 && decision < lines.indexOf(w), `no decision for ${w.intent}`);
    }
    // The fill names the order's uuid: every line naming that uuid carries the intent too.
    const uuid = String(story.find((l) => l.event === "OrderSubmitted")!.uuid);
    const byUuid = output.split("\n").filter((l) => l.includes(uuid));
    assert.ok(byUuid.length >= 3);
    assert.ok(byUuid.every((l) => (JSON.parse(l) as { intent?: string }).intent === intent));
  } finally {
    stop.abort();
    await sandbox.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the demo process serves the telemetry, its outbox backlog, and /healthz without data", async () => {
  const kv = `./data/test-metrics-${Deno.pid}.kv`;
  const root = new URL("../../", import.meta.url).pathname;
  // Telegram answers nothing but errors at first: the notifications pile up in the journal.
  const telegram = await startFakeBotApi();
  await telegram.setFault({ kind: "fail", status: 500 }, { methods: ["sendMessage"] });
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "demo", "--kv", kv, "--http-port", "0", "--log-format", "json"],
    cwd: root,
    env: {
      WEB_PASSWORD: PASSWORD,
      WEB_METRICS_TOKEN: SCRAPER,
      TELEGRAM_BOT_TOKEN: telegram.token,
      TELEGRAM_OWNER_ID: "111222333",
      TELEGRAM_MODE: "polling",
      TELEGRAM_API_ROOT: telegram.apiRoot,
      NO_COLOR: "1",
    },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  const reading = (async () => {
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) out += chunk;
  })();
  const errors = new Response(child.stderr).text();
  try {
    const until = async <T>(
      what: string,
      find: () => T | undefined | Promise<T | undefined>,
    ): Promise<T> => {
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        const found = await find();
        if (found !== undefined) return found;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`no ${what} from the demo:\n${out}`);
    };
    const origin = await until(
      "page",
      () => /status page at (http:\/\/127\.0\.0\.1:\d+)\//.exec(out)?.[1],
    );
    await until("fill", () => out.includes('"event":"OrderFilled"') ? true : undefined);
    const health = await fetch(`${origin}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(await health.text(), "ok");
    const res = await scrape(origin);
    assert.equal(res.status, 200);
    const text = await res.text();
    for (const [name, type] of FAMILIES) {
      assert.ok(text.includes(`\n# TYPE upbit_trader_${name} ${type}\n`), `${name}:\n${text}`);
    }
    const s = samplesOf(text);
    assert.ok((s.get('upbit_trader_fills_total{market="KRW-BTC",side="bid"}') ?? 0) >= 1, text);
    assert.ok(
      (s.get('upbit_trader_rest_requests_total{group="candle",code="2xx"}') ?? 0) >= 1,
      text,
    );
    assert.ok((s.get("upbit_trader_ws_messages_total") ?? 0) > 0, text);
    assert.ok((s.get('upbit_trader_loop_lag_seconds_count{market="KRW-BTC"}') ?? 0) > 0, text);
    assert.ok((s.get("upbit_trader_rss_bytes") ?? 0) > 10_000_000, text);
    assert.ok(
      !text.includes(PASSWORD) && !text.includes(SCRAPER) && !text.includes(telegram.token),
    );
    // The outbox: a backlog while every send fails, drained once Telegram answers again.
    const backlog = s.get("upbit_trader_outbox_depth") ?? 0;
    assert.ok(backlog >= 1, text);
    assert.ok((s.get("upbit_trader_outbox_failures_total") ?? 0) >= 1, text);
    assert.equal(s.get("upbit_trader_outbox_sent_total"), 0, text);
    await telegram.setFault(null);
    const drained = await until("drained outbox", async () => {
      const now = samplesOf(await (await scrape(origin)).text());
      const depth = now.get("upbit_trader_outbox_depth") ?? Infinity;
      return (now.get("upbit_trader_outbox_sent_total") ?? 0) >= 1 && depth < backlog
        ? depth
        : undefined;
    });
    assert.ok(drained < backlog);
  } finally {
    try {
      child.kill("SIGINT");
    } catch {
      // Already gone.
    }
    await child.status;
    await reading.catch(() => {});
    await errors;
    await telegram.close();
    for (const suffix of ["", "-wal", "-shm", ".lock"]) {
      await Deno.remove(`${root}${kv}${suffix}`).catch(() => {});
    }
  }
});
