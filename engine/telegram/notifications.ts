/**
 * Telegram notifications: which kind each engine event is (the unit of `TELEGRAM_NOTIFY`), how
 * each kind is delivered (on, silent or off), and the text of one event or of a coalesced run of
 * events (a burst of fills, a reconnect storm), in English and Korean. Amounts, prices, volumes
 * and times go through the one formatter.
 *
 * To notify a new event type: give it a kind in `notificationKind` (a new kind also needs a line
 * in `NOTIFICATION_KINDS`, `DEFAULT_NOTIFY` and the texts) and a text in `eventText`; the
 * compiler points at both places when `EngineEvent` grows.
 */

import {
  type EngineEvent,
  formatDateTime,
  formatKrw,
  formatNumber,
  formatPct,
  formatPrice,
  formatVolume,
  parseUnits,
  STOPPING_REASON,
} from "../mod.ts";
import type { Language } from "./messages.ts";

/** What `TELEGRAM_NOTIFY` switches, one key per kind of notification. */
export const NOTIFICATION_KINDS = [
  "signal",
  "order",
  "fill",
  "stop_loss",
  "take_profit",
  "trailing",
  "daily_limit",
  "error",
  "reconnect",
  "safe_mode",
  "control",
  "command",
  "start",
  "stop",
  "report",
  "watchdog",
] as const;

/** A kind of notification. */
export type NotificationKind = typeof NOTIFICATION_KINDS[number];

/** How a kind is delivered: with a sound, silently (`disable_notification`), or not at all. */
export type Delivery = "on" | "silent" | "off";

/** The delivery of every kind. */
export type NotifyPolicy = Readonly<Record<NotificationKind, Delivery>>;

/** Everything on, except the order acknowledgements and operator commands, which are silent. */
export const DEFAULT_NOTIFY: NotifyPolicy = {
  signal: "on",
  order: "silent",
  fill: "on",
  stop_loss: "on",
  take_profit: "on",
  trailing: "on",
  daily_limit: "on",
  error: "on",
  reconnect: "on",
  safe_mode: "on",
  control: "on",
  command: "silent",
  start: "on",
  stop: "on",
  report: "on",
  watchdog: "on",
};

/**
 * How long a burst of one kind may last to become one message (ms from its first event), for
 * the kinds that burst; the others are one message each.
 */
export const COALESCE_MS: Partial<Readonly<Record<NotificationKind, number>>> = {
  fill: 1_000,
  error: 1_000,
  reconnect: 10_000,
};

/** The kind of `event`. */
export function notificationKind(event: EngineEvent): NotificationKind {
  switch (event.type) {
    case "SignalRaised":
    case "SignalFailed":
      return "signal";
    case "OrderSubmitted":
      return "order";
    case "OrderRejected":
      // A refusal needs a look even when order acknowledgements are off.
      return "error";
    case "OrderFilled":
      return "fill";
    case "RiskTriggered":
      return event.rule === "stop_loss"
        ? "stop_loss"
        : event.rule === "take_profit"
        ? "take_profit"
        : event.rule === "trailing_stop"
        ? "trailing"
        : "daily_limit";
    case "ErrorRaised":
      return event.code === "market_disconnected" ? "reconnect" : "error";
    case "ReconciliationFailed":
      return "error";
    case "StateChanged":
      return event.safeMode ? "safe_mode" : "control";
    case "CommandExecuted":
      // An emergency stop is told by its command (what it cancelled and sold): as loud as a pause.
      return isStop(event) ? "control" : "command";
    case "RunStarted":
      return "start";
    case "RunStopped":
      return "stop";
    case "DailyReport":
      return "report";
    case "WatchdogAlert":
      return "watchdog";
  }
}

/** A pause or resume that was carried out: its `StateChanged` (naming who) tells it already. */
function changedState(event: Extract<EngineEvent, { type: "CommandExecuted" }>): boolean {
  return event.result === "done" && /^(pause:|resume\b)/.test(event.command);
}

/** The `stop` or `stop --sell` command. */
function isStop(event: Extract<EngineEvent, { type: "CommandExecuted" }>): boolean {
  return /^stop\b/.test(event.command);
}

/** A state change an operator's emergency stop made (its first step or its halt). */
function stopStep(event: Extract<EngineEvent, { type: "StateChanged" }>): boolean {
  return event.actor !== undefined && (event.halted === true || event.reason === STOPPING_REASON);
}

