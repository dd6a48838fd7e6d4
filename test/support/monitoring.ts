/**
 * Synthetic flight-delay traffic for the monitor's integration tests: a seeded generator of the
 * use case's features whose score is a logistic function of them and whose label is drawn from
 * that score (so the score is calibrated and realized and estimated quality agree), a trained
 * model version as the ledger and the datasets bucket record one, the prediction log as Firehose
 * delivers it, and feedback label events as the feedback route stores them.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { modelFeatures, type UseCase } from '../../shared/config/use-case.ts';
import type { FeatureValue } from '../../shared/features/records.ts';
import { BaselineBuilder, mulberry32 } from '../../shared/features/stats.ts';
import { type LabelEvent, labelContract, toLabelEvent } from '../../shared/labels/schema.ts';
import { writeLabels } from '../../shared/labels/store.ts';
import { appendEvent, type LedgerWriter } from '../../shared/ledger/append.ts';
import { sha256Hex } from '../../shared/ledger/canonical.ts';
import type { DatasetBuilt, ModelRegistered } from '../../shared/ledger/events.ts';
import { buildMonitoringReference, monitoringReferenceKey } from '../../shared/monitoring/reference.ts';
import { putObject } from '../../shared/s3.ts';
import {
  type PredictionLogRecord,
  predictionLogPrefix,
  predictionLogRecord,
} from '../../shared/serving/prediction-log.ts';

const AIRPORTS = ['ATL', 'ORD', 'DFW', 'DEN', 'LAX'] as const;
const AIRPORT_WEIGHTS = [0.3, 0.25, 0.2, 0.15, 0.1] as const;

/** How traffic departs from the training distribution; every field moves one feature only. */
export interface TrafficShift {
  /** Added to the origin's 2-hour delay rate (training: 0 to 0.6). */
  readonly delayRate2h?: number;
  /** Added to the origin's 2-hour flight count (training: 5 to 34). */
  readonly flights2h?: number;
  /** Added to the distance in miles (training: 200 to 2000). */
  readonly distance?: number;
  /** Departures in the evening and night (18:00 to 03:00) instead of the day (06:00 to 21:00). */
  readonly evening?: boolean;
}

/** One synthetic flight: the features the model sees, its score and its drawn outcome. */
export interface Flight {
  readonly features: Readonly<Record<string, FeatureValue>>;
  readonly score: number;
  readonly label: 0 | 1;
}

function airport(random: () => number): string {
  let u = random();
  for (const [i, w] of AIRPORT_WEIGHTS.entries()) {
    if (u < w) return AIRPORTS[i] ?? 'ATL';
    u -= w;
  }
  return 'LAX';
}

const ORIGIN_EFFECT: Readonly<Record<string, number>> = { ATL: 0.2, ORD: 0.4, DFW: 0, DEN: -0.2, LAX: -0.3 };

/** The "model": a logistic function of the features, the same whatever the traffic. */
export function scoreOf(f: Readonly<Record<string, FeatureValue>>): number {
  const n = (name: string) => Number(f[name] ?? 0);
  const logit =
    -0.4 +
    5 * (n('delayRate2h') - 0.3) +
    0.05 * (n('flights2h') - 20) +
    0.12 * (n('hour') - 13) +
    0.0002 * (n('distance') - 1000) +
    (ORIGIN_EFFECT[String(f.origin)] ?? 0);
  return 1 / (1 + Math.exp(-logit));
}

/** `n` flights drawn with a seeded PRNG, from the training distribution moved by `shift`. */
export function drawFlights(seed: number, n: number, shift: TrafficShift = {}): Flight[] {
  const random = mulberry32(seed);
  const out: Flight[] = [];
  for (let i = 0; i < n; i++) {
    const delayRate = ((random() + random()) / 2) * 0.6 + (shift.delayRate2h ?? 0);
    const hour = shift.evening ? (18 + Math.floor(random() * 10)) % 24 : 6 + Math.floor(random() * 16);
    const features = {
      delayRate2h: Math.round(Math.min(1, delayRate) * 1000) / 1000,
      flights2h: 5 + Math.floor(random() * 30) + (shift.flights2h ?? 0),
      hour,
      weekday: 1 + Math.floor(random() * 7),
      distance: Math.round(200 + random() * 1800 + (shift.distance ?? 0)),
      origin: airport(random),
      destination: airport(random),
    };
    const score = scoreOf(features);
    out.push({ features, score, label: random() < score ? 1 : 0 });
  }
  return out;
}

