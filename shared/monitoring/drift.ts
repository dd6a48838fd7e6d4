/**
 * Drift of one feature, and of the dataset, decided as Evidently decides it by default
 * (evidently `calculations/stattests/registry.py` `get_default_stattest`): the test is chosen by
 * the number of reference rows and the feature's type, unless the use case names one.
 *
 * - At most 1,000 reference rows: two-sample KS (drift when p < 0.05) for a numeric feature with
 *   more than 5 distinct values, chi-square (p < 0.05) for a categorical or low-cardinality one.
 * - Above: Wasserstein distance normalized by the reference standard deviation (drift when
 *   >= 0.1) for numeric, Jensen-Shannon distance (>= 0.1) for categorical.
 *
 * Evidently uses a Z-test for binary categoricals in small samples; the use case contract asks
 * for chi-square there, which tests the same hypothesis. Unlike Evidently, categories expected
 * fewer than 5 times in the window are pooled before chi-square and Jensen-Shannon (see
 * {@link MIN_EXPECTED_COUNT}), so a high-cardinality feature does not drift on sampling noise. The reference is the training baseline
 * of the dataset manifest: its counts and frequencies, and its uniform sample of at most 2,000
 * values per numeric feature (complete when the reference has at most 1,000 rows, so the small-
 * sample tests see every reference value).
 */
import {
  type DriftTest,
  type Feature,
  NUMERIC_ONLY_TESTS,
  P_VALUE_TESTS,
  type UseCase,
} from '../config/use-case.ts';
import { type FeatureBaseline, OTHER_CATEGORY } from '../features/stats.ts';
import {
  type CategoryCounts,
  chiSquare,
  jensenShannon,
  ks2Samp,
  psi,
  wassersteinNormalized,
} from './statistics.ts';

/**
 * A reference category expected fewer times than this in the window is pooled with the other
 * rare ones (Cochran's rule for chi-square: expected counts of at least 5). Without it, a
 * categorical with many values (150 destinations, say) seen in a few hundred predictions leaves
 * most categories empty by chance, and both chi-square and Jensen-Shannon report drift on noise.
 */
export const MIN_EXPECTED_COUNT = 5;
/** The pooled category of {@link MIN_EXPECTED_COUNT}. */
export const RARE_CATEGORY = '__rare__';

/** At most this many reference rows, Evidently tests with KS and chi-square; above, with distances. */
export const SMALL_REFERENCE_ROWS = 1000;
/** A numeric feature with at most this many distinct reference values is tested as categorical. */
export const LOW_CARDINALITY = 5;

/** One feature in the current window, as the window accumulator hands it over. */
export type CurrentValues =
  | {
      readonly kind: 'numeric';
      /** Rows with a value. */
      readonly count: number;
      readonly missing: number;
      /** A uniform sample of the values (all of them when the window is small). */
      readonly sample: Float64Array;
    }
  | {
      readonly kind: 'categorical';
      readonly count: number;
      readonly missing: number;
      /** Every value's count (booleans as "true"/"false"). */
      readonly counts: CategoryCounts;
    };

/** Why a test was used: chosen by the reference size, or named in the use case. */
export type TestChoice = 'reference-size' | 'config';

/** The drift check of one feature (or of the score). */
export interface DriftCheck {
  readonly feature: string;
  readonly test: DriftTest;
  readonly chosenBy: TestChoice;
  /** p-value tests drift below it; distance tests at or above it. */
  readonly threshold: number;
  /** The test's statistic; null when no decision was taken, or chi-square met a category the reference never had. */
  readonly statistic: number | null;
  readonly pValue: number | null;
  /** Reference rows with a value, and how many of them the test compared. */
  readonly referenceSize: number;
  readonly referenceCompared: number;
  /** Current rows with a value, and how many of them the test compared. */
  readonly currentSize: number;
  readonly currentCompared: number;
  readonly verdict: 'drift' | 'no-drift' | 'insufficient-data';
  /** A sentence on a special case: too few values, a category the reference never had. */
  readonly detail?: string;
}

/** A use case's drift settings for one feature, resolved. */
export interface DriftSettings {
  readonly thresholds: UseCase['monitoring']['thresholds'];
  readonly minSample: number;
  readonly check?: { readonly test?: DriftTest; readonly threshold?: number };
}

function distinctCount(sample: readonly number[], stopAbove: number): number {
  const seen = new Set<number>();
  for (const v of sample) {
    seen.add(v);
    if (seen.size > stopAbove) break;
  }
  return seen.size;
}

/** Whether a baseline is tested as categorical: a categorical feature, or a numeric one with few distinct values. */
export function testedAsCategorical(reference: FeatureBaseline): boolean {
  return (
    reference.kind === 'categorical' || distinctCount(reference.sample, LOW_CARDINALITY) <= LOW_CARDINALITY
  );
}

