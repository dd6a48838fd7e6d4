/**
 * Builds an immutable point-in-time training snapshot and its manifest in S3. The snapshot is
 * streamed through a temporary file, so memory stays bounded whatever the number of rows.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { modelFeatures, type UseCase } from '../config/use-case.ts';
import { type AppendResult, appendEvent, type LedgerWriter } from '../ledger/append.ts';
import type { DatasetBuilt } from '../ledger/events.ts';
import {
  addDays,
  listPartitionDates,
  type OfflineStoreOptions,
  readDailyPartitions,
  readOffline,
} from './offline-store.ts';
import { type LabelEvent, pointInTimeJoin, type TrainingRow } from './point-in-time.ts';
import { canonicalJson, contentHash } from './records.ts';
import { BaselineBuilder, type FeatureBaseline } from './stats.ts';

/** Which split a row belongs to: a pure function of its entities and time, so rebuilds agree. */
export type Split = 'train' | 'validation' | 'test';

/** Split rule recorded in the manifest. */
export const SPLIT_RULE = {
  method: 'sha256(canonical({entities, eventTime})) first 8 hex digits mod 100',
  train: [0, 70],
  validation: [70, 85],
  test: [85, 100],
} as const;

/** The split of one row. */
export function splitOf(entities: Readonly<Record<string, string>>, eventTime: string): Split {
  const bucket = Number.parseInt(contentHash(canonicalJson({ entities, eventTime })).slice(0, 8), 16) % 100;
  if (bucket < SPLIT_RULE.train[1]) return 'train';
  if (bucket < SPLIT_RULE.validation[1]) return 'validation';
  return 'test';
}

/** What a dataset manifest records. */
export interface DatasetManifest {
  readonly useCase: string;
  /** sha256 of the snapshot bytes. */
  readonly datasetHash: string;
  /** Only records ingested at or before this time were used. */
  readonly cutoff: string;
  /** Where the manifest itself is stored (next to the snapshot). */
  readonly manifestKey: string;
  /** When this build ran; two builds of the same data differ only here. */
  readonly builtAt: string;
  readonly snapshot: {
    readonly bucket: string;
    readonly key: string;
    readonly versionId?: string;
    readonly bytes: number;
  };
  readonly rowCount: number;
  readonly positiveCount: number;
  readonly splitCounts: Readonly<Record<Split, number>>;
  readonly split: typeof SPLIT_RULE;
  readonly labelDates: { readonly from: string; readonly to: string } | null;
  /** Feature names and types, in model order. */
  readonly schema: readonly { readonly name: string; readonly type: string }[];
  /** sha256 of the canonical feature-group and request-feature definitions. */
  readonly featureDefinitionsHash: string;
  /** Per-feature baseline statistics computed on the train split. */
  readonly baseline: Readonly<Record<string, FeatureBaseline>>;
}

/** A row as stored in the snapshot (one JSON object per line). */
export interface SnapshotRow extends TrainingRow {
  readonly split: Split;
}

/** Hash of what defines the features, so a dataset can be tied to the definitions that built it. */
export function featureDefinitionsHash(useCase: UseCase): string {
  return contentHash(
    canonicalJson({
      featureGroups: useCase.featureGroups,
      requestFeatures: useCase.requestFeatures,
      label: useCase.label,
    }),
  );
}

/** Where label events are stored: `labels/<useCase>/date=<day>/*.jsonl` in the datasets bucket. */
export function labelPrefix(useCase: string): string {
  return `labels/${useCase}/`;
}

export interface BuildDatasetOptions {
  readonly useCase: UseCase;
  readonly s3: S3Client;
  /** The offline feature store. */
  readonly offline: OfflineStoreOptions;
  /** Bucket holding label events and receiving snapshots. */
  readonly datasetsBucket: string;
  /** Records (features and labels) ingested after this are ignored. */
  readonly cutoff: string;
  /**
   * Restrict label events to these days.
   * @default - every day that has labels
   */
  readonly labelDates?: { readonly from: string; readonly to: string };
}

/** Reads labels in event-time order from their daily partitions. */
export function readLabels(
  s3: S3Client,
  bucket: string,
  useCase: string,
  from: string,
  to: string,
  cutoff: string,
): AsyncGenerator<LabelEvent> {
  return readDailyPartitions<LabelEvent>(s3, bucket, labelPrefix(useCase), from, to, {
    keep: (l) => l.ingestedAt === undefined || l.ingestedAt <= cutoff,
    idOf: (l) => l.labelId,
    compare: (a, b) => a.eventTime.localeCompare(b.eventTime) || a.labelId.localeCompare(b.labelId),
  });
}

