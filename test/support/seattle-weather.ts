/**
 * The files a user of the `seattle-weather` use case would drop, built from vega-datasets'
 * seattle-weather.csv: one feature record per day D (known at the end of D, so stamped D+1 at
 * midnight UTC) and one label event per day that has a next day (did it rain on D+1?).
 * Everything is computed from days <= D only; names come from the use case itself.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { type FeatureGroup, type UseCase, UseCaseSchema } from '../../shared/config/use-case.ts';
import type { FeatureValue } from '../../shared/features/records.ts';
import { LABEL_DROP_PREFIX } from '../../shared/labels/schema.ts';
import seattleWeather from '../../use-cases/seattle-weather.ts';

/** The raw data file. */
export const SEATTLE_WEATHER_CSV = fileURLToPath(
  new URL('../../node_modules/vega-datasets/data/seattle-weather.csv', import.meta.url),
);

/** The one entity: the Seattle station. */
export const STATION = 'SEA';

/** The use case, parsed (defaults applied). */
export const useCase: UseCase = UseCaseSchema.parse(seattleWeather);

function onlyGroup(uc: UseCase): FeatureGroup {
  const [group, ...others] = uc.featureGroups;
  if (!group || others.length > 0) {
    throw new Error(`${uc.name} must declare exactly one feature group, got ${uc.featureGroups.length}`);
  }
  return group;
}

/** The use case's feature group. */
export const group: FeatureGroup = onlyGroup(useCase);

const DAY_MS = 24 * 3600 * 1000;

/** One observed day of the raw file. */
export interface WeatherDay {
  /** `YYYY-MM-DD`. */
  readonly date: string;
  /** mm. */
  readonly precipitation: number;
  readonly tempMax: number;
  readonly tempMin: number;
  /** m/s. */
  readonly wind: number;
  readonly weather: string;
}

function numberField(row: Record<string, string>, column: string, line: number): number {
  const text = row[column];
  const n = text === undefined || text === '' ? Number.NaN : Number(text);
  if (!Number.isFinite(n)) throw new Error(`seattle-weather.csv line ${line}: ${column} is not a number`);
  return Object.is(n, -0) ? 0 : n;
}

/** Reads the raw file; fails unless the days are consecutive (the windows below rely on it). */
export function readWeatherDays(path: string = SEATTLE_WEATHER_CSV): WeatherDay[] {
  const rows = parse(readFileSync(path, 'utf8'), {
    columns: true,
    skip_empty_lines: true,
    trim: true,
  }) as Record<string, string>[];
  const days = rows.map((row, i): WeatherDay => {
    const line = i + 2;
    const date = row.date ?? '';
    if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) throw new Error(`seattle-weather.csv line ${line}: bad date`);
    return {
      date,
      precipitation: numberField(row, 'precipitation', line),
      tempMax: numberField(row, 'temp_max', line),
      tempMin: numberField(row, 'temp_min', line),
      wind: numberField(row, 'wind', line),
      weather: row.weather ?? '',
    };
  });
  days.forEach((day, i) => {
    const previous = days[i - 1];
    if (previous && Date.parse(day.date) - Date.parse(previous.date) !== DAY_MS) {
      throw new Error(`seattle-weather.csv: ${day.date} does not follow ${previous.date}`);
    }
  });
  return days;
}

/** Midnight UTC of the day after `date`: when the values of `date` are known. */
export function dayAfter(date: string): string {
  return new Date(Date.parse(`${date}T00:00:00.000Z`) + DAY_MS).toISOString();
}

/** Sum of the last `n` days' precipitation up to and including day `i`, to the file's 0.1 mm. */
function precipitationOver(days: readonly WeatherDay[], i: number, n: number): number {
  const sum = days.slice(Math.max(0, i - n + 1), i + 1).reduce((s, d) => s + d.precipitation, 0);
  return Math.round(sum * 10) / 10;
}

/** How each feature of the group is computed for day `i`, from days <= i only. */
const FEATURES: Readonly<
  Record<string, (days: readonly WeatherDay[], i: number) => FeatureValue | undefined>
> = {
  precipitation: (days, i) => days[i]?.precipitation,
  precipitation3d: (days, i) => precipitationOver(days, i, 3),
  tempMax: (days, i) => days[i]?.tempMax,
  tempMin: (days, i) => days[i]?.tempMin,
  wind: (days, i) => days[i]?.wind,
  weather: (days, i) => (days[i]?.weather === '' ? undefined : days[i]?.weather),
};

/** How each request feature is computed for the time of a label event (the day predicted, UTC). */
const REQUEST: Readonly<Record<string, (at: Date) => number>> = {
  month: (at) => at.getUTCMonth() + 1,
  dayOfYear: (at) => Math.round((at.getTime() - Date.UTC(at.getUTCFullYear(), 0, 1)) / DAY_MS) + 1,
};

function computer<T>(table: Readonly<Record<string, T>>, name: string): T {
  const fn = table[name];
  if (!fn) throw new Error(`test/support/seattle-weather.ts does not know how to compute '${name}'`);
  return fn;
}

/** A feature record as a batch request or a JSONL bulk file carries it. */
export interface WeatherFeatureRecord {
  readonly entityId: string;
  readonly eventTime: string;
  readonly values: Record<string, FeatureValue>;
}

