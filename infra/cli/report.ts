/**
 * `mlops report <useCase> [--out report.html] [--stage dev|prod]`: one self-contained HTML page
 * with per-feature drift, quality over time, the deployment timeline and the serving model's
 * lineage, each fact linked to its ledger event. Read-only, on the local cloud or AWS alike.
 */
import type { Command } from 'commander';
import { StageNameSchema } from '../config/stage.ts';
import { UnknownUseCaseError, writeReport } from '../ops/report.ts';
import { resolveTarget } from '../ops/target.ts';
import { UsageError } from './errors.ts';

interface ReportCommandOptions {
  readonly out: string;
  readonly stage: string;
  readonly table?: string;
  readonly signingKey?: string;
  readonly chain: string;
  readonly verify: boolean;
  readonly json?: boolean;
}

/** Adds `report` to the CLI. */
export function registerReportCommand(program: Command): void {
  program
    .command('report <useCase>')
    .description(
      'Write an HTML report (drift per feature, quality over time, deployments, lineage) citing the ledger',
    )
    .option('-o, --out <file>', 'where to write the page', 'report.html')
    .option('-s, --stage <stage>', 'dev or prod', 'dev')
    .option('--table <name>', 'ledger table name (default: $MLOPS_LEDGER_TABLE, or the local cloud’s)')
    .option(
      '--signing-key <arn>',
      "the ledger signing key, to verify the chain (default: $MLOPS_LEDGER_SIGNING_KEY, or the local cloud's)",
    )
    .option('--chain <chain>', 'ledger chain', 'main')
    .option('--no-verify', 'do not recompute the hash chain')
    .option('--json', 'machine-readable output')
    .action(async (useCase: string, o: ReportCommandOptions) => {
      const stage = StageNameSchema.safeParse(o.stage);
      if (!stage.success)
        throw new UsageError('--stage', `must be dev or prod, got ${JSON.stringify(o.stage)}`);
      const target = resolveTarget({ ledgerTable: o.table, signingKey: o.signingKey });
      if (!target.ledgerTable) {
        throw new UsageError(
          '--table',
          'no ledger table: pass --table <name>, set MLOPS_LEDGER_TABLE, or start the local cloud',
        );
      }
      let summary: Awaited<ReturnType<typeof writeReport>>;
      try {
        summary = await writeReport(target, useCase, stage.data, o.out, { chain: o.chain, verify: o.verify });
      } catch (e) {
        if (e instanceof UnknownUseCaseError) throw new UsageError('<useCase>', e.message);
        throw e;
      }
      if (o.json) {
        console.log(JSON.stringify(summary, null, 2));
        return;
      }
      const s = summary.sections;
      console.log(
        [
          `Wrote ${summary.path}`,
          `  serving   ${summary.servingVersion ?? 'nothing'}`,
          `  drift     ${s.drift.checks} check(s) in ${s.drift.reports} report(s), ${s.drift.charts} with distributions`,
          `  quality   ${s.quality.points} window(s)`,
          `  timeline  ${s.timeline.events} event(s), ${s.timeline.servingSpans} serving span(s)`,
          `  lineage   ${s.lineage.nodes} node(s), ${s.lineage.edges} edge(s)`,
          `  ledger    head #${summary.ledger.head?.seq ?? 0}, ${summary.ledger.verification.status}: ${summary.ledger.verification.detail}`,
        ].join('\n'),
      );
    });
}