/** The default threshold of a test. */
export function defaultThreshold(test: DriftTest, thresholds: DriftSettings['thresholds']): number {
  switch (test) {
    case 'ks':
    case 'chi-square':
      return thresholds.pValue;
    case 'psi':
      return thresholds.psi;
    case 'wasserstein':
      return thresholds.wasserstein;
    case 'jensen-shannon':
      return thresholds.jensenShannon;
  }
}

/** The test and threshold for a feature: the use case's choice, else Evidently's by reference size. */
export function chooseDriftTest(
  reference: FeatureBaseline,
  settings: DriftSettings,
): { test: DriftTest; threshold: number; chosenBy: TestChoice } {
  const categorical = testedAsCategorical(reference);
  const named = settings.check?.test;
  // A named numeric test cannot run on a categorical baseline (the config check refuses it for
  // declared categoricals; a numeric column with few values still has numbers, so it may).
  if (named && !(reference.kind === 'categorical' && NUMERIC_ONLY_TESTS.has(named))) {
    return {
      test: named,
      threshold: settings.check?.threshold ?? defaultThreshold(named, settings.thresholds),
      chosenBy: 'config',
    };
  }
  const small = reference.count <= SMALL_REFERENCE_ROWS;
  const test: DriftTest = small
    ? categorical
      ? 'chi-square'
      : 'ks'
    : categorical
      ? 'jensen-shannon'
      : 'wasserstein';
  return {
    test,
    threshold: settings.check?.threshold ?? defaultThreshold(test, settings.thresholds),
    chosenBy: 'reference-size',
  };
}

