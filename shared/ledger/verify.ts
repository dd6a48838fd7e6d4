/**
 * Chain verification: recomputes every link from the first event and reports the FIRST bad one,
 * saying what is wrong. Optionally compares the live table with the write-once archive, which
 * also catches a rewrite that recomputed every hash and the head.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { LedgerLocation } from './append.ts';
import { type ArchiveLocation, type ChainArchive, readArchive, seqOfArchiveKey } from './archive.ts';
import { CanonicalJsonError, canonicalJson, GENESIS_HASH, linkHash } from './canonical.ts';
import { LedgerEventSchema } from './events.ts';
import {
  chainPk,
  DEFAULT_CHAIN,
  EVENT_SK_PREFIX,
  GUARD_SK_PREFIX,
  guardSk,
  HEAD_SK,
  indexAttributes,
  seqOfSk,
} from './items.ts';
import { queryAll } from './queries.ts';
import type { SignatureChecker } from './signing.ts';

/** A ledger to verify, and the public key its events must be signed with. */
export interface VerifiableLedger extends LedgerLocation {
  /** Checks each event's signature (see `kmsSignatureChecker`). */
  readonly signatures: SignatureChecker;
}

/** What kind of damage a bad link shows. */
export type ChainProblemKind =
  /** The stored hash is not sha256(prevHash + event): the content (or its prevHash) was edited. */
  | 'hash-mismatch'
  /** A sequence number is missing: an event was deleted. */
  | 'missing-event'
  /** An event does not belong to the chain: unsigned or wrongly signed, inserted or replaced with a recomputed hash, or beyond the head. */
  | 'forged-event'
  /** An event sits at the wrong position: its seq attribute or its prevHash points elsewhere in the chain (swapped). */
  | 'broken-order'
  /** An event does not chain to its predecessor, and nothing else in the chain explains it. */
  | 'broken-link'
  /** The event body is not a canonical, valid ledger event. */
  | 'malformed'
  /** An index attribute (type, modelVersion, at...) differs from the hashed event, so queries would mislead. */
  | 'index-mismatch'
  /** The head item disagrees with the last event. */
  | 'head-mismatch'
  /** An idempotency item is missing or points to another event. */
  | 'guard-mismatch'
  /** The live event differs from the write-once archive. */
  | 'archive-mismatch';

/** The first bad link. */
export interface ChainProblem {
  /** Position of the bad event (or of the first missing one). */
  readonly seq: number;
  readonly kind: ChainProblemKind;
  readonly message: string;
  readonly expected?: string;
  readonly found?: string;
}

/** The outcome of a verification. */
export interface VerifyReport {
  readonly chain: string;
  readonly ok: boolean;
  /** Events walked before the first problem (all of them when ok). */
  readonly eventsChecked: number;
  readonly head: { readonly seq: number; readonly hash: string } | null;
  readonly problem?: ChainProblem;
  /** Present when an archive was compared. */
  readonly archive?: { readonly digestsChecked: number; readonly eventsChecked: number };
}

type Item = Record<string, unknown>;

const LINK_ATTRIBUTES = ['at', 'day', 'modelVersion', 'datasetHash', 'endpointName', 'runId'] as const;

/**
 * Verifies one chain from its raw items: `events` (any order), the head item and the idempotency
 * items, checking each event's signature with `signatures`. Pure, so it runs the same on a table
 * export or an archive copy.
 */
