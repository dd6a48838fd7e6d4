/**
 * The window accumulator: memory bounded by the sample limit however many rows arrive, a uniform
 * sample, and data-quality tallies against the schema and the training baseline.
 */
import { describe, expect, it } from 'vitest';
import { type Feature, modelFeatures, UseCaseSchema } from '../../../shared/config/use-case.ts';
import { BaselineBuilder, mulberry32 } from '../../../shared/features/stats.ts';
import { windowEndingAt } from '../../../shared/monitoring/log-reader.ts';
import { Reservoir, VersionWindow } from '../../../shared/monitoring/window.ts';
import demo from '../../../use-cases/flight-delay.ts';

describe('Reservoir', () => {
  it('keeps at most its limit however many rows it is offered, and counts them all', () => {
    const r = new Reservoir(1000, mulberry32(1));
    for (let i = 0; i < 100_000; i++) r.add(i);
    expect(r.column().length).toBe(1000);
    expect(r.seen).toBe(100_000);
  });

  it('keeps a uniform sample: its mean is close to the stream mean, every part of the stream is in it', () => {
    const r = new Reservoir(2000, mulberry32(2));
    for (let i = 0; i < 200_000; i++) r.add(i);
    const kept = Array.from(r.column());
    const mean = kept.reduce((a, b) => a + b, 0) / kept.length;
    expect(Math.abs(mean - 100_000)).toBeLessThan(5000);
    const lateShare = kept.filter((v) => v >= 150_000).length / kept.length;
    expect(lateShare).toBeGreaterThan(0.2);
    expect(lateShare).toBeLessThan(0.3);
  });

  it('keeps every row, in order, below its limit, with paired columns', () => {
    const r = new Reservoir(5000, mulberry32(3), 2);
    for (let i = 0; i < 3000; i++) r.add(i, i % 2);
    expect(Array.from(r.column(0))).toEqual(Array.from({ length: 3000 }, (_, i) => i));
    expect(Array.from(r.column(1)).slice(0, 4)).toEqual([0, 1, 0, 1]);
  });
});

describe('VersionWindow', () => {
  const useCase = UseCaseSchema.parse(demo);
  const features: Feature[] = modelFeatures(useCase);
  const builder = new BaselineBuilder(features, 1);
  for (let i = 0; i < 500; i++) {
    builder.add({
      delayRate2h: (i % 10) / 10,
      flights2h: 10 + (i % 30),
      hour: i % 24,
      weekday: 1 + (i % 7),
      distance: 200 + i,
      origin: i % 2 === 0 ? 'ORD' : 'ATL',
      destination: i % 3 === 0 ? 'DFW' : 'LAX',
    });
  }
  const baseline = builder.result();

  it('tallies missing, invalid, out-of-range, outside-training and unseen values', () => {
    const w = new VersionWindow(features, baseline, 100);
    w.add({
      features: {
        delayRate2h: null,
        flights2h: 20,
        hour: 30,
        weekday: 3,
        distance: 5000,
        origin: 'SFO',
        destination: 'DFW',
      },
      score: 0.3,
    });
    w.add(
      {
        features: {
          delayRate2h: 0.2,
          flights2h: 'many',
          hour: 5,
          weekday: 3,
          distance: 300,
          origin: 'ORD',
          destination: 'DFW',
        },
        score: 0.6,
      },
      1,
    );
    const c = w.contents();
    const q = Object.fromEntries(c.quality.map((x) => [x.feature, x]));
    expect(c.rows).toBe(2);
    expect(q.delayRate2h).toMatchObject({ missing: 1, missingRate: 0.5, invalid: 0 });
    expect(q.flights2h).toMatchObject({ missing: 1, invalid: 1 });
    expect(q.hour).toMatchObject({ outOfRange: 1, outsideTrainingRange: 1 });
    expect(q.distance).toMatchObject({ outOfRange: 0, outsideTrainingRange: 1 });
    expect(q.origin).toMatchObject({ unseen: 1, unseenExamples: ['SFO'] });
    expect(c.labeled.count).toBe(1);
    expect(Array.from(c.labeled.scores)).toEqual([0.6]);
    expect(Array.from(c.labeled.labels)).toEqual([1]);
    expect(c.features.origin).toMatchObject({ kind: 'categorical', counts: { SFO: 1, ORD: 1 } });
  });

  it('holds at most sampleLimit values per feature for a window of 10^5 rows', () => {
    const w = new VersionWindow(features, baseline, 1000);
    for (let i = 0; i < 100_000; i++) {
      w.add({
        features: {
          delayRate2h: 0.1,
          flights2h: 12,
          hour: i % 24,
          weekday: 2,
          distance: i,
          origin: 'ORD',
          destination: 'LAX',
        },
        score: (i % 100) / 100,
      });
    }
    const c = w.contents();
    expect(c.rows).toBe(100_000);
    const distance = c.features.distance;
    expect(distance?.kind === 'numeric' ? distance.sample.length : -1).toBe(1000);
    expect(distance?.count).toBe(100_000);
    expect(c.scores.length).toBe(1000);
  });
});

describe('windowEndingAt', () => {
  it('ends on the hour before now less the arrival slack, so the last lines have been delivered', () => {
    expect(windowEndingAt(new Date('2026-06-01T10:05:00Z'), 24)).toEqual({
      start: '2026-05-31T09:00:00.000Z',
      end: '2026-06-01T09:00:00.000Z',
    });
    expect(windowEndingAt(new Date('2026-06-01T10:20:00Z'), 1)).toEqual({
      start: '2026-06-01T09:00:00.000Z',
      end: '2026-06-01T10:00:00.000Z',
    });
  });
});
