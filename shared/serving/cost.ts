/**
 * The monthly cost of serving one use case, from what one prediction uses and the price table.
 * Pure functions: the CLI (`mlops cost`) gathers the figures and prints; nothing here reads a
 * file, a clock or the network.
 *
 * One prediction is: an API Gateway REST request, a Lambda invocation (arm64) that reads one
 * item per feature group with a strongly consistent BatchGetItem and invokes the SageMaker
 * endpoint, one log record sent to Data Firehose (Direct PUT) into S3, one served-request item
 * written to DynamoDB for feedback, and the function's own log lines (EMF metrics, platform
 * lines) in CloudWatch Logs. Only the SageMaker compute differs between a real-time (instance) and a serverless
 * endpoint; every other line costs the same per prediction in both.
 */
import type { UseCase } from '../config/use-case.ts';
import { PREDICTION_LOG_BUFFER } from './prediction-log.ts';
import {
  BILLING_RULES,
  BYTES_PER_GB,
  HOURS_PER_MONTH,
  PRICES,
  type Price,
  type PriceTable,
  pricedInstanceTypes,
} from './prices.ts';

/** Minutes in a billing month: SageMaker's InvocationsPerInstance target is per instance per minute. */
export const MINUTES_PER_MONTH = HOURS_PER_MONTH * 60;
/** Seconds in a billing month. */
export const SECONDS_PER_MONTH = MINUTES_PER_MONTH * 60;

/** Where a figure came from, best first: the CLI takes the first one it has. */
export type FigureOrigin = 'measured' | 'benchmark' | 'option' | 'config' | 'assumed';

/** A per-prediction figure with its unit and where it came from. */
export interface Figure {
  readonly value: number;
  readonly unit: string;
  readonly origin: FigureOrigin;
  /** Exactly where: the metric, the results-file entry, the option, the config field, or why assumed. */
  readonly detail: string;
}

/** A figure before its origin is known: the value and where it was read. */
export interface FigureInput {
  readonly value: number;
  readonly detail: string;
}

/** What one prediction uses, and the log path's settings. */
export interface PredictionUsage {
  /** Billed duration of one predict-function invocation. */
  readonly lambdaDurationMs: Figure;
  /** Memory of the predict function. */
  readonly lambdaMemoryMb: Figure;
  /** Time the model takes for one prediction (SageMaker's ModelLatency). */
  readonly modelLatencyMs: Figure;
  /** Bytes sent to plus bytes returned by the endpoint (both are "data processed", same price). */
  readonly payloadBytes: Figure;
  /** DynamoDB read request units of the BatchGetItem. */
  readonly readUnits: Figure;
  /** Bytes of the prediction's log record (one Firehose record). */
  readonly logRecordBytes: Figure;
  /** DynamoDB write request units of the served-request item. */
  readonly writeUnits: Figure;
  /** Bytes the predict function logs per invocation: its EMF metrics line and Lambda's START, END and REPORT lines. */
  readonly lambdaPlatformLogBytes: Figure;
  /** Firehose buffer interval: at most one S3 object per interval while traffic flows. */
  readonly firehoseBufferSeconds: Figure;
  /** Firehose buffer size: one S3 object per this many bytes. */
  readonly firehoseBufferBytes: Figure;
  /** Months each month's logs stay in S3, for the storage line. */
  readonly logRetentionMonths: Figure;
}

/** The figures the CLI can take from measurements, the benchmark file or options. */
export type ResolvableFigure = 'lambdaDurationMs' | 'modelLatencyMs' | 'payloadBytes' | 'logRecordBytes';

const UNITS: Readonly<Record<ResolvableFigure, string>> = {
  lambdaDurationMs: 'ms',
  modelLatencyMs: 'ms',
  payloadBytes: 'bytes',
  logRecordBytes: 'bytes',
};

