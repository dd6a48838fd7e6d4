/**
 * The demo's monitoring loop, through the product's own paths: January traffic like the training
 * week is replayed through the API with its feedback and checked by the monitor function (no
 * drift); then mid-June traffic, which the monitor finds drifted and answers with a retraining
 * run (gated against the champion, deployed by canary); then more June traffic inside the
 * cooldown, which starts nothing.
 */
import type { UseCase } from '../../shared/config/use-case.ts';
import type { LedgerEvent, MonitoringReport } from '../../shared/ledger/events.ts';
import { recordsOn } from '../../shared/ledger/queries.ts';
import type { MonitorResult } from '../../shared/monitoring/monitor.ts';
import { auc } from '../../shared/pipeline/metrics.ts';
import type { LocalCloud } from '../local/cloud.ts';
import { driftTable, formatTable, runCheck } from '../ops/monitoring.ts';
import { executionArnOf, followExecution, runEvents, type Target } from '../ops/runs.ts';
import { documentClientFor } from '../ops/target.ts';
import type { FlightSlice } from './seed.ts';
import { type Replay, replayFlights } from './traffic.ts';

/** Mid-June: the summer schedule and delay regime, a full week so weekdays match. */
export const JUNE_SLICE = (airports: readonly string[]): FlightSlice => ({
  airports,
  from: new Date('2001-06-18T00:00:00Z'),
  to: new Date('2001-06-25T00:00:00Z'),
});

/** The rest of June, for a second drift inside the cooldown. */
export const LATE_JUNE_SLICE = (airports: readonly string[]): FlightSlice => ({
  airports,
  from: new Date('2001-06-25T00:00:00Z'),
  to: new Date('2001-07-01T00:00:00Z'),
});

/** Predictions per replayed window: above the use case's minSample, small enough to be quick. */
const WINDOW_PREDICTIONS = 300;

/** One monitored window, as the demo reports it. */
export interface MonitoredWindow {
  readonly label: string;
  readonly predictions: number;
  readonly decision: MonitoringReport['decision'];
  readonly driftedShare: number;
  readonly drifted: readonly string[];
  readonly realizedAuc?: number;
  readonly estimatedAuc?: number;
  readonly retraining?: string;
}

/** What the monitoring loop measured and did. */
export interface MonitoringDemo {
  readonly windows: readonly MonitoredWindow[];
  /** The January replay, as served: for the serving summary. */
  readonly january: Replay;
  /** Prediction-log lines the monitor read for the January window. */
  readonly januaryLogged: number;
  readonly retraining?: {
    readonly runId: string;
    readonly status: string;
    readonly champion?: string;
    readonly passed?: boolean;
    readonly deployment?: string;
  };
}

/** Every ledger event of a model version (byModel index). */
async function versionEvents(target: Target, modelVersion: string): Promise<LedgerEvent[]> {
  const client = documentClientFor(target);
  try {
    return (await recordsOn({ client, tableName: target.ledgerTable ?? '' }, 'byModel', modelVersion)).map(
      (x) => x.event,
    );
  } finally {
    client.destroy();
  }
}

function summarize(label: string, replay: Replay, result: MonitorResult): MonitoredWindow {
  const primary = result.reports.find((r) => r.modelVersion === result.primaryVersion)?.event;
  return {
    label,
    predictions: replay.served.length,
    decision: primary?.decision ?? 'insufficient-data',
    driftedShare: primary?.driftedShare ?? 0,
    drifted: primary?.features.filter((f) => f.drifted).map((f) => f.name) ?? [],
    ...(primary?.quality?.auc === undefined ? {} : { realizedAuc: primary.quality.auc }),
    ...(primary?.estimated?.auc === undefined ? {} : { estimatedAuc: primary.estimated.auc }),
    ...(result.retraining ? { retraining: result.retraining.outcome } : {}),
  };
}

function sayReport(result: MonitorResult, say: (line: string) => void): void {
  for (const r of result.reports) {
    const e = r.event;
    say(
      `  ${e.modelVersion}: ${e.decision.toUpperCase()} (drifted share ${e.driftedShare.toFixed(2)}, threshold ${e.threshold}) on ${e.sampleSize} predictions; AUC realized ${e.quality?.auc?.toFixed(4) ?? '—'} (${e.labeled ?? 0} with feedback), estimated before labels ${e.estimated?.auc?.toFixed(4) ?? '—'}`,
    );
    for (const line of formatTable(driftTable(e)).split('\n')) say(`    ${line}`);
  }
}

