/**
 * Drift decisions: the test chosen by reference size as Evidently does, the use case's overrides,
 * "insufficient data" below the minimum sample, and the dataset's drifted share.
 */
import { describe, expect, it } from 'vitest';
import { type UseCaseInput, UseCaseSchema } from '../../../shared/config/use-case.ts';
import { BaselineBuilder, type FeatureBaseline } from '../../../shared/features/stats.ts';
import {
  type CurrentValues,
  checkDrift,
  chooseDriftTest,
  type DriftCheck,
  type DriftSettings,
  datasetDrift,
  poolRareCategories,
} from '../../../shared/monitoring/drift.ts';
import { jensenShannon, ks2Samp, wassersteinNormalized } from '../../../shared/monitoring/statistics.ts';
import demo from '../../../use-cases/flight-delay.ts';

const thresholds = { pValue: 0.05, psi: 0.2, wasserstein: 0.1, jensenShannon: 0.1 };
const settings: DriftSettings = { thresholds, minSample: 50 };

/** A seeded normal sample (Box-Muller on mulberry32-like LCG). */
function normals(n: number, mean: number, sd: number, seed: number): number[] {
  let s = seed >>> 0;
  const u = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 4294967296;
  };
  return Array.from(
    { length: n },
    () => mean + sd * Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u()),
  );
}

function numericBaseline(values: readonly number[]): FeatureBaseline {
  const b = new BaselineBuilder([{ name: 'x', type: 'number', nullable: false }], 7);
  for (const v of values) b.add({ x: v });
  const out = b.result().x;
  if (!out) throw new Error('no baseline');
  return out;
}

function categoricalBaseline(values: readonly string[]): FeatureBaseline {
  const b = new BaselineBuilder([{ name: 'c', type: 'categorical', nullable: false }], 7);
  for (const v of values) b.add({ c: v });
  const out = b.result().c;
  if (!out) throw new Error('no baseline');
  return out;
}

const numeric = (values: readonly number[]): CurrentValues => ({
  kind: 'numeric',
  count: values.length,
  missing: 0,
  sample: Float64Array.from(values),
});

function categorical(values: readonly string[]): CurrentValues {
  const counts: Record<string, number> = {};
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
  return { kind: 'categorical', count: values.length, missing: 0, counts };
}

const letters = (n: number, weights: readonly number[]) => {
  const out: string[] = [];
  weights.forEach((w, i) => {
    for (let k = 0; k < Math.round(n * w); k++) out.push(String.fromCharCode(97 + i));
  });
  return out;
};

describe('test selection by reference size (Evidently defaults)', () => {
  it('uses KS for a numeric feature with at most 1,000 reference rows', () => {
    expect(chooseDriftTest(numericBaseline(normals(1000, 0, 1, 1)), settings)).toEqual({
      test: 'ks',
      threshold: 0.05,
      chosenBy: 'reference-size',
    });
  });

  it('uses normalized Wasserstein above 1,000 reference rows', () => {
    expect(chooseDriftTest(numericBaseline(normals(1001, 0, 1, 1)), settings).test).toBe('wasserstein');
  });

  it('uses chi-square for a categorical feature with at most 1,000 rows, Jensen-Shannon above', () => {
    expect(chooseDriftTest(categoricalBaseline(letters(1000, [0.5, 0.5])), settings).test).toBe('chi-square');
    expect(chooseDriftTest(categoricalBaseline(letters(5000, [0.5, 0.5])), settings).test).toBe(
      'jensen-shannon',
    );
  });

  it('treats a numeric feature with at most 5 distinct values as categorical', () => {
    const fiveValues = Array.from({ length: 800 }, (_, i) => i % 5);
    const sixValues = Array.from({ length: 800 }, (_, i) => i % 6);
    expect(chooseDriftTest(numericBaseline(fiveValues), settings).test).toBe('chi-square');
    expect(chooseDriftTest(numericBaseline(sixValues), settings).test).toBe('ks');
    expect(chooseDriftTest(numericBaseline([...fiveValues, ...fiveValues]), settings).test).toBe(
      'jensen-shannon',
    );
  });

  it('refuses a threshold without the test it belongs to', () => {
    const parsed = UseCaseSchema.safeParse({
      ...demo,
      monitoring: { ...demo.monitoring, features: { distance: { threshold: 0.3 } } },
    });
    expect(parsed.error?.issues[0]).toMatchObject({
      path: ['monitoring', 'features', 'distance', 'threshold'],
    });
  });

  it('takes the test and threshold the use case names for the feature', () => {
    const ref = numericBaseline(normals(5000, 0, 1, 1));
    expect(chooseDriftTest(ref, { ...settings, check: { test: 'psi', threshold: 0.25 } })).toEqual({
      test: 'psi',
      threshold: 0.25,
      chosenBy: 'config',
    });
    expect(chooseDriftTest(ref, { ...settings, check: { threshold: 0.3 } })).toMatchObject({
      test: 'wasserstein',
      threshold: 0.3,
      chosenBy: 'reference-size',
    });
  });
});

