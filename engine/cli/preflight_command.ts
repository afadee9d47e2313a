/**
 * `deno task preflight`: the go-live checklist. It reads the live configuration (the same
 * variables and flags as `deno task live`) and checks, one line each (✓ pass, ! warning,
 * ✗ fail with what to do):
 *
 * - keys: `/v1/accounts` readable, orders allowed (`POST /v1/orders/test` per market: Upbit
 *   validates the bot's first buy and creates nothing), withdrawals NOT readable
 *   (`GET /v1/withdraws/chance` must answer `out_of_scope`);
 * - the clock against the exchange's `Date` header;
 * - the capital cap against the limit and the account's KRW;
 * - the real-money switch, Telegram (`getMe`), the store's owner and the free disk under it;
 * - what would be traded: markets, strategy, sizing, KRW per first order and the most the bot
 *   may commit, against Upbit's minimum order, fee and tick size of each market.
 *
 * Exit code 0 when nothing failed, 1 when a check failed, 2 on a bad configuration. It never
 * places an order, never withdraws and never writes the store; secrets are never printed (the
 * account shows as its 16-hex `accountHash`, as stores record it).
 */

import { resolve } from "node:path";
import { parseConfig } from "../config.ts";
import type { BotConfig } from "../config.ts";
import { formatDateTime, formatKrw, formatNumber } from "../core/format.ts";
import {
  formatUnits,
  mulUnits,
  type Units,
  unitsFromNumber,
  unitsToNumber,
} from "../core/money.ts";
import { entryStopPrice, planEntry, shareLimitKrw } from "../core/portfolio.ts";
import { createStrategy } from "../core/strategies/mod.ts";
import { krwTickSize } from "../core/tick_size.ts";
import { createRedactor } from "../log.ts";
import type { PreflightProbes, ProbeBalance, ProbeFailure, ProbeSetup } from "../preflight_port.ts";
import { parseTelegramEnv } from "../telegram/settings.ts";
import { storePathRefusal } from "./store_path.ts";

/** What the command needs from the process (built by `main.ts`). */
export interface PreflightIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** The process's variables (only `main.ts` reads `Deno.env`). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The user's working folder (`INIT_CWD` under deno task): a relative `--kv` starts there. */
  readonly userCwd: string;
  /** The process's folder: a relative `DENO_KV_PATH` starts there, as for `deno task live`. */
  readonly cwd: string;
  /** The local clock (the one `deno task live` would trade on). */
  readonly nowMs: () => number;
  /** Builds the probes (the adapters, injected by `main.ts`). */
  readonly probes: (setup: ProbeSetup) => PreflightProbes;
}

/**
 * The most the local clock may be off the exchange's. Upbit's tokens carry no time claim
 * (API.md §2.2), so the limit is the bot's own: candles close, the stale-data check and the
 * Upbit day (00:00 UTC) all run on the local clock, and 5 s is a twelfth of a 1-minute candle.
 */
export const MAX_CLOCK_SKEW_MS = 5_000;
/** A skew beyond this is worth a warning (the `Date` header has 1 s resolution). */
export const WARN_CLOCK_SKEW_MS = 2_000;
/** Below this much free space where the store lives, the check fails. */
export const MIN_FREE_BYTES = 100 * 2 ** 20;
/** Below this much, it warns. */
export const WARN_FREE_BYTES = 2 ** 30;

/** A check's verdict. */
type Mark = "✓" | "!" | "✗";

interface Line {
  readonly mark: Mark;
  readonly name: string;
  readonly text: string;
  /** What to do (failures and warnings). */
  readonly fix?: string;
}

const USAGE = `Usage: deno task preflight [live options]

The go-live checklist: reads the configuration \`deno task live\` would use (.env, variables and
the same flags), asks Upbit, Telegram and the store, and prints one line per check:
  ✓ passed   ! warning (live may start; read it)   ✗ failed (with what to do)
It places no order (POST /v1/orders/test only validates), withdraws nothing and writes nothing.
Exit code 0: every check passed or warned; 1: a check failed; 2: a bad configuration.
`;

