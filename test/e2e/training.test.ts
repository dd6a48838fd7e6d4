/**
 * The synthesized training state machine, run end to end in the local cloud on a slice of the
 * real flights: DynamoDB Local, s3rver, the bundled step Lambdas, the SageMaker emulator with real
 * XGBoost. Failure paths are driven by the emulator's fault hooks and by real bad data.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import {
  CreateModelPackageCommand,
  CreateTrainingJobCommand,
  DescribeModelPackageCommand,
  DescribeTrainingJobCommand,
  SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { DescribeExecutionCommand, ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { synthApp } from '../../infra/cli/local.ts';
import { resourceNames, seedFlights } from '../../infra/demo/seed.ts';
import { replayFlights } from '../../infra/demo/traffic.ts';
import { localS3Client } from '../../infra/local/clients.ts';
import { type LocalCloud, startLocalCloud } from '../../infra/local/cloud.ts';
import { LOCAL_CREDENTIALS } from '../../infra/local/engines/credentials.ts';
import {
  DEFAULT_XGBOOST_PYTHON,
  detectNativeXgboost,
  loadXgboostModelDir,
  NATIVE_XGBOOST_SCRIPT,
  XGBOOST_MODEL_FILE,
} from '../../infra/local/sagemaker/algorithms/xgboost.ts';
import { signedFetch } from '../../infra/local/sigv4.ts';
import { exportEdgeOnDemand } from '../../infra/ops/edge.ts';
import { runCheck } from '../../infra/ops/monitoring.ts';
import {
  compareRuns,
  executionHistory,
  runEvents,
  startRun,
  stateMachineArnFor,
  stepsOf,
  type Target,
} from '../../infra/ops/runs.ts';
import { documentClientFor } from '../../infra/ops/target.ts';
import { unpackObject } from '../../shared/archive.ts';
import { UseCaseSchema } from '../../shared/config/use-case.ts';
import { endpointNameOf, servingModelName } from '../../shared/deployment/names.ts';
import { describeServing, primaryVariant } from '../../shared/deployment/serving.ts';
import type { SnapshotRow } from '../../shared/features/dataset.ts';
import { featureDefinitionsHash } from '../../shared/features/dataset.ts';
import type { LedgerEvent } from '../../shared/ledger/events.ts';
import { recordsOn } from '../../shared/ledger/queries.ts';
import { toOnnx } from '../../shared/models/onnx-export.ts';
import { sha256Hex } from '../../shared/models/onnx-manifest.ts';
import { scoreEdgeModel } from '../../shared/models/onnx-parity.ts';
import { predict } from '../../shared/models/xgboost-scorer.ts';
import type { BuildDatasetOutput, ExportEdgeOutput, PipelineInput } from '../../shared/pipeline/contracts.ts';
import { type Encoding, featureEncoder } from '../../shared/pipeline/encoding.ts';
import { parseColumn, transformOutputUri } from '../../shared/pipeline/evaluate.ts';
import { EdgeArtifactManifestSchema } from '../../shared/pipeline/export-edge.ts';
import { packageVersionOf, packageVersions } from '../../shared/pipeline/find-champion.ts';
import { STEP_NAMES } from '../../shared/pipeline/steps.ts';
import { getObject, parseS3Uri, readText } from '../../shared/s3.ts';
import { gatherFeatures, predictInputSchema } from '../../shared/serving/predict.ts';
import demo from '../../use-cases/flight-delay.ts';
import { endOf, startDeploy } from '../support/deployment.ts';
import { shiftRootThreshold } from '../support/onnx-models.ts';

const useCase = UseCaseSchema.parse(demo);
const SLICE = {
  airports: ['ORD', 'DFW', 'ATL', 'LAX', 'PHX'],
  from: new Date('2001-01-01T00:00:00Z'),
  to: new Date('2001-01-04T00:00:00Z'),
};

interface Env {
  cloud: LocalCloud;
  target: Target;
  sfn: SFNClient;
}

async function startEnv(stage: 'dev' | 'prod'): Promise<Env> {
  const { outdir } = synthApp(stage, mkdtempSync(join(tmpdir(), `e2e-${stage}-`)));
  const cloud = await startLocalCloud({ cdkOut: outdir, timeScale: 0.01, log: () => {} });
  const target: Target = {
    sfn: new SFNClient({
      endpoint: cloud.endpoints.stepfunctions,
      region: 'us-east-1',
      credentials: LOCAL_CREDENTIALS,
    }),
    apiUrl: `${cloud.apiEndpoint}/v1`,
    ledgerTable: resourceNames(cloud).ledger,
    dynamodbEndpoint: cloud.endpoints.dynamodb,
    local: true,
  };
  return { cloud, target, sfn: target.sfn };
}

async function waitForEnd(env: Env, executionArn: string, timeoutMs = 240_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const d = await env.sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (d.status !== 'RUNNING') return d;
    if (Date.now() > deadline) throw new Error(`execution still RUNNING after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function run(env: Env, input: Omit<PipelineInput, 'useCase'> = { trigger: 'manual' }) {
  const started = await startRun(env.target, { useCase: 'flight-delay', ...input });
  const done = await waitForEnd(env, started.executionArn);
  const events = (await runEvents(env.target, started.runId)).map((r) => r.event);
  return { ...started, done, events };
}

const typesOf = (events: readonly LedgerEvent[]) => events.map((e) => e.type);
const ofType = <T extends LedgerEvent['type']>(events: readonly LedgerEvent[], type: T) =>
  events.find((e): e is Extract<LedgerEvent, { type: T }> => e.type === type);

describe('training pipeline (dev: no approval)', () => {
  let env: Env;
  let first: Awaited<ReturnType<typeof run>>;

  beforeAll(async () => {
    env = await startEnv('dev');
    await seedFlights(env.cloud, SLICE, 'direct');
    first = await run(env, { trigger: 'manual', reason: 'e2e first run' });
  });
  afterAll(async () => {
    env?.sfn.destroy();
    await env?.cloud.stop();
  });

  it('runs to a registered model and records every step in the ledger, in order', () => {
    expect(first.done.status).toBe('SUCCEEDED');
    expect(typesOf(first.events)).toEqual([
      'DatasetBuilt',
      'TrainingStarted',
      'ModelEvaluated',
      'ModelRegistered',
      'EdgeModelExported',
      'TrainingCompleted',
    ]);
  });

  it('exports the registered model for the edge: model.onnx and its manifest, the ledger event, and onnxruntime-node scores the test split as batch transform did', async () => {
    // Prepare: what the run published and recorded, and the test split it was judged on.
    const s3 = localS3Client(env.cloud.endpoints.s3);
    try {
      const exported = ofType(first.events, 'EdgeModelExported');
      const registered = ofType(first.events, 'ModelRegistered');
      if (!exported || !registered) throw new Error('no EdgeModelExported or ModelRegistered in the run');
      const state = JSON.parse(
        (await env.sfn.send(new DescribeExecutionCommand({ executionArn: first.executionArn }))).output ??
          '{}',
      ) as { dataset: BuildDatasetOutput; edge: ExportEdgeOutput };
      const read = (uri: string) => readText(s3, parseS3Uri(uri));
      const snapshot = (
        JSON.parse(await read(state.dataset.manifestUri)) as { snapshot: { bucket: string; key: string } }
      ).snapshot;
      const rows = (await readText(s3, snapshot))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as SnapshotRow)
        .filter((r) => r.split === 'test')
        .map((r) => r.features);
      const transformed = parseColumn(
        await read(transformOutputUri(state.dataset, 'candidate')),
        'transform',
      );
      const version = packageVersionOf(registered.modelVersion);

      // Act: score the published file here, with onnxruntime-node, independently of the step.
      const onnx = await getObject(s3, exported.objects.model);
      const manifest = EdgeArtifactManifestSchema.parse(
        JSON.parse(await readText(s3, exported.objects.manifest)),
      );
      const scores = await scoreEdgeModel(onnx, rows);
      const maxDelta = Math.max(...transformed.map((t, i) => Math.abs(t - (scores[i] ?? Number.NaN))));
      const flips = transformed.filter(
        (t, i) => t >= useCase.gates.threshold !== (scores[i] ?? 0) >= useCase.gates.threshold,
      ).length;
      const step = stepsOf(await executionHistory(env.sfn, first.executionArn)).find(
        (x) => x.name === STEP_NAMES.exportEdge,
      );

      // Assess: where it is, what it is, how close.
      expect(exported.objects.model.key).toBe(`edge/flight-delay/${version}/model.onnx`);
      expect(exported.objects.manifest.key).toBe(`edge/flight-delay/${version}/manifest.json`);
      expect(state.edge).toMatchObject({
        exported: true,
        modelVersion: registered.modelVersion,
        rows: rows.length,
        flips: 0,
      });
      expect(sha256Hex(onnx)).toBe(exported.model.sha256);
      expect(manifest).toMatchObject({
        modelVersion: registered.modelVersion,
        runId: first.runId,
        file: { sha256: exported.model.sha256 },
        sourceModelUri: registered.artifactUri,
      });
      expect(manifest.inputs.map((i) => i.name)).toEqual(state.dataset.featureNames);
      expect(exported.parity).toMatchObject({ passed: true, rows: rows.length, flips: 0, nanMismatches: 0 });
      expect(rows.length).toBeGreaterThan(500);
      expect(maxDelta).toBeLessThanOrEqual(1e-6);
      expect(flips).toBe(0);
      expect(step?.status).toBe('succeeded');
      console.log(
        `edge export of ${registered.modelVersion}: ${rows.length} test rows, max |Δ| ${maxDelta.toPrecision(3)} (step's ${exported.parity.maxAbsDelta.toPrecision(3)}), ${flips} flips, ${onnx.byteLength} bytes, ExportEdge ${step?.seconds?.toFixed(2)} s`,
      );

      // A corrupted export (a changed threshold) through the on-demand path: refused, with the figures, nothing published.
      const target: Target = {
        ...env.target,
        cloud: { endpoints: env.cloud.endpoints, region: 'us-east-1' },
        signingKey: env.cloud.assembly.keys.find((k) => k.logicalId.includes('LedgerSigningKey'))?.arn ?? '',
      };
      const tampered = await exportEdgeOnDemand(target, {
        useCase,
        version: version ?? 0,
        actor: 'e2e',
        build: (model, encoding, options) => shiftRootThreshold(toOnnx(model, encoding, options)),
      });
      expect(tampered.exported).toBe(false);
      expect(tampered.event).toMatchObject({
        type: 'EdgeExportFailed',
        modelVersion: registered.modelVersion,
        parity: { passed: false, rows: rows.length },
      });
      expect(tampered.reason).toMatch(
        /^parity failed on \d+ rows: max \|Δ\| \S+ at row \d+ .* exceeds 0\.000001/,
      );
      expect(
        sha256Hex(
          await getObject(s3, { bucket: exported.objects.model.bucket, key: exported.objects.model.key }),
        ),
      ).toBe(exported.model.sha256);
      expect(
        JSON.parse(
          await readText(s3, {
            bucket: exported.objects.manifest.bucket,
            key: exported.objects.manifest.key,
          }),
        ),
      ).toEqual(manifest);
      const onModel = (
        await recordsOn(
          { client: documentClientFor(target), tableName: target.ledgerTable ?? '' },
          'byModel',
          registered.modelVersion,
        )
      ).map((r) => r.event.type);
      expect(onModel).toEqual(expect.arrayContaining(['EdgeModelExported', 'EdgeExportFailed']));
    } finally {
      s3.destroy();
    }
  });

  it('writes the reproducibility manifest', () => {
    const started = ofType(first.events, 'TrainingStarted');
    const built = ofType(first.events, 'DatasetBuilt');
    expect(started?.manifest.dataset.hash).toBe(built?.datasetHash);
    expect(started?.manifest.dataset.objects.length).toBeGreaterThan(0);
    expect(started?.manifest.featureDefinitionsHash).toBe(featureDefinitionsHash(useCase));
    expect(started?.manifest.configHash).toMatch(/^[0-9a-f]{64}$/);
    expect(started?.manifest.codeVersion).toMatch(/^([0-9a-f]{40}|unknown)$/);
    expect(started?.manifest.containerImage).toMatch(
      /dkr\.ecr\.us-east-1\.amazonaws\.com\/sagemaker-xgboost:1\.7-1$/,
    );
    expect(started?.manifest.seed).toBe(42);
    expect(started?.manifest.hyperparameters).toMatchObject({
      objective: 'binary:logistic',
      num_round: '100',
      seed: '42',
    });
    const completed = ofType(first.events, 'TrainingCompleted');
    expect(completed?.artifact.uri).toMatch(/model\.tar\.gz$/);
    expect(completed?.metrics.auc).toBeGreaterThan(0.6);
  });

  it('serves test-split rows as batch transform scored them: the same encoded vectors, the same scores', async () => {
    // The first run deployed its model; each row's online values are put back as the latest, then
    // the row goes through POST /predict, and in-process through the predict path's own encoder.
    const s3 = localS3Client(env.cloud.endpoints.s3);
    const names = resourceNames(env.cloud);
    const doc = DynamoDBDocumentClient.from(
      new DynamoDBClient({
        endpoint: env.cloud.endpoints.dynamodb,
        region: 'us-east-1',
        credentials: LOCAL_CREDENTIALS,
      }),
    );
    try {
      const output = (await env.sfn.send(new DescribeExecutionCommand({ executionArn: first.executionArn })))
        .output;
      const { dataset } = JSON.parse(output ?? '{}') as { dataset: BuildDatasetOutput };
      const read = (uri: string) => readText(s3, parseS3Uri(uri));
      const manifest = JSON.parse(await read(dataset.manifestUri)) as {
        snapshot: { bucket: string; key: string };
      };
      const rows = (await readText(s3, manifest.snapshot))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as SnapshotRow)
        .filter((r) => r.split === 'test');
      const vectors = (await read(dataset.channels.testFeatures)).trim().split('\n');
      const transformed = parseColumn(await read(transformOutputUri(dataset, 'candidate')), 'transform');
      const encode = featureEncoder(JSON.parse(await read(dataset.encodingUri)) as Encoding);
      expect(rows).toHaveLength(vectors.length);
      const [group] = useCase.featureGroups;
      const requestNames = useCase.requestFeatures.map((f) => f.name);
      const pick = (values: Readonly<Record<string, unknown>>, keys: readonly string[]) =>
        Object.fromEntries(keys.map((k) => [k, values[k]]));
      // Rows whose group had a value at their time: serving refuses a missing non-nullable feature
      // (a 400 naming it), where training encodes it as missing.
      const served = rows
        .map((row, i) => ({ row, i }))
        .filter(({ row }) => group?.features.every((f) => f.nullable || row.features[f.name] !== null));
      expect(served.length).toBeGreaterThan(25);
      for (const { row, i } of served.slice(0, 25)) {
        const entity = row.entities[group?.name ?? ''] ?? '';
        const put = await signedFetch(`${env.target.apiUrl}/features/${group?.name}/${entity}`, 'PUT', {
          eventTime: new Date(Date.now() + i).toISOString(),
          values: pick(row.features, group?.features.map((f) => f.name) ?? []),
        });
        expect(put.status).toBe(200);
        const input = { entities: row.entities, request: pick(row.features, requestNames) };
        const features = await gatherFeatures(
          { useCase, online: { client: doc, tableName: names.online } },
          predictInputSchema(useCase).parse(input),
        );
        expect(encode(features)).toBe(vectors[i]);
        const res = await signedFetch(`${env.target.apiUrl}/predict/flight-delay`, 'POST', input);
        const answer = (await res.json()) as { score: number; modelVersion: string };
        expect(res.status).toBe(200);
        expect(answer.modelVersion).toBe(ofType(first.events, 'ModelRegistered')?.modelVersion);
        expect(answer.score).toBe(transformed[i]);
      }
    } finally {
      s3.destroy();
      doc.destroy();
    }
  });

  it('evaluates the next candidate against the champion on the same test split', async () => {
    const second = await run(env, { trigger: 'manual', reason: 'e2e second run' });
    expect(second.done.status).toBe('SUCCEEDED');
    const registered = ofType(first.events, 'ModelRegistered');
    const evaluated = ofType(second.events, 'ModelEvaluated');
    expect(evaluated?.champion?.modelVersion).toBe(registered?.modelVersion);
    // Same data, same split: the champion scored here equals the first run's own candidate score.
    expect(evaluated?.champion?.metrics.auc).toBeCloseTo(
      ofType(first.events, 'ModelEvaluated')?.metrics.auc ?? -1,
      12,
    );
    expect(evaluated?.champion?.metrics.rows).toBe(evaluated?.metrics.rows);
  });

  it('reproduces a run: same dataset hash, metrics within tolerance, same artifact', async () => {
    const replay = await run(env, {
      trigger: 'reproduce',
      reproduceOf: first.runId,
      reason: 'e2e reproduce',
    });
    expect(replay.done.status).toBe('SUCCEEDED');
    const report = compareRuns(
      first.runId,
      await runEvents(env.target, first.runId),
      replay.runId,
      await runEvents(env.target, replay.runId),
    );
    expect(report.datasetHashMatches).toBe(true);
    expect(report.metricsWithinTolerance).toBe(true);
    expect(report.artifactHashMatches).toBe(true);
  });

  it("scores the run's test split with the TypeScript scorer exactly as XGBoost itself does", async () => {
    const native = await detectNativeXgboost();
    if (!native) {
      if (process.env.CI) throw new Error('CI must have native XGBoost: apt-get install python3-xgboost');
      console.warn('skipped: /usr/bin/python3 cannot import xgboost');
      return;
    }
    const s3 = localS3Client(env.cloud.endpoints.s3);
    const work = mkdtempSync(join(tmpdir(), 'parity-'));
    try {
      const output = (await env.sfn.send(new DescribeExecutionCommand({ executionArn: first.executionArn })))
        .output;
      const state = JSON.parse(output ?? '{}') as {
        dataset: BuildDatasetOutput;
        trained: { modelArtifacts: string };
      };
      await unpackObject(s3, parseS3Uri(state.trained.modelArtifacts), work);
      const csv = await readText(s3, parseS3Uri(state.dataset.channels.testFeatures));
      writeFileSync(join(work, 'features.csv'), csv);
      const rows = csv
        .trim()
        .split('\n')
        .map((line) => line.split(',').map((f) => (f === '' ? null : Number(f))));
      const ours = predict(await loadXgboostModelDir(work), rows);
      execFileSync(DEFAULT_XGBOOST_PYTHON, [
        NATIVE_XGBOOST_SCRIPT,
        'predict',
        '--model',
        join(work, XGBOOST_MODEL_FILE),
        '--data',
        join(work, 'features.csv'),
        '--out',
        join(work, 'native.txt'),
      ]);
      const theirs = readFileSync(join(work, 'native.txt'), 'utf8').trim().split('\n').map(Number);
      expect(theirs).toHaveLength(rows.length);
      const maxDiff = Math.max(...ours.map((p, i) => Math.abs(p - (theirs[i] ?? Number.NaN))));
      expect(maxDiff).toBeLessThan(1e-6);
    } finally {
      s3.destroy();
      rmSync(work, { recursive: true, force: true });
    }
  });

  it('records the SageMaker failure reason, notifies, and fails when the training job fails', async () => {
    env.cloud.sagemaker.faults.inject('TrainingJobRun', {
      error: 'AlgorithmError',
      message: 'out of memory on ml.m5.large',
    });
    const failed = await run(env);
    expect(failed.done.status).toBe('FAILED');
    const event = ofType(failed.events, 'TrainingFailed');
    expect(event?.step).toBe('Train');
    expect(event?.reason).toContain('AlgorithmError: out of memory on ml.m5.large');
    expect(typesOf(failed.events)).not.toContain('ModelRegistered');
    const notified = env.cloud.snsMessages().filter((m) => m.message.includes(failed.runId));
    expect(notified.length).toBeGreaterThan(0);
  });

  it('retries transient throttling of CreateTrainingJob and then succeeds', async () => {
    env.cloud.sagemaker.faults.inject('CreateTrainingJob', { error: 'ThrottlingException', times: 2 });
    const retried = await run(env);
    expect(retried.done.status).toBe('SUCCEEDED');
    const train = (await executionHistory(env.sfn, retried.executionArn)).filter(
      (e) => e.type === 'TaskFailed' && e.taskFailedEventDetails?.resourceType === 'sagemaker',
    );
    expect(train).toHaveLength(2);
  });

  it('fails ValidateData with a readable reason when the data is bad (no rows before the cutoff)', async () => {
    const bad = await run(env, { trigger: 'manual', cutoff: '2000-01-01T00:00:00.000Z' });
    expect(bad.done.status).toBe('FAILED');
    const event = ofType(bad.events, 'TrainingFailed');
    expect(event?.step).toBe('ValidateData');
    expect(event?.reason).toMatch(/rows/i);
    expect(stepsOf(await executionHistory(env.sfn, bad.executionArn)).map((s) => s.name)).not.toContain(
      'Train',
    );
  });

  it('monitors served traffic: no drift in-sample, drift in June that retrains against the champion by canary, and a cooldown on the next window', async () => {
    const api = (path: string) => `${env.target.apiUrl}${path}`;
    const target: Target = { ...env.target, cloud: { endpoints: env.cloud.endpoints, region: 'us-east-1' } };
    const check = async (window: { start: string; end: string }) => {
      await env.cloud.firehose.flush();
      return runCheck(target, 'dev', useCase.name, {
        from: window.start,
        to: window.end,
        requestedBy: 'e2e',
      });
    };
    const executions = async () =>
      (
        await env.sfn.send(
          new ListExecutionsCommand({ stateMachineArn: await stateMachineArnFor(env.sfn, useCase.name) }),
        )
      ).executions ?? [];

    // The training period itself, served again: the same distributions.
    const january = await replayFlights(api, useCase.name, { ...SLICE }, 300);
    expect(january.failures).toBe(0);
    const calm = await check(january.window);
    const calmReport = calm.reports.find((r) => r.modelVersion === calm.primaryVersion);
    expect(calmReport?.event.decision).toBe('no-drift');
    expect(
      calmReport?.event.sampleSize,
      JSON.stringify({ log: calm.log, skipped: calm.skipped, window: january.window }),
    ).toBe(january.served.length);
    expect(calm.retraining).toBeUndefined();
    expect(calmReport?.event.quality?.auc).toEqual(expect.any(Number));
    expect(calmReport?.event.estimated?.auc).toEqual(expect.any(Number));

    // Mid-June: a summer schedule with fewer delays than the New Year week the model learned from.
    const before = (await executions()).length;
    const june = await replayFlights(
      api,
      useCase.name,
      {
        airports: SLICE.airports,
        from: new Date('2001-06-18T00:00:00Z'),
        to: new Date('2001-06-21T00:00:00Z'),
      },
      300,
    );
    const drifted = await check(june.window);
    const report = drifted.reports.find((r) => r.modelVersion === drifted.primaryVersion);
    expect(report?.event.decision).toBe('drift');
    const moved = report?.event.features.filter((f) => f.drifted).map((f) => f.name) ?? [];
    expect(moved).toEqual(expect.arrayContaining(['delayRate2h', 'flights2h']));
    expect(moved).not.toContain('distance');
    expect(drifted.retraining).toMatchObject({ outcome: 'started', driftedFeatures: moved });
    const runId = drifted.retraining?.runId ?? '';
    const retrain = await waitForEnd(
      env,
      (await executions()).find((e) => e.name === runId)?.executionArn ?? '',
    );
    expect((await executions()).length).toBe(before + 1);
    const events = (await runEvents(env.target, runId)).map((r) => r.event);
    expect(ofType(events, 'TrainingStarted')).toMatchObject({
      trigger: 'drift',
      reason: expect.stringContaining('delayRate2h'),
    });
    // The candidate meets the champion that drifted on the same test split, and goes out by canary.
    expect(ofType(events, 'ModelEvaluated')?.champion?.modelVersion).toBe(report?.modelVersion);
    const doc = DynamoDBDocumentClient.from(
      new DynamoDBClient({
        endpoint: env.cloud.endpoints.dynamodb,
        region: 'us-east-1',
        credentials: LOCAL_CREDENTIALS,
      }),
    );
    const onEndpoint = await recordsOn(
      { client: doc, tableName: resourceNames(env.cloud).ledger },
      'byEndpoint',
      endpointNameOf('dev', useCase.name),
    );
    doc.destroy();
    // The nested deploy machine records the deployment on the endpoint, under the new version.
    const candidate = ofType(events, 'ModelRegistered')?.modelVersion;
    const deployment = onEndpoint
      .map((r) => r.event)
      .find((e) => e.type === 'DeploymentStarted' && e.modelVersion === candidate);
    if (ofType(events, 'ModelEvaluated')?.passed) {
      expect(retrain.status).toBe('SUCCEEDED');
      expect(deployment?.type === 'DeploymentStarted' && deployment.strategy.kind).toBe('canary');
    } else {
      expect(candidate).toBeUndefined();
    }
    const linked = onEndpoint.filter(
      (r) => 'modelVersion' in r.event && r.event.modelVersion === report?.modelVersion,
    );
    expect(linked.map((r) => r.event.type)).toEqual(
      expect.arrayContaining(['MonitoringReport', 'DriftDetected', 'IncidentOpened', 'RetrainingTriggered']),
    );

    // The next (overlapping) window of the same drifted traffic, as the hourly schedule's 24-hour
    // windows overlap: drift again, recorded, but no second run inside the cooldown.
    const overlapping = {
      start: new Date(Date.parse(june.window.start) - 1).toISOString(),
      end: june.window.end,
    };
    const again = await check(overlapping);
    expect(again.reports.find((r) => r.modelVersion === again.primaryVersion)?.event.decision).toBe('drift');
    expect(again.retraining).toMatchObject({
      outcome: 'cooldown',
      incidentId: drifted.retraining?.incidentId,
    });
    expect((await executions()).length).toBe(before + 1);
  }, 300_000);

  it('ends the run in DeploymentRolledBack when its canary fails, with the old version still serving', async () => {
    const sm = new SageMakerClient({
      endpoint: env.cloud.endpoints.sagemaker,
      region: 'us-east-1',
      credentials: LOCAL_CREDENTIALS,
    });
    try {
      const group = env.cloud.assembly.modelPackageGroups[0]?.name ?? '';
      const next = ((await packageVersions(sm, group))[0]?.version ?? 0) + 1;
      const endpointName = endpointNameOf('dev', useCase.name);
      const before = primaryVariant(await describeServing(sm, endpointName))?.modelVersion;
      env.cloud.sagemaker.faults.inject(`InvokeModel:${servingModelName(group, next)}`, {
        error: 'ModelError',
        message: 'injected: the new model crashes',
        times: 100_000,
      });
      for (const airport of SLICE.airports) {
        const res = await signedFetch(`${env.target.apiUrl}/features/airport-delays/${airport}`, 'PUT', {
          eventTime: new Date().toISOString(),
          values: { delayRate2h: 0.2, flights2h: 10 },
        });
        expect(res.status).toBe(200);
      }
      // Traffic through the bake, so the canary's errors reach its alarm.
      const ran = run(env, { trigger: 'manual', reason: 'e2e: a canary that fails' });
      let over = false;
      void ran.finally(() => {
        over = true;
      });
      for (let i = 0; !over; i++) {
        const airport = SLICE.airports[i % SLICE.airports.length] ?? 'ORD';
        await signedFetch(`${env.target.apiUrl}/predict/flight-delay`, 'POST', {
          entities: { 'airport-delays': airport },
          request: { hour: 9, weekday: 3, distance: 700, origin: airport, destination: 'DFW' },
        });
      }
      const failed = await ran;
      env.cloud.sagemaker.faults.clear();
      expect(failed.done.status).toBe('FAILED');
      expect(failed.done.error).toBe('DeploymentRolledBack');
      expect(ofType(failed.events, 'ModelRegistered')?.modelVersion).toBe(`flight-delay:v${next}`);
      expect(primaryVariant(await describeServing(sm, endpointName))?.modelVersion).toBe(before);
    } finally {
      env.cloud.sagemaker.faults.clear();
      sm.destroy();
    }
  });

  it('does not register a candidate worse than the champion', async () => {
    // A champion that has seen the test split (in-sample) scores far above any honest candidate.
    const names = resourceNames(env.cloud);
    const s3 = localS3Client(env.cloud.endpoints.s3);
    const sm = new SageMakerClient({
      endpoint: env.cloud.endpoints.sagemaker,
      region: 'us-east-1',
      credentials: LOCAL_CREDENTIALS,
    });
    try {
      const dataset = (await env.sfn.send(new DescribeExecutionCommand({ executionArn: first.executionArn })))
        .output;
      const state = JSON.parse(dataset ?? '{}') as { dataset: BuildDatasetOutput };
      const read = (uri: string) => readText(s3, parseS3Uri(uri));
      const train = await read(state.dataset.channels.train);
      const features = (await read(state.dataset.channels.testFeatures)).trim().split('\n');
      const labels = (await read(state.dataset.channels.testLabels)).trim().split('\n');
      const leaked = `${train.trim()}\n${features.map((f, i) => `${labels[i]},${f}`).join('\n')}\n`;
      await s3.send(
        new PutObjectCommand({ Bucket: names.artifacts, Key: 'leaky/train/all.csv', Body: leaked }),
      );
      const image = ofType(first.events, 'TrainingStarted')?.manifest.containerImage ?? '';
      await sm.send(
        new CreateTrainingJobCommand({
          TrainingJobName: 'leaky-champion',
          AlgorithmSpecification: { TrainingImage: image, TrainingInputMode: 'File' },
          RoleArn: 'arn:aws:iam::000000000000:role/local',
          HyperParameters: state.dataset.hyperparameters,
          InputDataConfig: [
            {
              ChannelName: 'train',
              ContentType: 'text/csv',
              DataSource: {
                S3DataSource: { S3DataType: 'S3Prefix', S3Uri: `s3://${names.artifacts}/leaky/train/` },
              },
            },
          ],
          OutputDataConfig: { S3OutputPath: `s3://${names.artifacts}/leaky/output` },
          ResourceConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 10 },
          StoppingCondition: { MaxRuntimeInSeconds: 600 },
        }),
      );
      let job = await sm.send(new DescribeTrainingJobCommand({ TrainingJobName: 'leaky-champion' }));
      while (job.TrainingJobStatus === 'InProgress') {
        await new Promise((r) => setTimeout(r, 200));
        job = await sm.send(new DescribeTrainingJobCommand({ TrainingJobName: 'leaky-champion' }));
      }
      expect(job.TrainingJobStatus).toBe('Completed');
      const group = env.cloud.assembly.modelPackageGroups[0]?.name ?? '';
      const pkg = await sm.send(
        new CreateModelPackageCommand({
          ModelPackageGroupName: group,
          ModelApprovalStatus: 'Approved',
          InferenceSpecification: {
            Containers: [{ Image: image, ModelDataUrl: job.ModelArtifacts?.S3ModelArtifacts }],
            SupportedContentTypes: ['text/csv'],
            SupportedResponseMIMETypes: ['text/csv'],
          },
          CustomerMetadataProperties: { encodingUri: state.dataset.encodingUri },
        }),
      );
      const version = (
        await sm.send(new DescribeModelPackageCommand({ ModelPackageName: pkg.ModelPackageArn }))
      ).ModelPackageVersion;
      // The champion is what serves: put the leaky model on the endpoint first.
      const deployed = await endOf(
        env.sfn,
        await startDeploy(env.cloud, env.sfn, 'dev', 'flight-delay', {
          modelPackageArn: pkg.ModelPackageArn ?? '',
          trigger: 'pipeline',
          actor: 'e2e',
          reason: 'a leaky champion',
        }),
      );
      expect(deployed.output).toMatchObject({
        outcome: 'deployed',
        modelVersion: `flight-delay:v${version}`,
      });

      const serving = await describeServing(sm, String(deployed.output?.endpointName));
      expect(serving?.variants.map((v) => v.modelVersion)).toEqual([`flight-delay:v${version}`]);
      const worse = await run(env);
      expect(worse.done.status).toBe('SUCCEEDED');
      expect(JSON.parse(worse.done.output ?? '{}')).toBeDefined();
      const evaluated = ofType(worse.events, 'ModelEvaluated');
      expect(evaluated?.champion?.modelVersion).toBe(`flight-delay:v${version}`);
      expect(evaluated?.passed).toBe(false);
      expect(evaluated?.gates.find((g) => g.comparison === 'maxRegression')?.passed).toBe(false);
      expect(typesOf(worse.events)).not.toContain('ModelRegistered');
      const steps = stepsOf(await executionHistory(env.sfn, worse.executionArn)).map((s) => s.name);
      expect(steps).toContain('RecordGateFailure');
      expect(steps).not.toContain('Register');
    } finally {
      s3.destroy();
      sm.destroy();
    }
  });
});

describe('training pipeline (prod: approval required)', () => {
  let env: Env;
  beforeAll(async () => {
    env = await startEnv('prod');
    await seedFlights(env.cloud, SLICE, 'direct');
  });
  afterAll(async () => {
    env?.sfn.destroy();
    await env?.cloud.stop();
  });

  it('waits at Approval until someone approves, and records who and why', async () => {
    const started = await startRun(env.target, { useCase: 'flight-delay', trigger: 'manual' });
    // Wait until the run is parked at Approval.
    for (let i = 0; i < 600; i++) {
      const steps = stepsOf(await executionHistory(env.sfn, started.executionArn));
      if (steps.some((s) => s.name === 'Approval')) break;
      const d = await env.sfn.send(new DescribeExecutionCommand({ executionArn: started.executionArn }));
      if (d.status !== 'RUNNING') throw new Error(`run ended ${d.status} before Approval: ${d.cause ?? ''}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    await new Promise((r) => setTimeout(r, 1500));
    expect(
      (await env.sfn.send(new DescribeExecutionCommand({ executionArn: started.executionArn }))).status,
    ).toBe('RUNNING');

    const unsigned = await fetch(`${env.cloud.apiEndpoint}/v1/training/runs/${started.runId}/approval`, {
      method: 'POST',
      body: JSON.stringify({ decision: 'approved', reason: 'x' }),
    });
    expect(unsigned.status).toBe(403);
    const res = await signedFetch(
      `${env.cloud.apiEndpoint}/v1/training/runs/${started.runId}/approval`,
      'POST',
      {
        decision: 'approved',
        reason: 'metrics reviewed',
      },
    );
    expect(res.status).toBe(200);
    const done = await waitForEnd(env, started.executionArn);
    expect(done.status).toBe('SUCCEEDED');
    const events = (await runEvents(env.target, started.runId)).map((r) => r.event);
    const approval = ofType(events, 'ApprovalRecorded');
    expect(approval).toMatchObject({
      decision: 'approved',
      reason: 'metrics reviewed',
      approver: 'arn:aws:iam::000000000000:user/local',
    });
    expect(typesOf(events).indexOf('ApprovalRecorded')).toBeGreaterThan(
      typesOf(events).indexOf('ModelRegistered'),
    );
    const again = await signedFetch(
      `${env.cloud.apiEndpoint}/v1/training/runs/${started.runId}/approval`,
      'POST',
      {
        decision: 'rejected',
        reason: 'too late',
      },
    );
    expect(again.status).toBe(409);
  });

  it('ends without deploying when the approver rejects', async () => {
    const started = await startRun(env.target, { useCase: 'flight-delay', trigger: 'manual' });
    let decided: Response | undefined;
    for (let i = 0; i < 600 && decided?.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 250));
      decided = await signedFetch(
        `${env.cloud.apiEndpoint}/v1/training/runs/${started.runId}/approval`,
        'POST',
        {
          decision: 'rejected',
          reason: 'calibration too weak',
        },
      );
    }
    expect(decided?.status).toBe(200);
    const done = await waitForEnd(env, started.executionArn);
    expect(done.status).toBe('SUCCEEDED');
    const steps = stepsOf(await executionHistory(env.sfn, started.executionArn)).map((s) => s.name);
    expect(steps).toContain('RejectedByApprover');
    expect(steps).not.toContain('ReadyToDeploy');
    const events = (await runEvents(env.target, started.runId)).map((r) => r.event);
    expect(ofType(events, 'ApprovalRecorded')).toMatchObject({
      decision: 'rejected',
      reason: 'calibration too weak',
    });
  });
});