/**
 * How `event` is delivered under `policy`: its kind's setting, except that a command sent from
 * Telegram, and the state change it caused, are never echoed back (the chat already shows its
 * answer); a pause or resume from elsewhere is one message (the state change, naming who), and
 * an emergency stop from elsewhere too (the command, with what it cancelled and sold).
 */
export function deliveryOf(event: EngineEvent, policy: NotifyPolicy): Delivery {
  if (event.type === "CommandExecuted" && event.actor.startsWith("telegram:")) return "off";
  if (event.type === "StateChanged" && event.actor?.startsWith("telegram:") === true) return "off";
  if (event.type === "CommandExecuted" && changedState(event)) return "off";
  if (event.type === "StateChanged" && stopStep(event)) return "off";
  return policy[notificationKind(event)];
}

/** A fill's reference price: what the order was decided at, and by what. */
export interface FillReference {
  /** Exact decimal KRW. */
  readonly price: string;
  readonly by: "signal" | "stop_loss" | "take_profit" | "trailing_stop";
}

/** What a text needs besides its events. */
export interface TextContext {
  readonly language: Language;
  /** When the text is written: an event older than `lateAfterMs` says when it happened. */
  readonly nowMs: number;
  /** Default 60 s. */
  readonly lateAfterMs?: number;
  /** The reference price of a fill (by its order), for its slippage. */
  readonly referenceOf?: (fill: Extract<EngineEvent, { type: "OrderFilled" }>) =>
    | FillReference
    | undefined;
}

/** The longest text sent (Telegram's limit is 4,096 characters). */
export const MAX_TEXT = 4_000;

/** How many lines a coalesced error message lists before "… and N more". */
const LIST_MAX = 10;

interface Words {
  readonly buy: string;
  readonly sell: string;
  readonly signal: (action: string, market: string, reason: string) => string;
  readonly signalFailed: (action: string, market: string, reason: string) => string;
  readonly orderPlaced: (side: string, market: string) => string;
  readonly orderRejected: (market: string, name: string, message: string) => string;
  readonly filled: (
    side: string,
    volume: string,
    coin: string,
    price: string,
    market: string,
  ) => string;
  readonly amount: string;
  readonly fee: string;
  readonly slippage: (bps: string, by: string, price: string) => string;
  readonly by: Readonly<Record<FillReference["by"], string>>;
  readonly fills: (n: number, seconds: string) => string;
  readonly fillGroup: (
    side: string,
    volume: string,
    coin: string,
    market: string,
    avg: string,
    funds: string,
    fees: string,
  ) => string;
  readonly risk: Readonly<Record<"stop_loss" | "take_profit" | "trailing_stop", string>>;
  readonly riskHit: (what: string, market: string, price: string) => string;
  readonly dailyLimit: (market: string, price: string) => string;
  readonly accountLimit: (equity: string, lost: string | null, start: string | null) => string;
  readonly error: (code: string, message: string) => string;
  readonly errors: (n: number) => string;
  readonly more: (n: number) => string;
  readonly disconnected: (message: string) => string;
  readonly storm: (n: number, seconds: string, last: string) => string;
  readonly reconciliation: (reason: string) => string;
  readonly safeMode: (reason: string) => string;
  readonly halted: (reason: string) => string;
  readonly paused: (reason: string) => string;
  readonly running: (reason: string) => string;
  /** Appended to a state change an operator command caused. */
  readonly byActor: (actor: string) => string;
  readonly command: (actor: string, command: string, result: string, detail: string) => string;
  readonly result: Readonly<Record<"done" | "refused" | "failed", string>>;
  readonly started: (mode: string, markets: string, strategy: string, timeframe: string) => string;
  readonly recovered: string;
  readonly stopped: (mode: string, uptime: string) => string;
  readonly duration: (hours: number, minutes: number) => string;
  readonly late: (at: string) => string;
  readonly report: (date: string, late: boolean) => string;
  readonly reportLine: (realized: string, unrealized: string, fees: string) => string;
  readonly reportActivity: (fills: number, exits: number, uptime: string) => string;
  readonly reportRisk: (drawdown: string, budget: string) => string;
  readonly reportBacktest: (pnl: string, matched: number) => string;
  readonly notReconciled: string;
  readonly reportMore: (date: string) => string;
  readonly watchdog: (check: "loop" | "market_data", market: string) => string;
  readonly stale: (seconds: number, limit: number) => string;
  readonly recoveredAfter: (seconds: number) => string;
}

