import { Duration, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { throwIfProblems } from './errors.ts';

export interface MlopsFunctionProps {
  /** Path of the handler's TypeScript file. */
  readonly entry: string;
  /**
   * Exported handler name.
   * @default 'handler'
   */
  readonly handler?: string;
  /** One-line purpose, shown in the console and in `mlops local status`. */
  readonly description: string;
  /** Key that encrypts the function's logs, environment and dead-letter queue. */
  readonly encryptionKey: IKey;
  /** Maximum run time of one invocation. */
  readonly timeout: Duration;
  /**
   * Memory in MB.
   * @default 512
   */
  readonly memorySize?: number;
  /** Days to keep the logs. */
  readonly logRetention: logs.RetentionDays;
  /** What happens to the log group on stack deletion. */
  readonly logRemovalPolicy: RemovalPolicy;
  /**
   * Environment variables, on top of the Powertools and source-map settings set here.
   * @default - none
   */
  readonly environment?: Record<string, string>;
  /**
   * How the function is invoked. An asynchronously invoked function gets an encrypted
   * dead-letter queue, so a failed event is kept rather than dropped.
   * @default 'sync'
   */
  readonly invocation?: 'sync' | 'async';
}

/**
 * A Node.js Lambda function with the forced defaults: nodejs22.x on arm64, X-Ray active tracing,
 * a KMS-encrypted log group with retention, minified esbuild bundles with source maps, and a
 * dead-letter queue when invoked asynchronously.
 */
export class MlopsFunction extends Construct {
  /** The function. */
  readonly fn: nodejs.NodejsFunction;
  /**
   * Dead-letter queue of an asynchronously invoked function.
   * @default - none for synchronous functions
   */
  readonly deadLetterQueue?: sqs.Queue;

  constructor(scope: Construct, id: string, props: MlopsFunctionProps) {
    super(scope, id);
    const memorySize = props.memorySize ?? 512;
    throwIfProblems(this, [
      ...(memorySize < 128 || memorySize > 10240
        ? [`memorySize must be between 128 and 10240 MB, got ${memorySize}`]
        : []),
      ...(props.timeout.toSeconds() > 900
        ? [`timeout must be at most 900 seconds, got ${props.timeout.toSeconds()}`]
        : []),
    ]);
    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention,
      encryptionKey: props.encryptionKey,
      removalPolicy: props.logRemovalPolicy,
    });
    if (props.invocation === 'async') {
      this.deadLetterQueue = new sqs.Queue(this, 'DeadLetters', {
        encryption: sqs.QueueEncryption.KMS,
        encryptionMasterKey: props.encryptionKey,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
      });
      Validations.of(this.deadLetterQueue).acknowledge(
        ...[
          { id: 'AwsSolutions-SQS3', reason: 'This queue is itself the dead-letter queue of the function.' },
          {
            id: 'Serverless-SQSRedrivePolicy',
            reason: 'This queue is itself the dead-letter queue of the function.',
          },
        ],
      );
    }
    // Our own role instead of AWSLambdaBasicExecutionRole: it may write to this log group only.
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `${id}: ${props.description}`.slice(0, 1000),
    });
    logGroup.grantWrite(role);
    this.fn = new nodejs.NodejsFunction(this, 'Function', {
      role,
      entry: props.entry,
      handler: props.handler ?? 'handler',
      description: props.description,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      tracing: lambda.Tracing.ACTIVE,
      memorySize,
      timeout: props.timeout,
      logGroup,
      environmentEncryption: props.encryptionKey,
      deadLetterQueue: this.deadLetterQueue,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: id,
        POWERTOOLS_METRICS_NAMESPACE: 'Mlops',
        ...props.environment,
      },
      bundling: {
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        target: 'node22',
        format: nodejs.OutputFormat.CJS,
        logLevel: nodejs.LogLevel.ERROR,
      },
    });
    Validations.of(role).acknowledge(
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions; every other grant is scoped.',
      },
      {
        id: 'NIST.800.53.R5-IAMNoInlinePolicy',
        reason:
          'Grants come from construct methods (grantRead, grantWrite...) scoped to exact resource ARNs and owned by this one role; a managed policy would not narrow them.',
      },
    );
    Validations.of(this.fn).acknowledge(
      ...[
        {
          id: 'AwsSolutions-L1',
          reason:
            'nodejs22.x is the runtime the design pins (LTS into 2027); bundles target node22 and are tested on it, so the runtime moves only with them.',
        },
        {
          id: 'Serverless-LambdaLatestVersion',
          reason:
            'nodejs22.x is the runtime the design pins (LTS into 2027); bundles target node22 and are tested on it, so the runtime moves only with them.',
        },
        {
          id: 'NIST.800.53.R5-LambdaInsideVPC',
          reason:
            'The function reaches only AWS APIs (DynamoDB, S3, SageMaker, Step Functions) over TLS with IAM; a VPC would add NAT cost and cold-start latency without narrowing what it can reach.',
        },
        {
          id: 'NIST.800.53.R5-LambdaConcurrency',
          reason:
            'Account-level concurrency is the limit; per-function reservations would carve up the shared pool and starve the API functions under load.',
        },
        ...(props.invocation === 'async'
          ? []
          : [
              {
                id: 'NIST.800.53.R5-LambdaDLQ',
                reason:
                  'Invoked synchronously (API Gateway or Step Functions), so the caller receives and handles the error; a DLQ never receives anything.',
              },
              {
                id: 'Serverless-LambdaDLQ',
                reason:
                  'Invoked synchronously (API Gateway or Step Functions), so the caller receives and handles the error; a DLQ never receives anything.',
              },
              {
                id: 'Serverless-LambdaAsyncFailureDestination',
                reason: 'Invoked synchronously, so there is no asynchronous failure to route.',
              },
            ]),
      ],
    );
  }
}
