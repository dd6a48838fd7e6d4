/**
 * The demo lifecycle `npm start` runs against the local cloud, on real flights: ingest features
 * through the bulk drop zone, read them back through the API, build a point-in-time training set,
 * and verify the audit chain. Steps whose capability is not built yet are named as such.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { UseCaseSchema } from '../../../shared/config/use-case.ts';
import { buildDataset, labelPrefix, recordDatasetBuilt } from '../../../shared/features/dataset.ts';
import { dateOf, readText } from '../../../shared/features/offline-store.ts';
import demoUseCase from '../../../use-cases/flight-delay.ts';
import { localS3Client } from '../clients.ts';
import type { LocalCloud } from '../cloud.ts';
import { LOCAL_CREDENTIALS } from '../engines/credentials.ts';
import { signedFetch } from '../sigv4.ts';
import { airportDelayRecords, type Flight, flightLabel, fromAirports, readFlights } from './flights.ts';

/** The slice of flights-3m the demo uses: the 10 busiest origins, the first week of 2001. */
export const DEMO_SLICE = {
  airports: ['ORD', 'DFW', 'ATL', 'LAX', 'PHX', 'STL', 'DTW', 'MSP', 'LAS', 'DEN'],
  from: new Date('2001-01-01T00:00:00Z'),
  to: new Date('2001-01-08T00:00:00Z'),
} as const;

/** What the demo reports, step by step. */
export interface DemoReport {
  readonly flights: number;
  readonly featureRecords: number;
  readonly bulk: { readonly accepted: number; readonly rejected: number };
  readonly dataset: {
    readonly hash: string;
    readonly rows: number;
    readonly positiveRate: number;
    readonly splits: Record<string, number>;
  };
  readonly audit: { readonly ok: boolean; readonly events: number };
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** Runs the demo; `say` prints one progress line. */
export async function runDemo(cloud: LocalCloud, say: (line: string) => void): Promise<DemoReport> {
  const useCase = UseCaseSchema.parse(demoUseCase);
  const region = cloud.assembly.placement.region;
  const s3 = localS3Client(cloud.endpoints.s3, region);
  const doc = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: cloud.endpoints.dynamodb, region, credentials: LOCAL_CREDENTIALS }),
  );
  const bucket = (prefix: string) =>
    cloud.assembly.buckets.find((b) => b.logicalId.startsWith(prefix))?.name ?? '';
  const table = (prefix: string) =>
    cloud.assembly.tables.find((t) => t.logicalId.startsWith(prefix))?.name ?? '';
  const api = (path: string) => `${cloud.apiEndpoint}/v1${path}`;
  try {
    // 1. Data: flights of the slice, in time order.
    say(
      `reading flights ${dateOf(DEMO_SLICE.from.toISOString())}..${dateOf(DEMO_SLICE.to.toISOString())} at ${DEMO_SLICE.airports.length} airports from flights-3m.parquet`,
    );
    const airports = new Set<string>(DEMO_SLICE.airports);
    const flights: Flight[] = await collect(
      fromAirports(readFlights(DEMO_SLICE.from, DEMO_SLICE.to), airports),
    );
    async function* replay() {
      yield* flights;
    }
    const features = await collect(airportDelayRecords(replay()));
    say(
      `${flights.length} flights; ${features.length} point-in-time airport delay-rate records (2 h window, every 15 min)`,
    );

    // 2. Ingest: one JSONL file in the bulk drop zone; S3 → EventBridge → the Bulk function.
    const datasets = bucket('Datasets');
    const body = `${features.map((f) => JSON.stringify(f)).join('\n')}\n`;
    await s3.send(
      new PutObjectCommand({
        Bucket: datasets,
        Key: 'ingest/airport-delays/flights-2001-w1.jsonl',
        Body: body,
      }),
    );
    await cloud.settle();
    const summary = JSON.parse(
      await readText(s3, datasets, 'quarantine/airport-delays/flights-2001-w1.summary.json'),
    ) as { accepted: number; rejected: number; outcomes: Record<string, number> };
    say(
      `bulk ingest: ${summary.accepted} accepted (${JSON.stringify(summary.outcomes)}), ${summary.rejected} quarantined`,
    );

    // 3. Serve: a 2001 value is past its 6 h TTL today, so the API reports it missing; a fresh one is served.
    const stale = await signedFetch(api('/features/airport-delays/ORD'), 'GET');
    say(
      `GET /features/airport-delays/ORD → ${stale.status} ${((await stale.json()) as { message?: string }).message ?? ''}`,
    );
    await signedFetch(api('/features/airport-delays/ORD'), 'PUT', {
      eventTime: new Date().toISOString(),
      values: { delayRate2h: 0.31, flights2h: 42 },
    });
    const fresh = await signedFetch(api('/features/airport-delays/ORD'), 'GET');
    say(
      `PUT a fresh value, GET again → ${fresh.status} ${JSON.stringify(((await fresh.json()) as { values?: unknown }).values)}`,
    );

    // 4. Labels and a point-in-time training set (cutoff now), recorded in the ledger.
    const byDay = new Map<string, string[]>();
    flights.forEach((f, i) => {
      const label = flightLabel(f, i);
      const day = dateOf(label.eventTime);
      const lines = byDay.get(day) ?? [];
      lines.push(JSON.stringify({ ...label, ingestedAt: new Date().toISOString() }));
      byDay.set(day, lines);
    });
    for (const [day, lines] of byDay) {
      await s3.send(
        new PutObjectCommand({
          Bucket: datasets,
          Key: `${labelPrefix(useCase.name)}date=${day}/flights.jsonl`,
          Body: lines.join('\n'),
        }),
      );
    }
    const manifest = await buildDataset({
      useCase,
      s3,
      offline: { client: s3, bucket: bucket('OfflineFeatures') },
      datasetsBucket: datasets,
      cutoff: new Date().toISOString(),
    });
    await recordDatasetBuilt({ client: doc, tableName: table('Ledger') }, manifest, 'mlops start (demo)');
    say(
      `training set ${manifest.datasetHash.slice(0, 12)}…: ${manifest.rowCount} rows, ${((100 * manifest.positiveCount) / Math.max(1, manifest.rowCount)).toFixed(1)}% delayed, split ${JSON.stringify(manifest.splitCounts)}; DatasetBuilt recorded in the ledger`,
    );

    // 5. Not built yet: say so rather than pretend.
    say(
      'train → gate → register → approve → canary deploy → predict → drift → retrain: not built yet (the training-pipeline and serving capabilities come next)',
    );

    // 6. Audit: the chain verifies, including against the Object Lock archive.
    await cloud.settle();
    const verify = (await (await signedFetch(api('/audit/verify?archive=true'), 'GET')).json()) as {
      ok: boolean;
      eventsChecked: number;
    };
    say(
      `audit verify: ${verify.ok ? 'chain intact' : 'CHAIN BROKEN'}, ${verify.eventsChecked} event(s) checked against the archive`,
    );
    return {
      flights: flights.length,
      featureRecords: features.length,
      bulk: { accepted: summary.accepted, rejected: summary.rejected },
      dataset: {
        hash: manifest.datasetHash,
        rows: manifest.rowCount,
        positiveRate: manifest.positiveCount / Math.max(1, manifest.rowCount),
        splits: manifest.splitCounts,
      },
      audit: { ok: verify.ok, events: verify.eventsChecked },
    };
  } finally {
    s3.destroy();
    doc.destroy();
  }
}
