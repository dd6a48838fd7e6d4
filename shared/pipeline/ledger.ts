/** How the pipeline reads and writes the lineage ledger: idempotent appends and a run's events. */

import {
  type AppendResult,
  appendEvent,
  EventIdConflictError,
  type LedgerLocation,
  type LedgerWriter,
  recordedEvent,
} from '../ledger/append.ts';
import { canonicalJson } from '../ledger/canonical.ts';
import type { LedgerEvent, LedgerEventOf, LedgerEventType, LedgerRecord } from '../ledger/events.ts';
import { LEDGER_INDEX_NAMES } from '../ledger/index-names.ts';
import { parseEventItem } from '../ledger/items.ts';
import { queryAll } from '../ledger/queries.ts';

/** The outcome of {@link appendOnce}. */
export type AppendOnceResult =
  | ({ readonly outcome: 'appended' | 'already-recorded' } & Pick<AppendResult, 'record'>)
  | { readonly outcome: 'recorded-earlier' };

/**
 * Appends an event whose eventId is derived from the run (`<runId>-<what>`). A step retried after
 * its append succeeded builds the same event with a later `time`, which the ledger refuses as a
 * conflicting eventId; for these run-scoped IDs that conflict means "this step already recorded
 * it", so the retry succeeds without a second event.
 */
export async function appendOnce(ledger: LedgerWriter, event: LedgerEvent): Promise<AppendOnceResult> {
  try {
    const result = await appendEvent(ledger, event);
    return { outcome: result.created ? 'appended' : 'already-recorded', record: result.record };
  } catch (e) {
    if (!(e instanceof EventIdConflictError)) throw e;
    // Only the time may differ: a retry that built other facts (another dataset, other metrics)
    // must fail loudly rather than leave the ledger describing what did not happen.
    const stored = (await recordedEvent(ledger, ledger.chain ?? 'main', event.eventId))?.record.event;
    if (stored && canonicalJson({ ...stored, time: '' }) === canonicalJson({ ...event, time: '' })) {
      return { outcome: 'recorded-earlier' };
    }
    throw new RunEventMismatchError(
      `a retried step built a different ${event.type} than the one already recorded as ${event.eventId}; the run cannot continue consistently`,
    );
  }
}

/** A retried step produced facts that differ from what its first attempt recorded. */
export class RunEventMismatchError extends Error {
  override readonly name: string = 'RunEventMismatchError';
}

/** Every ledger record of a run (byRun index), in time order then chain order. */
export async function runRecords(ledger: LedgerLocation, runId: string): Promise<LedgerRecord[]> {
  const { indexName, partitionKey } = LEDGER_INDEX_NAMES.byRun;
  const out: LedgerRecord[] = [];
  for await (const item of queryAll(ledger, {
    IndexName: indexName,
    KeyConditionExpression: '#k = :v',
    ExpressionAttributeNames: { '#k': partitionKey },
    ExpressionAttributeValues: { ':v': runId },
  })) {
    const { canonical: _, ...record } = parseEventItem(item);
    out.push(record);
  }
  return out.sort((a, b) => a.event.time.localeCompare(b.event.time) || a.seq - b.seq);
}

/** The first event of a type among records. */
export function firstOfType<T extends LedgerEventType>(
  records: readonly LedgerRecord[],
  type: T,
): LedgerEventOf<T> | undefined {
  for (const r of records) if (r.event.type === type) return r.event as LedgerEventOf<T>;
  return undefined;
}

/** The run-scoped eventId of a pipeline fact: `<runId>-<what>` (both parts are ledger-ID safe). */
export function runEventId(runId: string, what: string): string {
  return `${runId}-${what}`;
}
