/**
 * Run-time parameters: the settings an operator may change while the bot runs (`ctl set`,
 * Telegram's `/set`, the settings page), and how a set of overrides applies to a trader's
 * start-up settings. Validation is the start-up config's own (`parseRuntimeParam` in
 * `engine/config.ts`); this module only maps validated numbers onto the settings.
 */

import type { RiskRules } from "./risk.ts";

/** Risk and sizing parameters, by the name `ctl set` takes (the start-up flag's name). */
export const RISK_PARAMS = [
  "stop-loss",
  "take-profit",
  "max-daily-loss",
  "trailing-stop",
  "cooldown-hours",
  "budget",
  "stale-after",
] as const;

/** Strategy parameters, by name (each strategy takes some of them). */
export const STRATEGY_PARAMS = [
  "period",
  "std",
  "oversold",
  "overbought",
  "fast",
  "slow",
  "signal",
  // Entry filters, which every strategy takes (strategies/filters.ts).
  "trend-days",
  "max-volatility",
  "min-volume",
] as const;

/** A risk or sizing parameter's name. */
export type RiskParam = typeof RISK_PARAMS[number];

/** The settings of a trader that run-time parameters change. */
export interface TunableSettings {
  readonly rules: RiskRules;
  readonly budgetPct: number;
  readonly staleAfterMs: number;
  readonly strategyParams: Readonly<Record<string, number>>;
}

/** True for a risk or sizing parameter's name. */
export function isRiskParam(name: string): name is RiskParam {
  return (RISK_PARAMS as readonly string[]).includes(name);
}

/** `base` with the overrides `values` applied (names not known here are ignored). */
export function applyParams(
  base: TunableSettings,
  values: Readonly<Record<string, number>>,
): TunableSettings {
  const rules = { ...base.rules };
  let { budgetPct, staleAfterMs } = base;
  const strategyParams: Record<string, number> = { ...base.strategyParams };
  for (const [name, value] of Object.entries(values)) {
    switch (name) {
      case "stop-loss":
        rules.stopLossPct = value;
        break;
      case "take-profit":
        rules.takeProfitPct = value;
        break;
      case "max-daily-loss":
        rules.maxDailyLossPct = value;
        break;
      case "trailing-stop":
        rules.trailingStopPct = value;
        break;
      case "cooldown-hours":
        rules.cooldownMs = Math.round(value * 3_600_000);
        break;
      case "budget":
        budgetPct = value;
        break;
      case "stale-after":
        staleAfterMs = value * 1000;
        break;
      default:
        if ((STRATEGY_PARAMS as readonly string[]).includes(name)) strategyParams[name] = value;
    }
  }
  return { rules, budgetPct, staleAfterMs, strategyParams };
}

/** The value a parameter has under `settings`, in the unit `ctl set` takes. */
export function paramValue(settings: TunableSettings, name: string): number | undefined {
  switch (name) {
    case "stop-loss":
      return settings.rules.stopLossPct;
    case "take-profit":
      return settings.rules.takeProfitPct;
    case "max-daily-loss":
      return settings.rules.maxDailyLossPct;
    case "trailing-stop":
      return settings.rules.trailingStopPct;
    case "cooldown-hours":
      return settings.rules.cooldownMs / 3_600_000;
    case "budget":
      return settings.budgetPct;
    case "stale-after":
      return settings.staleAfterMs / 1000;
    default:
      return settings.strategyParams[name];
  }
}