/** The names the benchmark harness gives these figures in `bench/results.json`. */
export const BENCHMARK_FIGURES: Readonly<Record<ResolvableFigure, string>> = {
  lambdaDurationMs: 'predict.lambda-duration-ms',
  modelLatencyMs: 'predict.model-latency-ms',
  payloadBytes: 'predict.payload-bytes',
  logRecordBytes: 'predict.log-record-bytes',
};

/** Every figure used when nothing better is known; printed as "assumed, not measured". */
export const ASSUMPTIONS = {
  lambdaDurationMs: {
    value: 60,
    unit: 'ms',
    why: 'a warm predict call: one BatchGetItem and one InvokeEndpoint round trip plus encoding; cold starts not counted',
  },
  modelLatencyMs: {
    value: 15,
    unit: 'ms',
    why: 'one XGBoost row on CPU, as SageMaker reports ModelLatency for small tree models',
  },
  payloadBytes: {
    value: 512,
    unit: 'bytes',
    why: 'one CSV row of encoded features in and one probability out',
  },
  logRecordBytes: {
    value: 1024,
    unit: 'bytes',
    why: 'one JSON prediction record: request and online features, the prediction, model version, ids, times',
  },
  lambdaPlatformLogBytes: {
    value: 1050,
    unit: 'bytes',
    why: "the predict function's EMF metrics line (about 700 bytes) and the START, END and REPORT lines Lambda writes for every invocation (about 350)",
  },
  servedItemBytes: {
    value: 600,
    unit: 'bytes',
    why: 'one served-request item: key, entities, request features, time, model version, score, expiry',
  },
  onlineItemBytes: {
    value: 4096,
    unit: 'bytes',
    why: "each online-store item (one entity's features of a group) is at most 4 KB, so 1 read unit",
  },
  firehoseBufferSeconds: {
    value: PREDICTION_LOG_BUFFER.intervalSeconds,
    unit: 's',
    why: "the prediction-log stream's S3 buffer interval (ModelServing)",
  },
  firehoseBufferBytes: {
    value: PREDICTION_LOG_BUFFER.sizeMb * 1024 * 1024,
    unit: 'bytes',
    why: "the prediction-log stream's S3 buffer size (ModelServing)",
  },
  logRetentionMonths: {
    value: 1,
    unit: 'month(s)',
    why: "each month's prediction logs priced for one month in S3 (the bill grows with retention)",
  },
} as const;

/** What the CLI found for each figure, by origin; `config` facts come from the use case and stage. */
export interface UsageInputs {
  readonly measured?: Partial<Record<ResolvableFigure, FigureInput>>;
  readonly benchmark?: Partial<Record<ResolvableFigure, FigureInput>>;
  readonly options?: Partial<Record<ResolvableFigure, FigureInput>>;
  /** Memory of the predict function, from the stage config. */
  readonly lambdaMemoryMb: FigureInput;
  /** Feature groups read per prediction: one BatchGetItem item each. */
  readonly featureGroups: number;
  /** Whether the online read is strongly consistent (1 RRU per 4 KB) or eventually (1/2). */
  readonly consistentRead: boolean;
}

function requirePositive(what: string, value: number): void {
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`${what} must be a positive number, got ${value}`);
}

function assumed(key: keyof typeof ASSUMPTIONS): Figure {
  const a = ASSUMPTIONS[key];
  return { value: a.value, unit: a.unit, origin: 'assumed', detail: a.why };
}

/** Read units of one strongly or eventually consistent read of an item of `itemBytes`. */
export function readUnitsPerItem(itemBytes: number, consistentRead: boolean): number {
  const units = Math.max(1, Math.ceil(itemBytes / BILLING_RULES.dynamodbReadUnitBytes));
  return consistentRead ? units : units / 2;
}

/**
 * The usage of one prediction: each resolvable figure from the first origin that has it
 * (measured, then the benchmark file, then options, then the documented assumption).
 */
