import { describe, expect, it } from 'vitest';
import { XGBOOST_IMAGE_ACCOUNTS, xgboostImageUri } from '../../../shared/models/xgboost-image.ts';
import {
  parseXgboostJson,
  parseXgboostLegacyBinary,
  parseXgboostModel,
  UnsupportedXgboostModelError,
  XgboostModelFormatError,
} from '../../../shared/models/xgboost-model.ts';
import { predict, predictMargin, XgboostFeatureCountError } from '../../../shared/models/xgboost-scorer.ts';

/** A node as XGBoost stores it: a split (feature, threshold, children, default) or a leaf. */
type Node =
  | {
      readonly split: number;
      readonly threshold: number;
      readonly yes: number;
      readonly no: number;
      readonly missingLeft: boolean;
    }
  | { readonly leaf: number };

/** Two trees over features 0 and 1; thresholds are chosen so float32 rounding matters. */
const TREES: readonly (readonly Node[])[] = [
  [
    { split: 0, threshold: 0.1, yes: 1, no: 2, missingLeft: true },
    { leaf: 0.25 },
    { split: 1, threshold: -3.5, yes: 3, no: 4, missingLeft: false },
    { leaf: -0.5 },
    { leaf: 0.75 },
  ],
  [{ split: 1, threshold: 2, yes: 1, no: 2, missingLeft: false }, { leaf: 0.125 }, { leaf: -0.0625 }],
];

const isLeaf = (n: Node): n is { readonly leaf: number } => 'leaf' in n;

function jsonModel(
  objective: string,
  baseScore: string,
  trees = TREES,
  extra: Record<string, unknown> = {},
): string {
  return JSON.stringify({
    version: [1, 7, 4],
    learner: {
      attributes: {},
      feature_names: [],
      feature_types: [],
      learner_model_param: { base_score: baseScore, num_class: '0', num_feature: '2', num_target: '1' },
      objective: { name: objective },
      gradient_booster: {
        name: 'gbtree',
        model: {
          gbtree_model_param: { num_parallel_tree: '1', num_trees: String(trees.length) },
          tree_info: trees.map(() => 0),
          trees: trees.map((nodes, id) => ({
            id,
            left_children: nodes.map((n) => (isLeaf(n) ? -1 : n.yes)),
            right_children: nodes.map((n) => (isLeaf(n) ? -1 : n.no)),
            split_indices: nodes.map((n) => (isLeaf(n) ? 0 : n.split)),
            split_conditions: nodes.map((n) => (isLeaf(n) ? n.leaf : n.threshold)),
            default_left: nodes.map((n) => (!isLeaf(n) && n.missingLeft ? 1 : 0)),
            split_type: nodes.map(() => 0),
            tree_param: {
              num_deleted: '0',
              num_feature: '2',
              num_nodes: String(nodes.length),
              size_leaf_vector: '0',
            },
            ...extra,
          })),
        },
      },
    },
  });
}

/** Writes the legacy binary layout: 0.7x (margin base_score, no magic) or 1.x (`binf`, version, attributes). */
function binaryModel(
  layout: '0.7x' | '1.x',
  objective: string,
  storedBaseScore: number,
  numClass = 0,
): Uint8Array {
  const parts: Buffer[] = [];
  const i32s = (...values: number[]) => {
    const b = Buffer.alloc(values.length * 4);
    values.forEach((v, i) => {
      b.writeInt32LE(v, i * 4);
    });
    parts.push(b);
  };
  const str = (s: string) => {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(Buffer.byteLength(s)));
    parts.push(len, Buffer.from(s));
  };
  if (layout === '1.x') parts.push(Buffer.from('binf'));
  const learner = Buffer.alloc(136);
  learner.writeFloatLE(storedBaseScore, 0);
  learner.writeUInt32LE(2, 4);
  learner.writeInt32LE(numClass, 8);
  learner.writeInt32LE(layout === '1.x' ? 1 : 0, 12);
  learner.writeUInt32LE(layout === '1.x' ? 1 : 0, 20);
  learner.writeUInt32LE(layout === '1.x' ? 7 : 0, 24);
  parts.push(learner);
  str(objective);
  str('gbtree');
  const gbtree = Buffer.alloc(160);
  gbtree.writeInt32LE(TREES.length, 0);
  gbtree.writeInt32LE(1, 4);
  gbtree.writeInt32LE(2, 8);
  gbtree.writeInt32LE(1, 24);
  parts.push(gbtree);
  for (const nodes of TREES) {
    const param = Buffer.alloc(148);
    param.writeInt32LE(1, 0);
    param.writeInt32LE(nodes.length, 4);
    param.writeInt32LE(2, 16);
    parts.push(param);
    for (const n of nodes) {
      const node = Buffer.alloc(20);
      node.writeInt32LE(-1, 0);
      node.writeInt32LE(isLeaf(n) ? -1 : n.yes, 4);
      node.writeInt32LE(isLeaf(n) ? -1 : n.no, 8);
      node.writeUInt32LE(isLeaf(n) ? 0 : (n.split | (n.missingLeft ? 0x80000000 : 0)) >>> 0, 12);
      node.writeFloatLE(isLeaf(n) ? n.leaf : n.threshold, 16);
      parts.push(node);
    }
    parts.push(Buffer.alloc(16 * nodes.length));
  }
  i32s(...TREES.map(() => 0));
  if (layout === '1.x') {
    const count = Buffer.alloc(8);
    count.writeBigUInt64LE(1n);
    parts.push(count);
    str('best_iteration');
    str('1');
  }
  return new Uint8Array(Buffer.concat(parts));
}

