/**
 * Reading a monitoring window: the prediction log's lines made in the window, one delivered
 * object at a time, and the feedback labels of those predictions.
 *
 * Firehose partitions the log by arrival (`date=<day>/hour=<hour>/`), so a prediction made at
 * 10:59:58 may sit under hour=11: the reader lists the partitions from the window's start to its
 * end plus {@link LOG_ARRIVAL_SLACK_MS}, and keeps the lines whose own `time` is in the window.
 * A line delivered twice (a PutRecord retried after a timeout Firehose had accepted) is read once,
 * by `eventMetadata.eventId`.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import * as z from 'zod';
import { addDays, dateOf } from '../features/offline-store.ts';
import type { FeatureValue } from '../features/records.ts';
import type { LabelContract } from '../labels/schema.ts';
import { readLabels } from '../labels/store.ts';
import { listKeys, readText } from '../s3.ts';
import { PREDICTION_LOG_BUFFER, predictionLogPrefix } from '../serving/prediction-log.ts';

/** How late a line may arrive after it was made: Firehose's buffer (60 s) and its retries, with room. */
export const LOG_ARRIVAL_SLACK_MS = 15 * 60_000;

/** A time window [start, end), ISO-8601 UTC. */
export interface TimeWindow {
  readonly start: string;
  readonly end: string;
}

/**
 * The window of `hours` ending on the hour at or before `now` less the arrival slack: a check at
 * 10:05 reads up to 09:00, whose last lines Firehose has delivered by then.
 */
export function windowEndingAt(now: Date, hours: number): TimeWindow {
  const end = new Date(now.getTime() - LOG_ARRIVAL_SLACK_MS);
  end.setUTCMinutes(0, 0, 0);
  return { start: new Date(end.getTime() - hours * 3_600_000).toISOString(), end: end.toISOString() };
}

/**
 * The fields of a log line the monitor reads (the rest, such as captureData, is for other tools),
 * as a schema: the contract {@link logLineOf} checks, field by field, without building a copy of
 * every line (the monitor reads millions; the tests hold the two to the same answers).
 */
export const LogLineSchema = z.looseObject({
  requestId: z.string().min(1),
  time: z.iso.datetime(),
  modelVersion: z.string().min(1),
  features: z.record(z.string(), z.union([z.number(), z.string(), z.boolean(), z.null()])),
  score: z.number(),
  eventMetadata: z.looseObject({ eventId: z.string().min(1) }).optional(),
});

/** What {@link logLineOf} keeps of a line. */
export interface LogLine {
  readonly requestId: string;
  readonly time: string;
  readonly modelVersion: string;
  readonly features: Readonly<Record<string, FeatureValue>>;
  readonly score: number;
  readonly eventId?: string;
}

/** zod's own `z.iso.datetime()` pattern (UTC, `Z`, any fraction of a second). */
const ISO_DATETIME = z.regexes.datetime({});

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** A parsed JSON line as {@link LogLineSchema} accepts it, or undefined when the schema would refuse it. */
export function logLineOf(raw: unknown): LogLine | undefined {
  if (!isObject(raw)) return undefined;
  const { requestId, time, modelVersion, features, score, eventMetadata } = raw;
  if (typeof requestId !== 'string' || requestId.length === 0) return undefined;
  if (typeof time !== 'string' || !ISO_DATETIME.test(time)) return undefined;
  if (typeof modelVersion !== 'string' || modelVersion.length === 0) return undefined;
  if (typeof score !== 'number' || !Number.isFinite(score)) return undefined;
  if (!isObject(features)) return undefined;
  for (const name of Object.keys(features)) {
    const v = features[name];
    if (v === null || typeof v === 'string' || typeof v === 'boolean') continue;
    if (typeof v !== 'number' || !Number.isFinite(v)) return undefined;
  }
  let eventId: string | undefined;
  if (eventMetadata !== undefined) {
    if (!isObject(eventMetadata)) return undefined;
    const id = eventMetadata.eventId;
    if (typeof id !== 'string' || id.length === 0) return undefined;
    eventId = id;
  }
  return {
    requestId,
    time,
    modelVersion,
    features: features as Record<string, FeatureValue>,
    score,
    ...(eventId === undefined ? {} : { eventId }),
  };
}

/** One prediction of the window. */
export interface LoggedPrediction {
  readonly requestId: string;
  readonly time: string;
  readonly modelVersion: string;
  readonly features: Readonly<Record<string, FeatureValue>>;
  readonly score: number;
}

