/**
 * The label paths against real s3rver: validation derived from the use case, storage where the
 * point-in-time join reads, replays that write nothing, bulk files with quarantine, and a dataset
 * build that quarantines a hand-written bad row instead of failing late.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { UseCaseSchema } from '../../../shared/config/use-case.ts';
import { buildDataset } from '../../../shared/features/dataset.ts';
import { featureGroupIndex, validateRecords, writeRecords } from '../../../shared/features/ingest.ts';
import { ingestLabelFile } from '../../../shared/labels/bulk.ts';
import { labelContract, labelPrefix } from '../../../shared/labels/schema.ts';
import { validateLabels, writeLabels } from '../../../shared/labels/store.ts';
import { DatasetManifestFactsSchema } from '../../../shared/pipeline/manifest.ts';
import { DataValidationError, validateManifest } from '../../../shared/pipeline/validate-data.ts';
import { listKeys, readText } from '../../../shared/s3.ts';
import demo from '../../../use-cases/flight-delay.ts';
import { type Emulators, startEmulators } from '../../support/emulators.ts';

const useCase = UseCaseSchema.parse(demo);
const contract = labelContract(useCase);
const contracts = new Map([[contract.useCase, contract]]);
const NOW = Date.parse('2001-01-10T12:00:00.000Z');
const now = () => NOW;

let emu: Emulators;
let bucket: string;
let n = 0;
const store = () => ({ client: emu.s3, bucket, now });

beforeAll(async () => {
  emu = await startEmulators();
});
afterAll(async () => {
  await emu?.stop();
});
beforeEach(async () => {
  n++;
  bucket = `datasets-${n}`;
  await emu.createBucket(bucket);
});

const good = (minute: number, airport = 'ATL', label: 0 | 1 = 1) => ({
  entities: { 'airport-delays': airport },
  eventTime: new Date(Date.parse('2001-01-09T10:00:00.000Z') + minute * 60_000).toISOString(),
  label,
  request: { hour: 10, weekday: 2, distance: 500, origin: airport, destination: 'JFK' },
});

async function objects(): Promise<Record<string, string>> {
  const keys = await listKeys(emu.s3, bucket, '');
  return Object.fromEntries(
    await Promise.all(keys.map(async (k) => [k, await readText(emu.s3, { bucket, key: k })])),
  );
}

/** The dataset the training pipeline would build now from this bucket. */
const build = () =>
  buildDataset({
    useCase,
    s3: emu.s3,
    offline: { client: emu.s3, bucket },
    datasetsBucket: bucket,
    cutoff: new Date(NOW).toISOString(),
  });

async function put(raw: readonly unknown[]) {
  const { accepted, rejected } = validateLabels(contract, raw, now);
  return { rejected, results: await writeLabels(store(), contract, accepted) };
}