const sigmoid = (m: number) => Math.fround(1 / Math.fround(Math.fround(Math.exp(-m)) + 1));

describe('predict', () => {
  const model = parseXgboostJson(jsonModel('reg:squarederror', '5E-1'));

  it('compares features as float32, so x = 0.1 is not below the float32 threshold 0.1', () => {
    // Prepare: in double precision 0.1 < fround(0.1); XGBoost stores both as float32.
    const rows = [
      [0.1, 0],
      [0.099999994, 0],
    ];
    // Act
    const margins = predictMargin(model, rows);
    // Assess: row 0 goes right (then x1=0 >= -3.5 -> 0.75), row 1 goes left (0.25); tree 2 adds 0.125.
    expect(margins).toEqual([Math.fround(0.5 + 0.75 + 0.125), Math.fround(0.5 + 0.25 + 0.125)]);
  });

  it('sends null, undefined and NaN down each node default direction', () => {
    const missingFirst = predictMargin(model, [
      [null, 5],
      [undefined, 5],
      [Number.NaN, 5],
    ]);
    const missingSecond = predictMargin(model, [[1, null]]);
    // Tree 1 root defaults left (0.25); tree 2 root defaults right (-0.0625).
    expect(missingFirst).toEqual(Array(3).fill(Math.fround(0.5 + 0.25 - 0.0625)));
    // x0=1 goes right; tree 1 node 2 defaults right (0.75); tree 2 defaults right (-0.0625).
    expect(missingSecond).toEqual([Math.fround(0.5 + 0.75 - 0.0625)]);
  });

  it('treats features past the end of a short row as missing', () => {
    expect(predictMargin(model, [[1]])).toEqual(predictMargin(model, [[1, null]]));
  });

  it('rejects rows wider than the model, as XGBoost does', () => {
    expect(() => predict(model, [[1, 2, 3]])).toThrow(XgboostFeatureCountError);
  });

  it('applies the sigmoid for binary:logistic on top of the logit of base_score', () => {
    // Prepare
    const logistic = parseXgboostJson(jsonModel('binary:logistic', '2.5E-1'));
    const baseMargin = Math.fround(-Math.log(Math.fround(Math.fround(1 / Math.fround(0.25)) - 1)));
    // Act
    const [p] = predict(logistic, [[-1, 5]]);
    // Assess
    expect(logistic.baseMargin).toBe(baseMargin);
    expect(p).toBe(sigmoid(Math.fround(Math.fround(baseMargin + 0.25) + -0.0625)));
    expect(p).toBeCloseTo(1 / (1 + Math.exp(-(Math.log(1 / 3) + 0.1875))), 6);
  });

  it('accumulates leaves in float32 like XGBoost, not in double', () => {
    // 0.1 + 0.2 differs between float32 and double accumulation.
    const trees: Node[][] = [[{ leaf: 0.1 }], [{ leaf: 0.2 }]];
    const m = parseXgboostJson(jsonModel('reg:squarederror', '0E0', trees));
    expect(predict(m, [[0, 0]])).toEqual([Math.fround(Math.fround(0.1) + Math.fround(0.2))]);
    expect(predict(m, [[0, 0]])[0]).not.toBe(0.1 + 0.2);
  });

  it('exponentiates count:poisson margins with base_score as a log', () => {
    const poisson = parseXgboostJson(jsonModel('count:poisson', '5E-1'));
    const [y] = predict(poisson, [[-1, 5]]);
    expect(y).toBeCloseTo(Math.exp(Math.log(0.5) + 0.1875), 6);
  });
});

