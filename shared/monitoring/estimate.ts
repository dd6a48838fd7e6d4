/**
 * Quality estimated from a binary classifier's scores alone, before the labels arrive, as NannyML's
 * confidence-based performance estimation (CBPE) does: an isotonic calibration of label on score,
 * fitted on the model's own held-out test split, turns each serving score into the probability that
 * its label is 1, and each metric is then its expected value under those probabilities. The
 * estimate holds while the relation between score and label stays what it was on the test split
 * (covariate shift only); a concept shift goes unseen until realized quality catches it.
 */
import { CALIBRATION_BINS, LOG_LOSS_EPSILON } from '../pipeline/metrics.ts';

/** Scores and labels that cannot be calibrated, or a calibration that cannot be applied. */
export class CalibrationInputError extends Error {
  override readonly name: string = 'CalibrationInputError';
}

/**
 * An isotonic calibration as the knots of a piecewise-linear, non-decreasing map from score to
 * probability; plain JSON, so it travels in the run's monitoring reference.
 */
export interface Calibration {
  readonly kind: 'isotonic';
  /** Scores at the knots, strictly increasing. */
  readonly x: number[];
  /** Calibrated probabilities at the knots, non-decreasing, in [0, 1]. */
  readonly y: number[];
}

/** The quality a window of serving scores is expected to have, by {@link estimatedQuality}. */
export interface EstimatedQuality {
  /**
   * CBPE's expected ROC AUC; null when every calibrated probability is 0 or every one is 1, since
   * one class is then certain to be absent and AUC is not defined.
   */
  readonly auc: number | null;
  /** Expected log loss of the raw scores. */
  readonly logLoss: number;
  /** Calibration error of the raw scores against the calibrated probabilities, over 10 bins. */
  readonly calibrationError: number;
  /** Mean calibrated probability: the share of positives the window is expected to have. */
  readonly positiveRate: number;
  /** Scores in the window. */
  readonly count: number;
}

/**
 * Isotonic regression of label on score (pool-adjacent-violators, increasing), as scikit-learn's
 * `IsotonicRegression(out_of_bounds='clip')`, NannyML's default calibrator, fits it: tied scores
 * are pooled first into their mean label, weighted by their count; the knots kept are those
 * sklearn keeps, the ends of each flat block and every point where the fit changes. Block means are
 * computed from whole counts of positives and rows, so each fitted value is one correctly rounded
 * division. Throws on empty input, a length mismatch, a non-finite score or a label not 0 or 1.
 */
export function fitCalibration(scores: ArrayLike<number>, labels: ArrayLike<number>): Calibration {
  if (scores.length !== labels.length) {
    throw new CalibrationInputError(`${scores.length} scores but ${labels.length} labels`);
  }
  if (scores.length === 0) throw new CalibrationInputError('no scores to calibrate on');
  // Each class's scores sorted apart (a native numeric sort) and then merged, so that tied scores
  // become one point with its count of rows and of positive labels.
  const byClass: [number[], number[]] = [[], []];
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i] ?? Number.NaN;
    if (!Number.isFinite(s)) throw new CalibrationInputError(`score ${i + 1} is ${s}, not a finite number`);
    const y = labels[i];
    if (y !== 0 && y !== 1) throw new CalibrationInputError(`label ${i + 1} is ${y}, not 0 or 1`);
    byClass[y].push(s);
  }
  const negatives = Float64Array.from(byClass[0]).sort();
  const positives = Float64Array.from(byClass[1]).sort();
  const xs: number[] = [];
  const points: { positives: number; rows: number }[] = [];
  for (let i = 0, j = 0; i < positives.length || j < negatives.length; ) {
    const s = Math.min(positives[i] ?? Number.POSITIVE_INFINITY, negatives[j] ?? Number.POSITIVE_INFINITY);
    const [i0, j0] = [i, j];
    while (i < positives.length && positives[i] === s) i++;
    while (j < negatives.length && negatives[j] === s) j++;
    xs.push(s);
    points.push({ positives: i - i0, rows: i - i0 + (j - j0) });
  }

  // Pool adjacent violators: each point opens a block, merged into the one before while that one's
  // mean is not below it. Means are compared by cross-multiplying whole counts, so exactly.
  const blocks: { positives: number; rows: number; first: number }[] = [];
  for (const [k, point] of points.entries()) {
    let top = { ...point, first: k };
    let prev = blocks[blocks.length - 1];
    while (prev && prev.positives * top.rows >= top.positives * prev.rows) {
      blocks.pop();
      top = { positives: prev.positives + top.positives, rows: prev.rows + top.rows, first: prev.first };
      prev = blocks[blocks.length - 1];
    }
    blocks.push(top);
  }
  const fitted = new Float64Array(xs.length);
  for (const [b, block] of blocks.entries()) {
    fitted.fill(block.positives / block.rows, block.first, blocks[b + 1]?.first ?? xs.length);
  }

  const x: number[] = [];
  const y: number[] = [];
  for (let k = 0; k < xs.length; k++) {
    const f = fitted[k] ?? 0;
    if (k === 0 || k === xs.length - 1 || f !== fitted[k - 1] || f !== fitted[k + 1]) {
      x.push(xs[k] ?? 0);
      y.push(f);
    }
  }
  return { kind: 'isotonic', x, y };
}