export function verifyItems(
  chain: string,
  events: readonly Item[],
  head: Item | undefined,
  guards: readonly Item[],
  signatures: SignatureChecker,
): VerifyReport {
  const sorted = [...events].sort((a, b) => (String(a.sk) < String(b.sk) ? -1 : 1));
  const headView =
    head && typeof head.seq === 'number' && typeof head.hash === 'string'
      ? { seq: head.seq, hash: head.hash }
      : null;
  const fail = (checked: number, problem: ChainProblem): VerifyReport => ({
    chain,
    ok: false,
    eventsChecked: checked,
    head: headView,
    problem,
  });
  const positionOfHash = new Map<string, number>();
  sorted.forEach((item) => {
    const seq = seqOfSk(String(item.sk));
    if (typeof item.hash === 'string' && seq !== undefined) positionOfHash.set(item.hash, seq);
  });

  let expected = 1;
  let prevHash = GENESIS_HASH;
  let prevItem: Item | undefined;
  for (const [index, item] of sorted.entries()) {
    const checked = expected - 1;
    const skSeq = seqOfSk(String(item.sk));
    if (skSeq === undefined) {
      return fail(checked, {
        seq: expected,
        kind: 'forged-event',
        message: `unexpected item ${String(item.sk)}`,
      });
    }
    if (skSeq > expected) {
      return fail(checked, {
        seq: expected,
        kind: 'missing-event',
        message: `events ${expected}..${skSeq - 1} are missing: the chain jumps from ${expected - 1} to ${skSeq}`,
      });
    }
    if (item.seq !== skSeq) {
      return fail(checked, {
        seq: skSeq,
        kind: 'broken-order',
        message: `the item at position ${skSeq} says it is event ${String(item.seq)}`,
        expected: String(skSeq),
        found: String(item.seq),
      });
    }
    const body = item.event;
    const storedPrev = item.prevHash;
    if (typeof body !== 'string' || typeof storedPrev !== 'string' || typeof item.hash !== 'string') {
      return fail(checked, { seq: skSeq, kind: 'malformed', message: 'event, prevHash or hash is missing' });
    }
    const recomputed = linkHash(storedPrev, body);
    if (recomputed !== item.hash) {
      return fail(checked, {
        seq: skSeq,
        kind: 'hash-mismatch',
        message: `event ${skSeq} was modified: its content no longer hashes to the stored hash`,
        expected: item.hash,
        found: recomputed,
      });
    }
    const problem = checkBody(skSeq, item, body);
    if (problem) return fail(checked, problem);
    // Before the links: a forger with table access can chain an event correctly, but not sign it.
    const unsigned = checkSignature(skSeq, item, item.hash, signatures, sorted[index + 1]);
    if (unsigned) return fail(checked, unsigned);
    if (storedPrev !== prevHash) {
      return fail(checked, classifyBrokenLink(skSeq, storedPrev, prevHash, prevItem, positionOfHash));
    }
    prevHash = item.hash;
    prevItem = item;
    expected = skSeq + 1;
  }
  const last = expected - 1;

  if (!headView) {
    if (last === 0) return { chain, ok: true, eventsChecked: 0, head: null };
    return fail(last, { seq: last, kind: 'head-mismatch', message: 'the chain has events but no head item' });
  }
  if (headView.seq > last) {
    return fail(last, {
      seq: last + 1,
      kind: 'missing-event',
      message: `the head is at ${headView.seq} but the last event is ${last}: events ${last + 1}..${headView.seq} are missing`,
    });
  }
  if (headView.seq < last) {
    return fail(headView.seq, {
      seq: headView.seq + 1,
      kind: 'forged-event',
      message: `events ${headView.seq + 1}..${last} lie beyond the head (${headView.seq}): they were not appended through the chain`,
    });
  }
  if (headView.hash !== prevHash) {
    return fail(last, {
      seq: last,
      kind: 'head-mismatch',
      message: `the head's hash differs from event ${last}'s hash`,
      expected: prevHash,
      found: headView.hash,
    });
  }
  const guardProblem = checkGuards(sorted, guards);
  if (guardProblem) return fail(last, guardProblem);
  return { chain, ok: true, eventsChecked: last, head: headView };
}

function checkSignature(
  seq: number,
  item: Item,
  hash: string,
  signatures: SignatureChecker,
  next: Item | undefined,
): ChainProblem | undefined {
  const { signature, signingKey } = item;
  const why =
    typeof signature !== 'string' || signature === ''
      ? 'is not signed'
      : signingKey !== signatures.keyArn
        ? `is signed with another key (${String(signingKey)}) than the ledger's (${signatures.keyArn})`
        : !signatures.check(hash, signature)
          ? "has a signature that does not match its hash under the ledger's key"
          : undefined;
  if (why === undefined) return undefined;
  // The successor, signed when the original was appended, tells how the forgery was placed.
  const how =
    next === undefined || next.prevHash === hash
      ? 'it was not appended by a ledger writer'
      : next.prevHash === item.prevHash
        ? `it was inserted: it and event ${seq + 1} both claim event ${seq - 1} as predecessor`
        : `it was replaced: event ${seq + 1} was chained to a different event ${seq}`;
  return { seq, kind: 'forged-event', message: `event ${seq} ${why}: ${how}` };
}

