/**
 * The XGBoost algorithm against real XGBoost: the native 1.7 build (Debian's python3-xgboost via
 * /usr/bin/python3) and ml-xgboost's 0.7x WASM build, on vega-datasets' penguins (is it an Adelie?).
 * The TypeScript scorer must match each producer's own predictions to 1e-6, missing values included.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  CreateTrainingJobCommand,
  DescribeEndpointCommand,
  DescribeTrainingJobCommand,
  type SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand, type SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { LOCAL_ACCOUNT } from '../../../infra/local/engines/credentials.ts';
import { AlgorithmError } from '../../../infra/local/sagemaker/algorithm.ts';
import {
  createXgboostAlgorithm,
  DEFAULT_XGBOOST_PYTHON,
  detectNativeXgboost,
  evaluateXgboostMetric,
  loadMlXgboost,
  NATIVE_XGBOOST_SCRIPT,
  readXgboostTrainingSummary,
  WASM_MISSING_VALUE,
  XGBOOST_IMAGE_REPOSITORY,
  XGBOOST_MODEL_FILE,
  type XgboostEngine,
  XgboostPayloadError,
} from '../../../infra/local/sagemaker/algorithms/xgboost.ts';
import { xgboostImageUri } from '../../../shared/models/xgboost-image.ts';
import {
  parseXgboostJson,
  parseXgboostLegacyBinary,
  parseXgboostModel,
} from '../../../shared/models/xgboost-model.ts';
import { predict, XgboostFeatureCountError } from '../../../shared/models/xgboost-scorer.ts';
import { type SageMakerRig, startSageMakerRig } from '../../support/sagemaker.ts';
import { until } from '../../support/until.ts';

const run = promisify(execFile);
/** Taken before ml-xgboost loads: its Emscripten glue adds a rethrowing uncaughtException listener. */
const uncaughtListenersBefore = process.listeners('uncaughtException').length;
const require = createRequire(import.meta.url);

// ---------------------------------------------------------------------------------------------
// Data: penguins, label = Adelie, features = bill length, bill depth, flipper length, body mass.

const PenguinsSchema = z.array(
  z.object({
    Species: z.string(),
    'Beak Length (mm)': z.number().nullable(),
    'Beak Depth (mm)': z.number().nullable(),
    'Flipper Length (mm)': z.number().nullable(),
    'Body Mass (g)': z.number().nullable(),
  }),
);

type Row = (number | null)[];

function penguinData(): { labels: number[]; rows: Row[] } {
  // vega-datasets exports only its index; the data folder sits next to build/.
  const file = join(dirname(require.resolve('vega-datasets')), '..', 'data', 'penguins.json');
  const penguins = PenguinsSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
  // A fixed shuffle (Park-Miller), so train and validation both hold every species.
  let seed = 42;
  const order = penguins.map((p) => {
    seed = (seed * 16807) % 2147483647;
    return { p, key: seed };
  });
  order.sort((a, b) => a.key - b.key);
  const labels: number[] = [];
  const rows: Row[] = [];
  order.forEach(({ p }, i) => {
    labels.push(p.Species === 'Adelie' ? 1 : 0);
    // The data has two rows without measurements; blank out more so missing values weigh in.
    rows.push([
      i % 17 === 3 ? null : p['Beak Length (mm)'],
      i % 7 === 1 ? null : p['Beak Depth (mm)'],
      i % 11 === 5 ? null : p['Flipper Length (mm)'],
      i % 13 === 2 ? null : p['Body Mass (g)'],
    ]);
  });
  return { labels, rows };
}

const csvRow = (row: readonly (number | null)[]) => row.map((x) => (x === null ? '' : String(x))).join(',');
const labeledCsv = (labels: number[], rows: Row[]) =>
  `${rows.map((r, i) => csvRow([labels[i] ?? 0, ...r])).join('\n')}\n`;

const data = penguinData();
const TRAIN_ROWS = 240;
const train = { labels: data.labels.slice(0, TRAIN_ROWS), rows: data.rows.slice(0, TRAIN_ROWS) };
const validation = { labels: data.labels.slice(TRAIN_ROWS), rows: data.rows.slice(TRAIN_ROWS) };
const rowsWithMissing = data.rows.filter((r) => r.includes(null)).length;

