/**
 * Drift statistics for monitoring: the two-sample Kolmogorov-Smirnov test, PSI, the normalised
 * Wasserstein distance, chi-square and Jensen-Shannon. Each reproduces a named reference
 * implementation (scipy or Evidently), operation by operation, so that thresholds tuned with those
 * libraries keep their meaning here. All functions are pure; numeric samples are sorted once and
 * merged, never compared pairwise, so 10^6 values per side are fine. The distributions behind the
 * KS p-value (scipy's Smirnov and Kolmogorov ports) are in kolmogorov.ts.
 */
import gammainc from '@stdlib/math-base-special-gammainc';
import { asymptoticTwoSided, exactTwoSided, pairwiseSum } from './kolmogorov.ts';

export { kstwoSf } from './kolmogorov.ts';

/** A numeric sample: a plain array, or a Float64Array for large serving windows. */
export type Sample = readonly number[] | Float64Array;
/** Category to count, in the shape of the training baseline's `frequencies`. */
export type CategoryCounts = Readonly<Record<string, number>>;

/** The inputs cannot be compared: an empty sample, a NaN, a negative count, bins that do not line up. */
export class DriftStatisticInputError extends Error {
  override readonly name: string = 'DriftStatisticInputError';
}

/** A sorted copy; refuses an empty sample and NaN (and, when asked, infinities). */
function sortedCopy(values: Sample, label: string, finite = false): Float64Array {
  if (values.length === 0) throw new DriftStatisticInputError(`the ${label} sample is empty`);
  const out = Float64Array.from(values);
  for (let i = 0; i < out.length; i++) {
    const v = out[i] ?? Number.NaN;
    if (Number.isNaN(v) || (finite && !Number.isFinite(v))) {
      throw new DriftStatisticInputError(
        `value ${i + 1} of the ${label} sample is ${v}, not a finite number`,
      );
    }
  }
  return out.sort();
}

// ---------------------------------------------------------------------------------------------
// Two-sample Kolmogorov-Smirnov.
// ---------------------------------------------------------------------------------------------

/** scipy's MAX_AUTO_N: with method='auto', samples of at most this size get the exact p-value. */
export const KS_MAX_EXACT_N = 10_000;

/** Result of {@link ks2Samp}. */
export interface KsResult {
  /** sup |F1 - F2|; on the exact path rounded to the lattice h / lcm(n1, n2), as scipy does. */
  readonly statistic: number;
  readonly pValue: number;
  /** Which p-value computation was used, as scipy's method='auto' picks it. */
  readonly method: 'exact' | 'asymp';
}

/** Largest |F1(x) - F2(x)| over the pooled values, with right-continuous ECDFs (so ties count together). */
function ecdfDistance(a: Float64Array, b: Float64Array): number {
  const n1 = a.length;
  const n2 = b.length;
  let i = 0;
  let j = 0;
  let maxS = Number.NEGATIVE_INFINITY;
  let minS = Number.POSITIVE_INFINITY;
  while (i < n1 || j < n2) {
    const ai = a[i] ?? Number.POSITIVE_INFINITY;
    const bj = b[j] ?? Number.POSITIVE_INFINITY;
    const v = i < n1 && (j >= n2 || ai <= bj) ? ai : bj;
    while (i < n1 && (a[i] ?? 0) <= v) i++;
    while (j < n2 && (b[j] ?? 0) <= v) j++;
    // Same operations as scipy's cdf1 - cdf2, so the maximum is the same double.
    const diff = i / n1 - j / n2;
    if (diff > maxS) maxS = diff;
    if (diff < minS) minS = diff;
  }
  const minClipped = Math.min(Math.max(-minS, 0), 1);
  return minClipped > maxS ? minClipped : maxS;
}

/**
 * Two-sample Kolmogorov-Smirnov test, as `scipy.stats.ks_2samp(a, b)` computes it by default
 * (alternative='two-sided', method='auto'; scipy/stats/_stats_py.py `ks_2samp`): the exact p-value
 * when both samples have at most 10,000 values and the exact computation succeeds, otherwise
 * `kstwo.sf(d, round(m*n/(m+n)))`. Ties are handled as scipy does, through right-continuous ECDFs.
 * Throws on an empty sample or a NaN (scipy raises on the first and returns NaN for the second).
 */
