/**
 * Feedback against DynamoDB Local and s3rver: a kept prediction's served request turns its
 * feedback into the label event of the request as served; faults (injected with
 * aws-sdk-client-mock) never fail a prediction, and a fault between the claim and the label write
 * loses nothing once the caller retries.
 */
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { FirehoseClient, PutRecordCommand } from '@aws-sdk/client-firehose';
import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localS3Client } from '../../../infra/local/clients.ts';
import { LOCAL_CREDENTIALS } from '../../../infra/local/engines/credentials.ts';
import { UseCaseSchema } from '../../../shared/config/use-case.ts';
import { ConflictError } from '../../../shared/errors.ts';
import { labelContract } from '../../../shared/labels/schema.ts';
import { readLabels } from '../../../shared/labels/store.ts';
import { listKeys } from '../../../shared/s3.ts';
import {
  type FeedbackContext,
  recordFeedback,
  UnknownRequestError,
} from '../../../shared/serving/feedback.ts';
import type { PredictInput, PredictionRecord } from '../../../shared/serving/predict.ts';
import {
  keepPrediction,
  type PredictionSinks,
  predictionLogRecord,
  servedRequestKey,
} from '../../../shared/serving/prediction-log.ts';
import demo from '../../../use-cases/flight-delay.ts';
import { type Emulators, startEmulators } from '../../support/emulators.ts';

const useCase = UseCaseSchema.parse(demo);
const contract = labelContract(useCase);
const TABLE = 'served-requests';
const BUCKET = 'datasets';
let emu: Emulators;

const input: PredictInput = {
  entities: { 'airport-delays': 'ORD' },
  request: { hour: 17, weekday: 5, distance: 800, origin: 'ORD', destination: 'DFW' },
};

function record(requestId: string): PredictionRecord {
  return {
    requestId,
    score: 0.8,
    label: 1,
    threshold: useCase.gates.threshold,
    modelVersion: '3',
    features: { delayRate2h: 0.3, flights2h: 12, ...input.request },
    encoded: '0.3,12,17,5,800,1,2',
    slot: 'blue',
    timings: { featuresMs: 1, modelMs: 2 },
  };
}

/** A Firehose client that accepts every record (the stream itself is not under test here). */
function acceptingFirehose(): FirehoseClient {
  const client = new FirehoseClient({ region: 'us-east-1', credentials: LOCAL_CREDENTIALS });
  mockClient(client).on(PutRecordCommand).resolves({ RecordId: 'r', Encrypted: true });
  return client;
}

function faultyDocuments(): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: emu.dynamodb.endpoint,
      region: 'us-east-1',
      credentials: LOCAL_CREDENTIALS,
    }),
  );
}

function sinks(overrides: Partial<PredictionSinks> = {}): PredictionSinks {
  return {
    firehose: acceptingFirehose(),
    streamName: 'preds',
    documents: emu.doc,
    servedTable: TABLE,
    ...overrides,
  };
}

/** The feedback context, on a clock in June 2026 like the served requests below. */
function feedbackContext(labels: S3Client = emu.s3): FeedbackContext {
  return {
    documents: emu.doc,
    servedTable: TABLE,
    labels: { client: labels, bucket: BUCKET },
    windowDays: useCase.feedback.windowDays,
    now: () => Date.parse('2026-06-10T00:00:00.000Z'),
  };
}

async function keep(requestId: string, time: string, overrides: Partial<PredictionSinks> = {}) {
  return keepPrediction(
    sinks(overrides),
    useCase,
    input,
    predictionLogRecord(useCase, input, record(requestId), time),
  );
}

async function storedLabels() {
  const out = [];
  for await (const l of readLabels({
    client: emu.s3,
    bucket: BUCKET,
    contract,
    from: '2026-01-01',
    to: '2026-12-31',
    cutoff: '2100-01-01T00:00:00.000Z',
    onReject: (r) => {
      throw new Error(JSON.stringify(r));
    },
  }))
    out.push(l);
  return out;
}

beforeAll(async () => {
  emu = await startEmulators();
  await emu.ddb.send(
    new CreateTableCommand({
      TableName: TABLE,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'requestKey', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'requestKey', AttributeType: 'S' }],
    }),
  );
  await emu.createBucket(BUCKET);
}, 60_000);

afterAll(async () => {
  await emu?.stop();
});

