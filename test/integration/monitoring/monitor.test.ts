/**
 * One monitoring check against DynamoDB Local (the ledger), s3rver (the prediction log, the label
 * store, the dataset manifests) and the local KMS signing key: each model version is compared
 * with the baseline the ledger leads to, its report is recorded once per window, and drift of the
 * version serving most of the traffic starts one retraining run, held back by the cooldown. The
 * training state machine is not under test: its client is mocked and its calls asserted.
 */
import {
  DescribeExecutionCommand,
  ExecutionDoesNotExist,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_CREDENTIALS } from '../../../infra/local/engines/credentials.ts';
import { type UseCase, UseCaseSchema } from '../../../shared/config/use-case.ts';
import { readHead } from '../../../shared/ledger/append.ts';
import { ofType, recordsOn } from '../../../shared/ledger/queries.ts';
import type { TimeWindow } from '../../../shared/monitoring/log-reader.ts';
import { type MonitorResult, runMonitor } from '../../../shared/monitoring/monitor.ts';
import { retrainingRunId } from '../../../shared/monitoring/retraining.ts';
import { readText } from '../../../shared/s3.ts';
import demo from '../../../use-cases/flight-delay.ts';
import { type Emulators, startEmulators } from '../../support/emulators.ts';
import { createLedgerTable } from '../../support/ledger-table.ts';
import {
  deliverLog,
  drawFlights,
  type Flight,
  logLine,
  onTime,
  registerTrainedVersion,
  sendFeedback,
  servedLines,
  type TrafficShift,
  type TrainedVersion,
} from '../../support/monitoring.ts';

const STATE_MACHINE = 'arn:aws:states:us-east-1:111122223333:stateMachine:flight-delay-training';
const ENDPOINT = 'flight-delay-endpoint';
const V1 = 'flight-delay-v1';
const V2 = 'flight-delay-v2';
/** Drifted traffic moves four of the seven features (4/7 >= the demo's driftShare of 0.5). */
const SHIFT: TrafficShift = { delayRate2h: 0.3, flights2h: 20, distance: 2000, evening: true };
const MOVED = ['delayRate2h', 'distance', 'flights2h', 'hour'];
const UNMOVED = ['destination', 'origin', 'weekday'];
const ALL_FEATURES = [...MOVED, ...UNMOVED].sort();

const demoUseCase = UseCaseSchema.parse(demo);
let emu: Emulators;

/** The demo use case with some of its monitoring settings overridden. */
function withMonitoring(overrides: Partial<UseCase['monitoring']>): UseCase {
  return UseCaseSchema.parse({ ...demo, monitoring: { ...demoUseCase.monitoring, ...overrides } });
}

/** The 24-hour window of one UTC day. */
function dayWindow(day: string): TimeWindow {
  const start = `${day}T00:00:00.000Z`;
  return { start, end: new Date(Date.parse(start) + 86_400_000).toISOString() };
}

function minutesAfter(iso: string, minutes: number): string {
  return new Date(Date.parse(iso) + minutes * 60_000).toISOString();
}

/**
 * A training state machine client that accepts every start, keeping the calls for assertions.
 * Started runs report `status` (a finished run by default; RUNNING for one still going).
 */
function trainingPipeline(options: { failFirstStart?: Error; status?: 'RUNNING' | 'SUCCEEDED' } = {}) {
  const sfn = new SFNClient({ region: 'us-east-1', credentials: LOCAL_CREDENTIALS });
  const mock = mockClient(sfn);
  const started = new Set<string>();
  const start = (input: { name?: string }) => {
    const executionArn = `${STATE_MACHINE.replace(':stateMachine:', ':execution:')}:${input.name}`;
    started.add(executionArn);
    return { executionArn, startDate: new Date() };
  };
  // As Step Functions answers: an execution exists once a start has succeeded.
  mock.on(DescribeExecutionCommand).callsFake((input: { executionArn?: string }) => {
    if (started.has(input.executionArn ?? ''))
      return { executionArn: input.executionArn, status: options.status ?? 'SUCCEEDED' };
    throw new ExecutionDoesNotExist({
      message: `Execution Does Not Exist: '${input.executionArn}'`,
      $metadata: {},
    });
  });
  if (options.failFirstStart)
    mock.on(StartExecutionCommand).rejectsOnce(options.failFirstStart).callsFake(start);
  else mock.on(StartExecutionCommand).callsFake(start);
  const starts = () =>
    mock.commandCalls(StartExecutionCommand).map((c) => {
      const input = c.args[0].input;
      return {
        stateMachineArn: input.stateMachineArn,
        name: input.name,
        input: JSON.parse(input.input ?? '{}') as unknown,
      };
    });
  return { sfn, starts };
}

