/**
 * Korean and English for the status page: the message tables, the request's language and the
 * switch between them.
 *
 * The language is the `lang` cookie when it names one we have (set by `GET /lang/<en|ko>`, the
 * switch link every page shows), else the best of `Accept-Language` (q-values honoured), else
 * English. `languageMiddleware()` puts it on the request as `c.get("lang")`; a page then takes
 * `messagesOf(lang)` and calls `t("key")` or `t("key", { name: value })` (`{name}` in the text).
 * Every key exists in both tables (the type says so), so a missing translation does not compile.
 */

import type { Context, MiddlewareHandler } from "hono";
import { getCookie, setCookie } from "hono/cookie";

/** A language of the page. */
export type Lang = "en" | "ko";

/** Every language, in the order the switch shows them. */
export const LANGS: readonly Lang[] = ["en", "ko"];

/** The cookie that keeps the chosen language. */
export const LANG_COOKIE = "lang";

const EN = {
  "lang.name": "English",
  "lang.switch": "Language",
  "nav.label": "Pages",
  "nav.home": "Status",
  "nav.trades": "Trades",
  "nav.reports": "Reports",
  "nav.settings": "Settings",
  "nav.backtests": "Backtests",
  "nav.signOut": "Sign out",
  "login.title": "Sign in",
  "login.password": "Password",
  "login.submit": "Sign in",
  "login.wrong": "Wrong password.",
  "login.tooMany": "Too many attempts. Try again later.",
  "common.cancel": "Cancel",
  "common.newer": "Newer",
  "common.older": "Older",
  "common.first": "Newest",
  "common.na": "n/a",
  "control.pause.button": "Pause",
  "control.pause.question": "Pause the bot?",
  "control.pause.effect": "No new entries. Exits (stop loss, target, trailing stop) keep working.",
  "control.pause.confirm": "Yes, pause",
  "control.resume.button": "Resume",
  "control.resume.question": "Resume trading?",
  "control.resume.effect": "The safety checks run first (stored state, orders, balances); " +
    "entries start again only if they pass.",
  "control.resume.confirm": "Yes, resume",
  "control.stop.button": "Emergency stop",
  "control.stop.question": "Emergency stop?",
  "control.stop.effect": "Cancels the bot's open orders and halts ALL trading, exits included, " +
    "until you resume. Positions are kept (not sold).",
  "control.stop.confirm": "Yes, stop now",
  "sell.title": "Open positions",
  "sell.button": "Sell {market}",
  "sell.question": "Sell all of {market}?",
  "sell.effect": "Cancels the bot's open orders on {market} and sells the whole position at the " +
    "market price now. Other markets are not touched.",
  "sell.holding": "Held: {volume} at an average of {price} KRW.",
  "sell.flat": "The bot holds nothing on {market}.",
  "sell.confirm": "Yes, sell {market}",
  "trades.title": "Trades",
  "trades.csv": "Download CSV",
  "trades.empty": "No trades yet.",
  "trades.buy": "Buy",
  "trades.sell": "Sell",
  "trades.price": "Price",
  "trades.volume": "Volume",
  "trades.funds": "Amount",
  "trades.fee": "Fee",
  "trades.badCursor": "{field}: not a page of this list; start from the newest",
  "reports.title": "Daily reports",
  "reports.empty": "No reports yet.",
  "reports.dayNote": "A day runs 00:00 to 24:00 UTC (09:00 to 09:00 in Seoul).",
  "reports.account": "Account",
  "reports.back": "All reports",
  "reports.notFound": "No report for {date}.",
  "reports.today": "today so far",
  "reports.issued": "issued {at}",
  "reports.complete": "Complete day",
  "reports.inProgress": "Day in progress",
  "reports.realized": "Realized P&L",
  "reports.unrealized": "Unrealized P&L (day's end)",
  "reports.fees": "Fees",
  "reports.slippage": "Slippage",
  "reports.fills": "Fills",
  "reports.buys": "{n} buys",
  "reports.exits": "Exits",
  "reports.drawdown": "Max drawdown",
  "reports.lossBudget": "Daily loss budget used at the day's low",
  "reports.reconciled": "Matches the ledger",
  "reports.yes": "yes",
  "reports.no": "no",
  "reports.health": "Data health and uptime",
  "reports.uptime": "Uptime",
  "reports.starts": "{n} starts",
  "reports.reconnects": "Reconnects",
  "reports.stale": "Stale data",
  "reports.watchdog": "Watchdog alerts",
  "reports.errors": "Errors",
  "reports.missing": "Minutes without a candle",
  "reports.backtest": "Backtest over the day's candles",
  "reports.noCandles": "No candle of the day was recorded.",
  "reports.bot": "Bot realized P&L",
  "reports.backtestPnl": "Backtest realized P&L",
  "reports.diff": "Difference",
  "reports.matched": "Fills matched",
  "reports.candles": "Candles recorded",
  "exit.signal": "signal",
  "exit.stop_loss": "stop loss",
  "exit.take_profit": "take profit",
  "exit.trailing_stop": "trailing stop",
  "exit.manual": "manual",
  "exit.other": "other",
  "settings.title": "Settings",
  "settings.strategy": "Strategy: {name} · version {version}",
  "settings.value": "In force",
  "settings.startup": "At start-up",
  "settings.overridden": "override",
  "settings.change": "Change",
  "settings.reset": "Back to start-up",
  "settings.saved": "{name} is now {value}.",
  "settings.resetDone": "{name} is back to its start-up value.",
  "settings.history": "History of changes",
  "settings.historyEmpty": "No change yet.",
  "settings.audit": "Audit log",
  "settings.auditEmpty": "No command yet.",
  "settings.unknown": "name: no such parameter",
  "settings.rejected": "Not changed: {reason}",
  "backtests.title": "Backtest reports",
  "backtests.empty": "No backtest report yet. `deno task backtest --html report.html` writes one.",
  "backtests.size": "{kb} KB",
} as const;

