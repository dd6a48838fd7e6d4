/**
 * The edge export against the local emulators (s3rver, DynamoDB Local, the KMS emulator): a model
 * with categoricals, missing values and base_score 0.3, trained by the local SageMaker XGBoost
 * and scored by its serving code as batch transform does, laid out in S3 as a training run leaves
 * it. The export publishes only a file that passes the parity gate, records every outcome, and is
 * found again from the ledger alone.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { create as createTar } from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UseCase } from '../../../shared/config/use-case.ts';
import { appendEvent } from '../../../shared/ledger/append.ts';
import type { ReproducibilityManifest } from '../../../shared/ledger/events.ts';
import { toOnnx } from '../../../shared/models/onnx-export.ts';
import { sha256Hex } from '../../../shared/models/onnx-manifest.ts';
import { runDataKeys } from '../../../shared/pipeline/build-dataset.ts';
import {
  EdgeArtifactManifestSchema,
  type EdgeSource,
  edgeSourceOf,
  exportEdgeModel,
  verifyEdgeFile,
  XGBOOST_ARCHIVE_MODEL_FILE,
} from '../../../shared/pipeline/export-edge.ts';
import { runRecords } from '../../../shared/pipeline/ledger.ts';
import { recordStep } from '../../../shared/pipeline/record.ts';
import { getObject, listKeys, putObject, readText, s3Uri } from '../../../shared/s3.ts';
import { type Emulators, startEmulators } from '../../support/emulators.ts';
import { createLedgerTable, type TestLedger } from '../../support/ledger-table.ts';
import {
  flightUseCase,
  type LabeledRow,
  shiftRootThreshold,
  syntheticRows,
  type TrainedModel,
  trainSyntheticModel,
} from '../../support/onnx-models.ts';

const BUCKETS = { datasets: 'datasets', artifacts: 'artifacts' } as const;
const USE_CASE: UseCase = {
  ...flightUseCase,
  name: 'synthetic-edge',
  edge: { format: 'onnx', maxAbsDelta: 1e-6, maxFlipShare: 0 },
};
const RUN = 'run-edge-1';
const DATASET_KEY = 'snapshots/synthetic-edge/snapshot';

let emulators: Emulators;
let ledger: TestLedger;
let trained: TrainedModel;
let test: readonly LabeledRow[];
let source: EdgeSource;

/** A run's objects as BuildDataset, Train and BatchTransform leave them. */
async function layOutRun(
  runId: string,
  rows: readonly LabeledRow[],
  trainCount: number,
): Promise<EdgeSource> {
  const s3 = emulators.s3;
  const keys = runDataKeys(runId);
  const snapshot = `${rows
    .map((r, i) =>
      JSON.stringify({
        entities: { customer: `c${i}` },
        eventTime: new Date(Date.UTC(2025, 0, 1, 0, i)).toISOString(),
        label: r.label,
        features: r.features,
        split: i < trainCount ? 'train' : 'test',
      }),
    )
    .join('\n')}\n`;
  const datasetHash = createHash('sha256').update(snapshot).digest('hex');
  const snapshotObject = await putObject(
    s3,
    { bucket: BUCKETS.datasets, key: `${DATASET_KEY}-${runId}/${datasetHash}/data.jsonl` },
    snapshot,
  );
  const dir = await mkdtemp(join(tmpdir(), 'edge-archive-'));
  await writeFile(join(dir, XGBOOST_ARCHIVE_MODEL_FILE), trained.modelBytes);
  await createTar({ gzip: true, cwd: dir, file: join(dir, 'model.tar.gz') }, [XGBOOST_ARCHIVE_MODEL_FILE]);
  const archiveKey = `runs/${runId}/training/job/output/model.tar.gz`;
  await putObject(
    s3,
    { bucket: BUCKETS.artifacts, key: archiveKey },
    await readFile(join(dir, 'model.tar.gz')),
  );
  await putObject(s3, { bucket: BUCKETS.datasets, key: keys.encoding }, JSON.stringify(trained.encoding));
  const testRows = rows.slice(trainCount).map((r) => r.features);
  const scores = await trained.batchTransform(testRows);
  const scoresKey = `${keys.transform}/candidate/features.csv.out`;
  await putObject(s3, { bucket: BUCKETS.datasets, key: scoresKey }, `${scores.join('\n')}\n`);
  return {
    useCase: USE_CASE.name,
    modelVersion: `${USE_CASE.name}:v1`,
    runId,
    datasetHash,
    modelArchiveUri: s3Uri(BUCKETS.artifacts, archiveKey),
    snapshot: snapshotObject,
    encodingUri: s3Uri(BUCKETS.datasets, keys.encoding),
    scoresUri: s3Uri(BUCKETS.datasets, scoresKey),
  };
}