let scenarios = 0;

/**
 * A fresh ledger, prediction-log bucket and datasets bucket, with V1 trained on the training
 * distribution, so that each test owns its ledger and its window's objects.
 */
async function scenario(useCase: UseCase = demoUseCase, pipeline = trainingPipeline()) {
  const name = `monitor-${++scenarios}`;
  const ledger = emu.ledger(await createLedgerTable(emu.ddb, name));
  const logs = `${name}-logs`;
  const datasets = `${name}-datasets`;
  await Promise.all([emu.createBucket(logs), emu.createBucket(datasets)]);
  const ctx = { s3: emu.s3, ledger, bucket: datasets, useCase };
  const v1 = await registerTrainedVersion(ctx, { modelVersion: V1, runId: 'flight-delay-run-1', seed: 100 });
  let trafficSeed = 1000;
  return {
    useCase,
    ledger,
    logs,
    v1,
    starts: pipeline.starts,
    train: (v: TrainedVersion) => registerTrainedVersion(ctx, v),
    /** Serves `n` flights of `version` (a seed of their own), spread over the window, delivered on time. */
    async serve(window: TimeWindow, version: string, n: number, shift: TrafficShift = {}) {
      const lines = servedLines(useCase, version, window, drawFlights(++trafficSeed, n, shift));
      await deliverLog(emu.s3, logs, useCase.name, onTime(lines), version);
      return lines;
    },
    /** Stores the feedback of `count` of the lines, ingested 10 minutes after the window. */
    feedback(lines: Parameters<typeof sendFeedback>[1], count: number, window: TimeWindow) {
      return sendFeedback(
        { s3: emu.s3, bucket: datasets, useCase },
        lines,
        count,
        minutesAfter(window.end, 10),
      );
    },
    /** One check of the window, run at `now` (default: 30 minutes after the window's end). */
    check(window: TimeWindow, now = minutesAfter(window.end, 30)): Promise<MonitorResult> {
      return runMonitor({
        useCase,
        s3: emu.s3,
        ledger,
        predictionLogBucket: logs,
        datasetsBucket: datasets,
        endpointName: ENDPOINT,
        window,
        actor: 'monitor/schedule',
        training: { sfn: pipeline.sfn, stateMachineArn: STATE_MACHINE },
        now: () => new Date(now),
      });
    },
    eventsOf: (modelVersion: string) => recordsOn(ledger, 'byModel', modelVersion),
    ledgerLength: async () => (await readHead(ledger))?.seq ?? 0,
  };
}

type Report = MonitorResult['reports'][number];

function reportOf(result: MonitorResult, modelVersion = V1): Report {
  const report = result.reports.find((r) => r.modelVersion === modelVersion);
  if (!report) throw new Error(`no report for ${modelVersion}: ${JSON.stringify(result.skipped)}`);
  return report;
}

function verdicts(report: Report): Record<string, string> {
  return Object.fromEntries(report.features.map((f) => [f.feature, f.verdict]));
}

function everyFeature(verdict: string): Record<string, string> {
  return Object.fromEntries(ALL_FEATURES.map((f) => [f, verdict]));
}

const movedDrift = () => ({
  ...Object.fromEntries(MOVED.map((f) => [f, 'drift'])),
  ...Object.fromEntries(UNMOVED.map((f) => [f, 'no-drift'])),
});

beforeAll(async () => {
  emu = await startEmulators();
}, 120_000);

afterAll(async () => {
  await emu?.stop();
});

