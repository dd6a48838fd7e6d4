/**
 * One model version's monitoring report for one window: drift of each feature and of the score,
 * dataset drift, data quality, realized quality from feedback and quality estimated from the
 * scores alone. Pure: the window's contents and the version's reference in, the report out.
 */
import { modelFeatures, type UseCase } from '../config/use-case.ts';
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
