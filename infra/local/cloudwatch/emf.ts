/**
 * CloudWatch Embedded Metric Format: a log line that is an EMF JSON object (`_aws.CloudWatchMetrics`)
 * becomes metric data points, as CloudWatch Logs extracts them from a Lambda function's log group.
 */
import * as z from 'zod';
import { type MetricDatumInput, MetricDatumSchema, UNITS } from './metrics.ts';

const DirectiveSchema = z.looseObject({
  Namespace: z.string().min(1).max(255),
  Dimensions: z.array(z.array(z.string().min(1)).max(30)),
  Metrics: z
    .array(
      z.looseObject({
        Name: z.string().min(1).max(1024),
        Unit: z.enum(UNITS).optional(),
        StorageResolution: z.union([z.literal(1), z.literal(60)]).optional(),
      }),
    )
    .max(100),
});

const EmfSchema = z.looseObject({
  _aws: z.looseObject({
    Timestamp: z.number().int().nonnegative(),
    CloudWatchMetrics: z.array(DirectiveSchema).min(1),
  }),
});

/** The data points of one EMF document, per namespace. */
export interface EmfMetrics {
  readonly namespace: string;
  readonly data: MetricDatumInput[];
}

/**
 * The JSON a log line carries: the whole line (what Powertools and the EMF libraries write), or
 * the message after the runtime's `time\trequestId\tLEVEL\t` prefix (a handler's console.log).
 */
function jsonOf(line: string): unknown {
  const trimmed = line.trim();
  // JSON text holds no raw tab, so the first tab before a brace ends the prefix.
  const start = trimmed.startsWith('{') ? 0 : trimmed.indexOf('\t{') + 1;
  if (start === 0 && !trimmed.startsWith('{')) return undefined;
  try {
    return JSON.parse(trimmed.slice(start));
  } catch {
    return undefined;
  }
}

/**
 * The metrics of a log line when it is a valid EMF document, else undefined. As CloudWatch does,
 * a metric value may be a number or an array of up to 100 numbers, a dimension value must be a
 * string at the root of the document, and a document with an invalid directive yields nothing.
 */
export function parseEmf(line: string): EmfMetrics[] | undefined {
  if (!line.includes('"_aws"')) return undefined;
  const parsed = EmfSchema.safeParse(jsonOf(line));
  if (!parsed.success) return undefined;
  const doc = parsed.data as Record<string, unknown> & z.infer<typeof EmfSchema>;
  const timestamp = new Date(doc._aws.Timestamp);
  const out: EmfMetrics[] = [];
  for (const directive of doc._aws.CloudWatchMetrics) {
    const data: MetricDatumInput[] = [];
    for (const set of directive.Dimensions.length === 0 ? [[]] : directive.Dimensions) {
      const dimensions: { Name: string; Value: string }[] = [];
      for (const name of set) {
        const value = doc[name];
        if (typeof value !== 'string') return undefined;
        dimensions.push({ Name: name, Value: value });
      }
      for (const metric of directive.Metrics) {
        const raw = doc[metric.Name];
        const values = Array.isArray(raw) ? raw : [raw];
        if (values.length === 0 || values.length > 100) return undefined;
        if (!values.every((v): v is number => typeof v === 'number' && Number.isFinite(v))) return undefined;
        const datum: MetricDatumInput = {
          MetricName: metric.Name,
          Dimensions: dimensions,
          Timestamp: timestamp,
          Values: values,
          ...(metric.Unit === undefined ? {} : { Unit: metric.Unit }),
        };
        // What PutMetricData would refuse (an empty dimension value, a 300-character name) makes
        // the document invalid here, rather than an error where the log line is ingested.
        if (!MetricDatumSchema.safeParse(datum).success) return undefined;
        data.push(datum);
      }
    }
    out.push({ namespace: directive.Namespace, data });
  }
  return out;
}