describe('keeping a prediction', () => {
  it('stores the served request until the end of the feedback window', async () => {
    const kept = await keep('req-keep', '2026-06-01T10:00:00.000Z');
    expect(kept).toEqual({ logged: true, indexed: true, errors: [] });
    const item = await emu.doc.send(
      new GetCommand({ TableName: TABLE, Key: servedRequestKey(useCase.name, 'req-keep') }),
    );
    expect(item.Item).toMatchObject({
      requestId: 'req-keep',
      time: '2026-06-01T10:00:00.000Z',
      modelVersion: '3',
      entities: input.entities,
      request: input.request,
      expiresAt: Date.parse('2026-06-01T10:00:00.000Z') / 1000 + useCase.feedback.windowDays * 86_400,
    });
  });

  it('reports, never throws, when Firehose or the table refuses', async () => {
    const firehose = new FirehoseClient({ region: 'us-east-1', credentials: LOCAL_CREDENTIALS });
    mockClient(firehose).on(PutRecordCommand).rejects(new Error('ServiceUnavailableException'));
    const noLog = await keep('req-nolog', '2026-06-01T10:00:00.000Z', { firehose });
    expect(noLog.logged).toBe(false);
    expect(noLog.indexed).toBe(true);
    expect(noLog.errors.map((e) => e.sink)).toEqual(['predictionLog']);

    const documents = faultyDocuments();
    mockClient(documents).on(PutCommand).rejects(new Error('ProvisionedThroughputExceededException'));
    const noIndex = await keep('req-noindex', '2026-06-01T10:00:00.000Z', { documents });
    expect(noIndex).toMatchObject({ logged: true, indexed: false });
    expect(noIndex.errors.map((e) => e.sink)).toEqual(['servedRequest']);
  });

  it('never overwrites a served request: a replayed requestId keeps the first one, and counts as kept', async () => {
    await keep('req-twice', '2026-06-01T10:00:00.000Z');
    // A retried PutItem whose first attempt landed fails its condition: the request is stored.
    const again = await keep('req-twice', '2026-06-01T11:00:00.000Z');
    expect(again).toEqual({ logged: true, indexed: true, errors: [] });
    const item = await emu.doc.send(
      new GetCommand({ TableName: TABLE, Key: servedRequestKey(useCase.name, 'req-twice') }),
    );
    expect(item.Item?.time).toBe('2026-06-01T10:00:00.000Z');
  });
});

