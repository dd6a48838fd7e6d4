/**
 * Bulk label ingestion: an S3 "Object Created" event (through EventBridge) for
 * `ingest-labels/<useCase>/<file>` in the datasets bucket. Rows are validated and written in
 * chunks; rejects are quarantined with their reasons.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { LabelStoreEnvSchema } from '../../shared/labels/api.ts';
import { ingestLabelFile, type LabelBulkSummary } from '../../shared/labels/bulk.ts';
import { s3Client } from '../shared/clients.ts';
import { objectCreatedHandler } from '../shared/object-created.ts';
import { loadEnv, logger, metrics } from '../shared/observability.ts';

const env = loadEnv(LabelStoreEnvSchema);
const contracts = new Map(env.LABEL_CONTRACTS.map((c) => [c.useCase, c]));
const s3 = s3Client();

export const handler = objectCreatedHandler(async (bucket, key): Promise<LabelBulkSummary> => {
  const summary = await ingestLabelFile(
    { client: s3, bucket: env.DATASETS_BUCKET },
    contracts,
    s3,
    bucket,
    key,
  );
  metrics.addMetric('BulkLabelsAccepted', MetricUnit.Count, summary.accepted);
  metrics.addMetric('BulkLabelsRejected', MetricUnit.Count, summary.rejected);
  logger.info('bulk label file ingested', { summary });
  return summary;
});
