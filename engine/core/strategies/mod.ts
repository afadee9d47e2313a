/** The strategies the engine offers, by id. */

import { BOLLINGER } from "./bollinger.ts";
import { MACD } from "./macd.ts";
import { RSI } from "./rsi.ts";
import type { Strategy, StrategyDefinition } from "./strategy.ts";
import { splitFilters, withEntryFilters } from "./filters.ts";

export * from "./strategy.ts";
export { BOLLINGER, createBollinger } from "./bollinger.ts";
export { createRsi, RSI } from "./rsi.ts";
export { createMacd, MACD } from "./macd.ts";
export { type EntryFilters, FILTER_PARAMS, FILTERS_SCHEMA } from "./filters.ts";

/** Every strategy by its id; `bb` is the default. */
export const STRATEGIES = {
  bb: BOLLINGER,
  rsi: RSI,
  macd: MACD,
} as const;

/** A strategy id. */
export type StrategyId = keyof typeof STRATEGIES;

/** The default strategy: Bollinger Bands (20, 2.5). */
export const DEFAULT_STRATEGY: StrategyId = "bb";

/**
 * Validates `params` for strategy `id` and creates it, with the entry filters among `params`
 * (`trend-days`, `max-volatility`, `min-volume`) that are on. Throws the zod error on bad
 * parameters, which the caller turns into a message naming the field.
 */
export function createStrategy(id: StrategyId, params: Record<string, unknown>): Strategy {
  const definition = STRATEGIES[id] as StrategyDefinition<unknown>;
  const { filters, rest } = splitFilters(params);
  return withEntryFilters(definition.create(definition.params.parse(rest)), filters);
}
