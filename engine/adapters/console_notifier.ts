/**
 * `ConsoleNotifier`: the `Notifier` that writes engine events as log lines (one per event, with
 * the event's fields), so a terminal shows a readable story and journald keeps JSON. Telegram
 * and the web page will subscribe to the same events later.
 */

import { formatIsoUtc } from "../core/time.ts";
import { formatKrw, formatPct, formatPrice, formatVolume } from "../core/format.ts";
import { parseUnits } from "../core/money.ts";
import type { Logger, LogLevel } from "../log.ts";
import { type EngineEvent, intentIdOf, type Notifier } from "../ports.ts";

/** Options of `ConsoleNotifier`. */
export interface ConsoleNotifierOptions {
  /**
   * The time to show for an engine time (default: itself). The demo shows the replayed
   * market's real date, not the sandbox clock's.
   */
  readonly displayMs?: (atMs: number) => number;
}

/** Writes each engine event as one log line. */
export class ConsoleNotifier implements Notifier {
  readonly #logger: Logger;
  readonly #displayMs: (atMs: number) => number;
  readonly #listeners: Array<(event: EngineEvent) => void> = [];

  /** Logs through `logger`. */
  constructor(logger: Logger, options: ConsoleNotifierOptions = {}) {
    this.#logger = logger;
    this.#displayMs = options.displayMs ?? ((atMs) => atMs);
  }

  /** Also calls `listener` for every event (the demo's P&L line); errors in it are swallowed. */
  subscribe(listener: (event: EngineEvent) => void): void {
    this.#listeners.push(listener);
  }

  /** Logs the event; never throws. */
  notify(event: EngineEvent): void {
    try {
      const shownMs = this.#displayMs(event.atMs);
      const [level, message] = describeEvent(event, shownMs);
      const { type, atMs: _atMs, ...fields } = event;
      const intent = correlationOf(event);
      this.#logger[level](message, {
        event: type,
        at: formatIsoUtc(shownMs),
        ...(intent === undefined ? {} : { intent }),
        ...fields,
      });
    } catch {
      // notify() never throws (STYLE.md): a broken line must not stop the engine.
    }
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // Same rule for listeners.
      }
    }
  }
}

/**
 * The order intent an event is about (its log lines' correlation id, `market:side:signal`): a
 * signal's decision (or a stop's), its order's placement, rejection and fills; undefined for
 * other events.
 */
export function correlationOf(event: EngineEvent): string | undefined {
  switch (event.type) {
    case "SignalRaised":
    case "SignalFailed":
      return intentIdOf(event.market, event.action === "buy" ? "bid" : "ask", event.signalId);
    case "OrderSubmitted":
    case "OrderRejected":
    case "OrderFilled":
    case "RiskTriggered":
      return event.intentId;
    default:
      return undefined;
  }
}

/**
 * The level and the one-line human text of an event; prices on the tick grid of `shownMs` (the
 * date the event is shown at, default its own), KRW in whole won.
 */
export function describeEvent(
  event: EngineEvent,
  shownMs: number = event.atMs,
): readonly [LogLevel, string] {
  switch (event.type) {
    case "SignalRaised":
      return ["info", `signal ${event.action.toUpperCase()} ${event.market}: ${event.reason}`];
    case "SignalFailed":
      return [
        "warn",
        `signal ${event.action.toUpperCase()} ${event.market} failed: ${event.reason}`,
      ];
    case "OrderSubmitted":
      return ["info", `order ${sideWord(event.side)} ${event.market} submitted`];
    case "OrderFilled":
      return [
        "info",
        `filled ${sideWord(event.side)} ${formatVolume(parseUnits(event.volume))} ${
          coin(event.market)
        } @ ${price(event.price, event.market, shownMs)} KRW (${krw(event.funds)} KRW, fee ${
          formatKrw(parseUnits(event.fee), { decimals: 2 })
        } KRW)`,
      ];
    case "OrderRejected":
      return ["warn", `order ${event.market} rejected: ${event.name}: ${event.message}`];
    case "RiskTriggered":
      if (event.rule === "account_daily_loss_limit") return ["warn", accountLossLine(event)];
      return [
        "warn",
        `risk ${event.rule.replaceAll("_", " ")} ${event.market} at ${
          price(event.price, event.market, shownMs)
        } KRW`,
      ];
    case "ErrorRaised":
      return ["error", `error ${event.code}: ${event.message}`];
    case "StateChanged":
      return [
        event.paused || event.safeMode ? "warn" : "info",
        // With no switch set the reason says it all ("trader started: KRW-BTC 5m ...").
        event.halted !== true && !event.paused && !event.safeMode
          ? event.reason
          : `state: ${event.halted === true ? "STOPPED" : event.paused ? "PAUSED" : "running"}${
            event.safeMode ? ", safe mode (no new entries)" : ""
          }: ${event.reason}`,
      ];
    case "RunStarted":
      return ["info", `run started: ${event.mode} ${event.markets.join(", ")}`];
    case "RunStopped":
      return ["info", `run stopped: ${event.mode}`];
    case "ReconciliationFailed":
      return ["error", `reconciliation failed: ${event.reason} (safe mode)`];
    case "DailyReport":
      return [
        "info",
        `daily report ${event.date}${event.late ? " (late)" : ""}: realized ${
          formatKrw(parseUnits(event.realizedPnl), { signed: true })
        } KRW, unrealized ${
          formatKrw(parseUnits(event.unrealizedPnl), { signed: true })
        } KRW, fees ${krw(event.fees)} KRW, ${event.fills} fills, uptime ${
          formatPct(event.uptimePct, { signed: false })
        }${
          event.backtestPnl === null
            ? ""
            : `, backtest ${formatKrw(parseUnits(event.backtestPnl), { signed: true })} KRW`
        }`,
      ];
    case "WatchdogAlert": {
      const what = event.check === "loop" ? "trading loop" : "market data";
      return event.stale
        ? [
          "error",
          `watchdog: ${what} of ${event.market} stale: ${
            Math.round(event.ageMs / 1000)
          } s old (limit ${Math.round(event.limitMs / 1000)} s)`,
        ]
        : ["info", `watchdog: ${what} of ${event.market} recovered`];
    }
    case "CommandExecuted":
      return [
        event.result === "done" ? "info" : "warn",
        `operator ${event.actor}: ${event.command}: ${event.result}: ${event.detail}`,
      ];
  }
}

function sideWord(side: "bid" | "ask"): string {
  return side === "bid" ? "BUY" : "SELL";
}

function coin(market: string): string {
  return market.split("-")[1] ?? market;
}

/** `"50000000.5"` → `"50,000,001"` (whole won). */
function krw(decimal: string): string {
  return formatKrw(parseUnits(decimal));
}

function price(decimal: string, market: string, atMs: number): string {
  return formatPrice(parseUnits(decimal), { atMs, market });
}

/** The account's daily loss line: its equity against the day's start, not a market's price. */
function accountLossLine(event: Extract<EngineEvent, { type: "RiskTriggered" }>): string {
  const equity = parseUnits(event.price);
  const head = `account daily loss limit reached: equity ${formatKrw(equity)} KRW`;
  const tail = "no new entries on any market today";
  if (event.dayStartEquity === undefined) return `${head}; ${tail}`;
  const start = parseUnits(event.dayStartEquity);
  const lostPct = start > 0n ? (Number(start - equity) / Number(start)) * 100 : 0;
  return `${head} is ${formatPct(lostPct, { signed: false, decimals: 1 })} below the day's start ${
    formatKrw(start)
  } KRW; ${tail}`;
}
