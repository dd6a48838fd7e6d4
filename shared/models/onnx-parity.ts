/**
 * The parity gate of an edge export: score rows of raw features with the ONNX file in
 * onnxruntime-node and compare with the scores the model produced where it was trained and served
 * (the batch transform of the test split, or the TypeScript scorer). A failed gate publishes nothing.
 */
import * as ort from 'onnxruntime-node';
import * as z from 'zod';
import type { FeatureValue } from '../features/records.ts';
import { type OnnxTensorSpec, readOnnxSignature } from './onnx-manifest.ts';

/** Limits of {@link edgeParity}. */
export interface EdgeParityOptions {
  /**
   * Largest allowed |ONNX score - expected score| on any row.
   * @default 1e-6
   */
  readonly maxAbsDelta?: number;
  /** The decision threshold (a label is 1 when `score >= threshold`, as serving labels it). */
  readonly threshold: number;
  /**
   * Largest allowed share of rows whose label differs at the threshold.
   * @default 0
   */
  readonly maxFlipShare?: number;
  /**
   * Rows scored per onnxruntime run, which bounds the memory of the input tensors.
   * @default 8192
   */
  readonly batchRows?: number;
}

/** The outcome of {@link edgeParity}, as the ledger records it. */
export const EdgeParityResultSchema = z.strictObject({
  passed: z.boolean(),
  /** One sentence with the figures, for the ledger and the CLI. */
  reason: z.string(),
  rows: z.number().int().nonnegative(),
  /** Largest |Δ| over the rows where both scores are finite numbers. */
  maxAbsDelta: z.number().nonnegative(),
  /** Rows where exactly one of the two scores is NaN (any such row fails the gate). */
  nanMismatches: z.number().int().nonnegative(),
  /** Rows where a score is ±Infinity and the other is not that same value (any such row fails the gate). */
  infiniteMismatches: z.number().int().nonnegative(),
  /** Row of the largest |Δ|, or of the first infinite mismatch; -1 when there are no rows. */
  worstRow: z.number().int(),
  /** Rows whose label differs while the expected score is more than maxAbsDelta from the threshold. */
  flips: z.number().int().nonnegative(),
  flipShare: z.number().min(0).max(1),
  /**
   * Rows whose label differs while the expected score is within maxAbsDelta of the threshold:
   * rounding noise the |Δ| limit already allows, reported but not counted as flips.
   */
  ties: z.number().int().nonnegative(),
  threshold: z.number(),
  limits: z.strictObject({ maxAbsDelta: z.number().nonnegative(), maxFlipShare: z.number().min(0).max(1) }),
});
export type EdgeParityResult = z.infer<typeof EdgeParityResultSchema>;

/** Raised when a row holds a value the model's input cannot take (a string for a number, ...). */
export class EdgeInputError extends Error {
  override readonly name: string = 'EdgeInputError';
}

const DEFAULT_BATCH_ROWS = 8192;

/** One row of raw features by name; absent names and null are missing values. */
export type EdgeRow = Readonly<Record<string, FeatureValue | undefined>>;

function checkOptions(maxAbsDelta: number, maxFlipShare: number, threshold: number, batchRows: number): void {
  if (!Number.isFinite(maxAbsDelta) || maxAbsDelta < 0) {
    throw new RangeError(`maxAbsDelta must be a finite number >= 0, got ${maxAbsDelta}`);
  }
  if (!(maxFlipShare >= 0 && maxFlipShare <= 1)) {
    throw new RangeError(`maxFlipShare must be in [0, 1], got ${maxFlipShare}`);
  }
  if (!Number.isFinite(threshold))
    throw new RangeError(`threshold must be a finite number, got ${threshold}`);
  if (!Number.isInteger(batchRows) || batchRows < 1) {
    throw new RangeError(`batchRows must be a positive integer, got ${batchRows}`);
  }
}