/** A model version as the training pipeline leaves it. */
export interface TrainedVersion {
  readonly modelVersion: string;
  readonly runId: string;
  /** Seeds the training and test splits. */
  readonly seed: number;
  /** The distribution it was trained on. */
  readonly shift?: TrafficShift;
  /** @default 3000 */
  readonly trainRows?: number;
  /** @default 1000 */
  readonly testRows?: number;
  /**
   * When Register recorded the version (BuildDataset recorded its dataset an hour before).
   * @default '2026-05-01T01:00:00.000Z'
   */
  readonly registeredAt?: string;
}

/**
 * Stores what a trained version leaves in S3: its training split's baseline in the dataset
 * manifest and its test split's scores and labels as the run's monitoring reference, as
 * BuildDataset and Evaluate write them; returns its DatasetBuilt and ModelRegistered events,
 * for the caller to record (with the run's other events in between, when it wants them).
 */
export async function storeTrainedVersion(
  ctx: {
    readonly s3: S3Client;
    readonly bucket: string;
    readonly useCase: UseCase;
  },
  v: TrainedVersion,
): Promise<{
  readonly datasetHash: string;
  readonly built: DatasetBuilt;
  readonly registered: ModelRegistered;
}> {
  const { useCase } = ctx;
  const datasetHash = sha256Hex(`dataset/${v.runId}/${v.seed}`);
  const snapshot = `snapshots/${useCase.name}/${datasetHash}/`;
  const train = drawFlights(v.seed, v.trainRows ?? 3000, v.shift);
  const test = drawFlights(v.seed + 1, v.testRows ?? 1000, v.shift);
  const builder = new BaselineBuilder(modelFeatures(useCase), useCase.model.seed);
  for (const f of train) builder.add(f.features);
  const snapshotData = await putObject(
    ctx.s3,
    { bucket: ctx.bucket, key: `${snapshot}data.jsonl` },
    train.map((f) => `${f.label},${Object.values(f.features).join(',')}`).join('\n'),
    'text/csv',
  );
  await putObject(
    ctx.s3,
    { bucket: ctx.bucket, key: `${snapshot}manifest.json` },
    JSON.stringify({
      datasetHash,
      rows: { train: train.length, test: test.length },
      baseline: builder.result(),
    }),
    'application/json',
  );
  await putObject(
    ctx.s3,
    { bucket: ctx.bucket, key: monitoringReferenceKey(v.runId) },
    JSON.stringify(
      buildMonitoringReference(
        useCase.name,
        v.runId,
        test.map((f) => f.score),
        test.map((f) => f.label),
        useCase.model.seed,
      ),
    ),
    'application/json',
  );
  const registeredAt = Date.parse(v.registeredAt ?? '2026-05-01T01:00:00.000Z');
  const builtAt = new Date(registeredAt - 3_600_000).toISOString();
  const built: DatasetBuilt = {
    type: 'DatasetBuilt',
    eventId: `dataset/${v.runId}`,
    actor: 'BuildDataset',
    time: builtAt,
    useCase: useCase.name,
    datasetHash,
    // As BuildDataset records it: the snapshot only; its manifest sits next to it.
    objects: [snapshotData],
    featureDefinitionsHash: sha256Hex('feature-definitions'),
    rowCount: train.length + test.length,
    cutoff: builtAt,
    runId: v.runId,
  };
  const registered: ModelRegistered = {
    type: 'ModelRegistered',
    eventId: `register/${v.modelVersion}`,
    actor: 'Register',
    time: new Date(registeredAt).toISOString(),
    useCase: useCase.name,
    modelVersion: v.modelVersion,
    runId: v.runId,
    datasetHash,
    artifactUri: `s3://${ctx.bucket}/runs/${v.runId}/model.tar.gz`,
  };
  return { datasetHash, built, registered };
}

/**
 * Records a trained version: what {@link storeTrainedVersion} stores, and its DatasetBuilt and
 * ModelRegistered in the ledger, as BuildDataset, Evaluate and Register write them.
 */
export async function registerTrainedVersion(
  ctx: {
    readonly s3: S3Client;
    readonly ledger: LedgerWriter;
    readonly bucket: string;
    readonly useCase: UseCase;
  },
  v: TrainedVersion,
): Promise<{ readonly datasetHash: string }> {
  const { datasetHash, built, registered } = await storeTrainedVersion(ctx, v);
  await appendEvent(ctx.ledger, built);
  await appendEvent(ctx.ledger, registered);
  return { datasetHash };
}

