/**
 * The local CloudWatch's evaluation rules, as AWS documents them: alarm evaluation
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-evaluation.html), the
 * statistics it compares, and the Embedded Metric Format it reads from log lines
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
 */
import { MetricResolution, Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { describe, expect, it } from 'vitest';
import { AlarmRegistry, InvalidAlarmDefinitionError } from '../../../infra/local/cloudwatch/alarms.ts';
import { parseEmf } from '../../../infra/local/cloudwatch/emf.ts';
import {
  type AlarmEvaluation,
  type AlarmRule,
  type AlarmStateValue,
  evaluateAlarm,
  type PeriodDatapoint,
} from '../../../infra/local/cloudwatch/evaluation.ts';
import { type MetricDatumInput, MetricStore } from '../../../infra/local/cloudwatch/metrics.ts';
import { statisticValue, UnsupportedStatisticError } from '../../../infra/local/cloudwatch/statistics.ts';
import type { LocalComparisonOperator, LocalTreatMissingData } from '../../../infra/local/model.ts';

/** A minute boundary, so that periods of 60 s start on it. */
const T0 = Date.UTC(2024, 4, 22, 10, 0, 0);
const MINUTE = 60_000;
const THRESHOLD = 10;
const BREACHING = 20;
const WITHIN = 5;

/** A window written as CloudWatch's table writes it, oldest first: X breaching, 0 within, - missing. */
function windowOf(pattern: string): PeriodDatapoint[] {
  return [...pattern].map((c, i) => ({
    start: T0 + i * MINUTE,
    value: c === 'X' ? BREACHING : c === '0' ? WITHIN : undefined,
  }));
}

function ruleOf(overrides: Partial<AlarmRule> = {}): AlarmRule {
  return {
    comparisonOperator: 'GreaterThanThreshold',
    threshold: THRESHOLD,
    evaluationPeriods: 3,
    ...overrides,
  };
}

/** The state an evaluation leads to, or 'retain' when it keeps the current one. */
function outcome(e: AlarmEvaluation): AlarmStateValue | 'retain' {
  return e.kind === 'state' ? e.state : 'retain';
}

describe('evaluateAlarm: M out of N', () => {
  it.each([
    { pattern: 'XXX', m: 3, expected: 'ALARM' },
    { pattern: 'XX0', m: 3, expected: 'OK' },
    { pattern: 'X0X', m: 2, expected: 'ALARM' },
    { pattern: '0X0', m: 2, expected: 'OK' },
    { pattern: '00X', m: 1, expected: 'ALARM' },
    { pattern: '000', m: 1, expected: 'OK' },
  ])('with $m out of 3 datapoints to alarm, $pattern is $expected', ({ pattern, m, expected }) => {
    // Act
    const result = evaluateAlarm(ruleOf({ datapointsToAlarm: m }), windowOf(pattern), 'OK');

    // Assess
    expect(outcome(result)).toBe(expected);
  });

  it('needs every period to breach when DatapointsToAlarm is not set', () => {
    // Act
    const twoOfThree = evaluateAlarm(ruleOf(), windowOf('XX0'), 'OK');
    const threeOfThree = evaluateAlarm(ruleOf(), windowOf('XXX'), 'OK');

    // Assess
    expect(outcome(twoOfThree)).toBe('OK');
    expect(outcome(threeOfThree)).toBe('ALARM');
  });

  it('explains an ALARM in CloudWatch words, the most recent datapoint first', () => {
    // Act
    const result = evaluateAlarm(ruleOf({ datapointsToAlarm: 2 }), windowOf('X0X'), 'OK');

    // Assess
    expect(result).toEqual({
      kind: 'state',
      state: 'ALARM',
      reason:
        'Threshold Crossed: 2 out of the last 3 datapoints [20.0 (22/05/24 10:02:00), 20.0 (22/05/24 10:00:00)] were greater than the threshold (10.0) (minimum 2 datapoints for OK -> ALARM transition).',
    });
  });
});

describe('evaluateAlarm: TreatMissingData', () => {
  const modes: readonly LocalTreatMissingData[] = ['missing', 'ignore', 'breaching', 'notBreaching'];

  it.each(modes)('does not consult %s when no period of the window is missing', (mode) => {
    // Act
    const alarm = evaluateAlarm(ruleOf({ treatMissingData: mode }), windowOf('XXX'), 'OK');
    const ok = evaluateAlarm(ruleOf({ treatMissingData: mode }), windowOf('X0X'), 'ALARM');

    // Assess
    expect(outcome(alarm)).toBe('ALARM');
    expect(outcome(ok)).toBe('OK');
  });

  // 3 out of 3, as the documentation's table is configured; the missing periods are filled with
  // the treatment and all the real datapoints count.
  it.each([
    { pattern: '0--', missing: 'OK', ignore: 'OK', breaching: 'OK', notBreaching: 'OK' },
    {
      pattern: '---',
      missing: 'INSUFFICIENT_DATA',
      ignore: 'retain',
      breaching: 'ALARM',
      notBreaching: 'OK',
    },
    { pattern: '-X-', missing: 'ALARM', ignore: 'retain', breaching: 'ALARM', notBreaching: 'OK' },
    { pattern: '0X-', missing: 'OK', ignore: 'OK', breaching: 'OK', notBreaching: 'OK' },
    { pattern: 'XX-', missing: 'ALARM', ignore: 'retain', breaching: 'ALARM', notBreaching: 'OK' },
  ] as const)('treats $pattern (3 out of 3) as the table has it', (row) => {
    for (const mode of modes) {
      // Act
      const result = evaluateAlarm(ruleOf({ treatMissingData: mode }), windowOf(row.pattern), 'OK');

      // Assess
      expect({ mode, state: outcome(result) }).toEqual({ mode, state: row[mode] });
    }
  });

  it('counts missing periods toward M out of N only when they are treated as breaching', () => {
    // Prepare
    const twoOfThree = (mode: LocalTreatMissingData) =>
      ruleOf({ datapointsToAlarm: 2, treatMissingData: mode });

    // Act
    const breaching = evaluateAlarm(twoOfThree('breaching'), windowOf('0-0'), 'OK');
    const tooFew = evaluateAlarm(twoOfThree('breaching'), windowOf('00-'), 'OK');
    const notBreaching = evaluateAlarm(twoOfThree('notBreaching'), windowOf('X-X'), 'OK');

    // Assess
    expect(outcome(breaching)).toBe('OK');
    expect(outcome(tooFew)).toBe('OK');
    expect(outcome(notBreaching)).toBe('ALARM');
    expect(outcome(evaluateAlarm(twoOfThree('breaching'), windowOf('X-0'), 'OK'))).toBe('ALARM');
  });

  it('uses missing when TreatMissingData is not set', () => {
    // Act
    const result = evaluateAlarm(ruleOf(), windowOf('---'), 'OK');

    // Assess
    expect(result).toEqual({
      kind: 'state',
      state: 'INSUFFICIENT_DATA',
      reason: 'Insufficient Data: 3 datapoints were unknown.',
    });
  });

  it.each(['OK', 'ALARM', 'INSUFFICIENT_DATA'] as const)(
    'keeps %s under ignore while the real datapoints do not decide',
    (current) => {
      // Act
      const result = evaluateAlarm(ruleOf({ treatMissingData: 'ignore' }), windowOf('--X'), current);

      // Assess
      expect(result).toEqual({ kind: 'retain' });
    },
  );

  it('lets the real datapoints decide alone under missing, and says so', () => {
    // Act
    const result = evaluateAlarm(ruleOf({ treatMissingData: 'missing' }), windowOf('-X-'), 'OK');

    // Assess
    expect(result).toEqual({
      kind: 'state',
      state: 'ALARM',
      reason:
        'Threshold Crossed: 1 out of the last 1 datapoints [20.0 (22/05/24 10:01:00)] was greater than the threshold (10.0) (minimum 1 datapoint for OK -> ALARM transition).',
    });
  });

  it('says how many missing datapoints were treated as breaching', () => {
    // Act
    const result = evaluateAlarm(ruleOf({ treatMissingData: 'breaching' }), windowOf('---'), 'OK');

    // Assess
    expect(result).toMatchObject({
      state: 'ALARM',
      reason: expect.stringContaining('3 missing datapoints were treated as [Breaching]'),
    });
  });
});

describe('evaluateAlarm: comparison operators at the threshold', () => {
  it.each([
    { operator: 'GreaterThanThreshold', at: 'OK', above: 'ALARM', below: 'OK' },
    { operator: 'GreaterThanOrEqualToThreshold', at: 'ALARM', above: 'ALARM', below: 'OK' },
    { operator: 'LessThanThreshold', at: 'OK', above: 'OK', below: 'ALARM' },
    { operator: 'LessThanOrEqualToThreshold', at: 'ALARM', above: 'OK', below: 'ALARM' },
  ] as const)('$operator: $at at the threshold, $above just above, $below just below', (row) => {
    // Prepare
    const rule = ruleOf({
      comparisonOperator: row.operator as LocalComparisonOperator,
      evaluationPeriods: 1,
    });
    const at = (value: number) => outcome(evaluateAlarm(rule, [{ start: T0, value }], 'INSUFFICIENT_DATA'));

    // Act / Assess
    expect(at(THRESHOLD)).toBe(row.at);
    expect(at(THRESHOLD + 1e-9)).toBe(row.above);
    expect(at(THRESHOLD - 1e-9)).toBe(row.below);
  });
});

/** A store holding `data` in the minute starting at T0, and the aggregate of that minute. */
function minuteOf(data: MetricDatumInput[], unit?: string) {
  const store = new MetricStore(24 * 60 * MINUTE);
  store.put(
    'App',
    data.map((d) => ({ Timestamp: new Date(T0 + 1000), ...d })),
    T0 + 2000,
  );
  const aggregate = store.aggregate({ namespace: 'App', metricName: 'Latency' }, T0, T0 + MINUTE, unit);
  if (aggregate === undefined) throw new Error('no data in the minute');
  return aggregate;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

describe('statistics over one period', () => {
  it('computes Sum, SampleCount, Average, Minimum and Maximum of the values', () => {
    // Prepare
    const aggregate = minuteOf([
      { MetricName: 'Latency', Values: range(100) },
      { MetricName: 'Latency', Value: 50 },
    ]);

    // Act
    const stats = Object.fromEntries(
      ['Sum', 'SampleCount', 'Average', 'Minimum', 'Maximum'].map((s) => [s, statisticValue(aggregate, s)]),
    );

    // Assess
    expect(stats).toEqual({ Sum: 5100, SampleCount: 101, Average: 5100 / 101, Minimum: 1, Maximum: 100 });
  });

  it('takes percentiles by nearest rank: p99 of 1..100 is 99, p50 is 50, p0 the minimum', () => {
    // Prepare
    const aggregate = minuteOf([{ MetricName: 'Latency', Values: range(100) }]);

    // Act / Assess
    expect(statisticValue(aggregate, 'p99')).toBe(99);
    expect(statisticValue(aggregate, 'p50')).toBe(50);
    expect(statisticValue(aggregate, 'p100')).toBe(100);
    expect(statisticValue(aggregate, 'p0')).toBe(1);
  });

  it('lands on the exact rank where p × n has no exact binary form (p7 of 100, p99.9 of 1000)', () => {
    // Prepare
    const hundred = minuteOf([{ MetricName: 'Latency', Values: range(100) }]);
    const thousand = minuteOf(
      Array.from({ length: 10 }, (_, i) => ({
        MetricName: 'Latency',
        Values: range(100).map((v) => v + i * 100),
      })),
    );

    // Act / Assess
    expect(statisticValue(hundred, 'p7')).toBe(7);
    expect(statisticValue(hundred, 'p14')).toBe(14);
    expect(statisticValue(thousand, 'p99.9')).toBe(999);
  });

  it('weights values by their Counts', () => {
    // Prepare
    const aggregate = minuteOf([{ MetricName: 'Latency', Values: [1, 10], Counts: [99, 1] }]);

    // Act / Assess
    expect(statisticValue(aggregate, 'SampleCount')).toBe(100);
    expect(statisticValue(aggregate, 'Sum')).toBe(109);
    expect(statisticValue(aggregate, 'p99')).toBe(1);
    expect(statisticValue(aggregate, 'p99.5')).toBe(10);
  });

  it('has no percentile for statistic sets, which carry no values', () => {
    // Prepare
    const aggregate = minuteOf([
      { MetricName: 'Latency', StatisticValues: { SampleCount: 4, Sum: 40, Minimum: 1, Maximum: 20 } },
    ]);

    // Act / Assess
    expect(statisticValue(aggregate, 'Average')).toBe(10);
    expect(statisticValue(aggregate, 'Maximum')).toBe(20);
    expect(statisticValue(aggregate, 'p99')).toBeUndefined();
  });

  it('counts a datum sent without a Unit as unit None', () => {
    // Prepare
    const data: MetricDatumInput[] = [
      { MetricName: 'Latency', Value: 3 },
      { MetricName: 'Latency', Value: 1000, Unit: 'Milliseconds' },
    ];

    // Act
    const none = minuteOf(data, 'None');
    const ms = minuteOf(data, 'Milliseconds');

    // Assess
    expect(statisticValue(none, 'Sum')).toBe(3);
    expect(statisticValue(ms, 'Sum')).toBe(1000);
  });

  it('refuses statistics it does not compute, such as trimmed means', () => {
    // Prepare
    const aggregate = minuteOf([{ MetricName: 'Latency', Value: 1 }]);

    // Act / Assess
    expect(() => statisticValue(aggregate, 'tm99')).toThrow(UnsupportedStatisticError);
  });
});

describe('AlarmRegistry over a MetricStore', () => {
  /** A registry at scale 1 whose clock the test passes explicitly. */
  function registryOf() {
    const store = new MetricStore(24 * 60 * MINUTE);
    const registry = new AlarmRegistry(store, { timeScale: 1, region: 'us-east-1', account: '000000000000' });
    const put = (value: number | number[], at: number) =>
      store.put(
        'App',
        [
          {
            MetricName: 'Latency',
            Timestamp: new Date(at),
            ...(Array.isArray(value) ? { Values: value } : { Value: value }),
          },
        ],
        at,
      );
    return { registry, put };
  }
  const alarmOf = (name: string, more: Partial<Parameters<AlarmRegistry['put']>[0]> = {}) => ({
    name,
    namespace: 'App',
    metricName: 'Latency',
    dimensions: [],
    statistic: 'Average',
    periodSeconds: 60,
    evaluationPeriods: 1,
    threshold: 100,
    comparisonOperator: 'GreaterThanThreshold' as const,
    ...more,
  });

  it('alarms on p99 where the Average of the same samples stays within the threshold', () => {
    // Prepare
    const { registry, put } = registryOf();
    const { statistic: _, ...noStatistic } = alarmOf('p99');
    registry.put({ ...noStatistic, extendedStatistic: 'p99' }, T0);
    registry.put(alarmOf('average'), T0);
    put([...Array<number>(98).fill(10), 500, 500], T0 + 1000);

    // Act
    const p99 = registry.get('p99', T0 + MINUTE + 1);
    const average = registry.get('average', T0 + MINUTE + 1);

    // Assess
    expect(p99?.state).toBe('ALARM');
    expect(JSON.parse(p99?.reasonData ?? '{}')).toMatchObject({ statistic: 'p99', recentDatapoints: [500] });
    expect(average?.state).toBe('OK');
  });

  it('keeps a SetAlarmState state until the period ends, then evaluates again', () => {
    // Prepare
    const { registry, put } = registryOf();
    registry.put(alarmOf('held', { treatMissingData: 'notBreaching' }), T0);
    put(5, T0 + 1000);
    expect(registry.get('held', T0 + MINUTE + 1)?.state).toBe('OK');

    // Act
    registry.setState('held', 'ALARM', 'testing the pager', undefined, T0 + MINUTE + 2000);
    const during = registry.get('held', T0 + 2 * MINUTE - 1);
    const after = registry.get('held', T0 + 2 * MINUTE + 1);

    // Assess
    expect(during).toMatchObject({ state: 'ALARM', reason: 'testing the pager' });
    expect(after?.state).toBe('OK');
    expect(registry.history('held').map((t) => `${t.oldState}->${t.newState}`)).toEqual([
      'INSUFFICIENT_DATA->OK',
      'OK->ALARM',
      'ALARM->OK',
    ]);
  });

  it('records an ALARM that began and ended between two reads', () => {
    // Prepare
    const { registry, put } = registryOf();
    registry.put(alarmOf('blip'), T0);
    expect(registry.get('blip', T0 + 30_000)?.state).toBe('INSUFFICIENT_DATA');
    put(500, T0 + MINUTE + 1000);

    // Act
    const later = registry.get('blip', T0 + 5 * MINUTE);

    // Assess
    expect(later?.state).toBe('INSUFFICIENT_DATA');
    expect(registry.history('blip').map((t) => [t.newState, t.timestamp.getTime()])).toEqual([
      ['ALARM', T0 + 2 * MINUTE],
      ['INSUFFICIENT_DATA', T0 + 3 * MINUTE],
    ]);
    expect(registry.firing(['blip'], new Date(T0 + 30_000), T0 + 5 * MINUTE)).toEqual(['blip']);
    expect(registry.firing(['blip'], new Date(T0 + 2 * MINUTE + 1), T0 + 5 * MINUTE)).toEqual([]);
  });

  it('counts data of the period under way at once', () => {
    // Prepare
    const { registry, put } = registryOf();
    registry.put(alarmOf('now'), T0);
    put(500, T0 + 5000);

    // Act
    const state = registry.get('now', T0 + 6000)?.state;

    // Assess
    expect(state).toBe('ALARM');
  });

  it('refuses a definition it could not evaluate, naming the alarm', () => {
    // Prepare
    const { registry } = registryOf();

    // Act / Assess
    expect(() => registry.put(alarmOf('bad', { datapointsToAlarm: 2 }), T0)).toThrow(
      /Alarm bad: datapointsToAlarm must be an integer from 1 to evaluationPeriods \(1\), got 2/,
    );
    expect(() =>
      registry.put(alarmOf('trimmed', { statistic: undefined, extendedStatistic: 'tm90' }), T0),
    ).toThrow(InvalidAlarmDefinitionError);
  });
});

describe('parseEmf', () => {
  const emf = (doc: unknown) => JSON.stringify(doc);
  const valid = {
    _aws: {
      Timestamp: T0,
      CloudWatchMetrics: [
        {
          Namespace: 'App',
          Dimensions: [['Service'], ['Service', 'Route']],
          Metrics: [{ Name: 'Latency', Unit: 'Milliseconds' }],
        },
      ],
    },
    Service: 'predict',
    Route: '/predict',
    Latency: [12, 30],
    requestId: 'not a metric',
  };

  it("reads Powertools Metrics' output, dimensions, repeated values and high resolution included", () => {
    // Prepare
    const metrics = new Metrics({ namespace: 'Mlops', serviceName: 'predict' });
    metrics.addDimension('UseCase', 'flights');
    metrics.addMetric('PredictLatency', MetricUnit.Milliseconds, 12);
    metrics.addMetric('PredictLatency', MetricUnit.Milliseconds, 30);
    metrics.addMetric('Predictions', MetricUnit.Count, 1, MetricResolution.High);
    metrics.addMetadata('requestId', 'abc');
    const line = JSON.stringify(metrics.serializeMetrics());
    const timestamp = new Date((JSON.parse(line) as { _aws: { Timestamp: number } })._aws.Timestamp);
    const dimensions = [
      { Name: 'service', Value: 'predict' },
      { Name: 'UseCase', Value: 'flights' },
    ];

    // Act
    const parsed = parseEmf(line);

    // Assess
    expect(parsed).toEqual([
      {
        namespace: 'Mlops',
        data: [
          {
            MetricName: 'PredictLatency',
            Dimensions: dimensions,
            Timestamp: timestamp,
            Values: [12, 30],
            Unit: 'Milliseconds',
          },
          {
            MetricName: 'Predictions',
            Dimensions: dimensions,
            Timestamp: timestamp,
            Values: [1],
            Unit: 'Count',
          },
        ],
      },
    ]);
  });

  it('gives one data point per dimension set', () => {
    // Act
    const parsed = parseEmf(emf(valid));

    // Assess
    expect(parsed?.[0]?.data.map((d) => d.Dimensions)).toEqual([
      [{ Name: 'Service', Value: 'predict' }],
      [
        { Name: 'Service', Value: 'predict' },
        { Name: 'Route', Value: '/predict' },
      ],
    ]);
    expect(parsed?.[0]?.data[0]).toMatchObject({ Timestamp: new Date(T0), Values: [12, 30] });
  });

  it('reads the message after the Lambda runtime prefix of a console.log line', () => {
    // Act
    const parsed = parseEmf(
      `2024-05-22T10:00:00.000Z\t6f1c2e3a-1111-2222-3333-444455556666\tINFO\t${emf(valid)}`,
    );

    // Assess
    expect(parsed?.[0]?.namespace).toBe('App');
  });

  it('publishes metrics without dimensions for an empty dimension array, and each directive on its namespace', () => {
    // Prepare
    const doc = {
      _aws: {
        Timestamp: T0,
        CloudWatchMetrics: [
          { Namespace: 'A', Dimensions: [], Metrics: [{ Name: 'Hits' }] },
          { Namespace: 'B', Dimensions: [[]], Metrics: [{ Name: 'Hits' }] },
        ],
      },
      Hits: 1,
    };

    // Act
    const parsed = parseEmf(emf(doc));

    // Assess
    expect(parsed?.map((p) => [p.namespace, p.data.map((d) => d.Dimensions)])).toEqual([
      ['A', [[]]],
      ['B', [[]]],
    ]);
  });

  it.each([
    ['a plain log line', 'request served in 12 ms'],
    ['JSON without _aws', emf({ Latency: 12 })],
    ['truncated JSON', emf(valid).slice(0, -5)],
    ['a Timestamp that is not a number', emf({ ...valid, _aws: { ...valid._aws, Timestamp: '2024-05-22' } })],
    ['no metric directive', emf({ ...valid, _aws: { ...valid._aws, CloudWatchMetrics: [] } })],
    [
      'a directive without Namespace',
      emf({
        ...valid,
        _aws: { ...valid._aws, CloudWatchMetrics: [{ Dimensions: [], Metrics: [{ Name: 'Latency' }] }] },
      }),
    ],
    [
      'an invalid Unit',
      emf({
        ...valid,
        _aws: {
          ...valid._aws,
          CloudWatchMetrics: [
            { Namespace: 'App', Dimensions: [], Metrics: [{ Name: 'Latency', Unit: 'ms' }] },
          ],
        },
      }),
    ],
    ['a dimension without a value in the document', emf({ ...valid, Route: undefined })],
    ['a dimension value that is not a string', emf({ ...valid, Service: 7 })],
    ['an empty dimension value', emf({ ...valid, Service: '' })],
    ['a metric value that is not a number', emf({ ...valid, Latency: '12' })],
    ['more than 100 values', emf({ ...valid, Latency: range(101) })],
    ['an empty array of values', emf({ ...valid, Latency: [] })],
    [
      'more than 30 dimensions in a set',
      emf({
        ...valid,
        ...Object.fromEntries(range(31).map((i) => [`D${i}`, 'x'])),
        _aws: {
          ...valid._aws,
          CloudWatchMetrics: [
            { Namespace: 'App', Dimensions: [range(31).map((i) => `D${i}`)], Metrics: [{ Name: 'Latency' }] },
          ],
        },
      }),
    ],
  ])('yields nothing for %s', (_, line) => {
    // Act / Assess
    expect(parseEmf(line)).toBeUndefined();
  });

  it('yields data that MetricStore accepts as it is', () => {
    // Prepare
    const store = new MetricStore(24 * 60 * MINUTE);
    const [parsed] = parseEmf(emf(valid)) ?? [];

    // Act
    store.put(parsed?.namespace ?? '', parsed?.data ?? [], T0);

    // Assess
    expect(store.metrics({ namespace: 'App' })).toHaveLength(2);
  });
});
