/**
 * ValidateData: the data quality gate, computed from the dataset manifest alone (row counts,
 * label counts and the train split's per-feature baseline), so it needs no pass over the data.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { modelFeatures, type UseCase } from '../config/use-case.ts';
import { type BuildDatasetOutput, STEP_ERRORS, type ValidateDataOutput } from './contracts.ts';
import { type DatasetManifestFacts, readManifest } from './manifest.ts';

/** One data check as ValidateData reports it. */
export type DataCheck = ValidateDataOutput['checks'][number];

/** At least one data check failed; the message lists each, with its value and threshold. */
export class DataValidationError extends Error {
  override readonly name: string = STEP_ERRORS.dataValidation;
  readonly failed: readonly DataCheck[];

  constructor(message: string, failed: readonly DataCheck[]) {
    super(message);
    this.failed = failed;
  }
}

/** A check with the direction of its bound, for the failure message. */
interface RuleCheck {
  readonly check: DataCheck;
  readonly op: '>=' | '<=';
  /** What the failure message adds after the figures. */
  readonly detail?: string;
}

const atLeast = (name: string, value: number, threshold: number): RuleCheck => ({
  check: { name, value, threshold, passed: value >= threshold },
  op: '>=',
});
const atMost = (name: string, value: number, threshold: number): RuleCheck => ({
  check: { name, value, threshold, passed: value <= threshold },
  op: '<=',
});

/** Every data check of a manifest against the use case's quality rules and feature ranges. */
function ruleChecks(useCase: UseCase, manifest: DatasetManifestFacts): RuleCheck[] {
  const q = useCase.dataQuality;
  const rows = manifest.rowCount;
  const checks: RuleCheck[] = [atLeast('minRows', rows, q.minRows)];
  for (const split of ['train', 'validation', 'test'] as const) {
    checks.push(atLeast(`${split}Rows`, manifest.splitCounts[split], 1));
  }
  // An empty dataset has no positive rate; 0 fails the floor, which is the right verdict.
  const positiveRate = rows === 0 ? 0 : manifest.positiveCount / rows;
  checks.push(atLeast('minPositiveRate', positiveRate, q.minPositiveRate));
  checks.push(atMost('maxPositiveRate', positiveRate, q.maxPositiveRate));
  for (const feature of modelFeatures(useCase)) {
    const b = manifest.baseline[feature.name];
    if (!b) continue;
    const seen = b.count + b.missing;
    checks.push(atMost(`missingRate:${feature.name}`, seen === 0 ? 1 : b.missing / seen, q.maxMissingRate));
    if (b.kind !== 'numeric' || (feature.type !== 'number' && feature.type !== 'integer')) continue;
    if (feature.min !== undefined && b.min !== null)
      checks.push(atLeast(`min:${feature.name}`, b.min, feature.min));
    if (feature.max !== undefined && b.max !== null)
      checks.push(atMost(`max:${feature.name}`, b.max, feature.max));
  }
  const quarantined = manifest.quarantine;
  const read = rows + quarantined.labels;
  checks.push({
    ...atMost('quarantinedLabelRate', read === 0 ? 0 : quarantined.labels / read, q.maxQuarantinedLabelRate),
    detail: quarantineDetail(manifest),
  });
  const present = new Set(manifest.schema.map((c) => c.name));
  const absent = modelFeatures(useCase).filter((f) => !present.has(f.name)).length;
  checks.push(atMost('featuresAbsentFromDataset', absent, 0));
  return checks;
}

/** Every data check of a manifest against the use case's quality rules and feature ranges. */
export function dataChecks(useCase: UseCase, manifest: DatasetManifestFacts): DataCheck[] {
  return ruleChecks(useCase, manifest).map((r) => r.check);
}

/** The refused label rows a manifest names: `<labelId> (<key> line <n>): <field>: <problem>`. */
function quarantineDetail(manifest: DatasetManifestFacts): string | undefined {
  const q = manifest.quarantine;
  if (q.labels === 0) return undefined;
  const named = q.first.map((r) => {
    const why = r.problems.map(
      (p) => `${p.field}: ${p.problem}${p.got === undefined ? '' : `, got ${p.got}`}`,
    );
    return `${r.labelId ?? '(no label ID)'} (${r.key} line ${r.line}): ${why.join('; ')}`;
  });
  return `${q.labels} label row(s) refused, listed in ${q.key ?? 'the manifest'}; first: ${named.join(' | ')}`;
}

function describe({ check, op, detail }: RuleCheck): string {
  const value = Number.isInteger(check.value) ? String(check.value) : check.value.toFixed(4);
  return `${check.name} = ${value} (must be ${op} ${check.threshold})${detail ? ` [${detail}]` : ''}`;
}

/** Runs the checks; throws DataValidationError listing every failed one. */
export function validateManifest(useCase: UseCase, manifest: DatasetManifestFacts): ValidateDataOutput {
  const rules = ruleChecks(useCase, manifest);
  const failed = rules.filter((r) => !r.check.passed);
  if (failed.length > 0) {
    throw new DataValidationError(
      `dataset ${manifest.datasetHash.slice(0, 12)} failed ${failed.length} of ${rules.length} data checks: ${failed.map(describe).join('; ')}`,
      failed.map((r) => r.check),
    );
  }
  return { passed: true, checks: rules.map((r) => r.check) };
}

/** Runs the ValidateData step on the dataset BuildDataset produced. */
export async function validateDataStep(o: {
  readonly useCase: UseCase;
  readonly s3: S3Client;
  readonly dataset: BuildDatasetOutput;
}): Promise<ValidateDataOutput> {
  return validateManifest(o.useCase, await readManifest(o.s3, o.dataset.manifestUri));
}
