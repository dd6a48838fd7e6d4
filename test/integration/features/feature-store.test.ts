import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LOCAL_CREDENTIALS } from '../../../infra/local/engines/credentials.ts';
import { UseCaseSchema } from '../../../shared/config/use-case.ts';
import { ingestBulkObject } from '../../../shared/features/bulk.ts';
import { buildDataset, recordDatasetBuilt } from '../../../shared/features/dataset.ts';
import { featureGroupIndex, validateRecords, writeRecords } from '../../../shared/features/ingest.ts';
import { getLatest, getManyLatest, isPresent } from '../../../shared/features/online-store.ts';
import { labelContract } from '../../../shared/labels/schema.ts';
import { validateLabels, writeLabels } from '../../../shared/labels/store.ts';
import { modelsFromDataset } from '../../../shared/ledger/queries.ts';
import { listKeys, readText } from '../../../shared/s3.ts';
import demo from '../../../use-cases/flight-delay.ts';
import { type Emulators, startEmulators } from '../../support/emulators.ts';
import { createLedgerTable } from '../../support/ledger-table.ts';

const useCase = UseCaseSchema.parse(demo);
const groups = featureGroupIndex([useCase]);
const maybeGroup = groups.get('airport-delays');
if (!maybeGroup) throw new Error('demo use case lost its feature group');
const group = maybeGroup;

let emu: Emulators;
let n = 0;
let table: string;
let bucket: string;
let clock = Date.parse('2001-01-10T00:00:00.000Z');
const ctx = () => ({
  online: { client: emu.doc, tableName: table },
  offline: { client: emu.s3, bucket },
  now: () => clock,
});

beforeAll(async () => {
  emu = await startEmulators();
});
afterAll(async () => {
  await emu?.stop();
});
beforeEach(async () => {
  n++;
  table = `online-${n}`;
  bucket = `offline-${n}`;
  // No DynamoDB TTL on these tables: DynamoDB Local would delete the (2001) items in the
  // background mid-test. Reads must hide expired values on their own, which is what is tested.
  await emu.createKeyTable(table);
  await emu.createBucket(bucket);
  clock = Date.parse('2001-01-10T00:00:00.000Z');
});

async function ingest(records: unknown[]) {
  const { accepted, rejected } = validateRecords(group, records, ctx().now);
  expect(rejected).toEqual([]);
  return writeRecords(ctx(), group, accepted);
}

async function snapshotOfStores() {
  const items = (await emu.doc.send(new ScanCommand({ TableName: table }))).Items ?? [];
  const keys = await listKeys(emu.s3, bucket, '');
  const objects = await Promise.all(
    keys.map(async (k) => [k, await readText(emu.s3, { bucket, key: k })] as const),
  );
  return { items, objects };
}

const rec = (entityId: string, eventTime: string, delayRate2h: number | null, flights2h = 10) => ({
  entityId,
  eventTime,
  values: { delayRate2h, flights2h },
});

