/**
 * The synthesized deploy state machine in the local cloud: the bundled deploy functions, the
 * SageMaker emulator's endpoints, the local CloudWatch evaluating the stack's own alarms, and the
 * bundled predict function behind the API. Three model versions: the first creates the endpoint,
 * the second goes out as a canary that bakes, the third is made to fail and is rolled back.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeEndpointCommand,
  DescribeEndpointConfigCommand,
  SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOpenApiDocument } from '../../../infra/api/openapi.ts';
import { synthApp } from '../../../infra/cli/local.ts';
import { resourceNames } from '../../../infra/demo/seed.ts';
import { localS3Client } from '../../../infra/local/clients.ts';
import { type LocalCloud, startLocalCloud } from '../../../infra/local/cloud.ts';
import { LOCAL_CREDENTIALS } from '../../../infra/local/engines/credentials.ts';
import { signedFetch, signedRequest } from '../../../infra/local/sigv4.ts';
import { UseCaseSchema } from '../../../shared/config/use-case.ts';
import { deploymentAlarmNames, endpointNameOf, servingModelName } from '../../../shared/deployment/names.ts';
import { labelContract } from '../../../shared/labels/schema.ts';
import { readLabels } from '../../../shared/labels/store.ts';
import type { LedgerEvent } from '../../../shared/ledger/events.ts';
import { recordsOn, servedAt } from '../../../shared/ledger/queries.ts';
import { listKeys, readText } from '../../../shared/s3.ts';
import { PREDICT_METRICS } from '../../../shared/serving/api.ts';
import { type PredictionLogRecord, predictionLogPrefix } from '../../../shared/serving/prediction-log.ts';
import demo from '../../../use-cases/flight-delay.ts';
import seattle from '../../../use-cases/seattle-weather.ts';
import { runMlops } from '../../support/cli.ts';
import {
  demoRows,
  endOf,
  predictStatistic,
  type RegisteredModel,
  registerModel,
  startDeploy,
  syntheticRows,
  syntheticValues,
} from '../../support/deployment.ts';

const useCase = UseCaseSchema.parse(demo);
const AIRPORTS = ['ORD', 'DFW', 'ATL'];
const STAGE = 'dev';

const stateFile = join(mkdtempSync(join(tmpdir(), 'deploy-it-state-')), 'cloud.json');
const mlops = (args: readonly string[]) => runMlops(args, { MLOPS_LOCAL_STATE: stateFile });
let cloud: LocalCloud;
let sfn: SFNClient;
let sm: SageMakerClient;
let s3: ReturnType<typeof localS3Client>;
let ledger: { client: DynamoDBDocumentClient; tableName: string };
let endpointName: string;
let apiUrl: string;
const models: RegisteredModel[] = [];

async function predictOnce(airport: string) {
  const res = await signedFetch(`${apiUrl}/predict/${useCase.name}`, 'POST', {
    entities: { 'airport-delays': airport },
    request: { hour: 17, weekday: 5, distance: 800, origin: airport, destination: 'DFW' },
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** How many served requests are stored and prediction-log records were sent, so far. */
async function keptSoFar(): Promise<{ served: number; logged: number }> {
  const table = cloud.assembly.tables.find((t) => t.logicalId.startsWith('ServedRequests'))?.name;
  const scan = await ledger.client.send(new ScanCommand({ TableName: table, Select: 'COUNT' }));
  await cloud.firehose.flush();
  const logged = cloud.firehose.delivered().reduce((n, d) => n + d.records, 0);
  return { served: scan.Count ?? 0, logged };
}

/** A 4xx JSON error in the documented shape, naming `field` among its problems (when given). */
function expectNamedError(
  got: number,
  answer: { problems?: { field: string }[]; requestId: string },
  status: number,
  field: string,
  what: string,
): void {
  expect(got, what).toBe(status);
  expect(answer.requestId, what).toEqual(expect.any(String));
  if (field)
    expect(
      answer.problems?.map((p) => p.field),
      what,
    ).toContain(field);
}

