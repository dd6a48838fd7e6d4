import {
  DescribeDeliveryStreamCommand,
  FirehoseClient,
  FirehoseServiceException,
  ListDeliveryStreamsCommand,
  PutRecordBatchCommand,
  PutRecordCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-firehose';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localS3Client } from '../../../infra/local/clients.ts';
import type { MetricDatumInput, MetricSink } from '../../../infra/local/cloudwatch/metrics.ts';
import { LOCAL_ACCOUNT, LOCAL_CREDENTIALS } from '../../../infra/local/engines/credentials.ts';
import { type S3Engine, startS3 } from '../../../infra/local/engines/s3.ts';
import { type FirehoseEmulator, startFirehose } from '../../../infra/local/firehose.ts';
import type { LocalDeliveryStream } from '../../../infra/local/model.ts';
import { until } from '../../support/until.ts';

const placement = { region: 'us-east-1', account: LOCAL_ACCOUNT };
const BUCKET = 'predictions';
/** Buffering intervals run 100 times faster: 60 s last 600 ms. */
const TIME_SCALE = 0.01;
/** Records arrive at 2024-01-02T03:04:05Z, so prefixes are known in advance. */
const ARRIVAL = Date.UTC(2024, 0, 2, 3, 4, 5);

/** A stream to BUCKET with the flight-delay prefixes and an interval too long to fire during a test. */
function stream(name: string, more: Partial<LocalDeliveryStream> = {}): LocalDeliveryStream {
  return {
    stack: 'Serving',
    logicalId: name,
    name,
    arn: `arn:aws:firehose:us-east-1:${LOCAL_ACCOUNT}:deliverystream/${name}`,
    bucket: BUCKET,
    prefix: 'predictions/flight-delay/date=!{timestamp:yyyy-MM-dd}/hour=!{timestamp:HH}/',
    errorOutputPrefix:
      'prediction-errors/flight-delay/!{firehose:error-output-type}/date=!{timestamp:yyyy-MM-dd}/',
    bufferIntervalSeconds: 900,
    bufferSizeMb: 5,
    encryption: { keyType: 'CUSTOMER_MANAGED_CMK', keyArn: `arn:aws:kms:us-east-1:${LOCAL_ACCOUNT}:key/k` },
    ...more,
  };
}

/** Rejects with the SDK's error, or fails when the call succeeds. */
async function failureOf(call: Promise<unknown>): Promise<FirehoseServiceException> {
  try {
    await call;
  } catch (e) {
    if (e instanceof FirehoseServiceException) return e;
    throw e;
  }
  throw new Error('the call succeeded');
}

describe('local Firehose through @aws-sdk/client-firehose', () => {
  let s3Engine: S3Engine;
  let s3: S3Client;
  let firehose: FirehoseEmulator;
  let client: FirehoseClient;
  const logs: string[] = [];
  const metrics: { namespace: string; datum: MetricDatumInput }[] = [];
  const sink: MetricSink = {
    putMetricData: (namespace, data) => {
      for (const datum of data) metrics.push({ namespace, datum });
    },
  };

  const objectText = async (key: string) =>
    (await s3
      .send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))
      .then((o) => o.Body?.transformToString())) ?? '';
  const put = (name: string, data: string) =>
    client.send(new PutRecordCommand({ DeliveryStreamName: name, Record: { Data: Buffer.from(data) } }));

  beforeAll(async () => {
    s3Engine = await startS3();
    s3 = localS3Client(s3Engine.endpoint);
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    firehose = await startFirehose({
      placement,
      streams: [
        stream('orders'),
        stream('batches'),
        stream('every-minute', { bufferIntervalSeconds: 60 }),
        stream('one-megabyte', { bufferSizeMb: 1 }),
        stream('flaky'),
        stream('flaky-s3'),
        stream('no-bucket', { bucket: 'no-such-bucket' }),
      ],
      s3Endpoint: s3Engine.endpoint,
      timeScale: TIME_SCALE,
      metrics: sink,
      log: (line) => logs.push(line),
      now: () => ARRIVAL,
    });
    client = new FirehoseClient({
      endpoint: firehose.endpoint,
      region: placement.region,
      credentials: LOCAL_CREDENTIALS,
      maxAttempts: 1,
    });
  });
  afterAll(async () => {
    client?.destroy();
    await firehose?.stop();
    s3?.destroy();
    await s3Engine?.stop();
  });

  it('delivers PutRecord records on flush as one object at the evaluated prefix, concatenated as sent', async () => {
    // Prepare
    const first = await put('orders', '{"id":1}\n');
    await put('orders', '{"id":2}\n');
    expect(firehose.buffered('orders')).toBe(2);

    // Act
    await firehose.flush('orders');

    // Assess
    expect(first).toMatchObject({ Encrypted: true, RecordId: expect.any(String) });
    const [delivery, ...others] = firehose.delivered('orders');
    expect(others).toEqual([]);
    expect(delivery).toMatchObject({ bucket: BUCKET, kind: 'data', records: 2, bytes: 18 });
    expect(delivery?.key).toMatch(
      /^predictions\/flight-delay\/date=2024-01-02\/hour=03\/orders-1-2024-01-02-03-04-05-[0-9a-f-]{36}$/,
    );
    expect(await objectText(delivery?.key ?? '')).toBe('{"id":1}\n{"id":2}\n');
    expect(firehose.buffered('orders')).toBe(0);
  });

  it('accepts a PutRecordBatch and reports a per-record failure in RequestResponses', async () => {
    // Prepare
    firehose.faults.inject('PutRecordBatchRecord:batches', {
      error: 'ServiceUnavailableException',
      times: 1,
    });

    // Act
    const out = await client.send(
      new PutRecordBatchCommand({
        DeliveryStreamName: 'batches',
        Records: ['a', 'b', 'c'].map((d) => ({ Data: Buffer.from(d) })),
      }),
    );
    await firehose.flush('batches');

    // Assess
    expect(out.FailedPutCount).toBe(1);
    expect(out.RequestResponses).toEqual([
      { ErrorCode: 'ServiceUnavailableException', ErrorMessage: 'Injected ServiceUnavailableException' },
      { RecordId: expect.any(String) },
      { RecordId: expect.any(String) },
    ]);
    const [delivery] = firehose.delivered('batches');
    expect(await objectText(delivery?.key ?? '')).toBe('bc');
  });

  it('delivers a buffer IntervalInSeconds × timeScale after its first record', async () => {
    // Prepare
    const started = Date.now();
    await put('every-minute', 'tick');

    // Act
    await until(
      'the interval delivery',
      async () => firehose.delivered('every-minute'),
      (d) => d.length === 1,
      10_000,
    );

    // Assess
    expect(Date.now() - started).toBeGreaterThanOrEqual(550);
    expect(await objectText(firehose.delivered('every-minute')[0]?.key ?? '')).toBe('tick');
  });

  it('delivers a buffer as soon as the next record would take it past SizeInMBs', async () => {
    // Prepare
    const record = Buffer.alloc(400 * 1024, 'x');

    // Act
    await client.send(
      new PutRecordBatchCommand({
        DeliveryStreamName: 'one-megabyte',
        Records: [record, record, record].map((Data) => ({ Data })),
      }),
    );
    await until(
      'the size delivery',
      async () => firehose.delivered('one-megabyte'),
      (d) => d.length === 1,
      10_000,
    );

    // Assess
    expect(firehose.delivered('one-megabyte')[0]).toMatchObject({ records: 2, bytes: 800 * 1024 });
    expect(firehose.buffered('one-megabyte')).toBe(1);
  });

  it('answers an unknown stream with a 400 ResourceNotFoundException', async () => {
    // Act
    const error = await failureOf(put('nope', 'x'));

    // Assess
    expect(error).toBeInstanceOf(ResourceNotFoundException);
    expect(error.$metadata.httpStatusCode).toBe(400);
    expect(error.message).toBe(`Firehose nope under account ${LOCAL_ACCOUNT} not found.`);
  });

  it('refuses a record over 1,000 KiB with a ValidationException', async () => {
    // Act
    const error = await failureOf(
      client.send(
        new PutRecordCommand({ DeliveryStreamName: 'orders', Record: { Data: Buffer.alloc(1_024_001) } }),
      ),
    );

    // Assess
    expect(error.name).toBe('ValidationException');
    expect(error.message).toMatch(/'record\.data'.*less than or equal to 1024000/);
  });

  it('fails exactly the injected number of PutRecord calls, with the injected status, then succeeds', async () => {
    // Prepare
    firehose.faults.inject('PutRecord:flaky', {
      error: 'ServiceUnavailableException',
      times: 2,
      statusCode: 503,
    });

    // Act
    const failures = [await failureOf(put('flaky', 'a')), await failureOf(put('flaky', 'b'))];
    const third = await put('flaky', 'c');

    // Assess
    for (const f of failures) {
      expect(f.name).toBe('ServiceUnavailableException');
      expect(f.$metadata.httpStatusCode).toBe(503);
    }
    expect(third.RecordId).toEqual(expect.any(String));
    expect(firehose.buffered('flaky')).toBe(1);
  });

  it('writes the records under the ErrorOutputPrefix when every S3 attempt fails', async () => {
    // Prepare
    firehose.faults.inject('DeliverToS3:flaky-s3', { error: 'InternalError', times: 3 });
    await put('flaky-s3', 'kept');

    // Act
    await firehose.flush('flaky-s3');

    // Assess
    const [delivery, ...others] = firehose.delivered('flaky-s3');
    expect(others).toEqual([]);
    expect(delivery?.kind).toBe('error');
    expect(delivery?.key).toMatch(
      /^prediction-errors\/flight-delay\/s3-failed\/date=2024-01-02\/flaky-s3-1-/,
    );
    const line = JSON.parse((await objectText(delivery?.key ?? '')).trim()) as Record<string, unknown>;
    expect(line).toMatchObject({ attemptsMade: 3, errorCode: 'S3.InternalError', arrivalTimestamp: ARRIVAL });
    expect(Buffer.from(String(line.rawData), 'base64').toString()).toBe('kept');
    const success = metrics.filter(
      (m) => m.datum.MetricName === 'DeliveryToS3.Success' && m.datum.Dimensions?.[0]?.Value === 'flaky-s3',
    );
    expect(success.map((m) => m.datum.Value)).toEqual([0, 0, 0]);
  });

  it('counts and logs the records it could not write anywhere', async () => {
    // Prepare
    await put('no-bucket', 'doomed');

    // Act
    await firehose.flush('no-bucket');

    // Assess
    expect(firehose.delivered('no-bucket')).toEqual([]);
    expect(firehose.failures('no-bucket')).toEqual([
      expect.objectContaining({
        bucket: 'no-such-bucket',
        records: 1,
        bytes: 6,
        errorCode: 'S3.NoSuchBucket',
      }),
    ]);
    expect(logs.some((l) => l.includes('no-bucket: 1 record(s) (6 bytes) LOST'))).toBe(true);
  });

  it('describes and lists its streams in the shape the SDK parses', async () => {
    // Act
    const { DeliveryStreamDescription: d } = await client.send(
      new DescribeDeliveryStreamCommand({ DeliveryStreamName: 'orders' }),
    );
    const list = await client.send(new ListDeliveryStreamsCommand({ Limit: 3 }));

    // Assess
    expect(d).toMatchObject({
      DeliveryStreamName: 'orders',
      DeliveryStreamARN: `arn:aws:firehose:us-east-1:${LOCAL_ACCOUNT}:deliverystream/orders`,
      DeliveryStreamStatus: 'ACTIVE',
      DeliveryStreamType: 'DirectPut',
      DeliveryStreamEncryptionConfiguration: { Status: 'ENABLED', KeyType: 'CUSTOMER_MANAGED_CMK' },
      Destinations: [
        {
          ExtendedS3DestinationDescription: {
            BucketARN: `arn:aws:s3:::${BUCKET}`,
            Prefix: 'predictions/flight-delay/date=!{timestamp:yyyy-MM-dd}/hour=!{timestamp:HH}/',
            BufferingHints: { IntervalInSeconds: 900, SizeInMBs: 5 },
          },
        },
      ],
    });
    expect(d?.CreateTimestamp).toBeInstanceOf(Date);
    expect(list).toMatchObject({
      DeliveryStreamNames: ['batches', 'every-minute', 'flaky'],
      HasMoreDeliveryStreams: true,
    });
  });

  it('publishes AWS/Firehose metrics by DeliveryStreamName', () => {
    // Assess
    const of = (name: string, stream: string) =>
      metrics
        .filter((m) => m.datum.MetricName === name && m.datum.Dimensions?.[0]?.Value === stream)
        .map((m) => ({ namespace: m.namespace, value: m.datum.Value }));
    expect(of('IncomingRecords', 'orders')).toEqual([
      { namespace: 'AWS/Firehose', value: 1 },
      { namespace: 'AWS/Firehose', value: 1 },
    ]);
    expect(of('DeliveryToS3.Success', 'orders')).toEqual([{ namespace: 'AWS/Firehose', value: 1 }]);
    expect(of('DeliveryToS3.Records', 'orders')).toEqual([{ namespace: 'AWS/Firehose', value: 2 }]);
  });

  it('delivers what it buffers when it stops', async () => {
    // Prepare
    const own = await startFirehose({
      placement,
      streams: [stream('at-stop')],
      s3Endpoint: s3Engine.endpoint,
    });
    const ownClient = new FirehoseClient({
      endpoint: own.endpoint,
      region: placement.region,
      credentials: LOCAL_CREDENTIALS,
      maxAttempts: 1,
    });
    await ownClient.send(
      new PutRecordCommand({ DeliveryStreamName: 'at-stop', Record: { Data: Buffer.from('last') } }),
    );
    ownClient.destroy();

    // Act
    await own.stop();

    // Assess
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'predictions/' }));
    const key = listed.Contents?.map((o) => o.Key ?? '').find((k) => k.includes('/at-stop-1-'));
    expect(own.delivered()).toEqual([expect.objectContaining({ key, records: 1 })]);
    expect(await objectText(key ?? '')).toBe('last');
  });
});
