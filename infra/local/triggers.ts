/**
 * Event delivery for the local cloud: S3 events of EventBridge-enabled buckets go through the
 * template's event-pattern rules to their Lambda targets, and DynamoDB streams feed the functions
 * of their event source mappings, in order, with retries and batch bisection like Lambda's poller.
 */
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as StreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import { LOCAL_CREDENTIALS } from './engines/credentials.ts';
import type { S3Engine, S3EventRecord } from './engines/s3.ts';
import { matchesPattern } from './event-pattern.ts';
import type { LambdaRuntime } from './lambda/runtime.ts';
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

/** S3's notification record as the EventBridge event S3 sends for an EventBridge-enabled bucket. */
export function toEventBridgeEvent(
  record: S3EventRecord,
  region: string,
  account: string,
): Record<string, unknown> {
  const created = record.eventName.startsWith('ObjectCreated');
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
      reason: record.eventName.split(':')[1] ?? 'PutObject',
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
        track(
          lambda
            .invoke(target.arn, payload, { invocationType: 'Event' })
            .then((r) =>
              r.functionError
                ? log(`[events] ${rule.name} → ${target.arn} failed: ${JSON.stringify(r.payload)}`)
                : undefined,
            )
            .catch((e: unknown) => log(`[events] ${rule.name} → ${target.arn}: ${String(e)}`)),
        );
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

/** Lambda's DynamoDB event record: the stream record plus source fields. */
function toLambdaRecord(r: StreamRecord, streamArn: string, region: string): Record<string, unknown> {
  return { ...r, eventSource: 'aws:dynamodb', awsRegion: region, eventSourceARN: streamArn };
}

function pollStream(
  mapping: LocalStreamMapping,
  ctx: PollContext,
): { done: Promise<void>; busy(): Promise<boolean> } {
  let pending = false;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  async function deliver(records: StreamRecord[], streamArn: string): Promise<void> {
    // Retries keep the order: the batch is redelivered (split in halves when bisecting) until it
    // succeeds or the retry budget is spent, and only then does the poller move on.
    let attempts = 0;
    const queue: StreamRecord[][] = [records];
    while (queue.length > 0) {
      const batch = queue.shift() ?? [];
      const result = await ctx.lambda.invoke(mapping.functionArn, {
        Records: batch.map((r) => toLambdaRecord(r, streamArn, ctx.region)),
      });
      if (!result.functionError) continue;
      attempts++;
      ctx.log(
        `[streams] ${mapping.tableName} → ${mapping.functionArn}: batch of ${batch.length} failed (${attempts})`,
      );
      if (mapping.maxRetries >= 0 && attempts > mapping.maxRetries) {
        ctx.log(
          `[streams] ${mapping.tableName}: giving up on ${batch.length} record(s) after ${attempts} attempts`,
        );
        continue;
      }
      if (mapping.bisectOnError && batch.length > 1) {
        const half = Math.ceil(batch.length / 2);
        queue.unshift(batch.slice(0, half), batch.slice(half));
      } else {
        queue.unshift(batch);
        await sleep(ctx.pollMs);
      }
    }
  }

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
    // One iterator per shard, opened once; DynamoDB Local keeps a single open shard per table here.
    const iterators = new Map<string, string | undefined>();
    while (!ctx.isStopped()) {
      const description = await ctx.streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
      for (const shard of description.StreamDescription?.Shards ?? []) {
        if (!shard.ShardId || iterators.has(shard.ShardId)) continue;
        const it = await ctx.streams.send(
          new GetShardIteratorCommand({
            StreamArn: streamArn,
            ShardId: shard.ShardId,
            ShardIteratorType: mapping.startingPosition,
          }),
        );
        iterators.set(shard.ShardId, it.ShardIterator);
      }
      let got = 0;
      for (const [shardId, iterator] of iterators) {
        if (!iterator) continue;
        const page = await ctx.streams.send(
          new GetRecordsCommand({ ShardIterator: iterator, Limit: mapping.batchSize }),
        );
        iterators.set(shardId, page.NextShardIterator);
        const records = page.Records ?? [];
        if (records.length > 0) {
          pending = true;
          got += records.length;
          await deliver(records, streamArn);
        }
      }
      pending = false;
      if (got === 0) await sleep(ctx.pollMs);
    }
  })().catch((e: unknown) => {
    if (!ctx.isStopped()) ctx.log(`[streams] ${mapping.tableName}: poller stopped: ${String(e)}`);
  });

  return {
    done,
    async busy() {
      if (pending) return true;
      // Caught up only when one more poll finds nothing: give the poller a full interval.
      await sleep(ctx.pollMs * 2);
      return pending;
    },
  };
}
