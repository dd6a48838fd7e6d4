/**
 * `npm run bench -- predict [--quick]`: `POST /predict/flight-delay` on the local cloud, with a
 * model trained and deployed by the deploy state machine, measured as feature-read is:
 * - the handler's own cost: the bundled handler in a process of its own with the API emulator's
 *   real event, against what it cannot avoid in the same rounds: raw BatchGetItem of the same keys
 *   and InvokeEndpoint of the same encoded row, then keeping the prediction (Firehose PutRecord and
 *   DynamoDB PutItem side by side, as the handler keeps it);
 * - a direct invoke of the warm worker, and through the local API: the split;
 * - throughput through the local API with 1, 8 and 32 concurrent clients (autocannon, loopback).
 * It also writes the per-prediction figures `mlops cost` reads (bench/results.json).
 */

import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SFNClient } from '@aws-sdk/client-sfn';
import autocannon from 'autocannon';
import { resourceNames } from '../infra/demo/seed.ts';
import { localS3Client } from '../infra/local/clients.ts';
import { LOCAL_CREDENTIALS } from '../infra/local/engines/credentials.ts';
import { signedFetch, signedRequest } from '../infra/local/sigv4.ts';
import { UseCaseSchema } from '../shared/config/use-case.ts';
import { endpointNameOf } from '../shared/deployment/names.ts';
import { onlineKey } from '../shared/features/online-store.ts';
import { type Encoding, featureEncoder } from '../shared/pipeline/encoding.ts';
import { listKeys, parseS3Uri, readText } from '../shared/s3.ts';
import { predictionLogPrefix } from '../shared/serving/prediction-log.ts';
import { demoRows, endOf, predictStatistic, registerModel, startDeploy } from '../test/support/deployment.ts';
import flightDelay from '../use-cases/flight-delay.ts';
import { benchArgs, type Figure, figure, median, percentile, progress, report, timeMs } from './harness.ts';
import {
  benchCloud,
  captureInvocations,
  invokedFunction,
  measureInProcess,
  perRound,
  timeDirectInvokes,
} from './support/cloud.ts';

const BENCH = 'predict';
const args = benchArgs();
const samples = args.quick ? 30 : 300;
const rounds = args.quick ? 1 : 5;
const roundMs = args.quick ? 300 : 2000;
const loadSeconds = args.quick ? 2 : 10;

