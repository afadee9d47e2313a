/**
 * Streaming technical indicators: O(1) work per update, TA-Lib definitions, plus batch helpers
 * that run the same classes over arrays (`NaN` during warm-up).
 */

export { Sma, smaBatch } from "./sma.ts";
export { Ema, emaBatch } from "./ema.ts";
export { Rsi, rsiBatch } from "./rsi.ts";
export { Macd, macdBatch, type MacdOptions, type MacdSeries } from "./macd.ts";
export {
  BollingerBands,
  bollingerBandsBatch,
  type BollingerOptions,
  type BollingerSeries,
} from "./bollinger.ts";
export {
  Stochastic,
  stochasticBatch,
  type StochasticOptions,
  type StochasticSeries,
} from "./stochastic.ts";
export { Atr, atrBatch, type HlcSeries } from "./atr.ts";
