/**
 * One model version's predictions in a monitoring window, accumulated row by row with memory that
 * does not grow with traffic: counts per feature, a uniform sample (reservoir) of at most
 * `monitoring.sampleLimit` values per numeric feature and of the scores, category counts, and the
 * data-quality tallies against the use case's schema and the training baseline.
 */
import type { Feature } from '../config/use-case.ts';
import type { FeatureValue } from '../features/records.ts';
import { type FeatureBaseline, mulberry32, OTHER_CATEGORY } from '../features/stats.ts';
import type { CurrentValues } from './drift.ts';

/** Distinct categories counted per feature before the rest are counted as `__other__`. */
export const MAX_WINDOW_CATEGORIES = 10_000;
/** Unseen categories named in a data-quality finding. */
const UNSEEN_EXAMPLES = 5;

/** A uniform sample of at most `limit` rows of `width` numbers (Vitter's algorithm R). */
export class Reservoir {
  private readonly columns: Float64Array[];
  private filled = 0;
  /** Rows offered, kept or not. */
  seen = 0;

  constructor(
    private readonly limit: number,
    private readonly random: () => number,
    width = 1,
  ) {
    // Grown by doubling: a window of 300 rows must not allocate the 100,000-row limit per feature.
    this.columns = Array.from({ length: width }, () => new Float64Array(Math.min(limit, 1024)));
  }

  /** Offers one row. */
  add(...row: number[]): void {
    this.seen++;
    let at = this.filled;
    if (this.filled >= this.limit) {
      at = Math.floor(this.random() * this.seen);
      if (at >= this.limit) return;
    } else {
      this.filled++;
      if (at >= (this.columns[0]?.length ?? 0)) this.grow();
    }
    row.forEach((v, c) => {
      const column = this.columns[c];
      if (column) column[at] = v;
    });
  }

  private grow(): void {
    this.columns.forEach((column, c) => {
      const bigger = new Float64Array(Math.min(this.limit, column.length * 2));
      bigger.set(column);
      this.columns[c] = bigger;
    });
  }

  /** Column `c` of the kept rows (a view, in insertion order). */
  column(c = 0): Float64Array {
    return (this.columns[c] ?? new Float64Array(0)).subarray(0, this.filled);
  }
}

/** Data quality of one feature in the window. */
export interface FeatureQuality {
  readonly feature: string;
  readonly rows: number;
  readonly missing: number;
  readonly missingRate: number;
  /** The training baseline's missing rate, to compare with. */
  readonly referenceMissingRate: number;
  /** Values of the wrong type (a string for a number, say): counted as missing for drift. */
  readonly invalid: number;
  /** Numbers outside the use case's declared min/max. */
  readonly outOfRange?: number;
  /** Numbers outside what the training set held (its min and max). */
  readonly outsideTrainingRange?: number;
  /** Values of a categorical the use case does not declare, or (undeclared) the training set never had. */
  readonly unseen?: number;
  readonly unseenExamples?: readonly string[];
}

type NumericFeature = Extract<Feature, { type: 'number' | 'integer' }>;
type OtherFeature = Exclude<Feature, NumericFeature>;

function isNumeric(f: Feature): f is NumericFeature {
  return f.type === 'number' || f.type === 'integer';
}

interface FeatureWindow {
  add(v: FeatureValue | undefined): void;
  current(): CurrentValues;
  quality(rows: number): FeatureQuality;
}

/** The tallies every feature's quality has, whatever its type. */
function commonQuality(
  feature: string,
  rows: number,
  missing: number,
  invalid: number,
  baseline: FeatureBaseline,
): Pick<FeatureQuality, 'feature' | 'rows' | 'missing' | 'missingRate' | 'referenceMissingRate' | 'invalid'> {
  const total = baseline.count + baseline.missing;
  return {
    feature,
    rows,
    missing,
    missingRate: rows === 0 ? 0 : missing / rows,
    referenceMissingRate: total === 0 ? 0 : baseline.missing / total,
    invalid,
  };
}

class NumericWindow implements FeatureWindow {
  private count = 0;
  private missing = 0;
  private invalid = 0;
  private outOfRange = 0;
  private outsideTraining = 0;
  private readonly sample: Reservoir;

  constructor(
    private readonly feature: NumericFeature,
    private readonly baseline: FeatureBaseline,
    limit: number,
    random: () => number,
  ) {
    this.sample = new Reservoir(limit, random);
  }

  add(v: FeatureValue | undefined): void {
    if (v === null || v === undefined) {
      this.missing++;
      return;
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      this.invalid++;
      this.missing++;
      return;
    }
    this.count++;
    const { min, max } = this.feature;
    if ((min !== undefined && v < min) || (max !== undefined && v > max)) this.outOfRange++;
    const b = this.baseline;
    if (b.kind === 'numeric' && b.min !== null && b.max !== null && (v < b.min || v > b.max))
      this.outsideTraining++;
    this.sample.add(v);
  }

