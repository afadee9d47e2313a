/**
 * How much of a sweep's best result is luck: the deflated Sharpe ratio (Bailey & López de Prado,
 * "The Deflated Sharpe Ratio", 2014) and the probability of backtest overfitting by
 * combinatorially symmetric cross-validation (Bailey, Borwein, López de Prado & Zhu, "The
 * Probability of Backtest Overfitting", 2015), with the normal distribution they rest on.
 * Sharpe ratios here are per period (not annualised), as in both papers' formulas.
 */

/** The Euler–Mascheroni constant. */
const EULER_GAMMA = 0.5772156649015329;

/** The standard normal CDF Φ(x) (absolute error below 1e-7). */
export function normalCdf(x: number): number {
  return 0.5 * erfc(-x / Math.SQRT2);
}

/** The standard normal quantile Φ⁻¹(p) for 0 < p < 1 (Acklam, refined by one Halley step). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) {
    throw new RangeError(
      `Cannot take the normal quantile: p must be in (0, 1): current value is ${p}`,
    );
  }
  const a = [
    -39.69683028665376,
    220.9460984245205,
    -275.9285104469687,
    138.357751867269,
    -30.66479806614716,
    2.506628277459239,
  ];
  const b = [
    -54.47609879822406,
    161.5858368580409,
    -155.6989798598866,
    66.80131188771972,
    -13.28068155288572,
  ];
  const c = [
    -0.007784894002430293,
    -0.3223964580411365,
    -2.400758277161838,
    -2.549732539343734,
    4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  let x: number;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    x = (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) /
      ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  } else if (p <= 1 - low) {
    const q = p - 0.5;
    const r = q * q;
    x = (((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q /
      (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
  } else {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    x = -(((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) /
      ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  }
  // One Halley step on Φ: the quantile is then as exact as Φ itself.
  const e = normalCdf(x) - p;
  const u = e * Math.sqrt(2 * Math.PI) * Math.exp((x * x) / 2);
  return x - u / (1 + (x * u) / 2);
}

/** erfc(x): Numerical Recipes' `erfcc` Chebyshev fit, fractional error below 1.2e-7. */
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r = t * Math.exp(
    -z * z - 1.26551223 +
      t * (1.00002368 +
          t * (0.37409196 +
              t * (0.09678418 +
                  t * (-0.18628806 +
                      t * (0.27886807 +
                          t *
                            (-1.13520398 +
                              t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
  );
  return x >= 0 ? r : 2 - r;
}

/** Mean, standard deviation (n − 1), skewness and (non-excess) kurtosis of a sample. */
export function moments(values: ArrayLike<number>): {
  readonly mean: number;
  readonly std: number;
  readonly skew: number;
  readonly kurtosis: number;
} {
  const n = values.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += values[i]!;
  const mean = sum / n;
  let m2 = 0;
  let m3 = 0;
  let m4 = 0;
  for (let i = 0; i < n; i++) {
    const d = values[i]! - mean;
    m2 += d * d;
    m3 += d * d * d;
    m4 += d * d * d * d;
  }
  const pop = m2 / n;
  return {
    mean,
    std: n > 1 ? Math.sqrt(m2 / (n - 1)) : 0,
    skew: pop > 0 ? m3 / n / pop ** 1.5 : 0,
    kurtosis: pop > 0 ? m4 / n / (pop * pop) : 3,
  };
}

/** The per-period Sharpe ratio mean ÷ std of `returns` (0 when they do not vary). */
export function sharpeRatio(returns: ArrayLike<number>): number {
  const { mean, std } = moments(returns);
  return std > 0 ? mean / std : 0;
}

/**
 * The expected maximum Sharpe ratio of `trials` independent unskilled trials whose Sharpe
 * ratios vary with `variance` (the paper's SR₀, its eq. for E[max SRₙ]).
 */
export function expectedMaxSharpe(
  options: { readonly trials: number; readonly variance: number },
): number {
  const { trials, variance } = options;
  if (trials < 2) return 0;
  return Math.sqrt(variance) *
    ((1 - EULER_GAMMA) * normalQuantile(1 - 1 / trials) +
      EULER_GAMMA * normalQuantile(1 - 1 / (trials * Math.E)));
}

/**
 * The probabilistic Sharpe ratio: the probability that the true Sharpe ratio exceeds
 * `benchmark`, given an estimate `sharpe` from `observations` returns with that skewness and
 * (non-excess) kurtosis.
 */
export function probabilisticSharpe(options: {
  readonly sharpe: number;
  readonly benchmark: number;
  readonly observations: number;
  readonly skew: number;
  readonly kurtosis: number;
}): number {
  const { sharpe, benchmark, observations, skew, kurtosis } = options;
  const spread = 1 - skew * sharpe + ((kurtosis - 1) / 4) * sharpe * sharpe;
  if (!(spread > 0) || observations < 2) return NaN;
  return normalCdf(((sharpe - benchmark) * Math.sqrt(observations - 1)) / Math.sqrt(spread));
}

/** The deflated Sharpe ratio's inputs and outcome. */
export interface DeflatedSharpe {
  /** SR₀: the best Sharpe ratio luck alone would give over this many trials. */
  readonly benchmark: number;
  /** The probability that the best trial's true Sharpe ratio is above zero after the deflation. */
  readonly dsr: number;
}

/**
 * The deflated Sharpe ratio of the best of `trials` trials: the probabilistic Sharpe ratio
 * against the expected maximum Sharpe ratio of that many unskilled trials.
 */
export function deflatedSharpe(options: {
  readonly sharpe: number;
  readonly trials: number;
  readonly variance: number;
  readonly observations: number;
  readonly skew: number;
  readonly kurtosis: number;
}): DeflatedSharpe {
  const benchmark = expectedMaxSharpe(options);
  return { benchmark, dsr: probabilisticSharpe({ ...options, benchmark }) };
}

/** The outcome of combinatorially symmetric cross-validation. */
export interface Cscv {
  /** Probability of backtest overfitting: the share of splits whose in-sample best ranks in the bottom half out of sample. */
  readonly pbo: number;
  /** The logit λ of the in-sample best's relative out-of-sample rank, per split. */
  readonly logits: readonly number[];
  /** The share of splits whose in-sample best loses money out of sample (performance < 0). */
  readonly probabilityOfLoss: number;
  readonly splits: number;
}

/**
 * Combinatorially symmetric cross-validation over `returns[config][t]` (same length T for every
 * configuration): the rows are cut into `groups` (even) blocks of ⌊T/groups⌋ (the remainder at
 * the end is dropped); for every choice of half of the blocks as in-sample, the configuration
 * with the best in-sample performance (the Sharpe ratio, or the mean) is ranked among all out of
 * sample, its relative rank ω = rank/(N+1) (ties count half) turned into λ = ln(ω/(1−ω)), and
 * PBO is the share of splits with λ ≤ 0.
 */
export function cscv(
  returns: readonly ArrayLike<number>[],
  options: { readonly groups: number; readonly performance?: "sharpe" | "mean" },
): Cscv {
  const { groups } = options;
  const sharpe = (options.performance ?? "sharpe") === "sharpe";
  const n = returns.length;
  if (n < 2) throw new RangeError("Cannot run CSCV: needs at least 2 configurations");
  if (groups < 2 || groups % 2 !== 0) {
    throw new RangeError(
      `Cannot run CSCV: groups must be even and >= 2: current value is ${groups}`,
    );
  }
  const t = returns[0]!.length;
  const size = Math.floor(t / groups);
  if (size < 1) throw new RangeError(`Cannot run CSCV: ${t} rows for ${groups} groups`);
  // Per configuration and block: Σx and Σx², so a split costs O(groups) per configuration.
  const sums = returns.map((series) => {
    const s = new Float64Array(groups);
    const sq = new Float64Array(groups);
    for (let g = 0; g < groups; g++) {
      for (let i = g * size; i < (g + 1) * size; i++) {
        const x = series[i]!;
        s[g]! += x;
        sq[g]! += x * x;
      }
    }
    return { s, sq };
  });
  const rows = (groups / 2) * size;
  const perf = (sum: number, sumSq: number): number => {
    const mean = sum / rows;
    if (!sharpe) return mean;
    const variance = (sumSq - rows * mean * mean) / (rows - 1);
    return variance > 0 ? mean / Math.sqrt(variance) : 0;
  };
  const logits: number[] = [];
  let losses = 0;
  const isPerf = new Float64Array(n);
  const oosPerf = new Float64Array(n);
  for (const chosen of combinations(groups, groups / 2)) {
    const inSample = new Uint8Array(groups);
    for (const g of chosen) inSample[g] = 1;
    for (let k = 0; k < n; k++) {
      const { s, sq } = sums[k]!;
      let a = 0;
      let aSq = 0;
      let b = 0;
      let bSq = 0;
      for (let g = 0; g < groups; g++) {
        if (inSample[g] === 1) {
          a += s[g]!;
          aSq += sq[g]!;
        } else {
          b += s[g]!;
          bSq += sq[g]!;
        }
      }
      isPerf[k] = perf(a, aSq);
      oosPerf[k] = perf(b, bSq);
    }
    let best = 0;
    for (let k = 1; k < n; k++) if (isPerf[k]! > isPerf[best]!) best = k;
    const value = oosPerf[best]!;
    let below = 0;
    let ties = 0;
    for (let k = 0; k < n; k++) {
      if (oosPerf[k]! < value) below++;
      else if (oosPerf[k] === value && k !== best) ties++;
    }
    const omega = (below + 1 + ties / 2) / (n + 1);
    logits.push(Math.log(omega / (1 - omega)));
    if (value < 0) losses++;
  }
  return {
    pbo: logits.filter((l) => l <= 0).length / logits.length,
    logits,
    probabilityOfLoss: losses / logits.length,
    splits: logits.length,
  };
}

/** Every k-element subset of {0, …, n−1}, in lexicographic order. */
export function combinations(n: number, k: number): number[][] {
  const out: number[][] = [];
  const pick: number[] = [];
  function walk(from: number): void {
    if (pick.length === k) {
      out.push([...pick]);
      return;
    }
    for (let i = from; i <= n - (k - pick.length); i++) {
      pick.push(i);
      walk(i + 1);
      pick.pop();
    }
  }
  walk(0);
  return out;
}
