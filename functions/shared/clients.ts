/**
 * The AWS SDK clients of every handler, each traced by X-Ray. Endpoints come from the SDK's own
 * configuration (`AWS_ENDPOINT_URL_<SERVICE>`), which is how the local cloud reaches them.
 */
import { ApplicationAutoScalingClient } from '@aws-sdk/client-application-auto-scaling';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { FirehoseClient } from '@aws-sdk/client-firehose';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { tracer } from './observability.ts';

/** An S3 client. */
export function s3Client(): S3Client {
  return tracer.captureAWSv3Client(new S3Client({}));
}

/**
 * Settings for writes that must not hold up a response (keeping a prediction): short timeouts and
 * one retry. What fails is the caller's to count and keep.
 */
const SHORT_WRITES = {
  maxAttempts: 2,
  requestHandler: { connectionTimeout: 500, requestTimeout: 1000 },
} as const;

/** A DynamoDB document client; `short` for writes that must not hold up a response. */
export function documentClient(options: { readonly short?: boolean } = {}): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(
    tracer.captureAWSv3Client(new DynamoDBClient(options.short ? SHORT_WRITES : {})),
  );
}

/** A KMS client. */
export function kmsClient(): KMSClient {
  return tracer.captureAWSv3Client(new KMSClient({}));
}

/** A SageMaker client. */
export function sageMakerClient(): SageMakerClient {
  return tracer.captureAWSv3Client(new SageMakerClient({}));
}

/** A SageMaker Runtime client (InvokeEndpoint). */
export function sageMakerRuntimeClient(): SageMakerRuntimeClient {
  return tracer.captureAWSv3Client(new SageMakerRuntimeClient({}));
}

/** A Step Functions client. */
export function sfnClient(): SFNClient {
  return tracer.captureAWSv3Client(new SFNClient({}));
}

/** An SNS client. */
export function snsClient(): SNSClient {
  return tracer.captureAWSv3Client(new SNSClient({}));
}

/** An Application Auto Scaling client. */
export function applicationAutoScalingClient(): ApplicationAutoScalingClient {
  return tracer.captureAWSv3Client(new ApplicationAutoScalingClient({}));
}

/** A CloudWatch client. */
export function cloudWatchClient(): CloudWatchClient {
  return tracer.captureAWSv3Client(new CloudWatchClient({}));
}

/** A Firehose client for writes that must not hold up a response (SHORT_WRITES). */
export function firehoseClient(): FirehoseClient {
  return tracer.captureAWSv3Client(new FirehoseClient(SHORT_WRITES));
}