describe('a window of traffic from the training distribution', () => {
  const window = dayWindow('2026-06-01');
  let s: Awaited<ReturnType<typeof scenario>>;
  let result: MonitorResult;

  beforeAll(async () => {
    s = await scenario();
    const lines = await s.serve(window, V1, 1500);
    await s.feedback(lines, 900, window);
    result = await s.check(window);
  });

  it('finds no drift in any feature and records a MonitoringReport with every check', async () => {
    // Act
    const recorded = ofType(await s.eventsOf(V1), 'MonitoringReport');
    // Assess
    expect(reportOf(result).dataset.decision).toBe('no-drift');
    expect(verdicts(reportOf(result))).toEqual(everyFeature('no-drift'));
    expect(recorded.map((r) => r.event)).toEqual([reportOf(result).event]);
    const event = recorded[0]?.event;
    expect(event).toMatchObject({
      eventId: `monitor/flight-delay/${V1}/${window.start}/${window.end}`,
      endpointName: ENDPOINT,
      window,
      sampleSize: 1500,
      decision: 'no-drift',
      driftedShare: 0,
      threshold: demoUseCase.monitoring.driftShare,
      labeled: 900,
    });
    expect(event?.features.map((f) => f.name).sort()).toEqual(ALL_FEATURES);
    // 3,000 training rows, above Evidently's 1,000: distances decide, not p-values.
    for (const f of event?.features ?? []) {
      const categorical = f.name === 'origin' || f.name === 'destination';
      expect(f).toMatchObject({
        test: categorical ? 'jensen-shannon' : 'wasserstein',
        threshold: 0.1,
        chosenBy: 'reference-size',
        referenceSize: 3000,
        currentSize: 1500,
        verdict: 'no-drift',
        drifted: false,
      });
      expect(f.statistic).toBeGreaterThanOrEqual(0);
      expect(f.statistic).toBeLessThan(0.1);
    }
    expect(event?.prediction).toMatchObject({ name: 'score', drifted: false, referenceSize: 1000 });
  });

  it('writes the full report, with the log counts and the distributions, to the prediction-log bucket', async () => {
    // Act
    const key = `monitoring/flight-delay/${window.end}/${V1}.json`;
    const full = JSON.parse(await readText(emu.s3, { bucket: s.logs, key }));
    // Assess
    expect(reportOf(result).reportUri).toBe(`s3://${s.logs}/${key}`);
    expect(reportOf(result).event.reportUri).toBe(`s3://${s.logs}/${key}`);
    expect(full).toMatchObject({
      modelVersion: V1,
      window,
      rows: 1500,
      labeled: 900,
      log: { lines: 1500, unreadable: 0, duplicates: 0, outside: 0 },
      reference: { runId: 'flight-delay-run-1', datasetHash: s.v1.datasetHash },
    });
    expect(Object.keys(full.distributions).sort()).toEqual([...ALL_FEATURES, 'score'].sort());
    // Both samples on common bins, to draw them: every value of the window's sample in one bin.
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    expect(sum(full.distributions.distance.bins.current)).toBe(1500);
    expect(sum(full.distributions.distance.bins.reference)).toBe(2000);
    expect(full.distributions.hour.bins.edges).toHaveLength(full.distributions.hour.bins.current.length + 1);
    expect(sum(Object.values(full.distributions.origin.current))).toBe(1500);
  });

  it('records no drift and starts no retraining', async () => {
    // Act
    const events = await s.eventsOf(V1);
    // Assess
    expect(result.retraining).toBeUndefined();
    expect(result.primaryVersion).toBe(V1);
    expect(ofType(events, 'DriftDetected')).toEqual([]);
    expect(ofType(events, 'IncidentOpened')).toEqual([]);
    expect(ofType(events, 'RetrainingTriggered')).toEqual([]);
    expect(s.starts()).toEqual([]);
  });

  it('realizes from feedback the quality it estimated from the scores alone', () => {
    // Assess
    const { quality, estimated } = reportOf(result).event;
    expect(quality?.auc).toBeGreaterThan(0.6);
    expect(estimated?.auc).toBeGreaterThan(0.6);
    // The traffic is the training distribution and its score calibrated: the estimate holds.
    expect(Math.abs((quality?.auc ?? 0) - (estimated?.auc ?? 1))).toBeLessThan(0.1);
    expect(Math.abs((quality?.positiveRate ?? 0) - (estimated?.positiveRate ?? 1))).toBeLessThan(0.1);
  });
});