const EN: Words = {
  buy: "BUY",
  sell: "SELL",
  signal: (a, m, r) => `Signal ${a} ${m}: ${r}`,
  signalFailed: (a, m, r) => `Signal ${a} ${m} not executed: ${r}`,
  orderPlaced: (s, m) => `Order placed: ${s} ${m}`,
  orderRejected: (m, n, msg) => `Order rejected on ${m}: ${n}: ${msg}`,
  filled: (s, v, c, p, m) => `Filled: ${s} ${v} ${c} @ ${p} KRW (${m})`,
  amount: "amount",
  fee: "fee",
  slippage: (bps, by, p) => `slippage ${bps} bps vs ${by} ${p}`,
  by: {
    signal: "the price decided at",
    stop_loss: "the stop loss at",
    take_profit: "the take profit at",
    trailing_stop: "the trailing stop at",
  },
  fills: (n, s) => `${n} fills in ${s} s:`,
  fillGroup: (side, v, c, m, avg, funds, fees) =>
    `${side} ${v} ${c} on ${m}, avg ${avg} KRW, ${funds} KRW, fees ${fees} KRW`,
  risk: { stop_loss: "Stop loss", take_profit: "Take profit", trailing_stop: "Trailing stop" },
  riskHit: (w, m, p) => `${w} hit on ${m} at ${p} KRW: selling`,
  dailyLimit: (m, p) => `Daily loss limit reached on ${m} (price ${p} KRW): no new entries today`,
  accountLimit: (equity, lost, start) =>
    `Account daily loss limit reached: equity ${equity} KRW${
      lost === null ? "" : ` (${lost} from the day's start ${start} KRW)`
    }: no new entries on any market today`,
  error: (c, m) => `Error ${c}: ${m}`,
  errors: (n) => `${n} errors:`,
  more: (n) => `… and ${n} more`,
  disconnected: (m) => `Market data: ${m}`,
  storm: (n, s, last) => `Reconnect storm: ${n} market-data disconnects in ${s} s (last: ${last})`,
  reconciliation: (r) => `Reconciliation failed: ${r} (safe mode: no new entries)`,
  safeMode: (r) => `Safe mode ON: no new entries (${r})`,
  halted: (r) => `EMERGENCY STOP: no orders until resumed (${r})`,
  paused: (r) => `Trading paused: no new entries (${r})`,
  running: (r) => `Trading on: ${r}`,
  byActor: (a) => ` · by ${a}`,
  command: (a, c, res, d) => `Command by ${a}: ${c}: ${res}${d === "" ? "" : ` (${d})`}`,
  result: { done: "done", refused: "refused", failed: "failed" },
  started: (mode, markets, strategy, tf) => `Bot started: ${mode}, ${markets}, ${strategy} ${tf}`,
  recovered: "The previous run did not stop cleanly (crash or kill): state was recovered.",
  stopped: (mode, up) => `Bot stopped cleanly (${mode}, up ${up})`,
  duration: (h, m) => (h > 0 ? `${h} h ${m} min` : `${m} min`),
  late: (at) => `(delayed: happened at ${at} UTC)`,
  report: (d, late) => `Daily report ${d}${late ? " (sent late)" : ""}`,
  reportLine: (r, u, f) => `realized ${r} KRW · unrealized ${u} KRW · fees ${f} KRW`,
  reportActivity: (n, e, up) => `${n} fills, ${e} exits · uptime ${up}`,
  reportRisk: (dd, b) => `max drawdown ${dd} · daily loss budget used at the day's low ${b}`,
  reportBacktest: (p, m) => `backtest over the day: ${p} KRW, ${m} fills matched`,
  notReconciled: "The P&L does NOT reconcile with the ledger: check /report.",
  reportMore: (d) => `/report ${d} for the whole report`,
  watchdog: (c, m) => `Watchdog: ${c === "loop" ? "trading loop" : "market data"} of ${m}`,
  stale: (s, l) => `stale: ${s} s old (limit ${l} s)`,
  recoveredAfter: (s) => `recovered (${s} s old)`,
};