describe('parseXgboostLegacyBinary', () => {
  const rows = [
    [0.1, 0],
    [0.05, 0],
    [null, 3],
    [1, null],
    [1, -4],
    [Number.NaN, Number.NaN],
  ];

  it('reads the 1.x layout (binf magic, base_score in output space, attributes) like the JSON model', () => {
    // Act
    const binary = parseXgboostLegacyBinary(binaryModel('1.x', 'binary:logistic', 0.5));
    const json = parseXgboostJson(jsonModel('binary:logistic', '5E-1'));
    // Assess
    expect(binary.format).toBe('binary-1.x');
    expect(binary.attributes).toEqual({ best_iteration: '1' });
    expect(predict(binary, rows)).toEqual(predict(json, rows));
  });

  it('reads the 0.7x layout, whose base_score is already a margin', () => {
    // 0.7x stored ProbToMargin(0.25) for binary:logistic.
    const margin = Math.fround(Math.log(0.25 / 0.75));
    const old = parseXgboostLegacyBinary(binaryModel('0.7x', 'binary:logistic', margin));
    const json = parseXgboostJson(jsonModel('binary:logistic', '2.5E-1'));
    expect(old.format).toBe('binary-0.7x');
    expect(old.baseMargin).toBe(Math.fround(margin));
    const expected = predict(json, rows);
    predict(old, rows).forEach((p, i) => {
      expect(Math.abs(p - (expected[i] ?? Number.NaN))).toBeLessThan(1e-7);
    });
  });

  it('accepts ml-xgboost signed byte arrays', () => {
    const bytes = binaryModel('0.7x', 'reg:linear', 0.5);
    const signed = Array.from(bytes, (b) => (b > 127 ? b - 256 : b));
    expect(predict(parseXgboostLegacyBinary(signed), rows)).toEqual(
      predict(parseXgboostLegacyBinary(bytes), rows),
    );
  });

  it('tells a truncated model apart from a valid one', () => {
    const bytes = binaryModel('1.x', 'binary:logistic', 0.5);
    expect(() => parseXgboostLegacyBinary(bytes.subarray(0, bytes.length - 30))).toThrow(
      XgboostModelFormatError,
    );
    expect(() => parseXgboostLegacyBinary(Buffer.concat([bytes, Buffer.from([1])]))).toThrow(
      /unexpected bytes/,
    );
  });

  it('refuses multi-class models instead of scoring one class', () => {
    expect(() => parseXgboostLegacyBinary(binaryModel('1.x', 'binary:logistic', 0.5, 3))).toThrow(
      UnsupportedXgboostModelError,
    );
  });

  it('refuses objectives whose output transform it does not know', () => {
    expect(() => parseXgboostLegacyBinary(binaryModel('1.x', 'rank:ndcg', 0.5))).toThrow(
      /rank:ndcg is not supported/,
    );
  });
});

describe('parseXgboostJson', () => {
  it('refuses categorical splits', () => {
    const text = jsonModel('binary:logistic', '5E-1', TREES).replaceAll(
      '"split_type":[0,0,0,0,0]',
      '"split_type":[1,0,0,0,0]',
    );
    expect(() => parseXgboostJson(text)).toThrow(UnsupportedXgboostModelError);
  });

  it('rejects a tree whose child points outside the tree', () => {
    const broken: Node[][] = [[{ split: 0, threshold: 1, yes: 1, no: 7, missingLeft: true }, { leaf: 1 }]];
    expect(() => parseXgboostJson(jsonModel('reg:squarederror', '0E0', broken))).toThrow(/outside/);
  });

  it('rejects JSON that is not an XGBoost model, naming the bad field', () => {
    expect(() => parseXgboostJson('{"learner":{}}')).toThrow(/learner\.learner_model_param/);
  });

  it('is picked by parseXgboostModel from the leading brace', () => {
    const text = jsonModel('reg:squarederror', '5E-1');
    expect(parseXgboostModel(Buffer.from(`  ${text}`)).format).toBe('json');
    expect(parseXgboostModel(binaryModel('0.7x', 'reg:linear', 0.5)).format).toBe('binary-0.7x');
  });
});

describe('xgboostImageUri', () => {
  it('builds the built-in 1.7-1 image URI from the region account', () => {
    expect(xgboostImageUri('us-east-1')).toBe(
      '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1',
    );
    expect(xgboostImageUri('eu-west-1', '1.5-1')).toBe(
      '141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.5-1',
    );
    expect(xgboostImageUri('cn-north-1')).toMatch(/\.amazonaws\.com\.cn\//);
  });

  it('knows the accounts of the main regions', () => {
    expect(XGBOOST_IMAGE_ACCOUNTS).toMatchObject({
      'us-east-1': '683313688378',
      'us-east-2': '257758044811',
      'us-west-2': '246618743249',
      'eu-west-1': '141502667606',
      'eu-central-1': '492215442770',
    });
  });

  it('fails with the bad value for an unknown region or version', () => {
    expect(() => xgboostImageUri('mars-north-1')).toThrow(/mars-north-1/);
    expect(() => xgboostImageUri('us-east-1', 'latest')).toThrow(/got latest/);
  });
});
