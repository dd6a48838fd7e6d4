/**
 * A ledger table in DynamoDB Local with the same keys and indexes as `LedgerTable`, and a signing
 * key in the local KMS emulator, for integration tests.
 */
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { LOCAL_ACCOUNT, LOCAL_CREDENTIALS } from '../../infra/local/engines/credentials.ts';
import { type DynamoDbEngine, startDynamoDb } from '../../infra/local/engines/dynamodb.ts';
import { type KmsEmulator, startKms } from '../../infra/local/kms.ts';
import type { LedgerWriter } from '../../shared/ledger/append.ts';
import { LEDGER_INDEX_NAMES } from '../../shared/ledger/index-names.ts';
import {
  kmsSignatureChecker,
  kmsSigner,
  type LedgerSigner,
  type SignatureChecker,
} from '../../shared/ledger/signing.ts';
import type { VerifiableLedger } from '../../shared/ledger/verify.ts';

/** A ledger that tests append to and verify. */
export type TestLedger = LedgerWriter & VerifiableLedger;

/** A running DynamoDB Local and KMS emulator, and clients for them. */
export interface LedgerDb {
  readonly engine: DynamoDbEngine;
  readonly kmsEngine: KmsEmulator;
  readonly client: DynamoDBClient;
  readonly doc: DynamoDBDocumentClient;
  readonly kms: KMSClient;
  /** ARN of the ledger signing key (ECC_NIST_P256) created in the KMS emulator. */
  readonly signingKeyArn: string;
  readonly signatures: SignatureChecker;
  /** Creates a fresh ledger table and returns its name. */
  createLedgerTable(name: string): Promise<string>;
  /** The ledger in table `tableName`, signing with the test key. */
  ledger(tableName: string, chain?: string): TestLedger;
  stop(): Promise<void>;
}

/** The local KMS emulator with one ledger signing key (ECC_NIST_P256) in it. */
export interface SigningKey {
  readonly kmsEngine: KmsEmulator;
  readonly kms: KMSClient;
  readonly signingKeyArn: string;
  readonly signer: LedgerSigner;
  readonly signatures: SignatureChecker;
  stop(): Promise<void>;
}

/** Starts the KMS emulator and creates a signing key in it. */
export async function startSigningKey(): Promise<SigningKey> {
  const region = 'us-east-1';
  const kmsEngine = await startKms({ keys: [], placement: { region, account: LOCAL_ACCOUNT } });
  const kms = new KMSClient({ endpoint: kmsEngine.endpoint, region, credentials: LOCAL_CREDENTIALS });
  const created = await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }));
  const signingKeyArn = created.KeyMetadata?.Arn ?? '';
  return {
    kmsEngine,
    kms,
    signingKeyArn,
    signer: kmsSigner(kms, signingKeyArn),
    signatures: await kmsSignatureChecker(kms, signingKeyArn),
    async stop() {
      kms.destroy();
      await kmsEngine.stop();
    },
  };
}

/** Starts DynamoDB Local in memory (it needs Java 17; the ledger needs its transactions) and KMS. */
export async function startLedgerDb(): Promise<LedgerDb> {
  const [engine, key] = await Promise.all([startDynamoDb({ engine: 'dynamodb-local' }), startSigningKey()]);
  const client = new DynamoDBClient({
    endpoint: engine.endpoint,
    region: 'us-east-1',
    credentials: LOCAL_CREDENTIALS,
  });
  const doc = DynamoDBDocumentClient.from(client);
  const { signer, signatures } = key;
  return {
    engine,
    kmsEngine: key.kmsEngine,
    client,
    doc,
    kms: key.kms,
    signingKeyArn: key.signingKeyArn,
    signatures,
    createLedgerTable: (name) => createLedgerTable(client, name),
    ledger: (tableName, chain) => ({
      client: doc,
      tableName,
      signer,
      signatures,
      ...(chain ? { chain } : {}),
    }),
    async stop() {
      client.destroy();
      await Promise.all([engine.stop(), key.stop()]);
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
