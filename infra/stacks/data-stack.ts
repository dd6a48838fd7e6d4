import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { removalPolicyOf, type StageConfig } from '../config/stage.ts';
import { LedgerTable, MlopsTable } from '../constructs/mlops-table.ts';
import { SecureBucket } from '../constructs/secure-bucket.ts';

export interface DataStackProps extends StackProps {
  /** Stage settings: removal policies, Object Lock mode and retention. */
  readonly stage: StageConfig;
}

/**
 * Everything stateful: the KMS key, the data buckets, the audit archive and the tables. Stateless
 * stacks receive these by reference, so they can be replaced without touching data.
 */
export class DataStack extends Stack {
  /** Encrypts every bucket, table, log group and queue of the product. */
  readonly key: kms.Key;
  /** Point-in-time training snapshots, their manifests, and the bulk-ingest drop zone. */
  readonly datasets: s3.Bucket;
  /** Offline feature store: append-only history of every accepted feature record. */
  readonly offlineFeatures: s3.Bucket;
  /** Model artifacts written by training jobs. */
  readonly artifacts: s3.Bucket;
  /** Prediction and feedback logs read by monitoring. */
  readonly predictionLogs: s3.Bucket;
  /** Write-once archive of ledger events and chain-head digests (Object Lock). */
  readonly auditArchive: s3.Bucket;
  /** Online feature store: the latest value per entity and group. */
  readonly onlineFeatures: MlopsTable;
  /** The lineage ledger. */
  readonly ledger: LedgerTable;
  /** Transient pipeline state keyed by `runId` (approval task tokens), expired by TTL on `expiresAt`. */
  readonly runState: MlopsTable;
  /**
   * Every served prediction's request (entities, request features, time, model version), keyed by
   * `<useCase>#<requestId>` and expired by TTL on `expiresAt` after the use case's feedback window:
   * what `POST /feedback/{useCase}` turns into the request's label event.
   */
  readonly servedRequests: MlopsTable;

  constructor(scope: Construct, id: string, props: DataStackProps) {
    super(scope, id, props);
    const { stage } = props;
    const removal = removalPolicyOf(stage);

    this.key = new kms.Key(this, 'DataKey', {
      description: `mlops ${stage.name}: encrypts data, logs and queues`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // CloudWatch alarms publish to the product's topics, which this key encrypts.
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: {
          StringEquals: { 'aws:SourceAccount': this.account },
          ArnLike: {
            'aws:SourceArn': `arn:${this.partition}:cloudwatch:${this.region}:${this.account}:alarm:*`,
          },
        },
      }),
    );
    // CloudWatch Logs encrypts the product's log groups with this key.
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal(`logs.${this.region}.amazonaws.com`)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'],
        conditions: {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': `arn:${this.partition}:logs:${this.region}:${this.account}:*`,
          },
        },
      }),
    );

    // S3 delivers server access logs only to SSE-S3 buckets, so this one bucket is not KMS-encrypted.
    const accessLogs = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      versioned: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      removalPolicy: removal,
      lifecycleRules: [{ expiration: Duration.days(stage.name === 'prod' ? 365 : 90) }],
    });
    Validations.of(accessLogs).acknowledge(
      ...[
        {
          id: 'AwsSolutions-S1',
          reason: 'This is the access-log target; logging it into itself would loop.',
        },
        {
          id: 'NIST.800.53.R5-S3BucketLoggingEnabled',
          reason: 'This is the access-log target; logging it into itself would loop.',
        },
        {
          id: 'NIST.800.53.R5-S3DefaultEncryptionKMS',
          reason: 'S3 server access logging delivers only to SSE-S3 buckets, not SSE-KMS.',
        },
        {
          id: 'NIST.800.53.R5-S3BucketReplicationEnabled',
          reason: 'Access logs are diagnostics, not records of the product; they expire by lifecycle.',
        },
      ],
    );

    const bucket = (name: string, extra: Partial<ConstructorParameters<typeof SecureBucket>[2]> = {}) =>
      new SecureBucket(this, name, {
        encryptionKey: this.key,
        accessLogsBucket: accessLogs,
        removalPolicy: removal,
        ...extra,
      }).bucket;
    this.datasets = bucket('Datasets', { eventBridge: true });
    this.offlineFeatures = bucket('OfflineFeatures');
    this.artifacts = bucket('Artifacts');
    this.predictionLogs = bucket('PredictionLogs', { noncurrentVersionExpirationDays: 30 });
    this.auditArchive = bucket('AuditArchive', {
      objectLock: { mode: stage.auditLockMode, retentionDays: stage.auditRetentionDays },
    });
    for (const b of [
      this.datasets,
      this.offlineFeatures,
      this.artifacts,
      this.predictionLogs,
      this.auditArchive,
    ]) {
      Validations.of(b).acknowledge(
        ...[
          {
            id: 'NIST.800.53.R5-S3BucketReplicationEnabled',
            reason:
              'Cross-region replication needs a second region the platform team chooses; versioning, KMS and (for the audit archive) Object Lock protect the data in this region.',
          },
        ],
      );
    }

    this.onlineFeatures = new MlopsTable(this, 'OnlineFeatures', {
      encryptionKey: this.key,
      partitionKey: 'pk',
      timeToLiveAttribute: 'expiresAt',
      removalPolicy: removal,
      deletionProtection: stage.tableDeletionProtection,
    });
    this.ledger = new LedgerTable(this, 'Ledger', { encryptionKey: this.key });
    // What auditors need to verify from outside: `mlops audit verify --table --signing-key`.
    new CfnOutput(this, 'LedgerTableName', { value: this.ledger.table.tableName });
    new CfnOutput(this, 'LedgerSigningKeyArn', { value: this.ledger.signingKey.keyArn });
    new CfnOutput(this, 'AuditArchiveBucketName', { value: this.auditArchive.bucketName });
    new CfnOutput(this, 'DatasetsBucketName', { value: this.datasets.bucketName });
    this.runState = new MlopsTable(this, 'RunState', {
      encryptionKey: this.key,
      partitionKey: 'runId',
      timeToLiveAttribute: 'expiresAt',
      removalPolicy: removal,
      deletionProtection: stage.tableDeletionProtection,
    });
    this.servedRequests = new MlopsTable(this, 'ServedRequests', {
      encryptionKey: this.key,
      partitionKey: 'requestKey',
      timeToLiveAttribute: 'expiresAt',
      removalPolicy: removal,
      deletionProtection: stage.tableDeletionProtection,
    });
    for (const t of [this.onlineFeatures, this.ledger, this.runState, this.servedRequests]) {
      Validations.of(t.table).acknowledge(
        ...[
          {
            id: 'NIST.800.53.R5-DynamoDBInBackupPlan',
            reason:
              'Point-in-time recovery (35 days) is on for every table, and ledger events are also archived to the Object Lock bucket; an AWS Backup plan would duplicate both (run state and served requests are transient and expire by TTL; the prediction log in S3 keeps every prediction).',
          },
        ],
      );
    }
  }
}