/** Runs the checklist and returns the exit code. */
export async function runPreflightCommand(
  args: readonly string[],
  io: PreflightIo,
): Promise<number> {
  const parsed = parseLiveConfig(args, io);
  if (!parsed.ok) {
    io.stderr(`preflight: ${parsed.error} (see --help)\n`);
    return 2;
  }
  const { config, realMoney } = parsed;
  if (config.help) {
    io.stdout(USAGE);
    return 0;
  }
  const telegram = parseTelegramEnv(io.env);
  if (!telegram.ok) {
    io.stderr(`preflight: ${telegram.error} (see --help)\n`);
    return 2;
  }
  const keys = config.keys!;
  const secrets = [
    keys.accessKey.reveal(),
    keys.secretKey.reveal(),
    ...telegram.value === null ? [] : [telegram.value.bot.token.reveal()],
  ];
  const scrub = createRedactor(secrets);
  const probes = io.probes({
    restUrl: config.restUrl,
    accessKey: keys.accessKey,
    secretKey: keys.secretKey,
    telegram: telegram.value === null ? undefined : {
      apiRoot: telegram.value.bot.apiRoot ?? "https://api.telegram.org",
      token: telegram.value.bot.token,
    },
    nowMs: io.nowMs,
  });
  const kvPath = /^[a-z]+:\/\//i.test(config.kvPath) || config.kvPath === ":memory:"
    ? config.kvPath
    : resolve(io.cwd, config.kvPath);
  io.stdout(
    scrub(
      `preflight: live on ${config.restUrl} with ${config.markets.join(", ")}, store ${kvPath}\n`,
    ),
  );
  let failed = 0;
  let warned = 0;
  let passed = 0;
  const print = (line: Line) => {
    if (line.mark === "✗") failed++;
    else if (line.mark === "!") warned++;
    else passed++;
    const head = `${line.mark} ${line.name.padEnd(12)} ${line.text}`;
    const fix = line.fix === undefined ? "" : `\n  ${" ".repeat(12)} → ${line.fix}`;
    io.stdout(scrub(`${head}${fix}\n`));
  };
  const account = await probes.account();
  const balances = await probes.accounts();
  print(keysLine(balances, account));
  print(await withdrawLine(probes));
  print(await clockLine(probes, config.markets[0]!));
  const markets = await probes.markets(config.markets);
  const funds = balances.ok && markets.ok
    ? fundsOf(balances.value, markets.value, config.markets)
    : undefined;
  print(capitalLine(config, funds, balances.ok ? undefined : balances.error, markets.ok));
  print(realMoneyLine(realMoney));
  const ctx = { funds, markets, nowMs: io.nowMs() };
  for (const line of await planLines(config, probes, ctx)) print(line);
  print(await telegramLine(probes));
  print(await storeLine(probes, config, kvPath, account));
  print(await diskLine(probes, kvPath));
  const verdict = failed > 0
    ? "NOT ready: fix the ✗ lines and run it again"
    : "ready for `deno task live --i-understand-real-money`";
  io.stdout(
    `preflight: ${passed} passed, ${warned} warning${warned === 1 ? "" : "s"}, ${failed} ` +
      `failed: ${verdict}\n`,
  );
  return failed > 0 ? 1 : 0;
}

type ParsedLive =
  | { readonly ok: true; readonly config: BotConfig; readonly realMoney: boolean }
  | { readonly ok: false; readonly error: string };

/**
 * The live configuration. The real-money switch is not needed to check (nothing is traded): a
 * missing one is a warning, so the configuration is read again with it set.
 */
