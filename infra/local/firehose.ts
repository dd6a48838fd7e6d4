/**
 * The local Amazon Data Firehose: direct PUT streams delivering to S3, as the API (AWS JSON 1.1,
 * `X-Amz-Target: Firehose_20150804.<Op>`) and the service's buffering do it. Records of a stream
 * are concatenated as sent into one buffer, written as one S3 object when the buffer reaches
 * SizeInMBs or IntervalInSeconds (times the cloud's timeScale) after its first record, at a key
 * whose `!{...}` prefix expressions are evaluated, in UTC, at that first record's arrival.
 *
 * Local differences: an S3 write is tried 3 times (AWS retries for up to 24 hours); when every
 * attempt fails, the records go to the ErrorOutputPrefix with the error output type `s3-failed`
 * (AWS has no error output for S3 delivery failures), else they are counted and logged as lost.
 */
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { localS3Client } from './clients.ts';
import type { MetricSink } from './cloudwatch/metrics.ts';
import { AwsApiError, listenLocal, readBody, sendAwsJson, sendAwsJsonError } from './http.ts';
import type { LocalDeliveryStream, LocalPlacement } from './model.ts';
import { FaultInjector } from './sagemaker/faults.ts';

/** One S3 object the emulator wrote. */
export interface FirehoseDelivery {
  readonly streamName: string;
  readonly bucket: string;
  readonly key: string;
  /** `data` under the Prefix; `error` under the ErrorOutputPrefix, after every attempt failed. */
  readonly kind: 'data' | 'error';
  /** How many records the object holds. */
  readonly records: number;
  /** Size of the object's records as sent (before the error output's JSON wrapping). */
  readonly bytes: number;
  /** Arrival of the object's oldest record, the instant its prefix was evaluated at. */
  readonly firstArrival: Date;
}

/** A buffer that could be written neither under the Prefix nor under the ErrorOutputPrefix. */
export interface FirehoseFailure {
  readonly streamName: string;
  readonly bucket: string;
  /** The key the data object would have had. */
  readonly key: string;
  readonly records: number;
  readonly bytes: number;
  /** Firehose's code for the last error, for example `S3.NoSuchBucket`. */
  readonly errorCode: string;
  readonly errorMessage: string;
}

/** A running Firehose emulator. */
export interface FirehoseEmulator {
  readonly endpoint: string;
  readonly port: number;
  /**
   * Fault hooks, keyed `<Op>:<streamName>` (`PutRecord`, `PutRecordBatch`,
   * `DescribeDeliveryStream`; `ListDeliveryStreams` alone), plus `PutRecordBatchRecord:<stream>`
   * (one record of a batch fails, reported in RequestResponses) and `DeliverToS3:<stream>` (one
   * S3 write attempt fails).
   */
  readonly faults: FaultInjector;
  /** Delivers every buffered record (of one stream, or of all) now, and waits for every delivery under way. */
  flush(streamName?: string): Promise<void>;
  /** Objects written, in order. */
  delivered(streamName?: string): FirehoseDelivery[];
  /** Buffers lost after every attempt failed, in order. */
  failures(streamName?: string): FirehoseFailure[];
  /** How many records wait in buffers. */
  buffered(streamName?: string): number;
  /** Stops accepting records, delivers the buffered ones, then closes. */
  stop(): Promise<void>;
}

/** Options of {@link startFirehose}. */
export interface FirehoseOptions {
  /** Region and account of stream ARNs. */
  readonly placement: LocalPlacement;
  /** The streams to run, usually `assembly.deliveryStreams`. */
  readonly streams: readonly LocalDeliveryStream[];
  /** The local S3 (s3rver) the streams deliver to. */
  readonly s3Endpoint: string;
  /**
   * Multiplies every buffering interval and retry delay, as the cloud's timeScale multiplies Wait states.
   * @default 1
   */
  readonly timeScale?: number;
  /** @default - a free port */
  readonly port?: number;
  /**
   * Receives the AWS/Firehose metrics (IncomingRecords, DeliveryToS3.Success...), by DeliveryStreamName.
   * @default - no metrics
   */
  readonly metrics?: MetricSink;
  /**
   * Receives one line per failed delivery attempt and per buffer that could not be delivered.
   * @default - console.error
   */
  readonly log?: (line: string) => void;
  /**
   * The clock records arrive by (epoch milliseconds), for tests of prefix evaluation.
   * @default Date.now
   */
  readonly now?: () => number;
}