describe('online store', () => {
  it('keeps the newer value when an older event arrives late', async () => {
    await ingest([rec('ATL', '2001-01-09T10:00:00Z', 0.4)]);
    const late = await ingest([rec('ATL', '2001-01-09T09:00:00Z', 0.9)]);
    expect(late.map((r) => r.outcome)).toEqual(['stale']);
    const got = await getLatest(
      ctx().online,
      'airport-delays',
      'ATL',
      group.ttlSeconds,
      Date.parse('2001-01-09T11:00:00Z'),
    );
    expect(got).toMatchObject({ eventTime: '2001-01-09T10:00:00.000Z', values: { delayRate2h: 0.4 } });
    // The late event is still history: it is in the offline store.
    const offline = (await snapshotOfStores()).objects.map(([, body]) => body).join('');
    expect(offline).toContain('2001-01-09T09:00:00.000Z');
  });

  it("writes only each entity's newest record of a request online, and keeps every record offline", async () => {
    // Count the online writes on a client of our own, through the SDK's middleware stack.
    const client = DynamoDBDocumentClient.from(
      new DynamoDBClient({
        endpoint: emu.dynamodb.endpoint,
        region: 'us-east-1',
        credentials: LOCAL_CREDENTIALS,
      }),
    );
    let puts = 0;
    client.middlewareStack.add(
      (next) => async (args) => {
        puts++;
        return next(args);
      },
      { step: 'initialize' },
    );
    const history = ['09', '10', '11', '12'].flatMap((h) => [
      rec('BOS', `2001-01-09T${h}:00:00Z`, Number(h) / 100),
      rec('SFO', `2001-01-09T${h}:15:00Z`, Number(h) / 50),
    ]);
    const { accepted, rejected } = validateRecords(group, history, ctx().now);
    expect(rejected).toEqual([]);
    const results = await writeRecords({ ...ctx(), online: { client, tableName: table } }, group, accepted);
    client.destroy();
    expect(puts).toBe(2);
    const updated = results.filter((r) => r.outcome === 'updated').map((r) => `${r.entityId} ${r.eventTime}`);
    expect(updated.sort()).toEqual(['BOS 2001-01-09T12:00:00.000Z', 'SFO 2001-01-09T12:15:00.000Z']);
    expect(results.filter((r) => r.outcome === 'stale')).toHaveLength(6);
    const at = Date.parse('2001-01-09T13:00:00Z');
    expect(await getLatest(ctx().online, 'airport-delays', 'SFO', group.ttlSeconds, at)).toMatchObject({
      values: { delayRate2h: 0.24 },
    });
    const offline = (await snapshotOfStores()).objects.map(([, body]) => body).join('');
    for (const r of history)
      expect(offline).toContain(
        `"entityId":"${r.entityId}","eventTime":"${r.eventTime.replace('Z', '.000Z')}"`,
      );
  });

  it('reports a value past its TTL as missing, with DynamoDB TTL set for physical removal', async () => {
    await ingest([rec('ORD', '2001-01-09T10:00:00Z', 0.2)]);
    const ttl = group.ttlSeconds;
    const justBefore = Date.parse('2001-01-09T10:00:00Z') + ttl * 1000 - 1;
    expect(isPresent(await getLatest(ctx().online, 'airport-delays', 'ORD', ttl, justBefore))).toBe(true);
    const expired = await getLatest(ctx().online, 'airport-delays', 'ORD', ttl, justBefore + 1);
    expect(expired).toEqual({
      group: 'airport-delays',
      entityId: 'ORD',
      reason: 'expired',
      eventTime: '2001-01-09T10:00:00.000Z',
    });
    const [item] = (await snapshotOfStores()).items;
    expect(item?.expiresAt).toBe(Date.parse('2001-01-09T10:00:00Z') / 1000 + ttl);
  });

  it('changes nothing when records are replayed', async () => {
    const batch = [rec('ATL', '2001-01-09T10:00:00Z', 0.4), rec('LAX', '2001-01-09T08:00:00Z', 0.1)];
    await ingest(batch);
    const before = await snapshotOfStores();
    clock += 60_000;
    const replay = await ingest(batch);
    expect(replay.map((r) => r.outcome)).toEqual(['duplicate', 'duplicate']);
    expect(await snapshotOfStores()).toEqual(before);
  });

  it('repairs the online store when a retry follows a fault after the offline append', async () => {
    // Fault injection: the first online write fails after the history was appended.
    const faulty = DynamoDBDocumentClient.from(
      new DynamoDBClient({
        endpoint: emu.dynamodb.endpoint,
        region: 'us-east-1',
        credentials: LOCAL_CREDENTIALS,
      }),
    );
    mockClient(faulty)
      .on(PutCommand)
      .rejectsOnce(new Error('connection reset'))
      .callsFake((input) => emu.doc.send(new PutCommand(input)));
    const { accepted } = validateRecords(group, [rec('SEA', '2001-01-09T10:00:00Z', 0.7)], ctx().now);
    await expect(
      writeRecords({ ...ctx(), online: { client: faulty, tableName: table } }, group, accepted),
    ).rejects.toThrow('connection reset');
    const afterFault = await snapshotOfStores();
    expect(afterFault.items).toEqual([]);
    expect(afterFault.objects).toHaveLength(1);
    // The client retries the same request: the value lands, and history is not duplicated.
    const retried = await writeRecords(
      { ...ctx(), online: { client: faulty, tableName: table } },
      group,
      accepted,
    );
    expect(retried.map((r) => r.outcome)).toEqual(['updated']);
    const after = await snapshotOfStores();
    expect(after.items.map((i) => i.entityId)).toEqual(['SEA']);
    expect(after.objects).toEqual(afterFault.objects);
  });

  it('keeps the same value online as the training join when one request has two values for one time', async () => {
    const results = await ingest([
      rec('MIA', '2001-01-09T10:00:00Z', 0.1),
      rec('MIA', '2001-01-09T10:00:00Z', 0.9),
    ]);
    const kept = [...results].sort((a, b) => a.recordId.localeCompare(b.recordId))[0];
    expect(results.map((r) => r.outcome).sort()).toEqual(['stale', 'updated']);
    expect(results.find((r) => r.outcome === 'updated')?.recordId).toBe(kept?.recordId);
    const online = await getLatest(
      ctx().online,
      'airport-delays',
      'MIA',
      group.ttlSeconds,
      Date.parse('2001-01-09T11:00:00Z'),
    );
    const offline = (await snapshotOfStores()).objects.map(([, body]) => body).join('');
    const stored = offline
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { recordId: string; values: { delayRate2h: number } })
      .find((r) => r.recordId === kept?.recordId);
    expect(online).toMatchObject({ values: { delayRate2h: stored?.values.delayRate2h } });
  });

  it('reads many entities at once with BatchGetItem', async () => {
    await ingest([rec('ATL', '2001-01-09T10:00:00Z', 0.4), rec('LAX', '2001-01-09T10:00:00Z', 0.1)]);
    const got = await getManyLatest(
      ctx().online,
      ['ATL', 'LAX', 'SFO'].map((entityId) => ({
        group: 'airport-delays',
        entityId,
        ttlSeconds: group.ttlSeconds,
      })),
      Date.parse('2001-01-09T11:00:00Z'),
    );
    expect(got.map((g) => (isPresent(g) ? g.values.delayRate2h : g.reason))).toEqual([0.4, 0.1, 'absent']);
  });
});

