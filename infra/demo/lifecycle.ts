/**
 * The demo lifecycle `npm start` runs against the local cloud, on real flights: ingest a week of
 * features through the bulk drop zone, show TTL on read through the API, run the synthesized
 * training pipeline (dataset, validation, XGBoost training, evaluation against the champion,
 * gate, registry, deployment), measure the model out of time on the following week, replay
 * January traffic through the API with each flight's outcome as feedback and monitor it (no
 * drift), replay mid-June traffic (drift, a retraining gated against the champion and deployed
 * by canary), then late June (a drift held back by the cooldown), and verify the audit chain.
 */
import { SFNClient } from '@aws-sdk/client-sfn';
import { UseCaseSchema } from '../../shared/config/use-case.ts';
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
import { followExecution, runEvents, startRun, type Target } from '../ops/runs.ts';
import { flightLabel, fromAirports, readFlights } from './flights.ts';
import { type MonitoringDemo, runMonitoringDemo } from './monitoring.ts';
import { outOfTimeAuc } from './out-of-time.ts';
import { type FlightSlice, resourceNames, seedFlights } from './seed.ts';

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

/** What the demo measured. */
export interface DemoReport {
  readonly flights: number;
  readonly featureRecords: number;
  readonly training: {
    readonly runId: string;
    readonly status: string;
    readonly seconds: number;
    readonly testAuc?: number;
  };
  readonly outOfTime?: { readonly rows: number; readonly auc: number };
  /** The deployment the run ended with, and the predictions served through the API. */
  readonly serving?: {
    readonly outcome: string;
    readonly modelVersion: string;
    readonly predictions: number;
    readonly failures: number;
    /** Milliseconds through the local API, client side. */
    readonly p50Ms: number;
    readonly p99Ms: number;
    /** Versions that answered, with their counts. */
    readonly answeredBy: Readonly<Record<string, number>>;
    /** Feedback sent for the answered predictions (each flight's real outcome), and how it went. */
    readonly feedback: { readonly sent: number; readonly stored: number; readonly failures: number };
    /** AUC of the served scores against that feedback. */
    readonly realizedAuc: number;
    /** Lines of the prediction log the monitor read for the January window. */
    readonly logged: number;
  };
  /** The monitored windows (January, June, late June) and the retraining the drift started. */
  readonly monitoring?: {
    readonly windows: MonitoringDemo['windows'];
    readonly retraining?: MonitoringDemo['retraining'];
  };
  readonly audit: { readonly ok: boolean; readonly events: number };
}

