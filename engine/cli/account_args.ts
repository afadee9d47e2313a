/**
 * The backtest's account flags: several markets (`--market KRW-BTC,KRW-ETH`, with
 * `--candles a.csv,b.csv` to match), the portfolio rules the live bot applies (the same flag
 * names as `paper`/`live`) and `--detail` (finer candles for fills and exits). They are taken out
 * of the arguments before the single-market flags are parsed, so that parser stays as it is.
 */

import { z } from "zod";
import { type Timeframe, TIMEFRAME_MS } from "../core/candle.ts";
import {
  DEFAULT_PORTFOLIO_RULES,
  type PortfolioRules,
  SIZING_MODES,
  type SizingMode,
} from "../core/portfolio.ts";
import { err, ok, type Result } from "../core/result.ts";
import { clip } from "../flags.ts";

/** The account part of a backtest. */
export interface AccountOptions {
  /** The markets, in the order given (empty: `--market` absent or one market). */
  readonly markets: readonly string[];
  /** One candle file per market (absent: the bundled files). */
  readonly candleFiles?: readonly string[];
  /** `auto`: finer bundled candles when they cover the range; `off`; or that timeframe, required. */
  readonly detail: "auto" | "off" | Timeframe;
  /** The account's rules (the defaults: no limits, all of the capital). */
  readonly portfolio: Omit<PortfolioRules, "capitalKrw">;
}

/** Usage lines of the account flags (appended to the backtest's usage). */
export const ACCOUNT_USAGE = `
Several markets, one account (the live bot's portfolio rules):
  --market KRW-BTC,KRW-ETH   run one account over these markets, candles interleaved by time
                        (each market's bundled file of the timeframe, or --candles a.csv,b.csv)
  --sizing all          all | fixed | equity_pct | risk (as SIZING for paper/live)
  --sizing-value N      % of the allotment (all, default 100), KRW (fixed), % of equity
                        (equity_pct), % of equity lost at the stop (risk)
  --max-positions 0     at most this many markets hold a position (0 = no limit)
  --max-market-share 100  one market commits at most this % of the capital
  --account-daily-loss 0  no entry on any market for the day after the account lost this %
  --detail auto         1m: fills at the first 1-minute candle after the signal, stops and
                        targets resolved on 1-minute candles in time order; auto (default): so
                        when bundled 1-minute candles cover the range; off: the candles only
`;

const MARKET = /^KRW-[A-Z0-9]{1,15}$/;
const TAKEN = new Set([
  "market",
  "candles",
  "sizing",
  "sizing-value",
  "max-positions",
  "max-market-share",
  "account-daily-loss",
  "detail",
]);

const NUMBER = (min: number, max: number) =>
  z.coerce.number({ error: "expected a number" }).refine(Number.isFinite, "expected a number")
    .refine((v) => v >= min, `must be >= ${min}`).refine((v) => v <= max, `must be <= ${max}`);

/**
 * Takes the account flags out of `args`: what they ask and the arguments left for the
 * single-market parser (a list of markets or files leaves its first one there).
 */
export function splitAccountArgs(
  args: readonly string[],
): Result<{ account: AccountOptions; rest: string[] }, string> {
  const rest: string[] = [];
  const values = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const m = /^--([a-z-]+)(?:=(.*))?$/s.exec(arg);
    if (m === null || !TAKEN.has(m[1]!)) {
      rest.push(arg);
      continue;
    }
    const name = m[1]!;
    let value = m[2];
    if (value === undefined) {
      const next = args[i + 1];
      if (next === undefined || next.startsWith("--")) {
        // Let the single-market parser say what is missing (its message names the flag).
        rest.push(arg);
        continue;
      }
      value = next;
      i++;
    }
    if (values.has(name)) return err(`--${name}: given more than once`);
    values.set(name, value);
  }
  let markets: string[] = [];
  const marketText = values.get("market");
  if (marketText !== undefined) {
    if (marketText.includes(",")) {
      markets = marketText.split(",").map((s) => s.trim().toUpperCase());
      for (const market of markets) {
        if (!MARKET.test(market)) {
          return err(`--market: expected KRW markets like KRW-BTC,KRW-ETH (got "${clip(market)}")`);
        }
      }
      if (new Set(markets).size !== markets.length) {
        return err(`--market: a market is listed twice (got "${clip(marketText)}")`);
      }
    }
    rest.push("--market", markets[0] ?? marketText);
  }
  let candleFiles: string[] | undefined;
  const candlesText = values.get("candles");
  if (candlesText !== undefined) {
    const files = candlesText.split(",").map((s) => s.trim());
    if (files.length > 1 || markets.length > 1) {
      if (files.length !== Math.max(markets.length, 1) || files.some((f) => f === "")) {
        return err(
          `--candles: give one file per market of --market, in its order (got ${files.length} for ${markets.length} markets)`,
        );
      }
      candleFiles = files;
    }
    rest.push("--candles", files[0]!);
  }
  const portfolio = portfolioOf(values);
  if (!portfolio.ok) return portfolio;
  const detailText = values.get("detail") ?? "auto";
  let detail: AccountOptions["detail"];
  if (detailText === "auto" || detailText === "off") detail = detailText;
  else if (detailText in TIMEFRAME_MS) detail = detailText as Timeframe;
  else {
    return err(
      `--detail: expected auto, off or a timeframe like 1m (got "${clip(detailText)}")`,
    );
  }
  return ok({
    account: {
      markets,
      ...(candleFiles === undefined ? {} : { candleFiles }),
      detail,
      portfolio: portfolio.value,
    },
    rest,
  });
}

function portfolioOf(
  values: ReadonlyMap<string, string>,
): Result<Omit<PortfolioRules, "capitalKrw">, string> {
  const number = (flag: string, schema: z.ZodType<number>, fallback: number) => {
    const text = values.get(flag);
    if (text === undefined) return ok(fallback);
    const parsed = schema.safeParse(text.trim() === "" ? "x" : text);
    if (!parsed.success) {
      return err(`--${flag}: ${parsed.error.issues[0]!.message} (got "${clip(text)}")`);
    }
    return ok(parsed.data);
  };
  const modeText = values.get("sizing") ?? "all";
  if (!(SIZING_MODES as readonly string[]).includes(modeText)) {
    return err(`--sizing: expected one of ${SIZING_MODES.join(", ")} (got "${clip(modeText)}")`);
  }
  const mode = modeText as SizingMode;
  if (mode !== "all" && !values.has("sizing-value")) {
    return err(`--sizing-value: required with --sizing ${mode}`);
  }
  const sizingValue = number(
    "sizing-value",
    mode === "fixed" ? NUMBER(5_000, 1e13) : NUMBER(0.01, 100),
    100,
  );
  if (!sizingValue.ok) return sizingValue;
  const maxOpen = number(
    "max-positions",
    NUMBER(0, 1_000).refine(Number.isInteger, "must be a whole number"),
    0,
  );
  if (!maxOpen.ok) return maxOpen;
  const share = number("max-market-share", NUMBER(1, 100), 100);
  if (!share.ok) return share;
  const loss = number("account-daily-loss", NUMBER(0, 100), 0);
  if (!loss.ok) return loss;
  return ok({
    ...DEFAULT_PORTFOLIO_RULES,
    sizing: { mode, value: sizingValue.value },
    maxOpenPositions: maxOpen.value,
    maxMarketSharePct: share.value,
    accountDailyLossPct: loss.value,
  });
}
