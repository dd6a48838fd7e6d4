/**
 * Where every `mlops` command sends its calls, found one way for all of them: the running local
 * cloud (its `.local/cloud.json`) when there is one, for every service, with its endpoints,
 * region and credentials; else AWS through the SDK's default provider chain. Names a command was
 * not given default to the local cloud's resources, or to `MLOPS_*` variables on AWS.
 */
import { existsSync } from 'node:fs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { localS3Client } from '../local/clients.ts';
import type { LocalCloudState } from '../local/cloud.ts';
import { LOCAL_CREDENTIALS } from '../local/engines/credentials.ts';
import type { LocalEndpoints } from '../local/model.ts';
import { readState, STATE_FILE } from '../local/state.ts';

/** Where the commands send their calls. */
export interface Target {
  readonly sfn: SFNClient;
  /** Base URL of the API stage (`…/v1`), for the approval route. */
  readonly apiUrl?: string;
  readonly ledgerTable?: string;
  readonly dynamodbEndpoint?: string;
  readonly local: boolean;
  /**
   * The local cloud's endpoints and region.
   * @default - AWS: each client's endpoint and region come from the SDK's configuration
   */
  readonly cloud?: { readonly endpoints: LocalEndpoints; readonly region: string };
  /** The Object Lock audit archive bucket. */
  readonly archiveBucket?: string;
  /** ARN of the ledger's signing key, whose public key verify checks signatures with. */
  readonly signingKey?: string;
  /** The datasets bucket (bulk drop zones, labels, snapshots). */
  readonly datasetsBucket?: string;
}

/** Names a command may be given; each defaults as the module comment says. */
export interface TargetOptions {
  readonly apiUrl?: string;
  readonly ledgerTable?: string;
  readonly archiveBucket?: string;
  readonly signingKey?: string;
  readonly datasetsBucket?: string;
}

/** The running local cloud when there is one, else AWS. */
export function resolveTarget(options: TargetOptions = {}): Target {
  if (existsSync(STATE_FILE)) return localTarget(readState(), options);
  const env = process.env;
  return {
    sfn: new SFNClient({}),
    local: false,
    ...defined({
      apiUrl: options.apiUrl ?? env.MLOPS_API_URL,
      ledgerTable: options.ledgerTable ?? env.MLOPS_LEDGER_TABLE,
      archiveBucket: options.archiveBucket ?? env.MLOPS_AUDIT_ARCHIVE_BUCKET,
      signingKey: options.signingKey ?? env.MLOPS_LEDGER_SIGNING_KEY,
      datasetsBucket: options.datasetsBucket ?? env.MLOPS_DATASETS_BUCKET,
    }),
  };
}

/** The target of a running local cloud, from its state file. */
export function localTarget(state: LocalCloudState, options: TargetOptions = {}): Target {
  const region = state.placement.region;
  return {
    sfn: new SFNClient({ endpoint: state.endpoints.stepfunctions, region, credentials: LOCAL_CREDENTIALS }),
    local: true,
    cloud: { endpoints: state.endpoints, region },
    dynamodbEndpoint: state.endpoints.dynamodb,
    ...defined({
      apiUrl: options.apiUrl ?? `${state.apiEndpoint}/v1`,
      ledgerTable: options.ledgerTable ?? state.tables.find((t) => t.includes('Ledger')),
      archiveBucket: options.archiveBucket ?? state.buckets.find((b) => b.includes('auditarchive')),
      signingKey: options.signingKey ?? state.keys.find((k) => k.logicalId.includes('LedgerSigningKey'))?.arn,
      datasetsBucket: options.datasetsBucket ?? state.buckets.find((b) => b.includes('datasets')),
    }),
  };
}

function defined<T extends Record<string, string | undefined>>(values: T): Partial<Record<keyof T, string>> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as Partial<
    Record<keyof T, string>
  >;
}

/** A DynamoDB document client for the target. */
export function documentClientFor(target: Target): DynamoDBDocumentClient {
  const local = target.cloud;
  return DynamoDBDocumentClient.from(
    new DynamoDBClient(
      local
        ? { endpoint: local.endpoints.dynamodb, region: local.region, credentials: LOCAL_CREDENTIALS }
        : {},
    ),
  );
}

/** An S3 client for the target (path-style and without default checksums on s3rver). */
export function s3ClientFor(target: Target): S3Client {
  const local = target.cloud;
  return local ? localS3Client(local.endpoints.s3, local.region) : new S3Client({});
}

/** A KMS client for the target. */
export function kmsClientFor(target: Target): KMSClient {
  const local = target.cloud;
  return new KMSClient(
    local ? { endpoint: local.endpoints.kms, region: local.region, credentials: LOCAL_CREDENTIALS } : {},
  );
}
