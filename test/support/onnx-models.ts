/**
 * Real XGBoost models for the edge-export tests, trained the way the pipeline trains them: rows
 * encoded by shared/pipeline/encoding.ts (vocabularies from the train rows only), label-first CSV,
 * the local SageMaker XGBoost algorithm (its WASM engine, so no Python is needed), and scores read
 * back through the algorithm's own serving code, which is what batch transform runs.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as z from 'zod';
import { airportDelayRecords, type Flight, flightLabel } from '../../infra/demo/flights.ts';
import {
  createXgboostAlgorithm,
  XGBOOST_MODEL_FILE,
  type XgboostEngine,
} from '../../infra/local/sagemaker/algorithms/xgboost.ts';
import { modelFeatures, type UseCase, UseCaseSchema } from '../../shared/config/use-case.ts';
import type { FeatureValue } from '../../shared/features/records.ts';
import { decodeOnnxModel, encodeOnnxModel } from '../../shared/models/onnx-proto.ts';
import { parseXgboostModel, type XgboostModel } from '../../shared/models/xgboost-model.ts';
import { predict } from '../../shared/models/xgboost-scorer.ts';
import { trainingHyperparameters } from '../../shared/pipeline/build-dataset.ts';
import {
  buildEncoding,
  type Encoding,
  encodeLabeledRow,
  featureEncoder,
  type SchemaColumn,
} from '../../shared/pipeline/encoding.ts';
import flightDelay from '../../use-cases/flight-delay.ts';

const run = promisify(execFile);

/** A row of raw features by name, as a snapshot row holds them. */
export type FeatureRow = Readonly<Record<string, FeatureValue>>;

/** A labelled row. */
export interface LabeledRow {
  readonly features: FeatureRow;
  readonly label: 0 | 1;
}

/** A model trained by the local SageMaker XGBoost algorithm, with what produced it. */
export interface TrainedModel {
  readonly encoding: Encoding;
  /** The `xgboost-model` file's bytes. */
  readonly modelBytes: Uint8Array;
  readonly model: XgboostModel;
  /** Scores rows as batch transform does: encoded to CSV, posted to the served model. */
  readonly batchTransform: (rows: readonly FeatureRow[]) => Promise<number[]>;
}

const algorithms = {
  wasm: createXgboostAlgorithm({ engine: 'wasm' }),
  native: createXgboostAlgorithm({ engine: 'native' }),
};

/**
 * Trains on `train` with the given schema and SageMaker hyperparameters (strings), with the local
 * algorithm's WASM engine (no Python needed) or its native one (Debian's python3-xgboost 1.7).
 */
export async function trainModel(
  schema: readonly SchemaColumn[],
  label: string,
  train: readonly LabeledRow[],
  hyperparameters: Readonly<Record<string, string>>,
  engine: XgboostEngine = 'wasm',
): Promise<TrainedModel> {
  const algorithm = algorithms[engine];
  const encoding = buildEncoding(
    schema,
    label,
    train.map((r) => r.features),
  );
  const encode = featureEncoder(encoding);
  const dir = await mkdtemp(join(tmpdir(), 'onnx-train-'));
  const [trainDir, modelDir, outputDir] = ['train', 'model', 'output'].map((d) => join(dir, d));
  if (!trainDir || !modelDir || !outputDir) throw new Error('unreachable');
  await Promise.all([trainDir, modelDir, outputDir].map((d) => mkdir(d)));
  await writeFile(
    join(trainDir, 'train.csv'),
    `${train.map((r) => encodeLabeledRow(encode, r.label, r.features)).join('\n')}\n`,
  );
  await algorithm.train({
    channels: { train: trainDir },
    hyperparameters,
    modelDir,
    outputDir,
    signal: new AbortController().signal,
  });
  const modelBytes = new Uint8Array(await readFile(join(modelDir, XGBOOST_MODEL_FILE)));
  const served = await algorithm.serve(modelDir);
  return {
    encoding,
    modelBytes,
    model: parseXgboostModel(modelBytes),
    batchTransform: async (rows) => {
      if (rows.length === 0) return [];
      const body = Buffer.from(rows.map((r) => encode(r)).join('\n'));
      const out = await served.invocations(body, 'text/csv');
      return out.body.toString('utf8').split('\n').map(Number);
    },
  };
}