describe('checkDrift', () => {
  it('finds no drift when the window comes from the reference distribution, and drift when it moved', () => {
    const ref = numericBaseline(normals(800, 10, 2, 3));
    const same = checkDrift('x', ref, numeric(normals(500, 10, 2, 4)), settings);
    const moved = checkDrift('x', ref, numeric(normals(500, 11, 2, 5)), settings);
    expect(same).toMatchObject({ test: 'ks', verdict: 'no-drift', referenceSize: 800, currentSize: 500 });
    expect(moved).toMatchObject({ test: 'ks', verdict: 'drift' });
    expect(moved.pValue).toBeLessThan(0.05);
  });

  it('computes the statistic of the chosen test on the baseline sample and the window sample', () => {
    const refValues = normals(5000, 0, 1, 8);
    const ref = numericBaseline(refValues);
    const cur = normals(3000, 0.3, 1, 9);
    const check = checkDrift('x', ref, numeric(cur), settings);
    if (ref.kind !== 'numeric') throw new Error('numeric');
    expect(check.test).toBe('wasserstein');
    expect(check.statistic).toBe(wassersteinNormalized(ref.sample, cur));
    expect(check.referenceCompared).toBe(2000);
    expect(check.verdict).toBe(check.statistic !== null && check.statistic >= 0.1 ? 'drift' : 'no-drift');
    const ks = checkDrift('x', ref, numeric(cur), { ...settings, check: { test: 'ks' } });
    expect(ks.pValue).toBe(ks2Samp(ref.sample, cur).pValue);
  });

  it('says insufficient-data below monitoring.minSample, with no statistic', () => {
    const check = checkDrift(
      'x',
      numericBaseline(normals(800, 0, 1, 1)),
      numeric(normals(49, 5, 1, 2)),
      settings,
    );
    expect(check).toMatchObject({ verdict: 'insufficient-data', statistic: null, pValue: null });
    expect(check.detail).toContain('minSample');
  });

  it('drifts on a category the reference never had once it is seen 5 times, and leaves a stray out', () => {
    const ref = categoricalBaseline(letters(600, [0.5, 0.5]));
    const news = checkDrift(
      'c',
      ref,
      categorical([...letters(300, [0.5, 0.5]), 'z', 'z', 'z', 'z', 'z']),
      settings,
    );
    expect(news).toMatchObject({ test: 'chi-square', verdict: 'drift', statistic: null, pValue: 0 });
    expect(news.detail).toContain('z');
    const stray = checkDrift('c', ref, categorical([...letters(300, [0.5, 0.5]), 'z']), settings);
    expect(stray).toMatchObject({ test: 'chi-square', verdict: 'no-drift' });
    expect(stray.detail).toContain('left out of the test');
  });

  it('folds unlisted categories into __other__ when the baseline folded its long tail', () => {
    const tail = Array.from({ length: 400 }, (_, i) => `cat${i}`);
    const ref = categoricalBaseline([...tail, ...tail, ...tail]);
    const current = categorical([...tail, ...tail].map((c, i) => (i % 2 === 0 ? c : `new${i}`)));
    const check = checkDrift('c', ref, current, settings);
    expect(check.test).toBe('jensen-shannon');
    expect(check.detail ?? '').not.toContain('never had');
  });

  it('flags a categorical shift with Jensen-Shannon on a large reference', () => {
    const ref = categoricalBaseline(letters(4000, [0.25, 0.25, 0.25, 0.25]));
    expect(checkDrift('c', ref, categorical(letters(400, [0.25, 0.25, 0.25, 0.25])), settings).verdict).toBe(
      'no-drift',
    );
    expect(checkDrift('c', ref, categorical(letters(400, [0.7, 0.1, 0.1, 0.1])), settings).verdict).toBe(
      'drift',
    );
  });
});