export function ks2Samp(a: Sample, b: Sample): KsResult {
  const first = sortedCopy(a, 'first');
  const second = sortedCopy(b, 'second');
  const n1 = first.length;
  const n2 = second.length;
  let d = ecdfDistance(first, second);
  if (Math.max(n1, n2) <= KS_MAX_EXACT_N) {
    const exact = exactTwoSided(n1, n2, d);
    if (exact.ok) return { statistic: exact.d, pValue: exact.prob, method: 'exact' };
    // scipy keeps the lattice-rounded statistic when it falls back.
    d = exact.d;
  }
  return { statistic: d, pValue: asymptoticTwoSided(n1, n2, d), method: 'asymp' };
}

// ---------------------------------------------------------------------------------------------
// Population stability index.
// ---------------------------------------------------------------------------------------------

/** Evidently's share for an empty bin, unless a non-empty bin is already that small. */
export const PSI_EMPTY_BIN_SHARE = 0.0001;

/** Bins of the training baseline, as `NumericBaseline.histogram` holds them. */
export interface ReferenceHistogram {
  /** Sorted, distinct inner edges; bin i is (edges[i-1], edges[i]], the first and last bins are open. */
  readonly edges: readonly number[];
  /** Share of the reference in each of the `edges.length + 1` bins. */
  readonly shares: readonly number[];
}

/**
 * Evidently's `get_binned_data(..., feel_zeroes=True)`: a zero share becomes 0.0001, or the smallest
 * non-zero share / 10^6 when that is at most 0.0001.
 */
function fillEmptyBins(shares: readonly number[], label: string): number[] {
  let smallest = Number.POSITIVE_INFINITY;
  for (const s of shares) {
    if (!Number.isFinite(s) || s < 0)
      throw new DriftStatisticInputError(`${label} share ${s} is not a share`);
    if (s !== 0 && s < smallest) smallest = s;
  }
  if (smallest === Number.POSITIVE_INFINITY) throw new DriftStatisticInputError(`every ${label} share is 0`);
  const fill = smallest <= PSI_EMPTY_BIN_SHARE ? smallest / 10 ** 6 : PSI_EMPTY_BIN_SHARE;
  return shares.map((s) => (s === 0 ? fill : s));
}

/**
 * PSI of two binned distributions, with Evidently's formula (evidently `stattests/psi.py` `_psi`):
 * sum((ref - cur) * ln(ref / cur)) after empty bins are filled as Evidently fills them.
 */
export function psiFromShares(referenceShares: readonly number[], currentShares: readonly number[]): number {
  if (referenceShares.length !== currentShares.length || referenceShares.length === 0) {
    throw new DriftStatisticInputError(
      `PSI needs the same bins on both sides; got ${referenceShares.length} reference and ${currentShares.length} current bins`,
    );
  }
  const ref = fillEmptyBins(referenceShares, 'reference');
  const cur = fillEmptyBins(currentShares, 'current');
  const terms = ref.map((r, i) => {
    const c = cur[i] ?? 0;
    return (r - c) * Math.log(r / c);
  });
  return pairwiseSum(terms);
}

/**
 * PSI of current values against the baseline's quantile bins. The formula and the empty-bin rule are
 * Evidently's (see {@link psiFromShares}); the bins are the baseline's decile edges rather than
 * Evidently's Sturges bins of the pooled data, because the manifest keeps only the baseline. Current
 * values are binned exactly as the baseline's shares were (`binShares` in shared/features/stats.ts).
 */
