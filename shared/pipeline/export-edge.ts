/**
 * ExportEdge: a registered model version as one self-contained ONNX file (raw named features in,
 * score out; shared/models/onnx-export.ts), scored by onnxruntime on the run's own test split and
 * compared with the batch transform's scores of the same rows. Only a file that passes this parity
 * gate is published (`edge/<useCase>/<version>/model.onnx` and `manifest.json` in the artifacts
 * bucket) and recorded as EdgeModelExported; any other outcome is recorded as EdgeExportFailed,
 * with the gate's figures when it ran, and publishes nothing. Neither outcome stops the pipeline:
 * the cloud deployment does not depend on the edge file.
 *
 * The training pipeline runs it after Register (and any approval) from the run's state; `mlops
 * edge export` runs the same function from the ledger's facts, and `mlops edge verify` runs the
 * gate alone on any file.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import * as z from 'zod';
import { readArchiveEntry } from '../archive.ts';
import type { UseCase } from '../config/use-case.ts';
import { type LedgerLocation, type LedgerWriter, recordedEvent } from '../ledger/append.ts';
import {
  type EdgeExportFailed,
  type EdgeModelExported,
  type EdgeParity,
  EdgeParitySchema,
  type S3ObjectVersion,
} from '../ledger/events.ts';
import { DEFAULT_CHAIN } from '../ledger/items.ts';
import { ModelVersionNotFoundError, ofType, recordsOn } from '../ledger/queries.ts';
import { ONNX_METADATA_KEYS, type OnnxExportOptions, toOnnx } from '../models/onnx-export.ts';
import {
  buildEdgeManifest,
  EdgeManifestSchema,
  readOnnxSignature,
  sha256Hex,
} from '../models/onnx-manifest.ts';
import {
  type EdgeParityOptions,
  EdgeParityResultSchema,
  type EdgeRow,
  edgeParity,
} from '../models/onnx-parity.ts';
import { parseXgboostModel, type XgboostModel } from '../models/xgboost-model.ts';
import { forEachLine, NULL_VERSION, parseS3Uri, putObject, readText, s3Uri } from '../s3.ts';
import { DatasetIntegrityError, runDataKeys } from './build-dataset.ts';
import type { BuildDatasetOutput, ExportEdgeOutput, RegisterOutput, TrainedModel } from './contracts.ts';
import { type Encoding, EncodingSchema } from './encoding.ts';
import { parseColumn, transformOutputUri } from './evaluate.ts';
import { packageVersionOf } from './find-champion.ts';
import { type AppendOnceResult, appendOnce, firstOfType, runEventId, runRecords } from './ledger.ts';
import { readManifest, snapshotObjects } from './manifest.ts';
import { STEP_NAMES } from './steps.ts';

/** The model file inside SageMaker's built-in XGBoost model archive (model.tar.gz). */
export const XGBOOST_ARCHIVE_MODEL_FILE = 'xgboost-model';

/** Longest reason the ledger accepts. */
const MAX_REASON = 2000;

/** The inputs of an export do not fit together (row counts, hashes, a missing file). */
export class EdgeSourceError extends Error {
  override readonly name: string = 'EdgeSourceError';
}

/** Where everything an export reads sits, for one registered model version. */
export interface EdgeSource {
  readonly useCase: string;
  /** `<useCase>:v<N>`. */
  readonly modelVersion: string;
  readonly runId: string;
  readonly datasetHash: string;
  /** The model archive the version was registered with (model.tar.gz). */
  readonly modelArchiveUri: string;
  /** The run's snapshot (the raw rows, with their split), or the dataset manifest that names it. */
  readonly snapshot: S3ObjectVersion | { readonly manifestUri: string };
  /** The run's encoding.json (column order and train-split vocabularies). */
  readonly encodingUri: string;
  /** The batch transform's scores of the test split, one per line, in snapshot order. */
  readonly scoresUri: string;
}

/** What an export reads, loaded. */
export interface EdgeInputs {
  /** The `xgboost-model` file's bytes (the manifest's source model hash is theirs). */
  readonly modelBytes: Uint8Array;
  readonly model: XgboostModel;
  readonly encoding: Encoding;
  /** The raw test rows, in snapshot order. */
  readonly rows: readonly EdgeRow[];
  /** The batch transform's score of each row. */
  readonly expected: readonly number[];
}

