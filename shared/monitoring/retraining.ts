/**
 * What the monitor does once the serving version's traffic has drifted: record DriftDetected and
 * an incident, then start the training pipeline with `trigger=drift` and a reason naming the
 * drifted features, unless retraining is off or the use case's cooldown is still running.
 *
 * The events and the run take their IDs from the window, so a repeated check of the same window
 * starts nothing new. The cooldown counts RetrainingTriggered events of the same endpoint in the
 * last `monitoring.retrain.cooldownHours` whose run did start, other than this window's own; a
 * drift run still running holds the next one back whatever its age; and an incident opened within
 * the cooldown stands for the windows after it (one incident per drift episode, not one an hour).
 */
import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  type SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import type { UseCase } from '../config/use-case.ts';
import type { LedgerWriter } from '../ledger/append.ts';
import { sha256Hex } from '../ledger/canonical.ts';
import type {
  DriftDetected,
  IncidentOpened,
  MonitoringReport,
  RetrainingTriggered,
} from '../ledger/events.ts';
import { ofType, recordsOn } from '../ledger/queries.ts';
import type { PipelineInput } from '../pipeline/contracts.ts';
import { appendForWindow } from './ledger.ts';
import type { TimeWindow } from './log-reader.ts';

/** What became of a drift. */
export interface RetrainingOutcome {
  readonly driftEventId: string;
  /** The drift episode's incident: opened by this window, or by an earlier one within the cooldown. */
  readonly incidentId: string;
  readonly driftedFeatures: readonly string[];
  /**
   * - `started`: this check started the run;
   * - `already-started`: an earlier check of the same window did;
   * - `cooldown`: a run was triggered (and started) less than cooldownHours ago (`until` says when it ends);
   * - `running`: the last drift run is still going (`runId`), however long ago it started;
   * - `disabled`: the use case turns retraining off;
   * - `no-pipeline`: the check was given no training pipeline to start.
   */
  readonly outcome: 'started' | 'already-started' | 'cooldown' | 'running' | 'disabled' | 'no-pipeline';
  readonly runId?: string;
  readonly reason: string;
  /** The RetrainingTriggered event that holds the cooldown, and when the cooldown ends. */
  readonly cooldown?: { readonly eventId: string; readonly until: string };
}

function compactTime(iso: string): string {
  return iso.replace(/[^0-9]/g, '').slice(0, 14);
}

/** The run ID of a window's retraining: the pipeline's `<useCase>-<14 digits>-<4 chars>` form, derived from the window. */
export function retrainingRunId(useCase: string, window: TimeWindow): string {
  return `${useCase}-${compactTime(window.end)}-${sha256Hex(`${useCase}/${window.start}/${window.end}`).slice(0, 4)}`;
}

const windowKey = (useCase: string, w: TimeWindow) => `${useCase}/${w.start}/${w.end}`;

/** The reason a drift gives for retraining, as the ledger and the run record it. */
export function driftReason(report: MonitoringReport): string {
  const drifted = report.features.filter((f) => f.drifted);
  const parts = drifted.map((f) =>
    f.pValue !== undefined && f.pValue !== null
      ? `${f.name} (${f.test} p=${f.pValue.toPrecision(3)} < ${f.threshold})`
      : `${f.name} (${f.test} ${f.statistic === null ? 'infinite' : f.statistic.toPrecision(3)} >= ${f.threshold})`,
  );
  const text = `drift on ${report.modelVersion} in ${report.window.start}..${report.window.end}: ${drifted.length} of ${report.features.filter((f) => f.verdict !== 'insufficient-data').length} features drifted (share ${report.driftedShare.toFixed(2)} >= ${report.threshold ?? '?'}): ${parts.join(', ')}`;
  return text.length > 2000 ? `${text.slice(0, 1997)}...` : text;
}

