/**
 * Out-of-time evaluation for the demo: score a trained model on flights from a later period than
 * it was trained on, with the features the store held at each flight's time. This is the honest
 * figure (a random split of the same week flatters the model).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { unpackObject } from '../../shared/archive.ts';
import type { UseCase } from '../../shared/config/use-case.ts';
import { addDays, dateOf, readOffline } from '../../shared/features/offline-store.ts';
import { pointInTimeJoin, type TrainingRow } from '../../shared/features/point-in-time.ts';
import type { LabelEvent } from '../../shared/labels/schema.ts';
import { predict } from '../../shared/models/xgboost-scorer.ts';
import { type Encoding, featureEncoder } from '../../shared/pipeline/encoding.ts';
import { auc } from '../../shared/pipeline/metrics.ts';
import { parseS3Uri, readText } from '../../shared/s3.ts';
import { loadXgboostModelDir } from '../local/sagemaker/algorithms/xgboost.ts';

/** The result of scoring one period. */
export interface OutOfTimeResult {
  readonly from: string;
  readonly to: string;
  readonly rows: number;
  readonly positiveRate: number;
  readonly auc: number;
}

/**
 * Scores the model at `modelArtifacts` (model.tar.gz) on `labels` (flights of a later period, in
 * event-time order), joining each with the feature values the store held at its time, encoded
 * with the run's `encodingUri`. The labels never enter the store, so no later training sees them.
 */
export async function outOfTimeAuc(options: {
  readonly s3: S3Client;
  readonly useCase: UseCase;
  readonly offlineBucket: string;
  readonly modelArtifacts: string;
  readonly encodingUri: string;
  readonly labels: readonly LabelEvent[];
}): Promise<OutOfTimeResult> {
  const { s3, useCase } = options;
  const first = options.labels[0]?.eventTime;
  const last = options.labels[options.labels.length - 1]?.eventTime;
  if (!first || !last) throw new Error('out-of-time evaluation needs at least one label');
  const maxTtlDays = Math.ceil(Math.max(...useCase.featureGroups.map((g) => g.ttlSeconds)) / 86_400);
  async function* labels() {
    yield* options.labels;
  }
  const groups = useCase.featureGroups.map((g) => ({
    group: g.name,
    ttlSeconds: g.ttlSeconds,
    featureNames: g.features.map((f) => f.name),
    records: readOffline(
      { client: s3, bucket: options.offlineBucket },
      g.name,
      addDays(dateOf(first), -maxTtlDays),
      dateOf(last),
    ),
  }));
  const rows: TrainingRow[] = [];
  for await (const row of pointInTimeJoin(labels(), groups)) rows.push(row);
  const encoding = JSON.parse(await readText(s3, parseS3Uri(options.encodingUri))) as Encoding;
  const encode = featureEncoder(encoding);
  const work = await mkdtemp(join(tmpdir(), 'oot-'));
  try {
    await unpackObject(s3, parseS3Uri(options.modelArtifacts), work);
    const model = await loadXgboostModelDir(work);
    const matrix = rows.map((r) =>
      encode(r.features)
        .split(',')
        .map((f) => (f === '' ? null : Number(f))),
    );
    const scores = predict(model, matrix);
    const ys = rows.map((r) => r.label);
    return {
      from: first,
      to: last,
      rows: rows.length,
      positiveRate: ys.reduce<number>((n, y) => n + y, 0) / Math.max(1, rows.length),
      auc: auc(ys, scores),
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
