/**
 * `npm run bench -- pit-join [--quick] [--largest N]`: the point-in-time join
 * (`shared/features/point-in-time.ts`) of n label events against n feature events, at three sizes
 * a decade apart (10^4, 10^5, 10^6; quick 10^3, 10^4, 10^5), each size in a process of its own so
 * its peak RSS is its own: rows/s and peak RSS at the largest, and the growth exponent.
 *
 * The inputs have flight-delay's shape: 300 airports, a few hubs carrying most of the traffic,
 * event times over one year, the airport-delays group's 6 h TTL (a quiet airport's value
 * expires), feature records ingested minutes late (one in a hundred hours late), labels observed
 * up to two days late and a cutoff at the year's end that leaves out those ingested after it.
 * They are built with the product's own record and label builders before the clock starts, and
 * fed through async generators as the offline readers feed the join; iterating the same inputs
 * without joining is timed beside it, and so is building them.
 */
import * as z from 'zod';
import { UseCaseSchema } from '../shared/config/use-case.ts';
import { type JoinLabel, pointInTimeJoin } from '../shared/features/point-in-time.ts';
import type { StoredFeatureRecord } from '../shared/features/records.ts';
import { toFeatureRecord } from '../shared/features/records.ts';
import { mulberry32 } from '../shared/features/stats.ts';
import { labelContract, toLabelEvent } from '../shared/labels/schema.ts';
import flightDelay from '../use-cases/flight-delay.ts';
import {
  benchArgs,
  type Figure,
  figure,
  GROWTH_TARGET,
  growthExponent,
  median,
  progress,
  report,
} from './harness.ts';
import { decades, isChild, replyToParent, runChild, sizeName } from './support/sizes.ts';

const BENCH = 'pit-join';
const TARGET_ROWS_PER_SECOND = 500_000;
const AIRPORT_COUNT = 300;
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const START = Date.parse('2025-01-01T00:00:00.000Z');
const YEAR = 365 * DAY;
const CUTOFF = new Date(START + YEAR).toISOString();
/** Rows of the untimed warm-up join, so the first timed run at a small size is not the JIT's. */
const WARM_UP = 10_000;

const useCase = UseCaseSchema.parse(flightDelay);
const contract = labelContract(useCase);
const group = (() => {
  const [first] = useCase.featureGroups;
  if (!first) throw new Error('flight-delay must have a feature group');
  return first;
})();
const featureNames = group.features.map((f) => f.name);

/** AAA, AAB, ...: 300 airport-like codes. */
const AIRPORTS = Array.from({ length: AIRPORT_COUNT }, (_, i) =>
  [676, 26, 1].map((d) => String.fromCharCode(65 + (Math.floor(i / d) % 26))).join(''),
);

interface Inputs {
  readonly labels: readonly JoinLabel[];
  readonly records: readonly StoredFeatureRecord[];
}

/** An airport, the first ones (the hubs) far more often than the last. */
function airport(random: () => number): string {
  return AIRPORTS[Math.floor(AIRPORT_COUNT * random() ** 2)] ?? 'AAA';
}

/** `count` event times over the year, in order, in whole milliseconds. */
function sortedTimes(count: number, random: () => number): Float64Array {
  const times = new Float64Array(count);
  for (let i = 0; i < count; i++) times[i] = START + Math.floor(random() * YEAR);
  return times.sort();
}

/** The offline store's records in event-time order, without those ingested after the cutoff. */
function featureRecords(n: number, seed: number): StoredFeatureRecord[] {
  const random = mulberry32(seed);
  const times = sortedTimes(n, random);
  const out: StoredFeatureRecord[] = [];
  for (const t of times) {
    const entityId = airport(random);
    // Most records land within minutes; one in a hundred is hours late (a backfill).
    const delay = random() < 0.01 ? random() * 12 * HOUR : -Math.log(1 - random()) * 2 * MINUTE;
    const flights = Math.floor(random() * 60);
    const ingestedAt = new Date(t + Math.round(delay)).toISOString();
    // The offline reader drops what was ingested after the cutoff before the join sees it.
    if (ingestedAt > CUTOFF) continue;
    const record = toFeatureRecord(group.name, {
      entityId,
      eventTime: new Date(t).toISOString(),
      values: {
        delayRate2h: flights === 0 ? null : Math.floor(random() * (flights + 1)) / flights,
        flights2h: flights,
      },
    });
    out.push({ ...record, ingestedAt });
  }
  return out;
}

