import { LOCAL_CREDENTIALS } from './engines/credentials.ts';

/**
 * What the local cloud runs, as read from a synthesized cloud assembly (cdk.out). Every name, ARN
 * and environment value here is already resolved to its local form.
 */

/** Where local ARNs live. */
export interface LocalPlacement {
  readonly region: string;
  /** Always LOCAL_ACCOUNT (000000000000). */
  readonly account: string;
}

/** Identity shared by every local resource. */
export interface LocalResourceRef {
  /** Stack name, for example `Fixture-Service`. */
  readonly stack: string;
  /** Logical ID in that stack's template. */
  readonly logicalId: string;
  /** Local physical name (table name, bucket name, function name...). */
  readonly name: string;
  /** Local ARN, built with the placement's region and account. */
  readonly arn: string;
}

/** A Lambda function with its bundled code from cdk.out. */
export interface LocalFunction extends LocalResourceRef {
  /** Folder of the bundled asset (cdk.out/asset.<hash>). */
  readonly codeDir: string;
  /** `file.export`, for example `index.handler`. */
  readonly handler: string;
  readonly runtime: string;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  /** Exactly the variables the template declares, resolved to local values. */
  readonly environment: Readonly<Record<string, string>>;
  readonly description?: string;
  /**
   * Log group the function writes to (LoggingConfig.LogGroup).
   * @default `/aws/lambda/<name>`
   */
  readonly logGroupName?: string;
}

export interface LocalKey {
  readonly name: string;
  readonly type: 'S' | 'N' | 'B';
}

/** A secondary index of a table. */
export interface LocalIndex {
  readonly name: string;
  readonly partitionKey: LocalKey;
  readonly sortKey?: LocalKey;
  /**
   * Which attributes the index projects.
   * @default 'ALL'
   */
  readonly projectionType?: 'ALL' | 'KEYS_ONLY' | 'INCLUDE';
  /**
   * Attributes projected by an `INCLUDE` index.
   * @default - none
   */
  readonly nonKeyAttributes?: readonly string[];
}

export interface LocalTable extends LocalResourceRef {
  readonly partitionKey: LocalKey;
  readonly sortKey?: LocalKey;
  readonly indexes: readonly LocalIndex[];
  /**
   * Local secondary indexes (same partition key, another sort key).
   * @default - none
   */
  readonly localIndexes?: readonly LocalIndex[];
  readonly ttlAttribute?: string;
  /** Stream view type when the template enables a stream. */
  readonly streamViewType?: string;
}

export interface LocalBucket extends LocalResourceRef {
  /** The bucket sends its events to EventBridge (NotificationConfiguration.EventBridgeConfiguration). */
  readonly eventBridge?: boolean;
  /**
   * Object Lock with a default retention: objects cannot be replaced or deleted until it ends.
   * @default - no Object Lock
   */
  readonly objectLock?: LocalObjectLock;
}

/** A bucket's Object Lock default retention. */
export interface LocalObjectLock {
  readonly mode: 'GOVERNANCE' | 'COMPLIANCE';
  /** Default retention, in days (a retention in years is converted at 365 days a year). */
  readonly days: number;
}

/** A KMS key the template declares. */
export interface LocalKmsKey extends LocalResourceRef {
  /** `SYMMETRIC_DEFAULT`, `ECC_NIST_P256`... */
  readonly keySpec: string;
  /** `ENCRYPT_DECRYPT` or `SIGN_VERIFY`. */
  readonly keyUsage: string;
}

export interface LocalStateMachine extends LocalResourceRef {
  /** The ASL definition with every intrinsic resolved (JSON text). */
  readonly definition: string;
  readonly type: 'STANDARD' | 'EXPRESS';
}

