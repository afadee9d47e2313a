/**
 * Entry filters any strategy can carry (a sweep can vary them; the backtest and the live loop
 * honour them through the same `decideOnClose`): a regime filter (enter only while the close is
 * above the SMA of the last N Upbit days' closes), a volatility ceiling (enter only while the
 * standard deviation of the last 20 candles' returns is under a limit) and a minimum traded amount
 * (the signal candle's volume × close in KRW). A filtered buy keeps its reason and carries why
 * it may not enter; exits are never filtered. The cooldown after a stop loss is a risk rule
 * (`cooldown-hours`).
 */

import { z } from "zod";
import { type Candle, DAY_MS } from "../candle.ts";
import { formatKrw } from "../format.ts";
import type { Holding, Signal, Strategy } from "./strategy.ts";

/** The filters' parameters (0 turns one off). */
export interface EntryFilters {
  /** Enter only above the SMA of this many Upbit days' closes (the current day's last close). */
  readonly "trend-days": number;
  /** Enter only while σ of the last 20 candles' returns is at most this, in percent. */
  readonly "max-volatility": number;
  /** Enter only when the signal candle traded at least this many KRW (volume × close). */
  readonly "min-volume": number;
}

/** The filters' parameter names, as flags and run-time parameters take them. */
export const FILTER_PARAMS = ["trend-days", "max-volatility", "min-volume"] as const;

/** zod schema of the filters (each defaults to 0 = off). */
export const FILTERS_SCHEMA: z.ZodType<EntryFilters> = z.object({
  "trend-days": z.number().int("must be a whole number").min(0, "must be >= 0")
    .max(3650, "must be <= 3650").default(0),
  "max-volatility": z.number().min(0, "must be >= 0").max(100, "must be <= 100").default(0),
  "min-volume": z.number().min(0, "must be >= 0").max(1e15, "must be <= 1e15").default(0),
});

/** Candles in the volatility window. */
const VOLATILITY_WINDOW = 20;

/**
 * Splits the filters out of a strategy's parameters: `filters` validated (throws the zod error on
 * a bad value), `rest` the strategy's own.
 */
export function splitFilters(
  params: Readonly<Record<string, unknown>>,
): { readonly filters: EntryFilters; readonly rest: Record<string, unknown> } {
  const rest: Record<string, unknown> = {};
  const own: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(params)) {
    if ((FILTER_PARAMS as readonly string[]).includes(name)) own[name] = value;
    else rest[name] = value;
  }
  return { filters: FILTERS_SCHEMA.parse(own), rest };
}

/** `strategy` with the entry filters that are on (itself when none is). */
export function withEntryFilters(strategy: Strategy, filters: EntryFilters): Strategy {
  const on = FILTER_PARAMS.some((name) => filters[name] > 0);
  return on ? new FilteredStrategy(strategy, filters) : strategy;
}

/** A strategy whose buys carry `entryBlock` while a filter refuses entries. */
class FilteredStrategy implements Strategy {
  readonly name: string;
  readonly warmup: number;
  readonly #inner: Strategy;
  readonly #filters: EntryFilters;
  /** Last close of each of the last `trend-days` Upbit days (the current one last). */
  readonly #dayCloses: number[] = [];
  #day = NaN;
  /** The last candles' returns (ring) for the volatility ceiling. */
  readonly #returns = new Float64Array(VOLATILITY_WINDOW);
  #returnCount = 0;
  #lastClose = NaN;

  constructor(inner: Strategy, filters: EntryFilters) {
    this.#inner = inner;
    this.#filters = filters;
    this.warmup = inner.warmup;
    const parts = [
      filters["trend-days"] > 0 ? `above ${filters["trend-days"]}d SMA` : "",
      filters["max-volatility"] > 0 ? `σ ≤ ${filters["max-volatility"]}%` : "",
      filters["min-volume"] > 0 ? `volume ≥ ${filters["min-volume"]} KRW` : "",
    ].filter((p) => p !== "");
    this.name = `${inner.name} [${parts.join(", ")}]`;
  }

  update(candle: Candle, holding: Holding): Signal {
    this.#track(candle);
    const signal = this.#inner.update(candle, holding);
    if (signal.action !== "buy") return signal;
    const block = this.#block(candle);
    return block === undefined ? signal : { ...signal, entryBlock: block };
  }

  #track(candle: Candle): void {
    const day = Math.floor(candle.startMs / DAY_MS);
    const days = this.#filters["trend-days"];
    if (days > 0) {
      if (day !== this.#day) {
        this.#day = day;
        this.#dayCloses.push(candle.close);
        if (this.#dayCloses.length > days) this.#dayCloses.shift();
      } else this.#dayCloses[this.#dayCloses.length - 1] = candle.close;
    }
    if (this.#lastClose === this.#lastClose) {
      this.#returns[this.#returnCount % VOLATILITY_WINDOW] = candle.close / this.#lastClose - 1;
      this.#returnCount++;
    }
    this.#lastClose = candle.close;
  }

  /** Why a buy at this candle may not enter, or undefined. */
  #block(candle: Candle): string | undefined {
    const f = this.#filters;
    if (f["trend-days"] > 0) {
      if (this.#dayCloses.length < f["trend-days"]) {
        return `trend filter: fewer than ${f["trend-days"]} days of closes`;
      }
      const sma = this.#dayCloses.reduce((a, b) => a + b, 0) / this.#dayCloses.length;
      if (!(candle.close > sma)) {
        return `trend filter: close under the ${f["trend-days"]}-day SMA ${formatKrw(sma)}`;
      }
    }
    if (f["max-volatility"] > 0) {
      if (this.#returnCount < VOLATILITY_WINDOW) return "volatility filter: warming up";
      let mean = 0;
      for (const r of this.#returns) mean += r / VOLATILITY_WINDOW;
      let sq = 0;
      for (const r of this.#returns) sq += (r - mean) ** 2;
      const sigmaPct = Math.sqrt(sq / (VOLATILITY_WINDOW - 1)) * 100;
      if (sigmaPct > f["max-volatility"]) {
        return `volatility filter: σ ${sigmaPct.toFixed(2)}% > ${f["max-volatility"]}%`;
      }
    }
    if (f["min-volume"] > 0) {
      const traded = candle.volume * candle.close;
      if (traded < f["min-volume"]) {
        return `volume filter: traded ${formatKrw(traded)} KRW < ${formatKrw(f["min-volume"])} KRW`;
      }
    }
    return undefined;
  }
}
