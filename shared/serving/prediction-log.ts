/**
 * What is kept of every prediction, after the model answers and never failing the answer:
 *
 * - **The prediction log**, one JSON line per prediction sent to the use case's Firehose stream,
 *   which delivers it to `predictions/<useCase>/date=<day>/hour=<hour>/` in the prediction-log
 *   bucket, where the monitor reads it. Each line carries the named features, the score and the
 *   model version, and the fields of SageMaker data capture (`captureData`, `eventMetadata` with
 *   `inferenceId` = requestId, `eventVersion`), so tools written for Model Monitor's captures read
 *   it as they are.
 * - **The served request**, one DynamoDB item per prediction, expiring after the use case's
 *   feedback window: what `POST /feedback/{useCase}` needs to turn a requestId into a label event
 *   of the request as it was served.
 *
 * Both are written together after the model answers; a failure of either is reported, not thrown:
 * the caller counts it in a metric and logs the record so it can be recovered.
 */

import { type FirehoseClient, PutRecordCommand } from '@aws-sdk/client-firehose';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { UseCase } from '../config/use-case.ts';
import type { FeatureValue } from '../features/records.ts';
import type { PredictInput, PredictionRecord } from './predict.ts';

/** The prediction-log stream's S3 buffering: one object a minute, or per 5 MiB, whichever comes first. */
export const PREDICTION_LOG_BUFFER = { intervalSeconds: 60, sizeMb: 5 } as const;

/** Where a use case's prediction log lands in the prediction-log bucket. */
export function predictionLogPrefix(useCase: string): string {
  return `predictions/${useCase}/`;
}

/** The Firehose S3 prefix: the log's prefix, partitioned by arrival day and hour (UTC). */
export function predictionLogDeliveryPrefix(useCase: string): string {
  return `${predictionLogPrefix(useCase)}date=!{timestamp:yyyy-MM-dd}/hour=!{timestamp:HH}/`;
}

/** The root of the records Firehose could not deliver. */
export function predictionLogErrorRoot(useCase: string): string {
  return `prediction-errors/${useCase}/`;
}

/** Where Firehose puts the records it could not deliver, by error type and day. */
export function predictionLogErrorPrefix(useCase: string): string {
  return `${predictionLogErrorRoot(useCase)}!{firehose:error-output-type}/date=!{timestamp:yyyy-MM-dd}/`;
}

/**
 * One line of the prediction log. A line may appear twice (a PutRecord retried after a timeout
 * that Firehose had in fact accepted): readers count each `eventMetadata.eventId` once.
 */
export interface PredictionLogRecord {
  readonly requestId: string;
  /** When the prediction was made, ISO-8601 UTC. */
  readonly time: string;
  readonly useCase: string;
  readonly modelVersion: string;
  /** The variant slot that answered (`blue` or `green`). */
  readonly variant: string;
  /** The request's entity ID per feature group. */
  readonly entities: Readonly<Record<string, string>>;
  /** Every feature the model saw, by name (null when missing). */
  readonly features: Readonly<Record<string, FeatureValue>>;
  readonly score: number;
  readonly label: 0 | 1;
  readonly threshold: number;
  /** SageMaker data capture's payload: the encoded request and the model's answer, as CSV. */
  readonly captureData: {
    readonly endpointInput: CaptureEntry;
    readonly endpointOutput: CaptureEntry;
  };
  /** SageMaker data capture's metadata; `inferenceId` is the requestId feedback quotes. */
  readonly eventMetadata: {
    readonly eventId: string;
    readonly inferenceId: string;
    readonly inferenceTime: string;
  };
  readonly eventVersion: '0';
}

interface CaptureEntry {
  readonly observedContentType: string;
  readonly mode: 'INPUT' | 'OUTPUT';
  readonly data: string;
  readonly encoding: 'CSV';
}