export function resolveUsage(inputs: UsageInputs): PredictionUsage {
  const pick = (key: ResolvableFigure): Figure => {
    const layers: [FigureOrigin, Partial<Record<ResolvableFigure, FigureInput>> | undefined][] = [
      ['measured', inputs.measured],
      ['benchmark', inputs.benchmark],
      ['option', inputs.options],
    ];
    for (const [origin, layer] of layers) {
      const found = layer?.[key];
      if (found) {
        requirePositive(`${origin} ${key} (${found.detail})`, found.value);
        return { value: found.value, unit: UNITS[key], origin, detail: found.detail };
      }
    }
    return assumed(key);
  };
  requirePositive(`lambdaMemoryMb (${inputs.lambdaMemoryMb.detail})`, inputs.lambdaMemoryMb.value);
  if (!Number.isSafeInteger(inputs.featureGroups) || inputs.featureGroups < 1) {
    throw new Error(`featureGroups must be a positive integer, got ${inputs.featureGroups}`);
  }
  const perItem = readUnitsPerItem(ASSUMPTIONS.onlineItemBytes.value, inputs.consistentRead);
  return {
    lambdaDurationMs: pick('lambdaDurationMs'),
    lambdaMemoryMb: {
      value: inputs.lambdaMemoryMb.value,
      unit: 'MB',
      origin: 'config',
      detail: inputs.lambdaMemoryMb.detail,
    },
    modelLatencyMs: pick('modelLatencyMs'),
    payloadBytes: pick('payloadBytes'),
    readUnits: {
      value: inputs.featureGroups * perItem,
      unit: 'RRU',
      origin: 'config',
      detail: `${inputs.featureGroups} feature group(s) × ${perItem} RRU (${inputs.consistentRead ? 'ConsistentRead: true' : 'eventually consistent'} BatchGetItem, item ≤ 4 KB assumed)`,
    },
    logRecordBytes: pick('logRecordBytes'),
    writeUnits: {
      value: Math.max(1, Math.ceil(ASSUMPTIONS.servedItemBytes.value / BILLING_RULES.dynamodbWriteUnitBytes)),
      unit: 'WRU',
      origin: 'assumed',
      detail: `one PutItem of the served request (${ASSUMPTIONS.servedItemBytes.why}, about ${ASSUMPTIONS.servedItemBytes.value} bytes; 1 WRU per 1 KB)`,
    },
    lambdaPlatformLogBytes: assumed('lambdaPlatformLogBytes'),
    firehoseBufferSeconds: assumed('firehoseBufferSeconds'),
    firehoseBufferBytes: assumed('firehoseBufferBytes'),
    logRetentionMonths: assumed('logRetentionMonths'),
  };
}

/**
 * The figures a benchmark results file holds, read defensively: entries named as in
 * `BENCHMARK_FIGURES` with a positive `median`, at the top level or under `figures`, `results`
 * or `benchmarks` (an object keyed by name, or an array of `{name, median}`). Anything else is
 * ignored, so a file from a newer or older harness never breaks the estimate.
 */
export function benchmarkFigures(
  results: unknown,
  file: string,
): Partial<Record<ResolvableFigure, FigureInput>> {
  if (typeof results !== 'object' || results === null) return {};
  const medians = new Map<string, number>();
  const take = (name: unknown, entry: unknown) => {
    if (typeof name !== 'string' || typeof entry !== 'object' || entry === null) return;
    const median = (entry as { median?: unknown }).median;
    if (typeof median === 'number' && Number.isFinite(median) && median > 0) medians.set(name, median);
  };
  const scan = (container: unknown) => {
    if (Array.isArray(container)) {
      for (const entry of container) take((entry as { name?: unknown } | null)?.name, entry);
    } else if (typeof container === 'object' && container !== null) {
      for (const [name, entry] of Object.entries(container)) take(name, entry);
    }
  };
  scan(results);
  for (const key of ['figures', 'results', 'benchmarks']) scan((results as Record<string, unknown>)[key]);
  const when = ['measuredAt', 'generatedAt', 'date']
    .map((k) => (results as Record<string, unknown>)[k])
    .find((v): v is string => typeof v === 'string');
  const out: Partial<Record<ResolvableFigure, FigureInput>> = {};
  for (const [key, name] of Object.entries(BENCHMARK_FIGURES) as [ResolvableFigure, string][]) {
    const value = medians.get(name);
    if (value !== undefined)
      out[key] = { value, detail: `${file}${when ? ` (${when})` : ''}: ${name} median` };
  }
  return out;
}