const KO: Words = {
  buy: "매수",
  sell: "매도",
  signal: (a, m, r) => `신호 ${a} ${m}: ${r}`,
  signalFailed: (a, m, r) => `신호 ${a} ${m} 미실행: ${r}`,
  orderPlaced: (s, m) => `주문 접수: ${s} ${m}`,
  orderRejected: (m, n, msg) => `주문 거부 ${m}: ${n}: ${msg}`,
  filled: (s, v, c, p, m) => `체결: ${s} ${v} ${c} @ ${p} KRW (${m})`,
  amount: "금액",
  fee: "수수료",
  slippage: (bps, by, p) => `슬리피지 ${bps} bps (${by} ${p} 대비)`,
  by: {
    signal: "결정 시점 가격",
    stop_loss: "손절가",
    take_profit: "익절가",
    trailing_stop: "추적 손절가",
  },
  fills: (n, s) => `${s}초 동안 체결 ${n}건:`,
  fillGroup: (side, v, c, m, avg, funds, fees) =>
    `${side} ${v} ${c} (${m}), 평균 ${avg} KRW, ${funds} KRW, 수수료 ${fees} KRW`,
  risk: { stop_loss: "손절", take_profit: "익절", trailing_stop: "추적 손절" },
  riskHit: (w, m, p) => `${w} 도달 ${m} ${p} KRW: 매도합니다`,
  dailyLimit: (m, p) => `일일 손실 한도 도달 ${m} (가격 ${p} KRW): 오늘은 신규 진입 없음`,
  accountLimit: (equity, lost, start) =>
    `계좌 일일 손실 한도 도달: 평가금액 ${equity} KRW${
      lost === null ? "" : ` (당일 시작 ${start} KRW 대비 ${lost})`
    }: 오늘은 모든 마켓 신규 진입 없음`,
  error: (c, m) => `오류 ${c}: ${m}`,
  errors: (n) => `오류 ${n}건:`,
  more: (n) => `… 외 ${n}건`,
  disconnected: (m) => `시세 연결: ${m}`,
  storm: (n, s, last) => `재연결 폭주: ${s}초 동안 시세 연결 끊김 ${n}회 (마지막: ${last})`,
  reconciliation: (r) => `잔고 대사 실패: ${r} (안전 모드: 신규 진입 없음)`,
  safeMode: (r) => `안전 모드 켜짐: 신규 진입 없음 (${r})`,
  halted: (r) => `긴급 정지: 재개 전까지 주문 없음 (${r})`,
  paused: (r) => `거래 일시정지: 신규 진입 없음 (${r})`,
  running: (r) => `거래 중: ${r}`,
  byActor: (a) => ` · ${a} 명령`,
  command: (a, c, res, d) => `명령 ${a}: ${c}: ${res}${d === "" ? "" : ` (${d})`}`,
  result: { done: "완료", refused: "거부됨", failed: "실패" },
  started: (mode, markets, strategy, tf) => `봇 시작: ${mode}, ${markets}, ${strategy} ${tf}`,
  recovered: "이전 실행이 정상 종료되지 않았습니다 (중단 또는 강제 종료): 상태를 복구했습니다.",
  stopped: (mode, up) => `봇 정상 종료 (${mode}, 가동 ${up})`,
  duration: (h, m) => (h > 0 ? `${h}시간 ${m}분` : `${m}분`),
  late: (at) => `(지연 전송: ${at} UTC 발생)`,
  report: (d, late) => `일일 리포트 ${d}${late ? " (지연 전송)" : ""}`,
  reportLine: (r, u, f) => `실현 ${r} KRW · 미실현 ${u} KRW · 수수료 ${f} KRW`,
  reportActivity: (n, e, up) => `체결 ${n}건, 청산 ${e}건 · 가동률 ${up}`,
  reportRisk: (dd, b) => `최대 낙폭 ${dd} · 당일 최저점의 손실 한도 사용 ${b}`,
  reportBacktest: (p, m) => `당일 백테스트: ${p} KRW, 일치 체결 ${m}건`,
  notReconciled: "손익이 원장과 맞지 않습니다: /report 를 확인하세요.",
  reportMore: (d) => `/report ${d} 로 전체 리포트 보기`,
  watchdog: (c, m) => `감시: ${m} ${c === "loop" ? "거래 루프" : "시세 데이터"}`,
  stale: (s, l) => `멈춤: ${s}초 전 (한도 ${l}초)`,
  recoveredAfter: (s) => `복구됨 (${s}초 전)`,
};

function wordsOf(language: Language): Words {
  return language === "ko" ? KO : EN;
}

type Fill = Extract<EngineEvent, { type: "OrderFilled" }>;

/** A text's words and context. */
interface Ctx {
  readonly w: Words;
  readonly ctx: TextContext;
}

function coin(market: string): string {
  return market.split("-")[1] ?? market;
}

