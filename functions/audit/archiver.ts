/**
 * Ledger stream → Object Lock archive. Invoked by the DynamoDB stream event source mapping;
 * a thrown error makes Lambda bisect the batch and, after the retries, send it to the
 * on-failure queue, so no event is skipped silently.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import { DynamoDBStreamSchema } from '@aws-lambda-powertools/parser/schemas';
import { z } from 'zod';
import { archiveBatch } from '../../shared/ledger/archive.ts';
import { lazySignatureChecker } from '../../shared/ledger/signing.ts';
import { kmsClient, s3Client } from '../shared/clients.ts';
import { baseChain, loadEnv, logger, metrics } from '../shared/observability.ts';

const env = loadEnv(
  z.object({
    AUDIT_ARCHIVE_BUCKET: z.string().min(1),
    /** Only events signed with this key are archived. */
    LEDGER_SIGNING_KEY: z.string().regex(/^arn:aws[a-z-]*:kms:/, 'must be a KMS key ARN'),
  }),
);
const archive = { s3: s3Client(), bucket: env.AUDIT_ARCHIVE_BUCKET };
const signatures = lazySignatureChecker(kmsClient(), env.LEDGER_SIGNING_KEY);

type StreamEvent = z.infer<typeof DynamoDBStreamSchema>;

/** Archives each new ledger event and the chain-head digest of the batch. */
export const handler = baseChain<StreamEvent, void>()
  .use(parser({ schema: DynamoDBStreamSchema }))
  .handler(async (event) => {
    const result = await archiveBatch(
      archive,
      event.Records.map((r) => ({
        eventName: r.eventName,
        keys: r.dynamodb.Keys ?? {},
        ...(r.dynamodb.NewImage ? { newImage: r.dynamodb.NewImage } : {}),
      })),
      new Date(),
      await signatures(),
    );
    // Writers only insert signed events: anything else means someone bypassed the append path.
    for (const signal of result.tamperSignals)
      logger.error('ledger record written outside the append path', { ...signal });
    metrics.addMetric('ArchivedEvents', MetricUnit.Count, result.events);
    metrics.addMetric('LedgerTamperSignals', MetricUnit.Count, result.tamperSignals.length);
  });