/** Predicts in a loop until `done` settles; the versions that answered, and the failures. */
async function predictWhile(done: Promise<unknown>) {
  let over = false;
  void done.finally(() => {
    over = true;
  });
  const versions = new Map<string, number>();
  let failures = 0;
  let i = 0;
  while (!over) {
    const { status, body } = await predictOnce(AIRPORTS[i++ % AIRPORTS.length] ?? 'ORD');
    if (status === 200)
      versions.set(String(body.modelVersion), (versions.get(String(body.modelVersion)) ?? 0) + 1);
    else failures++;
  }
  return { versions, failures };
}

/** The variants of `endpoint` with autoscaling registered, and their policies' target values. */
function scaledVariants(endpoint: string) {
  const prefix = `endpoint/${endpoint}/variant/`;
  return {
    targets: cloud.autoscaling
      .targets()
      .filter((t) => t.resourceId.startsWith(prefix))
      .map((t) => ({ variant: t.resourceId.slice(prefix.length), min: t.minCapacity, max: t.maxCapacity })),
    targetValues: cloud.autoscaling
      .policies()
      .filter((p) => p.resourceId.startsWith(prefix))
      .map((p) => p.configuration.TargetValue),
  };
}

/** The variant serving on `endpoint` now. */
async function servingVariant(endpoint: string): Promise<string | undefined> {
  const d = await sm.send(new DescribeEndpointCommand({ EndpointName: endpoint }));
  return d.ProductionVariants?.[0]?.VariantName;
}

async function endpointEvents(): Promise<LedgerEvent[]> {
  return (await recordsOn(ledger, 'byEndpoint', endpointName)).map((r) => r.event);
}

async function deploy(model: RegisteredModel, reason: string) {
  const arn = await startDeploy(cloud, sfn, STAGE, useCase.name, {
    modelPackageArn: model.modelPackageArn,
    trigger: 'pipeline',
    actor: 'integration-test',
    reason,
  });
  return endOf(sfn, arn);
}

beforeAll(async () => {
  const { outdir } = synthApp(STAGE, mkdtempSync(join(tmpdir(), 'deploy-it-')));
  cloud = await startLocalCloud({
    cdkOut: outdir,
    timeScale: 0.01,
    log: () => {},
    stateFile,
    documents: { '/openapi.json': () => buildOpenApiDocument([useCase]) },
  });
  const region = cloud.assembly.placement.region;
  sfn = new SFNClient({ endpoint: cloud.endpoints.stepfunctions, region, credentials: LOCAL_CREDENTIALS });
  sm = new SageMakerClient({ endpoint: cloud.endpoints.sagemaker, region, credentials: LOCAL_CREDENTIALS });
  s3 = localS3Client(cloud.endpoints.s3);
  const names = resourceNames(cloud);
  ledger = {
    client: DynamoDBDocumentClient.from(
      new DynamoDBClient({ endpoint: cloud.endpoints.dynamodb, region, credentials: LOCAL_CREDENTIALS }),
    ),
    tableName: names.ledger,
  };
  endpointName = endpointNameOf(STAGE, useCase.name);
  apiUrl = `${cloud.apiEndpoint}/v1`;
  for (const airport of AIRPORTS) {
    const res = await signedFetch(`${apiUrl}/features/airport-delays/${airport}`, 'PUT', {
      eventTime: new Date(Date.now() - 60_000).toISOString(),
      values: { delayRate2h: 0.3, flights2h: 12 },
    });
    expect(res.status).toBe(200);
  }
  for (const [i, seed] of [11, 22, 33].entries()) {
    models.push(
      await registerModel(cloud, { sm, s3 }, useCase, {
        name: `deploy-it-${i + 1}`,
        seed,
        bucket: names.datasets,
        rows: demoRows(seed, 400, AIRPORTS),
      }),
    );
  }
}, 240_000);

afterAll(async () => {
  sfn?.destroy();
  sm?.destroy();
  s3?.destroy();
  ledger?.client.destroy();
  await cloud?.stop();
});

