/**
 * `npm run bench`: measurements that tests must not make (timing asserts are banned there).
 * Every figure is measured in this run; ratios compare ours against the raw operation in the same
 * run, on the same machine, so a noisy shared machine moves both sides.
 *
 *   npm run bench                 every benchmark
 *   npm run bench -- startup      `mlops local up` to ready, median of 3
 *   npm run bench -- features     feature ingest/read through the local API vs raw DynamoDB GetItem
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { PROJECT_ROOT, synthApp } from '../../infra/cli/local.ts';
import { startLocalCloud } from '../../infra/local/cloud.ts';
import { LOCAL_CREDENTIALS } from '../../infra/local/engines/credentials.ts';
import { signedFetch } from '../../infra/local/sigv4.ts';
import { onlineKey } from '../../shared/features/online-store.ts';

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

const which = process.argv[2] ?? 'all';
if (which === 'all' || which === 'startup') benchStartup();
if (which === 'all' || which === 'features') await benchFeatures();
