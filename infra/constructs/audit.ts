import { join } from 'node:path';
import { Duration, Validations } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import { AuthorizationType, LambdaIntegration } from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { AUDIT_ROUTES } from '../../shared/ledger/audit-api.ts';
import { functionLogDefaults, type StageConfig } from '../config/stage.ts';
import { ConstructConfigError } from './errors.ts';
import { MlopsFunction } from './mlops-function.ts';
import type { LedgerTable } from './mlops-table.ts';
import { bucketArnFor, iam5ResourceFinding } from './nag-ids.ts';

const FUNCTIONS_DIR = join(import.meta.dirname, '..', '..', 'functions', 'audit');

export interface AuditProps {
  /** The lineage ledger; its stream feeds the archiver. */
  readonly ledger: LedgerTable;
  /** The Object Lock bucket that receives archived events and chain digests. */
  readonly auditArchive: IBucket;
  /** Key of the ledger and archive; also encrypts the functions' logs, environment and queues. */
  readonly encryptionKey: IKey;
  /** The product's REST API; the `/audit` routes are added to it. */
  readonly api: apigw.RestApi;
  /** Stage settings: log retention and removal policy. */
  readonly stage: StageConfig;
  /**
   * Ledger chain the API verifies.
   * @default 'main'
   */
  readonly chain?: string;
}

/**
 * The audit capability: the stream archiver that copies the ledger to the Object Lock bucket, a
 * read-only auditor role, and IAM-authorized `GET /audit/...` routes for the five queries and
 * chain verification.
 */
