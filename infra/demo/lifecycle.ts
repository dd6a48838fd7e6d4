/**
 * The demo lifecycle `npm start` runs against the local cloud, on real flights, as a list of
 * stages: ingest a January week (features through the bulk drop zone, labels through the label
 * path) and show TTL on read; train, evaluate, gate, register, approve and deploy with the
 * synthesized pipeline; measure the model out of time on the next week; replay January traffic
 * with feedback and monitor it (no drift); replay mid-June (drift, a retraining gated against the
 * champion, a canary); late June (a drift held back by the cooldown); a bad release whose canary
 * rolls back; verify the audit chain and show the serving model's provenance. Each stage throws
 * when what it shows did not happen, so `--once` exits 0 only when every stage did.
 */
import { SFNClient } from '@aws-sdk/client-sfn';
import { type UseCase, UseCaseSchema } from '../../shared/config/use-case.ts';
import type { DeploymentResult } from '../../shared/deployment/contracts.ts';
import { dateOf } from '../../shared/features/offline-store.ts';
import { labelContract } from '../../shared/labels/schema.ts';
import { validateLabels } from '../../shared/labels/store.ts';
import { auc } from '../../shared/pipeline/metrics.ts';
import demoUseCase from '../../use-cases/flight-delay.ts';
import { localS3Client } from '../local/clients.ts';
import type { LocalCloud } from '../local/cloud.ts';
import { LOCAL_CREDENTIALS } from '../local/engines/credentials.ts';
import { signedFetch } from '../local/sigv4.ts';
import { readState } from '../local/state.ts';
import { writeReport } from '../ops/report.ts';
import { followExecution, runEvents, startRun, type Target } from '../ops/runs.ts';
import { localTarget } from '../ops/target.ts';
import { type BadCanary, badCanary } from './canary.ts';
import { type Flight, flightLabel, fromAirports, readFlights } from './flights.ts';
import {
  type FollowedRun,
  juneDrift,
  LATE_JUNE_SLICE,
  type LoopContext,
  lateJune,
  loopContext,
  type MonitoredWindow,
  type ServedWindow,
  serveAndMonitor,
} from './monitoring.ts';
import { outOfTimeAuc } from './out-of-time.ts';
import { evenly, type FlightSlice, resourceNames, seedFlights } from './seed.ts';

const AIRPORTS = ['ORD', 'DFW', 'ATL', 'LAX', 'PHX', 'STL', 'DTW', 'MSP', 'LAS', 'DEN'];

/** Training data: the first week of 2001 at the 10 busiest origins. */
export const TRAIN_SLICE: FlightSlice = {
  airports: AIRPORTS,
  from: new Date('2001-01-01T00:00:00Z'),
  to: new Date('2001-01-08T00:00:00Z'),
};

/** Out-of-time check: the following week, never used for training. */
export const LATER_SLICE: FlightSlice = {
  airports: AIRPORTS,
  from: new Date('2001-01-08T00:00:00Z'),
  to: new Date('2001-01-15T00:00:00Z'),
};

/**
 * Flights labelled for training, and scored out of time, by default: sized so the whole demo
 * takes about a minute and a half on 2 cores. `--rows` changes it.
 */
export const DEFAULT_ROWS = 20_000;

/** Predictions replayed per monitored window: above the use case's minimum sample. */
const WINDOW_PREDICTIONS = 300;

/** What `npm start` was asked for. */
export interface DemoOptions {
  readonly stage: string;
  /** Labelled training flights, and out-of-time flights scored. */
  readonly rows: number;
  /** Where the HTML report goes. */
  readonly reportPath: string;
}

/** One model version the demo made, and how it fared. */
export interface DemoModel {
  readonly modelVersion: string;
  readonly trigger: 'manual' | 'drift';
  readonly testAuc?: number;
  /** AUC on data after its training: the next week for the first, served late-June traffic for the retrained. */
  readonly outOfTime?: { readonly auc: number; readonly rows: number; readonly on: string };
  readonly fate: string;
}

/** What the demo measured, filled in stage by stage. */
export interface DemoReport {
  ingest?: {
    readonly flights: number;
    readonly featureRecords: number;
    readonly labels: number;
    readonly rejected: number;
  };
  training?: FollowedRun & { readonly seconds: number };
  outOfTime?: { readonly rows: number; readonly auc: number };
  readonly models: DemoModel[];
  readonly windows: MonitoredWindow[];
  /** January through the API: every prediction answered, its feedback stored and logged. */
  serving?: {
    readonly predictions: number;
    readonly failures: number;
    readonly concurrency: number;
    /** Milliseconds through the local API, client side. */
    readonly p50Ms: number;
    readonly p99Ms: number;
    readonly feedback: { readonly sent: number; readonly stored: number; readonly failures: number };
    readonly logged: number;
  };
  retraining?: FollowedRun;
  badCanary?: BadCanary;
  audit?: { readonly ok: boolean; readonly events: number; readonly serving: string };
  /** The HTML report's absolute path. */
  reportPath?: string;
}