/** Builds the snapshot and manifest; returns the manifest (also written next to the snapshot). */
export async function buildDataset(options: BuildDatasetOptions): Promise<DatasetManifest> {
  const { useCase, s3, cutoff } = options;
  const dates = await listPartitionDates(s3, options.datasetsBucket, labelPrefix(useCase.name));
  const from = options.labelDates?.from ?? dates[0];
  const to = options.labelDates?.to ?? dates[dates.length - 1];
  const features = modelFeatures(useCase);
  const baseline = new BaselineBuilder(features, useCase.model.seed);
  const splitCounts: Record<Split, number> = { train: 0, validation: 0, test: 0 };
  let rowCount = 0;
  let positiveCount = 0;

  const work = mkdtempSync(join(tmpdir(), 'dataset-'));
  const file = join(work, 'data.jsonl');
  const hash = createHash('sha256');
  try {
    const out = createWriteStream(file);
    if (from !== undefined && to !== undefined) {
      const maxTtlDays = Math.ceil(Math.max(...useCase.featureGroups.map((g) => g.ttlSeconds)) / 86_400);
      const groups = useCase.featureGroups.map((g) => ({
        group: g.name,
        entity: g.entity,
        ttlSeconds: g.ttlSeconds,
        featureNames: g.features.map((f) => f.name),
        records: readOffline(options.offline, g.name, addDays(from, -maxTtlDays), to, cutoff),
      }));
      const labels = readLabels(s3, options.datasetsBucket, useCase.name, from, to, cutoff);
      for await (const row of pointInTimeJoin(labels, groups, cutoff)) {
        const split = splitOf(row.entities, row.eventTime);
        const line = `${JSON.stringify({ ...row, split } satisfies SnapshotRow)}\n`;
        hash.update(line);
        if (!out.write(line)) await once(out, 'drain');
        rowCount++;
        positiveCount += row.label;
        splitCounts[split]++;
        if (split === 'train') baseline.add(row.features);
      }
    }
    out.end();
    await once(out, 'finish');
    const datasetHash = hash.digest('hex');
    const key = `snapshots/${useCase.name}/${datasetHash}/data.jsonl`;
    const upload = await new Upload({
      client: s3,
      params: {
        Bucket: options.datasetsBucket,
        Key: key,
        Body: createReadStream(file),
        ContentType: 'application/x-ndjson',
      },
    }).done();
    const manifestKey = `snapshots/${useCase.name}/${datasetHash}/manifest.json`;
    const manifest: DatasetManifest = {
      useCase: useCase.name,
      datasetHash,
      cutoff,
      manifestKey,
      builtAt: new Date().toISOString(),
      snapshot: {
        bucket: options.datasetsBucket,
        key,
        ...(upload.VersionId ? { versionId: upload.VersionId } : {}),
        bytes: statSync(file).size,
      },
      rowCount,
      positiveCount,
      splitCounts,
      split: SPLIT_RULE,
      labelDates: from !== undefined && to !== undefined ? { from, to } : null,
      schema: features.map((f) => ({ name: f.name, type: f.type })),
      featureDefinitionsHash: featureDefinitionsHash(useCase),
      baseline: baseline.result(),
    };
    await s3.send(
      new PutObjectCommand({
        Bucket: options.datasetsBucket,
        Key: manifestKey,
        Body: JSON.stringify(manifest, null, 2),
        ContentType: 'application/json',
      }),
    );
    return manifest;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * The DatasetBuilt ledger event of a manifest. Its ID derives from the dataset hash and the build
 * time, so recording the same build twice is a no-op while a rebuild is a new event. An
 * unversioned object's version is "null", as S3 reports it.
 */
export function datasetBuiltEvent(manifest: DatasetManifest, actor: string, runId?: string): DatasetBuilt {
  return {
    type: 'DatasetBuilt',
    eventId: `dataset-built-${manifest.datasetHash.slice(0, 32)}-${manifest.builtAt.replace(/[^0-9]/g, '')}`,
    actor,
    time: manifest.builtAt,
    useCase: manifest.useCase,
    datasetHash: manifest.datasetHash,
    objects: [
      {
        bucket: manifest.snapshot.bucket,
        key: manifest.snapshot.key,
        versionId: manifest.snapshot.versionId ?? 'null',
      },
    ],
    featureDefinitionsHash: manifest.featureDefinitionsHash,
    rowCount: manifest.rowCount,
    cutoff: manifest.cutoff,
    ...(runId ? { runId } : {}),
  };
}

/** Records a built dataset in the lineage ledger. */
export function recordDatasetBuilt(
  ledger: LedgerWriter,
  manifest: DatasetManifest,
  actor: string,
  runId?: string,
): Promise<AppendResult> {
  return appendEvent(ledger, datasetBuiltEvent(manifest, actor, runId));
}
