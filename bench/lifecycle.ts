/**
 * `npm run bench -- lifecycle [--quick]`: `npm start -- --once` (the whole demo: synth reused when
 * up to date, the local cloud, ingest, train, deploy, the monitored windows, retraining, the bad
 * canary, the audit, the report), its wall time and each stage's, from the timings.json it writes.
 * It runs in a demo folder of its own; quick uses `--rows 2000`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../infra/cli/local.ts';
import { benchArgs, type Figure, figure, progress, report } from './harness.ts';
import { BENCH_CDK_OUT } from './support/cloud.ts';

const BENCH = 'lifecycle';
const args = benchArgs();
const rows = args.quick ? 2000 : undefined;
const dir = mkdtempSync(join(tmpdir(), 'bench-lifecycle-'));
try {
  const started = performance.now();
  const run = spawnSync(
    join(PROJECT_ROOT, 'node_modules', '.bin', 'tsx'),
    ['infra/cli/main.ts', 'start', '--once', ...(rows ? ['--rows', String(rows)] : [])],
    {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      // Its own demo folder, and cdk.out as npm start reuses it (a fresh synth is the synth benchmark's).
      env: { ...process.env, MLOPS_DEMO_DIR: dir, MLOPS_DEMO_CDK_OUT: BENCH_CDK_OUT, CI: '1' },
    },
  );
  const wall = (performance.now() - started) / 1000;
  if (run.status !== 0)
    throw new Error(`npm start -- --once exited with ${run.status}:\n${run.stdout.slice(-3000)}`);
  const timings = JSON.parse(readFileSync(join(dir, 'timings.json'), 'utf8')) as {
    seconds: number;
    ok: boolean;
    rows: number;
    synthCached?: boolean;
    stages: { title: string; seconds: number; ok: boolean }[];
  };
  if (!timings.ok) throw new Error('the demo reported a failed stage');
  const [synth, ...rest] = timings.stages;
  const slug = (title: string) =>
    title
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '')
      .slice(0, 40);
  for (const s of timings.stages) progress(`${s.seconds.toFixed(1).padStart(6)} s  ${s.title}`);
  const figures: Figure[] = [
    figure(
      BENCH,
      'seconds',
      `npm start -- --once, wall time of the process (${timings.rows} training rows, cdk.out ${timings.synthCached ? 'reused' : 'synthesized'})`,
      's',
      wall,
      {
        target: { op: '<=', value: 90 },
        note: `the stages take ${timings.seconds.toFixed(1)} s of it; synth ${synth?.seconds.toFixed(1)} s`,
      },
    ),
    ...rest.map((s) => figure(BENCH, `stage-${slug(s.title)}`, s.title, 's', s.seconds)),
  ];
  report(figures);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
