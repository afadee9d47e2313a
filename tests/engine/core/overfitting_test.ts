import assert from "node:assert/strict";
import {
  combinations,
  cscv,
  deflatedSharpe,
  expectedMaxSharpe,
  moments,
  normalCdf,
  normalQuantile,
  probabilisticSharpe,
} from "../../../engine/core/overfitting.ts";
import { mulberry32, normal } from "../../../engine/core/prng.ts";

function near(actual: number, expected: number, tolerance: number): void {
  assert.ok(
    Math.abs(actual - expected) <= tolerance,
    `${actual} is not ${expected} ± ${tolerance}`,
  );
}

Deno.test("normalCdf() and normalQuantile() match the tables and invert each other", () => {
  near(normalCdf(0), 0.5, 1e-7);
  near(normalCdf(1.959963984540054), 0.975, 1e-7);
  near(normalCdf(-1), 0.15865525393145707, 1e-7);
  near(normalQuantile(0.99), 2.3263478740408408, 1e-6);
  near(normalQuantile(0.025), -1.959963984540054, 1e-6);
  for (const p of [1e-6, 0.01, 0.3, 0.5, 0.77, 0.999]) near(normalCdf(normalQuantile(p)), p, 1e-7);
  assert.throws(() => normalQuantile(1), RangeError);
});

/*
 * The deflated Sharpe ratio's numerical example (Bailey & López de Prado 2014, "The Deflated
 * Sharpe Ratio", section 4): N = 100 independent trials whose annualised Sharpe ratios vary with
 * V = 0.5; the best has an annualised SR of 2.5 over T = 1,250 daily returns (5 years of 250
 * days) with skewness γ3 = −3 and kurtosis γ4 = 10. By hand, per day:
 *   Z⁻¹(1 − 1/N)      = Z⁻¹(0.99)      = 2.3263
 *   Z⁻¹(1 − 1/(N e))  = Z⁻¹(0.996321)  = 2.6802
 *   E[max SR] annual  = √0.5 · ((1 − 0.5772) · 2.3263 + 0.5772 · 2.6802) = 0.7071 · 2.5307 = 1.7894
 *   SR₀ daily = 1.7894 / √250 = 0.11317;   SR daily = 2.5 / √250 = 0.15811
 *   z = (0.15811 − 0.11317) · √1249 / √(1 + 3 · 0.15811 + (10 − 1)/4 · 0.15811²)
 *     = 0.044942 · 35.341 / √1.53058 = 1.5883 / 1.23717 = 1.2838
 *   DSR = Z(1.2838) = 0.9004, the paper's figure: a 90% chance the SR is real, short of 95%.
 */
Deno.test("deflatedSharpe() reproduces the paper's worked example (DSR 0.9004)", () => {
  const result = deflatedSharpe({
    sharpe: 2.5 / Math.sqrt(250),
    trials: 100,
    variance: 0.5 / 250,
    observations: 1250,
    skew: -3,
    kurtosis: 10,
  });
  near(result.benchmark * Math.sqrt(250), 1.7894, 1e-3);
  near(result.dsr, 0.9004, 5e-4);
});

Deno.test("the deflation grows with the number of trials and vanishes for one trial", () => {
  const base = { variance: 0.5 / 250, observations: 1250, skew: 0, kurtosis: 3 };
  const sharpe = 2 / Math.sqrt(250);
  assert.equal(expectedMaxSharpe({ trials: 1, variance: 1 }), 0);
  const psr = probabilisticSharpe({ ...base, sharpe, benchmark: 0 });
  const dsr10 = deflatedSharpe({ ...base, sharpe, trials: 10 }).dsr;
  const dsr1000 = deflatedSharpe({ ...base, sharpe, trials: 1000 }).dsr;
  assert.ok(psr > dsr10 && dsr10 > dsr1000, `${psr} > ${dsr10} > ${dsr1000}`);
});

/*
 * CSCV by hand (the algorithm of Bailey, Borwein, López de Prado & Zhu 2015, section 2, with the
 * mean as the performance statistic): two configurations over T = 4 periods, S = 4 blocks of one
 * period, so C(4, 2) = 6 splits.
 *   A = [4, −2, 1, −1] (lucky early, then loses), B = [0.9, 0.9, 0.9, 0.9] (steady).
 *   in-sample {0,1}: A 1.0 > B 0.9 → A; out of sample {2,3}: A 0.0 < B 0.9 → rank 1 of 2
 *   in-sample {0,2}: A 2.5 → A; OOS {1,3}: A −1.5 → rank 1      in-sample {0,3}: A 1.5 → A; OOS {1,2}: A −0.5 → rank 1
 *   in-sample {1,2}: A −0.5 < B → B; OOS {0,3}: A 1.5 > B → B rank 1
 *   in-sample {1,3}: B; OOS {0,2}: A 2.5 → B rank 1              in-sample {2,3}: B; OOS {0,1}: A 1.0 → B rank 1
 * Every split: ω = 1/(N+1) = 1/3, λ = ln(1/2) < 0, so PBO = 6/6 = 1; the chosen one loses money
 * out of sample in splits {0,2} and {0,3}: probability of loss 2/6.
 */
Deno.test("cscv() reproduces the hand-worked example (PBO 1, loss 2/6)", () => {
  const result = cscv([[4, -2, 1, -1], [0.9, 0.9, 0.9, 0.9]], { groups: 4, performance: "mean" });
  assert.equal(result.splits, 6);
  assert.equal(result.pbo, 1);
  for (const l of result.logits) near(l, Math.log(0.5), 1e-12);
  near(result.probabilityOfLoss, 2 / 6, 1e-12);
});

Deno.test("cscv(): a configuration better in every period is never overfit (PBO 0)", () => {
  const rng = mulberry32(5);
  const noise = Array.from(
    { length: 6 },
    () => Array.from({ length: 400 }, () => normal(rng) * 0.01),
  );
  const skilled = noise[0]!.map((x) => x + 0.05);
  const result = cscv([...noise, skilled], { groups: 8 });
  assert.equal(result.splits, 70);
  assert.equal(result.pbo, 0);
  assert.equal(result.probabilityOfLoss, 0);
});

Deno.test("cscv(): among unskilled configurations the in-sample best is a coin flip (PBO ≈ 0.5)", () => {
  // The paper's point: with no skill, ranks out of sample are uniform, so PBO is near 1/2.
  const rng = mulberry32(2015);
  const noise = Array.from(
    { length: 40 },
    () => Array.from({ length: 800 }, () => normal(rng) * 0.01),
  );
  const result = cscv(noise, { groups: 10 });
  assert.equal(result.splits, 252);
  assert.ok(result.pbo > 0.3 && result.pbo < 0.7, `PBO ${result.pbo}`);
});

Deno.test("combinations() and moments() count and measure like the textbooks", () => {
  assert.equal(combinations(16, 8).length, 12_870);
  assert.deepEqual(combinations(4, 2), [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]]);
  const m = moments([1, 2, 3, 4, 10]);
  near(m.mean, 4, 1e-12);
  near(m.std, Math.sqrt(12.5), 1e-12);
  // Deviations −3, −2, −1, 0, 6: population m2 = 50/5 = 10, m3 = 180/5 = 36, m4 = 1394/5.
  near(m.skew, 36 / 10 ** 1.5, 1e-12);
  near(m.kurtosis, 1394 / 5 / 100, 1e-12);
});
