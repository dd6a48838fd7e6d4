/**
 * Evaluate: score the candidate and the current champion on the same held-out test split (their
 * batch transform outputs, line for line against the test labels), apply the gates, and record
 * ModelEvaluated.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { UseCase } from '../config/use-case.ts';
import type { LedgerWriter } from '../ledger/append.ts';
import type { GateResult, ModelEvaluated } from '../ledger/events.ts';
import { buildMonitoringReference, monitoringReferenceKey } from '../monitoring/reference.ts';
import { parseS3Uri, putObject, readText, s3Uri } from '../s3.ts';
import type { BuildDatasetOutput, EvaluateOutput, FindChampionOutput, ModelMetrics } from './contracts.ts';
import { appendOnce, runEventId } from './ledger.ts';
import { modelMetrics } from './metrics.ts';
import { STEP_NAMES } from './steps.ts';

/** Transform output or labels are not what the test split promises. */
export class EvaluationInputError extends Error {
  override readonly name: string = 'EvaluationInputError';
}

/** Where batch transform wrote a model's scores: `<prefix>/<who>/<input file name>.out`, as SageMaker names it. */
export function transformOutputUri(
  dataset: Pick<BuildDatasetOutput, 'transformOutputPrefix'> & {
    readonly channels: Pick<BuildDatasetOutput['channels'], 'testFeatures'>;
  },
  who: 'candidate' | 'champion',
): string {
  const inputName = dataset.channels.testFeatures.slice(dataset.channels.testFeatures.lastIndexOf('/') + 1);
  return `${dataset.transformOutputPrefix}/${who}/${inputName}.out`;
}

/** Parses one number per non-empty line (the first field, so `score,...` lines also work). */
export function parseColumn(text: string, what: string): number[] {
  const out: number[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? '').trim();
    if (line === '') continue;
    const value = Number((line.split(',')[0] ?? '').trim());
    if (!Number.isFinite(value))
      throw new EvaluationInputError(`${what} line ${i + 1}: '${line}' is not a number`);
    out.push(value);
  }
  return out;
}

/** The gates of a use case applied to candidate metrics, in the contract's and the ledger's shapes. */
export function applyGates(
  gates: UseCase['gates'],
  candidate: ModelMetrics,
  aucDrop: number,
): { gates: EvaluateOutput['gates']; ledger: GateResult[]; passed: boolean } {
  const ledger: GateResult[] = [
    {
      name: 'auc-floor',
      metric: 'auc',
      comparison: '>=',
      threshold: gates.minAuc,
      actual: candidate.auc,
      passed: candidate.auc >= gates.minAuc,
    },
  ];
  if (gates.maxLogLoss !== undefined) {
    ledger.push({
      name: 'log-loss-ceiling',
      metric: 'logLoss',
      comparison: '<=',
      threshold: gates.maxLogLoss,
      actual: candidate.logLoss,
      passed: candidate.logLoss <= gates.maxLogLoss,
    });
  }
  ledger.push({
    name: 'auc-non-regression',
    metric: 'aucDrop',
    comparison: 'maxRegression',
    threshold: gates.maxAucRegression,
    actual: aucDrop,
    passed: aucDrop <= gates.maxAucRegression,
  });
  return {
    gates: ledger.map((g) => ({
      metric: g.metric,
      threshold: g.threshold,
      value: g.actual,
      passed: g.passed,
    })),
    ledger,
    passed: ledger.every((g) => g.passed),
  };
}

/** What Evaluate needs. */
export interface EvaluateStepOptions {
  readonly runId: string;
  readonly useCase: UseCase;
  readonly s3: S3Client;
  readonly ledger: LedgerWriter;
  readonly dataset: BuildDatasetOutput;
  readonly champion: FindChampionOutput;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

async function scoresOf(s3: S3Client, uri: string, rows: number): Promise<number[]> {
  const scores = parseColumn(await readText(s3, parseS3Uri(uri)), uri);
  if (scores.length !== rows) {
    throw new EvaluationInputError(
      `${uri} has ${scores.length} scores for ${rows} test rows; they must match line for line`,
    );
  }
  return scores;
}

/** Runs the Evaluate step. */
export async function evaluateStep(o: EvaluateStepOptions): Promise<EvaluateOutput> {
  const labels = parseColumn(
    await readText(o.s3, parseS3Uri(o.dataset.channels.testLabels)),
    o.dataset.channels.testLabels,
  );
  const threshold = o.useCase.gates.threshold;
  const candidateScores = await scoresOf(o.s3, transformOutputUri(o.dataset, 'candidate'), labels.length);
  const candidate = modelMetrics(labels, candidateScores, threshold);
  // What the monitor compares this model's serving scores with, and calibrates its estimates on.
  const reference = {
    bucket: parseS3Uri(o.dataset.channels.testLabels).bucket,
    key: monitoringReferenceKey(o.runId),
  };
  await putObject(
    o.s3,
    reference,
    JSON.stringify(
      buildMonitoringReference(o.useCase.name, o.runId, candidateScores, labels, o.useCase.model.seed),
    ),
    'application/json',
  );
  let champion: ModelMetrics | null = null;
  if (o.champion.exists) {
    champion = modelMetrics(
      labels,
      await scoresOf(o.s3, transformOutputUri(o.dataset, 'champion'), labels.length),
      threshold,
    );
  }
  const aucDrop = champion ? champion.auc - candidate.auc : 0;
  const { gates, ledger, passed } = applyGates(o.useCase.gates, candidate, aucDrop);
  const championVersion = o.champion.modelVersion;
  const event: ModelEvaluated = {
    type: 'ModelEvaluated',
    eventId: runEventId(o.runId, 'evaluated'),
    actor: `pipeline/${STEP_NAMES.evaluate}`,
    time: (o.now ?? (() => new Date()))().toISOString(),
    useCase: o.useCase.name,
    runId: o.runId,
    datasetHash: o.dataset.datasetHash,
    metrics: { ...candidate },
    ...(champion && championVersion
      ? { champion: { modelVersion: championVersion, metrics: { ...champion } } }
      : {}),
    gates: ledger,
    passed,
  };
  await appendOnce(o.ledger, event);
  return {
    candidate,
    champion,
    aucDrop,
    gates,
    passed,
    monitoringReference: s3Uri(reference.bucket, reference.key),
  };
}
