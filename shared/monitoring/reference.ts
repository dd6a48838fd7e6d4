/**
 * What a model version is monitored against, found through the ledger so that the answer is the
 * one an auditor would reach: ModelRegistered names the run and the dataset, DatasetBuilt names
 * the snapshot's S3 object versions, and the manifest next to the snapshot holds the training
 * baseline of every feature. The run's monitoring reference (written by Evaluate) holds the
 * model's scores on its test split and the calibration fitted on them.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import * as z from 'zod';
import { NotFoundError } from '../errors.ts';
import { BaselineBuilder, type FeatureBaseline } from '../features/stats.ts';
import type { LedgerLocation } from '../ledger/append.ts';
import { ofType, recordsOn } from '../ledger/queries.ts';
import { FeatureBaselineSchema, snapshotObjects } from '../pipeline/manifest.ts';
import { parseS3Uri, readText, s3Uri } from '../s3.ts';
import { formatProblems, toFieldProblems } from '../validation.ts';
import { type Calibration, fitCalibration } from './estimate.ts';

const count = z.number().int().min(0);

const CalibrationSchema = z.strictObject({
  kind: z.literal('isotonic'),
  x: z.array(z.number()),
  y: z.array(z.number().min(0).max(1)),
});

/** The run's reference for prediction drift and estimated quality (`runs/<runId>/monitoring-reference.json`). */
export const MonitoringReferenceSchema = z.strictObject({
  useCase: z.string().min(1),
  runId: z.string().min(1),
  /** Test-split rows the scores and the calibration come from. */
  rows: count,
  /** The candidate's scores on the test split, as a baseline (count, histogram, sample). */
  scores: FeatureBaselineSchema,
  /** Isotonic calibration of label on score, fitted on the same rows. */
  calibration: CalibrationSchema,
});
export type MonitoringReference = z.infer<typeof MonitoringReferenceSchema>;

/** Where a run's monitoring reference sits, in the run's folder of the datasets bucket. */
export function monitoringReferenceKey(runId: string): string {
  return `runs/${runId}/monitoring-reference.json`;
}

/** The monitoring reference of a run, from its test-split scores and labels. */
export function buildMonitoringReference(
  useCase: string,
  runId: string,
  scores: readonly number[],
  labels: readonly number[],
  seed: number,
): MonitoringReference {
  const builder = new BaselineBuilder([{ name: 'score', type: 'number', nullable: false }], seed);
  for (const s of scores) builder.add({ score: s });
  const baseline = builder.result().score;
  if (!baseline) throw new Error('the score baseline was not built');
  return {
    useCase,
    runId,
    rows: scores.length,
    scores: baseline as MonitoringReference['scores'],
    calibration: fitCalibration(scores, labels),
  };
}

/** No baseline can be found for a model version: the ledger or the manifest is missing a fact. */
export class ReferenceNotFoundError extends NotFoundError {
  override readonly name: string = 'ReferenceNotFoundError';
}

/** Everything a model version is compared with. */
export interface VersionReference {
  readonly modelVersion: string;
  readonly runId: string;
  readonly datasetHash: string;
  /** The manifest read, with its S3 version. */
  readonly manifest: { readonly uri: string; readonly versionId?: string };
  /** Training rows of the dataset (train split). */
  readonly baseline: Readonly<Record<string, FeatureBaseline>>;
  /** Absent for a model trained before Evaluate wrote one: no prediction drift or estimate then. */
  readonly prediction?: {
    readonly scores: FeatureBaseline;
    readonly calibration: Calibration;
    readonly rows: number;
  };
}

function parseJson<T>(text: string, schema: z.ZodType<T>, what: string): T {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ReferenceNotFoundError(`${what} is not readable JSON: ${String(e)}`);
  }
  const parsed = schema.safeParse(raw, { reportInput: true });
  if (!parsed.success) {
    throw new ReferenceNotFoundError(
      `${what} is not valid:\n${formatProblems(toFieldProblems(parsed.error), '  ')}`,
    );
  }
  return parsed.data;
}

const ManifestBaselineSchema = z.looseObject({
  datasetHash: z.string(),
  baseline: z.record(z.string(), FeatureBaselineSchema),
});

function isMissingObject(e: unknown): boolean {
  return e instanceof Error && (e.name === 'NoSuchKey' || e.name === 'NotFound');
}

/** Finds a model version's baseline (and its run's monitoring reference) through the ledger. */
export async function loadVersionReference(
  ledger: LedgerLocation,
  s3: S3Client,
  modelVersion: string,
): Promise<VersionReference> {
  const registered = ofType(await recordsOn(ledger, 'byModel', modelVersion), 'ModelRegistered')[0]?.event;
  if (!registered) {
    throw new ReferenceNotFoundError(`no ModelRegistered event for model version ${modelVersion}`);
  }
  const built = ofType(await recordsOn(ledger, 'byDataset', registered.datasetHash), 'DatasetBuilt')[0]
    ?.event;
  // As BuildDataset finds it: next to the snapshot, unless the event names it.
  const manifest = built ? snapshotObjects(built.objects, registered.datasetHash).manifest : undefined;
  if (!manifest) {
    throw new ReferenceNotFoundError(
      `no DatasetBuilt event for dataset ${registered.datasetHash} (model version ${modelVersion})`,
    );
  }
  const manifestUri = s3Uri(manifest.bucket, manifest.key);
  const versionId = manifest.versionId === 'null' ? undefined : manifest.versionId;
  const facts = parseJson(
    await readText(s3, parseS3Uri(manifestUri), versionId),
    ManifestBaselineSchema,
    `dataset manifest ${manifestUri}`,
  );
  let prediction: VersionReference['prediction'];
  const referenceLoc = { bucket: manifest.bucket, key: monitoringReferenceKey(registered.runId) };
  try {
    const ref = parseJson(
      await readText(s3, referenceLoc),
      MonitoringReferenceSchema,
      `monitoring reference ${s3Uri(referenceLoc.bucket, referenceLoc.key)}`,
    );
    prediction = { scores: ref.scores as FeatureBaseline, calibration: ref.calibration, rows: ref.rows };
  } catch (e) {
    if (!isMissingObject(e)) throw e;
  }
  return {
    modelVersion,
    runId: registered.runId,
    datasetHash: registered.datasetHash,
    manifest: { uri: manifestUri, ...(versionId ? { versionId } : {}) },
    baseline: facts.baseline as Record<string, FeatureBaseline>,
    ...(prediction ? { prediction } : {}),
  };
}
