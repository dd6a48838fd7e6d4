/**
 * Out-of-time evaluation for the demo: score a trained model on flights from a later period than
 * it was trained on, with the features the store held at each flight's time. This is the honest
 * figure (a random split of the same week flatters the model).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import type { UseCase } from '../../../shared/config/use-case.ts';
import { buildDataset, type SnapshotRow } from '../../../shared/features/dataset.ts';
import { readText } from '../../../shared/features/offline-store.ts';
import { predict } from '../../../shared/models/xgboost-scorer.ts';
import { type Encoding, featureEncoder } from '../../../shared/pipeline/encoding.ts';
import { auc } from '../../../shared/pipeline/metrics.ts';
import { loadXgboostModelDir } from '../sagemaker/algorithms/xgboost.ts';
import { getObject, parseS3Uri, unpackInto } from '../sagemaker/s3-io.ts';

/** The result of scoring one period. */
export interface OutOfTimeResult {
  readonly from: string;
  readonly to: string;
  readonly rows: number;
  readonly positiveRate: number;
  readonly auc: number;
}

/** Scores the model at `modelArtifacts` (model.tar.gz) on the labels of [from, to], encoded with `encodingUri`. */
export async function outOfTimeAuc(options: {
  readonly s3: S3Client;
  readonly useCase: UseCase;
  readonly datasetsBucket: string;
  readonly offlineBucket: string;
  readonly modelArtifacts: string;
  readonly encodingUri: string;
  readonly from: string;
  readonly to: string;
}): Promise<OutOfTimeResult> {
  const { s3 } = options;
  const manifest = await buildDataset({
    useCase: options.useCase,
    s3,
    offline: { client: s3, bucket: options.offlineBucket },
    datasetsBucket: options.datasetsBucket,
    cutoff: new Date().toISOString(),
    labelDates: { from: options.from, to: options.to },
  });
  const rows = (await readText(s3, manifest.snapshot.bucket, manifest.snapshot.key))
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as SnapshotRow);
  const encodingLocation = parseS3Uri(options.encodingUri);
  const encoding = JSON.parse(await readText(s3, encodingLocation.bucket, encodingLocation.key)) as Encoding;
  const encode = featureEncoder(encoding);
  const work = await mkdtemp(join(tmpdir(), 'oot-'));
  try {
    await unpackInto(await getObject(s3, options.modelArtifacts), work);
    const model = await loadXgboostModelDir(work);
    const matrix = rows.map((r) =>
      encode(r.features)
        .split(',')
        .map((f) => (f === '' ? null : Number(f))),
    );
    const scores = predict(model, matrix);
    const labels = rows.map((r) => r.label);
    return {
      from: options.from,
      to: options.to,
      rows: rows.length,
      positiveRate: labels.reduce<number>((n, y) => n + y, 0) / Math.max(1, rows.length),
      auc: auc(labels, scores),
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
