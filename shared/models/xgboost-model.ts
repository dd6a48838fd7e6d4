/**
 * XGBoost gradient-boosted tree models as plain data, read from the two formats XGBoost writes:
 * the JSON model (`save_model('x.json')`, XGBoost 1.x) and the legacy binary model (what
 * `save_model` writes without a `.json` extension in 1.x, what SageMaker's built-in XGBoost puts
 * in model.tar.gz, and what the 0.7x-era WASM build ml-xgboost produces). Only the parts that
 * prediction needs are kept; every tree is checked so the scorer can walk it without guards.
 */
import * as z from 'zod';

/** How a summed margin becomes the objective's output (XGBoost's `PredTransform`). */
export type XgboostTransform = 'sigmoid' | 'identity' | 'exp' | 'hinge';

/** One regression tree, one entry per node (node 0 is the root). */
export interface XgboostTree {
  /** Left child per node; -1 marks a leaf. */
  readonly left: Int32Array;
  /** Right child per node; -1 marks a leaf. */
  readonly right: Int32Array;
  /** Feature index a split node tests. */
  readonly splitIndex: Uint32Array;
  /** Split threshold for split nodes (go left when `x < threshold`), leaf value for leaves, as float32. */
  readonly value: Float32Array;
  /** 1 when a missing value goes to the left child. */
  readonly defaultLeft: Uint8Array;
}

/** Which writer produced a parsed model. */
export type XgboostModelFormat = 'json' | 'binary-1.x' | 'binary-0.7x';

/** A single-output gradient-boosted tree model ready for {@link predict} in xgboost-scorer.ts. */
export interface XgboostModel {
  readonly format: XgboostModelFormat;
  /** The training objective, e.g. `binary:logistic`. */
  readonly objective: string;
  readonly transform: XgboostTransform;
  /** The float32 margin every prediction starts from (base_score after the objective's link). */
  readonly baseMargin: number;
  /** Number of features the model was trained with; longer rows are rejected. */
  readonly numFeature: number;
  readonly trees: readonly XgboostTree[];
  /** Learner attributes stored with the model (best_iteration, ...). */
  readonly attributes: Readonly<Record<string, string>>;
}

/** Raised when bytes or text are not a well-formed XGBoost model. */
export class XgboostModelFormatError extends Error {
  override readonly name: string = 'XgboostModelFormatError';
}

/** Raised for a well-formed model this scorer does not implement (multi-class, dart, categorical splits). */
export class UnsupportedXgboostModelError extends Error {
  override readonly name: string = 'UnsupportedXgboostModelError';
}

interface ObjectiveLink {
  readonly transform: XgboostTransform;
  /** XGBoost's `ProbToMargin`, applied in float32 to base_score. */
  readonly toMargin: (baseScore: number) => number;
}

const f32 = Math.fround;
const logit = (p: number): number => f32(-Math.log(f32(f32(1 / p) - 1)));
const logOf = (p: number): number => f32(Math.log(p));
const same = (p: number): number => f32(p);

const OBJECTIVES: Readonly<Record<string, ObjectiveLink>> = {
  'binary:logistic': { transform: 'sigmoid', toMargin: logit },
  'reg:logistic': { transform: 'sigmoid', toMargin: logit },
  'binary:logitraw': { transform: 'identity', toMargin: logit },
  'binary:hinge': { transform: 'hinge', toMargin: same },
  'reg:squarederror': { transform: 'identity', toMargin: same },
  'reg:linear': { transform: 'identity', toMargin: same },
  'reg:squaredlogerror': { transform: 'identity', toMargin: same },
  'reg:pseudohubererror': { transform: 'identity', toMargin: same },
  'reg:absoluteerror': { transform: 'identity', toMargin: same },
  'count:poisson': { transform: 'exp', toMargin: logOf },
  'reg:gamma': { transform: 'exp', toMargin: logOf },
  'reg:tweedie': { transform: 'exp', toMargin: logOf },
};

/** Objectives whose output transform this scorer implements. */
export const SUPPORTED_XGBOOST_OBJECTIVES: readonly string[] = Object.keys(OBJECTIVES);

function objectiveLink(objective: string): ObjectiveLink {
  const link = OBJECTIVES[objective];
  if (!link) {
    throw new UnsupportedXgboostModelError(
      `objective ${objective} is not supported; supported: ${Object.keys(OBJECTIVES).join(', ')}`,
    );
  }
  return link;
}

function checkSingleOutput(numClass: number, groups: number): void {
  if (numClass > 1 || groups > 1) {
    throw new UnsupportedXgboostModelError(
      `multi-class models are not supported (num_class=${numClass}, output groups=${groups})`,
    );
  }
}

