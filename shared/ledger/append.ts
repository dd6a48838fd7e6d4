/**
 * Appending to the lineage ledger: one DynamoDB transaction per event that
 *  1. puts the idempotency item `EVENTID#<eventId>` (attribute_not_exists),
 *  2. puts the event item `EVENT#<seq>` (attribute_not_exists),
 *  3. puts the chain head `HEAD`, conditional on it still being at `seq - 1`.
 *
 * Writers only ever put: the head advances by a conditional Put, never an UpdateItem, so the
 * writer role can be denied UpdateItem and DeleteItem outright. Two writers that read the same
 * head race on condition 3; exactly one wins, the other re-reads the head and retries with
 * jittered exponential backoff. So the chain can neither fork (two events at one seq) nor gap.
 * A repeated eventId fails condition 1 in the same transaction, which makes retries race-safe.
 */
import { TransactionCanceledException, TransactionConflictException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { ConflictError, InvalidInputError, ServiceUnavailableError } from '../errors.ts';
import { toFieldProblems } from '../validation.ts';
import { GENESIS_HASH, linkHash } from './canonical.ts';
import { type LedgerEvent, LedgerEventSchema, type LedgerRecord } from './events.ts';
import {
  canonicalEvent,
  chainPk,
  DEFAULT_CHAIN,
  eventSk,
  guardSk,
  HEAD_SK,
  LedgerIntegrityError,
  parseEventItem,
  toEventItem,
} from './items.ts';
import type { LedgerSigner } from './signing.ts';

/** Where the ledger lives. */
export interface LedgerLocation {
  /** Document client (its endpoint honours `AWS_ENDPOINT_URL_DYNAMODB`). */
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  /**
   * Chain to use. One chain per deployment keeps a single total order across use cases, which
   * is what "events in a time range" and one verify over everything need; the product's
   * ledger event rate (pipeline steps, reports) is far below what one head item sustains.
   * @default 'main'
   */
  readonly chain?: string;
}

/** Where the ledger lives and how its writers sign: what an append needs. */
export interface LedgerWriter extends LedgerLocation {
  /** Signs each event's hash with the writers' KMS key; verify rejects an unsigned event. */
  readonly signer: LedgerSigner;
}

/** How hard an appender retries when another writer advanced the head first. */
export interface AppendRetryOptions {
  /**
   * Attempts before giving up with LedgerContentionError.
   * @default 40
   */
  readonly maxAttempts?: number;
  /**
   * First backoff ceiling in ms; it doubles per attempt (full jitter).
   * @default 10
   */
  readonly baseDelayMs?: number;
  /**
   * Largest backoff ceiling in ms.
   * @default 500
   */
  readonly maxDelayMs?: number;
}

/** The outcome of an append. */
export interface AppendResult {
  readonly record: LedgerRecord;
  /** False when the eventId was already recorded with the same content (an idempotent retry). */
  readonly created: boolean;
  /** Transactions tried, 0 when the eventId was found before any attempt. */
  readonly attempts: number;
}

/** The eventId is already recorded with different content. */
export class EventIdConflictError extends ConflictError {
  override readonly name: string = 'EventIdConflictError';
}

/** Too many concurrent writers: the head moved on every attempt. Safe to retry later (HTTP 503). */
export class LedgerContentionError extends ServiceUnavailableError {
  override readonly name: string = 'LedgerContentionError';
}

/** The current chain head: the last seq and its hash. */
export interface ChainHead {
  readonly seq: number;
  readonly hash: string;
}

/** Reads the chain head with a strongly consistent read; undefined for an empty chain. */
export async function readHead(loc: LedgerLocation): Promise<ChainHead | undefined> {
  const chain = loc.chain ?? DEFAULT_CHAIN;
  const out = await loc.client.send(
    new GetCommand({
      TableName: loc.tableName,
      Key: { pk: chainPk(chain), sk: HEAD_SK },
      ConsistentRead: true,
    }),
  );
  if (!out.Item) return undefined;
  const { seq, hash } = out.Item;
  if (typeof seq !== 'number' || typeof hash !== 'string') {
    throw new LedgerIntegrityError(`CHAIN#${chain}/HEAD: seq or hash is missing`);
  }
  return { seq, hash };
}

/** Validates `input` as a ledger event, or throws InvalidInputError naming each bad field. */
export function parseLedgerEvent(input: unknown): LedgerEvent {
  const parsed = LedgerEventSchema.safeParse(input, { reportInput: true });
  if (!parsed.success) {
    throw new InvalidInputError('invalid ledger event', toFieldProblems(parsed.error));
  }
  return parsed.data;
}

/**
 * The record stored under `eventId` on `chain`, read consistently through its idempotency item,
 * with the canonical JSON it was hashed from; undefined when no event has that ID.
 */
export async function recordedEvent(
  loc: LedgerLocation,
  chain: string,
  eventId: string,
): Promise<{ readonly record: LedgerRecord; readonly canonical: string } | undefined> {
  const guard = await loc.client.send(
    new GetCommand({
      TableName: loc.tableName,
      Key: { pk: chainPk(chain), sk: guardSk(eventId) },
      ConsistentRead: true,
    }),
  );
  if (!guard.Item) return undefined;
  const seq = guard.Item.seq;
  if (typeof seq !== 'number') throw new LedgerIntegrityError(`CHAIN#${chain}/${guardSk(eventId)}: no seq`);
  const stored = await loc.client.send(
    new GetCommand({
      TableName: loc.tableName,
      Key: { pk: chainPk(chain), sk: eventSk(seq) },
      ConsistentRead: true,
    }),
  );
  if (!stored.Item)
    throw new LedgerIntegrityError(`eventId ${eventId} points to seq ${seq}, which is missing`);
  const { canonical, ...record } = parseEventItem(stored.Item);
  return { record, canonical };
}

/** The record already stored under `eventId`, when it holds exactly `canonical` (else a conflict). */
async function existingRecord(
  loc: LedgerLocation,
  chain: string,
  eventId: string,
  canonical: string,
): Promise<LedgerRecord | undefined> {
  const found = await recordedEvent(loc, chain, eventId);
  if (!found) return undefined;
  if (found.canonical !== canonical) {
    throw new EventIdConflictError(
      `eventId ${eventId} is already recorded at seq ${found.record.seq} with different content; use a new eventId`,
    );
  }
  return found.record;
}

/** Whether a failed transaction lost a race (retry) rather than hit a real error. */
function isContention(e: unknown): e is TransactionCanceledException | TransactionConflictException {
  return e instanceof TransactionCanceledException || e instanceof TransactionConflictException;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Appends `input` (validated as a LedgerEvent) to the chain. Retrying with the same eventId and
 * content returns the existing record; the same eventId with other content is refused.
 */
export async function appendEvent(
  loc: LedgerWriter,
  input: unknown,
  retry: AppendRetryOptions = {},
): Promise<AppendResult> {
  const chain = loc.chain ?? DEFAULT_CHAIN;
  const event = parseLedgerEvent(input);
  const canonical = canonicalEvent(event);
  const maxAttempts = retry.maxAttempts ?? 40;
  const base = retry.baseDelayMs ?? 10;
  const cap = retry.maxDelayMs ?? 500;

  const known = await existingRecord(loc, chain, event.eventId, canonical);
  if (known) return { record: known, created: false, attempts: 0 };

  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const head = await readHead(loc);
    const seq = (head?.seq ?? 0) + 1;
    const prevHash = head?.hash ?? GENESIS_HASH;
    const hash = linkHash(prevHash, canonical);
    // Signed per attempt: a lost race changes seq and prevHash, so the hash too.
    const { signature, keyArn } = await loc.signer.sign(hash);
    const record: LedgerRecord = { chain, seq, prevHash, hash, event, signature, signingKey: keyArn };
    try {
      await loc.client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: loc.tableName,
                Item: {
                  pk: chainPk(chain),
                  sk: guardSk(event.eventId),
                  eventId: event.eventId,
                  seq,
                  hash: record.hash,
                },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            {
              Put: {
                TableName: loc.tableName,
                Item: toEventItem(record, canonical),
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            {
              Put: {
                TableName: loc.tableName,
                Item: { pk: chainPk(chain), sk: HEAD_SK, seq, hash: record.hash, eventId: event.eventId },
                ...(head
                  ? {
                      ConditionExpression: '#seq = :expected',
                      ExpressionAttributeNames: { '#seq': 'seq' },
                      ExpressionAttributeValues: { ':expected': head.seq },
                    }
                  : { ConditionExpression: 'attribute_not_exists(pk)' }),
              },
            },
          ],
        }),
      );
      return { record, created: true, attempts: attempt };
    } catch (e) {
      if (!isContention(e)) throw e;
      // The guard failed: someone recorded this eventId meanwhile (a concurrent retry of the same call).
      if (
        e instanceof TransactionCanceledException &&
        e.CancellationReasons?.[0]?.Code === 'ConditionalCheckFailed'
      ) {
        const existing = await existingRecord(loc, chain, event.eventId, canonical);
        if (existing) return { record: existing, created: false, attempts: attempt };
      }
      if (attempt < maxAttempts) await sleep(Math.random() * Math.min(cap, base * 2 ** (attempt - 1)));
    }
  }
  throw new LedgerContentionError(
    `could not append ${event.eventId} to chain ${chain} after ${maxAttempts} attempts: the head kept moving`,
  );
}
