import { describe, expect, it } from 'vitest';
import {
  ASSUMPTIONS,
  BENCHMARK_FIGURES,
  benchmarkFigures,
  breakEven,
  COST_LINES,
  type CostLineId,
  costReport,
  firehoseBilledBytes,
  firehoseObjects,
  type InstancePlan,
  instancePrice,
  instancesFor,
  MINUTES_PER_MONTH,
  monthlyCapacityPerInstance,
  monthlyCost,
  type PlanCost,
  type PredictionUsage,
  planOf,
  readUnitsPerItem,
  resolveUsage,
  type ServerlessPlan,
  serverlessComputePerPrediction,
  serverlessPrice,
  tieredCost,
  type UsageInputs,
} from '../../../shared/serving/cost.ts';
import {
  HOURS_PER_MONTH,
  PRICES,
  PRICES_READ_ON,
  type Price,
  type PriceTable,
} from '../../../shared/serving/prices.ts';

const BASE_INPUTS: UsageInputs = {
  lambdaMemoryMb: { value: 1024, detail: 'test stage' },
  featureGroups: 2,
  consistentRead: true,
};

function usageWith(options: UsageInputs['options'] = {}): PredictionUsage {
  return resolveUsage({ ...BASE_INPUTS, options });
}

const USAGE = usageWith();

const FIXED: InstancePlan = {
  mode: 'instance',
  instanceType: 'ml.m5.large',
  scaling: { kind: 'fixed', count: 2 },
};
const AUTOSCALED: InstancePlan = {
  mode: 'instance',
  instanceType: 'ml.m5.large',
  scaling: { kind: 'autoscaling', minCapacity: 1, maxCapacity: 4, targetInvocationsPerInstance: 1000 },
};
const SERVERLESS: ServerlessPlan = { mode: 'serverless', memorySizeMb: 2048, maxConcurrency: 50 };

function line(cost: PlanCost, id: CostLineId): number {
  const found = cost.lines.find((l) => l.id === id);
  if (!found) throw new Error(`no line ${id}`);
  return found.usd;
}

/** Monthly totals of the instance and serverless plans at `n` predictions. */
function totals(instance: InstancePlan, serverless: ServerlessPlan, usage: PredictionUsage, n: number) {
  return {
    instance: monthlyCost(instance, usage, n).monthlyUsd,
    serverless: monthlyCost(serverless, usage, n).monthlyUsd,
  };
}