/** One step of the demo: a title, and a run that resolves with one line saying what it found. */
export interface DemoStage {
  readonly title: string;
  readonly run: (say: (line: string) => void) => Promise<string>;
}

/** A stage's expectation that did not hold. */
export class DemoStageError extends Error {
  override readonly name = 'DemoStageError';
}

const expect = (ok: boolean, message: string) => {
  if (!ok) throw new DemoStageError(message);
};

/** The q-quantile of sorted values (nearest rank). */
export const quantile = (sorted: readonly number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;

const span = (s: FlightSlice) =>
  `${dateOf(s.from.toISOString())}..${dateOf(new Date(s.to.getTime() - 1).toISOString())}`;

/** A flight's identity in the data (flights with all of these equal are one label event anyway). */
const flightKey = (f: Flight) => `${f.time}|${f.origin}|${f.destination}|${f.distance}`;

const fixed = (x: number | undefined, digits = 4) => (x === undefined ? '—' : x.toFixed(digits));

/** The demo's stages against a running local cloud; `close()` releases its clients. */
export function demoLifecycle(
  cloud: LocalCloud,
  options: DemoOptions,
): { stages: DemoStage[]; report: DemoReport; close: () => void } {
  const useCase: UseCase = UseCaseSchema.parse(demoUseCase);
  const names = resourceNames(cloud);
  const region = cloud.assembly.placement.region;
  const api = (path: string) => `${cloud.apiEndpoint}/v1${path}`;
  const call = (path: string, method: string, body?: unknown) =>
    signedFetch(api(path), method, body, { region });
  const s3 = localS3Client(cloud.endpoints.s3, region);
  const target: Target = {
    sfn: new SFNClient({ endpoint: cloud.endpoints.stepfunctions, region, credentials: LOCAL_CREDENTIALS }),
    apiUrl: api(''),
    ledgerTable: names.ledger,
    dynamodbEndpoint: cloud.endpoints.dynamodb,
    local: true,
  };
  const report: DemoReport = { models: [], windows: [] };
  let artifact: { uri: string; runId: string } | undefined;
  let january: ServedWindow | undefined;
  const loop = (say: (line: string) => void): LoopContext =>
    loopContext({ cloud, target, useCase, stage: options.stage, say });

  const stages: DemoStage[] = [
    {
      title: `Ingest ${span(TRAIN_SLICE)} at ${AIRPORTS.length} airports: features (bulk) and labels (label path)`,
      run: async (say) => {
        const seeded = await seedFlights(cloud, TRAIN_SLICE, 'bulk', { labelled: options.rows });
        say(
          `${seeded.flights} flights → ${seeded.featureRecords} point-in-time delay-rate records through S3 → EventBridge → the feature Bulk function (${seeded.accepted} accepted ${JSON.stringify(seeded.outcomes)}, ${seeded.rejected} quarantined)`,
        );
        say(
          `${seeded.labels.accepted} label events (${options.rows} flights taken evenly) through ingest-labels/ → the label Bulk function (${seeded.labels.rejected} quarantined)`,
        );
        expect(seeded.rejected === 0 && seeded.labels.rejected === 0, 'the demo data had rejected records');
        // Serving reads enforce TTL: a 2001 value is past its 6 h TTL today; a fresh one is served.
        const stale = await call('/features/airport-delays/ORD', 'GET');
        say(
          `GET /features/airport-delays/ORD → ${stale.status} (${((await stale.json()) as { message?: string }).message ?? ''})`,
        );
        await call('/features/airport-delays/ORD', 'PUT', {
          eventTime: new Date().toISOString(),
          values: { delayRate2h: 0.31, flights2h: 42 },
        });
        const fresh = await call('/features/airport-delays/ORD', 'GET');
        say(
          `PUT a fresh value, GET again → ${fresh.status} ${JSON.stringify(((await fresh.json()) as { values?: unknown }).values)}`,
        );
        expect(stale.status === 404 && fresh.status === 200, 'TTL on read did not behave');
        report.ingest = {
          flights: seeded.flights,
          featureRecords: seeded.featureRecords,
          labels: seeded.labels.accepted,
          rejected: seeded.rejected + seeded.labels.rejected,
        };
        return `${seeded.featureRecords} feature records, ${seeded.labels.accepted} labels; TTL enforced on read`;
      },
    },
    {
      title: 'Train, evaluate, gate, register, approve (automatic in dev) and deploy',
      run: async (say) => {
        const started = performance.now();
        const run = await startRun(target, {
          useCase: useCase.name,
          trigger: 'manual',
          reason: 'npm start demo',
        });
        say(
          `run ${run.runId} on the synthesized state machine (Lambda steps, SageMaker emulator with XGBoost):`,
        );
        const done = await followExecution(
          target.sfn,
          run.executionArn,
          (line) => say(`  ${line.trim()}`),
          500,
        );
        const seconds = (performance.now() - started) / 1000;
        const events = (await runEvents(target, run.runId)).map((r) => r.event);
        const completed = events.find((e) => e.type === 'TrainingCompleted');
        const evaluated = events.find((e) => e.type === 'ModelEvaluated');
        const registered = events.find((e) => e.type === 'ModelRegistered');
        const approved = events.find((e) => e.type === 'ApprovalRecorded');
        say(`ledger: ${events.map((e) => e.type).join(' → ')}`);
        const deployment = (done.output ? (JSON.parse(done.output) as { deployment?: DeploymentResult }) : {})
          .deployment;
        expect(done.status === 'SUCCEEDED', `the training run ended ${done.status}: ${done.error ?? ''}`);
        expect(
          completed?.type === 'TrainingCompleted' && registered !== undefined,
          'no model was registered',
        );
        expect(
          deployment?.outcome === 'deployed',
          `the run did not deploy: ${deployment?.reason ?? 'no deployment'}`,
        );
        if (completed?.type === 'TrainingCompleted')
          artifact = { uri: completed.artifact.uri, runId: run.runId };
        const m = evaluated?.type === 'ModelEvaluated' ? evaluated.metrics : undefined;
        say(
          `held-out test split (same week): AUC ${fixed(m?.auc)}, log loss ${fixed(m?.logLoss)}, calibration error ${fixed(m?.calibrationError)} on ${m?.rows} rows; gate ${evaluated?.type === 'ModelEvaluated' && evaluated.passed ? 'passed' : 'failed'}`,
        );
        say(
          `approval: ${approved?.type === 'ApprovalRecorded' ? `${approved.decision} by ${approved.approver}` : `automatic (the ${options.stage} stage needs no approver: Register approves a model that passed the gate; prod waits for mlops approve)`}; deployed ${deployment?.modelVersion} on ${deployment?.endpointName}`,
        );
        report.training = {
          runId: run.runId,
          status: done.status ?? 'UNKNOWN',
          seconds,
          ...(registered ? { modelVersion: registered.modelVersion } : {}),
          ...(m?.auc === undefined ? {} : { testAuc: m.auc }),
          ...(deployment ? { deployment: deployment.outcome } : {}),
        };
        report.models.push({
          modelVersion: registered?.modelVersion ?? '—',
          trigger: 'manual',
          ...(m?.auc === undefined ? {} : { testAuc: m.auc }),
          fate: 'serving',
        });
        return `${registered?.modelVersion} AUC ${fixed(m?.auc)} (held out), deployed in ${seconds.toFixed(1)} s`;
      },
    },
    {
      title: `Out of time: score ${span(LATER_SLICE)}, never seen in training`,
      run: async (say) => {
        if (!artifact) throw new DemoStageError('no trained model to score');
        const later = await seedFlights(cloud, LATER_SLICE, 'bulk', { labels: false });
        const flights = [];
        for await (const f of fromAirports(readFlights(LATER_SLICE.from, LATER_SLICE.to), new Set(AIRPORTS)))
          flights.push(f);
        // Validated as the label paths would, but kept out of the store: no training may see them.
        const labels = validateLabels(
          labelContract(useCase),
          evenly(flights, options.rows).map(flightLabel),
        ).accepted.sort(
          (a, b) => a.eventTime.localeCompare(b.eventTime) || a.labelId.localeCompare(b.labelId),
        );
        const oot = await outOfTimeAuc({
          s3,
          useCase,
          offlineBucket: names.offline,
          modelArtifacts: artifact.uri,
          encodingUri: `s3://${names.datasets}/runs/${artifact.runId}/encoding.json`,
          labels,
        });
        say(
          `${later.featureRecords} feature records ingested for the week; ${oot.rows} flights scored with the features the store held at each: AUC ${oot.auc.toFixed(4)}, ${(100 * oot.positiveRate).toFixed(1)}% delayed`,
        );
        report.outOfTime = { rows: oot.rows, auc: oot.auc };
        const first = report.models[0];
        if (first)
          report.models[0] = { ...first, outOfTime: { auc: oot.auc, rows: oot.rows, on: span(LATER_SLICE) } };
        return `AUC ${oot.auc.toFixed(4)} on ${oot.rows} later flights`;
      },
    },
    {
      title: 'Serve January traffic with feedback; the monitor finds no drift',
      run: async (say) => {
        // The training week's other flights: the same distributions, none of them a training example.
        const labelled = new Set<string>();
        const week: Flight[] = [];
        for await (const f of fromAirports(readFlights(TRAIN_SLICE.from, TRAIN_SLICE.to), new Set(AIRPORTS)))
          week.push(f);
        for (const f of evenly(week, options.rows)) labelled.add(flightKey(f));
        january = await serveAndMonitor(
          loop(say),
          'January (the training week, unlabelled flights)',
          TRAIN_SLICE,
          WINDOW_PREDICTIONS,
          (f) => labelled.has(flightKey(f)),
        );
        const { replay } = january;
        const latencies = [...replay.latenciesMs].sort((a, b) => a - b);
        report.serving = {
          predictions: replay.served.length + replay.failures,
          failures: replay.failures,
          concurrency: replay.concurrency,
          p50Ms: quantile(latencies, 0.5),
          p99Ms: quantile(latencies, 0.99),
          feedback: { sent: replay.served.length, ...replay.feedback },
          logged: january.logged,
        };
        report.windows.push(january.window);
        const s = report.serving;
        say(
          `latency p50 ${s.p50Ms.toFixed(1)} ms, p99 ${s.p99Ms.toFixed(1)} ms (client side, ${s.concurrency} clients, through the local API); ${s.logged} of ${s.feedback.sent} predictions in the prediction log`,
        );
        expect(s.failures === 0 && s.feedback.failures === 0, 'a prediction or its feedback failed');
        expect(
          s.logged === s.feedback.sent,
          `${s.feedback.sent - s.logged} served predictions are missing from the log`,
        );
        expect(january.window.decision === 'no-drift', `January was found ${january.window.decision}`);
        return `${s.predictions} predictions, p50 ${s.p50Ms.toFixed(1)} ms; drifted share ${january.window.driftedShare.toFixed(2)}: no drift`;
      },
    },
    {
      title: 'Serve mid-June: drift → retraining → challenger against champion → canary',
      run: async (say) => {
        const { served, retraining } = await juneDrift(loop(say), AIRPORTS, WINDOW_PREDICTIONS);
        report.windows.push(served.window);
        expect(served.window.decision === 'drift', `mid-June was found ${served.window.decision}`);
        expect(
          retraining !== undefined,
          `the drift started no retraining: ${served.result.retraining?.reason ?? ''}`,
        );
        if (!retraining) return '';
        report.retraining = retraining;
        expect(
          retraining.status === 'SUCCEEDED',
          `the retraining ended ${retraining.status}: ${retraining.error ?? ''}`,
        );
        expect(
          retraining.deployment === 'DeploymentCompleted',
          `the retrained model was not deployed (${retraining.deployment})`,
        );
        const first = report.models[0];
        if (first) report.models[0] = { ...first, fate: 'replaced after drift' };
        report.models.push({
          modelVersion: retraining.modelVersion ?? '—',
          trigger: 'drift',
          ...(retraining.testAuc === undefined ? {} : { testAuc: retraining.testAuc }),
          fate: 'serving',
        });
        return `drifted share ${served.window.driftedShare.toFixed(2)} (${served.window.drifted.join(', ')}); ${retraining.modelVersion} ${fixed(retraining.testAuc)} vs champion ${fixed(retraining.championAuc)}, ${retraining.strategy} → ${retraining.deployment}`;
      },
    },
    {
      title: 'Serve late June, inside the cooldown: a drift starts no second run',
      run: async (say) => {
        const held = await lateJune(loop(say), AIRPORTS, 250);
        report.windows.push(held.window);
        expect(held.replay.failures === 0, `${held.replay.failures} late-June predictions failed`);
        expect(
          held.window.decision !== 'insufficient-data',
          'the monitor had too few late-June predictions to decide',
        );
        expect(
          held.window.decision !== 'drift' || held.window.retraining === 'cooldown',
          `a drift inside the cooldown was answered with ${held.window.retraining}`,
        );
        const retrained = report.models[1];
        const served = held.replay.served.filter((s) => s.modelVersion === retrained?.modelVersion);
        if (retrained && served.length > 0) {
          report.models[1] = {
            ...retrained,
            outOfTime: {
              auc: auc(
                served.map((s) => s.label),
                served.map((s) => s.score),
              ),
              rows: served.length,
              on: 'late-June traffic it served',
            },
          };
        }
        const verdict =
          held.window.decision === 'drift'
            ? `drift (share ${held.window.driftedShare.toFixed(2)}) → held by the cooldown`
            : 'no drift, so nothing to hold back';
        return `${verdict}; realized AUC ${fixed(held.window.realizedAuc)}`;
      },
    },
    {
      title: 'A bad release: its canary fails, the alarm fires, the previous model is restored',
      run: async (say) => {
        const previous = report.models.at(-1)?.modelVersion;
        const bad = await badCanary(loop(say), LATE_JUNE_SLICE(AIRPORTS));
        report.badCanary = bad;
        report.models.push({
          modelVersion: bad.run.modelVersion ?? '—',
          trigger: 'manual',
          ...(bad.run.testAuc === undefined ? {} : { testAuc: bad.run.testAuc }),
          fate:
            bad.run.deployment === 'DeploymentRolledBack'
              ? 'rolled back (canary alarm)'
              : String(bad.run.deployment),
        });
        expect(bad.run.deployment === 'DeploymentRolledBack', `the bad canary ended ${bad.run.deployment}`);
        expect(bad.failures > 0, 'no live request reached the bad canary');
        expect(
          bad.servingAfter === previous,
          `${bad.servingAfter} serves after the rollback, not ${previous}`,
        );
        return `${bad.failures} of ${bad.requests} requests failed; rolled back on ${bad.run.alarms?.join(', ')}; ${previous} serves`;
      },
    },
    {
      title: 'Audit: verify the chain against the archive; provenance of the serving model',
      run: async (say) => {
        await cloud.settle();
        const verified = await call('/audit/verify?archive=true', 'GET');
        const verify = (await verified.json()) as { ok?: boolean; eventsChecked?: number; message?: string };
        expect(verified.status === 200, `audit verify answered ${verified.status}: ${verify.message ?? ''}`);
        say(
          `mlops audit verify --archive: ${verify.ok ? 'chain intact' : 'CHAIN BROKEN'}, ${verify.eventsChecked} events checked against the Object Lock archive`,
        );
        const serving = report.models.filter((m) => m.fate === 'serving').at(-1)?.modelVersion ?? '';
        const res = await call(`/audit/provenance?modelVersion=${encodeURIComponent(serving)}`, 'GET');
        const p = (await res.json()) as {
          dataset?: { hash?: string };
          run?: { runId?: string };
          deployments?: unknown[];
          approvals?: unknown[];
        };
        say(
          `mlops audit provenance ${serving} → ${res.status}: dataset ${p.dataset?.hash?.slice(0, 12) ?? '—'}…, run ${p.run?.runId ?? '—'}, ${p.approvals?.length ?? 0} approval(s), ${p.deployments?.length ?? 0} deployment event(s)`,
        );
        report.audit = { ok: verify.ok === true, events: verify.eventsChecked ?? 0, serving };
        expect(verify.ok === true, 'the audit chain did not verify');
        expect(res.status === 200, `provenance of ${serving} answered ${res.status}`);
        return `${verify.eventsChecked} events, chain intact; ${serving} traced to its dataset and run`;
      },
    },
    {
      title: 'Write the report: drift, quality, deployments and lineage, citing the ledger',
      run: async (say) => {
        const local = localTarget(readState());
        try {
          const written = await writeReport(local, useCase.name, options.stage, options.reportPath);
          const d = written.sections;
          say(
            `mlops report ${useCase.name} --out ${options.reportPath}: ${d.drift.checks} drift checks (${d.drift.charts} charts), ${d.quality.points} quality points, ${d.timeline.events} deployment events, lineage of ${written.servingVersion}`,
          );
          report.reportPath = written.path;
          expect(
            d.drift.charts > 0 && d.quality.points > 0 && d.timeline.events > 0 && d.lineage.nodes >= 4,
            'a report section is empty',
          );
          return written.path;
        } finally {
          local.sfn.destroy();
        }
      },
    },
  ];
  return {
    stages,
    report,
    close: () => {
      s3.destroy();
      target.sfn.destroy();
    },
  };
}
