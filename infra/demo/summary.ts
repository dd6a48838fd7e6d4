/**
 * What `npm start` prints at the end: the models and how they fared, the monitored windows, the
 * serving and audit figures, and the wall time of each stage; then, while the API stays up,
 * requests ready to paste.
 */

import { endpointNameOf } from '../../shared/deployment/names.ts';
import type { LocalCloud } from '../local/cloud.ts';
import { LOCAL_CREDENTIALS } from '../local/engines/credentials.ts';
import { formatTable } from '../ops/monitoring.ts';
import type { DemoReport } from './lifecycle.ts';

const fixed = (x: number | undefined, digits = 4) =>
  x === undefined || Number.isNaN(x) ? '—' : x.toFixed(digits);

/** A stage's wall time, as the task list measured it. */
export interface TimedStage {
  readonly title: string;
  readonly seconds: number;
  readonly ok: boolean;
}

/** The summary as printable tables, each with its heading. */
export function summaryTables(
  report: DemoReport,
  stages: readonly TimedStage[],
  totalSeconds: number,
): string[] {
  const out: string[] = [];
  if (report.models.length > 0) {
    out.push(
      `Models\n${formatTable([
        ['model', 'trained by', 'held-out AUC', 'out-of-time AUC', 'out of time on', 'fate'],
        ...report.models.map((m) => [
          m.modelVersion,
          m.trigger,
          fixed(m.testAuc),
          fixed(m.outOfTime?.auc),
          m.outOfTime ? `${m.outOfTime.on} (${m.outOfTime.rows})` : '—',
          m.fate,
        ]),
      ])}`,
    );
  }
  if (report.windows.length > 0) {
    out.push(
      `Monitoring\n${formatTable([
        [
          'window',
          'predictions',
          'verdict',
          'drifted share',
          'drifted',
          'AUC realized',
          'AUC estimated',
          'action',
        ],
        ...report.windows.map((w) => [
          w.label,
          String(w.predictions),
          w.decision,
          w.driftedShare.toFixed(2),
          w.drifted.join(', ') || '—',
          fixed(w.realizedAuc),
          fixed(w.estimatedAuc),
          w.retraining ?? '—',
        ]),
      ])}`,
    );
  }
  const rows: string[][] = [];
  const s = report.serving;
  if (s) {
    rows.push([
      'predict latency (client side, local API)',
      `p50 ${s.p50Ms.toFixed(1)} ms, p99 ${s.p99Ms.toFixed(1)} ms, ${s.concurrency} clients`,
    ]);
    rows.push([
      'predictions answered, feedback stored, logged',
      `${s.predictions - s.failures}/${s.predictions}, ${s.feedback.stored}/${s.feedback.sent}, ${s.logged}/${s.feedback.sent}`,
    ]);
  }
  const bad = report.badCanary;
  if (bad) {
    rows.push([
      'bad canary',
      `${bad.failures} of ${bad.requests} requests failed; ${bad.run.deployment ?? '—'} on ${bad.run.alarms?.join(', ') || '—'}`,
    ]);
  }
  if (report.audit) {
    rows.push(['ledger events', String(report.audit.events)]);
    rows.push(['audit verification', report.audit.ok ? 'chain intact (against the archive)' : 'BROKEN']);
  }
  if (rows.length > 0)
    out.push(
      `Serving and audit\n${formatTable([['', ''], ...rows])
        .split('\n')
        .slice(1)
        .join('\n')}`,
    );
  out.push(
    `Stages (wall time)\n${formatTable([
      ['stage', 'seconds', ''],
      ...stages.map((t) => [t.title, t.seconds.toFixed(1), t.ok ? 'ok' : 'FAILED']),
      ['total', totalSeconds.toFixed(1), ''],
    ])}`,
  );
  return out;
}

/** What to paste while the API stays up. */
export function apiExamples(cloud: LocalCloud, stage: string): string {
  const api = `${cloud.apiEndpoint}/v1`;
  const predict = JSON.stringify({
    entities: { 'airport-delays': 'ORD' },
    request: { hour: 17, weekday: 5, distance: 800, origin: 'ORD', destination: 'DFW' },
  });
  const { accessKeyId, secretAccessKey } = LOCAL_CREDENTIALS;
  return [
    `The API stays up at ${api} until Ctrl+C. IAM routes take SigV4 (execute-api, ${cloud.assembly.placement.region}) with the local key ${accessKeyId} / ${secretAccessKey}:`,
    `  npm run mlops -- api POST /predict/flight-delay --data '${predict}'`,
    `  npm run mlops -- api GET /features/airport-delays/ORD`,
    `  npm run mlops -- api GET '/audit/served-at?endpointName=${endpointNameOf(stage, 'flight-delay')}&at=${new Date().toISOString()}'`,
    `  awscurl --service execute-api --region ${cloud.assembly.placement.region} --access_key ${accessKeyId} --secret_key ${secretAccessKey} -X POST -d '${predict}' ${api}/predict/flight-delay`,
    '  npm run mlops -- drift flight-delay          (the last monitoring report)',
    '  npm run mlops -- audit verify --archive      (the chain, against the Object Lock archive)',
    `  npm run mlops -- report flight-delay --stage ${stage} --out report.html`,
    `  OpenAPI: ${cloud.apiEndpoint}/openapi.json`,
  ].join('\n');
}