/** What reading the log met besides predictions of the window. */
export interface LogReadCounts {
  objects: number;
  lines: number;
  /** Lines that are not JSON or lack a field the monitor needs. */
  unreadable: number;
  /** Lines read a second time (same eventId). */
  duplicates: number;
  /** Lines made outside the window (partitions hold arrivals, not predictions). */
  outside: number;
}

const HOUR_PARTITION = /\/date=(\d{4}-\d{2}-\d{2})\/hour=(\d{2})\//;

/** The keys of the log's objects that may hold predictions of the window. */
async function windowKeys(
  s3: S3Client,
  bucket: string,
  useCase: string,
  window: TimeWindow,
): Promise<string[]> {
  // Firehose names an object by the arrival of its oldest record: an object of the hour before
  // the window may hold lines of its first minute, so listing starts one buffer interval early.
  const from = Date.parse(window.start) - PREDICTION_LOG_BUFFER.intervalSeconds * 1000;
  const to = Date.parse(window.end) + LOG_ARRIVAL_SLACK_MS;
  const keys: string[] = [];
  for (
    let day = dateOf(new Date(from).toISOString());
    day <= dateOf(new Date(to).toISOString());
    day = addDays(day, 1)
  ) {
    for (const key of await listKeys(s3, bucket, `${predictionLogPrefix(useCase)}date=${day}/`)) {
      const m = HOUR_PARTITION.exec(key);
      if (m) {
        const hourStart = Date.parse(`${m[1]}T${m[2]}:00:00Z`);
        // Arrival hour [h, h+1) must overlap [start - buffer, end + slack).
        if (hourStart + 3_600_000 <= from || hourStart >= to) continue;
      }
      keys.push(key);
    }
  }
  return keys.sort();
}

/**
 * Streams the predictions made in the window, one delivered object's worth at a time (one array
 * per object, not one promise per line), so memory holds one object (Firehose writes at most
 * 5 MiB each) and the set of event IDs seen.
 */
export async function* readPredictionLog(options: {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly useCase: string;
  readonly window: TimeWindow;
  readonly counts: LogReadCounts;
}): AsyncGenerator<LoggedPrediction[]> {
  const { s3, bucket, window, counts } = options;
  const seen = new Set<string>();
  for (const key of await windowKeys(s3, bucket, options.useCase, window)) {
    counts.objects++;
    const text = await readText(s3, { bucket, key });
    const batch: LoggedPrediction[] = [];
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      counts.lines++;
      let raw: unknown;
      try {
        raw = JSON.parse(line);
      } catch {
        counts.unreadable++;
        continue;
      }
      const p = logLineOf(raw);
      if (!p) {
        counts.unreadable++;
        continue;
      }
      if (p.time < window.start || p.time >= window.end) {
        counts.outside++;
        continue;
      }
      const id = p.eventId ?? p.requestId;
      if (seen.has(id)) {
        counts.duplicates++;
        continue;
      }
      seen.add(id);
      batch.push({
        requestId: p.requestId,
        time: p.time,
        modelVersion: p.modelVersion,
        features: p.features,
        score: p.score,
      });
    }
    if (batch.length > 0) yield batch;
  }
}

/**
 * The feedback labels of the window's predictions, by requestId: label events that quote a
 * requestId, stored on the day of the prediction (feedback's eventTime is the prediction's time),
 * ingested by `cutoff`. A label row the use case no longer accepts is counted, not fatal.
 */
export async function readFeedbackLabels(options: {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly contract: LabelContract;
  readonly window: TimeWindow;
  readonly cutoff: string;
}): Promise<{ labels: Map<string, 0 | 1>; rejected: number }> {
  const labels = new Map<string, 0 | 1>();
  let rejected = 0;
  const last = new Date(Date.parse(options.window.end) - 1).toISOString();
  for await (const l of readLabels({
    client: options.s3,
    bucket: options.bucket,
    contract: options.contract,
    from: dateOf(options.window.start),
    to: dateOf(last),
    cutoff: options.cutoff,
    onReject: () => {
      rejected++;
    },
  })) {
    if (l.requestId && l.eventTime >= options.window.start && l.eventTime < options.window.end)
      labels.set(l.requestId, l.label);
  }
  return { labels, rejected };
}