function classifyBrokenLink(
  seq: number,
  storedPrev: string,
  expectedPrev: string,
  prevItem: Item | undefined,
  positionOfHash: ReadonlyMap<string, number>,
): ChainProblem {
  const pointsTo = positionOfHash.get(storedPrev);
  const reordered: ChainProblem | undefined =
    pointsTo !== undefined && pointsTo !== seq - 1
      ? {
          seq,
          kind: 'broken-order',
          message: `event ${seq} follows event ${pointsTo}, not event ${seq - 1}: events were reordered`,
          expected: expectedPrev,
          found: storedPrev,
        }
      : undefined;
  if (!prevItem) {
    if (reordered) return reordered;
    return {
      seq,
      kind: 'broken-link',
      message: `event ${seq} is first but does not start from the genesis hash`,
      expected: expectedPrev,
      found: storedPrev,
    };
  }
  // The predecessor hashes correctly yet is not what this event was chained to: it was put there
  // after the fact with a recomputed hash. When both claim the same predecessor, it was inserted.
  const inserted = prevItem.prevHash === storedPrev;
  if (!inserted && reordered) return reordered;
  return {
    seq: seq - 1,
    kind: 'forged-event',
    message: inserted
      ? `event ${seq - 1} was inserted: it and event ${seq} both claim event ${seq - 2} as predecessor`
      : `event ${seq - 1} was replaced with a recomputed hash: event ${seq} was chained to a different event ${seq - 1}`,
    expected: storedPrev,
    found: expectedPrev,
  };
}

function checkBody(seq: number, item: Item, body: string): ChainProblem | undefined {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { seq, kind: 'malformed', message: `event ${seq} is not JSON` };
  }
  const parsed = LedgerEventSchema.safeParse(json);
  if (!parsed.success) return { seq, kind: 'malformed', message: `event ${seq} is not a valid ledger event` };
  let canonical: string;
  try {
    canonical = canonicalJson(json);
  } catch (e) {
    // A tampered body can hold values JSON parses but canonical JSON refuses (-0, lone surrogates).
    if (!(e instanceof CanonicalJsonError)) throw e;
    return { seq, kind: 'malformed', message: `event ${seq} cannot be canonicalized: ${e.message}` };
  }
  if (canonical !== body) {
    return { seq, kind: 'malformed', message: `event ${seq} is not stored in canonical form` };
  }
  const event = parsed.data;
  const derived: Record<string, string | undefined> = {
    eventId: event.eventId,
    type: event.type,
    useCase: event.useCase,
    ...indexAttributes(event),
  };
  for (const name of ['eventId', 'type', 'useCase', ...LINK_ATTRIBUTES]) {
    const want = derived[name];
    const got = item[name];
    if (want !== got) {
      return {
        seq,
        kind: 'index-mismatch',
        message: `attribute ${name} of event ${seq} differs from the hashed event`,
        expected: String(want),
        found: String(got),
      };
    }
  }
  return undefined;
}

function checkGuards(events: readonly Item[], guards: readonly Item[]): ChainProblem | undefined {
  const bySk = new Map(guards.map((g) => [String(g.sk), g]));
  for (const item of events) {
    const seq = Number(item.seq);
    const guard = bySk.get(guardSk(String(item.eventId)));
    if (!guard || guard.seq !== seq || guard.hash !== item.hash) {
      return {
        seq,
        kind: 'guard-mismatch',
        message: `the idempotency item of ${String(item.eventId)} is missing or points elsewhere`,
      };
    }
    bySk.delete(guardSk(String(item.eventId)));
  }
  const orphan = [...bySk.values()][0];
  if (orphan) {
    return {
      seq: Number(orphan.seq),
      kind: 'guard-mismatch',
      message: `${String(orphan.sk)} points to event ${String(orphan.seq)}, which does not record it`,
    };
  }
  return undefined;
}

/**
 * Compares the live events with the archive: every archived event and digest must match the
 * live hash at its seq, and no archived object may have been rewritten. Returns the lowest-seq
 * disagreement.
 */