const HYPERPARAMETERS = {
  objective: 'binary:logistic',
  num_round: '20',
  max_depth: '3',
  eta: '0.3',
  subsample: '0.8',
  min_child_weight: '1',
  seed: '7',
  eval_metric: 'auc',
};

const maxAbsDiff = (a: readonly number[], b: readonly number[]) => {
  expect(a).toHaveLength(b.length);
  return Math.max(...a.map((x, i) => Math.abs(x - (b[i] ?? Number.NaN))));
};

let scratch: string;
let channels: { train: string; validation: string };
let predictCsv: string;

interface Trained {
  readonly modelDir: string;
  readonly outputDir: string;
  readonly log: string[];
  readonly ms: number;
}

async function trainWith(
  engine: XgboostEngine,
  name: string,
  hyperparameters: Record<string, string> = HYPERPARAMETERS,
  trainingChannels: Record<string, string> = channels,
): Promise<Trained> {
  const modelDir = join(scratch, name, 'model');
  const outputDir = join(scratch, name, 'output');
  await mkdir(modelDir, { recursive: true });
  await mkdir(outputDir, { recursive: true });
  const log: string[] = [];
  const algorithm = createXgboostAlgorithm({ engine, log: (line) => log.push(line) });
  const started = performance.now();
  await algorithm.train({
    channels: trainingChannels,
    hyperparameters,
    modelDir,
    outputDir,
    signal: new AbortController().signal,
  });
  return { modelDir, outputDir, log, ms: performance.now() - started };
}

/** XGBoost's own predictions, from the shipped script's predict mode. */
async function nativePredictions(modelFile: string): Promise<number[]> {
  const out = join(scratch, `native-predictions-${Date.now()}.txt`);
  await run(DEFAULT_XGBOOST_PYTHON, [
    NATIVE_XGBOOST_SCRIPT,
    'predict',
    '--model',
    modelFile,
    '--data',
    predictCsv,
    '--out',
    out,
  ]);
  return (await readFile(out, 'utf8')).trim().split('\n').map(Number);
}

const ROUND_LINE = /^\[(\d+)\]#011train-auc:\d\.\d{5}#011validation-auc:\d\.\d{5}$/;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'xgboost-test-'));
  channels = {
    train: join(scratch, 'channels', 'train'),
    validation: join(scratch, 'channels', 'validation'),
  };
  await mkdir(channels.train, { recursive: true });
  await mkdir(channels.validation, { recursive: true });
  // Two files in the train channel: SageMaker reads every file under the channel.
  await writeFile(
    join(channels.train, 'part-0.csv'),
    labeledCsv(train.labels.slice(0, 100), train.rows.slice(0, 100)),
  );
  await writeFile(
    join(channels.train, 'part-1.csv'),
    labeledCsv(train.labels.slice(100), train.rows.slice(100)),
  );
  await writeFile(
    join(channels.validation, 'validation.csv'),
    labeledCsv(validation.labels, validation.rows),
  );
  predictCsv = join(scratch, 'predict.csv');
  await writeFile(predictCsv, `${data.rows.map(csvRow).join('\n')}\n`);
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

it('uses a data set with missing values in every feature', () => {
  expect(data.rows).toHaveLength(344);
  expect(rowsWithMissing).toBeGreaterThan(80);
  for (let f = 0; f < 4; f++) expect(data.rows.some((r) => r[f] === null)).toBe(true);
});

// ---------------------------------------------------------------------------------------------

const nativeVersion = await detectNativeXgboost();
const ciRequiresNative = !['', '0', 'false', undefined].includes(process.env.CI);
const nativeMissing = `${DEFAULT_XGBOOST_PYTHON} cannot import xgboost (apt-get install python3-xgboost)`;
const nativeTitle =
  nativeVersion !== undefined
    ? `native XGBoost ${nativeVersion}`
    : `native XGBoost (${ciRequiresNative ? 'required because CI is set' : 'skipped'}: ${nativeMissing})`;
