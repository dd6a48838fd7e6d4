/**
 * `npm run bench`: measurements that tests must not make (timing asserts are banned there).
 * Every figure is measured in this run; ratios compare ours against the raw operation in the same
 * run, on the same machine, so a noisy shared machine moves both sides.
 *
 *   npm run bench                 every benchmark
 *   npm run bench -- startup      `mlops local up` to ready, median of 3
 *   npm run bench -- features     feature ingest/read through the local API vs raw DynamoDB GetItem
 *   npm run bench -- predict      POST /predict through the local API vs raw BatchGetItem +
 *                                 InvokeEndpoint on the same emulators
 *   npm run bench -- partitions   a year of daily label partitions from s3rver, bounded concurrency
 *                                 vs sequential (`--days <n>`, default 365)
 *   npm run bench -- drift        KS + PSI + Wasserstein on 10^6 vs 10^6 values, ours vs scipy
 *   npm run bench -- monitor      one monitoring check over 10^6 logged predictions: rows/s, peak RSS
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { FirehoseClient, PutRecordCommand } from '@aws-sdk/client-firehose';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { SFNClient } from '@aws-sdk/client-sfn';
import { BatchGetCommand, DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { PROJECT_ROOT, synthApp } from '../../infra/cli/local.ts';
import { localS3Client } from '../../infra/local/clients.ts';
import { startLocalCloud } from '../../infra/local/cloud.ts';
import { LOCAL_CREDENTIALS } from '../../infra/local/engines/credentials.ts';
import { startS3 } from '../../infra/local/engines/s3.ts';
import { signedFetch } from '../../infra/local/sigv4.ts';
import { UseCaseSchema } from '../../shared/config/use-case.ts';
import { endpointNameOf } from '../../shared/deployment/names.ts';
import {
  addDays,
  PARTITION_READ_CONCURRENCY,
  readDailyPartitions,
} from '../../shared/features/offline-store.ts';
import { onlineKey } from '../../shared/features/online-store.ts';
import {
  type LabelInput,
  labelContract,
  labelPrefix,
  type StoredLabelEvent,
  storedLabelSchema,
} from '../../shared/labels/schema.ts';
import { readLabels, validateLabels, writeLabels } from '../../shared/labels/store.ts';
import { type Encoding, featureEncoder } from '../../shared/pipeline/encoding.ts';
import { parseS3Uri, readText } from '../../shared/s3.ts';
import flightDelay from '../../use-cases/flight-delay.ts';
import { demoRows, endOf, predictStatistic, registerModel, startDeploy } from '../support/deployment.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** Percentile of a sample (nearest rank). */
function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

function median(values: readonly number[]): number {
  return percentile(values, 50);
}

const fmt = (ms: number) => `${ms.toFixed(2)} ms`;