/** Checks that every node reachable from the root is visited once and every child index is in range. */
function checkTree(tree: XgboostTree, index: number, numFeature: number): void {
  const n = tree.left.length;
  if (n === 0) throw new XgboostModelFormatError(`tree ${index} has no nodes`);
  const seen = new Uint8Array(n);
  const stack = [0];
  while (stack.length > 0) {
    const node = stack.pop() ?? 0;
    if (seen[node] === 1) throw new XgboostModelFormatError(`tree ${index}: node ${node} is reached twice`);
    seen[node] = 1;
    const l = tree.left[node] ?? -1;
    const r = tree.right[node] ?? -1;
    if (l === -1 && r === -1) continue;
    if (l < 0 || l >= n || r < 0 || r >= n) {
      throw new XgboostModelFormatError(
        `tree ${index}: node ${node} has children ${l}/${r} outside 0..${n - 1}`,
      );
    }
    const feature = tree.splitIndex[node] ?? 0;
    if (numFeature > 0 && feature >= numFeature) {
      throw new XgboostModelFormatError(
        `tree ${index}: node ${node} splits on feature ${feature} but the model has ${numFeature}`,
      );
    }
    stack.push(r, l);
  }
}

function checkedModel(model: XgboostModel): XgboostModel {
  model.trees.forEach((tree, i) => {
    checkTree(tree, i, model.numFeature);
  });
  return model;
}

// ---------------------------------------------------------------------------------------------
// JSON model (XGBoost 1.x `save_model('x.json')`)

const IntStringSchema = z
  .string()
  .regex(/^-?\d+$/)
  .transform((s) => Number.parseInt(s, 10));
const FloatStringSchema = z
  .string()
  .refine((s) => Number.isFinite(Number(s)), 'must be a number')
  .transform(Number);

const JsonTreeSchema = z.object({
  left_children: z.array(z.number().int()),
  right_children: z.array(z.number().int()),
  split_indices: z.array(z.number().int().nonnegative()),
  split_conditions: z.array(z.number()),
  // XGBoost 1.0-1.2 wrote booleans, later versions 0/1.
  default_left: z.array(z.union([z.boolean(), z.number().int()])),
  split_type: z.array(z.number().int()).optional(),
  tree_param: z.looseObject({ num_nodes: IntStringSchema, size_leaf_vector: IntStringSchema.optional() }),
});

const XgboostJsonSchema = z.object({
  version: z.array(z.number().int()).optional(),
  learner: z.looseObject({
    attributes: z.record(z.string(), z.string()).optional(),
    learner_model_param: z.looseObject({
      base_score: FloatStringSchema,
      num_class: IntStringSchema,
      num_feature: IntStringSchema,
      num_target: IntStringSchema.optional(),
    }),
    objective: z.looseObject({ name: z.string() }),
    gradient_booster: z.looseObject({
      name: z.string(),
      model: z
        .looseObject({
          gbtree_model_param: z.looseObject({ num_trees: IntStringSchema }),
          tree_info: z.array(z.number().int()),
          trees: z.array(JsonTreeSchema),
        })
        .optional(),
    }),
  }),
});

function jsonTree(raw: z.infer<typeof JsonTreeSchema>, index: number): XgboostTree {
  const n = raw.tree_param.num_nodes;
  const columns = [
    raw.left_children,
    raw.right_children,
    raw.split_indices,
    raw.split_conditions,
    raw.default_left,
  ] as const;
  if (columns.some((c) => c.length !== n)) {
    throw new XgboostModelFormatError(`tree ${index}: node arrays do not all have num_nodes=${n} entries`);
  }
  if ((raw.tree_param.size_leaf_vector ?? 0) > 1) {
    throw new UnsupportedXgboostModelError(`tree ${index}: vector leaves are not supported`);
  }
  if (raw.split_type?.some((t) => t !== 0)) {
    throw new UnsupportedXgboostModelError(`tree ${index}: categorical splits are not supported`);
  }
  return {
    left: Int32Array.from(raw.left_children),
    right: Int32Array.from(raw.right_children),
    splitIndex: Uint32Array.from(raw.split_indices),
    // Float32Array rounds each JSON number to the float32 XGBoost printed it from.
    value: Float32Array.from(raw.split_conditions),
    defaultLeft: Uint8Array.from(raw.default_left, (d) => (d === true || d === 1 ? 1 : 0)),
  };
}