if (nativeVersion === undefined && !ciRequiresNative)
  console.warn(`Skipping the native XGBoost tests: ${nativeMissing}`);

describe.skipIf(nativeVersion === undefined && !ciRequiresNative)(nativeTitle, () => {
  let trained: Trained;

  beforeAll(async () => {
    if (nativeVersion === undefined) {
      throw new Error(`CI is set but ${nativeMissing}`);
    }
    trained = await trainWith('native', 'native');
  });

  it('logs every round with train and validation AUC the way SageMaker jobs do', () => {
    const rounds = trained.log.filter((l) => ROUND_LINE.test(l));
    expect(rounds).toHaveLength(20);
    expect(rounds[19]).toMatch(/^\[19\]/);
    expect(trained.log).toContain('local XGBoost engine: native');
  });

  it('writes xgboost-model in the 1.x binary format, an inspectable JSON copy and the final metrics', async () => {
    const bytes = await readFile(join(trained.modelDir, XGBOOST_MODEL_FILE));
    expect(bytes.subarray(0, 4).toString('latin1')).toBe('binf');
    const model = parseXgboostLegacyBinary(bytes);
    expect(model.format).toBe('binary-1.x');
    expect(model.trees).toHaveLength(20);
    const summary = await readXgboostTrainingSummary(trained.outputDir);
    expect(summary).toMatchObject({ engine: 'native', xgboostVersion: nativeVersion, rounds: 20 });
    expect(summary.metrics['validation:auc']).toBeGreaterThan(0.9);
    expect(summary.metrics['train:auc']).toBeGreaterThanOrEqual(summary.metrics['validation:auc'] ?? 1);
  });

  it('scores like XGBoost itself to 1e-6, rows with missing values included', async () => {
    // Prepare
    const model = parseXgboostLegacyBinary(await readFile(join(trained.modelDir, XGBOOST_MODEL_FILE)));
    // Act
    const expected = await nativePredictions(join(trained.modelDir, XGBOOST_MODEL_FILE));
    const actual = predict(model, data.rows);
    // Assess
    const diff = maxAbsDiff(actual, expected);
    console.info(`native parity: max |TS - XGBoost ${nativeVersion}| = ${diff} over ${actual.length} rows`);
    expect(diff).toBeLessThan(1e-6);
    const missingDiff = maxAbsDiff(
      actual.filter((_, i) => data.rows[i]?.includes(null)),
      expected.filter((_, i) => data.rows[i]?.includes(null)),
    );
    expect(missingDiff).toBeLessThan(1e-6);
  });

  it('parses the JSON dump into a model that predicts exactly like the binary one', async () => {
    const binary = parseXgboostLegacyBinary(await readFile(join(trained.modelDir, XGBOOST_MODEL_FILE)));
    const json = parseXgboostJson(await readFile(join(trained.modelDir, 'xgboost-model.json'), 'utf8'));
    expect(json.format).toBe('json');
    expect(predict(json, data.rows)).toEqual(predict(binary, data.rows));
  });

  it('computes the same validation AUC as XGBoost reports', async () => {
    const model = parseXgboostLegacyBinary(await readFile(join(trained.modelDir, XGBOOST_MODEL_FILE)));
    const summary = await readXgboostTrainingSummary(trained.outputDir);
    const ours = evaluateXgboostMetric('auc', validation.labels, predict(model, validation.rows));
    expect(ours).toBeCloseTo(summary.metrics['validation:auc'] ?? Number.NaN, 6);
  });

  it('passes the seed through: another seed with subsample < 1 grows different trees', async () => {
    const other = await trainWith('native', 'native-seed', { ...HYPERPARAMETERS, seed: '8' });
    const a = await readFile(join(trained.modelDir, XGBOOST_MODEL_FILE));
    const b = await readFile(join(other.modelDir, XGBOOST_MODEL_FILE));
    expect(a.equals(b)).toBe(false);
  });

  it('keeps only the best rounds after early stopping, and still scores like XGBoost', async () => {
    // Act
    const early = await trainWith('native', 'native-early', {
      ...HYPERPARAMETERS,
      num_round: '200',
      eta: '0.5',
      early_stopping_rounds: '3',
    });
    // Assess
    const summary = await readXgboostTrainingSummary(early.outputDir);
    const model = parseXgboostModel(await readFile(join(early.modelDir, XGBOOST_MODEL_FILE)));
    expect(summary.rounds).toBeLessThan(200);
    expect(model.trees).toHaveLength(summary.rounds);
    const expected = await nativePredictions(join(early.modelDir, XGBOOST_MODEL_FILE));
    expect(maxAbsDiff(predict(model, data.rows), expected)).toBeLessThan(1e-6);
  });

  it('fails the job right away when the trained model is one the TypeScript scorer cannot serve', async () => {
    await expect(trainWith('native', 'native-dart', { ...HYPERPARAMETERS, booster: 'dart' })).rejects.toThrow(
      /cannot be served locally: booster dart is not supported/,
    );
  });

  it('leaves a NaN validation AUC out of metrics.json, like the WASM engine', async () => {
    const dir = join(scratch, 'channels', 'native-one-class');
    await mkdir(dir, { recursive: true });
    const adelie = validation.rows.filter((_, i) => validation.labels[i] === 1);
    await writeFile(
      join(dir, 'v.csv'),
      labeledCsv(
        adelie.map(() => 1),
        adelie,
      ),
    );
    const oneClass = await trainWith('native', 'native-one-class', HYPERPARAMETERS, {
      train: channels.train,
      validation: dir,
    });
    const summary = await readXgboostTrainingSummary(oneClass.outputDir);
    expect(Object.keys(summary.metrics)).toEqual(['train:auc']);
    expect(oneClass.log.filter((l) => l.startsWith('[19]'))[0]).toMatch(/#011validation-auc:nan$/);
  });

  it('fails the job with XGBoost own message for a bad hyperparameter', async () => {
    await expect(
      trainWith('native', 'native-bad', { ...HYPERPARAMETERS, max_depth: 'deep' }),
    ).rejects.toThrow(/Invalid Parameter format for max_depth/);
    await expect(
      trainWith('native', 'native-bad2', { ...HYPERPARAMETERS, max_depth: 'deep' }),
    ).rejects.toBeInstanceOf(AlgorithmError);
  });

  it('serves the model: text/csv rows in, one probability per line out', async () => {
    // Prepare
    const served = await createXgboostAlgorithm({ engine: 'native' }).serve(trained.modelDir);
    const expected = await nativePredictions(join(trained.modelDir, XGBOOST_MODEL_FILE));
    // Act
    const result = await served.invocations(Buffer.from(await readFile(predictCsv)), 'text/csv');
    // Assess
    expect(await served.ping()).toBe(true);
    expect(result.contentType).toBe('text/csv');
    const scores = result.body.toString('utf8').split('\n').map(Number);
    expect(maxAbsDiff(scores, expected)).toBeLessThan(1e-6);
  });
});

// ---------------------------------------------------------------------------------------------

describe('WASM XGBoost (ml-xgboost)', () => {
  let trained: Trained;

  beforeAll(async () => {
    trained = await trainWith('wasm', 'wasm');
  });

  it('leaves no uncaughtException listener behind after loading the WASM module', () => {
    expect(process.listeners('uncaughtException')).toHaveLength(uncaughtListenersBefore);
  });

  it('logs the final round with train and validation AUC', () => {
    expect(trained.log).toContain('local XGBoost engine: wasm');
    const rounds = trained.log.filter((l) => ROUND_LINE.test(l));
    expect(rounds).toHaveLength(1);
    expect(rounds[0]).toMatch(/^\[19\]/);
  });

  it('writes the 0.7x legacy binary model and the final metrics', async () => {
    const bytes = await readFile(join(trained.modelDir, XGBOOST_MODEL_FILE));
    expect(bytes.subarray(0, 4).toString('latin1')).not.toBe('binf');
    const model = parseXgboostLegacyBinary(bytes);
    expect(model.format).toBe('binary-0.7x');
    expect(model.trees).toHaveLength(20);
    const summary = await readXgboostTrainingSummary(trained.outputDir);
    expect(summary).toMatchObject({ engine: 'wasm', rounds: 20 });
    expect(summary.metrics['validation:auc']).toBeGreaterThan(0.9);
    expect(trained.log.at(-1)).toContain(`validation-auc:${summary.metrics['validation:auc']?.toFixed(5)}`);
  });

  it("scores like ml-xgboost's own predict to 1e-6, rows with missing values included", async () => {
    // Prepare
    const bytes = await readFile(join(trained.modelDir, XGBOOST_MODEL_FILE));
    const XGBoost = await loadMlXgboost();
    const booster = XGBoost.load({ name: 'ml-xgboost', model: Array.from(bytes), options: {} });
    // Act
    let expected: number[];
    try {
      expected = booster.predict(data.rows.map((r) => r.map((x) => x ?? WASM_MISSING_VALUE)));
    } finally {
      booster.free();
    }
    const actual = predict(parseXgboostLegacyBinary(bytes), data.rows);
    // Assess
    const diff = maxAbsDiff(actual, expected);
    console.info(`WASM parity: max |TS - ml-xgboost| = ${diff} over ${actual.length} rows`);
    expect(diff).toBeLessThan(1e-6);
    const withMissing = (v: number[]) => v.filter((_, i) => data.rows[i]?.includes(null));
    expect(maxAbsDiff(withMissing(actual), withMissing(expected))).toBeLessThan(1e-6);
  });

  it.skipIf(nativeVersion === undefined)(
    'loads in native XGBoost 1.7 with the same predictions',
    async () => {
      const file = join(trained.modelDir, XGBOOST_MODEL_FILE);
      const actual = predict(parseXgboostLegacyBinary(await readFile(file)), data.rows);
      const diff = maxAbsDiff(actual, await nativePredictions(file));
      console.info(`WASM model in native XGBoost: max |TS - XGBoost| = ${diff}`);
      expect(diff).toBeLessThan(1e-6);
    },
  );

  it('is deterministic for a seed and passes the seed through', async () => {
    const same = await trainWith('wasm', 'wasm-same');
    const other = await trainWith('wasm', 'wasm-other', { ...HYPERPARAMETERS, seed: '8' });
    const read = (t: Trained) => readFile(join(t.modelDir, XGBOOST_MODEL_FILE));
    expect((await read(same)).equals(await read(trained))).toBe(true);
    expect((await read(other)).equals(await read(trained))).toBe(false);
  });

  it('refuses a real -1 feature value, which ml-xgboost would silently treat as missing', async () => {
    const dir = join(scratch, 'channels', 'minus-one');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'data.csv'), '1,2.5,-1\n0,3.5,4\n');
    await expect(trainWith('wasm', 'wasm-minus-one', HYPERPARAMETERS, { train: dir })).rejects.toThrow(
      /value -1, which the WASM XGBoost treats as missing/,
    );
  });

  it('fails a job without num_round or with an objective the scorer cannot serve', async () => {
    const { num_round: _, ...noRounds } = HYPERPARAMETERS;
    await expect(trainWith('wasm', 'wasm-no-rounds', noRounds)).rejects.toThrow(
      'missing required hyperparameter num_round',
    );
    await expect(
      trainWith('wasm', 'wasm-multi', { ...HYPERPARAMETERS, objective: 'multi:softprob' }),
    ).rejects.toThrow(/objective multi:softprob is not supported locally/);
  });

  it('is chosen by MLOPS_LOCAL_XGBOOST when no engine option is given, and a bad value fails at creation', async () => {
    const previous = process.env.MLOPS_LOCAL_XGBOOST;
    try {
      process.env.MLOPS_LOCAL_XGBOOST = 'wasm';
      const log: string[] = [];
      const algorithm = createXgboostAlgorithm({ log: (line) => log.push(line) });
      const modelDir = join(scratch, 'env-wasm', 'model');
      const outputDir = join(scratch, 'env-wasm', 'output');
      await mkdir(modelDir, { recursive: true });
      await mkdir(outputDir, { recursive: true });
      await algorithm.train({
        channels,
        hyperparameters: HYPERPARAMETERS,
        modelDir,
        outputDir,
        signal: new AbortController().signal,
      });
      expect(log[0]).toBe('local XGBoost engine: wasm');
      process.env.MLOPS_LOCAL_XGBOOST = 'gpu';
      expect(() => createXgboostAlgorithm()).toThrow(
        'MLOPS_LOCAL_XGBOOST must be native, wasm or auto, got gpu',
      );
    } finally {
      if (previous === undefined) delete process.env.MLOPS_LOCAL_XGBOOST;
      else process.env.MLOPS_LOCAL_XGBOOST = previous;
    }
  });

  it('refuses an eval_metric it cannot compute, before training', async () => {
    await expect(
      trainWith('wasm', 'wasm-aucpr', { ...HYPERPARAMETERS, eval_metric: 'auc,aucpr' }),
    ).rejects.toThrow(/eval_metric aucpr is not computed by the WASM engine/);
  });

  it('leaves NaN metrics out of metrics.json but shows them in the log', async () => {
    // Prepare: a validation channel holding only Adelie penguins has no AUC.
    const dir = join(scratch, 'channels', 'one-class');
    await mkdir(dir, { recursive: true });
    const adelie = validation.rows.filter((_, i) => validation.labels[i] === 1);
    await writeFile(
      join(dir, 'v.csv'),
      labeledCsv(
        adelie.map(() => 1),
        adelie,
      ),
    );
    // Act
    const oneClass = await trainWith('wasm', 'wasm-one-class', HYPERPARAMETERS, {
      train: channels.train,
      validation: dir,
    });
    // Assess
    const summary = await readXgboostTrainingSummary(oneClass.outputDir);
    expect(Object.keys(summary.metrics)).toEqual(['train:auc']);
    expect(oneClass.log.at(-1)).toMatch(/#011validation-auc:nan$/);
  });

  it('trains reg:squarederror (reg:linear in 0.7x) and reports rmse by default', async () => {
    const regression = await trainWith('wasm', 'wasm-reg', {
      objective: 'reg:squarederror',
      num_round: '10',
    });
    const summary = await readXgboostTrainingSummary(regression.outputDir);
    const model = parseXgboostLegacyBinary(await readFile(join(regression.modelDir, XGBOOST_MODEL_FILE)));
    expect(model.objective).toBe('reg:linear');
    expect(summary.metrics['validation:rmse']).toBeCloseTo(
      evaluateXgboostMetric('rmse', validation.labels, predict(model, validation.rows)),
      12,
    );
  });

  it('serves CSV and JSON instances and rejects what it cannot score', async () => {
    // Prepare
    const served = await createXgboostAlgorithm({ engine: 'wasm' }).serve(trained.modelDir);
    const model = parseXgboostLegacyBinary(await readFile(join(trained.modelDir, XGBOOST_MODEL_FILE)));
    const sample = data.rows.slice(0, 5);
    // Act
    const csv = await served.invocations(
      Buffer.from(sample.map(csvRow).join('\r\n')),
      'text/csv; charset=utf-8',
    );
    const json = await served.invocations(
      Buffer.from(JSON.stringify({ instances: sample })),
      'application/json',
    );
    // Assess
    const expected = predict(model, sample);
    expect(csv.body.toString('utf8').split('\n').map(Number)).toEqual(expected);
    expect(JSON.parse(json.body.toString('utf8'))).toEqual({
      predictions: expected.map((score) => ({ score })),
    });
    await expect(served.invocations(Buffer.from('1,2'), 'application/x-npy')).rejects.toThrow(
      XgboostPayloadError,
    );
    await expect(served.invocations(Buffer.from('1,abc,3,4'), 'text/csv')).rejects.toThrow(
      /could not convert 'abc'/,
    );
    await expect(served.invocations(Buffer.from('1,2,3,4,5'), 'text/csv')).rejects.toThrow(
      XgboostFeatureCountError,
    );
  });
});

