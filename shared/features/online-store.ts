/**
 * The online feature store: the latest value per (group, entity) in DynamoDB. A write only lands
 * when its eventTime is newer than the stored one, so a late event never overwrites a newer value.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { FeatureRecord, FeatureValue } from './records.ts';

/** What happened to one record in the online store. */
export type OnlineWriteOutcome =
  /** It is now the latest value. */
  | 'updated'
  /** A newer (or equally recent) value was already stored, or came in the same request, and was kept. */
  | 'stale'
  /** The very same record was already the latest value. */
  | 'duplicate';

/** A value read back for serving. */
export interface OnlineFeatures {
  readonly group: string;
  readonly entityId: string;
  readonly eventTime: string;
  readonly values: Readonly<Record<string, FeatureValue>>;
}

/** A read that found nothing servable, and why. */
export interface MissingFeatures {
  readonly group: string;
  readonly entityId: string;
  readonly reason: 'absent' | 'expired';
  /** eventTime of the expired value. */
  readonly eventTime?: string;
}

interface OnlineItem {
  pk: string;
  group: string;
  entityId: string;
  eventTime: string;
  ingestedAt: string;
  recordId: string;
  values: Record<string, FeatureValue>;
  /** Epoch seconds at which DynamoDB TTL may delete the item. */
  expiresAt: number;
}

/** Partition key of an online item. */
export function onlineKey(group: string, entityId: string): string {
  return `${group}#${entityId}`;
}

/** Where the online store lives and how long its values stay valid. */
export interface OnlineStoreOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
}

/** Writes `record` if it is newer than the stored value. */
export async function putLatest(
  store: OnlineStoreOptions,
  record: FeatureRecord,
  ttlSeconds: number,
  ingestedAt: string,
): Promise<OnlineWriteOutcome> {
  const item: OnlineItem = {
    pk: onlineKey(record.group, record.entityId),
    group: record.group,
    entityId: record.entityId,
    eventTime: record.eventTime,
    ingestedAt,
    recordId: record.recordId,
    values: { ...record.values },
    expiresAt: Math.floor(Date.parse(record.eventTime) / 1000) + ttlSeconds,
  };
  try {
    await store.client.send(
      new PutCommand({
        TableName: store.tableName,
        Item: item,
        // ISO-8601 UTC strings of equal length compare like the times they denote.
        ConditionExpression: 'attribute_not_exists(pk) OR eventTime < :t',
        ExpressionAttributeValues: { ':t': record.eventTime },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return 'updated';
  } catch (e) {
    if (e instanceof ConditionalCheckFailedException) {
      return e.Item?.recordId?.S === record.recordId ? 'duplicate' : 'stale';
    }
    throw e;
  }
}

function toServing(item: OnlineItem, ttlSeconds: number, now: number): OnlineFeatures | MissingFeatures {
  if (Date.parse(item.eventTime) + ttlSeconds * 1000 <= now) {
    return { group: item.group, entityId: item.entityId, reason: 'expired', eventTime: item.eventTime };
  }
  return { group: item.group, entityId: item.entityId, eventTime: item.eventTime, values: item.values };
}

/** Reads the latest value; a value older than the TTL is reported as missing even before DynamoDB deletes it. */
export async function getLatest(
  store: OnlineStoreOptions,
  group: string,
  entityId: string,
  ttlSeconds: number,
  now: number = Date.now(),
): Promise<OnlineFeatures | MissingFeatures> {
  const out = await store.client.send(
    new GetCommand({
      TableName: store.tableName,
      Key: { pk: onlineKey(group, entityId) },
      ConsistentRead: true,
    }),
  );
  if (!out.Item) return { group, entityId, reason: 'absent' };
  return toServing(out.Item as OnlineItem, ttlSeconds, now);
}

/** Reads many (group, entity) pairs with BatchGetItem, retrying unprocessed keys. */
export async function getManyLatest(
  store: OnlineStoreOptions,
  requests: readonly { group: string; entityId: string; ttlSeconds: number }[],
  now: number = Date.now(),
): Promise<(OnlineFeatures | MissingFeatures)[]> {
  const found = new Map<string, OnlineItem>();
  const unique = [...new Set(requests.map((r) => onlineKey(r.group, r.entityId)))];
  for (let i = 0; i < unique.length; i += 100) {
    let keys: Record<string, unknown>[] = unique.slice(i, i + 100).map((pk) => ({ pk }));
    for (let attempt = 0; keys.length > 0; attempt++) {
      if (attempt > 8)
        throw new Error(`BatchGetItem left ${keys.length} keys unprocessed after ${attempt} attempts`);
      if (attempt > 0) await new Promise((r) => setTimeout(r, 2 ** attempt * 10));
      const out = await store.client.send(
        new BatchGetCommand({ RequestItems: { [store.tableName]: { Keys: keys, ConsistentRead: true } } }),
      );
      for (const item of out.Responses?.[store.tableName] ?? [])
        found.set(String(item.pk), item as OnlineItem);
      keys = out.UnprocessedKeys?.[store.tableName]?.Keys ?? [];
    }
  }
  return requests.map((r) => {
    const item = found.get(onlineKey(r.group, r.entityId));
    return item
      ? toServing(item, r.ttlSeconds, now)
      : { group: r.group, entityId: r.entityId, reason: 'absent' };
  });
}

/** True when a read returned servable values. */
export function isPresent(f: OnlineFeatures | MissingFeatures): f is OnlineFeatures {
  return 'values' in f;
}