/** Parses XGBoost's JSON model format (`bst.save_model('model.json')`, XGBoost 1.0 to 1.7). */
export function parseXgboostJson(text: string): XgboostModel {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new XgboostModelFormatError(`not JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  const parsed = XgboostJsonSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new XgboostModelFormatError(
      `not an XGBoost JSON model: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid'}`,
    );
  }
  const learner = parsed.data.learner;
  const booster = learner.gradient_booster;
  if (booster.name !== 'gbtree' || !booster.model) {
    throw new UnsupportedXgboostModelError(`booster ${booster.name} is not supported; only gbtree`);
  }
  const param = learner.learner_model_param;
  const groups = booster.model.tree_info.reduce((most, g) => Math.max(most, g + 1), param.num_target ?? 1);
  checkSingleOutput(param.num_class, groups);
  const objective = learner.objective.name;
  const link = objectiveLink(objective);
  if (booster.model.trees.length !== booster.model.gbtree_model_param.num_trees) {
    throw new XgboostModelFormatError(
      `num_trees=${booster.model.gbtree_model_param.num_trees} but ${booster.model.trees.length} trees are stored`,
    );
  }
  return checkedModel({
    format: 'json',
    objective,
    transform: link.transform,
    // 1.x stores base_score in output space; prediction starts from its margin.
    baseMargin: link.toMargin(f32(param.base_score)),
    numFeature: param.num_feature,
    trees: booster.model.trees.map(jsonTree),
    attributes: learner.attributes ?? {},
  });
}

// ---------------------------------------------------------------------------------------------
// Legacy binary model (dmlc::Stream of packed little-endian structs)

/** sizeof(LearnerModelParam): base_score, num_feature, num_class, contain_extra_attrs, contain_eval_metrics, 29 ints. */
const LEARNER_PARAM_BYTES = 136;
/** sizeof(GBTreeModelParam): 4 ints, one int64, 2 ints, 32 reserved ints. */
const GBTREE_PARAM_BYTES = 160;
/** sizeof(TreeParam): 6 ints and 31 reserved. */
const TREE_PARAM_BYTES = 148;
/** sizeof(RegTree::Node): parent, cleft, cright, sindex, leaf value or split condition. */
const NODE_BYTES = 20;
/** sizeof(RTreeNodeStat): loss_chg, sum_hess, base_weight, leaf_child_cnt. */
const NODE_STAT_BYTES = 16;

class BinaryReader {
  private offset = 0;

  constructor(private readonly bytes: Uint8Array) {}

  get position(): number {
    return this.offset;
  }

  get remaining(): number {
    return this.bytes.byteLength - this.offset;
  }

  /** Returns a view of the next `n` bytes and moves past them. */
  take(n: number, what: string): DataView {
    if (n < 0 || n > this.remaining) {
      throw new XgboostModelFormatError(
        `truncated model: ${what} needs ${n} bytes at offset ${this.offset}, ${this.remaining} left`,
      );
    }
    const view = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.offset, n);
    this.offset += n;
    return view;
  }

  peekAscii(n: number): string {
    return new TextDecoder('latin1').decode(this.bytes.subarray(this.offset, this.offset + n));
  }

  u64(what: string): number {
    const value = this.take(8, what).getBigUint64(0, true);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new XgboostModelFormatError(`${what} is ${value}, not a plausible length`);
    }
    return Number(value);
  }

  /** dmlc::Stream's std::string: a uint64 length and the bytes. */
  string(what: string): string {
    const length = this.u64(`${what} length`);
    const view = this.take(length, what);
    return new TextDecoder().decode(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
  }
}

