/**
 * The local CloudWatch: metrics (PutMetricData, EMF log lines, what the emulators emit) and metric
 * alarms evaluated on them, over the AWS JSON 1.0 protocol with query compatibility that
 * @aws-sdk/client-cloudwatch speaks (`X-Amz-Target: GraniteServiceVersion20100801.<Op>`).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { gunzipSync } from 'node:zlib';
import * as z from 'zod';
import { listenLocal, readBody, sendAwsJson } from '../http.ts';
import type { LocalComparisonOperator, LocalPlacement, LocalTreatMissingData } from '../model.ts';
import {
  type AlarmDefinition,
  AlarmNotFoundError,
  AlarmRegistry,
  type AlarmSnapshot,
  type AlarmTransition,
  InvalidAlarmDefinitionError,
} from './alarms.ts';
import { CloudWatchApiError, invalidParameter } from './api-error.ts';
import { parseEmf } from './emf.ts';
import type { AlarmStateValue } from './evaluation.ts';
import {
  DimensionSchema,
  type MetricDatumInput,
  MetricDatumSchema,
  type MetricSink,
  MetricStore,
  UNITS,
} from './metrics.ts';
import {
  isPlainStatistic,
  isSupportedExtendedStatistic,
  PLAIN_STATISTICS,
  statisticValue,
} from './statistics.ts';

const TARGET_PREFIX = 'GraniteServiceVersion20100801.';
const STATES = ['OK', 'ALARM', 'INSUFFICIENT_DATA'] as const;
const OPERATORS = [
  'GreaterThanOrEqualToThreshold',
  'GreaterThanThreshold',
  'LessThanThreshold',
  'LessThanOrEqualToThreshold',
] as const satisfies readonly LocalComparisonOperator[];
const MISSING_DATA = [
  'breaching',
  'notBreaching',
  'ignore',
  'missing',
] as const satisfies readonly LocalTreatMissingData[];
/** Data points are kept this long at least (longer when an alarm's window needs it). */
const MIN_RETENTION_MS = 3 * 60 * 60 * 1000;

const EpochSchema = z
  .union([z.date(), z.number()])
  .transform((v) => (v instanceof Date ? v : new Date(v * 1000)));

const PutMetricDataSchema = z.looseObject({
  Namespace: z.string().min(1).max(255),
  MetricData: z.array(MetricDatumSchema).min(1).max(1000),
});
const PutMetricAlarmSchema = z.looseObject({
  AlarmName: z.string().min(1).max(255),
  AlarmDescription: z.string().max(1024).optional(),
  ActionsEnabled: z.boolean().optional(),
  OKActions: z.array(z.string()).optional(),
  AlarmActions: z.array(z.string()).optional(),
  InsufficientDataActions: z.array(z.string()).optional(),
  MetricName: z.string().min(1).max(255).optional(),
  Namespace: z.string().min(1).max(255).optional(),
  Statistic: z.enum(PLAIN_STATISTICS).optional(),
  ExtendedStatistic: z.string().optional(),
  Dimensions: z.array(DimensionSchema).max(30).optional(),
  Period: z.number().int().min(1).optional(),
  Unit: z.enum(UNITS).optional(),
  EvaluationPeriods: z.number().int().min(1),
  DatapointsToAlarm: z.number().int().min(1).optional(),
  Threshold: z.number().optional(),
  ComparisonOperator: z.string(),
  TreatMissingData: z.enum(MISSING_DATA).optional(),
  Metrics: z.array(z.unknown()).optional(),
  ThresholdMetricId: z.string().optional(),
});
const AlarmNamesSchema = z.looseObject({ AlarmNames: z.array(z.string().min(1)).max(100) });
const DescribeAlarmsSchema = z.looseObject({
  AlarmNames: z.array(z.string().min(1)).max(100).optional(),
  AlarmNamePrefix: z.string().min(1).max(255).optional(),
  AlarmTypes: z.array(z.enum(['CompositeAlarm', 'MetricAlarm'])).optional(),
  StateValue: z.enum(STATES).optional(),
  ActionPrefix: z.string().optional(),
  MaxRecords: z.number().int().min(1).max(100).optional(),
  NextToken: z.string().optional(),
});
const DescribeAlarmHistorySchema = z.looseObject({
  AlarmName: z.string().min(1).optional(),
  HistoryItemType: z
    .enum([
      'ConfigurationUpdate',
      'StateUpdate',
      'Action',
      'AlarmContributorStateUpdate',
      'AlarmContributorAction',
    ])
    .optional(),
  StartDate: EpochSchema.optional(),
  EndDate: EpochSchema.optional(),
  MaxRecords: z.number().int().min(1).max(100).optional(),
  NextToken: z.string().optional(),
  ScanBy: z.enum(['TimestampDescending', 'TimestampAscending']).optional(),
});
const SetAlarmStateSchema = z.looseObject({
  AlarmName: z.string().min(1).max(255),
  StateValue: z.enum(STATES),
  StateReason: z.string().max(1023),
  StateReasonData: z.string().max(4000).optional(),
});
const GetMetricStatisticsSchema = z.looseObject({
  Namespace: z.string().min(1),
  MetricName: z.string().min(1),
  Dimensions: z.array(DimensionSchema).max(30).optional(),
  StartTime: EpochSchema,
  EndTime: EpochSchema,
  Period: z.number().int().min(1),
  Statistics: z.array(z.enum(PLAIN_STATISTICS)).min(1).max(5).optional(),
  ExtendedStatistics: z.array(z.string()).min(1).max(10).optional(),
  Unit: z.enum(UNITS).optional(),
});
const ListMetricsSchema = z.looseObject({
  Namespace: z.string().optional(),
  MetricName: z.string().optional(),
  Dimensions: z
    .array(z.looseObject({ Name: z.string().min(1), Value: z.string().optional() }))
    .max(10)
    .optional(),
  NextToken: z.string().optional(),
});