/** Runs the loop against the deployed model; `say` prints one line. */
export async function runMonitoringDemo(options: {
  readonly cloud: LocalCloud;
  readonly target: Target;
  readonly useCase: UseCase;
  readonly stage: string;
  readonly january: FlightSlice;
  readonly say: (line: string) => void;
}): Promise<MonitoringDemo> {
  const { cloud, target, useCase, say } = options;
  const api = (path: string) => `${target.apiUrl}${path}`;
  const local: Target = {
    ...target,
    cloud: { endpoints: cloud.endpoints, region: cloud.assembly.placement.region },
  };
  const check = async (replay: Replay) => {
    // Firehose delivers a buffer a minute; flush it now rather than wait.
    await cloud.firehose.flush();
    return runCheck(local, options.stage, useCase.name, {
      from: replay.window.start,
      to: replay.window.end,
      requestedBy: 'npm-start-demo',
    });
  };
  const windows: MonitoredWindow[] = [];

  const january = await replayFlights(api, useCase.name, options.january, WINDOW_PREDICTIONS);
  say(
    `${january.served.length} January predictions through POST /predict, features as of each flight, ${january.feedback.stored} outcomes through POST /feedback; realized AUC ${auc(
      january.served.map((s) => s.label),
      january.served.map((s) => s.score),
    ).toFixed(4)}`,
  );
  const calm = await check(january);
  say(`monitor (mlops monitor ${useCase.name} --from --to), January window:`);
  sayReport(calm, say);
  windows.push(summarize('January (like the training week)', january, calm));

  const juneSlice = JUNE_SLICE(options.january.airports);
  const june = await replayFlights(api, useCase.name, juneSlice, WINDOW_PREDICTIONS);
  say(`${june.served.length} mid-June predictions (2001-06-18..24), with their outcomes as feedback`);
  const drifted = await check(june);
  say('monitor, June window:');
  sayReport(drifted, say);
  windows.push(summarize('mid-June', june, drifted));
  let retraining: MonitoringDemo['retraining'];
  const r = drifted.retraining;
  if (r) {
    say(`drift → ${r.outcome}${r.runId ? ` run ${r.runId}` : ''}: ${r.reason}`);
    if (r.runId && (r.outcome === 'started' || r.outcome === 'already-started')) {
      say('retraining (trigger=drift), on everything labeled so far:');
      const done = await followExecution(
        target.sfn,
        await executionArnOf(target, r.runId),
        (line) => say(`  ${line.trim()}`),
        500,
      );
      const events = (await runEvents(target, r.runId)).map((x) => x.event);
      const evaluated = events.find((e) => e.type === 'ModelEvaluated');
      const registered = events.find((e) => e.type === 'ModelRegistered');
      // The nested deploy machine records the deployment under the new version, not the run.
      const deployed = registered ? await versionEvents(local, registered.modelVersion) : [];
      const deployment = deployed.find(
        (e) => e.type === 'DeploymentCompleted' || e.type === 'DeploymentRolledBack',
      );
      const started = deployed.find((e) => e.type === 'DeploymentStarted');
      if (evaluated?.type === 'ModelEvaluated') {
        say(
          `candidate AUC ${evaluated.metrics.auc?.toFixed(4)} against champion ${evaluated.champion?.modelVersion ?? '—'} ${evaluated.champion?.metrics.auc?.toFixed(4) ?? ''} on the same test split: gate ${evaluated.passed ? 'passed' : 'failed'}`,
        );
      }
      if (started?.type === 'DeploymentStarted') {
        say(
          `deployment ${started.strategy.kind}${started.strategy.canaryPercent ? ` ${started.strategy.canaryPercent}%` : ''} of ${started.modelVersion} → ${deployment?.type ?? 'unknown'}`,
        );
      }
      retraining = {
        runId: r.runId,
        status: done.status ?? 'UNKNOWN',
        ...(evaluated?.type === 'ModelEvaluated'
          ? {
              passed: evaluated.passed,
              ...(evaluated.champion ? { champion: evaluated.champion.modelVersion } : {}),
            }
          : {}),
        ...(deployment ? { deployment: deployment.type } : {}),
      };
    }
  }

  const later = await replayFlights(api, useCase.name, LATE_JUNE_SLICE(options.january.airports), 250);
  const held = await check(later);
  const h = held.retraining;
  say(
    `late June (${later.served.length} predictions): ${held.reports.map((x) => `${x.modelVersion} ${x.event.decision}`).join(', ')}${h ? `; drift → ${h.outcome}${h.cooldown ? ` until ${h.cooldown.until}` : ''}` : ''}`,
  );
  windows.push(summarize('late June, inside the cooldown', later, held));

  return {
    windows,
    january,
    januaryLogged:
      calm.reports.reduce((n, x) => n + x.rows, 0) + calm.skipped.reduce((n, s) => n + s.rows, 0),
    ...(retraining ? { retraining } : {}),
  };
}
