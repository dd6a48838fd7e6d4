/**
 * `mlops start` (what `npm start` runs): synthesize, start the local cloud, run the demo
 * lifecycle on real flights, then keep serving until Ctrl+C (`--once` exits).
 */
import type { Command } from 'commander';

/**
 * The demo's clock for waits: Step Functions Wait states, retry intervals and alarm periods run
 * 20 times faster, so a deployment's one-minute endpoint polls take 3 s and a 10-minute canary
 * bake 30 s. Nothing else changes.
 */
export const DEMO_TIME_SCALE = 0.05;

import { runDemo } from '../demo/lifecycle.ts';
import { readState } from '../local/state.ts';
import { localUp, printState, untilSignal } from './local.ts';

/** Adds `start` to the CLI. */
export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description('Run the whole lifecycle locally: synth, emulators, provisioning, the demo, then serve')
    .option('-s, --stage <stage>', 'dev or prod', 'dev')
    .option('--in-memory', 'keep nothing after stop (default: persist under .local/data)')
    .option('-p, --port <port>', 'API Gateway port (default: a free port)', (v) => Number(v))
    .option('--once', 'exit after the demo instead of serving')
    .option('-v, --verbose', 'show every function log line')
    .action(
      async (o: { stage: string; inMemory?: boolean; port?: number; once?: boolean; verbose?: boolean }) => {
        const steps = 6;
        const step = (n: number, text: string) => console.log(`[${n}/${steps}] ${text}`);
        step(1, `synthesizing the ${o.stage} app with the CDK CLI…`);
        const started = performance.now();
        const { cloud, synthMs } = await localUp({
          stage: o.stage,
          inMemory: o.inMemory,
          apiPort: o.port,
          quiet: !o.verbose,
          timeScale: DEMO_TIME_SCALE,
        });
        step(
          2,
          `emulators up: DynamoDB (${cloud.dynamodbEngine}) in ${Math.round(cloud.timings.dynamodb)} ms, s3rver, Lambda, Step Functions, SageMaker, CloudWatch, Application Auto Scaling, Firehose, SNS (synth took ${Math.round(synthMs)} ms)`,
        );
        step(
          3,
          `provisioned ${cloud.assembly.tables.length} tables and ${cloud.assembly.buckets.length} buckets in ${Math.round(cloud.timings.provision)} ms`,
        );
        step(
          4,
          `serving ${cloud.assembly.routes.length} API routes at ${cloud.apiEndpoint}/v1 (IAM routes need SigV4)`,
        );
        // Ctrl+C at any point from here on, or a failing demo, still stops everything.
        const signal = untilSignal();
        try {
          step(5, 'demo lifecycle on vega-datasets flights-3m:');
          const report = await Promise.race([
            runDemo(cloud, (line) => console.log(`      ${line}`)),
            signal.then((s) => {
              throw new Error(`interrupted by ${s}`);
            }),
          ]);
          console.log(`      done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
          if (o.once) {
            step(6, '--once: stopping');
            const served = report.serving;
            const kept =
              served !== undefined &&
              served.failures === 0 &&
              served.feedback.failures === 0 &&
              served.logged === served.feedback.sent;
            // The loop closed: January calm, June drifted and retrained, no second run inside the cooldown.
            const [calm, drifted, held] = report.monitoring?.windows ?? [];
            const looped =
              calm?.decision === 'no-drift' &&
              drifted?.decision === 'drift' &&
              report.monitoring?.retraining?.status === 'SUCCEEDED' &&
              // Late June is served by whatever the retraining deployed: a drift there must be held.
              (held?.decision !== 'drift' || held.retraining === 'cooldown');
            if (!report.audit.ok || served?.outcome !== 'deployed' || !kept || !looped) process.exitCode = 1;
            return;
          }
          step(6, 'serving until Ctrl+C; `npm run mlops -- local status` shows where everything runs');
          printState(readState());
          await signal;
        } finally {
          await cloud.stop();
        }
      },
    );
}
