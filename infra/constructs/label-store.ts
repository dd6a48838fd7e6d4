import { join } from 'node:path';
import { Construct } from 'constructs';
import { LABEL_ROUTES } from '../../shared/labels/api.ts';
import { LABEL_DROP_PREFIX, LABEL_QUARANTINE_PREFIX, labelContract } from '../../shared/labels/schema.ts';
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

const FUNCTIONS_DIR = join(import.meta.dirname, '..', '..', 'functions', 'labels');

/** What the label store is given: the datasets bucket stores labels under `labels/` and receives bulk label files. */
export type LabelStoreProps = IngestionStoreProps;

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
    const contractsJson = environmentJson(
      this,
      "the use cases' label contracts",
      props.useCases.map(labelContract),
    );

    // Build
    const { api, bulk } = ingestionFunctions(this, {
      dir: FUNCTIONS_DIR,
      stage: props.stage,
      encryptionKey: props.encryptionKey,
      environment: { DATASETS_BUCKET: props.datasetsBucket.bucketName, LABEL_CONTRACTS: contractsJson },
      apiDescription: 'Label API: POST /labels/{useCase}',
      bulkDescription: `Bulk label ingestion of CSV/JSONL files dropped under ${LABEL_DROP_PREFIX}<useCase>/`,
    });
    this.api = api;
    this.bulk = bulk;

    // Wire
    const datasetsArn = bucketArnFor(this, props.datasetsBucket, 'Datasets');
    grantIngestion(this, this, {
      store: {
        bucketArn: datasetsArn,
        prefix: 'labels/',
        reason:
          'Limited to the labels/ prefix of the datasets bucket, partitioned by use case and day, whose object keys are content hashes of each accepted request, unknown in advance.',
      },
      datasetsArn,
      drop: LABEL_DROP_PREFIX,
      quarantine: LABEL_QUARANTINE_PREFIX,
      encryptionKey: props.encryptionKey,
    });

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
  }
}
