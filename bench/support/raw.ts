/**
 * The raw SDK operations a handler is compared with: what it cannot avoid doing, done with plain
 * SDK v3 clients configured from the same environment (AWS_ENDPOINT_URL_<SERVICE>, region,
 * credentials) as the function's own.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { FirehoseClient, PutRecordCommand } from '@aws-sdk/client-firehose';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
} from '@aws-sdk/lib-dynamodb';

export type RawKind = 'get-item' | 'predict' | 'batch-write';

/** GetItem of one key. */
export interface GetItemArgs {
  readonly table: string;
  readonly key: Record<string, unknown>;
}

/** What predict cannot avoid: BatchGetItem of its keys, InvokeEndpoint of the encoded row, and (kept) the log record and served-request item. */
export interface PredictArgs {
  readonly table: string;
  readonly keys: readonly Record<string, unknown>[];
  readonly endpointName: string;
  /** The encoded CSV row. */
  readonly body: string;
  /** Also keep the prediction: Firehose PutRecord and DynamoDB PutItem, concurrently. */
  readonly keep?: { readonly stream: string; readonly servedTable: string; readonly line: string };
}

/** BatchWriteItem of items, 25 per request, as many requests as needed, side by side. */
export interface BatchWriteArgs {
  readonly table: string;
  readonly items: readonly Record<string, unknown>[];
}

/** The raw operation, ready to call. */
export function rawOperation(kind: RawKind, args: unknown): () => Promise<void> {
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}));
  if (kind === 'get-item') {
    const a = args as GetItemArgs;
    return async () => {
      // Strongly consistent, as the online store's getLatest reads.
      const out = await doc.send(new GetCommand({ TableName: a.table, Key: a.key, ConsistentRead: true }));
      if (!out.Item) throw new Error('raw GetItem found nothing');
    };
  }
  if (kind === 'predict') {
    const a = args as PredictArgs;
    const runtime = new SageMakerRuntimeClient({});
    const firehose = new FirehoseClient({});
    let n = 0;
    return async () => {
      const out = await doc.send(
        new BatchGetCommand({ RequestItems: { [a.table]: { Keys: [...a.keys], ConsistentRead: true } } }),
      );
      if ((out.Responses?.[a.table]?.length ?? 0) === 0) throw new Error('raw BatchGetItem found nothing');
      await runtime.send(
        new InvokeEndpointCommand({
          EndpointName: a.endpointName,
          ContentType: 'text/csv',
          Body: Buffer.from(a.body),
        }),
      );
      if (a.keep) {
        const k = a.keep;
        const id = `raw-${process.pid}-${n++}`;
        await Promise.all([
          firehose.send(
            new PutRecordCommand({
              DeliveryStreamName: k.stream,
              Record: { Data: Buffer.from(`${k.line}\n`) },
            }),
          ),
          doc.send(
            new PutCommand({ TableName: k.servedTable, Item: { requestKey: `bench#${id}`, line: k.line } }),
          ),
        ]);
      }
    };
  }
  const a = args as BatchWriteArgs;
  return async () => {
    const chunks: Record<string, unknown>[][] = [];
    for (let i = 0; i < a.items.length; i += 25)
      chunks.push(a.items.slice(i, i + 25) as Record<string, unknown>[]);
    await Promise.all(
      chunks.map(async (chunk) => {
        let pending = chunk.map((Item) => ({ PutRequest: { Item } }));
        while (pending.length > 0) {
          const out = await doc.send(new BatchWriteCommand({ RequestItems: { [a.table]: pending } }));
          pending = (out.UnprocessedItems?.[a.table] ?? []) as typeof pending;
        }
      }),
    );
  };
}
