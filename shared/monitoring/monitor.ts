/**
 * One monitoring check of a use case over one window: read the window's predictions and their
 * feedback, compare each model version with its own training baseline, record a MonitoringReport
 * per version (and the full report in S3), and when the version serving most of the traffic has
 * drifted, record DriftDetected and an incident and start a retraining run, unless the cooldown
 * holds it back.
 *
 * A check is idempotent per window: its ledger events and its training run take their IDs from
 * the window, so a retried or repeated check of the same window records and starts nothing new,
 * and resumes where a failed attempt stopped (a report recorded but no run started, say).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { SFNClient } from '@aws-sdk/client-sfn';
import { modelFeatures, type UseCase } from '../config/use-case.ts';
import { labelContract } from '../labels/schema.ts';
import { type LedgerWriter, recordedEvent } from '../ledger/append.ts';
import type { MonitoringReport } from '../ledger/events.ts';
import { servedAt } from '../ledger/queries.ts';
import { putObject, s3Uri } from '../s3.ts';
import { appendForWindow } from './ledger.ts';
import { type LogReadCounts, readFeedbackLabels, readPredictionLog, type TimeWindow } from './log-reader.ts';
import { loadVersionReference, ReferenceNotFoundError, type VersionReference } from './reference.ts';
import { monitoringReportEvent, reportDistributions, type VersionReport, versionReport } from './report.ts';
import { type RetrainingOutcome, respondToDrift } from './retraining.ts';
import { VersionWindow } from './window.ts';

/** Where the monitor's full reports go in the prediction-log bucket. */
export function monitoringReportPrefix(useCase: string): string {
  return `monitoring/${useCase}/`;
}

/** The full report's key: by window end, then version. */
export function monitoringReportKey(useCase: string, window: TimeWindow, modelVersion: string): string {
  return `${monitoringReportPrefix(useCase)}${window.end}/${modelVersion}.json`;
}

