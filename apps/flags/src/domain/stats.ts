/**
 * The statistics of experiment results, pure.
 *
 * Per variant against control: the two-proportion z-test (pooled standard
 * error). The metric is a conversion (a key converted or not), the arms are
 * independent samples, and a result is shown only past a minimum sample per
 * arm, where the normal approximation of the binomial holds; it is cheap,
 * well understood, and gives an effect size with its p-value. With several
 * treatments each comparison is held to alpha / (k - 1) (Bonferroni).
 *
 * Sample-ratio mismatch: Pearson's chi-square goodness of fit of exposure
 * counts against the rollout's weights, k - 1 degrees of freedom, flagged at
 * p < 0.001 (a strict threshold: SRM means broken assignment or logging, and
 * with many experiments a lax one would cry wolf).
 */

/** erfc, Numerical Recipes' Chebyshev fit: |error| < 1.2e-7 everywhere. */
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? r : 2 - r;
}

/** P(|N(0,1)| ≥ |z|). */
export function twoSidedNormalP(z: number): number {
  return Math.min(1, erfc(Math.abs(z) / Math.SQRT2));
}

function logGamma(x: number): number {
  // Lanczos (g = 7, n = 9): ~15 significant digits for x > 0.
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const y = x - 1;
  let a = c[0]!;
  const t = y + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (y + i);
  return 0.5 * Math.log(2 * Math.PI) + (y + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Upper regularized incomplete gamma Q(a, x): series below a + 1, continued fraction above (Numerical Recipes 6.2). */
function gammaQ(a: number, x: number): number {
  if (x <= 0) return 1;
  const lead = -x + a * Math.log(x) - logGamma(a);
  if (x < a + 1) {
    let sum = 1 / a;
    let term = sum;
    for (let n = 1; n < 500; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-15) break;
    }
    return Math.max(0, 1 - sum * Math.exp(lead));
  }
  let b = x + 1 - a;
  let c = 1e300;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 500; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < 1e-300) d = 1e-300;
    c = b + an / c;
    if (Math.abs(c) < 1e-300) c = 1e-300;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return Math.min(1, Math.exp(lead) * h);
}

/** P(χ²_df ≥ x). */
export function chiSquareP(x: number, df: number): number {
  return gammaQ(df / 2, x / 2);
}

export interface ProportionTest {
  difference: number;
  relativeLift: number | null;
  z: number;
  pValue: number;
  significant: boolean;
}

/** Treatment (t) against control (c), two-sided, pooled standard error. */
export function twoProportionZTest(c: { n: number; x: number }, t: { n: number; x: number }, alpha: number): ProportionTest {
  const pc = c.x / c.n;
  const pt = t.x / t.n;
  const pooled = (c.x + t.x) / (c.n + t.n);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / c.n + 1 / t.n));
  const z = se === 0 ? 0 : (pt - pc) / se;
  const pValue = se === 0 ? 1 : twoSidedNormalP(z);
  return { difference: pt - pc, relativeLift: pc === 0 ? null : (pt - pc) / pc, z, pValue, significant: pValue < alpha };
}

export interface SampleRatioCheck {
  chiSquare: number;
  degreesOfFreedom: number;
  pValue: number;
  mismatch: boolean;
}

export const SRM_ALPHA = 0.001;

/** Pearson's goodness of fit of observed counts to expected shares (summing to 1). */
export function sampleRatioCheck(observed: number[], shares: number[]): SampleRatioCheck | null {
  const total = observed.reduce((a, b) => a + b, 0);
  const cells = observed.map((o, i) => ({ o, e: total * shares[i]! })).filter((c) => c.e > 0);
  if (total === 0 || cells.length < 2) return null;
  const chiSquare = cells.reduce((sum, { o, e }) => sum + (o - e) ** 2 / e, 0);
  const degreesOfFreedom = cells.length - 1;
  const pValue = chiSquareP(chiSquare, degreesOfFreedom);
  return { chiSquare, degreesOfFreedom, pValue, mismatch: pValue < SRM_ALPHA };
}
