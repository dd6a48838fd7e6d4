/**
 * The training-run client: start a run, follow it step by step, read its history and its ledger
 * events, decide an approval, compare a reproduction. Used by the `mlops` commands and the demo,
 * against the local cloud or AWS alike (see target.ts).
 */
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListStateMachinesCommand,
  type SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import type { LedgerRecord } from '../../shared/ledger/events.ts';
import { recordsOn } from '../../shared/ledger/queries.ts';
import type { PipelineInput } from '../../shared/pipeline/contracts.ts';
import { localDocumentClient } from '../local/clients.ts';
import { signedFetch } from '../local/sigv4.ts';
import { documentClientFor, type Target } from './target.ts';

export type { Target } from './target.ts';

/** Finds the training state machine of a use case by its name. */
export async function stateMachineArnFor(sfn: SFNClient, useCase: string): Promise<string> {
  const names: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(new ListStateMachinesCommand({ nextToken }));
    for (const m of page.stateMachines ?? []) {
      if (!m.name || !m.stateMachineArn) continue;
      names.push(m.name);
      if (m.name.includes(useCase) && m.name.toLowerCase().includes('training')) return m.stateMachineArn;
    }
    nextToken = page.nextToken;
  } while (nextToken);
  throw new Error(
    `no training state machine for use case '${useCase}'; state machines: ${names.join(', ') || 'none'}`,
  );
}

