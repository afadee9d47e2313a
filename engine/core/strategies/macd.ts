/**
 * MACD crossover: buy when the MACD line crosses above its signal line, sell when it crosses
 * below. "Crosses above" means MACD ≤ signal on the previous candle and MACD > signal now.
 */

import { z } from "zod";
import { formatNumber } from "../format.ts";
import type { Candle } from "../candle.ts";
import { Macd } from "../indicators/macd.ts";
import {
  HOLD,
  type Holding,
  type Signal,
  type Strategy,
  type StrategyDefinition,
  WARMING_UP,
  wholeParam,
} from "./strategy.ts";

/** Parameters of the MACD strategy. */
export interface MacdParams {
  readonly fast: number;
  readonly slow: number;
  readonly signal: number;
}

const PARAMS = z.object({
  fast: wholeParam(1, 1000).default(12),
  slow: wholeParam(2, 1000).default(26),
  signal: wholeParam(1, 1000).default(9),
}).refine((p) => p.fast < p.slow, { message: "fast must be below slow", path: ["fast"] });

/** The MACD strategy definition (`macd`). */
export const MACD: StrategyDefinition<MacdParams> = {
  id: "macd",
  summary: "buy when MACD crosses above its signal line, sell when it crosses below",
  params: PARAMS,
  create: createMacd,
};

/** Creates a running MACD strategy. */
export function createMacd(params: MacdParams): Strategy {
  return new MacdStrategy(params);
}

/** A class, so every instance shares one `update` and the backtest loop stays optimised. */
class MacdStrategy implements Strategy {
  readonly name: string;
  readonly warmup: number;
  readonly #macd: Macd;
  #previousGap = Number.NaN;

  constructor(params: MacdParams) {
    this.#macd = new Macd(params.fast, params.slow, params.signal);
    this.name = `macd(${params.fast}, ${params.slow}, ${params.signal})`;
    this.warmup = params.slow + params.signal;
  }

  update(candle: Candle, holding: Holding): Signal {
    const macd = this.#macd;
    const ready = macd.update(candle.close);
    const before = this.#previousGap;
    const gap = ready ? macd.macd - macd.signal : Number.NaN;
    this.#previousGap = gap;
    if (Number.isNaN(gap) || Number.isNaN(before)) return WARMING_UP;
    if (holding === "flat" && before <= 0 && gap > 0) {
      return {
        action: "buy",
        reason: `MACD ${formatNumber(macd.macd)} crossed above signal ${
          formatNumber(macd.signal)
        } (${this.name})`,
      };
    }
    if (holding === "long" && before >= 0 && gap < 0) {
      return {
        action: "sell",
        reason: `MACD ${formatNumber(macd.macd)} crossed below signal ${
          formatNumber(macd.signal)
        } (${this.name})`,
      };
    }
    return HOLD;
  }
}