/** Category counts of numbers, keyed as the baseline keys categories (String(value)). */
function countsOf(values: ArrayLike<number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < values.length; i++) {
    const key = String(values[i]);
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

/**
 * Current counts on the reference's categories: when the baseline folded its rare categories into
 * `__other__`, a current category it does not list is folded the same way, so a long tail is not
 * mistaken for new categories.
 */
function alignToReference(reference: CategoryCounts, current: CategoryCounts): Record<string, number> {
  if (!(OTHER_CATEGORY in reference)) return { ...current };
  const out: Record<string, number> = {};
  for (const [k, n] of Object.entries(current)) {
    const key = k in reference ? k : OTHER_CATEGORY;
    out[key] = (out[key] ?? 0) + n;
  }
  return out;
}

/**
 * Prepares category counts for chi-square and Jensen-Shannon: the reference categories expected
 * fewer than MIN_EXPECTED_COUNT times in the window are pooled into one, on both sides; a category
 * the reference never had is kept once seen at least MIN_EXPECTED_COUNT times (news, not noise)
 * and left out below that (data quality still counts it as unseen), so that one stray value
 * cannot make the statistic infinite.
 */
export function poolRareCategories(
  reference: CategoryCounts,
  current: CategoryCounts,
): { reference: Record<string, number>; current: Record<string, number>; pooled: number; strays: number } {
  const strays = Object.keys(current).filter(
    (k) => !(k in reference) && (current[k] ?? 0) < MIN_EXPECTED_COUNT,
  );
  const kept = Object.fromEntries(Object.entries(current).filter(([k]) => !strays.includes(k)));
  const refTotal = Object.values(reference).reduce((a, b) => a + b, 0);
  const curTotal = Object.values(kept).reduce((a, b) => a + b, 0);
  const rare = new Set(
    Object.entries(reference)
      .filter(([, n]) => (n / refTotal) * curTotal < MIN_EXPECTED_COUNT)
      .map(([k]) => k),
  );
  // Pooling one category alone changes nothing; pooling all leaves nothing to compare.
  if (rare.size < 2 || rare.size === Object.keys(reference).length) {
    return { reference: { ...reference }, current: kept, pooled: 0, strays: strays.length };
  }
  const fold = (counts: CategoryCounts) => {
    const out: Record<string, number> = {};
    for (const [k, n] of Object.entries(counts)) {
      const key = rare.has(k) ? RARE_CATEGORY : k;
      out[key] = (out[key] ?? 0) + n;
    }
    return out;
  };
  return { reference: fold(reference), current: fold(kept), pooled: rare.size, strays: strays.length };
}

function nullIfNotFinite(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

/** Checks one feature of the current window against its training baseline. */
export function checkDrift(
  feature: string,
  reference: FeatureBaseline,
  current: CurrentValues,
  settings: DriftSettings,
): DriftCheck {
  const { test, threshold, chosenBy } = chooseDriftTest(reference, settings);
  const currentCompared = current.kind === 'numeric' ? current.sample.length : current.count;
  const referenceCompared = reference.kind === 'numeric' ? reference.sample.length : reference.count;
  const base = {
    feature,
    test,
    chosenBy,
    threshold,
    referenceSize: reference.count,
    referenceCompared,
    currentSize: current.count,
    currentCompared,
  };
  const undecided = (detail: string): DriftCheck => ({
    ...base,
    statistic: null,
    pValue: null,
    verdict: 'insufficient-data',
    detail,
  });
  if (referenceCompared === 0) return undecided('the training baseline holds no values of this feature');
  if (current.count < settings.minSample) {
    return undecided(
      `${current.count} value(s) in the window, below monitoring.minSample (${settings.minSample})`,
    );
  }
  if (reference.kind !== current.kind && reference.kind === 'categorical') {
    return undecided('the window holds numbers where the baseline holds categories');
  }

  let statistic: number;
  let pValue: number | null = null;
  let detail: string | undefined;
  if (test === 'chi-square' || test === 'jensen-shannon') {
    const refRaw = reference.kind === 'categorical' ? reference.frequencies : countsOf(reference.sample);
    const curRaw = alignToReference(
      refRaw,
      current.kind === 'categorical' ? current.counts : countsOf(current.sample),
    );
    const unseen = Object.keys(curRaw).filter((k) => !(k in refRaw));
    const { reference: refCounts, current: curCounts, pooled, strays } = poolRareCategories(refRaw, curRaw);
    const notes = [
      ...(unseen.length > 0 ? [`categories the reference never had: ${unseen.slice(0, 5).join(', ')}`] : []),
      ...(strays > 0
        ? [`${strays} of them seen fewer than ${MIN_EXPECTED_COUNT} times, left out of the test`]
        : []),
      ...(pooled > 0
        ? [`${pooled} rare categories pooled (expected < ${MIN_EXPECTED_COUNT} in the window)`]
        : []),
    ];
    if (notes.length > 0) detail = notes.join('; ');
    if (test === 'chi-square') {
      const r = chiSquare(refCounts, curCounts);
      statistic = r.statistic;
      pValue = r.pValue;
    } else {
      statistic = jensenShannon(refCounts, curCounts);
    }
  } else {
    if (reference.kind !== 'numeric' || current.kind !== 'numeric') {
      return undecided(`${test} compares numbers; this feature holds categories`);
    }
    if (test === 'ks') {
      const r = ks2Samp(reference.sample, current.sample);
      statistic = r.statistic;
      pValue = r.pValue;
    } else if (test === 'psi') {
      statistic = psi(reference.histogram, current.sample);
    } else {
      statistic = wassersteinNormalized(reference.sample, current.sample);
    }
  }
  const drifted = P_VALUE_TESTS.has(test)
    ? pValue !== null && !Number.isNaN(pValue) && pValue < threshold
    : statistic >= threshold;
  return {
    ...base,
    statistic: nullIfNotFinite(statistic),
    pValue: pValue === null ? null : nullIfNotFinite(pValue),
    verdict: drifted ? 'drift' : 'no-drift',
    ...(detail ? { detail } : {}),
  };
}

/** The dataset's verdict from its features' checks. */
export interface DatasetDrift {
  readonly decision: 'drift' | 'no-drift' | 'insufficient-data';
  /** Drifted features over features decided (0 when none was). */
  readonly driftedShare: number;
  readonly driftedFeatures: readonly string[];
  /** Features with a verdict other than insufficient-data. */
  readonly decided: number;
  readonly threshold: number;
}

/**
 * Dataset drift as Evidently's DatasetDriftMetric: drifted when the share of drifted features is
 * at least `driftShare`. Features without a decision do not count; with none decided, or fewer
 * predictions than `minSample`, the verdict is insufficient-data.
 */
export function datasetDrift(
  checks: readonly DriftCheck[],
  rows: number,
  monitoring: Pick<UseCase['monitoring'], 'driftShare' | 'minSample'>,
): DatasetDrift {
  const decided = checks.filter((c) => c.verdict !== 'insufficient-data');
  const driftedFeatures = decided.filter((c) => c.verdict === 'drift').map((c) => c.feature);
  const driftedShare = decided.length === 0 ? 0 : driftedFeatures.length / decided.length;
  const decision =
    rows < monitoring.minSample || decided.length === 0
      ? 'insufficient-data'
      : driftedShare >= monitoring.driftShare
        ? 'drift'
        : 'no-drift';
  return {
    decision,
    driftedShare,
    driftedFeatures,
    decided: decided.length,
    threshold: monitoring.driftShare,
  };
}

/** The drift settings of one feature of a use case. */
export function driftSettingsFor(useCase: UseCase, feature: Feature): DriftSettings {
  const check = useCase.monitoring.features[feature.name];
  return {
    thresholds: useCase.monitoring.thresholds,
    minSample: useCase.monitoring.minSample,
    ...(check ? { check } : {}),
  };
}