/** Scores rows with the TypeScript scorer on the CSV the encoding writes (what serving sends). */
export function scorerScores(model: XgboostModel, encoding: Encoding, rows: readonly FeatureRow[]): number[] {
  const encode = featureEncoder(encoding);
  return predict(
    model,
    rows.map((r) =>
      encode(r)
        .split(',')
        .map((cell) => (cell === '' ? null : Number(cell))),
    ),
  );
}

// ---------------------------------------------------------------------------------------------
// (a) The demo's use case on vega-datasets' flights-5k: the same features and hyperparameters.

/** The demo use case, parsed. */
export const flightUseCase: UseCase = UseCaseSchema.parse(flightDelay);

const FlightsSchema = z.array(
  z.object({
    date: z.string().regex(/^\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}$/),
    delay: z.number(),
    distance: z.number(),
    origin: z.string(),
    destination: z.string(),
  }),
);

function readFlights(): Flight[] {
  const file = fileURLToPath(
    new URL('../../node_modules/vega-datasets/data/flights-5k.json', import.meta.url),
  );
  return FlightsSchema.parse(JSON.parse(readFileSync(file, 'utf8')))
    .map((f) => {
      const [y, mo, d, h, mi] = f.date.split(/[/ :]/).map(Number);
      // Like the demo: the scheduled local time, read as UTC.
      const time = Date.UTC(y ?? 0, (mo ?? 1) - 1, d ?? 1, h ?? 0, mi ?? 0);
      return { time, delay: f.delay, distance: f.distance, origin: f.origin, destination: f.destination };
    })
    .sort((a, b) => a.time - b.time);
}

/**
 * Labelled flight rows with the use case's features: the request features as the demo sends them,
 * and the airport's 2-hour delay rate from the demo's own aggregate, joined as of the flight's time
 * within the group's TTL (none yet for most airports of this small sample: missing values).
 */
export async function flightRows(): Promise<LabeledRow[]> {
  const flights = readFlights();
  const group = flightUseCase.featureGroups[0];
  if (!group) throw new Error('flight-delay has no feature group');
  const ttlMs = group.ttlSeconds * 1000;
  const history = new Map<string, { at: number; values: FeatureRow }[]>();
  async function* stream() {
    yield* flights;
  }
  for await (const r of airportDelayRecords(stream())) {
    const list = history.get(r.entityId) ?? [];
    list.push({ at: Date.parse(r.eventTime), values: r.values });
    history.set(r.entityId, list);
  }
  return flights.map((f) => {
    const event = flightLabel(f);
    const at = Date.parse(event.eventTime);
    const records = history.get(f.origin) ?? [];
    let latest: FeatureRow | undefined;
    for (const r of records) {
      if (r.at > at) break;
      if (at - r.at <= ttlMs) latest = r.values;
    }
    const groupValues = Object.fromEntries(group.features.map((g) => [g.name, latest?.[g.name] ?? null]));
    return { features: { ...groupValues, ...event.request }, label: event.label };
  });
}

/** The demo's model: its features in the pipeline's order, its hyperparameters and seed. */
export async function trainFlightModel(train: readonly LabeledRow[]): Promise<TrainedModel> {
  const schema = modelFeatures(flightUseCase).map((f) => ({ name: f.name, type: f.type }));
  const hyperparameters = trainingHyperparameters(
    flightUseCase.model.hyperparameters,
    flightUseCase.model.seed,
  );
  return trainModel(schema, flightUseCase.label.name, train, hyperparameters);
}

// ---------------------------------------------------------------------------------------------
// (b) Categoricals, missing values, a boolean and a non-default base score.

/** The synthetic schema: two categoricals, one never seen in training (empty vocabulary). */
export const SYNTHETIC_SCHEMA: readonly SchemaColumn[] = [
  { name: 'amount', type: 'number' },
  { name: 'channel', type: 'categorical' },
  { name: 'visits', type: 'integer' },
  { name: 'member', type: 'boolean' },
  { name: 'region', type: 'categorical' },
  { name: 'legacyCode', type: 'categorical' },
];

