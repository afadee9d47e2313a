/** Readable text of a trader's status (`deno task ctl status`, the end of a run). */

import { formatKrw, formatPrice, formatVolume, groupDigits } from "../core/format.ts";
import { parseUnits } from "../core/money.ts";
import type { TraderStatus } from "../trader.ts";

/** Options of `formatStatus`. */
export interface StatusTextOptions {
  /** The bot has stopped: say so instead of "running" (the end block of a run). */
  readonly stopped?: boolean;
}

/** A few lines per market: switches, position, cash, equity, P&L, open orders. */
export function formatStatus(
  statuses: readonly TraderStatus[],
  options: StatusTextOptions = {},
): string {
  return statuses.map((s) => {
    const at = { atMs: s.lastPriceAtMs ?? s.position?.entryMs ?? 0, market: s.market };
    const state = options.stopped === true
      ? `stopped${s.paused ? " (PAUSED)" : ""}`
      : s.paused
      ? "PAUSED"
      : "running";
    const lines = [
      `${s.market} (bot ${s.botId}): ${state}${s.safeMode ? ", SAFE MODE (no new entries)" : ""}${
        s.reason === "" ? "" : ` — ${s.reason}`
      }`,
      s.position === null
        ? "  position: flat"
        : `  position: ${formatVolume(parseUnits(s.position.volume))} @ ${
          formatPrice(parseUnits(s.position.avgPrice), at)
        } KRW` +
          (s.position.stop === null
            ? ""
            : `, stop ${formatPrice(parseUnits(s.position.stop), at)}`) +
          (s.position.target === null
            ? ""
            : `, target ${formatPrice(parseUnits(s.position.target), at)}`),
      `  cash: ${formatKrw(parseUnits(s.cash))} KRW` +
      (s.equity === null ? "" : `, equity ${formatKrw(s.equity)} KRW`) +
      (s.lastPrice === null ? "" : `, last price ${formatPrice(s.lastPrice, at)}`),
      `  today's realized P&L: ${formatKrw(parseUnits(s.dailyPnl), { signed: true })} KRW${
        s.dailyLossBlocked ? " (daily loss limit hit: entries blocked)" : ""
      }`,
    ];
    for (const i of s.openIntents) {
      lines.push(`  open order: ${i.side === "bid" ? "BUY" : "SELL"} ${i.state} ${i.identifier}`);
    }
    return lines.join("\n");
  }).join("\n");
}

/** `"1234567.891"` → `"1,234,567.89"` (at most two decimals, cut, not rounded). */
export function group(decimal: string): string {
  const [whole = "", frac] = decimal.split(".");
  return groupDigits(frac === undefined ? whole : `${whole}.${frac.slice(0, 2)}`);
}
