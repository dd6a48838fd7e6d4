/**
 * CloudWatch statistics over the samples of one period: the five plain statistics and the
 * `pNN` percentiles, with the names CloudWatch spells them.
 */

/** The statistics CloudWatch names in `Statistic`. */
export const PLAIN_STATISTICS = ['SampleCount', 'Average', 'Sum', 'Minimum', 'Maximum'] as const;
export type PlainStatistic = (typeof PLAIN_STATISTICS)[number];

/** A percentile `p0`..`p100` with up to 10 decimals, as `ExtendedStatistic` spells it. */
const PERCENTILE = /^p(\d{1,2}(\.\d{1,10})?|100(\.0{1,10})?)$/;

/** Raised for a statistic the local CloudWatch does not compute (trimmed means, IQM...). */
export class UnsupportedStatisticError extends Error {
  override readonly name: string = 'UnsupportedStatisticError';
}

/** Whether `name` is a plain statistic. */
export function isPlainStatistic(name: string): name is PlainStatistic {
  return (PLAIN_STATISTICS as readonly string[]).includes(name);
}

/** Whether `name` is an extended statistic the local CloudWatch computes (`p99`, `p99.9`). */
export function isSupportedExtendedStatistic(name: string): boolean {
  return PERCENTILE.test(name);
}

/** The percentile a `pNN` names, or throws for any other extended statistic. */
function percentileOf(name: string): number {
  if (!PERCENTILE.test(name)) {
    throw new UnsupportedStatisticError(
      `extended statistic ${name} is not computed locally; use a percentile such as p99 or p99.9`,
    );
  }
  return Number(name.slice(1));
}

/** What one period's data points add up to. */
export interface PeriodAggregate {
  readonly sampleCount: number;
  readonly sum: number;
  readonly minimum: number;
  readonly maximum: number;
  /**
   * Individual values with their counts, for percentiles; statistic sets carry none.
   * @default - none: percentiles have no value
   */
  readonly values?: readonly (readonly [value: number, count: number])[];
}

/** The value of `statistic` over one period, or undefined when the period cannot give one. */
export function statisticValue(aggregate: PeriodAggregate, statistic: string): number | undefined {
  if (aggregate.sampleCount <= 0) return undefined;
  switch (statistic) {
    case 'SampleCount':
      return aggregate.sampleCount;
    case 'Sum':
      return aggregate.sum;
    case 'Average':
      return aggregate.sum / aggregate.sampleCount;
    case 'Minimum':
      return aggregate.minimum;
    case 'Maximum':
      return aggregate.maximum;
    default:
      return percentile(aggregate.values ?? [], percentileOf(statistic));
  }
}

/**
 * The nearest-rank percentile of weighted values: the smallest value whose cumulative count
 * reaches p% of the total. CloudWatch approximates percentiles; on a few exact values this agrees
 * with it.
 */
export function percentile(values: readonly (readonly [number, number])[], p: number): number | undefined {
  const weighted = values.filter(([, count]) => count > 0);
  const total = weighted.reduce((sum, [, count]) => sum + count, 0);
  if (total <= 0) return undefined;
  const sorted = [...weighted].sort((a, b) => a[0] - b[0]);
  // (p / 100) * total drifts above whole ranks (0.07 * 100 = 7.000000000000001), which would skip
  // to the next value; the rank is rounded to 9 decimals before taking the ceiling.
  const rank = Math.max(1, Math.ceil(Number(((p * total) / 100).toFixed(9))));
  let seen = 0;
  for (const [value, count] of sorted) {
    seen += count;
    if (seen >= rank) return value;
  }
  return sorted.at(-1)?.[0];
}
