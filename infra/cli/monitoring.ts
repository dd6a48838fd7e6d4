/**
 * `mlops monitor <useCase> [--from --to]` runs a check now (through the use case's monitor
 * function) and prints its report; `mlops drift <useCase>` prints the last report in the ledger
 * as a table. `--json` for both.
 */
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import type { MonitoringReport } from '../../shared/ledger/events.ts';
import { StageNameSchema } from '../config/stage.ts';
import { driftTable, formatTable, monitoringReports, runCheck } from '../ops/monitoring.ts';
import { resolveTarget } from '../ops/target.ts';
import { UsageError } from './errors.ts';

function stageOf(value: string): string {
  const parsed = StageNameSchema.safeParse(value);
  if (!parsed.success) throw new UsageError('--stage', `must be dev or prod, got ${JSON.stringify(value)}`);
  return parsed.data;
}

function isoOption(option: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new UsageError(option, `must be an ISO-8601 time, got ${JSON.stringify(value)}`);
  return new Date(t).toISOString();
}

function printReport(report: MonitoringReport): void {
  console.log(
    `${report.modelVersion}  ${report.window.start} .. ${report.window.end}  n=${report.sampleSize}  ${report.decision} (drifted share ${report.driftedShare.toFixed(2)}, threshold ${report.threshold ?? '?'})`,
  );
  console.log(formatTable(driftTable(report)));
  const q = (m: Record<string, number> | undefined) =>
    m
      ? Object.entries(m)
          .map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toFixed(4)}`)
          .join(', ')
      : '—';
  console.log(`realized (feedback, ${report.labeled ?? 0} labeled): ${q(report.quality)}`);
  console.log(`estimated (CBPE, from the scores): ${q(report.estimated)}`);
}

/** Adds `monitor` and `drift` to the CLI. */
export function registerMonitoringCommands(program: Command): void {
  program
    .command('monitor <useCase>')
    .description("Run a monitoring check now and print its report (default window: the schedule's)")
    .option('--from <iso>', 'window start (with --to)')
    .option('--to <iso>', 'window end (with --from)')
    .option('-s, --stage <stage>', 'dev or prod', 'dev')
    .option('--json', 'machine-readable output')
    .action(async (useCase: string, o: { from?: string; to?: string; stage: string; json?: boolean }) => {
      const from = isoOption('--from', o.from);
      const to = isoOption('--to', o.to);
      if ((from === undefined) !== (to === undefined))
        throw new UsageError(
          from === undefined ? '--from' : '--to',
          'is needed with the other end of the window',
        );
      if (from && to && from >= to) throw new UsageError('--to', `must be after --from (${from})`);
      const result = await runCheck(resolveTarget(), stageOf(o.stage), useCase, {
        ...(from && to ? { from, to } : {}),
        requestedBy: `cli/${userInfo().username}`,
      });
      if (o.json) {
        console.log(JSON.stringify(result, null, 2));
        return;
      }
      console.log(
        `window ${result.window.start} .. ${result.window.end}: ${result.log.lines} log line(s) in ${result.log.objects} object(s) (${result.log.outside} outside the window, ${result.log.duplicates} duplicate, ${result.log.unreadable} unreadable); ${result.feedback.labels} feedback label(s)`,
      );
      for (const r of result.reports) {
        printReport(r.event);
        if (r.recorded === 'recorded-earlier')
          console.log('(this window was checked before: the first report stands)');
      }
      for (const s of result.skipped)
        console.log(`${s.modelVersion}: ${s.rows} prediction(s) not compared: ${s.reason}`);
      if (result.retraining) {
        const r = result.retraining;
        console.log(
          `drift → ${r.outcome}${r.runId ? ` run ${r.runId}` : ''}${r.cooldown ? ` (cooldown until ${r.cooldown.until}, held by ${r.cooldown.eventId})` : ''}: ${r.reason}`,
        );
      }
    });

  program
    .command('drift <useCase>')
    .description('Print the last monitoring report in the ledger as a table')
    .option('-s, --stage <stage>', 'dev or prod', 'dev')
    .option('--json', 'machine-readable output')
    .action(async (useCase: string, o: { stage: string; json?: boolean }) => {
      const reports = await monitoringReports(resolveTarget(), stageOf(o.stage), useCase);
      const last = reports.at(-1);
      if (!last)
        throw new UsageError(
          '<useCase>',
          `no monitoring report for ${useCase} in the ledger yet; run mlops monitor ${useCase}`,
        );
      if (o.json) console.log(JSON.stringify(last.event, null, 2));
      else printReport(last.event);
    });
}