describe('the deploy state machine', () => {
  it('serves the OpenAPI document with the predict and rollback routes at GET /openapi.json', async () => {
    const res = await fetch(`${cloud.apiEndpoint}/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { paths: Record<string, Record<string, unknown>> };
    expect(Object.keys(doc.paths[`/predict/${useCase.name}`] ?? {})).toEqual(['post']);
    expect(Object.keys(doc.paths[`/deployments/${useCase.name}/rollback`] ?? {})).toEqual(['post']);
  });

  it('answers 503 naming the missing endpoint before anything is deployed', async () => {
    const { status, body } = await predictOnce('ORD');
    expect(status).toBe(503);
    expect(body.requestId).toEqual(expect.any(String));
  });

  it('creates the endpoint on the first version, and predict names that version', async () => {
    const [v1] = models;
    const end = await deploy(v1 as RegisteredModel, 'first model');
    expect(end.status).toBe('SUCCEEDED');
    expect(end.output).toMatchObject({ outcome: 'deployed', modelVersion: v1?.modelVersion, endpointName });
    const { status, body } = await predictOnce('ORD');
    expect(status).toBe(200);
    expect(body).toMatchObject({ modelVersion: v1?.modelVersion, threshold: useCase.gates.threshold });
    expect(body.score).toBeGreaterThanOrEqual(0);
    expect(body.score).toBeLessThanOrEqual(1);
    expect(body.label).toBe((body.score as number) >= useCase.gates.threshold ? 1 : 0);
    const types = (await endpointEvents()).map((e) => e.type);
    expect(types).toEqual(['DeploymentStarted', 'DeploymentCompleted']);
    // Instance mode: the volume is encrypted and SageMaker data capture is on, into the prediction-log bucket.
    const live = await sm.send(new DescribeEndpointCommand({ EndpointName: endpointName }));
    const config = await sm.send(
      new DescribeEndpointConfigCommand({ EndpointConfigName: live.EndpointConfigName }),
    );
    const logBucket = cloud.assembly.buckets.find((b) => b.logicalId.startsWith('PredictionLogs'))?.name;
    expect(config.KmsKeyId).toMatch(/^arn:aws:kms:/);
    expect(config.DataCaptureConfig).toMatchObject({
      EnableCapture: true,
      InitialSamplingPercentage:
        useCase.deployment.mode === 'instance' ? useCase.deployment.dataCapturePercent : -1,
      DestinationS3Uri: `s3://${logBucket}/capture/${useCase.name}/`,
      KmsKeyId: config.KmsKeyId,
    });
  });

  it('refuses a missing non-nullable online feature with a 400 naming the group and the feature', async () => {
    const { status, body } = await predictOnce('JFK');
    expect(status).toBe(400);
    const problems = body.problems as { field: string; problem: string }[];
    expect(problems).toHaveLength(1);
    expect(problems[0]?.field).toBe('entities.airport-delays');
    expect(problems[0]?.problem).toMatch(/'flights2h'.*not nullable/);
  });

  it('refuses bad prediction requests with a 4xx JSON error naming the field, and keeps nothing of them', async () => {
    const kept = await keptSoFar();
    const url = `${apiUrl}/predict/${useCase.name}`;
    const good = {
      entities: { 'airport-delays': 'ORD' },
      request: { hour: 17, weekday: 5, distance: 800, origin: 'ORD', destination: 'DFW' },
    };
    const cases: [string, unknown, string][] = [
      ['no body', undefined, 'body'],
      ['a wrong type', { ...good, request: { ...good.request, hour: '17' } }, 'request.hour'],
      ['out of bounds', { ...good, request: { ...good.request, weekday: 8 } }, 'request.weekday'],
      [
        'a missing request feature',
        { ...good, request: { hour: 17, weekday: 5, distance: 800, origin: 'ORD' } },
        'request.destination',
      ],
      ['a missing entity', { request: good.request }, 'entities'],
      ['an unknown field', { ...good, extra: 1 }, ''],
      ['a bad entity ID', { ...good, entities: { 'airport-delays': 'O/RD' } }, 'entities.airport-delays'],
    ];
    for (const [what, body, field] of cases) {
      const res = await signedFetch(url, 'POST', body);
      const answer = (await res.json()) as {
        message: string;
        problems?: { field: string }[];
        requestId: string;
      };
      expectNamedError(res.status, answer, 400, field, what);
    }
    const raw = await signedRequest(url, 'POST', '{"entities":');
    const notJson = await fetch(raw.url, raw.init);
    expect(notJson.status).toBe(400);
    const unknown = await signedFetch(`${apiUrl}/predict/no-such-use-case`, 'POST', good);
    expect(unknown.status).toBeGreaterThanOrEqual(400);
    expect(unknown.status).toBeLessThan(500);
    // No served request stored, no log line sent.
    expect(await keptSoFar()).toEqual(kept);
  });

  it('bakes a canary where both versions answer, then serves only the new one', async () => {
    const [v1, v2] = models as [RegisteredModel, RegisteredModel];
    const ended = deploy(v2, 'second model');
    const during = await predictWhile(ended);
    const end = await ended;
    expect(end.status).toBe('SUCCEEDED');
    expect(end.output).toMatchObject({ outcome: 'deployed', modelVersion: v2.modelVersion });
    expect(during.failures).toBe(0);
    expect(during.versions.get(v1.modelVersion)).toBeGreaterThan(0);
    expect(during.versions.get(v2.modelVersion)).toBeGreaterThan(0);
    const after = new Set<string>();
    for (const airport of AIRPORTS) after.add(String((await predictOnce(airport)).body.modelVersion));
    expect([...after]).toEqual([v2.modelVersion]);
    const events = (await endpointEvents()).filter(
      (e) => 'modelVersion' in e && e.modelVersion === v2.modelVersion,
    );
    expect(events.map((e) => e.type)).toEqual(['DeploymentStarted', 'DeploymentCompleted']);
    expect(events[0]).toMatchObject({
      strategy: { kind: 'canary', canaryPercent: useCase.deployment.canary.percent },
    });
    // Autoscaling moved with the traffic: on the new version's variant only.
    const scaling = useCase.deployment.mode === 'instance' ? useCase.deployment.autoscaling : undefined;
    expect(scaledVariants(endpointName)).toEqual({
      targets: [
        { variant: await servingVariant(endpointName), min: scaling?.minCapacity, max: scaling?.maxCapacity },
      ],
      targetValues: [scaling?.targetInvocationsPerInstance],
    });
  });

  it('rolls a failing canary back on its alarm and says so', async () => {
    const [, v2, v3] = models as [RegisteredModel, RegisteredModel, RegisteredModel];
    const group = cloud.assembly.modelPackageGroups.find((g) => g.name.endsWith(useCase.name))?.name ?? '';
    const version = Number(v3.modelVersion.split(':v')[1]);
    cloud.sagemaker.faults.inject(`InvokeModel:${servingModelName(group, version)}`, {
      error: 'ModelError',
      message: 'injected: the new model crashes',
      times: 100_000,
    });
    const before = await sm.send(new DescribeEndpointCommand({ EndpointName: endpointName }));
    const ended = deploy(v3, 'third model, broken');
    const during = await predictWhile(ended);
    const end = await ended;
    cloud.sagemaker.faults.clear();
    expect(during.failures).toBeGreaterThan(0);
    expect(end.status).toBe('SUCCEEDED');
    expect(end.output).toMatchObject({ outcome: 'rolled-back', modelVersion: v3.modelVersion });
    const after = await sm.send(new DescribeEndpointCommand({ EndpointName: endpointName }));
    expect(after.EndpointConfigName).toBe(before.EndpointConfigName);
    const rolledBack = (await endpointEvents()).find((e) => e.type === 'DeploymentRolledBack');
    expect(rolledBack).toMatchObject({
      modelVersion: v3.modelVersion,
      restoredModelVersion: v2.modelVersion,
    });
    const alarms = deploymentAlarmNames(endpointName);
    const watched = [...Object.values(alarms.errors), alarms.predictErrors];
    const named = rolledBack && 'alarms' in rolledBack ? (rolledBack.alarms ?? []) : [];
    expect(named.length).toBeGreaterThan(0);
    expect(named.every((a) => watched.includes(a))).toBe(true);
    const served = await servedAt(ledger, endpointName, new Date(Date.now() + 1000).toISOString());
    expect(served.modelVersion).toBe(v2.modelVersion);
    const { body } = await predictOnce('ORD');
    expect(body.modelVersion).toBe(v2.modelVersion);
  });

  it('refuses bad rollback requests with a 4xx naming the field, and starts nothing', async () => {
    const url = `${apiUrl}/deployments/${useCase.name}/rollback`;
    const executions = async () => (await recordsOn(ledger, 'byEndpoint', endpointName)).length;
    const before = await executions();
    const cases: [unknown, number, string][] = [
      [{}, 400, 'reason'],
      [{ reason: '   ' }, 400, 'reason'],
      [{ reason: 'x', to: 'two' }, 400, 'to'],
      [{ reason: 'x', to: 99 }, 404, 'to'],
      [{ reason: 'x', to: 3 }, 409, 'to'],
      [{ reason: 'x', extra: true }, 400, ''],
    ];
    for (const [body, status, field] of cases) {
      const res = await signedFetch(url, 'POST', body);
      const answer = (await res.json()) as { message: string; problems?: { field: string }[] };
      expect(res.status, JSON.stringify(body)).toBe(status);
      if (status === 400 && field) expect(answer.problems?.map((p) => p.field)).toContain(field);
      if (status !== 400) expect(answer.message).toMatch(/^to: /);
    }
    const malformed = await fetch(url, { method: 'POST', body: '{' });
    expect(malformed.status).toBeGreaterThanOrEqual(400);
    expect(malformed.status).toBeLessThan(500);
    expect(await executions()).toBe(before);
  });

  it('`mlops rollback` puts the previous approved version back, with the caller and the reason', async () => {
    const [v1, v2] = models as [RegisteredModel, RegisteredModel];
    const run = await mlops(['rollback', useCase.name, '--reason', 'v2 misbehaves for our users', '--json']);
    expect(run.status, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(out).toMatchObject({
      fromModelVersion: v2.modelVersion,
      toModelVersion: v1.modelVersion,
      status: 'SUCCEEDED',
    });
    expect(out.result).toMatchObject({ outcome: 'deployed', modelVersion: v1.modelVersion });
    const { body } = await predictOnce('ORD');
    expect(body.modelVersion).toBe(v1.modelVersion);
    const started = (await endpointEvents()).filter((e) => e.type === 'DeploymentStarted').at(-1);
    expect(started).toMatchObject({
      trigger: 'rollback',
      reason: 'v2 misbehaves for our users',
      modelVersion: v1.modelVersion,
      previousModelVersion: v2.modelVersion,
      strategy: { kind: 'all-at-once' },
    });
    expect(started?.actor).toMatch(/^arn:aws:(iam|sts)::/);
    const served = await servedAt(ledger, endpointName, new Date(Date.now() + 1000).toISOString());
    expect(served.modelVersion).toBe(v1.modelVersion);
    expect(scaledVariants(endpointName).targets.map((t) => t.variant)).toEqual([
      await servingVariant(endpointName),
    ]);
  });
});

