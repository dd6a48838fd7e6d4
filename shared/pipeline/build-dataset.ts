/**
 * BuildDataset: the point-in-time snapshot (built, or pinned from an earlier run), encoded into
 * SageMaker XGBoost's CSV channels, and TrainingStarted with the reproducibility manifest.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import type { UseCase } from '../config/use-case.ts';
import { NotFoundError } from '../errors.ts';
import { buildDataset, recordDatasetBuilt } from '../features/dataset.ts';
import type { LedgerLocation, LedgerWriter } from '../ledger/append.ts';
import type { Hyperparameters, S3ObjectVersion, TrainingStarted } from '../ledger/events.ts';
import { currentVersion, downloadToFile, NULL_VERSION, putObject, s3Uri, uploadFile } from '../s3.ts';
import type { BuildDatasetOutput, PipelineInput } from './contracts.ts';
import { encodeSnapshotFile } from './encoding.ts';
import { appendOnce, firstOfType, runEventId, runRecords } from './ledger.ts';
import {
  type DatasetManifestFacts,
  DatasetManifestFactsSchema,
  readManifest,
  snapshotObjects,
} from './manifest.ts';
import { runResourceNames } from './names.ts';
import { STEP_NAMES } from './steps.ts';

/** The run to reproduce is unknown to the ledger, or belongs to another use case. */
export class ReproduceSourceError extends NotFoundError {
  override readonly name: string = 'ReproduceSourceError';
}

/** A snapshot no longer hashes to the dataset hash recorded for it. */
export class DatasetIntegrityError extends Error {
  override readonly name: string = 'DatasetIntegrityError';
}

