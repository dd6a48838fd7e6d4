/**
 * SageMaker's built-in XGBoost (container 1.7-1) as a local algorithm.
 *
 * Training reads CSV channels (`train`, optional `validation`; label first, no header, empty cells
 * are missing values) and writes `xgboost-model` in XGBoost's binary format. It runs a native
 * XGBoost through `/usr/bin/python3` when that can import xgboost (Debian's python3-xgboost), else
 * ml-xgboost, XGBoost 0.7x compiled to WebAssembly. Each round's metrics are logged the way
 * SageMaker's CloudWatch shows them (`[n]#011train-auc:...#011validation-auc:...`) and the final
 * ones land in `metrics.json` of the output folder (output.tar.gz).
 *
 * Serving never needs Python or WASM: `xgboost-model` is parsed and scored in TypeScript
 * (shared/models), `text/csv` rows in, one score per line out.
 */
import { execFile, spawn } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as z from 'zod';
import {
  parseXgboostModel,
  SUPPORTED_XGBOOST_OBJECTIVES,
  type XgboostModel,
} from '../../../../shared/models/xgboost-model.ts';
import { predict, type XgboostRow } from '../../../../shared/models/xgboost-scorer.ts';
import { AlgorithmError, type LocalAlgorithm, type ServedModel, type TrainInput } from '../algorithm.ts';

export { XGBOOST_IMAGE_REPOSITORY } from '../../../../shared/models/xgboost-image.ts';

/** The model file SageMaker's XGBoost writes into model.tar.gz and loads for serving. */
export const XGBOOST_MODEL_FILE = 'xgboost-model';

/** The training script the native engine runs (shipped next to this file). */
export const NATIVE_XGBOOST_SCRIPT = fileURLToPath(new URL('./xgboost-train.py', import.meta.url));

/** The Python that sees Debian's python3-xgboost; a pyenv `python3` earlier on PATH does not. */
export const DEFAULT_XGBOOST_PYTHON = '/usr/bin/python3';

/** The value ml-xgboost's build treats as missing (it passes missing=-1 to XGDMatrixCreateFromMat, and NaN aborts it). */
export const WASM_MISSING_VALUE = -1;

/** Which XGBoost trains. */
export type XgboostEngine = 'native' | 'wasm';

/** Options of {@link createXgboostAlgorithm}. */
export interface XgboostAlgorithmOptions {
  /**
   * `native`, `wasm`, or `auto` (native when the Python can import xgboost, else wasm).
   * @default the MLOPS_LOCAL_XGBOOST environment variable, else 'auto'
   */
  readonly engine?: XgboostEngine | 'auto';
  /**
   * Python interpreter for the native engine.
   * @default '/usr/bin/python3'
   */
  readonly python?: string;
  /**
   * Receives each training log line as CloudWatch shows a SageMaker job's (tabs as `#011`).
   * @default lines are dropped
   */
  readonly log?: (line: string) => void;
}

/** Final metrics of a training job, written as `metrics.json` in the output folder. */
export interface XgboostTrainingSummary {
  readonly engine: XgboostEngine;
  readonly xgboostVersion: string;
  /** Rounds kept in the model (fewer than num_round after early stopping). */
  readonly rounds: number;
  /** SageMaker metric names (`train:auc`, `validation:auc`) to their value after the last kept round; NaN ones are left out. */
  readonly metrics: Readonly<Record<string, number>>;
}

const XgboostTrainingSummarySchema = z.object({
  engine: z.enum(['native', 'wasm']),
  xgboostVersion: z.string(),
  rounds: z.number().int(),
  metrics: z.record(z.string(), z.number()),
});

/** Raised when an invocation's body is not rows this model can score. */
export class XgboostPayloadError extends Error {
  override readonly name: string = 'XgboostPayloadError';
}

const EngineSetting = z.enum(['native', 'wasm', 'auto']);

// ---------------------------------------------------------------------------------------------
// CSV

/** Rows of one CSV channel: label first, empty cells missing. */
interface LabeledRows {
  readonly labels: number[];
  readonly rows: (number | null)[][];
}

