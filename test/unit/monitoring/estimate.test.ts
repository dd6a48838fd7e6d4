/**
 * Quality estimated from scores alone (CBPE): the isotonic fit against scipy's
 * `isotonic_regression` (test/fixtures/monitoring/isotonic-reference.py), the expected AUC against
 * NannyML's formula computed the slow way, and every estimate against labels drawn from the
 * calibration it assumes.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../../shared/features/stats.ts';
import {
  type Calibration,
  CalibrationInputError,
  calibrated,
  estimatedQuality,
  fitCalibration,
} from '../../../shared/monitoring/estimate.ts';
import { auc, expectedCalibrationError, logLoss } from '../../../shared/pipeline/metrics.ts';

interface Fixture {
  readonly scipy: string;
  readonly cases: readonly {
    readonly name: string;
    readonly scores: number[];
    readonly labels: number[];
    /** scipy's fitted value at each input point. */
    readonly fitted: number[];
    /** The knots sklearn's IsotonicRegression keeps. */
    readonly knots: { readonly x: number[]; readonly y: number[] };
  }[];
}

const fixture = JSON.parse(
  readFileSync(new URL('../../fixtures/monitoring/isotonic-reference.json', import.meta.url), 'utf8'),
) as Fixture;

/** `n` draws of `draw`, from a PRNG seeded with `seed`. */
function draws(seed: number, n: number, draw: (u: () => number) => number): number[] {
  const u = mulberry32(seed);
  return Array.from({ length: n }, () => draw(u));
}

/** Labels drawn as Bernoulli(p) for each p. */
function bernoulli(seed: number, probabilities: readonly number[]): number[] {
  const u = mulberry32(seed);
  return probabilities.map((p) => (u() < p ? 1 : 0));
}

/** NannyML's expected AUC as a sum over all ordered pairs of rows, a row paired with itself included. */
function pairwiseExpectedAuc(scores: readonly number[], p: readonly number[]): number {
  let numerator = 0;
  let positives = 0;
  let negatives = 0;
  for (let i = 0; i < scores.length; i++) {
    const pi = p[i] ?? 0;
    positives += pi;
    negatives += 1 - pi;
    for (let j = 0; j < scores.length; j++) {
      const si = scores[i] ?? 0;
      const sj = scores[j] ?? 0;
      numerator += pi * (1 - (p[j] ?? 0)) * (si > sj ? 1 : si === sj ? 0.5 : 0);
    }
  }
  return numerator / (positives * negatives);
}

/**
 * NannyML 0.13.1's `estimate_roc_auc` line by line, one threshold per row, without its rounding of
 * the running sums to 5 decimals: argsort descending, cumsum, prepend 0, normalise, trapezoid.
 */
function nannymlEstimateRocAuc(p: readonly number[], scores: readonly number[]): number {
  const order = scores.map((_, i) => i).sort((a, b) => (scores[b] ?? 0) - (scores[a] ?? 0));
  const tps = [0];
  const fps = [0];
  let cumsum = 0;
  for (const [k, i] of order.entries()) {
    cumsum += p[i] ?? 0;
    tps.push(cumsum);
    fps.push(1 + k - cumsum);
  }
  const tpr = tps.map((t) => t / (tps[tps.length - 1] ?? 1));
  const fpr = fps.map((f) => f / (fps[fps.length - 1] ?? 1));
  let area = 0;
  for (let k = 1; k < tpr.length; k++) {
    area += ((fpr[k] ?? 0) - (fpr[k - 1] ?? 0)) * (((tpr[k] ?? 0) + (tpr[k - 1] ?? 0)) / 2);
  }
  return area;
}

describe('fitCalibration', () => {
  it.each(fixture.cases)('matches scipy.optimize.isotonic_regression at every point: $name', (c) => {
    // Act
    const fit = fitCalibration(c.scores, c.labels);

    // Assess
    for (const [i, score] of c.scores.entries()) {
      expect(Math.abs(calibrated(fit, score) - (c.fitted[i] ?? Number.NaN))).toBeLessThanOrEqual(1e-12);
    }
  });

  it.each(fixture.cases)('keeps the knots sklearn keeps: $name', (c) => {
    // Act
    const fit = fitCalibration(c.scores, c.labels);

    // Assess
    expect(fit.kind).toBe('isotonic');
    expect(fit.x).toEqual(c.knots.x);
    expect(fit.y).toHaveLength(c.knots.y.length);
    for (const [k, y] of fit.y.entries()) {
      expect(Math.abs(y - (c.knots.y[k] ?? Number.NaN))).toBeLessThanOrEqual(1e-12);
    }
  });

  it('survives a JSON round trip unchanged', () => {
    // Prepare
    const scores = draws(1, 300, (u) => u());
    const fit = fitCalibration(scores, bernoulli(2, scores));

    // Act
    const copy = JSON.parse(JSON.stringify(fit)) as Calibration;

    // Assess
    expect(copy).toEqual(fit);
    for (const s of scores) expect(calibrated(copy, s)).toBe(calibrated(fit, s));
  });

  it.each([
    ['no rows', [], [], /no scores/],
    ['more scores than labels', [0.1, 0.2], [1], /2 scores but 1 labels/],
    ['a NaN score', [0.1, Number.NaN], [0, 1], /score 2 is NaN/],
    ['an infinite score', [0.1, Number.POSITIVE_INFINITY], [0, 1], /score 2 is Infinity/],
    ['a label of 2', [0.1, 0.2], [0, 2], /label 2 is 2, not 0 or 1/],
    ['a label of 0.5', [0.1, 0.2], [0.5, 1], /label 1 is 0.5/],
  ])('refuses %s', (_, scores, labels, message) => {
    // Act
    const fit = (): Calibration => fitCalibration(scores, labels);

    // Assess
    expect(fit).toThrow(CalibrationInputError);
    expect(fit).toThrow(message);
  });
});