/** The log line of one served flight, as the predict route sends it to Firehose. */
export function logLine(
  useCase: UseCase,
  modelVersion: string,
  requestId: string,
  time: string,
  flight: Flight,
): PredictionLogRecord {
  const requestNames = new Set(useCase.requestFeatures.map((f) => f.name));
  const request = Object.fromEntries(Object.entries(flight.features).filter(([k]) => requestNames.has(k)));
  return predictionLogRecord(
    useCase,
    { entities: { 'airport-delays': String(flight.features.origin) }, request },
    {
      requestId,
      score: flight.score,
      label: flight.score >= useCase.gates.threshold ? 1 : 0,
      threshold: useCase.gates.threshold,
      modelVersion,
      features: flight.features,
      encoded: Object.values(flight.features).join(','),
      slot: 'blue',
      timings: { featuresMs: 1, modelMs: 2 },
    },
    time,
  );
}

/** `n` instants spread evenly over [start, end), ISO-8601 with milliseconds. */
export function spreadOver(window: { readonly start: string; readonly end: string }, n: number): string[] {
  const from = Date.parse(window.start);
  const span = Date.parse(window.end) - from;
  return Array.from({ length: n }, (_, i) =>
    new Date(from + Math.floor(((i + 0.5) * span) / n)).toISOString(),
  );
}

/** The served flights of one version over a window: one log line each, evenly spread in time. */
export function servedLines(
  useCase: UseCase,
  modelVersion: string,
  window: { readonly start: string; readonly end: string },
  flights: readonly Flight[],
): { readonly line: PredictionLogRecord; readonly flight: Flight }[] {
  return spreadOver(window, flights.length).map((time, i) => {
    const flight = flights[i] as Flight;
    return { line: logLine(useCase, modelVersion, `${modelVersion}-${time}-${i}`, time, flight), flight };
  });
}

/** The `date=…/hour=…/` partition Firehose delivers an arrival to. */
export function arrivalPartition(useCase: string, arrival: string): string {
  return `${predictionLogPrefix(useCase)}date=${arrival.slice(0, 10)}/hour=${arrival.slice(11, 13)}/`;
}

/**
 * Delivers log lines as Firehose does: one JSONL object per arrival hour (a line arrives at its
 * own time unless told otherwise), each object named like Firehose names them.
 */
export async function deliverLog(
  s3: S3Client,
  bucket: string,
  useCase: string,
  lines: readonly { readonly text: string; readonly arrival: string }[],
  batch = 'a',
): Promise<string[]> {
  const byPartition = new Map<string, string[]>();
  for (const l of lines) {
    const prefix = arrivalPartition(useCase, l.arrival);
    byPartition.set(prefix, [...(byPartition.get(prefix) ?? []), l.text]);
  }
  const keys: string[] = [];
  for (const [prefix, texts] of byPartition) {
    const key = `${prefix}${useCase}-predictions-1-${batch}`;
    await putObject(s3, { bucket, key }, `${texts.join('\n')}\n`, 'application/x-ndjson');
    keys.push(key);
  }
  return keys;
}

/** Delivers served lines, each arriving at the time it was made. */
export function onTime(lines: readonly { readonly line: PredictionLogRecord }[]) {
  return lines.map(({ line }) => ({ text: JSON.stringify(line), arrival: line.time }));
}

/**
 * The label event the feedback route stores for a served prediction (shared/serving/feedback.ts):
 * the request as served, its time as eventTime, its requestId, and when the outcome was seen.
 */
export function feedbackLabel(
  useCase: UseCase,
  line: PredictionLogRecord,
  label: 0 | 1,
  observedAt: string,
): LabelEvent {
  const requestNames = new Set(useCase.requestFeatures.map((f) => f.name));
  return toLabelEvent(labelContract(useCase), {
    entities: line.entities,
    eventTime: line.time,
    label,
    request: Object.fromEntries(Object.entries(line.features).filter(([k]) => requestNames.has(k))),
    requestId: line.requestId,
    observedAt,
  });
}

/** Stores the feedback of every `every`-th served line (its drawn outcome), ingested at `ingestedAt`. */
export async function sendFeedback(
  ctx: { readonly s3: S3Client; readonly bucket: string; readonly useCase: UseCase },
  lines: readonly { readonly line: PredictionLogRecord; readonly flight: Flight }[],
  count: number,
  ingestedAt: string,
): Promise<number> {
  const chosen = lines
    .filter((_, i) => i % Math.max(1, Math.floor(lines.length / count)) === 0)
    .slice(0, count);
  const events = chosen.map(({ line, flight }) => feedbackLabel(ctx.useCase, line, flight.label, ingestedAt));
  await writeLabels(
    { client: ctx.s3, bucket: ctx.bucket, now: () => Date.parse(ingestedAt) },
    labelContract(ctx.useCase),
    events,
  );
  return events.length;
}