describe('monthlyCost', () => {
  it.each([
    ['a fixed instance count', FIXED],
    ['an autoscaled endpoint', AUTOSCALED],
    ['a serverless endpoint', SERVERLESS],
  ] as const)('itemizes %s into lines that sum to the total and the per-1,000 figure', (_name, plan) => {
    // Prepare
    const n = 3_700_000;

    // Act
    const cost = monthlyCost(plan, USAGE, n);

    // Assess
    expect(cost.lines.map((l) => l.id)).toEqual(COST_LINES.map((l) => l.id));
    const sum = cost.lines.reduce((s, l) => s + l.usd, 0);
    expect(cost.monthlyUsd).toBeCloseTo(sum, 10);
    expect(cost.per1000Usd).toBeCloseTo((cost.monthlyUsd / n) * 1000, 12);
    for (const l of cost.lines) expect(l.usd).toBeGreaterThan(0);
    expect(new Set(cost.lines.map((l) => l.service))).toEqual(
      new Set(['API Gateway', 'Lambda', 'DynamoDB', 'SageMaker', 'CloudWatch Logs', 'Data Firehose', 'S3']),
    );
  });

  it('prices each per-request line from the figures and the table', () => {
    // Prepare
    const n = 2_000_000;

    // Act
    const cost = monthlyCost(SERVERLESS, USAGE, n);

    // Assess
    expect(line(cost, 'apiRequests')).toBeCloseTo(2 * 3.5, 10);
    expect(line(cost, 'lambdaRequests')).toBeCloseTo(2 * 0.2, 10);
    // 60 ms at 1 GB for 2 M calls = 120,000 GB-s.
    expect(line(cost, 'lambdaDuration')).toBeCloseTo(120_000 * 0.0000133334, 8);
    // Two feature groups, one strongly consistent 4 KB read each.
    expect(line(cost, 'onlineReads')).toBeCloseTo(2 * 2 * 0.125, 10);
    // 15 ms at 2 GB for 2 M calls = 60,000 GB-s at $0.00002.
    expect(line(cost, 'sagemakerCompute')).toBeCloseTo(60_000 * 0.00002, 8);
    // A 1 KB log record bills as one 5 KB Firehose record.
    expect(line(cost, 'firehoseIngestion')).toBeCloseTo(((n * 5 * 1024) / 2 ** 30) * 0.029, 10);
    // One served-request item under 1 KB is one write unit.
    expect(line(cost, 'servedWrites')).toBeCloseTo(2 * 0.625, 10);
    // Only the function's metric and platform lines reach CloudWatch Logs, not the log record.
    expect(line(cost, 'logsIngestion')).toBeCloseTo(((n * 1050) / 2 ** 30) * 0.5, 10);
  });

  it('doubles the per-request lines and keeps a fixed instance count when the traffic doubles', () => {
    // Prepare
    const once = monthlyCost(FIXED, USAGE, 5_000_000);

    // Act
    const twice = monthlyCost(FIXED, USAGE, 10_000_000);

    // Assess
    const perRequest: CostLineId[] = [
      'apiRequests',
      'lambdaRequests',
      'lambdaDuration',
      'onlineReads',
      'servedWrites',
      'sagemakerDataIn',
      'sagemakerDataOut',
      'logsIngestion',
      'firehoseIngestion',
      's3Storage',
    ];
    for (const id of perRequest) expect(line(twice, id), id).toBeCloseTo(2 * line(once, id), 10);
    expect(line(twice, 'sagemakerCompute')).toBe(line(once, 'sagemakerCompute'));
    expect(line(once, 'sagemakerCompute')).toBeCloseTo(2 * HOURS_PER_MONTH * 0.115, 10);
    expect(twice.monthlyUsd).toBeLessThan(2 * once.monthlyUsd);
  });

  it('doubles serverless compute with the traffic', () => {
    const once = monthlyCost(SERVERLESS, USAGE, 5_000_000);
    const twice = monthlyCost(SERVERLESS, USAGE, 10_000_000);
    expect(line(twice, 'sagemakerCompute')).toBeCloseTo(2 * line(once, 'sagemakerCompute'), 10);
  });

  it('keeps the autoscaled instance cost flat until the traffic needs another instance', () => {
    // Prepare
    const capacity = monthlyCapacityPerInstance(1000);

    // Act
    const low = monthlyCost(AUTOSCALED, USAGE, capacity / 4);
    const full = monthlyCost(AUTOSCALED, USAGE, capacity);
    const over = monthlyCost(AUTOSCALED, USAGE, capacity + 1);
    const capped = monthlyCost(AUTOSCALED, USAGE, 10 * capacity);

    // Assess
    expect(low.instances).toEqual({ count: 1, needed: 1, limitedBy: 'traffic' });
    expect(line(full, 'sagemakerCompute')).toBe(line(low, 'sagemakerCompute'));
    expect(over.instances?.count).toBe(2);
    expect(line(over, 'sagemakerCompute')).toBeCloseTo(2 * line(low, 'sagemakerCompute'), 10);
    expect(capped.instances).toEqual({ count: 4, needed: 10, limitedBy: 'maxCapacity' });
    expect(capped.warnings.join('\n')).toContain('maxCapacity 4');
  });

  it('walks the API Gateway tiers above 333 million requests', () => {
    const cost = monthlyCost(SERVERLESS, USAGE, 400_000_000);
    expect(line(cost, 'apiRequests')).toBeCloseTo(333 * 3.5 + 67 * 2.8, 8);
  });

  it('warns when serverless traffic needs more concurrency than allowed', () => {
    const tight: ServerlessPlan = { ...SERVERLESS, maxConcurrency: 1 };
    // 15 ms each: 1 in flight on average at 2,628,000 s / 0.015 s = 175.2 M a month.
    expect(monthlyCost(tight, USAGE, 100_000_000).warnings.join('\n')).not.toContain('throttled');
    expect(monthlyCost(tight, USAGE, 200_000_000).warnings.join('\n')).toContain('above maxConcurrency 1');
  });

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])('rejects %s predictions a month', (n) => {
    expect(() => monthlyCost(SERVERLESS, USAGE, n)).toThrow(`predictionsPerMonth must be >= 0, got ${n}`);
  });
});

