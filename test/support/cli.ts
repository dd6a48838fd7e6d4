/**
 * Runs the `mlops` CLI in a child process without blocking this one: the local cloud's KMS and
 * S3 emulators run inside the test process, so a spawnSync would deadlock against them.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');

/** What the CLI printed and its exit code. */
export interface CliRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `mlops <args>` from the repository root with `env` added to this process's environment. */
export async function runMlops(
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
): Promise<CliRun> {
  const child = spawn(join(ROOT, 'node_modules', '.bin', 'tsx'), ['infra/cli/main.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { status, stdout, stderr };
}
