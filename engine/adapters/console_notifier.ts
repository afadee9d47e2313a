/**
 * `ConsoleNotifier`: the `Notifier` that writes engine events as log lines (one per event, with
 * the event's fields), so a terminal shows a readable story and journald keeps JSON. Telegram
 * and the web page will subscribe to the same events later.
 */

import type { Logger, LogLevel } from "../log.ts";
import type { EngineEvent, Notifier } from "../ports.ts";

/** Writes each engine event as one log line. */
export class ConsoleNotifier implements Notifier {
  readonly #logger: Logger;
  readonly #listeners: Array<(event: EngineEvent) => void> = [];

  /** Logs through `logger`. */
  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** Also calls `listener` for every event (the demo's P&L line); errors in it are swallowed. */
  subscribe(listener: (event: EngineEvent) => void): void {
    this.#listeners.push(listener);
  }

  /** Logs the event; never throws. */
  notify(event: EngineEvent): void {
    try {
      const [level, message] = describeEvent(event);
      const { type, atMs, ...fields } = event;
      this.#logger[level](message, { event: type, at: new Date(atMs).toISOString(), ...fields });
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

/** The level and the one-line human text of an event. */
export function describeEvent(event: EngineEvent): readonly [LogLevel, string] {
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
        `filled ${sideWord(event.side)} ${event.volume} ${coin(event.market)} @ ${
          krw(event.price)
        } KRW (${krw(event.funds)} KRW, fee ${krw(event.fee)})`,
      ];
    case "OrderRejected":
      return ["warn", `order ${event.market} rejected: ${event.name}: ${event.message}`];
    case "RiskTriggered":
      return ["warn", `risk ${event.rule} ${event.market} at ${krw(event.price)} KRW`];
    case "ErrorRaised":
      return ["error", `error ${event.code}: ${event.message}`];
    case "StateChanged":
      return [
        event.paused || event.safeMode ? "warn" : "info",
        `state: ${event.paused ? "PAUSED" : "running"}${
          event.safeMode ? ", safe mode (no new entries)" : ""
        }: ${event.reason}`,
      ];
    case "ReconciliationFailed":
      return ["error", `reconciliation failed: ${event.reason} (safe mode)`];
  }
}

function sideWord(side: "bid" | "ask"): string {
  return side === "bid" ? "BUY" : "SELL";
}

function coin(market: string): string {
  return market.split("-")[1] ?? market;
}

/** `"50000000.5"` → `"50,000,000.5"`. */
function krw(decimal: string): string {
  const [whole = "", frac] = decimal.split(".");
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return frac === undefined ? grouped : `${grouped}.${frac.slice(0, 2)}`;
}