describe('rare categories', () => {
  /** 150 categories with a long tail, drawn with a seeded PRNG. */
  function draws(n: number, seed: number): string[] {
    let s = seed >>> 0;
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      out.push(`d${Math.floor(150 * (s / 4294967296) ** 2)}`);
    }
    return out;
  }

  it('pools categories expected fewer than 5 times, so a high-cardinality feature does not drift on noise', () => {
    const ref = categoricalBaseline(draws(20_000, 1));
    const current = categorical(draws(300, 2));
    if (ref.kind !== 'categorical' || current.kind !== 'categorical') throw new Error('categorical');
    // Unpooled, the same distribution looks drifted: most categories are empty by chance.
    expect(jensenShannon(ref.frequencies, current.counts)).toBeGreaterThan(0.1);
    const check = checkDrift('c', ref, current, settings);
    expect(check).toMatchObject({ test: 'jensen-shannon', verdict: 'no-drift' });
    expect(check.detail).toMatch(/rare categories pooled/);
  });

  it('keeps a category the reference never had apart from the pooled ones, and drops a stray one', () => {
    const pooled = poolRareCategories({ a: 500, b: 490, c: 5, d: 5 }, { a: 40, b: 40, c: 1, z: 6, y: 2 });
    expect(pooled).toEqual({
      reference: { a: 500, b: 490, __rare__: 10 },
      current: { a: 40, b: 40, __rare__: 1, z: 6 },
      pooled: 2,
      strays: 1,
    });
  });
});

describe('datasetDrift', () => {
  const check = (feature: string, verdict: DriftCheck['verdict']): DriftCheck => ({
    feature,
    test: 'ks',
    chosenBy: 'reference-size',
    threshold: 0.05,
    statistic: verdict === 'insufficient-data' ? null : 0.2,
    pValue: null,
    referenceSize: 100,
    referenceCompared: 100,
    currentSize: 100,
    currentCompared: 100,
    verdict,
  });

  it('drifts when the drifted share reaches driftShare, counting only decided features', () => {
    const checks = [check('a', 'drift'), check('b', 'no-drift'), check('c', 'insufficient-data')];
    expect(datasetDrift(checks, 300, { driftShare: 0.5, minSample: 50 })).toMatchObject({
      decision: 'drift',
      driftedShare: 0.5,
      driftedFeatures: ['a'],
      decided: 2,
    });
    expect(datasetDrift(checks, 300, { driftShare: 0.6, minSample: 50 }).decision).toBe('no-drift');
  });

  it('is insufficient-data below minSample rows or with no decided feature', () => {
    expect(datasetDrift([check('a', 'drift')], 49, { driftShare: 0.5, minSample: 50 }).decision).toBe(
      'insufficient-data',
    );
    expect(
      datasetDrift([check('a', 'insufficient-data')], 500, { driftShare: 0.5, minSample: 50 }),
    ).toMatchObject({ decision: 'insufficient-data', driftedShare: 0 });
  });
});

describe('monitoring settings in the use case', () => {
  const withMonitoring = (monitoring: Partial<UseCaseInput['monitoring']>) =>
    UseCaseSchema.safeParse({ ...demo, monitoring: { ...demo.monitoring, ...monitoring } });

  it('accepts per-feature tests and thresholds, and applies the defaults', () => {
    const parsed = withMonitoring({
      features: { distance: { test: 'psi', threshold: 0.25 }, hour: { enabled: false } },
    });
    expect(parsed.success).toBe(true);
    expect(parsed.data?.monitoring).toMatchObject({
      windowHours: 24,
      sampleLimit: 100_000,
      minLabels: 100,
      features: { distance: { test: 'psi', threshold: 0.25, enabled: true }, hour: { enabled: false } },
    });
  });

  it('names a feature the use case does not have', () => {
    const parsed = withMonitoring({ features: { altitude: { test: 'ks' } } });
    expect(parsed.error?.issues[0]).toMatchObject({ path: ['monitoring', 'features', 'altitude'] });
    expect(parsed.error?.issues[0]?.message).toContain('not a feature');
  });

  it('refuses a numeric test on a categorical feature, and a p-value threshold of 1 or more', () => {
    const wrongTest = withMonitoring({ features: { origin: { test: 'wasserstein' } } });
    expect(wrongTest.error?.issues[0]).toMatchObject({ path: ['monitoring', 'features', 'origin', 'test'] });
    const wrongThreshold = withMonitoring({ features: { distance: { test: 'ks', threshold: 1.5 } } });
    expect(wrongThreshold.error?.issues[0]).toMatchObject({
      path: ['monitoring', 'features', 'distance', 'threshold'],
    });
    const score = withMonitoring({ prediction: { test: 'chi-square' } });
    expect(score.error?.issues[0]).toMatchObject({ path: ['monitoring', 'prediction', 'test'] });
  });
});
