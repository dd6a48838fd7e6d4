import { join } from 'node:path';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { UseCase } from '../../shared/config/use-case.ts';
import { FEATURE_ROUTES } from '../../shared/features/api.ts';
import type { StageConfig } from '../config/stage.ts';
import { addIamRoutes, onFileDropped } from './ingestion.ts';
import { MlopsFunction } from './mlops-function.ts';
import { bucketArnFor, iam5ResourceFinding } from './nag-ids.ts';

const FUNCTIONS_DIR = join(import.meta.dirname, '..', '..', 'functions', 'features');

/** Lambda environment variables are limited to 4 KB in total. */
const MAX_FEATURE_GROUPS_JSON = 3000;

export interface FeatureStoreProps {
  /** Online store: latest value per (group, entity). */
  readonly onlineTable: ITableV2;
  /** Offline store: append-only history. */
  readonly offlineBucket: IBucket;
  /** Bucket whose `ingest/` prefix receives bulk files (EventBridge notifications must be on). */
  readonly datasetsBucket: IBucket;
  /** Key of the tables and buckets; also encrypts the functions' logs, environment and queues. */
  readonly encryptionKey: IKey;
  /** The product's REST API; the `/features` routes are added to it. */
  readonly api: apigw.RestApi;
  readonly stage: StageConfig;
  /** Every use case; their feature groups are served. */
  readonly useCases: readonly UseCase[];
}

/**
 * The feature store: IAM-authorized ingestion and read routes, and bulk ingestion of files dropped
 * under `ingest/<group>/` in the datasets bucket (S3 → EventBridge → Lambda, with a DLQ).
 */
export class FeatureStore extends Construct {
  /** Answers the `/features` routes. */
  readonly api: MlopsFunction;
  /** Processes bulk files. */
  readonly bulk: MlopsFunction;

  constructor(scope: Construct, id: string, props: FeatureStoreProps) {
    super(scope, id);
    // Check
    const featureGroups = props.useCases.flatMap((uc) => uc.featureGroups);
    const names = new Set<string>();
    for (const g of featureGroups) {
      if (names.has(g.name))
        throw new Error(
          `${this.node.path}: feature group names must be unique across use cases (validateUseCases checks this first), got '${g.name}' twice`,
        );
      names.add(g.name);
    }
    const groupsJson = JSON.stringify(featureGroups);
    if (groupsJson.length > MAX_FEATURE_GROUPS_JSON) {
      throw new Error(
        `feature group definitions must fit in ${MAX_FEATURE_GROUPS_JSON} characters of Lambda environment, got ${groupsJson.length}`,
      );
    }

    // Build
    const common = {
      encryptionKey: props.encryptionKey,
      logRetention: props.stage.logRetentionDays as logs.RetentionDays,
      logRemovalPolicy: props.stage.removal === 'retain' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      environment: {
        ONLINE_TABLE: props.onlineTable.tableName,
        OFFLINE_BUCKET: props.offlineBucket.bucketName,
        FEATURE_GROUPS: groupsJson,
      },
    };
    this.api = new MlopsFunction(this, 'Api', {
      ...common,
      entry: join(FUNCTIONS_DIR, 'api.ts'),
      description: 'Feature store API: PUT/GET /features/{group}/{entityId}, POST /features/{group}/batch',
      timeout: Duration.seconds(29),
      memorySize: props.stage.lambdaMemoryMb,
    });
    this.bulk = new MlopsFunction(this, 'Bulk', {
      ...common,
      entry: join(FUNCTIONS_DIR, 'bulk.ts'),
      description: 'Bulk feature ingestion of CSV/JSONL files dropped under ingest/<group>/',
      timeout: Duration.minutes(15),
      memorySize: 1024,
      invocation: 'async',
    });

    // Wire: least privilege, written out per action (no wildcard actions).
    const offlineObjects = `${bucketArnFor(this, props.offlineBucket, 'OfflineFeatures')}/features/*`;
    const datasetsArn = bucketArnFor(this, props.datasetsBucket, 'Datasets');
    for (const fn of [this.api.fn, this.bulk.fn]) {
      props.onlineTable.grant(fn, 'dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:BatchGetItem');
      // Without ListBucket, HeadObject answers 403 instead of 404 for a key not written yet.
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'TellAbsentFromForbidden',
          actions: ['s3:ListBucket'],
          resources: [bucketArnFor(this, props.offlineBucket, 'OfflineFeatures')],
        }),
      );
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'AppendAndCheckHistory',
          // GetObject also answers HeadObject, which detects a replayed request.
          actions: ['s3:PutObject', 's3:GetObject'],
          resources: [offlineObjects],
        }),
      );
      props.encryptionKey.grant(fn, 'kms:Decrypt', 'kms:GenerateDataKey');
    }
    this.bulk.fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ReadDroppedFiles',
        actions: ['s3:GetObject'],
        resources: [`${datasetsArn}/ingest/*`],
      }),
    );
    this.bulk.fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'WriteQuarantine',
        actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
        resources: [`${datasetsArn}/quarantine/*`],
      }),
    );

    addIamRoutes(
      props.api,
      this.api,
      { id: 'FeatureParams', name: 'feature-parameters' },
      Object.values(FEATURE_ROUTES),
    );
    onFileDropped(this, 'BulkFileDropped', {
      bucket: props.datasetsBucket,
      prefix: 'ingest/',
      fn: this.bulk,
      description: 'A bulk feature file landed under ingest/ in the datasets bucket',
    });

    // Expose: acknowledgements next to the grants they concern.
    const offlineReason =
      'Limited to the features/ prefix of the offline store, whose object keys are content hashes of each accepted request, unknown in advance.';
    for (const fn of [this.api, this.bulk]) {
      Validations.of(fn).acknowledge({
        id: iam5ResourceFinding(this, offlineObjects),
        reason: offlineReason,
      });
    }
    Validations.of(this.bulk).acknowledge(
      {
        id: iam5ResourceFinding(this, `${datasetsArn}/ingest/*`),
        reason:
          'Read-only, limited to the ingest/ drop zone of the datasets bucket, whose file names are chosen by the data producers.',
      },
      {
        id: iam5ResourceFinding(this, `${datasetsArn}/quarantine/*`),
        reason: 'Write-only, limited to the quarantine/ prefix where each rejected file gets its own report.',
      },
    );
  }

  /** Statement that lets a principal call every feature route (for applications' roles). */
  invokeStatement(api: apigw.RestApi): iam.PolicyStatement {
    return new iam.PolicyStatement({
      actions: ['execute-api:Invoke'],
      resources: [api.arnForExecuteApi('*', '/features/*')],
    });
  }
}
