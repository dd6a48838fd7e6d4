/**
 * One model version's monitoring report for one window: drift of each feature and of the score,
 * dataset drift, data quality, realized quality from feedback and quality estimated from the
 * scores alone, and the distributions behind them for the full report in S3. Pure: the window's
 * contents and the version's reference in, the report out.
 */
import * as z from 'zod';
import { modelFeatures, type UseCase } from '../config/use-case.ts';
import { binShares } from '../features/stats.ts';
import type { DriftCheckRecord, Metrics, MonitoringReport } from '../ledger/events.ts';
import { auc, expectedCalibrationError, logLoss } from '../pipeline/metrics.ts';
import { checkDrift, type DatasetDrift, type DriftCheck, datasetDrift, driftSettingsFor } from './drift.ts';
import { estimatedQuality } from './estimate.ts';
import type { TimeWindow } from './log-reader.ts';
import type { VersionReference } from './reference.ts';
import type { FeatureQuality, WindowContents } from './window.ts';

/** The monitor's findings for one model version in one window. */
export interface VersionReport {
  readonly useCase: string;
  readonly modelVersion: string;
  readonly window: TimeWindow;
  readonly rows: number;
  readonly features: readonly DriftCheck[];
  /** Drift of the score; absent when the version has no monitoring reference. */
  readonly prediction?: DriftCheck;
  readonly dataset: DatasetDrift;
  readonly dataQuality: readonly FeatureQuality[];
  /** From feedback; absent below `monitoring.minLabels` labeled predictions. */
  readonly realized?: Metrics;
  /** From the scores and the version's calibration; absent without a monitoring reference. */
  readonly estimated?: Metrics;
  /** Predictions of the window with feedback. */
  readonly labeled: number;
  /** What the version was compared with. */
  readonly reference: Pick<VersionReference, 'runId' | 'datasetHash' | 'manifest'>;
  /** Why a part is absent, in words. */
  readonly notes: readonly string[];
}

/** AUC (when both classes are present), log loss and calibration error of the labeled predictions. */
function realizedQuality(contents: WindowContents): Metrics {
  const labels = Array.from(contents.labeled.labels);
  const scores = Array.from(contents.labeled.scores);
  const positives = labels.filter((l) => l === 1).length;
  const out: Record<string, number> = {
    logLoss: logLoss(labels, scores),
    calibrationError: expectedCalibrationError(labels, scores),
    positiveRate: positives / labels.length,
    labeled: contents.labeled.count,
  };
  return positives === 0 || positives === labels.length ? out : { auc: auc(labels, scores), ...out };
}

/** Builds the report of one version from its window and its reference. */
export function versionReport(
  useCase: UseCase,
  modelVersion: string,
  window: TimeWindow,
  contents: WindowContents,
  reference: VersionReference,
): VersionReport {
  const notes: string[] = [];
  const features: DriftCheck[] = [];
  for (const f of modelFeatures(useCase)) {
    const settings = driftSettingsFor(useCase, f);
    if (useCase.monitoring.features[f.name]?.enabled === false) continue;
    const base = reference.baseline[f.name];
    const current = contents.features[f.name];
    if (!base || !current) {
      notes.push(`${f.name}: the training baseline of ${modelVersion} has no statistics for it; not checked`);
      continue;
    }
    features.push(checkDrift(f.name, base, current, settings));
  }
  let prediction: DriftCheck | undefined;
  let estimated: Metrics | undefined;
  const predictionCheck = useCase.monitoring.prediction;
  if (reference.prediction && !predictionCheck.enabled) {
    notes.push('monitoring.prediction.enabled is false: no prediction drift');
  }
  if (reference.prediction) {
    const check = predictionCheck;
    prediction = !check.enabled
      ? undefined
      : checkDrift(
          'score',
          reference.prediction.scores,
          { kind: 'numeric', count: contents.scores.length, missing: 0, sample: contents.scores },
          {
            thresholds: useCase.monitoring.thresholds,
            minSample: useCase.monitoring.minSample,
            ...(check.test || check.threshold !== undefined ? { check } : {}),
          },
        );
    if (contents.scores.length > 0) {
      const e = estimatedQuality(contents.scores, reference.prediction.calibration);
      estimated = {
        ...(e.auc === null ? {} : { auc: e.auc }),
        logLoss: e.logLoss,
        calibrationError: e.calibrationError,
        positiveRate: e.positiveRate,
      };
    }
  } else {
    notes.push(
      `${modelVersion} has no monitoring reference (run ${reference.runId}): no prediction drift and no estimated quality`,
    );
  }
  let realized: Metrics | undefined;
  if (contents.labeled.count >= useCase.monitoring.minLabels) {
    realized = realizedQuality(contents);
  } else {
    notes.push(
      `${contents.labeled.count} prediction(s) with feedback, below monitoring.minLabels (${useCase.monitoring.minLabels}): no realized quality yet`,
    );
  }
  return {
    useCase: useCase.name,
    modelVersion,
    window,
    rows: contents.rows,
    features,
    ...(prediction ? { prediction } : {}),
    dataset: datasetDrift(features, contents.rows, useCase.monitoring),
    dataQuality: contents.quality,
    ...(realized ? { realized } : {}),
    ...(estimated ? { estimated } : {}),
    labeled: contents.labeled.count,
    reference: { runId: reference.runId, datasetHash: reference.datasetHash, manifest: reference.manifest },
    notes,
  };
}