describe('a window of drifted traffic', () => {
  const first = dayWindow('2026-06-01');
  const useCase = withMonitoring({ retrain: { enabled: true, cooldownHours: 48 } });

  it('decides drift on exactly the moved features and records it, an incident and a retraining', async () => {
    // Prepare
    const s = await scenario(useCase);
    await s.serve(first, V1, 600, SHIFT);
    // Act
    const result = await s.check(first);
    // Assess
    const report = reportOf(result);
    expect(report.event.decision).toBe('drift');
    expect(verdicts(report)).toEqual(movedDrift());
    const events = await s.eventsOf(V1);
    const drift = ofType(events, 'DriftDetected').map((r) => r.event);
    expect(drift).toHaveLength(1);
    expect(drift[0]).toMatchObject({
      endpointName: ENDPOINT,
      window: first,
      driftedShare: 4 / 7,
      threshold: useCase.monitoring.driftShare,
    });
    expect([...(drift[0]?.driftedFeatures ?? [])].sort()).toEqual(MOVED);
    const incidents = ofType(events, 'IncidentOpened').map((r) => r.event);
    expect(incidents).toHaveLength(1);
    expect(incidents[0]).toMatchObject({
      modelVersion: V1,
      endpointName: ENDPOINT,
      relatedEventIds: [report.eventId, drift[0]?.eventId],
    });
    const triggered = ofType(events, 'RetrainingTriggered').map((r) => r.event);
    expect(triggered).toHaveLength(1);
    expect(triggered[0]).toMatchObject({
      endpointName: ENDPOINT,
      window: first,
      trigger: 'drift',
      runId: retrainingRunId('flight-delay', first),
    });
    for (const f of MOVED) expect(triggered[0]?.reason).toContain(`${f} (wasserstein`);
    for (const f of UNMOVED) expect(triggered[0]?.reason).not.toContain(f);
  });

  it('starts one training run named for the window, with trigger drift and the drifted features as reason', async () => {
    // Prepare
    const s = await scenario(useCase);
    await s.serve(first, V1, 600, SHIFT);
    // Act
    const result = await s.check(first);
    // Assess
    expect(result.retraining).toMatchObject({
      outcome: 'started',
      runId: expect.stringMatching(/^flight-delay-20260602000000-[0-9a-f]{4}$/),
    });
    const reason = result.retraining?.reason ?? '';
    expect(s.starts()).toEqual([
      {
        stateMachineArn: STATE_MACHINE,
        name: result.retraining?.runId,
        input: { useCase: 'flight-delay', trigger: 'drift', reason },
      },
    ]);
    for (const f of MOVED) expect(reason).toContain(f);
  });

  it('records nothing new and starts nothing when the same window is checked again', async () => {
    // Prepare
    const s = await scenario(useCase);
    await s.serve(first, V1, 600, SHIFT);
    const before = await s.check(first);
    const length = await s.ledgerLength();
    // Act: a retry an hour later, with another clock.
    const again = await s.check(first, minutesAfter(first.end, 90));
    // Assess
    expect(await s.ledgerLength()).toBe(length);
    expect(again.reports.map((r) => r.recorded)).toEqual(['recorded-earlier']);
    expect(reportOf(again).event).toEqual(reportOf(before).event);
    expect(again.retraining).toMatchObject({ outcome: 'already-started', runId: before.retraining?.runId });
    expect(s.starts().map((c) => c.name)).toEqual([before.retraining?.runId]);
  });

  it('starts the run on a retry when the first attempt failed after recording the retraining', async () => {
    // Prepare: the first StartExecution times out after RetrainingTriggered is recorded.
    const pipeline = trainingPipeline({ failFirstStart: new Error('connect ETIMEDOUT') });
    const s = await scenario(useCase, pipeline);
    await s.serve(first, V1, 600, SHIFT);
    await expect(s.check(first)).rejects.toThrow('ETIMEDOUT');
    // Act
    const retry = await s.check(first, minutesAfter(first.end, 35));
    // Assess
    const runId = retrainingRunId('flight-delay', first);
    expect(retry.retraining).toMatchObject({ outcome: 'started', runId });
    expect(s.starts().map((c) => c.name)).toEqual([runId, runId]);
    expect(ofType(await s.eventsOf(V1), 'RetrainingTriggered')).toHaveLength(1);
  });

  it('holds a later drift back during the cooldown and starts again once it is over', async () => {
    // Prepare
    const s = await scenario(useCase);
    const second = dayWindow('2026-06-02');
    const third = dayWindow('2026-06-04');
    await s.serve(first, V1, 600, SHIFT);
    const started = await s.check(first, '2026-06-02T00:30:00.000Z');
    await s.serve(second, V1, 600, SHIFT);
    await s.serve(third, V1, 600, SHIFT);
    // Act
    const held = await s.check(second, '2026-06-03T00:30:00.000Z');
    const eventsWhileHeld = await s.eventsOf(V1);
    const startsWhileHeld = s.starts();
    const resumed = await s.check(third, '2026-06-05T01:00:00.000Z');
    // Assess
    expect(started.retraining?.outcome).toBe('started');
    expect(held.retraining).toMatchObject({
      outcome: 'cooldown',
      cooldown: {
        eventId: `retrain/flight-delay/${first.start}/${first.end}`,
        until: '2026-06-04T00:30:00.000Z',
      },
    });
    expect(ofType(eventsWhileHeld, 'DriftDetected').map((r) => r.event.window)).toEqual([first, second]);
    // One incident for the episode: the held window's drift joins the one opened for the first.
    expect(ofType(eventsWhileHeld, 'IncidentOpened')).toHaveLength(1);
    expect(held.retraining?.incidentId).toBe(started.retraining?.incidentId);
    expect(ofType(eventsWhileHeld, 'RetrainingTriggered').map((r) => r.event.window)).toEqual([first]);
    expect(startsWhileHeld).toHaveLength(1);
    expect(resumed.retraining).toMatchObject({
      outcome: 'started',
      runId: retrainingRunId('flight-delay', third),
    });
    expect(s.starts().map((c) => c.name)).toEqual([
      retrainingRunId('flight-delay', first),
      retrainingRunId('flight-delay', third),
    ]);
  });
});

