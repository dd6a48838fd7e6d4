/**
 * The demo lifecycle `npm start` runs against the local cloud, on real flights: ingest a week of
 * features through the bulk drop zone, show TTL on read through the API, run the synthesized
 * training pipeline (dataset, validation, XGBoost training, evaluation against the champion,
 * gate, registry, deployment), measure the model out of time on the following week, serve
 * predictions of that week through the API with each flight's outcome as feedback, check the
 * prediction log, and verify the audit chain. Capabilities not built yet are named as such.
 */
import { SFNClient } from '@aws-sdk/client-sfn';
import { UseCaseSchema } from '../../shared/config/use-case.ts';
import type { DeploymentResult } from '../../shared/deployment/contracts.ts';
import { dateOf } from '../../shared/features/offline-store.ts';
import { labelContract } from '../../shared/labels/schema.ts';
import { validateLabels } from '../../shared/labels/store.ts';
import { auc } from '../../shared/pipeline/metrics.ts';
import { listKeys, readText } from '../../shared/s3.ts';
import { predictionLogPrefix } from '../../shared/serving/prediction-log.ts';
import demoUseCase from '../../use-cases/flight-delay.ts';
import { localS3Client } from '../local/clients.ts';
import type { LocalCloud } from '../local/cloud.ts';
import { LOCAL_CREDENTIALS } from '../local/engines/credentials.ts';
import { signedFetch } from '../local/sigv4.ts';
import { followExecution, runEvents, startRun, type Target } from '../ops/runs.ts';
import {
  type AirportDelayRecord,
  airportDelayRecords,
  type Flight,
  flightLabel,
  fromAirports,
  readFlights,
} from './flights.ts';
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
    /** Lines of the prediction log delivered to S3 for the answered predictions. */
    readonly logged: number;
  };
  readonly audit: { readonly ok: boolean; readonly events: number };
}

/** How many of the later week's flights the demo scores through `POST /predict`. */
const PREDICTIONS = 200;

/** The q-quantile of sorted values (nearest rank). */
const quantile = (sorted: readonly number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;

/**
 * Scores flights of `slice` through the API. The airports' online features are the last 2-hour
 * windows of the slice, written again as of now (the 2001 values are past their TTL), so the
 * endpoint sees what a live caller's flights would.
 */
async function servePredictions(
  cloud: LocalCloud,
  api: (path: string) => string,
  slice: FlightSlice,
  say: (line: string) => void,
): Promise<Omit<NonNullable<DemoReport['serving']>, 'outcome' | 'modelVersion'>> {
  const flights: Flight[] = [];
  for await (const f of fromAirports(readFlights(slice.from, slice.to), new Set(slice.airports)))
    flights.push(f);
  async function* replay() {
    yield* flights;
  }
  const latest = new Map<string, AirportDelayRecord>();
  for await (const r of airportDelayRecords(replay())) latest.set(r.entityId, r);
  const now = new Date().toISOString();
  for (const r of latest.values()) {
    const res = await signedFetch(api(`/features/airport-delays/${r.entityId}`), 'PUT', {
      eventTime: now,
      values: r.values,
    });
    if (res.status !== 200) throw new Error(`PUT /features/airport-delays/${r.entityId}: ${res.status}`);
  }
  const step = Math.max(1, Math.floor(flights.length / PREDICTIONS));
  const sample = flights.filter((_, i) => i % step === 0).slice(0, PREDICTIONS);
  const latencies: number[] = [];
  const answeredBy: Record<string, number> = {};
  let failures = 0;
  let first: unknown;
  const answered: { requestId: string; score: number; label: 0 | 1 }[] = [];
  for (const f of sample) {
    const { entities, request, label } = flightLabel(f);
    const t0 = performance.now();
    const res = await signedFetch(api('/predict/flight-delay'), 'POST', { entities, request });
    latencies.push(performance.now() - t0);
    const body = (await res.json()) as { modelVersion?: string; requestId?: string; score?: number };
    if (res.status !== 200) {
      failures++;
      continue;
    }
    first ??= { request: { entities, request }, answer: body };
    const v = body.modelVersion ?? '?';
    answeredBy[v] = (answeredBy[v] ?? 0) + 1;
    answered.push({ requestId: String(body.requestId), score: Number(body.score), label });
  }
  latencies.sort((a, b) => a - b);
  const p50Ms = quantile(latencies, 0.5);
  const p99Ms = quantile(latencies, 0.99);
  say(`POST /predict/flight-delay, e.g. ${JSON.stringify(first)}`);
  say(
    `${sample.length} predictions of ${span(slice)} flights through the API: ${failures} failed; answered by ${JSON.stringify(answeredBy)}; latency p50 ${p50Ms.toFixed(1)} ms, p99 ${p99Ms.toFixed(1)} ms (client side, one at a time)`,
  );

  // Ground truth arrives: each flight's real outcome, quoted by requestId, through the label path.
  const observedAt = new Date().toISOString();
  let stored = 0;
  let feedbackFailures = 0;
  for (const a of answered) {
    const res = await signedFetch(api('/feedback/flight-delay'), 'POST', {
      requestId: a.requestId,
      label: a.label,
      observedAt,
    });
    const body = (await res.json()) as { outcome?: string };
    if (res.status === 200 && body.outcome === 'written') stored++;
    else feedbackFailures++;
  }
  const realizedAuc = auc(
    answered.map((a) => a.label),
    answered.map((a) => a.score),
  );
  say(
    `${answered.length} feedback labels through POST /feedback/flight-delay: ${stored} stored as label events of the requests as served, ${feedbackFailures} failed; realized AUC of the served scores ${realizedAuc.toFixed(4)}`,
  );

  // The prediction log: Firehose delivers a buffer a minute; flush it now rather than wait.
  await cloud.firehose.flush();
  const logBucket = resourceNames(cloud).predictionLogs;
  const s3 = localS3Client(cloud.endpoints.s3, cloud.assembly.placement.region);
  const wanted = new Set(answered.map((a) => a.requestId));
  let logged = 0;
  const keys = await listKeys(s3, logBucket, predictionLogPrefix('flight-delay'));
  for (const key of keys) {
    for (const line of (await readText(s3, { bucket: logBucket, key })).split('\n')) {
      if (line && wanted.has((JSON.parse(line) as { requestId?: string }).requestId ?? '')) logged++;
    }
  }
  s3.destroy();
  say(
    `prediction log: ${logged} of ${answered.length} predictions delivered by Firehose to s3://${logBucket}/${predictionLogPrefix('flight-delay')} (${keys.length} object(s), by date and hour)`,
  );
  return {
    predictions: sample.length,
    failures,
    p50Ms,
    p99Ms,
    answeredBy,
    feedback: { sent: answered.length, stored, failures: feedbackFailures },
    realizedAuc,
    logged,
  };
}

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
    if (deployment) {
      say(
        `deployed by the run's Deploy step (mlops-dev-flight-delay-deploy): ${deployment.outcome} ${deployment.modelVersion} on ${deployment.endpointName} (${deployment.reason})`,
      );
      const served = await servePredictions(cloud, api, LATER_SLICE, say);
      serving = { outcome: deployment.outcome, modelVersion: deployment.modelVersion, ...served };
    }
    say('drift → retrain: not built yet (the monitoring capability comes next)');

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
      audit: { ok: verify.ok, events: verify.eventsChecked },
    };
  } finally {
    s3.destroy();
    target.sfn.destroy();
  }
}
