import {
  CloudWatchClient,
  CloudWatchServiceException,
  DeleteAlarmsCommand,
  DescribeAlarmHistoryCommand,
  DescribeAlarmsCommand,
  GetMetricStatisticsCommand,
  InvalidParameterCombinationException,
  InvalidParameterValueException,
  ListMetricsCommand,
  PutMetricAlarmCommand,
  type PutMetricAlarmCommandInput,
  PutMetricDataCommand,
  ResourceNotFound,
  SetAlarmStateCommand,
} from '@aws-sdk/client-cloudwatch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalCloudWatch, startCloudWatch } from '../../../infra/local/cloudwatch/index.ts';
import { LOCAL_CREDENTIALS } from '../../../infra/local/engines/credentials.ts';

/** Alarm periods run 100 times faster: a 60 s period lasts 600 ms. */
const TIME_SCALE = 0.01;
const MINUTE = 60_000;

/** Polls `check` until it returns a value, at most `attempts` times; the last failure is thrown. */
async function eventually<T>(check: () => Promise<T | undefined>, what: string, attempts = 100): Promise<T> {
  for (let i = 0; i < attempts; i++) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`gave up waiting for ${what}`);
}

/** Rejects with the SDK's error, or fails when the call succeeds. */
async function failureOf(call: Promise<unknown>): Promise<CloudWatchServiceException> {
  try {
    await call;
  } catch (e) {
    if (e instanceof CloudWatchServiceException) return e;
    throw e;
  }
  throw new Error('the call succeeded');
}

