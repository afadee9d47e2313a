/**
 * Bollinger Bands mean reversion, the validated default: BB(20, 2.5).
 * Buy when flat and a candle closes below the lower band; sell when long and a candle closes
 * above the upper band.
 */

import { z } from "zod";
import type { Candle } from "../candle.ts";
import { BollingerBands } from "../indicators/bollinger.ts";
import { formatPrice } from "../format.ts";
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

/** Parameters of the Bollinger Bands strategy. */
export interface BollingerParams {
  readonly period: number;
  readonly std: number;
}

const PARAMS = z.object({
  period: wholeParam(2, 1000).default(20),
  std: numberParam(0, 10, true).default(2.5),
});

/** The Bollinger Bands strategy definition (`bb`). */
export const BOLLINGER: StrategyDefinition<BollingerParams> = {
  id: "bb",
  summary: "buy a close below the lower band, sell a close above the upper band",
  params: PARAMS,
  create: createBollinger,
};

/** Creates a running BB strategy. */
export function createBollinger(params: BollingerParams): Strategy {
  return new BollingerStrategy(params);
}

/** A class, so every instance shares one `update` and the backtest loop stays optimised. */
class BollingerStrategy implements Strategy {
  readonly name: string;
  readonly warmup: number;
  readonly #bands: BollingerBands;

  constructor(params: BollingerParams) {
    this.#bands = new BollingerBands(params.period, params.std);
    this.name = `bb(${params.period}, ${params.std})`;
    this.warmup = params.period;
  }

  update(candle: Candle, holding: Holding): Signal {
    const bands = this.#bands;
    if (!bands.update(candle.close)) return WARMING_UP;
    // Levels print on the tick grid of the candle's date (no float noise in a reason).
    const at = { atMs: candle.startMs };
    if (holding === "flat" && candle.close < bands.lower) {
      return {
        action: "buy",
        reason: `close ${formatPrice(candle.close, at)} < lower band ${
          formatPrice(bands.lower, at)
        } (${this.name})`,
      };
    }
    if (holding === "long" && candle.close > bands.upper) {
      return {
        action: "sell",
        reason: `close ${formatPrice(candle.close, at)} > upper band ${
          formatPrice(bands.upper, at)
        } (${this.name})`,
      };
    }
    return HOLD;
  }
}
