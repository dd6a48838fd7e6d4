/**
 * The middy chain of every training-pipeline step (a `lambda:invoke` task with payload
 * `{runId, state: $, ...}`): Powertools logger, tracer and metrics, then the payload parsed with
 * the step's schema. The step's return value is the task result (payloadResponseOnly).
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { z } from 'zod';
import type { LedgerWriter } from '../../shared/ledger/append.ts';
import { kmsSigner } from '../../shared/ledger/signing.ts';
import { PipelineStateError } from '../../shared/pipeline/state.ts';
import { formatProblems, toFieldProblems } from '../../shared/validation.ts';
import { logger, metrics, tracer } from '../shared/observability.ts';

/** Wraps a step body in the shared chain; the payload is parsed before the body runs. */
export function stepHandler<S extends z.ZodType<{ runId: string }>, R>(
  schema: S,
  body: (payload: z.infer<S>, context: Context) => Promise<R>,
) {
  return middy<unknown, R, Error, Context>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(captureLambdaHandler(tracer))
    .use(logMetrics(metrics))
    .handler(async (raw, context) => {
      const parsed = schema.safeParse(raw, { reportInput: true });
      if (!parsed.success) {
        throw new PipelineStateError(
          `the step payload does not match its contract:\n${formatProblems(toFieldProblems(parsed.error), '  ')}`,
        );
      }
      logger.appendKeys({ runId: parsed.data.runId });
      return body(parsed.data, context);
    });
}

/** An S3 client (its endpoint honours AWS_ENDPOINT_URL_S3), traced. */
export function s3Client(): S3Client {
  return tracer.captureAWSv3Client(new S3Client({}));
}

/** A SageMaker client (AWS_ENDPOINT_URL_SAGEMAKER), traced. */
export function sageMakerClient(): SageMakerClient {
  return tracer.captureAWSv3Client(new SageMakerClient({}));
}

/** A DynamoDB document client (AWS_ENDPOINT_URL_DYNAMODB), traced. */
export function documentClient(): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(tracer.captureAWSv3Client(new DynamoDBClient({})));
}

/** The ledger the pipeline appends to, signing with the ledger's KMS key (AWS_ENDPOINT_URL_KMS). */
export function ledgerLocation(env: {
  LEDGER_TABLE: string;
  LEDGER_CHAIN: string;
  LEDGER_SIGNING_KEY: string;
}): LedgerWriter {
  return {
    client: documentClient(),
    tableName: env.LEDGER_TABLE,
    chain: env.LEDGER_CHAIN,
    signer: kmsSigner(tracer.captureAWSv3Client(new KMSClient({})), env.LEDGER_SIGNING_KEY),
  };
}