/** One method of an API Gateway REST API (payload 1.0) or HTTP API (payload 2.0) bound to a Lambda. */
export interface LocalRoute {
  readonly stack: string;
  readonly apiLogicalId: string;
  readonly apiKind: 'rest' | 'http';
  /** REST stage name, or `$default` for HTTP APIs. */
  readonly stageName: string;
  /** Upper-case HTTP method, or `ANY`. */
  readonly method: string;
  /** Resource path with `{param}` and `{proxy+}` placeholders, for example `/items/{id}`. */
  readonly path: string;
  readonly authorization: 'NONE' | 'AWS_IAM' | 'JWT' | 'COGNITO_USER_POOLS' | 'CUSTOM';
  /** ARN of the integrated function (a key of `LocalAssembly.functions`). */
  readonly functionArn: string;
  /**
   * The API's local ID (what `Ref` of the API returns), which tells APIs apart in
   * `/restapis/<apiId>/<stage>/_user_request_/<path>` URLs.
   * @default - unknown (routes are matched by stage and path only)
   */
  readonly apiId?: string;
  /**
   * HTTP API route key, for example `GET /items/{id}` or `$default`.
   * @default - `<method> <path>`
   */
  readonly routeKey?: string;
  /**
   * Lambda event format.
   * @default '1.0' for REST APIs, '2.0' for HTTP APIs
   */
  readonly payloadFormatVersion?: '1.0' | '2.0';
  /**
   * REST API binary media types: matching request bodies reach the function base64-encoded.
   * @default - none
   */
  readonly binaryMediaTypes?: readonly string[];
}

/** An EventBridge schedule rule and its targets. */
export interface LocalSchedule extends LocalResourceRef {
  /** `rate(...)` or `cron(...)`. */
  readonly expression: string;
  readonly enabled: boolean;
  readonly targets: readonly { readonly arn: string; readonly input?: string }[];
}

export interface LocalTopic extends LocalResourceRef {}

/** An EventBridge rule with an event pattern (not a schedule), on the default bus. */
export interface LocalEventRule extends LocalResourceRef {
  /** The rule's EventPattern, resolved. */
  readonly pattern: Readonly<Record<string, unknown>>;
  readonly enabled: boolean;
  readonly targets: readonly { readonly arn: string; readonly input?: string }[];
}

/** A Lambda event source mapping on a DynamoDB stream. */
export interface LocalStreamMapping {
  readonly stack: string;
  readonly logicalId: string;
  readonly functionArn: string;
  /** Name of the table whose stream feeds the function. */
  readonly tableName: string;
  readonly batchSize: number;
  readonly startingPosition: 'TRIM_HORIZON' | 'LATEST';
  readonly enabled: boolean;
  readonly bisectOnError: boolean;
  /** -1 means retry until the record expires. */
  readonly maxRetries: number;
}

/** How an alarm compares its statistic with the threshold (the anomaly-band operators are not emulated). */
export type LocalComparisonOperator =
  | 'GreaterThanOrEqualToThreshold'
  | 'GreaterThanThreshold'
  | 'LessThanThreshold'
  | 'LessThanOrEqualToThreshold';

/** How an alarm treats periods with no data point. */
export type LocalTreatMissingData = 'breaching' | 'notBreaching' | 'ignore' | 'missing';

/** A CloudWatch metric alarm on one metric (AWS::CloudWatch::Alarm), as the local CloudWatch evaluates it. */
export interface LocalAlarm extends LocalResourceRef {
  readonly description?: string;
  readonly namespace: string;
  readonly metricName: string;
  /** The metric's exact dimension set. */
  readonly dimensions: readonly { readonly name: string; readonly value: string }[];
  /** `SampleCount`, `Average`, `Sum`, `Minimum` or `Maximum`; exactly one of this and `extendedStatistic`. */
  readonly statistic?: string;
  /** A percentile such as `p99` or `p99.9`. */
  readonly extendedStatistic?: string;
  /**
   * Only data points of this unit count.
   * @default - every unit
   */
  readonly unit?: string;
  /** Seconds, as AWS reads it; the local cloud multiplies it by its `timeScale`. */
  readonly periodSeconds: number;
  readonly evaluationPeriods: number;
  /**
   * How many breaching periods among the last `evaluationPeriods` put the alarm in ALARM.
   * @default - evaluationPeriods
   */
  readonly datapointsToAlarm?: number;
  readonly threshold: number;
  readonly comparisonOperator: LocalComparisonOperator;
  /** @default 'missing' */
  readonly treatMissingData?: LocalTreatMissingData;
  /** @default true */
  readonly actionsEnabled?: boolean;
  /** Reported by DescribeAlarms; the local CloudWatch does not run actions. @default - none */
  readonly alarmActions?: readonly string[];
  /** @default - none */
  readonly okActions?: readonly string[];
  /** @default - none */
  readonly insufficientDataActions?: readonly string[];
}

/**
 * A Firehose stream with direct PUT as its source and an S3 bucket as its destination
 * (ExtendedS3DestinationConfiguration or S3DestinationConfiguration).
 */