const CHANNELS = ['web', 'store', 'phone', 'partner'];
const REGIONS = ['north', 'south', 'east', 'west', 'central'];

/** Park-Miller, so the data is the same on every run. */
function random(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 16807) % 2147483647;
    return s / 2147483647;
  };
}

/** Rows whose label depends on every feature, with about 10% missing values per feature. */
export function syntheticRows(count: number, seed = 7): LabeledRow[] {
  const r = random(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  return Array.from({ length: count }, () => {
    const amount = r() < 0.1 ? null : Math.round(r() * 50000) / 100;
    const channel = r() < 0.1 ? null : pick(CHANNELS);
    const visits = r() < 0.1 ? null : Math.floor(r() * 20);
    const member = r() < 0.1 ? null : r() < 0.4;
    const region = r() < 0.1 ? null : pick(REGIONS);
    const logit =
      (amount === null ? 0.8 : amount / 100 - 2) +
      (channel === 'web' ? 1 : channel === 'partner' ? -1.2 : 0) +
      (visits === null ? -0.5 : visits / 5 - 1) +
      (member === true ? 0.7 : member === null ? 0.3 : 0) +
      (region === 'north' ? -0.8 : region === null ? 0.6 : 0) +
      (r() * 2 - 1);
    return {
      features: { amount, channel, visits, member, region, legacyCode: null },
      label: logit > 0 ? 1 : 0,
    };
  });
}

/** Trains the synthetic model with base_score 0.3 (so the base margin is logit(0.3), not 0). */
export function trainSyntheticModel(
  train: readonly LabeledRow[],
  engine: XgboostEngine = 'wasm',
): Promise<TrainedModel> {
  return trainModel(
    SYNTHETIC_SCHEMA,
    'converted',
    train,
    {
      objective: 'binary:logistic',
      num_round: '40',
      max_depth: '4',
      eta: '0.3',
      base_score: '0.3',
      seed: '11',
    },
    engine,
  );
}

/**
 * Writes a parsed model's trees as XGBoost 1.7 writes `model.json`, with `base_score` in output
 * space (1.x's convention: the parser applies the objective's link to reach the margin).
 */
export function xgboostJsonText(model: XgboostModel, baseScore: string): string {
  const numFeature = String(model.numFeature);
  return JSON.stringify({
    version: [1, 7, 4],
    learner: {
      attributes: {},
      feature_names: [],
      feature_types: [],
      learner_model_param: {
        base_score: baseScore,
        num_class: '0',
        num_feature: numFeature,
        num_target: '1',
      },
      objective: { name: model.objective, reg_loss_param: { scale_pos_weight: '1' } },
      gradient_booster: {
        name: 'gbtree',
        model: {
          gbtree_model_param: { num_parallel_tree: '1', num_trees: String(model.trees.length) },
          tree_info: model.trees.map(() => 0),
          trees: model.trees.map((t, id) => ({
            id,
            left_children: Array.from(t.left),
            right_children: Array.from(t.right),
            split_indices: Array.from(t.splitIndex),
            // A float32 printed as the shortest double that reads back to it.
            split_conditions: Array.from(t.value),
            default_left: Array.from(t.defaultLeft),
            split_type: Array.from(t.left, () => 0),
            tree_param: {
              num_deleted: '0',
              num_feature: numFeature,
              num_nodes: String(t.left.length),
              size_leaf_vector: '0',
            },
          })),
        },
      },
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Rows at the model's split points.

const f32Bits = new Float32Array(1);
const u32Bits = new Uint32Array(f32Bits.buffer);

/** The float32 `steps` representable values away from the float32 `x` (x must be finite). */
export function float32Step(x: number, steps: 1 | -1): number {
  f32Bits[0] = x;
  if (x === 0) {
    // The smallest subnormal on either side of zero.
    u32Bits[0] = steps > 0 ? 1 : 0x80000001;
    return f32Bits[0] ?? 0;
  }
  const bits = u32Bits[0] ?? 0;
  u32Bits[0] = x > 0 === steps > 0 ? bits + 1 : bits - 1;
  return f32Bits[0] ?? 0;
}

/** The split thresholds of every number and integer feature, by feature index (booleans only take true/false). */
export function numericThresholds(model: XgboostModel, encoding: Encoding): Map<number, Set<number>> {
  const out = new Map<number, Set<number>>();
  for (const tree of model.trees) {
    tree.left.forEach((left, n) => {
      if (left === -1) return;
      const feature = tree.splitIndex[n] ?? 0;
      const type = encoding.features[feature]?.type;
      if (type !== 'number' && type !== 'integer') return;
      const set = out.get(feature) ?? new Set<number>();
      set.add(tree.value[n] ?? 0);
      out.set(feature, set);
    });
  }
  return out;
}

/**
 * For every threshold t of every numeric feature, copies of each base row with that feature set
 * to t, to the float32 just below t and to the float32 just above.
 */
export function thresholdRows(
  model: XgboostModel,
  encoding: Encoding,
  baseRows: readonly FeatureRow[],
): FeatureRow[] {
  const rows: FeatureRow[] = [];
  for (const [feature, thresholds] of numericThresholds(model, encoding)) {
    const name = encoding.features[feature]?.name;
    if (name === undefined) continue;
    for (const t of thresholds) {
      for (const value of [float32Step(t, -1), t, float32Step(t, 1)]) {
        for (const base of baseRows) rows.push({ ...base, [name]: value });
      }
    }
  }
  return rows;
}

/**
 * A corrupted export: the first split threshold moved by max(1, |t|), so the rows
 * between the two values take the other branch. What the parity gate must refuse.
 */
export function shiftRootThreshold(onnx: Uint8Array): Uint8Array {
  const model = decodeOnnxModel(onnx);
  const trees = model.graph.node.find((n) => n.op_type === 'TreeEnsembleRegressor');
  const values = trees?.attribute.find((a) => a.name === 'nodes_values')?.floats;
  const modes = trees?.attribute.find((a) => a.name === 'nodes_modes')?.strings ?? [];
  if (!trees || !values) throw new Error('no TreeEnsembleRegressor with nodes_values in the graph');
  // Nodes are written tree by tree from each root: the first split node is the first split tree's root.
  const at = modes.findIndex((m) => new TextDecoder().decode(m) !== 'LEAF');
  if (at < 0) throw new Error('the model has no split to corrupt');
  const changed = [...values];
  changed[at] = (changed[at] ?? 0) + Math.max(1, Math.abs(changed[at] ?? 0));
  const node = {
    ...trees,
    attribute: trees.attribute.map((a) => (a.name === 'nodes_values' ? { ...a, floats: changed } : a)),
  };
  return encodeOnnxModel({
    ...model,
    graph: { ...model.graph, node: model.graph.node.map((n) => (n === trees ? node : n)) },
  });
}

// ---------------------------------------------------------------------------------------------
// The ONNX checker of python3-onnx.

/** The Python that sees Debian's python3-onnx (a pyenv python3 on PATH does not). */
export const ONNX_CHECKER_PYTHON = '/usr/bin/python3';

/** The installed onnx version, or undefined when that Python cannot import onnx. */
export async function onnxCheckerVersion(): Promise<string | undefined> {
  try {
    const { stdout } = await run(ONNX_CHECKER_PYTHON, ['-c', 'import onnx; print(onnx.__version__)']);
    return stdout.trim();
  } catch {
    return undefined;
  }
}

/** Runs `onnx.checker.check_model(onnx.load(path), full_check=True)` on each file; rejects with the checker's message. */
export async function checkOnnxFiles(paths: readonly string[]): Promise<string> {
  const script = [
    'import sys, onnx',
    'for path in sys.argv[1:]:',
    '    onnx.checker.check_model(onnx.load(path), full_check=True)',
    '    print("ok", path)',
  ].join('\n');
  const { stdout } = await run(ONNX_CHECKER_PYTHON, ['-c', script, ...paths]);
  return stdout;
}
