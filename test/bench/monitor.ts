/**
 * `npm run bench -- monitor [--rows N]`: one monitoring check over N logged predictions (default
 * 10^6), in its own process so its peak RSS is its own. The ledger, the manifest and the
 * monitoring reference are real (DynamoDB Local, s3rver, the KMS emulator); the prediction log's
 * objects are generated when the monitor asks for them (5,000 lines each, as Firehose would
 * deliver them) and never stored, so the figure is the monitor's, not s3rver's, and the process
 * never holds the whole log. The time to generate the same objects alone is measured in the
 * same run and reported beside it.
 */
import { Readable } from 'node:stream';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { UseCaseSchema } from '../../shared/config/use-case.ts';
import { runMonitor } from '../../shared/monitoring/monitor.ts';
import { predictionLogPrefix } from '../../shared/serving/prediction-log.ts';
import flightDelay from '../../use-cases/flight-delay.ts';
import { startEmulators } from '../support/emulators.ts';
import { createLedgerTable } from '../support/ledger-table.ts';
import { drawFlights, logLine, registerTrainedVersion } from '../support/monitoring.ts';

const LINES_PER_OBJECT = 5000;
const VERSION = 'flight-delay-v1';

const args = process.argv.slice(2);
const rowsAt = args.indexOf('--rows');
const rows = rowsAt === -1 ? 1_000_000 : Number(args[rowsAt + 1]);
if (!Number.isInteger(rows) || rows < LINES_PER_OBJECT)
  throw new Error(`--rows takes a whole number >= ${LINES_PER_OBJECT}`);

const useCase = UseCaseSchema.parse(flightDelay);
const window = { start: '2026-06-01T00:00:00.000Z', end: '2026-06-02T00:00:00.000Z' };
const objects = Math.ceil(rows / LINES_PER_OBJECT);
const spanMs = Date.parse(window.end) - Date.parse(window.start);
const keyOf = (k: number) => {
  const at = new Date(Date.parse(window.start) + Math.floor((k * spanMs) / objects)).toISOString();
  return `${predictionLogPrefix(useCase.name)}date=${at.slice(0, 10)}/hour=${at.slice(11, 13)}/part-${String(k).padStart(5, '0')}.jsonl`;
};

/** Object k of the log: its lines, made across its share of the window. */
function objectText(k: number): string {
  const n = Math.min(LINES_PER_OBJECT, rows - k * LINES_PER_OBJECT);
  const flights = drawFlights(1000 + k, n);
  const from = Date.parse(window.start) + Math.floor((k * spanMs) / objects);
  const step = Math.floor(spanMs / objects / n);
  return flights
    .map((f, i) =>
      JSON.stringify(logLine(useCase, VERSION, `req-${k}-${i}`, new Date(from + i * step).toISOString(), f)),
    )
    .join('\n');
}

const emu = await startEmulators();
try {
  const bucket = 'bench-monitor';
  await emu.createBucket(bucket);
  const ledger = emu.ledger(await createLedgerTable(emu.ddb, 'bench-monitor-ledger'));
  await registerTrainedVersion(
    { s3: emu.s3, ledger, bucket, useCase },
    { modelVersion: VERSION, runId: 'bench-run', seed: 7 },
  );
  const keys = Array.from({ length: objects }, (_, k) => keyOf(k));
  const real = emu.s3;
  // The log's listing and objects come from the generator; everything else goes to s3rver.
  const s3 = new Proxy(real, {
    get(target, prop, receiver) {
      if (prop !== 'send') return Reflect.get(target, prop, receiver);
      return async (command: unknown) => {
        if (
          command instanceof ListObjectsV2Command &&
          command.input.Prefix?.startsWith(predictionLogPrefix(useCase.name))
        ) {
          const prefix = command.input.Prefix;
          return {
            Contents: keys.filter((k) => k.startsWith(prefix)).map((Key) => ({ Key })),
            IsTruncated: false,
          };
        }
        if (
          command instanceof GetObjectCommand &&
          command.input.Key?.startsWith(predictionLogPrefix(useCase.name))
        ) {
          const k = keys.indexOf(command.input.Key);
          return { Body: Readable.from([Buffer.from(objectText(k))]) };
        }
        return target.send(command as never);
      };
    },
  }) as S3Client;

  const rssBefore = process.resourceUsage().maxRSS;
  const t0 = performance.now();
  const result = await runMonitor({
    useCase,
    s3,
    ledger,
    predictionLogBucket: bucket,
    datasetsBucket: bucket,
    endpointName: 'bench-endpoint',
    window,
    actor: 'bench',
    now: () => new Date(window.end),
  });
  const monitorMs = performance.now() - t0;
  const peakKb = process.resourceUsage().maxRSS;
  let bytes = 0;
  const g0 = performance.now();
  for (let k = 0; k < objects; k++) bytes += objectText(k).length;
  const generateMs = performance.now() - g0;
  const report = result.reports[0];
  console.log(
    JSON.stringify({
      bench: 'monitor',
      rows,
      objects,
      logBytes: bytes,
      read: report?.rows,
      decision: report?.event.decision,
      monitorMs: Math.round(monitorMs),
      generateMs: Math.round(generateMs),
      rowsPerSecond: Math.round(rows / (monitorMs / 1000)),
      rowsPerSecondWithoutGeneration: Math.round(rows / ((monitorMs - generateMs) / 1000)),
      peakRssMb: Math.round(peakKb / 1024),
      rssBeforeMb: Math.round(rssBefore / 1024),
      sampleLimit: useCase.monitoring.sampleLimit,
    }),
  );
} finally {
  await emu.stop();
}