// ---------------------------------------------------------------------------------------------

describe('XGBoost through the local SageMaker emulator', () => {
  const BUCKET = 'xgb-data';
  const ROLE = `arn:aws:iam::${LOCAL_ACCOUNT}:role/sagemaker`;
  const IMAGE = xgboostImageUri('us-east-1');
  let rig: SageMakerRig;
  let sm: SageMakerClient;
  let runtime: SageMakerRuntimeClient;
  let s3: S3Client;

  beforeAll(async () => {
    rig = await startSageMakerRig({
      placement: { region: 'us-east-1', account: LOCAL_ACCOUNT },
      algorithms: [{ image: XGBOOST_IMAGE_REPOSITORY, algorithm: createXgboostAlgorithm() }],
    });
    ({ sm, runtime, s3 } = rig);
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: 'train/train.csv',
        Body: labeledCsv(train.labels, train.rows),
      }),
    );
    await s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: 'validation/validation.csv',
        Body: labeledCsv(validation.labels, validation.rows),
      }),
    );
  });

  afterAll(async () => {
    await rig?.stop();
  });

  it('trains from the built-in image URI, deploys, and answers InvokeEndpoint with probabilities', async () => {
    // Prepare
    const channel = (name: string) => ({
      ChannelName: name,
      ContentType: 'text/csv',
      DataSource: { S3DataSource: { S3DataType: 'S3Prefix' as const, S3Uri: `s3://${BUCKET}/${name}/` } },
    });
    await sm.send(
      new CreateTrainingJobCommand({
        TrainingJobName: 'penguins',
        AlgorithmSpecification: { TrainingImage: IMAGE, TrainingInputMode: 'File' },
        RoleArn: ROLE,
        HyperParameters: HYPERPARAMETERS,
        InputDataConfig: [channel('train'), channel('validation')],
        OutputDataConfig: { S3OutputPath: `s3://${BUCKET}/models/` },
        ResourceConfig: { InstanceCount: 1, InstanceType: 'ml.m5.large', VolumeSizeInGB: 10 },
        StoppingCondition: { MaxRuntimeInSeconds: 600 },
      }),
    );
    const job = await until(
      'the penguins training job',
      () => sm.send(new DescribeTrainingJobCommand({ TrainingJobName: 'penguins' })),
      (j) => ['Completed', 'Failed', 'Stopped'].includes(j.TrainingJobStatus ?? ''),
    );
    expect(job.FailureReason).toBeUndefined();
    expect(job.TrainingJobStatus).toBe('Completed');

    // Act
    await sm.send(
      new CreateModelCommand({
        ModelName: 'penguins',
        ExecutionRoleArn: ROLE,
        PrimaryContainer: { Image: IMAGE, ModelDataUrl: job.ModelArtifacts?.S3ModelArtifacts },
      }),
    );
    await sm.send(
      new CreateEndpointConfigCommand({
        EndpointConfigName: 'penguins',
        ProductionVariants: [
          {
            VariantName: 'AllTraffic',
            ModelName: 'penguins',
            InitialInstanceCount: 1,
            InstanceType: 'ml.m5.large',
          },
        ],
      }),
    );
    await sm.send(new CreateEndpointCommand({ EndpointName: 'penguins', EndpointConfigName: 'penguins' }));
    const endpoint = await until(
      'the penguins endpoint',
      () => sm.send(new DescribeEndpointCommand({ EndpointName: 'penguins' })),
      (e) => e.EndpointStatus !== 'Creating',
    );
    expect(endpoint.EndpointStatus).toBe('InService');
    const sample = validation.rows.slice(0, 20);
    const response = await runtime.send(
      new InvokeEndpointCommand({
        EndpointName: 'penguins',
        ContentType: 'text/csv',
        Body: new TextEncoder().encode(sample.map(csvRow).join('\n')),
      }),
    );

    // Assess
    const scores = new TextDecoder().decode(response.Body).split('\n').map(Number);
    expect(scores).toHaveLength(20);
    expect(scores.every((s) => s > 0 && s < 1)).toBe(true);
    // Most validation penguins are classified right at 0.5.
    const correct = scores.filter((s, i) => (s > 0.5 ? 1 : 0) === validation.labels[i]).length;
    expect(correct).toBeGreaterThanOrEqual(18);
  });
});
