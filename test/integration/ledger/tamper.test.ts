/**
 * Tamper drills: each test edits the ledger table directly, as someone with write access to
 * DynamoDB could, and checks that verify reports the right kind of damage at the right position.
 */
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { localS3Client } from '../../../infra/local/clients.ts';
import { type S3Engine, startS3 } from '../../../infra/local/engines/s3.ts';
import { appendEvent } from '../../../shared/ledger/append.ts';
import { archiveBatch, type LedgerChange, readArchive } from '../../../shared/ledger/archive.ts';
import { canonicalJson, linkHash } from '../../../shared/ledger/canonical.ts';
import { kmsSigner } from '../../../shared/ledger/signing.ts';
import { compareWithArchive, verifyLedger } from '../../../shared/ledger/verify.ts';
import { sampleHistory } from '../../support/ledger-history.ts';
import { type LedgerDb, startLedgerDb, type TestLedger } from '../../support/ledger-table.ts';

let db: LedgerDb;
let s3Engine: S3Engine;
let s3: S3Client;
let loc: TestLedger;
let n = 0;

const sk = (seq: number) => `EVENT#${String(seq).padStart(12, '0')}`;
const key = (seq: number) => ({ pk: 'CHAIN#main', sk: sk(seq) });

async function getEvent(seq: number): Promise<Record<string, unknown>> {
  const out = await db.doc.send(new GetCommand({ TableName: loc.tableName, Key: key(seq) }));
  if (!out.Item) throw new Error(`no event ${seq}`);
  return out.Item;
}
async function getHead(): Promise<Record<string, unknown>> {
  const out = await db.doc.send(
    new GetCommand({ TableName: loc.tableName, Key: { pk: 'CHAIN#main', sk: 'HEAD' } }),
  );
  if (!out.Item) throw new Error('no head');
  return out.Item;
}
async function putRaw(item: Record<string, unknown>): Promise<void> {
  await db.doc.send(new PutCommand({ TableName: loc.tableName, Item: item }));
}
async function eventItems(): Promise<Record<string, unknown>[]> {
  return (await allItems()).filter((i) => String(i.sk).startsWith('EVENT#'));
}
async function allItems(): Promise<Record<string, unknown>[]> {
  const out = await db.doc.send(
    new QueryCommand({
      TableName: loc.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': 'CHAIN#main' },
    }),
  );
  return out.Items ?? [];
}

/** Rewrites an event's body, recomputing its hash from its stored prevHash as a forger would. */
function reforged(
  item: Record<string, unknown>,
  edit: (e: Record<string, unknown>) => void,
  prevHash = String(item.prevHash),
): Record<string, unknown> & { hash: string } {
  const event = JSON.parse(String(item.event)) as Record<string, unknown>;
  edit(event);
  const body = canonicalJson(event);
  return { ...item, event: body, prevHash, hash: linkHash(prevHash, body) };
}

/**
 * Fault injection: a client that, once, appends the 11th sample event right after a read that
 * `after` picks, as a concurrent writer would between verify's reads.
 */
function appendingOnce(after: (command: unknown) => boolean): TestLedger {
  let fired = false;
  const client = new Proxy(db.doc, {
    get(target, prop, receiver) {
      if (prop !== 'send') return Reflect.get(target, prop, receiver);
      return async (command: unknown) => {
        const out: unknown = await Reflect.apply(target.send, target, [command]);
        if (!fired && after(command)) {
          fired = true;
          const next = sampleHistory()[10];
          if (!next) throw new Error('sample history too short');
          await appendEvent(loc, next);
        }
        return out;
      };
    },
  });
  return { ...loc, client: client satisfies DynamoDBDocumentClient };
}
const isHeadRead = (c: unknown) => c instanceof GetCommand && c.input.Key?.sk === 'HEAD';
const isEventsRead = (c: unknown) =>
  c instanceof QueryCommand && c.input.ExpressionAttributeValues?.[':p'] === 'EVENT#';

beforeAll(async () => {
  db = await startLedgerDb();
  s3Engine = await startS3();
  s3 = localS3Client(s3Engine.endpoint, 'us-east-1');
});
afterAll(async () => {
  s3?.destroy();
  await s3Engine?.stop();
  await db?.stop();
});
beforeEach(async () => {
  n += 1;
  loc = db.ledger(await db.createLedgerTable(`ledger-tamper-${n}`));
  for (const e of sampleHistory().slice(0, 10)) await appendEvent(loc, e);
});

