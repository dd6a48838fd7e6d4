/**
 * The monitoring client: run a check now through the use case's monitor function (the same code
 * the schedule runs, with its grants), and read the last MonitoringReport from the ledger. Used by
 * `mlops monitor`, `mlops drift` and the demo, against the local cloud or AWS alike.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { endpointNameOf } from '../../shared/deployment/names.ts';
import type { LedgerRecord, MonitoringReport } from '../../shared/ledger/events.ts';
import { ofType, recordsOn } from '../../shared/ledger/queries.ts';
import { type MonitorRequest, monitorFunctionName } from '../../shared/monitoring/api.ts';
import type { MonitorResult } from '../../shared/monitoring/monitor.ts';
import { LOCAL_CREDENTIALS } from '../local/engines/credentials.ts';
import { documentClientFor, type Target } from './target.ts';

/** The monitor function failed; its error as Lambda returned it. */
export class MonitorInvocationError extends Error {
  override readonly name: string = 'MonitorInvocationError';
}

function lambdaClientFor(target: Target): LambdaClient {
  const local = target.cloud;
  return local
    ? new LambdaClient({
        endpoint: local.endpoints.lambda,
        region: local.region,
        credentials: LOCAL_CREDENTIALS,
      })
    : new LambdaClient({});
}

/** Runs a check now, synchronously, and returns what it found and did. */
export async function runCheck(
  target: Target,
  stage: string,
  useCase: string,
  request: MonitorRequest,
): Promise<MonitorResult> {
  const lambda = lambdaClientFor(target);
  try {
    const out = await lambda.send(
      new InvokeCommand({
        FunctionName: monitorFunctionName(stage, useCase),
        InvocationType: 'RequestResponse',
        Payload: Buffer.from(JSON.stringify(request)),
      }),
    );
    const text = out.Payload ? Buffer.from(out.Payload).toString('utf8') : '';
    if (out.FunctionError) throw new MonitorInvocationError(`the monitor failed: ${text.slice(0, 2000)}`);
    return JSON.parse(text) as MonitorResult;
  } finally {
    lambda.destroy();
  }
}

/** Every MonitoringReport of the use case's endpoint, oldest first. */
export async function monitoringReports(
  target: Target,
  stage: string,
  useCase: string,
): Promise<LedgerRecord<MonitoringReport>[]> {
  if (!target.ledgerTable) throw new Error('no ledger table: pass --ledger-table or set MLOPS_LEDGER_TABLE');
  const client = documentClientFor(target);
  try {
    const records = await recordsOn(
      { client, tableName: target.ledgerTable },
      'byEndpoint',
      endpointNameOf(stage, useCase),
    );
    return ofType(records, 'MonitoringReport').filter((r) => r.event.useCase === useCase);
  } finally {
    client.destroy();
  }
}

/** One report as rows: feature, test, statistic, threshold, sample sizes, verdict. */
export function driftTable(report: MonitoringReport): string[][] {
  const num = (x: number | null | undefined, digits = 4) =>
    x === null || x === undefined
      ? '—'
      : Math.abs(x) < 1e-4 && x !== 0
        ? x.toExponential(2)
        : x.toFixed(digits);
  const rows = [...report.features, ...(report.prediction ? [report.prediction] : [])].map((f) => [
    f.name,
    f.test,
    f.pValue === undefined || f.pValue === null
      ? num(f.statistic)
      : `${num(f.statistic)} (p ${num(f.pValue)})`,
    f.threshold === undefined
      ? '—'
      : `${f.pValue === undefined || f.pValue === null ? '>=' : 'p <'} ${f.threshold}`,
    `${f.referenceSize ?? '?'} / ${f.currentSize ?? '?'}`,
    f.verdict ?? (f.drifted ? 'drift' : 'no-drift'),
  ]);
  return [['feature', 'test', 'statistic', 'threshold', 'reference / current', 'verdict'], ...rows];
}

/** Rows as aligned columns. */
export function formatTable(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((cell, c) => cell.padEnd(widths[c] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
