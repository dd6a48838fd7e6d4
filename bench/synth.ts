/**
 * `npm run bench -- synth [--quick]`: `cdk synth` of the whole app (dev stage, every stack, with
 * bundling) into a fresh output folder, as the CDK CLI runs it for a deploy: three runs (quick:
 * one), each folder removed after.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { synthApp } from '../infra/cli/local.ts';
import { benchArgs, figure, progress, report } from './harness.ts';

const args = benchArgs();
const runs = args.quick ? 1 : 3;
const seconds: number[] = [];
for (let i = 0; i < runs; i++) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-synth-'));
  try {
    seconds.push(synthApp('dev', dir).ms / 1000);
    progress(`cdk synth ${i + 1}/${runs}: ${seconds.at(-1)?.toFixed(1)} s`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
report([
  figure('synth', 'seconds', 'cdk synth, dev stage, fresh output folder (bundling included)', 's', seconds),
]);
