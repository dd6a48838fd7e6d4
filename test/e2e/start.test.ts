/**
 * `npm start` as a user runs it, in a child process: interrupted with Ctrl+C while it
 * synthesizes and again in the middle of the demo, it stops every process it started (the CDK
 * app, DynamoDB Local's JVM, the Lambda workers, training children) and removes its state file
 * and its lock. The whole demo with `--once` runs in .ci/run, checked the same way
 * (test/support/processes.ts).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { processesWithMarker } from '../support/processes.ts';
import { until } from '../support/until.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const MARKER = 'MLOPS_TEST_MARKER';

/** Starts `mlops start` with a marker in its environment; collects what it prints. */
function startDemo(
  marker: string,
  dir: string,
  env: Record<string, string> = {},
): { child: ChildProcess; output: () => string; exit: Promise<number | null> } {
  let text = '';
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'infra/cli/main.ts'), 'start'], {
    cwd: ROOT,
    env: {
      ...process.env,
      [MARKER]: marker,
      CI: 'true',
      MLOPS_LOCAL_STATE: join(dir, 'cloud.json'),
      MLOPS_DEMO_DIR: join(dir, 'demo'),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => (text += d.toString('utf8')));
  child.stderr?.on('data', (d: Buffer) => (text += d.toString('utf8')));
  const exit = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  return { child, output: () => text, exit };
}

/** Interrupts the demo once `ready` shows in its output; checks that nothing of it is left. */
async function interruptWhen(ready: RegExp, env: Record<string, string> = {}) {
  const marker = randomUUID();
  const dir = mkdtempSync(join(tmpdir(), 'start-e2e-'));
  const demo = startDemo(marker, dir, env);
  await until(
    `the demo to print ${ready}`,
    async () => demo.output(),
    (out) => ready.test(out) || demo.child.exitCode !== null,
    240_000,
  );
  expect(demo.child.exitCode, demo.output()).toBeNull();
  // A moment for the stage's own children to start (the CDK app, the JVM, the workers).
  await new Promise((r) => setTimeout(r, 1500));
  expect(processesWithMarker(MARKER, marker).length).toBeGreaterThan(1);
  demo.child.kill('SIGINT');
  const code = await demo.exit;
  expect(code, demo.output()).toBe(130);
  expect(demo.output()).toContain('interrupted by SIGINT');
  // Children get a moment to be reaped; nothing with the marker may be left after it.
  const left = await until(
    'the demo processes to end',
    async () => processesWithMarker(MARKER, marker),
    (found) => found.length === 0,
    15_000,
  ).catch(() => processesWithMarker(MARKER, marker));
  expect(left).toEqual([]);
  expect(existsSync(join(dir, 'cloud.json'))).toBe(false);
  expect(existsSync(join(dir, 'demo', 'demo.lock'))).toBe(false);
  return demo.output();
}

describe('npm start', () => {
  it('stops the CDK app and everything else on Ctrl+C while it synthesizes', async () => {
    const out = await interruptWhen(/Synthesize the dev app/, {
      MLOPS_DEMO_CDK_OUT: mkdtempSync(join(tmpdir(), 'start-e2e-cdk-')),
    });
    expect(out).not.toContain('Start the local cloud');
  }, 300_000);

  it('stops everything it started on Ctrl+C in the middle of the demo', async () => {
    await interruptWhen(/Ingest .*airports/);
  }, 300_000);
});
