/**
 * The words of the daily report on Telegram (`/report`), in English and Korean (`messages.ts`
 * carries them as `report`). Numbers and dates come formatted by the caller.
 */

import type { DiffReason } from "../mod.ts";

/** The exit kinds as the report counts them. */
type ExitKindName = "signal" | "stop_loss" | "take_profit" | "trailing_stop" | "manual" | "other";

/** The report's words of one language. */
export interface ReportWords {
  readonly usage: string;
  readonly title: (date: string) => string;
  readonly soFar: string;
  readonly realized: string;
  readonly unrealized: string;
  readonly fees: string;
  readonly slippage: string;
  readonly fills: (n: number) => string;
  readonly exits: string;
  readonly exitKind: Readonly<Record<ExitKindName, string>>;
  readonly none: string;
  readonly drawdown: string;
  readonly lossBudget: string;
  readonly off: string;
  readonly data: (
    f: { reconnects: number; stale: number; watchdog: number; limited: number; missing: number },
  ) => string;
  readonly uptime: string;
  readonly backtest: string;
  readonly notRun: string;
  readonly matched: (n: number) => string;
  readonly diff: string;
  readonly why: (reason: DiffReason, krw: (text: string) => string) => string;
  readonly reconciled: string;
  readonly notReconciled: string;
}

/** English. */
export const REPORT_EN: ReportWords = {
  usage: "Usage: /report [YYYY-MM-DD] (default: the last complete day, else the latest active one)",
  title: (date) => `Daily report ${date} (09:00 KST to 09:00 KST)`,
  soFar: "so far",
  realized: "Realized",
  unrealized: "unrealized",
  fees: "Fees",
  slippage: "slippage",
  fills: (n) => `${n} fill${n === 1 ? "" : "s"}`,
  exits: "exits",
  exitKind: {
    signal: "signal",
    stop_loss: "stop loss",
    take_profit: "take profit",
    trailing_stop: "trailing stop",
    manual: "manual",
    other: "other",
  },
  none: "none",
  drawdown: "Max drawdown",
  lossBudget: "loss limit used at the day's low",
  off: "off",
  data: (f) =>
    `Data: ${f.reconnects} reconnects, ${f.stale} stale, ${f.watchdog} watchdog alerts, ${f.limited} 429s, ${f.missing} min without candles`,
  uptime: "Uptime",
  backtest: "Backtest",
  notRun: "not run (no candles recorded)",
  matched: (n) => `${n} fills matched`,
  diff: "bot - backtest",
  why: (r, krw) => {
    switch (r.kind) {
      case "fill_prices":
        return `fill prices ${krw(r.krw)}`;
      case "bot_only":
        return `${r.count} fills by the bot only`;
      case "backtest_only":
        return `${r.count} fills by the backtest only`;
      case "held_at_start":
        return `held ${r.volume} at the start`;
      case "downtime":
        return `down ${r.minutes} min`;
      case "no_candles":
        return "no candles recorded";
    }
  },
  reconciled: "Ledger: reconciled to the won",
  notReconciled: "Ledger: NOT reconciled",
};

/** Korean. */
export const REPORT_KO: ReportWords = {
  usage:
    "사용법: /report [YYYY-MM-DD] (기본: 마지막으로 끝난 날, 활동이 없었으면 가장 최근 활동일)",
  title: (date) => `${date} 일일 보고서 (09:00 KST ~ 다음날 09:00 KST)`,
  soFar: "진행 중",
  realized: "실현 손익",
  unrealized: "미실현",
  fees: "수수료",
  slippage: "슬리피지",
  fills: (n) => `체결 ${n}건`,
  exits: "청산",
  exitKind: {
    signal: "신호",
    stop_loss: "손절",
    take_profit: "익절",
    trailing_stop: "추적 손절",
    manual: "수동",
    other: "기타",
  },
  none: "없음",
  drawdown: "최대 낙폭",
  lossBudget: "당일 최저점의 손실 한도 사용",
  off: "꺼짐",
  data: (f) =>
    `데이터: 재연결 ${f.reconnects}회, 지연 ${f.stale}회, 감시 경보 ${f.watchdog}회, 429 ${f.limited}회, 캔들 없는 분 ${f.missing}`,
  uptime: "가동률",
  backtest: "백테스트",
  notRun: "실행 안 됨 (기록된 캔들 없음)",
  matched: (n) => `체결 ${n}건 일치`,
  diff: "봇 - 백테스트",
  why: (r, krw) => {
    switch (r.kind) {
      case "fill_prices":
        return `체결 가격 ${krw(r.krw)}`;
      case "bot_only":
        return `봇만의 체결 ${r.count}건`;
      case "backtest_only":
        return `백테스트만의 체결 ${r.count}건`;
      case "held_at_start":
        return `시작 시 보유 ${r.volume}`;
      case "downtime":
        return `중단 ${r.minutes}분`;
      case "no_candles":
        return "기록된 캔들 없음";
    }
  },
  reconciled: "원장: 원 단위까지 일치",
  notReconciled: "원장: 불일치",
};