export class Audit extends Construct {
  /** The stream → archive function. */
  readonly archiver: MlopsFunction;
  /** The function behind every `/audit` route. */
  readonly queries: MlopsFunction;
  /** Role an auditor assumes: read-only on the ledger, the archive, the key and the audit routes. */
  readonly auditorRole: iam.Role;
  /** The auditor's permissions, as a customer-managed policy other principals may attach too. */
  readonly auditorPolicy: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: AuditProps) {
    super(scope, id);
    // Check
    if (!props.ledger.table.tableStreamArn) {
      throw new ConstructConfigError(this, [
        `ledger table ${props.ledger.node.path} must have a stream for the archiver, got none`,
      ]);
    }
    const { stage } = props;
    const archiveArn = bucketArnFor(this, props.auditArchive, 'AuditArchive');
    const archiveObjects = `${archiveArn}/ledger/*`;
    const common = {
      encryptionKey: props.encryptionKey,
      ...functionLogDefaults(stage),
    };

    // Build: the archiver, invoked asynchronously by the stream's event source mapping.
    this.archiver = new MlopsFunction(this, 'Archiver', {
      ...common,
      entry: join(FUNCTIONS_DIR, 'archiver.ts'),
      description: 'Copies new ledger events and chain-head digests to the Object Lock audit archive',
      timeout: Duration.minutes(1),
      memorySize: 256,
      invocation: 'async',
      environment: {
        AUDIT_ARCHIVE_BUCKET: props.auditArchive.bucketName,
        LEDGER_SIGNING_KEY: props.ledger.signingKey.keyArn,
      },
    });
    const deadLetters = this.archiver.deadLetterQueue;
    if (!deadLetters) throw new ConstructConfigError(this, ['the archiver must have a dead-letter queue']);
    this.archiver.fn.addEventSource(
      new DynamoEventSource(props.ledger.table, {
        startingPosition: lambda.StartingPosition.TRIM_HORIZON,
        batchSize: 100,
        maxBatchingWindow: Duration.seconds(5),
        bisectBatchOnError: true,
        retryAttempts: 10,
        maxRecordAge: Duration.days(1),
        onFailure: new SqsDlq(deadLetters),
      }),
    );
    this.archiver.fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'WriteArchive',
        actions: ['s3:PutObject'],
        resources: [archiveObjects],
      }),
    );
    props.encryptionKey.grant(this.archiver.fn, 'kms:GenerateDataKey', 'kms:Decrypt');
    // The stream is encrypted with the ledger's key.
    props.encryptionKey.grantDecrypt(this.archiver.fn);
    this.archiver.fn.addToRolePolicy(props.ledger.denyMutationStatement());
    props.ledger.signingKey.grant(this.archiver.fn, 'kms:GetPublicKey');

    // Build: the query function, read-only like an auditor.
    this.queries = new MlopsFunction(this, 'Queries', {
      ...common,
      entry: join(FUNCTIONS_DIR, 'api.ts'),
      description:
        'Answers GET /audit/...: provenance, dataset lineage, served-at, events, incidents, verify',
      timeout: Duration.seconds(29),
      memorySize: stage.lambdaMemoryMb,
      environment: {
        LEDGER_TABLE: props.ledger.table.tableName,
        LEDGER_CHAIN: props.chain ?? 'main',
        AUDIT_ARCHIVE_BUCKET: props.auditArchive.bucketName,
        LEDGER_SIGNING_KEY: props.ledger.signingKey.keyArn,
      },
    });
    props.ledger.grantRead(this.queries.fn);
    this.queries.fn.addToRolePolicy(props.ledger.denyMutationStatement());
    this.queries.fn.addToRolePolicy(archiveReadStatement(archiveArn));
    this.queries.fn.addToRolePolicy(archiveListStatement(archiveArn));

    // Wire: one IAM-authorized GET per route, path parameters required by the request validator.
    const validator = props.api.addRequestValidator('AuditParams', {
      requestValidatorName: 'audit-parameters',
      validateRequestParameters: true,
      // GET routes carry no body; validating one costs nothing and keeps the validator uniform.
      validateRequestBody: true,
    });
    const integration = new LambdaIntegration(this.queries.fn);
    const methods: apigw.Method[] = [];
    for (const route of Object.values(AUDIT_ROUTES)) {
      const resource = props.api.root.resourceForPath(route.path);
      const requestParameters: Record<string, boolean> = {};
      for (const q of route.query as readonly string[]) {
        requestParameters[`method.request.querystring.${q.replace('?', '')}`] = !q.endsWith('?');
      }
      methods.push(
        resource.addMethod(route.method, integration, {
          authorizationType: AuthorizationType.IAM,
          requestParameters,
          requestValidator: validator,
        }),
      );
    }

    // Expose: the auditor role and its managed policy.
    this.auditorPolicy = new iam.ManagedPolicy(this, 'AuditorPolicy', {
      description: 'Read-only audit of the lineage ledger, its archive and the /audit API',
      statements: [
        ...props.ledger.readStatements(),
        archiveReadStatement(archiveArn),
        archiveListStatement(archiveArn),
        new iam.PolicyStatement({
          sid: 'CallAuditApi',
          actions: ['execute-api:Invoke'],
          resources: methods.map((m) => m.methodArn),
        }),
        // Read-only stays read-only even if someone later attaches a broader policy to the role.
        props.ledger.denyMutationStatement(),
      ],
    });
    this.auditorRole = new iam.Role(this, 'AuditorRole', {
      assumedBy: new iam.AccountRootPrincipal(),
      description: 'Auditors: read the lineage ledger and its archive, call GET /audit/...; cannot write',
      maxSessionDuration: Duration.hours(1),
      managedPolicies: [this.auditorPolicy],
    });

    const objectsFinding = iam5ResourceFinding(this, archiveObjects);
    const objectsReason =
      'Limited to the ledger/ prefix of the audit archive, whose object keys are one per event and per digest; nothing else in any bucket.';
    Validations.of(this.auditorPolicy).acknowledge({
      id: objectsFinding,
      reason: `Read-only. ${objectsReason}`,
    });
    Validations.of(this.queries).acknowledge({ id: objectsFinding, reason: `Read-only. ${objectsReason}` });
    Validations.of(this.archiver).acknowledge(
      { id: objectsFinding, reason: `PutObject only. ${objectsReason}` },
      {
        id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
        reason:
          'Granted by the SQS on-failure destination so Lambda can send to the KMS-encrypted dead-letter queue; scoped to that one key.',
      },
      {
        id: 'AwsSolutions-IAM5[Action::kms:ReEncrypt*]',
        reason:
          'Granted by the SQS on-failure destination so Lambda can send to the KMS-encrypted dead-letter queue; scoped to that one key.',
      },
    );
  }
}

function archiveReadStatement(archiveArn: string): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'ReadArchive',
    actions: ['s3:GetObject', 's3:GetObjectVersion', 's3:GetObjectRetention'],
    resources: [`${archiveArn}/ledger/*`],
  });
}

function archiveListStatement(archiveArn: string): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'ListArchive',
    actions: ['s3:ListBucket', 's3:ListBucketVersions'],
    resources: [archiveArn],
  });
}