describe('the prediction log and feedback', () => {
  const logBucket = () =>
    cloud.assembly.buckets.find((b) => b.logicalId.startsWith('PredictionLogs'))?.name ?? '';
  const streamName = `mlops-${STAGE}-${useCase.name}-predictions`;
  const contract = labelContract(useCase);
  const feedbackUrl = () => `${apiUrl}/feedback/${useCase.name}`;

  /** Every logged line of the use case, with the object key it was delivered in. */
  async function loggedLines(): Promise<{ key: string; line: PredictionLogRecord }[]> {
    await cloud.firehose.flush();
    const out: { key: string; line: PredictionLogRecord }[] = [];
    for (const key of await listKeys(s3, logBucket(), predictionLogPrefix(useCase.name))) {
      const text = await readText(s3, { bucket: logBucket(), key });
      for (const l of text.split('\n').filter(Boolean)) out.push({ key, line: JSON.parse(l) });
    }
    return out;
  }

  async function labelsStored() {
    const labels = [];
    const today = new Date().toISOString().slice(0, 10);
    for await (const l of readLabels({
      client: s3,
      bucket: resourceNames(cloud).datasets,
      contract,
      from: '2026-01-01',
      to: today,
      cutoff: new Date(Date.now() + 60_000).toISOString(),
      onReject: (r) => {
        throw new Error(`a stored label was refused: ${JSON.stringify(r)}`);
      },
    }))
      labels.push(l);
    return labels;
  }

  const labelObjects = async () => (await listKeys(s3, resourceNames(cloud).datasets, 'labels/')).length;

  it('delivers every prediction to the prediction-log bucket by use case, date and hour, in data capture shape', async () => {
    const answers: (Record<string, unknown> & { airport: string })[] = [];
    for (const airport of AIRPORTS) {
      const { status, body } = await predictOnce(airport);
      expect(status).toBe(200);
      answers.push({ airport, ...body });
    }
    const lines = await loggedLines();
    for (const a of answers) {
      const found = lines.find((l) => l.line.requestId === a.requestId);
      expect(found, `requestId ${String(a.requestId)}`).toBeDefined();
      const { key, line } = found as { key: string; line: PredictionLogRecord };
      // Firehose partitions by arrival; a line sent at the turn of an hour may land in the next one.
      const at = Date.parse(line.time);
      const partitions = [at, at + 60_000].map((t) => {
        const iso = new Date(t).toISOString();
        return `date=${iso.slice(0, 10)}/hour=${iso.slice(11, 13)}/`;
      });
      expect(partitions.map((p) => `predictions/${useCase.name}/${p}`)).toContain(
        key.slice(0, key.indexOf(`${streamName}-`)),
      );
      expect(line).toMatchObject({
        useCase: useCase.name,
        modelVersion: a.modelVersion,
        score: a.score,
        label: a.label,
        entities: { 'airport-delays': a.airport },
        features: { delayRate2h: 0.3, flights2h: 12, hour: 17, origin: a.airport, destination: 'DFW' },
        eventMetadata: { inferenceId: a.requestId, eventId: a.requestId },
        eventVersion: '0',
      });
      expect(line.captureData.endpointInput).toMatchObject({ mode: 'INPUT', encoding: 'CSV' });
      expect(line.captureData.endpointInput.data.split(',').length).toBeGreaterThan(5);
      expect(Number(line.captureData.endpointOutput.data)).toBe(a.score);
    }
  });

  it('answers a prediction whose log line Firehose refuses, counts it, and keeps its served request', async () => {
    const before = await loggedLines();
    const count = (metric: string) => predictStatistic(cloud, useCase.name, metric, 'Sum') || 0;
    const failuresBefore = count(PREDICT_METRICS.logFailures);
    const notKeptBefore = count(PREDICT_METRICS.notKept);
    const servedFailuresBefore = count(PREDICT_METRICS.servedFailures);
    // The predict function's Firehose client tries twice.
    cloud.firehose.faults.inject(`PutRecord:${streamName}`, {
      error: 'ServiceUnavailableException',
      statusCode: 503,
      times: 2,
    });
    const { status, body } = await predictOnce('ORD');
    expect(status).toBe(200);
    expect(body.score).toEqual(expect.any(Number));
    expect(cloud.firehose.faults.pending(`PutRecord:${streamName}`)).toBe(0);
    expect(count(PREDICT_METRICS.logFailures)).toBe(failuresBefore + 1);
    expect(count(PREDICT_METRICS.notKept)).toBe(notKeptBefore + 1);
    expect(count(PREDICT_METRICS.servedFailures)).toBe(servedFailuresBefore);
    const after = await loggedLines();
    expect(after.some((l) => l.line.requestId === body.requestId)).toBe(false);
    expect(after.length).toBe(before.length);
    // The served request was stored: its feedback is accepted.
    const res = await signedFetch(feedbackUrl(), 'POST', {
      requestId: body.requestId,
      label: 0,
      observedAt: new Date().toISOString(),
    });
    expect(res.status).toBe(200);
  });

  it('stores feedback as the label event of the request as served, once, and refuses a contradicting label', async () => {
    const { body: served } = await predictOnce('DFW');
    const requestId = String(served.requestId);
    const objectsBefore = await labelObjects();
    const feedback = { requestId, label: 1, observedAt: new Date().toISOString() };
    const first = await signedFetch(feedbackUrl(), 'POST', feedback);
    const firstBody = (await first.json()) as Record<string, unknown>;
    expect(first.status).toBe(200);
    expect(firstBody).toMatchObject({
      useCase: useCase.name,
      requestId,
      label: 1,
      modelVersion: served.modelVersion,
      outcome: 'written',
      labelId: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(await labelObjects()).toBe(objectsBefore + 1);
    const stored = (await labelsStored()).filter((l) => l.requestId === requestId);
    expect(stored).toHaveLength(1);
    const logged = (await loggedLines()).find((l) => l.line.requestId === requestId)?.line;
    expect(stored[0]).toMatchObject({
      labelId: firstBody.labelId,
      entities: { 'airport-delays': 'DFW' },
      eventTime: logged?.time,
      label: 1,
      request: { hour: 17, weekday: 5, distance: 800, origin: 'DFW', destination: 'DFW' },
      observedAt: feedback.observedAt,
    });
    // The same feedback again (a retry), even observed later: the first one stands, nothing is written.
    const again = await signedFetch(feedbackUrl(), 'POST', {
      ...feedback,
      observedAt: new Date(Date.now() + 1000).toISOString(),
    });
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ labelId: firstBody.labelId, outcome: 'duplicate' });
    const contradicting = await signedFetch(feedbackUrl(), 'POST', { ...feedback, label: 0 });
    const conflict = (await contradicting.json()) as { message: string };
    expect(contradicting.status).toBe(409);
    expect(conflict.message).toMatch(/^requestId: .*already has feedback label 1/);
    expect(await labelObjects()).toBe(objectsBefore + 1);
  });

  it('refuses bad feedback with a 4xx JSON error naming the field, and writes nothing', async () => {
    const { body: served } = await predictOnce('ATL');
    const requestId = String(served.requestId);
    const good = { requestId, label: 1, observedAt: new Date().toISOString() };
    const objectsBefore = await labelObjects();
    const cases: [string, unknown, number, string][] = [
      ['no body', undefined, 400, 'body'],
      ['a wrong label type', { ...good, label: 'yes' }, 400, 'label'],
      ['a label out of range', { ...good, label: 2 }, 400, 'label'],
      ['a missing requestId', { label: 1, observedAt: good.observedAt }, 400, 'requestId'],
      ['a requestId with a slash', { ...good, requestId: '../x' }, 400, 'requestId'],
      ['a bad time', { ...good, observedAt: 'yesterday' }, 400, 'observedAt'],
      [
        'a time in the future',
        { ...good, observedAt: new Date(Date.now() + 86_400_000).toISOString() },
        400,
        'observedAt',
      ],
      [
        'a time before the prediction',
        { ...good, observedAt: '2026-01-01T00:00:00.000Z' },
        400,
        'observedAt',
      ],
      ['an unknown field', { ...good, extra: 1 }, 400, ''],
    ];
    for (const [what, body, status, field] of cases) {
      const res = await signedFetch(feedbackUrl(), 'POST', body);
      const answer = (await res.json()) as {
        message: string;
        problems?: { field: string }[];
        requestId: string;
      };
      expectNamedError(res.status, answer, status, field, what);
    }
    const unknown = await signedFetch(feedbackUrl(), 'POST', { ...good, requestId: 'no-such-request' });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { message: string }).message).toMatch(/^requestId: /);
    const raw = await signedRequest(feedbackUrl(), 'POST', '{"requestId":');
    expect((await fetch(raw.url, raw.init)).status).toBe(400);
    const noUseCase = await signedFetch(`${apiUrl}/feedback/no-such-use-case`, 'POST', good);
    expect(noUseCase.status).toBeGreaterThanOrEqual(400);
    expect(noUseCase.status).toBeLessThan(500);
    expect(await labelObjects()).toBe(objectsBefore);
  });
});