function parseLiveConfig(args: readonly string[], io: PreflightIo): ParsedLive {
  const input = { env: io.env, args, cwd: io.userCwd };
  const first = parseConfig("live", input);
  if (first.ok) return { ok: true, config: first.value, realMoney: true };
  if (!first.error.startsWith("--i-understand-real-money:")) return first;
  const again = parseConfig("live", {
    ...input,
    env: { ...io.env, UPBIT_TRADER_REAL_MONEY: "yes" },
  });
  return again.ok ? { ok: true, config: again.value, realMoney: false } : again;
}

/** `name (message)`, or "no answer" for a network failure. */
function describe(f: ProbeFailure): string {
  return f.unreachable ? `no answer (${f.message})` : `${f.name}: ${f.message}`;
}

/** The advice for an authentication failure of the keys. */
function authFix(f: ProbeFailure): string {
  switch (f.name) {
    case "no_authorization_ip":
    case "no_authorization_i_p":
      return "add this machine's public IP to the key's allow-list on upbit.com (Open API)";
    case "expired_access_key":
      return "the key is over a year old: issue a new one on upbit.com (Open API)";
    case "invalid_access_key":
    case "jwt_verification":
      return "check UPBIT_ACCESS_KEY and UPBIT_SECRET_KEY (the secret is used as it is, not base64)";
    case "out_of_scope":
      return "issue a key with 자산조회, 주문조회 and 주문하기 (and nothing of 출금/입금)";
    default:
      return f.unreachable
        ? "check UPBIT_REST_URL and this machine's network"
        : "see the message; try again in a minute";
  }
}

function keysLine(
  balances: Awaited<ReturnType<PreflightProbes["accounts"]>>,
  account: string,
): Line {
  if (!balances.ok) {
    return {
      mark: "✗",
      name: "keys",
      text: `GET /v1/accounts refused: ${describe(balances.error)}`,
      fix: authFix(balances.error),
    };
  }
  return {
    mark: "✓",
    name: "keys",
    text: `accounts readable (자산조회): account ${account}, ${balances.value.length} ` +
      `currenc${balances.value.length === 1 ? "y" : "ies"}`,
  };
}

async function withdrawLine(probes: PreflightProbes): Promise<Line> {
  const res = await probes.withdrawChance();
  const name = "withdrawals";
  if (res.ok) {
    return {
      mark: "✗",
      name,
      text: "this key may read withdrawals (GET /v1/withdraws/chance answered: 출금조회 is on)",
      fix: "a trading key needs no withdrawal group: issue a new key with only 자산조회, " +
        "주문조회 and 주문하기, and delete this one",
    };
  }
  if (res.error.name === "out_of_scope") {
    return {
      mark: "✓",
      name,
      text: "no withdrawal group (GET /v1/withdraws/chance → out_of_scope); 출금하기 cannot be " +
        "probed without withdrawing: keep it unticked on the key's page",
    };
  }
  return {
    mark: "!",
    name,
    text: `cannot be checked: GET /v1/withdraws/chance → ${describe(res.error)}`,
    fix: "open the key's page on upbit.com and make sure 출금조회 and 출금하기 are unticked",
  };
}

async function clockLine(probes: PreflightProbes, market: string): Promise<Line> {
  const res = await probes.exchangeTime(market);
  const name = "clock";
  if (!res.ok) {
    return {
      mark: "!",
      name,
      text: `cannot be checked: GET /v1/ticker?markets=${market} → ${describe(res.error)}`,
      fix: res.error.unreachable
        ? "make sure NTP runs (timedatectl: System clock synchronized: yes)"
        : `check MARKETS (${market} gives the exchange's time), and make sure NTP runs`,
    };
  }
  const { serverMs, sentMs, receivedMs } = res.value;
  // The header truncates to the second: the exchange's time was in [serverMs, serverMs + 1 s).
  const skew = Math.round((sentMs + receivedMs) / 2 - (serverMs + 500));
  const within = Math.round(500 + (receivedMs - sentMs) / 2);
  const seconds = (ms: number) => formatNumber(Math.abs(ms) / 1000, { decimals: 1 });
  const text = `local clock ${seconds(skew)} s ${skew >= 0 ? "ahead of" : "behind"} the ` +
    `exchange (its Date header, ±${seconds(within)} s; limit ${MAX_CLOCK_SKEW_MS / 1000} s)`;
  const fix = "sync the clock: timedatectl set-ntp true (or chrony/ntpd), then run this again";
  if (Math.abs(skew) > MAX_CLOCK_SKEW_MS) return { mark: "✗", name, text, fix };
  if (Math.abs(skew) > WARN_CLOCK_SKEW_MS) return { mark: "!", name, text, fix };
  return { mark: "✓", name, text };
}