describe('bulk ingestion', () => {
  it('stores exactly the good rows and quarantines exactly the bad ones, each with its reason', async () => {
    const csv = [
      'entityId,eventTime,delayRate2h,flights2h',
      'ATL,2001-01-09T10:00:00Z,0.25,12',
      'ORD,2001-01-09T10:05:00Z,1.5,3',
      'LAX,not-a-time,0.1,4',
      'SFO,2001-01-09T10:10:00Z,,7',
      'DEN,2001-01-09T10:15:00Z,0.3,-2',
      'BOS,2001-01-09T10:20:00Z,0.05,9',
    ].join('\n');
    await emu.s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: 'ingest/airport-delays/day1.csv', Body: csv }),
    );
    const summary = await ingestBulkObject(ctx(), groups, emu.s3, bucket, 'ingest/airport-delays/day1.csv');
    expect(summary).toMatchObject({
      rows: 6,
      accepted: 3,
      rejected: 3,
      quarantineKey: 'quarantine/airport-delays/day1.rejected.jsonl',
    });
    const quarantined = (
      await readText(emu.s3, { bucket, key: 'quarantine/airport-delays/day1.rejected.jsonl' })
    )
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { line: number; problems: { field: string; problem: string }[] });
    expect(quarantined.map((q) => [q.line, q.problems.map((p) => p.field)])).toEqual([
      [3, ['values.delayRate2h']],
      [4, ['eventTime']],
      [6, ['values.flights2h']],
    ]);
    const online = ((await emu.doc.send(new ScanCommand({ TableName: table }))).Items ?? [])
      .map((i) => i.entityId)
      .sort();
    expect(online).toEqual(['ATL', 'BOS', 'SFO']);
    const summaryObject = JSON.parse(
      await readText(emu.s3, { bucket, key: 'quarantine/airport-delays/day1.summary.json' }),
    );
    expect(summaryObject.accepted).toBe(3);
  });

  it('accepts JSONL and quarantines a line that is not JSON', async () => {
    const body = `${JSON.stringify(rec('ATL', '2001-01-09T10:00:00Z', 0.2))}\n{not json\n`;
    await emu.s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: 'ingest/airport-delays/x.jsonl', Body: body }),
    );
    const summary = await ingestBulkObject(ctx(), groups, emu.s3, bucket, 'ingest/airport-delays/x.jsonl');
    expect(summary).toMatchObject({ rows: 2, accepted: 1, rejected: 1 });
  });
});