export function compareWithArchive(events: readonly Item[], archive: ChainArchive): ChainProblem | undefined {
  const liveHash = new Map<number, unknown>();
  for (const item of events) {
    const seq = seqOfSk(String(item.sk));
    if (seq !== undefined) liveHash.set(seq, item.hash);
  }
  const claims = [
    ...archive.events.map((e) => ({ seq: e.seq, hash: e.hash, what: 'archived copy of event' })),
    ...archive.digests.map((d) => ({ seq: d.seq, hash: d.hash, what: `chain digest of ${d.at} for event` })),
  ].sort((a, b) => a.seq - b.seq);
  const rewritten = archive.rewrittenKeys
    .map((key) => ({ key, seq: seqOfArchiveKey(key) ?? 0 }))
    .sort((a, b) => a.seq - b.seq)[0];
  for (const claim of claims) {
    if (rewritten && rewritten.seq <= claim.seq) break;
    const live = liveHash.get(claim.seq);
    if (live !== claim.hash) {
      return {
        seq: claim.seq,
        kind: 'archive-mismatch',
        message:
          live === undefined
            ? `the ${claim.what} ${claim.seq} exists but the live event is gone`
            : `the live event ${claim.seq} differs from the ${claim.what} ${claim.seq}`,
        expected: claim.hash,
        found: live === undefined ? 'missing' : String(live),
      };
    }
  }
  if (rewritten) {
    return {
      seq: rewritten.seq,
      kind: 'archive-mismatch',
      message: `the archive object ${rewritten.key} was put again with other bytes after it was archived`,
    };
  }
  return undefined;
}

/**
 * Reads every item of a chain (strongly consistent) and verifies it, with the archive when given.
 *
 * The reads are not one snapshot, so they go in an order that appends cannot make look like
 * tampering: the archive first (it only ever trails the table), then the head H, then events and
 * idempotency items, then the head again (H2). An event and its head are written in one
 * transaction, so items with H.seq < seq <= H2.seq were appended during the reads and are left
 * out; an event beyond H2 was never appended through the chain and is still reported.
 */
/** Items per query page when verify reads a chain. */
export const VERIFY_PAGE_ITEMS = 1000;

export async function verifyLedger(loc: VerifiableLedger, archive?: ArchiveLocation): Promise<VerifyReport> {
  const chain = loc.chain ?? DEFAULT_CHAIN;
  const itemsWithPrefix = async (prefix: string) => {
    const out: Item[] = [];
    for await (const item of queryAll(loc, {
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)',
      ExpressionAttributeValues: { ':pk': chainPk(chain), ':p': prefix },
      ConsistentRead: true,
      // Pages of a bounded count, not only DynamoDB's 1 MB: DynamoDB Local reads every remaining
      // item of the partition for each unbounded page, which made verify quadratic in the chain's
      // length there (10^5 events: 107 s of reads against 8 s in pages of 1,000). On DynamoDB a
      // page of 1,000 ledger items stays under 1 MB, so it costs the same requests.
      Limit: VERIFY_PAGE_ITEMS,
    })) {
      out.push(item);
    }
    return out;
  };
  const readHeadItem = async () =>
    (
      await loc.client.send(
        new GetCommand({
          TableName: loc.tableName,
          Key: { pk: chainPk(chain), sk: HEAD_SK },
          ConsistentRead: true,
        }),
      )
    ).Item;
  const archived = archive ? await readArchive(archive, chain) : undefined;
  const head = await readHeadItem();
  const allEvents = await itemsWithPrefix(EVENT_SK_PREFIX);
  const allGuards = await itemsWithPrefix(GUARD_SK_PREFIX);
  const headAfter = await readHeadItem();
  const appendedDuring = (seq: unknown) =>
    typeof seq === 'number' && seq > seqOfHead(head) && seq <= seqOfHead(headAfter);
  // An event's position is its sort key; an idempotency item only names its seq.
  const events = allEvents.filter((item) => !appendedDuring(seqOfSk(String(item.sk))));
  const guards = allGuards.filter((item) => !appendedDuring(item.seq));
  const report = verifyItems(chain, events, head, guards, loc.signatures);
  if (!archived) return report;
  const archiveSummary = { digestsChecked: archived.digests.length, eventsChecked: archived.events.length };
  const archiveProblem = compareWithArchive(events, archived);
  // Report whichever problem comes first in the chain.
  const problem =
    archiveProblem && (!report.problem || archiveProblem.seq < report.problem.seq)
      ? archiveProblem
      : report.problem;
  return { ...report, ok: problem === undefined, ...(problem ? { problem } : {}), archive: archiveSummary };
}

function seqOfHead(head: Item | undefined): number {
  return typeof head?.seq === 'number' ? head.seq : 0;
}