async function time(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

/** `mlops local up --once` three times, each in a fresh process, in memory. */
function benchStartup(): void {
  const runs: {
    wall: number;
    synth: number;
    engines: number;
    dynamodb: number;
    provision: number;
    services: number;
  }[] = [];
  for (let i = 0; i < 3; i++) {
    const start = performance.now();
    const run = spawnSync(
      join(PROJECT_ROOT, 'node_modules', '.bin', 'tsx'),
      ['infra/cli/main.ts', 'local', 'up', '--once', '--json', '--in-memory'],
      { cwd: PROJECT_ROOT, encoding: 'utf8' },
    );
    const wall = performance.now() - start;
    if (run.status !== 0) throw new Error(`mlops local up failed:\n${run.stderr}`);
    const line = run.stdout
      .trim()
      .split('\n')
      .find((l) => l.startsWith('{"ready"'));
    if (!line) throw new Error(`no readiness line in:\n${run.stdout}`);
    const t = (JSON.parse(line) as { timings: Record<string, number> }).timings;
    runs.push({
      wall,
      synth: t.synthMs ?? 0,
      engines: t.enginesMs ?? 0,
      dynamodb: t.dynamodbMs ?? 0,
      provision: t.provisionMs ?? 0,
      services: t.servicesMs ?? 0,
    });
  }
  const m = (k: keyof (typeof runs)[number]) => median(runs.map((r) => r[k]));
  console.log('\n== mlops local up → ready (3 runs, fresh process each, in memory) ==');
  console.log(`runs (wall): ${runs.map((r) => fmt(r.wall)).join(', ')}`);
  console.log(`median wall time to ready:  ${fmt(m('wall'))}`);
  console.log(
    `  synth (cdk synth):        ${fmt(m('synth'))}  (${((100 * m('synth')) / m('wall')).toFixed(0)}%)`,
  );
  console.log(
    `  engines (DynamoDB Local ∥ s3rver): ${fmt(m('engines'))}, of which DynamoDB Local ${fmt(m('dynamodb'))}`,
  );
  console.log(`  provisioning tables+buckets: ${fmt(m('provision'))}`);
  console.log(`  services (Lambda, SFN, SageMaker, SNS, API): ${fmt(m('services'))}`);
  console.log('  the rest is Node/tsx start-up and loading the CLI');
}

/** Single-record ingest and online reads through the local API, against raw GetItem. */
async function benchFeatures(samples = 300): Promise<void> {
  const { outdir } = synthApp('dev', mkdtempSync(join(tmpdir(), 'bench-app-')));
  const cloud = await startLocalCloud({ cdkOut: outdir, log: () => {} });
  try {
    const table = cloud.assembly.tables.find((t) => t.logicalId.startsWith('OnlineFeatures'))?.name ?? '';
    const doc = DynamoDBDocumentClient.from(
      new DynamoDBClient({
        endpoint: cloud.endpoints.dynamodb,
        region: 'us-east-1',
        credentials: LOCAL_CREDENTIALS,
      }),
    );
    const url = (entity: string) => `${cloud.apiEndpoint}/v1/features/airport-delays/${entity}`;
    const entities = Array.from({ length: 20 }, (_, i) => `AP${i}`);
    const base = Date.now() - 3_600_000;
    const put = async (i: number) => {
      const res = await signedFetch(url(entities[i % entities.length] ?? 'AP0'), 'PUT', {
        eventTime: new Date(base + i * 1000).toISOString(),
        values: { delayRate2h: (i % 100) / 100, flights2h: i % 50 },
      });
      if (res.status !== 200) throw new Error(`PUT answered ${res.status}: ${await res.text()}`);
      await res.arrayBuffer();
    };
    const get = async (i: number) => {
      const res = await signedFetch(url(entities[i % entities.length] ?? 'AP0'), 'GET');
      if (res.status !== 200) throw new Error(`GET answered ${res.status}`);
      await res.arrayBuffer();
    };
    const raw = async (i: number) => {
      const out = await doc.send(
        new GetCommand({
          TableName: table,
          Key: { pk: onlineKey('airport-delays', entities[i % entities.length] ?? 'AP0') },
        }),
      );
      if (!out.Item) throw new Error('raw GetItem found nothing');
    };
    // Warm-up: cold starts and connection pools are not what is measured.
    for (let i = 0; i < 30; i++) {
      await put(i);
      await get(i);
      await raw(i);
    }
    const putTimes: number[] = [];
    const getTimes: number[] = [];
    const rawTimes: number[] = [];
    // Interleaved, so drift in machine load hits all three alike.
    for (let i = 0; i < samples; i++) {
      putTimes.push(await time(() => put(1000 + i)));
      getTimes.push(await time(() => get(i)));
      rawTimes.push(await time(() => raw(i)));
    }
    const row = (name: string, t: number[]) =>
      console.log(
        `${name.padEnd(44)} p50 ${fmt(percentile(t, 50)).padStart(10)}   p99 ${fmt(percentile(t, 99)).padStart(10)}`,
      );
    console.log(
      `\n== feature store through the local API (${samples} interleaved samples each, sequential) ==`,
    );
    row('PUT /features/{group}/{entityId} (ingest)', putTimes);
    row('GET /features/{group}/{entityId} (online read)', getTimes);
    row('raw DynamoDB GetItem, same table', rawTimes);
    const r50 = percentile(getTimes, 50) / percentile(rawTimes, 50);
    const r99 = percentile(getTimes, 99) / percentile(rawTimes, 99);
    console.log(`online read / raw GetItem: ${r50.toFixed(1)}x at p50, ${r99.toFixed(1)}x at p99`);
    console.log(
      '(the API path adds SigV4 verification, the local API Gateway, a Lambda worker and zod validation)',
    );
    doc.destroy();
  } finally {
    await cloud.stop();
  }
}

/**
 * Reading daily label partitions (`labels/<useCase>/date=<day>/<hash>.jsonl`, one object of 40
 * labels per day) from s3rver: readDailyPartitions at its default concurrency against
 * `concurrency: 1`, the sequential reading it replaced. Labels are written through writeLabels.
 */
async function benchPartitions(days = 365, rowsPerDay = 40): Promise<void> {
  const s3 = await startS3();
  const client = localS3Client(s3.endpoint, 'us-east-1');
  try {
    const bucket = 'bench-datasets';
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    const contract = labelContract(UseCaseSchema.parse(flightDelay));
    const from = '2001-01-01';
    const to = addDays(from, days - 1);
    // The clock is in 2002 (or after the last day), so no 2001 event time is "in the future".
    const nowMs = Math.max(
      Date.parse('2002-01-15T12:00:00.000Z'),
      Date.parse(`${to}T00:00:00.000Z`) + 86_400_000,
    );
    const now = () => nowMs;
    const airports = ['ATL', 'ORD', 'DFW', 'LAX', 'DEN', 'PHX', 'IAH', 'LAS'];
    const inputs: LabelInput[] = [];
    for (let d = 0; d < days; d++) {
      const day = addDays(from, d);
      const weekday = ((new Date(`${day}T00:00:00.000Z`).getUTCDay() + 6) % 7) + 1;
      for (let i = 0; i < rowsPerDay; i++) {
        const eventTime = new Date(Date.parse(`${day}T00:00:00.000Z`) + i * 35 * 60_000).toISOString();
        const origin = airports[i % airports.length] ?? 'ATL';
        inputs.push({
          entities: { 'airport-delays': origin },
          eventTime,
          label: (d + i) % 3 === 0 ? 1 : 0,
          request: {
            hour: new Date(eventTime).getUTCHours(),
            weekday,
            distance: 200 + ((d * 37 + i * 11) % 2500),
            origin,
            destination: airports[(i + 3) % airports.length] ?? 'ORD',
          },
        });
      }
    }
    const { accepted, rejected } = validateLabels(contract, inputs, now);
    if (rejected.length > 0) throw new Error(`labels rejected: ${JSON.stringify(rejected.slice(0, 3))}`);
    const written = await time(async () => {
      const results = await writeLabels({ client, bucket, now }, contract, accepted);
      const fresh = results.filter((r) => r.outcome === 'written').length;
      if (fresh !== accepted.length) throw new Error(`wrote ${fresh} of ${accepted.length} labels`);
    });
    const expected = accepted.length;
    const cutoff = new Date(nowMs).toISOString();
    const onReject = (r: unknown) => {
      throw new Error(`stored label rejected: ${JSON.stringify(r)}`);
    };

    // readLabels has no concurrency option: the same read (its decode, filter, de-duplication and
    // order) through readDailyPartitions, once sequential and once at the default.
    const schema = storedLabelSchema(contract);
    const read = async (concurrency: number | undefined): Promise<number> => {
      let rows = 0;
      for await (const _ of readDailyPartitions<StoredLabelEvent>(
        client,
        bucket,
        labelPrefix(contract.useCase),
        from,
        to,
        {
          decode: (text) => schema.parse(JSON.parse(text)) as StoredLabelEvent,
          keep: (l) => l.ingestedAt <= cutoff,
          idOf: (l) => l.labelId,
          compare: (a, b) =>
            a.eventTime.localeCompare(b.eventTime) ||
            a.labelId.localeCompare(b.labelId) ||
            a.ingestedAt.localeCompare(b.ingestedAt),
          concurrency,
        },
      ))
        rows++;
      return rows;
    };
    // Warm-up, and proof that the real reader sees every label.
    let viaReadLabels = 0;
    for await (const _ of readLabels({ client, bucket, contract, from, to, cutoff, onReject }))
      viaReadLabels++;
    if (viaReadLabels !== expected) throw new Error(`readLabels read ${viaReadLabels} of ${expected} labels`);

    const sequential: number[] = [];
    const bounded: number[] = [];
    const counts = { sequential: new Set<number>(), bounded: new Set<number>() };
    const measure = async (kind: 'sequential' | 'bounded') => {
      let rows = 0;
      const ms = await time(async () => {
        rows = await read(kind === 'sequential' ? 1 : undefined);
      });
      (kind === 'sequential' ? sequential : bounded).push(ms / 1000);
      counts[kind].add(rows);
    };
    // Alternating, and which goes first alternates too, so drift in load hits both alike.
    for (let i = 0; i < 3; i++) {
      if (i % 2 === 0) {
        await measure('sequential');
        await measure('bounded');
      } else {
        await measure('bounded');
        await measure('sequential');
      }
    }
    for (const [kind, seen] of Object.entries(counts)) {
      if (seen.size !== 1 || !seen.has(expected)) {
        throw new Error(`${kind} read ${[...seen].join('/')} rows, expected ${expected}`);
      }
    }
    const secs = (s: number) => `${s.toFixed(2)} s`;
    const row = (name: string, t: number[]) =>
      console.log(
        `${name.padEnd(34)} median ${secs(median(t)).padStart(8)}   ${(days / median(t)).toFixed(0).padStart(5)} days/s   runs ${t.map(secs).join(', ')}`,
      );
    console.log(
      `\n== daily label partitions from s3rver (${days} days x ${rowsPerDay} labels, 3 alternating runs each) ==`,
    );
    console.log(
      `written through writeLabels in ${secs(written / 1000)}; every read returned ${expected} labels`,
    );
    row('concurrency 1 (sequential)', sequential);
    row(`concurrency ${PARTITION_READ_CONCURRENCY} (default)`, bounded);
    console.log(
      `sequential / default (median seconds): ${(median(sequential) / median(bounded)).toFixed(1)}x`,
    );
    console.log(
      '(s3rver runs in this process, and its listings readdir/stat every day folder synchronously, blocking the\n' +
        ' event loop; concurrency can only overlap the rest, so this ratio says more about s3rver than about S3)',
    );
  } finally {
    client.destroy();
    await s3.stop();
  }
}

/**
 * `POST /predict/flight-delay` through the local API (SigV4, API emulator, Lambda worker, the
 * predict function: BatchGetItem, encode, InvokeEndpoint) against what it cannot avoid, the raw
 * BatchGetItem of the same keys followed by a raw InvokeEndpoint of the same encoded row.
 */
async function benchPredict(samples = 300): Promise<void> {
  const { outdir } = synthApp('dev', mkdtempSync(join(tmpdir(), 'bench-app-')));
  const cloud = await startLocalCloud({ cdkOut: outdir, timeScale: 0.01, log: () => {} });
  const region = cloud.assembly.placement.region;
  const sm = new SageMakerClient({
    endpoint: cloud.endpoints.sagemaker,
    region,
    credentials: LOCAL_CREDENTIALS,
  });
  const runtime = new SageMakerRuntimeClient({
    endpoint: cloud.endpoints.sagemakerRuntime,
    region,
    credentials: LOCAL_CREDENTIALS,
  });
  const sfn = new SFNClient({
    endpoint: cloud.endpoints.stepfunctions,
    region,
    credentials: LOCAL_CREDENTIALS,
  });
  const s3 = localS3Client(cloud.endpoints.s3, region);
  const doc = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: cloud.endpoints.dynamodb, region, credentials: LOCAL_CREDENTIALS }),
  );
  const firehose = new FirehoseClient({
    endpoint: cloud.endpoints.firehose,
    region,
    credentials: LOCAL_CREDENTIALS,
  });
  try {
    const useCase = UseCaseSchema.parse(flightDelay);
    const served = cloud.assembly.tables.find((t) => t.logicalId.startsWith('ServedRequests'))?.name ?? '';
    const stream = `mlops-dev-${useCase.name}-predictions`;
    const airports = ['ORD', 'DFW', 'ATL', 'LAX', 'PHX'];
    const datasets = cloud.assembly.buckets.find((b) => b.logicalId.startsWith('Datasets'))?.name ?? '';
    const table = cloud.assembly.tables.find((t) => t.logicalId.startsWith('OnlineFeatures'))?.name ?? '';
    const model = await registerModel(cloud, { sm, s3 }, useCase, {
      name: 'bench-predict',
      seed: 7,
      bucket: datasets,
      rows: demoRows(7, 400, airports),
    });
    const end = await endOf(
      sfn,
      await startDeploy(cloud, sfn, 'dev', useCase.name, {
        modelPackageArn: model.modelPackageArn,
        trigger: 'pipeline',
        actor: 'bench',
        reason: 'predict benchmark',
      }),
    );
    if (end.output?.outcome !== 'deployed') throw new Error(`deploy: ${JSON.stringify(end)}`);
    for (const airport of airports) {
      const res = await signedFetch(`${cloud.apiEndpoint}/v1/features/airport-delays/${airport}`, 'PUT', {
        eventTime: new Date().toISOString(),
        values: { delayRate2h: 0.25, flights2h: 20 },
      });
      if (res.status !== 200) throw new Error(`PUT features answered ${res.status}`);
    }
    const endpointName = endpointNameOf('dev', useCase.name);
    const encode = featureEncoder(JSON.parse(await readText(s3, parseS3Uri(model.encodingUri))) as Encoding);
    const request = (i: number) => {
      const airport = airports[i % airports.length] ?? 'ORD';
      return {
        entities: { 'airport-delays': airport },
        request: {
          hour: i % 24,
          weekday: 1 + (i % 7),
          distance: 300 + i,
          origin: airport,
          destination: 'DFW',
        },
      };
    };
    const api = async (i: number) => {
      const res = await signedFetch(`${cloud.apiEndpoint}/v1/predict/${useCase.name}`, 'POST', request(i));
      if (res.status !== 200) throw new Error(`predict answered ${res.status}: ${await res.text()}`);
      await res.arrayBuffer();
    };
    const raw = async (i: number) => {
      const r = request(i);
      const airport = r.entities['airport-delays'];
      const out = await doc.send(
        new BatchGetCommand({
          RequestItems: {
            [table]: { Keys: [{ pk: onlineKey('airport-delays', airport) }], ConsistentRead: true },
          },
        }),
      );
      const values = (out.Responses?.[table]?.[0]?.values ?? {}) as Record<string, number>;
      await runtime.send(
        new InvokeEndpointCommand({
          EndpointName: endpointName,
          ContentType: 'text/csv',
          Body: Buffer.from(encode({ ...values, ...r.request })),
        }),
      );
    };
    // What keeping a prediction costs on top: one PutRecord and one PutItem, concurrently.
    const rawKept = async (i: number) => {
      await raw(i);
      const line = JSON.stringify({ requestId: `bench-${i}-${Math.random()}`, ...request(i), score: 0.5 });
      await Promise.all([
        firehose.send(
          new PutRecordCommand({ DeliveryStreamName: stream, Record: { Data: Buffer.from(`${line}\n`) } }),
        ),
        doc.send(
          new PutCommand({ TableName: served, Item: { requestKey: `bench#${i}#${Math.random()}`, line } }),
        ),
      ]);
    };
    for (let i = 0; i < 30; i++) {
      await api(i);
      await raw(i);
      await rawKept(i);
    }
    const apiTimes: number[] = [];
    const rawTimes: number[] = [];
    const keptTimes: number[] = [];
    for (let i = 0; i < samples; i++) {
      apiTimes.push(await time(() => api(i)));
      rawTimes.push(await time(() => raw(i)));
      keptTimes.push(await time(() => rawKept(i)));
    }
    const row = (name: string, t: number[]) =>
      console.log(
        `${name.padEnd(52)} p50 ${fmt(percentile(t, 50)).padStart(10)}   p99 ${fmt(percentile(t, 99)).padStart(10)}`,
      );
    console.log(`\n== predict through the local API (${samples} interleaved samples each, sequential) ==`);
    row('POST /predict/{useCase}', apiTimes);
    row('raw BatchGetItem + InvokeEndpoint, same emulators', rawTimes);
    row('raw, then PutRecord + PutItem (the prediction kept)', keptTimes);
    const r50 = percentile(apiTimes, 50) / percentile(rawTimes, 50);
    const r99 = percentile(apiTimes, 99) / percentile(rawTimes, 99);
    console.log(`predict / raw: ${r50.toFixed(1)}x at p50, ${r99.toFixed(1)}x at p99`);
    const k50 = percentile(apiTimes, 50) / percentile(keptTimes, 50);
    const k99 = percentile(apiTimes, 99) / percentile(keptTimes, 99);
    console.log(
      `predict / raw with the prediction kept: ${k50.toFixed(1)}x at p50, ${k99.toFixed(1)}x at p99`,
    );
    // The handler's own split, from its EMF metrics in the local CloudWatch (every call of this run).
    const handlerSplit = ['FeaturesLatency', 'ModelLatency', 'KeepLatency', 'PredictLatency'].map(
      (m) =>
        `${m} p50 ${fmt(predictStatistic(cloud, useCase.name, m, 'p50'))} p99 ${fmt(predictStatistic(cloud, useCase.name, m, 'p99'))}`,
    );
    console.log(`inside the handler: ${handlerSplit.join('; ')}`);
    console.log(
      '(the API path adds SigV4 verification, the local API Gateway, a Lambda worker, zod validation and the EMF line)',
    );
  } finally {
    firehose.destroy();
    doc.destroy();
    s3.destroy();
    sm.destroy();
    runtime.destroy();
    sfn.destroy();
    await cloud.stop();
  }
}

const args = process.argv.slice(2);
const daysAt = args.indexOf('--days');
const days = daysAt === -1 ? 365 : Number(args[daysAt + 1]);
if (!Number.isInteger(days) || days < 1) throw new Error('--days takes a whole number of days, at least 1');
const which = args.find((a, i) => !a.startsWith('--') && !(daysAt !== -1 && i === daysAt + 1)) ?? 'all';
if (which === 'all' || which === 'startup') benchStartup();
if (which === 'all' || which === 'features') await benchFeatures();
if (which === 'all' || which === 'predict') await benchPredict();
if (which === 'all' || which === 'partitions') await benchPartitions(days);
// Each in its own process: its timings and its peak RSS are its own.
for (const name of ['drift', 'monitor'] as const) {
  if (which !== 'all' && which !== name) continue;
  const passed = args.filter((a) => a !== name);
  const run = spawnSync('npx', ['tsx', join(PROJECT_ROOT, 'test', 'bench', `${name}.ts`), ...passed], {
    stdio: 'inherit',
  });
  if (run.status !== 0) process.exitCode = 1;
}
