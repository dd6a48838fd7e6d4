/**
 * Ingestion: validate records against their group's schema, append the accepted ones to the
 * offline store, then write the online store. The offline append comes first so that a fault
 * between the two never loses history that the online store already shows.
 */
import type { FeatureGroup, UseCase } from '../config/use-case.ts';
import { NotFoundError } from '../errors.ts';
import { type Rejection, someAcceptedOrThrow, validateEach } from '../validation.ts';
import { appendOffline, type OfflineStoreOptions } from './offline-store.ts';
import { type OnlineStoreOptions, type OnlineWriteOutcome, putLatest } from './online-store.ts';
import { type FeatureRecord, recordInputSchema, toFeatureRecord } from './records.ts';

/** A request named a feature group no use case declares (HTTP 404). */
export class UnknownFeatureGroupError extends NotFoundError {
  override readonly name = 'UnknownFeatureGroupError';
  constructor(
    readonly group: string,
    known: readonly string[] = [],
  ) {
    super(
      `group: unknown feature group '${group}'${known.length > 0 ? `; known groups: ${known.join(', ')}` : ''}`,
    );
  }
}

/** The stores and clock ingestion uses. */
export interface IngestContext {
  readonly online: OnlineStoreOptions;
  readonly offline: OfflineStoreOptions;
  /** @default Date.now */
  readonly now?: () => number;
}

/** Every feature group of every use case, by name. */
export function featureGroupIndex(useCases: readonly UseCase[]): Map<string, FeatureGroup> {
  const index = new Map<string, FeatureGroup>();
  for (const uc of useCases) for (const g of uc.featureGroups) index.set(g.name, g);
  return index;
}

/** A record that failed validation, with every problem. */
export type { Rejection };

/** Validates raw records; never throws on bad records. */
export function validateRecords(
  group: FeatureGroup,
  raw: readonly unknown[],
  now: () => number = Date.now,
  indexOffset = 0,
): { accepted: FeatureRecord[]; acceptedIndexes: number[]; rejected: Rejection[] } {
  return validateEach(recordInputSchema(group, now), raw, (r) => toFeatureRecord(group.name, r), indexOffset);
}

/**
 * A batch request's records: each validated, the valid ones written, every rejection returned;
 * InvalidInputError (nothing written) when none is valid.
 */
export async function ingestBatch(
  ctx: IngestContext,
  group: FeatureGroup,
  raw: readonly unknown[],
): Promise<{ accepted: number; rejected: Rejection[]; results: RecordResult[] }> {
  const { accepted, rejected } = someAcceptedOrThrow(
    'records',
    'record',
    validateRecords(group, raw, ctx.now),
  );
  return { accepted: accepted.length, rejected, results: await writeRecords(ctx, group, accepted) };
}

/** What happened to one accepted record. */
export interface RecordResult {
  readonly entityId: string;
  readonly eventTime: string;
  readonly recordId: string;
  readonly outcome: OnlineWriteOutcome;
}

/** Writes validated records of one group: offline history first, then the online latest values. */
export async function writeRecords(
  ctx: IngestContext,
  group: FeatureGroup,
  records: readonly FeatureRecord[],
): Promise<RecordResult[]> {
  if (records.length === 0) return [];
  const ingestedAt = new Date((ctx.now ?? Date.now)()).toISOString();
  const { replayed } = await appendOffline(ctx.offline, records, ingestedAt);
  // Only each entity's newest record of the request can end up online, so only it is written:
  // the others are stale already (a batch of one entity's history costs one write, not one per
  // record). Two records of one entity at the same eventTime: the training join keeps the smaller
  // record ID (same ingestedAt), so the online store keeps that one too.
  const winners = new Map<string, FeatureRecord>();
  for (const r of records) {
    const current = winners.get(r.entityId);
    if (
      current === undefined ||
      r.eventTime > current.eventTime ||
      (r.eventTime === current.eventTime && r.recordId < current.recordId)
    ) {
      winners.set(r.entityId, r);
    }
  }
  const results: RecordResult[] = [];
  // Bounded parallelism: DynamoDB handles it, Lambda memory and sockets stay small.
  for (let i = 0; i < records.length; i += 16) {
    const slice = records.slice(i, i + 16);
    const written = await Promise.all(
      slice.map(async (r) => {
        if (winners.get(r.entityId) !== r) {
          return {
            entityId: r.entityId,
            eventTime: r.eventTime,
            recordId: r.recordId,
            outcome: replayed.has(r.recordId) ? ('duplicate' as const) : ('stale' as const),
          };
        }
        // The online write still runs for a replay: it repairs a request that failed after the
        // offline append. It changes nothing otherwise, and the record reports as a duplicate.
        const online = await putLatest(ctx.online, r, group.ttlSeconds, ingestedAt);
        const outcome: OnlineWriteOutcome =
          online !== 'updated' && replayed.has(r.recordId) ? 'duplicate' : online;
        return { entityId: r.entityId, eventTime: r.eventTime, recordId: r.recordId, outcome };
      }),
    );
    results.push(...written);
  }
  return results;
}