/** How an instance endpoint's count is decided. */
export type Scaling =
  | { readonly kind: 'fixed'; readonly count: number }
  | {
      readonly kind: 'autoscaling';
      readonly minCapacity: number;
      readonly maxCapacity: number;
      /** SageMakerVariantInvocationsPerInstance target: invocations per instance per minute. */
      readonly targetInvocationsPerInstance: number;
    };

/** A real-time endpoint on instances. */
export interface InstancePlan {
  readonly mode: 'instance';
  readonly instanceType: string;
  readonly scaling: Scaling;
}

/** A serverless endpoint. */
export interface ServerlessPlan {
  readonly mode: 'serverless';
  readonly memorySizeMb: number;
  readonly maxConcurrency: number;
}

/** How the model is served. */
export type ServingPlan = InstancePlan | ServerlessPlan;

/** The serving plan a use case's `deployment` declares. */
export function planOf(deployment: UseCase['deployment']): ServingPlan {
  if (deployment.mode === 'serverless') {
    return {
      mode: 'serverless',
      memorySizeMb: deployment.memorySizeMb,
      maxConcurrency: deployment.maxConcurrency,
    };
  }
  const a = deployment.autoscaling;
  return {
    mode: 'instance',
    instanceType: deployment.instanceType,
    scaling: a
      ? {
          kind: 'autoscaling',
          minCapacity: a.minCapacity,
          maxCapacity: a.maxCapacity,
          targetInvocationsPerInstance: a.targetInvocationsPerInstance,
        }
      : { kind: 'fixed', count: deployment.initialInstanceCount },
  };
}

/** How many instances serve a month's traffic, and what decided it. */
export interface InstanceCount {
  readonly count: number;
  /** Instances the traffic needs at the target (equals `count` for a fixed count). */
  readonly needed: number;
  readonly limitedBy: 'traffic' | 'minCapacity' | 'maxCapacity' | 'fixed';
}

/** Predictions per month one instance serves at the autoscaling target. */
export function monthlyCapacityPerInstance(targetInvocationsPerInstance: number): number {
  return targetInvocationsPerInstance * MINUTES_PER_MONTH;
}

/**
 * The instance count for `predictionsPerMonth`, assuming the traffic is spread evenly over the
 * month (peaks need more): target tracking keeps InvocationsPerInstance (per minute) at the
 * target, so the count is the traffic per minute over the target, rounded up, never below
 * minCapacity nor above maxCapacity.
 */
export function instancesFor(scaling: Scaling, predictionsPerMonth: number): InstanceCount {
  if (scaling.kind === 'fixed') return { count: scaling.count, needed: scaling.count, limitedBy: 'fixed' };
  const needed = Math.ceil(
    predictionsPerMonth / monthlyCapacityPerInstance(scaling.targetInvocationsPerInstance),
  );
  if (needed > scaling.maxCapacity) return { count: scaling.maxCapacity, needed, limitedBy: 'maxCapacity' };
  if (needed < scaling.minCapacity) return { count: scaling.minCapacity, needed, limitedBy: 'minCapacity' };
  return { count: needed, needed, limitedBy: 'traffic' };
}

