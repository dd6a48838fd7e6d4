/**
 * Metric data: the datum shape PutMetricData takes (also what the emulators emit in process), and
 * the in-memory store of data points that alarms and GetMetricStatistics read.
 */
import * as z from 'zod';
import type { PeriodAggregate } from './statistics.ts';

/** CloudWatch's units. */
export const UNITS = [
  'Seconds',
  'Microseconds',
  'Milliseconds',
  'Bytes',
  'Kilobytes',
  'Megabytes',
  'Gigabytes',
  'Terabytes',
  'Bits',
  'Kilobits',
  'Megabits',
  'Gigabits',
  'Terabits',
  'Percent',
  'Count',
  'Bytes/Second',
  'Kilobytes/Second',
  'Megabytes/Second',
  'Gigabytes/Second',
  'Terabytes/Second',
  'Bits/Second',
  'Kilobits/Second',
  'Megabits/Second',
  'Gigabits/Second',
  'Terabits/Second',
  'Count/Second',
  'None',
] as const;
export type MetricUnit = (typeof UNITS)[number];

export const DimensionSchema = z.looseObject({
  Name: z.string().min(1).max(255),
  Value: z.string().min(1).max(1024),
});
export type Dimension = z.infer<typeof DimensionSchema>;

/** A timestamp as the AWS JSON protocols carry it (epoch seconds), or a Date from in-process callers. */
const TimestampSchema = z
  .union([z.date(), z.number()])
  .transform((v) => (v instanceof Date ? v : new Date(v * 1000)));

/** One entry of PutMetricData's MetricData. */
export const MetricDatumSchema = z
  .looseObject({
    MetricName: z.string().min(1).max(255),
    Dimensions: z.array(DimensionSchema).max(30).optional(),
    Timestamp: TimestampSchema.optional(),
    Value: z.number().finite().optional(),
    StatisticValues: z
      .looseObject({
        SampleCount: z.number().positive(),
        Sum: z.number().finite(),
        Minimum: z.number().finite(),
        Maximum: z.number().finite(),
      })
      .optional(),
    Values: z.array(z.number().finite()).max(150).optional(),
    Counts: z.array(z.number().nonnegative()).max(150).optional(),
    Unit: z.enum(UNITS).optional(),
    StorageResolution: z.number().int().optional(),
  })
  .superRefine((d, ctx) => {
    const given = [d.Value !== undefined, d.StatisticValues !== undefined, d.Values !== undefined];
    if (given.filter(Boolean).length > 1) {
      ctx.addIssue({ code: 'custom', message: 'Value, StatisticValues and Values are mutually exclusive' });
    }
    if (d.Counts !== undefined && d.Counts.length !== (d.Values?.length ?? -1)) {
      ctx.addIssue({ code: 'custom', message: 'Counts must have as many entries as Values' });
    }
  });
/** A metric datum as callers write it (Timestamp a Date, or epoch seconds on the wire). */
export type MetricDatumInput = z.input<typeof MetricDatumSchema>;
type MetricDatum = z.output<typeof MetricDatumSchema>;

/** Where an emulator sends the metrics it emits (the local CloudWatch, in process). */
export interface MetricSink {
  /** Records data points as PutMetricData does, AWS/ namespaces included. */
  putMetricData(namespace: string, data: readonly MetricDatumInput[]): void;
}

/** One recorded data point, with its samples. */
interface StoredPoint extends PeriodAggregate {
  readonly time: number;
  readonly unit?: MetricUnit;
}

/** A metric: namespace, name and exact dimension set; each distinct set is its own metric. */
export interface MetricIdentity {
  readonly namespace: string;
  readonly metricName: string;
  /** Sorted by name. */
  readonly dimensions: readonly Dimension[];
}

interface Series extends MetricIdentity {
  readonly points: StoredPoint[];
}

/** Dimensions sorted by name, so that the order a caller lists them in does not matter. */
function sortedDimensions(dimensions: readonly Dimension[] | undefined): Dimension[] {
  return [...(dimensions ?? [])]
    .map((d) => ({ Name: d.Name, Value: d.Value }))
    .sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
}

function seriesKey(namespace: string, metricName: string, dimensions: readonly Dimension[]): string {
  return JSON.stringify([namespace, metricName, dimensions.map((d) => [d.Name, d.Value])]);
}

/** The samples a datum carries. */
function pointOf(datum: MetricDatum, time: number): StoredPoint {
  const unit = datum.Unit === undefined ? {} : { unit: datum.Unit };
  if (datum.StatisticValues !== undefined) {
    const s = datum.StatisticValues;
    return { time, sampleCount: s.SampleCount, sum: s.Sum, minimum: s.Minimum, maximum: s.Maximum, ...unit };
  }
  const raw = datum.Values ?? (datum.Value === undefined ? [] : [datum.Value]);
  const values = raw.map((v, i) => [v, datum.Counts?.[i] ?? 1] as const).filter(([, c]) => c > 0);
  let sampleCount = 0;
  let sum = 0;
  let minimum = Number.POSITIVE_INFINITY;
  let maximum = Number.NEGATIVE_INFINITY;
  for (const [v, c] of values) {
    sampleCount += c;
    sum += v * c;
    minimum = Math.min(minimum, v);
    maximum = Math.max(maximum, v);
  }
  return { time, sampleCount, sum, minimum, maximum, values, ...unit };
}