/** A message's key. */
export type MessageKey = keyof typeof EN;

const KO: Readonly<Record<MessageKey, string>> = {
  "lang.name": "한국어",
  "lang.switch": "언어",
  "nav.label": "페이지",
  "nav.home": "상태",
  "nav.trades": "체결 내역",
  "nav.reports": "일일 리포트",
  "nav.settings": "설정",
  "nav.backtests": "백테스트",
  "nav.signOut": "로그아웃",
  "login.title": "로그인",
  "login.password": "비밀번호",
  "login.submit": "로그인",
  "login.wrong": "비밀번호가 틀렸습니다.",
  "login.tooMany": "시도가 너무 많습니다. 잠시 후 다시 시도하세요.",
  "common.cancel": "취소",
  "common.newer": "더 최근",
  "common.older": "이전",
  "common.first": "최신",
  "common.na": "없음",
  "control.pause.button": "일시 정지",
  "control.pause.question": "봇을 일시 정지할까요?",
  "control.pause.effect":
    "새 진입을 하지 않습니다. 청산(손절, 목표가, 트레일링 스탑)은 계속 작동합니다.",
  "control.pause.confirm": "네, 일시 정지",
  "control.resume.button": "재개",
  "control.resume.question": "거래를 재개할까요?",
  "control.resume.effect":
    "먼저 안전 점검(저장 상태, 주문, 잔고)을 실행하고, 통과한 경우에만 진입을 다시 시작합니다.",
  "control.resume.confirm": "네, 재개",
  "control.stop.button": "긴급 정지",
  "control.stop.question": "긴급 정지할까요?",
  "control.stop.effect":
    "봇의 미체결 주문을 취소하고, 재개할 때까지 청산을 포함한 모든 거래를 멈춥니다. " +
    "포지션은 유지됩니다(매도하지 않음).",
  "control.stop.confirm": "네, 지금 정지",
  "sell.title": "보유 포지션",
  "sell.button": "{market} 매도",
  "sell.question": "{market} 전량을 매도할까요?",
  "sell.effect": "{market}의 미체결 주문을 취소하고 보유 수량 전부를 지금 시장가로 매도합니다. " +
    "다른 마켓은 건드리지 않습니다.",
  "sell.holding": "보유: {volume}, 평균 단가 {price} KRW.",
  "sell.flat": "{market}에 보유한 수량이 없습니다.",
  "sell.confirm": "네, {market} 매도",
  "trades.title": "체결 내역",
  "trades.csv": "CSV 내려받기",
  "trades.empty": "아직 체결이 없습니다.",
  "trades.buy": "매수",
  "trades.sell": "매도",
  "trades.price": "가격",
  "trades.volume": "수량",
  "trades.funds": "금액",
  "trades.fee": "수수료",
  "trades.badCursor": "{field}: 이 목록의 페이지가 아닙니다. 최신부터 다시 보세요",
  "reports.title": "일일 리포트",
  "reports.empty": "아직 리포트가 없습니다.",
  "reports.dayNote": "하루는 UTC 00:00부터 24:00까지입니다 (한국 시간 09:00부터 다음 날 09:00).",
  "reports.account": "계좌",
  "reports.back": "전체 리포트",
  "reports.notFound": "{date} 리포트가 없습니다.",
  "reports.today": "오늘 (진행 중)",
  "reports.issued": "{at} 발행",
  "reports.complete": "마감된 날",
  "reports.inProgress": "진행 중인 날",
  "reports.realized": "실현 손익",
  "reports.unrealized": "미실현 손익 (마감 시점)",
  "reports.fees": "수수료",
  "reports.slippage": "슬리피지",
  "reports.fills": "체결",
  "reports.buys": "매수 {n}건",
  "reports.exits": "청산",
  "reports.drawdown": "최대 낙폭",
  "reports.lossBudget": "당일 최저점의 손실 한도 사용",
  "reports.reconciled": "원장과 일치",
  "reports.yes": "예",
  "reports.no": "아니요",
  "reports.health": "데이터 상태와 가동 시간",
  "reports.uptime": "가동 시간",
  "reports.starts": "시작 {n}회",
  "reports.reconnects": "재연결",
  "reports.stale": "오래된 데이터",
  "reports.watchdog": "워치독 경고",
  "reports.errors": "오류",
  "reports.missing": "캔들 없는 분",
  "reports.backtest": "당일 캔들로 돌린 백테스트",
  "reports.noCandles": "기록된 당일 캔들이 없습니다.",
  "reports.bot": "봇 실현 손익",
  "reports.backtestPnl": "백테스트 실현 손익",
  "reports.diff": "차이",
  "reports.matched": "일치한 체결",
  "reports.candles": "기록된 캔들",
  "exit.signal": "시그널",
  "exit.stop_loss": "손절",
  "exit.take_profit": "익절",
  "exit.trailing_stop": "트레일링 스탑",
  "exit.manual": "수동",
  "exit.other": "기타",
  "settings.title": "설정",
  "settings.strategy": "전략: {name} · 버전 {version}",
  "settings.value": "현재 값",
  "settings.startup": "시작 시 값",
  "settings.overridden": "변경됨",
  "settings.change": "변경",
  "settings.reset": "시작 값으로 되돌리기",
  "settings.saved": "{name} 값이 {value}(으)로 바뀌었습니다.",
  "settings.resetDone": "{name} 값이 시작 시 값으로 돌아갔습니다.",
  "settings.history": "변경 이력",
  "settings.historyEmpty": "아직 변경이 없습니다.",
  "settings.audit": "감사 로그",
  "settings.auditEmpty": "아직 명령이 없습니다.",
  "settings.unknown": "name: 없는 파라미터입니다",
  "settings.rejected": "변경되지 않음: {reason}",
  "backtests.title": "백테스트 리포트",
  "backtests.empty":
    "아직 백테스트 리포트가 없습니다. `deno task backtest --html report.html`로 만드세요.",
  "backtests.size": "{kb} KB",
};