/** The log line of one prediction. */
export function predictionLogRecord(
  useCase: UseCase,
  input: PredictInput,
  record: PredictionRecord,
  time: string,
): PredictionLogRecord {
  return {
    requestId: record.requestId,
    time,
    useCase: useCase.name,
    modelVersion: record.modelVersion,
    variant: record.slot,
    entities: input.entities,
    features: record.features,
    score: record.score,
    label: record.label,
    threshold: record.threshold,
    captureData: {
      endpointInput: {
        observedContentType: 'text/csv',
        mode: 'INPUT',
        data: record.encoded,
        encoding: 'CSV',
      },
      endpointOutput: {
        observedContentType: 'text/csv',
        mode: 'OUTPUT',
        data: String(record.score),
        encoding: 'CSV',
      },
    },
    eventMetadata: { eventId: record.requestId, inferenceId: record.requestId, inferenceTime: time },
    eventVersion: '0',
  };
}

/** The served-request item's key: one table serves every use case. */
export function servedRequestKey(useCase: string, requestId: string): { requestKey: string } {
  return { requestKey: `${useCase}#${requestId}` };
}

/** A served request as the feedback route reads it. */
export interface ServedRequest {
  readonly requestKey: string;
  readonly requestId: string;
  readonly useCase: string;
  readonly time: string;
  readonly modelVersion: string;
  readonly entities: Readonly<Record<string, string>>;
  readonly request: Readonly<Record<string, FeatureValue>>;
  readonly score: number;
  /** Epoch seconds; DynamoDB TTL removes the item after the feedback window. */
  readonly expiresAt: number;
  /** Set once feedback is accepted: the label, when it was observed, and its label event's ID. */
  readonly feedbackLabel?: 0 | 1;
  readonly feedbackObservedAt?: string;
}

/** Where a prediction's log line and served request go. */
export interface PredictionSinks {
  readonly firehose: FirehoseClient;
  readonly streamName: string;
  readonly documents: DynamoDBDocumentClient;
  readonly servedTable: string;
}

/** What became of one prediction's log line and served request. */
export interface KeptPrediction {
  /** The log line was accepted by Firehose. */
  readonly logged: boolean;
  /** The served request was stored, so feedback can find it. */
  readonly indexed: boolean;
  /** The failures, in the order above, for the caller to log. */
  readonly errors: readonly { readonly sink: 'predictionLog' | 'servedRequest'; readonly error: unknown }[];
}

/**
 * Sends the log line and stores the served request, concurrently. Never throws: the prediction
 * has been made and is answered whatever happens here.
 */
export async function keepPrediction(
  sinks: PredictionSinks,
  useCase: UseCase,
  input: PredictInput,
  line: PredictionLogRecord,
): Promise<KeptPrediction> {
  const served: ServedRequest = {
    ...servedRequestKey(useCase.name, line.requestId),
    requestId: line.requestId,
    useCase: useCase.name,
    time: line.time,
    modelVersion: line.modelVersion,
    entities: input.entities,
    request: input.request,
    score: line.score,
    expiresAt: Math.ceil(Date.parse(line.time) / 1000) + useCase.feedback.windowDays * 86_400,
  };
  const [log, index] = await Promise.allSettled([
    sinks.firehose.send(
      new PutRecordCommand({
        DeliveryStreamName: sinks.streamName,
        // Firehose adds no delimiter: one JSON line per record, so a delivered object is JSON Lines.
        Record: { Data: Buffer.from(`${JSON.stringify(line)}\n`) },
      }),
    ),
    sinks.documents.send(
      new PutCommand({
        TableName: sinks.servedTable,
        Item: served,
        // A requestId is served once; a retried invocation must not rewrite what feedback may hold.
        ConditionExpression: 'attribute_not_exists(requestKey)',
      }),
    ),
  ]);
  // A requestId is unique per invocation, so a failed condition means the item is there already: a
  // retried PutItem whose first attempt landed, or a retried invocation. Either way it is kept.
  const indexed =
    index.status === 'fulfilled' ||
    (index.reason instanceof Error && index.reason.name === 'ConditionalCheckFailedException');
  const errors: KeptPrediction['errors'][number][] = [];
  if (log.status === 'rejected') errors.push({ sink: 'predictionLog', error: log.reason });
  if (!indexed && index.status === 'rejected') errors.push({ sink: 'servedRequest', error: index.reason });
  return { logged: log.status === 'fulfilled', indexed, errors };
}