describe('training sets', () => {
  // Labels enter as an application sends them, through the validated label path, ingested at 23:00.
  async function putLabels(labels: readonly object[]) {
    const contract = labelContract(useCase);
    const now = () => Date.parse('2001-01-09T23:00:00.000Z');
    const { accepted, rejected } = validateLabels(contract, labels, now);
    expect(rejected).toEqual([]);
    await writeLabels({ client: emu.s3, bucket, now }, contract, accepted);
  }
  const label = (time: string, airport: string, y: 0 | 1) => ({
    eventTime: time,
    entities: { 'airport-delays': airport },
    label: y,
    request: { hour: 10, weekday: 2, distance: 500, origin: airport, destination: 'JFK' },
  });

  it('gives the identical content hash when rebuilt with the same cutoff after a backfill', async () => {
    clock = Date.parse('2001-01-09T12:00:00Z');
    await ingest([rec('ATL', '2001-01-09T08:00:00Z', 0.1), rec('ORD', '2001-01-09T09:00:00Z', 0.6)]);
    await putLabels([
      label('2001-01-09T10:00:00.000Z', 'ATL', 0),
      label('2001-01-09T10:30:00.000Z', 'ORD', 1),
      label('2001-01-09T11:00:00.000Z', 'ATL', 1),
    ]);
    const options = {
      useCase,
      s3: emu.s3,
      offline: { client: emu.s3, bucket },
      datasetsBucket: bucket,
      cutoff: '2001-01-10T00:00:00.000Z',
    };
    const first = await buildDataset(options);
    // A backfill for 09:30, ingested after the cutoff: it must not change the dataset.
    clock = Date.parse('2001-01-11T00:00:00Z');
    await ingest([rec('ATL', '2001-01-09T09:30:00Z', 0.95)]);
    const second = await buildDataset(options);
    expect(second.datasetHash).toBe(first.datasetHash);
    expect(first.rowCount).toBe(3);
    expect(first.positiveCount).toBe(2);
    const rows = (await readText(emu.s3, first.snapshot))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows.map((r) => r.features.delayRate2h)).toEqual([0.1, 0.6, 0.1]);
    // With a later cutoff the backfill is visible, so the hash differs.
    const third = await buildDataset({ ...options, cutoff: '2001-01-12T00:00:00.000Z' });
    expect(third.datasetHash).not.toBe(first.datasetHash);
    expect(first.baseline.delayRate2h?.kind).toBe('numeric');
    // Each build is recorded in the lineage ledger once, however often the step is retried.
    const ledger = emu.ledger(await createLedgerTable(emu.ddb, `ledger-${n}`));
    const recorded = await recordDatasetBuilt(ledger, first, 'test');
    const retried = await recordDatasetBuilt(ledger, first, 'test');
    const rebuilt = await recordDatasetBuilt(ledger, second, 'test');
    expect([recorded.created, retried.created, rebuilt.created]).toEqual([true, false, true]);
    expect(recorded.record.event).toMatchObject({
      type: 'DatasetBuilt',
      datasetHash: first.datasetHash,
      rowCount: 3,
    });
    expect((await modelsFromDataset(ledger, first.datasetHash)).datasetHash).toBe(first.datasetHash);
    expect(first.schema.map((s) => s.name)).toEqual([
      'delayRate2h',
      'flights2h',
      'hour',
      'weekday',
      'distance',
      'origin',
      'destination',
    ]);
  });
});
