/**
 * Every fixed text the Telegram bot sends, in English and Korean (chosen by config). Numbers,
 * amounts and dates inside them come from the one formatter (`engine/core/format.ts`).
 */

import { REPORT_EN, REPORT_KO, type ReportWords } from "./report_messages.ts";

/** The reply language. */
export type Language = "en" | "ko";

/** The texts of one language. */
export interface Messages {
  readonly help: string;
  readonly helpViewer: string;
  /** The daily report (`/report`). */
  readonly report: ReportWords;
  readonly unknown: string;
  readonly readOnly: string;
  readonly usageTrades: string;
  readonly usageDaily: string;
  readonly usageSet: string;
  readonly usageSell: string;
  readonly usageLogs: string;
  readonly noLogs: string;
  readonly notTraded: (market: string, traded: readonly string[]) => string;
  readonly nothingToSell: (market: string) => string;
  readonly noRunRecord: string;
  readonly failed: (detail: string) => string;
  readonly outcome: Readonly<Record<"done" | "refused" | "failed", string>>;
  readonly confirmStop: (seconds: number) => string;
  readonly confirmSellAll: (seconds: number) => string;
  /** `held`: the volume, market, entry, price and P&L, as one phrase. */
  readonly confirmSell: (held: string, seconds: number) => string;
  readonly confirmButton: string;
  readonly cancelButton: string;
  readonly cancelled: string;
  readonly expired: string;
  readonly confirmed: (what: string) => string;
  readonly actionName: Readonly<Record<"stop" | "sell_all", string>>;
  readonly sellName: (market: string) => string;
  readonly pausedFromTelegram: string;
  readonly labels: Labels;
}

/** Words of the read-model texts. */
export interface Labels {
  readonly status: string;
  readonly running: string;
  readonly storeOnly: string;
  readonly trading: string;
  readonly on: string;
  readonly paused: string;
  readonly halted: string;
  readonly safeMode: string;
  readonly since: string;
  readonly flat: string;
  readonly entry: string;
  readonly now: string;
  readonly pnl: string;
  readonly stop: string;
  readonly target: string;
  readonly trailing: string;
  readonly dataAge: (seconds: number) => string;
  readonly noPrice: string;
  readonly account: string;
  readonly equity: string;
  readonly cash: string;
  readonly positionsCost: string;
  readonly committed: string;
  readonly capital: string;
  readonly today: string;
  readonly balance: string;
  readonly positions: string;
  readonly noPositions: string;
  readonly trades: string;
  readonly noTrades: string;
  readonly buy: string;
  readonly sell: string;
  readonly fee: string;
  readonly profit: string;
  readonly realized: string;
  readonly unrealized: string;
  readonly total: string;
  readonly fees: string;
  readonly daily: string;
  readonly settings: string;
  readonly strategy: string;
  readonly version: string;
  readonly startup: string;
  readonly health: string;
  readonly process: string;
  readonly ordersInFlight: string;
  readonly dailyLoss: string;
  readonly blocked: string;
  readonly ok: string;
  readonly cancelledOrders: string;
  readonly sold: string;
  readonly errors: string;
  readonly lastError: string;
  readonly none: string;
  readonly marketData: string;
  readonly link: Readonly<Record<"connected" | "stale" | "disconnected" | "stopped", string>>;
  readonly loopTick: string;
  readonly ago: (seconds: number) => string;
  readonly never: string;
  readonly up: string;
  readonly lastStart: string;
  readonly logs: (n: number) => string;
  readonly noLogLines: string;
}

