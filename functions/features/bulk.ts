/**
 * Bulk ingestion: an S3 "Object Created" event (through EventBridge) for `ingest/<group>/<file>`
 * in the datasets bucket. Rows are validated and written in chunks; rejects are quarantined.
 */

import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import middy from '@middy/core';
import { z } from 'zod';
import { FeatureStoreEnvSchema } from '../../shared/features/api.ts';
import { type BulkSummary, ingestBulkObject } from '../../shared/features/bulk.ts';
import { loadEnv, logger, metrics, tracer } from '../shared/observability.ts';

const env = loadEnv(FeatureStoreEnvSchema);
const groups = new Map(env.FEATURE_GROUPS.map((g) => [g.name, g]));
const s3 = tracer.captureAWSv3Client(new S3Client({}));
const ctx = {
  online: {
    client: DynamoDBDocumentClient.from(tracer.captureAWSv3Client(new DynamoDBClient({}))),
    tableName: env.ONLINE_TABLE,
  },
  offline: { client: s3, bucket: env.OFFLINE_BUCKET },
};

/** The part of EventBridge's S3 "Object Created" event we use. */
const ObjectCreatedSchema = z.object({
  'detail-type': z.literal('Object Created'),
  detail: z.object({ bucket: z.object({ name: z.string() }), object: z.object({ key: z.string() }) }),
});

export const handler = middy()
  .use(injectLambdaContext(logger))
  .use(captureLambdaHandler(tracer))
  .use(logMetrics(metrics))
  .handler(async (raw: unknown): Promise<BulkSummary> => {
    const event = ObjectCreatedSchema.parse(raw);
    // S3 event keys are URL-encoded, with '+' for spaces.
    const key = decodeURIComponent(event.detail.object.key.replace(/\+/g, ' '));
    const summary = await ingestBulkObject(ctx, groups, s3, event.detail.bucket.name, key);
    metrics.addMetric('BulkRowsAccepted', MetricUnit.Count, summary.accepted);
    metrics.addMetric('BulkRowsRejected', MetricUnit.Count, summary.rejected);
    logger.info('bulk file ingested', { summary });
    return summary;
  });
