/**
 * A second use case, end to end, through nothing but the documented paths: its config file in
 * use-cases/, its features as a bulk CSV dropped in the datasets bucket, its labels through
 * `POST /labels/{useCase}` and `mlops labels put`, and `mlops train`. Nothing in the product knows
 * its name; the synthesized stack, the bundled functions and the SageMaker emulator with real
 * XGBoost do the rest.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { synthApp } from '../../infra/cli/local.ts';
import { resourceNames } from '../../infra/demo/seed.ts';
import { localS3Client } from '../../infra/local/clients.ts';
import { type LocalCloud, startLocalCloud } from '../../infra/local/cloud.ts';
import { LOCAL_CREDENTIALS } from '../../infra/local/engines/credentials.ts';
import { signedFetch } from '../../infra/local/sigv4.ts';
import { runEvents, type Target } from '../../infra/ops/runs.ts';
import { labelPrefix } from '../../shared/labels/schema.ts';
import type { LedgerEvent } from '../../shared/ledger/events.ts';
import { listKeys, readText } from '../../shared/s3.ts';
import { runMlops } from '../support/cli.ts';
import { labelEvents, useCase, writeSeattleWeatherFiles } from '../support/seattle-weather.ts';

const stateFile = join(mkdtempSync(join(tmpdir(), 'mlops-state-')), 'cloud.json');
const mlops = (...args: string[]) =>
  runMlops(args, { MLOPS_LOCAL_STATE: stateFile, MLOPS_LEDGER_TABLE: '', MLOPS_DATASETS_BUCKET: '' });

let cloud: LocalCloud;
let s3: S3Client;
let target: Target;
let datasets: string;
const api = (path: string) => `${cloud.apiEndpoint}/v1${path}`;
const files = writeSeattleWeatherFiles(mkdtempSync(join(tmpdir(), 'seattle-')));
const events = labelEvents();

beforeAll(async () => {
  const { outdir } = synthApp('dev', mkdtempSync(join(tmpdir(), 'e2e-seattle-')));
  cloud = await startLocalCloud({ cdkOut: outdir, timeScale: 0.01, log: () => {}, stateFile });
  s3 = localS3Client(cloud.endpoints.s3, cloud.assembly.placement.region);
  datasets = resourceNames(cloud).datasets;
  target = {
    sfn: new SFNClient({
      endpoint: cloud.endpoints.stepfunctions,
      region: 'us-east-1',
      credentials: LOCAL_CREDENTIALS,
    }),
    ledgerTable: resourceNames(cloud).ledger,
    dynamodbEndpoint: cloud.endpoints.dynamodb,
    local: true,
  };
});
afterAll(async () => {
  s3?.destroy();
  target?.sfn.destroy();
  await cloud?.stop();
});

describe('the seattle-weather use case, from zero', () => {
  it('ingests its features from a bulk CSV dropped in the datasets bucket', async () => {
    await s3.send(
      new PutObjectCommand({
        Bucket: datasets,
        Key: files.features.key,
        Body: readFileSync(files.features.path),
      }),
    );
    await cloud.settle();
    const summary = JSON.parse(
      await readText(s3, {
        bucket: datasets,
        key: files.features.key.replace(/^ingest\//, 'quarantine/').replace(/\.csv$/, '.summary.json'),
      }),
    );
    expect(summary).toMatchObject({ rows: files.features.rows, accepted: files.features.rows, rejected: 0 });
  });

  it('takes labels through POST /labels/{useCase}: partial acceptance, and a 400 that writes nothing', async () => {
    const first = events.slice(0, 200);
    const partial = await signedFetch(api(`/labels/${useCase.name}`), 'POST', {
      labels: [...first, { ...first[0], label: 2 }, { ...first[1], request: { month: 13, dayOfYear: 40 } }],
    });
    expect(partial.status).toBe(200);
    const body = (await partial.json()) as {
      accepted: number;
      rejected: { index: number; problems: { field: string }[] }[];
      results: { outcome: string }[];
    };
    expect(body.accepted).toBe(200);
    expect(body.results.every((r) => r.outcome === 'written')).toBe(true);
    expect(body.rejected.map((r) => [r.index, r.problems.map((p) => p.field)])).toEqual([
      [200, ['label']],
      [201, ['request.month']],
    ]);

    const before = await listKeys(s3, datasets, labelPrefix(useCase.name));
    const refused = await signedFetch(api(`/labels/${useCase.name}`), 'POST', {
      labels: [
        { ...first[0], entities: {} },
        { ...first[0], eventTime: '2013-02-30T00:00:00Z' },
      ],
    });
    expect(refused.status).toBe(400);
    const error = (await refused.json()) as {
      message: string;
      problems: { field: string }[];
      requestId: string;
    };
    expect(error.message).toMatch(/nothing was written/);
    expect(error.problems.map((p) => p.field)).toEqual([
      'labels[0].entities.seattle-daily-weather',
      'labels[1].eventTime',
    ]);
    expect(error.requestId).toBeTruthy();
    const replay = await signedFetch(api(`/labels/${useCase.name}`), 'POST', { labels: first });
    expect(
      ((await replay.json()) as { results: { outcome: string }[] }).results.every(
        (r) => r.outcome === 'duplicate',
      ),
    ).toBe(true);
    expect(await listKeys(s3, datasets, labelPrefix(useCase.name))).toEqual(before);

    const unknown = await signedFetch(api('/labels/no-such-case'), 'POST', { labels: first.slice(0, 1) });
    expect(unknown.status).toBe(404);
  });

  it('takes the whole label file through `mlops labels put`, with its summary', async () => {
    const run = await mlops('labels', 'put', useCase.name, files.labels.path, '--json');
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const { summary } = JSON.parse(run.stdout) as {
      summary: { rows: number; accepted: number; rejected: number; source: { key: string } };
    };
    expect(summary).toMatchObject({ rows: files.labels.rows, accepted: files.labels.rows, rejected: 0 });
    // The file keeps its own name in the drop zone.
    expect(summary.source.key).toBe(files.labels.key);
  });

  it('trains with `mlops train`, clearing its gates on the held-out test split', async () => {
    const run = await mlops('train', useCase.name, '--reason', 'e2e: a second use case', '--json');
    expect(run.status).toBe(0);
    const { runId, status } = JSON.parse(run.stdout) as { runId: string; status: string };
    expect(status).toBe('SUCCEEDED');
    const ledger = (await runEvents(target, runId)).map((r) => r.event as LedgerEvent);
    expect(ledger.map((e) => e.type)).toEqual([
      'DatasetBuilt',
      'TrainingStarted',
      'ModelEvaluated',
      'ModelRegistered',
      'TrainingCompleted',
    ]);
    const built = ledger.find((e) => e.type === 'DatasetBuilt');
    // 200 labels came twice (API, then the file): the dataset counts each once.
    expect(built?.type === 'DatasetBuilt' && built.rowCount).toBe(events.length);
    const evaluated = ledger.find((e) => e.type === 'ModelEvaluated');
    if (evaluated?.type !== 'ModelEvaluated') throw new Error('no ModelEvaluated event');
    expect(evaluated.passed).toBe(true);
    expect(evaluated.metrics.auc).toBeGreaterThanOrEqual(useCase.gates.minAuc);
    console.log(
      `seattle-weather: test-split AUC ${evaluated.metrics.auc?.toFixed(4)}, log loss ${evaluated.metrics.logLoss?.toFixed(4)} on ${evaluated.metrics.rows} rows (run ${runId})`,
    );
  });
});