describe('calibrated', () => {
  const calibration: Calibration = { kind: 'isotonic', x: [0.2, 0.6, 0.8], y: [0.1, 0.5, 0.9] };

  it('interpolates linearly between knots', () => {
    // Act
    const values = [0.4, 0.7, 0.6].map((s) => calibrated(calibration, s));

    // Assess
    expect(values[0]).toBeCloseTo(0.3, 15);
    expect(values[1]).toBeCloseTo(0.7, 15);
    expect(values[2]).toBe(0.5);
  });

  it('clips to the end knots outside them', () => {
    // Act
    const values = [-1, 0, 0.2, 0.8, 1, 5].map((s) => calibrated(calibration, s));

    // Assess
    expect(values).toEqual([0.1, 0.1, 0.1, 0.9, 0.9, 0.9]);
  });
});

describe('estimatedQuality', () => {
  it.each([1, 2, 3, 7, 20, 40])('gives the expected AUC of the pairwise definition, %i rows', (n) => {
    // Prepare: half the scores on a coarse grid so that ties occur.
    const testScores = draws(10 + n, 200, (u) => u());
    const calibration = fitCalibration(testScores, bernoulli(20 + n, testScores));
    const scores = draws(30 + n, n, (u) => (u() < 0.5 ? Math.floor(u() * 5) / 5 : u()));
    const p = scores.map((s) => calibrated(calibration, s));

    // Act
    const estimate = estimatedQuality(scores, calibration);

    // Assess
    expect(estimate.auc).not.toBeNull();
    expect(Math.abs((estimate.auc ?? Number.NaN) - pairwiseExpectedAuc(scores, p))).toBeLessThan(1e-12);
    expect(Math.abs((estimate.auc ?? Number.NaN) - nannymlEstimateRocAuc(p, scores))).toBeLessThan(1e-12);
  });

  it('counts each row paired with itself, as NannyML does', () => {
    // Prepare: p = 0.2 at score 0.2 and p = 0.9 at score 0.8.
    const calibration: Calibration = { kind: 'isotonic', x: [0.2, 0.8], y: [0.2, 0.9] };

    // Act
    const estimate = estimatedQuality([0.2, 0.8], calibration);

    // Assess: (0.9 * 0.8 + (0.9 * 0.1 + 0.2 * 0.8) / 2) / (1.1 * 0.9), not 0.72 / (0.72 + 0.02).
    expect(estimate.auc).toBeCloseTo(0.845 / 0.99, 14);
  });

  it('treats tied scores as one threshold, whatever their order', () => {
    // Prepare
    const calibration: Calibration = { kind: 'isotonic', x: [0, 1], y: [0, 1] };
    const scores = [0.3, 0.7, 0.3, 0.7, 0.5, 0.3];

    // Act
    const forward = estimatedQuality(scores, calibration);
    const backward = estimatedQuality([...scores].reverse(), calibration);

    // Assess
    expect(forward.auc).toBe(backward.auc);
    expect(forward.auc).toBeCloseTo(pairwiseExpectedAuc(scores, scores), 14);
  });

  it('agrees with the realized metrics when the calibration leaves no doubt about a label', () => {
    // Prepare: p is 0 up to 0.44 and 1 from 0.46, so the labels are p itself. The step falls inside
    // the bin [0.4, 0.5), which then holds both classes; other scores sit on bin edges or outside [0, 1].
    const calibration: Calibration = { kind: 'isotonic', x: [0.44, 0.46], y: [0, 1] };
    const scores = [
      -0.1, 0, 0.1, 0.2, 0.3, 0.3, 0.35, 0.4, 0.41, 0.44, 0.46, 0.49, 0.5, 0.6, 0.7, 0.9, 1, 1.2,
    ];
    const labels = scores.map((s) => calibrated(calibration, s));

    // Act
    const estimate = estimatedQuality(scores, calibration);

    // Assess
    expect(estimate.auc).toBeCloseTo(auc(labels, scores), 14);
    expect(estimate.logLoss).toBeCloseTo(logLoss(labels, scores), 12);
    expect(estimate.calibrationError).toBeCloseTo(expectedCalibrationError(labels, scores), 14);
    expect(estimate.positiveRate).toBe(labels.filter((y) => y === 1).length / scores.length);
    expect(estimate.count).toBe(scores.length);
  });

  it('matches the realized AUC and log loss of labels drawn from the calibration, 20,000 rows', () => {
    // Prepare: a model whose scores overstate the risk (P(y = 1 | s) = s^2), calibrated on a test
    // split of 5,000, then serving traffic skewed toward high scores.
    const testScores = draws(101, 5000, (u) => u());
    const calibration = fitCalibration(
      testScores,
      bernoulli(
        102,
        testScores.map((s) => s * s),
      ),
    );
    const scores = draws(103, 20_000, (u) => u() ** 0.7);

    // Act
    const estimate = estimatedQuality(scores, calibration);

    // Assess
    const labels = bernoulli(
      104,
      scores.map((s) => calibrated(calibration, s)),
    );
    expect(Math.abs((estimate.auc ?? Number.NaN) - auc(labels, scores))).toBeLessThan(0.01);
    expect(Math.abs(estimate.logLoss - logLoss(labels, scores))).toBeLessThan(0.01);
    expect(
      Math.abs(estimate.positiveRate - labels.filter((y) => y === 1).length / labels.length),
    ).toBeLessThan(0.01);
    expect(estimate.count).toBe(20_000);
  });

  it('finds a calibrated model calibrated and an overconfident one not', () => {
    // Prepare: labels drawn from the scores themselves; the overconfident model reports sqrt of them.
    const testScores = draws(201, 20_000, (u) => u());
    const labels = bernoulli(202, testScores);
    const serving = draws(203, 20_000, (u) => u());
    const pushed = (s: number): number => Math.sqrt(s);

    // Act
    const honest = estimatedQuality(serving, fitCalibration(testScores, labels));
    const overconfident = estimatedQuality(
      serving.map(pushed),
      fitCalibration(testScores.map(pushed), labels),
    );

    // Assess: the overconfident gap is mean(sqrt(s) - s) = 1/6.
    expect(honest.calibrationError).toBeLessThan(0.02);
    expect(overconfident.calibrationError).toBeGreaterThan(0.12);
    expect(overconfident.calibrationError).toBeGreaterThan(5 * honest.calibrationError);
  });

  it.each([
    ['every calibrated probability is 0', [0, 0], 0],
    ['every calibrated probability is 1', [1, 1], 1],
  ])('reports no AUC when %s', (_, y, positiveRate) => {
    // Prepare
    const calibration: Calibration = { kind: 'isotonic', x: [0.2, 0.8], y };

    // Act
    const estimate = estimatedQuality([0.1, 0.5, 0.9], calibration);

    // Assess
    expect(estimate.auc).toBeNull();
    expect(estimate.positiveRate).toBe(positiveRate);
    expect(Number.isFinite(estimate.logLoss)).toBe(true);
  });

  it.each([
    ['an empty window', [], { kind: 'isotonic', x: [0, 1], y: [0, 1] }, /no scores/],
    ['a NaN score', [0.2, Number.NaN], { kind: 'isotonic', x: [0, 1], y: [0, 1] }, /score 2 is NaN/],
    ['a calibration without knots', [0.2], { kind: 'isotonic', x: [], y: [] }, /at least one/],
    ['knots of unequal lengths', [0.2], { kind: 'isotonic', x: [0, 1], y: [0] }, /as many y as x/],
    ['x that does not increase', [0.2], { kind: 'isotonic', x: [0, 0.5, 0.5], y: [0, 0.1, 0.2] }, /knot 3/],
    ['y that decreases', [0.2], { kind: 'isotonic', x: [0, 0.5, 1], y: [0, 0.4, 0.3] }, /knot 3 has y 0.3/],
    ['y above 1', [0.2], { kind: 'isotonic', x: [0, 1], y: [0, 1.5] }, /knot 2 has y 1.5/],
  ] as const)('refuses %s', (_, scores, calibration, message) => {
    // Act
    const estimate = () =>
      estimatedQuality(scores, { kind: calibration.kind, x: [...calibration.x], y: [...calibration.y] });

    // Assess
    expect(estimate).toThrow(CalibrationInputError);
    expect(estimate).toThrow(message);
  });
});
