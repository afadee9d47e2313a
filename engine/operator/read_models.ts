/**
 * The operator's read models: what every surface (ctl, Telegram, the status page) shows, read
 * from the store through its ports, so no surface reads KV keys itself. Money is exact decimal
 * text (`"5000.5"`); prices and equity at a last price are numbers inside the engine (they come
 * from floats) and become decimal strings too at every JSON edge (`statusJson`).
 *
 * The per-market figures add up to the account's: cash, realized P&L, today's realized P&L
 * (kept per market and for the account in the same commit as each fill), unrealized P&L and
 * equity.
 */

import { upbitDayStartMs } from "../core/candle.ts";
import { jsonMoney } from "../core/format.ts";
import { formatUnits, parseUnits, SCALE, type Units, unitsFromNumber } from "../core/money.ts";
import { committedKrw } from "../core/portfolio.ts";
import {
  applyParams,
  paramValue,
  RISK_PARAMS,
  STRATEGY_PARAMS,
  type TunableSettings,
} from "../core/params.ts";
import { err, ok, type Result } from "../core/result.ts";
import { trailingStopPx } from "../core/risk.ts";
import { z } from "zod";
import type {
  CommandRecord,
  EquitySnapshot,
  FillCursor,
  ParamChange,
  RunRecord,
  Store,
  StoredFill,
  StoredParams,
} from "../ports.ts";
import { LIVE_INTENT_STATES } from "../ports.ts";
import { levelsOf } from "../trader.ts";

/** One traded market of a bot: its state key and the rules its levels follow. */
export interface TraderRef {
  readonly botId: string;
  readonly market: string;
}

/** One market at a glance. */
export interface MarketStatus {
  readonly botId: string;
  readonly market: string;
  readonly position: {
    readonly volume: string;
    readonly avgPrice: string;
    readonly cost: string;
    readonly stop: string | null;
    readonly target: string | null;
    readonly trailingStop: number | null;
    readonly entryMs: number | null;
  } | null;
  readonly cash: string;
  /** Cash + position at the last price (null while holding without a price). */
  readonly equity: number | null;
  /** Position at the last price − its cost (null while holding without a price; 0 when flat). */
  readonly unrealizedPnl: number | null;
  /** Realized P&L since the ledger opened. */
  readonly realizedPnl: string;
  readonly fees: string;
  readonly openIntents: readonly OrderView[];
  readonly lastPrice: number | null;
  readonly lastPriceAtMs: number | null;
  /** Realized P&L of this market in the current Upbit day. */
  readonly dailyPnl: string;
  /** Entries blocked by the daily loss limit. */
  readonly dailyLossBlocked: boolean;
  /** Realized + unrealized P&L (null while holding without a price). */
  readonly pnl: number | null;
}

/** The account: the sums over its markets (and, with account rules, the account's own limits). */
export interface AccountStatus {
  readonly cash: string;
  /** Money in positions at cost. */
  readonly positionsCost: string;
  readonly equity: number | null;
  readonly unrealizedPnl: number | null;
  readonly realizedPnl: string;
  readonly fees: string;
  /** Realized P&L of the account in the current Upbit day. */
  readonly dailyPnl: string;
  readonly openPositions: number;
  readonly openOrders: number;
  /** KRW reserved for buys in flight (counted against the account's capital cap). */
  readonly reservedKrw: string;
  /** Positions at cost + reservations: what the capital cap limits. */
  readonly committedKrw: string;
  /** Entries blocked on every market by the account's daily loss limit (today). */
  readonly dailyLossBlocked: boolean;
  /** The one cap over all markets (null when the run record does not say). */
  readonly capitalKrw: string | null;
  /** Realized + unrealized P&L: the sum of the markets' `pnl` (null while a price is missing). */
  readonly pnl: number | null;
}

