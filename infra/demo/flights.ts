/**
 * The demo data: vega-datasets' flights-3m.parquet (3 million US flights, January to June 2001),
 * read with hyparquet. Times are the file's scheduled local departure times, treated as UTC.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { rollingRate } from '../../shared/features/aggregates.ts';
import type { LabelInput } from '../../shared/labels/schema.ts';

/** Path of the parquet file inside the installed vega-datasets package (its main is build/index.js). */
export const FLIGHTS_FILE = join(
  dirname(createRequire(import.meta.url).resolve('vega-datasets')),
  '..',
  'data',
  'flights-3m.parquet',
);

/** A departure delay above this many minutes counts as delayed (the label). */
export const DELAY_THRESHOLD_MINUTES = 15;

/** One flight. */
export interface Flight {
  /** Scheduled departure, epoch ms. */
  readonly time: number;
  /** Departure delay in minutes (negative when early). */
  readonly delay: number;
  readonly distance: number;
  readonly origin: string;
  readonly destination: string;
}

interface RawFlight {
  date: Date;
  delay: bigint;
  distance: bigint;
  origin: string;
  destination: string;
}

/** Streams flights with scheduled departure in [from, to), in time order, one row group at a time. */
export async function* readFlights(from: Date, to: Date, file = FLIGHTS_FILE): AsyncGenerator<Flight> {
  const buffer = await asyncBufferFromFile(file);
  const meta = await parquetMetadataAsync(buffer);
  let rowStart = 0;
  for (const group of meta.row_groups) {
    const rows = Number(group.num_rows);
    const stats = group.columns[0]?.meta_data?.statistics;
    const min = stats?.min_value instanceof Date ? stats.min_value.getTime() : Number.NEGATIVE_INFINITY;
    const max = stats?.max_value instanceof Date ? stats.max_value.getTime() : Number.POSITIVE_INFINITY;
    if (max >= from.getTime() && min < to.getTime()) {
      const objects = (await parquetReadObjects({
        file: buffer,
        rowStart,
        rowEnd: rowStart + rows,
        compressors,
      })) as RawFlight[];
      for (const r of objects) {
        const time = r.date.getTime();
        if (time < from.getTime() || time >= to.getTime()) continue;
        yield {
          time,
          delay: Number(r.delay),
          distance: Number(r.distance),
          origin: r.origin,
          destination: r.destination,
        };
      }
    }
    rowStart += rows;
  }
}

/** Keeps only flights leaving the given airports. */
export async function* fromAirports(
  flights: AsyncIterable<Flight>,
  airports: ReadonlySet<string>,
): AsyncGenerator<Flight> {
  for await (const f of flights) if (airports.has(f.origin)) yield f;
}

/**
 * The label event of a flight, as an application would send it: would it leave more than 15
 * minutes late? The origin airport names the `airport-delays` entity.
 */
export function flightLabel(f: Flight): LabelInput {
  const when = new Date(f.time);
  return {
    eventTime: when.toISOString(),
    entities: { 'airport-delays': f.origin },
    label: f.delay > DELAY_THRESHOLD_MINUTES ? 1 : 0,
    request: {
      hour: when.getUTCHours(),
      weekday: when.getUTCDay() === 0 ? 7 : when.getUTCDay(),
      distance: f.distance,
      origin: f.origin,
      destination: f.destination,
    },
  };
}

/** A record of the `airport-delays` feature group, ready for ingestion. */
export interface AirportDelayRecord {
  readonly entityId: string;
  readonly eventTime: string;
  readonly values: { readonly delayRate2h: number | null; readonly flights2h: number };
}

/**
 * The origin airport's delay rate over the last 2 hours, every 15 minutes. A flight's outcome
 * counts from its actual departure (scheduled time plus delay), never earlier.
 */
export async function* airportDelayRecords(
  flights: AsyncIterable<Flight>,
): AsyncGenerator<AirportDelayRecord> {
  async function* outcomes() {
    for await (const f of flights) {
      yield {
        observedAt: f.time,
        outcome: {
          entityId: f.origin,
          knownAt: f.time + Math.max(f.delay, 0) * 60_000,
          positive: f.delay > DELAY_THRESHOLD_MINUTES,
        },
      };
    }
  }
  for await (const v of rollingRate(outcomes(), { windowMs: 2 * 3_600_000, stepMs: 15 * 60_000 })) {
    yield {
      entityId: v.entityId,
      eventTime: new Date(v.at).toISOString(),
      values: { delayRate2h: v.rate, flights2h: v.count },
    };
  }
}