describe('firehoseObjects', () => {
  it('writes one S3 object per buffer interval at low traffic and per full buffer at high traffic', () => {
    // 730 h of 60 s intervals is 43,800 objects; 1 KB records fill a 5 MB buffer every 5,120.
    expect(firehoseObjects(1_000_000, USAGE)).toBe(43_800);
    expect(firehoseObjects(1_000_000_000, USAGE)).toBe(Math.ceil(1_000_000_000 / 5120));
    expect(firehoseObjects(100, USAGE)).toBe(100);
    expect(line(monthlyCost(SERVERLESS, USAGE, 1_000_000), 's3Puts')).toBeCloseTo(43.8 * 0.005, 10);
  });
});

describe('instancesFor', () => {
  it('never goes below minCapacity', () => {
    const scaling = {
      kind: 'autoscaling',
      minCapacity: 2,
      maxCapacity: 4,
      targetInvocationsPerInstance: 10,
    } as const;
    expect(instancesFor(scaling, 0)).toEqual({ count: 2, needed: 0, limitedBy: 'minCapacity' });
    expect(instancesFor(scaling, 3 * 10 * MINUTES_PER_MONTH)).toEqual({
      count: 3,
      needed: 3,
      limitedBy: 'traffic',
    });
  });
});

describe('tieredCost', () => {
  const price: Price = {
    name: 'test',
    usd: 2,
    unit: 'unit',
    tiers: [
      { upTo: 10, usd: 2 },
      { upTo: 30, usd: 1 },
      { upTo: Number.POSITIVE_INFINITY, usd: 0.5 },
    ],
    source: 'https://example.com',
    readAt: [],
    readOn: PRICES_READ_ON,
    verified: false,
  };

  it.each([
    [0, 0],
    [5, 10],
    [10, 20],
    [25, 20 + 15],
    [100, 20 + 20 + 35],
  ])('charges %d units $%d across the tiers', (quantity, usd) => {
    expect(tieredCost(quantity, price)).toBeCloseTo(usd, 10);
  });
});