/** The bot at a glance, for every surface. */
export interface BotStatus {
  readonly botId: string;
  readonly mode: string;
  /** A running bot answers (its exchange is reachable); false: the store of a stopped bot. */
  readonly running: boolean;
  readonly paused: boolean;
  readonly safeMode: boolean;
  /** Emergency stop: no orders at all until resumed. */
  readonly halted: boolean;
  /** Why the switches are as they are. */
  readonly reason: string;
  readonly changedAtMs: number;
  /** When the last run started. */
  readonly startedAtMs: number;
  /** When the last run stopped cleanly (null while it runs, or when it did not stop cleanly). */
  readonly endedAtMs: number | null;
  /** Version of the run-time parameters in force. */
  readonly paramsVersion: number;
  /** Start (00:00 UTC) of the Upbit day the daily figures are of: "today" on the run's clock. */
  readonly dayStartMs: number;
  readonly markets: readonly MarketStatus[];
  readonly account: AccountStatus;
}

/** An order in flight. */
export interface OrderView {
  readonly id: string;
  readonly market: string;
  readonly side: "bid" | "ask";
  readonly state: string;
  readonly identifier: string;
  readonly createdAtMs: number;
}

/** One fill, newest first in `recentTrades`. */
export interface TradeView {
  readonly market: string;
  readonly side: "bid" | "ask";
  readonly price: string;
  readonly volume: string;
  readonly funds: string;
  readonly fee: string;
  readonly atMs: number;
  readonly orderUuid: string;
  readonly tradeUuid: string;
}

/** A point of an equity curve (of one market, or the account: the sum of the markets). */
export interface EquityPoint {
  readonly tsMs: number;
  readonly equity: string;
  readonly cash: string;
}

/** Realized P&L of one Upbit day. */
export interface DayPnl {
  readonly dayStartMs: number;
  readonly account: string;
  readonly markets: Readonly<Record<string, string>>;
}

/** One run-time parameter: its start-up value and the override in force. */
export interface ParamView {
  readonly name: string;
  /** The value in force. */
  readonly value: number | undefined;
  /** What the bot was started with. */
  readonly startup: number | undefined;
  /** True when a stored change overrides the start-up value. */
  readonly overridden: boolean;
}

/** `ctl params`: the values in force and every change. */
export interface ParamsView {
  readonly version: number;
  readonly strategy: string;
  readonly params: readonly ParamView[];
  readonly history: readonly ParamChange[];
}

/** The run's start-up settings (before any override). */
function startupOf(run: RunRecord): TunableSettings {
  return {
    rules: run.rules,
    budgetPct: run.budgetPct,
    staleAfterMs: run.staleAfterMs,
    strategyParams: run.strategyParams,
  };
}

/** The run's start-up settings with the overrides of `params` applied. */
export function settingsOf(
  run: RunRecord,
  params: StoredParams,
): TunableSettings & { readonly version: number } {
  return { ...applyParams(startupOf(run), params.values), version: params.version };
}

/** The status of the bot `run` describes (read-only). */
export async function botStatus(
  store: Store,
  run: RunRecord,
  options: { readonly nowMs: number; readonly running: boolean },
): Promise<BotStatus> {
  const { nowMs } = options;
  const [control, params, intents, view, guard] = await Promise.all([
    store.getControl(),
    store.getParams(),
    store.listIntents(LIVE_INTENT_STATES),
    store.accountView(),
    store.getAccountGuard(),
  ]);
  const settings = settingsOf(run, params);
  const dayStartMs = upbitDayStartMs(nowMs);
  const markets: MarketStatus[] = [];
  for (const t of run.traders) {
    markets.push(await marketStatus(store, t, { dayStartMs, rules: settings.rules, intents }));
  }
  let cash = 0n;
  let cost = 0n;
  let realized = 0n;
  let fees = 0n;
  let equity: number | null = 0;
  let unrealized: number | null = 0;
  for (const m of markets) {
    cash += parseUnits(m.cash);
    cost += m.position === null ? 0n : parseUnits(m.position.cost);
    realized += parseUnits(m.realizedPnl);
    fees += parseUnits(m.fees);
    equity = equity === null || m.equity === null ? null : equity + m.equity;
    unrealized = unrealized === null || m.unrealizedPnl === null
      ? null
      : unrealized + m.unrealizedPnl;
  }
  // With the one cap known, the account's cash is the cap plus what it realized, less what its
  // positions cost (each market's ledger sees the whole cap, so their cash does not add up).
  const capital = run.capitalKrw === undefined ? null : parseUnits(run.capitalKrw);
  if (capital !== null) {
    cash = capital + realized - cost;
    equity = unrealized === null ? null : toNumber(capital + realized) + unrealized;
  }
  return {
    botId: run.botId,
    mode: run.mode,
    running: options.running,
    paused: control.paused,
    safeMode: control.safeMode,
    halted: control.halted,
    reason: control.reason,
    changedAtMs: control.changedAtMs,
    startedAtMs: run.startedAtMs,
    endedAtMs: run.endedAtMs ?? null,
    paramsVersion: settings.version,
    dayStartMs,
    markets,
    account: {
      cash: formatUnits(cash),
      positionsCost: formatUnits(cost),
      equity,
      unrealizedPnl: unrealized,
      realizedPnl: formatUnits(realized),
      fees: formatUnits(fees),
      dailyPnl: formatUnits(await store.dailyPnl(dayStartMs)),
      openPositions: markets.filter((m) => m.position !== null).length,
      openOrders: intents.length,
      reservedKrw: formatUnits(view.reservations.reduce((sum, r) => sum + r.amountKrw, 0n)),
      committedKrw: formatUnits(committedKrw(view)),
      dailyLossBlocked: guard !== null && guard.dayStartMs === dayStartMs && guard.blocked,
      capitalKrw: capital === null ? null : formatUnits(capital),
      pnl: unrealized === null ? null : toNumber(realized) + unrealized,
    },
  };
}