beforeAll(async () => {
  emulators = await startEmulators();
  await Promise.all(Object.values(BUCKETS).map((b) => emulators.createBucket(b)));
  ledger = emulators.ledger(await createLedgerTable(emulators.ddb, 'edge-ledger'));
  const rows = syntheticRows(900);
  trained = await trainSyntheticModel(rows.slice(0, 600));
  test = rows.slice(600);
  source = await layOutRun(RUN, rows, 600);
});
afterAll(async () => {
  await emulators?.stop();
});

const edgeKeys = () => listKeys(emulators.s3, BUCKETS.artifacts, 'edge/');

describe('exportEdgeModel', () => {
  it('publishes model.onnx and its manifest only after the test split scores within 1e-6 of batch transform', async () => {
    // Act
    const result = await exportEdgeModel({
      s3: emulators.s3,
      ledger,
      useCase: USE_CASE,
      source,
      artifactsBucket: BUCKETS.artifacts,
      actor: 'pipeline/ExportEdge',
      eventId: `${RUN}-edge-export`,
    });

    // Assess: the gate's figures.
    expect(result.exported, result.reason).toBe(true);
    const event = result.event;
    if (event.type !== 'EdgeModelExported') throw new Error(event.type);
    expect(event.parity).toMatchObject({ passed: true, rows: test.length, flips: 0, nanMismatches: 0 });
    expect(event.parity.maxAbsDelta).toBeLessThanOrEqual(1e-6);
    // The published objects: the file the manifest and the ledger describe.
    expect(await edgeKeys()).toEqual([
      'edge/synthetic-edge/1/manifest.json',
      'edge/synthetic-edge/1/model.onnx',
    ]);
    const onnx = await getObject(emulators.s3, {
      bucket: BUCKETS.artifacts,
      key: 'edge/synthetic-edge/1/model.onnx',
    });
    const manifest = EdgeArtifactManifestSchema.parse(
      JSON.parse(
        await readText(emulators.s3, {
          bucket: BUCKETS.artifacts,
          key: 'edge/synthetic-edge/1/manifest.json',
        }),
      ),
    );
    expect(manifest.file.sha256).toBe(sha256Hex(onnx));
    expect(event.model.sha256).toBe(manifest.file.sha256);
    expect(manifest).toMatchObject({
      modelVersion: 'synthetic-edge:v1',
      runId: RUN,
      datasetHash: source.datasetHash,
      sourceModelSha256: sha256Hex(trained.modelBytes),
      opsets: [
        { domain: 'ai.onnx', version: 17 },
        { domain: 'ai.onnx.ml', version: 3 },
      ],
      parity: { passed: true, maxAbsDelta: event.parity.maxAbsDelta },
    });
    expect(manifest.inputs.map((i) => `${i.name}:${i.type}`)).toEqual(
      trained.encoding.features.map((f) => `${f.name}:${f.type === 'categorical' ? 'string' : 'float32'}`),
    );
    // And the ledger, linked to the run and the model version.
    const recorded = (await runRecords(ledger, RUN)).map((r) => r.event);
    expect(recorded).toEqual([event]);
  });

  it('returns the recorded outcome when retried with the same event ID, publishing nothing again', async () => {
    const before = await listKeys(emulators.s3, BUCKETS.artifacts, 'edge/');
    const again = await exportEdgeModel({
      s3: emulators.s3,
      ledger,
      useCase: USE_CASE,
      source,
      artifactsBucket: BUCKETS.artifacts,
      actor: 'pipeline/ExportEdge',
      eventId: `${RUN}-edge-export`,
      build: () => {
        throw new Error('a retry must not build again');
      },
    });
    expect(again).toMatchObject({ exported: true, ledger: 'recorded-earlier' });
    expect(await listKeys(emulators.s3, BUCKETS.artifacts, 'edge/')).toEqual(before);
    expect(await runRecords(ledger, RUN)).toHaveLength(1);
  });

  it('refuses a file with a changed threshold, naming the figures, and publishes nothing', async () => {
    // Prepare: version 2 of the same run, whose file is corrupted on its way out.
    const v2 = { ...source, modelVersion: `${USE_CASE.name}:v2` };

    // Act
    const result = await exportEdgeModel({
      s3: emulators.s3,
      ledger,
      useCase: USE_CASE,
      source: v2,
      artifactsBucket: BUCKETS.artifacts,
      actor: 'cli/test',
      eventId: 'synthetic-edge-v2-edge-tampered',
      build: (model, encoding, options) => shiftRootThreshold(toOnnx(model, encoding, options)),
    });

    // Assess
    expect(result.exported).toBe(false);
    const event = result.event;
    if (event.type !== 'EdgeExportFailed') throw new Error(event.type);
    expect(event.parity?.passed).toBe(false);
    expect(event.parity?.maxAbsDelta).toBeGreaterThan(1e-6);
    expect(event.reason).toMatch(
      /^parity failed on 300 rows: max \|Δ\| \S+ at row \d+ \(expected [\d.e-]+, ONNX [\d.e-]+\) exceeds 0\.000001; \d+ of 300 labels/,
    );
    expect(event.file?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect((await edgeKeys()).filter((k) => k.startsWith('edge/synthetic-edge/2/'))).toEqual([]);
  });

  it('records why when no file can be judged (an archive without xgboost-model), and publishes nothing', async () => {
    await putObject(
      emulators.s3,
      { bucket: BUCKETS.artifacts, key: 'runs/empty/model.tar.gz' },
      new Uint8Array([0x1f, 0x8b]),
    );
    const result = await exportEdgeModel({
      s3: emulators.s3,
      ledger,
      useCase: USE_CASE,
      source: {
        ...source,
        modelVersion: `${USE_CASE.name}:v3`,
        modelArchiveUri: s3Uri(BUCKETS.artifacts, 'runs/empty/model.tar.gz'),
      },
      artifactsBucket: BUCKETS.artifacts,
      actor: 'cli/test',
      eventId: 'synthetic-edge-v3-edge-broken',
    });
    expect(result.exported).toBe(false);
    expect(result.event).toMatchObject({
      type: 'EdgeExportFailed',
      reason: expect.stringMatching(/^no edge file could be judged: /),
    });
    expect(result.event).not.toHaveProperty('parity');
    expect((await edgeKeys()).filter((k) => k.startsWith('edge/synthetic-edge/3/'))).toEqual([]);
  });

  it('refuses a snapshot that no longer hashes to the recorded dataset', async () => {
    const result = await exportEdgeModel({
      s3: emulators.s3,
      ledger,
      useCase: USE_CASE,
      source: { ...source, modelVersion: `${USE_CASE.name}:v4`, datasetHash: 'f'.repeat(64) },
      artifactsBucket: BUCKETS.artifacts,
      actor: 'cli/test',
      eventId: 'synthetic-edge-v4-edge-hash',
    });
    expect(result.exported).toBe(false);
    expect(result.reason).toMatch(
      /DatasetIntegrityError: snapshot .* hashes to [0-9a-f]{64}, not to the recorded dataset hash f{64}/,
    );
  });
});

describe('edgeSourceOf and verifyEdgeFile', () => {
  it('finds an export source from the ledger alone, the one the pipeline used', async () => {
    // Prepare: the run's TrainingStarted manifest and the version's registration.
    const keys = runDataKeys(RUN);
    const snapshot = source.snapshot as { bucket: string; key: string; versionId: string };
    const manifest: ReproducibilityManifest = {
      dataset: {
        hash: source.datasetHash,
        objects: [
          snapshot,
          {
            bucket: BUCKETS.datasets,
            key: snapshot.key.replace(/data\.jsonl$/, 'manifest.json'),
            versionId: 'null',
          },
          { bucket: BUCKETS.datasets, key: keys.testFeatures, versionId: 'null' },
          { bucket: BUCKETS.datasets, key: keys.encoding, versionId: 'null' },
        ],
      },
      featureDefinitionsHash: 'a'.repeat(64),
      codeVersion: 'test',
      configHash: 'b'.repeat(64),
      containerImage: 'xgboost',
      hyperparameters: {},
      seed: 11,
    };
    const common = {
      useCase: USE_CASE.name,
      runId: RUN,
      datasetHash: source.datasetHash,
      time: new Date().toISOString(),
    };
    await appendEvent(ledger, {
      ...common,
      eventId: `${RUN}-started`,
      type: 'TrainingStarted',
      actor: 'test',
      trigger: 'manual',
      manifest,
    });
    await appendEvent(ledger, {
      ...common,
      eventId: `${RUN}-registered`,
      type: 'ModelRegistered',
      actor: 'test',
      modelVersion: source.modelVersion,
      artifactUri: source.modelArchiveUri,
    });

    // Act / Assess
    expect(await edgeSourceOf(ledger, source.modelVersion)).toEqual(source);
  });

  it('passes the published file and fails a corrupted one against the registered version', async () => {
    const onnx = await getObject(emulators.s3, {
      bucket: BUCKETS.artifacts,
      key: 'edge/synthetic-edge/1/model.onnx',
    });
    const good = await verifyEdgeFile(emulators.s3, USE_CASE, source, onnx);
    expect(good).toMatchObject({ sourceMatches: true, claims: { modelVersion: 'synthetic-edge:v1' } });
    expect(good.parity.passed).toBe(true);
    const bad = await verifyEdgeFile(emulators.s3, USE_CASE, source, shiftRootThreshold(onnx));
    expect(bad.parity.passed).toBe(false);
    expect(bad.parity.flips + bad.parity.maxAbsDelta).toBeGreaterThan(0);
  });
});

describe('RecordEdgeFailure (the skip path of ExportEdge)', () => {
  const record = (runId: string, state: Record<string, unknown>) =>
    recordStep({
      runId,
      kind: 'edge-failure',
      state,
      useCase: USE_CASE,
      ledger,
      s3: emulators.s3,
      // Never called for this kind: an edge error changes nothing in the registry.
      sagemaker: new SageMakerClient({ region: 'us-east-1' }),
    });
  const registered = {
    modelVersion: `${USE_CASE.name}:v2`,
    modelPackageArn: 'arn:aws:sagemaker:us-east-1:000000000000:model-package/synthetic-edge/2',
    approvalStatus: 'Approved',
  };

  it('records an error ExportEdge could not record as EdgeExportFailed, with its cause as the reason, once', async () => {
    // Prepare: the state after ExportEdge's Catch, its retries spent.
    const runId = 'run-edge-lost';
    const state = {
      registered,
      trained: { jobName: 'job-2', modelArtifacts: 's3://artifacts/runs/run-edge-lost/model.tar.gz' },
      edgeError: {
        Error: 'Lambda.Unknown',
        Cause: JSON.stringify({
          errorType: 'LedgerUnavailableError',
          errorMessage: 'the ledger table did not answer',
        }),
      },
    };

    // Act: recorded, then the record step retried.
    const first = await record(runId, state);
    const again = await record(runId, state);

    // Assess
    expect(first).toMatchObject({
      kind: 'edge-failure',
      ledger: 'appended',
      modelVersion: registered.modelVersion,
    });
    expect(again.ledger).toBe('recorded-earlier');
    const records = await runRecords(ledger, runId);
    expect(records.map((r) => r.event)).toEqual([
      expect.objectContaining({
        type: 'EdgeExportFailed',
        eventId: `${runId}-edge-export`,
        actor: 'pipeline/RecordEdgeFailure',
        modelVersion: registered.modelVersion,
        sourceModelUri: state.trained.modelArtifacts,
        reason: 'LedgerUnavailableError: the ledger table did not answer',
      }),
    ]);
  });

  it('appends nothing when ExportEdge recorded its outcome before it failed', async () => {
    // Prepare: RUN's export is already recorded (EdgeModelExported) under the run's edge-export ID.
    const before = await runRecords(ledger, RUN);

    // Act
    const out = await record(RUN, {
      registered: { ...registered, modelVersion: `${USE_CASE.name}:v1` },
      edgeError: { Error: 'States.Timeout', Cause: 'Task timed out after 300.00 seconds' },
    });

    // Assess
    expect(out.ledger).toBe('recorded-earlier');
    expect(await runRecords(ledger, RUN)).toEqual(before);
  });

  it('builds the same file bytes on every attempt, so a retried ExportEdge republishes the same file', () => {
    const options = {
      graphName: 'synthetic_edge',
      modelVersion: source.modelVersion,
      sourceModelSha256: 'a'.repeat(64),
    };
    expect(sha256Hex(toOnnx(trained.model, trained.encoding, options))).toBe(
      sha256Hex(toOnnx(trained.model, trained.encoding, options)),
    );
  });
});