describe('recording feedback', () => {
  it('writes the label event of the request as served, with its requestId', async () => {
    await keep('req-fb', '2026-06-02T09:30:00.000Z');
    const result = await recordFeedback(feedbackContext(), contract, {
      requestId: 'req-fb',
      label: 0,
      observedAt: '2026-06-02T12:00:00.000Z',
    });
    expect(result).toMatchObject({
      outcome: 'written',
      modelVersion: '3',
      eventTime: '2026-06-02T09:30:00.000Z',
    });
    const [stored] = (await storedLabels()).filter((l) => l.requestId === 'req-fb');
    expect(stored).toMatchObject({
      labelId: result.labelId,
      entities: input.entities,
      request: input.request,
      eventTime: '2026-06-02T09:30:00.000Z',
      label: 0,
      observedAt: '2026-06-02T12:00:00.000Z',
    });
  });

  it('refuses an unknown requestId and an observation before the prediction, writing nothing', async () => {
    const before = await listKeys(emu.s3, BUCKET, 'labels/');
    await expect(
      recordFeedback(feedbackContext(), contract, {
        requestId: 'nope',
        label: 1,
        observedAt: '2026-06-03T00:00:00.000Z',
      }),
    ).rejects.toBeInstanceOf(UnknownRequestError);
    await keep('req-early', '2026-06-03T09:00:00.000Z');
    await expect(
      recordFeedback(feedbackContext(), contract, {
        requestId: 'req-early',
        label: 1,
        observedAt: '2026-06-03T08:59:59.000Z',
      }),
    ).rejects.toMatchObject({ problems: [{ field: 'observedAt' }] });
    expect(await listKeys(emu.s3, BUCKET, 'labels/')).toEqual(before);
    // The early observation claimed nothing: a correct one is still accepted.
    const ok = await recordFeedback(feedbackContext(), contract, {
      requestId: 'req-early',
      label: 1,
      observedAt: '2026-06-03T10:00:00.000Z',
    });
    expect(ok.outcome).toBe('written');
  });

  it('loses nothing when the label write fails after the claim: the retry writes the claimed event once', async () => {
    await keep('req-fault', '2026-06-04T09:00:00.000Z');
    const labels = localS3Client(emu.s3Engine.endpoint, 'us-east-1');
    const mock = mockClient(labels);
    mock.on(HeadObjectCommand).callsFake((i) => emu.s3.send(new HeadObjectCommand(i)));
    mock.on(PutObjectCommand).rejectsOnce(new Error('connection reset'));
    const s3 = labels as S3Client;
    const body = { requestId: 'req-fault', label: 1 as const, observedAt: '2026-06-04T10:00:00.000Z' };
    const before = await listKeys(emu.s3, BUCKET, 'labels/');
    await expect(recordFeedback(feedbackContext(s3), contract, body)).rejects.toThrow('connection reset');
    expect(await listKeys(emu.s3, BUCKET, 'labels/')).toEqual(before);
    // The retry comes later, with a later observedAt: the claimed observation is the one stored.
    const retried = await recordFeedback(feedbackContext(), contract, {
      ...body,
      observedAt: '2026-06-04T11:00:00.000Z',
    });
    expect(retried.outcome).toBe('written');
    const again = await recordFeedback(feedbackContext(), contract, body);
    expect(again).toMatchObject({ outcome: 'duplicate', labelId: retried.labelId });
    const stored = (await storedLabels()).filter((l) => l.requestId === 'req-fault');
    expect(stored).toHaveLength(1);
    expect(stored[0]?.observedAt).toBe('2026-06-04T10:00:00.000Z');
    await expect(recordFeedback(feedbackContext(), contract, { ...body, label: 0 })).rejects.toBeInstanceOf(
      ConflictError,
    );
  });

  it('repairs a claim whose label write failed when the next call brings a different label', async () => {
    await keep('req-repair', '2026-06-05T09:00:00.000Z');
    const labels = localS3Client(emu.s3Engine.endpoint, 'us-east-1');
    const mock = mockClient(labels);
    mock.on(HeadObjectCommand).callsFake((i) => emu.s3.send(new HeadObjectCommand(i)));
    mock.on(PutObjectCommand).rejectsOnce(new Error('connection reset'));
    const body = { requestId: 'req-repair', label: 1 as const, observedAt: '2026-06-05T10:00:00.000Z' };
    await expect(recordFeedback(feedbackContext(labels as S3Client), contract, body)).rejects.toThrow(
      'connection reset',
    );
    expect((await storedLabels()).filter((l) => l.requestId === 'req-repair')).toHaveLength(0);
    // The caller gives up on label 1 and sends 0: refused, and the claimed label 1 is stored now.
    await expect(recordFeedback(feedbackContext(), contract, { ...body, label: 0 })).rejects.toBeInstanceOf(
      ConflictError,
    );
    const stored = (await storedLabels()).filter((l) => l.requestId === 'req-repair');
    expect(stored.map((l) => [l.label, l.observedAt])).toEqual([[1, body.observedAt]]);
  });

  it('keeps exactly one of two contradicting labels sent at once, and refuses the other with a 409', async () => {
    await keep('req-race', '2026-06-06T09:00:00.000Z');
    const results = await Promise.allSettled(
      ([0, 1] as const).map((label) =>
        recordFeedback(feedbackContext(), contract, {
          requestId: 'req-race',
          label,
          observedAt: '2026-06-06T10:00:00.000Z',
        }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason).toBeInstanceOf(ConflictError);
    const stored = (await storedLabels()).filter((l) => l.requestId === 'req-race');
    expect(stored).toHaveLength(1);
  });

  it('treats a served request past its window as gone, even before TTL deletes it', async () => {
    await keep('req-old', '2026-06-07T09:00:00.000Z');
    const later = Date.parse('2026-06-07T09:00:00.000Z') + (useCase.feedback.windowDays + 1) * 86_400_000;
    await expect(
      recordFeedback({ ...feedbackContext(), now: () => later }, contract, {
        requestId: 'req-old',
        label: 1,
        observedAt: '2026-06-08T00:00:00.000Z',
      }),
    ).rejects.toBeInstanceOf(UnknownRequestError);
    expect((await storedLabels()).filter((l) => l.requestId === 'req-old')).toHaveLength(0);
  });

  it('refuses the feedback of a request served under an earlier version of the use case, writing nothing', async () => {
    await emu.doc.send(
      new PutCommand({
        TableName: TABLE,
        Item: {
          ...servedRequestKey(useCase.name, 'req-legacy'),
          requestId: 'req-legacy',
          useCase: useCase.name,
          time: '2026-06-09T09:00:00.000Z',
          modelVersion: '1',
          // A request feature the use case no longer has.
          entities: input.entities,
          request: { ...input.request, gate: 'B12' },
          score: 0.4,
          expiresAt: Date.parse('2026-06-09T09:00:00.000Z') / 1000 + 86_400 * 30,
        },
      }),
    );
    const before = await listKeys(emu.s3, BUCKET, 'labels/');
    await expect(
      recordFeedback(feedbackContext(), contract, {
        requestId: 'req-legacy',
        label: 1,
        observedAt: '2026-06-09T10:00:00.000Z',
      }),
    ).rejects.toThrow(/earlier version of use case .*request/);
    expect(await listKeys(emu.s3, BUCKET, 'labels/')).toEqual(before);
  });
});