/** A value at a last price, as JSON prints it: a decimal string (null: no price yet). */
type JsonAmount = string | null;

/** `BotStatus` as JSON surfaces print it: every amount a decimal string (`format.ts`'s rule). */
export type BotStatusJson = Omit<BotStatus, "markets" | "account"> & {
  readonly markets: readonly (
    & Omit<MarketStatus, "position" | "equity" | "unrealizedPnl" | "lastPrice" | "pnl">
    & {
      readonly position:
        | (Omit<NonNullable<MarketStatus["position"]>, "trailingStop"> & {
          readonly trailingStop: JsonAmount;
        })
        | null;
      readonly equity: JsonAmount;
      readonly unrealizedPnl: JsonAmount;
      readonly lastPrice: JsonAmount;
      readonly pnl: JsonAmount;
    }
  )[];
  readonly account: Omit<AccountStatus, "equity" | "unrealizedPnl" | "pnl"> & {
    readonly equity: JsonAmount;
    readonly unrealizedPnl: JsonAmount;
    readonly pnl: JsonAmount;
  };
};

/**
 * The status for JSON outputs (`ctl status --json`, `/api/status`): the amounts valued at a last
 * price (numbers inside the engine) become decimal strings like every other amount, rounded to
 * 1e-8 KRW.
 */
export function statusJson(status: BotStatus): BotStatusJson {
  return {
    ...status,
    markets: status.markets.map((m) => ({
      ...m,
      position: m.position === null
        ? null
        : { ...m.position, trailingStop: moneyJson(m.position.trailingStop) },
      equity: moneyJson(m.equity),
      unrealizedPnl: moneyJson(m.unrealizedPnl),
      lastPrice: moneyJson(m.lastPrice),
      pnl: moneyJson(m.pnl),
    })),
    account: {
      ...status.account,
      equity: moneyJson(status.account.equity),
      unrealizedPnl: moneyJson(status.account.unrealizedPnl),
      pnl: moneyJson(status.account.pnl),
    },
  };
}

function moneyJson(value: number | null): JsonAmount {
  return value === null ? null : jsonMoney(unitsFromNumber(value));
}

