/**
 * The product's own app (not a fixture) in the local cloud: the feature store and audit routes,
 * bulk ingestion through S3 → EventBridge, and the ledger archiver fed by the DynamoDB stream.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import {
  DeleteObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { synthApp } from '../../../infra/cli/local.ts';
import { localS3Client } from '../../../infra/local/clients.ts';
import { type LocalCloud, startLocalCloud } from '../../../infra/local/cloud.ts';
import { LOCAL_CREDENTIALS } from '../../../infra/local/engines/credentials.ts';
import { signedFetch, signedRequest } from '../../../infra/local/sigv4.ts';
import { MAX_BATCH_RECORDS } from '../../../shared/features/records.ts';
import { appendEvent } from '../../../shared/ledger/append.ts';
import { kmsSigner } from '../../../shared/ledger/signing.ts';
import { readText } from '../../../shared/s3.ts';
import { runMlops } from '../../support/cli.ts';

let cloud: LocalCloud;
const stateFile = join(mkdtempSync(join(tmpdir(), 'mlops-state-')), 'cloud.json');
let doc: DynamoDBDocumentClient;
let s3: S3Client;

const tableOf = (prefix: string) =>
  cloud.assembly.tables.find((t) => t.logicalId.startsWith(prefix))?.name ?? '';
const bucketOf = (prefix: string) =>
  cloud.assembly.buckets.find((b) => b.logicalId.startsWith(prefix))?.name ?? '';
const api = (path: string) => `${cloud.apiEndpoint}/v1${path}`;
const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000).toISOString();

async function call(method: string, path: string, body?: unknown) {
  const res = await signedFetch(api(path), method, body);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function raw(method: string, path: string, text: string) {
  const req = await signedRequest(api(path), method, text);
  const res = await fetch(req.url, req.init);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Everything the feature store has stored: online items and offline objects. */
async function storesSnapshot() {
  // DynamoDB Local's TTL removes expired items in the background, as AWS does: leave them out.
  const now = Date.now() / 1000;
  const items = (
    (await doc.send(new ScanCommand({ TableName: tableOf('OnlineFeatures') }))).Items ?? []
  ).filter((i) => typeof i.expiresAt !== 'number' || i.expiresAt > now);
  const objects = await s3.send(new ListObjectsV2Command({ Bucket: bucketOf('OfflineFeatures') }));
  return { items, keys: (objects.Contents ?? []).map((o) => o.Key).sort() };
}

beforeAll(async () => {
  const { outdir } = synthApp('dev', mkdtempSync(join(tmpdir(), 'mlops-app-')));
  cloud = await startLocalCloud({ cdkOut: outdir, log: () => {}, stateFile });
  const region = cloud.assembly.placement.region;
  doc = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: cloud.endpoints.dynamodb, region, credentials: LOCAL_CREDENTIALS }),
  );
  s3 = localS3Client(cloud.endpoints.s3, region);
});

afterAll(async () => {
  s3?.destroy();
  await cloud?.stop();
});