/** The KRW the account holds, and its coins of the configured markets at their last price. */
interface Funds {
  /** KRW available (not locked). */
  readonly krw: Units;
  /** KRW locked by open orders. */
  readonly krwLocked: Units;
  /** The configured markets' coins at their last price. */
  readonly coins: Units;
}

function fundsOf(
  balances: readonly ProbeBalance[],
  markets: readonly { market: string; price: Units }[],
  configured: readonly string[],
): Funds {
  const krw = balances.find((b) => b.currency === "KRW");
  let coins = 0n;
  for (const market of configured) {
    const b = balances.find((x) => x.currency === market.split("-")[1]);
    const price = markets.find((m) => m.market === market)?.price ?? 0n;
    if (b !== undefined) coins += mulUnits(b.balance + b.locked, price, "floor");
  }
  return { krw: krw?.balance ?? 0n, krwLocked: krw?.locked ?? 0n, coins };
}

function capitalLine(
  config: BotConfig,
  funds: Funds | undefined,
  failure: ProbeFailure | undefined,
  pricesRead: boolean,
): Line {
  const name = "capital";
  const cap = unitsFromNumber(config.capitalKrw);
  const capText = `CAPITAL_KRW ${formatKrw(cap)} KRW (limit LIVE_CAPITAL_LIMIT_KRW ` +
    `${formatKrw(config.liveCapitalLimitKrw)})`;
  if (funds === undefined && failure === undefined && !pricesRead) {
    // The keys read the account; the markets' prices (to value its coins) could not be read.
    return {
      mark: "✗",
      name,
      text: `${capText}; the markets' prices cannot be read to value the account`,
      fix: "check MARKETS (see the markets line below)",
    };
  }
  if (funds === undefined) {
    return {
      mark: "✗",
      name,
      text: `${capText}; the account's KRW cannot be read` +
        (failure === undefined ? "" : `: ${describe(failure)}`),
      fix: "fix the keys first",
    };
  }
  const held = funds.krw + funds.krwLocked + funds.coins;
  const parts = [`${formatKrw(funds.krw)} KRW available`];
  if (funds.krwLocked > 0n) parts.push(`${formatKrw(funds.krwLocked)} KRW locked`);
  if (funds.coins > 0n) parts.push(`${formatKrw(funds.coins)} KRW in the markets' coins`);
  if (cap > held) {
    return {
      mark: "✗",
      name,
      text: `${capText} is more than the account holds (${parts.join(", ")})`,
      fix: `deposit ${formatKrw(cap - held)} KRW, or lower CAPITAL_KRW to ${
        formatKrw(held)
      } or less`,
    };
  }
  return {
    mark: "✓",
    name,
    text: `${capText} ≤ ${parts.join(" + ")}: the bot may commit at most ` +
      `${formatKrw(cap)} KRW`,
  };
}

function realMoneyLine(realMoney: boolean): Line {
  if (realMoney) {
    return { mark: "✓", name: "real-money", text: "the real-money switch is set" };
  }
  return {
    mark: "!",
    name: "real-money",
    text: "the real-money switch is not set: `deno task live` refuses without it",
    fix: "pass --i-understand-real-money to live (or set UPBIT_TRADER_REAL_MONEY=yes)",
  };
}

