/**
 * The write-once audit archive: the archiver copies every new ledger event, and one chain-head
 * digest per stream batch, to the Object Lock bucket. Verify compares the live table with them,
 * which catches even a rewrite that recomputed every hash up to the head.
 *
 * Layout (keys sort by sequence):
 * - `ledger/<chain>/events/<seq, 12 digits>.json`: `{chain, seq, prevHash, hash, event}` with the
 *   event as its stored canonical JSON string, byte for byte;
 * - `ledger/<chain>/digests/<seq, 12 digits>.json`: `{chain, seq, hash, at}`, the head after a batch.
 */
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { IsoTimeSchema, Sha256Schema } from './events.ts';
import { EVENT_SK_PREFIX, GUARD_SK_PREFIX, HEAD_SK, SEQ_DIGITS } from './items.ts';

/** An archived copy of one event item. */
export const ArchivedEventSchema = z.strictObject({
  chain: z.string().min(1),
  seq: z.number().int().min(1),
  prevHash: Sha256Schema,
  hash: Sha256Schema,
  event: z.string().min(2),
});
export type ArchivedEvent = z.infer<typeof ArchivedEventSchema>;

/** The chain head as the archiver saw it: no live event at `seq` may ever have another hash. */
export const ChainDigestSchema = z.strictObject({
  chain: z.string().min(1),
  seq: z.number().int().min(1),
  hash: Sha256Schema,
  at: IsoTimeSchema,
});
export type ChainDigest = z.infer<typeof ChainDigestSchema>;

/** The archive bucket and the client that reaches it. */
export interface ArchiveLocation {
  readonly s3: S3Client;
  readonly bucket: string;
}

/** One change from the ledger's stream, with its images already unmarshalled. */
export interface LedgerChange {
  readonly eventName: 'INSERT' | 'MODIFY' | 'REMOVE';
  readonly keys: Record<string, unknown>;
  /** Present for INSERT and MODIFY (the stream is NEW_IMAGE). */
  readonly newImage?: Record<string, unknown>;
}

/** A change writers never make: an event or idempotency item modified or removed. */
export interface TamperSignal {
  readonly eventName: 'MODIFY' | 'REMOVE';
  readonly pk: string;
  readonly sk: string;
}

/** What one batch wrote. */
export interface ArchiveBatchResult {
  readonly events: number;
  readonly digests: readonly ChainDigest[];
  readonly tamperSignals: readonly TamperSignal[];
}

const pad = (seq: number) => String(seq).padStart(SEQ_DIGITS, '0');

/** Object key of an archived event. */
export function archivedEventKey(chain: string, seq: number): string {
  return `ledger/${chain}/events/${pad(seq)}.json`;
}

/** Object key of a chain digest. */
export function digestKey(chain: string, seq: number): string {
  return `ledger/${chain}/digests/${pad(seq)}.json`;
}

function chainOf(pk: unknown): string | undefined {
  return typeof pk === 'string' && pk.startsWith('CHAIN#') ? pk.slice('CHAIN#'.length) : undefined;
}

/**
 * Archives one stream batch: each inserted event, then the newest head of each chain as a digest.
 * Objects are put again on a retried batch, which Object Lock keeps as versions of identical bytes.
 */
export async function archiveBatch(
  loc: ArchiveLocation,
  changes: readonly LedgerChange[],
  now: Date,
): Promise<ArchiveBatchResult> {
  const heads = new Map<string, { seq: number; hash: string }>();
  const tamperSignals: TamperSignal[] = [];
  let events = 0;
  for (const change of changes) {
    const pk = String(change.keys.pk);
    const sk = String(change.keys.sk);
    const chain = chainOf(change.keys.pk);
    if (chain === undefined) continue;
    const isRecordItem = sk.startsWith(EVENT_SK_PREFIX) || sk.startsWith(GUARD_SK_PREFIX);
    if (change.eventName !== 'INSERT' && isRecordItem) {
      tamperSignals.push({ eventName: change.eventName, pk, sk });
      continue;
    }
    const image = change.newImage;
    if (!image) continue;
    if (sk === HEAD_SK) {
      const { seq, hash } = image;
      const known = heads.get(chain);
      if (typeof seq === 'number' && typeof hash === 'string' && (!known || seq > known.seq)) {
        heads.set(chain, { seq, hash });
      }
    } else if (sk.startsWith(EVENT_SK_PREFIX)) {
      const archived = ArchivedEventSchema.parse({
        chain,
        seq: image.seq,
        prevHash: image.prevHash,
        hash: image.hash,
        event: image.event,
      });
      await put(loc, archivedEventKey(chain, archived.seq), archived);
      events++;
    }
  }
  const digests: ChainDigest[] = [];
  for (const [chain, head] of heads) {
    const digest: ChainDigest = { chain, seq: head.seq, hash: head.hash, at: now.toISOString() };
    await put(loc, digestKey(chain, head.seq), digest);
    digests.push(digest);
  }
  return { events, digests, tamperSignals };
}

async function put(loc: ArchiveLocation, key: string, body: unknown): Promise<void> {
  await loc.s3.send(
    new PutObjectCommand({
      Bucket: loc.bucket,
      Key: key,
      Body: JSON.stringify(body),
      ContentType: 'application/json',
    }),
  );
}

async function listKeys(loc: ArchiveLocation, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await loc.s3.send(
      new ListObjectsV2Command({ Bucket: loc.bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys.sort();
}

async function getJson(loc: ArchiveLocation, key: string): Promise<unknown> {
  const out = await loc.s3.send(new GetObjectCommand({ Bucket: loc.bucket, Key: key }));
  const text = await out.Body?.transformToString('utf8');
  return JSON.parse(text ?? 'null');
}

/** Everything archived for a chain: digests and event copies, in sequence order. */
export interface ChainArchive {
  readonly digests: readonly ChainDigest[];
  readonly events: readonly ArchivedEvent[];
}

/** Reads a chain's archive (latest version of each object) with read-only S3 access. */
export async function readArchive(loc: ArchiveLocation, chain: string): Promise<ChainArchive> {
  const digests: ChainDigest[] = [];
  for (const key of await listKeys(loc, `ledger/${chain}/digests/`)) {
    digests.push(ChainDigestSchema.parse(await getJson(loc, key)));
  }
  const events: ArchivedEvent[] = [];
  for (const key of await listKeys(loc, `ledger/${chain}/events/`)) {
    events.push(ArchivedEventSchema.parse(await getJson(loc, key)));
  }
  return { digests, events };
}
