import assert from "node:assert/strict";
import {
  ENV_VARS,
  parseConfig,
  parseCtlConfig,
  secretValues,
  withKvUrlAlias,
} from "../../engine/config.ts";

const KEYS = { UPBIT_ACCESS_KEY: "canary-access-7f3a9", UPBIT_SECRET_KEY: "canary-secret-91b2c" };

function error(result: { ok: boolean; error?: string }): string {
  assert.equal(result.ok, false);
  return result.error!;
}

Deno.test("parseConfig() gives paper defaults without any setting", () => {
  const r = parseConfig("paper", { env: {}, args: [] });
  assert.ok(r.ok);
  assert.equal(r.value.restUrl, "https://api.upbit.com");
  assert.equal(r.value.wsUrl, "wss://api.upbit.com/websocket/v1");
  assert.equal(r.value.kvPath, "./data/bot.kv");
  assert.deepEqual(r.value.markets, ["KRW-BTC"]);
  assert.equal(r.value.capitalKrw, 1_000_000);
  assert.equal(r.value.feeBps, 5);
  assert.equal(r.value.keys, undefined);
});

Deno.test("parseConfig() names the variable and the reason of a bad env value", () => {
  assert.equal(
    error(parseConfig("paper", { env: { CAPITAL_KRW: "abc" }, args: [] })),
    "CAPITAL_KRW: expected a number",
  );
  assert.equal(
    error(parseConfig("paper", { env: { MARKETS: "BTC" }, args: [] })),
    "MARKETS: expected KRW markets like KRW-BTC,KRW-ETH",
  );
  assert.match(
    error(parseConfig("paper", { env: { UPBIT_REST_URL: "ftp://x" }, args: [] })),
    /^UPBIT_REST_URL: expected a http or https URL/,
  );
  assert.match(
    error(parseConfig("paper", { env: { TIMEFRAME: "2m" }, args: [] })),
    /^TIMEFRAME: expected one of 1m, 3m/,
  );
});

Deno.test("parseConfig() names the flag when the flag is wrong, and the flag wins over env", () => {
  assert.equal(
    error(parseConfig("paper", { env: {}, args: ["--stop-loss", "150"] })),
    "--stop-loss: must be <= 99",
  );
  const r = parseConfig("paper", { env: { CAPITAL_KRW: "abc" }, args: ["--capital", "50000"] });
  assert.ok(r.ok);
  assert.equal(r.value.capitalKrw, 50_000);
  assert.match(error(parseConfig("paper", { env: {}, args: ["--nope"] })), /--nope/);
});

Deno.test("parseConfig() checks strategy parameters from env and flags", () => {
  const r = parseConfig("paper", {
    env: { STRATEGY: "rsi", STRATEGY_PARAMS: "period=10,oversold=25" },
    args: ["--overbought", "80"],
  });
  assert.ok(r.ok);
  assert.deepEqual(r.value.strategyParams, { period: 10, oversold: 25, overbought: 80 });
  assert.match(
    error(parseConfig("paper", { env: {}, args: ["--fast", "3"] })),
    /^--fast: fast is not a parameter of strategy bb/,
  );
  assert.match(
    error(parseConfig("paper", { env: { STRATEGY_PARAMS: "period=x" }, args: [] })),
    /^STRATEGY_PARAMS: expected name=value pairs/,
  );
});

Deno.test("parseConfig() wants both keys or neither, without printing them", () => {
  const message = error(
    parseConfig("paper", { env: { UPBIT_SECRET_KEY: KEYS.UPBIT_SECRET_KEY }, args: [] }),
  );
  assert.match(message, /^UPBIT_ACCESS_KEY: missing/);
  assert.ok(!message.includes(KEYS.UPBIT_SECRET_KEY));
});

Deno.test("live refuses without keys, without the real-money flag, and over the capital limit", () => {
  assert.match(error(parseConfig("live", { env: {}, args: [] })), /^UPBIT_ACCESS_KEY: missing/);
  assert.match(
    error(parseConfig("live", { env: KEYS, args: [] })),
    /^--i-understand-real-money: missing: live mode places real orders/,
  );
  assert.match(
    error(
      parseConfig("live", {
        env: KEYS,
        args: ["--i-understand-real-money", "--capital", "5000000"],
      }),
    ),
    /^--capital: 5000000 KRW is over the live limit of 1000000 KRW/,
  );
  assert.match(
    error(
      parseConfig("live", {
        env: { ...KEYS, UPBIT_TRADER_REAL_MONEY: "yes", DENO_KV_PATH: ":memory:" },
        args: [],
      }),
    ),
    /^DENO_KV_PATH: live mode needs a persistent store/,
  );
  assert.match(
    error(parseConfig("live", {
      env: { ...KEYS, UPBIT_TRADER_REAL_MONEY: "yes", UPBIT_REST_URL: "http://example.com" },
      args: [],
    })),
    /^UPBIT_REST_URL: live mode sends keys only over TLS/,
  );
});

