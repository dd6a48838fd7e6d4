/**
 * Creates the tables and buckets an assembly declares in the local engines. Idempotent: the
 * persistent mode restarts on existing data, so what already exists is kept as it is.
 */
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  type KeySchemaElement,
  type Projection,
  ResourceInUseException,
  type StreamViewType,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import {
  BucketAlreadyExists,
  BucketAlreadyOwnedByYou,
  CreateBucketCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { LOCAL_CREDENTIALS } from './engines/credentials.ts';
import type { LocalAssembly, LocalIndex, LocalKey, LocalTable } from './model.ts';

/** Endpoints of the engines that hold state. */
export interface ProvisionEndpoints {
  readonly dynamodb: string;
  readonly s3: string;
}

/** Creates every table (keys, indexes, TTL, stream) and every bucket of the assembly, keeping existing ones. */
export async function provision(assembly: LocalAssembly, endpoints: ProvisionEndpoints): Promise<void> {
  const region = assembly.placement.region;
  const ddb = new DynamoDBClient({ endpoint: endpoints.dynamodb, region, credentials: LOCAL_CREDENTIALS });
  const s3 = new S3Client({
    endpoint: endpoints.s3,
    region,
    credentials: LOCAL_CREDENTIALS,
    forcePathStyle: true,
    // s3rver predates the SDK's default CRC32 checksums.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  try {
    for (const table of assembly.tables) await createTable(ddb, table);
    for (const bucket of assembly.buckets) await createBucket(s3, bucket.name);
  } finally {
    ddb.destroy();
    s3.destroy();
  }
}

/** The CreateTable request for a table of the model (on-demand: capacity means nothing locally). */
export function createTableInput(table: LocalTable): CreateTableCommandInput {
  const attributes = new Map<string, LocalKey['type']>();
  const keySchema = (ix: { partitionKey: LocalKey; sortKey?: LocalKey }): KeySchemaElement[] => {
    attributes.set(ix.partitionKey.name, ix.partitionKey.type);
    const schema: KeySchemaElement[] = [{ AttributeName: ix.partitionKey.name, KeyType: 'HASH' }];
    if (ix.sortKey) {
      attributes.set(ix.sortKey.name, ix.sortKey.type);
      schema.push({ AttributeName: ix.sortKey.name, KeyType: 'RANGE' });
    }
    return schema;
  };
  const projection = (ix: LocalIndex): Projection =>
    ix.projectionType === 'INCLUDE'
      ? { ProjectionType: 'INCLUDE', NonKeyAttributes: [...(ix.nonKeyAttributes ?? [])] }
      : { ProjectionType: ix.projectionType ?? 'ALL' };
  const KeySchema = keySchema(table);
  const gsis = table.indexes.map((ix) => ({
    IndexName: ix.name,
    KeySchema: keySchema(ix),
    Projection: projection(ix),
  }));
  const lsis = (table.localIndexes ?? []).map((ix) => ({
    IndexName: ix.name,
    KeySchema: keySchema(ix),
    Projection: projection(ix),
  }));
  return {
    TableName: table.name,
    BillingMode: 'PAY_PER_REQUEST',
    KeySchema,
    AttributeDefinitions: [...attributes].map(([AttributeName, AttributeType]) => ({
      AttributeName,
      AttributeType,
    })),
    GlobalSecondaryIndexes: gsis.length > 0 ? gsis : undefined,
    LocalSecondaryIndexes: lsis.length > 0 ? lsis : undefined,
    StreamSpecification: table.streamViewType
      ? { StreamEnabled: true, StreamViewType: table.streamViewType as StreamViewType }
      : undefined,
  };
}

async function createTable(ddb: DynamoDBClient, table: LocalTable): Promise<void> {
  try {
    await ddb.send(new CreateTableCommand(createTableInput(table)));
  } catch (e) {
    // An existing table is kept with its data, as a CloudFormation update would.
    if (!(e instanceof ResourceInUseException)) throw e;
  }
  await waitUntilTableExists({ client: ddb, maxWaitTime: 60, minDelay: 1 }, { TableName: table.name });
  if (table.ttlAttribute === undefined) return;
  const current = await ddb.send(new DescribeTimeToLiveCommand({ TableName: table.name }));
  const ttl = current.TimeToLiveDescription;
  if (ttl?.TimeToLiveStatus === 'ENABLED' && ttl.AttributeName === table.ttlAttribute) return;
  await ddb.send(
    new UpdateTimeToLiveCommand({
      TableName: table.name,
      TimeToLiveSpecification: { AttributeName: table.ttlAttribute, Enabled: true },
    }),
  );
}

async function createBucket(s3: S3Client, name: string): Promise<void> {
  try {
    await s3.send(new CreateBucketCommand({ Bucket: name }));
  } catch (e) {
    if (!(e instanceof BucketAlreadyOwnedByYou || e instanceof BucketAlreadyExists)) throw e;
  }
}