/** Days the station sent nothing: from `from` (`YYYY-MM-DD`), `days` consecutive days. */
export interface StationOutage {
  readonly from: string;
  readonly days: number;
}

/**
 * One outage of `days` days starting every `every` days from the file's `first` day: a station that
 * goes quiet now and then, so label events in an outage longer than the group's TTL read missing
 * features, as a real feed's gaps make them.
 */
export function periodicOutages(
  days: readonly WeatherDay[],
  { first, every, length }: { readonly first: number; readonly every: number; readonly length: number },
): StationOutage[] {
  const outages: StationOutage[] = [];
  for (let i = first; i < days.length; i += every) {
    const day = days[i];
    if (day) outages.push({ from: day.date, days: length });
  }
  return outages;
}

function inOutage(date: string, outages: readonly StationOutage[]): boolean {
  const at = Date.parse(date);
  return outages.some((o) => at >= Date.parse(o.from) && at < Date.parse(o.from) + o.days * DAY_MS);
}

/**
 * One record per day D, stamped D+1 at midnight UTC; a day with an undefined value, or inside one
 * of `outages`, is left out.
 */
export function featureRecords(
  days: readonly WeatherDay[] = readWeatherDays(),
  outages: readonly StationOutage[] = [],
): WeatherFeatureRecord[] {
  const records: WeatherFeatureRecord[] = [];
  days.forEach((day, i) => {
    if (inOutage(day.date, outages)) return;
    const values: Record<string, FeatureValue> = {};
    for (const f of group.features) {
      const value = computer(FEATURES, f.name)(days, i);
      if (value === undefined || (value === null && !f.nullable)) return;
      values[f.name] = value;
    }
    records.push({ entityId: STATION, eventTime: dayAfter(day.date), values });
  });
  return records;
}

/** A label event as `POST /labels/{useCase}` takes it. */
export interface WeatherLabelEvent {
  readonly entities: Record<string, string>;
  readonly eventTime: string;
  readonly label: 0 | 1;
  readonly request: Record<string, number>;
}

/** One event per day D that has a next day: at D+1 midnight UTC, did it rain on D+1? */
export function labelEvents(days: readonly WeatherDay[] = readWeatherDays()): WeatherLabelEvent[] {
  return days.flatMap((day, i): WeatherLabelEvent[] => {
    const next = days[i + 1];
    if (!next) return [];
    const eventTime = dayAfter(day.date);
    const at = new Date(eventTime);
    return [
      {
        entities: { [group.name]: STATION },
        eventTime,
        label: next.precipitation > 0 ? 1 : 0,
        request: Object.fromEntries(
          useCase.requestFeatures.map((f) => [f.name, computer(REQUEST, f.name)(at)]),
        ),
      },
    ];
  });
}

function csvField(value: FeatureValue): string {
  if (value === null) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function csv(header: readonly string[], rows: readonly (readonly FeatureValue[])[]): string {
  return `${[header, ...rows].map((r) => r.map(csvField).join(',')).join('\n')}\n`;
}

/** The two files written, where each would be dropped in the datasets bucket, and their rows. */
export interface SeattleWeatherFiles {
  readonly features: { readonly path: string; readonly key: string; readonly rows: number };
  readonly labels: { readonly path: string; readonly key: string; readonly rows: number };
}

/**
 * Writes `<dir>/features/<name>.csv` (for `ingest/<group>/<name>.csv`) and `<dir>/labels/<name>.csv`
 * (for the bulk label drop zone, which keeps the file's name; columns are the label event's JSON
 * field paths). The station's `outages` are left out of the features file; labels cover every day.
 */
export function writeSeattleWeatherFiles(
  dir: string,
  {
    name = 'seattle-weather',
    outages = [],
  }: { readonly name?: string; readonly outages?: readonly StationOutage[] } = {},
): SeattleWeatherFiles {
  mkdirSync(dir, { recursive: true });
  const days = readWeatherDays();
  const names = group.features.map((f) => f.name);
  const records = featureRecords(days, outages);
  mkdirSync(join(dir, 'features'), { recursive: true });
  mkdirSync(join(dir, 'labels'), { recursive: true });
  const featuresPath = join(dir, 'features', `${name}.csv`);
  writeFileSync(
    featuresPath,
    csv(
      ['entityId', 'eventTime', ...names],
      records.map((r) => [r.entityId, r.eventTime, ...names.map((n) => r.values[n] ?? null)]),
    ),
  );
  const requestNames = useCase.requestFeatures.map((f) => f.name);
  const events = labelEvents(days);
  const labelsPath = join(dir, 'labels', `${name}.csv`);
  writeFileSync(
    labelsPath,
    csv(
      ['eventTime', 'label', `entities.${group.name}`, ...requestNames.map((n) => `request.${n}`)],
      events.map((e) => [
        e.eventTime,
        e.label,
        e.entities[group.name] ?? null,
        ...requestNames.map((n) => e.request[n] ?? null),
      ]),
    ),
  );
  return {
    features: { path: featuresPath, key: `ingest/${group.name}/${name}.csv`, rows: records.length },
    labels: { path: labelsPath, key: `${LABEL_DROP_PREFIX}${useCase.name}/${name}.csv`, rows: events.length },
  };
}
