/**
 * `npm run bench -- partitions [--days N] [--quick]`: reading daily label partitions
 * (`labels/<useCase>/date=<day>/<hash>.jsonl`, one object of 40 labels per day; a year by default,
 * quick 30 days) from s3rver: readDailyPartitions at its default concurrency against
 * `concurrency: 1`, in alternating runs. Labels are written through writeLabels.
 */
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { localS3Client } from '../infra/local/clients.ts';
import { startS3 } from '../infra/local/engines/s3.ts';
import { UseCaseSchema } from '../shared/config/use-case.ts';
import {
  addDays,
  PARTITION_READ_CONCURRENCY,
  readDailyPartitions,
} from '../shared/features/offline-store.ts';
import {
  type LabelInput,
  labelContract,
  labelPrefix,
  type StoredLabelEvent,
  storedLabelSchema,
} from '../shared/labels/schema.ts';
import { readLabels, validateLabels, writeLabels } from '../shared/labels/store.ts';
import flightDelay from '../use-cases/flight-delay.ts';
import { benchArgs, figure, progress, report, timeMs as time } from './harness.ts';

const args = benchArgs();

async function benchPartitions(days: number, rowsPerDay = 40): Promise<void> {
  const s3 = await startS3();
  const client = localS3Client(s3.endpoint, 'us-east-1');
  try {
    const bucket = 'bench-datasets';
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    const contract = labelContract(UseCaseSchema.parse(flightDelay));
    const from = '2001-01-01';
    const to = addDays(from, days - 1);
    // The clock is in 2002 (or after the last day), so no 2001 event time is "in the future".
    const nowMs = Math.max(
      Date.parse('2002-01-15T12:00:00.000Z'),
      Date.parse(`${to}T00:00:00.000Z`) + 86_400_000,
    );
    const now = () => nowMs;
    const airports = ['ATL', 'ORD', 'DFW', 'LAX', 'DEN', 'PHX', 'IAH', 'LAS'];
    const inputs: LabelInput[] = [];
    for (let d = 0; d < days; d++) {
      const day = addDays(from, d);
      const weekday = ((new Date(`${day}T00:00:00.000Z`).getUTCDay() + 6) % 7) + 1;
      for (let i = 0; i < rowsPerDay; i++) {
        const eventTime = new Date(Date.parse(`${day}T00:00:00.000Z`) + i * 35 * 60_000).toISOString();
        const origin = airports[i % airports.length] ?? 'ATL';
        inputs.push({
          entities: { 'airport-delays': origin },
          eventTime,
          label: (d + i) % 3 === 0 ? 1 : 0,
          request: {
            hour: new Date(eventTime).getUTCHours(),
            weekday,
            distance: 200 + ((d * 37 + i * 11) % 2500),
            origin,
            destination: airports[(i + 3) % airports.length] ?? 'ORD',
          },
        });
      }
    }
    const { accepted, rejected } = validateLabels(contract, inputs, now);
    if (rejected.length > 0) throw new Error(`labels rejected: ${JSON.stringify(rejected.slice(0, 3))}`);
    const written = await time(async () => {
      const results = await writeLabels({ client, bucket, now }, contract, accepted);
      const fresh = results.filter((r) => r.outcome === 'written').length;
      if (fresh !== accepted.length) throw new Error(`wrote ${fresh} of ${accepted.length} labels`);
    });
    const expected = accepted.length;
    const cutoff = new Date(nowMs).toISOString();
    const onReject = (r: unknown) => {
      throw new Error(`stored label rejected: ${JSON.stringify(r)}`);
    };

    // readLabels has no concurrency option: the same read (its decode, filter, de-duplication and
    // order) through readDailyPartitions, once sequential and once at the default.
    const schema = storedLabelSchema(contract);
    const read = async (concurrency: number | undefined): Promise<number> => {
      let rows = 0;
      for await (const _ of readDailyPartitions<StoredLabelEvent>(
        client,
        bucket,
        labelPrefix(contract.useCase),
        from,
        to,
        {
          decode: (text) => schema.parse(JSON.parse(text)) as StoredLabelEvent,
          keep: (l) => l.ingestedAt <= cutoff,
          idOf: (l) => l.labelId,
          compare: (a, b) =>
            a.eventTime.localeCompare(b.eventTime) ||
            a.labelId.localeCompare(b.labelId) ||
            a.ingestedAt.localeCompare(b.ingestedAt),
          concurrency,
        },
      ))
        rows++;
      return rows;
    };
    // Warm-up, and proof that the real reader sees every label.
    let viaReadLabels = 0;
    for await (const _ of readLabels({ client, bucket, contract, from, to, cutoff, onReject }))
      viaReadLabels++;
    if (viaReadLabels !== expected) throw new Error(`readLabels read ${viaReadLabels} of ${expected} labels`);

    const sequential: number[] = [];
    const bounded: number[] = [];
    const counts = { sequential: new Set<number>(), bounded: new Set<number>() };
    const measure = async (kind: 'sequential' | 'bounded') => {
      let rows = 0;
      const ms = await time(async () => {
        rows = await read(kind === 'sequential' ? 1 : undefined);
      });
      (kind === 'sequential' ? sequential : bounded).push(ms / 1000);
      counts[kind].add(rows);
    };
    // Alternating, and which goes first alternates too, so drift in load hits both alike.
    for (let i = 0; i < 3; i++) {
      if (i % 2 === 0) {
        await measure('sequential');
        await measure('bounded');
      } else {
        await measure('bounded');
        await measure('sequential');
      }
    }
    for (const [kind, seen] of Object.entries(counts)) {
      if (seen.size !== 1 || !seen.has(expected)) {
        throw new Error(`${kind} read ${[...seen].join('/')} rows, expected ${expected}`);
      }
    }
    report([
      figure(
        'partitions',
        'sequential-seconds',
        `${days} daily partitions of ${rowsPerDay} labels, concurrency 1`,
        's',
        sequential,
      ),
      figure(
        'partitions',
        'bounded-seconds',
        `the same at concurrency ${PARTITION_READ_CONCURRENCY} (the default)`,
        's',
        bounded,
      ),
      figure(
        'partitions',
        'speed-up',
        'sequential / default, per alternating pair',
        'x',
        sequential.map((s, i) => s / (bounded[i] ?? Number.NaN)),
        {
          note: 's3rver runs in this process and its listings readdir/stat every day folder synchronously, blocking the event loop; concurrency can only overlap the rest, so this says more about s3rver than about S3',
        },
      ),
    ]);
    progress(
      `written through writeLabels in ${(written / 1000).toFixed(2)} s; every read returned ${expected} labels`,
    );
  } finally {
    client.destroy();
    await s3.stop();
  }
}

await benchPartitions(args.int('days', args.quick ? 30 : 365));