/** Parses a request with a zod schema, reporting problems as CloudWatch does. */
function parse<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map(
    (i) => `Value at '${i.path.join('.')}' failed to satisfy constraint: ${i.message}`,
  );
  throw invalidParameter(problems.join('; '));
}

/** Pages with an offset token, as the other emulators do. */
function paginate<T>(items: readonly T[], max: number, token?: string): { page: T[]; next?: string } {
  const start = token ? Number.parseInt(token, 10) : 0;
  if (!Number.isInteger(start) || start < 0) {
    throw new CloudWatchApiError('InvalidNextToken', `The service cannot read the token ${token}.`);
  }
  const page = items.slice(start, start + max);
  return start + max < items.length ? { page, next: String(start + max) } : { page };
}

/** PutMetricAlarm's request as an alarm definition, refusing what the local CloudWatch cannot evaluate. */
function definitionOf(r: z.infer<typeof PutMetricAlarmSchema>): AlarmDefinition {
  if (r.Metrics !== undefined || r.ThresholdMetricId !== undefined) {
    throw invalidParameter(
      `Alarm ${r.AlarmName}: metric-math and anomaly-detection alarms are not evaluated by the local CloudWatch; define a single metric (Namespace, MetricName, Statistic).`,
    );
  }
  if (r.Namespace === undefined || r.MetricName === undefined || r.Period === undefined) {
    throw new CloudWatchApiError(
      'MissingRequiredParameterException',
      'Namespace, MetricName and Period are required for a single-metric alarm.',
    );
  }
  if (r.Threshold === undefined) {
    throw new CloudWatchApiError('MissingRequiredParameterException', 'The parameter Threshold is required.');
  }
  if ((r.Statistic === undefined) === (r.ExtendedStatistic === undefined)) {
    throw new CloudWatchApiError(
      'InvalidParameterCombinationException',
      'Exactly one of Statistic and ExtendedStatistic must be specified.',
    );
  }
  if (r.ExtendedStatistic !== undefined && !isSupportedExtendedStatistic(r.ExtendedStatistic)) {
    throw invalidParameter(
      `ExtendedStatistic ${r.ExtendedStatistic} is not computed locally; use a percentile such as p99.`,
    );
  }
  const operator = OPERATORS.find((o) => o === r.ComparisonOperator);
  if (operator === undefined) {
    throw invalidParameter(
      `ComparisonOperator ${r.ComparisonOperator} is not evaluated locally; use one of ${OPERATORS.join(', ')}.`,
    );
  }
  if (r.DatapointsToAlarm !== undefined && r.DatapointsToAlarm > r.EvaluationPeriods) {
    throw invalidParameter('DatapointsToAlarm must be less than or equal to EvaluationPeriods.');
  }
  return {
    name: r.AlarmName,
    ...(r.AlarmDescription === undefined ? {} : { description: r.AlarmDescription }),
    namespace: r.Namespace,
    metricName: r.MetricName,
    dimensions: (r.Dimensions ?? []).map((d) => ({ name: d.Name, value: d.Value })),
    ...(r.Statistic === undefined ? {} : { statistic: r.Statistic }),
    ...(r.ExtendedStatistic === undefined ? {} : { extendedStatistic: r.ExtendedStatistic }),
    ...(r.Unit === undefined ? {} : { unit: r.Unit }),
    periodSeconds: r.Period,
    evaluationPeriods: r.EvaluationPeriods,
    ...(r.DatapointsToAlarm === undefined ? {} : { datapointsToAlarm: r.DatapointsToAlarm }),
    threshold: r.Threshold,
    comparisonOperator: operator,
    ...(r.TreatMissingData === undefined ? {} : { treatMissingData: r.TreatMissingData }),
    actionsEnabled: r.ActionsEnabled ?? true,
    alarmActions: r.AlarmActions ?? [],
    okActions: r.OKActions ?? [],
    insufficientDataActions: r.InsufficientDataActions ?? [],
  };
}