describe('breakEven', () => {
  it('finds the traffic where a fixed instance count and serverless cost the same', () => {
    // Act
    const be = breakEven(FIXED, SERVERLESS, USAGE);

    // Assess
    if (be.kind !== 'at') throw new Error(`expected a break-even, got ${be.reason}`);
    const perPrediction = serverlessComputePerPrediction(SERVERLESS, USAGE);
    expect(be.predictionsPerMonth).toBe(Math.round((2 * HOURS_PER_MONTH * 0.115) / perPrediction));
    const at = totals(FIXED, SERVERLESS, USAGE, be.predictionsPerMonth);
    // Rounding to a whole prediction moves the totals apart by at most half a prediction's compute.
    expect(Math.abs(at.instance - at.serverless)).toBeLessThanOrEqual(perPrediction);
    const below = totals(FIXED, SERVERLESS, USAGE, Math.round(be.predictionsPerMonth * 0.9));
    const above = totals(FIXED, SERVERLESS, USAGE, Math.round(be.predictionsPerMonth * 1.1));
    expect(below.serverless).toBeLessThan(below.instance);
    expect(above.instance).toBeLessThan(above.serverless);
  });

  it('moves with the price table instead of being a constant', () => {
    // Prepare
    const m5 = instancePrice('ml.m5.large');
    const dearer: PriceTable = {
      ...PRICES,
      sagemaker: {
        ...PRICES.sagemaker,
        realTime: { ...PRICES.sagemaker.realTime, 'ml.m5.large': { ...m5, usd: m5.usd * 2 } },
      },
    };

    // Act
    const base = breakEven(FIXED, SERVERLESS, USAGE);
    const doubled = breakEven(FIXED, SERVERLESS, USAGE, dearer);

    // Assess
    if (base.kind !== 'at' || doubled.kind !== 'at') throw new Error('expected break-evens');
    expect(doubled.predictionsPerMonth / base.predictionsPerMonth).toBeCloseTo(2, 6);
  });

  it('reports the first and the last crossing when autoscaling steps make the plans swap', () => {
    // Prepare: 80 ms at 2 GB is $0.0000032 a prediction, so one instance-month (about $84) buys
    // about 26 M serverless predictions, under one instance's 43.8 M at the target.
    const slow = usageWith({ modelLatencyMs: { value: 80, detail: 'test' } });
    const capacity = monthlyCapacityPerInstance(1000);

    // Act
    const be = breakEven(AUTOSCALED, SERVERLESS, slow);

    // Assess
    if (be.kind !== 'at') throw new Error(`expected a break-even, got ${be.reason}`);
    expect(be.instances).toBe(1);
    expect(be.instancesCheaperFrom?.instances).toBe(2);
    for (const crossing of [be, be.instancesCheaperFrom ?? be]) {
      const at = totals(AUTOSCALED, SERVERLESS, slow, crossing.predictionsPerMonth);
      expect(Math.abs(at.instance - at.serverless)).toBeLessThan(0.001);
    }
    // Just past the first instance's capacity a second one starts and serverless is ahead again.
    const swapped = totals(AUTOSCALED, SERVERLESS, slow, capacity + 1);
    expect(swapped.serverless).toBeLessThan(swapped.instance);
    const last = be.instancesCheaperFrom?.predictionsPerMonth ?? 0;
    for (let n = last + 1_000_000; n <= 4 * capacity; n += 1_000_000) {
      const t = totals(AUTOSCALED, SERVERLESS, slow, n);
      expect(t.instance, `${n} predictions`).toBeLessThan(t.serverless);
    }
  });

  it('gives one crossing when each added instance pays for itself', () => {
    const slower = usageWith({ modelLatencyMs: { value: 200, detail: 'test' } });
    const be = breakEven(AUTOSCALED, SERVERLESS, slower);
    expect(be.kind).toBe('at');
    expect(be.kind === 'at' && be.instancesCheaperFrom).toBeUndefined();
  });

  it('says never when serverless is cheaper at every traffic the instances serve at the target', () => {
    // Act: 15 ms at 2 GB is $0.0000006 a prediction, an instance at the target $0.0000019.
    const be = breakEven(AUTOSCALED, SERVERLESS, USAGE);

    // Assess
    if (be.kind !== 'never') throw new Error(`expected never, got ${be.predictionsPerMonth}`);
    expect(be.cheaper).toBe('serverless');
    expect(be.reason).toContain('175,200,000 predictions/month');
    const capacity = monthlyCapacityPerInstance(1000);
    for (let n = capacity / 8; n <= 4 * capacity; n += capacity / 8) {
      const t = totals(AUTOSCALED, SERVERLESS, USAGE, n);
      expect(t.serverless, `${n} predictions`).toBeLessThan(t.instance);
    }
    const past = totals(AUTOSCALED, SERVERLESS, USAGE, be.pastMaxCapacityAt ?? 0);
    expect(Math.abs(past.instance - past.serverless)).toBeLessThan(0.001);
  });
});

