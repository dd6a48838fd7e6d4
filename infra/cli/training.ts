/**
 * `mlops train|status|approve|reject|reproduce`: one command per lifecycle action of a training
 * run, with live progress and `--json` for scripts. Works against the local cloud (found through
 * `.local/cloud.json`) or AWS (the SDK's usual credentials and region).
 */
import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import type { Command } from 'commander';
import type { PipelineInput } from '../../shared/pipeline/contracts.ts';
import {
  compareRuns,
  decide,
  executionArnOf,
  executionHistory,
  followExecution,
  runEvents,
  type StepView,
  startRun,
  stepsOf,
} from '../ops/runs.ts';
import { resolveTarget } from '../ops/target.ts';

function printSteps(steps: readonly StepView[]): void {
  for (const s of steps) {
    const mark = s.status === 'succeeded' ? '✓' : s.status === 'failed' ? '✗' : '…';
    console.log(
      `  ${mark} ${s.name.padEnd(22)} ${s.seconds === undefined ? '' : `${s.seconds.toFixed(1)} s`}${s.error ? `  ${s.error.slice(0, 300)}` : ''}`,
    );
  }
}

/** Adds the training commands to the CLI. */
export function registerTrainingCommands(program: Command): void {
  program
    .command('train <useCase>')
    .description('Start a training run and follow it step by step')
    .option('--cutoff <iso>', 'only use data ingested at or before this time')
    .option('--reason <text>', 'why this run (recorded in the ledger)')
    .option('--no-wait', 'return as soon as the run has started')
    .option('--json', 'machine-readable output')
    .action(
      async (useCase: string, o: { cutoff?: string; reason?: string; wait: boolean; json?: boolean }) => {
        const target = resolveTarget();
        const input: PipelineInput = {
          useCase,
          trigger: 'manual',
          ...(o.reason ? { reason: o.reason } : {}),
          ...(o.cutoff ? { cutoff: o.cutoff } : {}),
        };
        const { executionArn, runId } = await startRun(target, input);
        if (!o.json) console.log(`run ${runId} started`);
        if (!o.wait) {
          if (o.json) console.log(JSON.stringify({ runId, executionArn }));
          return;
        }
        const done = await followExecution(
          target.sfn,
          executionArn,
          o.json ? () => {} : (l) => console.log(l),
        );
        if (o.json)
          console.log(
            JSON.stringify({
              runId,
              executionArn,
              status: done.status,
              output: done.output ? JSON.parse(done.output) : null,
            }),
          );
        else
          console.log(
            `run ${runId}: ${done.status}${done.error ? ` (${done.error}: ${done.cause ?? ''})` : ''}`,
          );
        if (done.status !== 'SUCCEEDED') process.exitCode = 1;
      },
    );

  program
    .command('status <runId>')
    .description('Show a run: steps with timings, metrics, gate result and its ledger events')
    .option('--json', 'machine-readable output')
    .action(async (runId: string, o: { json?: boolean }) => {
      const target = resolveTarget();
      const executionArn = await executionArnOf(target, runId);
      const [describe, events, ledger] = await Promise.all([
        target.sfn.send(new DescribeExecutionCommand({ executionArn })),
        executionHistory(target.sfn, executionArn),
        runEvents(target, runId),
      ]);
      const steps = stepsOf(events);
      const evaluation = ledger.find((r) => r.event.type === 'ModelEvaluated')?.event;
      const view = {
        runId,
        status: describe.status,
        startedAt: describe.startDate?.toISOString(),
        stoppedAt: describe.stopDate?.toISOString(),
        steps,
        evaluation: evaluation ?? null,
        ledger: ledger.map((r) => ({
          seq: r.seq,
          type: r.event.type,
          hash: r.hash,
          eventId: r.event.eventId,
        })),
      };
      if (o.json) {
        console.log(JSON.stringify(view, null, 2));
        return;
      }
      console.log(`run ${runId}: ${describe.status}`);
      printSteps(steps);
      if (evaluation?.type === 'ModelEvaluated') {
        console.log(`  metrics: ${JSON.stringify(evaluation.metrics)}`);
        if (evaluation.champion)
          console.log(
            `  champion ${evaluation.champion.modelVersion}: ${JSON.stringify(evaluation.champion.metrics)}`,
          );
        console.log(
          `  gate: ${evaluation.passed ? 'passed' : 'failed'} ${evaluation.gates.map((g) => `${g.name}: ${g.metric} ${g.actual.toFixed(4)} ${g.comparison} ${g.threshold} ${g.passed ? '✓' : '✗'}`).join('; ')}`,
        );
      }
      for (const r of view.ledger) console.log(`  ledger #${r.seq} ${r.type} ${r.hash.slice(0, 12)}…`);
    });

  program
    .command('reproduce <runId>')
    .description(
      'Replay a run pinned to its manifest (same snapshot, same config) and compare metrics and artifact',
    )
    .option('--tolerance <n>', 'largest metric difference accepted', (v) => Number(v), 1e-6)
    .option('--json', 'machine-readable output')
    .action(async (runId: string, o: { tolerance: number; json?: boolean }) => {
      const target = resolveTarget();
      const useCase = runId.replace(/-\d{14}-[a-z0-9]{4}$/, '');
      const { executionArn, runId: replayId } = await startRun(target, {
        useCase,
        trigger: 'reproduce',
        reproduceOf: runId,
        reason: `reproduce ${runId}`,
      });
      if (!o.json) console.log(`reproducing ${runId} as ${replayId}`);
      const done = await followExecution(target.sfn, executionArn, o.json ? () => {} : (l) => console.log(l));
      if (done.status !== 'SUCCEEDED')
        throw new Error(`the reproduction ${replayId} ended ${done.status}: ${done.cause ?? ''}`);
      const report = compareRuns(
        runId,
        await runEvents(target, runId),
        replayId,
        await runEvents(target, replayId),
        o.tolerance,
      );
      if (o.json) console.log(JSON.stringify(report, null, 2));
      else {
        console.log(
          `dataset hash ${report.datasetHashMatches ? 'matches' : 'DIFFERS'}; model artifact ${report.artifactHashMatches ? 'matches byte for byte' : 'DIFFERS'}`,
        );
        for (const [name, [x, y, d]] of Object.entries(report.metrics))
          console.log(`  ${name}: ${x} vs ${y} (|Δ| ${d.toExponential(2)})`);
        console.log(
          `metrics ${report.metricsWithinTolerance ? 'within' : 'OUTSIDE'} tolerance ${report.tolerance}`,
        );
      }
      if (!report.datasetHashMatches || !report.metricsWithinTolerance) process.exitCode = 1;
    });

  for (const decision of ['approved', 'rejected'] as const) {
    program
      .command(`${decision === 'approved' ? 'approve' : 'reject'} <runId>`)
      .description(
        `${decision === 'approved' ? 'Approve' : 'Reject'} a run waiting for approval (your identity and reason are recorded)`,
      )
      .requiredOption('--reason <text>', 'why (recorded in the ledger)')
      .option('--api-url <url>', 'the API stage URL (default: the local cloud)')
      .option('--json', 'machine-readable output')
      .action(async (runId: string, o: { reason: string; apiUrl?: string; json?: boolean }) => {
        const result = await decide(resolveTarget({ apiUrl: o.apiUrl }), runId, decision, o.reason);
        console.log(o.json ? JSON.stringify(result) : `run ${runId}: ${decision}`);
      });
  }
}
