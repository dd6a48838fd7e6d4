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
import type { Flight } from './flights.ts';
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

/** What the monitoring stages share. */
export interface LoopContext {
  readonly cloud: LocalCloud;
  /** With the local cloud's endpoints, so the monitor Lambda and the ledger are reachable. */
  readonly target: Target;
  readonly useCase: UseCase;
  readonly stage: string;
  readonly say: (line: string) => void;
}

/** The target with the local cloud's endpoints, as the monitoring stages need it. */
export function loopContext(o: Omit<LoopContext, 'target'> & { readonly target: Target }): LoopContext {
  return {
    ...o,
    target: {
      ...o.target,
      cloud: { endpoints: o.cloud.endpoints, region: o.cloud.assembly.placement.region },
    },
  };
}

/** One window of traffic: replayed through the API with its feedback, then checked by the monitor. */
export interface ServedWindow {
  readonly replay: Replay;
  readonly result: MonitorResult;
  readonly window: MonitoredWindow;
  /** Prediction-log lines the monitor read for the window. */
  readonly logged: number;
}

/** Replays `count` flights of `slice` with their feedback and runs the monitor on that window. */
export async function serveAndMonitor(
  ctx: LoopContext,
  label: string,
  slice: FlightSlice,
  count: number,
  exclude?: (f: Flight) => boolean,
): Promise<ServedWindow> {
  const replay = await replayFlights(
    (path) => `${ctx.target.apiUrl}${path}`,
    ctx.useCase.name,
    slice,
    count,
    {
      region: ctx.cloud.assembly.placement.region,
      ...(exclude ? { exclude } : {}),
    },
  );
  ctx.say(
    `${replay.served.length} predictions through POST /predict (${replay.concurrency} clients, features as of each flight), ${replay.feedback.stored} outcomes through POST /feedback; realized AUC ${auc(
      replay.served.map((s) => s.label),
      replay.served.map((s) => s.score),
    ).toFixed(4)}`,
  );
  // Firehose delivers a buffer a minute; flush it now rather than wait.
  await ctx.cloud.firehose.flush();
  const result = await runCheck(ctx.target, ctx.stage, ctx.useCase.name, {
    from: replay.window.start,
    to: replay.window.end,
    requestedBy: 'npm-start-demo',
  });
  ctx.say(`monitor (mlops monitor ${ctx.useCase.name} --from --to):`);
  sayReport(result, ctx.say);
  return {
    replay,
    result,
    window: summarize(label, replay, result),
    logged: result.reports.reduce((n, x) => n + x.rows, 0) + result.skipped.reduce((n, s) => n + s.rows, 0),
  };
}

/** A run the demo followed to its end, with what the ledger says it did. */
export interface FollowedRun {
  readonly runId: string;
  readonly status: string;
  readonly error?: string;
  readonly modelVersion?: string;
  readonly testAuc?: number;
  readonly champion?: string;
  readonly championAuc?: number;
  readonly passed?: boolean;
  /** DeploymentCompleted or DeploymentRolledBack. */
  readonly deployment?: string;
  readonly strategy?: string;
  /** The alarms a rollback named. */
  readonly alarms?: readonly string[];
}

/** Follows a training run step by step, then reads its evaluation and deployment from the ledger. */
export async function followRun(ctx: LoopContext, runId: string): Promise<FollowedRun> {
  const done = await followExecution(
    ctx.target.sfn,
    await executionArnOf(ctx.target, runId),
    (line) => ctx.say(`  ${line.trim()}`),
    500,
  );
  const events = (await runEvents(ctx.target, runId)).map((x) => x.event);
  const evaluated = events.find((e) => e.type === 'ModelEvaluated');
  const registered = events.find((e) => e.type === 'ModelRegistered');
  // The nested deploy machine records the deployment under the new version, not the run.
  const deployed = registered ? await versionEvents(ctx.target, registered.modelVersion) : [];
  const deployment = deployed.find(
    (e) => e.type === 'DeploymentCompleted' || e.type === 'DeploymentRolledBack',
  );
  const started = deployed.find((e) => e.type === 'DeploymentStarted');
  if (evaluated?.type === 'ModelEvaluated') {
    ctx.say(
      `candidate AUC ${evaluated.metrics.auc?.toFixed(4)}${evaluated.champion ? ` against champion ${evaluated.champion.modelVersion} ${evaluated.champion.metrics.auc?.toFixed(4) ?? ''} on the same test split` : ''}: gate ${evaluated.passed ? 'passed' : 'failed'}`,
    );
  }
  const strategy =
    started?.type === 'DeploymentStarted'
      ? `${started.strategy.kind}${started.strategy.canaryPercent ? ` ${started.strategy.canaryPercent}%` : ''}`
      : undefined;
  const alarms = deployment?.type === 'DeploymentRolledBack' ? (deployment.alarms ?? []) : undefined;
  if (strategy) {
    ctx.say(
      `deployment ${strategy} of ${registered?.modelVersion} → ${deployment?.type ?? 'unknown'}${alarms?.length ? ` (alarm: ${alarms.join(', ')})` : ''}`,
    );
  }
  return {
    runId,
    status: done.status ?? 'UNKNOWN',
    ...(done.error ? { error: done.error } : {}),
    ...(registered ? { modelVersion: registered.modelVersion } : {}),
    ...(evaluated?.type === 'ModelEvaluated'
      ? {
          passed: evaluated.passed,
          ...(evaluated.metrics.auc === undefined ? {} : { testAuc: evaluated.metrics.auc }),
          ...(evaluated.champion
            ? {
                champion: evaluated.champion.modelVersion,
                ...(evaluated.champion.metrics.auc === undefined
                  ? {}
                  : { championAuc: evaluated.champion.metrics.auc }),
              }
            : {}),
        }
      : {}),
    ...(deployment ? { deployment: deployment.type } : {}),
    ...(strategy ? { strategy } : {}),
    ...(alarms ? { alarms } : {}),
  };
}

/** Mid-June: drift, and the retraining it started, followed to its deployment. */
export async function juneDrift(
  ctx: LoopContext,
  airports: readonly string[],
  count: number,
): Promise<{ served: ServedWindow; retraining?: FollowedRun }> {
  const served = await serveAndMonitor(ctx, 'mid-June', JUNE_SLICE(airports), count);
  const r = served.result.retraining;
  if (!r) return { served };
  ctx.say(`drift → ${r.outcome}${r.runId ? ` run ${r.runId}` : ''}: ${r.reason}`);
  if (!r.runId || (r.outcome !== 'started' && r.outcome !== 'already-started')) return { served };
  ctx.say('retraining (trigger=drift), on everything labeled so far:');
  return { served, retraining: await followRun(ctx, r.runId) };
}

/** Late June, served by whatever the retraining deployed: a drift here is held by the cooldown. */
export async function lateJune(
  ctx: LoopContext,
  airports: readonly string[],
  count: number,
): Promise<ServedWindow> {
  const served = await serveAndMonitor(
    ctx,
    'late June, inside the cooldown',
    LATE_JUNE_SLICE(airports),
    count,
  );
  const h = served.result.retraining;
  if (h) ctx.say(`drift → ${h.outcome}${h.cooldown ? ` until ${h.cooldown.until}` : ''}`);
  return served;
}
