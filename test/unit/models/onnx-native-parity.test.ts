/**
 * Parity against XGBoost itself, not against this repo's TypeScript scorer: a model trained by the
 * native engine (Debian's python3-xgboost 1.7, the format of SageMaker's 1.7-1 image) on encoded
 * rows with categoricals, missing values and base_score 0.3, exported with toOnnx, scored by
 * onnxruntime-node from the raw features, and compared with `xgboost.Booster.predict` on the same
 * float32 matrix. A parser bug shared by the scorer and the exporter would pass every other parity
 * test; it cannot pass this one. Required under CI (`.ci/run` installs python3-xgboost).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_XGBOOST_PYTHON,
  detectNativeXgboost,
} from '../../../infra/local/sagemaker/algorithms/xgboost.ts';
import { toOnnx } from '../../../shared/models/onnx-export.ts';
import { scoreEdgeModel } from '../../../shared/models/onnx-parity.ts';
import { featureEncoder } from '../../../shared/pipeline/encoding.ts';
import {
  type FeatureRow,
  syntheticRows,
  type TrainedModel,
  trainSyntheticModel,
} from '../../support/onnx-models.ts';

const run = promisify(execFile);
const THRESHOLD = 0.5;

/** Booster.predict on a little-endian float32 matrix (NaN = missing), scores written as float32. */
const PREDICT_SCRIPT = `
import sys, numpy as np, xgboost as xgb
model, matrix, rows, cols, out = sys.argv[1:]
x = np.fromfile(matrix, dtype='<f4').reshape(int(rows), int(cols))
booster = xgb.Booster(model_file=model)
booster.set_param({'nthread': 1})
booster.predict(xgb.DMatrix(x, missing=np.nan)).astype('<f4').tofile(out)
`;

const nativeVersion = await detectNativeXgboost();
if (nativeVersion === undefined && process.env.CI) {
  throw new Error(
    `${DEFAULT_XGBOOST_PYTHON} cannot import xgboost, and CI requires the native parity test: install python3-xgboost`,
  );
}
if (nativeVersion === undefined) {
  console.warn(
    `skipping the native XGBoost parity test: ${DEFAULT_XGBOOST_PYTHON} cannot import xgboost (apt-get install python3-xgboost)`,
  );
}

/** The rows as the training CSV encodes them, as the float32 matrix XGBoost and ONNX both see. */
function encodedMatrix(
  trained: TrainedModel,
  rows: readonly FeatureRow[],
): { data: Float32Array; cols: number } {
  const encode = featureEncoder(trained.encoding);
  const cells = rows.map((r) =>
    encode(r)
      .split(',')
      .map((cell) => (cell === '' ? Number.NaN : Number(cell))),
  );
  const cols = cells[0]?.length ?? 0;
  return { data: Float32Array.from(cells.flat()), cols };
}

async function boosterPredict(trained: TrainedModel, rows: readonly FeatureRow[]): Promise<Float32Array> {
  const dir = await mkdtemp(join(tmpdir(), 'native-parity-'));
  const { data, cols } = encodedMatrix(trained, rows);
  const [model, matrix, out] = ['xgboost-model', 'x.f32', 'scores.f32'].map((f) => join(dir, f)) as [
    string,
    string,
    string,
  ];
  await writeFile(model, trained.modelBytes);
  await writeFile(matrix, data);
  await run(
    DEFAULT_XGBOOST_PYTHON,
    ['-c', PREDICT_SCRIPT, model, matrix, String(rows.length), String(cols), out],
    { timeout: 120_000 },
  );
  const bytes = await readFile(out);
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

describe.skipIf(nativeVersion === undefined)(`ONNX against native XGBoost ${nativeVersion ?? ''}`, () => {
  let trained: TrainedModel;
  let rows: FeatureRow[];

  beforeAll(async () => {
    const all = syntheticRows(3000, 23);
    trained = await trainSyntheticModel(all.slice(0, 2400), 'native');
    // Held-out rows, plus a category never seen in training (→ missing) and an all-missing row.
    rows = [
      ...all.slice(2400).map((r) => r.features),
      { amount: 120.5, channel: 'kiosk', visits: 3, member: true, region: 'atlantis', legacyCode: 'x' },
      { amount: null, channel: null, visits: null, member: null, region: null, legacyCode: null },
    ];
  }, 180_000);

  it('scores held-out rows with categoricals, NaNs and base_score 0.3 as Booster.predict does', async () => {
    // Prepare
    const onnx = toOnnx(trained.model, trained.encoding, { graphName: 'native_parity' });
    const missing = rows.filter((r) => Object.values(r).some((v) => v === null)).length;

    // Act
    const [expected, actual] = await Promise.all([boosterPredict(trained, rows), scoreEdgeModel(onnx, rows)]);

    // Assess
    expect(trained.model.baseMargin).toBeCloseTo(Math.log(0.3 / 0.7), 6);
    expect(missing).toBeGreaterThan(100);
    expect(expected).toHaveLength(rows.length);
    expect(new Set(expected).size).toBeGreaterThan(100);
    let worst = 0;
    let flips = 0;
    for (let i = 0; i < rows.length; i++) {
      const e = expected[i] ?? Number.NaN;
      const a = actual[i] ?? Number.NaN;
      worst = Math.max(worst, Math.abs(a - e));
      if (e >= THRESHOLD !== a >= THRESHOLD) flips++;
    }
    expect(Number.isFinite(worst)).toBe(true);
    expect(worst).toBeLessThanOrEqual(1e-6);
    expect(flips).toBe(0);
  });
});
