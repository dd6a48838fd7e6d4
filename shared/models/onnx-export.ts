/**
 * Exports a parsed XGBoost model and its run's encoding as one ONNX model that takes the raw named
 * features and returns the score, for scoring outside SageMaker (issue 17).
 *
 * The graph, in the operator sets of ONNX 1.12 (IR 8, ai.onnx 17, ai.onnx.ml 3):
 * - one input per feature of the encoding, named after it, shaped [N,1]: float32 for number,
 *   integer and boolean (1/0) features, NaN for missing; string for categoricals, '' for missing;
 * - each categorical goes through an ai.onnx.ml LabelEncoder holding its train-split vocabulary
 *   (category -> code, anything else -> NaN, as the encoding sends an unseen category as missing);
 * - Concat in the encoding's column order, then ±Infinity -> NaN (the encoding sends a non-finite
 *   number as missing);
 * - an ai.onnx.ml TreeEnsembleRegressor with every tree of the model: BRANCH_LT nodes
 *   (`x < threshold` goes to the true branch, XGBoost's left child), the thresholds and leaf values
 *   written as the model's own float32 values (never through decimal text), each node's default
 *   direction as `nodes_missing_value_tracks_true`, and the model's base margin as `base_values`;
 * - the objective's transform (Sigmoid for binary:logistic) into the `score` output, float32 [N,1].
 *
 * Everything is computed in float32, as XGBoost does. onnxruntime adds the base margin after the sum
 * of the leaves where XGBoost starts from it, and its Sigmoid is a vectorized approximation: a few
 * float32 roundings apart (on the tests' models, margins within 3e-6 and scores within 2e-7; with a
 * zero base margin the margins are bit for bit XGBoost's).
 */
import type { EncodedFeature, Encoding } from '../pipeline/encoding.ts';
import {
  encodeOnnxModel,
  type OnnxAttribute,
  type OnnxDimension,
  type OnnxNode,
  type OnnxTensor,
  type OnnxValueInfo,
  onnxAttributeType,
  onnxDataType,
} from './onnx-proto.ts';
import type { XgboostModel, XgboostTree } from './xgboost-model.ts';

/** The IR version written: ONNX 1.12's, the newest the onnx checker of these machines (python3-onnx 1.12) validates. */
export const ONNX_IR_VERSION = 8;

/** The operator sets the graph imports (ONNX 1.12's; onnxruntime has run them since 1.12). */
export const ONNX_OPSETS: readonly { readonly domain: string; readonly version: number }[] = [
  { domain: '', version: 17 },
  { domain: 'ai.onnx.ml', version: 3 },
];

/** Written as producer_version; raised whenever the layout of the exported graph changes. */
export const ONNX_EXPORTER_VERSION = '1';

/** Written as producer_name. */
export const ONNX_PRODUCER_NAME = 'serverless-mlops edge export';

/** The dimension name of the batch axis of every input and of the output. */
export const ONNX_BATCH_DIMENSION = 'N';

/** Metadata keys the exporter writes into `metadata_props`. */
export const ONNX_METADATA_KEYS = {
  objective: 'xgboost_objective',
  format: 'xgboost_format',
  trees: 'xgboost_trees',
  modelVersion: 'model_version',
  sourceModelSha256: 'source_model_sha256',
} as const;

