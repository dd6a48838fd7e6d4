/**
 * `mlops rollback <useCase> --reason "..." [--to <version>]`: puts an earlier approved version
 * back through the deploy machine, recording the caller's identity and reason, and waits for the
 * verified result.
 */
import type { Command } from 'commander';
import { requestRollback, waitForDeploy } from '../ops/deployments.ts';
import { resolveTarget } from '../ops/target.ts';
import { UsageError } from './errors.ts';

/** Adds `rollback` to the CLI. */
export function registerDeploymentCommands(program: Command): void {
  program
    .command('rollback <useCase>')
    .description('Serve an earlier approved version again (default: the newest older than what serves)')
    .requiredOption('--reason <text>', 'why (recorded in the ledger with your identity)')
    .option('--to <version>', 'the model package version to serve, for example 3')
    .option('--api-url <url>', 'the API stage URL (default: the local cloud)')
    .option('--no-wait', 'return once the deploy execution has started')
    .option('--json', 'machine-readable output')
    .action(
      async (
        useCase: string,
        o: { reason: string; to?: string; apiUrl?: string; wait: boolean; json?: boolean },
      ) => {
        const to = o.to === undefined ? undefined : Number(o.to.replace(/^v/, ''));
        if (to !== undefined && (!Number.isInteger(to) || to < 1)) {
          throw new UsageError(
            '--to',
            `must be a model version number such as 3, got ${JSON.stringify(o.to)}`,
          );
        }
        const target = resolveTarget({ ...(o.apiUrl ? { apiUrl: o.apiUrl } : {}) });
        const started = await requestRollback(target, useCase, { reason: o.reason, ...(to ? { to } : {}) });
        if (!o.json) {
          console.log(
            `rollback ${started.fromModelVersion ?? '(nothing)'} → ${started.toModelVersion} started`,
          );
        }
        if (!o.wait) {
          if (o.json) console.log(JSON.stringify(started));
          return;
        }
        const end = await waitForDeploy(target.sfn, started.executionArn);
        if (o.json) console.log(JSON.stringify({ ...started, ...end }));
        else if (end.result) console.log(`${end.result.outcome}: ${end.result.reason}`);
        else console.log(`deploy execution ${end.status}: ${end.error ?? ''} ${end.cause ?? ''}`);
        if (end.result?.outcome !== 'deployed') process.exitCode = 1;
      },
    );
}
