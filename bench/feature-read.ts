/**
 * `npm run bench -- feature-read [--quick]`: `GET /features/{group}/{entityId}` (the demo's
 * airport-delays group), measured three ways in one run on the local cloud:
 * - the handler's own cost: the bundled handler from cdk.out called in a process of its own with
 *   the real event the API emulator built, against raw GetItem of the same key on the same table,
 *   alternating rounds (tinybench): the ratio is what the handler adds to the read it must make;
 * - a direct invoke of the function's warm worker (the local Lambda hop plus the handler);
 * - through the local API (SigV4 signing and verification, the API Gateway emulator, the hop).
 * The split of the API path is the difference of their medians.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { LOCAL_CREDENTIALS } from '../infra/local/engines/credentials.ts';
import { signedFetch } from '../infra/local/sigv4.ts';
import { onlineKey } from '../shared/features/online-store.ts';
import { benchArgs, type Figure, figure, median, percentile, progress, report, timeMs } from './harness.ts';
import {
  benchCloud,
  captureInvocations,
  invokedFunction,
  measureInProcess,
  perRound,
  timeDirectInvokes,
} from './support/cloud.ts';

const BENCH = 'feature-read';
const GROUP = 'airport-delays';
const args = benchArgs();
const samples = args.quick ? 30 : 400;
const rounds = args.quick ? 1 : 5;
const roundMs = args.quick ? 300 : 2000;

const cloud = await benchCloud();
try {
  const captured = captureInvocations(cloud);
  const table = cloud.assembly.tables.find((t) => t.logicalId.startsWith('OnlineFeatures'))?.name ?? '';
  const url = (entity: string) => `${cloud.apiEndpoint}/v1/features/${GROUP}/${entity}`;
  const entities = Array.from({ length: 20 }, (_, i) => `AP${i}`);
  for (const [i, entity] of entities.entries()) {
    const res = await signedFetch(url(entity), 'PUT', {
      eventTime: new Date(Date.now() - 60_000 + i).toISOString(),
      values: { delayRate2h: (i % 10) / 10, flights2h: i },
    });
    if (res.status !== 200) throw new Error(`PUT answered ${res.status}: ${await res.text()}`);
  }
  const get = async (i: number) => {
    const res = await signedFetch(url(entities[i % entities.length] ?? 'AP0'), 'GET');
    if (res.status !== 200) throw new Error(`GET answered ${res.status}: ${await res.text()}`);
    await res.arrayBuffer();
  };
  for (let i = 0; i < entities.length; i++) await get(i);
  const fnName = invokedFunction(cloud, captured, /Feature/i);
  const events = captured(fnName).filter((e) => (e as { httpMethod?: string }).httpMethod === 'GET');
  captured.stop();
  if (events.length === 0) throw new Error(`no GET event of ${fnName} captured`);

  const doc = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: cloud.endpoints.dynamodb,
      region: 'us-east-1',
      credentials: LOCAL_CREDENTIALS,
    }),
  );
  const raw = async (i: number) => {
    const out = await doc.send(
      new GetCommand({
        TableName: table,
        Key: { pk: onlineKey(GROUP, entities[i % entities.length] ?? 'AP0') },
        ConsistentRead: true,
      }),
    );
    if (!out.Item) throw new Error('raw GetItem found nothing');
  };
  // Warm-up, then interleaved: drift in machine load hits all three alike.
  for (let i = 0; i < 30; i++) {
    await get(i);
    await raw(i);
  }
  await timeDirectInvokes(cloud, fnName, events, 30);
  const api: number[] = [];
  const direct: number[] = [];
  const rawHere: number[] = [];
  for (let i = 0; i < samples; i++) {
    api.push(await timeMs(() => get(i)));
    direct.push(...(await timeDirectInvokes(cloud, fnName, [events[i % events.length]], 1)));
    rawHere.push(await timeMs(() => raw(i)));
  }
  progress(`API and direct invokes: ${samples} interleaved samples each`);

  const inProcess = await measureInProcess(
    cloud,
    fnName,
    events,
    { kind: 'get-item', args: { table, key: { pk: onlineKey(GROUP, 'AP3') } } },
    { rounds, timeMs: roundMs },
  );
  doc.destroy();
  const handlerP50 = perRound(inProcess, 'handler', 'p50');
  const rawP50 = perRound(inProcess, 'raw', 'p50');
  const ratio = handlerP50.map((h, i) => h / (rawP50[i] ?? Number.NaN));
  const handlerMedian = median(handlerP50);
  const figures: Figure[] = [
    figure(BENCH, 'handler-ratio-p50', 'handler in-process / raw GetItem, p50 (per round)', 'x', ratio, {
      target: { op: '<=', value: 1.3 },
      note: `DynamoDB engine ${cloud.dynamodbEngine}; ${inProcess.rounds.length} alternating tinybench rounds of ${roundMs} ms per side; the handler's log and metric lines (${Math.round(inProcess.stdoutBytesPerCall)} bytes a call) go to /dev/null`,
    }),
    figure(BENCH, 'handler-p50-ms', 'handler in-process, p50 (per round)', 'ms', handlerP50),
    figure(
      BENCH,
      'handler-p99-ms',
      'handler in-process, p99 (per round)',
      'ms',
      perRound(inProcess, 'handler', 'p99'),
    ),
    figure(
      BENCH,
      'raw-get-item-p50-ms',
      'raw GetItem, same process as the handler, p50 (per round)',
      'ms',
      rawP50,
    ),
    figure(BENCH, 'api-p50-ms', 'GET through the local API, p50', 'ms', percentile(api, 50)),
    figure(BENCH, 'api-p99-ms', 'GET through the local API, p99', 'ms', percentile(api, 99)),
    figure(
      BENCH,
      'direct-invoke-p50-ms',
      'direct invoke of the warm worker, p50',
      'ms',
      percentile(direct, 50),
    ),
    figure(
      BENCH,
      'split-api-emulator-ms',
      'API path split: signing + API Gateway emulator (API − direct invoke, p50)',
      'ms',
      percentile(api, 50) - percentile(direct, 50),
    ),
    figure(
      BENCH,
      'split-lambda-hop-ms',
      'API path split, estimate: local Lambda hop (direct invoke p50 − in-process handler p50, two processes)',
      'ms',
      percentile(direct, 50) - handlerMedian,
    ),
    figure(
      BENCH,
      'api-ratio-p50',
      'through the local API / raw GetItem from the same client, p50',
      'x',
      percentile(api, 50) / percentile(rawHere, 50),
    ),
  ];
  report(figures);
} finally {
  await cloud.stop();
}
