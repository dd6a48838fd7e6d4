/**
 * How ledger records map to DynamoDB items (the layout the README's "For auditors" section
 * documents and `LedgerTable` indexes):
 *
 * | item            | pk              | sk                          |
 * |-----------------|-----------------|-----------------------------|
 * | event           | `CHAIN#<chain>` | `EVENT#<seq, 12 digits>`    |
 * | idempotency key | `CHAIN#<chain>` | `EVENTID#<eventId>`         |
 * | chain head      | `CHAIN#<chain>` | `HEAD`                      |
 *
 * Event items also carry the sparse index attributes `modelVersion`, `datasetHash`,
 * `endpointName`, `runId` and `day`, all sorted by `at` (the event time in UTC with
 * milliseconds). Every attribute of an event item is derived from the hashed event, so verify can
 * check the indexes as well as the chain.
 */
import { InvalidInputError } from '../errors.ts';
import { CanonicalJsonError, canonicalJson } from './canonical.ts';
import { type LedgerEvent, LedgerEventSchema, type LedgerRecord } from './events.ts';

/** Digits of the zero-padded sequence number in event sort keys (up to 10^12 - 1 events). */
export const SEQ_DIGITS = 12;
/** Chain used when the caller names none: one chain per deployment of the product. */
export const DEFAULT_CHAIN = 'main';
/** Sort key of the chain-head item. */
export const HEAD_SK = 'HEAD';
/** Sort-key prefix of event items. */
export const EVENT_SK_PREFIX = 'EVENT#';
/** Sort-key prefix of the idempotency items. */
export const GUARD_SK_PREFIX = 'EVENTID#';

/**
 * A stored ledger record is unreadable or inconsistent; `verify` says exactly how. A server
 * fault, not the caller's: it maps to 500 and its message (which names items) stays in the logs.
 */
export class LedgerIntegrityError extends Error {
  override readonly name: string = 'LedgerIntegrityError';
}

/** Partition key of a chain. */
export function chainPk(chain: string): string {
  return `CHAIN#${chain}`;
}

/** Sort key of the event at `seq`. */
export function eventSk(seq: number): string {
  return `${EVENT_SK_PREFIX}${String(seq).padStart(SEQ_DIGITS, '0')}`;
}

/** Sort key of the idempotency item of `eventId`. */
export function guardSk(eventId: string): string {
  return `${GUARD_SK_PREFIX}${eventId}`;
}

/** The sequence number in an event sort key, or undefined when `sk` is not one. */
export function seqOfSk(sk: string): number | undefined {
  const m = /^EVENT#(\d{12})$/.exec(sk);
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

/** Normalizes an ISO time to the index sort key form: UTC with milliseconds, so strings sort by time. */
export function toAt(time: string): string {
  return new Date(time).toISOString();
}

/** The index attributes an event is found by. */
export interface IndexAttributes {
  readonly at: string;
  readonly day: string;
  readonly modelVersion?: string;
  readonly datasetHash?: string;
  readonly endpointName?: string;
  readonly runId?: string;
}

/** Derives the sparse index attributes from an event (absent links stay absent: sparse indexes). */
export function indexAttributes(event: LedgerEvent): IndexAttributes {
  const at = toAt(event.time);
  const links = event as Partial<Record<'modelVersion' | 'datasetHash' | 'endpointName' | 'runId', string>>;
  const out: { -readonly [K in keyof IndexAttributes]: IndexAttributes[K] } = { at, day: at.slice(0, 10) };
  for (const name of ['modelVersion', 'datasetHash', 'endpointName', 'runId'] as const) {
    const value = links[name];
    if (typeof value === 'string') out[name] = value;
  }
  return out;
}

/** The DynamoDB item (document form) that stores `record`. */
export function toEventItem(record: LedgerRecord, canonical: string): Record<string, string | number> {
  return {
    pk: chainPk(record.chain),
    sk: eventSk(record.seq),
    seq: record.seq,
    eventId: record.event.eventId,
    type: record.event.type,
    useCase: record.event.useCase,
    prevHash: record.prevHash,
    hash: record.hash,
    event: canonical,
    ...indexAttributes(record.event),
    ...(record.signature === undefined ? {} : { signature: record.signature }),
    ...(record.signingKey === undefined ? {} : { signingKey: record.signingKey }),
  };
}

/** Reads the event of a stored item, or throws LedgerIntegrityError naming the item. */
export function parseEventItem(item: Record<string, unknown>): LedgerRecord & { readonly canonical: string } {
  const where = `${String(item.pk)}/${String(item.sk)}`;
  const { pk, seq, prevHash, hash, event, signature, signingKey } = item;
  if (typeof pk !== 'string' || !pk.startsWith('CHAIN#')) throw new LedgerIntegrityError(`${where}: bad pk`);
  if (typeof seq !== 'number' || typeof prevHash !== 'string' || typeof hash !== 'string') {
    throw new LedgerIntegrityError(`${where}: seq, prevHash or hash is missing`);
  }
  if (typeof event !== 'string') throw new LedgerIntegrityError(`${where}: the event body is missing`);
  let json: unknown;
  try {
    json = JSON.parse(event);
  } catch {
    throw new LedgerIntegrityError(`${where}: the event body is not JSON`);
  }
  const parsed = LedgerEventSchema.safeParse(json);
  if (!parsed.success) throw new LedgerIntegrityError(`${where}: the event body is not a valid ledger event`);
  return {
    chain: pk.slice('CHAIN#'.length),
    seq,
    prevHash,
    hash,
    event: parsed.data,
    canonical: event,
    ...(typeof signature === 'string' ? { signature } : {}),
    ...(typeof signingKey === 'string' ? { signingKey } : {}),
  };
}

/** Canonical JSON of an event, mapping a canonicalization failure to a caller error. */
export function canonicalEvent(event: LedgerEvent): string {
  try {
    return canonicalJson(event);
  } catch (e) {
    if (e instanceof CanonicalJsonError)
      throw new InvalidInputError(`event cannot be canonicalized: ${e.message}`);
    throw e;
  }
}