describe('label events', () => {
  it('stores valid labels by event date, where the dataset build reads them', async () => {
    const { rejected, results } = await put([good(0), good(30, 'ORD', 0), good(60 * 24, 'ATL', 0)]);
    expect(rejected).toEqual([]);
    expect(results.map((r) => r.outcome)).toEqual(['written', 'written', 'written']);
    const keys = Object.keys(await objects());
    expect(keys).toHaveLength(2);
    expect(keys.every((k) => k.startsWith(`${labelPrefix(useCase.name)}date=`))).toBe(true);
    expect(keys.map((k) => k.split('/')[2])).toEqual(['date=2001-01-09', 'date=2001-01-10']);
    const [firstLine] = ((await objects())[keys[0] ?? ''] ?? '').split('\n');
    const stored = JSON.parse(firstLine ?? '{}');
    expect(stored.ingestedAt).toBe(new Date(NOW).toISOString());
    expect(stored.labelId).toMatch(/^[0-9a-f]{64}$/);

    const manifest = await build();
    expect(manifest.rowCount).toBe(3);
    expect(manifest.positiveCount).toBe(1);
    expect(manifest.quarantine).toEqual({ labels: 0, key: null, first: [] });
  });

  it.each([
    ['a label that is not 0 or 1', { ...good(0), label: 2 }, 'label'],
    ['a label sent as a string', { ...good(0), label: '1' }, 'label'],
    [
      'a request feature out of range',
      { ...good(0), request: { ...good(0).request, hour: 24 } },
      'request.hour',
    ],
    [
      'a request feature of the wrong type',
      { ...good(0), request: { ...good(0).request, distance: 'far' } },
      'request.distance',
    ],
    [
      'a categorical sent as a number',
      { ...good(0), request: { ...good(0).request, origin: 7 } },
      'request.origin',
    ],
    ['an unknown top-level field', { ...good(0), labelId: 'mine' }, '(root)'],
    ['an unknown request feature', { ...good(0), request: { ...good(0).request, month: 1 } }, 'request'],
    [
      'an unknown feature group',
      { ...good(0), entities: { 'airport-delays': 'ATL', weather: 'SEA' } },
      'entities',
    ],
    ['a missing entity', { ...good(0), entities: {} }, 'entities.airport-delays'],
    [
      'an entity ID with a slash',
      { ...good(0), entities: { 'airport-delays': 'A/B' } },
      'entities.airport-delays',
    ],
    ['a malformed time', { ...good(0), eventTime: '2001-13-01T00:00:00Z' }, 'eventTime'],
    ['a time without a zone', { ...good(0), eventTime: '2001-01-09T10:00:00' }, 'eventTime'],
    ['a time in the future', { ...good(0), eventTime: '2001-01-10T13:00:00.000Z' }, 'eventTime'],
    ['a missing request', { entities: good(0).entities, eventTime: good(0).eventTime, label: 1 }, 'request'],
  ])('rejects %s with the field named, and writes nothing', async (_what, raw, field) => {
    const { rejected, results } = await put([raw]);
    expect(results).toEqual([]);
    expect(rejected).toHaveLength(1);
    expect(rejected[0]?.problems.map((p) => p.field)).toContain(field);
    expect(await objects()).toEqual({});
  });

  it('writes nothing for a replay, and reads a label sent twice once', async () => {
    const batch = [good(0), good(5, 'LAX', 0)];
    await put(batch);
    const before = await objects();
    const replay = await put(batch);
    expect(replay.results.map((r) => r.outcome)).toEqual(['duplicate', 'duplicate']);
    expect(await objects()).toEqual(before);
    // The same label in another request is a second copy; the build still counts it once.
    await put([good(0), good(10)]);
    const manifest = await build();
    expect(manifest.rowCount).toBe(3);
  });

  it('gives equal events the same ID and ignores a client-sent ingestedAt (it is refused)', () => {
    const a = validateLabels(contract, [good(0)], now).accepted[0];
    const b = validateLabels(contract, [{ ...good(0), eventTime: '2001-01-09T11:00:00+01:00' }], now)
      .accepted[0];
    expect(a?.labelId).toBe(b?.labelId);
    const forged = validateLabels(contract, [{ ...good(0), ingestedAt: '2000-01-01T00:00:00.000Z' }], now);
    expect(forged.rejected[0]?.problems[0]?.problem).toMatch(/unknown field\(s\) 'ingestedAt'/);
  });
});

describe('bulk label files', () => {
  const drop = async (key: string, body: string) => {
    await emu.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    return ingestLabelFile(store(), contracts, emu.s3, bucket, key);
  };
  const header =
    'eventTime,label,entities.airport-delays,request.hour,request.weekday,request.distance,request.origin,request.destination';

  it('stores the valid rows of a CSV, quarantines each bad one with its line and field, and replays to nothing', async () => {
    const csv = [
      header,
      '2001-01-09T10:00:00Z,1,ATL,10,2,500,ATL,JFK',
      '2001-01-09T10:05:00Z,2,ATL,10,2,500,ATL,JFK',
      '2001-01-09T10:10:00Z,0,ORD,25,2,500,ORD,JFK',
      '2001-01-09T10:15:00Z,0,,10,2,500,ORD,JFK',
      '2001-01-09T10:20:00Z,0,DFW,10,2,500,DFW,LGA',
    ].join('\n');
    const summary = await drop('ingest-labels/flight-delay/day1.csv', csv);
    expect(summary).toMatchObject({
      useCase: 'flight-delay',
      format: 'csv',
      rows: 5,
      accepted: 2,
      rejected: 3,
      outcomes: { written: 2, duplicate: 0 },
      quarantineKey: 'quarantine-labels/flight-delay/day1.rejected.jsonl',
      summaryKey: 'quarantine-labels/flight-delay/day1.summary.json',
    });
    expect(summary.source.etag).toMatch(/^"[0-9a-f]+"$/);
    const quarantined = (
      await readText(emu.s3, { bucket, key: 'quarantine-labels/flight-delay/day1.rejected.jsonl' })
    )
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { line: number; problems: { field: string }[] });
    expect(quarantined.map((q) => [q.line, q.problems.map((p) => p.field)])).toEqual([
      [3, ['label']],
      [4, ['request.hour']],
      [5, ['entities.airport-delays']],
    ]);
    const stored = (await listKeys(emu.s3, bucket, labelPrefix('flight-delay'))).length;
    expect(stored).toBe(1);

    const again = await drop('ingest-labels/flight-delay/day1.csv', csv);
    expect(again.outcomes).toEqual({ written: 0, duplicate: 2 });
    expect((await listKeys(emu.s3, bucket, labelPrefix('flight-delay'))).length).toBe(stored);
  });

  it('rejects an unknown column as an unknown field, and a JSONL line that is not JSON', async () => {
    const csv = `${header},request.month\n2001-01-09T10:00:00Z,1,ATL,10,2,500,ATL,JFK,1\n`;
    const bad = await drop('ingest-labels/flight-delay/extra.csv', csv);
    expect(bad).toMatchObject({ rows: 1, accepted: 0, rejected: 1 });
    const jsonl = `${JSON.stringify(good(0))}\n{not json\n`;
    const mixed = await drop('ingest-labels/flight-delay/mixed.jsonl', jsonl);
    expect(mixed).toMatchObject({ format: 'jsonl', rows: 2, accepted: 1, rejected: 1 });
  });

  it('keeps every row of a file for an unknown use case in quarantine, writing no label', async () => {
    const summary = await drop('ingest-labels/no-such-case/x.jsonl', `${JSON.stringify(good(0))}\n`);
    expect(summary).toMatchObject({ rows: 1, accepted: 0, rejected: 1 });
    expect(await listKeys(emu.s3, bucket, 'labels/')).toEqual([]);
  });
});

