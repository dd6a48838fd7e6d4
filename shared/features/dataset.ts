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
import { labelContract, labelPrefix } from '../labels/schema.ts';
import { type RejectedStoredLabel, readLabels } from '../labels/store.ts';
import { type AppendResult, appendEvent, type LedgerWriter } from '../ledger/append.ts';
import { canonicalJson, sha256Hex } from '../ledger/canonical.ts';
import type { DatasetBuilt } from '../ledger/events.ts';
import { addDays, listPartitionDates, type OfflineStoreOptions, readOffline } from './offline-store.ts';
import { pointInTimeJoin, type TrainingRow } from './point-in-time.ts';
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
  const bucket = Number.parseInt(sha256Hex(canonicalJson({ entities, eventTime })).slice(0, 8), 16) % 100;
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
  /** Stored label rows the build refused (they are not in the snapshot), and where they are listed. */
  readonly quarantine: DatasetQuarantine;
}

/** Label rows a build refused: ValidateData gates on their share. */
export interface DatasetQuarantine {
  /** How many stored label rows were refused. */
  readonly labels: number;
  /** Every refused row with its reasons (JSONL next to the snapshot), or null when none was. */
  readonly key: string | null;
  /** The first few, for the failure message. */
  readonly first: readonly RejectedStoredLabel[];
}

/** How many refused rows a manifest names. */
export const QUARANTINE_SAMPLES = 5;

/** A row as stored in the snapshot (one JSON object per line). */
export interface SnapshotRow extends TrainingRow {
  readonly split: Split;
}

/** Hash of what defines the features, so a dataset can be tied to the definitions that built it. */
export function featureDefinitionsHash(useCase: UseCase): string {
  return sha256Hex(
    canonicalJson({
      featureGroups: useCase.featureGroups,
      requestFeatures: useCase.requestFeatures,
      label: useCase.label,
    }),
  );
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
  const rejectsFile = join(work, 'rejected-labels.jsonl');
  const hash = createHash('sha256');
  const rejects = createWriteStream(rejectsFile);
  const first: RejectedStoredLabel[] = [];
  let rejected = 0;
  const onReject = (r: RejectedStoredLabel) => {
    rejected++;
    if (first.length < QUARANTINE_SAMPLES) first.push(r);
    // Few and small: one line per refused row; the stream buffers what the disk has not taken yet.
    rejects.write(`${JSON.stringify(r)}\n`);
  };
  try {
    const out = createWriteStream(file);
    if (from !== undefined && to !== undefined) {
      const maxTtlDays = Math.ceil(Math.max(...useCase.featureGroups.map((g) => g.ttlSeconds)) / 86_400);
      const groups = useCase.featureGroups.map((g) => ({
        group: g.name,
        ttlSeconds: g.ttlSeconds,
        featureNames: g.features.map((f) => f.name),
        records: readOffline(options.offline, g.name, addDays(from, -maxTtlDays), to, cutoff),
      }));
      const labels = readLabels({
        client: s3,
        bucket: options.datasetsBucket,
        contract: labelContract(useCase),
        from,
        to,
        cutoff,
        onReject,
      });
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
    rejects.end();
    await Promise.all([once(out, 'finish'), once(rejects, 'finish')]);
    const datasetHash = hash.digest('hex');
    const key = `snapshots/${useCase.name}/${datasetHash}/data.jsonl`;
    const rejectsKey = `snapshots/${useCase.name}/${datasetHash}/rejected-labels.jsonl`;
    if (rejected > 0) {
      await new Upload({
        client: s3,
        params: {
          Bucket: options.datasetsBucket,
          Key: rejectsKey,
          Body: createReadStream(rejectsFile),
          ContentType: 'application/x-ndjson',
        },
      }).done();
    }
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
      quarantine: { labels: rejected, key: rejected > 0 ? rejectsKey : null, first },
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
    rejects.destroy();
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
