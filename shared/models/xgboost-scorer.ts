/**
 * Predicts with a parsed XGBoost model exactly as XGBoost's CPU predictor does: features and
 * thresholds compared as float32 (`x < threshold` goes left), missing values follow each node's
 * default direction, leaves summed in float32 onto the base margin in tree order, then the
 * objective's transform in float32.
 */
import type { XgboostModel, XgboostTree } from './xgboost-model.ts';

/** One feature row; `null`, `undefined` and NaN are missing values. */
export type XgboostRow = readonly (number | null | undefined)[];

/** Raised when a row has more features than the model was trained with (XGBoost refuses these too). */
export class XgboostFeatureCountError extends Error {
  override readonly name: string = 'XgboostFeatureCountError';
}

const f32 = Math.fround;

function leafValue(tree: XgboostTree, row: XgboostRow): number {
  // Trees were checked at parse time (children in range, acyclic), so the walk always ends at a leaf.
  let node = 0;
  let left = tree.left[node] ?? -1;
  while (left !== -1) {
    const x = row[tree.splitIndex[node] ?? 0];
    if (x === null || x === undefined || Number.isNaN(x)) {
      node = tree.defaultLeft[node] === 1 ? left : (tree.right[node] ?? -1);
    } else {
      node = f32(x) < (tree.value[node] ?? 0) ? left : (tree.right[node] ?? -1);
    }
    left = tree.left[node] ?? -1;
  }
  return tree.value[node] ?? 0;
}

function checkWidth(model: XgboostModel, row: XgboostRow, index: number): void {
  if (row.length > model.numFeature) {
    throw new XgboostFeatureCountError(
      `row ${index} has ${row.length} features but the model was trained with ${model.numFeature}`,
    );
  }
}

/** Raw margins (sum of leaves plus base margin, before the objective's transform), as float32 values. */
export function predictMargin(model: XgboostModel, rows: readonly XgboostRow[]): number[] {
  return rows.map((row, i) => {
    checkWidth(model, row, i);
    let margin = model.baseMargin;
    for (const tree of model.trees) margin = f32(margin + leafValue(tree, row));
    return margin;
  });
}

/** Applies the objective's output transform to a float32 margin, in float32 like XGBoost. */
export function transformMargin(model: XgboostModel, margin: number): number {
  switch (model.transform) {
    case 'sigmoid':
      // XGBoost's common::Sigmoid clamps the exponent so expf never overflows.
      return f32(1 / f32(f32(Math.exp(Math.min(-margin, 88.7))) + 1));
    case 'exp':
      return f32(Math.exp(margin));
    case 'hinge':
      return margin > 0 ? 1 : 0;
    case 'identity':
      return margin;
  }
}

/** Predictions as XGBoost returns them (probabilities for binary:logistic, values for regression). */
export function predict(model: XgboostModel, rows: readonly XgboostRow[]): number[] {
  return predictMargin(model, rows).map((m) => transformMargin(model, m));
}