function parseCell(cell: string, where: string): number | null {
  const text = cell.trim();
  if (text === '' || text.toLowerCase() === 'nan') return null;
  const value = Number(text);
  if (!Number.isFinite(value) || !/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) {
    throw new XgboostPayloadError(`${where}: could not convert '${text}' to a number`);
  }
  return value;
}

/** Parses label-less or labeled CSV text into rows; every row must have the first row's width. */
function parseCsv(text: string, source: string): (number | null)[][] {
  const rows: (number | null)[][] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? '').replace(/\r$/, '');
    if (line.trim() === '') continue;
    const where = `${source} line ${i + 1}`;
    const row = line.split(',').map((cell) => parseCell(cell, where));
    const width = rows[0]?.length;
    if (width !== undefined && row.length !== width) {
      throw new XgboostPayloadError(`${where}: ${row.length} columns, expected ${width} like the first row`);
    }
    rows.push(row);
  }
  return rows;
}

async function channelFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile() && !e.name.startsWith('.'))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

async function readChannel(name: string, dir: string): Promise<LabeledRows> {
  const labels: number[] = [];
  const rows: (number | null)[][] = [];
  for (const file of await channelFiles(dir)) {
    let parsed: (number | null)[][];
    try {
      parsed = parseCsv(await readFile(file, 'utf8'), `${name}/${file.slice(dir.length + 1)}`);
    } catch (e) {
      // The same message as at serving time, but it fails the job rather than a request.
      throw e instanceof XgboostPayloadError ? new AlgorithmError(e.message) : e;
    }
    for (const [i, row] of parsed.entries()) {
      const [label, ...features] = row;
      if (label === null || label === undefined) {
        throw new AlgorithmError(`channel ${name}: row ${i + 1} has no label in the first column`);
      }
      if (rows.length > 0 && features.length !== rows[0]?.length) {
        throw new AlgorithmError(`channel ${name}: files have different numbers of columns`);
      }
      labels.push(label);
      rows.push(features);
    }
  }
  if (rows.length === 0) throw new AlgorithmError(`channel ${name} has no data rows`);
  return { labels, rows };
}

// ---------------------------------------------------------------------------------------------
// Hyperparameters

/** Hyperparameters SageMaker's container consumes itself instead of passing to XGBoost. */
const CONTAINER_ONLY = new Set([
  'num_round',
  'early_stopping_rounds',
  'eval_metric',
  'csv_weights',
  'save_model_on_termination',
  '_kfold',
  '_num_cv_round',
  '_tuning_objective_metric',
]);

interface JobSettings {
  readonly numRound: number;
  readonly objective: string;
  readonly evalMetrics: readonly string[];
}

function jobSettings(hp: Readonly<Record<string, string>>): JobSettings {
  const numRoundText = hp.num_round;
  if (numRoundText === undefined) throw new AlgorithmError('missing required hyperparameter num_round');
  const numRound = Number(numRoundText);
  if (!Number.isInteger(numRound) || numRound < 1) {
    throw new AlgorithmError(`num_round must be a positive integer, got ${numRoundText}`);
  }
  const objective = hp.objective ?? 'reg:squarederror';
  // Training an objective the TypeScript scorer cannot serve would only fail later, at deploy.
  if (!SUPPORTED_XGBOOST_OBJECTIVES.includes(objective)) {
    throw new AlgorithmError(
      `objective ${objective} is not supported locally; use one of ${SUPPORTED_XGBOOST_OBJECTIVES.join(', ')}`,
    );
  }
  const evalMetrics = (hp.eval_metric ?? '')
    .split(',')
    .map((m) => m.trim())
    .filter((m) => m !== '');
  return { numRound, objective, evalMetrics };
}

// ---------------------------------------------------------------------------------------------
// Metrics (for the WASM engine, which has no per-round evaluation)

/** XGBoost 1.7's default eval_metric per objective, where this module can compute it. */
const DEFAULT_METRIC: Readonly<Record<string, string>> = {
  'binary:logistic': 'logloss',
  'binary:logitraw': 'logloss',
  'binary:hinge': 'error',
  'reg:logistic': 'rmse',
  'reg:squarederror': 'rmse',
  'reg:linear': 'rmse',
  'reg:squaredlogerror': 'rmsle',
  'reg:absoluteerror': 'mae',
};