/** Label events in event-time order, each observed up to two days after it happened. */
function labelEvents(n: number, seed: number): JoinLabel[] {
  const random = mulberry32(seed);
  const times = sortedTimes(n, random);
  const out: JoinLabel[] = [];
  for (const t of times) {
    const origin = airport(random);
    const destination = airport(random);
    const at = new Date(t);
    const event = toLabelEvent(contract, {
      entities: { [group.name]: origin },
      eventTime: at.toISOString(),
      label: random() < 0.2 ? 1 : 0,
      request: {
        hour: at.getUTCHours(),
        weekday: at.getUTCDay() === 0 ? 7 : at.getUTCDay(),
        distance: Math.round(100 + random() * 2500),
        origin,
        destination,
      },
    });
    out.push({ ...event, ingestedAt: new Date(t + Math.floor(random() * 2 * DAY)).toISOString() });
  }
  return out;
}

/** An input as the offline readers hand it over: one item per step of an async generator. */
async function* stream<T>(items: readonly T[]): AsyncGenerator<T> {
  for (const item of items) yield item;
}

interface JoinRun {
  readonly seconds: number;
  readonly rows: number;
  readonly fresh: number;
  /** Highest RSS sampled during the join, in bytes. */
  readonly peakRss: number;
}

async function join(inputs: Inputs): Promise<JoinRun> {
  const groups = [
    { group: group.name, ttlSeconds: group.ttlSeconds, featureNames, records: stream(inputs.records) },
  ];
  let rows = 0;
  let fresh = 0;
  let peakRss = process.memoryUsage.rss();
  const start = performance.now();
  for await (const row of pointInTimeJoin(stream(inputs.labels), groups, CUTOFF)) {
    rows++;
    if (row.featureTimes[group.name] !== null) fresh++;
    if ((rows & 0x3fff) === 0) peakRss = Math.max(peakRss, process.memoryUsage.rss());
  }
  const seconds = (performance.now() - start) / 1000;
  return { seconds, rows, fresh, peakRss: Math.max(peakRss, process.memoryUsage.rss()) };
}

/** Reading the same inputs as the join does, without joining: the floor the join stands on. */
async function drain(inputs: Inputs): Promise<number> {
  const start = performance.now();
  let count = 0;
  for await (const _ of stream(inputs.labels)) count++;
  for await (const _ of stream(inputs.records)) count++;
  if (count !== inputs.labels.length + inputs.records.length) throw new Error('an input was cut short');
  return (performance.now() - start) / 1000;
}

const ChildResultSchema = z.strictObject({
  n: z.number(),
  records: z.number(),
  rows: z.number(),
  fresh: z.number(),
  generateSeconds: z.number(),
  joinSeconds: z.array(z.number()),
  drainSeconds: z.array(z.number()),
  rssBeforeMb: z.number(),
  joinPeakRssMb: z.number(),
  maxRssMb: z.number(),
});
type ChildResult = z.infer<typeof ChildResultSchema>;

const mb = (bytes: number) => bytes / 1024 / 1024;

/** One size, in this process: build the inputs, warm up, then time `reps` joins and drains. */
async function measureSize(n: number, reps: number): Promise<ChildResult> {
  const g0 = performance.now();
  const inputs: Inputs = { labels: labelEvents(n, 1), records: featureRecords(n, 2) };
  const generateSeconds = (performance.now() - g0) / 1000;
  const warm = Math.min(n, WARM_UP);
  const warmInputs = { labels: inputs.labels.slice(0, warm), records: inputs.records.slice(0, warm) };
  await join(warmInputs);
  await drain(warmInputs);
  // The builders' garbage is not the join's: collect it before taking the baseline.
  globalThis.gc?.();
  const rssBefore = process.memoryUsage.rss();
  const runs: JoinRun[] = [];
  const drains: number[] = [];
  for (let r = 0; r < reps; r++) {
    runs.push(await join(inputs));
    drains.push(await drain(inputs));
  }
  const [first] = runs;
  if (!first) throw new Error('no join ran');
  return {
    n,
    records: inputs.records.length,
    rows: first.rows,
    fresh: first.fresh,
    generateSeconds,
    joinSeconds: runs.map((r) => r.seconds),
    drainSeconds: drains,
    rssBeforeMb: mb(rssBefore),
    joinPeakRssMb: mb(Math.max(...runs.map((r) => r.peakRss))),
    maxRssMb: process.resourceUsage().maxRSS / 1024,
  };
}