const TARGET_PREFIX = 'Firehose_20150804.';
/** PutRecord's and PutRecordBatch's limits. */
const MAX_RECORD_BYTES = 1_024_000;
const MAX_BATCH_RECORDS = 500;
const MAX_BATCH_BYTES = 4 * 1024 * 1024;
const DELIVERY_ATTEMPTS = 3;
/** Delay before the second attempt; it doubles for each further one, times timeScale. */
const RETRY_BASE_MS = 500;
/** The error output type of records whose S3 writes failed (a local name: AWS has none). */
const S3_FAILED = 's3-failed';
const RANDOM_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** An evaluable S3 key prefix. */
type PrefixFunction = (at: Date, errorOutputType?: string) => string;

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** Java DateTimeFormatter letters the local Firehose evaluates, in UTC. */
const DATE_FIELDS: Readonly<Record<string, (d: Date) => string>> = {
  yyyy: (d) => pad(d.getUTCFullYear(), 4),
  uuuu: (d) => pad(d.getUTCFullYear(), 4),
  yy: (d) => pad(d.getUTCFullYear() % 100),
  MM: (d) => pad(d.getUTCMonth() + 1),
  M: (d) => String(d.getUTCMonth() + 1),
  dd: (d) => pad(d.getUTCDate()),
  d: (d) => String(d.getUTCDate()),
  HH: (d) => pad(d.getUTCHours()),
  H: (d) => String(d.getUTCHours()),
  mm: (d) => pad(d.getUTCMinutes()),
  m: (d) => String(d.getUTCMinutes()),
  ss: (d) => pad(d.getUTCSeconds()),
  s: (d) => String(d.getUTCSeconds()),
  SSS: (d) => pad(d.getUTCMilliseconds(), 3),
};

/** Compiles a Java DateTimeFormatter pattern (letters, `'quoted text'`, other characters as they are). */
function compileTimestamp(pattern: string, where: string): (d: Date) => string {
  const parts: ((d: Date) => string)[] = [];
  let i = 0;
  while (i < pattern.length) {
    const c = pattern.charAt(i);
    if (c === "'") {
      // `''` is a quote; inside quotes, text is literal and `''` is a quote too.
      let text = '';
      let j = i + 1;
      for (;;) {
        if (j >= pattern.length) throw new Error(`${where}: unterminated quote in !{timestamp:${pattern}}`);
        if (pattern.charAt(j) === "'") {
          if (pattern.charAt(j + 1) !== "'") break;
          j++;
        }
        text += pattern.charAt(j);
        j++;
      }
      const literal = j === i + 1 ? "'" : text;
      parts.push(() => literal);
      i = j + 1;
    } else if (/[A-Za-z]/.test(c)) {
      let j = i;
      while (pattern.charAt(j) === c) j++;
      const token = pattern.slice(i, j);
      const field = DATE_FIELDS[token];
      if (field === undefined) {
        throw new Error(
          `${where}: !{timestamp:${pattern}} uses ${token}, which the local Firehose does not evaluate; use ${Object.keys(DATE_FIELDS).join(', ')}`,
        );
      }
      parts.push(field);
      i = j;
    } else {
      parts.push(() => c);
      i++;
    }
  }
  return (d) => parts.map((p) => p(d)).join('');
}

/**
 * Compiles a Prefix or ErrorOutputPrefix. As on AWS, a prefix without a `timestamp` expression
 * gets `yyyy/MM/dd/HH/` appended (so an empty Prefix gives AWS's default), and only an
 * ErrorOutputPrefix may use `!{firehose:error-output-type}`.
 * @throws Error naming the stream and the expression for a namespace that is not evaluated locally
 */
