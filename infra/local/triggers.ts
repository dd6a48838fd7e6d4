/**
 * Event delivery for the local cloud: S3 events of EventBridge-enabled buckets go through the
 * template's event-pattern rules to their Lambda targets, and DynamoDB streams feed the functions
 * of their event source mappings, in order, with retries and batch bisection like Lambda's poller.
 */
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  ExpiredIteratorException,
  GetRecordsCommand,
  type GetRecordsCommandOutput,
  GetShardIteratorCommand,
  type _Record as StreamRecord,
  TrimmedDataAccessException,
} from '@aws-sdk/client-dynamodb-streams';
import { LOCAL_CREDENTIALS } from './engines/credentials.ts';
import type { S3Engine, S3EventRecord } from './engines/s3.ts';
import { matchesPattern } from './event-pattern.ts';
import type { LambdaRuntime } from './lambda/index.ts';
import type { LocalAssembly, LocalStreamMapping } from './model.ts';

export interface TriggerOptions {
  readonly assembly: LocalAssembly;
  readonly s3: S3Engine;
  readonly dynamodbEndpoint: string;
  readonly lambda: LambdaRuntime;
  readonly log: (line: string) => void;
  /**
   * How often streams are polled, in ms.
   * @default 200
   */
  readonly pollMs?: number;
}