/** A MetricAlarm as DescribeAlarms returns it. */
function metricAlarmOf(a: AlarmSnapshot): Record<string, unknown> {
  const d = a.definition;
  return {
    AlarmName: d.name,
    AlarmArn: d.arn,
    ...(d.description === undefined ? {} : { AlarmDescription: d.description }),
    AlarmConfigurationUpdatedTimestamp: a.configurationUpdated,
    ActionsEnabled: d.actionsEnabled ?? true,
    OKActions: d.okActions ?? [],
    AlarmActions: d.alarmActions ?? [],
    InsufficientDataActions: d.insufficientDataActions ?? [],
    StateValue: a.state,
    StateReason: a.reason,
    ...(a.reasonData === undefined ? {} : { StateReasonData: a.reasonData }),
    StateUpdatedTimestamp: a.stateUpdated,
    StateTransitionedTimestamp: a.stateUpdated,
    MetricName: d.metricName,
    Namespace: d.namespace,
    ...(d.statistic === undefined ? {} : { Statistic: d.statistic }),
    ...(d.extendedStatistic === undefined ? {} : { ExtendedStatistic: d.extendedStatistic }),
    Dimensions: d.dimensions.map((x) => ({ Name: x.name, Value: x.value })),
    Period: d.periodSeconds,
    ...(d.unit === undefined ? {} : { Unit: d.unit }),
    EvaluationPeriods: d.evaluationPeriods,
    ...(d.datapointsToAlarm === undefined ? {} : { DatapointsToAlarm: d.datapointsToAlarm }),
    Threshold: d.threshold,
    ComparisonOperator: d.comparisonOperator,
    ...(d.treatMissingData === undefined ? {} : { TreatMissingData: d.treatMissingData }),
  };
}

/** A StateUpdate item of DescribeAlarmHistory. */
function historyItemOf(t: AlarmTransition): Record<string, unknown> {
  return {
    AlarmName: t.alarmName,
    AlarmType: 'MetricAlarm',
    Timestamp: t.timestamp,
    HistoryItemType: 'StateUpdate',
    HistorySummary: `Alarm updated from ${t.oldState} to ${t.newState}`,
    HistoryData: JSON.stringify({
      version: '1.0',
      oldState: { stateValue: t.oldState },
      newState: {
        stateValue: t.newState,
        stateReason: t.reason,
        ...(t.reasonData === undefined ? {} : { stateReasonData: JSON.parse(t.reasonData) as unknown }),
      },
    }),
  };
}

/** GetMetricStatistics' question. */
export interface StatisticsQuery {
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions?: readonly { readonly Name: string; readonly Value: string }[];
  readonly start: Date;
  readonly end: Date;
  /** Seconds of wall-clock time (not scaled: the query's times are real). */
  readonly periodSeconds: number;
  /** Plain statistics and percentiles (`p99`). */
  readonly statistics: readonly string[];
  /** @default - every unit */
  readonly unit?: string;
}

/** One period of GetMetricStatistics' answer. */
export interface StatisticsDatapoint {
  readonly timestamp: Date;
  /** Statistic name to value (`Sum`, `p99`...). */
  readonly values: Readonly<Record<string, number>>;
  readonly unit?: string;
}

