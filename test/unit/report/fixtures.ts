/**
 * Report data for the renderer's unit tests, cited from the sample ledger history chained as the
 * ledger would store it.
 */
import type { ReportData } from '../../../infra/report/model.ts';
import { canonicalJson, GENESIS_HASH, linkHash } from '../../../shared/ledger/canonical.ts';
import type { LedgerEvent, LedgerRecord } from '../../../shared/ledger/events.ts';
import { type EventRef, refOf } from '../../../shared/ledger/queries.ts';
import { ENDPOINT, sampleHistory, t, USE_CASE } from '../../support/ledger-history.ts';

/** Events as the ledger stores them: seq from 1, each linked to the one before. */
export function chained(events: readonly LedgerEvent[] = sampleHistory()): LedgerRecord[] {
  let prevHash = GENESIS_HASH;
  return events.map((event, i) => {
    const hash = linkHash(prevHash, canonicalJson(event));
    const record = { chain: 'main', seq: i + 1, prevHash, hash, event };
    prevHash = hash;
    return record;
  });
}

const records = chained();

/** The citation of a sample-history event. */
export function cite(eventId: string): EventRef {
  const r = records.find((x) => x.event.eventId === eventId);
  if (!r) throw new Error(`no event ${eventId} in the sample history`);
  return refOf(r);
}

/** A name no page should ever execute. */
export const HOSTILE = '<script>alert("pwned")</script>';

/** A report with one of everything, a hostile feature name among the features. */
export function fullReport(): ReportData {
  return {
    useCase: USE_CASE,
    stage: 'prod',
    endpointName: ENDPOINT,
    generatedAt: t(120),
    ledger: {
      table: 'mlops-prod-ledger',
      chain: 'main',
      head: { seq: 22, hash: records[21]?.hash ?? '' },
      verification: { status: 'verified', detail: '22 events chained and signed' },
    },
    serving: { modelVersion: 'flight-delay-v1', cite: cite('dep-2-rollback') },
    drift: {
      reports: [
        {
          cite: cite('mon-1'),
          modelVersion: 'flight-delay-v1',
          serving: true,
          window: { start: t(24), end: t(30) },
          sampleSize: 4000,
          decision: 'drift',
          driftedShare: 0.5,
          threshold: 0.4,
          reportUri: 's3://logs/monitoring/flight-delay/x/flight-delay-v1.json',
          checks: [
            {
              name: 'hour',
              role: 'feature',
              test: 'wasserstein',
              statistic: 0.31,
              threshold: 0.1,
              verdict: 'drift',
              chosenBy: 'reference-size',
              referenceSize: 3000,
              currentSize: 4000,
              chart: {
                kind: 'histogram',
                edges: [-0.5, 0.5, 1.5, 2.5],
                reference: [0.2, 0.5, 0.3],
                current: [0.6, 0.3, 0.1],
              },
            },
            {
              name: HOSTILE,
              role: 'feature',
              test: 'chi-square',
              statistic: 2.1,
              pValue: 0.35,
              threshold: 0.05,
              verdict: 'no-drift',
              detail: `categories the reference never had: ${HOSTILE}`,
              chart: {
                kind: 'bars',
                labels: [HOSTILE, 'ORD'],
                reference: [0.5, 0.5],
                current: [0.4, 0.6],
              },
            },
            {
              name: 'score',
              role: 'prediction',
              test: 'ks',
              statistic: null,
              verdict: 'insufficient-data',
              detail: '12 value(s) in the window, below monitoring.minSample (200)',
            },
          ],
        },
      ],
    },
    quality: {
      points: [
        {
          modelVersion: 'flight-delay-v1',
          windowEnd: t(30),
          realized: 0.64,
          estimated: 0.7,
          labeled: 400,
          cite: cite('mon-1'),
        },
      ],
      floors: { realized: 0.65, estimated: 0.6 },
    },
    timeline: {
      items: [
        {
          time: t(8),
          lane: 'deployment',
          label: 'deploy v1 (canary 10%)',
          detail: 'Deployment dep-1 of flight-delay-v1 started (canary 10%)',
          tone: 'info',
          cite: cite('dep-1-start'),
        },
        {
          time: t(70),
          lane: 'deployment',
          label: 'rollback v2',
          detail: `Rolled back flight-delay-v2: ${HOSTILE}; alarms: latency`,
          tone: 'bad',
          cite: cite('dep-2-rollback'),
        },
        {
          time: t(71),
          lane: 'incident',
          label: 'incident (high)',
          detail: 'Incident INC-2 (high)',
          tone: 'bad',
          cite: cite('inc-2'),
        },
      ],
      serving: [
        { modelVersion: 'flight-delay-v1', from: t(10), to: t(60), cite: cite('dep-1-done') },
        { modelVersion: 'flight-delay-v2', from: t(60), to: t(70), cite: cite('dep-2-done') },
        { modelVersion: 'flight-delay-v1', from: t(70), cite: cite('dep-2-rollback') },
      ],
    },
    lineage: {
      modelVersion: 'flight-delay-v1',
      nodes: [
        {
          id: 'dataset',
          kind: 'dataset',
          title: 'Dataset',
          label: 'abc',
          details: [{ text: '250,000 rows' }],
          cite: cite('ds-1'),
        },
        {
          id: 'run',
          kind: 'run',
          title: 'Training run',
          label: 'run-1',
          details: [],
          cite: cite('run-1-done'),
        },
        {
          id: 'model',
          kind: 'model',
          title: 'Model version',
          label: 'flight-delay-v1',
          details: [{ text: 'gates 1/1 passed', cite: cite('run-1-eval') }],
          cite: cite('mv-1-reg'),
        },
        {
          id: 'approval',
          kind: 'approval',
          title: 'Approval',
          label: 'approved',
          details: [{ text: HOSTILE }],
          cite: cite('mv-1-approval'),
        },
        {
          id: 'endpoint',
          kind: 'endpoint',
          title: 'Endpoint',
          label: ENDPOINT,
          details: [],
          cite: cite('dep-1-done'),
        },
      ],
      edges: [
        { from: 'dataset', to: 'run', label: 'input' },
        { from: 'run', to: 'model', label: 'output' },
        { from: 'model', to: 'approval', label: 'review' },
        { from: 'approval', to: 'endpoint', label: 'deploy' },
      ],
      gaps: [],
    },
  };
}

/** A report of a use case the ledger knows nothing about yet. */
export function emptyReport(): ReportData {
  return {
    ...fullReport(),
    ledger: {
      table: 'mlops-prod-ledger',
      chain: 'main',
      verification: { status: 'not-checked', detail: 'no signing key named' },
    },
    serving: { modelVersion: null },
    drift: { reports: [] },
    quality: { points: [], floors: { realized: 0.6, estimated: 0.6 } },
    timeline: { items: [], serving: [] },
    lineage: { modelVersion: null, nodes: [], edges: [], gaps: [] },
  };
}