/** `edge/<useCase>/<N>/`: where a model version's edge files are published. */
export function edgePrefix(useCase: string, modelVersion: string): string {
  const version = packageVersionOf(modelVersion);
  if (version === undefined) {
    throw new EdgeSourceError(`model version ${modelVersion} is not of the form <useCase>:v<N>`);
  }
  return `edge/${useCase}/${version}/`;
}

/** The published manifest (`manifest.json` next to `model.onnx`): the file's facts, its source and its gate. */
export const EdgeArtifactManifestSchema = EdgeManifestSchema.extend({
  useCase: z.string().min(1),
  modelVersion: z.string().min(1),
  runId: z.string().min(1),
  datasetHash: z.string().regex(/^[0-9a-f]{64}$/),
  /** The model archive the file was exported from (its `xgboost-model` hashes to sourceModelSha256). */
  sourceModelUri: z.string().min(1),
  parity: EdgeParityResultSchema,
  exportedAt: z.iso.datetime(),
});
export type EdgeArtifactManifest = z.infer<typeof EdgeArtifactManifestSchema>;

/** The parity gate of a use case: its edge limits (or their defaults) and its decision threshold. */
export function edgeGateOf(useCase: UseCase): EdgeParityOptions {
  return {
    threshold: useCase.gates.threshold,
    maxAbsDelta: useCase.edge?.maxAbsDelta ?? 1e-6,
    maxFlipShare: useCase.edge?.maxFlipShare ?? 0,
  };
}

async function snapshotObject(s3: S3Client, snapshot: EdgeSource['snapshot']): Promise<S3ObjectVersion> {
  if (!('manifestUri' in snapshot)) return snapshot;
  const manifest = await readManifest(s3, snapshot.manifestUri);
  return {
    bucket: manifest.snapshot.bucket,
    key: manifest.snapshot.key,
    versionId: manifest.snapshot.versionId ?? NULL_VERSION,
  };
}

async function testRows(s3: S3Client, source: EdgeSource): Promise<EdgeRow[]> {
  const object = await snapshotObject(s3, source.snapshot);
  const rows: EdgeRow[] = [];
  const hash = await forEachLine(
    s3,
    object,
    (line) => {
      if (line.trim() === '') return;
      const row = JSON.parse(line) as { split?: string; features?: EdgeRow };
      if (row.split === 'test') rows.push(row.features ?? {});
    },
    object.versionId,
  );
  if (hash !== source.datasetHash) {
    throw new DatasetIntegrityError(
      `snapshot s3://${object.bucket}/${object.key} (version ${object.versionId}) hashes to ${hash}, not to the recorded dataset hash ${source.datasetHash}`,
    );
  }
  return rows;
}

/** Reads the model, the encoding, the raw test rows and their batch transform scores. */
export async function loadEdgeInputs(s3: S3Client, source: EdgeSource): Promise<EdgeInputs> {
  const [modelBytes, encodingText, rows, scoresText] = await Promise.all([
    readArchiveEntry(s3, parseS3Uri(source.modelArchiveUri), XGBOOST_ARCHIVE_MODEL_FILE),
    readText(s3, parseS3Uri(source.encodingUri)),
    testRows(s3, source),
    readText(s3, parseS3Uri(source.scoresUri)),
  ]);
  if (!modelBytes) {
    throw new EdgeSourceError(
      `${source.modelArchiveUri} has no ${XGBOOST_ARCHIVE_MODEL_FILE}: not a built-in XGBoost model archive`,
    );
  }
  const encoding = EncodingSchema.safeParse(JSON.parse(encodingText));
  if (!encoding.success) {
    throw new EdgeSourceError(`${source.encodingUri} is not an encoding: ${encoding.error.message}`);
  }
  const expected = parseColumn(scoresText, source.scoresUri);
  if (expected.length !== rows.length) {
    throw new EdgeSourceError(
      `${source.scoresUri} has ${expected.length} scores for the ${rows.length} test rows of the snapshot; they must pair up`,
    );
  }
  const bytes = new Uint8Array(modelBytes);
  return { modelBytes: bytes, model: parseXgboostModel(bytes), encoding: encoding.data, rows, expected };
}

