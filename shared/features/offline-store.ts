/**
 * The offline feature store: an append-only history in S3, one JSONL object per accepted request
 * and event date: `features/<group>/date=<YYYY-MM-DD>/<hash of the record IDs>.jsonl`. Objects are
 * never rewritten; the key is derived from the content, so a replayed request writes nothing new.
 */
import { ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import pMap, { pMapIterable } from 'p-map';
import { sha256Hex } from '../ledger/canonical.ts';
import { listKeys, objectExists, readText } from '../s3.ts';
import type { FeatureRecord, StoredFeatureRecord } from './records.ts';

/** Where the offline store lives. */
export interface OfflineStoreOptions {
  readonly client: S3Client;
  readonly bucket: string;
  /** @default 'features' */
  readonly prefix?: string;
}

/** UTC calendar date of an ISO time. */
export function dateOf(iso: string): string {
  return iso.slice(0, 10);
}

function partitionPrefix(store: OfflineStoreOptions, group: string, date: string): string {
  return `${store.prefix ?? 'features'}/${group}/date=${date}/`;
}

/** Result of one append. */
export interface OfflineAppend {
  /** Keys written by this call. */
  readonly written: readonly string[];
  /** Keys that already existed (a replay): nothing was written. */
  readonly existing: readonly string[];
  /** IDs of the records whose object already existed: they were accepted before. */
  readonly replayed: ReadonlySet<string>;
}

/** Appends accepted records, one object per event date, before they reach the online store. */
export function appendOffline(
  store: OfflineStoreOptions,
  records: readonly FeatureRecord[],
  ingestedAt: string,
): Promise<OfflineAppend> {
  return appendPartitioned(
    store.client,
    store.bucket,
    records.map((r) => ({
      prefix: partitionPrefix(store, r.group, dateOf(r.eventTime)),
      id: r.recordId,
      row: { ...r, ingestedAt } satisfies StoredFeatureRecord,
    })),
  );
}

/** One row to append: its partition (`…/date=<day>/`), its content ID and what is stored. */
export interface PartitionedRow {
  readonly prefix: string;
  readonly id: string;
  readonly row: unknown;
}

/**
 * Appends rows as one JSONL object per partition, named by the hash of its row IDs: a replayed
 * request finds its object already there and writes nothing. Objects are never rewritten.
 */
export async function appendPartitioned(
  client: S3Client,
  bucket: string,
  rows: readonly PartitionedRow[],
): Promise<OfflineAppend> {
  const byPartition = new Map<string, PartitionedRow[]>();
  for (const r of rows) {
    const list = byPartition.get(r.prefix) ?? [];
    list.push(r);
    byPartition.set(r.prefix, list);
  }
  const written: string[] = [];
  const existing: string[] = [];
  const replayed = new Set<string>();
  for (const [prefix, list] of byPartition) {
    const ids = list.map((r) => r.id).sort();
    const key = `${prefix}${sha256Hex(ids.join('\n')).slice(0, 32)}.jsonl`;
    if (await objectExists(client, { bucket, key })) {
      existing.push(key);
      for (const id of ids) replayed.add(id);
      continue;
    }
    const body = `${list.map((r) => JSON.stringify(r.row)).join('\n')}\n`;
    try {
      await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: body,
          ContentType: 'application/x-ndjson',
          // Two identical requests racing past the HEAD check: only the first write lands.
          IfNoneMatch: '*',
        }),
      );
    } catch (e) {
      if ((e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 412) throw e;
      existing.push(key);
      for (const id of ids) replayed.add(id);
      continue;
    }
    written.push(key);
  }
  return { written, existing, replayed };
}

/** `date` plus `days` whole days, as YYYY-MM-DD. */
export function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00.000Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

/**
 * Orders records by event time, entity, then ingestion time (the first arrival wins a tie, as in
 * the online store) and ID, so every reader sees the same sequence.
 */
export function compareRecords(a: StoredFeatureRecord, b: StoredFeatureRecord): number {
  return (
    a.eventTime.localeCompare(b.eventTime) ||
    a.entityId.localeCompare(b.entityId) ||
    a.ingestedAt.localeCompare(b.ingestedAt) ||
    a.recordId.localeCompare(b.recordId)
  );
}