/** What a check needs. */
export interface MonitorOptions {
  readonly useCase: UseCase;
  readonly s3: S3Client;
  readonly ledger: LedgerWriter;
  /** Where the prediction log is, and where the full reports go. */
  readonly predictionLogBucket: string;
  /** Where the label store (feedback) and the dataset manifests are. */
  readonly datasetsBucket: string;
  readonly endpointName: string;
  readonly window: TimeWindow;
  /** Who runs the check, for the ledger: `monitor/schedule` or `monitor/invoke`. */
  readonly actor: string;
  /**
   * Who asked for the check, as the caller claims it; recorded in the report as a claim.
   * @default - nobody (the schedule)
   */
  readonly requestedBy?: string;
  /** The training pipeline, for retraining; without it drift is recorded and nothing is started. */
  readonly training?: { readonly sfn: SFNClient; readonly stateMachineArn: string };
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/** A version that served in the window but could not be compared. */
export interface SkippedVersion {
  readonly modelVersion: string;
  readonly rows: number;
  readonly reason: string;
}

/** What one check found and did. */
export interface MonitorResult {
  readonly useCase: string;
  readonly window: TimeWindow;
  readonly log: LogReadCounts;
  readonly feedback: { readonly labels: number; readonly rejected: number };
  readonly reports: readonly (VersionReport & {
    readonly eventId: string;
    /** `recorded-earlier`: this window was checked before; the first report stands. */
    readonly recorded: 'appended' | 'recorded-earlier';
    /** The event in the ledger (the earlier one when the window was checked before). */
    readonly event: MonitoringReport;
    readonly reportUri: string;
  })[];
  readonly skipped: readonly SkippedVersion[];
  /** The version serving at the window's end (else the one with most predictions), whose drift decides retraining. */
  readonly primaryVersion?: string;
  readonly retraining?: RetrainingOutcome;
}

/** Runs one check. */
export async function runMonitor(o: MonitorOptions): Promise<MonitorResult> {
  const now = (o.now ?? (() => new Date()))();
  const { useCase, window } = o;
  const feedback = await readFeedbackLabels({
    s3: o.s3,
    bucket: o.datasetsBucket,
    contract: labelContract(useCase),
    window,
    cutoff: now.toISOString(),
  });

  const versions = new Map<string, { window: VersionWindow; reference: VersionReference }>();
  const skipped = new Map<string, { rows: number; reason: string }>();
  const counts: LogReadCounts = { objects: 0, lines: 0, unreadable: 0, duplicates: 0, outside: 0 };
  for await (const batch of readPredictionLog({
    s3: o.s3,
    bucket: o.predictionLogBucket,
    useCase: useCase.name,
    window,
    counts,
  }))
    for (const p of batch) {
      let v = versions.get(p.modelVersion);
      const skip = skipped.get(p.modelVersion);
      if (skip) {
        skip.rows++;
        continue;
      }
      if (!v) {
        try {
          const reference = await loadVersionReference(o.ledger, o.s3, p.modelVersion);
          v = {
            reference,
            window: new VersionWindow(
              modelFeatures(useCase),
              reference.baseline,
              useCase.monitoring.sampleLimit,
              useCase.model.seed,
            ),
          };
          versions.set(p.modelVersion, v);
        } catch (e) {
          if (!(e instanceof ReferenceNotFoundError)) throw e;
          skipped.set(p.modelVersion, { rows: 1, reason: e.message });
          continue;
        }
      }
      v.window.add(p, feedback.labels.get(p.requestId));
    }

  const reports: MonitorResult['reports'][number][] = [];
  for (const [modelVersion, v] of versions) {
    const contents = v.window.contents();
    const report = versionReport(useCase, modelVersion, window, contents, v.reference);
    const key = monitoringReportKey(useCase.name, window, modelVersion);
    const reportUri = s3Uri(o.predictionLogBucket, key);
    const event = monitoringReportEvent(report, {
      endpointName: o.endpointName,
      actor: o.actor,
      time: now.toISOString(),
      reportUri,
      ...(o.requestedBy ? { requestedBy: o.requestedBy } : {}),
    });
    // A window checked before keeps its first report, in the ledger and in S3 alike.
    const earlier = await recordedEvent(o.ledger, o.ledger.chain ?? 'main', event.eventId);
    let recorded: Awaited<ReturnType<typeof appendForWindow<MonitoringReport>>>;
    if (earlier?.record.event.type === 'MonitoringReport') {
      recorded = { outcome: 'recorded-earlier', event: earlier.record.event };
    } else {
      await putObject(
        o.s3,
        { bucket: o.predictionLogBucket, key },
        JSON.stringify({
          ...report,
          log: counts,
          distributions: reportDistributions(useCase, v.reference, contents),
        }),
        'application/json',
      );
      recorded = await appendForWindow(o.ledger, event);
    }
    reports.push({
      ...report,
      eventId: recorded.event.eventId,
      recorded: recorded.outcome,
      event: recorded.event,
      reportUri: recorded.event.reportUri ?? reportUri,
    });
  }

  // The version serving at the window's end decides; with no deployment on record (or none of
  // its traffic in the window), the version with the most predictions.
  const serving = (await servedAt(o.ledger, o.endpointName, window.end)).modelVersion;
  const primary =
    reports.find((r) => r.modelVersion === serving) ?? [...reports].sort((a, b) => b.rows - a.rows)[0];
  let retraining: RetrainingOutcome | undefined;
  if (primary?.event.decision === 'drift') {
    retraining = await respondToDrift({
      useCase,
      ledger: o.ledger,
      endpointName: o.endpointName,
      actor: o.actor,
      now,
      report: primary.event,
      ...(o.training ? { training: o.training } : {}),
    });
  }
  return {
    useCase: useCase.name,
    window,
    log: counts,
    feedback: { labels: feedback.labels.size, rejected: feedback.rejected },
    reports,
    skipped: [...skipped].map(([modelVersion, s]) => ({ modelVersion, ...s })),
    ...(primary ? { primaryVersion: primary.modelVersion } : {}),
    ...(retraining ? { retraining } : {}),
  };
}
