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
import { ListObjectVersionsCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import * as z from 'zod';
import { listKeys, readText } from '../s3.ts';
import { IsoTimeSchema, Sha256Schema } from './events.ts';
import { EVENT_SK_PREFIX, GUARD_SK_PREFIX, HEAD_SK, SEQ_DIGITS } from './items.ts';
import type { SignatureChecker } from './signing.ts';

/** An archived copy of one event item. */
export const ArchivedEventSchema = z.strictObject({
  chain: z.string().min(1),
  seq: z.number().int().min(1),
  prevHash: Sha256Schema,
  hash: Sha256Schema,
  event: z.string().min(2),
  /** The writers' signature of `hash` (base64 DER) and the key that made it. */
  signature: z.string().min(1),
  signingKey: z.string().min(1),
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

/**
 * A change writers never make: an event or idempotency item modified or removed, or an event
 * inserted without a valid signature (someone with table access appending behind the writers).
 */
export interface TamperSignal {
  readonly eventName: 'INSERT' | 'MODIFY' | 'REMOVE';
  readonly pk: string;
  readonly sk: string;
  readonly reason: string;
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
 * Archives one stream batch: each inserted event whose signature checks out, then the newest head
 * of each chain as a digest when that head is an event archived in this batch. An unsigned event
 * is not archived, and no digest vouches for a head on it: the archive only holds what the
 * writers signed. Objects are put again on a retried batch, which Object Lock keeps as versions
 * of identical bytes.
 */
export async function archiveBatch(
  loc: ArchiveLocation,
  changes: readonly LedgerChange[],
  now: Date,
  signatures: SignatureChecker,
): Promise<ArchiveBatchResult> {
  const heads = new Map<string, { seq: number; hash: string }>();
  const signedHashes = new Set<string>();
  const tamperSignals: TamperSignal[] = [];
  let events = 0;
  for (const change of changes) {
    const pk = String(change.keys.pk);
    const sk = String(change.keys.sk);
    const chain = chainOf(change.keys.pk);
    if (chain === undefined) continue;
    const isRecordItem = sk.startsWith(EVENT_SK_PREFIX) || sk.startsWith(GUARD_SK_PREFIX);
    if (change.eventName !== 'INSERT' && isRecordItem) {
      tamperSignals.push({
        eventName: change.eventName,
        pk,
        sk,
        reason: 'ledger items are never changed after append',
      });
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
      const { signature, signingKey } = image;
      const signed =
        typeof signature === 'string' &&
        signingKey === signatures.keyArn &&
        typeof image.hash === 'string' &&
        signatures.check(image.hash, signature);
      if (!signed) {
        tamperSignals.push({
          eventName: 'INSERT',
          pk,
          sk,
          reason: 'the event is not signed with the ledger key',
        });
        continue;
      }
      const archived = ArchivedEventSchema.parse({
        chain,
        seq: image.seq,
        prevHash: image.prevHash,
        hash: image.hash,
        event: image.event,
        signature,
        signingKey,
      });
      await put(loc, archivedEventKey(chain, archived.seq), archived);
      signedHashes.add(archived.hash);
      events++;
    }
  }
  const digests: ChainDigest[] = [];
  for (const [chain, head] of heads) {
    if (!signedHashes.has(head.hash)) continue;
    const digest: ChainDigest = { chain, seq: head.seq, hash: head.hash, at: now.toISOString() };
    await put(loc, digestKey(chain, head.seq), digest);
    digests.push(digest);
  }
  return { events, digests, tamperSignals };
}

/**
 * Puts an archive object. Where the store refuses to replace an object in retention (the local
 * emulator; a bucket policy could too), the object already there is accepted when it records the
 * same link, as a retried batch would write it (a digest differs only in its `at`).
 */
async function put(loc: ArchiveLocation, key: string, body: ArchivedEvent | ChainDigest): Promise<void> {
  try {
    await loc.s3.send(
      new PutObjectCommand({
        Bucket: loc.bucket,
        Key: key,
        Body: JSON.stringify(body),
        ContentType: 'application/json',
      }),
    );
  } catch (e) {
    if (!(e instanceof Error) || e.name !== 'AccessDenied') throw e;
    const existing = JSON.parse(await getText(loc, key)) as Partial<ArchivedEvent & ChainDigest>;
    if (existing.seq !== body.seq || existing.hash !== body.hash) throw e;
  }
}

/** One stored version of an archive object, with its bytes. */
export interface ArchiveObjectVersion {
  readonly key: string;
  /** When this version was written; undefined when the store does not say. */
  readonly lastModified?: Date;
  readonly body: string;
}

/** The bytes each key was first written with, and the keys later rewritten with other bytes. */
export interface SettledVersions {
  readonly original: ReadonlyMap<string, string>;
  readonly rewrittenKeys: readonly string[];
}

/**
 * Picks each key's oldest version and names the keys whose versions do not all hold the same
 * bytes. Object Lock forbids deleting a version but not putting a newer one, so only the oldest
 * is what the archiver wrote. `versions` is in ListObjectVersions order (newest first per key),
 * which breaks ties between equal `lastModified` times.
 */
export function settleVersions(versions: readonly ArchiveObjectVersion[]): SettledVersions {
  const byKey = new Map<string, { body: string; time: number; index: number }[]>();
  versions.forEach((v, index) => {
    const list = byKey.get(v.key) ?? [];
    list.push({ body: v.body, time: v.lastModified?.getTime() ?? 0, index });
    byKey.set(v.key, list);
  });
  const original = new Map<string, string>();
  const rewrittenKeys: string[] = [];
  for (const [key, list] of [...byKey].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const oldest = [...list].sort((a, b) => a.time - b.time || b.index - a.index)[0];
    if (!oldest) continue;
    original.set(key, oldest.body);
    if (list.some((v) => v.body !== oldest.body)) rewrittenKeys.push(key);
  }
  return { original, rewrittenKeys };
}

/** The sequence number in an archive object key, or undefined when `key` is not one. */
export function seqOfArchiveKey(key: string): number | undefined {
  const m = /\/(\d{12})\.json$/.exec(key);
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

// What S3 emulators without versioning answer to ListObjectVersions (s3rver: 405 MethodNotAllowed).
const VERSIONS_UNSUPPORTED = new Set(['MethodNotAllowed', 'NotImplemented']);

/**
 * Every version under `prefix`, oldest bytes included; undefined when the store keeps no versions
 * (a local emulator), which the caller answers from the current objects instead.
 */
async function listVersions(
  loc: ArchiveLocation,
  prefix: string,
): Promise<{ key: string; versionId: string; lastModified?: Date }[] | undefined> {
  const out: { key: string; versionId: string; lastModified?: Date }[] = [];
  let keyMarker: string | undefined;
  let versionIdMarker: string | undefined;
  let truncated = false;
  do {
    let page: Awaited<ReturnType<typeof listVersionsPage>>;
    try {
      page = await listVersionsPage(loc, prefix, keyMarker, versionIdMarker);
    } catch (e) {
      if (e instanceof Error && VERSIONS_UNSUPPORTED.has(e.name)) return undefined;
      throw e;
    }
    for (const v of page.Versions ?? []) {
      if (!v.Key) continue;
      // A listing without version IDs is not a versioned listing.
      if (!v.VersionId) return undefined;
      out.push({
        key: v.Key,
        versionId: v.VersionId,
        ...(v.LastModified ? { lastModified: v.LastModified } : {}),
      });
    }
    truncated = page.IsTruncated === true;
    keyMarker = page.NextKeyMarker;
    versionIdMarker = page.NextVersionIdMarker;
  } while (truncated);
  // No versions while plain listing finds objects: the store ignored the versions request.
  if (out.length === 0 && (await listKeys(loc.s3, loc.bucket, prefix)).length > 0) return undefined;
  return out;
}

function listVersionsPage(
  loc: ArchiveLocation,
  prefix: string,
  keyMarker?: string,
  versionIdMarker?: string,
) {
  return loc.s3.send(
    new ListObjectVersionsCommand({
      Bucket: loc.bucket,
      Prefix: prefix,
      KeyMarker: keyMarker,
      VersionIdMarker: versionIdMarker,
    }),
  );
}

function getText(loc: ArchiveLocation, key: string, versionId?: string): Promise<string> {
  return readText(loc.s3, { bucket: loc.bucket, key }, versionId);
}

/**
 * Reads every object under `prefix` as first written. Where the store keeps no versions (the
 * local S3 emulator), only the latest version exists, so a rewrite cannot be seen there.
 */
async function readOriginals(loc: ArchiveLocation, prefix: string): Promise<SettledVersions> {
  const versions = await listVersions(loc, prefix);
  const bodies: ArchiveObjectVersion[] = [];
  if (versions) {
    for (const v of versions) {
      bodies.push({
        key: v.key,
        body: await getText(loc, v.key, v.versionId),
        ...(v.lastModified ? { lastModified: v.lastModified } : {}),
      });
    }
  } else {
    for (const key of await listKeys(loc.s3, loc.bucket, prefix))
      bodies.push({ key, body: await getText(loc, key) });
  }
  return settleVersions(bodies);
}

/** Everything archived for a chain: digests and event copies, in sequence order. */
export interface ChainArchive {
  readonly digests: readonly ChainDigest[];
  readonly events: readonly ArchivedEvent[];
  /** Keys put again with other bytes after the archiver wrote them (a forger's rewrite). */
  readonly rewrittenKeys: readonly string[];
}

/**
 * Reads a chain's archive with read-only S3 access: each object's OLDEST version, since Object
 * Lock lets anyone with PutObject add a newer one. Needs `s3:ListBucketVersions` and
 * `s3:GetObjectVersion` on a versioned bucket.
 */
export async function readArchive(loc: ArchiveLocation, chain: string): Promise<ChainArchive> {
  const digestObjects = await readOriginals(loc, `ledger/${chain}/digests/`);
  const eventObjects = await readOriginals(loc, `ledger/${chain}/events/`);
  const parse = <T>(objects: SettledVersions, schema: z.ZodType<T>): T[] =>
    [...objects.original.values()].map((body) => schema.parse(JSON.parse(body)));
  return {
    digests: parse(digestObjects, ChainDigestSchema),
    events: parse(eventObjects, ArchivedEventSchema),
    rewrittenKeys: [...digestObjects.rewrittenKeys, ...eventObjects.rewrittenKeys],
  };
}