describe('the deploy state machine in serverless mode (seattle-weather)', () => {
  const weather = UseCaseSchema.parse(seattle);
  const [group] = weather.featureGroups;
  const entity = 'SEA';
  const serverless: RegisteredModel[] = [];
  const endpoint = () => endpointNameOf(STAGE, weather.name);
  const predictWeather = async () => {
    const res = await signedFetch(`${apiUrl}/predict/${weather.name}`, 'POST', {
      entities: { [group?.name ?? '']: entity },
      request: syntheticValues(weather.requestFeatures, Math.random, []),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const deployWeather = async (model: RegisteredModel, reason: string) =>
    endOf(
      sfn,
      await startDeploy(cloud, sfn, STAGE, weather.name, {
        modelPackageArn: model.modelPackageArn,
        trigger: 'pipeline',
        actor: 'integration-test',
        reason,
      }),
    );

  beforeAll(async () => {
    expect(weather.deployment.mode).toBe('serverless');
    const res = await signedFetch(`${apiUrl}/features/${group?.name}/${entity}`, 'PUT', {
      eventTime: new Date(Date.now() - 60_000).toISOString(),
      values: syntheticValues(group?.features ?? [], Math.random, []),
    });
    expect(res.status).toBe(200);
    for (const [i, seed] of [5, 6].entries()) {
      serverless.push(
        await registerModel(cloud, { sm, s3 }, weather, {
          name: `serverless-it-${i + 1}`,
          seed,
          bucket: resourceNames(cloud).datasets,
          rows: syntheticRows(weather, seed, 300, []),
        }),
      );
    }
  }, 240_000);

  it('deploys the first version, and predict names it', async () => {
    const [s1] = serverless as [RegisteredModel];
    const end = await deployWeather(s1, 'first serverless model');
    expect(end.output).toMatchObject({ outcome: 'deployed', modelVersion: s1.modelVersion });
    // Serverless endpoints have neither volume encryption nor data capture.
    const live = await sm.send(new DescribeEndpointCommand({ EndpointName: endpoint() }));
    const config = await sm.send(
      new DescribeEndpointConfigCommand({ EndpointConfigName: live.EndpointConfigName }),
    );
    expect(config.DataCaptureConfig).toBeUndefined();
    expect(config.KmsKeyId).toBeUndefined();
    const { status, body } = await predictWeather();
    expect(status).toBe(200);
    expect(body.modelVersion).toBe(s1.modelVersion);
  });

  it('takes a failing version all at once, sees the alarm through the bake, and restores the previous config', async () => {
    const [s1, s2] = serverless as [RegisteredModel, RegisteredModel];
    const packageGroup =
      cloud.assembly.modelPackageGroups.find((g) => g.name.endsWith(weather.name))?.name ?? '';
    cloud.sagemaker.faults.inject(
      `InvokeModel:${servingModelName(packageGroup, Number(s2.modelVersion.split(':v')[1]))}`,
      { error: 'ModelError', message: 'injected: the serverless model crashes', times: 100_000 },
    );
    const before = await sm.send(new DescribeEndpointCommand({ EndpointName: endpoint() }));
    const ended = deployWeather(s2, 'second serverless model, broken');
    let over = false;
    void ended.finally(() => {
      over = true;
    });
    let failures = 0;
    while (!over) if ((await predictWeather()).status !== 200) failures++;
    const end = await ended;
    cloud.sagemaker.faults.clear();
    expect(failures).toBeGreaterThan(0);
    expect(end.output).toMatchObject({ outcome: 'rolled-back', modelVersion: s2.modelVersion });
    const after = await sm.send(new DescribeEndpointCommand({ EndpointName: endpoint() }));
    expect(after.EndpointConfigName).toBe(before.EndpointConfigName);
    const events = (await recordsOn(ledger, 'byEndpoint', endpoint())).map((r) => r.event);
    const started = events.filter((e) => e.type === 'DeploymentStarted').at(-1);
    expect(started).toMatchObject({ modelVersion: s2.modelVersion, strategy: { kind: 'all-at-once' } });
    const rolledBack = events.find((e) => e.type === 'DeploymentRolledBack');
    expect(rolledBack).toMatchObject({
      modelVersion: s2.modelVersion,
      restoredModelVersion: s1.modelVersion,
    });
    expect(rolledBack && 'alarms' in rolledBack ? rolledBack.alarms?.length : 0).toBeGreaterThan(0);
    expect((await predictWeather()).body.modelVersion).toBe(s1.modelVersion);
    // Serverless endpoints scale by concurrency: no scalable target is registered.
    expect(scaledVariants(endpoint()).targets).toEqual([]);
  });
});
