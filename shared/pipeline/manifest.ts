/** Reading a dataset manifest (written by shared/features/dataset.ts) back from S3, validated. */
import type { S3Client } from '@aws-sdk/client-s3';
import * as z from 'zod';
import type { S3ObjectVersion } from '../ledger/events.ts';
import { NULL_VERSION, parseS3Uri, readText } from '../s3.ts';
import { formatProblems, toFieldProblems } from '../validation.ts';

const count = z.number().int().min(0);

/** A feature baseline as the dataset manifest stores it (shared/features/stats.ts). */
export const FeatureBaselineSchema = z.discriminatedUnion('kind', [
  z.looseObject({
    kind: z.literal('numeric'),
    count,
    missing: count,
    min: z.number().nullable(),
    max: z.number().nullable(),
    mean: z.number().nullable(),
    quantiles: z.record(z.string(), z.number()),
    histogram: z.strictObject({ edges: z.array(z.number()), shares: z.array(z.number()) }),
    sample: z.array(z.number()),
  }),
  z.looseObject({
    kind: z.literal('categorical'),
    count,
    missing: count,
    frequencies: z.record(z.string(), count),
  }),
]);

/** The manifest facts the pipeline relies on (the file holds more, such as samples and histograms). */
export const DatasetManifestFactsSchema = z.looseObject({
  useCase: z.string(),
  datasetHash: z.string().regex(/^[0-9a-f]{64}$/),
  cutoff: z.iso.datetime(),
  manifestKey: z.string().min(1),
  snapshot: z.looseObject({
    bucket: z.string().min(1),
    key: z.string().min(1),
    versionId: z.string().optional(),
  }),
  rowCount: count,
  positiveCount: count,
  splitCounts: z.looseObject({ train: count, validation: count, test: count }),
  schema: z.array(z.looseObject({ name: z.string().min(1), type: z.string().min(1) })),
  featureDefinitionsHash: z.string().regex(/^[0-9a-f]{64}$/),
  /** Label rows the build refused; manifests written before the label store record none. */
  quarantine: z
    .looseObject({
      labels: count,
      key: z.string().nullable(),
      first: z.array(
        z.looseObject({
          key: z.string(),
          line: count,
          labelId: z.string().nullable(),
          problems: z.array(
            z.looseObject({ field: z.string(), problem: z.string(), got: z.string().optional() }),
          ),
        }),
      ),
    })
    .default({ labels: 0, key: null, first: [] }),
  baseline: z.record(z.string(), FeatureBaselineSchema),
});
export type DatasetManifestFacts = z.infer<typeof DatasetManifestFactsSchema>;

/** A manifest is unreadable or not one the pipeline understands. */
export class ManifestError extends Error {
  override readonly name: string = 'ManifestError';
}

/** Reads and validates a dataset manifest. */
export async function readManifest(
  s3: S3Client,
  uri: string,
  versionId?: string,
): Promise<DatasetManifestFacts> {
  const text = await readText(s3, parseS3Uri(uri), versionId);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ManifestError(`dataset manifest ${uri} is not readable JSON: ${String(e)}`);
  }
  const parsed = DatasetManifestFactsSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) {
    throw new ManifestError(
      `dataset manifest ${uri} is not valid:\n${formatProblems(toFieldProblems(parsed.error), '  ')}`,
    );
  }
  return parsed.data;
}

/** The snapshot and manifest objects of a dataset recorded as `objects` (the manifest sits next to the snapshot). */
export function snapshotObjects(
  objects: readonly S3ObjectVersion[],
  datasetHash: string,
): { snapshot: S3ObjectVersion; manifest: S3ObjectVersion } {
  const snapshot = objects.find((o) => o.key.endsWith(`${datasetHash}/data.jsonl`)) ?? objects[0];
  if (!snapshot) throw new ManifestError(`dataset ${datasetHash} has no recorded S3 objects`);
  const manifestKey = snapshot.key.replace(/[^/]+$/, 'manifest.json');
  const manifest = objects.find((o) => o.key === manifestKey) ?? {
    bucket: snapshot.bucket,
    key: manifestKey,
    versionId: NULL_VERSION,
  };
  return { snapshot, manifest };
}