Deno.test("live starts with keys, the env switch and the default 100,000 KRW cap", () => {
  const r = parseConfig("live", { env: { ...KEYS, UPBIT_TRADER_REAL_MONEY: "yes" }, args: [] });
  assert.ok(r.ok);
  assert.equal(r.value.capitalKrw, 100_000);
  assert.equal(`${r.value.keys?.secretKey}`, "[REDACTED]");
  assert.ok(!JSON.stringify(r.value).includes(KEYS.UPBIT_SECRET_KEY));
  assert.ok(!Deno.inspect(r.value).includes(KEYS.UPBIT_SECRET_KEY));
  assert.deepEqual(secretValues(r.value), [KEYS.UPBIT_ACCESS_KEY, KEYS.UPBIT_SECRET_KEY]);
  const raised = parseConfig("live", {
    env: { ...KEYS, LIVE_CAPITAL_LIMIT_KRW: "5000000" },
    args: ["--i-understand-real-money", "--capital", "5000000"],
  });
  assert.ok(raised.ok);
});

Deno.test("demo ignores the bot's KV path and URLs from the environment", () => {
  const r = parseConfig("demo", {
    env: { DENO_KV_PATH: "./data/bot.kv", UPBIT_REST_URL: "http://127.0.0.1:1" },
    args: [],
  });
  assert.ok(r.ok);
  assert.equal(r.value.kvPath, "./data/demo.kv");
  assert.equal(r.value.timeframe, "5m");
  assert.equal(r.value.speed, 60);
  assert.equal(r.value.synthetic, false);
  const synthetic = parseConfig("demo", { env: {}, args: ["--synthetic"] });
  assert.ok(synthetic.ok && synthetic.value.synthetic);
  assert.match(error(parseConfig("paper", { env: {}, args: ["--synthetic"] })), /--synthetic/);
  assert.match(
    error(parseConfig("demo", { env: {}, args: ["--speed", "0"] })),
    /^--speed: must be >= 1/,
  );
  assert.match(error(parseConfig("paper", { env: {}, args: ["--speed", "5"] })), /--speed/);
});

Deno.test("parseCtlConfig() parses the commands and names a wrong one", () => {
  const r = parseCtlConfig({ env: { DENO_KV_PATH: "/tmp/x.kv" }, args: ["stop", "--sell"] });
  assert.ok(r.ok);
  assert.deepEqual(r.value.command, { kind: "stop", sell: true });
  assert.equal(r.value.kvPath, "/tmp/x.kv");
  assert.match(error(parseCtlConfig({ env: {}, args: ["halt"] })), /^command: expected pause/);
  assert.match(
    error(parseCtlConfig({ env: {}, args: ["status", "--sell"] })),
    /^--sell: not an option/,
  );
  const sell = parseCtlConfig({ env: {}, args: ["sell", "krw-btc"] });
  assert.ok(sell.ok);
  assert.deepEqual(sell.value.command, { kind: "sell", market: "KRW-BTC" });
  assert.equal(
    error(parseCtlConfig({ env: {}, args: ["sell"] })),
    "sell: expected a market, e.g. ctl sell KRW-BTC",
  );
  assert.equal(
    error(parseCtlConfig({ env: {}, args: ["sell", "BTC/KRW"] })),
    'sell: expected a KRW market like KRW-BTC, got "BTC/KRW"',
  );
  assert.match(
    error(parseCtlConfig({ env: {}, args: ["sell", "KRW-BTC", "--sell"] })),
    /^--sell: not an option of ctl sell/,
  );
});

Deno.test("parseConfig() reads the account's rules: sizing, limits, flags", () => {
  const parsed = parseConfig("paper", {
    env: { SIZING: "fixed", SIZING_VALUE: "30000", MAX_OPEN_POSITIONS: "3" },
    args: ["--max-market-share", "40", "--account-daily-loss", "2", "--block-caution"],
  });
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.value.portfolio, {
    maxOpenPositions: 3,
    maxMarketSharePct: 40,
    accountDailyLossPct: 2,
    sizing: { mode: "fixed", value: 30_000 },
    blockCaution: true,
  });
  const dflt = parseConfig("paper", { env: { BUDGET_PCT: "50" }, args: [] });
  assert.ok(dflt.ok);
  assert.deepEqual(dflt.value.portfolio.sizing, { mode: "all", value: 50 });
  assert.equal(dflt.value.portfolio.accountDailyLossPct, 10);
});

