/**
 * The demo's running account of its trades, told from the fill events: each closed round trip
 * with its P&L in KRW and %, a running trade count and win rate, and a short summary (trades,
 * P&L, fees, and buy-and-hold over the same replayed prices) printed every few minutes and at
 * the end. Every amount goes through the one formatter (`core/format.ts`).
 */

import { formatDateTime, formatKrw, formatPct, formatPrice, formatVolume } from "../core/format.ts";
import { applyBps, mulUnits, parseUnits, type Units, unitsToNumber } from "../core/money.ts";
import type { EngineEvent } from "../ports.ts";

/** What the story reads besides the events. */
export interface DemoStoryOptions {
  /** The markets traded. */
  readonly markets: readonly string[];
  /** Starting cash, KRW. */
  readonly capital: Units;
  /** Fee per side in basis points (for buy-and-hold on equal terms). */
  readonly feeBps: number;
  /** The last replayed price of a market (undefined before its first trade). */
  readonly lastPrice: (market: string) => Units | undefined;
  /** The replayed market's time now (UTC ms): what the log shows (it jumps back on a wrap). */
  readonly nowMs: () => number;
  /** The replay's own clock, which never jumps back (durations); default `nowMs`. */
  readonly replayMs?: () => number;
}

interface OpenTrade {
  qty: Units;
  cost: Units;
  proceeds: Units;
  openedReplayMs: number;
}

interface MarketBook {
  readonly firstPrice: Units | undefined;
  open: OpenTrade | undefined;
}

/** The demo's trades and P&L, from its events. */
export class DemoStory {
  readonly #options: DemoStoryOptions;
  readonly #books = new Map<string, MarketBook>();
  readonly #startMs: number;
  readonly #startReplayMs: number;
  readonly #replayMs: () => number;
  #trades = 0;
  #wins = 0;
  #realized: Units = 0n;
  #fees: Units = 0n;
  #spent: Units = 0n;
  #received: Units = 0n;

  /** Starts the story now: buy-and-hold is measured from the current prices. */
  constructor(options: DemoStoryOptions) {
    this.#options = options;
    this.#startMs = options.nowMs();
    this.#replayMs = options.replayMs ?? options.nowMs;
    this.#startReplayMs = this.#replayMs();
    for (const m of options.markets) {
      this.#books.set(m, { firstPrice: options.lastPrice(m), open: undefined });
    }
  }

  /** Closed round trips so far. */
  get trades(): number {
    return this.#trades;
  }

  /** Takes one engine event; returns the line to log when it closed a trade. */
  onEvent(event: EngineEvent): string | undefined {
    if (event.type !== "OrderFilled") return undefined;
    const book = this.#books.get(event.market);
    if (book === undefined) return undefined;
    const volume = parseUnits(event.volume);
    const funds = parseUnits(event.funds);
    const fee = parseUnits(event.fee);
    this.#fees += fee;
    if (event.side === "bid") {
      this.#spent += funds + fee;
      book.open ??= { qty: 0n, cost: 0n, proceeds: 0n, openedReplayMs: this.#replayMs() };
      book.open.qty += volume;
      book.open.cost += funds + fee;
      return undefined;
    }
    this.#received += funds - fee;
    const open = book.open;
    if (open === undefined) return undefined;
    open.qty -= volume;
    open.proceeds += funds - fee;
    if (open.qty > 0n) return undefined;
    book.open = undefined;
    const pnl = open.proceeds - open.cost;
    this.#trades++;
    if (pnl > 0n) this.#wins++;
    this.#realized += pnl;
    const held = this.#replayMs() - open.openedReplayMs;
    return `trade #${this.#trades} closed ${event.market}: ${krw(pnl, true)} KRW (${
      formatPct(ratioPct(pnl, open.cost))
    }) after ${duration(held)} · ${this.#record()} · realized P&L ${krw(this.#realized, true)} KRW`;
  }

  /** The summary lines: trades, P&L, fees, buy-and-hold over the same replay, open positions. */
  summary(title: string): string[] {
    const nowMs = this.#options.nowMs();
    const capital = this.#options.capital;
    let positions = 0n;
    const opens: string[] = [];
    const holds: string[] = [];
    for (const [market, book] of this.#books) {
      const price = this.#options.lastPrice(market);
      if (book.open !== undefined && price !== undefined) {
        positions += mulUnits(book.open.qty, price, "half_up");
        opens.push(
          `${formatVolume(book.open.qty)} ${coin(market)} (cost ${krw(book.open.cost)} KRW, now ${
            krw(mulUnits(book.open.qty, price, "half_up"))
          } KRW)`,
        );
      }
      if (book.firstPrice !== undefined && price !== undefined) {
        holds.push(
          `${market} ${formatPct(this.#holdPct(book.firstPrice, price))} (${
            formatPrice(book.firstPrice, { atMs: this.#startMs, market })
          } → ${formatPrice(price, { atMs: nowMs, market })})`,
        );
      }
    }
    const equity = capital - this.#spent + this.#received + positions;
    const pnl = equity - capital;
    return [
      `${title}: replayed ${formatDateTime(this.#startMs).slice(0, 16)} → ${
        formatDateTime(nowMs).slice(0, 16)
      } UTC (${duration(this.#replayMs() - this.#startReplayMs)} replayed)`,
      `  ${this.#record()}; P&L ${krw(pnl, true)} KRW (${
        formatPct(ratioPct(pnl, capital))
      }): realized ${krw(this.#realized, true)}, open ${
        krw(equity - capital - this.#realized, true)
      }; fees ${krw(this.#fees)} KRW`,
      `  buy & hold over the same replay, same fees: ${holds.join(", ") || "no price yet"}`,
      `  position: ${opens.join(", ") || "flat"}`,
    ];
  }

  #record(): string {
    const losses = this.#trades - this.#wins;
    const rate = this.#trades === 0
      ? ""
      : `, win rate ${formatPct(100 * this.#wins / this.#trades, { decimals: 0, signed: false })}`;
    return `${this.#trades} trade${
      this.#trades === 1 ? "" : "s"
    } (${this.#wins} won, ${losses} lost${rate})`;
  }

  /** All-in at the first price and out at `price`, paying the fee on both sides. */
  #holdPct(first: Units, price: Units): number {
    const bps = this.#options.feeBps;
    const capital = this.#options.capital;
    const spend = capital - applyBps(capital, bps, "ceil");
    const value = unitsToNumber(spend) / unitsToNumber(first) * unitsToNumber(price);
    return (value * (1 - bps / 10_000) / unitsToNumber(capital) - 1) * 100;
  }
}

function krw(units: Units, signed = false): string {
  return formatKrw(units, { signed });
}

function ratioPct(part: Units, whole: Units): number {
  return whole === 0n ? 0 : unitsToNumber(part) / unitsToNumber(whole) * 100;
}

function coin(market: string): string {
  return market.split("-")[1] ?? market;
}

/** `2h 05m`, `45m`, `3d 4h`. */
export function duration(ms: number): string {
  const minutes = Math.max(0, Math.round(ms / 60_000));
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor(minutes / 60) % 24;
  const mins = minutes % 60;
  if (days > 0) return `${days}d ${hours}h`;
  if (hours > 0) return `${hours}h ${String(mins).padStart(2, "0")}m`;
  return `${mins}m`;
}
