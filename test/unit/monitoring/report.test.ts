/**
 * The distributions the monitor writes to the full report in S3: the baseline's decile shares (as
 * PSI bins them) and both samples on common bins, compact enough to draw and to store per window.
 */
import { describe, expect, it } from 'vitest';
import { type Feature, modelFeatures, UseCaseSchema } from '../../../shared/config/use-case.ts';
import { BaselineBuilder, mulberry32 } from '../../../shared/features/stats.ts';
import { buildMonitoringReference } from '../../../shared/monitoring/reference.ts';
import {
  commonBins,
  NumericDistributionSchema,
  ReportDistributionsSchema,
  reportDistributions,
} from '../../../shared/monitoring/report.ts';
import { VersionWindow } from '../../../shared/monitoring/window.ts';
import demo from '../../../use-cases/flight-delay.ts';

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

describe('commonBins', () => {
  it('gives a small integer range one bin per value, centred on it', () => {
    // Prepare
    const reference = Array.from({ length: 240 }, (_, i) => i % 24);
    const current = [18, 19, 20, 21, 22, 23, 0, 1];
    // Act
    const bins = commonBins(reference, current);
    // Assess
    expect(bins?.edges).toHaveLength(25);
    expect(bins?.edges[0]).toBe(-0.5);
    expect(bins?.edges.at(-1)).toBe(23.5);
    expect(bins?.reference).toEqual(new Array(24).fill(10));
    expect(bins?.current.slice(18)).toEqual([1, 1, 1, 1, 1, 1]);
    expect(sum(bins?.current ?? [])).toBe(current.length);
  });

  it('keeps a wide integer range on integer-aligned bins, so no bin holds more values than another', () => {
    // Act
    const bins = commonBins(
      Array.from({ length: 50 }, (_, i) => 5 + i),
      [54],
    );
    // Assess: 50 values in bins of 3, each bin edge half-way between two integers.
    expect(bins?.edges.length).toBeLessThanOrEqual(21);
    for (const e of bins?.edges ?? []) expect(e - Math.floor(e)).toBe(0.5);
    expect(bins?.reference.slice(0, -1).every((n) => n === 3)).toBe(true);
    expect(sum(bins?.reference ?? [])).toBe(50);
  });

  it('spans both samples with equal-width bins for real values, the maximum in the last bin', () => {
    // Prepare
    const random = mulberry32(7);
    const reference = Array.from({ length: 1000 }, () => random());
    const current = Array.from({ length: 400 }, () => 0.5 + random());
    // Act
    const bins = commonBins(reference, Float64Array.from(current), 20);
    // Assess
    expect(bins?.edges).toHaveLength(21);
    expect(bins?.edges[0]).toBe(Math.min(...reference, ...current));
    expect(bins?.edges.at(-1)).toBeCloseTo(Math.max(...reference, ...current), 10);
    expect(sum(bins?.reference ?? [])).toBe(1000);
    expect(sum(bins?.current ?? [])).toBe(400);
    // The current sample sits above 0.5: nothing of it in the lowest bins.
    expect(bins?.current[0]).toBe(0);
    expect(bins?.reference.at(-1)).toBe(0);
  });

  it('puts a constant feature in one bin, and has nothing to bin when both samples are empty', () => {
    // Assess
    expect(commonBins([2.5, 2.5], [2.5])).toEqual({ edges: [2, 3], reference: [2], current: [1] });
    expect(commonBins([], new Float64Array(0))).toBeUndefined();
  });
});

describe('reportDistributions', () => {
  const useCase = UseCaseSchema.parse(demo);
  const features: Feature[] = modelFeatures(useCase);
  const builder = new BaselineBuilder(features, 1);
  const row = (i: number, shift = 0) => ({
    delayRate2h: ((i % 10) / 10 + shift) % 1,
    flights2h: 10 + (i % 30),
    hour: (i + shift * 10) % 24,
    weekday: 1 + (i % 7),
    distance: 200 + i + shift * 1000,
    origin: i % 2 === 0 ? 'ORD' : 'ATL',
    destination: i % 3 === 0 ? 'DFW' : 'LAX',
  });
  for (let i = 0; i < 500; i++) builder.add(row(i));
  const baseline = builder.result();
  const scores = Array.from({ length: 300 }, (_, i) => i / 300);
  const reference = {
    modelVersion: 'flight-delay-v1',
    runId: 'run-1',
    datasetHash: 'a'.repeat(64),
    manifest: { uri: 's3://datasets/snapshots/manifest.json' },
    baseline,
    prediction: {
      ...buildMonitoringReference(
        'flight-delay',
        'run-1',
        scores,
        scores.map((s) => (s > 0.5 ? 1 : 0)),
        1,
      ),
      rows: scores.length,
    },
  };
  const window = new VersionWindow(features, baseline, 1000);
  for (let i = 0; i < 200; i++) window.add({ features: row(i, 0.5), score: 0.2 + i / 400 });

  it('holds every feature and the score, in a shape its schema reads back', () => {
    // Act
    const out = reportDistributions(useCase, reference, window.contents());
    // Assess
    expect(Object.keys(out).sort()).toEqual([...features.map((f) => f.name), 'score'].sort());
    expect(ReportDistributionsSchema.parse(JSON.parse(JSON.stringify(out)))).toEqual(out);
  });

  it('keeps the decile shares PSI compares and adds both samples on common bins', () => {
    // Act
    const distance = NumericDistributionSchema.parse(
      reportDistributions(useCase, reference, window.contents()).distance,
    );
    // Assess
    const base = baseline.distance;
    if (base?.kind !== 'numeric') throw new Error('distance is numeric');
    expect(distance.edges).toEqual(base.histogram.edges);
    expect(distance.reference).toEqual(base.histogram.shares);
    expect(sum(distance.current)).toBeCloseTo(1, 10);
    expect(sum(distance.bins?.reference ?? [])).toBe(base.sample.length);
    expect(sum(distance.bins?.current ?? [])).toBe(200);
    // The window moved distance up by 500 miles: the common bins reach beyond the training maximum.
    expect(distance.bins?.edges.at(-1)).toBeGreaterThan(base.max ?? 0);
  });

  it('gives categorical features their category counts on both sides', () => {
    // Act
    const origin = reportDistributions(useCase, reference, window.contents()).origin;
    // Assess
    expect(origin).toEqual({ reference: { ATL: 250, ORD: 250 }, current: { ATL: 100, ORD: 100 } });
  });

  it('leaves out the score when the version has no monitoring reference', () => {
    // Prepare
    const { prediction: _, ...withoutScores } = reference;
    // Act
    const out = reportDistributions(useCase, withoutScores, window.contents());
    // Assess
    expect(out.score).toBeUndefined();
  });
});