/**
 * The calibrated probability of a score: linear between the knots, the end value outside them
 * (sklearn's `out_of_bounds='clip'`); NaN for NaN. Trusts the calibration to be well formed, as
 * {@link fitCalibration} makes it; {@link estimatedQuality} checks one before using it.
 */
export function calibrated(c: Calibration, score: number): number {
  const { x, y } = c;
  const last = x.length - 1;
  if (Number.isNaN(score)) return Number.NaN;
  if (score <= (x[0] ?? 0)) return y[0] ?? Number.NaN;
  if (score >= (x[last] ?? 0)) return y[last] ?? Number.NaN;
  // The knot k with x[k] <= score < x[k + 1], so a score on a knot gets that knot's value exactly.
  let lo = 0;
  let hi = last;
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if ((x[mid] ?? 0) <= score) lo = mid;
    else hi = mid;
  }
  const x0 = x[lo] ?? 0;
  const y0 = y[lo] ?? 0;
  return y0 + ((y[hi] ?? 0) - y0) * ((score - x0) / ((x[hi] ?? 0) - x0));
}

function checkCalibration(c: Calibration): void {
  const { x, y } = c;
  if (x.length === 0 || x.length !== y.length) {
    throw new CalibrationInputError(
      `a calibration needs as many y as x knots, at least one; got ${x.length} and ${y.length}`,
    );
  }
  for (let k = 0; k < x.length; k++) {
    const xk = x[k] ?? Number.NaN;
    const yk = y[k] ?? Number.NaN;
    if (!Number.isFinite(xk) || (k > 0 && !(xk > (x[k - 1] ?? 0)))) {
      throw new CalibrationInputError(`calibration knot ${k + 1} has x ${xk}; x must be finite and increase`);
    }
    if (!(yk >= 0 && yk <= 1) || (k > 0 && yk < (y[k - 1] ?? 0))) {
      throw new CalibrationInputError(
        `calibration knot ${k + 1} has y ${yk}; y must be in [0, 1] and never decrease`,
      );
    }
  }
}

