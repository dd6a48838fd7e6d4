import { Duration, RemovalPolicy, Tags } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { LEDGER_INDEX_NAMES } from '../../shared/ledger/index-names.ts';
import { ConstructConfigError } from './errors.ts';

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
  /** The key that encrypts the table, its indexes and its stream. */
  readonly encryptionKey: IKey;

  constructor(scope: Construct, id: string, props: MlopsTableProps) {
    super(scope, id);
    this.encryptionKey = props.encryptionKey;
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
export const LEDGER_INDEXES = LEDGER_INDEX_NAMES satisfies Record<string, StringIndexProps>;

export interface LedgerTableProps {
  /** Customer-managed key that encrypts the ledger and its stream. */
  readonly encryptionKey: IKey;
}

/** Item-level actions that could rewrite history; writers and auditors are denied them. */
export const LEDGER_MUTATING_ACTIONS = [
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:PartiQLInsert',
  'dynamodb:PartiQLUpdate',
  'dynamodb:PartiQLDelete',
  'dynamodb:UpdateTimeToLive',
  'dynamodb:DeleteTable',
  // Table-level ways around the archive: turning the stream or PITR off, deleting backups,
  // or granting someone else access through a resource policy.
  'dynamodb:UpdateTable',
  'dynamodb:UpdateContinuousBackups',
  'dynamodb:DeleteBackup',
  'dynamodb:PutResourcePolicy',
  'dynamodb:DeleteResourcePolicy',
] as const;

/**
 * The principal tag that marks a ledger writer; the signing key's policy refuses kms:Sign to any
 * principal without it, whatever its IAM policies allow.
 */
export const LEDGER_WRITER_TAG = { key: 'mlops:ledger-writer', value: 'true' } as const;

/** Read actions an auditor needs on the ledger and its indexes. */
export const LEDGER_READ_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:Scan',
  'dynamodb:DescribeTable',
] as const;

/**
 * The lineage ledger: an append-only hash chain. Item `pk=CHAIN#<chain>, sk=EVENT#<seq>` holds an
 * event, `sk=EVENTID#<eventId>` its idempotency key, `sk=HEAD` the chain head. Sparse indexes
 * answer the audit queries. It is always retained and deletion-protected, whatever the stage,
 * and streams new items to the archiver.
 */
export class LedgerTable extends MlopsTable {
  /**
   * The asymmetric key (ECC_NIST_P256, SIGN_VERIFY) whose signature every event's hash carries.
   * Only principals granted through `grantAppend` may sign with it; verifiers need its public key.
   */
  readonly signingKey: kms.Key;

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
    // Retained like the ledger: without the key's public half, past signatures cannot be checked.
    // Asymmetric keys cannot rotate; a new key would be a new chain of trust.
    this.signingKey = new kms.Key(this, 'SigningKey', {
      description: 'Signs every lineage ledger event hash; only the ledger writers may use it',
      keySpec: kms.KeySpec.ECC_NIST_P256,
      keyUsage: kms.KeyUsage.SIGN_VERIFY,
      removalPolicy: RemovalPolicy.RETAIN,
      pendingWindow: Duration.days(30),
    });
    this.signingKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'OnlyLedgerWritersSign',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['kms:Sign'],
        resources: ['*'],
        conditions: {
          StringNotEquals: { [`aws:PrincipalTag/${LEDGER_WRITER_TAG.key}`]: LEDGER_WRITER_TAG.value },
        },
      }),
    );
  }

  /** ARNs of the table's indexes, one by one (no wildcard). */
  get indexArns(): string[] {
    return Object.values(LEDGER_INDEXES).map((ix) => `${this.table.tableArn}/index/${ix.indexName}`);
  }

  /**
   * Lets `grantee` (a role) append events and nothing else: PutItem and ConditionCheckItem (what
   * TransactWriteItems authorizes per item), GetItem and Query to read the head, encryption with
   * the table's key, and kms:Sign with the signing key (the role is tagged as a ledger writer,
   * which the key's policy requires). An explicit Deny of every item mutation keeps any other
   * grant (a broad managed policy, say) from ever allowing an update or delete on the ledger.
   */
  grantAppend(grantee: iam.IGrantable): iam.Grant {
    const role = grantee.grantPrincipal;
    if (!(role instanceof iam.Role)) {
      throw new ConstructConfigError(this, [
        `grantAppend needs an IAM role it can tag as a ledger writer, got ${role.constructor.name}`,
      ]);
    }
    const grant = iam.Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:PutItem', 'dynamodb:ConditionCheckItem', 'dynamodb:GetItem', 'dynamodb:Query'],
      resourceArns: [this.table.tableArn],
    });
    this.encryptionKey.grantEncryptDecrypt(grantee);
    this.signingKey.grant(grantee, 'kms:Sign');
    Tags.of(role).add(LEDGER_WRITER_TAG.key, LEDGER_WRITER_TAG.value);
    grantee.grantPrincipal.addToPrincipalPolicy(this.denyMutationStatement());
    return grant;
  }

  /** Lets `grantee` read the ledger, its indexes, its key and the signing key's public half. */
  grantRead(grantee: iam.IGrantable): iam.Grant {
    const grant = iam.Grant.addToPrincipal({
      grantee,
      actions: [...LEDGER_READ_ACTIONS],
      resourceArns: [this.table.tableArn, ...this.indexArns],
    });
    this.encryptionKey.grantDecrypt(grantee);
    this.signingKey.grant(grantee, 'kms:GetPublicKey', 'kms:DescribeKey');
    return grant;
  }

  /** The read-only statements, for a managed policy: ledger and index reads, key decrypt, public key. */
  readStatements(): iam.PolicyStatement[] {
    return [
      new iam.PolicyStatement({
        sid: 'ReadLedger',
        actions: [...LEDGER_READ_ACTIONS],
        resources: [this.table.tableArn, ...this.indexArns],
      }),
      new iam.PolicyStatement({
        sid: 'DecryptLedger',
        actions: ['kms:Decrypt', 'kms:DescribeKey'],
        resources: [this.encryptionKey.keyArn],
      }),
      new iam.PolicyStatement({
        sid: 'CheckLedgerSignatures',
        actions: ['kms:GetPublicKey', 'kms:Verify', 'kms:DescribeKey'],
        resources: [this.signingKey.keyArn],
      }),
    ];
  }

  /** An explicit Deny of every ledger mutation but the conditional puts of an append. */
  denyMutationStatement(): iam.PolicyStatement {
    return new iam.PolicyStatement({
      sid: 'LedgerIsAppendOnly',
      effect: iam.Effect.DENY,
      actions: [...LEDGER_MUTATING_ACTIONS],
      resources: [this.table.tableArn, ...this.indexArns],
    });
  }
}