/** What BuildDataset needs. */
export interface BuildDatasetStepOptions {
  readonly runId: string;
  readonly input: PipelineInput;
  readonly useCase: UseCase;
  readonly s3: S3Client;
  readonly ledger: LedgerWriter;
  readonly buckets: { readonly datasets: string; readonly offline: string; readonly artifacts: string };
  /** Training and serving image, recorded in the manifest. */
  readonly imageUri: string;
  readonly codeVersion: string;
  readonly configHash: string;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/** A dataset and configuration fixed by an earlier TrainingStarted (a reproduce, or this run's retry). */
interface Pinned {
  readonly datasetHash: string;
  readonly objects: readonly S3ObjectVersion[];
  readonly hyperparameters: Hyperparameters;
  readonly seed: number;
}

/** Hyperparameters as SageMaker receives them: strings, with the seed unless one is set explicitly. */
export function trainingHyperparameters(
  hyperparameters: Readonly<Record<string, string | number | boolean>>,
  seed: number,
): Record<string, string> {
  const out = Object.fromEntries(Object.entries(hyperparameters).map(([k, v]) => [k, String(v)]));
  return { ...out, seed: out.seed ?? String(seed) };
}

async function pinnedFrom(
  ledger: LedgerLocation,
  runId: string,
  useCase: string,
): Promise<Pinned | undefined> {
  const started = firstOfType(await runRecords(ledger, runId), 'TrainingStarted');
  if (!started) return undefined;
  if (started.useCase !== useCase) {
    throw new ReproduceSourceError(`run ${runId} trained use case ${started.useCase}, not ${useCase}`);
  }
  return {
    datasetHash: started.datasetHash,
    objects: started.manifest.dataset.objects,
    hyperparameters: started.manifest.hyperparameters,
    seed: started.manifest.seed,
  };
}

/** Where a run's data sits in the datasets bucket: its channels, its encoding and the transform output. */
export function runDataKeys(runId: string) {
  const prefix = `runs/${runId}`;
  return {
    train: `${prefix}/train/train.csv`,
    validation: `${prefix}/validation/validation.csv`,
    testFeatures: `${prefix}/test/features.csv`,
    testLabels: `${prefix}/test/labels.csv`,
    encoding: `${prefix}/encoding.json`,
    /** Batch transform writes `<who>/features.csv.out` under it. */
    transform: `${prefix}/transform`,
  } as const;
}

/** Runs the BuildDataset step. Retrying it for the same run reuses the dataset it built first. */
export async function buildDatasetStep(o: BuildDatasetStepOptions): Promise<BuildDatasetOutput> {
  const now = o.now ?? (() => new Date());
  const actor = `pipeline/${STEP_NAMES.buildDataset}`;
  const own = await runRecords(o.ledger, o.runId);
  const ownStarted = firstOfType(own, 'TrainingStarted');
  let pinned: Pinned | undefined;
  if (ownStarted) {
    pinned = {
      datasetHash: ownStarted.datasetHash,
      objects: ownStarted.manifest.dataset.objects,
      hyperparameters: ownStarted.manifest.hyperparameters,
      seed: ownStarted.manifest.seed,
    };
  } else if (o.input.reproduceOf !== undefined) {
    pinned = await pinnedFrom(o.ledger, o.input.reproduceOf, o.useCase.name);
    if (!pinned) {
      throw new ReproduceSourceError(
        `reproduceOf: run ${o.input.reproduceOf} has no TrainingStarted event in the ledger, so there is nothing to reproduce`,
      );
    }
  }

  let objects: { snapshot: S3ObjectVersion; manifest: S3ObjectVersion };
  // Set when this attempt built the dataset: the manifest is in hand, no need to read it back.
  let built: DatasetManifestFacts | undefined;
  let datasetHash: string;
  if (pinned) {
    datasetHash = pinned.datasetHash;
    objects = snapshotObjects(pinned.objects, datasetHash);
  } else {
    const builtEarlier = firstOfType(own, 'DatasetBuilt');
    if (builtEarlier) {
      // A retry after DatasetBuilt was recorded but before TrainingStarted: keep that snapshot.
      datasetHash = builtEarlier.datasetHash;
      objects = snapshotObjects(builtEarlier.objects, datasetHash);
    } else {
      const manifest = await buildDataset({
        useCase: o.useCase,
        s3: o.s3,
        offline: { client: o.s3, bucket: o.buckets.offline },
        datasetsBucket: o.buckets.datasets,
        cutoff: o.input.cutoff ?? now().toISOString(),
      });
      await recordDatasetBuilt(o.ledger, manifest, actor, o.runId);
      built = DatasetManifestFactsSchema.parse(manifest);
      datasetHash = manifest.datasetHash;
      objects = {
        snapshot: {
          bucket: manifest.snapshot.bucket,
          key: manifest.snapshot.key,
          versionId: manifest.snapshot.versionId ?? NULL_VERSION,
        },
        manifest: await currentVersion(o.s3, { bucket: o.buckets.datasets, key: manifest.manifestKey }),
      };
    }
  }

  const manifestUri = s3Uri(objects.manifest.bucket, objects.manifest.key);
  const manifest: DatasetManifestFacts =
    built ?? (await readManifest(o.s3, manifestUri, objects.manifest.versionId));
  if (manifest.datasetHash !== datasetHash) {
    throw new DatasetIntegrityError(
      `${manifestUri} describes dataset ${manifest.datasetHash}, expected ${datasetHash}`,
    );
  }

  const prefix = `runs/${o.runId}`;
  const keys = runDataKeys(o.runId);
  const work = mkdtempSync(join(tmpdir(), 'build-dataset-'));
  let written: S3ObjectVersion[];
  let featureNames: string[];
  try {
    const snapshotFile = join(work, 'data.jsonl');
    const actual = await downloadToFile(o.s3, objects.snapshot, snapshotFile, objects.snapshot.versionId);
    if (actual !== datasetHash) {
      throw new DatasetIntegrityError(
        `snapshot s3://${objects.snapshot.bucket}/${objects.snapshot.key} (version ${objects.snapshot.versionId}) hashes to ${actual}, not to the recorded dataset hash ${datasetHash}`,
      );
    }
    const files = {
      train: join(work, 'train.csv'),
      validation: join(work, 'validation.csv'),
      testFeatures: join(work, 'features.csv'),
      testLabels: join(work, 'labels.csv'),
    };
    const { encoding } = await encodeSnapshotFile(snapshotFile, manifest.schema, o.useCase.label.name, files);
    featureNames = encoding.features.map((f) => f.name);
    const bucket = o.buckets.datasets;
    written = await Promise.all([
      uploadFile(o.s3, { bucket, key: keys.train }, files.train, 'text/csv'),
      uploadFile(o.s3, { bucket, key: keys.validation }, files.validation, 'text/csv'),
      uploadFile(o.s3, { bucket, key: keys.testFeatures }, files.testFeatures, 'text/csv'),
      uploadFile(o.s3, { bucket, key: keys.testLabels }, files.testLabels, 'text/csv'),
      putObject(o.s3, { bucket, key: keys.encoding }, JSON.stringify(encoding, null, 2), 'application/json'),
    ]);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }

  const hyperparameters = trainingHyperparameters(
    pinned?.hyperparameters ?? o.useCase.model.hyperparameters,
    pinned?.seed ?? o.useCase.model.seed,
  );
  const seed = pinned?.seed ?? o.useCase.model.seed;
  const started: TrainingStarted = {
    type: 'TrainingStarted',
    eventId: runEventId(o.runId, 'training-started'),
    actor,
    time: now().toISOString(),
    useCase: o.useCase.name,
    runId: o.runId,
    datasetHash,
    trigger: o.input.trigger,
    ...(o.input.reason !== undefined ? { reason: o.input.reason } : {}),
    manifest: {
      dataset: { hash: datasetHash, objects: [objects.snapshot, objects.manifest, ...written] },
      featureDefinitionsHash: manifest.featureDefinitionsHash,
      codeVersion: o.codeVersion,
      configHash: o.configHash,
      containerImage: o.imageUri,
      hyperparameters,
      seed,
    },
  };
  await appendOnce(o.ledger, started);

  const datasets = o.buckets.datasets;
  return {
    datasetHash,
    cutoff: manifest.cutoff,
    manifestUri,
    rowCount: manifest.rowCount,
    channels: {
      train: s3Uri(datasets, keys.train),
      validation: s3Uri(datasets, keys.validation),
      testFeatures: s3Uri(datasets, keys.testFeatures),
      testLabels: s3Uri(datasets, keys.testLabels),
    },
    encodingUri: s3Uri(datasets, keys.encoding),
    featureNames,
    transformOutputPrefix: s3Uri(datasets, keys.transform),
    names: runResourceNames(o.useCase.name, o.runId),
    hyperparameters,
    trainingOutputPath: s3Uri(o.buckets.artifacts, `${prefix}/training`),
  };
}
