/**
 * The local cloud for the benchmarks that go through the API, and the three measurements that
 * split a request's time: through the local API (SigV4, API Gateway emulator, Lambda hop,
 * handler), a direct invoke of the function's warm worker (the Lambda hop and the handler), and
 * the bundled handler called in a process of its own against its raw operation (the handler).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT, synthAppCached } from '../../infra/cli/local.ts';
import { type LocalCloud, startLocalCloud } from '../../infra/local/cloud.ts';
import type { InProcessResult, InProcessSpec, Latency } from './in-process.ts';
import type { RawKind } from './raw.ts';

/**
 * cdk.out for the benchmarks: the project's own, as `npm start` uses it, synthesized when its
 * inputs changed and reused otherwise (the synth benchmark times fresh synths on its own).
 */
export const BENCH_CDK_OUT = join(PROJECT_ROOT, 'cdk.out');

/** A dev-stage local cloud on the benchmarks' cached synth, quiet, with demo-speed waits. */
export async function benchCloud(): Promise<LocalCloud> {
  const { outdir } = await synthAppCached('dev', BENCH_CDK_OUT);
  return startLocalCloud({ cdkOut: outdir, timeScale: 0.01, log: () => {} });
}

/** Events captured from the Lambda runtime, by function name, until `stop()`. */
export interface Capture {
  (functionName: string): unknown[];
  /** Stops capturing: later invocations (the timed ones) run unwrapped. */
  stop(): void;
}

/** Every event the Lambda runtime is invoked with, by function name, from now until `stop()`. */
export function captureInvocations(cloud: LocalCloud): Capture {
  const seen = new Map<string, unknown[]>();
  const runtime = cloud.lambda;
  const invoke = runtime.invoke;
  runtime.invoke = (name, payload, options) => {
    const key = runtime.find(name)?.name ?? name;
    const list = seen.get(key) ?? [];
    list.push(structuredClone(payload));
    seen.set(key, list);
    return invoke.call(runtime, name, payload, options);
  };
  const capture = ((functionName: string) => seen.get(functionName) ?? []) as Capture;
  capture.stop = () => {
    runtime.invoke = invoke;
  };
  return capture;
}

/** The name of the one function whose events `captured` saw, after a call through the API. */
export function invokedFunction(
  cloud: LocalCloud,
  captured: (name: string) => unknown[],
  nameLike: RegExp,
): string {
  const names = cloud.lambda.functions
    .map((f) => f.name)
    .filter((n) => nameLike.test(n) && captured(n).length > 0);
  if (names.length !== 1)
    throw new Error(`expected one invoked function like ${nameLike}, got ${names.join(', ')}`);
  return names[0] as string;
}

/** Milliseconds of `count` sequential direct invokes of a warm worker (the Lambda hop and the handler). */
export async function timeDirectInvokes(
  cloud: LocalCloud,
  functionName: string,
  events: readonly unknown[],
  count: number,
): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    const result = await cloud.lambda.invoke(functionName, events[i % events.length]);
    times.push(performance.now() - start);
    const status = (result.payload as { statusCode?: number } | undefined)?.statusCode ?? 0;
    if (result.functionError || status >= 300)
      throw new Error(`${functionName} answered ${JSON.stringify(result.payload)}`);
  }
  return times;
}

/** The bundled handler of `functionName` in a fresh process, against a raw operation (bench/support/in-process.ts). */
export async function measureInProcess(
  cloud: LocalCloud,
  functionName: string,
  events: readonly unknown[],
  raw: { readonly kind: RawKind; readonly args: unknown },
  options: { readonly rounds: number; readonly timeMs: number; readonly iterations?: number },
): Promise<InProcessResult> {
  const fn = cloud.lambda.functions.find((f) => f.name === functionName);
  if (!fn) throw new Error(`no function ${functionName}`);
  const dir = mkdtempSync(join(tmpdir(), 'bench-in-process-'));
  try {
    const spec: InProcessSpec = {
      codeDir: fn.codeDir,
      handler: fn.handler,
      functionName: fn.name,
      env: cloud.lambda.environmentOf(fn),
      events,
      raw,
      rounds: options.rounds,
      timeMs: options.timeMs,
      ...(options.iterations ? { iterations: options.iterations } : {}),
      out: join(dir, 'result.json'),
    };
    writeFileSync(join(dir, 'spec.json'), JSON.stringify(spec));
    // Not spawnSync: the emulators serving the child run on this process's event loop.
    // BENCH_PROFILE_DIR: a V8 CPU profile of the child, to see where the handler's time goes.
    const profile = process.env.BENCH_PROFILE_DIR;
    const child = spawn(
      process.execPath,
      [
        ...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : []),
        '--import',
        'tsx',
        join(PROJECT_ROOT, 'bench', 'support', 'in-process.ts'),
        join(dir, 'spec.json'),
      ],
      { cwd: PROJECT_ROOT, stdio: ['ignore', 'ignore', 'inherit'], env: process.env },
    );
    const [code] = (await once(child, 'exit')) as [number | null];
    if (code !== 0) throw new Error(`in-process run of ${functionName} failed (${code})`);
    return JSON.parse(readFileSync(spec.out, 'utf8')) as InProcessResult;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The per-round values of one latency statistic. */
export function perRound(
  result: InProcessResult,
  side: 'handler' | 'raw',
  stat: keyof Omit<Latency, 'samples'>,
): number[] {
  return result.rounds.map((r) => r[side][stat]);
}