function checkRecord(c: DriftCheck): DriftCheckRecord {
  return {
    name: c.feature,
    test: c.test,
    statistic: c.statistic,
    ...(c.pValue === null ? {} : { pValue: c.pValue }),
    threshold: c.threshold,
    chosenBy: c.chosenBy,
    referenceSize: c.referenceSize,
    currentSize: c.currentSize,
    verdict: c.verdict,
    drifted: c.verdict === 'drift',
    ...(c.detail ? { detail: c.detail.slice(0, 500) } : {}),
  };
}

/** The report's eventId: one MonitoringReport per use case, version and window. */
export function reportEventId(useCase: string, modelVersion: string, window: TimeWindow): string {
  return `monitor/${useCase}/${modelVersion}/${window.start}/${window.end}`;
}

/** The ledger event of a version report. */
export function monitoringReportEvent(
  report: VersionReport,
  options: {
    readonly endpointName: string;
    readonly actor: string;
    readonly time: string;
    readonly reportUri?: string;
    readonly requestedBy?: string;
  },
): MonitoringReport {
  return {
    type: 'MonitoringReport',
    eventId: reportEventId(report.useCase, report.modelVersion, report.window),
    actor: options.actor,
    time: options.time,
    useCase: report.useCase,
    modelVersion: report.modelVersion,
    endpointName: options.endpointName,
    window: report.window,
    sampleSize: report.rows,
    driftedShare: report.dataset.driftedShare,
    threshold: report.dataset.threshold,
    decision: report.dataset.decision,
    features: report.features.map(checkRecord),
    ...(report.prediction ? { prediction: checkRecord(report.prediction) } : {}),
    dataQuality: report.dataQuality.map((q) => ({
      name: q.feature,
      missingRate: q.missingRate,
      referenceMissingRate: q.referenceMissingRate,
      invalid: q.invalid,
      ...(q.outOfRange === undefined ? {} : { outOfRange: q.outOfRange }),
      ...(q.outsideTrainingRange === undefined ? {} : { outsideTrainingRange: q.outsideTrainingRange }),
      ...(q.unseen === undefined ? {} : { unseen: q.unseen }),
    })),
    ...(report.realized ? { quality: report.realized } : {}),
    ...(report.estimated ? { estimated: report.estimated } : {}),
    labeled: report.labeled,
    ...(options.reportUri ? { reportUri: options.reportUri } : {}),
    ...(options.requestedBy ? { requestedBy: options.requestedBy } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// The distributions behind a report: in the full report in S3 (for people and the HTML report),
// never in the ledger event.
// ---------------------------------------------------------------------------------------------

/** Bins of a distribution's common histogram (integer features with few values get one per value). */
export const DISTRIBUTION_BINS = 20;

const countsSchema = z.array(z.number().int().min(0));

/**
 * A histogram of the reference and the current values on the same bins: `edges` are the
 * `n + 1` ascending bin bounds over both samples (bin i is [edges[i], edges[i+1]), the last one
 * closed), and the counts are of the samples the test compared (the baseline's uniform sample of
 * at most 2,000, the window's of at most `monitoring.sampleLimit`).
 */
export const CommonBinsSchema = z.object({
  edges: z.array(z.number()).min(2),
  reference: countsSchema,
  current: countsSchema,
});
export type CommonBins = z.infer<typeof CommonBinsSchema>;

/** A numeric feature (or the score) in the full report. */
export const NumericDistributionSchema = z.object({
  /** The baseline's inner bin edges (its deciles, the bins PSI compares). */
  edges: z.array(z.number()),
  /** Shares of the reference in each of the `edges.length + 1` decile bins. */
  reference: z.array(z.number()),
  /** Shares of the window's sample in the same bins. */
  current: z.array(z.number()),
  /** Both samples on common, equal-width bins, to draw them; absent in reports written before it. */
  bins: CommonBinsSchema.optional(),
});
export type NumericDistribution = z.infer<typeof NumericDistributionSchema>;

/** A categorical feature in the full report: category counts on both sides. */
export const CategoricalDistributionSchema = z.object({
  /** The baseline's frequencies (its rare categories may be folded into `__other__`). */
  reference: z.record(z.string(), z.number().min(0)),
  /** The window's counts. */
  current: z.record(z.string(), z.number().min(0)),
});
export type CategoricalDistribution = z.infer<typeof CategoricalDistributionSchema>;

/** Every distribution of a full report, by feature name (`score` for the model's score). */
export const ReportDistributionsSchema = z.record(
  z.string(),
  z.union([NumericDistributionSchema, CategoricalDistributionSchema]),
);
export type ReportDistributions = z.infer<typeof ReportDistributionsSchema>;

/** Rounds a bin edge so that 0.1 * 3 is stored as 0.3. */
const roundEdge = (x: number) => Number(x.toPrecision(12));

function extent(samples: readonly ArrayLike<number>[]): { min: number; max: number; integers: boolean } {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let integers = true;
  for (const sample of samples) {
    for (let i = 0; i < sample.length; i++) {
      const v = sample[i] ?? 0;
      if (v < min) min = v;
      if (v > max) max = v;
      if (integers && !Number.isInteger(v)) integers = false;
    }
  }
  return { min, max, integers };
}

/**
 * The reference and current samples on common bins over both: integer-aligned bins for integer
 * values (one per value up to `2 * maxBins` values, so `hour` keeps its 24 bars; wider ranges
 * in bins of a whole number of values, never aliased), else `maxBins` equal-width bins.
 * Undefined when both samples are empty.
 */
export function commonBins(
  reference: ArrayLike<number>,
  current: ArrayLike<number>,
  maxBins: number = DISTRIBUTION_BINS,
): CommonBins | undefined {
  const { min, max, integers } = extent([reference, current]);
  if (min > max) return undefined;
  let first: number;
  let width: number;
  let bins: number;
  if (integers) {
    const values = max - min + 1;
    width = values <= 2 * maxBins ? 1 : Math.ceil(values / maxBins);
    first = min - 0.5;
    bins = Math.ceil((max - min + 1) / width);
  } else if (max === min) {
    width = 1;
    first = min - 0.5;
    bins = 1;
  } else {
    width = (max - min) / maxBins;
    first = min;
    bins = maxBins;
  }
  const count = (sample: ArrayLike<number>) => {
    const out = new Array<number>(bins).fill(0);
    for (let i = 0; i < sample.length; i++) {
      const at = Math.min(bins - 1, Math.max(0, Math.floor(((sample[i] ?? 0) - first) / width)));
      out[at] = (out[at] ?? 0) + 1;
    }
    return out;
  };
  // The outer edges stay exact, so the bins provably hold the minimum and the maximum.
  const last = integers || max === min ? first + bins * width : max;
  return {
    edges: Array.from({ length: bins + 1 }, (_, i) =>
      i === 0 ? first : i === bins ? last : roundEdge(first + i * width),
    ),
    reference: count(reference),
    current: count(current),
  };
}

function numericDistribution(
  histogram: { readonly edges: readonly number[]; readonly shares: readonly number[] },
  referenceSample: readonly number[],
  current: Float64Array,
): NumericDistribution {
  const bins = commonBins(referenceSample, current);
  return {
    edges: [...histogram.edges],
    reference: [...histogram.shares],
    current: binShares(Array.from(current), histogram.edges),
    ...(bins ? { bins } : {}),
  };
}

/** The distributions of a version's window against its reference, for the full report. */
export function reportDistributions(
  useCase: UseCase,
  reference: VersionReference,
  contents: WindowContents,
): ReportDistributions {
  const out: ReportDistributions = {};
  for (const f of modelFeatures(useCase)) {
    const base = reference.baseline[f.name];
    const current = contents.features[f.name];
    if (!base || !current) continue;
    if (base.kind === 'numeric' && current.kind === 'numeric') {
      out[f.name] = numericDistribution(base.histogram, base.sample, current.sample);
    } else if (base.kind === 'categorical' && current.kind === 'categorical') {
      out[f.name] = { reference: { ...base.frequencies }, current: { ...current.counts } };
    }
  }
  const scores = reference.prediction?.scores;
  if (scores?.kind === 'numeric') {
    out.score = numericDistribution(scores.histogram, scores.sample, contents.scores);
  }
  return out;
}
