import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareRecords } from '../../../shared/features/offline-store.ts';
import { OutOfOrderInputError, pointInTimeJoin } from '../../../shared/features/point-in-time.ts';
import type { StoredFeatureRecord } from '../../../shared/features/records.ts';
import type { LabelEvent } from '../../../shared/labels/schema.ts';

const BASE = Date.parse('2001-01-01T00:00:00.000Z');
const iso = (minutes: number) => new Date(BASE + minutes * 60_000).toISOString();
const TTL_SECONDS = 90 * 60;

async function* from<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

function record(
  entityId: string,
  eventMin: number,
  ingestMin: number,
  rate: number,
  n: number,
): StoredFeatureRecord {
  return {
    group: 'airport-delays',
    entityId,
    eventTime: iso(eventMin),
    ingestedAt: iso(ingestMin),
    values: { delayRate2h: rate },
    recordId: `r${n}`,
  };
}

function label(entityId: string, minute: number, n: number): LabelEvent {
  return {
    labelId: `l${n}`,
    eventTime: iso(minute),
    entities: { 'airport-delays': entityId },
    label: 1,
    request: { hour: 1 },
  };
}

async function join(records: StoredFeatureRecord[], labels: LabelEvent[], cutoff: string) {
  // What the offline reader does: drop records ingested after the cutoff, then order by event time.
  const visible = records.filter((r) => r.ingestedAt <= cutoff).sort(compareRecords);
  const sortedLabels = [...labels].sort(
    (a, b) => a.eventTime.localeCompare(b.eventTime) || a.labelId.localeCompare(b.labelId),
  );
  return collect(
    pointInTimeJoin(
      from(sortedLabels),
      [
        {
          group: 'airport-delays',
          ttlSeconds: TTL_SECONDS,
          featureNames: ['delayRate2h'],
          records: from(visible),
        },
      ],
      cutoff,
    ),
  );
}

const recordArb = fc.record({
  entity: fc.constantFrom('ATL', 'ORD', 'LAX'),
  eventMin: fc.integer({ min: 0, max: 600 }),
  ingestDelay: fc.integer({ min: 0, max: 400 }),
  rate: fc.double({ min: 0, max: 1, noNaN: true }),
});
const labelArb = fc.record({
  entity: fc.constantFrom('ATL', 'ORD', 'LAX', 'SFO'),
  minute: fc.integer({ min: 0, max: 700 }),
});

describe('point-in-time join', () => {
  it('never lets a label see a feature from its future or ingested after the cutoff (any event order)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(recordArb, { maxLength: 60 }),
        fc.array(labelArb, { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 0, max: 1000 }),
        async (recs, labs, cutoffMin) => {
          const records = recs.map((r, i) =>
            record(r.entity, r.eventMin, r.eventMin + r.ingestDelay, r.rate, i),
          );
          const labels = labs.map((l, i) => label(l.entity, l.minute, i));
          const cutoff = iso(cutoffMin);
          const rows = await join(records, labels, cutoff);
          expect(rows).toHaveLength(labels.length);
          for (const row of rows) {
            const used = row.featureTimes['airport-delays'];
            const entity = row.entities['airport-delays'];
            // Reference: the latest eligible record for this entity, computed the naive way.
            const eligible = records
              .filter(
                (r) =>
                  r.entityId === entity &&
                  r.ingestedAt <= cutoff &&
                  r.eventTime <= row.eventTime &&
                  Date.parse(row.eventTime) < Date.parse(r.eventTime) + TTL_SECONDS * 1000,
              )
              .sort(compareRecords);
            const latestTime = eligible.length === 0 ? null : eligible[eligible.length - 1]?.eventTime;
            const latestAll = records
              .filter((r) => r.entityId === entity && r.ingestedAt <= cutoff && r.eventTime <= row.eventTime)
              .sort(compareRecords)
              .pop();
            const expected = latestAll && eligible.includes(latestAll) ? latestTime : null;
            expect(used).toBe(expected ?? null);
            if (used !== null && used !== undefined) {
              expect(used <= row.eventTime).toBe(true);
              const source = records.find(
                (r) => r.entityId === entity && r.eventTime === used && r.ingestedAt <= cutoff,
              );
              expect(source).toBeDefined();
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('does not change a built dataset when a backfill is ingested after the cutoff', async () => {
    const records = [record('ATL', 10, 20, 0.1, 1), record('ATL', 50, 60, 0.5, 2)];
    const labels = [label('ATL', 55, 1), label('ATL', 100, 2)];
    const cutoff = iso(100);
    const before = await join(records, labels, cutoff);
    // A backfill: an event at minute 52 (before the labels) that arrives at minute 500.
    const after = await join([...records, record('ATL', 52, 500, 0.9, 3)], labels, cutoff);
    expect(after).toEqual(before);
    expect(before.map((r) => r.features.delayRate2h)).toEqual([0.5, 0.5]);
  });

  it('reports a value past its TTL as missing', async () => {
    const rows = await join(
      [record('ORD', 0, 0, 0.3, 1)],
      [label('ORD', 89, 1), label('ORD', 90, 2)],
      iso(1000),
    );
    expect(rows.map((r) => r.features.delayRate2h)).toEqual([0.3, null]);
  });

  it('keeps request features and fills absent entities with null', async () => {
    const rows = await join([], [label('SFO', 5, 1)], iso(10));
    expect(rows[0]?.features).toEqual({ delayRate2h: null, hour: 1 });
  });

  it('refuses labels out of time order instead of leaking', async () => {
    const stream = pointInTimeJoin(from([label('ATL', 10, 1), label('ATL', 5, 2)]), [], undefined);
    await expect(collect(stream)).rejects.toBeInstanceOf(OutOfOrderInputError);
  });
});