  current(): CurrentValues {
    return { kind: 'numeric', count: this.count, missing: this.missing, sample: this.sample.column() };
  }

  quality(rows: number): FeatureQuality {
    return {
      ...commonQuality(this.feature.name, rows, this.missing, this.invalid, this.baseline),
      outOfRange: this.outOfRange,
      outsideTrainingRange: this.outsideTraining,
    };
  }
}

class CategoricalWindow implements FeatureWindow {
  private count = 0;
  private missing = 0;
  private invalid = 0;
  private unseen = 0;
  private readonly unseenExamples = new Set<string>();
  private readonly counts = new Map<string, number>();
  private readonly known: ReadonlySet<string> | undefined;

  constructor(
    private readonly feature: OtherFeature,
    private readonly baseline: FeatureBaseline,
  ) {
    // Declared categories are the contract; without them, what training saw (unless it overflowed).
    if (feature.type === 'categorical' && feature.categories) this.known = new Set(feature.categories);
    else if (feature.type === 'boolean') this.known = new Set(['true', 'false']);
    else if (baseline.kind === 'categorical' && !(OTHER_CATEGORY in baseline.frequencies))
      this.known = new Set(Object.keys(baseline.frequencies));
  }

  add(v: FeatureValue | undefined): void {
    if (v === null || v === undefined || v === '') {
      this.missing++;
      return;
    }
    if (typeof v === 'object') {
      this.invalid++;
      this.missing++;
      return;
    }
    this.count++;
    let key = String(v);
    if (this.known && !this.known.has(key)) {
      this.unseen++;
      if (this.unseenExamples.size < UNSEEN_EXAMPLES) this.unseenExamples.add(key);
    }
    if (!this.counts.has(key) && this.counts.size >= MAX_WINDOW_CATEGORIES) key = OTHER_CATEGORY;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  current(): CurrentValues {
    return {
      kind: 'categorical',
      count: this.count,
      missing: this.missing,
      counts: Object.fromEntries(this.counts),
    };
  }

  quality(rows: number): FeatureQuality {
    return {
      ...commonQuality(this.feature.name, rows, this.missing, this.invalid, this.baseline),
      unseen: this.unseen,
      unseenExamples: [...this.unseenExamples],
    };
  }
}

/** The parts of one prediction-log line a window needs. */
export interface WindowRow {
  readonly features: Readonly<Record<string, FeatureValue>>;
  readonly score: number;
}

/** What a window holds once every row is in. */
export interface WindowContents {
  readonly rows: number;
  readonly features: Readonly<Record<string, CurrentValues>>;
  readonly quality: readonly FeatureQuality[];
  /** A uniform sample of the scores. */
  readonly scores: Float64Array;
  /** Predictions with feedback: a uniform sample of their scores and labels, and how many there were. */
  readonly labeled: { readonly count: number; readonly scores: Float64Array; readonly labels: Float64Array };
}

/** Accumulates one model version's rows. */
export class VersionWindow {
  private rows = 0;
  private readonly windows: Map<string, FeatureWindow>;
  private readonly scores: Reservoir;
  private readonly labeled: Reservoir;

  constructor(
    features: readonly Feature[],
    baseline: Readonly<Record<string, FeatureBaseline>>,
    sampleLimit: number,
    seed = 42,
  ) {
    const random = mulberry32(seed);
    this.windows = new Map(
      features.flatMap((f): [string, FeatureWindow][] => {
        const b = baseline[f.name];
        if (!b) return [];
        return [
          [
            f.name,
            isNumeric(f)
              ? new NumericWindow(f, b, sampleLimit, random)
              : new CategoricalWindow(f as OtherFeature, b),
          ],
        ];
      }),
    );
    this.scores = new Reservoir(sampleLimit, random);
    this.labeled = new Reservoir(sampleLimit, random, 2);
  }

  /** Adds one prediction, with its feedback label when there is one. */
  add(row: WindowRow, label?: 0 | 1): void {
    this.rows++;
    for (const [name, w] of this.windows) w.add(row.features[name]);
    if (Number.isFinite(row.score)) {
      this.scores.add(row.score);
      if (label !== undefined) this.labeled.add(row.score, label);
    }
  }

  /** The features, scores and labels seen so far. */
  contents(): WindowContents {
    return {
      rows: this.rows,
      features: Object.fromEntries([...this.windows].map(([n, w]) => [n, w.current()])),
      quality: [...this.windows.values()].map((w) => w.quality(this.rows)),
      scores: this.scores.column(),
      labeled: { count: this.labeled.seen, scores: this.labeled.column(0), labels: this.labeled.column(1) },
    };
  }
}