/**
 * Quality of a window of serving scores, estimated from the scores and a calibration alone:
 *
 * - `auc` follows NannyML 0.13.1's `estimate_roc_auc`
 *   (nannyml/performance_estimation/confidence_based/metrics.py): rows sorted by descending score,
 *   expected true positives at each threshold the running sum of calibrated probabilities p, expected
 *   false positives the rows so far minus that, both divided by their totals, and the area under
 *   that ROC by the trapezoid rule. Rows with the same score share one threshold here; NannyML steps
 *   through them one by one, but tied scores have the same p, so its steps lie on one line and the
 *   area is the same. NannyML also rounds the running sums to 5 decimals before dividing; that is
 *   left out (it moves each rate by at most 5e-6 over the expected positives or negatives). The
 *   area equals the sum over all ordered pairs (i, j), i = j included, of p_i (1 - p_j) times 1 if
 *   s_i > s_j and 1/2 if s_i = s_j, over (sum of p) (sum of 1 - p): a row paired with itself counts,
 *   so for small n the estimate sits nearer 1/2 than the expectation over distinct pairs would.
 * - `logLoss` is the expected log loss when each label is Bernoulli(p), with the raw scores clipped
 *   to [1e-15, 1 - 1e-15] as `logLoss` in shared/pipeline/metrics.ts clips them.
 * - `calibrationError` is `expectedCalibrationError` of shared/pipeline/metrics.ts (the same 10
 *   equal-width bins of the clipped score) with each label replaced by its p: the gap between the
 *   score and what it is expected to mean. The realized error on drawn labels is larger by noise.
 * - `positiveRate` is the mean of p.
 *
 * Sorts once, O(n log n). Unlike NannyML, which skips calibration when cross-validation on the
 * reference shows it does not lower the calibration error (`needs_calibration` in
 * nannyml/calibration.py), this always applies it; isotonic on calibrated scores is close to the
 * identity. Throws on an empty window, a non-finite score or a malformed calibration.
 */
export function estimatedQuality(scores: ArrayLike<number>, calibration: Calibration): EstimatedQuality {
  checkCalibration(calibration);
  const n = scores.length;
  if (n === 0) throw new CalibrationInputError('no scores to estimate from');
  const sorted = Float64Array.from(scores);
  for (let i = 0; i < n; i++) {
    const s = sorted[i] ?? Number.NaN;
    if (!Number.isFinite(s)) throw new CalibrationInputError(`score ${i + 1} is ${s}, not a finite number`);
  }
  sorted.sort();

  const binRows = new Float64Array(CALIBRATION_BINS);
  const binScore = new Float64Array(CALIBRATION_BINS);
  const binExpected = new Float64Array(CALIBRATION_BINS);
  let logLossSum = 0;
  // From the highest score down: expected true positives above the current threshold, and the area.
  let tp = 0;
  let area = 0;
  for (let end = n - 1; end >= 0; ) {
    const s = sorted[end] ?? 0;
    const p = calibrated(calibration, s);
    let start = end;
    while (start > 0 && sorted[start - 1] === s) start--;
    const rows = end - start + 1;
    const tpBefore = tp;
    const fpBefore = n - 1 - end - tpBefore;
    tp += rows * p;
    const fp = n - start - tp;
    area += (fp - fpBefore) * (tpBefore + tp);

    const clipped = Math.min(1 - LOG_LOSS_EPSILON, Math.max(LOG_LOSS_EPSILON, s));
    logLossSum -= rows * (p * Math.log(clipped) + (1 - p) * Math.log(1 - clipped));
    const unit = Math.min(1, Math.max(0, s));
    const b = Math.min(CALIBRATION_BINS - 1, Math.floor(unit * CALIBRATION_BINS));
    binRows[b] = (binRows[b] ?? 0) + rows;
    binScore[b] = (binScore[b] ?? 0) + rows * unit;
    binExpected[b] = (binExpected[b] ?? 0) + rows * p;
    end = start - 1;
  }
  const fp = n - tp;
  let calibrationError = 0;
  for (let b = 0; b < CALIBRATION_BINS; b++) {
    const rows = binRows[b] ?? 0;
    if (rows > 0) {
      calibrationError += (rows / n) * Math.abs((binExpected[b] ?? 0) / rows - (binScore[b] ?? 0) / rows);
    }
  }
  return {
    auc: tp > 0 && fp > 0 ? area / 2 / (tp * fp) : null,
    logLoss: logLossSum / n,
    calibrationError,
    positiveRate: tp / n,
    count: n,
  };
}
