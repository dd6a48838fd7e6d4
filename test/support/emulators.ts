/** Starts the real local engines (DynamoDB Local, s3rver) for an integration test file. */
import { CreateTableCommand, DynamoDBClient, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { localS3Client } from '../../infra/local/clients.ts';
import { LOCAL_CREDENTIALS } from '../../infra/local/engines/credentials.ts';
import { type DynamoDbEngine, startDynamoDb } from '../../infra/local/engines/dynamodb.ts';
import { type S3Engine, startS3 } from '../../infra/local/engines/s3.ts';
import { type SigningKey, startSigningKey, type TestLedger } from './ledger-table.ts';

/** Running engines and clients bound to them. */
export interface Emulators {
  readonly dynamodb: DynamoDbEngine;
  readonly s3Engine: S3Engine;
  readonly ddb: DynamoDBClient;
  readonly doc: DynamoDBDocumentClient;
  readonly s3: S3Client;
  /** A ledger signing key in the local KMS emulator. */
  readonly signingKey: SigningKey;
  /** The ledger in `tableName` (see `createLedgerTable`), signing with `signingKey`. */
  ledger(tableName: string): TestLedger;
  /** Creates a table with a string partition key (and optional TTL attribute). */
  createKeyTable(name: string, ttlAttribute?: string): Promise<void>;
  createBucket(name: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startEmulators(): Promise<Emulators> {
  const [dynamodb, s3Engine, signingKey] = await Promise.all([startDynamoDb(), startS3(), startSigningKey()]);
  const ddb = new DynamoDBClient({
    endpoint: dynamodb.endpoint,
    region: 'us-east-1',
    credentials: LOCAL_CREDENTIALS,
  });
  const s3 = localS3Client(s3Engine.endpoint, 'us-east-1');
  const doc = DynamoDBDocumentClient.from(ddb);
  return {
    dynamodb,
    s3Engine,
    ddb,
    doc,
    s3,
    signingKey,
    ledger: (tableName) => ({
      client: doc,
      tableName,
      signer: signingKey.signer,
      signatures: signingKey.signatures,
    }),
    async createKeyTable(name, ttlAttribute) {
      await ddb.send(
        new CreateTableCommand({
          TableName: name,
          BillingMode: 'PAY_PER_REQUEST',
          KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
          AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        }),
      );
      if (ttlAttribute) {
        await ddb.send(
          new UpdateTimeToLiveCommand({
            TableName: name,
            TimeToLiveSpecification: { AttributeName: ttlAttribute, Enabled: true },
          }),
        );
      }
    },
    async createBucket(name) {
      await s3.send(new CreateBucketCommand({ Bucket: name }));
    },
    async stop() {
      ddb.destroy();
      s3.destroy();
      await Promise.all([dynamodb.stop(), s3Engine.stop(), signingKey.stop()]);
    },
  };
}
