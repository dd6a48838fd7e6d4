/**
 * A ledger table in DynamoDB Local with the same keys and indexes as `LedgerTable`, for
 * integration tests.
 */
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { LOCAL_CREDENTIALS } from '../../infra/local/engines/credentials.ts';
import { type DynamoDbEngine, startDynamoDb } from '../../infra/local/engines/dynamodb.ts';
import { LEDGER_INDEX_NAMES } from '../../shared/ledger/index-names.ts';

/** A running DynamoDB Local and a client for it. */
export interface LedgerDb {
  readonly engine: DynamoDbEngine;
  readonly client: DynamoDBClient;
  readonly doc: DynamoDBDocumentClient;
  /** Creates a fresh ledger table and returns its name. */
  createLedgerTable(name: string): Promise<string>;
  stop(): Promise<void>;
}

/** Starts DynamoDB Local in memory (it needs Java 17; the ledger needs its transactions). */
export async function startLedgerDb(): Promise<LedgerDb> {
  const engine = await startDynamoDb({ engine: 'dynamodb-local' });
  const client = new DynamoDBClient({
    endpoint: engine.endpoint,
    region: 'us-east-1',
    credentials: LOCAL_CREDENTIALS,
  });
  const doc = DynamoDBDocumentClient.from(client);
  return {
    engine,
    client,
    doc,
    createLedgerTable: (name) => createLedgerTable(client, name),
    async stop() {
      client.destroy();
      await engine.stop();
    },
  };
}

/** Creates a ledger table with LedgerTable's keys, indexes and stream; returns its name. */
export async function createLedgerTable(client: DynamoDBClient, name: string): Promise<string> {
  const indexes = Object.values(LEDGER_INDEX_NAMES);
  const attributes = new Set(['pk', 'sk', ...indexes.flatMap((i) => [i.partitionKey, i.sortKey])]);
  await client.send(
    new CreateTableCommand({
      TableName: name,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [...attributes].map((a) => ({ AttributeName: a, AttributeType: 'S' })),
      GlobalSecondaryIndexes: indexes.map((i) => ({
        IndexName: i.indexName,
        KeySchema: [
          { AttributeName: i.partitionKey, KeyType: 'HASH' },
          { AttributeName: i.sortKey, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      })),
      StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' },
    }),
  );
  return name;
}