describe('resolveUsage', () => {
  const all = (value: number, detail: string) =>
    Object.fromEntries(Object.keys(BENCHMARK_FIGURES).map((k) => [k, { value, detail }]));

  it.each([
    ['measured', { measured: all(1, 'cloudwatch'), benchmark: all(2, 'bench'), options: all(3, '--opt') }, 1],
    ['benchmark', { benchmark: all(2, 'bench'), options: all(3, '--opt') }, 2],
    ['option', { options: all(3, '--opt') }, 3],
  ] as const)(
    'takes every resolvable figure from %s when it is the best origin given',
    (origin, layers, value) => {
      // Act
      const usage = resolveUsage({ ...BASE_INPUTS, ...layers });

      // Assess
      for (const key of Object.keys(BENCHMARK_FIGURES) as (keyof typeof BENCHMARK_FIGURES)[]) {
        expect(usage[key]).toMatchObject({ origin, value });
      }
    },
  );

  it('falls back figure by figure, ending with the printed assumption', () => {
    // Act
    const usage = resolveUsage({
      ...BASE_INPUTS,
      measured: { modelLatencyMs: { value: 9, detail: 'ModelLatency p50' } },
      benchmark: { lambdaDurationMs: { value: 41, detail: 'bench/results.json' } },
      options: {
        payloadBytes: { value: 300, detail: '--payload-bytes' },
        modelLatencyMs: { value: 99, detail: 'x' },
      },
    });

    // Assess
    expect(usage.modelLatencyMs).toMatchObject({ origin: 'measured', value: 9, unit: 'ms' });
    expect(usage.lambdaDurationMs).toMatchObject({ origin: 'benchmark', value: 41, unit: 'ms' });
    expect(usage.payloadBytes).toMatchObject({ origin: 'option', value: 300, unit: 'bytes' });
    expect(usage.logRecordBytes).toEqual({
      origin: 'assumed',
      value: ASSUMPTIONS.logRecordBytes.value,
      unit: 'bytes',
      detail: ASSUMPTIONS.logRecordBytes.why,
    });
    expect(usage.lambdaMemoryMb).toEqual({ origin: 'config', value: 1024, unit: 'MB', detail: 'test stage' });
  });

  it('counts one read unit per feature group, half for eventually consistent reads', () => {
    expect(resolveUsage({ ...BASE_INPUTS, featureGroups: 3 }).readUnits.value).toBe(3);
    expect(resolveUsage({ ...BASE_INPUTS, featureGroups: 3, consistentRead: false }).readUnits.value).toBe(
      1.5,
    );
    expect(readUnitsPerItem(4097, true)).toBe(2);
  });

  it('rejects a non-positive figure, naming where it came from', () => {
    expect(() => usageWith({ lambdaDurationMs: { value: 0, detail: '--lambda-ms' } })).toThrow(
      'option lambdaDurationMs (--lambda-ms) must be a positive number, got 0',
    );
    expect(() => resolveUsage({ ...BASE_INPUTS, featureGroups: 0 })).toThrow(
      'featureGroups must be a positive integer',
    );
  });
});

describe('benchmarkFigures', () => {
  it('reads medians under any of the known containers and ignores the rest', () => {
    // Act
    const figures = benchmarkFigures(
      {
        generatedAt: '2026-12-01',
        figures: { 'predict.lambda-duration-ms': { median: 42 } },
        results: [
          { name: 'predict.model-latency-ms', median: 7 },
          { name: 'predict.payload-bytes', median: -1 },
        ],
        'predict.log-record-bytes': { median: 'big' },
      },
      'bench/results.json',
    );

    // Assess
    expect(figures).toEqual({
      lambdaDurationMs: {
        value: 42,
        detail: 'bench/results.json (2026-12-01): predict.lambda-duration-ms median',
      },
      modelLatencyMs: {
        value: 7,
        detail: 'bench/results.json (2026-12-01): predict.model-latency-ms median',
      },
    });
  });

  it.each([null, 'text', 3, []])('gives nothing for %j', (results) => {
    expect(benchmarkFigures(results, 'f.json')).toEqual({});
  });
});

describe('firehoseBilledBytes', () => {
  it.each([
    [1, 5120],
    [3 * 1024, 5120],
    [5120, 5120],
    [5121, 10_240],
  ])('bills a %d-byte record as %d bytes', (bytes, billed) => {
    expect(firehoseBilledBytes(bytes)).toBe(billed);
  });
});