export function psi(reference: ReferenceHistogram, current: Sample): number {
  const { edges, shares } = reference;
  if (shares.length !== edges.length + 1) {
    throw new DriftStatisticInputError(
      `${edges.length} edges need ${edges.length + 1} shares, got ${shares.length}`,
    );
  }
  for (let i = 1; i < edges.length; i++) {
    if (!((edges[i - 1] ?? 0) < (edges[i] ?? 0))) {
      throw new DriftStatisticInputError(`bin edges must increase; edge ${i + 1} is ${edges[i]}`);
    }
  }
  if (current.length === 0) throw new DriftStatisticInputError('the current sample is empty');
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (let k = 0; k < current.length; k++) {
    const v = current[k] ?? Number.NaN;
    if (Number.isNaN(v)) throw new DriftStatisticInputError(`value ${k + 1} of the current sample is NaN`);
    // Number of edges strictly below v: the bin binShares puts v in.
    let lo = 0;
    let hi = edges.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((edges[mid] ?? 0) < v) lo = mid + 1;
      else hi = mid;
    }
    counts[lo] = (counts[lo] ?? 0) + 1;
  }
  return psiFromShares(
    shares,
    counts.map((c) => c / current.length),
  );
}

// ---------------------------------------------------------------------------------------------
// Wasserstein distance.
// ---------------------------------------------------------------------------------------------

/** Evidently's floor under the reference's standard deviation, so a constant feature does not divide by 0. */
export const WASSERSTEIN_MIN_NORM = 0.001;

/**
 * `scipy.stats.wasserstein_distance(u, v)` without weights (scipy/stats/_stats_py.py `_cdf_distance`
 * with p=1): the integral of |U(x) - V(x)| over the pooled sorted values. Values must be finite.
 */
export function wassersteinDistance(u: Sample, v: Sample): number {
  const a = sortedCopy(u, 'first', true);
  const b = sortedCopy(v, 'second', true);
  const all = new Float64Array(a.length + b.length);
  for (let i = 0, j = 0, k = 0; k < all.length; k++) {
    const ai = a[i] ?? Number.POSITIVE_INFINITY;
    const bj = b[j] ?? Number.POSITIVE_INFINITY;
    if (j >= b.length || (i < a.length && ai <= bj)) {
      all[k] = ai;
      i++;
    } else {
      all[k] = bj;
      j++;
    }
  }
  const terms = new Float64Array(all.length - 1);
  for (let k = 0, i = 0, j = 0; k < terms.length; k++) {
    const x = all[k] ?? 0;
    while (i < a.length && (a[i] ?? 0) <= x) i++;
    while (j < b.length && (b[j] ?? 0) <= x) j++;
    terms[k] = Math.abs(i / a.length - j / b.length) * ((all[k + 1] ?? 0) - x);
  }
  return pairwiseSum(terms);
}

/** `np.std(x)`: the population standard deviation (ddof=0), with numpy's two-pass pairwise sums. */
function populationStd(values: Sample): number {
  const n = values.length;
  const mean = pairwiseSum(values) / n;
  const squares = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const d = (values[i] ?? 0) - mean;
    squares[i] = d * d;
  }
  return Math.sqrt(pairwiseSum(squares) / n);
}

/**
 * Evidently's `wasserstein` stattest (evidently `stattests/wasserstein_distance_norm.py`):
 * `wasserstein_distance(reference, current) / max(np.std(reference), 0.001)`, with the population
 * standard deviation (numpy's default ddof=0). Evidently's default drift threshold is 0.1.
 */
export function wassersteinNormalized(reference: Sample, current: Sample): number {
  const distance = wassersteinDistance(reference, current);
  return distance / Math.max(populationStd(reference), WASSERSTEIN_MIN_NORM);
}

// ---------------------------------------------------------------------------------------------
// Categorical tests.
// ---------------------------------------------------------------------------------------------

/** Categories seen on either side (a count of 0 is the same as absent), sorted, with totals. */
function alignCategories(
  reference: CategoryCounts,
  current: CategoryCounts,
): { ref: number[]; cur: number[]; refTotal: number; curTotal: number } {
  const check = (counts: CategoryCounts, label: string): number => {
    let total = 0;
    for (const [category, count] of Object.entries(counts)) {
      if (!Number.isFinite(count) || count < 0) {
        throw new DriftStatisticInputError(`${label} count of '${category}' is ${count}, not a count`);
      }
      total += count;
    }
    if (total === 0) throw new DriftStatisticInputError(`the ${label} counts are empty`);
    return total;
  };
  const refTotal = check(reference, 'reference');
  const curTotal = check(current, 'current');
  const categories = [...new Set([...Object.keys(reference), ...Object.keys(current)])]
    .filter((c) => (reference[c] ?? 0) > 0 || (current[c] ?? 0) > 0)
    .sort();
  return {
    ref: categories.map((c) => reference[c] ?? 0),
    cur: categories.map((c) => current[c] ?? 0),
    refTotal,
    curTotal,
  };
}

