/**
 * Eleven days of the flight-delay use case, recorded in the emulators as the stack would record
 * them, for the HTML report's integration test and its screenshot: v1 trained, approved and
 * deployed by canary; daily monitoring checks (the real monitor over synthetic traffic, writing
 * its full reports to the prediction-log bucket); drift, an incident and a retraining trigger;
 * v2 retrained on the drifted traffic, compared with v1, approved and deployed; v3's canary
 * rolled back on its alarms, with an incident; and a last window where one feature moved again.
 */
import { SFNClient } from '@aws-sdk/client-sfn';
import { LOCAL_CREDENTIALS } from '../../infra/local/engines/credentials.ts';
import type { Target } from '../../infra/ops/target.ts';
import { type UseCase, UseCaseSchema } from '../../shared/config/use-case.ts';
import { deploymentAlarmNames, endpointNameOf } from '../../shared/deployment/names.ts';
import { mulberry32 } from '../../shared/features/stats.ts';
import { appendEvent } from '../../shared/ledger/append.ts';
import { sha256Hex } from '../../shared/ledger/canonical.ts';
import type { DatasetBuilt, LedgerEvent, ReproducibilityManifest } from '../../shared/ledger/events.ts';
import type { TimeWindow } from '../../shared/monitoring/log-reader.ts';
import { type MonitorResult, runMonitor } from '../../shared/monitoring/monitor.ts';
import { driftReason, retrainingRunId } from '../../shared/monitoring/retraining.ts';
import demo from '../../use-cases/flight-delay.ts';
import type { Emulators } from './emulators.ts';
import { createLedgerTable, type TestLedger } from './ledger-table.ts';
import {
  deliverLog,
  drawFlights,
  type Flight,
  onTime,
  sendFeedback,
  servedLines,
  storeTrainedVersion,
  type TrafficShift,
  type TrainedVersion,
} from './monitoring.ts';

export const REPORT_USE_CASE = 'flight-delay';
export const REPORT_STAGE = 'dev';
export const REPORT_ENDPOINT = endpointNameOf(REPORT_STAGE, REPORT_USE_CASE);
/** When the report is generated: after the last check. */
export const REPORT_NOW = '2026-05-12T01:00:00.000Z';
export const V1 = 'flight-delay-v1';
export const V2 = 'flight-delay-v2';
export const V3 = 'flight-delay-v3';

/** The traffic of the drift: four of the seven features moved (the monitor test's shift). */
const DRIFTED: TrafficShift = { delayRate2h: 0.3, flights2h: 20, distance: 2000, evening: true };
/** The last window: the drifted traffic, but departures back in the day (only `hour` moves for v2). */
const DAYTIME: TrafficShift = { delayRate2h: 0.3, flights2h: 20, distance: 2000 };

/** What the scenario recorded, for assertions. */
export interface ReportScenario {
  readonly useCase: UseCase;
  readonly ledger: TestLedger;
  readonly ledgerTable: string;
  readonly logsBucket: string;
  readonly datasetsBucket: string;
  /** The monitor's results, by window start day. */
  readonly checks: ReadonlyMap<string, MonitorResult>;
  /** The retraining run that produced v2. */
  readonly retrainingRunId: string;
}

const minutes = (iso: string, n: number) => new Date(Date.parse(iso) + n * 60_000).toISOString();
const dayWindow = (day: string): TimeWindow => {
  const start = `${day}T00:00:00.000Z`;
  return { start, end: minutes(start, 24 * 60) };
};

/** The target a command would resolve for these emulators (its other services are never called). */
export function scenarioTarget(emu: Emulators, ledgerTable: string): Target {
  const unused = 'http://127.0.0.1:9';
  return {
    sfn: new SFNClient({ endpoint: unused, region: 'us-east-1', credentials: LOCAL_CREDENTIALS }),
    local: true,
    ledgerTable,
    signingKey: emu.signingKey.signingKeyArn,
    dynamodbEndpoint: emu.dynamodb.endpoint,
    cloud: {
      region: 'us-east-1',
      endpoints: {
        dynamodb: emu.dynamodb.endpoint,
        s3: emu.s3Engine.endpoint,
        kms: emu.signingKey.kmsEngine.endpoint,
        lambda: unused,
        stepfunctions: unused,
        sagemaker: unused,
        sagemakerRuntime: unused,
        sns: unused,
        cloudwatch: unused,
        autoscaling: unused,
        firehose: unused,
      },
    },
  };
}