const args = benchArgs();
if (isChild()) {
  replyToParent(await measureSize(args.int('size', 1000), args.int('reps', 1)));
} else {
  const sizes = decades(args.int('largest', args.quick ? 100_000 : 1_000_000));
  const largest = sizes[sizes.length - 1] ?? 0;
  const results: ChildResult[] = [];
  for (const n of sizes) {
    // Smaller sizes are cheap: more runs there steady the growth fit on a noisy machine.
    const reps = n === largest ? (args.quick ? 1 : 3) : Math.min(20, (3 * largest) / n);
    progress(`${BENCH}: ${n.toLocaleString('en-US')} labels against as many feature events, ${reps} runs`);
    const result = runChild(
      ChildResultSchema,
      ['--size', String(n), '--reps', String(reps)],
      ['--expose-gc'],
    );
    progress(
      `${BENCH}:   join ${median(result.joinSeconds).toFixed(3)} s ` +
        `(${Math.min(...result.joinSeconds).toFixed(3)}–${Math.max(...result.joinSeconds).toFixed(3)}); ` +
        `inputs alone ${median(result.drainSeconds).toFixed(3)} s; built in ${result.generateSeconds.toFixed(1)} s; ` +
        `RSS ${result.rssBeforeMb.toFixed(0)} MB before, ${result.joinPeakRssMb.toFixed(0)} MB during, ${result.maxRssMb.toFixed(0)} MB peak`,
    );
    results.push(result);
  }
  const big = results[results.length - 1];
  if (!big) throw new Error('no size ran');
  const joinMedian = median(big.joinSeconds);
  const drainMedian = median(big.drainSeconds);
  const shape =
    `${big.n.toLocaleString('en-US')} label events (${(big.n - big.rows).toLocaleString('en-US')} ingested after the cutoff, ` +
    `${((100 * big.fresh) / big.rows).toFixed(0)}% of rows with a value within TTL) against ` +
    `${big.records.toLocaleString('en-US')} feature records, ${AIRPORT_COUNT} airports over a year`;
  const figures: Figure[] = [
    figure(
      BENCH,
      'rows-per-second',
      'point-in-time join: label events joined per second',
      'rows/s',
      big.joinSeconds.map((s) => big.n / s),
      {
        target: { op: '>=', value: TARGET_ROWS_PER_SECOND },
        note:
          `${shape}; inputs in memory, fed through async generators; reading them alone takes ` +
          `${drainMedian.toFixed(2)} s of the join's ${joinMedian.toFixed(2)} s (${((100 * drainMedian) / joinMedian).toFixed(0)}%)`,
      },
    ),
    figure(BENCH, 'peak-rss-mb', 'point-in-time join: peak RSS of its process', 'MB', big.maxRssMb, {
      note:
        `the process's peak, building the inputs included; after a GC, with the inputs held, RSS was ` +
        `${big.rssBeforeMb.toFixed(0)} MB before the join and rose to ${big.joinPeakRssMb.toFixed(0)} MB during it`,
    }),
    figure(
      BENCH,
      'join-rss-mb',
      'point-in-time join: RSS the join added over its inputs',
      'MB',
      Math.max(0, big.joinPeakRssMb - big.rssBeforeMb),
      { note: 'highest RSS sampled every 16,384 rows during the joins, less the RSS before them' },
    ),
    figure(
      BENCH,
      'rss-before-mb',
      'point-in-time join: RSS before the join, inputs held',
      'MB',
      big.rssBeforeMb,
    ),
    figure(
      BENCH,
      'generate-seconds',
      'point-in-time join: building the inputs (not counted)',
      's',
      big.generateSeconds,
    ),
    ...results.map((r) =>
      figure(
        BENCH,
        `seconds-${sizeName(r.n)}`,
        `point-in-time join of ${r.n.toLocaleString('en-US')} labels`,
        's',
        r.joinSeconds,
      ),
    ),
    figure(
      BENCH,
      'growth-exponent',
      'point-in-time join: k in time ∝ n^k',
      'k',
      growthExponent(results.map((r) => ({ n: r.n, seconds: Math.min(...r.joinSeconds) }))),
      {
        target: GROWTH_TARGET,
        note: `fitted on the fastest join at ${sizes.map(sizeName).join(', ')} (a shared machine's noise only adds time)`,
      },
    ),
  ];
  report(figures);
}