/** Every history event of an execution. */
export async function executionHistory(sfn: SFNClient, executionArn: string): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(
      new GetExecutionHistoryCommand({ executionArn, nextToken, maxResults: 1000 }),
    );
    events.push(...(page.events ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return events;
}

/** One step of a run as shown by `status`. */
export interface StepView {
  readonly name: string;
  readonly status: 'running' | 'succeeded' | 'failed';
  readonly startedAt: string;
  readonly seconds?: number;
  readonly error?: string;
}

const FAILURE_TYPES = new Set(['TaskFailed', 'LambdaFunctionFailed', 'TaskTimedOut', 'ExecutionFailed']);

/** Top-level steps (entered/exited pairs) with timings and the first failure inside each. */
export function stepsOf(events: readonly HistoryEvent[]): StepView[] {
  const steps: StepView[] = [];
  const open = new Map<string, { index: number; at: Date }>();
  for (const e of events) {
    const entered = e.stateEnteredEventDetails?.name;
    const exited = e.stateExitedEventDetails?.name;
    if (entered && e.timestamp) {
      open.set(entered, { index: steps.length, at: e.timestamp });
      steps.push({ name: entered, status: 'running', startedAt: e.timestamp.toISOString() });
    } else if (exited && e.timestamp) {
      const o = open.get(exited);
      const step = o ? steps[o.index] : undefined;
      if (o && step) {
        steps[o.index] = {
          ...step,
          status: step.status === 'failed' ? 'failed' : 'succeeded',
          seconds: (e.timestamp.getTime() - o.at.getTime()) / 1000,
        };
      }
    } else if (e.type && FAILURE_TYPES.has(e.type) && steps.length > 0) {
      const last = steps.length - 1;
      const step = steps[last];
      const details = (e.taskFailedEventDetails ??
        e.lambdaFunctionFailedEventDetails ??
        e.executionFailedEventDetails) as { error?: string; cause?: string } | undefined;
      if (step)
        steps[last] = {
          ...step,
          status: 'failed',
          error: [details?.error, details?.cause].filter(Boolean).join(': '),
        };
    }
  }
  return steps;
}

/** Waits for the execution to end, printing each step as it starts and ends. */
export async function followExecution(
  sfn: SFNClient,
  executionArn: string,
  print: (line: string) => void,
  pollMs = 1000,
): Promise<DescribeExecutionCommandOutput> {
  const shown = new Map<string, string>();
  for (;;) {
    const [describe, events] = await Promise.all([
      sfn.send(new DescribeExecutionCommand({ executionArn })),
      executionHistory(sfn, executionArn),
    ]);
    for (const step of stepsOf(events)) {
      const key = `${step.name}@${step.startedAt}`;
      const line =
        step.status === 'running'
          ? `  … ${step.name}`
          : `  ${step.status === 'succeeded' ? '✓' : '✗'} ${step.name}${step.seconds === undefined ? '' : ` (${step.seconds.toFixed(1)} s)`}${step.error ? ` — ${step.error.slice(0, 300)}` : ''}`;
      if (shown.get(key) !== line) {
        shown.set(key, line);
        print(line);
      }
    }
    if (describe.status !== 'RUNNING') return describe;
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** The ledger events of a run (byRun index), in chain order. */
export async function runEvents(target: Target, runId: string): Promise<LedgerRecord[]> {
  if (!target.ledgerTable) return [];
  const client = target.dynamodbEndpoint
    ? localDocumentClient(target.dynamodbEndpoint)
    : documentClientFor(target);
  const records = await recordsOn({ client, tableName: target.ledgerTable }, 'byRun', runId);
  return [...records].sort((a, b) => a.seq - b.seq);
}

/** Starts a run and returns its execution ARN. */
export async function startRun(
  target: Target,
  input: PipelineInput,
): Promise<{ executionArn: string; runId: string }> {
  const arn = await stateMachineArnFor(target.sfn, input.useCase);
  const runId = `${input.useCase}-${new Date()
    .toISOString()
    .replace(/[^0-9]/g, '')
    .slice(0, 14)}-${Math.random().toString(36).slice(2, 6)}`;
  const out = await target.sfn.send(
    new StartExecutionCommand({ stateMachineArn: arn, name: runId, input: JSON.stringify(input) }),
  );
  if (!out.executionArn) throw new Error('StartExecution returned no execution ARN');
  return { executionArn: out.executionArn, runId };
}

/** The execution ARN of a run ID (the execution name). */
export async function executionArnOf(target: Target, runId: string): Promise<string> {
  const useCase = runId.replace(/-\d{14}-[a-z0-9]{4}$/, '');
  const machine = await stateMachineArnFor(target.sfn, useCase);
  return `${machine.replace(':stateMachine:', ':execution:')}:${runId}`;
}

/** Sends an approval decision through the IAM-authorized route, as the caller's identity. */
export async function decide(
  target: Target,
  runId: string,
  decision: 'approved' | 'rejected',
  reason: string,
): Promise<unknown> {
  if (!target.apiUrl)
    throw new Error('no API URL: pass --api-url https://<api-id>.execute-api.<region>.amazonaws.com/v1');
  const res = await signedFetch(
    `${target.apiUrl}/training/runs/${encodeURIComponent(runId)}/approval`,
    'POST',
    { decision, reason },
  );
  const body = (await res.json()) as unknown;
  if (res.status !== 200) throw new Error(`approval refused (${res.status}): ${JSON.stringify(body)}`);
  return body;
}

/** How a reproduction compares with the original run. */
export interface ReproductionReport {
  readonly original: string;
  readonly reproduction: string;
  readonly datasetHashMatches: boolean;
  readonly artifactHashMatches: boolean;
  /** Metric name → [original, reproduction, |difference|]. */
  readonly metrics: Readonly<Record<string, readonly [number, number, number]>>;
  readonly metricsWithinTolerance: boolean;
  readonly tolerance: number;
}

/** Compares the TrainingCompleted facts of two runs. */
export function compareRuns(
  originalId: string,
  original: readonly LedgerRecord[],
  reproductionId: string,
  reproduction: readonly LedgerRecord[],
  tolerance = 1e-6,
): ReproductionReport {
  const completed = (records: readonly LedgerRecord[], id: string) => {
    const e = records.find((r) => r.event.type === 'TrainingCompleted')?.event;
    if (e?.type !== 'TrainingCompleted')
      throw new Error(`run ${id} has no TrainingCompleted event in the ledger`);
    return e;
  };
  const a = completed(original, originalId);
  const b = completed(reproduction, reproductionId);
  const metrics: Record<string, readonly [number, number, number]> = {};
  for (const [name, value] of Object.entries(a.metrics)) {
    const other = b.metrics[name];
    if (other !== undefined) metrics[name] = [value, other, Math.abs(value - other)];
  }
  return {
    original: originalId,
    reproduction: reproductionId,
    datasetHashMatches: a.datasetHash === b.datasetHash,
    artifactHashMatches: a.artifact.sha256 === b.artifact.sha256,
    metrics,
    metricsWithinTolerance: Object.values(metrics).every(([, , d]) => d <= tolerance),
    tolerance,
  };
}