describe('a hand-written row in the label store', () => {
  async function seedFeatures() {
    const group = featureGroupIndex([useCase]).get('airport-delays');
    if (!group) throw new Error('the demo use case lost its feature group');
    const { accepted } = validateRecords(
      group,
      [{ entityId: 'ATL', eventTime: '2001-01-09T09:00:00Z', values: { delayRate2h: 0.2, flights2h: 10 } }],
      now,
    );
    await emu.createKeyTable(`online-${n}`);
    await writeRecords(
      { online: { client: emu.doc, tableName: `online-${n}` }, offline: { client: emu.s3, bucket }, now },
      group,
      accepted,
    );
  }

  it('is quarantined and counted, and ValidateData gates on the share with the label ID named', async () => {
    await seedFeatures();
    const raw = Array.from({ length: 40 }, (_, i) => good(i, 'ATL', (i % 2) as 0 | 1));
    await put(raw);
    // Written by hand, behind the product's back: a label of 2, and a line that is not JSON.
    const forgedId = 'f'.repeat(64);
    await emu.s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: `${labelPrefix(useCase.name)}date=2001-01-09/by-hand.jsonl`,
        Body: `${JSON.stringify({ ...good(1), labelId: forgedId, label: 2, ingestedAt: '2001-01-10T00:00:00.000Z' })}\n{oops\n`,
      }),
    );
    const manifest = await build();
    expect(manifest.rowCount).toBe(40);
    expect(manifest.quarantine.labels).toBe(2);
    expect(manifest.quarantine.first.map((r) => r.labelId)).toEqual([forgedId, null]);
    expect(manifest.quarantine.first[0]?.problems[0]).toMatchObject({ field: 'label', got: '2' });
    const listed = await readText(emu.s3, { bucket, key: manifest.quarantine.key ?? '' });
    expect(listed.trim().split('\n')).toHaveLength(2);
    expect(listed).toContain('by-hand.jsonl');

    const facts = DatasetManifestFactsSchema.parse(manifest);
    const lenient = UseCaseSchema.parse({
      ...demo,
      dataQuality: { ...demo.dataQuality, minRows: 10, maxQuarantinedLabelRate: 0.1 },
    });
    const strict = UseCaseSchema.parse({
      ...demo,
      dataQuality: { ...demo.dataQuality, minRows: 10, maxQuarantinedLabelRate: 0.01 },
    });
    const passed = validateManifest(lenient, facts);
    expect(passed.checks.find((c) => c.name === 'quarantinedLabelRate')).toMatchObject({
      value: 2 / 42,
      passed: true,
    });
    let failure: unknown;
    try {
      validateManifest(strict, facts);
    } catch (e) {
      failure = e;
    }
    expect(failure).toBeInstanceOf(DataValidationError);
    const message = (failure as Error).message;
    expect(message).toContain('quarantinedLabelRate = 0.0476 (must be <= 0.01)');
    expect(message).toContain(
      `${forgedId} (labels/flight-delay/date=2001-01-09/by-hand.jsonl line 1): label:`,
    );
    expect(message).toContain('line 2): (line): is not valid JSON');
  });
});