/** The plan (strategy, sizing, exposure), then one line per market with its first order. */
async function planLines(
  config: BotConfig,
  probes: PreflightProbes,
  ctx: {
    readonly funds: Funds | undefined;
    readonly markets: Awaited<ReturnType<PreflightProbes["markets"]>>;
    /** When the tick table is read. */
    readonly nowMs: number;
  },
): Promise<Line[]> {
  const lines: Line[] = [];
  const strategy = createStrategy(config.strategy, config.strategyParams).name;
  const cap = unitsFromNumber(config.capitalKrw);
  // What the first buys can spend: the cap, or the KRW the account has when that is less.
  const cash = ctx.funds === undefined || ctx.funds.krw >= cap ? cap : ctx.funds.krw;
  const rules = { ...config.portfolio, capitalKrw: cash };
  const { mode, value } = config.portfolio.sizing;
  const sizing = mode === "fixed"
    ? `${formatKrw(value)} KRW per order`
    : mode === "all"
    ? `${value}% of what the market may still use`
    : mode === "equity_pct"
    ? `${value}% of the equity per order`
    : `${value}% of the equity at risk to the stop`;
  const slots = config.portfolio.maxOpenPositions > 0
    ? Math.min(config.portfolio.maxOpenPositions, config.markets.length)
    : config.markets.length;
  const share = shareLimitKrw(rules);
  const exposure = share * BigInt(slots) < cash ? share * BigInt(slots) : cash;
  lines.push({
    mark: "✓",
    name: "plan",
    text: `${strategy} on ${config.timeframe} candles, ${config.markets.length} market` +
      `${config.markets.length === 1 ? "" : "s"}; sizing ${mode}: ${sizing}; at most ` +
      `${slots} position${slots === 1 ? "" : "s"}, ${formatKrw(share)} KRW per market; ` +
      `most committed at once ${formatKrw(exposure)} KRW (fee ${config.feeBps / 100}%)`,
  });
  if (!ctx.markets.ok) {
    lines.push({
      mark: "✗",
      name: "markets",
      text: `prices and tick sizes unreadable: ${describe(ctx.markets.error)}`,
      fix: `check ${config.labels.markets} (Upbit's KRW pairs, e.g. KRW-BTC)`,
    });
    return lines;
  }
  for (const m of ctx.markets.value) {
    lines.push(await marketLine(config, probes, m, { rules, cash, nowMs: ctx.nowMs }));
  }
  return lines;
}