describe('a drift run still running', () => {
  const useCase = withMonitoring({ retrain: { enabled: true, cooldownHours: 1 } });

  it('holds the next retraining back past the cooldown while the last drift run is still going', async () => {
    // Prepare: a run that never finishes (it waits for an approval, say).
    const s = await scenario(useCase, trainingPipeline({ status: 'RUNNING' }));
    const first = dayWindow('2026-06-01');
    const later = dayWindow('2026-06-03');
    await s.serve(first, V1, 600, SHIFT);
    await s.serve(later, V1, 600, SHIFT);
    const started = await s.check(first, '2026-06-02T00:30:00.000Z');
    // Act: two days later, far past the one-hour cooldown.
    const held = await s.check(later, '2026-06-04T00:30:00.000Z');
    // Assess
    expect(held.retraining).toMatchObject({ outcome: 'running', runId: started.retraining?.runId });
    expect(s.starts()).toHaveLength(1);
  });
});

describe('reading the prediction log', () => {
  it('counts lines made outside the window, delivered twice or unreadable, and reads lines that arrived late or sit in an object named before the window', async () => {
    // Prepare
    const s = await scenario();
    const window = dayWindow('2026-06-01');
    const served = await s.serve(window, V1, 300);
    const flights = drawFlights(7, 8);
    const line = (i: number, time: string) =>
      JSON.stringify(logLine(s.useCase, V1, `extra-${i}`, time, flights[i] as Flight));
    const afterEnd = (seconds: number) => new Date(Date.parse(window.end) + seconds * 1000).toISOString();
    const beforeStart = (seconds: number) =>
      new Date(Date.parse(window.start) - seconds * 1000).toISOString();
    const keys = [
      // Made just before the window, delivered in its first hour.
      ...(await deliverLog(
        emu.s3,
        s.logs,
        'flight-delay',
        [
          { text: line(0, beforeStart(2)), arrival: minutesAfter(window.start, 1) },
          { text: line(1, beforeStart(1)), arrival: minutesAfter(window.start, 1) },
        ],
        'early',
      )),
      // Made in the window's first seconds, in an object named by the arrival of its oldest record
      // (the hour before the window).
      ...(await deliverLog(
        emu.s3,
        s.logs,
        'flight-delay',
        [{ text: line(7, minutesAfter(window.start, 0.2)), arrival: beforeStart(30) }],
        'named-early',
      )),
      // Made in the window's last seconds and delivered after its end, and one made after the end.
      ...(await deliverLog(
        emu.s3,
        s.logs,
        'flight-delay',
        [
          { text: line(2, afterEnd(-10)), arrival: afterEnd(60) },
          { text: line(3, afterEnd(-8)), arrival: afterEnd(60) },
          { text: line(4, afterEnd(-6)), arrival: afterEnd(70) },
          { text: line(5, afterEnd(120)), arrival: afterEnd(120) },
        ],
        'late',
      )),
      // A PutRecord retried after a timeout Firehose had accepted: five lines delivered again.
      ...(await deliverLog(emu.s3, s.logs, 'flight-delay', onTime(served.slice(100, 105)), 'retried')),
      // Not JSON, no score, a score that is not a number.
      ...(await deliverLog(
        emu.s3,
        s.logs,
        'flight-delay',
        [
          { text: '{"requestId":"cut-short","time":"2026-06-01T05:', arrival: '2026-06-01T05:10:00.000Z' },
          {
            text: JSON.stringify({ ...JSON.parse(line(6, '2026-06-01T05:01:00.000Z')), score: undefined }),
            arrival: '2026-06-01T05:10:00.000Z',
          },
          {
            text: JSON.stringify({ ...JSON.parse(line(6, '2026-06-01T05:02:00.000Z')), score: '0.4' }),
            arrival: '2026-06-01T05:10:00.000Z',
          },
        ],
        'bad',
      )),
    ];
    // Delivered more than the slack after the end: the window's check never lists it.
    await deliverLog(
      emu.s3,
      s.logs,
      'flight-delay',
      [{ text: line(6, afterEnd(-4)), arrival: afterEnd(65 * 60) }],
      'lost',
    );
    // Act
    const result = await s.check(window);
    // Assess
    expect(result.log).toEqual({
      objects: 24 + keys.length,
      lines: 300 + 2 + 1 + 4 + 5 + 3,
      unreadable: 3,
      duplicates: 5,
      outside: 3,
    });
    expect(reportOf(result).rows).toBe(304);
    expect(reportOf(result).event.sampleSize).toBe(304);
  });
});

