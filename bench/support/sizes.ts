/**
 * What the size-scaled benchmarks share: three sizes a decade apart, and running one size in a
 * process of its own (the script spawns itself with `--child`), so a size's peak RSS and its JIT
 * and GC state are its own and not left over from a bigger or an earlier size.
 */
import { spawnSync } from 'node:child_process';
import type { z } from 'zod';

/** Three sizes a decade apart, the largest last: `[largest / 100, largest / 10, largest]`. */
export function decades(largest: number): readonly number[] {
  if (!Number.isInteger(largest / 100) || largest < 100) {
    throw new Error(`the largest size must be a multiple of 100, got ${largest}`);
  }
  return [largest / 100, largest / 10, largest];
}

/** Whether this process is a child spawned by `runChild`. */
export function isChild(argv: readonly string[] = process.argv.slice(2)): boolean {
  return argv.includes('--child');
}

/**
 * Runs this script again as a child with `args` and `--child` (stderr, the progress, passes
 * through), and parses the last line it prints on stdout with `schema`.
 */
export function runChild<T>(
  schema: z.ZodType<T>,
  args: readonly string[],
  nodeFlags: readonly string[] = [],
): T {
  const script = process.argv[1];
  if (script === undefined) throw new Error('cannot tell which script to run as a child');
  const run = spawnSync(process.execPath, [...process.execArgv, ...nodeFlags, script, ...args, '--child'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 16 * 1024 * 1024,
  });
  if (run.error) throw run.error;
  if (run.status !== 0) {
    throw new Error(`${script} ${args.join(' ')} --child exited with ${run.status ?? run.signal}`);
  }
  const last = run.stdout.trim().split('\n').at(-1) ?? '';
  return schema.parse(JSON.parse(last));
}

/** Prints a child's result for `runChild` (the last line of stdout). */
export function replyToParent(result: unknown): void {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** A size as it appears in a figure's name: `1e6` for a power of ten, else the number. */
export function sizeName(n: number): string {
  const k = Math.round(Math.log10(n));
  return 10 ** k === n ? `1e${k}` : String(n);
}