export interface LocalDeliveryStream extends LocalResourceRef {
  /** Local name of the destination bucket, from BucketARN. */
  readonly bucket: string;
  /** The Prefix as declared, `!{...}` expressions unevaluated (`''` when absent). */
  readonly prefix: string;
  /**
   * Where records go after every delivery attempt fails, expressions unevaluated.
   * @default - no error output: such records are counted and logged as lost
   */
  readonly errorOutputPrefix?: string;
  /** BufferingHints.IntervalInSeconds (AWS's default, 300, when absent). */
  readonly bufferIntervalSeconds: number;
  /** BufferingHints.SizeInMBs (AWS's default, 5, when absent). */
  readonly bufferSizeMb: number;
  /**
   * Suffix of every object key (FileExtension).
   * @default - none
   */
  readonly fileExtension?: string;
  /**
   * Server-side encryption of the stream (DeliveryStreamEncryptionConfigurationInput).
   * @default - not encrypted
   */
  readonly encryption?: {
    readonly keyType: 'AWS_OWNED_CMK' | 'CUSTOMER_MANAGED_CMK';
    /** @default - none (AWS-owned key) */
    readonly keyArn?: string;
  };
  /**
   * The role Firehose assumes to write (reported by DescribeDeliveryStream; nothing checks it locally).
   * @default - none
   */
  readonly roleArn?: string;
}

/** Everything the local cloud provisions and runs for one cloud assembly. */
export interface LocalAssembly {
  /** The cdk.out folder. */
  readonly dir: string;
  readonly placement: LocalPlacement;
  readonly functions: readonly LocalFunction[];
  readonly tables: readonly LocalTable[];
  readonly buckets: readonly LocalBucket[];
  readonly keys: readonly LocalKmsKey[];
  readonly stateMachines: readonly LocalStateMachine[];
  readonly routes: readonly LocalRoute[];
  readonly schedules: readonly LocalSchedule[];
  readonly topics: readonly LocalTopic[];
  /** Event-pattern rules (S3 → EventBridge → Lambda, for example). */
  readonly eventRules: readonly LocalEventRule[];
  /** DynamoDB stream → Lambda mappings. */
  readonly streamMappings: readonly LocalStreamMapping[];
  /** SageMaker model package groups (the model registry) to create in the emulator. */
  readonly modelPackageGroups: readonly LocalResourceRef[];
  /** CloudWatch metric alarms, evaluated by the local CloudWatch. */
  readonly alarms: readonly LocalAlarm[];
  /** Firehose streams (direct PUT to S3), run by the local Firehose. */
  readonly deliveryStreams: readonly LocalDeliveryStream[];
  /**
   * What the reader skipped, for example container-image functions or non-Lambda integrations.
   * @default - none
   */
  readonly warnings?: readonly string[];
}

/** Endpoints of the running emulators, as handlers see them through AWS_ENDPOINT_URL_<SERVICE>. */
export interface LocalEndpoints {
  readonly dynamodb: string;
  readonly s3: string;
  readonly lambda: string;
  readonly stepfunctions: string;
  readonly sagemaker: string;
  readonly sagemakerRuntime: string;
  readonly sns: string;
  readonly kms: string;
  readonly cloudwatch: string;
  readonly autoscaling: string;
  readonly firehose: string;
}

/** Environment variables that point every AWS SDK v3 client at the emulators. */
export function endpointEnvironment(e: LocalEndpoints, placement: LocalPlacement): Record<string, string> {
  return {
    AWS_REGION: placement.region,
    AWS_DEFAULT_REGION: placement.region,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: e.dynamodb,
    AWS_ENDPOINT_URL_S3: e.s3,
    AWS_ENDPOINT_URL_LAMBDA: e.lambda,
    AWS_ENDPOINT_URL_SFN: e.stepfunctions,
    AWS_ENDPOINT_URL_SAGEMAKER: e.sagemaker,
    AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: e.sagemakerRuntime,
    AWS_ENDPOINT_URL_SNS: e.sns,
    AWS_ENDPOINT_URL_KMS: e.kms,
    AWS_ENDPOINT_URL_CLOUDWATCH: e.cloudwatch,
    AWS_ENDPOINT_URL_APPLICATION_AUTO_SCALING: e.autoscaling,
    AWS_ENDPOINT_URL_FIREHOSE: e.firehose,
    // s3rver predates the SDK's default CRC32 checksums.
    AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
    AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
  };
}
