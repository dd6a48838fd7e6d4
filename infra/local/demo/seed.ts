/**
 * Seeds a local cloud with a slice of the real flights: the airport delay-rate features (through
 * the bulk drop zone, or written directly for tests) and the label events of every flight.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { UseCaseSchema } from '../../../shared/config/use-case.ts';
import { labelPrefix } from '../../../shared/features/dataset.ts';
import { featureGroupIndex, validateRecords, writeRecords } from '../../../shared/features/ingest.ts';
import { dateOf, readText } from '../../../shared/features/offline-store.ts';
import demoUseCase from '../../../use-cases/flight-delay.ts';
import { localDocumentClient, localS3Client } from '../clients.ts';
import type { LocalCloud } from '../cloud.ts';
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
    archive: bucket('AuditArchive'),
    online: table('OnlineFeatures'),
    ledger: table('Ledger'),
    runState: table('RunState'),
  };
}

/**
 * Seeds `slice`: features either through the bulk drop zone (S3 → EventBridge → the Bulk function,
 * as a data team would) or written directly (faster, for tests); then one label event per flight,
 * partitioned by day, ingested now.
 */
export async function seedFlights(
  cloud: LocalCloud,
  slice: FlightSlice,
  via: 'bulk' | 'direct',
  options: { readonly labels?: boolean; readonly labelIngestedAt?: string } = {},
): Promise<SeedReport> {
  const labelIngestedAt = options.labelIngestedAt ?? new Date().toISOString();
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
    let summary: { accepted: number; rejected: number; outcomes: Record<string, number> };
    if (via === 'bulk') {
      const file = `seed-${dateOf(slice.from.toISOString())}-${dateOf(slice.to.toISOString())}`;
      await s3.send(
        new PutObjectCommand({
          Bucket: names.datasets,
          Key: `ingest/airport-delays/${file}.jsonl`,
          Body: `${features.map((f) => JSON.stringify(f)).join('\n')}\n`,
        }),
      );
      await cloud.settle();
      summary = JSON.parse(
        await readText(s3, names.datasets, `quarantine/airport-delays/${file}.summary.json`),
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
    if (options.labels === false)
      return { flights: flights.length, featureRecords: features.length, ...summary };
    const byDay = new Map<string, string[]>();
    flights.forEach((f, i) => {
      const label = flightLabel(f, i);
      const lines = byDay.get(dateOf(label.eventTime)) ?? [];
      lines.push(JSON.stringify({ ...label, ingestedAt: labelIngestedAt }));
      byDay.set(dateOf(label.eventTime), lines);
    });
    for (const [day, lines] of byDay) {
      await s3.send(
        new PutObjectCommand({
          Bucket: names.datasets,
          Key: `${labelPrefix(useCase.name)}date=${day}/flights.jsonl`,
          Body: lines.join('\n'),
        }),
      );
    }
    return { flights: flights.length, featureRecords: features.length, ...summary };
  } finally {
    s3.destroy();
    doc.destroy();
  }
}
