/**
 * Bulk ingestion: an S3 "Object Created" event (through EventBridge) for `ingest/<group>/<file>`
 * in the datasets bucket. Rows are validated and written in chunks; rejects are quarantined.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { FeatureStoreEnvSchema } from '../../shared/features/api.ts';
import { type BulkSummary, ingestBulkObject } from '../../shared/features/bulk.ts';
import { documentClient, s3Client } from '../shared/clients.ts';
import { objectCreatedHandler } from '../shared/object-created.ts';
import { loadEnv, logger, metrics } from '../shared/observability.ts';

const env = loadEnv(FeatureStoreEnvSchema);
const groups = new Map(env.FEATURE_GROUPS.map((g) => [g.name, g]));
const s3 = s3Client();
const ctx = {
  online: {
    client: documentClient(),
    tableName: env.ONLINE_TABLE,
  },
  offline: { client: s3, bucket: env.OFFLINE_BUCKET },
};

export const handler = objectCreatedHandler(async (bucket, key): Promise<BulkSummary> => {
  const summary = await ingestBulkObject(ctx, groups, s3, bucket, key);
  metrics.addMetric('BulkRowsAccepted', MetricUnit.Count, summary.accepted);
  metrics.addMetric('BulkRowsRejected', MetricUnit.Count, summary.rejected);
  logger.info('bulk file ingested', { summary });
  return summary;
});
