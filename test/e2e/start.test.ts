/**
 * `npm start` as a user runs it, in a child process: interrupted with Ctrl+C in the middle of the
 * demo, it stops every process it started (DynamoDB Local's JVM, the Lambda workers, training
 * children) and removes its state file; the next start begins from clean data. The whole demo
 * with `--once` runs in .ci/run, checked the same way (test/support/processes.ts).
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
): { child: ChildProcess; output: () => string; exit: Promise<number | null> } {
  let text = '';
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'infra/cli/main.ts'), 'start'], {
    cwd: ROOT,
    env: {
      ...process.env,
      [MARKER]: marker,
      CI: 'true',
      MLOPS_LOCAL_STATE: join(dir, 'cloud.json'),
      MLOPS_DEMO_DATA_DIR: join(dir, 'data'),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => (text += d.toString('utf8')));
  child.stderr?.on('data', (d: Buffer) => (text += d.toString('utf8')));
  const exit = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  return { child, output: () => text, exit };
}

describe('npm start', () => {
  it('stops everything it started on Ctrl+C in the middle of the demo', async () => {
    const marker = randomUUID();
    const dir = mkdtempSync(join(tmpdir(), 'start-e2e-'));
    const demo = startDemo(marker, dir);
    // The cloud is up and the first stage has begun: JVM, workers and servers are all running.
    await until(
      'the demo to reach its first stage',
      async () => demo.output(),
      (out) => /Ingest .*airports/.test(out) || demo.child.exitCode !== null,
      240_000,
    );
    expect(demo.child.exitCode, demo.output()).toBeNull();
    expect(processesWithMarker(MARKER, marker).length).toBeGreaterThan(1);
    demo.child.kill('SIGINT');
    const code = await demo.exit;
    expect(code, demo.output()).toBe(130);
    expect(demo.output()).toContain('interrupted by SIGINT');
    // Children get a moment to reap; nothing with the marker may be left after it.
    const left = await until(
      'the demo processes to end',
      async () => processesWithMarker(MARKER, marker),
      (found) => found.length === 0,
      15_000,
    ).catch(() => processesWithMarker(MARKER, marker));
    expect(left).toEqual([]);
    expect(existsSync(join(dir, 'cloud.json'))).toBe(false);
  }, 300_000);
});
