/**
 * `npm run bench -- startup [--quick]`: `mlops local up --once` to ready, in a fresh process each
 * time, in memory: three runs (quick: one), split by the phases it reports (synth, engines,
 * provisioning, services).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT, synthAppCached } from '../infra/cli/local.ts';
import { benchArgs, type Figure, figure, report } from './harness.ts';

const args = benchArgs();
const runs = args.quick ? 1 : 3;
// cdk.out brought up to date first, so every timed start reuses it alike.
await synthAppCached('dev');
const measured: Record<'wall' | 'synth' | 'engines' | 'dynamodb' | 'provision' | 'services', number>[] = [];
for (let i = 0; i < runs; i++) {
  const start = performance.now();
  const run = spawnSync(
    join(PROJECT_ROOT, 'node_modules', '.bin', 'tsx'),
    ['infra/cli/main.ts', 'local', 'up', '--once', '--json', '--in-memory'],
    { cwd: PROJECT_ROOT, encoding: 'utf8' },
  );
  const wall = performance.now() - start;
  if (run.status !== 0) throw new Error(`mlops local up failed:\n${run.stderr}`);
  const line = run.stdout
    .trim()
    .split('\n')
    .find((l) => l.startsWith('{"ready"'));
  if (!line) throw new Error(`no readiness line in:\n${run.stdout}`);
  const t = (JSON.parse(line) as { timings: Record<string, number> }).timings;
  measured.push({
    wall,
    synth: t.synthMs ?? 0,
    engines: t.enginesMs ?? 0,
    dynamodb: t.dynamodbMs ?? 0,
    provision: t.provisionMs ?? 0,
    services: t.servicesMs ?? 0,
  });
}
const of = (k: keyof (typeof measured)[number]) => measured.map((m) => m[k]);
const figures: Figure[] = [
  figure(
    'startup',
    'wall-ms',
    '`mlops local up` to ready, fresh process, in memory (wall)',
    'ms',
    of('wall'),
    {
      note: 'the rest beyond the phases is Node/tsx start-up and loading the CLI',
    },
  ),
  figure('startup', 'synth-ms', 'of which cdk synth (skipped when cdk.out is up to date)', 'ms', of('synth')),
  figure('startup', 'engines-ms', 'of which the engines: DynamoDB Local ∥ s3rver', 'ms', of('engines')),
  figure('startup', 'dynamodb-ms', 'of which DynamoDB Local', 'ms', of('dynamodb')),
  figure('startup', 'provision-ms', 'of which provisioning tables and buckets', 'ms', of('provision')),
  figure(
    'startup',
    'services-ms',
    'of which Lambda, Step Functions, SageMaker, SNS, API',
    'ms',
    of('services'),
  ),
];
report(figures);