const TABLES: Readonly<Record<Lang, Readonly<Record<MessageKey, string>>>> = { en: EN, ko: KO };

/** Looks a message up in one language, filling `{name}` placeholders from `vars`. */
export type Translate = (
  key: MessageKey,
  vars?: Readonly<Record<string, string | number>>,
) => string;

/**
 * The messages of `lang`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(messagesOf("ko")("sell.button", { market: "KRW-BTC" }), "KRW-BTC 매도");
 * ```
 */
export function messagesOf(lang: Lang): Translate {
  return translator(TABLES[lang]);
}

/** Looks keys up in `table`, filling each `{name}` placeholder from `vars` (kept when absent). */
export function translator<K extends string>(
  table: Readonly<Record<K, string>>,
): (key: K, vars?: Readonly<Record<string, string | number>>) => string {
  return (key, vars) =>
    table[key].replace(/\{(\w+)\}/g, (whole, name: string) => String(vars?.[name] ?? whole));
}

const PARAM_HINTS: Readonly<Record<Lang, Readonly<Record<string, string>>>> = {
  en: {
    "stop-loss": "% below the entry price that sells",
    "take-profit": "% above the entry price that sells",
    "max-daily-loss": "% of the day's starting equity lost that blocks entries (0: off)",
    "trailing-stop": "% below the highest price since entry that sells (0: off)",
    "cooldown-hours": "hours without entries after a stop loss",
    "budget": "% of the capital one entry uses",
    "stale-after": "seconds after which a price is stale (no entries)",
    "period": "candles the indicator looks back",
    "std": "band width in standard deviations",
    "oversold": "RSI at or below which it buys",
    "overbought": "RSI at or above which it sells",
    "fast": "fast average, candles",
    "slow": "slow average, candles",
    "signal": "signal line, candles",
  },
  ko: {
    "stop-loss": "진입가 대비 이 % 하락 시 매도",
    "take-profit": "진입가 대비 이 % 상승 시 매도",
    "max-daily-loss": "당일 시작 자산 대비 이 % 손실 시 진입 차단 (0: 끔)",
    "trailing-stop": "진입 후 최고가 대비 이 % 하락 시 매도 (0: 끔)",
    "cooldown-hours": "손절 후 진입하지 않는 시간",
    "budget": "한 번 진입에 쓰는 자본의 %",
    "stale-after": "가격이 오래된 것으로 보는 초 (진입 안 함)",
    "period": "지표가 보는 캔들 수",
    "std": "밴드 폭 (표준편차 배수)",
    "oversold": "이 RSI 이하에서 매수",
    "overbought": "이 RSI 이상에서 매도",
    "fast": "빠른 이동평균 (캔들 수)",
    "slow": "느린 이동평균 (캔들 수)",
    "signal": "시그널선 (캔들 수)",
  },
};

