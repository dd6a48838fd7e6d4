import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UseCaseSchema } from '../../../shared/config/use-case.ts';
import { CSV_OPTIONS, csvRowToRecord } from '../../../shared/features/bulk.ts';
import { validateRecords } from '../../../shared/features/ingest.ts';
import { csvRowToLabel } from '../../../shared/labels/bulk.ts';
import { labelContract } from '../../../shared/labels/schema.ts';
import { validateLabels } from '../../../shared/labels/store.ts';
import seattleWeather from '../../../use-cases/seattle-weather.ts';
import {
  dayAfter,
  featureRecords,
  group,
  labelEvents,
  periodicOutages,
  readWeatherDays,
  type SeattleWeatherFiles,
  STATION,
  useCase,
  writeSeattleWeatherFiles,
} from '../../support/seattle-weather.ts';

function readCsv(path: string): Record<string, string>[] {
  return parse(readFileSync(path, 'utf8'), CSV_OPTIONS) as Record<string, string>[];
}

const days = readWeatherDays();
let dir: string;
let files: SeattleWeatherFiles;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'seattle-weather-'));
  files = writeSeattleWeatherFiles(dir);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('the seattle-weather use case', () => {
  it('parses with the use-case schema', () => {
    // Prepare / Act
    const parsed = UseCaseSchema.safeParse(seattleWeather);

    // Assess
    expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
    expect(parsed.data?.name).toBe('seattle-weather');
    expect(parsed.data?.featureGroups.map((g) => g.name)).toEqual(['seattle-daily-weather']);
  });

  it('has every day of 2012-2015 in the raw file', () => {
    expect(days).toHaveLength(1461);
    expect(days[0]?.date).toBe('2012-01-01');
    expect(days.at(-1)?.date).toBe('2015-12-31');
  });
});

describe('the features file', () => {
  it('is dropped under ingest/<group>/ and holds one row per day', () => {
    expect(files.features.key).toBe('ingest/seattle-daily-weather/seattle-weather.csv');
    expect(files.features.rows).toBe(days.length);
    const header = readFileSync(files.features.path, 'utf8').split('\n', 1)[0];
    expect(header).toBe(['entityId', 'eventTime', ...group.features.map((f) => f.name)].join(','));
  });

  it('validates row by row with zero rejections, as bulk ingestion reads it', () => {
    // Prepare
    const rows = readCsv(files.features.path).map((row) => csvRowToRecord(group, row));

    // Act
    const { accepted, rejected } = validateRecords(group, rows);

    // Assess
    expect(rejected).toEqual([]);
    expect(accepted).toHaveLength(files.features.rows);
    expect(accepted.map((r) => ({ entityId: r.entityId, eventTime: r.eventTime, values: r.values }))).toEqual(
      featureRecords(days),
    );
  });

  it('stamps the values of day D at D+1 00:00 UTC and uses no later day', () => {
    // Prepare
    const byTime = new Map(featureRecords(days).map((r) => [r.eventTime, r]));
    const checks = [0, 1, 2, 3, 100, 700, days.length - 1];

    for (const d of checks) {
      const day = days[d];
      if (!day) throw new Error(`no day ${d}`);
      const eventTime = new Date(Date.parse(`${day.date}T00:00:00.000Z`) + 86_400_000).toISOString();

      // Act
      const record = byTime.get(eventTime);

      // Assess
      const window = days.slice(Math.max(0, d - 2), d + 1);
      const expected = window.reduce((s, w) => s + w.precipitation, 0);
      expect(record?.entityId).toBe(STATION);
      expect(record?.values.precipitation3d).toBeCloseTo(expected, 6);
      expect(record?.values.precipitation).toBe(day.precipitation);
      expect(record?.values.tempMax).toBe(day.tempMax);
      expect(record?.values.weather).toBe(day.weather);
    }
  });
});

describe('station outages', () => {
  it('leave their days out of the features file and nothing else', () => {
    // Prepare
    const outages = periodicOutages(days, { first: 45, every: 60, length: 4 });
    const outDir = mkdtempSync(join(tmpdir(), 'seattle-outages-'));

    try {
      // Act
      const written = writeSeattleWeatherFiles(outDir, { outages });
      const stamps = new Set(readCsv(written.features.path).map((r) => r.eventTime));

      // Assess
      expect(outages[0]).toEqual({ from: days[45]?.date, days: 4 });
      expect(outages).toHaveLength(Math.ceil((days.length - 45) / 60));
      expect(written.features.rows).toBe(days.length - 4 * outages.length);
      expect(stamps.has(dayAfter(days[45]?.date ?? ''))).toBe(false);
      expect(stamps.has(dayAfter(days[48]?.date ?? ''))).toBe(false);
      expect(stamps.has(dayAfter(days[44]?.date ?? ''))).toBe(true);
      expect(stamps.has(dayAfter(days[49]?.date ?? ''))).toBe(true);
      expect(written.labels.rows).toBe(files.labels.rows);
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
  });
});

describe('the label events', () => {
  const events = labelEvents(days);

  it('validate with zero rejections against the label contract', () => {
    // Act
    const { accepted, rejected } = validateLabels(labelContract(useCase), events);

    // Assess
    expect(rejected).toEqual([]);
    expect(accepted).toHaveLength(days.length - 1);
    expect(new Set(accepted.map((e) => e.labelId)).size).toBe(accepted.length);
  });

  it('are what the labels CSV holds, column by JSON field path', () => {
    // Prepare
    const text = readFileSync(files.labels.path, 'utf8');
    const rows = readCsv(files.labels.path).map((row) => csvRowToLabel(labelContract(useCase), row));

    // Act
    const { rejected } = validateLabels(labelContract(useCase), rows);

    // Assess
    expect(text.split('\n', 1)[0]).toBe(
      'eventTime,label,entities.seattle-daily-weather,request.month,request.dayOfYear',
    );
    expect(files.labels.key).toBe('ingest-labels/seattle-weather/seattle-weather.csv');
    expect(files.labels.rows).toBe(events.length);
    expect(rejected).toEqual([]);
    expect(rows).toEqual(events);
  });

  it('label the next day, with its calendar, at the time the features of the day are known', () => {
    expect(events[0]).toEqual({
      entities: { 'seattle-daily-weather': 'SEA' },
      eventTime: '2012-01-02T00:00:00.000Z',
      label: 1, // 10.9 mm on 2012-01-02
      request: { month: 1, dayOfYear: 2 },
    });
    expect(events.at(-1)).toMatchObject({
      eventTime: '2015-12-31T00:00:00.000Z',
      label: 0,
      request: { month: 12, dayOfYear: 365 },
    });
    expect(events.find((e) => e.eventTime === '2012-12-31T00:00:00.000Z')?.request.dayOfYear).toBe(366);
    expect(events.find((e) => e.eventTime === '2012-03-01T00:00:00.000Z')?.request).toEqual({
      month: 3,
      dayOfYear: 61,
    });
  });

  it('have a positive rate within the data-quality bounds', () => {
    const rate = events.filter((e) => e.label === 1).length / events.length;
    expect(rate).toBeGreaterThanOrEqual(useCase.dataQuality.minPositiveRate);
    expect(rate).toBeLessThanOrEqual(useCase.dataQuality.maxPositiveRate);
    expect(events.length).toBeGreaterThanOrEqual(useCase.dataQuality.minRows);
  });
});