export function compilePrefix(
  prefix: string,
  field: 'Prefix' | 'ErrorOutputPrefix',
  streamName: string,
): PrefixFunction {
  const where = `Firehose stream ${streamName}: ${field} ${JSON.stringify(prefix)}`;
  const parts: PrefixFunction[] = [];
  let timestamped = false;
  let last = 0;
  for (const match of prefix.matchAll(/!\{([^}:]*):([^}]*)\}/g)) {
    const literal = prefix.slice(last, match.index);
    parts.push(() => literal);
    last = match.index + match[0].length;
    const [expression, namespace, value = ''] = match;
    if (namespace === 'timestamp') {
      timestamped = true;
      parts.push(compileTimestamp(value, where));
    } else if (namespace === 'firehose' && value === 'random-string') {
      parts.push(() =>
        Array.from({ length: 11 }, () => RANDOM_CHARS.charAt(randomInt(RANDOM_CHARS.length))).join(''),
      );
    } else if (namespace === 'firehose' && value === 'error-output-type') {
      if (field === 'Prefix') throw new Error(`${where}: ${expression} is only allowed in ErrorOutputPrefix`);
      parts.push((_at, type) => type ?? S3_FAILED);
    } else {
      throw new Error(
        `${where}: ${expression} is not evaluated by the local Firehose (only !{timestamp:...}, !{firehose:random-string} and !{firehose:error-output-type}; dynamic partitioning is not emulated)`,
      );
    }
  }
  const tail = prefix.slice(last);
  if (tail.includes('!{')) throw new Error(`${where}: unterminated expression in ${JSON.stringify(tail)}`);
  parts.push(() => tail);
  if (!timestamped) parts.push(compileTimestamp('yyyy/MM/dd/HH/', where));
  return (at, type) => parts.map((p) => p(at, type)).join('');
}

/** The suffix Firehose gives every object: `<stream>-<version>-<yyyy-MM-dd-HH-mm-ss>-<uuid>`. */
const objectSuffix = compileTimestamp('yyyy-MM-dd-HH-mm-ss', 'object suffix');

interface BufferedRecord {
  readonly data: Buffer;
  readonly arrival: number;
}

/** The runtime state of one stream. */
interface StreamState {
  readonly stream: LocalDeliveryStream;
  readonly prefix: PrefixFunction;
  readonly errorPrefix?: PrefixFunction;
  readonly sizeLimit: number;
  readonly intervalMs: number;
  records: BufferedRecord[];
  bytes: number;
  timer?: NodeJS.Timeout;
  readonly inFlight: Set<Promise<void>>;
  readonly createdAt: Date;
}

function text(body: Record<string, unknown>, key: string, member: string): string {
  const v = body[key];
  if (typeof v !== 'string' || v === '') {
    throw new AwsApiError(
      'ValidationException',
      `1 validation error detected: Value null at '${member}' failed to satisfy constraint: Member must not be null`,
    );
  }
  return v;
}

/** The bytes of a `Record` member (`{ Data: base64 }`), checked against the record size limit. */
function recordData(record: unknown, member: string): Buffer {
  const data =
    typeof record === 'object' && record !== null ? (record as { Data?: unknown }).Data : undefined;
  if (typeof data !== 'string') {
    throw new AwsApiError(
      'ValidationException',
      `1 validation error detected: Value null at '${member}.data' failed to satisfy constraint: Member must not be null`,
    );
  }
  const bytes = Buffer.from(data, 'base64');
  if (bytes.length > MAX_RECORD_BYTES) {
    throw new AwsApiError(
      'ValidationException',
      `1 validation error detected: Value at '${member}.data' failed to satisfy constraint: Member must have length less than or equal to ${MAX_RECORD_BYTES}`,
    );
  }
  return bytes;
}

/** A record ID, opaque as AWS's are. */
const recordId = () => randomBytes(48).toString('base64url');

/** Firehose's code for an S3 write error (`S3.NoSuchBucket`, `S3.AccessDenied`...). */
function s3ErrorCode(e: unknown): string {
  return `S3.${e instanceof Error ? e.name : 'InternalError'}`;
}