/** The q-quantile of sorted values (nearest rank). */
const quantile = (sorted: readonly number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;

const span = (s: FlightSlice) =>
  `${dateOf(s.from.toISOString())}..${dateOf(new Date(s.to.getTime() - 1).toISOString())}`;

/** Runs the demo; `say` prints one progress line. */
export async function runDemo(cloud: LocalCloud, say: (line: string) => void): Promise<DemoReport> {
  const useCase = UseCaseSchema.parse(demoUseCase);
  const names = resourceNames(cloud);
  const api = (path: string) => `${cloud.apiEndpoint}/v1${path}`;
  const s3 = localS3Client(cloud.endpoints.s3, cloud.assembly.placement.region);
  const target: Target = {
    sfn: new SFNClient({
      endpoint: cloud.endpoints.stepfunctions,
      region: 'us-east-1',
      credentials: LOCAL_CREDENTIALS,
    }),
    apiUrl: api(''),
    ledgerTable: names.ledger,
    dynamodbEndpoint: cloud.endpoints.dynamodb,
    local: true,
  };
  try {
    // 1. Ingest a week of flights: features and labels through their bulk drop zones.
    const seeded = await seedFlights(cloud, TRAIN_SLICE, 'bulk');
    say(
      `ingest ${span(TRAIN_SLICE)}, ${TRAIN_SLICE.airports.length} airports: ${seeded.flights} flights → ${seeded.featureRecords} point-in-time delay-rate records through S3 → EventBridge → Lambda (${seeded.accepted} accepted ${JSON.stringify(seeded.outcomes)}, ${seeded.rejected} quarantined); ${seeded.labels.accepted} label events through ingest-labels/ → the label Bulk function (${seeded.labels.rejected} quarantined)`,
    );

    // 2. Serving reads enforce TTL: a 2001 value is past its 6 h TTL today; a fresh one is served.
    const stale = await signedFetch(api('/features/airport-delays/ORD'), 'GET');
    say(
      `GET /features/airport-delays/ORD → ${stale.status} (${((await stale.json()) as { message?: string }).message ?? ''})`,
    );
    await signedFetch(api('/features/airport-delays/ORD'), 'PUT', {
      eventTime: new Date().toISOString(),
      values: { delayRate2h: 0.31, flights2h: 42 },
    });
    const fresh = await signedFetch(api('/features/airport-delays/ORD'), 'GET');
    say(
      `PUT a fresh value, GET again → ${fresh.status} ${JSON.stringify(((await fresh.json()) as { values?: unknown }).values)}`,
    );

    // 3. Train: the synthesized state machine, step by step.
    say('training pipeline (Step Functions → Lambda steps → SageMaker emulator with XGBoost):');
    const started = performance.now();
    const run = await startRun(target, {
      useCase: useCase.name,
      trigger: 'manual',
      reason: 'npm start demo',
    });
    const done = await followExecution(target.sfn, run.executionArn, (line) => say(`  ${line.trim()}`), 500);
    const seconds = (performance.now() - started) / 1000;
    const events = (await runEvents(target, run.runId)).map((r) => r.event);
    const completed = events.find((e) => e.type === 'TrainingCompleted');
    const evaluated = events.find((e) => e.type === 'ModelEvaluated');
    const registered = events.find((e) => e.type === 'ModelRegistered');
    say(
      `run ${run.runId}: ${done.status} in ${seconds.toFixed(1)} s; ledger: ${events.map((e) => e.type).join(' → ')}`,
    );
    if (evaluated?.type === 'ModelEvaluated') {
      const m = evaluated.metrics;
      say(
        `held-out test split (same week): AUC ${m.auc?.toFixed(4)}, log loss ${m.logLoss?.toFixed(4)}, calibration error ${m.calibrationError?.toFixed(4)} on ${m.rows} rows; gate ${evaluated.passed ? 'passed' : 'failed'}${evaluated.champion ? ` (champion ${evaluated.champion.modelVersion}: AUC ${evaluated.champion.metrics.auc?.toFixed(4)})` : ''}`,
      );
    }
    if (registered?.type === 'ModelRegistered') say(`registered ${registered.modelVersion}`);

    // 4. Out of time: the next week's flights, features from the store as of each flight.
    let outOfTime: DemoReport['outOfTime'];
    if (completed?.type === 'TrainingCompleted') {
      const later = await seedFlights(cloud, LATER_SLICE, 'bulk', { labels: false });
      const flights = [];
      for await (const f of fromAirports(
        readFlights(LATER_SLICE.from, LATER_SLICE.to),
        new Set(LATER_SLICE.airports),
      ))
        flights.push(f);
      // Validated as the label paths would, but kept out of the store: no training may see them.
      const labels = validateLabels(labelContract(useCase), flights.map(flightLabel)).accepted.sort(
        (a, b) => a.eventTime.localeCompare(b.eventTime) || a.labelId.localeCompare(b.labelId),
      );
      const oot = await outOfTimeAuc({
        s3,
        useCase,
        offlineBucket: names.offline,
        modelArtifacts: completed.artifact.uri,
        encodingUri: `s3://${names.datasets}/runs/${run.runId}/encoding.json`,
        labels,
      });
      outOfTime = { rows: oot.rows, auc: oot.auc };
      say(
        `out of time (${span(LATER_SLICE)}, never seen in training; ${later.featureRecords} feature records ingested for it): AUC ${oot.auc.toFixed(4)} on ${oot.rows} flights, ${(100 * oot.positiveRate).toFixed(1)}% delayed`,
      );
    }

    // 5. Serve: the run deployed its model (the nested deploy machine); predict the later week.
    let serving: DemoReport['serving'];
    const deployment = (done.output ? (JSON.parse(done.output) as { deployment?: DeploymentResult }) : {})
      .deployment;
    let monitoring: DemoReport['monitoring'];
    if (deployment) {
      say(
        `deployed by the run's Deploy step (mlops-dev-flight-delay-deploy): ${deployment.outcome} ${deployment.modelVersion} on ${deployment.endpointName} (${deployment.reason})`,
      );
      // 6. Serve, monitor, retrain: traffic like the training week, then June.
      const loop = await runMonitoringDemo({
        cloud,
        target,
        useCase,
        stage: 'dev',
        january: TRAIN_SLICE,
        say,
      });
      const { january } = loop;
      const latencies = [...january.latenciesMs].sort((a, b) => a - b);
      const answeredBy: Record<string, number> = {};
      for (const s of january.served) answeredBy[s.modelVersion] = (answeredBy[s.modelVersion] ?? 0) + 1;
      serving = {
        outcome: deployment.outcome,
        modelVersion: deployment.modelVersion,
        predictions: january.served.length + january.failures,
        failures: january.failures,
        p50Ms: quantile(latencies, 0.5),
        p99Ms: quantile(latencies, 0.99),
        answeredBy,
        feedback: { sent: january.served.length, ...january.feedback },
        realizedAuc: auc(
          january.served.map((x) => x.label),
          january.served.map((x) => x.score),
        ),
        logged: loop.januaryLogged,
      };
      say(
        `serving: latency p50 ${serving.p50Ms.toFixed(1)} ms, p99 ${serving.p99Ms.toFixed(1)} ms (client side, one at a time, through the local API); ${serving.logged} of ${january.served.length} January predictions in the prediction log`,
      );
      monitoring = { windows: loop.windows, ...(loop.retraining ? { retraining: loop.retraining } : {}) };
    }

    // 6. Audit: the chain verifies, including against the Object Lock archive.
    await cloud.settle();
    const verify = (await (await signedFetch(api('/audit/verify?archive=true'), 'GET')).json()) as {
      ok: boolean;
      eventsChecked: number;
    };
    say(
      `audit verify: ${verify.ok ? 'chain intact' : 'CHAIN BROKEN'}, ${verify.eventsChecked} event(s) checked against the archive`,
    );
    return {
      flights: seeded.flights,
      featureRecords: seeded.featureRecords,
      training: {
        runId: run.runId,
        status: done.status ?? 'UNKNOWN',
        seconds,
        ...(evaluated?.type === 'ModelEvaluated' && evaluated.metrics.auc !== undefined
          ? { testAuc: evaluated.metrics.auc }
          : {}),
      },
      ...(outOfTime ? { outOfTime } : {}),
      ...(serving ? { serving } : {}),
      ...(monitoring ? { monitoring } : {}),
      audit: { ok: verify.ok, events: verify.eventsChecked },
    };
  } finally {
    s3.destroy();
    target.sfn.destroy();
  }
}
