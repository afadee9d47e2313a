/**
 * The main page's texts in English and Korean (the languages and their choice are `i18n.ts`'s;
 * these tables are the main page's own). Every key exists in both tables (the type says so).
 */

import type { Lang } from "./i18n.ts";

const EN = {
  "health": "Health",
  "health.mode": "Mode",
  "health.link": "Market data",
  "health.link.connected": "connected",
  "health.link.stale": "no fresh price",
  "health.link.disconnected": "disconnected",
  "health.link.stopped": "bot not running",
  "health.fresh": "Last price",
  "health.tick": "Last loop tick",
  "health.error": "Last error",
  "health.noError": "none",
  "health.never": "never",
  "health.ago": "{age} ago",
  "health.stale": "{age} ago (stale)",
  "health.noPrice": "no price yet",
  "health.noSwitch": "No switch changed yet.",
  "health.demoClock":
    "Demo: times here are the sandbox's clock (today's date, running at the replay's speed); " +
    "the console prints the replayed candles' own dates.",
  "account": "Account",
  "account.equity": "Equity",
  "account.dailyPnl": "Today's P&L",
  "account.budget": "Daily loss budget used (realized today)",
  "account.noLimit": "no limit",
  "account.blocked": " · entries blocked today",
  "account.cash": "Cash",
  "account.unrealized": "Unrealized P&L",
  "charts": "Charts",
  "charts.equity": "Equity",
  "charts.candles": "{market} · candles, Bollinger bands, fills",
  "charts.loading": "Loading the chart…",
  "charts.empty": "No data yet.",
  "positions": "Positions ({count})",
  "positions.none": "No open position.",
  "positions.volume": "Volume",
  "positions.entry": "Entry",
  "positions.mark": "Mark",
  "positions.stop": "Stop",
  "positions.target": "Target",
  "positions.trailing": "Trailing",
  "positions.off": "off",
  "orders": "Open orders ({count})",
  "orders.none": "No order in flight.",
  "trades": "Recent trades (UTC)",
  "trades.none": "No trade yet.",
  "signals": "Recent signals (UTC)",
  "signals.none": "No signal yet.",
  "signals.notExecuted": "not executed",
  "side.bid": "buy",
  "side.ask": "sell",
  "controls": "Controls",
  "controls.last": "Last command: {text}",
  "state.halted": "Halted",
  "state.notRunning": "Not running",
  "state.safeMode": "Safe mode",
  "state.paused": "Paused",
  "state.running": "Running",
  "live.on": "live",
  "live.off": "reconnecting…",
  "na": "n/a",
} as const;

/** A main-page text's key. */
export type DashboardKey = keyof typeof EN;

const KO: Readonly<Record<DashboardKey, string>> = {
  "health": "상태",
  "health.mode": "모드",
  "health.link": "시세 연결",
  "health.link.connected": "연결됨",
  "health.link.stale": "최신 시세 없음",
  "health.link.disconnected": "연결 끊김",
  "health.link.stopped": "봇이 실행 중이 아님",
  "health.fresh": "마지막 시세",
  "health.tick": "마지막 루프",
  "health.error": "마지막 오류",
  "health.noError": "없음",
  "health.never": "없음",
  "health.ago": "{age} 전",
  "health.stale": "{age} 전 (오래됨)",
  "health.noPrice": "아직 시세 없음",
  "health.noSwitch": "아직 바뀐 스위치가 없습니다.",
  "health.demoClock":
    "데모: 이 페이지의 시각은 샌드박스 시계입니다 (오늘 날짜에서 재생 속도로 흐름). " +
    "콘솔은 재생 중인 캔들의 원래 날짜를 찍습니다.",
  "account": "계좌",
  "account.equity": "평가 자산",
  "account.dailyPnl": "오늘 손익",
  "account.budget": "일일 손실 한도 사용 (오늘 실현)",
  "account.noLimit": "한도 없음",
  "account.blocked": " · 오늘 진입 차단",
  "account.cash": "현금",
  "account.unrealized": "평가 손익",
  "charts": "차트",
  "charts.equity": "자산 추이",
  "charts.candles": "{market} · 캔들, 볼린저 밴드, 체결",
  "charts.loading": "차트를 불러오는 중…",
  "charts.empty": "아직 데이터가 없습니다.",
  "positions": "포지션 ({count})",
  "positions.none": "보유 포지션이 없습니다.",
  "positions.volume": "수량",
  "positions.entry": "진입가",
  "positions.mark": "현재가",
  "positions.stop": "손절가",
  "positions.target": "목표가",
  "positions.trailing": "트레일링",
  "positions.off": "꺼짐",
  "orders": "미체결 주문 ({count})",
  "orders.none": "진행 중인 주문이 없습니다.",
  "trades": "최근 체결 (UTC)",
  "trades.none": "아직 체결이 없습니다.",
  "signals": "최근 신호 (UTC)",
  "signals.none": "아직 신호가 없습니다.",
  "signals.notExecuted": "실행 안 됨",
  "side.bid": "매수",
  "side.ask": "매도",
  "controls": "제어",
  "controls.last": "마지막 명령: {text}",
  "state.halted": "정지됨",
  "state.notRunning": "실행 중 아님",
  "state.safeMode": "안전 모드",
  "state.paused": "일시정지",
  "state.running": "실행 중",
  "live.on": "실시간",
  "live.off": "다시 연결 중…",
  "na": "없음",
};

/** Looks a main-page text up, filling `{name}` placeholders from `vars`. */
export type DashboardText = (
  key: DashboardKey,
  vars?: Readonly<Record<string, string | number>>,
) => string;

/** The main page's texts in `lang`. */
export function dashboardText(lang: Lang): DashboardText {
  const table: Readonly<Record<DashboardKey, string>> = lang === "ko" ? KO : EN;
  return (key, vars) =>
    table[key].replace(/\{(\w+)\}/g, (whole, name: string) => String(vars?.[name] ?? whole));
}