describe('verify', () => {
  it('passes an untouched chain of 10 events', async () => {
    expect(await verifyLedger(loc)).toMatchObject({ ok: true, eventsChecked: 10, head: { seq: 10 } });
  });

  it('passes when an append lands right after it read the head', async () => {
    const report = await verifyLedger(appendingOnce(isHeadRead));
    expect(report).toMatchObject({ ok: true, eventsChecked: 10, head: { seq: 10 } });
    expect((await verifyLedger(loc)).eventsChecked).toBe(11);
  });

  it('passes when an append lands between reading the events and the idempotency items', async () => {
    const report = await verifyLedger(appendingOnce(isEventsRead));
    expect(report).toMatchObject({ ok: true, eventsChecked: 10, head: { seq: 10 } });
  });

  it('reports an event body holding -0 (with a recomputed hash) as malformed instead of throwing', async () => {
    // Prepare: canonical JSON refuses -0, so a forger writes the body by hand.
    const item = await getEvent(1);
    const body = String(item.event).replace('"rowCount":250000', '"rowCount":-0');
    expect(body).toContain('"rowCount":-0');
    await putRaw({ ...item, event: body, hash: linkHash(String(item.prevHash), body) });
    // Act
    const report = await verifyLedger(loc);
    // Assess
    expect(report.ok).toBe(false);
    expect(report.problem).toMatchObject({ seq: 1, kind: 'malformed' });
    expect(report.problem?.message).toContain('-0');
  });

  it('reports a field changed in a past event as a hash mismatch at that event', async () => {
    const item = await getEvent(6);
    const event = JSON.parse(String(item.event)) as Record<string, unknown>;
    event.decision = 'approved';
    event.reason = 'nobody looked';
    await putRaw({ ...item, event: canonicalJson(event) });
    const report = await verifyLedger(loc);
    expect(report.ok).toBe(false);
    expect(report.problem).toMatchObject({ seq: 6, kind: 'hash-mismatch' });
    expect(report.eventsChecked).toBe(5);
  });

  it('reports an index attribute pointed at another model as an index mismatch', async () => {
    const item = await getEvent(5);
    await putRaw({ ...item, modelVersion: 'flight-delay-v9' });
    expect((await verifyLedger(loc)).problem).toMatchObject({
      seq: 5,
      kind: 'index-mismatch',
      expected: 'flight-delay-v1',
      found: 'flight-delay-v9',
    });
  });

  it('reports a deleted event as missing at its position', async () => {
    await db.doc.send(new DeleteCommand({ TableName: loc.tableName, Key: key(4) }));
    expect((await verifyLedger(loc)).problem).toMatchObject({ seq: 4, kind: 'missing-event' });
  });

  it('reports a deleted last event as missing even though the rest links', async () => {
    await db.doc.send(new DeleteCommand({ TableName: loc.tableName, Key: key(10) }));
    expect((await verifyLedger(loc)).problem).toMatchObject({ seq: 10, kind: 'missing-event' });
  });

  it('reports a forged event inserted mid-chain with a recomputed hash at the forged position', async () => {
    // Shift events 4..10 to 5..11, forge a new event 4 chained to event 3, and move the head.
    const items = await Promise.all([4, 5, 6, 7, 8, 9, 10].map(getEvent));
    for (const item of items.reverse()) {
      const seq = Number(item.seq) + 1;
      await putRaw({ ...item, sk: sk(seq), seq });
    }
    const three = await getEvent(3);
    const forged = reforged(
      await getEvent(4),
      (e) => {
        e.eventId = 'forged-eval';
        e.passed = true;
      },
      String(three.hash),
    );
    await putRaw({ ...forged, eventId: 'forged-eval', sk: sk(4), seq: 4 });
    const last = await getEvent(11);
    await putRaw({ pk: 'CHAIN#main', sk: 'HEAD', seq: 11, hash: last.hash, eventId: last.eventId });
    const report = await verifyLedger(loc);
    expect(report.problem).toMatchObject({ seq: 4, kind: 'forged-event' });
    expect(report.problem?.message).toContain('inserted');
  });

  it('reports an event replaced in place with a recomputed hash as forged at that position', async () => {
    const item = await getEvent(6);
    await putRaw(
      reforged(item, (e) => {
        e.approver = 'arn:aws:iam::111122223333:user/mallory';
      }),
    );
    const report = await verifyLedger(loc);
    expect(report.problem).toMatchObject({ seq: 6, kind: 'forged-event' });
    expect(report.problem?.message).toContain('replaced');
  });

  it('reports a forged event appended beyond the head', async () => {
    const ten = await getEvent(10);
    const forged = reforged(
      ten,
      (e) => {
        e.eventId = 'late';
      },
      String(ten.hash),
    );
    await putRaw({ ...forged, sk: sk(11), seq: 11, eventId: 'late' });
    expect((await verifyLedger(loc)).problem).toMatchObject({ seq: 11, kind: 'forged-event' });
  });

  describe('a forged append by someone with write access to the table', () => {
    /** Appends a correctly hashed event 11 after the head, with its idempotency item, and moves the head. */
    async function forgeAppend(sign?: (hash: string) => Promise<Record<string, string>>) {
      const ten = await getEvent(10);
      const forged = reforged(
        ten,
        (e) => {
          e.eventId = 'forged-approval';
          e.actor = 'mallory';
        },
        String(ten.hash),
      );
      const { signature: _copied, signingKey: _key, ...unsigned } = forged;
      const item = {
        ...unsigned,
        sk: sk(11),
        seq: 11,
        eventId: 'forged-approval',
        ...(await sign?.(forged.hash)),
      };
      await putRaw(item);
      await putRaw({
        pk: 'CHAIN#main',
        sk: 'EVENTID#forged-approval',
        eventId: 'forged-approval',
        seq: 11,
        hash: forged.hash,
      });
      await putRaw({ pk: 'CHAIN#main', sk: 'HEAD', seq: 11, hash: forged.hash, eventId: 'forged-approval' });
      return item;
    }

    it('is reported as a forged event, with and without the archive, and the archiver does not vouch for it', async () => {
      // Prepare: the archive holds events 1..10 as the stream archiver wrote them.
      const bucket = `audit-forged-${n}`;
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
      const toChanges = (items: Record<string, unknown>[]): LedgerChange[] =>
        items.map((i) => ({ eventName: 'INSERT', keys: { pk: i.pk, sk: i.sk }, newImage: i }));
      await archiveBatch({ s3, bucket }, toChanges(await allItems()), new Date(), db.signatures);
      // Act
      const forged = await forgeAppend();
      const streamed = await archiveBatch(
        { s3, bucket },
        toChanges([forged, await getHead()]),
        new Date(),
        db.signatures,
      );
      // Assess
      expect((await verifyLedger(loc)).problem).toMatchObject({ seq: 11, kind: 'forged-event' });
      const report = await verifyLedger(loc, { s3, bucket });
      expect(report).toMatchObject({ ok: false, problem: { seq: 11, kind: 'forged-event' } });
      expect(report.problem?.message).toContain('not signed');
      expect(streamed).toMatchObject({ events: 0, digests: [] });
      expect(streamed.tamperSignals).toEqual([
        {
          eventName: 'INSERT',
          pk: 'CHAIN#main',
          sk: sk(11),
          reason: 'the event is not signed with the ledger key',
        },
      ]);
      expect((await readArchive({ s3, bucket }, 'main')).events.map((e) => e.seq)).not.toContain(11);
    });

    it('is reported as a forged event when signed with a key of the forger', async () => {
      const other = await db.kms.send(
        new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }),
      );
      const mallory = kmsSigner(db.kms, other.KeyMetadata?.Arn ?? '');
      await forgeAppend(async (hash) => {
        const { signature, keyArn } = await mallory.sign(hash);
        return { signature, signingKey: keyArn };
      });
      const report = await verifyLedger(loc);
      expect(report.problem).toMatchObject({ seq: 11, kind: 'forged-event' });
      expect(report.problem?.message).toContain('another key');
    });

    it('is reported as a forged event when it carries a signature copied from a genuine event', async () => {
      const ten = await getEvent(10);
      await forgeAppend(async () => ({
        signature: String(ten.signature),
        signingKey: String(ten.signingKey),
      }));
      const report = await verifyLedger(loc);
      expect(report.problem).toMatchObject({ seq: 11, kind: 'forged-event' });
      expect(report.problem?.message).toContain('does not match its hash');
    });
  });

  it('reports two swapped events as broken order at the first of them', async () => {
    const [a, b] = await Promise.all([getEvent(3), getEvent(4)]);
    if (!a || !b) throw new Error('missing');
    await putRaw({ ...b, sk: sk(3), seq: 3 });
    await putRaw({ ...a, sk: sk(4), seq: 4 });
    expect((await verifyLedger(loc)).problem).toMatchObject({ seq: 3, kind: 'broken-order' });
  });

  it('reports swapped items that kept their own seq as broken order', async () => {
    const [a, b] = await Promise.all([getEvent(7), getEvent(8)]);
    await putRaw({ ...b, sk: sk(7) });
    await putRaw({ ...a, sk: sk(8) });
    expect((await verifyLedger(loc)).problem).toMatchObject({ seq: 7, kind: 'broken-order', found: '8' });
  });

  it('reports a head moved back as forged events beyond the head', async () => {
    const five = await getEvent(5);
    await putRaw({ pk: 'CHAIN#main', sk: 'HEAD', seq: 5, hash: five.hash, eventId: five.eventId });
    expect((await verifyLedger(loc)).problem).toMatchObject({ seq: 6, kind: 'forged-event' });
  });

  it('catches a full rewrite from event 5 (every hash and the head recomputed) by its signatures, and the archive disagrees too', async () => {
    // Prepare: archive the chain as the stream archiver would, in two batches.
    const bucket = `audit-${n}`;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const items = await allItems();
    const changes: LedgerChange[] = items.map((i) => ({
      eventName: 'INSERT',
      keys: { pk: i.pk, sk: i.sk },
      newImage: i,
    }));
    const batch = await archiveBatch(
      { s3, bucket },
      changes,
      new Date('2025-03-05T00:00:00Z'),
      db.signatures,
    );
    expect(batch.events).toBe(10);
    expect(batch.digests).toEqual([expect.objectContaining({ chain: 'main', seq: 10 })]);
    // Act: rewrite 5..10 consistently, as someone with full table access could.
    let prev = String((await getEvent(4)).hash);
    for (let seq = 5; seq <= 10; seq++) {
      const forged = reforged(
        await getEvent(seq),
        (e) => {
          e.actor = 'mallory';
        },
        prev,
      );
      await putRaw(forged);
      await putRaw({
        pk: 'CHAIN#main',
        sk: `EVENTID#${String(forged.eventId)}`,
        eventId: forged.eventId,
        seq,
        hash: forged.hash,
      });
      prev = forged.hash;
    }
    await putRaw({ pk: 'CHAIN#main', sk: 'HEAD', seq: 10, hash: prev, eventId: 'x' });
    // Assess: the forger could recompute every hash but not sign one.
    expect((await verifyLedger(loc)).problem).toMatchObject({ seq: 5, kind: 'forged-event' });
    const report = await verifyLedger(loc, { s3, bucket });
    expect(report.ok).toBe(false);
    expect(report.problem).toMatchObject({ seq: 5, kind: 'forged-event' });
    expect(report.archive).toEqual({ digestsChecked: 1, eventsChecked: 10 });
    expect(compareWithArchive(await eventItems(), await readArchive({ s3, bucket }, 'main'))).toMatchObject({
      seq: 5,
      kind: 'archive-mismatch',
    });
  });

  it('reads the current objects when the local S3 keeps no versions', async () => {
    // Prepare: s3rver refuses ListObjectVersions, so only the latest version of each key exists.
    const bucket = `audit-noversions-${n}`;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const changes: LedgerChange[] = (await allItems()).map((i) => ({
      eventName: 'INSERT',
      keys: { pk: i.pk, sk: i.sk },
      newImage: i,
    }));
    await archiveBatch({ s3, bucket }, changes, new Date('2025-03-05T00:00:00Z'), db.signatures);
    // Act
    const archived = await readArchive({ s3, bucket }, 'main');
    // Assess
    expect(archived.events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(archived.digests).toEqual([expect.objectContaining({ seq: 10 })]);
    expect(archived.rewrittenKeys).toEqual([]);
    expect(await verifyLedger(loc, { s3, bucket })).toMatchObject({
      ok: true,
      archive: { digestsChecked: 1, eventsChecked: 10 },
    });
  });

  it('flags modified and removed ledger records arriving on the stream', async () => {
    const bucket = `audit-signals-${n}`;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const result = await archiveBatch(
      { s3, bucket },
      [
        { eventName: 'MODIFY', keys: key(3), newImage: await getEvent(3) },
        { eventName: 'REMOVE', keys: key(4) },
        {
          eventName: 'MODIFY',
          keys: { pk: 'CHAIN#main', sk: 'HEAD' },
          newImage: { seq: 10, hash: 'a'.repeat(64) },
        },
      ],
      new Date(),
      db.signatures,
    );
    const changed = 'ledger items are never changed after append';
    expect(result.tamperSignals).toEqual([
      { eventName: 'MODIFY', pk: 'CHAIN#main', sk: sk(3), reason: changed },
      { eventName: 'REMOVE', pk: 'CHAIN#main', sk: sk(4), reason: changed },
    ]);
    // A head no signed event of the batch vouches for gets no digest.
    expect(result.digests).toEqual([]);
  });
});
