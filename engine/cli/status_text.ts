/** Readable text of the operator's read models (`deno task ctl`, the end of a run). */

import {
  formatDate,
  formatDateTime,
  formatKrw,
  formatPrice,
  formatVolume,
  groupDigits,
} from "../core/format.ts";
import { parseUnits } from "../core/money.ts";
import type { BotStatus, ParamsView } from "../mod.ts";
import type { CommandRecord } from "../ports.ts";

/** Options of `formatStatus`. */
export interface StatusTextOptions {
  /** The bot has stopped: say so instead of "running" (the end block of a run). */
  readonly stopped?: boolean;
}

/**
 * A few lines per market (switches, position, cash and equity, or with several markets under
 * one cap the position's value, P&L, open orders), then the account (the sums of the markets).
 */
export function formatStatus(s: BotStatus, options: StatusTextOptions = {}): string {
  const stopped = options.stopped === true || !s.running;
  const safe = s.safeMode ? ", SAFE MODE (no new entries)" : "";
  // The reason explains a switch that is set; with none set it is history ("resumed").
  const why = (s.halted || s.paused || s.safeMode) && s.reason !== "" ? ` — ${s.reason}` : "";
  const state = stopped
    ? `stopped (${
      s.endedAtMs === null
        ? `the run started ${minuteOf(s.startedAtMs)} did not stop cleanly`
        : `last run ended ${minuteOf(s.endedAtMs)}`
    }); trading switch: ${
      s.halted ? "halted (emergency stop)" : s.paused ? "paused" : "on"
    }${safe}${why}`
    : `${s.halted ? "STOPPED (emergency stop)" : s.paused ? "PAUSED" : "running"}${safe}${why}`;
  // Several markets under one cap: each ledger sees the whole cap, so its cash is no market's
  // own; the account's cash is shown once, each market its position's value.
  const shared = s.markets.length > 1 && s.account.capitalKrw !== null;
  const blocks = s.markets.map((m) => {
    const at = { atMs: m.lastPriceAtMs ?? m.position?.entryMs ?? 0, market: m.market };
    const p = m.position;
    const price = (m.lastPrice === null ? "" : `, last price ${formatPrice(m.lastPrice, at)}`) +
      // A stopped bot's price is as old as its last run: say when.
      (m.lastPrice === null || !stopped || m.lastPriceAtMs === null
        ? ""
        : ` (at ${minuteOf(m.lastPriceAtMs)})`);
    const lines = [
      `${m.market} (bot ${m.botId}): ${state}`,
      p === null
        ? "  position: flat"
        : `  position: ${formatVolume(parseUnits(p.volume))} @ ${
          formatPrice(parseUnits(p.avgPrice), at)
        } KRW` +
          (p.stop === null ? "" : `, stop ${formatPrice(parseUnits(p.stop), at)}`) +
          (p.target === null ? "" : `, target ${formatPrice(parseUnits(p.target), at)}`) +
          (m.unrealizedPnl === null
            ? ""
            : `, unrealized ${formatKrw(m.unrealizedPnl, { signed: true })} KRW`),
      shared
        ? `  position value: ${
          m.equity === null ? "unknown" : `${formatKrw(m.equity - Number(m.cash))} KRW`
        }` + price
        : `  cash: ${formatKrw(parseUnits(m.cash))} KRW` +
          (m.equity === null ? "" : `, equity ${formatKrw(m.equity)} KRW`) + price,
      `  today's realized P&L: ${formatKrw(parseUnits(m.dailyPnl), { signed: true })} KRW${
        m.dailyLossBlocked ? " (daily loss limit hit: entries blocked)" : ""
      }; since start ${formatKrw(parseUnits(m.realizedPnl), { signed: true })} KRW` +
      (m.pnl === null ? "" : `; P&L ${formatKrw(m.pnl, { signed: true })} KRW`),
    ];
    for (const i of m.openIntents) {
      lines.push(`  open order: ${i.side === "bid" ? "BUY" : "SELL"} ${i.state} ${i.identifier}`);
    }
    return lines.join("\n");
  });
  const a = s.account;
  blocks.push(
    `account (${s.markets.length} market${s.markets.length === 1 ? "" : "s"}): cash ${
      formatKrw(parseUnits(a.cash))
    } KRW, in positions ${formatKrw(parseUnits(a.positionsCost))} KRW, committed ${
      formatKrw(parseUnits(a.committedKrw))
    }${a.capitalKrw === null ? "" : ` of the ${formatKrw(parseUnits(a.capitalKrw))}`} KRW` +
      (a.equity === null ? "" : `, equity ${formatKrw(a.equity)} KRW`) +
      `\n  today's (${formatDate(s.dayStartMs)}) realized P&L: ${
        formatKrw(parseUnits(a.dailyPnl), { signed: true })
      } KRW${
        a.dailyLossBlocked ? " (account daily loss limit hit: entries blocked)" : ""
      }; since start ${formatKrw(parseUnits(a.realizedPnl), { signed: true })} KRW; fees ${
        formatKrw(parseUnits(a.fees))
      } KRW` +
      (a.pnl === null ? "" : `
  P&L (realized + unrealized, all markets): ${formatKrw(a.pnl, { signed: true })} KRW`),
  );
  return blocks.join("\n");
}

/** `"2022-06-02 15:46 UTC"`. */
function minuteOf(ms: number): string {
  return `${formatDateTime(ms).slice(0, 16)} UTC`;
}

/** `ctl params`: the values in force (marking overrides), then the history. */
export function formatParams(p: ParamsView): string {
  const lines = [`run-time parameters (version ${p.version}, strategy ${p.strategy}):`];
  for (const v of p.params) {
    lines.push(
      `  ${v.name.padEnd(15)} ${String(v.value ?? "-").padStart(8)}${
        v.overridden ? `  (set at run time; start-up value ${v.startup ?? "-"})` : ""
      }`,
    );
  }
  lines.push(p.history.length === 0 ? "history: no changes" : "history:");
  for (const h of p.history) {
    lines.push(
      `  v${h.version} ${formatDateTime(h.atMs)} ${h.actor}: ${h.name} ${
        h.from ?? "(start-up)"
      } -> ${h.to ?? "(start-up)"}`,
    );
  }
  return lines.join("\n");
}

/** `ctl audit`: one line per command, newest first. */
export function formatAudit(records: readonly CommandRecord[]): string {
  if (records.length === 0) return "audit log: no commands";
  return records.map((r) =>
    `${formatDateTime(r.atMs)} ${r.actor}: ${r.command} -> ${r.result}: ${r.detail}`
  ).join("\n");
}

/** `"1234567.891"` → `"1,234,567.89"` (at most two decimals, cut, not rounded). */
export function group(decimal: string): string {
  const [whole = "", frac] = decimal.split(".");
  return groupDigits(frac === undefined ? whole : `${whole}.${frac.slice(0, 2)}`);
}
