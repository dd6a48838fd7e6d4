/**
 * The `mlops` command. `npm start` runs `mlops start`; `npm run mlops -- <command>` runs any other.
 */
import { Command } from 'commander';
import { buildOpenApiDocument } from '../api/openapi.ts';
import { loadUseCases } from '../config/use-cases.ts';
import { registerApiCommand } from './api.ts';
import { registerAuditCommands } from './audit.ts';
import { registerCostCommand } from './cost.ts';
import { registerDeploymentCommands } from './deployments.ts';
import { runCli } from './errors.ts';
import { registerLabelCommands } from './labels.ts';
import { registerLocalCommands } from './local.ts';
import { registerMonitoringCommands } from './monitoring.ts';
import { registerReportCommand } from './report.ts';
import { registerStartCommand } from './start.ts';
import { synthSummary } from './synth-summary.ts';
import { registerTrainingCommands } from './training.ts';

// The machines run Node 20 while Lambda runs 22; the SDK's reminder about it is noise in the CLI.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// exitOverride first: subcommands copy it, so their usage errors reach runCli too.
const program = new Command()
  .name('mlops')
  .description(
    'Operate the serverless MLOps stack: local cloud, labels, training, approval, monitoring, audit.',
  )
  .exitOverride();

program
  .command('stacks')
  .description('Synthesize the app and list what `cdk deploy` would create, with the compliance findings')
  .option('-s, --stage <stage>', 'dev or prod', 'dev')
  .option('--json', 'machine-readable output')
  .action(async (opts: { stage: string; json?: boolean }) => {
    const summary = await synthSummary(opts.stage);
    if (opts.json) {
      console.log(JSON.stringify(summary, null, 2));
      return;
    }
    for (const stack of summary.stacks) {
      console.log(`\n${stack.name}  (${stack.resourceCount} resources)`);
      for (const [type, count] of Object.entries(stack.byType))
        console.log(`  ${String(count).padStart(3)}  ${type}`);
    }
    console.log(
      `\nCompliance: ${summary.findings} unacknowledged finding(s) (cdk-nag + CloudFormation validation).`,
    );
  });

program
  .command('openapi')
  .description('Print the OpenAPI document of the API, generated from the same zod schemas as the handlers')
  .action(async () => {
    console.log(JSON.stringify(buildOpenApiDocument(await loadUseCases()), null, 2));
  });

registerStartCommand(program);
registerLabelCommands(program);
registerTrainingCommands(program);
registerApiCommand(program);
registerAuditCommands(program);
registerDeploymentCommands(program);
registerCostCommand(program);
registerMonitoringCommands(program);
registerReportCommand(program);
(await import('./edge.ts')).registerEdgeCommands(program);

registerLocalCommands(program);

process.exitCode = await runCli(program);