/** The cost of `quantity` units at `price`, walking its tiers. */
export function tieredCost(quantity: number, price: Price): number {
  if (!price.tiers) return quantity * price.usd;
  let total = 0;
  let from = 0;
  for (const tier of price.tiers) {
    const upTo = Math.min(quantity, tier.upTo);
    if (upTo > from) total += (upTo - from) * tier.usd;
    from = tier.upTo;
    if (quantity <= tier.upTo) break;
  }
  return total;
}

/** The lines of a bill, in print order; one row each in the CLI's table. */
export const COST_LINES = [
  { id: 'apiRequests', service: 'API Gateway', item: 'REST requests' },
  { id: 'lambdaRequests', service: 'Lambda', item: 'requests' },
  { id: 'lambdaDuration', service: 'Lambda', item: 'duration (arm64)' },
  { id: 'onlineReads', service: 'DynamoDB', item: 'on-demand reads' },
  { id: 'servedWrites', service: 'DynamoDB', item: 'on-demand writes' },
  { id: 'sagemakerCompute', service: 'SageMaker', item: 'compute' },
  { id: 'sagemakerDataIn', service: 'SageMaker', item: 'data processed in' },
  { id: 'sagemakerDataOut', service: 'SageMaker', item: 'data processed out' },
  { id: 'logsIngestion', service: 'CloudWatch Logs', item: 'ingestion' },
  { id: 'firehoseIngestion', service: 'Data Firehose', item: 'ingestion (5 KB records)' },
  { id: 's3Puts', service: 'S3', item: 'PUT requests' },
  { id: 's3Storage', service: 'S3', item: 'storage' },
] as const;

/** The id of one line of a bill. */
export type CostLineId = (typeof COST_LINES)[number]['id'];

/** One line of a bill: a quantity of a priced unit. */
export interface CostLine {
  readonly id: CostLineId;
  readonly service: string;
  readonly item: string;
  /** Monthly quantity, in `price.unit`. */
  readonly quantity: number;
  readonly usd: number;
  readonly price: Price;
}

/** A month of one serving plan. */
export interface PlanCost {
  readonly plan: ServingPlan;
  /** The instance count, for an instance plan. */
  readonly instances?: InstanceCount;
  readonly lines: readonly CostLine[];
  readonly monthlyUsd: number;
  readonly per1000Usd: number;
  /** What the estimate leaves out or where the plan would not hold the traffic. */
  readonly warnings: readonly string[];
}

/** The real-time price of `instanceType`, or an error naming the priced types. */
export function instancePrice(instanceType: string, prices: PriceTable = PRICES): Price {
  const price = prices.sagemaker.realTime[instanceType];
  if (!price) {
    throw new Error(
      `no real-time price for ${instanceType} in shared/serving/prices.ts (priced: ${pricedInstanceTypes(prices).join(', ')}); add it there`,
    );
  }
  return price;
}

/** The serverless compute price of `memorySizeMb`, or an error naming the priced sizes. */
export function serverlessPrice(memorySizeMb: number, prices: PriceTable = PRICES): Price {
  const price = prices.sagemaker.serverless[memorySizeMb];
  if (!price) {
    throw new Error(
      `no serverless price for ${memorySizeMb} MB in shared/serving/prices.ts (priced: ${Object.keys(prices.sagemaker.serverless).join(', ')} MB)`,
    );
  }
  return price;
}

/** Serverless compute cost of one prediction: model latency × the memory size's per-second price. */
export function serverlessComputePerPrediction(
  plan: ServerlessPlan,
  usage: PredictionUsage,
  prices: PriceTable = PRICES,
): number {
  return (usage.modelLatencyMs.value / 1000) * serverlessPrice(plan.memorySizeMb, prices).usd;
}

/** Bytes Firehose bills for one record: its size rounded up to the next 5 KB. */
export function firehoseBilledBytes(recordBytes: number): number {
  const step = BILLING_RULES.firehoseRecordIncrementBytes;
  return Math.max(1, Math.ceil(recordBytes / step)) * step;
}