function floatColumn(spec: OnnxTensorSpec, rows: readonly EdgeRow[], offset: number): Float32Array {
  const column = new Float32Array(rows.length);
  rows.forEach((row, i) => {
    const v = row[spec.name];
    if (v === null || v === undefined) column[i] = Number.NaN;
    else if (typeof v === 'number') column[i] = v;
    else if (typeof v === 'boolean') column[i] = v ? 1 : 0;
    else {
      throw new EdgeInputError(
        `row ${offset + i}: input ${spec.name} is float32 but holds ${JSON.stringify(v)}`,
      );
    }
  });
  return column;
}

function stringColumn(spec: OnnxTensorSpec, rows: readonly EdgeRow[], offset: number): string[] {
  return rows.map((row, i) => {
    const v = row[spec.name];
    if (v === null || v === undefined) return '';
    if (typeof v === 'string') return v;
    throw new EdgeInputError(
      `row ${offset + i}: input ${spec.name} is a string but holds ${JSON.stringify(v)}`,
    );
  });
}

/** Builds the [N,1] input tensors of a batch of rows. */
export function edgeFeeds(
  inputs: readonly OnnxTensorSpec[],
  rows: readonly EdgeRow[],
  offset = 0,
): Record<string, ort.Tensor> {
  const shape = [rows.length, 1];
  return Object.fromEntries(
    inputs.map((spec) => {
      if (spec.type === 'float32')
        return [spec.name, new ort.Tensor('float32', floatColumn(spec, rows, offset), shape)];
      if (spec.type === 'string')
        return [spec.name, new ort.Tensor('string', stringColumn(spec, rows, offset), shape)];
      throw new EdgeInputError(
        `input ${spec.name} has type ${spec.type}; edge models take float32 or string`,
      );
    }),
  );
}

/** Scores rows of raw features with an ONNX edge model in onnxruntime-node (one thread). */
export async function scoreEdgeModel(
  onnxBytes: Uint8Array,
  rows: readonly EdgeRow[],
  batchRows = DEFAULT_BATCH_ROWS,
): Promise<Float32Array> {
  const signature = readOnnxSignature(onnxBytes);
  const [output] = signature.outputs;
  if (!output || signature.outputs.length !== 1) {
    throw new EdgeInputError(`an edge model has one output, this one has ${signature.outputs.length}`);
  }
  // One thread: the summation order is the same either way, and the host's cores are shared.
  const session = await ort.InferenceSession.create(onnxBytes, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    logSeverityLevel: 3,
  });
  try {
    const scores = new Float32Array(rows.length);
    for (let start = 0; start < rows.length; start += batchRows) {
      const batch = rows.slice(start, start + batchRows);
      const result = await session.run(edgeFeeds(signature.inputs, batch, start), [output.name]);
      const data = result[output.name]?.data;
      if (!(data instanceof Float32Array) || data.length !== batch.length) {
        throw new EdgeInputError(`output ${output.name} is not ${batch.length} float32 scores`);
      }
      scores.set(data, start);
    }
    return scores;
  } finally {
    await session.release();
  }
}

const fmt = (x: number): string => (Number.isFinite(x) ? x.toPrecision(3) : String(x));
const pct = (x: number): string => `${Number((x * 100).toPrecision(3))}%`;

/**
 * Runs the parity gate: the ONNX scores of `rows` against `expectedScores` (same order). It fails
 * when the largest |Δ| or the share of labels that flip at the threshold is above its limit, or a
 * row is NaN or ±Infinity on one side only, with a reason that names the figures. A label that
 * differs where the expected score is within maxAbsDelta of the threshold is a tie (reported, not
 * a flip): the |Δ| limit already allows it. An empty set of rows fails: it would prove nothing.
 */