function readObjectiveName(reader: BinaryReader): string {
  // Models from before dmlc::Stream strings stored a 32-bit length followed by a 32-bit gap,
  // which reads as a huge uint64; XGBoost keeps the same compatibility branch.
  const raw = reader.take(8, 'objective length').getBigUint64(0, true);
  let length = raw;
  if (raw >= 0xffffffffn) {
    reader.take(4, 'objective length gap');
    length = raw >> 32n;
  }
  if (length > BigInt(reader.remaining)) {
    throw new XgboostModelFormatError(`objective name length ${length} exceeds the model size`);
  }
  const view = reader.take(Number(length), 'objective name');
  return new TextDecoder().decode(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
}

function readTree(reader: BinaryReader, index: number): XgboostTree {
  const param = reader.take(TREE_PARAM_BYTES, `tree ${index} parameters`);
  const numNodes = param.getInt32(4, true);
  const sizeLeafVector = param.getInt32(20, true);
  if (numNodes <= 0) throw new XgboostModelFormatError(`tree ${index} has num_nodes=${numNodes}`);
  const nodes = reader.take(numNodes * NODE_BYTES, `tree ${index} nodes`);
  reader.take(numNodes * NODE_STAT_BYTES, `tree ${index} node statistics`);
  if (sizeLeafVector !== 0) {
    const length = reader.u64(`tree ${index} leaf vector length`);
    if (length !== 0)
      throw new UnsupportedXgboostModelError(`tree ${index}: vector leaves are not supported`);
  }
  const tree: XgboostTree = {
    left: new Int32Array(numNodes),
    right: new Int32Array(numNodes),
    splitIndex: new Uint32Array(numNodes),
    value: new Float32Array(numNodes),
    defaultLeft: new Uint8Array(numNodes),
  };
  for (let i = 0; i < numNodes; i++) {
    const at = i * NODE_BYTES;
    tree.left[i] = nodes.getInt32(at + 4, true);
    tree.right[i] = nodes.getInt32(at + 8, true);
    // sindex_: the top bit is the default direction, the rest the feature index.
    const sindex = nodes.getUint32(at + 12, true);
    tree.splitIndex[i] = sindex & 0x7fffffff;
    tree.defaultLeft[i] = sindex >>> 31;
    tree.value[i] = nodes.getFloat32(at + 16, true);
  }
  return tree;
}

/**
 * Parses XGBoost's legacy binary model: the 0.7x layout (ml-xgboost's `toJSON().model` bytes; its
 * signed byte values are accepted as they are) and the 1.x layout (`binf` magic, version fields,
 * extra attributes), as SageMaker's built-in XGBoost 1.7-1 writes to `xgboost-model`.
 */
export function parseXgboostLegacyBinary(buffer: Uint8Array | ArrayLike<number>): XgboostModel {
  const bytes = buffer instanceof Uint8Array ? buffer : Uint8Array.from(buffer);
  const reader = new BinaryReader(bytes);
  const magic = reader.peekAscii(4);
  if (magic === 'bs64') throw new UnsupportedXgboostModelError('base64 (bs64) models are not supported');
  if (magic === 'binf') reader.take(4, 'magic');
  if (magic.startsWith('{')) {
    throw new XgboostModelFormatError('this is a JSON model; use parseXgboostJson');
  }
  const learner = reader.take(LEARNER_PARAM_BYTES, 'learner parameters');
  const storedBaseScore = learner.getFloat32(0, true);
  const numFeature = learner.getUint32(4, true);
  const numClass = learner.getInt32(8, true);
  const containExtraAttrs = learner.getInt32(12, true);
  // 0.7x leaves this reserved word at 0; 1.x writes its major version.
  const majorVersion = learner.getUint32(20, true);
  const objective = readObjectiveName(reader);
  const boosterName = reader.string('booster name');
  if (boosterName !== 'gbtree') {
    throw new UnsupportedXgboostModelError(`booster ${boosterName} is not supported; only gbtree`);
  }
  const link = objectiveLink(objective);
  const gbtree = reader.take(GBTREE_PARAM_BYTES, 'gbtree parameters');
  const numTrees = gbtree.getInt32(0, true);
  const numOutputGroup = gbtree.getInt32(24, true);
  checkSingleOutput(numClass, numOutputGroup);
  if (numTrees < 0) throw new XgboostModelFormatError(`num_trees=${numTrees}`);
  const trees: XgboostTree[] = [];
  for (let i = 0; i < numTrees; i++) trees.push(readTree(reader, i));
  if (numTrees > 0) reader.take(numTrees * 4, 'tree_info');
  const attributes: Record<string, string> = {};
  if (containExtraAttrs !== 0) {
    const count = reader.u64('attribute count');
    for (let i = 0; i < count; i++) {
      const key = reader.string('attribute name');
      attributes[key] = reader.string(`attribute ${key}`);
    }
  }
  // count:poisson models carry max_delta_step after everything else.
  if (objective === 'count:poisson' && reader.remaining > 0) reader.string('max_delta_step');
  if (reader.remaining !== 0) {
    throw new XgboostModelFormatError(
      `${reader.remaining} unexpected bytes after the model at offset ${reader.position}`,
    );
  }
  const major1 = majorVersion >= 1;
  return checkedModel({
    format: major1 ? 'binary-1.x' : 'binary-0.7x',
    objective,
    transform: link.transform,
    // Before 1.0 the stored base_score is already a margin; 1.x stores it in output space.
    baseMargin: major1 ? link.toMargin(storedBaseScore) : f32(storedBaseScore),
    numFeature,
    trees,
    attributes,
  });
}

/** Parses either format, telling them apart by the first byte (`{` starts a JSON model). */
export function parseXgboostModel(bytes: Uint8Array): XgboostModel {
  let first = 0;
  while (first < bytes.length && /\s/.test(String.fromCharCode(bytes[first] ?? 0))) first++;
  if (bytes[first] === 0x7b) return parseXgboostJson(new TextDecoder().decode(bytes));
  return parseXgboostLegacyBinary(bytes);
}
