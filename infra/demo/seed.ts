/**
 * Seeds a local cloud with a slice of the real flights, only through the product's validated
 * paths: the airport delay-rate features and the label events of every flight, either as bulk
 * files dropped in the datasets bucket (S3 → EventBridge → the Bulk functions, as a data team
 * would) or through the same validation and write functions called in-process (faster, for tests).
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { UseCaseSchema } from '../../shared/config/use-case.ts';
import { featureGroupIndex, validateRecords, writeRecords } from '../../shared/features/ingest.ts';
import { dateOf } from '../../shared/features/offline-store.ts';
import { LABEL_DROP_PREFIX, LABEL_QUARANTINE_PREFIX, labelContract } from '../../shared/labels/schema.ts';
import { validateLabels, writeLabels } from '../../shared/labels/store.ts';
import { readText } from '../../shared/s3.ts';
import demoUseCase from '../../use-cases/flight-delay.ts';
import { localDocumentClient, localS3Client } from '../local/clients.ts';
import type { LocalCloud } from '../local/cloud.ts';
import { airportDelayRecords, type Flight, flightLabel, fromAirports, readFlights } from './flights.ts';

/** A slice of flights-3m: origin airports and a scheduled-departure window. */
export interface FlightSlice {
  readonly airports: readonly string[];
  readonly from: Date;
  readonly to: Date;
}

/** What was seeded. */
export interface SeedReport {
  readonly flights: number;
  /** Label events accepted (equal events, such as two identical flights in one minute, count once). */
  readonly labels: { readonly accepted: number; readonly rejected: number; readonly duplicates: number };
  readonly featureRecords: number;
  readonly accepted: number;
  readonly rejected: number;
  readonly outcomes: Readonly<Record<string, number>>;
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** At most `count` items taken evenly over `items`, in order (all of them without `count`). */
export function evenly<T>(items: readonly T[], count?: number): T[] {
  if (count === undefined || count >= items.length) return [...items];
  const step = items.length / Math.max(1, count);
  return Array.from({ length: count }, (_, i) => items[Math.floor(i * step)] as T);
}

/** Names of the cloud's resources by logical-ID prefix. */
export function resourceNames(cloud: LocalCloud) {
  const bucket = (prefix: string) =>
    cloud.assembly.buckets.find((b) => b.logicalId.startsWith(prefix))?.name ?? '';
  const table = (prefix: string) =>
    cloud.assembly.tables.find((t) => t.logicalId.startsWith(prefix))?.name ?? '';
  return {
    datasets: bucket('Datasets'),
    offline: bucket('OfflineFeatures'),
    artifacts: bucket('Artifacts'),
    predictionLogs: bucket('PredictionLogs'),
    archive: bucket('AuditArchive'),
    online: table('OnlineFeatures'),
    ledger: table('Ledger'),
    runState: table('RunState'),
  };
}

/**
 * Seeds `slice`: features, then one label event per flight, either through the bulk drop zones or
 * validated and written in-process.
 */
export async function seedFlights(
  cloud: LocalCloud,
  slice: FlightSlice,
  via: 'bulk' | 'direct',
  options: {
    readonly labels?: boolean;
    /** Label only this many flights, taken evenly over the slice (features still come from all). */
    readonly labelled?: number;
  } = {},
): Promise<SeedReport> {
  const useCase = UseCaseSchema.parse(demoUseCase);
  const names = resourceNames(cloud);
  const s3 = localS3Client(cloud.endpoints.s3, cloud.assembly.placement.region);
  const doc = localDocumentClient(cloud.endpoints.dynamodb, cloud.assembly.placement.region);
  try {
    const flights: Flight[] = await collect(
      fromAirports(readFlights(slice.from, slice.to), new Set(slice.airports)),
    );
    async function* replay() {
      yield* flights;
    }
    const features = await collect(airportDelayRecords(replay()));
    const file = `seed-${dateOf(slice.from.toISOString())}-${dateOf(slice.to.toISOString())}`;
    const drop = async (key: string, summaryKey: string, rows: readonly unknown[]) => {
      await s3.send(
        new PutObjectCommand({
          Bucket: names.datasets,
          Key: key,
          Body: `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`,
        }),
      );
      await cloud.settle();
      return JSON.parse(await readText(s3, { bucket: names.datasets, key: summaryKey })) as {
        accepted: number;
        rejected: number;
        outcomes: Record<string, number>;
      };
    };
    let summary: { accepted: number; rejected: number; outcomes: Record<string, number> };
    if (via === 'bulk') {
      summary = await drop(
        `ingest/airport-delays/${file}.jsonl`,
        `quarantine/airport-delays/${file}.summary.json`,
        features,
      );
    } else {
      const group = featureGroupIndex([useCase]).get('airport-delays');
      if (!group) throw new Error('the demo use case has no airport-delays group');
      const { accepted, rejected } = validateRecords(group, features);
      const results = await writeRecords(
        { online: { client: doc, tableName: names.online }, offline: { client: s3, bucket: names.offline } },
        group,
        accepted,
      );
      const outcomes: Record<string, number> = {};
      for (const r of results) outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
      summary = { accepted: accepted.length, rejected: rejected.length, outcomes };
    }
    const report = { flights: flights.length, featureRecords: features.length, ...summary };
    if (options.labels === false) return { ...report, labels: { accepted: 0, rejected: 0, duplicates: 0 } };
    const labels = evenly(flights, options.labelled).map(flightLabel);
    const contract = labelContract(useCase);
    let labelSummary: SeedReport['labels'];
    if (via === 'bulk') {
      const done = await drop(
        `${LABEL_DROP_PREFIX}${useCase.name}/${file}.jsonl`,
        `${LABEL_QUARANTINE_PREFIX}${useCase.name}/${file}.summary.json`,
        labels,
      );
      labelSummary = {
        accepted: done.accepted,
        rejected: done.rejected,
        duplicates: done.outcomes.duplicate ?? 0,
      };
    } else {
      const { accepted, rejected } = validateLabels(contract, labels);
      const results = await writeLabels({ client: s3, bucket: names.datasets }, contract, accepted);
      labelSummary = {
        accepted: accepted.length,
        rejected: rejected.length,
        duplicates: results.filter((r) => r.outcome === 'duplicate').length,
      };
    }
    return { ...report, labels: labelSummary };
  } finally {
    s3.destroy();
    doc.destroy();
  }
}