/** Starts the emulator on 127.0.0.1. */
export async function startFirehose(options: FirehoseOptions): Promise<FirehoseEmulator> {
  const timeScale = options.timeScale ?? 1;
  if (!(timeScale > 0) || !Number.isFinite(timeScale))
    throw new Error(`firehose timeScale must be > 0, got ${timeScale}`);
  const log = options.log ?? ((line: string) => console.error(line));
  const now = options.now ?? Date.now;
  const faults = new FaultInjector();
  const s3 = localS3Client(options.s3Endpoint, options.placement.region);
  const deliveries: FirehoseDelivery[] = [];
  const failures: FirehoseFailure[] = [];
  const states = new Map<string, StreamState>();
  for (const stream of options.streams) {
    if (states.has(stream.name)) throw new Error(`Firehose stream ${stream.name} is declared twice`);
    states.set(stream.name, {
      stream,
      prefix: compilePrefix(stream.prefix, 'Prefix', stream.name),
      ...(stream.errorOutputPrefix === undefined
        ? {}
        : { errorPrefix: compilePrefix(stream.errorOutputPrefix, 'ErrorOutputPrefix', stream.name) }),
      sizeLimit: stream.bufferSizeMb * 1024 * 1024,
      intervalMs: stream.bufferIntervalSeconds * 1000 * timeScale,
      records: [],
      bytes: 0,
      inFlight: new Set(),
      createdAt: new Date(now()),
    });
  }

  const metric = (
    stream: string,
    name: string,
    value: number,
    unit: 'Count' | 'Bytes' | 'Seconds' = 'Count',
  ) =>
    options.metrics?.putMetricData('AWS/Firehose', [
      {
        MetricName: name,
        Dimensions: [{ Name: 'DeliveryStreamName', Value: stream }],
        Value: value,
        Unit: unit,
      },
    ]);

  const streamOf = (name: string): StreamState => {
    const state = states.get(name);
    if (state === undefined) {
      throw new AwsApiError(
        'ResourceNotFoundException',
        `Firehose ${name} under account ${options.placement.account} not found.`,
      );
    }
    return state;
  };

  /** Writes one object, trying `attempts` times; resolves with the last error, or undefined once written. */
  const write = async (
    state: StreamState,
    key: string,
    body: Buffer,
    attempts: number,
    fault?: string,
  ): Promise<unknown> => {
    const name = state.stream.name;
    let lastError: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        const injected = fault === undefined ? undefined : faults.take(fault);
        if (injected) throw Object.assign(new Error(injected.message), { name: injected.error });
        await s3.send(new PutObjectCommand({ Bucket: state.stream.bucket, Key: key, Body: body }));
        if (fault !== undefined) metric(name, 'DeliveryToS3.Success', 1);
        return undefined;
      } catch (e) {
        lastError = e;
        if (fault !== undefined) metric(name, 'DeliveryToS3.Success', 0);
        log(
          `[firehose] ${name}: attempt ${attempt}/${attempts} to write s3://${state.stream.bucket}/${key} failed: ${s3ErrorCode(e)}: ${e instanceof Error ? e.message : String(e)}`,
        );
        if (attempt < attempts) {
          await new Promise((resolve) => setTimeout(resolve, RETRY_BASE_MS * 2 ** (attempt - 1) * timeScale));
        }
      }
    }
    return lastError ?? new Error('no attempt was made');
  };

  /** Delivers one cut buffer; never rejects: what cannot be written is recorded and logged. */
  const deliver = async (state: StreamState, records: readonly BufferedRecord[]): Promise<void> => {
    const { name, bucket } = state.stream;
    const first = records[0];
    if (first === undefined) return;
    const firstArrival = new Date(first.arrival);
    const body = Buffer.concat(records.map((r) => r.data));
    const suffix = `${name}-1-${objectSuffix(firstArrival)}-${randomUUID()}${state.stream.fileExtension ?? ''}`;
    const key = `${state.prefix(firstArrival)}${suffix}`;
    const error = await write(state, key, body, DELIVERY_ATTEMPTS, `DeliverToS3:${name}`);
    const base = { streamName: name, bucket, records: records.length, bytes: body.length, firstArrival };
    if (error === undefined) {
      deliveries.push({ ...base, key, kind: 'data' });
      metric(name, 'DeliveryToS3.Records', records.length);
      metric(name, 'DeliveryToS3.Bytes', body.length, 'Bytes');
      metric(name, 'DeliveryToS3.DataFreshness', (now() - first.arrival) / 1000, 'Seconds');
      return;
    }
    const errorCode = s3ErrorCode(error);
    const errorMessage = error instanceof Error ? error.message : String(error);
    if (state.errorPrefix !== undefined) {
      const ended = now();
      // One JSON line per record, in the shape of Firehose's processing-failed output.
      const lines = records.map((r) =>
        JSON.stringify({
          attemptsMade: DELIVERY_ATTEMPTS,
          arrivalTimestamp: r.arrival,
          errorCode,
          errorMessage,
          attemptEndingTimestamp: ended,
          rawData: r.data.toString('base64'),
        }),
      );
      const errorKey = `${state.errorPrefix(firstArrival, S3_FAILED)}${suffix}`;
      const errorOutput = await write(
        state,
        errorKey,
        Buffer.from(`${lines.join('\n')}\n`),
        DELIVERY_ATTEMPTS,
      );
      if (errorOutput === undefined) {
        deliveries.push({ ...base, key: errorKey, kind: 'error' });
        log(
          `[firehose] ${name}: ${records.length} record(s) written to s3://${bucket}/${errorKey} after ${errorCode}`,
        );
        return;
      }
    }
    failures.push({
      streamName: name,
      bucket,
      key,
      records: records.length,
      bytes: body.length,
      errorCode,
      errorMessage,
    });
    log(
      `[firehose] ${name}: ${records.length} record(s) (${body.length} bytes) LOST: s3://${bucket}/${key} failed with ${errorCode}: ${errorMessage}${state.errorPrefix ? ', and so did the error output' : ' (no ErrorOutputPrefix)'}`,
    );
  };

  /** Starts delivering the stream's buffer, if it holds anything. */
  const cut = (state: StreamState): void => {
    if (state.timer !== undefined) clearTimeout(state.timer);
    state.timer = undefined;
    if (state.records.length === 0) return;
    const records = state.records;
    state.records = [];
    state.bytes = 0;
    const delivery: Promise<void> = deliver(state, records).finally(() => state.inFlight.delete(delivery));
    state.inFlight.add(delivery);
  };

  /** Buffers records; a buffer is cut before it would pass SizeInMBs, and when it reaches it. */
  const accept = (state: StreamState, data: Buffer, arrival: number): void => {
    if (state.bytes > 0 && state.bytes + data.length > state.sizeLimit) cut(state);
    state.records.push({ data, arrival });
    state.bytes += data.length;
    if (state.bytes >= state.sizeLimit) {
      cut(state);
    } else if (state.timer === undefined) {
      state.timer = setTimeout(() => cut(state), state.intervalMs);
      state.timer.unref();
    }
  };

  const incoming = (state: StreamState, records: number, bytes: number) => {
    metric(state.stream.name, 'IncomingPutRequests', 1);
    metric(state.stream.name, 'IncomingRecords', records);
    metric(state.stream.name, 'IncomingBytes', bytes, 'Bytes');
  };

  const description = (state: StreamState) => {
    const s = state.stream;
    const destination = {
      RoleARN: s.roleArn ?? `arn:aws:iam::${options.placement.account}:role/firehose-local`,
      BucketARN: `arn:aws:s3:::${s.bucket}`,
      Prefix: s.prefix,
      ...(s.errorOutputPrefix === undefined ? {} : { ErrorOutputPrefix: s.errorOutputPrefix }),
      BufferingHints: { SizeInMBs: s.bufferSizeMb, IntervalInSeconds: s.bufferIntervalSeconds },
      CompressionFormat: 'UNCOMPRESSED',
      EncryptionConfiguration: { NoEncryptionConfig: 'NoEncryption' },
    };
    return {
      DeliveryStreamName: s.name,
      DeliveryStreamARN: s.arn,
      DeliveryStreamStatus: 'ACTIVE',
      DeliveryStreamType: 'DirectPut',
      DeliveryStreamEncryptionConfiguration:
        s.encryption === undefined
          ? { Status: 'DISABLED' }
          : {
              Status: 'ENABLED',
              KeyType: s.encryption.keyType,
              ...(s.encryption.keyArn === undefined ? {} : { KeyARN: s.encryption.keyArn }),
            },
      VersionId: '1',
      CreateTimestamp: state.createdAt,
      Destinations: [
        {
          DestinationId: 'destinationId-000000000001',
          S3DestinationDescription: destination,
          ExtendedS3DestinationDescription: {
            ...destination,
            ...(s.fileExtension === undefined ? {} : { FileExtension: s.fileExtension }),
          },
        },
      ],
      HasMoreDestinations: false,
    };
  };

  const operations: Readonly<Record<string, (b: Record<string, unknown>) => unknown>> = {
    PutRecord: (b) => {
      const state = streamOf(text(b, 'DeliveryStreamName', 'deliveryStreamName'));
      const data = recordData(b.Record, 'record');
      accept(state, data, now());
      incoming(state, 1, data.length);
      return { RecordId: recordId(), Encrypted: state.stream.encryption !== undefined };
    },
    PutRecordBatch: (b) => {
      const state = streamOf(text(b, 'DeliveryStreamName', 'deliveryStreamName'));
      const list = Array.isArray(b.Records) ? b.Records : [];
      if (list.length < 1 || list.length > MAX_BATCH_RECORDS) {
        throw new AwsApiError(
          'ValidationException',
          `1 validation error detected: Value at 'records' failed to satisfy constraint: Member must have length ${list.length < 1 ? 'greater than or equal to 1' : `less than or equal to ${MAX_BATCH_RECORDS}`}`,
        );
      }
      const data = list.map((r, i) => recordData(r, `records.${i + 1}.member`));
      const total = data.reduce((sum, d) => sum + d.length, 0);
      if (total > MAX_BATCH_BYTES) {
        throw new AwsApiError(
          'InvalidArgumentException',
          `Records size ${total} bytes exceeds the limit of ${MAX_BATCH_BYTES} bytes for a PutRecordBatch request.`,
        );
      }
      const arrival = now();
      let accepted = 0;
      let acceptedBytes = 0;
      const responses = data.map((d) => {
        const fault = faults.take(`PutRecordBatchRecord:${state.stream.name}`);
        if (fault) return { ErrorCode: fault.error, ErrorMessage: fault.message };
        accept(state, d, arrival);
        accepted++;
        acceptedBytes += d.length;
        return { RecordId: recordId() };
      });
      incoming(state, accepted, acceptedBytes);
      return {
        FailedPutCount: data.length - accepted,
        Encrypted: state.stream.encryption !== undefined,
        RequestResponses: responses,
      };
    },
    DescribeDeliveryStream: (b) => ({
      DeliveryStreamDescription: description(streamOf(text(b, 'DeliveryStreamName', 'deliveryStreamName'))),
    }),
    ListDeliveryStreams: (b) => {
      const limit = typeof b.Limit === 'number' ? b.Limit : 10;
      if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
        throw new AwsApiError(
          'ValidationException',
          `1 validation error detected: Value '${String(b.Limit)}' at 'limit' failed to satisfy constraint: Member must have value between 1 and 10000`,
        );
      }
      // Every local stream is a direct PUT one: asking for another type lists none.
      const type = typeof b.DeliveryStreamType === 'string' ? b.DeliveryStreamType : 'DirectPut';
      const start =
        typeof b.ExclusiveStartDeliveryStreamName === 'string' ? b.ExclusiveStartDeliveryStreamName : '';
      const names = type === 'DirectPut' ? [...states.keys()].sort().filter((n) => n > start) : [];
      return { DeliveryStreamNames: names.slice(0, limit), HasMoreDeliveryStreams: names.length > limit };
    },
  };

  let accepting = true;
  const server = createServer((req, res) => {
    readBody(req)
      .then((raw) => {
        const target = String(req.headers['x-amz-target'] ?? '');
        const operation = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : '';
        const handler = operations[operation];
        if (!handler)
          throw new AwsApiError(
            'UnknownOperationException',
            `The local Firehose does not implement ${target}`,
          );
        let body: Record<string, unknown>;
        try {
          body = raw.length === 0 ? {} : (JSON.parse(raw.toString('utf8')) as Record<string, unknown>);
        } catch {
          throw new AwsApiError('SerializationException', 'The request body is not valid JSON.');
        }
        const stream = typeof body.DeliveryStreamName === 'string' ? body.DeliveryStreamName : undefined;
        const fault = faults.take(stream === undefined ? operation : `${operation}:${stream}`);
        if (fault) throw new AwsApiError(fault.error, fault.message, fault.statusCode);
        // A record accepted after stop's last flush would be lost.
        if (!accepting)
          throw new AwsApiError('ServiceUnavailableException', 'The local Firehose is stopping.', 503);
        sendAwsJson(res, 200, handler(body));
      })
      .catch((e: unknown) =>
        sendAwsJsonError(
          res,
          e instanceof AwsApiError ? e : new AwsApiError('InternalFailure', 'Internal error', 500),
        ),
      );
  });
  const { endpoint, port, close } = await listenLocal(server, options.port);

  const selected = (streamName?: string): StreamState[] => {
    if (streamName === undefined) return [...states.values()];
    const state = states.get(streamName);
    if (state === undefined)
      throw new Error(
        `no Firehose stream named ${streamName}; the streams are ${[...states.keys()].join(', ') || 'none'}`,
      );
    return [state];
  };
  const flush = async (streamName?: string): Promise<void> => {
    const targets = selected(streamName);
    for (const state of targets) cut(state);
    for (const state of targets) {
      while (state.inFlight.size > 0) await Promise.all([...state.inFlight]);
    }
  };
  const matches = (streamName?: string) => (d: { streamName: string }) =>
    streamName === undefined || d.streamName === streamName;
  return {
    endpoint,
    port,
    faults,
    flush,
    delivered: (streamName) => deliveries.filter(matches(streamName)),
    failures: (streamName) => failures.filter(matches(streamName)),
    buffered: (streamName) => selected(streamName).reduce((n, s) => n + s.records.length, 0),
    stop: async () => {
      accepting = false;
      try {
        await flush();
      } finally {
        await close();
        s3.destroy();
      }
    },
  };
}