function price(decimal: string, at: { readonly market: string; readonly atMs: number }): string {
  return formatPrice(parseUnits(decimal), at);
}

function krw(decimal: string | bigint, decimals = 0): string {
  return formatKrw(typeof decimal === "bigint" ? decimal : parseUnits(decimal), { decimals });
}

/**
 * Slippage of a fill at `fillPrice` against `reference` in basis points, positive when it cost
 * us (a buy above, a sell below the reference). A display figure: floats are exact enough.
 */
export function slippageBps(
  side: "bid" | "ask",
  prices: { readonly fill: number; readonly reference: number },
): number {
  const { fill, reference } = prices;
  if (!(reference > 0)) return Number.NaN;
  const diff = side === "bid" ? fill - reference : reference - fill;
  return (diff / reference) * 10_000;
}

function slippageText(
  ref: FillReference,
  at: {
    readonly side: "bid" | "ask";
    readonly fill: number;
    readonly w: Words;
    readonly market: string;
    readonly atMs: number;
  },
): string | undefined {
  const bps = slippageBps(at.side, { fill: at.fill, reference: Number(ref.price) });
  if (!Number.isFinite(bps)) return undefined;
  return at.w.slippage(
    formatNumber(bps, { decimals: 1, signed: true }),
    at.w.by[ref.by],
    price(ref.price, at),
  );
}

function fillText(e: Fill, c: Ctx): string {
  const { w, ctx } = c;
  const side = e.side === "bid" ? w.buy : w.sell;
  const head = w.filled(
    side,
    formatVolume(parseUnits(e.volume)),
    coin(e.market),
    price(e.price, e),
    e.market,
  );
  const parts = [`${w.amount} ${krw(e.funds)} KRW`, `${w.fee} ${krw(e.fee, 2)} KRW`];
  const ref = ctx.referenceOf?.(e);
  const slip = ref === undefined
    ? undefined
    : slippageText(ref, { side: e.side, fill: Number(e.price), w, market: e.market, atMs: e.atMs });
  if (slip !== undefined) parts.push(slip);
  return `${head}\n${parts.join(" · ")}`;
}

/** The text of one event. */
function eventText(e: EngineEvent, c: Ctx): string {
  const { w } = c;
  switch (e.type) {
    case "SignalRaised":
      return w.signal(e.action === "buy" ? w.buy : w.sell, e.market, e.reason);
    case "SignalFailed":
      return w.signalFailed(e.action === "buy" ? w.buy : w.sell, e.market, e.reason);
    case "OrderSubmitted":
      return w.orderPlaced(e.side === "bid" ? w.buy : w.sell, e.market);
    case "OrderRejected":
      return w.orderRejected(e.market, e.name, e.message);
    case "OrderFilled":
      return fillText(e, c);
    case "RiskTriggered": {
      if (e.rule === "stop_loss" || e.rule === "take_profit" || e.rule === "trailing_stop") {
        return w.riskHit(w.risk[e.rule], e.market, price(e.price, e));
      }
      if (e.rule === "account_daily_loss_limit") {
        const equity = parseUnits(e.price);
        if (e.dayStartEquity === undefined) return w.accountLimit(krw(equity), null, null);
        const start = parseUnits(e.dayStartEquity);
        const lostPct = start > 0n ? (Number(equity - start) / Number(start)) * 100 : 0;
        return w.accountLimit(krw(equity), formatPct(lostPct), krw(start));
      }
      return w.dailyLimit(e.market, price(e.price, e));
    }
    case "ErrorRaised":
      return e.code === "market_disconnected"
        ? w.disconnected(e.message)
        : w.error(e.code, e.message);
    case "ReconciliationFailed":
      return [
        w.reconciliation(e.reason),
        ...e.mismatches.map((m) => `${m.currency}: ${m.ledger} ≠ ${m.exchange}`),
      ].join("\n");
    case "StateChanged": {
      const by = e.actor === undefined ? "" : w.byActor(e.actor);
      if (e.safeMode) return w.safeMode(e.reason) + by;
      if (e.halted === true) return w.halted(e.reason) + by;
      if (e.paused) return w.paused(e.reason) + by;
      return w.running(e.reason) + by;
    }
    case "CommandExecuted":
      // A stop that was carried out halted trading: said as the halt, with what it did.
      return isStop(e) && e.result === "done"
        ? w.halted(e.detail) + w.byActor(e.actor)
        : w.command(e.actor, e.command, w.result[e.result], e.detail);
    case "RunStarted": {
      const text = w.started(e.mode, e.markets.join(", "), e.strategy, e.timeframe);
      return e.recovered ? `${text}\n${w.recovered}` : text;
    }
    case "RunStopped": {
      const minutes = Math.floor(e.uptimeMs / 60_000);
      return w.stopped(e.mode, w.duration(Math.floor(minutes / 60), minutes % 60));
    }
    case "DailyReport": {
      const signed = (d: string) => formatKrw(parseUnits(d), { signed: true });
      const pct = (x: number | null) => x === null ? "n/a" : formatPct(x, { signed: false });
      return [
        w.report(e.date, e.late),
        w.reportLine(signed(e.realizedPnl), signed(e.unrealizedPnl), krw(e.fees)),
        w.reportActivity(e.fills, e.exits, pct(e.uptimePct)),
        w.reportRisk(pct(e.maxDrawdownPct), pct(e.lossBudgetUsedPct)),
        ...(e.backtestPnl === null ? [] : [w.reportBacktest(signed(e.backtestPnl), e.matched)]),
        ...(e.reconciled ? [] : [w.notReconciled]),
        w.reportMore(e.date),
      ].join("\n");
    }
    case "WatchdogAlert": {
      const seconds = Math.round(e.ageMs / 1000);
      return `${w.watchdog(e.check, e.market)} ${
        e.stale ? w.stale(seconds, Math.round(e.limitMs / 1000)) : w.recoveredAfter(seconds)
      }`;
    }
  }
}

