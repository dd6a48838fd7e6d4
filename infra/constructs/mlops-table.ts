import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

/** A global secondary index on string keys, projecting all attributes. */
export interface StringIndexProps {
  readonly indexName: string;
  readonly partitionKey: string;
  /** @default - no sort key */
  readonly sortKey?: string;
}

export interface MlopsTableProps {
  /** Customer-managed key that encrypts the table, its indexes and its stream. */
  readonly encryptionKey: IKey;
  /** Name of the string partition key. */
  readonly partitionKey: string;
  /**
   * Name of the string sort key.
   * @default - no sort key
   */
  readonly sortKey?: string;
  /**
   * Global secondary indexes.
   * @default - none
   */
  readonly indexes?: readonly StringIndexProps[];
  /**
   * Attribute holding the epoch-seconds expiry that DynamoDB TTL removes.
   * @default - no TTL
   */
  readonly timeToLiveAttribute?: string;
  /**
   * Stream of item changes.
   * @default - no stream
   */
  readonly stream?: dynamodb.StreamViewType;
  /** What happens to the table on stack deletion. */
  readonly removalPolicy: RemovalPolicy;
  /** Whether DeleteTable is refused until protection is lifted. */
  readonly deletionProtection: boolean;
}

/**
 * A DynamoDB table with the forced defaults: on-demand billing, a customer-managed KMS key and
 * point-in-time recovery. String keys only: every key here is a composed string.
 */
export class MlopsTable extends Construct {
  /** The table. */
  readonly table: dynamodb.TableV2;

  constructor(scope: Construct, id: string, props: MlopsTableProps) {
    super(scope, id);
    const str = (name: string): dynamodb.Attribute => ({ name, type: dynamodb.AttributeType.STRING });
    this.table = new dynamodb.TableV2(this, 'Table', {
      partitionKey: str(props.partitionKey),
      sortKey: props.sortKey === undefined ? undefined : str(props.sortKey),
      billing: dynamodb.Billing.onDemand(),
      encryption: dynamodb.TableEncryptionV2.customerManagedKey(props.encryptionKey),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: props.deletionProtection,
      removalPolicy: props.removalPolicy,
      timeToLiveAttribute: props.timeToLiveAttribute,
      dynamoStream: props.stream,
      globalSecondaryIndexes: props.indexes?.map((ix) => ({
        indexName: ix.indexName,
        partitionKey: str(ix.partitionKey),
        sortKey: ix.sortKey === undefined ? undefined : str(ix.sortKey),
        projectionType: dynamodb.ProjectionType.ALL,
      })),
    });
  }
}

/** Names of the ledger's indexes, one per audit query (see README "For auditors"). */
export const LEDGER_INDEXES = {
  byModel: { indexName: 'byModel', partitionKey: 'modelVersion', sortKey: 'at' },
  byDataset: { indexName: 'byDataset', partitionKey: 'datasetHash', sortKey: 'at' },
  byEndpoint: { indexName: 'byEndpoint', partitionKey: 'endpointName', sortKey: 'at' },
  byRun: { indexName: 'byRun', partitionKey: 'runId', sortKey: 'at' },
  byDay: { indexName: 'byDay', partitionKey: 'day', sortKey: 'at' },
} as const satisfies Record<string, StringIndexProps>;

export interface LedgerTableProps {
  /** Customer-managed key that encrypts the ledger and its stream. */
  readonly encryptionKey: IKey;
}

/**
 * The lineage ledger: an append-only hash chain. Item `pk=CHAIN#<chain>, sk=EVENT#<seq>` holds an
 * event, `sk=HEAD` the chain head. Sparse indexes answer the audit queries. It is always
 * retained and deletion-protected, whatever the stage, and streams new items to the archiver.
 */
export class LedgerTable extends MlopsTable {
  constructor(scope: Construct, id: string, props: LedgerTableProps) {
    super(scope, id, {
      encryptionKey: props.encryptionKey,
      partitionKey: 'pk',
      sortKey: 'sk',
      indexes: Object.values(LEDGER_INDEXES),
      stream: dynamodb.StreamViewType.NEW_IMAGE,
      removalPolicy: RemovalPolicy.RETAIN,
      deletionProtection: true,
    });
  }
}