const EN: Messages = {
  help: [
    "Commands",
    "/status - mode, switches, markets and positions",
    "/balance - cash, positions at cost, equity",
    "/positions - open positions and their exit levels",
    "/trades [n] - the last n fills (10)",
    "/profit - realized and unrealized P&L, fees",
    "/daily [n] - realized P&L of the last n days (7)",
    "/report [date] - the daily report (default: the last complete day, else the latest active one)",
    "/settings - run-time parameters",
    "/health - process, data freshness, orders in flight, errors",
    "/logs [n] - the last n log lines (20)",
    "/pause [reason] - no new entries (exits go on)",
    "/resume - trade again after the safety checks",
    "/set <param> <value> - change a run-time parameter",
    "/sell <market> - sell one market's position (asks to confirm)",
    "/sell all - stop and sell every position (asks to confirm)",
    "/stop - emergency stop (asks to confirm)",
  ].join("\n"),
  helpViewer: [
    "Commands (read-only)",
    "/status, /balance, /positions, /trades [n], /profit, /daily [n], /report [date], /settings, /health",
  ].join("\n"),
  report: REPORT_EN,
  unknown: "Unknown command. Send /help for the list.",
  readOnly: "Read-only access: this command is for the owner.",
  usageTrades: "Usage: /trades [n], n a whole number from 1 to 50",
  usageDaily: "Usage: /daily [n], n a whole number from 1 to 30",
  usageSet: "Usage: /set <param> <value> (see /settings)",
  usageSell: "Usage: /sell <market> (e.g. /sell KRW-BTC or /sell btc) or /sell all",
  usageLogs: "Usage: /logs [n], n a whole number from 1 to 100",
  noLogs: "This process keeps no log lines for /logs.",
  notTraded: (market, traded) => `${market} is not traded by this bot (${traded.join(", ")}).`,
  nothingToSell: (market) => `${market}: no position to sell.`,
  noRunRecord: "The bot has not started on this store yet.",
  failed: (detail) => `Failed: ${detail}`,
  outcome: { done: "Done", refused: "Refused", failed: "Failed" },
  confirmStop: (s) =>
    `Emergency stop: cancel every open order and halt all trading?\nTap Confirm within ${s} s.`,
  confirmSellAll: (s) =>
    `Stop trading and sell EVERY position at market?\nTap Confirm within ${s} s.`,
  confirmSell: (held, s) => `Sell ${held} at market? Trading goes on.\nTap Confirm within ${s} s.`,
  confirmButton: "Confirm",
  cancelButton: "Cancel",
  cancelled: "Cancelled: nothing was done.",
  expired: "This confirmation has expired or was already used.",
  confirmed: (what) => `Confirmed: ${what}`,
  actionName: { stop: "emergency stop", sell_all: "stop and sell every position" },
  sellName: (market) => `sell ${market}`,
  pausedFromTelegram: "paused from Telegram",
  labels: {
    status: "Status",
    running: "running",
    storeOnly: "stopped (store only)",
    trading: "Trading",
    on: "on",
    paused: "paused",
    halted: "HALTED (emergency stop)",
    safeMode: "safe mode",
    since: "since",
    flat: "flat",
    entry: "entry",
    now: "now",
    pnl: "P&L",
    stop: "stop",
    target: "target",
    trailing: "trailing",
    dataAge: (s) => `price ${s} s old`,
    noPrice: "no price yet",
    account: "Account",
    equity: "equity",
    cash: "cash",
    positionsCost: "positions at cost",
    committed: "committed",
    capital: "capital cap",
    today: "today",
    balance: "Balance",
    positions: "Positions",
    noPositions: "No open positions.",
    trades: "Last trades",
    noTrades: "No trades yet.",
    buy: "buy",
    sell: "sell",
    fee: "fee",
    profit: "Profit",
    realized: "realized",
    unrealized: "unrealized",
    total: "total",
    fees: "fees",
    daily: "Daily realized P&L (UTC days)",
    settings: "Settings",
    strategy: "strategy",
    version: "version",
    startup: "start-up",
    health: "Health",
    process: "process",
    ordersInFlight: "orders in flight",
    dailyLoss: "daily loss limit",
    blocked: "BLOCKED",
    ok: "ok",
    cancelledOrders: "cancelled orders",
    sold: "sold",
    errors: "errors",
    lastError: "Last error",
    none: "none",
    marketData: "market data",
    link: {
      connected: "connected",
      stale: "STALE",
      disconnected: "DISCONNECTED",
      stopped: "no bot running",
    },
    loopTick: "loop's last tick",
    ago: (s) => `${s} s ago`,
    never: "never",
    up: "up",
    lastStart: "last start",
    logs: (n) => `Last ${n} log line${n === 1 ? "" : "s"} (UTC)`,
    noLogLines: "No log lines yet.",
  },
};

