/**
 * The rows of the main page's live lists (trades, signals), formatted on the server by the
 * engine's one formatter, in the page's language: the page renders them at first and the event
 * stream sends each new one with its event, so the browser carries no number formatting.
 */

import {
  formatDateTime,
  formatKrw,
  formatPrice,
  formatVolume,
  parseUnits,
  type SignalView,
  type TradeView,
} from "../engine/mod.ts";
import type { SignalRow } from "../islands/LiveSignals.tsx";
import type { TradeRow } from "../islands/LiveTrades.tsx";
import type { DashboardText } from "./dashboard_text.ts";

/** A fill as a row of the trade list. */
export function tradeRow(
  t: Pick<TradeView, "market" | "side" | "price" | "volume" | "funds" | "tradeUuid" | "atMs">,
  text: DashboardText,
): TradeRow {
  const price = formatPrice(parseUnits(t.price), { atMs: t.atMs, market: t.market });
  return {
    id: t.tradeUuid,
    market: t.market,
    side: t.side,
    sideText: text(t.side === "bid" ? "side.bid" : "side.ask"),
    what: `${formatVolume(parseUnits(t.volume))} @ ${price}`,
    detail: `${formatKrw(parseUnits(t.funds))} KRW · ${formatDateTime(t.atMs)}`,
  };
}

/** A signal as a row of the signal list. */
export function signalRow(s: SignalView, text: DashboardText): SignalRow {
  return {
    id: s.id,
    market: s.market,
    action: s.action,
    actionText: text(s.action === "buy" ? "side.bid" : "side.ask"),
    reason: s.reason,
    when: formatDateTime(s.atMs),
    note: s.executed ? "" : text("signals.notExecuted"),
  };
}
