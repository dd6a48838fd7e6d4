/**
 * `npm run bench -- monitor [--quick]`: one monitoring check over N logged predictions at three
 * sizes a decade apart (10^4, 10^5, 10^6; quick: 5,000 and 50,000), each in a process of its own
 * (`--rows N` runs one size and prints its JSON line) so its peak RSS is its own, and the fitted
 * growth exponent. The ledger, the manifest and the
 * monitoring reference are real (DynamoDB Local, s3rver, the KMS emulator); the prediction log's
 * objects are generated when the monitor asks for them (5,000 lines each, as Firehose would
 * deliver them) and never stored, so the figure is the monitor's, not s3rver's, and the process
 * never holds the whole log. The time to generate the same objects alone is measured in the
 * same run and reported beside it.
 */
import { spawnSync } from 'node:child_process';
import { Readable } from 'node:stream';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { UseCaseSchema } from '../shared/config/use-case.ts';
import { runMonitor } from '../shared/monitoring/monitor.ts';
import { predictionLogPrefix } from '../shared/serving/prediction-log.ts';
import { startEmulators } from '../test/support/emulators.ts';
import { createLedgerTable } from '../test/support/ledger-table.ts';
import { drawFlights, logLine, registerTrainedVersion } from '../test/support/monitoring.ts';
import flightDelay from '../use-cases/flight-delay.ts';
import {
  benchArgs,
  type Figure,
  figure,
  GROWTH_TARGET,
  growthExponent,
  progress,
  report,
} from './harness.ts';

const LINES_PER_OBJECT = 5000;
const VERSION = 'flight-delay-v1';

/** What one size's process prints. */
interface SizeResult {
  readonly rows: number;
  readonly read: number;
  readonly monitorMs: number;
  readonly generateMs: number;
  readonly peakRssMb: number;
  readonly rssBeforeMb: number;
}

const args = benchArgs();
const useCase = UseCaseSchema.parse(flightDelay);
if (!process.argv.includes('--child')) {
  // The orchestrator: each size in a fresh process, and one of 100 rows first: the check's fixed
  // cost (the version's reference, the report, the signed ledger append), taken out of every size
  // before the growth exponent is fitted, so it measures how the per-row work grows.
  const sizes = args.quick ? [5_000, 50_000] : [10_000, 100_000, 1_000_000];
  const run = (n: number): SizeResult => {
    const child = spawnSync(
      process.execPath,
      [...process.execArgv, process.argv[1] ?? '', '--child', '--rows', String(n)],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const line = child.stdout.trim().split('\n').at(-1) ?? '';
    if (child.status !== 0 || !line.startsWith('{'))
      throw new Error(`monitor at ${n} rows failed: ${child.stdout}`);
    const result = JSON.parse(line) as SizeResult;
    if (result.read !== n) throw new Error(`the monitor read ${result.read} of ${n} rows`);
    progress(
      `monitor at ${n} rows: ${(result.monitorMs / 1000).toFixed(2)} s (generating the log alone ${(result.generateMs / 1000).toFixed(2)} s), peak RSS ${result.peakRssMb} MB`,
    );
    return result;
  };
  const fixed = run(100);
  const results = sizes.map(run);
  const largest = results.at(-1) as SizeResult;
  const own = (r: SizeResult) => (r.monitorMs - r.generateMs) / 1000;
  const perRow = (r: SizeResult) => Math.max(own(r) - own(fixed), 1e-6);
  const size = largest.rows.toLocaleString('en-US');
  const figures: Figure[] = [
    figure(
      'monitor',
      'rows-per-second',
      `prediction-log rows/s through one monitoring check at ${size} rows, log generation taken out`,
      'rows/s',
      largest.rows / own(largest),
      {
        target: { op: '>=', value: 200_000 },
        note: `the log is generated as the monitor reads it (${(largest.generateMs / 1000).toFixed(2)} s of ${(largest.monitorMs / 1000).toFixed(2)} s); generating alone is timed in the same process and taken out`,
      },
    ),
    figure(
      'monitor',
      'rows-per-second-with-generation',
      `the same, generation of the log included`,
      'rows/s',
      largest.rows / (largest.monitorMs / 1000),
    ),
    figure('monitor', 'peak-rss-mb', `peak RSS of the process at ${size} rows`, 'MB', largest.peakRssMb, {
      note: `${largest.rssBeforeMb} MB before the check`,
    }),
    figure(
      'monitor',
      'growth-exponent',
      `k in time ∝ rows^k over ${sizes.map((n) => n.toLocaleString('en-US')).join(', ')} rows`,
      'k',
      growthExponent(results.map((r) => ({ n: r.rows - fixed.rows, seconds: perRow(r) }))),
      {
        target: GROWTH_TARGET,
        note: `the fixed cost of a check (${own(fixed).toFixed(2)} s, measured at ${fixed.rows} rows) taken out of each size; the statistics run on a reservoir of at most sampleLimit (${useCase.monitoring.sampleLimit.toLocaleString('en-US')}) values per feature, as the product does`,
      },
    ),
  ];
  report(figures);
  process.exit(0);
}
const rows = args.int('rows', 1_000_000);

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
  const checked = result.reports[0];
  progress(`${rows} rows in ${objects} objects, ${bytes} bytes of log; decision ${checked?.event.decision}`);
  const measured: SizeResult = {
    rows,
    read: checked?.rows ?? 0,
    monitorMs,
    generateMs,
    peakRssMb: Math.round(peakKb / 1024),
    rssBeforeMb: Math.round(rssBefore / 1024),
  };
  console.log(JSON.stringify(measured));
} finally {
  await emu.stop();
}
