/** Binary classification metrics for the Evaluate step, on labels in {0,1} and scores in [0,1]. */
import type { ModelMetrics } from './contracts.ts';

/** Log loss clips probabilities to [EPSILON, 1 - EPSILON], as scikit-learn does. */
export const LOG_LOSS_EPSILON = 1e-15;
/** Equal-width bins of the expected calibration error. */
export const CALIBRATION_BINS = 10;

/** Metrics cannot be computed for these inputs. */
export class MetricInputError extends Error {
  override readonly name: string = 'MetricInputError';
}

function check(labels: readonly number[], scores: readonly number[]): void {
  if (labels.length !== scores.length) {
    throw new MetricInputError(`${labels.length} labels but ${scores.length} scores`);
  }
  if (labels.length === 0) throw new MetricInputError('no rows to evaluate');
  const badLabel = labels.findIndex((y) => y !== 0 && y !== 1);
  if (badLabel >= 0) throw new MetricInputError(`label ${badLabel + 1} is ${labels[badLabel]}, not 0 or 1`);
  const badScore = scores.findIndex((p) => !Number.isFinite(p));
  if (badScore >= 0) throw new MetricInputError(`score ${badScore + 1} is ${scores[badScore]}, not a number`);
}

/**
 * Area under the ROC curve as the Mann-Whitney U statistic: ranks with ties averaged, so a tie
 * between a positive and a negative counts one half, exactly as the pairwise definition does.
 */
export function auc(labels: readonly number[], scores: readonly number[]): number {
  check(labels, scores);
  const order = scores.map((_, i) => i).sort((a, b) => (scores[a] ?? 0) - (scores[b] ?? 0));
  let positives = 0;
  let rankSumPositives = 0;
  for (let start = 0; start < order.length; ) {
    let end = start;
    const value = scores[order[start] ?? 0];
    while (end + 1 < order.length && scores[order[end + 1] ?? 0] === value) end++;
    // Ranks are 1-based; a run of ties shares the mean of its ranks.
    const meanRank = (start + end) / 2 + 1;
    for (let k = start; k <= end; k++) {
      if (labels[order[k] ?? 0] === 1) {
        positives++;
        rankSumPositives += meanRank;
      }
    }
    start = end + 1;
  }
  const negatives = labels.length - positives;
  if (positives === 0 || negatives === 0) {
    throw new MetricInputError(
      `AUC needs both classes; the split has ${positives} positive and ${negatives} negative rows`,
    );
  }
  return (rankSumPositives - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** Mean negative log-likelihood, with probabilities clipped to [1e-15, 1 - 1e-15]. */
export function logLoss(labels: readonly number[], scores: readonly number[]): number {
  check(labels, scores);
  let sum = 0;
  for (let i = 0; i < labels.length; i++) {
    const p = Math.min(1 - LOG_LOSS_EPSILON, Math.max(LOG_LOSS_EPSILON, scores[i] ?? 0));
    sum += labels[i] === 1 ? -Math.log(p) : -Math.log(1 - p);
  }
  return sum / labels.length;
}

/** Precision and recall when `score >= threshold` predicts positive; 0 where the denominator is 0. */
export function precisionRecall(
  labels: readonly number[],
  scores: readonly number[],
  threshold: number,
): { precision: number; recall: number } {
  check(labels, scores);
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < labels.length; i++) {
    const predicted = (scores[i] ?? 0) >= threshold;
    if (predicted && labels[i] === 1) tp++;
    else if (predicted) fp++;
    else if (labels[i] === 1) fn++;
  }
  return { precision: tp + fp === 0 ? 0 : tp / (tp + fp), recall: tp + fn === 0 ? 0 : tp / (tp + fn) };
}

/**
 * Expected calibration error over equal-width bins of the score: the row-weighted mean of
 * |observed positive rate − mean score| per bin. Bin i holds [i/B, (i+1)/B), the last also 1.
 */
export function expectedCalibrationError(
  labels: readonly number[],
  scores: readonly number[],
  bins = CALIBRATION_BINS,
): number {
  check(labels, scores);
  const count = new Array<number>(bins).fill(0);
  const sumScore = new Array<number>(bins).fill(0);
  const sumLabel = new Array<number>(bins).fill(0);
  for (let i = 0; i < labels.length; i++) {
    const p = Math.min(1, Math.max(0, scores[i] ?? 0));
    const b = Math.min(bins - 1, Math.floor(p * bins));
    count[b] = (count[b] ?? 0) + 1;
    sumScore[b] = (sumScore[b] ?? 0) + p;
    sumLabel[b] = (sumLabel[b] ?? 0) + (labels[i] ?? 0);
  }
  let ece = 0;
  for (let b = 0; b < bins; b++) {
    const n = count[b] ?? 0;
    if (n > 0) ece += (n / labels.length) * Math.abs((sumLabel[b] ?? 0) / n - (sumScore[b] ?? 0) / n);
  }
  return ece;
}

/** Every metric the Evaluate step reports for one model. */
export function modelMetrics(
  labels: readonly number[],
  scores: readonly number[],
  threshold: number,
): ModelMetrics {
  const { precision, recall } = precisionRecall(labels, scores, threshold);
  return {
    auc: auc(labels, scores),
    logLoss: logLoss(labels, scores),
    precision,
    recall,
    calibrationError: expectedCalibrationError(labels, scores),
    rows: labels.length,
  };
}