export async function edgeParity(
  onnxBytes: Uint8Array,
  rows: readonly EdgeRow[],
  expectedScores: ArrayLike<number>,
  options: EdgeParityOptions,
): Promise<EdgeParityResult> {
  const maxAbsDelta = options.maxAbsDelta ?? 1e-6;
  const maxFlipShare = options.maxFlipShare ?? 0;
  const { threshold } = options;
  const batchRows = options.batchRows ?? DEFAULT_BATCH_ROWS;
  checkOptions(maxAbsDelta, maxFlipShare, threshold, batchRows);
  if (expectedScores.length !== rows.length) {
    throw new RangeError(
      `${rows.length} rows but ${expectedScores.length} expected scores; they must pair up`,
    );
  }
  const limits = { maxAbsDelta, maxFlipShare };
  if (rows.length === 0) {
    return EdgeParityResultSchema.parse({
      passed: false,
      reason: 'parity failed: no rows to compare',
      rows: 0,
      maxAbsDelta: 0,
      nanMismatches: 0,
      infiniteMismatches: 0,
      worstRow: -1,
      flips: 0,
      flipShare: 0,
      ties: 0,
      threshold,
      limits,
    });
  }
  const actual = await scoreEdgeModel(onnxBytes, rows, batchRows);
  let worst = 0;
  let worstRow = 0;
  let flips = 0;
  let ties = 0;
  let nanMismatches = 0;
  let infiniteMismatches = 0;
  let firstInfinite = -1;
  for (let i = 0; i < rows.length; i++) {
    const a = actual[i] ?? Number.NaN;
    const e = expectedScores[i] ?? Number.NaN;
    if (a >= threshold !== e >= threshold) {
      // Within maxAbsDelta of the threshold, either label is as right as the allowed |Δ|.
      if (Number.isFinite(e) && Math.abs(e - threshold) <= maxAbsDelta) ties++;
      else flips++;
    }
    if (Number.isNaN(a) || Number.isNaN(e)) {
      if (Number.isNaN(a) !== Number.isNaN(e)) nanMismatches++;
      continue;
    }
    if (!Number.isFinite(a) || !Number.isFinite(e)) {
      // An infinite |Δ| fails the gate as a count with its row, so the figures stay finite.
      if (a !== e) {
        infiniteMismatches++;
        if (firstInfinite < 0) firstInfinite = i;
      }
      continue;
    }
    const delta = Math.abs(a - e);
    if (delta > worst) {
      worst = delta;
      worstRow = i;
    }
  }
  const flipShare = flips / rows.length;
  const deltaOk = worst <= maxAbsDelta && infiniteMismatches === 0;
  const flipsOk = flipShare <= maxFlipShare;
  if (infiniteMismatches > 0 && worst <= maxAbsDelta) worstRow = firstInfinite;
  const deltaText =
    worst > maxAbsDelta
      ? `max |Δ| ${fmt(worst)} at row ${worstRow} (expected ${expectedScores[worstRow]}, ONNX ${actual[worstRow]}) exceeds ${maxAbsDelta}`
      : `max |Δ| ${fmt(worst)} <= ${maxAbsDelta}`;
  const infiniteText =
    infiniteMismatches > 0
      ? `; ${infiniteMismatches} rows have an infinite |Δ| (first row ${firstInfinite}: expected ${expectedScores[firstInfinite]}, ONNX ${actual[firstInfinite]})`
      : '';
  const flipText = `${flips} of ${rows.length} labels (${pct(flipShare)}) flip at threshold ${threshold}${flipsOk ? ', allowed' : ', above the allowed'} ${pct(maxFlipShare)}`;
  const tieText =
    ties > 0 ? ` (${ties} more differ within ${maxAbsDelta} of the threshold, ties not counted)` : '';
  const nanText = nanMismatches > 0 ? `; ${nanMismatches} rows are NaN on one side only` : '';
  const passed = deltaOk && flipsOk && nanMismatches === 0;
  return EdgeParityResultSchema.parse({
    passed,
    reason: `parity ${passed ? 'passed' : 'failed'} on ${rows.length} rows: ${deltaText}${infiniteText}; ${flipText}${tieText}${nanText}`,
    rows: rows.length,
    maxAbsDelta: worst,
    nanMismatches,
    infiniteMismatches,
    worstRow,
    flips,
    flipShare,
    ties,
    threshold,
    limits,
  });
}