describe('a window served by two model versions', () => {
  it('compares each version with its own baseline, lets the primary decide, and skips an unregistered one', async () => {
    // Prepare: V2 (the canary) was trained on drifted data; both serve the training distribution.
    const s = await scenario();
    const v2 = await s.train({ modelVersion: V2, runId: 'flight-delay-run-2', seed: 200, shift: SHIFT });
    const window = dayWindow('2026-06-01');
    await s.serve(window, V1, 1500);
    await s.serve(window, V2, 800);
    await s.serve(window, 'flight-delay-v9', 40);
    // Act
    const result = await s.check(window);
    // Assess
    expect(result.reports.map((r) => r.modelVersion).sort()).toEqual([V1, V2]);
    expect(reportOf(result, V1)).toMatchObject({ rows: 1500, reference: { datasetHash: s.v1.datasetHash } });
    expect(reportOf(result, V2)).toMatchObject({
      rows: 800,
      reference: { runId: 'flight-delay-run-2', datasetHash: v2.datasetHash },
    });
    expect(verdicts(reportOf(result, V1))).toEqual(everyFeature('no-drift'));
    expect(verdicts(reportOf(result, V2))).toEqual(movedDrift());
    expect(ofType(await s.eventsOf(V2), 'MonitoringReport').map((r) => r.event.decision)).toEqual(['drift']);
    expect(result.primaryVersion).toBe(V1);
    expect(result.retraining).toBeUndefined();
    expect(ofType(await s.eventsOf(V2), 'DriftDetected')).toEqual([]);
    expect(s.starts()).toEqual([]);
    expect(result.skipped).toEqual([
      {
        modelVersion: 'flight-delay-v9',
        rows: 40,
        reason: expect.stringContaining('no ModelRegistered event for model version flight-delay-v9'),
      },
    ]);
    expect(await s.eventsOf('flight-delay-v9')).toEqual([]);
  });
});

describe('a window with little traffic or little feedback', () => {
  it('takes no drift decision below monitoring.minSample, however far the traffic moved', async () => {
    // Prepare
    const s = await scenario();
    const window = dayWindow('2026-06-01');
    await s.serve(window, V1, 120, SHIFT);
    // Act
    const result = await s.check(window);
    // Assess
    const report = reportOf(result);
    expect(report.event).toMatchObject({ decision: 'insufficient-data', sampleSize: 120, driftedShare: 0 });
    expect(verdicts(report)).toEqual(everyFeature('insufficient-data'));
    expect(report.features[0]?.detail).toContain('monitoring.minSample (200)');
    expect(result.retraining).toBeUndefined();
    expect(ofType(await s.eventsOf(V1), 'DriftDetected')).toEqual([]);
    expect(s.starts()).toEqual([]);
  });

  it('reports no realized quality below monitoring.minLabels, and still the estimated quality', async () => {
    // Prepare
    const s = await scenario();
    const window = dayWindow('2026-06-01');
    const lines = await s.serve(window, V1, 600);
    await s.feedback(lines, 40, window);
    // Act
    const result = await s.check(window);
    // Assess
    const report = reportOf(result);
    expect(result.feedback).toEqual({ labels: 40, rejected: 0 });
    expect(report.realized).toBeUndefined();
    expect(report.event.quality).toBeUndefined();
    expect(report.event.labeled).toBe(40);
    expect(report.event.estimated?.auc).toBeGreaterThan(0.6);
    expect(report.notes).toContainEqual(expect.stringContaining('below monitoring.minLabels (100)'));
  });
});