function auc(labels: readonly number[], scores: readonly number[]): number {
  const order = scores.map((s, i) => [s, labels[i] ?? 0] as const).sort((a, b) => a[0] - b[0]);
  let positives = 0;
  let rankSum = 0;
  // Average ranks over ties: the Mann-Whitney form of XGBoost's trapezoidal AUC.
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j < order.length && order[j]?.[0] === order[i]?.[0]) j++;
    const averageRank = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) {
      if ((order[k]?.[1] ?? 0) > 0.5) {
        positives++;
        rankSum += averageRank;
      }
    }
    i = j;
  }
  const negatives = order.length - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

function mean(values: Iterable<number>): number {
  let sum = 0;
  let n = 0;
  for (const v of values) {
    sum += v;
    n++;
  }
  return sum / n;
}

/** Metric names {@link evaluateXgboostMetric} computes. */
export const XGBOOST_METRICS: readonly string[] = [
  'auc',
  'logloss',
  'rmse',
  'rmsle',
  'mae',
  'error',
  'error@<t>',
];

const ERROR_AT = /^error(?:@([0-9.eE+-]+))?$/;

function isComputableMetric(metric: string): boolean {
  return ERROR_AT.test(metric) || ['auc', 'logloss', 'rmse', 'rmsle', 'mae'].includes(metric);
}

/** Computes an XGBoost eval_metric (auc, logloss, rmse, rmsle, mae, error, error@t) of scores against labels. */
export function evaluateXgboostMetric(
  metric: string,
  labels: readonly number[],
  scores: readonly number[],
): number {
  const pairs = scores.map((p, i) => [labels[i] ?? 0, p] as const);
  const errorAt = ERROR_AT.exec(metric);
  if (errorAt) {
    const threshold = errorAt[1] === undefined ? 0.5 : Number(errorAt[1]);
    return mean(pairs.map(([y, p]) => ((p > threshold ? 1 : 0) !== (y > 0.5 ? 1 : 0) ? 1 : 0)));
  }
  switch (metric) {
    case 'auc':
      return auc(labels, scores);
    case 'logloss': {
      const eps = 1e-16;
      return mean(
        pairs.map(([y, p]) => -y * Math.log(Math.max(p, eps)) - (1 - y) * Math.log(Math.max(1 - p, eps))),
      );
    }
    case 'rmse':
      return Math.sqrt(mean(pairs.map(([y, p]) => (y - p) ** 2)));
    case 'rmsle':
      return Math.sqrt(mean(pairs.map(([y, p]) => (Math.log1p(p) - Math.log1p(y)) ** 2)));
    case 'mae':
      return mean(pairs.map(([y, p]) => Math.abs(y - p)));
    default:
      throw new AlgorithmError(
        `eval_metric ${metric} is not computed by the WASM engine (supported: ${XGBOOST_METRICS.join(', ')}); install python3-xgboost for the native engine`,
      );
  }
}

/** One log line in XGBoost's format with CloudWatch's rendering of tabs. */
function roundLine(round: number, metrics: readonly (readonly [string, number])[]): string {
  return `[${round}]${metrics.map(([name, v]) => `#011${name.replace(':', '-')}:${Number.isNaN(v) ? 'nan' : v.toFixed(5)}`).join('')}`;
}

// ---------------------------------------------------------------------------------------------
// Native engine

const nativeVersions = new Map<string, Promise<string | undefined>>();

/** The xgboost version `python` can import, or undefined when it cannot (cached per interpreter). */
export function detectNativeXgboost(python: string = DEFAULT_XGBOOST_PYTHON): Promise<string | undefined> {
  let found = nativeVersions.get(python);
  if (!found) {
    found = new Promise((resolve) => {
      execFile(
        python,
        ['-c', 'import xgboost; print(xgboost.__version__)'],
        { timeout: 60_000 },
        (error, stdout) => resolve(error ? undefined : stdout.trim()),
      );
    });
    nativeVersions.set(python, found);
  }
  return found;
}