const KO: Messages = {
  help: [
    "명령어",
    "/status - 모드, 상태, 마켓과 포지션",
    "/balance - 현금, 포지션 원가, 평가금액",
    "/positions - 보유 포지션과 청산 가격",
    "/trades [n] - 최근 체결 n건 (10)",
    "/profit - 실현·미실현 손익, 수수료",
    "/daily [n] - 최근 n일 실현 손익 (7)",
    "/report [날짜] - 일일 보고서 (기본: 마지막으로 끝난 날, 활동이 없었으면 가장 최근 활동일)",
    "/settings - 실행 중 파라미터",
    "/health - 프로세스, 시세 신선도, 진행 중 주문, 오류",
    "/logs [n] - 최근 로그 n줄 (20)",
    "/pause [사유] - 신규 진입 중지 (청산은 계속)",
    "/resume - 안전 점검 후 거래 재개",
    "/set <파라미터> <값> - 실행 중 파라미터 변경",
    "/sell <마켓> - 한 마켓의 포지션 매도 (확인 필요)",
    "/sell all - 정지 후 전 포지션 매도 (확인 필요)",
    "/stop - 긴급 정지 (확인 필요)",
  ].join("\n"),
  helpViewer: [
    "명령어 (읽기 전용)",
    "/status, /balance, /positions, /trades [n], /profit, /daily [n], /report [date], /settings, /health",
  ].join("\n"),
  report: REPORT_KO,
  unknown: "알 수 없는 명령어입니다. /help 로 목록을 보세요.",
  readOnly: "읽기 전용 권한입니다: 이 명령은 소유자만 쓸 수 있습니다.",
  usageTrades: "사용법: /trades [n], n은 1에서 50 사이의 정수",
  usageDaily: "사용법: /daily [n], n은 1에서 30 사이의 정수",
  usageSet: "사용법: /set <파라미터> <값> (/settings 참고)",
  usageSell: "사용법: /sell <마켓> (예: /sell KRW-BTC 또는 /sell btc) 또는 /sell all",
  usageLogs: "사용법: /logs [n], n은 1에서 100 사이의 정수",
  noLogs: "이 프로세스는 /logs 용 로그를 보관하지 않습니다.",
  notTraded: (market, traded) =>
    `${market} 은(는) 이 봇이 거래하지 않습니다 (${traded.join(", ")}).`,
  nothingToSell: (market) => `${market}: 매도할 포지션이 없습니다.`,
  noRunRecord: "이 저장소에서 봇이 아직 시작된 적이 없습니다.",
  failed: (detail) => `실패: ${detail}`,
  outcome: { done: "완료", refused: "거부됨", failed: "실패" },
  confirmStop: (s) =>
    `긴급 정지: 모든 미체결 주문을 취소하고 거래를 멈출까요?\n${s}초 안에 확인을 누르세요.`,
  confirmSellAll: (s) =>
    `거래를 멈추고 모든 포지션을 시장가로 매도할까요?\n${s}초 안에 확인을 누르세요.`,
  confirmSell: (held, s) =>
    `${held} 을(를) 시장가로 매도할까요? 거래는 계속됩니다.\n${s}초 안에 확인을 누르세요.`,
  confirmButton: "확인",
  cancelButton: "취소",
  cancelled: "취소됨: 아무것도 실행하지 않았습니다.",
  expired: "이 확인은 만료되었거나 이미 사용되었습니다.",
  confirmed: (what) => `확인됨: ${what}`,
  actionName: { stop: "긴급 정지", sell_all: "정지 후 전 포지션 매도" },
  sellName: (market) => `${market} 매도`,
  pausedFromTelegram: "텔레그램에서 일시정지",
  labels: {
    status: "상태",
    running: "실행 중",
    storeOnly: "정지됨 (저장소만)",
    trading: "거래",
    on: "켜짐",
    paused: "일시정지",
    halted: "긴급 정지됨",
    safeMode: "안전 모드",
    since: "시각",
    flat: "포지션 없음",
    entry: "진입",
    now: "현재",
    pnl: "손익",
    stop: "손절",
    target: "익절",
    trailing: "추적 손절",
    dataAge: (s) => `시세 ${s}초 전`,
    noPrice: "시세 없음",
    account: "계좌",
    equity: "평가금액",
    cash: "현금",
    positionsCost: "포지션 원가",
    committed: "사용 중",
    capital: "자본 한도",
    today: "오늘",
    balance: "잔고",
    positions: "포지션",
    noPositions: "보유 포지션이 없습니다.",
    trades: "최근 체결",
    noTrades: "아직 체결이 없습니다.",
    buy: "매수",
    sell: "매도",
    fee: "수수료",
    profit: "수익",
    realized: "실현",
    unrealized: "미실현",
    total: "합계",
    fees: "수수료",
    daily: "일별 실현 손익 (UTC 기준)",
    settings: "설정",
    strategy: "전략",
    version: "버전",
    startup: "시작값",
    health: "상태 점검",
    process: "프로세스",
    ordersInFlight: "진행 중 주문",
    dailyLoss: "일일 손실 한도",
    blocked: "차단됨",
    ok: "정상",
    cancelledOrders: "취소된 주문",
    sold: "매도",
    errors: "오류",
    lastError: "최근 오류",
    none: "없음",
    marketData: "시세 연결",
    link: {
      connected: "연결됨",
      stale: "지연됨",
      disconnected: "끊김",
      stopped: "봇 정지",
    },
    loopTick: "루프 마지막 실행",
    ago: (s) => `${s}초 전`,
    never: "없음",
    up: "가동",
    lastStart: "마지막 시작",
    logs: (n) => `최근 로그 ${n}줄 (UTC)`,
    noLogLines: "아직 로그가 없습니다.",
  },
};

/** The texts of `language`. */
export function messagesOf(language: Language): Messages {
  return language === "ko" ? KO : EN;
}
