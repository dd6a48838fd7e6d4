import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  auc,
  expectedCalibrationError,
  LOG_LOSS_EPSILON,
  logLoss,
  MetricInputError,
  modelMetrics,
  precisionRecall,
} from '../../../shared/pipeline/metrics.ts';

/** AUC by definition: the share of (positive, negative) pairs ranked correctly, ties counting one half. */
function pairwiseAuc(labels: readonly number[], scores: readonly number[]): number {
  let wins = 0;
  let pairs = 0;
  labels.forEach((yi, i) => {
    if (yi !== 1) return;
    labels.forEach((yj, j) => {
      if (yj !== 0) return;
      pairs++;
      const si = scores[i] ?? 0;
      const sj = scores[j] ?? 0;
      wins += si > sj ? 1 : si === sj ? 0.5 : 0;
    });
  });
  return wins / pairs;
}

describe('auc', () => {
  it('matches the textbook example (0.75)', () => {
    expect(auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])).toBeCloseTo(0.75, 12);
  });

  it('counts a tie between a positive and a negative as one half', () => {
    // Pairs: (0.5 vs 0.5) = 0.5, (0.5 vs 0.2) = 1, (0.9 vs 0.5) = 1, (0.9 vs 0.2) = 1 → 3.5 / 4.
    expect(auc([0, 1, 0, 1], [0.5, 0.5, 0.2, 0.9])).toBeCloseTo(0.875, 12);
    expect(auc([0, 1, 0, 1], [0.3, 0.3, 0.3, 0.3])).toBeCloseTo(0.5, 12);
  });

  it('is 1 for a perfect ranking and 0 for a reversed one', () => {
    expect(auc([0, 0, 1], [0.1, 0.2, 0.9])).toBe(1);
    expect(auc([1, 0, 0], [0.1, 0.2, 0.9])).toBe(0);
  });

  it('equals the brute-force pairwise count on random data with many ties', () => {
    fc.assert(
      fc.property(
        fc
          .array(fc.record({ y: fc.constantFrom(0, 1), s: fc.integer({ min: 0, max: 8 }) }), {
            minLength: 2,
            maxLength: 120,
          })
          .filter((rows) => rows.some((r) => r.y === 1) && rows.some((r) => r.y === 0)),
        (rows) => {
          const labels = rows.map((r) => r.y);
          const scores = rows.map((r) => r.s / 8);
          expect(auc(labels, scores)).toBeCloseTo(pairwiseAuc(labels, scores), 12);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses a split with a single class, naming the counts', () => {
    expect(() => auc([1, 1], [0.2, 0.3])).toThrow(/2 positive and 0 negative/);
  });
});

describe('logLoss', () => {
  it('is the mean negative log-likelihood', () => {
    // (-ln 0.8 - ln 0.7) / 2
    expect(logLoss([1, 0], [0.8, 0.3])).toBeCloseTo((0.2231435513142097 + 0.35667494393873245) / 2, 12);
  });

  it('clips probabilities to [1e-15, 1 - 1e-15] so a confident mistake stays finite', () => {
    expect(logLoss([1], [0])).toBeCloseTo(-Math.log(LOG_LOSS_EPSILON), 9);
    expect(logLoss([0], [1])).toBeCloseTo(-Math.log(LOG_LOSS_EPSILON), 1);
    expect(Number.isFinite(logLoss([0, 1], [1, 0]))).toBe(true);
  });
});

describe('precisionRecall', () => {
  it('predicts positive at score >= threshold', () => {
    // Predicted positive: 0.9 (y=1), 0.6 (y=0), 0.5 (y=1) → TP 2, FP 1, FN 1 (0.4, y=1).
    const { precision, recall } = precisionRecall([1, 1, 0, 0, 1], [0.9, 0.4, 0.6, 0.2, 0.5], 0.5);
    expect(precision).toBeCloseTo(2 / 3, 12);
    expect(recall).toBeCloseTo(2 / 3, 12);
  });

  it('reports 0 precision when nothing is predicted positive', () => {
    expect(precisionRecall([1, 0], [0.1, 0.2], 0.5)).toEqual({ precision: 0, recall: 0 });
  });
});

describe('expectedCalibrationError', () => {
  it('weights each bin gap by its share of rows', () => {
    // Bin 0: |0 - 0.05| × 1/4; bin 1: |1 - 0.15| × 1/4; bin 9: |0.5 - 0.95| × 2/4 → 0.45.
    expect(expectedCalibrationError([0, 1, 1, 0], [0.05, 0.15, 0.95, 0.95])).toBeCloseTo(0.45, 12);
  });

  it('puts a score of exactly 1 in the last bin and is 0 for a calibrated model', () => {
    expect(expectedCalibrationError([1, 1], [1, 1])).toBe(0);
    expect(expectedCalibrationError([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5])).toBe(0);
  });
});

describe('modelMetrics', () => {
  it('reports every metric and the row count', () => {
    const m = modelMetrics([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], 0.5);
    expect(m).toMatchObject({ auc: 0.75, precision: 1, recall: 0.5, rows: 4 });
  });

  it('refuses labels and scores of different lengths', () => {
    expect(() => modelMetrics([0, 1], [0.2], 0.5)).toThrow(MetricInputError);
  });
});
