/** The benches' small figures: percentiles of sorted timings and rounding for the JSON. */

/** The nearest-rank `p`-th percentile (0..100) of ascending `sorted` (NaN when empty). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, i)]!;
}

/**
 * The value at rank `floor(n × q)` of ascending `sorted` (`q` in 0..1): at or one rank above
 * the nearest-rank percentile (the web benches' measure).
 */
export function upperQuantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!;
}

/** `x` to three decimals (milliseconds to the microsecond). */
export function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