/** The `date=YYYY-MM-DD` partitions under `prefix`, sorted. */
export async function listPartitionDates(
  client: S3Client,
  bucket: string,
  prefix: string,
): Promise<string[]> {
  const dates: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, Delimiter: '/', ContinuationToken: token }),
    );
    for (const p of page.CommonPrefixes ?? []) {
      const m = /date=(\d{4}-\d{2}-\d{2})\/$/.exec(p.Prefix ?? '');
      if (m?.[1]) dates.push(m[1]);
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return dates.sort();
}

/** Day partitions read at once, and objects of one day fetched at once (bounded concurrency). */
export const PARTITION_READ_CONCURRENCY = 8;

/** Where a stored line came from, for the reader's reports. */
export interface StoredLine {
  readonly key: string;
  /** The day partition the object is in (YYYY-MM-DD). */
  readonly date: string;
  /** 1-based line number in the object. */
  readonly line: number;
}

/** How {@link readDailyPartitions} reads, filters and orders rows. */
export interface DailyReadOptions<T> {
  /**
   * Turns one stored line into a row, or undefined to skip it (the decoder reports why).
   * @default JSON.parse
   */
  readonly decode?: (text: string, where: StoredLine) => T | undefined;
  readonly keep: (row: T) => boolean;
  readonly idOf: (row: T) => string;
  readonly compare: (a: T, b: T) => number;
  /** @default PARTITION_READ_CONCURRENCY */
  readonly concurrency?: number;
}

/**
 * Streams JSONL rows stored in daily partitions `<prefix>date=<day>/`, day by day in order, each
 * day filtered, de-duplicated by `idOf` (first kept wins per `compare`) and sorted with
 * `compare`. Only days that hold objects are read, a few at once while earlier days are being
 * consumed, so a year of daily files costs seconds, not minutes of sequential GETs; memory holds
 * at most `concurrency` days.
 */
export async function* readDailyPartitions<T>(
  client: S3Client,
  bucket: string,
  prefix: string,
  fromDate: string,
  toDate: string,
  options: DailyReadOptions<T>,
): AsyncGenerator<T> {
  const concurrency = options.concurrency ?? PARTITION_READ_CONCURRENCY;
  const decode = options.decode ?? ((text: string) => JSON.parse(text) as T);
  const dates = (await listPartitionDates(client, bucket, prefix)).filter(
    (d) => d >= fromDate && d <= toDate,
  );
  const readDay = async (date: string): Promise<T[]> => {
    const keys = await listKeys(client, bucket, `${prefix}date=${date}/`);
    const texts = await pMap(keys, (key) => readText(client, { bucket, key }), { concurrency });
    const byId = new Map<string, T>();
    texts.forEach((text, k) => {
      const key = keys[k] ?? '';
      text.split('\n').forEach((line, i) => {
        if (!line) return;
        const row = decode(line, { key, date, line: i + 1 });
        if (row === undefined || !options.keep(row)) return;
        const id = options.idOf(row);
        const seen = byId.get(id);
        if (!seen || options.compare(row, seen) < 0) byId.set(id, row);
      });
    });
    return [...byId.values()].sort(options.compare);
  };
  for await (const rows of pMapIterable(dates, readDay, { concurrency })) yield* rows;
}

/**
 * Streams a group's history in event-time order, one day partition at a time (memory is bounded
 * by one day of one group). Records ingested after `cutoff` are skipped, so a later backfill
 * cannot change what an earlier read saw; a record stored twice (a retried request) is read once.
 */
export function readOffline(
  store: OfflineStoreOptions,
  group: string,
  fromDate: string,
  toDate: string,
  cutoff?: string,
): AsyncGenerator<StoredFeatureRecord> {
  return readDailyPartitions<StoredFeatureRecord>(
    store.client,
    store.bucket,
    `${store.prefix ?? 'features'}/${group}/`,
    fromDate,
    toDate,
    {
      keep: (r) => cutoff === undefined || r.ingestedAt <= cutoff,
      idOf: (r) => r.recordId,
      compare: compareRecords,
    },
  );
}