async function marketStatus(
  store: Store,
  t: TraderRef,
  ctx: {
    readonly dayStartMs: number;
    readonly rules: RunRecord["rules"];
    readonly intents: Awaited<ReturnType<Store["listIntents"]>>;
  },
): Promise<MarketStatus> {
  const [ledger, state, daily] = await Promise.all([
    store.getLedger(t.market),
    store.getTraderState(t.botId),
    store.marketDailyPnl(ctx.dayStartMs, t.market),
  ]);
  const levels = state?.levels ?? null;
  const lastPrice = state !== undefined && state.lastPrice > 0 ? state.lastPrice : null;
  const held = ledger !== undefined && ledger.qty > 0n;
  const trail = levels === null ? Number.NaN : trailingStopPx(levelsOf(levels), ctx.rules);
  const value = !held ? 0 : lastPrice === null ? null : toNumber(ledger.qty) * lastPrice;
  return {
    botId: t.botId,
    market: t.market,
    position: !held ? null : {
      volume: formatUnits(ledger.qty),
      avgPrice: formatUnits(ledger.avgPrice),
      cost: formatUnits(ledger.cost),
      stop: levels === null || levels.stop === 0n ? null : formatUnits(levels.stop),
      target: levels === null || levels.target === 0n ? null : formatUnits(levels.target),
      trailingStop: Number.isNaN(trail) ? null : trail,
      entryMs: levels?.entryMs ?? null,
    },
    cash: formatUnits(ledger?.cash ?? 0n),
    equity: value === null ? null : toNumber(ledger?.cash ?? 0n) + value,
    unrealizedPnl: value === null ? null : held ? value - toNumber(ledger.cost) : 0,
    realizedPnl: formatUnits(ledger?.realizedPnl ?? 0n),
    fees: formatUnits(ledger?.fees ?? 0n),
    openIntents: ctx.intents.filter((i) => i.market === t.market).map(orderView),
    lastPrice,
    lastPriceAtMs: lastPrice === null ? null : state?.lastPriceAtMs ?? null,
    dailyPnl: formatUnits(daily),
    dailyLossBlocked: state?.guard !== null && state?.guard !== undefined &&
      state.guard.dayStartMs === ctx.dayStartMs && state.guard.blocked,
    pnl: value === null
      ? null
      : toNumber(ledger?.realizedPnl ?? 0n) + (held ? value - toNumber(ledger.cost) : 0),
  };
}

function toNumber(u: Units): number {
  return Number(u) / Number(SCALE);
}

function orderView(i: Awaited<ReturnType<Store["listIntents"]>>[number]): OrderView {
  return {
    id: i.id,
    market: i.market,
    side: i.side,
    state: i.state,
    identifier: i.identifier,
    createdAtMs: i.createdAtMs,
  };
}

/** Orders in flight (not yet filled, cancelled or rejected), oldest first. */
export async function openOrders(store: Store): Promise<readonly OrderView[]> {
  return (await store.listIntents(LIVE_INTENT_STATES)).map(orderView);
}

/** The newest `limit` fills, newest first (one page of the by-time index). */
export async function recentTrades(
  store: Store,
  options: { readonly limit: number },
): Promise<readonly TradeView[]> {
  return (await store.listFillsPage({ limit: options.limit })).fills.map(tradeView);
}

/** One page of trades, newest first, and the cursors of the pages beside it. */
export interface TradesPage {
  readonly trades: readonly TradeView[];
  /** The older page's `cursor` (null: none). */
  readonly next: string | null;
  /** The newer page's `before` (null: this page is the newest). */
  readonly prev: string | null;
}

const CURSOR = z.tuple([
  z.number().int().min(0).max(8.64e15),
  z.string().min(1).max(128),
  z.string().min(1).max(128),
]);