describe('local CloudWatch through @aws-sdk/client-cloudwatch', () => {
  let cloudwatch: LocalCloudWatch;
  let client: CloudWatchClient;

  beforeAll(async () => {
    cloudwatch = await startCloudWatch({
      placement: { region: 'us-east-1', account: '000000000000' },
      timeScale: TIME_SCALE,
    });
    client = new CloudWatchClient({
      endpoint: cloudwatch.endpoint,
      region: 'us-east-1',
      credentials: LOCAL_CREDENTIALS,
      maxAttempts: 1,
    });
  });
  afterAll(async () => {
    client?.destroy();
    await cloudwatch?.stop();
  });

  /** A single-metric alarm on Mlops/Latency, merged with `more`. */
  const alarmInput = (
    name: string,
    more: Partial<PutMetricAlarmCommandInput> = {},
  ): PutMetricAlarmCommandInput => ({
    AlarmName: name,
    Namespace: 'Mlops',
    MetricName: 'Latency',
    Dimensions: [{ Name: 'Endpoint', Value: name }],
    Statistic: 'Maximum',
    Period: 60,
    EvaluationPeriods: 1,
    Threshold: 100,
    ComparisonOperator: 'GreaterThanThreshold',
    // A breach stays in ALARM while no more data comes, so polling cannot miss it.
    TreatMissingData: 'ignore',
    AlarmActions: ['arn:aws:sns:us-east-1:000000000000:pager'],
    ...more,
  });

  it('answers GetMetricStatistics with Sum, SampleCount and p99 of what PutMetricData recorded', async () => {
    // Prepare: one minute, a few minutes back, so that the whole period is in the past.
    const start = new Date(Math.floor(Date.now() / MINUTE) * MINUTE - 3 * MINUTE);
    const within = new Date(start.getTime() + 10_000);
    const dimensions = [{ Name: 'Endpoint', Value: 'stats' }];
    await client.send(
      new PutMetricDataCommand({
        Namespace: 'Mlops',
        MetricData: [
          {
            MetricName: 'Latency',
            Dimensions: dimensions,
            Timestamp: within,
            Values: [1, 2, 3, 500],
            Counts: [40, 30, 29, 1],
            Unit: 'Milliseconds',
          },
          {
            MetricName: 'Latency',
            Dimensions: dimensions,
            Timestamp: within,
            Value: 10,
            Unit: 'Milliseconds',
          },
        ],
      }),
    );
    const query = {
      Namespace: 'Mlops',
      MetricName: 'Latency',
      Dimensions: dimensions,
      StartTime: start,
      EndTime: new Date(start.getTime() + MINUTE),
      Period: 60,
    };

    // Act
    const plain = await client.send(
      new GetMetricStatisticsCommand({ ...query, Statistics: ['Sum', 'SampleCount', 'Maximum'] }),
    );
    const extended = await client.send(
      new GetMetricStatisticsCommand({ ...query, ExtendedStatistics: ['p99', 'p50'] }),
    );
    const otherDimensions = await client.send(
      new GetMetricStatisticsCommand({
        ...query,
        Dimensions: [{ Name: 'Endpoint', Value: 'other' }],
        Statistics: ['Sum'],
      }),
    );

    // Assess
    expect(plain.Label).toBe('Latency');
    expect(plain.Datapoints).toEqual([
      {
        Timestamp: start,
        Sum: 40 + 60 + 87 + 500 + 10,
        SampleCount: 101,
        Maximum: 500,
        Unit: 'Milliseconds',
      },
    ]);
    // 101 samples: the 100th smallest (p99's nearest rank) is the 10, the largest is the 500.
    expect(extended.Datapoints).toEqual([
      { Timestamp: start, ExtendedStatistics: { p99: 10, p50: 2 }, Unit: 'Milliseconds' },
    ]);
    expect(otherDimensions.Datapoints).toEqual([]);
  });

  it('lists the metrics recorded, filtered by namespace, name and dimension', async () => {
    // Prepare
    await client.send(
      new PutMetricDataCommand({
        Namespace: 'Listing',
        MetricData: [
          { MetricName: 'Errors', Dimensions: [{ Name: 'Route', Value: '/a' }], Value: 1 },
          { MetricName: 'Errors', Dimensions: [{ Name: 'Route', Value: '/b' }], Value: 1 },
          { MetricName: 'Calls', Value: 1 },
        ],
      }),
    );

    // Act
    const all = await client.send(new ListMetricsCommand({ Namespace: 'Listing' }));
    const routeA = await client.send(
      new ListMetricsCommand({
        Namespace: 'Listing',
        MetricName: 'Errors',
        Dimensions: [{ Name: 'Route', Value: '/a' }],
      }),
    );

    // Assess
    expect(all.Metrics?.map((m) => m.MetricName).sort()).toEqual(['Calls', 'Errors', 'Errors']);
    expect(routeA.Metrics).toEqual([
      { Namespace: 'Listing', MetricName: 'Errors', Dimensions: [{ Name: 'Route', Value: '/a' }] },
    ]);
  });

  it('puts an alarm in ALARM when its metric breaches, and records the transition', async () => {
    // Prepare
    await client.send(new PutMetricAlarmCommand(alarmInput('breach')));
    const before = await client.send(new DescribeAlarmsCommand({ AlarmNames: ['breach'] }));

    // Act
    await client.send(
      new PutMetricDataCommand({
        Namespace: 'Mlops',
        MetricData: [
          { MetricName: 'Latency', Dimensions: [{ Name: 'Endpoint', Value: 'breach' }], Value: 250 },
        ],
      }),
    );
    const firing = await eventually(async () => {
      const out = await client.send(new DescribeAlarmsCommand({ StateValue: 'ALARM' }));
      return out.MetricAlarms?.find((a) => a.AlarmName === 'breach');
    }, 'the alarm to fire');
    const history = await client.send(new DescribeAlarmHistoryCommand({ AlarmName: 'breach' }));

    // Assess
    expect(before.MetricAlarms?.[0]).toMatchObject({ StateValue: 'INSUFFICIENT_DATA', Threshold: 100 });
    expect(firing).toMatchObject({
      AlarmArn: 'arn:aws:cloudwatch:us-east-1:000000000000:alarm:breach',
      StateValue: 'ALARM',
      StateReason: expect.stringMatching(
        /^Threshold Crossed: 1 out of the last 1 datapoints \[250\.0 .*\] was greater than the threshold \(100\.0\)/,
      ),
      AlarmActions: ['arn:aws:sns:us-east-1:000000000000:pager'],
      Dimensions: [{ Name: 'Endpoint', Value: 'breach' }],
    });
    const toAlarm = history.AlarmHistoryItems?.find(
      (i) => i.HistorySummary === 'Alarm updated from INSUFFICIENT_DATA to ALARM',
    );
    expect(toAlarm).toMatchObject({ AlarmName: 'breach', HistoryItemType: 'StateUpdate' });
    expect(JSON.parse(toAlarm?.HistoryData ?? '{}')).toMatchObject({
      oldState: { stateValue: 'INSUFFICIENT_DATA' },
      newState: { stateValue: 'ALARM', stateReasonData: { statistic: 'Maximum', recentDatapoints: [250] } },
    });
  });

  it('sets an alarm state with SetAlarmState, and lists it in the history', async () => {
    // Prepare: no data ever comes, and ignore keeps whatever state is set.
    await client.send(new PutMetricAlarmCommand(alarmInput('manual')));

    // Act
    await client.send(
      new SetAlarmStateCommand({
        AlarmName: 'manual',
        StateValue: 'ALARM',
        StateReason: 'testing the pager',
      }),
    );
    const described = await client.send(new DescribeAlarmsCommand({ AlarmNamePrefix: 'manu' }));
    const history = await client.send(
      new DescribeAlarmHistoryCommand({ AlarmName: 'manual', HistoryItemType: 'StateUpdate' }),
    );

    // Assess
    expect(described.MetricAlarms?.map((a) => [a.AlarmName, a.StateValue, a.StateReason])).toEqual([
      ['manual', 'ALARM', 'testing the pager'],
    ]);
    expect(history.AlarmHistoryItems?.map((i) => i.HistorySummary)).toEqual([
      'Alarm updated from INSUFFICIENT_DATA to ALARM',
    ]);
  });

  it('deletes alarms with DeleteAlarms', async () => {
    // Prepare
    await client.send(new PutMetricAlarmCommand(alarmInput('doomed-1')));
    await client.send(new PutMetricAlarmCommand(alarmInput('doomed-2')));

    // Act
    await client.send(new DeleteAlarmsCommand({ AlarmNames: ['doomed-1', 'doomed-2'] }));
    const left = await client.send(new DescribeAlarmsCommand({ AlarmNamePrefix: 'doomed' }));

    // Assess
    expect(left.MetricAlarms).toEqual([]);
  });

  it('answers ResourceNotFound for an unknown alarm in DeleteAlarms and SetAlarmState, deleting none', async () => {
    // Prepare
    await client.send(new PutMetricAlarmCommand(alarmInput('kept')));

    // Act
    const deleting = await failureOf(
      client.send(new DeleteAlarmsCommand({ AlarmNames: ['kept', 'nobody'] })),
    );
    const setting = await failureOf(
      client.send(new SetAlarmStateCommand({ AlarmName: 'nobody', StateValue: 'OK', StateReason: 'x' })),
    );
    const still = await client.send(new DescribeAlarmsCommand({ AlarmNames: ['kept'] }));

    // Assess
    expect(deleting).toBeInstanceOf(ResourceNotFound);
    expect(deleting.message).toContain('nobody');
    expect(setting).toBeInstanceOf(ResourceNotFound);
    expect(still.MetricAlarms?.map((a) => a.AlarmName)).toEqual(['kept']);
  });

  it('refuses PutMetricData into an AWS/ namespace', async () => {
    // Act
    const error = await failureOf(
      client.send(
        new PutMetricDataCommand({
          Namespace: 'AWS/SageMaker',
          MetricData: [{ MetricName: 'Invocations', Value: 1 }],
        }),
      ),
    );
    const listed = await client.send(new ListMetricsCommand({ Namespace: 'AWS/SageMaker' }));

    // Assess
    expect(error).toBeInstanceOf(InvalidParameterValueException);
    expect(error.message).toContain('AWS/SageMaker');
    expect(listed.Metrics).toEqual([]);
  });

  it('refuses DescribeAlarms with both AlarmNames and AlarmNamePrefix', async () => {
    // Act
    const error = await failureOf(
      client.send(new DescribeAlarmsCommand({ AlarmNames: ['kept'], AlarmNamePrefix: 'ke' })),
    );

    // Assess
    expect(error).toBeInstanceOf(InvalidParameterCombinationException);
  });

  it('refuses GetMetricStatistics with both Statistics and ExtendedStatistics', async () => {
    // Act
    const error = await failureOf(
      client.send(
        new GetMetricStatisticsCommand({
          Namespace: 'Mlops',
          MetricName: 'Latency',
          StartTime: new Date(Date.now() - 10 * MINUTE),
          EndTime: new Date(),
          Period: 60,
          Statistics: ['Sum'],
          ExtendedStatistics: ['p99'],
        }),
      ),
    );

    // Assess
    expect(error).toBeInstanceOf(InvalidParameterCombinationException);
  });

  it('refuses a metric-math alarm, which it cannot evaluate', async () => {
    // Act
    const error = await failureOf(
      client.send(
        new PutMetricAlarmCommand({
          AlarmName: 'math',
          EvaluationPeriods: 1,
          Threshold: 1,
          ComparisonOperator: 'GreaterThanThreshold',
          Metrics: [{ Id: 'e1', Expression: 'm1 / 2', ReturnData: true }],
        }),
      ),
    );

    // Assess
    expect(error).toBeInstanceOf(InvalidParameterValueException);
    expect(error.message).toContain('math');
  });

  it('makes the metrics of an EMF log line visible to ListMetrics and GetMetricStatistics', async () => {
    // Prepare
    const timestamp = Math.floor(Date.now() / MINUTE) * MINUTE - 2 * MINUTE + 5000;
    const line = JSON.stringify({
      _aws: {
        Timestamp: timestamp,
        CloudWatchMetrics: [
          { Namespace: 'Emf', Dimensions: [['service']], Metrics: [{ Name: 'Predictions', Unit: 'Count' }] },
        ],
      },
      service: 'predict',
      Predictions: [1, 1, 1],
    });

    // Act
    const count = cloudwatch.ingestLogLine(
      `2024-05-22T10:00:00.000Z\tf00dfeed-0000-4000-8000-000000000000\tINFO\t${line}`,
    );
    const listed = await client.send(new ListMetricsCommand({ Namespace: 'Emf' }));
    const stats = await client.send(
      new GetMetricStatisticsCommand({
        Namespace: 'Emf',
        MetricName: 'Predictions',
        Dimensions: [{ Name: 'service', Value: 'predict' }],
        StartTime: new Date(timestamp - 5000),
        EndTime: new Date(timestamp - 5000 + MINUTE),
        Period: 60,
        Statistics: ['Sum'],
      }),
    );

    // Assess
    expect(count).toBe(1);
    expect(cloudwatch.ingestLogLine('plain text')).toBe(0);
    expect(listed.Metrics).toEqual([
      { Namespace: 'Emf', MetricName: 'Predictions', Dimensions: [{ Name: 'service', Value: 'predict' }] },
    ]);
    expect(stats.Datapoints?.map((d) => [d.Sum, d.Unit])).toEqual([[3, 'Count']]);
  });
});