const useCase = UseCaseSchema.parse(flightDelay);
const cloud = await benchCloud();
const region = cloud.assembly.placement.region;
const clients = { region, credentials: LOCAL_CREDENTIALS };
const sm = new SageMakerClient({ endpoint: cloud.endpoints.sagemaker, ...clients });
const sfn = new SFNClient({ endpoint: cloud.endpoints.stepfunctions, ...clients });
const s3 = localS3Client(cloud.endpoints.s3, region);
try {
  const captured = captureInvocations(cloud);
  const airports = ['ORD', 'DFW', 'ATL', 'LAX', 'PHX'];
  const datasets = cloud.assembly.buckets.find((b) => b.logicalId.startsWith('Datasets'))?.name ?? '';
  const table = cloud.assembly.tables.find((t) => t.logicalId.startsWith('OnlineFeatures'))?.name ?? '';
  const served = cloud.assembly.tables.find((t) => t.logicalId.startsWith('ServedRequests'))?.name ?? '';
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
  progress(`model ${model.modelPackageArn} deployed`);
  for (const airport of airports) {
    const res = await signedFetch(`${cloud.apiEndpoint}/v1/features/airport-delays/${airport}`, 'PUT', {
      eventTime: new Date().toISOString(),
      values: { delayRate2h: 0.25, flights2h: 20 },
    });
    if (res.status !== 200) throw new Error(`PUT features answered ${res.status}`);
  }
  const request = (i: number) => {
    const airport = airports[i % airports.length] ?? 'ORD';
    return {
      entities: { 'airport-delays': airport },
      request: { hour: i % 24, weekday: 1 + (i % 7), distance: 300 + i, origin: airport, destination: 'DFW' },
    };
  };
  const url = `${cloud.apiEndpoint}/v1/predict/${useCase.name}`;
  let lastLine = '';
  const api = async (i: number) => {
    const res = await signedFetch(url, 'POST', request(i));
    if (res.status !== 200) throw new Error(`predict answered ${res.status}: ${await res.text()}`);
    await res.arrayBuffer();
  };
  for (let i = 0; i < 30; i++) await api(i);
  const fnName = invokedFunction(cloud, captured, /Predict/i);
  const events = captured(fnName).slice(0, 20);
  captured.stop();

  // The raw operations, for the first request's row, as the handler encodes it.
  const encode = featureEncoder(JSON.parse(await readText(s3, parseS3Uri(model.encodingUri))) as Encoding);
  const first = request(0);
  const body = encode({ delayRate2h: 0.25, flights2h: 20, ...first.request });
  const stream = `mlops-dev-${useCase.name}-predictions`;
  // A real prediction-log record, as Firehose delivered it, for its size and for the raw keep.
  await cloud.firehose.flush();
  const logBucket = resourceNames(cloud).predictionLogs;
  const [logKey] = await listKeys(s3, logBucket, predictionLogPrefix(useCase.name));
  if (!logKey) throw new Error('no prediction-log object delivered');
  const logLines = (await readText(s3, { bucket: logBucket, key: logKey })).trim().split('\n');
  lastLine = logLines[0] ?? '';
  const logRecordBytes = logLines.map((l) => Buffer.byteLength(l) + 1);
  const rawArgs = {
    table,
    keys: [{ pk: onlineKey('airport-delays', first.entities['airport-delays']) }],
    endpointName: endpointNameOf('dev', useCase.name),
    body,
  };

  await timeDirectInvokes(cloud, fnName, events, 30);
  const apiTimes: number[] = [];
  const directTimes: number[] = [];
  for (let i = 0; i < samples; i++) {
    apiTimes.push(await timeMs(() => api(i)));
    directTimes.push(...(await timeDirectInvokes(cloud, fnName, [events[i % events.length]], 1)));
  }
  progress(`API and direct invokes: ${samples} interleaved samples each`);

  const bare = await measureInProcess(
    cloud,
    fnName,
    events,
    { kind: 'predict', args: rawArgs },
    { rounds, timeMs: roundMs },
  );
  const kept = await measureInProcess(
    cloud,
    fnName,
    events,
    { kind: 'predict', args: { ...rawArgs, keep: { stream, servedTable: served, line: lastLine } } },
    { rounds, timeMs: roundMs },
  );
  const ratio = (r: typeof bare) =>
    perRound(r, 'handler', 'p50').map((h, i) => h / (perRound(r, 'raw', 'p50')[i] ?? Number.NaN));
  const handlerP50 = median([...perRound(bare, 'handler', 'p50'), ...perRound(kept, 'handler', 'p50')]);

  // Before the loads: the model latency of sequential calls, as the cost model's per-prediction figure.
  const modelP50 = predictStatistic(cloud, useCase.name, 'ModelLatency', 'p50');

  // Throughput through the local API: the same signed request repeated (SigV4 stays valid for
  // 5 minutes; each call gets its own requestId from the Lambda context).
  const payload = JSON.stringify(first);
  const signed = await signedRequest(url, 'POST', payload);
  const headers = Object.fromEntries(signed.init.headers as [string, string][]);
  const throughput: {
    connections: number;
    rps: number;
    p50: number;
    p99: number;
    errors: number;
    non2xx: number;
  }[] = [];
  for (const connections of [1, 8, 32]) {
    // Unmeasured first: the local Lambda runtime starts its extra workers (cold starts) here.
    await autocannon({
      url,
      method: 'POST',
      headers,
      body: payload,
      connections,
      duration: args.quick ? 1 : 3,
    });
    const result = await autocannon({
      url,
      method: 'POST',
      headers,
      body: payload,
      connections,
      duration: loadSeconds,
    });
    throughput.push({
      connections,
      rps: result.requests.average,
      p50: result.latency.p50,
      p99: result.latency.p99,
      errors: result.errors + result.timeouts,
      non2xx: result.non2xx,
    });
    progress(
      `${connections} client(s): ${result.requests.average} req/s, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, ${result.errors} errors, ${result.non2xx} non-2xx`,
    );
  }

  const figures: Figure[] = [
    figure(
      BENCH,
      'handler-ratio-p50',
      "handler / raw BatchGetItem + InvokeEndpoint, p50 (the issue's definition)",
      'x',
      ratio(bare),
      {
        target: { op: '<=', value: 1.3 },
        note: `the handler also keeps every prediction (PutRecord ∥ PutItem), which the raw side here does not; ${bare.rounds.length} alternating rounds of ${roundMs} ms per side; DynamoDB engine ${cloud.dynamodbEngine}`,
      },
    ),
    figure(
      BENCH,
      'handler-ratio-kept-p50',
      'handler / raw BatchGetItem + InvokeEndpoint + keeping the prediction (PutRecord ∥ PutItem), p50',
      'x',
      ratio(kept),
      { note: "raw = every call the handler must make; the ratio is the handler's own overhead" },
    ),
    figure(
      BENCH,
      'handler-p50-ms',
      'handler in-process, p50 (per round)',
      'ms',
      perRound(kept, 'handler', 'p50'),
    ),
    figure(
      BENCH,
      'handler-p99-ms',
      'handler in-process, p99 (per round)',
      'ms',
      perRound(kept, 'handler', 'p99'),
    ),
    figure(
      BENCH,
      'raw-p50-ms',
      'raw operations with the prediction kept, p50 (per round)',
      'ms',
      perRound(kept, 'raw', 'p50'),
    ),
    figure(BENCH, 'api-p50-ms', 'POST /predict through the local API, p50', 'ms', percentile(apiTimes, 50)),
    figure(BENCH, 'api-p99-ms', 'POST /predict through the local API, p99', 'ms', percentile(apiTimes, 99)),
    figure(
      BENCH,
      'split-api-emulator-ms',
      'API path split: signing + API Gateway emulator (API − direct invoke, p50)',
      'ms',
      percentile(apiTimes, 50) - percentile(directTimes, 50),
    ),
    figure(
      BENCH,
      'split-lambda-hop-ms',
      'API path split, estimate: local Lambda hop (direct invoke p50 − in-process handler p50, two processes)',
      'ms',
      percentile(directTimes, 50) - handlerP50,
    ),
    ...throughput.flatMap((t) => [
      figure(
        BENCH,
        `rps-${t.connections}`,
        `requests/s through the local API, ${t.connections} concurrent client(s), ${loadSeconds} s`,
        'req/s',
        t.rps,
        {
          note: `p50 ${t.p50} ms, p99 ${t.p99} ms, ${t.errors} errors, ${t.non2xx} non-2xx`,
        },
      ),
    ]),
    figure(
      BENCH,
      'load-errors',
      'errors and non-2xx answers over the three loads',
      'count',
      throughput.reduce((s, t) => s + t.errors + t.non2xx, 0),
      {
        target: { op: '<=', value: 0 },
      },
    ),
    // What `mlops cost` reads (shared/serving/cost.ts BENCHMARK_FIGURES).
    figure(
      BENCH,
      'lambda-duration-ms',
      'predict handler duration per prediction (in-process p50)',
      'ms',
      handlerP50,
    ),
    figure(
      BENCH,
      'model-latency-ms',
      "endpoint model latency per prediction (the handler's ModelLatency p50)",
      'ms',
      modelP50,
    ),
    figure(BENCH, 'payload-bytes', 'request body bytes', 'bytes', Buffer.byteLength(payload)),
    figure(BENCH, 'log-record-bytes', 'prediction-log record bytes, as delivered', 'bytes', logRecordBytes),
  ];
  report(figures);
} finally {
  s3.destroy();
  sm.destroy();
  sfn.destroy();
  await cloud.stop();
}