async function marketLine(
  config: BotConfig,
  probes: PreflightProbes,
  m: { readonly market: string; readonly price: Units; readonly tickSize: Units },
  ctx: {
    readonly rules: Parameters<typeof shareLimitKrw>[0];
    readonly cash: Units;
    readonly nowMs: number;
  },
): Promise<Line> {
  const { rules, cash } = ctx;
  const name = m.market;
  const chance = await probes.chance(m.market);
  if (!chance.ok) {
    return {
      mark: "✗",
      name,
      text: `GET /v1/orders/chance refused: ${describe(chance.error)}`,
      fix: chance.error.name === "out_of_scope"
        ? "the key lacks 주문조회 (view orders): issue a key with 자산조회, 주문조회 and 주문하기"
        : authFix(chance.error),
    };
  }
  const c = chance.value;
  const problems: string[] = [];
  const fixes: string[] = [];
  const warnings: string[] = [];
  if (c.state !== "active") {
    problems.push(`Upbit says the pair is ${c.state}`);
    fixes.push(`drop ${m.market} from ${config.labels.markets}`);
  }
  if (!c.bidTypes.includes("price") || !c.askTypes.includes("market")) {
    problems.push("market orders are not offered on this pair");
    fixes.push(`drop ${m.market} from ${config.labels.markets}`);
  }
  const upbitFeeBps = unitsToNumber(c.bidFee) * 10_000;
  if (upbitFeeBps > config.feeBps + 1e-9) {
    warnings.push(`Upbit's fee ${upbitFeeBps / 100}% > FEE_PCT ${config.feeBps / 100}%`);
  }
  const botTick = krwTickSize(m.price, { atMs: ctx.nowMs, market: m.market });
  const tickText = `tick ${formatUnitsKrw(m.tickSize)}` +
    (botTick === m.tickSize ? "" : ` (the bot's table: ${formatUnitsKrw(botTick)})`);
  if (botTick !== m.tickSize) {
    problems.push(
      `the bot's tick ${formatUnitsKrw(botTick)} differs from Upbit's ` +
        formatUnitsKrw(m.tickSize),
    );
    fixes.push("update engine/core/tick_size.ts to /v1/orderbook/instruments");
  }
  const stop = entryStopPrice(m.price, { stopLossPct: config.rules.stopLossPct });
  const plan = planEntry({ books: [], reservations: [] }, {
    market: m.market,
    rules,
    price: m.price,
    feeBps: config.feeBps,
    equityKrw: unitsToNumber(cash),
    ...(stop > 0n ? { stopPrice: stop } : {}),
  });
  const priceText = `at ${formatUnitsKrw(m.price)} KRW`;
  const minText = `min ${formatKrw(c.bidMinTotal)} KRW`;
  if (!plan.ok) {
    problems.push(`no first buy: ${plan.error.kind}`);
    fixes.push(
      `the first order would be under Upbit's ${minText}: raise CAPITAL_KRW or the sizing`,
    );
    return {
      mark: "✗",
      name,
      text: `${problems.join("; ")} (${priceText}, ${tickText})`,
      fix: fixes.join("; "),
    };
  }
  const amount = plan.value.amountKrw;
  if (amount < c.bidMinTotal) {
    problems.push(`a first buy of ${formatKrw(amount)} KRW is under Upbit's ${minText}`);
    fixes.push("raise CAPITAL_KRW or the sizing");
  }
  const tested = problems.length > 0 ? undefined : await probes.testBuy(m.market, amount);
  if (tested !== undefined && !tested.ok) {
    problems.push(`POST /v1/orders/test refused it: ${describe(tested.error)}`);
    fixes.push(
      tested.error.name === "out_of_scope"
        ? "the key lacks 주문하기 (place orders): issue a key with 자산조회, 주문조회 and 주문하기"
        : tested.error.name.startsWith("insufficient_funds")
        ? "deposit KRW or lower CAPITAL_KRW"
        : authFix(tested.error),
    );
  }
  const text = `first buy ${formatKrw(amount)} KRW ${priceText} (${minText}, ${tickText})` +
    (tested?.ok === true ? "; POST /v1/orders/test accepted it (nothing placed)" : "");
  if (problems.length > 0) {
    return { mark: "✗", name, text: `${text}: ${problems.join("; ")}`, fix: fixes.join("; ") };
  }
  if (warnings.length > 0) {
    return {
      mark: "!",
      name,
      text: `${text}; ${warnings.join("; ")}`,
      fix: "set FEE_PCT to Upbit's fee",
    };
  }
  return { mark: "✓", name, text };
}

/** A price or tick in KRW with the decimals it needs (`0.1`, `1,000`). */
function formatUnitsKrw(units: Units): string {
  const [whole = "0", frac] = formatUnits(units).split(".");
  return formatKrw(unitsFromNumber(Number(whole))) + (frac === undefined ? "" : `.${frac}`);
}

async function telegramLine(probes: PreflightProbes): Promise<Line> {
  const pending = probes.telegram();
  const name = "telegram";
  if (pending === undefined) {
    return {
      mark: "!",
      name,
      text: "skipped: not configured (no alerts on your phone when something goes wrong)",
      fix: "set TELEGRAM_BOT_TOKEN and TELEGRAM_OWNER_ID (see README, Telegram)",
    };
  }
  const res = await pending;
  if (res.ok) return { mark: "✓", name, text: `getMe answered: @${res.value.username}` };
  return {
    mark: "✗",
    name,
    text: `getMe failed: ${describe(res.error)}`,
    fix: res.error.name === "401" || res.error.name === "404"
      ? "check TELEGRAM_BOT_TOKEN (BotFather's token)"
      : "check TELEGRAM_API_ROOT and that this machine reaches it (api.telegram.org:443)",
  };
}