/** Records the drift and starts (or holds back) the retraining. */
export async function respondToDrift(o: {
  readonly useCase: UseCase;
  readonly ledger: LedgerWriter;
  readonly endpointName: string;
  readonly actor: string;
  readonly now: Date;
  readonly report: MonitoringReport;
  readonly training?: { readonly sfn: SFNClient; readonly stateMachineArn: string };
}): Promise<RetrainingOutcome> {
  const { useCase, report } = o;
  const key = windowKey(useCase.name, report.window);
  const time = o.now.toISOString();
  const driftedFeatures = report.features.filter((f) => f.drifted).map((f) => f.name);
  const reason = driftReason(report);
  // What the three events share: who, when, which window, which version on which endpoint.
  const linked = (kind: string) => ({
    eventId: `${kind}/${key}`,
    actor: o.actor,
    time,
    useCase: useCase.name,
    modelVersion: report.modelVersion,
    endpointName: o.endpointName,
  });
  const drift: DriftDetected = {
    type: 'DriftDetected',
    ...linked('drift'),
    window: report.window,
    driftedFeatures,
    driftedShare: report.driftedShare,
    threshold: report.threshold ?? useCase.monitoring.driftShare,
  };
  await appendForWindow(o.ledger, drift);
  const cooldownMs = useCase.monitoring.retrain.cooldownHours * 3_600_000;
  const since = o.now.getTime() - cooldownMs;
  const onEndpoint = (await recordsOn(o.ledger, 'byEndpoint', o.endpointName)).filter(
    (r) => r.event.useCase === useCase.name,
  );

  // One incident per drift episode: consecutive (overlapping) windows of the same drift share the
  // incident opened within the cooldown, rather than open one an hour.
  const incidents = ofType(onEndpoint, 'IncidentOpened').filter((r) =>
    r.event.eventId.startsWith('incident/'),
  );
  const ownIncident = incidents.find((r) => r.event.eventId === linked('incident').eventId);
  const openIncident = incidents.filter((r) => Date.parse(r.event.time) > since).at(-1);
  let incidentId: string;
  if (ownIncident ?? openIncident) {
    incidentId = (ownIncident ?? openIncident)?.event.incidentId ?? '';
  } else {
    incidentId = `drift-${useCase.name}-${compactTime(report.window.start)}-${compactTime(report.window.end)}`;
    const floor = useCase.monitoring.qualityFloor.auc ?? useCase.gates.minAuc;
    const estimatedFloor = useCase.monitoring.qualityFloor.estimatedAuc ?? useCase.gates.minAuc;
    const below = [
      ...(report.quality?.auc !== undefined && report.quality.auc < floor
        ? [`realized AUC ${report.quality.auc.toFixed(4)} below ${floor}`]
        : []),
      ...(report.estimated?.auc !== undefined && report.estimated.auc < estimatedFloor
        ? [`estimated AUC ${report.estimated.auc.toFixed(4)} below ${estimatedFloor}`]
        : []),
    ];
    const incident: IncidentOpened = {
      type: 'IncidentOpened',
      ...linked('incident'),
      incidentId,
      severity: below.length > 0 ? 'high' : 'medium',
      summary: `${reason.slice(0, 1800)}${below.length > 0 ? `; ${below.join('; ')}` : ''}`,
      relatedEventIds: [report.eventId, drift.eventId],
    };
    await appendForWindow(o.ledger, incident);
  }
  const base = { driftEventId: drift.eventId, incidentId, driftedFeatures, reason };
  if (!useCase.monitoring.retrain.enabled) return { ...base, outcome: 'disabled' };
  if (!o.training) return { ...base, outcome: 'no-pipeline' };
  const training = o.training;
  const statusOf = async (runId: string | undefined): Promise<string | undefined> => {
    if (!runId) return undefined;
    const executionArn = `${training.stateMachineArn.replace(':stateMachine:', ':execution:')}:${runId}`;
    try {
      return (await training.sfn.send(new DescribeExecutionCommand({ executionArn }))).status ?? 'UNKNOWN';
    } catch (e) {
      if (e instanceof ExecutionDoesNotExist) return undefined;
      throw e;
    }
  };

  const triggeredId = linked('retrain').eventId;
  const triggers = ofType(onEndpoint, 'RetrainingTriggered');
  const ours = triggers.find((r) => r.event.eventId === triggeredId);
  if (!ours) {
    // Newest first; a trigger whose run never started (its check failed in between) holds nothing.
    const recent = triggers.filter((r) => Date.parse(r.event.time) > since).reverse();
    for (const r of recent) {
      if ((await statusOf(r.event.runId)) === undefined) continue;
      return {
        ...base,
        outcome: 'cooldown',
        cooldown: {
          eventId: r.event.eventId,
          until: new Date(Date.parse(r.event.time) + cooldownMs).toISOString(),
        },
      };
    }
    // A drift run still going (waiting for an approval, say) holds the next one back, however old.
    const last = triggers.filter((r) => r.event.trigger === 'drift').at(-1);
    if (last?.event.runId && (await statusOf(last.event.runId)) === 'RUNNING') {
      return { ...base, outcome: 'running', runId: last.event.runId };
    }
  }
  const runId = retrainingRunId(useCase.name, report.window);
  const triggered: RetrainingTriggered = {
    type: 'RetrainingTriggered',
    ...linked('retrain'),
    window: report.window,
    trigger: 'drift',
    reason,
    runId,
  };
  // Recorded before the start: a check that fails in between starts the same run on its retry.
  await appendForWindow(o.ledger, triggered);
  const input: PipelineInput = { useCase: useCase.name, trigger: 'drift', reason };
  // An earlier check of this window recorded the trigger; it may or may not have started the run.
  if (ours && (await statusOf(runId)) !== undefined) return { ...base, outcome: 'already-started', runId };
  try {
    await training.sfn.send(
      new StartExecutionCommand({
        stateMachineArn: training.stateMachineArn,
        name: runId,
        input: JSON.stringify(input),
      }),
    );
  } catch (e) {
    if (e instanceof ExecutionAlreadyExists) return { ...base, outcome: 'already-started', runId };
    throw e;
  }
  return { ...base, outcome: 'started', runId };
}