/** Options of {@link startCloudWatch}. */
export interface CloudWatchOptions {
  /** Region and account of alarm ARNs. */
  readonly placement: LocalPlacement;
  /**
   * Alarms to create at start, usually `assembly.alarms`.
   * @default - none
   */
  readonly alarms?: readonly AlarmDefinition[];
  /**
   * Multiplies every alarm period, as the cloud's timeScale multiplies Wait states.
   * @default 1
   */
  readonly timeScale?: number;
  /** @default - a free port */
  readonly port?: number;
  /**
   * Receives one line per alarm state change.
   * @default - nothing is logged
   */
  readonly log?: (line: string) => void;
}

/** A running local CloudWatch, with in-process methods for the emulators and tests. */
export interface LocalCloudWatch extends MetricSink {
  /** The API endpoint (AWS_ENDPOINT_URL_CLOUDWATCH). */
  readonly endpoint: string;
  readonly port: number;
  /** The time scale its alarm periods run at. */
  readonly timeScale: number;
  /** Extracts the EMF metrics of one log line, if it is an EMF document; returns how many data points it held. */
  ingestLogLine(line: string): number;
  /** Creates or replaces an alarm, as PutMetricAlarm does. */
  putAlarm(definition: AlarmDefinition): void;
  /** One alarm, evaluated now. */
  alarm(name: string): AlarmSnapshot | undefined;
  /** Every alarm, evaluated now. */
  alarms(): AlarmSnapshot[];
  /** Sets an alarm's state until its next evaluation, as SetAlarmState does. */
  setAlarmState(name: string, state: AlarmStateValue, reason: string): void;
  /** State changes, oldest first, of one alarm or of all. */
  history(alarmName?: string): AlarmTransition[];
  /** Which of `names` are in ALARM now, or entered ALARM at or after `since`. */
  firingAlarms(names: readonly string[], since?: Date): string[];
  /** Statistics of one metric per period, as GetMetricStatistics answers. */
  statistics(query: StatisticsQuery): StatisticsDatapoint[];
  stop(): Promise<void>;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  sendAwsJson(res, status, body, headers, '1.0');
}

function sendError(res: ServerResponse, e: CloudWatchApiError): void {
  send(
    res,
    e.statusCode,
    { __type: `com.amazonaws.cloudwatch#${e.code}`, message: e.message },
    { 'x-amzn-query-error': e.queryError },
  );
}

