/**
 * The engine as the surfaces see it (ctl now; Telegram and the status page later): the operator
 * (commands and read models) and the event stream. Surfaces import this module only (STYLE.md).
 */

export {
  ACTOR,
  createOperator,
  EventStream,
  NoRunRecordError,
  OPERATOR_COMMAND,
  recordRun,
} from "./operator/mod.ts";
export type {
  AccountStatus,
  BotStatus,
  CommandOutcome,
  DayPnl,
  EquityPoint,
  MarketStatus,
  Operator,
  OperatorCommand,
  OperatorDeps,
  OrderView,
  ParamsView,
  ParamView,
  StopReport,
  TradeView,
} from "./operator/mod.ts";