/** Result of {@link chiSquare}. */
export interface ChiSquareResult {
  /** Pearson's statistic; Infinity when the current window has a category the reference never saw. */
  readonly statistic: number;
  readonly pValue: number;
  /** Degrees of freedom: categories seen on either side, minus one. */
  readonly dof: number;
}

/**
 * Evidently's `chisquare` stattest (evidently `stattests/chisquare_stattest.py` `_chi_stat_test`):
 * over the union of categories, expected = reference count * (current total / reference total),
 * then `scipy.stats.chisquare(observed, expected)`. A category absent from the reference has an
 * expected count of 0, so the statistic is Infinity and the p-value 0, as in scipy. With a single
 * category (dof 0) the p-value follows scipy 1.17's `chdtrc(0, x)`: 0 when x > 0, NaN when x = 0.
 * Evidently's default is drift when p < 0.05.
 */
export function chiSquare(referenceCounts: CategoryCounts, currentCounts: CategoryCounts): ChiSquareResult {
  const { ref, cur, refTotal, curTotal } = alignCategories(referenceCounts, currentCounts);
  const kNorm = curTotal / refTotal;
  const terms = ref.map((r, i) => {
    const expected = r * kNorm;
    const diff = (cur[i] ?? 0) - expected;
    return (diff * diff) / expected;
  });
  const statistic = pairwiseSum(terms);
  const dof = ref.length - 1;
  let pValue: number;
  if (dof === 0) pValue = statistic > 0 ? 0 : Number.NaN;
  // scipy's chdtrc(dof, x) = igamc(dof / 2, x / 2): the regularized upper incomplete gamma, which
  // keeps relative precision in the far tail (1 - cdf would round tiny p-values to 0).
  else if (statistic === Number.POSITIVE_INFINITY) pValue = 0;
  else pValue = gammainc(statistic / 2, dof / 2, true, true);
  return { statistic, pValue, dof };
}

/** `scipy.special.rel_entr(x, y)` for x, y >= 0. */
function relEntr(x: number, y: number): number {
  if (x > 0 && y > 0) return x * Math.log(x / y);
  if (x === 0 && y >= 0) return 0;
  return Number.POSITIVE_INFINITY;
}

/**
 * Evidently's `jensenshannon` stattest on a categorical feature (evidently `stattests/jensenshannon.py`
 * with `get_binned_data(..., feel_zeroes=False)`): the shares of each side over the union of
 * categories, a category missing on one side counting 0, then `scipy.spatial.distance.jensenshannon`
 * with the natural logarithm. This is the distance (the square root of the divergence), in
 * [0, sqrt(ln 2)]; Evidently's default drift threshold is 0.1.
 */
export function jensenShannon(referenceCounts: CategoryCounts, currentCounts: CategoryCounts): number {
  const { ref, cur, refTotal, curTotal } = alignCategories(referenceCounts, currentCounts);
  const refShares = ref.map((c) => c / refTotal);
  const curShares = cur.map((c) => c / curTotal);
  const refSum = pairwiseSum(refShares);
  const curSum = pairwiseSum(curShares);
  const p = refShares.map((s) => s / refSum);
  const q = curShares.map((s) => s / curSum);
  const m = p.map((pi, i) => (pi + (q[i] ?? 0)) / 2.0);
  const left = pairwiseSum(p.map((pi, i) => relEntr(pi, m[i] ?? 0)));
  const right = pairwiseSum(q.map((qi, i) => relEntr(qi, m[i] ?? 0)));
  return Math.sqrt((left + right) / 2.0);
}