/** Options of {@link toOnnx}. */
export interface OnnxExportOptions {
  /**
   * Name of the graph, for example the use case's name.
   * @default 'xgboost'
   */
  readonly graphName?: string;
  /**
   * Name of the score output.
   * @default 'score'
   */
  readonly outputName?: string;
  /**
   * The model version exported (`<useCase>:v<n>`), written to metadata_props as model_version.
   * @default not written
   */
  readonly modelVersion?: string;
  /**
   * sha256 (hex) of the source model file, written to metadata_props as source_model_sha256.
   * @default not written
   */
  readonly sourceModelSha256?: string;
  /**
   * Further metadata_props entries; keys the exporter writes itself are refused.
   * @default none
   */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** Raised when a model and an encoding cannot be exported together; the message names the bad value. */
export class OnnxExportError extends Error {
  override readonly name: string = 'OnnxExportError';
}

const ML_DOMAIN = 'ai.onnx.ml';
const NUMERIC_TYPES: ReadonlySet<string> = new Set<EncodedFeature['type']>(['number', 'integer', 'boolean']);
/** Internal value names contain '/', which no feature name can (letters, digits, underscores). */
const FEATURES_RAW = 'encode/features_raw';
const FEATURES = 'encode/features';
const INFINITE = 'encode/infinite';
const NAN = 'encode/nan';
const MARGIN = 'trees/margin';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

const attr = {
  float: (name: string, f: number): OnnxAttribute => ({ name, type: onnxAttributeType('FLOAT'), f }),
  int: (name: string, i: number): OnnxAttribute => ({ name, type: onnxAttributeType('INT'), i }),
  string: (name: string, s: string): OnnxAttribute => ({
    name,
    type: onnxAttributeType('STRING'),
    s: utf8(s),
  }),
  tensor: (name: string, t: OnnxTensor): OnnxAttribute => ({ name, type: onnxAttributeType('TENSOR'), t }),
  floats: (name: string, floats: readonly number[]): OnnxAttribute => ({
    name,
    type: onnxAttributeType('FLOATS'),
    floats,
  }),
  ints: (name: string, ints: readonly number[]): OnnxAttribute => ({
    name,
    type: onnxAttributeType('INTS'),
    ints,
  }),
  strings: (name: string, strings: readonly string[]): OnnxAttribute => ({
    name,
    type: onnxAttributeType('STRINGS'),
    strings: strings.map(utf8),
  }),
};

function node(
  opType: string,
  name: string,
  input: readonly string[],
  output: readonly string[],
  attribute: readonly OnnxAttribute[] = [],
  domain = '',
): OnnxNode {
  return { op_type: opType, name, input, output, attribute, ...(domain ? { domain } : {}) };
}

function floatTensor(name: string, dims: readonly number[], values: readonly number[]): OnnxTensor {
  return { name, dims, data_type: onnxDataType('FLOAT'), float_data: values };
}

function tensorInfo(name: string, elemType: number, doc: string): OnnxValueInfo {
  const dim: OnnxDimension[] = [{ dim_param: ONNX_BATCH_DIMENSION }, { dim_value: 1 }];
  return { name, type: { tensor_type: { elem_type: elemType, shape: { dim } } }, doc_string: doc };
}

function checkEncoding(model: XgboostModel, encoding: Encoding, outputName: string): void {
  const features = encoding.features;
  if (features.length === 0) throw new OnnxExportError('the encoding has no features');
  const names = new Set<string>();
  for (const f of features) {
    if (f.name === '' || f.name.includes('/')) {
      throw new OnnxExportError(
        `feature name ${JSON.stringify(f.name)} is empty or holds '/' (kept for internal names)`,
      );
    }
    if (names.has(f.name)) throw new OnnxExportError(`the encoding names feature ${f.name} twice`);
    names.add(f.name);
    if (f.type === 'categorical') {
      const seen = new Set<string>();
      for (const v of f.vocabulary) {
        if (seen.has(v))
          throw new OnnxExportError(`feature ${f.name}: category ${JSON.stringify(v)} appears twice`);
        seen.add(v);
      }
    } else if (!NUMERIC_TYPES.has(f.type)) {
      // Encodings are read from encoding.json, so the union type is not a guarantee.
      throw new OnnxExportError(`feature ${f.name} has type ${String(f.type)}, which cannot be exported`);
    }
  }
  if (outputName === '' || outputName.includes('/')) {
    throw new OnnxExportError(
      `output name ${JSON.stringify(outputName)} is empty or holds '/' (kept for internal names)`,
    );
  }
  if (names.has(outputName)) {
    throw new OnnxExportError(`output name ${outputName} is also a feature name; pass another outputName`);
  }
  if (model.numFeature > features.length) {
    throw new OnnxExportError(
      `the model was trained with ${model.numFeature} features but the encoding has ${features.length}`,
    );
  }
  if (model.trees.length === 0) throw new OnnxExportError('the model has no trees');
  model.trees.forEach((tree, t) => {
    tree.splitIndex.forEach((feature, n) => {
      if ((tree.left[n] ?? -1) !== -1 && feature >= features.length) {
        throw new OnnxExportError(
          `tree ${t} node ${n} splits on feature ${feature} but the encoding has ${features.length}`,
        );
      }
    });
  });
}

/** The encoding nodes: a LabelEncoder per categorical, Concat in column order, ±Infinity to NaN. */
function encodingNodes(encoding: Encoding): { nodes: OnnxNode[]; initializers: OnnxTensor[] } {
  const nodes: OnnxNode[] = [];
  const columns = encoding.features.map((f) => {
    if (f.type !== 'categorical') return f.name;
    const code = `encode/${f.name}`;
    if (f.vocabulary.length === 0) {
      // No train row had a category: every value is missing. A LabelEncoder needs at least one key.
      nodes.push(node('Shape', `${code}/shape`, [f.name], [`${code}/shape`]));
      nodes.push(
        node(
          'ConstantOfShape',
          `${code}/missing`,
          [`${code}/shape`],
          [code],
          [attr.tensor('value', floatTensor('', [1], [Number.NaN]))],
        ),
      );
    } else {
      nodes.push(
        node(
          'LabelEncoder',
          code,
          [f.name],
          [code],
          [
            attr.strings('keys_strings', f.vocabulary),
            attr.floats(
              'values_floats',
              f.vocabulary.map((_, i) => i),
            ),
            attr.float('default_float', Number.NaN),
          ],
          ML_DOMAIN,
        ),
      );
    }
    return code;
  });
  nodes.push(node('Concat', 'encode/concat', columns, [FEATURES_RAW], [attr.int('axis', 1)]));
  nodes.push(node('IsInf', 'encode/is_inf', [FEATURES_RAW], [INFINITE]));
  nodes.push(node('Where', 'encode/inf_to_missing', [INFINITE, NAN, FEATURES_RAW], [FEATURES]));
  return { nodes, initializers: [floatTensor(NAN, [], [Number.NaN])] };
}

interface TreeAttributes {
  treeIds: number[];
  nodeIds: number[];
  featureIds: number[];
  modes: string[];
  values: number[];
  trueIds: number[];
  falseIds: number[];
  missingTrue: number[];
  targetTreeIds: number[];
  targetNodeIds: number[];
  targetWeights: number[];
}

/**
 * Appends one tree in depth-first order from the root, renumbering its reachable nodes 0, 1, 2...
 * as the operator requires (XGBoost may keep deleted nodes in its arrays).
 */
function appendTree(out: TreeAttributes, tree: XgboostTree, treeId: number): void {
  const ids = new Map<number, number>();
  const order: number[] = [];
  const stack = [0];
  while (stack.length > 0) {
    const n = stack.pop() ?? 0;
    ids.set(n, order.length);
    order.push(n);
    const left = tree.left[n] ?? -1;
    if (left !== -1) stack.push(tree.right[n] ?? -1, left);
  }
  for (const n of order) {
    const left = tree.left[n] ?? -1;
    const id = ids.get(n) ?? -1;
    // tree.value is a Float32Array: these numbers are the model's float32 values, exactly.
    const value = tree.value[n] ?? 0;
    out.treeIds.push(treeId);
    out.nodeIds.push(id);
    if (left === -1) {
      out.featureIds.push(0);
      out.modes.push('LEAF');
      out.values.push(0);
      out.trueIds.push(0);
      out.falseIds.push(0);
      out.missingTrue.push(0);
      out.targetTreeIds.push(treeId);
      out.targetNodeIds.push(id);
      out.targetWeights.push(value);
    } else {
      out.featureIds.push(tree.splitIndex[n] ?? 0);
      out.modes.push('BRANCH_LT');
      out.values.push(value);
      out.trueIds.push(ids.get(left) ?? -1);
      out.falseIds.push(ids.get(tree.right[n] ?? -1) ?? -1);
      out.missingTrue.push(tree.defaultLeft[n] === 1 ? 1 : 0);
    }
  }
}

function treeEnsembleNode(model: XgboostModel): OnnxNode {
  const a: TreeAttributes = {
    treeIds: [],
    nodeIds: [],
    featureIds: [],
    modes: [],
    values: [],
    trueIds: [],
    falseIds: [],
    missingTrue: [],
    targetTreeIds: [],
    targetNodeIds: [],
    targetWeights: [],
  };
  model.trees.forEach((tree, i) => {
    appendTree(a, tree, i);
  });
  return node(
    'TreeEnsembleRegressor',
    'trees',
    [FEATURES],
    [MARGIN],
    [
      attr.int('n_targets', 1),
      attr.string('aggregate_function', 'SUM'),
      attr.string('post_transform', 'NONE'),
      // The margin every prediction starts from, already through the objective's link as the
      // parser computed it (base_score in output space for 1.x models, a margin for 0.7x ones).
      attr.floats('base_values', [model.baseMargin]),
      attr.ints('nodes_treeids', a.treeIds),
      attr.ints('nodes_nodeids', a.nodeIds),
      attr.ints('nodes_featureids', a.featureIds),
      attr.strings('nodes_modes', a.modes),
      attr.floats('nodes_values', a.values),
      attr.ints('nodes_truenodeids', a.trueIds),
      attr.ints('nodes_falsenodeids', a.falseIds),
      attr.ints('nodes_missing_value_tracks_true', a.missingTrue),
      attr.ints('target_treeids', a.targetTreeIds),
      attr.ints('target_nodeids', a.targetNodeIds),
      attr.ints(
        'target_ids',
        a.targetWeights.map(() => 0),
      ),
      attr.floats('target_weights', a.targetWeights),
    ],
    ML_DOMAIN,
  );
}

/** The objective's output transform, from the margin to the score output. */
function transformNodes(
  model: XgboostModel,
  output: string,
): { nodes: OnnxNode[]; initializers: OnnxTensor[] } {
  switch (model.transform) {
    case 'sigmoid':
      return { nodes: [node('Sigmoid', 'transform/sigmoid', [MARGIN], [output])], initializers: [] };
    case 'exp':
      return { nodes: [node('Exp', 'transform/exp', [MARGIN], [output])], initializers: [] };
    case 'identity':
      return { nodes: [node('Identity', 'transform/identity', [MARGIN], [output])], initializers: [] };
    case 'hinge': {
      // XGBoost's binary:hinge predicts 1 when the margin is above 0, else 0.
      const zero = 'transform/zero';
      return {
        nodes: [
          node('Greater', 'transform/positive', [MARGIN, zero], ['transform/positive']),
          node(
            'Cast',
            'transform/cast',
            ['transform/positive'],
            [output],
            [attr.int('to', onnxDataType('FLOAT'))],
          ),
        ],
        initializers: [floatTensor(zero, [], [0])],
      };
    }
  }
}

function metadataProps(model: XgboostModel, options: OnnxExportOptions): { key: string; value: string }[] {
  const own: Record<string, string> = {
    [ONNX_METADATA_KEYS.objective]: model.objective,
    [ONNX_METADATA_KEYS.format]: model.format,
    [ONNX_METADATA_KEYS.trees]: String(model.trees.length),
  };
  if (options.modelVersion !== undefined) own[ONNX_METADATA_KEYS.modelVersion] = options.modelVersion;
  if (options.sourceModelSha256 !== undefined) {
    if (!/^[0-9a-f]{64}$/.test(options.sourceModelSha256)) {
      throw new OnnxExportError(
        `sourceModelSha256 must be 64 lowercase hex digits, got ${JSON.stringify(options.sourceModelSha256)}`,
      );
    }
    own[ONNX_METADATA_KEYS.sourceModelSha256] = options.sourceModelSha256;
  }
  for (const key of Object.keys(options.metadata ?? {})) {
    if (Object.values(ONNX_METADATA_KEYS).some((k) => k === key)) {
      throw new OnnxExportError(`metadata key ${key} is written by the exporter; use the option instead`);
    }
  }
  return Object.entries({ ...own, ...options.metadata }).map(([key, value]) => ({ key, value }));
}

/**
 * Converts a parsed XGBoost model and the encoding of the run that trained it into a serialized
 * ONNX ModelProto: raw named features in, `score` (float32 [N,1]) out.
 */
export function toOnnx(model: XgboostModel, encoding: Encoding, options: OnnxExportOptions = {}): Uint8Array {
  const outputName = options.outputName ?? 'score';
  checkEncoding(model, encoding, outputName);
  const encode = encodingNodes(encoding);
  const transform = transformNodes(model, outputName);
  const inputs = encoding.features.map((f) =>
    f.type === 'categorical'
      ? tensorInfo(
          f.name,
          onnxDataType('STRING'),
          `categorical; one of ${f.vocabulary.length} train categories, '' or any other value is missing`,
        )
      : tensorInfo(
          f.name,
          onnxDataType('FLOAT'),
          f.type === 'boolean'
            ? 'boolean as 1 or 0; NaN is missing'
            : `${f.type}; NaN or ±Infinity is missing`,
        ),
  );
  return encodeOnnxModel({
    ir_version: ONNX_IR_VERSION,
    opset_import: ONNX_OPSETS,
    producer_name: ONNX_PRODUCER_NAME,
    producer_version: ONNX_EXPORTER_VERSION,
    doc_string: `XGBoost ${model.objective} model (${model.trees.length} trees) with its encoding; raw features in, ${outputName} out`,
    graph: {
      name: options.graphName ?? 'xgboost',
      node: [...encode.nodes, treeEnsembleNode(model), ...transform.nodes],
      initializer: [...encode.initializers, ...transform.initializers],
      input: inputs,
      output: [
        tensorInfo(
          outputName,
          onnxDataType('FLOAT'),
          model.transform === 'sigmoid'
            ? 'probability of the positive class'
            : `${model.objective} prediction`,
        ),
      ],
    },
    metadata_props: metadataProps(model, options),
  });
}