/** A page's cursor as URL-safe text (base64url of `[tsMs, orderUuid, tradeUuid]`). */
function cursorText(c: FillCursor): string {
  const bytes = new TextEncoder().encode(JSON.stringify([c.tsMs, c.orderUuid, c.tradeUuid]));
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The cursor of `text`, or undefined when it is not one `tradesPage` made. */
function cursorOf(text: string): FillCursor | undefined {
  if (text.length > 600 || !/^[A-Za-z0-9_-]+$/.test(text)) return undefined;
  try {
    const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    const json = new TextDecoder("utf-8", { fatal: true }).decode(
      Uint8Array.from(binary, (ch) => ch.charCodeAt(0)),
    );
    const parsed = CURSOR.safeParse(JSON.parse(json));
    if (!parsed.success) return undefined;
    const [tsMs, orderUuid, tradeUuid] = parsed.data;
    return { tsMs, orderUuid, tradeUuid };
  } catch {
    return undefined;
  }
}

/**
 * `limit` trades (1-1000), newest first: the newest, or those just older than `cursor` (a page's
 * `next`), or just newer than `before` (a page's `prev`). Only the page is read from the store.
 * A cursor that is not one this function made is an error naming the field.
 */
export async function tradesPage(
  store: Store,
  options: { readonly cursor?: string; readonly before?: string; readonly limit: number },
): Promise<Result<TradesPage, string>> {
  const where: { after?: FillCursor; before?: FillCursor } = {};
  if (options.cursor !== undefined) {
    where.after = cursorOf(options.cursor);
    if (where.after === undefined) return err("cursor: not a page of the trades list");
  } else if (options.before !== undefined) {
    where.before = cursorOf(options.before);
    if (where.before === undefined) return err("before: not a page of the trades list");
  }
  const page = await store.listFillsPage({ limit: options.limit, ...where });
  return ok({
    trades: page.fills.map(tradeView),
    next: page.next === null ? null : cursorText(page.next),
    prev: page.prev === null ? null : cursorText(page.prev),
  });
}

function tradeView(f: StoredFill): TradeView {
  return {
    market: f.market,
    side: f.side,
    price: formatUnits(f.price),
    volume: formatUnits(f.volume),
    funds: formatUnits(f.funds),
    fee: formatUnits(f.fee),
    atMs: f.tsMs,
    orderUuid: f.orderUuid,
    tradeUuid: f.tradeUuid,
  };
}

/**
 * The equity curve from `fromMs` on: of one market, or of the account (at each snapshot of any
 * market, the sum of every market's latest snapshot so far).
 */
export async function equityHistory(
  store: Store,
  options: { readonly markets: readonly string[]; readonly fromMs?: number },
): Promise<readonly EquityPoint[]> {
  const series = await Promise.all(
    options.markets.map((market) =>
      store.listEquity({
        market,
        ...(options.fromMs === undefined ? {} : { fromMs: options.fromMs }),
      })
    ),
  );
  const all: EquitySnapshot[] = series.flat().sort((a, b) => a.tsMs - b.tsMs);
  const latest = new Map<string, EquitySnapshot>();
  const out: EquityPoint[] = [];
  for (const s of all) {
    latest.set(s.market, s);
    let equity = 0n;
    let cash = 0n;
    for (const l of latest.values()) {
      equity += l.equity;
      cash += l.cash;
    }
    const point = { tsMs: s.tsMs, equity: formatUnits(equity), cash: formatUnits(cash) };
    if (out.at(-1)?.tsMs === s.tsMs) out[out.length - 1] = point;
    else out.push(point);
  }
  return out;
}

/** Realized P&L of the last `days` Upbit days up to the one of `nowMs`, newest first. */
export async function dailyPnl(
  store: Store,
  options: { readonly markets: readonly string[]; readonly nowMs: number; readonly days: number },
): Promise<readonly DayPnl[]> {
  const out: DayPnl[] = [];
  const today = upbitDayStartMs(options.nowMs);
  for (let i = 0; i < options.days; i++) {
    const dayStartMs = today - i * 86_400_000;
    const markets: Record<string, string> = {};
    for (const m of options.markets) {
      markets[m] = formatUnits(await store.marketDailyPnl(dayStartMs, m));
    }
    out.push({ dayStartMs, account: formatUnits(await store.dailyPnl(dayStartMs)), markets });
  }
  return out;
}

/** The newest `limit` operator commands, newest first. */
export function auditLog(
  store: Store,
  options: { readonly limit: number },
): Promise<readonly CommandRecord[]> {
  return store.listCommands(options);
}

/** The run-time parameters: start-up values, overrides in force, and the history. */
export async function paramsView(store: Store, run: RunRecord): Promise<ParamsView> {
  const [params, history] = await Promise.all([store.getParams(), store.listParamHistory()]);
  const startup = startupOf(run);
  const inForce = applyParams(startup, params.values);
  const names = [
    ...RISK_PARAMS,
    ...STRATEGY_PARAMS.filter((p) => p in run.strategyParams || p in params.values),
  ];
  return {
    version: params.version,
    strategy: run.strategy,
    params: names.map((name) => ({
      name,
      value: paramValue(inForce, name),
      startup: paramValue(startup, name),
      overridden: name in params.values,
    })),
    history,
  };
}