/** A run-time parameter's one-line meaning in `lang` (empty for a name without one). */
export function paramHint(lang: Lang, name: string): string {
  return Object.hasOwn(PARAM_HINTS[lang], name) ? PARAM_HINTS[lang][name]! : "";
}

/** Whether `text` names a language of the page. */
export function isLang(text: string | undefined): text is Lang {
  return text === "en" || text === "ko";
}

/**
 * The best language of an `Accept-Language` header (`ko-KR,ko;q=0.9,en;q=0.8`), or undefined
 * when it names none of ours. Only the first 256 characters are read.
 */
export function langOfAcceptLanguage(header: string | undefined): Lang | undefined {
  if (header === undefined) return undefined;
  let best: { lang: Lang; q: number } | undefined;
  for (const part of header.slice(0, 256).split(",").slice(0, 16)) {
    const [tag = "", ...params] = part.trim().split(";");
    const primary = tag.trim().toLowerCase().split("-")[0];
    if (!isLang(primary)) continue;
    let q = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*([01](?:\.\d{0,3})?)\s*$/.exec(p);
      if (m !== null) q = Number(m[1]);
    }
    if (q > 0 && (best === undefined || q > best.q)) best = { lang: primary, q };
  }
  return best?.lang;
}

/** The language of a request: the `lang` cookie, else `Accept-Language`, else English. */
export function langOf(c: Context): Lang {
  const chosen = getCookie(c, LANG_COOKIE);
  if (isLang(chosen)) return chosen;
  return langOfAcceptLanguage(c.req.header("accept-language")) ?? "en";
}

/** Sets `c.get("lang")` for the handlers (and `Vary` on what it was chosen from). */
export function languageMiddleware(): MiddlewareHandler<{ Variables: { lang: Lang } }> {
  return async (c, next) => {
    c.set("lang", langOf(c));
    await next();
    c.header("vary", "Cookie, Accept-Language", { append: true });
  };
}

/** Where the switch may send the browser back to: a path of this site, else `/`. */
export function safeNext(next: string | undefined): string {
  if (next === undefined || next.length > 512) return "/";
  return /^\/(?![/\\])[A-Za-z0-9/_.~%?=&+-]*$/.test(next) ? next : "/";
}

/** The switch's link: to `lang`, coming back to `next`. */
export function langSwitchHref(lang: Lang, next: string): string {
  return `/lang/${lang}?next=${encodeURIComponent(safeNext(next))}`;
}

/**
 * `GET /lang/<en|ko>?next=/path`: keeps the choice in the `lang` cookie (a year, SameSite=Lax,
 * `Secure` over TLS) and goes back to `next` (a path of this site only). No session needed: the
 * sign-in page has the switch too, and a language reveals nothing.
 */
export function handleLangSwitch(
  c: Context,
  options: { readonly secure: boolean },
): Response {
  const lang = c.req.param("lang");
  if (!isLang(lang)) return c.text("lang: expected en or ko", 404);
  setCookie(c, LANG_COOKIE, lang, {
    path: "/",
    maxAge: 365 * 86_400,
    sameSite: "Lax",
    httpOnly: true,
    secure: options.secure,
  });
  return c.redirect(safeNext(c.req.query("next")), 303);
}
