/**
 * Ledger stream → Object Lock archive. Invoked by the DynamoDB stream event source mapping;
 * a thrown error makes Lambda bisect the batch and, after the retries, send it to the
 * on-failure queue, so no event is skipped silently.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import * as z from 'zod';
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

/**
 * What the archiver reads of a DynamoDB stream record (a NEW_IMAGE stream): the change, its keys
 * and its new image, unmarshalled. An event of another shape throws, so Lambda retries, bisects
 * and finally sends the batch to the on-failure queue. (Powertools' parser schemas would do the
 * same, but they import zod's whole namespace, locales included: 0.4 MB more in this bundle.)
 */
const image = z.record(
  z.string(),
  z.custom<AttributeValue>((v) => typeof v === 'object' && v !== null),
);
const StreamEventSchema = z.object({
  Records: z.array(
    z.object({
      eventName: z.enum(['INSERT', 'MODIFY', 'REMOVE']),
      dynamodb: z.object({ Keys: image, NewImage: image.optional() }),
    }),
  ),
});

/** Archives each new ledger event and the chain-head digest of the batch. */
export const handler = baseChain<unknown, void>().handler(async (raw) => {
  const event = StreamEventSchema.parse(raw);
  const result = await archiveBatch(
    archive,
    event.Records.map((r) => ({
      eventName: r.eventName,
      keys: unmarshall(r.dynamodb.Keys),
      ...(r.dynamodb.NewImage ? { newImage: unmarshall(r.dynamodb.NewImage) } : {}),
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
