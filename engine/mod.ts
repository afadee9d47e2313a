/**
 * The engine as the surfaces see it (ctl now; Telegram and the status page later): the operator
 * (commands and read models) and the event stream. Surfaces import this module only (STYLE.md).
 */

export {
  ACTOR,
  BadReportDateError,
  createOperator,
  EventStream,
  EXIT_KINDS,
  NoRunRecordError,
  OPERATOR_COMMAND,
  recordRun,
  recordRunEnd,
  startDailyWorker,
  statusJson,
  STOPPING_REASON,
} from "./operator/mod.ts";
export type {
  AccountStatus,
  BacktestComparison,
  BotStatus,
  BotStatusJson,
  ChartView,
  CommandOutcome,
  CurvePoint,
  DailyReport,
  DailyWorker,
  DailyWorkerConfig,
  DayPnl,
  DiffReason,
  EquityPoint,
  HealthView,
  LinkState,
  MarketDay,
  MarketStatus,
  Operator,
  OperatorCommand,
  OperatorDeps,
  OrderView,
  ParamsView,
  ParamView,
  ReportListItem,
  SignalView,
  StopReport,
  TradesPage,
  TradeView,
} from "./operator/mod.ts";

// The status page (routes/): its ports, the neutral errors, secrets and the one formatter.
export type { Clock, LoginAttemptStore, SessionStore, WebSession } from "./ports.ts";
// Telegram's notification outbox: the journal's events and the outbox's cursor.
export type { EngineEvent, EngineEventType, JournalEntry, OutboxCursorStore } from "./ports.ts";
export { ConfigError, errorLine } from "./errors.ts";
export { Secret } from "./secret.ts";
export { DEFAULT_GUARD_LIMITS, type GuardLimits, serveGuarded } from "./http_guard.ts";
export type { Logger } from "./log.ts";
export { escapeLabel, type MetricsSource, PromText } from "./telemetry.ts";
export { parseUnits } from "./core/money.ts";
export { err, ok, type Result } from "./core/result.ts";
export { REPORTS_DIR } from "./report/report_path.ts";
export {
  compareRun,
  type CompareStore,
  NothingToCompareError,
  type RunComparison,
} from "./operator/run_comparison.ts";
export {
  dayStartOfDate,
  DEFAULT_REPORT_TIME,
  formatReportTime,
  parseReportTime,
  type ReportTime,
} from "./core/daily.ts";
export {
  formatDateTime,
  formatKrw,
  formatNumber,
  formatPct,
  formatPrice,
  formatVolume,
} from "./core/format.ts";