/** Running event delivery. */
export interface Triggers {
  /** Resolves once every event seen so far has been delivered (tests and the demo wait on it). */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * EventBridge's `detail.reason` for s3rver's event name suffix: s3rver reports a multipart
 * completion as `Post`, where EventBridge says `CompleteMultipartUpload`.
 */
const EVENTBRIDGE_REASONS: Readonly<Record<string, string>> = {
  Put: 'PutObject',
  Post: 'CompleteMultipartUpload',
  Copy: 'CopyObject',
  Delete: 'DeleteObject',
};

/** S3's notification record as the EventBridge event S3 sends for an EventBridge-enabled bucket. */
export function toEventBridgeEvent(
  record: S3EventRecord,
  region: string,
  account: string,
): Record<string, unknown> {
  const created = record.eventName.startsWith('ObjectCreated');
  const operation = record.eventName.split(':')[1] ?? 'Put';
  return {
    version: '0',
    id: crypto.randomUUID(),
    'detail-type': created ? 'Object Created' : 'Object Deleted',
    source: 'aws.s3',
    account,
    time: record.eventTime,
    region,
    resources: [`arn:aws:s3:::${record.s3.bucket.name}`],
    detail: {
      version: '0',
      bucket: { name: record.s3.bucket.name },
      object: {
        key: record.s3.object.key,
        size: record.s3.object.size,
        etag: record.s3.object.eTag,
        sequencer: record.s3.object.sequencer,
      },
      'request-id': crypto.randomUUID(),
      requester: account,
      reason: EVENTBRIDGE_REASONS[operation] ?? operation,
    },
  };
}

/** Starts delivering events. */
export function startTriggers(options: TriggerOptions): Triggers {
  const { assembly, lambda, log } = options;
  const inFlight = new Set<Promise<unknown>>();
  const track = (p: Promise<unknown>) => {
    inFlight.add(p);
    p.finally(() => inFlight.delete(p)).catch(() => {});
  };

  // Lambda's asynchronous invocation: run to completion (so idle() can wait for it), and retry a
  // failed event twice, as Lambda does before handing it to the dead-letter queue.
  const invokeAsync = async (arn: string, payload: unknown, label: string): Promise<void> => {
    for (let attempt = 1; attempt <= 3; attempt++) {
      const result = await lambda
        .invoke(arn, payload)
        .catch((e: unknown) => ({ functionError: 'Unhandled', payload: String(e) }));
      if (!result.functionError) return;
      log(`[events] ${label} failed (attempt ${attempt} of 3): ${JSON.stringify(result.payload)}`);
    }
    log(`[events] ${label}: event dropped to the dead-letter queue after 3 attempts`);
  };

  // S3 → EventBridge → rule targets.
  const eventBuckets = new Set(assembly.buckets.filter((b) => b.eventBridge).map((b) => b.name));
  const rules = assembly.eventRules.filter((r) => r.enabled);
  options.s3.onEvent((record) => {
    if (!eventBuckets.has(record.s3.bucket.name)) return;
    const event = toEventBridgeEvent(record, assembly.placement.region, assembly.placement.account);
    for (const rule of rules) {
      if (!matchesPattern(rule.pattern, event)) continue;
      for (const target of rule.targets) {
        const payload = target.input ? (JSON.parse(target.input) as unknown) : event;
        track(invokeAsync(target.arn, payload, `${rule.name} → ${target.arn}`));
      }
    }
  });

  // DynamoDB streams → functions.
  const streams = new DynamoDBStreamsClient({
    endpoint: options.dynamodbEndpoint,
    region: assembly.placement.region,
    credentials: LOCAL_CREDENTIALS,
  });
  const ddb = new DynamoDBClient({
    endpoint: options.dynamodbEndpoint,
    region: assembly.placement.region,
    credentials: LOCAL_CREDENTIALS,
  });
  let stopped = false;
  const pollers = assembly.streamMappings
    .filter((m) => m.enabled)
    .map((m) =>
      pollStream(m, {
        streams,
        ddb,
        lambda,
        log,
        pollMs: options.pollMs ?? 200,
        isStopped: () => stopped,
        region: assembly.placement.region,
      }),
    );

  return {
    async idle() {
      // Stream pollers report idle once they have caught up with the shard.
      for (;;) {
        await Promise.all([...inFlight]);
        const busy = await Promise.all(pollers.map((p) => p.busy()));
        if (inFlight.size === 0 && !busy.some(Boolean)) return;
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      stopped = true;
      await Promise.allSettled(pollers.map((p) => p.done));
      await Promise.allSettled([...inFlight]);
      streams.destroy();
      ddb.destroy();
    },
  };
}

interface PollContext {
  readonly streams: DynamoDBStreamsClient;
  readonly ddb: DynamoDBClient;
  readonly lambda: LambdaRuntime;
  readonly log: (line: string) => void;
  readonly pollMs: number;
  readonly region: string;
  isStopped(): boolean;
}

/**
 * Lambda's DynamoDB event record: the stream record plus source fields, with the creation time in
 * epoch seconds (the SDK parses it into a Date) and no null fields (Lambda omits them).
 */
function toLambdaRecord(r: StreamRecord, streamArn: string, region: string): Record<string, unknown> {
  const created = r.dynamodb?.ApproximateCreationDateTime;
  const dynamodb = Object.fromEntries(
    Object.entries({
      ...r.dynamodb,
      ApproximateCreationDateTime: created instanceof Date ? Math.floor(created.getTime() / 1000) : created,
    }).filter(([, v]) => v !== null && v !== undefined),
  );
  const record = Object.fromEntries(Object.entries(r).filter(([, v]) => v !== null && v !== undefined));
  return { ...record, dynamodb, eventSource: 'aws:dynamodb', awsRegion: region, eventSourceARN: streamArn };
}

function pollStream(
  mapping: LocalStreamMapping,
  ctx: PollContext,
): { done: Promise<void>; busy(): Promise<boolean> } {
  // Counts poll cycles: a cycle that starts after a caller asked, and finds nothing, proves that
  // everything written before the question has been delivered.
  let cycle = 0;
  let lastEmptyCycle = -1;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  async function deliver(records: StreamRecord[], streamArn: string): Promise<void> {
    // Retries keep the order: a failed batch is redelivered (split in halves when bisecting; a
    // split does not count against the retry budget, as in Lambda) until it succeeds or its
    // retries are spent, and only then does the poller move on.
    const queue: { batch: StreamRecord[]; attempts: number }[] = [{ batch: records, attempts: 0 }];
    while (queue.length > 0) {
      const entry = queue.shift();
      if (!entry) break;
      const result = await ctx.lambda.invoke(mapping.functionArn, {
        Records: entry.batch.map((r) => toLambdaRecord(r, streamArn, ctx.region)),
      });
      if (!result.functionError) continue;
      const attempts = entry.attempts + 1;
      ctx.log(
        `[streams] ${mapping.tableName} → ${mapping.functionArn}: batch of ${entry.batch.length} failed (attempt ${attempts})`,
      );
      if (mapping.bisectOnError && entry.batch.length > 1) {
        const half = Math.ceil(entry.batch.length / 2);
        queue.unshift(
          { batch: entry.batch.slice(0, half), attempts: 0 },
          { batch: entry.batch.slice(half), attempts: 0 },
        );
      } else if (mapping.maxRetries >= 0 && attempts > mapping.maxRetries) {
        ctx.log(
          `[streams] ${mapping.tableName}: giving up on ${entry.batch.length} record(s) after ${attempts} attempts`,
        );
      } else {
        queue.unshift({ batch: entry.batch, attempts });
        await sleep(ctx.pollMs);
      }
    }
  }

  let finished = false;
  const done = (async () => {
    let streamArn: string | undefined;
    while (!ctx.isStopped() && !streamArn) {
      const table = await ctx.ddb
        .send(new DescribeTableCommand({ TableName: mapping.tableName }))
        .catch(() => undefined);
      streamArn = table?.Table?.LatestStreamArn;
      if (!streamArn) await sleep(ctx.pollMs);
    }
    if (!streamArn) return;
    // One iterator per shard. DynamoDB Local invalidates an iterator on an idle shard now and then
    // (TrimmedDataAccessException); the poller then reopens it after the last record it delivered.
    const iterators = new Map<string, string | undefined>();
    const lastSequence = new Map<string, string>();
    const open = async (shardId: string): Promise<string | undefined> => {
      const after = lastSequence.get(shardId);
      const it = await ctx.streams.send(
        new GetShardIteratorCommand({
          StreamArn: streamArn,
          ShardId: shardId,
          ...(after
            ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: after }
            : { ShardIteratorType: mapping.startingPosition }),
        }),
      );
      return it.ShardIterator;
    };
    while (!ctx.isStopped()) {
      const description = await ctx.streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
      for (const shard of description.StreamDescription?.Shards ?? []) {
        if (!shard.ShardId || iterators.has(shard.ShardId)) continue;
        iterators.set(shard.ShardId, await open(shard.ShardId));
      }
      let got = 0;
      // A reopened iterator has not been read yet: that cycle proves nothing about the shard being drained.
      let reopened = false;
      for (const [shardId, iterator] of iterators) {
        if (!iterator) continue;
        let page: GetRecordsCommandOutput;
        try {
          page = await ctx.streams.send(
            new GetRecordsCommand({ ShardIterator: iterator, Limit: mapping.batchSize }),
          );
        } catch (e) {
          if (!(e instanceof TrimmedDataAccessException || e instanceof ExpiredIteratorException)) throw e;
          iterators.set(shardId, await open(shardId));
          reopened = true;
          continue;
        }
        iterators.set(shardId, page.NextShardIterator);
        const records = page.Records ?? [];
        if (records.length > 0) {
          got += records.length;
          await deliver(records, streamArn);
          const last = records[records.length - 1]?.dynamodb?.SequenceNumber;
          if (last) lastSequence.set(shardId, last);
        }
      }
      if (got === 0 && !reopened) lastEmptyCycle = cycle;
      cycle++;
      if (got === 0) await sleep(ctx.pollMs);
    }
  })()
    .catch((e: unknown) => {
      if (!ctx.isStopped()) ctx.log(`[streams] ${mapping.tableName}: poller stopped: ${String(e)}`);
    })
    .finally(() => {
      finished = true;
    });

  return {
    done,
    async busy() {
      const asked = cycle;
      // Wait for an empty cycle that began after the question (or for the poller to stop).
      while (lastEmptyCycle <= asked && !ctx.isStopped() && !finished) await sleep(ctx.pollMs / 4);
      return false;
    },
  };
}