/** S3 objects Firehose writes in a month: one per buffer interval or per full buffer, at most one per record. */
export function firehoseObjects(predictionsPerMonth: number, usage: PredictionUsage): number {
  if (predictionsPerMonth <= 0) return 0;
  const byTime = SECONDS_PER_MONTH / usage.firehoseBufferSeconds.value;
  const bySize = (predictionsPerMonth * usage.logRecordBytes.value) / usage.firehoseBufferBytes.value;
  return Math.min(predictionsPerMonth, Math.ceil(Math.max(byTime, bySize)));
}

/** A month of `plan` at `predictionsPerMonth`, line by line. */
export function monthlyCost(
  plan: ServingPlan,
  usage: PredictionUsage,
  predictionsPerMonth: number,
  prices: PriceTable = PRICES,
): PlanCost {
  const n = predictionsPerMonth;
  // Zero is allowed (an idle month's fixed cost); the report itself needs traffic to divide by.
  if (!Number.isFinite(n) || n < 0) throw new Error(`predictionsPerMonth must be >= 0, got ${n}`);
  const warnings: string[] = [];
  let instances: InstanceCount | undefined;
  let compute: { quantity: number; price: Price };
  if (plan.mode === 'instance') {
    instances = instancesFor(plan.scaling, n);
    compute = {
      quantity: instances.count * HOURS_PER_MONTH,
      price: instancePrice(plan.instanceType, prices),
    };
    if (instances.limitedBy === 'maxCapacity' && plan.scaling.kind === 'autoscaling') {
      warnings.push(
        `the traffic needs ${instances.needed} instances at ${plan.scaling.targetInvocationsPerInstance} invocations/instance/minute; autoscaling stops at maxCapacity ${plan.scaling.maxCapacity}, so each instance takes more than the target`,
      );
    }
    if (instances.limitedBy === 'fixed') {
      warnings.push(`no autoscaling: ${instances.count} instance(s) all month, whatever the traffic`);
    }
  } else {
    compute = {
      quantity: (n * usage.modelLatencyMs.value) / 1000,
      price: serverlessPrice(plan.memorySizeMb, prices),
    };
    const concurrency = (n / SECONDS_PER_MONTH) * (usage.modelLatencyMs.value / 1000);
    if (concurrency > plan.maxConcurrency) {
      warnings.push(
        `the traffic keeps ${concurrency.toFixed(1)} requests in flight on average, above maxConcurrency ${plan.maxConcurrency}: requests would be throttled`,
      );
    }
    warnings.push(
      'cold starts are not priced (no charge while scaled to zero, but the first calls are slow)',
    );
  }
  const billedLambdaMs =
    Math.ceil(usage.lambdaDurationMs.value / BILLING_RULES.lambdaBillingIncrementMs) *
    BILLING_RULES.lambdaBillingIncrementMs;
  const payloadGb = (n * usage.payloadBytes.value) / BYTES_PER_GB;
  const logGb = (n * usage.logRecordBytes.value) / BYTES_PER_GB;
  const quantities: Record<CostLineId, { quantity: number; price: Price }> = {
    apiRequests: { quantity: n / 1e6, price: prices.apiGateway.restRequests },
    lambdaRequests: { quantity: n / 1e6, price: prices.lambda.requests },
    lambdaDuration: {
      quantity: ((n * billedLambdaMs) / 1000) * (usage.lambdaMemoryMb.value / 1024),
      price: prices.lambda.durationArm,
    },
    onlineReads: { quantity: (n * usage.readUnits.value) / 1e6, price: prices.dynamodb.onDemandReads },
    servedWrites: { quantity: (n * usage.writeUnits.value) / 1e6, price: prices.dynamodb.onDemandWrites },
    sagemakerCompute: compute,
    // Payload is in + out together; both directions have the same price, so half each.
    sagemakerDataIn: { quantity: payloadGb / 2, price: prices.sagemaker.dataProcessedIn },
    sagemakerDataOut: { quantity: payloadGb / 2, price: prices.sagemaker.dataProcessedOut },
    logsIngestion: {
      quantity: (n * usage.lambdaPlatformLogBytes.value) / BYTES_PER_GB,
      price: prices.cloudwatchLogs.ingestion,
    },
    // One PutRecord per prediction, each billed in 5 KB increments.
    firehoseIngestion: {
      quantity: (n * firehoseBilledBytes(usage.logRecordBytes.value)) / BYTES_PER_GB,
      price: prices.firehose.directPutIngestion,
    },
    s3Puts: { quantity: firehoseObjects(n, usage) / 1000, price: prices.s3.putRequests },
    s3Storage: { quantity: logGb * usage.logRetentionMonths.value, price: prices.s3.standardStorage },
  };
  const lines = COST_LINES.map(({ id, service, item }) => {
    const { quantity, price } = quantities[id];
    return { id, service, item, quantity, price, usd: tieredCost(quantity, price) };
  });
  const monthlyUsd = lines.reduce((sum, l) => sum + l.usd, 0);
  return {
    plan,
    ...(instances ? { instances } : {}),
    lines,
    monthlyUsd,
    per1000Usd: n > 0 ? (monthlyUsd / n) * 1000 : 0,
    warnings,
  };
}

