/**
 * `npm run bench -- ingest [--quick]`: `POST /features/{group}/batch` with 500 records (the
 * batch limit) of 500 entities of the demo's airport-delays group: the bundled handler in a
 * process of its own with real API events (each call newer than the last, so every record is
 * written, none a stale repeat), against raw BatchWriteItem of the same 500 items on the same
 * table (20 requests of 25, side by side), in alternating rounds. The handler also appends the
 * batch to the offline store (S3) before the online writes; the raw side does not.
 */
import { createHash } from 'node:crypto';
import { signedFetch } from '../infra/local/sigv4.ts';
import { onlineKey } from '../shared/features/online-store.ts';
import { MAX_BATCH_RECORDS } from '../shared/features/records.ts';
import { benchArgs, type Figure, figure, progress, report } from './harness.ts';
import {
  benchCloud,
  captureInvocations,
  invokedFunction,
  measureInProcess,
  perRound,
} from './support/cloud.ts';

const BENCH = 'ingest';
const GROUP = 'airport-delays';
const args = benchArgs();
const rounds = args.quick ? 1 : 5;
const roundMs = args.quick ? 500 : 3000;
// Enough distinct batches for every call (warm-up, then at least 10 a round, about 0.5 s each).
const batches = args.quick ? 60 : 250;

const cloud = await benchCloud();
try {
  const captured = captureInvocations(cloud);
  const table = cloud.assembly.tables.find((t) => t.logicalId.startsWith('OnlineFeatures'))?.name ?? '';
  const entities = Array.from({ length: MAX_BATCH_RECORDS }, (_, i) => `E${String(i).padStart(4, '0')}`);
  const base = Date.now() - 24 * 3600_000;
  // Batch b stamps every record b seconds after the base: each is newer than the one before.
  const records = (b: number) =>
    entities.map((entityId, i) => ({
      entityId,
      eventTime: new Date(base + b * 1000).toISOString(),
      values: { delayRate2h: ((b + i) % 100) / 100, flights2h: (b + i) % 60 },
    }));
  const url = `${cloud.apiEndpoint}/v1/features/${GROUP}/batch`;
  const res = await signedFetch(url, 'POST', { records: records(0) });
  if (res.status !== 200) throw new Error(`batch answered ${res.status}: ${await res.text()}`);
  const fnName = invokedFunction(cloud, captured, /Feature/i);
  const [template] = captured(fnName) as Record<string, unknown>[];
  captured.stop();
  if (!template) throw new Error('no batch event captured');
  const events = Array.from({ length: batches }, (_, b) => ({
    ...template,
    body: JSON.stringify({ records: records(b + 1) }),
  }));
  // The items as the online store writes them (putLatest): same attributes, same sizes.
  const ingestedAt = new Date().toISOString();
  const items = records(0).map((r) => ({
    pk: onlineKey(GROUP, r.entityId),
    group: GROUP,
    entityId: r.entityId,
    eventTime: r.eventTime,
    ingestedAt,
    recordId: createHash('sha256').update(JSON.stringify(r)).digest('hex'),
    values: r.values,
    expiresAt: Math.floor(Date.parse(r.eventTime) / 1000) + 7200,
  }));
  progress(`${batches} batches of ${MAX_BATCH_RECORDS} records prepared`);
  const measured = await measureInProcess(
    cloud,
    fnName,
    events,
    { kind: 'batch-write', args: { table, items } },
    { rounds, timeMs: roundMs, iterations: 10 },
  );
  const perSecond = (ms: number) => MAX_BATCH_RECORDS / (ms / 1000);
  const handler = perRound(measured, 'handler', 'p50').map(perSecond);
  const raw = perRound(measured, 'raw', 'p50').map(perSecond);
  // A repeated batch is cheaper work (its offline object exists, its online puts are stale).
  if (measured.calls > batches) {
    throw new Error(`${measured.calls} handler calls for ${batches} distinct batches: raise the batch count`);
  }
  const figures: Figure[] = [
    figure(
      BENCH,
      'ratio',
      'handler records/s / raw BatchWriteItem records/s (per round, p50 call)',
      'x',
      handler.map((h, i) => h / (raw[i] ?? Number.NaN)),
      {
        target: { op: '>=', value: 0.7 },
        note: `batches of ${MAX_BATCH_RECORDS} records of ${MAX_BATCH_RECORDS} entities; the handler validates, appends the batch to the offline store (S3) and writes each entity's record online with a conditional put; raw is BatchWriteItem of the same items only`,
      },
    ),
    figure(
      BENCH,
      'handler-records-per-second',
      'batch ingest through the handler (per round, p50 call)',
      'records/s',
      handler,
    ),
    figure(
      BENCH,
      'raw-records-per-second',
      'raw BatchWriteItem of the same items (per round, p50 call)',
      'records/s',
      raw,
    ),
  ];
  report(figures);
} finally {
  await cloud.stop();
}