Deno.test("parseConfig() refuses bad account rules with one line naming the field", () => {
  const cases: [Record<string, string>, string[], string][] = [
    [{ SIZING: "kelly" }, [], "SIZING: expected one of all, fixed, equity_pct, risk"],
    [{ SIZING: "risk" }, [], "SIZING_VALUE (--sizing-value): required with SIZING=risk"],
    [{}, ["--sizing", "fixed", "--sizing-value", "4000"], "--sizing-value: must be >= 5000 (KRW)"],
    [
      { SIZING: "equity_pct", SIZING_VALUE: "150" },
      [],
      "SIZING_VALUE: must be <= 100 (% with SIZING=equity_pct)",
    ],
    [{ MAX_OPEN_POSITIONS: "1.5" }, [], "MAX_OPEN_POSITIONS: expected a whole number"],
    [{}, ["--max-market-share", "0"], "--max-market-share: must be >= 1"],
    [{ ACCOUNT_DAILY_LOSS_PCT: "x" }, [], "ACCOUNT_DAILY_LOSS_PCT: expected a number"],
    [{ BLOCK_CAUTION: "maybe" }, [], "BLOCK_CAUTION: expected yes or no"],
  ];
  for (const [env, args, message] of cases) {
    const parsed = parseConfig("paper", { env, args });
    assert.equal(!parsed.ok && parsed.error, message);
  }
});

Deno.test("live takes --adopt or --ignore-holdings (not both); other modes refuse them", () => {
  const live = (args: string[]) =>
    parseConfig("live", { env: KEYS, args: ["--i-understand-real-money", ...args] });
  const adopt = live(["--adopt"]);
  assert.ok(adopt.ok && adopt.value.holdings === "adopt");
  const ignore = live(["--ignore-holdings"]);
  assert.ok(ignore.ok && ignore.value.holdings === "ignore");
  const neither = live([]);
  assert.ok(neither.ok && neither.value.holdings === "refuse");
  assert.equal(
    error(live(["--adopt", "--ignore-holdings"])),
    "--adopt, --ignore-holdings: pick one",
  );
  assert.equal(parseConfig("paper", { env: {}, args: ["--adopt"] }).ok, false);
});

Deno.test("parseConfig() reads negative numbers and refuses them by range, naming the flag", () => {
  assert.equal(
    error(parseConfig("paper", { env: {}, args: ["--capital", "-1000"] })),
    "--capital: must be >= 5000",
  );
  assert.equal(
    error(parseConfig("demo", { env: {}, args: ["--speed", "-5"] })),
    "--speed: must be >= 1",
  );
  assert.equal(
    error(parseConfig("demo", { env: {}, args: ["--speed", "100000"] })),
    "--speed: must be <= 1000",
  );
  const ok = parseConfig("paper", { env: {}, args: ["--kv", "x.kv"], cwd: "/home/u/data" });
  assert.ok(ok.ok);
  assert.equal(ok.value.kvPath, "/home/u/data/x.kv");
  assert.equal(ok.value.labels.kvPath, "--kv");
});

Deno.test("DENO_KV_URL is another name for DENO_KV_PATH; both set to different stores is one line", () => {
  const url = "https://kv.example.com:4512";
  const aliased = withKvUrlAlias({ DENO_KV_URL: url, DENO_KV_ACCESS_TOKEN: "t0ken-123456" });
  assert.ok(aliased.ok);
  const paper = parseConfig("paper", { env: aliased.value, args: [] });
  assert.ok(paper.ok);
  assert.equal(paper.value.kvPath, url);
  assert.equal(paper.value.labels.kvPath, "DENO_KV_URL");
  const ctl = parseCtlConfig({ env: aliased.value, args: ["status"] });
  assert.ok(ctl.ok);
  assert.equal(ctl.value.kvPath, url);
  assert.equal(ctl.value.kvLabel, "DENO_KV_URL");
  // The same store under both names, an empty one, or neither: no conflict.
  const same = withKvUrlAlias({ DENO_KV_URL: url, DENO_KV_PATH: ` ${url}` });
  assert.ok(same.ok && same.value.DENO_KV_PATH === url);
  const empty = withKvUrlAlias({ DENO_KV_URL: "", DENO_KV_PATH: "./data/x.kv" });
  assert.ok(empty.ok && empty.value.DENO_KV_PATH === "./data/x.kv");
  assert.ok(withKvUrlAlias({}).ok);
  assert.equal(
    error(withKvUrlAlias({ DENO_KV_URL: url, DENO_KV_PATH: "./data/bot.kv" })),
    "DENO_KV_URL and DENO_KV_PATH: both set, to different stores (DENO_KV_URL is another name " +
      "for DENO_KV_PATH): set only one",
  );
  // main.ts reads only ENV_VARS: the alias and the token (for the redactor) must be among them.
  assert.ok(ENV_VARS.includes("DENO_KV_URL"));
  assert.ok(ENV_VARS.includes("DENO_KV_ACCESS_TOKEN"));
});