/** How an export builds its file from the parsed model and the run's encoding. */
export type EdgeBuilder = (model: XgboostModel, encoding: Encoding, options: OnnxExportOptions) => Uint8Array;

/** What {@link exportEdgeModel} needs. */
export interface ExportEdgeOptions {
  readonly s3: S3Client;
  readonly ledger: LedgerWriter;
  /** The validated use case: its edge limits and decision threshold make the gate. */
  readonly useCase: UseCase;
  readonly source: EdgeSource;
  /** Bucket the file and manifest are published to, under `edge/<useCase>/<N>/`. */
  readonly artifactsBucket: string;
  /** Who exports: `pipeline/ExportEdge`, or the operator of `mlops edge export`. */
  readonly actor: string;
  /** The ledger event's ID: one per run in the pipeline, one per attempt on demand. */
  readonly eventId: string;
  /**
   * How the ONNX file is built.
   * @default toOnnx
   */
  readonly build?: EdgeBuilder;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/** What an export did. */
export interface EdgeExportResult {
  readonly exported: boolean;
  /** The gate's verdict, or why no file could be built. */
  readonly reason: string;
  /** The ledger event of the outcome. */
  readonly event: EdgeModelExported | EdgeExportFailed;
  /** Whether this call appended the event, or found it recorded by an earlier attempt. */
  readonly ledger: 'appended' | 'recorded-earlier';
  /** The published manifest, when exported. */
  readonly manifest?: EdgeArtifactManifest;
}

function describeError(e: unknown): string {
  const text = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return text.length > MAX_REASON ? `${text.slice(0, MAX_REASON - 1)}…` : text;
}

/** An identical event found at the same ID is an earlier attempt's (a retried step). */
function ledgerOutcome(outcome: AppendOnceResult['outcome']): EdgeExportResult['ledger'] {
  return outcome === 'appended' ? 'appended' : 'recorded-earlier';
}

function resultOf(
  event: EdgeModelExported | EdgeExportFailed,
  ledger: EdgeExportResult['ledger'],
): EdgeExportResult {
  return event.type === 'EdgeModelExported'
    ? { exported: true, reason: event.parity.reason, event, ledger }
    : { exported: false, reason: event.reason, event, ledger };
}

/** Builds the file and runs the gate; a throw here means no file could be judged. */
async function buildAndCheck(o: ExportEdgeOptions, time: string) {
  const inputs = await loadEdgeInputs(o.s3, o.source);
  const sourceModelSha256 = sha256Hex(inputs.modelBytes);
  const onnx = (o.build ?? toOnnx)(inputs.model, inputs.encoding, {
    graphName: o.useCase.name.replace(/-/g, '_'),
    modelVersion: o.source.modelVersion,
    sourceModelSha256,
  });
  const file = { sha256: sha256Hex(onnx), bytes: onnx.byteLength };
  const parity = await edgeParity(onnx, inputs.rows, inputs.expected, edgeGateOf(o.useCase));
  const manifest = EdgeArtifactManifestSchema.parse({
    ...buildEdgeManifest(onnx, inputs.modelBytes),
    useCase: o.useCase.name,
    modelVersion: o.source.modelVersion,
    runId: o.source.runId,
    datasetHash: o.source.datasetHash,
    sourceModelUri: o.source.modelArchiveUri,
    parity,
    exportedAt: time,
  });
  return { onnx, file, parity: EdgeParitySchema.parse(parity), manifest };
}

/**
 * Exports one registered model version: builds the ONNX file, gates it on the test split, and
 * either publishes it (then appends EdgeModelExported) or publishes nothing (and appends
 * EdgeExportFailed with the reason and, when the gate ran, its figures). A call whose eventId is
 * already recorded returns that outcome and publishes nothing again. Only ledger and publishing
 * errors are thrown.
 */
export async function exportEdgeModel(o: ExportEdgeOptions): Promise<EdgeExportResult> {
  const earlier = await recordedEvent(o.ledger, o.ledger.chain ?? DEFAULT_CHAIN, o.eventId);
  const recorded = earlier?.record.event;
  if (recorded?.type === 'EdgeModelExported' || recorded?.type === 'EdgeExportFailed') {
    return resultOf(recorded, 'recorded-earlier');
  }
  const time = (o.now ?? (() => new Date()))().toISOString();
  const common = {
    eventId: o.eventId,
    actor: o.actor,
    time,
    useCase: o.useCase.name,
    modelVersion: o.source.modelVersion,
    runId: o.source.runId,
    datasetHash: o.source.datasetHash,
    sourceModelUri: o.source.modelArchiveUri,
  };
  let checked: Awaited<ReturnType<typeof buildAndCheck>>;
  let prefix: string;
  try {
    prefix = edgePrefix(o.useCase.name, o.source.modelVersion);
    checked = await buildAndCheck(o, time);
  } catch (e) {
    const failed: EdgeExportFailed = {
      type: 'EdgeExportFailed',
      ...common,
      reason: `no edge file could be judged: ${describeError(e)}`.slice(0, MAX_REASON),
    };
    const { outcome } = await appendOnce(o.ledger, failed);
    return resultOf(failed, ledgerOutcome(outcome));
  }
  const { onnx, file, parity, manifest } = checked;
  if (!parity.passed) {
    const failed: EdgeExportFailed = {
      type: 'EdgeExportFailed',
      ...common,
      reason: parity.reason,
      file,
      parity,
    };
    const { outcome } = await appendOnce(o.ledger, failed);
    return resultOf(failed, ledgerOutcome(outcome));
  }
  // The file first, then the manifest that vouches for it: a reader that finds the manifest finds the file.
  const model = await putObject(
    o.s3,
    { bucket: o.artifactsBucket, key: `${prefix}model.onnx` },
    onnx,
    'application/octet-stream',
  );
  const manifestObject = await putObject(
    o.s3,
    { bucket: o.artifactsBucket, key: `${prefix}manifest.json` },
    `${JSON.stringify(manifest, null, 2)}\n`,
    'application/json',
  );
  const exported: EdgeModelExported = {
    type: 'EdgeModelExported',
    ...common,
    model: {
      format: manifest.format,
      sha256: manifest.file.sha256,
      bytes: manifest.file.bytes,
      irVersion: manifest.irVersion,
      opsets: manifest.opsets,
      inputs: manifest.inputs,
      output: manifest.output,
      sourceModelSha256: manifest.sourceModelSha256,
    },
    parity,
    objects: { model, manifest: manifestObject },
  };
  const { outcome } = await appendOnce(o.ledger, exported);
  return { ...resultOf(exported, ledgerOutcome(outcome)), manifest };
}

/** The step output of an export's outcome. */
export function exportEdgeOutput(result: EdgeExportResult): ExportEdgeOutput {
  const e = result.event;
  const parity = e.parity;
  return {
    exported: result.exported,
    modelVersion: e.modelVersion,
    reason: result.reason,
    ...(e.type === 'EdgeModelExported'
      ? {
          modelUri: s3Uri(e.objects.model.bucket, e.objects.model.key),
          manifestUri: s3Uri(e.objects.manifest.bucket, e.objects.manifest.key),
          sha256: e.model.sha256,
        }
      : e.file
        ? { sha256: e.file.sha256 }
        : {}),
    ...(parity ? { rows: parity.rows, maxAbsDelta: parity.maxAbsDelta, flips: parity.flips } : {}),
  };
}

/** What the ExportEdge step needs. */
export interface ExportEdgeStepOptions {
  readonly runId: string;
  readonly useCase: UseCase;
  readonly s3: S3Client;
  readonly ledger: LedgerWriter;
  readonly artifactsBucket: string;
  readonly dataset: BuildDatasetOutput;
  readonly trained: TrainedModel;
  readonly registered: RegisterOutput;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/** Runs the ExportEdge step of a training run: the version it registered, from the run's state. */
export async function exportEdgeStep(o: ExportEdgeStepOptions): Promise<ExportEdgeOutput> {
  const result = await exportEdgeModel({
    s3: o.s3,
    ledger: o.ledger,
    useCase: o.useCase,
    artifactsBucket: o.artifactsBucket,
    actor: `pipeline/${STEP_NAMES.exportEdge}`,
    eventId: runEventId(o.runId, 'edge-export'),
    source: {
      useCase: o.useCase.name,
      modelVersion: o.registered.modelVersion,
      runId: o.runId,
      datasetHash: o.dataset.datasetHash,
      modelArchiveUri: o.trained.modelArtifacts,
      snapshot: { manifestUri: o.dataset.manifestUri },
      encodingUri: o.dataset.encodingUri,
      scoresUri: transformOutputUri(o.dataset, 'candidate'),
    },
    ...(o.now ? { now: o.now } : {}),
  });
  return exportEdgeOutput(result);
}

/**
 * Where a registered version's export inputs are, from the ledger alone: ModelRegistered names the
 * run and the model archive, the run's TrainingStarted manifest the snapshot and channel objects.
 */
export async function edgeSourceOf(ledger: LedgerLocation, modelVersion: string): Promise<EdgeSource> {
  const registered = ofType(await recordsOn(ledger, 'byModel', modelVersion), 'ModelRegistered')[0]?.event;
  if (!registered) {
    throw new ModelVersionNotFoundError(`model version ${modelVersion} is not registered in the ledger`);
  }
  const started = firstOfType(await runRecords(ledger, registered.runId), 'TrainingStarted');
  if (!started) {
    throw new EdgeSourceError(
      `run ${registered.runId} of ${modelVersion} has no TrainingStarted event, so its dataset is unknown`,
    );
  }
  const objects = started.manifest.dataset.objects;
  const keys = runDataKeys(registered.runId);
  const find = (key: string) => {
    const found = objects.find((o) => o.key === key);
    if (!found) {
      throw new EdgeSourceError(
        `the manifest of run ${registered.runId} records no ${key}; it cannot be exported`,
      );
    }
    return found;
  };
  const encoding = find(keys.encoding);
  const testFeatures = find(keys.testFeatures);
  return {
    useCase: registered.useCase,
    modelVersion,
    runId: registered.runId,
    datasetHash: registered.datasetHash,
    modelArchiveUri: registered.artifactUri,
    snapshot: snapshotObjects(objects, registered.datasetHash).snapshot,
    encodingUri: s3Uri(encoding.bucket, encoding.key),
    scoresUri: transformOutputUri(
      {
        transformOutputPrefix: s3Uri(testFeatures.bucket, keys.transform),
        channels: { testFeatures: s3Uri(testFeatures.bucket, testFeatures.key) },
      },
      'candidate',
    ),
  };
}

/** What {@link verifyEdgeFile} found. */
export interface EdgeVerification {
  readonly modelVersion: string;
  readonly file: { readonly sha256: string; readonly bytes: number };
  /** The model version and source model hash the file says it was exported from, if it says. */
  readonly claims: { readonly modelVersion?: string; readonly sourceModelSha256?: string };
  /** sha256 of the registered version's `xgboost-model`. */
  readonly sourceModelSha256: string;
  /** Whether the file names the registered model as its source (undefined when it names none). */
  readonly sourceMatches?: boolean;
  readonly parity: EdgeParity;
}

/**
 * The parity gate alone, on any ONNX file, against a registered version on its own test split:
 * what `mlops edge verify` prints. Publishes and records nothing.
 */
export async function verifyEdgeFile(
  s3: S3Client,
  useCase: UseCase,
  source: EdgeSource,
  onnx: Uint8Array,
): Promise<EdgeVerification> {
  const inputs = await loadEdgeInputs(s3, source);
  const metadata = readOnnxSignature(onnx).metadata;
  const sourceModelSha256 = sha256Hex(inputs.modelBytes);
  const claimedSource = metadata[ONNX_METADATA_KEYS.sourceModelSha256];
  const claimedVersion = metadata[ONNX_METADATA_KEYS.modelVersion];
  const parity = await edgeParity(onnx, inputs.rows, inputs.expected, edgeGateOf(useCase));
  return {
    modelVersion: source.modelVersion,
    file: { sha256: sha256Hex(onnx), bytes: onnx.byteLength },
    claims: {
      ...(claimedVersion === undefined ? {} : { modelVersion: claimedVersion }),
      ...(claimedSource === undefined ? {} : { sourceModelSha256: claimedSource }),
    },
    sourceModelSha256,
    ...(claimedSource === undefined ? {} : { sourceMatches: claimedSource === sourceModelSha256 }),
    parity: EdgeParitySchema.parse(parity),
  };
}