describe('feature store routes', () => {
  it('keeps the newer value when an older event arrives late, and serves it', async () => {
    const newer = await call('PUT', '/features/airport-delays/ATL', {
      eventTime: hoursAgo(1),
      values: { delayRate2h: 0.3, flights2h: 40 },
    });
    expect(newer).toMatchObject({ status: 200, body: { outcome: 'updated', entityId: 'ATL' } });
    const older = await call('PUT', '/features/airport-delays/ATL', {
      eventTime: hoursAgo(2),
      values: { delayRate2h: 0.9, flights2h: 10 },
    });
    expect(older.body.outcome).toBe('stale');
    const read = await call('GET', '/features/airport-delays/ATL');
    expect(read).toMatchObject({ status: 200, body: { values: { delayRate2h: 0.3, flights2h: 40 } } });
  });

  it('accepts a correctly signed request whose path has percent-encoded characters', async () => {
    const read = await call('GET', `/features/airport-delays/${encodeURIComponent('A:B')}`);
    // Past the signature check: the handler itself answers that nothing is stored for A:B.
    expect(read.status).toBe(404);
    expect(String(read.body.message)).toContain("'A:B'");
  });

  it('reports a value past its TTL as missing', async () => {
    await call('PUT', '/features/airport-delays/ORD', {
      eventTime: hoursAgo(7),
      values: { delayRate2h: 0.1, flights2h: 5 },
    });
    const read = await call('GET', '/features/airport-delays/ORD');
    expect(read.status).toBe(404);
    expect(String(read.body.message)).toMatch(
      /^entityId: no servable value for 'ORD' in 'airport-delays': expired/,
    );
  });

  it('accepts a batch partially, listing each rejection with its reason', async () => {
    const res = await call('POST', '/features/airport-delays/batch', {
      records: [
        { entityId: 'LAX', eventTime: hoursAgo(1), values: { delayRate2h: 0.2, flights2h: 30 } },
        { entityId: 'SFO', eventTime: hoursAgo(1), values: { delayRate2h: 'high', flights2h: 30 } },
        { entityId: 'DEN', eventTime: hoursAgo(1), values: { delayRate2h: 0.4, flights2h: 12 } },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body.accepted).toBe(2);
    expect(res.body.rejected).toEqual([
      { index: 1, problems: [{ field: 'values.delayRate2h', problem: 'must be a number', got: '"high"' }] },
    ]);
  });

  it('stores only the good record of a batch whose other record DynamoDB could not hold', async () => {
    // Prepare
    const before = await storesSnapshot();
    // Act
    const res = await call('POST', '/features/airport-delays/batch', {
      records: [
        { entityId: 'TINY', eventTime: hoursAgo(1), values: { delayRate2h: 1e-320, flights2h: 3 } },
        { entityId: 'IAH', eventTime: hoursAgo(1), values: { delayRate2h: 0.3, flights2h: 7 } },
      ],
    });
    // Assess
    expect(res.status).toBe(200);
    expect(res.body.accepted).toBe(1);
    expect(res.body.rejected).toEqual([
      { index: 0, problems: [expect.objectContaining({ field: 'values.delayRate2h' })] },
    ]);
    const after = await storesSnapshot();
    expect(after.items.map((i) => i.pk).filter((pk) => String(pk).includes('TINY'))).toEqual([]);
    const newKeys = after.keys.filter((k) => !before.keys.includes(k));
    expect(newKeys).toHaveLength(1);
    const history = await readText(s3, { bucket: bucketOf('OfflineFeatures'), key: newKeys[0] ?? '' });
    expect(history).toContain('"IAH"');
    expect(history).not.toContain('TINY');
  });

  const valid = () => ({ delayRate2h: 0.1, flights2h: 1 });
  const oversize = {
    records: Array.from({ length: MAX_BATCH_RECORDS + 1 }, (_, i) => ({
      entityId: `A${i}`,
      eventTime: hoursAgo(1),
      values: valid(),
    })),
  };
  const badInputs: {
    what: string;
    method: string;
    path: string;
    body: unknown;
    status: number;
    field: string;
  }[] = [
    {
      what: 'a wrong type',
      method: 'PUT',
      path: '/features/airport-delays/BOS',
      body: { eventTime: hoursAgo(1), values: { delayRate2h: 'x', flights2h: 1 } },
      status: 400,
      field: 'values.delayRate2h',
    },
    {
      what: 'a number DynamoDB cannot store (1e-320 passes min 0)',
      method: 'PUT',
      path: '/features/airport-delays/BOS',
      body: { eventTime: hoursAgo(1), values: { delayRate2h: 1e-320, flights2h: 1 } },
      status: 400,
      field: 'values.delayRate2h',
    },
    ...[
      ['a right-to-left override', 'ORD\u202E'],
      ['a zero-width space', 'OR\u200BD'],
      ['NUL', 'A\u0000B'],
    ].map(([what, id]) => ({
      what: `an entity ID holding ${what}`,
      method: 'PUT',
      path: `/features/airport-delays/${encodeURIComponent(id ?? '')}`,
      body: { eventTime: hoursAgo(1), values: valid() },
      status: 400,
      field: 'entityId',
    })),
    {
      what: 'an eventTime of year 0001',
      method: 'PUT',
      path: '/features/airport-delays/BOS',
      body: { eventTime: '0001-01-01T00:00:00Z', values: valid() },
      status: 400,
      field: 'eventTime',
    },
    {
      what: 'a value out of range',
      method: 'PUT',
      path: '/features/airport-delays/BOS',
      body: { eventTime: hoursAgo(1), values: { delayRate2h: 1.5, flights2h: 1 } },
      status: 400,
      field: 'values.delayRate2h',
    },
    {
      what: 'a missing eventTime',
      method: 'PUT',
      path: '/features/airport-delays/BOS',
      body: { values: valid() },
      status: 400,
      field: 'eventTime',
    },
    {
      what: 'an unknown field',
      method: 'PUT',
      path: '/features/airport-delays/BOS',
      body: { eventTime: hoursAgo(1), values: { ...valid(), extra: 1 } },
      status: 400,
      field: 'values',
    },
    {
      what: 'an eventTime in the future',
      method: 'PUT',
      path: '/features/airport-delays/BOS',
      body: { eventTime: new Date(Date.now() + 3_600_000).toISOString(), values: valid() },
      status: 400,
      field: 'eventTime',
    },
    {
      what: 'an unknown group',
      method: 'PUT',
      path: '/features/no-such-group/BOS',
      body: { eventTime: hoursAgo(1), values: {} },
      status: 404,
      field: 'group',
    },
    {
      what: 'an oversize batch',
      method: 'POST',
      path: '/features/airport-delays/batch',
      body: oversize,
      status: 400,
      field: 'records',
    },
    {
      what: 'a batch with no valid record',
      method: 'POST',
      path: '/features/airport-delays/batch',
      body: { records: [{ entityId: 'X', eventTime: 'yesterday', values: {} }] },
      status: 400,
      field: 'records[0].eventTime',
    },
    {
      what: 'a body that is not an object',
      method: 'POST',
      path: '/features/airport-delays/batch',
      body: [1, 2],
      status: 400,
      field: '(root)',
    },
  ];

  it.each(badInputs)('answers $what with a $status naming $field, and writes nothing', async (bad) => {
    const before = await storesSnapshot();
    const res = await call(bad.method, bad.path, bad.body);
    expect(res.status).toBe(bad.status);
    expect(JSON.stringify(res.body)).toContain(bad.field);
    expect(await storesSnapshot()).toEqual(before);
  });

  it('answers a malformed JSON body with a 400 naming the body, and writes nothing', async () => {
    const before = await storesSnapshot();
    const res = await raw('PUT', '/features/airport-delays/BOS', '{"eventTime": ');
    expect(res.status).toBe(400);
    expect(res.body.problems).toEqual([{ field: 'body', problem: 'is not valid JSON' }]);
    expect(await storesSnapshot()).toEqual(before);
  });
});

describe('bulk ingestion through S3 and EventBridge', () => {
  it('stores the good rows and quarantines the bad ones after a file lands under ingest/', async () => {
    const datasets = bucketOf('Datasets');
    const csv = [
      'entityId,eventTime,delayRate2h,flights2h',
      `PHX,${hoursAgo(1)},0.25,12`,
      `DFW,${hoursAgo(1)},2,3`,
      `SEA,${hoursAgo(1)},0.05,9`,
      `MSP,${hoursAgo(1)},1e-320,4`,
    ].join('\n');
    await s3.send(
      new PutObjectCommand({ Bucket: datasets, Key: 'ingest/airport-delays/drop-1.csv', Body: csv }),
    );
    await cloud.settle();
    const summary = JSON.parse(
      await readText(s3, { bucket: datasets, key: 'quarantine/airport-delays/drop-1.summary.json' }),
    );
    expect(summary).toMatchObject({ rows: 4, accepted: 2, rejected: 2 });
    const quarantined = await readText(s3, {
      bucket: datasets,
      key: 'quarantine/airport-delays/drop-1.rejected.jsonl',
    });
    expect(
      quarantined
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual([
      expect.objectContaining({
        line: 3,
        problems: [expect.objectContaining({ field: 'values.delayRate2h' })],
      }),
      expect.objectContaining({
        line: 5,
        problems: [expect.objectContaining({ field: 'values.delayRate2h' })],
      }),
    ]);
    expect((await call('GET', '/features/airport-delays/MSP')).status).toBe(404);
    const phx = await call('GET', '/features/airport-delays/PHX');
    expect(phx.body.values).toEqual({ delayRate2h: 0.25, flights2h: 12 });
  });
});

describe('ledger archive and audit routes', () => {
  const cliRun = (args: readonly string[]) =>
    runMlops(args, { MLOPS_LOCAL_STATE: stateFile, MLOPS_LEDGER_TABLE: '', AWS_REGION: '' });
  const signingKey = () =>
    cloud.assembly.keys.find((k) => k.logicalId.startsWith('LedgerSigningKey'))?.arn ?? '';

  it('archives appended events through the stream and verifies against the archive', async () => {
    // Prepare: a writer signs with the ledger key through the local KMS, as the pipeline steps do.
    const kms = new KMSClient({
      endpoint: cloud.endpoints.kms,
      region: cloud.assembly.placement.region,
      credentials: LOCAL_CREDENTIALS,
    });
    const ledger = { client: doc, tableName: tableOf('Ledger'), signer: kmsSigner(kms, signingKey()) };
    await appendEvent(ledger, {
      type: 'IncidentOpened',
      eventId: 'incident-local-1',
      actor: 'test',
      time: new Date().toISOString(),
      useCase: 'flight-delay',
      incidentId: 'inc-1',
      modelVersion: 'flight-delay:1',
      severity: 'low',
      summary: 'local archive check',
    });
    await cloud.settle();
    const archived = await s3.send(
      new ListObjectsV2Command({ Bucket: bucketOf('AuditArchive'), Prefix: 'ledger/' }),
    );
    expect((archived.Contents ?? []).length).toBeGreaterThan(0);
    const verify = await call('GET', '/audit/verify?archive=true');
    expect(verify.status).toBe(200);
    expect(verify.body).toMatchObject({ ok: true, archive: { eventsChecked: 1 } });
    // The CLI finds the running local cloud's ledger, signing key and archive by itself, and an
    // archive bucket named on the command line on the same local S3.
    for (const args of [[], ['--archive-bucket'], ['--archive-bucket', bucketOf('AuditArchive')]]) {
      const cli = await cliRun(['audit', 'verify', '--json', ...args]);
      expect(cli.status, cli.stderr).toBe(0);
      expect(JSON.parse(cli.stdout)).toMatchObject({ ok: true, eventsChecked: 1 });
      if (args.length > 0) expect(JSON.parse(cli.stdout).archive).toMatchObject({ eventsChecked: 1 });
    }
    const pem = await cliRun(['audit', 'public-key']);
    expect(pem.status, pem.stderr).toBe(0);
    expect(pem.stdout).toContain('-----BEGIN PUBLIC KEY-----');
  });

  it('keeps archived ledger objects as first written: a different PUT or a DELETE is refused as on AWS', async () => {
    // Prepare: an event archived by the previous test.
    const bucket = bucketOf('AuditArchive');
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'ledger/main/events/' }));
    const key = listed.Contents?.[0]?.Key ?? '';
    const original = await readText(s3, { bucket, key });
    // Act / Assess
    await expect(
      s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: '{"forged":true}' })),
    ).rejects.toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    await expect(s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }))).rejects.toMatchObject({
      name: 'AccessDenied',
    });
    const same = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: original }));
    expect(same.$metadata.httpStatusCode).toBe(200);
    expect(await readText(s3, { bucket, key })).toBe(original);
    // A bucket without Object Lock is unaffected.
    const datasets = bucketOf('Datasets');
    await s3.send(new PutObjectCommand({ Bucket: datasets, Key: 'lock-check.txt', Body: 'a' }));
    await s3.send(new PutObjectCommand({ Bucket: datasets, Key: 'lock-check.txt', Body: 'b' }));
    await s3.send(new DeleteObjectCommand({ Bucket: datasets, Key: 'lock-check.txt' }));
  });
});
