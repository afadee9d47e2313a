/**
 * RSI reversal: buy when RSI (Wilder) crosses up through the oversold level, sell when it crosses
 * down through the overbought level. "Crosses up through 30" means the previous RSI was below 30
 * and this one is at or above 30.
 */

import { z } from "zod";
import { formatNumber } from "../format.ts";
import type { Candle } from "../candle.ts";
import { Rsi } from "../indicators/rsi.ts";
import {
  HOLD,
  type Holding,
  numberParam,
  type Signal,
  type Strategy,
  type StrategyDefinition,
  WARMING_UP,
  wholeParam,
} from "./strategy.ts";

/** Parameters of the RSI strategy. */
export interface RsiParams {
  readonly period: number;
  readonly oversold: number;
  readonly overbought: number;
}

const PARAMS = z.object({
  period: wholeParam(2, 1000).default(14),
  oversold: numberParam(0, 100).default(30),
  overbought: numberParam(0, 100).default(70),
}).refine((p) => p.oversold < p.overbought, {
  message: "oversold must be below overbought",
  path: ["oversold"],
});

/** The RSI strategy definition (`rsi`). */
export const RSI: StrategyDefinition<RsiParams> = {
  id: "rsi",
  summary: "buy when RSI crosses up through oversold, sell when it crosses down through overbought",
  params: PARAMS,
  create: createRsi,
};

/** Creates a running RSI strategy. */
export function createRsi(params: RsiParams): Strategy {
  return new RsiStrategy(params);
}

/** A class, so every instance shares one `update` and the backtest loop stays optimised. */
class RsiStrategy implements Strategy {
  readonly name: string;
  readonly warmup: number;
  readonly #params: RsiParams;
  readonly #rsi: Rsi;
  #previous = Number.NaN;

  constructor(params: RsiParams) {
    this.#params = params;
    this.#rsi = new Rsi(params.period);
    this.name = `rsi(${params.period}, ${params.oversold}, ${params.overbought})`;
    // The first RSI comes with candle period + 1; a crossing needs one more.
    this.warmup = params.period + 2;
  }

  update(candle: Candle, holding: Holding): Signal {
    const { oversold, overbought } = this.#params;
    const before = this.#previous;
    const now = this.#rsi.update(candle.close);
    this.#previous = now;
    if (Number.isNaN(now) || Number.isNaN(before)) return WARMING_UP;
    if (holding === "flat" && before < oversold && now >= oversold) {
      return {
        action: "buy",
        reason: `RSI crossed up through ${oversold}: ${formatNumber(before)} → ${
          formatNumber(now)
        } (${this.name})`,
      };
    }
    if (holding === "long" && before > overbought && now <= overbought) {
      return {
        action: "sell",
        reason: `RSI crossed down through ${overbought}: ${formatNumber(before)} → ${
          formatNumber(now)
        } (${this.name})`,
      };
    }
    return HOLD;
  }
}