/** Where serverless and instances cost the same, or why they never do. */
export type BreakEven =
  | {
      readonly kind: 'at';
      /** The lowest traffic (predictions per month) where the two monthly totals are equal; serverless is cheaper below. */
      readonly predictionsPerMonth: number;
      /** Instances running at that traffic. */
      readonly instances: number;
      /**
       * Where instances become cheaper for good, when autoscaling steps make the two swap more than
       * once (each added instance can make serverless cheaper again for a while).
       * @default - absent: one crossing, instances are cheaper at every traffic above it
       */
      readonly instancesCheaperFrom?: { readonly predictionsPerMonth: number; readonly instances: number };
    }
  | {
      readonly kind: 'never';
      /** The plan that is cheaper at every traffic considered. */
      readonly cheaper: 'serverless' | 'instance';
      readonly reason: string;
      /**
       * The traffic where maxCapacity instances, loaded above the autoscaling target, would cost
       * what serverless does: the crossing the "never" leaves out.
       * @default - absent when serverless compute costs nothing
       */
      readonly pastMaxCapacityAt?: number;
    };

/**
 * The traffic where `serverless` and `instance` cost the same. Every line but SageMaker compute
 * is the same function of the traffic in both plans (tiers included), so the totals are equal
 * where N × serverless compute per prediction = instances(N) × 730 h × hourly price. With R the
 * traffic whose serverless compute costs one instance-month, k instances cost the same as
 * serverless at N = k × R. instances(N) is a step function, so k × R is a crossing when it falls
 * in the traffic range k instances serve. Below the first crossing serverless is cheaper (it costs
 * nothing at no traffic); each added instance can put serverless ahead again, so the last
 * crossing is reported too when it differs. With autoscaling, traffic past maxCapacity × target
 * is not served at the target, so a crossing there is "never" (and given as `pastMaxCapacityAt`).
 */
