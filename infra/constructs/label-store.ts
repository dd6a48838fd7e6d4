import { join } from 'node:path';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { UseCase } from '../../shared/config/use-case.ts';
import { LABEL_ROUTES } from '../../shared/labels/api.ts';
import { LABEL_DROP_PREFIX, LABEL_QUARANTINE_PREFIX, labelContract } from '../../shared/labels/schema.ts';
import type { StageConfig } from '../config/stage.ts';
import { addIamRoutes, onFileDropped } from './ingestion.ts';
import { MlopsFunction } from './mlops-function.ts';
import { bucketArnFor, iam5ResourceFinding } from './nag-ids.ts';

const FUNCTIONS_DIR = join(import.meta.dirname, '..', '..', 'functions', 'labels');

/** Lambda environment variables are limited to 4 KB in total. */
const MAX_CONTRACTS_JSON = 3000;

export interface LabelStoreProps {
  /** Bucket that stores label events under `labels/` and receives bulk label files. */
  readonly datasetsBucket: IBucket;
  /** Key of the bucket; also encrypts the functions' logs, environment and queues. */
  readonly encryptionKey: IKey;
  /** The product's REST API; the `/labels` route is added to it. */
  readonly api: apigw.RestApi;
  readonly stage: StageConfig;
  /** Every use case; each gets its label route and drop folder. */
  readonly useCases: readonly UseCase[];
}

/**
 * The label store: `POST /labels/{useCase}` (IAM-authorized) and bulk label files dropped under
 * `ingest-labels/<useCase>/` (S3 → EventBridge → Lambda, with a DLQ), both validated against the
 * use case and written to `labels/<useCase>/date=<day>/`, where the training pipeline reads them.
 * Nothing else writes there.
 */
export class LabelStore extends Construct {
  /** Answers the `/labels` route. */
  readonly api: MlopsFunction;
  /** Processes bulk label files. */
  readonly bulk: MlopsFunction;

  constructor(scope: Construct, id: string, props: LabelStoreProps) {
    super(scope, id);
    // Check
    const contractsJson = JSON.stringify(props.useCases.map(labelContract));
    if (contractsJson.length > MAX_CONTRACTS_JSON) {
      throw new Error(
        `${this.node.path}: the use cases' label contracts must fit in ${MAX_CONTRACTS_JSON} characters of Lambda environment, got ${contractsJson.length}`,
      );
    }

    // Build
    const common = {
      encryptionKey: props.encryptionKey,
      logRetention: props.stage.logRetentionDays as logs.RetentionDays,
      logRemovalPolicy: props.stage.removal === 'retain' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      environment: { DATASETS_BUCKET: props.datasetsBucket.bucketName, LABEL_CONTRACTS: contractsJson },
    };
    this.api = new MlopsFunction(this, 'Api', {
      ...common,
      entry: join(FUNCTIONS_DIR, 'api.ts'),
      description: 'Label API: POST /labels/{useCase}',
      timeout: Duration.seconds(29),
      memorySize: props.stage.lambdaMemoryMb,
    });
    this.bulk = new MlopsFunction(this, 'Bulk', {
      ...common,
      entry: join(FUNCTIONS_DIR, 'bulk.ts'),
      description: `Bulk label ingestion of CSV/JSONL files dropped under ${LABEL_DROP_PREFIX}<useCase>/`,
      timeout: Duration.minutes(15),
      memorySize: 1024,
      invocation: 'async',
    });

    // Wire: least privilege, written out per action (no wildcard actions).
    const datasetsArn = bucketArnFor(this, props.datasetsBucket, 'Datasets');
    const labelObjects = `${datasetsArn}/labels/*`;
    for (const fn of [this.api.fn, this.bulk.fn]) {
      // Without ListBucket, HeadObject answers 403 instead of 404 for a key not written yet.
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'TellAbsentFromForbidden',
          actions: ['s3:ListBucket'],
          resources: [datasetsArn],
          conditions: { StringLike: { 's3:prefix': ['labels/*'] } },
        }),
      );
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'AppendAndCheckLabels',
          // GetObject also answers HeadObject, which detects a replayed request.
          actions: ['s3:PutObject', 's3:GetObject'],
          resources: [labelObjects],
        }),
      );
      props.encryptionKey.grant(fn, 'kms:Decrypt', 'kms:GenerateDataKey');
    }
    this.bulk.fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ReadDroppedLabelFiles',
        actions: ['s3:GetObject'],
        resources: [`${datasetsArn}/${LABEL_DROP_PREFIX}*`],
      }),
    );
    this.bulk.fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'WriteLabelQuarantine',
        actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
        resources: [`${datasetsArn}/${LABEL_QUARANTINE_PREFIX}*`],
      }),
    );

    addIamRoutes(
      props.api,
      this.api,
      { id: 'LabelParams', name: 'label-parameters' },
      Object.values(LABEL_ROUTES),
    );
    onFileDropped(this, 'BulkLabelFileDropped', {
      bucket: props.datasetsBucket,
      prefix: LABEL_DROP_PREFIX,
      fn: this.bulk,
      description: `A bulk label file landed under ${LABEL_DROP_PREFIX} in the datasets bucket`,
    });

    // Expose: acknowledgements next to the grants they concern.
    for (const fn of [this.api, this.bulk]) {
      Validations.of(fn).acknowledge({
        id: iam5ResourceFinding(this, labelObjects),
        reason:
          'Limited to the labels/ prefix of the datasets bucket, partitioned by use case and day, whose object keys are content hashes of each accepted request, unknown in advance.',
      });
    }
    Validations.of(this.bulk).acknowledge(
      {
        id: iam5ResourceFinding(this, `${datasetsArn}/${LABEL_DROP_PREFIX}*`),
        reason: `Read-only, limited to the ${LABEL_DROP_PREFIX} drop zone of the datasets bucket, whose file names are chosen by the data producers.`,
      },
      {
        id: iam5ResourceFinding(this, `${datasetsArn}/${LABEL_QUARANTINE_PREFIX}*`),
        reason: `Write-only, limited to the ${LABEL_QUARANTINE_PREFIX} prefix where each label file gets its own report.`,
      },
    );
  }
}
