import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../shared/errors.ts';
import { appendEvent, EventIdConflictError, readHead } from '../../../shared/ledger/append.ts';
import { GENESIS_HASH, linkHash } from '../../../shared/ledger/canonical.ts';
import type { LedgerEvent } from '../../../shared/ledger/events.ts';
import { verifyLedger } from '../../../shared/ledger/verify.ts';
import { DATASET, sampleHistory } from '../../support/ledger-history.ts';
import { type LedgerDb, startLedgerDb, type TestLedger } from '../../support/ledger-table.ts';

let db: LedgerDb;
let n = 0;
async function freshLedger(): Promise<TestLedger> {
  n += 1;
  return db.ledger(await db.createLedgerTable(`ledger-append-${n}`));
}

beforeAll(async () => {
  db = await startLedgerDb();
});
afterAll(async () => {
  await db?.stop();
});

const first = (): LedgerEvent => sampleHistory()[0] as LedgerEvent;

describe('appendEvent', () => {
  it('stores the first event at seq 1 chained to the genesis hash, with its index attributes', async () => {
    // Prepare
    const loc = await freshLedger();
    // Act
    const { record, created, attempts } = await appendEvent(loc, first());
    // Assess
    expect(created).toBe(true);
    expect(attempts).toBe(1);
    expect(record.seq).toBe(1);
    expect(record.prevHash).toBe(GENESIS_HASH);
    const item = (
      await db.doc.send(
        new GetCommand({ TableName: loc.tableName, Key: { pk: 'CHAIN#main', sk: 'EVENT#000000000001' } }),
      )
    ).Item;
    expect(item).toMatchObject({
      seq: 1,
      type: 'DatasetBuilt',
      eventId: 'ds-1',
      datasetHash: DATASET,
      at: '2025-03-01T01:00:00.000Z',
      day: '2025-03-01',
    });
    expect(item?.modelVersion).toBeUndefined();
    expect(item?.hash).toBe(linkHash(GENESIS_HASH, String(item?.event)));
    expect(await readHead(loc)).toEqual({ seq: 1, hash: record.hash });
  });

  it('links each event to the previous hash and advances the head', async () => {
    const loc = await freshLedger();
    const records = [];
    for (const e of sampleHistory().slice(0, 5)) records.push((await appendEvent(loc, e)).record);
    expect(records.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
    for (let i = 1; i < records.length; i++) expect(records[i]?.prevHash).toBe(records[i - 1]?.hash);
    expect(await readHead(loc)).toEqual({ seq: 5, hash: records[4]?.hash });
  });

  it('returns the existing record when the same event is appended again, writing nothing', async () => {
    const loc = await freshLedger();
    const a = await appendEvent(loc, first());
    await appendEvent(loc, sampleHistory()[1]);
    const again = await appendEvent(loc, first());
    expect(again.created).toBe(false);
    expect(again.attempts).toBe(0);
    expect(again.record).toEqual(a.record);
    const items = await db.doc.send(
      new QueryCommand({
        TableName: loc.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)',
        ExpressionAttributeValues: { ':pk': 'CHAIN#main', ':p': 'EVENT#' },
      }),
    );
    expect(items.Count).toBe(2);
    expect(await readHead(loc)).toMatchObject({ seq: 2 });
  });

  it('refuses an eventId reused with different content', async () => {
    const loc = await freshLedger();
    await appendEvent(loc, first());
    await expect(appendEvent(loc, { ...first(), actor: 'someone-else' })).rejects.toBeInstanceOf(
      EventIdConflictError,
    );
    expect(await readHead(loc)).toMatchObject({ seq: 1 });
  });

  it('rejects an invalid event naming the bad field, before writing', async () => {
    const loc = await freshLedger();
    const bad = { ...first(), rowCount: Number.NaN };
    const error = await appendEvent(loc, bad).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as InvalidInputError).problems.map((p) => p.field)).toContain('rowCount');
    expect(await readHead(loc)).toBeUndefined();
  });

  it('keeps one chain with no fork and no gap under 25 concurrent appenders', async () => {
    // Prepare
    const loc = await freshLedger();
    const base = first();
    const events = Array.from({ length: 25 }, (_, i) => ({ ...base, eventId: `concurrent-${i}` }));
    // Act: all start at once, all read the same empty head.
    const results = await Promise.all(events.map((e) => appendEvent(loc, e)));
    // Assess
    const seqs = results.map((r) => r.record.seq).sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    expect(results.some((r) => r.attempts > 1)).toBe(true);
    expect(await readHead(loc)).toMatchObject({ seq: 25 });
    const report = await verifyLedger(loc);
    expect(report).toMatchObject({ ok: true, eventsChecked: 25 });
  });

  it('records an event once when the same append races with itself', async () => {
    const loc = await freshLedger();
    const results = await Promise.all(Array.from({ length: 10 }, () => appendEvent(loc, first())));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.record.hash)).size).toBe(1);
    expect(await readHead(loc)).toMatchObject({ seq: 1 });
    expect((await verifyLedger(loc)).ok).toBe(true);
  });
});