describe('costReport', () => {
  const input = {
    useCase: 'test',
    current: FIXED,
    instance: FIXED,
    serverless: SERVERLESS,
    usage: USAGE,
  };

  it('lists each price it used once, as the footnotes', () => {
    const report = costReport({ ...input, predictionsPerMonth: 1_000_000 });
    expect(report.prices).toHaveLength(new Set(report.prices).size);
    const used = new Set(report.options.flatMap((o) => o.lines.map((l) => l.price)));
    expect(new Set(report.prices)).toEqual(used);
    expect(report.options.map((o) => o.label)).toEqual(['current', 'instance', 'serverless']);
  });

  it.each([0, -10, 1.5])('rejects %s predictions a month', (n) => {
    expect(() => costReport({ ...input, predictionsPerMonth: n })).toThrow(
      `predictionsPerMonth must be a positive integer, got ${n}`,
    );
  });
});

describe('planOf', () => {
  it('keeps a fixed count when the deployment has no autoscaling', () => {
    const plan = planOf({
      mode: 'instance',
      instanceType: 'ml.c5.large',
      initialInstanceCount: 3,
    } as Parameters<typeof planOf>[0]);
    expect(plan).toEqual({
      mode: 'instance',
      instanceType: 'ml.c5.large',
      scaling: { kind: 'fixed', count: 3 },
    });
  });
});

describe('price lookups', () => {
  it('name the priced choices when asked for an unpriced one', () => {
    expect(() => instancePrice('ml.p5.48xlarge')).toThrow('priced: ml.c5.large, ml.m5.large');
    expect(() => serverlessPrice(1500)).toThrow('no serverless price for 1500 MB');
  });
});

describe('the price table', () => {
  const all: Price[] = [
    ...Object.values(PRICES.sagemaker.realTime),
    ...Object.values(PRICES.sagemaker.serverless),
    PRICES.sagemaker.dataProcessedIn,
    PRICES.sagemaker.dataProcessedOut,
    PRICES.lambda.requests,
    PRICES.lambda.durationArm,
    PRICES.apiGateway.restRequests,
    PRICES.dynamodb.onDemandReads,
    PRICES.firehose.directPutIngestion,
    PRICES.cloudwatchLogs.ingestion,
    PRICES.s3.putRequests,
    PRICES.s3.standardStorage,
  ];

  it('dates every price and names its official page and what was read', () => {
    expect(PRICES_READ_ON).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(Date.parse(PRICES_READ_ON)).toBeLessThanOrEqual(Date.now());
    for (const price of all) {
      expect(price.readOn, price.name).toBe(PRICES_READ_ON);
      expect(price.source, price.name).toMatch(/^https:\/\/aws\.amazon\.com\//);
      expect(price.readAt.length, price.name).toBeGreaterThan(0);
      expect(price.usd, price.name).toBeGreaterThan(0);
    }
  });

  it('keeps tiers ascending, starting at the quoted price and ending open', () => {
    for (const price of all.filter((p) => p.tiers)) {
      const tiers = price.tiers ?? [];
      expect(tiers[0]?.usd, price.name).toBe(price.usd);
      expect(tiers.at(-1)?.upTo, price.name).toBe(Number.POSITIVE_INFINITY);
      for (let i = 1; i < tiers.length; i++) {
        expect(tiers[i]?.upTo, price.name).toBeGreaterThan(tiers[i - 1]?.upTo ?? 0);
        expect(tiers[i]?.usd, price.name).toBeLessThan(tiers[i - 1]?.usd ?? 0);
      }
    }
  });

  it('prices serverless memory sizes linearly at $0.00002 per GB-second', () => {
    for (const [mb, price] of Object.entries(PRICES.sagemaker.serverless)) {
      expect(price.usd, `${mb} MB`).toBeCloseTo((Number(mb) / 1024) * 0.00002, 12);
    }
  });
});
