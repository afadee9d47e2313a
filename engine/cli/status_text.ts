/** Readable text of a trader's status (`deno task ctl status`, the end of a run). */

import type { TraderStatus } from "../trader.ts";

/** A few lines per market: switches, position, cash, equity, P&L, open orders. */
export function formatStatus(statuses: readonly TraderStatus[]): string {
  return statuses.map((s) => {
    const lines = [
      `${s.market} (bot ${s.botId}): ${s.paused ? "PAUSED" : "running"}${
        s.safeMode ? ", SAFE MODE (no new entries)" : ""
      }${s.reason === "" ? "" : ` — ${s.reason}`}`,
      s.position === null
        ? "  position: flat"
        : `  position: ${s.position.volume} @ ${group(s.position.avgPrice)} KRW` +
          (s.position.stop === null ? "" : `, stop ${group(s.position.stop)}`) +
          (s.position.target === null ? "" : `, target ${group(s.position.target)}`),
      `  cash: ${group(s.cash)} KRW` +
      (s.equity === null ? "" : `, equity ${group(s.equity.toFixed(0))} KRW`) +
      (s.lastPrice === null ? "" : `, last price ${group(String(s.lastPrice))}`),
      `  today's realized P&L: ${group(s.dailyPnl)} KRW${
        s.dailyLossBlocked ? " (daily loss limit hit: entries blocked)" : ""
      }`,
    ];
    for (const i of s.openIntents) {
      lines.push(`  open order: ${i.side === "bid" ? "BUY" : "SELL"} ${i.state} ${i.identifier}`);
    }
    return lines.join("\n");
  }).join("\n");
}

/** `"1234567.891"` → `"1,234,567.89"`. */
export function group(decimal: string): string {
  const negative = decimal.startsWith("-");
  const [whole = "", frac] = (negative ? decimal.slice(1) : decimal).split(".");
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return (negative ? "-" : "") + (frac === undefined ? grouped : `${grouped}.${frac.slice(0, 2)}`);
}