export function breakEven(
  instance: InstancePlan,
  serverless: ServerlessPlan,
  usage: PredictionUsage,
  prices: PriceTable = PRICES,
): BreakEven {
  const perPrediction = serverlessComputePerPrediction(serverless, usage, prices);
  const instanceMonth = instancePrice(instance.instanceType, prices).usd * HOURS_PER_MONTH;
  if (perPrediction <= 0) {
    return {
      kind: 'never',
      cheaper: 'serverless',
      reason: 'serverless compute costs nothing per prediction',
    };
  }
  const perInstanceMonth = instanceMonth / perPrediction;
  const scaling = instance.scaling;
  if (scaling.kind === 'fixed') {
    return {
      kind: 'at',
      predictionsPerMonth: Math.round(scaling.count * perInstanceMonth),
      instances: scaling.count,
    };
  }
  const capacity = monthlyCapacityPerInstance(scaling.targetInvocationsPerInstance);
  const crossings: { predictionsPerMonth: number; instances: number }[] = [];
  for (let k = scaling.minCapacity; k <= scaling.maxCapacity; k++) {
    const from = k === scaling.minCapacity ? 0 : (k - 1) * capacity;
    const crossing = k * perInstanceMonth;
    // capacity is a whole number, so rounding never moves a crossing past its step's end.
    if (crossing > from && crossing <= k * capacity) {
      crossings.push({ predictionsPerMonth: Math.round(crossing), instances: k });
    }
  }
  const first = crossings[0];
  const last = crossings[crossings.length - 1];
  if (first && last) {
    return { ...first, kind: 'at', ...(last !== first ? { instancesCheaperFrom: last } : {}) };
  }
  const served = scaling.maxCapacity * capacity;
  return {
    kind: 'never',
    cheaper: 'serverless',
    pastMaxCapacityAt: Math.round(scaling.maxCapacity * perInstanceMonth),
    reason: `serverless is cheaper at every traffic ${scaling.maxCapacity} × ${instance.instanceType} serve at ${scaling.targetInvocationsPerInstance.toLocaleString('en-US')} invocations/instance/minute (up to ${Math.round(served).toLocaleString('en-US')} predictions/month): an instance at that target costs ${formatUsd(instanceMonth / capacity, 8)} per prediction, serverless ${formatUsd(perPrediction, 8)}`,
  };
}

/** `usd` as `$1,234.56`, with more decimals for small amounts. */
export function formatUsd(usd: number, decimals = 2): string {
  return `$${usd.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals })}`;
}

/** One option of the report. */
export interface ReportOption extends PlanCost {
  readonly label: 'current' | 'instance' | 'serverless';
}

/** Everything `mlops cost` prints, text or JSON. */
export interface CostReport {
  readonly useCase: string;
  readonly predictionsPerMonth: number;
  readonly region: string;
  readonly currency: 'USD';
  readonly options: readonly [ReportOption, ReportOption, ReportOption];
  readonly breakEven: BreakEven;
  readonly usage: PredictionUsage;
  /** Every price a line used, in first-use order: the footnotes. */
  readonly prices: readonly Price[];
}

/** The report for the current plan and the instance and serverless alternatives. */
export function costReport(input: {
  readonly useCase: string;
  readonly predictionsPerMonth: number;
  readonly current: ServingPlan;
  readonly instance: InstancePlan;
  readonly serverless: ServerlessPlan;
  readonly usage: PredictionUsage;
  readonly prices?: PriceTable;
}): CostReport {
  if (!Number.isSafeInteger(input.predictionsPerMonth) || input.predictionsPerMonth <= 0) {
    throw new Error(`predictionsPerMonth must be a positive integer, got ${input.predictionsPerMonth}`);
  }
  const prices = input.prices ?? PRICES;
  const cost = (label: ReportOption['label'], plan: ServingPlan): ReportOption => ({
    label,
    ...monthlyCost(plan, input.usage, input.predictionsPerMonth, prices),
  });
  const options = [
    cost('current', input.current),
    cost('instance', input.instance),
    cost('serverless', input.serverless),
  ] as const;
  // Numbered line by line, so a row's footnotes are adjacent.
  const used: Price[] = [];
  for (const [i] of COST_LINES.entries()) {
    for (const option of options) {
      const price = option.lines[i]?.price;
      if (price && !used.includes(price)) used.push(price);
    }
  }
  return {
    useCase: input.useCase,
    predictionsPerMonth: input.predictionsPerMonth,
    region: prices.region,
    currency: 'USD',
    options,
    breakEven: breakEven(input.instance, input.serverless, input.usage, prices),
    usage: input.usage,
    prices: used,
  };
}