async function trainNative(input: TrainInput, python: string, log: (line: string) => void): Promise<void> {
  const train = input.channels.train;
  if (train === undefined) throw new AlgorithmError('channel train is required');
  const args = [
    '-u',
    NATIVE_XGBOOST_SCRIPT,
    'train',
    '--train',
    train,
    '--model-dir',
    input.modelDir,
    '--metrics',
    join(input.outputDir, 'metrics.json'),
    '--hyperparameters',
    JSON.stringify(input.hyperparameters),
  ];
  const validation = input.channels.validation;
  if (validation !== undefined) args.push('--validation', validation);
  const child = spawn(python, args, { signal: input.signal, stdio: ['ignore', 'pipe', 'pipe'] });
  let failure: string | undefined;
  const stderrTail: string[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => log(line.replaceAll('\t', '#011')));
  createInterface({ input: child.stderr }).on('line', (line) => {
    if (line.startsWith('xgboost-train: ')) failure = line.slice('xgboost-train: '.length);
    else log(line);
    stderrTail.push(line);
    if (stderrTail.length > 20) stderrTail.shift();
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (code !== 0) {
    throw new AlgorithmError(failure ?? `native XGBoost exited with ${code}: ${stderrTail.join('\n')}`);
  }
}

// ---------------------------------------------------------------------------------------------
// WASM engine (ml-xgboost)

interface MlXgboostBooster {
  train(rows: number[][], labels: number[]): void;
  predict(rows: number[][]): number[];
  toJSON(): { readonly model: number[] };
  free(): void;
}

/** The class ml-xgboost's module export resolves to. */
export interface MlXgboostClass {
  new (options: Readonly<Record<string, string | number>>): MlXgboostBooster;
  load(model: {
    readonly name: 'ml-xgboost';
    readonly model: readonly number[];
    readonly options: Readonly<Record<string, string | number>>;
  }): MlXgboostBooster;
}

/** ml-xgboost's own version string: its WASM is XGBoost from the 0.7x era. */
const WASM_XGBOOST_VERSION = 'ml-xgboost 1.1.2 (XGBoost 0.7x WASM)';

let wasmClass: Promise<MlXgboostClass> | undefined;

/** Loads ml-xgboost once; its xgboost.wasm is read from node_modules next to its loader. */
export function loadMlXgboost(): Promise<MlXgboostClass> {
  wasmClass ??= (async () => {
    // Emscripten tries fetch() on a file path first and prints two lines when falling back to
    // reading the file; only those two lines are filtered while the module loads.
    const warn = console.warn;
    const handlers = new Set(process.listeners('uncaughtException'));
    console.warn = (...args: unknown[]) => {
      const text = String(args[0]);
      if (text.startsWith('wasm streaming compile failed') || text.startsWith('falling back to ArrayBuffer'))
        return;
      warn(...args);
    };
    try {
      const exported: unknown = await createRequire(import.meta.url)('ml-xgboost');
      if (typeof exported !== 'function' || !('load' in exported)) {
        throw new Error('ml-xgboost did not resolve to its XGBoost class');
      }
      return exported as MlXgboostClass;
    } finally {
      console.warn = warn;
      // Emscripten adds an uncaughtException listener that rethrows; left in place it would defeat
      // any handler the host process installs, so the listeners the load added are removed.
      for (const listener of process.listeners('uncaughtException')) {
        if (!handlers.has(listener)) process.off('uncaughtException', listener);
      }
    }
  })();
  return wasmClass;
}

/** XGBoost's and SageMaker's defaults, where ml-xgboost's differ (it defaults to subsample 0.5, eta 0.1, max_depth 5). */
const WASM_DEFAULTS: Readonly<Record<string, string>> = {
  booster: 'gbtree',
  max_depth: '6',
  eta: '0.3',
  min_child_weight: '1',
  subsample: '1',
  colsample_bytree: '1',
  silent: '1',
};

function wasmRows(rows: readonly (readonly (number | null)[])[], channel: string): number[][] {
  return rows.map((row, i) =>
    row.map((x) => {
      // A real -1 would silently become missing inside ml-xgboost, training a different model.
      if (x === WASM_MISSING_VALUE) {
        throw new AlgorithmError(
          `channel ${channel}: row ${i + 1} has the value -1, which the WASM XGBoost treats as missing; install python3-xgboost (native engine) or re-encode the feature`,
        );
      }
      return x ?? WASM_MISSING_VALUE;
    }),
  );
}

async function trainWasm(
  input: TrainInput,
  settings: JobSettings,
  log: (line: string) => void,
): Promise<void> {
  const trainDir = input.channels.train;
  if (trainDir === undefined) throw new AlgorithmError('channel train is required');
  const train = await readChannel('train', trainDir);
  const validationDir = input.channels.validation;
  const validation = validationDir === undefined ? undefined : await readChannel('validation', validationDir);
  if (validation && validation.rows[0]?.length !== train.rows[0]?.length) {
    throw new AlgorithmError(
      `validation has ${validation.rows[0]?.length} feature columns, train has ${train.rows[0]?.length}`,
    );
  }
  if (/logistic/.test(settings.objective) && train.labels.some((y) => y < 0 || y > 1)) {
    throw new AlgorithmError(`label must be in [0,1] for objective ${settings.objective}`);
  }
  const metrics =
    settings.evalMetrics.length > 0 ? settings.evalMetrics : [DEFAULT_METRIC[settings.objective]];
  // Checked before training so a typo does not cost a training run.
  const unknown = metrics.find((m) => m !== undefined && !isComputableMetric(m));
  if (unknown !== undefined) {
    throw new AlgorithmError(
      `eval_metric ${unknown} is not computed by the WASM engine (supported: ${XGBOOST_METRICS.join(', ')}); install python3-xgboost for the native engine`,
    );
  }
  const passThrough = Object.fromEntries(
    Object.entries(input.hyperparameters).filter(([k]) => !CONTAINER_ONLY.has(k) && k !== 'nthread'),
  );
  if (input.hyperparameters.early_stopping_rounds !== undefined) {
    log('early_stopping_rounds is ignored by the WASM XGBoost engine: it has no per-round evaluation');
  }
  const rows = wasmRows(train.rows, 'train');
  const XGBoost = await loadMlXgboost();
  // Training below is synchronous and cannot be interrupted, so a stop must land before it.
  input.signal.throwIfAborted();
  const booster = new XGBoost({
    ...WASM_DEFAULTS,
    ...passThrough,
    // XGBoost 0.7x predates the reg:squarederror name.
    objective: settings.objective === 'reg:squarederror' ? 'reg:linear' : settings.objective,
    iterations: settings.numRound,
  });
  let bytes: Uint8Array;
  try {
    booster.train(rows, train.labels);
    bytes = Uint8Array.from(booster.toJSON().model);
    // Only a trained booster holds WASM memory; free() on an untrained one reads a null handle.
    booster.free();
  } catch (e) {
    throw new AlgorithmError(`WASM XGBoost failed: ${e instanceof Error ? e.message : String(e)}`);
  }
  const model = parseXgboostModel(bytes);
  // ml-xgboost ignores XGBoost's error codes, so a rejected parameter shows up as missing trees.
  if (model.trees.length !== settings.numRound) {
    throw new AlgorithmError(
      `WASM XGBoost trained ${model.trees.length} of ${settings.numRound} rounds; check the hyperparameters`,
    );
  }
  await writeFile(join(input.modelDir, XGBOOST_MODEL_FILE), bytes);

  const results: [string, number][] = [];
  for (const metric of metrics) {
    if (metric === undefined) continue;
    for (const [name, data] of [['train', train] as const, ['validation', validation] as const]) {
      if (data)
        results.push([
          `${name}:${metric}`,
          evaluateXgboostMetric(metric, data.labels, predict(model, data.rows)),
        ]);
    }
  }
  if (metrics[0] === undefined) {
    log(
      `no evaluation metric for objective ${settings.objective} in the WASM engine; set eval_metric to log one`,
    );
  }
  log(roundLine(settings.numRound - 1, results));
  const summary: XgboostTrainingSummary = {
    engine: 'wasm',
    xgboostVersion: WASM_XGBOOST_VERSION,
    rounds: settings.numRound,
    metrics: Object.fromEntries(results.filter(([, v]) => Number.isFinite(v))),
  };
  await writeFile(join(input.outputDir, 'metrics.json'), JSON.stringify(summary));
}

// ---------------------------------------------------------------------------------------------
// Serving

const JsonInstancesSchema = z.object({
  instances: z.array(
    z.union([z.array(z.number().nullable()), z.object({ features: z.array(z.number().nullable()) })]),
  ),
});

function requestRows(body: Buffer, contentType: string): { rows: XgboostRow[]; json: boolean } {
  const mediaType = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  if (mediaType === 'text/csv') return { rows: parseCsv(body.toString('utf8'), 'payload'), json: false };
  if (mediaType === 'application/json') {
    let raw: unknown;
    try {
      raw = JSON.parse(body.toString('utf8'));
    } catch {
      throw new XgboostPayloadError('payload is not valid JSON');
    }
    const parsed = JsonInstancesSchema.safeParse(raw);
    if (!parsed.success) {
      throw new XgboostPayloadError(
        'JSON payload must be {"instances": [[f1, f2, ...], ...]} (null for missing)',
      );
    }
    return { rows: parsed.data.instances.map((i) => (Array.isArray(i) ? i : i.features)), json: true };
  }
  throw new XgboostPayloadError(
    `Content type ${contentType} is not supported; use text/csv or application/json`,
  );
}

/** Loads `xgboost-model` from a model folder for scoring with the TypeScript scorer. */
export async function loadXgboostModelDir(modelDir: string): Promise<XgboostModel> {
  const path = join(modelDir, XGBOOST_MODEL_FILE);
  const bytes = await readFile(path).catch((e: unknown) => {
    throw new Error(
      `model folder has no ${XGBOOST_MODEL_FILE}: ${e instanceof Error ? e.message : String(e)}`,
    );
  });
  return parseXgboostModel(bytes);
}

/** Reads the summary a training run left in its output folder. */
export async function readXgboostTrainingSummary(outputDir: string): Promise<XgboostTrainingSummary> {
  return XgboostTrainingSummarySchema.parse(
    JSON.parse(await readFile(join(outputDir, 'metrics.json'), 'utf8')),
  );
}

// ---------------------------------------------------------------------------------------------

/** Builds the XGBoost algorithm; the engine setting is read once, here. */
export function createXgboostAlgorithm(options: XgboostAlgorithmOptions = {}): LocalAlgorithm {
  const setting = EngineSetting.safeParse(options.engine ?? process.env.MLOPS_LOCAL_XGBOOST ?? 'auto');
  if (!setting.success) {
    throw new Error(
      `MLOPS_LOCAL_XGBOOST must be native, wasm or auto, got ${options.engine ?? process.env.MLOPS_LOCAL_XGBOOST}`,
    );
  }
  const python = options.python ?? DEFAULT_XGBOOST_PYTHON;
  const log = options.log ?? (() => {});

  async function engine(): Promise<XgboostEngine> {
    if (setting.data === 'wasm') return 'wasm';
    const version = await detectNativeXgboost(python);
    if (version !== undefined) return 'native';
    if (setting.data === 'native') {
      throw new AlgorithmError(`the native XGBoost engine was requested but ${python} cannot import xgboost`);
    }
    return 'wasm';
  }

  return {
    async train(input) {
      const settings = jobSettings(input.hyperparameters);
      const chosen = await engine();
      log(`local XGBoost engine: ${chosen}`);
      if (chosen === 'native') {
        await trainNative(input, python, log);
        // Hyperparameters such as booster=dart train natively but cannot be served here; fail the job now.
        await loadXgboostModelDir(input.modelDir).catch((e: unknown) => {
          throw new AlgorithmError(
            `the trained model cannot be served locally: ${e instanceof Error ? e.message : String(e)}`,
          );
        });
      } else {
        await trainWasm(input, settings, log);
      }
    },

    async serve(modelDir): Promise<ServedModel> {
      const model = await loadXgboostModelDir(modelDir);
      return {
        ping: async () => true,
        invocations: async (body, contentType) => {
          const { rows, json } = requestRows(body, contentType);
          const scores = predict(model, rows);
          return json
            ? {
                body: Buffer.from(JSON.stringify({ predictions: scores.map((score) => ({ score })) })),
                contentType: 'application/json',
              }
            : { body: Buffer.from(scores.join('\n')), contentType: 'text/csv' };
        },
      };
    },
  };
}

/** The XGBoost algorithm with the engine from MLOPS_LOCAL_XGBOOST (default: native when present, else WASM). */
export const xgboostAlgorithm: LocalAlgorithm = createXgboostAlgorithm();
