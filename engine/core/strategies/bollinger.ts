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

/** The middle band and σ of every candle of one candle array, for one period. */
export interface BandSeries {
  readonly candles: readonly Candle[];
  /** NaN while warming up. */
  readonly middle: Float64Array;
  readonly sigma: Float64Array;
}

/** Computes the band series of `candles` for `period` (the streaming bands, candle by candle). */
export function bandSeries(candles: readonly Candle[], period: number): BandSeries {
  const middle = new Float64Array(candles.length);
  const sigma = new Float64Array(candles.length);
  fillBands(candles, { bands: new BollingerBands(period, 1), middle, sigma });
  return { candles, middle, sigma };
}

/**
 * The loop of `bandSeries`, on its own: V8 compiles it while it runs, and code compiled there
 * would be thrown away on reaching the object built after the loop, once per period of a sweep.
 */
function fillBands(
  candles: readonly Candle[],
  out: { bands: BollingerBands; middle: Float64Array; sigma: Float64Array },
): void {
  const { bands, middle, sigma } = out;
  for (let i = 0; i < candles.length; i++) {
    bands.update(candles[i]!.close);
    middle[i] = bands.middle;
    sigma[i] = bands.sigma;
  }
}

/**
 * The BB strategy over precomputed band series (a sweep shares one series among every set with
 * the same period): the same signals, reasons and levels as `createBollinger`, as long as it is
 * fed exactly `series.candles` in order (anything else throws). With `texts: false` the same
 * signals carry fixed reasons without the prices (a sweep reads only figures).
 */
export function createBollingerOnSeries(
  params: BollingerParams,
  series: BandSeries,
  options: { readonly texts?: boolean } = {},
): Strategy {
  return new SeriesBollingerStrategy(params, series, options.texts ?? true);
}

class SeriesBollingerStrategy implements Strategy {
  readonly name: string;
  readonly warmup: number;
  readonly #std: number;
  readonly #series: BandSeries;
  /** The fixed buy and sell signals without prices, or null to print the levels. */
  readonly #fixed: { readonly buy: Signal; readonly sell: Signal } | null;
  #next = 0;

  constructor(params: BollingerParams, series: BandSeries, texts: boolean) {
    this.#std = params.std;
    this.#series = series;
    this.name = `bb(${params.period}, ${params.std})`;
    this.warmup = params.period;
    this.#fixed = texts ? null : {
      buy: Object.freeze({ action: "buy", reason: `close < lower band (${this.name})` }),
      sell: Object.freeze({ action: "sell", reason: `close > upper band (${this.name})` }),
    };
  }

  update(candle: Candle, holding: Holding): Signal {
    const series = this.#series;
    const i = this.#next++;
    if (series.candles[i] !== candle) {
      throw new RangeError(`Cannot update ${this.name}: candle ${i} is not the series' candle`);
    }
    const middle = series.middle[i]!;
    if (!(middle === middle)) return WARMING_UP;
    // The streaming bands' own arithmetic: middle ± stdDev × σ.
    const width = this.#std * series.sigma[i]!;
    const lower = middle - width;
    const upper = middle + width;
    // Most candles hold: decided on plain numbers, so a sweep's hot loop allocates nothing.
    const close = candle.close;
    if (holding === "flat" ? !(close < lower) : !(close > upper)) return HOLD;
    const fixed = this.#fixed;
    if (fixed !== null) return holding === "flat" ? fixed.buy : fixed.sell;
    return bandSignal(candle, { holding, lower, upper, name: this.name });
  }
}

/** `BollingerStrategy.update`'s signal for given bands (same texts, kept in step with it). */
function bandSignal(
  candle: Candle,
  options: { holding: Holding; lower: number; upper: number; name: string },
): Signal {
  const { holding, lower, upper, name } = options;
  // Levels print on the tick grid of the candle's date (no float noise in a reason).
  const at = { atMs: candle.startMs };
  if (holding === "flat" && candle.close < lower) {
    return {
      action: "buy",
      reason: `close ${formatPrice(candle.close, at)} < lower band ${
        formatPrice(lower, at)
      } (${name})`,
    };
  }
  if (holding === "long" && candle.close > upper) {
    return {
      action: "sell",
      reason: `close ${formatPrice(candle.close, at)} > upper band ${
        formatPrice(upper, at)
      } (${name})`,
    };
  }
  return HOLD;
}