async function storeLine(
  probes: PreflightProbes,
  config: BotConfig,
  kvPath: string,
  account: string,
): Promise<Line> {
  const name = "store";
  const refusal = await storePathRefusal(kvPath, config.labels.kvPath);
  if (refusal !== undefined) {
    return { mark: "✗", name, text: refusal, fix: "pick a path under ./data" };
  }
  const res = await probes.store(kvPath);
  if (!res.ok) {
    return {
      mark: "✗",
      name,
      text: `${kvPath} cannot be read: ${describe(res.error)}`,
      fix: "restore it from a backup (deno task restore), or move it away",
    };
  }
  const s = res.value;
  switch (s.kind) {
    case "none":
    case "empty file":
      return {
        mark: "✓",
        name,
        text: `new store at ${kvPath} (${s.kind === "none" ? "no file" : "an empty file"}): ` +
          `the first live start records BOT_ID ${config.botId} and account ${account}`,
      };
    case "remote":
      return {
        mark: "!",
        name,
        text: `${kvPath} is not a local file: its owner is checked when live starts`,
      };
  }
  if (s.meta === undefined) {
    if (s.empty) {
      return { mark: "✓", name, text: `empty store at ${kvPath}: live records its owner` };
    }
    return {
      mark: "✗",
      name,
      text: `${kvPath} has state but no owner record: live will not guess whose it is`,
      fix: "move it away and start with a new --kv / DENO_KV_PATH",
    };
  }
  const m = s.meta;
  const whose = `bot ${m.botId}, ${m.mode}, account ${m.account ?? "none"}, markets ` +
    `${m.markets.join(",")}, last started ${formatDateTime(m.updatedAtMs)} UTC, ` +
    `${formatNumber(s.bytes / 2 ** 20, { decimals: 1 })} MiB`;
  if (m.mode !== "live") {
    return {
      mark: "✗",
      name,
      text: `${kvPath} is the store of a ${m.mode} bot (${whose})`,
      fix: "live needs its own store: set --kv / DENO_KV_PATH to a new path under ./data",
    };
  }
  if (m.account !== account) {
    return {
      mark: "✗",
      name,
      text: `${kvPath} belongs to another Upbit account (${whose}; these keys are account ` +
        `${account})`,
      fix: "use that account's keys, or another --kv / DENO_KV_PATH",
    };
  }
  if (m.botId !== config.botId) {
    return {
      mark: "✗",
      name,
      text: `${kvPath} is the store of bot ${m.botId}, not ${config.botId} (${whose})`,
      fix: `set BOT_ID=${m.botId}, or use another --kv / DENO_KV_PATH`,
    };
  }
  return { mark: "✓", name, text: `${kvPath}: ${whose}; these keys' account` };
}

async function diskLine(probes: PreflightProbes, kvPath: string): Promise<Line> {
  const name = "disk";
  if (/^[a-z]+:\/\//i.test(kvPath) || kvPath === ":memory:") {
    return { mark: "✓", name, text: "the store is remote: no local disk to check" };
  }
  const res = await probes.disk(kvPath);
  if (!res.ok) {
    return {
      mark: "!",
      name,
      text: `cannot be checked: ${describe(res.error)}`,
      fix: "check with `df -h` where the store lives",
    };
  }
  const { freeBytes, totalBytes } = res.value;
  const gib = (n: number) => formatNumber(n / 2 ** 30, { decimals: 1 });
  const text = `${gib(freeBytes)} GiB free of ${gib(totalBytes)} GiB where the store lives`;
  const fix = "free some space (old logs, backups) or move the store to a larger disk";
  if (freeBytes < MIN_FREE_BYTES) return { mark: "✗", name, text, fix };
  if (freeBytes < WARN_FREE_BYTES) return { mark: "!", name, text, fix };
  return { mark: "✓", name, text };
}
