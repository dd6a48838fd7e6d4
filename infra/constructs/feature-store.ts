import { join } from 'node:path';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { FEATURE_ROUTES } from '../../shared/features/api.ts';
import { throwIfProblems } from './errors.ts';
import {
  addIamRoutes,
  environmentJson,
  grantIngestion,
  type IngestionStoreProps,
  ingestionFunctions,
  onFileDropped,
} from './ingestion.ts';
import type { MlopsFunction } from './mlops-function.ts';
import { bucketArnFor } from './nag-ids.ts';

const FUNCTIONS_DIR = join(import.meta.dirname, '..', '..', 'functions', 'features');

export interface FeatureStoreProps extends IngestionStoreProps {
  /** Online store: latest value per (group, entity). */
  readonly onlineTable: ITableV2;
  /** Offline store: append-only history. */
  readonly offlineBucket: IBucket;
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
    const problems: string[] = [];
    for (const g of featureGroups) {
      if (names.has(g.name))
        problems.push(
          `feature group names must be unique across use cases (validateUseCases checks this first), got '${g.name}' twice`,
        );
      names.add(g.name);
    }
    throwIfProblems(this, problems);
    const groupsJson = environmentJson(this, 'the feature group definitions', featureGroups);

    // Build
    const { api, bulk } = ingestionFunctions(this, {
      dir: FUNCTIONS_DIR,
      stage: props.stage,
      encryptionKey: props.encryptionKey,
      environment: {
        ONLINE_TABLE: props.onlineTable.tableName,
        OFFLINE_BUCKET: props.offlineBucket.bucketName,
        FEATURE_GROUPS: groupsJson,
      },
      apiDescription: 'Feature store API: PUT/GET /features/{group}/{entityId}, POST /features/{group}/batch',
      bulkDescription: 'Bulk feature ingestion of CSV/JSONL files dropped under ingest/<group>/',
    });
    this.api = api;
    this.bulk = bulk;

    // Wire
    const datasetsArn = bucketArnFor(this, props.datasetsBucket, 'Datasets');
    for (const fn of [this.api.fn, this.bulk.fn]) {
      props.onlineTable.grant(fn, 'dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:BatchGetItem');
    }
    grantIngestion(this, this, {
      store: {
        bucketArn: bucketArnFor(this, props.offlineBucket, 'OfflineFeatures'),
        prefix: 'features/',
        reason:
          'Limited to the features/ prefix of the offline store, whose object keys are content hashes of each accepted request, unknown in advance.',
      },
      datasetsArn,
      drop: 'ingest/',
      quarantine: 'quarantine/',
      encryptionKey: props.encryptionKey,
    });

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
  }

  /** Statement that lets a principal call every feature route (for applications' roles). */
  invokeStatement(api: apigw.RestApi): iam.PolicyStatement {
    return new iam.PolicyStatement({
      actions: ['execute-api:Invoke'],
      resources: [api.arnForExecuteApi('*', '/features/*')],
    });
  }
}