function seconds(events: readonly EngineEvent[]): string {
  const spanMs = events[events.length - 1]!.atMs - events[0]!.atMs;
  return formatNumber(Math.max(0, spanMs) / 1000, { decimals: 1 });
}

/** One line per (market, side): total volume and funds, average price, fees. */
function fillsText(fills: readonly Fill[], c: Ctx): string {
  const { w, ctx } = c;
  const groups = new Map<string, Fill[]>();
  for (const f of fills) {
    const key = `${f.market} ${f.side}`;
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [f]);
    else group.push(f);
  }
  const lines = [w.fills(fills.length, seconds(fills))];
  for (const group of groups.values()) {
    const first = group[0]!;
    let volume = 0n;
    let funds = 0n;
    let fees = 0n;
    for (const f of group) {
      volume += parseUnits(f.volume);
      funds += parseUnits(f.funds);
      fees += parseUnits(f.fee);
    }
    const avg = volume > 0n ? Number(funds) / Number(volume) : 0;
    let line = w.fillGroup(
      first.side === "bid" ? w.buy : w.sell,
      formatVolume(volume),
      coin(first.market),
      first.market,
      formatPrice(avg, { atMs: first.atMs, market: first.market }),
      krw(funds),
      krw(fees, 2),
    );
    const ref = ctx.referenceOf?.(first);
    // Against the volume-weighted average price.
    const slip = ref === undefined || volume === 0n ? undefined : slippageText(ref, {
      side: first.side,
      fill: avg,
      w,
      market: first.market,
      atMs: first.atMs,
    });
    if (slip !== undefined) line += `, ${slip}`;
    lines.push(line);
  }
  return lines.join("\n");
}

/** The text of a run of events of one kind (one event, or a coalesced burst of them). */
export function notificationText(events: readonly EngineEvent[], ctx: TextContext): string {
  if (events.length === 0) throw new RangeError("Cannot write a notification: no events");
  const w = wordsOf(ctx.language);
  const first = events[0]!;
  let text: string;
  if (events.length === 1) {
    text = eventText(first, { w, ctx });
  } else if (events.every((e) => e.type === "OrderFilled")) {
    text = fillsText(events as readonly Fill[], { w, ctx });
  } else if (notificationKind(first) === "reconnect") {
    const last = events[events.length - 1]!;
    text = w.storm(
      events.length,
      seconds(events),
      last.type === "ErrorRaised" ? last.message : last.type,
    );
  } else {
    const lines = events.slice(0, LIST_MAX).map((e) => eventText(e, { w, ctx }).split("\n")[0]!);
    if (events.length > LIST_MAX) lines.push(w.more(events.length - LIST_MAX));
    text = [w.errors(events.length), ...lines].join("\n");
  }
  if (ctx.nowMs - first.atMs > (ctx.lateAfterMs ?? 60_000)) {
    text += `\n${w.late(formatDateTime(first.atMs))}`;
  }
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT - 1)}…` : text;
}