/** Every data point recorded, by metric, kept for `retentionMs`. */
export class MetricStore {
  private readonly series = new Map<string, Series>();

  constructor(private readonly retentionMs: number) {}

  /** Records parsed data (see MetricDatumSchema); a datum without a timestamp is dated `now`. */
  put(namespace: string, data: readonly MetricDatumInput[], now: number = Date.now()): void {
    for (const input of data) {
      const datum = MetricDatumSchema.parse(input);
      const dimensions = sortedDimensions(datum.Dimensions);
      const key = seriesKey(namespace, datum.MetricName, dimensions);
      let series = this.series.get(key);
      if (series === undefined) {
        series = { namespace, metricName: datum.MetricName, dimensions, points: [] };
        this.series.set(key, series);
      }
      const point = pointOf(datum, datum.Timestamp?.getTime() ?? now);
      if (point.sampleCount <= 0) continue;
      // Points mostly arrive in time order; a late one is inserted where it belongs.
      const at = upperBound(series.points, point.time);
      series.points.splice(at, 0, point);
    }
    this.prune(now);
  }

  /** The metrics recorded, optionally filtered as ListMetrics does. */
  metrics(filter: {
    readonly namespace?: string;
    readonly metricName?: string;
    readonly dimensions?: readonly { readonly Name: string; readonly Value?: string }[];
  }): MetricIdentity[] {
    return [...this.series.values()]
      .filter((s) => filter.namespace === undefined || s.namespace === filter.namespace)
      .filter((s) => filter.metricName === undefined || s.metricName === filter.metricName)
      .filter((s) =>
        (filter.dimensions ?? []).every((f) =>
          s.dimensions.some((d) => d.Name === f.Name && (f.Value === undefined || d.Value === f.Value)),
        ),
      )
      .map(({ namespace, metricName, dimensions }) => ({ namespace, metricName, dimensions }));
  }

  /** What the points of one metric in [start, end) add up to, or undefined when there are none. */
  aggregate(
    metric: {
      readonly namespace: string;
      readonly metricName: string;
      readonly dimensions?: readonly Dimension[];
    },
    start: number,
    end: number,
    unit?: string,
  ): PeriodAggregate | undefined {
    const series = this.series.get(
      seriesKey(metric.namespace, metric.metricName, sortedDimensions(metric.dimensions)),
    );
    if (series === undefined) return undefined;
    const points = series.points.slice(lowerBound(series.points, start), lowerBound(series.points, end));
    // A datum sent without a Unit is stored as None, as CloudWatch stores it.
    const matching = unit === undefined ? points : points.filter((p) => (p.unit ?? 'None') === unit);
    if (matching.length === 0) return undefined;
    const values: (readonly [number, number])[] = [];
    let sampleCount = 0;
    let sum = 0;
    let minimum = Number.POSITIVE_INFINITY;
    let maximum = Number.NEGATIVE_INFINITY;
    for (const p of matching) {
      sampleCount += p.sampleCount;
      sum += p.sum;
      minimum = Math.min(minimum, p.minimum);
      maximum = Math.max(maximum, p.maximum);
      if (p.values) values.push(...p.values);
    }
    return { sampleCount, sum, minimum, maximum, values };
  }

  /** The unit the first point of a metric in [start, end) carries, for GetMetricStatistics' answer. */
  unitOf(
    metric: {
      readonly namespace: string;
      readonly metricName: string;
      readonly dimensions?: readonly Dimension[];
    },
    start: number,
    end: number,
  ): MetricUnit | undefined {
    const series = this.series.get(
      seriesKey(metric.namespace, metric.metricName, sortedDimensions(metric.dimensions)),
    );
    if (series === undefined) return undefined;
    return series.points
      .slice(lowerBound(series.points, start), lowerBound(series.points, end))
      .find((p) => p.unit)?.unit;
  }

  private prune(now: number): void {
    const cutoff = now - this.retentionMs;
    for (const [key, series] of this.series) {
      const keep = lowerBound(series.points, cutoff);
      if (keep > 0) series.points.splice(0, keep);
      if (series.points.length === 0) this.series.delete(key);
    }
  }
}

/** The first index whose point is at or after `time`. */
function lowerBound(points: readonly StoredPoint[], time: number): number {
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((points[mid]?.time ?? 0) < time) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The first index whose point is after `time`. */
function upperBound(points: readonly StoredPoint[], time: number): number {
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((points[mid]?.time ?? 0) <= time) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
