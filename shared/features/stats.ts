/**
 * Per-feature baseline statistics, accumulated in one streaming pass with bounded memory. They
 * are the reference that drift monitoring compares serving traffic against.
 */
import type { Feature } from '../config/use-case.ts';
import type { FeatureValue } from './records.ts';

/** Values kept per numeric feature for quantiles and two-sample tests (KS, Wasserstein). */
export const RESERVOIR_SIZE = 2000;
/** Categories kept per categorical feature; the rest are counted under OTHER_CATEGORY. */
export const MAX_CATEGORIES = 200;
export const OTHER_CATEGORY = '__other__';
const QUANTILES = [0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99] as const;

export interface NumericBaseline {
  readonly kind: 'numeric';
  readonly count: number;
  readonly missing: number;
  readonly min: number | null;
  readonly max: number | null;
  readonly mean: number | null;
  /** Quantile (as a string key like "0.5") to value, from the reservoir sample. */
  readonly quantiles: Readonly<Record<string, number>>;
  /** Bin edges (deciles of the sample) and the share of the sample in each bin. */
  readonly histogram: { readonly edges: readonly number[]; readonly shares: readonly number[] };
  /** A uniform sample of the values, sorted. */
  readonly sample: readonly number[];
}

export interface CategoricalBaseline {
  readonly kind: 'categorical';
  readonly count: number;
  readonly missing: number;
  /** Category to count. */
  readonly frequencies: Readonly<Record<string, number>>;
}

export type FeatureBaseline = NumericBaseline | CategoricalBaseline;

/** Deterministic PRNG (mulberry32): the same data always gives the same sample and manifest hash. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Linear-interpolated quantile of a sorted array. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) throw new Error('quantile of an empty sample');
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo] ?? 0;
  const b = sorted[hi] ?? a;
  return a + (b - a) * (pos - lo);
}

/** Shares of `values` in the bins defined by `edges` (first and last bins are open-ended). */
export function binShares(values: readonly number[], edges: readonly number[]): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (const v of values) {
    let i = 0;
    while (i < edges.length && v > (edges[i] ?? Number.POSITIVE_INFINITY)) i++;
    counts[i] = (counts[i] ?? 0) + 1;
  }
  return counts.map((c) => (values.length === 0 ? 0 : c / values.length));
}

class NumericAccumulator {
  private count = 0;
  private missing = 0;
  private sum = 0;
  private min = Number.POSITIVE_INFINITY;
  private max = Number.NEGATIVE_INFINITY;
  private readonly reservoir: number[] = [];
  constructor(private readonly random: () => number) {}

  add(v: FeatureValue): void {
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      this.missing++;
      return;
    }
    this.count++;
    this.sum += v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
    if (this.reservoir.length < RESERVOIR_SIZE) this.reservoir.push(v);
    else {
      const j = Math.floor(this.random() * this.count);
      if (j < RESERVOIR_SIZE) this.reservoir[j] = v;
    }
  }

  result(): NumericBaseline {
    const sample = [...this.reservoir].sort((a, b) => a - b);
    const empty = sample.length === 0;
    const edges = empty
      ? []
      : [...new Set([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9].map((q) => quantile(sample, q)))];
    return {
      kind: 'numeric',
      count: this.count,
      missing: this.missing,
      min: empty ? null : this.min,
      max: empty ? null : this.max,
      mean: empty ? null : this.sum / this.count,
      quantiles: empty ? {} : Object.fromEntries(QUANTILES.map((q) => [String(q), quantile(sample, q)])),
      histogram: { edges, shares: binShares(sample, edges) },
      sample,
    };
  }
}

class CategoricalAccumulator {
  private count = 0;
  private missing = 0;
  private readonly frequencies = new Map<string, number>();

  add(v: FeatureValue): void {
    if (v === null || v === undefined || v === '') {
      this.missing++;
      return;
    }
    this.count++;
    let key = String(v);
    if (!this.frequencies.has(key) && this.frequencies.size >= MAX_CATEGORIES) key = OTHER_CATEGORY;
    this.frequencies.set(key, (this.frequencies.get(key) ?? 0) + 1);
  }

  result(): CategoricalBaseline {
    const sorted = [...this.frequencies.entries()].sort(([a], [b]) => a.localeCompare(b));
    return {
      kind: 'categorical',
      count: this.count,
      missing: this.missing,
      frequencies: Object.fromEntries(sorted),
    };
  }
}

/** Accumulates baselines for a fixed list of features. */
export class BaselineBuilder {
  private readonly accumulators: Map<string, NumericAccumulator | CategoricalAccumulator>;

  constructor(features: readonly Feature[], seed = 42) {
    const random = mulberry32(seed);
    this.accumulators = new Map(
      features.map((f) => [
        f.name,
        f.type === 'number' || f.type === 'integer'
          ? new NumericAccumulator(random)
          : new CategoricalAccumulator(),
      ]),
    );
  }

  /** Adds one row's values (missing names count as missing). */
  add(values: Readonly<Record<string, FeatureValue>>): void {
    for (const [name, acc] of this.accumulators) acc.add(values[name] ?? null);
  }

  /** The baselines, by feature name. */
  result(): Record<string, FeatureBaseline> {
    return Object.fromEntries([...this.accumulators].map(([name, acc]) => [name, acc.result()]));
  }
}
