/**
 * Candles: the one market-data shape the whole engine runs on.
 *
 * Prices and volumes are plain numbers here (indicators and strategies may use floats); amounts
 * that reach an order or the ledger are converted to exact fixed-point units by `money.ts`.
 */

/** One OHLCV candle. `startMs` is the UTC start of the bucket in epoch ms. */
export interface Candle {
  readonly startMs: number;
  readonly open: number;
  readonly high: number;
  readonly low: number;
  readonly close: number;
  /** Traded amount in the base coin (Upbit's `candle_acc_trade_volume`). */
  readonly volume: number;
  /** Traded amount in KRW (Upbit's `candle_acc_trade_price`); NaN where the source lacks it. */
  readonly value: number;
}

/** Timeframes the engine understands, named as on the command line. */
export type Timeframe = "1m" | "3m" | "5m" | "10m" | "15m" | "30m" | "1h" | "4h" | "1d";

/** Length of each timeframe in ms. */
export const TIMEFRAME_MS: Readonly<Record<Timeframe, number>> = {
  "1m": 60_000,
  "3m": 180_000,
  "5m": 300_000,
  "10m": 600_000,
  "15m": 900_000,
  "30m": 1_800_000,
  "1h": 3_600_000,
  "4h": 14_400_000,
  "1d": 86_400_000,
};

/** One day in ms. An Upbit day starts at 00:00 UTC (09:00 KST). */
export const DAY_MS = 86_400_000;

/** Start (UTC ms) of the Upbit day that contains `tMs`. */
export function upbitDayStartMs(tMs: number): number {
  return Math.floor(tMs / DAY_MS) * DAY_MS;
}

/** Returns `true` when `s` names a known timeframe. */
export function isTimeframe(s: string): s is Timeframe {
  return Object.hasOwn(TIMEFRAME_MS, s);
}
