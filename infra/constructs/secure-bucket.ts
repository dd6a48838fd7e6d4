import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { ConstructConfigError } from './errors.ts';

/** Object Lock settings for an archive bucket. */
export interface ObjectLockProps {
  /** GOVERNANCE can be lifted by a user with s3:BypassGovernanceRetention; COMPLIANCE by nobody. */
  readonly mode: 'GOVERNANCE' | 'COMPLIANCE';
  /** Default retention applied to every new object version. */
  readonly retentionDays: number;
}

export interface SecureBucketProps {
  /** Customer-managed key that encrypts every object. */
  readonly encryptionKey: IKey;
  /** Bucket that receives the server access logs. */
  readonly accessLogsBucket: s3.IBucket;
  /** What happens to the bucket on stack deletion. Forced to RETAIN when Object Lock is on. */
  readonly removalPolicy: RemovalPolicy;
  /**
   * Makes the bucket a write-once archive.
   * @default - no Object Lock
   */
  readonly objectLock?: ObjectLockProps;
  /**
   * Send S3 events to EventBridge (bulk ingestion listens there, which avoids the cross-stack
   * cycle that a direct bucket notification to a function in another stack would create).
   * @default false
   */
  readonly eventBridge?: boolean;
  /**
   * Days after which noncurrent object versions expire.
   * @default - noncurrent versions are kept
   */
  readonly noncurrentVersionExpirationDays?: number;
}

/**
 * An S3 bucket with the defaults every data bucket here must have: KMS encryption with a bucket
 * key, versioning, TLS-only access (TLS 1.2+), all public access blocked, bucket-owner object
 * ownership and server access logging.
 */
export class SecureBucket extends Construct {
  /** The bucket. */
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: SecureBucketProps) {
    super(scope, id);
    if (
      props.objectLock &&
      (props.objectLock.retentionDays < 1 || !Number.isInteger(props.objectLock.retentionDays))
    ) {
      throw new ConstructConfigError(this, [
        `objectLock.retentionDays must be a whole number >= 1, got ${props.objectLock.retentionDays}`,
      ]);
    }
    const lock = props.objectLock;
    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: props.encryptionKey,
      bucketKeyEnabled: true,
      versioned: true,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: props.accessLogsBucket,
      serverAccessLogsPrefix: `${id.toLowerCase()}/`,
      // Locked objects cannot be deleted, so an Object Lock bucket is always kept.
      removalPolicy: lock ? RemovalPolicy.RETAIN : props.removalPolicy,
      objectLockEnabled: lock !== undefined,
      objectLockDefaultRetention: lock
        ? lock.mode === 'COMPLIANCE'
          ? s3.ObjectLockRetention.compliance(Duration.days(lock.retentionDays))
          : s3.ObjectLockRetention.governance(Duration.days(lock.retentionDays))
        : undefined,
      lifecycleRules:
        props.noncurrentVersionExpirationDays === undefined
          ? undefined
          : [{ noncurrentVersionExpiration: Duration.days(props.noncurrentVersionExpirationDays) }],
    });
    if (props.eventBridge) {
      // Set natively on the bucket: the eventBridgeEnabled prop would add a custom-resource Lambda.
      (this.bucket.node.defaultChild as s3.CfnBucket).addPropertyOverride(
        'NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled',
        true,
      );
    }
  }
}