/** Starts the local CloudWatch on 127.0.0.1. */
export async function startCloudWatch(options: CloudWatchOptions): Promise<LocalCloudWatch> {
  const timeScale = options.timeScale ?? 1;
  const longestWindowMs = Math.max(
    0,
    ...(options.alarms ?? []).map((a) => a.periodSeconds * a.evaluationPeriods * 1000 * timeScale),
  );
  const store = new MetricStore(Math.max(MIN_RETENTION_MS, 2 * longestWindowMs));
  const registry = new AlarmRegistry(store, {
    timeScale,
    region: options.placement.region,
    account: options.placement.account,
    onTransition: (t) =>
      options.log?.(`[cloudwatch] alarm ${t.alarmName}: ${t.oldState} -> ${t.newState} (${t.reason})`),
  });
  for (const alarm of options.alarms ?? []) registry.put(alarm);

  const statistics = (q: StatisticsQuery): StatisticsDatapoint[] => {
    for (const s of q.statistics) {
      if (!isPlainStatistic(s) && !isSupportedExtendedStatistic(s)) {
        throw invalidParameter(
          `The statistic ${s} is not computed locally; use a plain statistic or a percentile.`,
        );
      }
    }
    const metric = { namespace: q.namespace, metricName: q.metricName, dimensions: q.dimensions ?? [] };
    const periodMs = q.periodSeconds * 1000;
    const out: StatisticsDatapoint[] = [];
    for (let start = q.start.getTime(); start < q.end.getTime(); start += periodMs) {
      const end = Math.min(start + periodMs, q.end.getTime());
      const aggregate = store.aggregate(metric, start, end, q.unit);
      if (aggregate === undefined) continue;
      const values: Record<string, number> = {};
      for (const s of q.statistics) {
        const v = statisticValue(aggregate, s);
        if (v !== undefined) values[s] = v;
      }
      const unit = q.unit ?? store.unitOf(metric, start, end);
      out.push({ timestamp: new Date(start), values, ...(unit === undefined ? {} : { unit }) });
    }
    return out;
  };

  const operations: Readonly<Record<string, (body: unknown) => unknown>> = {
    PutMetricData: (b) => {
      const r = parse(PutMetricDataSchema, b);
      // The AWS/ namespaces are the services' own.
      if (r.Namespace.startsWith('AWS/')) {
        throw invalidParameter(
          `The value ${r.Namespace} for parameter Namespace is invalid: it must not begin with AWS/.`,
        );
      }
      store.put(r.Namespace, r.MetricData);
      return {};
    },
    PutMetricAlarm: (b) => {
      try {
        registry.put(definitionOf(parse(PutMetricAlarmSchema, b)));
      } catch (e) {
        if (e instanceof InvalidAlarmDefinitionError) throw invalidParameter(e.message);
        throw e;
      }
      return {};
    },
    DeleteAlarms: (b) => {
      try {
        registry.delete(parse(AlarmNamesSchema, b).AlarmNames);
      } catch (e) {
        if (e instanceof AlarmNotFoundError) throw new CloudWatchApiError('ResourceNotFound', e.message, 404);
        throw e;
      }
      return {};
    },
    DescribeAlarms: (b) => {
      const r = parse(DescribeAlarmsSchema, b);
      if (r.AlarmNames !== undefined && r.AlarmNamePrefix !== undefined) {
        throw new CloudWatchApiError(
          'InvalidParameterCombinationException',
          'AlarmNames and AlarmNamePrefix cannot be specified together.',
        );
      }
      const wantsMetric = r.AlarmTypes === undefined || r.AlarmTypes.includes('MetricAlarm');
      const matches = wantsMetric
        ? registry
            .list()
            .filter((a) => r.AlarmNames === undefined || r.AlarmNames.includes(a.definition.name))
            .filter((a) => r.AlarmNamePrefix === undefined || a.definition.name.startsWith(r.AlarmNamePrefix))
            .filter((a) => r.StateValue === undefined || a.state === r.StateValue)
            .filter(
              (a) =>
                r.ActionPrefix === undefined ||
                [...(a.definition.alarmActions ?? []), ...(a.definition.okActions ?? [])].some((x) =>
                  x.startsWith(r.ActionPrefix ?? ''),
                ),
            )
        : [];
      const { page, next } = paginate(matches, r.MaxRecords ?? 50, r.NextToken);
      return {
        MetricAlarms: page.map(metricAlarmOf),
        // Composite alarms are listed only when asked for, as CloudWatch does; none exist locally.
        ...(r.AlarmTypes?.includes('CompositeAlarm') ? { CompositeAlarms: [] } : {}),
        ...(next === undefined ? {} : { NextToken: next }),
      };
    },
    DescribeAlarmHistory: (b) => {
      const r = parse(DescribeAlarmHistorySchema, b);
      const items =
        r.HistoryItemType === undefined || r.HistoryItemType === 'StateUpdate'
          ? registry
              .history(r.AlarmName)
              .filter((t) => r.StartDate === undefined || t.timestamp >= r.StartDate)
              .filter((t) => r.EndDate === undefined || t.timestamp <= r.EndDate)
          : [];
      const ordered = r.ScanBy === 'TimestampAscending' ? items : [...items].reverse();
      const { page, next } = paginate(ordered, r.MaxRecords ?? 100, r.NextToken);
      return {
        AlarmHistoryItems: page.map(historyItemOf),
        ...(next === undefined ? {} : { NextToken: next }),
      };
    },
    SetAlarmState: (b) => {
      const r = parse(SetAlarmStateSchema, b);
      if (r.StateReasonData !== undefined) {
        try {
          JSON.parse(r.StateReasonData);
        } catch {
          throw new CloudWatchApiError('InvalidFormatFault', 'StateReasonData is not valid JSON.');
        }
      }
      try {
        registry.setState(r.AlarmName, r.StateValue, r.StateReason, r.StateReasonData);
      } catch (e) {
        if (e instanceof AlarmNotFoundError) throw new CloudWatchApiError('ResourceNotFound', e.message, 404);
        throw e;
      }
      return {};
    },
    GetMetricStatistics: (b) => {
      const r = parse(GetMetricStatisticsSchema, b);
      if (r.Statistics === undefined && r.ExtendedStatistics === undefined) {
        throw new CloudWatchApiError(
          'MissingRequiredParameterException',
          'Either Statistics or ExtendedStatistics must be specified.',
        );
      }
      // GetMetricStatistics takes one of the two, never both (GetMetricData is for mixing them).
      if (r.Statistics !== undefined && r.ExtendedStatistics !== undefined) {
        throw new CloudWatchApiError(
          'InvalidParameterCombinationException',
          'Statistics and ExtendedStatistics cannot be specified together.',
        );
      }
      if (r.StartTime >= r.EndTime)
        throw invalidParameter('The parameter StartTime must be less than EndTime.');
      const extended = r.ExtendedStatistics ?? [];
      const points = statistics({
        namespace: r.Namespace,
        metricName: r.MetricName,
        dimensions: r.Dimensions ?? [],
        start: r.StartTime,
        end: r.EndTime,
        periodSeconds: r.Period,
        statistics: [...(r.Statistics ?? []), ...extended],
        ...(r.Unit === undefined ? {} : { unit: r.Unit }),
      });
      return {
        Label: r.MetricName,
        Datapoints: points.map((p) => {
          const plain = Object.entries(p.values).filter(([k]) => isPlainStatistic(k));
          const ext = Object.entries(p.values).filter(([k]) => !isPlainStatistic(k));
          return {
            Timestamp: p.timestamp,
            ...Object.fromEntries(plain),
            ...(ext.length === 0 ? {} : { ExtendedStatistics: Object.fromEntries(ext) }),
            Unit: p.unit ?? 'None',
          };
        }),
      };
    },
    ListMetrics: (b) => {
      const r = parse(ListMetricsSchema, b);
      const metrics = store.metrics({
        ...(r.Namespace === undefined ? {} : { namespace: r.Namespace }),
        ...(r.MetricName === undefined ? {} : { metricName: r.MetricName }),
        ...(r.Dimensions === undefined ? {} : { dimensions: r.Dimensions }),
      });
      const { page, next } = paginate(metrics, 500, r.NextToken);
      return {
        Metrics: page.map((m) => ({
          Namespace: m.namespace,
          MetricName: m.metricName,
          Dimensions: m.dimensions,
        })),
        ...(next === undefined ? {} : { NextToken: next }),
      };
    },
  };

  const server = createServer((req, res) => {
    readBody(req)
      .then((raw) => {
        const target = header(req, 'x-amz-target') ?? '';
        if (req.method !== 'POST' || !target.startsWith(TARGET_PREFIX)) {
          throw new CloudWatchApiError(
            'UnknownOperationException',
            `No operation for ${req.method} ${req.url}`,
            404,
          );
        }
        const operation = target.slice(TARGET_PREFIX.length);
        const handler = operations[operation];
        if (!handler) {
          throw new CloudWatchApiError(
            'UnknownOperationException',
            `The local CloudWatch does not implement ${operation}.`,
          );
        }
        // The SDK gzips PutMetricData bodies from 10 KB on (requestCompression).
        const text = (header(req, 'content-encoding') === 'gzip' ? gunzipSync(raw) : raw).toString('utf8');
        let body: unknown;
        try {
          body = text.length === 0 ? {} : JSON.parse(text);
        } catch {
          throw new CloudWatchApiError('SerializationException', 'The request body is not valid JSON.');
        }
        send(res, 200, handler(body));
      })
      .catch((e: unknown) => {
        if (e instanceof CloudWatchApiError) return sendError(res, e);
        sendError(res, new CloudWatchApiError('InternalServiceFault', 'Internal service error.', 500));
      });
  });
  const { endpoint, port, close } = await listenLocal(server, options.port);
  // Alarms change state on their own, as in AWS, even when nobody reads them.
  const shortestPeriodMs = Math.min(
    60_000 * timeScale,
    ...(options.alarms ?? []).map((a) => a.periodSeconds * 1000 * timeScale),
  );
  const timer = setInterval(
    () => registry.evaluateAll(),
    Math.min(10_000, Math.max(20, shortestPeriodMs / 2)),
  );
  timer.unref();

  return {
    endpoint,
    port,
    timeScale,
    putMetricData: (namespace: string, data: readonly MetricDatumInput[]) => store.put(namespace, data),
    ingestLogLine(line) {
      const documents = parseEmf(line);
      let count = 0;
      for (const d of documents ?? []) {
        store.put(d.namespace, d.data);
        count += d.data.length;
      }
      return count;
    },
    putAlarm: (definition) => registry.put(definition),
    alarm: (name) => registry.get(name),
    alarms: () => registry.list(),
    setAlarmState: (name, state, reason) => registry.setState(name, state, reason),
    history: (name) => registry.history(name),
    firingAlarms: (names, since) => registry.firing(names, since),
    statistics,
    async stop() {
      clearInterval(timer);
      await close();
    },
  };
}