/** Feedback whose outcomes are partly noise: what a model that no longer fits its traffic earns. */
function withNoisyOutcomes<T extends { readonly flight: Flight }>(
  lines: readonly T[],
  share: number,
  seed: number,
): T[] {
  const random = mulberry32(seed);
  return lines.map((l) =>
    random() < share ? { ...l, flight: { ...l.flight, label: random() < 0.5 ? 0 : 1 } } : l,
  );
}

/** Records the scenario in a fresh ledger table and two fresh buckets named after `name`. */
export async function recordReportScenario(emu: Emulators, name: string): Promise<ReportScenario> {
  const useCase = UseCaseSchema.parse(demo);
  const ledgerTable = await createLedgerTable(emu.ddb, name);
  const ledger = emu.ledger(ledgerTable);
  const logsBucket = `${name}-logs`;
  const datasetsBucket = `${name}-datasets`;
  await Promise.all([emu.createBucket(logsBucket), emu.createBucket(datasetsBucket)]);
  const append = (event: LedgerEvent) => appendEvent(ledger, event);
  const common = { useCase: useCase.name };
  const alarms = deploymentAlarmNames(REPORT_ENDPOINT);
  let trafficSeed = 5000;

  /** A training run as the pipeline records it: dataset, run, evaluation, registration. */
  async function train(
    v: TrainedVersion & { readonly registeredAt: string },
    run: {
      readonly trigger: 'manual' | 'schedule' | 'drift';
      readonly reason: string;
      readonly auc: number;
      readonly champion?: { readonly modelVersion: string; readonly auc: number };
    },
  ): Promise<void> {
    const { built, registered } = await storeTrainedVersion(
      { s3: emu.s3, bucket: datasetsBucket, useCase },
      v,
    );
    const manifest = (b: DatasetBuilt): ReproducibilityManifest => ({
      dataset: { hash: b.datasetHash, objects: b.objects },
      featureDefinitionsHash: b.featureDefinitionsHash,
      codeVersion: 'git:4f2c1e9',
      configHash: sha256Hex('config/flight-delay'),
      containerImage: '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1',
      hyperparameters: { objective: 'binary:logistic', num_round: 100, max_depth: 5, eta: 0.2 },
      seed: 42,
    });
    const at = (n: number) => minutes(v.registeredAt, n);
    const ids = { runId: v.runId, datasetHash: built.datasetHash };
    await append(built);
    await append({
      ...common,
      ...ids,
      type: 'TrainingStarted',
      eventId: `train-start/${v.runId}`,
      actor: 'pipeline/Train',
      time: at(-55),
      trigger: run.trigger,
      reason: run.reason,
      manifest: manifest(built),
    });
    await append({
      ...common,
      ...ids,
      type: 'TrainingCompleted',
      eventId: `train-done/${v.runId}`,
      actor: 'pipeline/Train',
      time: at(-20),
      manifest: manifest(built),
      metrics: { auc: run.auc, logLoss: 0.51 },
      artifact: { uri: `s3://${datasetsBucket}/runs/${v.runId}/model.tar.gz`, sha256: sha256Hex(v.runId) },
    });
    await append({
      ...common,
      ...ids,
      type: 'ModelEvaluated',
      eventId: `evaluate/${v.runId}`,
      actor: 'pipeline/Evaluate',
      time: at(-10),
      metrics: { auc: run.auc, logLoss: 0.51 },
      ...(run.champion
        ? { champion: { modelVersion: run.champion.modelVersion, metrics: { auc: run.champion.auc } } }
        : {}),
      gates: [
        { name: 'min-auc', metric: 'auc', comparison: '>=', threshold: 0.6, actual: run.auc, passed: true },
        {
          name: 'max-log-loss',
          metric: 'logLoss',
          comparison: '<=',
          threshold: 0.7,
          actual: 0.51,
          passed: true,
        },
        ...(run.champion
          ? [
              {
                name: 'auc-regression',
                metric: 'auc',
                comparison: 'maxRegression' as const,
                threshold: 0.02,
                actual: run.auc - run.champion.auc,
                passed: true,
              },
            ]
          : []),
      ],
      passed: true,
    });
    await append(registered);
  }

  async function approve(modelVersion: string, time: string, who: string, reason: string): Promise<void> {
    await append({
      ...common,
      type: 'ApprovalRecorded',
      eventId: `approval/${modelVersion}`,
      actor: `arn:aws:iam::111122223333:user/${who}`,
      time,
      modelVersion,
      approver: `arn:aws:iam::111122223333:user/${who}`,
      decision: 'approved',
      reason,
    });
  }

  async function deploy(modelVersion: string, id: string, time: string, previous?: string): Promise<void> {
    await append({
      ...common,
      type: 'DeploymentStarted',
      eventId: `deploy-start/${id}`,
      actor: 'pipeline/Deploy',
      time,
      deploymentId: id,
      modelVersion,
      endpointName: REPORT_ENDPOINT,
      trigger: 'pipeline',
      ...(previous ? { previousModelVersion: previous } : {}),
      strategy: { kind: 'canary', canaryPercent: 10, bakeMinutes: 30 },
    });
  }

  async function completed(modelVersion: string, id: string, time: string): Promise<void> {
    await append({
      ...common,
      type: 'DeploymentCompleted',
      eventId: `deploy-done/${id}`,
      actor: 'pipeline/Deploy',
      time,
      deploymentId: id,
      modelVersion,
      endpointName: REPORT_ENDPOINT,
    });
  }

  /** Serves `n` flights of `version` over [from, to), delivered on time; returns the lines. */
  async function serve(version: string, from: string, to: string, n: number, shift: TrafficShift = {}) {
    const lines = servedLines(
      useCase,
      version,
      { start: from, end: to },
      drawFlights(++trafficSeed, n, shift),
    );
    await deliverLog(emu.s3, logsBucket, useCase.name, onTime(lines), `${version}-${trafficSeed}`);
    return lines;
  }

  const checks = new Map<string, MonitorResult>();
  /** One scheduled check of a day, 30 minutes after it ends, as the schedule runs it. */
  async function check(day: string): Promise<MonitorResult> {
    const window = dayWindow(day);
    const result = await runMonitor({
      useCase,
      s3: emu.s3,
      ledger,
      predictionLogBucket: logsBucket,
      datasetsBucket,
      endpointName: REPORT_ENDPOINT,
      window,
      actor: 'monitor/schedule',
      now: () => new Date(minutes(window.end, 30)),
    });
    checks.set(day, result);
    return result;
  }

  async function feedback(lines: Awaited<ReturnType<typeof serve>>, day: string, noise = 0): Promise<void> {
    const outcomes = noise > 0 ? withNoisyOutcomes(lines, noise, trafficSeed) : lines;
    await sendFeedback(
      { s3: emu.s3, bucket: datasetsBucket, useCase },
      outcomes,
      450,
      minutes(dayWindow(day).end, 10),
    );
  }

  // v1: the first model, approved and deployed by canary.
  await train(
    { modelVersion: V1, runId: 'flight-delay-run-1', seed: 100, registeredAt: '2026-05-01T02:00:00.000Z' },
    { trigger: 'manual', reason: 'first model of the use case', auc: 0.79 },
  );
  await approve(V1, '2026-05-01T03:00:00.000Z', 'alice', 'AUC 0.79 above the floor; features reviewed');
  await deploy(V1, 'deploy-1', '2026-05-01T04:00:00.000Z');
  await completed(V1, 'deploy-1', '2026-05-01T04:45:00.000Z');

  // Five quiet days.
  for (const day of ['2026-05-02', '2026-05-03', '2026-05-04', '2026-05-05', '2026-05-06']) {
    const w = dayWindow(day);
    await feedback(await serve(V1, w.start, w.end, 900), day);
    await check(day);
  }

  // The traffic drifts on May 7: drift, an incident, and a retraining trigger.
  const drifted = dayWindow('2026-05-07');
  await feedback(await serve(V1, drifted.start, drifted.end, 900, DRIFTED), '2026-05-07', 0.45);
  const driftCheck = await check('2026-05-07');
  const driftReport = driftCheck.reports.find((r) => r.modelVersion === V1)?.event;
  if (driftReport?.decision !== 'drift') throw new Error('the scenario expects drift on 2026-05-07');
  const runId = retrainingRunId(useCase.name, drifted);
  await append({
    ...common,
    type: 'RetrainingTriggered',
    eventId: `retrain/${useCase.name}/${drifted.start}/${drifted.end}`,
    actor: 'monitor/schedule',
    time: minutes(drifted.end, 31),
    modelVersion: V1,
    endpointName: REPORT_ENDPOINT,
    window: drifted,
    trigger: 'drift',
    reason: driftReason(driftReport),
    runId,
  });

  // v2: retrained on the drifted traffic, compared with v1, approved, deployed on May 8.
  await train(
    { modelVersion: V2, runId, seed: 200, shift: DRIFTED, registeredAt: '2026-05-08T02:00:00.000Z' },
    {
      trigger: 'drift',
      reason: driftReason(driftReport),
      auc: 0.81,
      champion: { modelVersion: V1, auc: 0.68 },
    },
  );
  await approve(V2, '2026-05-08T06:00:00.000Z', 'bob', 'beats v1 by 0.13 AUC on the drifted traffic');
  await deploy(V2, 'deploy-2', '2026-05-08T07:00:00.000Z', V1);
  const v2Live = '2026-05-08T07:40:00.000Z';
  await completed(V2, 'deploy-2', v2Live);
  const may8 = dayWindow('2026-05-08');
  const may8Lines = [
    ...(await serve(V1, may8.start, v2Live, 300, DRIFTED)),
    ...(await serve(V2, v2Live, may8.end, 600, DRIFTED)),
  ];
  await feedback(may8Lines, '2026-05-08', 0.2);
  await check('2026-05-08');

  const may9 = dayWindow('2026-05-09');
  await feedback(await serve(V2, may9.start, may9.end, 900, DRIFTED), '2026-05-09');
  await check('2026-05-09');

  // v3: a scheduled retraining whose canary fails its alarms on May 11 and is rolled back.
  await train(
    {
      modelVersion: V3,
      runId: 'flight-delay-run-3',
      seed: 300,
      shift: DRIFTED,
      registeredAt: '2026-05-10T12:00:00.000Z',
    },
    {
      trigger: 'schedule',
      reason: 'weekly retraining',
      auc: 0.815,
      champion: { modelVersion: V2, auc: 0.81 },
    },
  );
  await approve(V3, '2026-05-10T13:00:00.000Z', 'carol', 'marginal gain; canary will tell');
  const may10 = dayWindow('2026-05-10');
  await feedback(await serve(V2, may10.start, may10.end, 900, DRIFTED), '2026-05-10');
  await check('2026-05-10');
  await deploy(V3, 'deploy-3', '2026-05-11T09:00:00.000Z', V2);
  const may11 = dayWindow('2026-05-11');
  const canaryEnd = '2026-05-11T09:40:00.000Z';
  const may11Lines = [
    ...(await serve(V2, may11.start, may11.end, 900, DAYTIME)),
    ...(await serve(V3, '2026-05-11T09:00:00.000Z', canaryEnd, 60, DAYTIME)),
  ];
  await append({
    ...common,
    type: 'DeploymentRolledBack',
    eventId: 'rollback/deploy-3',
    actor: 'pipeline/Deploy',
    time: canaryEnd,
    deploymentId: 'deploy-3',
    modelVersion: V3,
    endpointName: REPORT_ENDPOINT,
    restoredModelVersion: V2,
    reason: 'alarms fired during the canary bake',
    alarms: [alarms.errors.green, alarms.latency.green],
  });
  await append({
    ...common,
    type: 'IncidentOpened',
    eventId: 'incident/deploy-3',
    actor: 'pipeline/Deploy',
    time: minutes(canaryEnd, 5),
    incidentId: 'INC-deploy-3',
    modelVersion: V3,
    endpointName: REPORT_ENDPOINT,
    severity: 'high',
    summary: `canary of ${V3} rolled back: ${alarms.errors.green} and ${alarms.latency.green} in ALARM`,
    relatedEventIds: ['rollback/deploy-3'],
  });
  await feedback(may11Lines, '2026-05-11');
  await check('2026-05-11');

  return { useCase, ledger, ledgerTable, logsBucket, datasetsBucket, checks, retrainingRunId: runId };
}
