/**
 * Point-in-time-correct training rows: for each label event at time T, the latest feature values
 * with eventTime <= T that are still within their TTL, from records ingested no later than the
 * cutoff. Inputs are streams in event-time order, so memory holds only the latest value per entity.
 */
import type { LabelEvent } from '../labels/schema.ts';
import type { FeatureValue, StoredFeatureRecord } from './records.ts';

/** A label event the join reads: when it is not yet stored, `ingestedAt` may be absent (always included). */
export type JoinLabel = LabelEvent & { readonly ingestedAt?: string };

/** One feature group's history, as a stream in event-time order. */
export interface GroupHistory {
  /** The group's name, under which each label event names its entity ID. */
  readonly group: string;
  readonly ttlSeconds: number;
  readonly featureNames: readonly string[];
  readonly records: AsyncIterable<StoredFeatureRecord>;
}

/** A joined training row. */
export interface TrainingRow {
  readonly labelId: string;
  readonly eventTime: string;
  /** Entity ID per feature group. */
  readonly entities: Readonly<Record<string, string>>;
  readonly label: 0 | 1;
  /** Feature-group values (null when absent or past TTL) followed by request features. */
  readonly features: Readonly<Record<string, FeatureValue>>;
  /** eventTime of the record each group's values came from, or null. */
  readonly featureTimes: Readonly<Record<string, string | null>>;
}

/** Thrown when an input stream is not in event-time order (the join would silently leak). */
export class OutOfOrderInputError extends Error {
  override readonly name = 'OutOfOrderInputError';
}

interface Cursor {
  readonly history: GroupHistory;
  readonly iterator: AsyncIterator<StoredFeatureRecord>;
  next: StoredFeatureRecord | undefined;
  done: boolean;
  lastTime: string;
  readonly latest: Map<string, StoredFeatureRecord>;
}

async function advance(cursor: Cursor): Promise<void> {
  const step = await cursor.iterator.next();
  if (step.done) {
    cursor.done = true;
    cursor.next = undefined;
    return;
  }
  if (step.value.eventTime < cursor.lastTime) {
    throw new OutOfOrderInputError(
      `feature group ${cursor.history.group}: record at ${step.value.eventTime} came after ${cursor.lastTime}`,
    );
  }
  cursor.lastTime = step.value.eventTime;
  cursor.next = step.value;
}

/** Joins label events (in event-time order) with each group's history. */
export async function* pointInTimeJoin(
  labels: AsyncIterable<JoinLabel>,
  groups: readonly GroupHistory[],
  cutoff?: string,
): AsyncGenerator<TrainingRow> {
  const cursors: Cursor[] = groups.map((history) => ({
    history,
    iterator: history.records[Symbol.asyncIterator](),
    next: undefined,
    done: false,
    lastTime: '',
    latest: new Map(),
  }));
  for (const c of cursors) await advance(c);
  let lastLabelTime = '';
  for await (const label of labels) {
    if (label.eventTime < lastLabelTime) {
      throw new OutOfOrderInputError(
        `label ${label.labelId} at ${label.eventTime} came after ${lastLabelTime}`,
      );
    }
    lastLabelTime = label.eventTime;
    if (cutoff !== undefined && label.ingestedAt !== undefined && label.ingestedAt > cutoff) continue;
    const features: Record<string, FeatureValue> = {};
    const featureTimes: Record<string, string | null> = {};
    const labelMs = Date.parse(label.eventTime);
    for (const c of cursors) {
      while (c.next && c.next.eventTime <= label.eventTime) {
        const current = c.latest.get(c.next.entityId);
        // Same eventTime twice: keep the record ingested first, as the online store does.
        if (!current || current.eventTime < c.next.eventTime) c.latest.set(c.next.entityId, c.next);
        await advance(c);
      }
      const entityId = label.entities[c.history.group];
      const record = entityId === undefined ? undefined : c.latest.get(entityId);
      const fresh =
        record !== undefined && labelMs < Date.parse(record.eventTime) + c.history.ttlSeconds * 1000;
      for (const name of c.history.featureNames)
        features[name] = fresh ? (record.values[name] ?? null) : null;
      featureTimes[c.history.group] = fresh ? record.eventTime : null;
    }
    Object.assign(features, label.request);
    yield {
      labelId: label.labelId,
      eventTime: label.eventTime,
      entities: label.entities,
      label: label.label,
      features,
      featureTimes,
    };
  }
}
