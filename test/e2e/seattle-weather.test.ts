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
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
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
import { scoreEdgeModel } from '../../shared/models/onnx-parity.ts';
import type { BuildDatasetOutput } from '../../shared/pipeline/contracts.ts';
import { transformOutputUri } from '../../shared/pipeline/evaluate.ts';
import { EdgeArtifactManifestSchema, loadEdgeInputs } from '../../shared/pipeline/export-edge.ts';
import { getObject, listKeys, readText } from '../../shared/s3.ts';
import { runMlops } from '../support/cli.ts';
import {
  group,
  labelEvents,
  periodicOutages,
  readWeatherDays,
  useCase,
  writeSeattleWeatherFiles,
} from '../support/seattle-weather.ts';

const stateFile = join(mkdtempSync(join(tmpdir(), 'mlops-state-')), 'cloud.json');
const mlops = (...args: string[]) =>
  runMlops(args, { MLOPS_LOCAL_STATE: stateFile, MLOPS_LEDGER_TABLE: '', MLOPS_DATASETS_BUCKET: '' });

let cloud: LocalCloud;
let s3: S3Client;
let target: Target;
let datasets: string;
const api = (path: string) => `${cloud.apiEndpoint}/v1${path}`;
// The station goes quiet for 4 days every 60: label events more than the group's TTL (2 days)
// into an outage read every station feature as missing, as a real feed's gaps make them.
const outages = periodicOutages(readWeatherDays(), { first: 45, every: 60, length: 4 });
const files = writeSeattleWeatherFiles(mkdtempSync(join(tmpdir(), 'seattle-')), { outages });
const events = labelEvents();
let trained: { runId: string; executionArn: string } | undefined;

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
    const { runId, executionArn, status } = JSON.parse(run.stdout) as {
      runId: string;
      executionArn: string;
      status: string;
    };
    expect(status).toBe('SUCCEEDED');
    trained = { runId, executionArn };
    const ledger = (await runEvents(target, runId)).map((r) => r.event as LedgerEvent);
    expect(ledger.map((e) => e.type)).toEqual([
      'DatasetBuilt',
      'TrainingStarted',
      'ModelEvaluated',
      'ModelRegistered',
      'EdgeModelExported',
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

  it('exports a model with a categorical feature, missing values and a non-default base score: onnxruntime-node scores the test split as batch transform did', async () => {
    // Prepare: what the run recorded, and everything its export was judged on.
    if (!trained) throw new Error('the training test did not run');
    const ledger = (await runEvents(target, trained.runId)).map((r) => r.event as LedgerEvent);
    const exported = ledger.find((e) => e.type === 'EdgeModelExported');
    const registered = ledger.find((e) => e.type === 'ModelRegistered');
    if (exported?.type !== 'EdgeModelExported' || registered?.type !== 'ModelRegistered') {
      throw new Error('no EdgeModelExported or ModelRegistered in the run');
    }
    const state = JSON.parse(
      (await target.sfn.send(new DescribeExecutionCommand({ executionArn: trained.executionArn }))).output ??
        '{}',
    ) as { dataset: BuildDatasetOutput };
    const inputs = await loadEdgeInputs(s3, {
      useCase: useCase.name,
      modelVersion: registered.modelVersion,
      runId: trained.runId,
      datasetHash: state.dataset.datasetHash,
      modelArchiveUri: registered.artifactUri,
      snapshot: { manifestUri: state.dataset.manifestUri },
      encodingUri: state.dataset.encodingUri,
      scoresUri: transformOutputUri(state.dataset, 'candidate'),
    });
    const stationFeatures = group.features.map((f) => f.name);
    const withMissing = inputs.rows
      .map((row, i) => ({ row, i }))
      .filter(({ row }) => stationFeatures.some((n) => row[n] === null || row[n] === undefined));
    const splits = inputs.model.trees.flatMap((t) => [...t.left].flatMap((l, n) => (l === -1 ? [] : [n])));
    const toMissingRight = inputs.model.trees.reduce(
      (sum, t) => sum + [...t.left].filter((l, n) => l !== -1 && t.defaultLeft[n] === 0).length,
      0,
    );

    // Act: score the published file here, with onnxruntime-node, independently of the step.
    const onnx = await getObject(s3, exported.objects.model);
    const manifest = EdgeArtifactManifestSchema.parse(
      JSON.parse(await readText(s3, exported.objects.manifest)),
    );
    const scores = await scoreEdgeModel(onnx, inputs.rows);
    const delta = (i: number) => Math.abs((inputs.expected[i] ?? Number.NaN) - (scores[i] ?? Number.NaN));
    const maxDelta = Math.max(...inputs.expected.map((_, i) => delta(i)));
    const { threshold } = useCase.gates;
    const flips = inputs.expected.filter((e, i) => e >= threshold !== (scores[i] ?? 0) >= threshold).length;

    // Assess: the model is the hard kind (a string input, missing rows, a base score that is not
    // 0.5, missing values routed both ways), and the file scores it within the gate.
    expect(manifest.inputs.find((i) => i.name === 'weather')?.type).toBe('string');
    expect(inputs.rows.some((r) => typeof r.weather === 'string')).toBe(true);
    expect(withMissing.length).toBeGreaterThan(0);
    expect(inputs.model.baseMargin).toBeCloseTo(Math.log(0.43 / 0.57), 5);
    expect(splits.length).toBeGreaterThan(toMissingRight);
    expect(toMissingRight).toBeGreaterThan(0);
    expect(exported.parity).toMatchObject({ passed: true, rows: inputs.rows.length, flips: 0 });
    expect(maxDelta).toBeLessThanOrEqual(1e-6);
    expect(Math.max(...withMissing.map(({ i }) => delta(i)))).toBeLessThanOrEqual(1e-6);
    expect(flips).toBe(0);
    console.log(
      `seattle-weather edge export of ${registered.modelVersion}: ${inputs.rows.length} test rows (${withMissing.length} with missing station features), base margin ${inputs.model.baseMargin.toFixed(4)}, ${toMissingRight}/${splits.length} splits send missing right, max |Δ| ${maxDelta.toPrecision(3)}, ${flips} flips`,
    );
  });
});
