/**
 * `mlops local up|status|tick`: run the synthesized app on this machine, see what runs where, and
 * fire schedules by hand.
 */

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { Command } from 'commander';
import { buildOpenApiDocument } from '../api/openapi.ts';
import { loadUseCases } from '../config/use-cases.ts';
import { type LocalCloud, type LocalCloudState, startLocalCloud } from '../local/cloud.ts';
import { LOCAL_CREDENTIALS } from '../local/engines/credentials.ts';
import { scheduledEventFor } from '../local/scheduler.ts';
import { readState, runningState, STATE_FILE } from '../local/state.ts';

/** Project root (where cdk.json lives). */
export const PROJECT_ROOT = resolve(import.meta.dirname, '..', '..');
/** Default folder for persisted DynamoDB and S3 data. */
export const DATA_DIR = join(PROJECT_ROOT, '.local', 'data');

/** Synthesizes the app with the CDK CLI (so cdk.json's context applies, as for a deploy). */
export function synthApp(
  stage: string,
  outdir = join(PROJECT_ROOT, 'cdk.out'),
): { outdir: string; ms: number } {
  const started = performance.now();
  const cdk = join(PROJECT_ROOT, 'node_modules', '.bin', 'cdk');
  const run = spawnSync(cdk, ['synth', '--quiet', '-c', `stage=${stage}`, '-o', outdir], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
    env: { ...process.env, CDK_DISABLE_VERSION_CHECK: '1', CDK_DISABLE_CLI_TELEMETRY: '1' },
  });
  if (run.status !== 0) throw new Error(`cdk synth failed:\n${run.stderr || run.stdout}`);
  return { outdir, ms: performance.now() - started };
}

/** Environment variables the CDK app reads (infra/app.ts), or the CDK CLI passes context through. */
const SYNTH_ENV = [
  'CDK_DEPLOY_REGION',
  'CDK_DEPLOY_ACCOUNT',
  'CDK_DEFAULT_ACCOUNT',
  'CDK_DEFAULT_REGION',
  'CDK_CONTEXT_JSON',
];

/**
 * A hash of everything a synth reads: the files under cdk.json's `watch.include` folders (the CDK's
 * own list of what the app is made of); cdk.json, cdk.context.json, ~/.cdk.json, package.json,
 * package-lock.json and tsconfig.json; the commit (the pipeline bakes it in as CODE_VERSION); the
 * environment variables the app reads; and the stage.
 */
export function synthInputsHash(
  stage: string,
  root: string = PROJECT_ROOT,
  env: NodeJS.ProcessEnv = process.env,
): string {
  const config = JSON.parse(readFileSync(join(root, 'cdk.json'), 'utf8')) as {
    watch?: { include?: string[] };
  };
  const folders = (config.watch?.include ?? []).map((g) => g.replace(/\/\*\*.*$/, ''));
  const files = ['cdk.json', 'cdk.context.json', 'package.json', 'package-lock.json', 'tsconfig.json'];
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) files.push(path);
    }
  };
  for (const folder of folders) if (existsSync(join(root, folder))) walk(folder);
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', 'HEAD'], {
      cwd: root,
      encoding: 'utf8',
      stdio: 'pipe',
    }).trim();
  } catch {
    // Not a git checkout: the app records 'unknown' too.
  }
  const hash = createHash('sha256').update(`stage=${stage}\ncommit=${commit}\n`);
  for (const name of SYNTH_ENV) hash.update(`${name}=${env[name] ?? ''}\n`);
  const read = (path: string) => (existsSync(path) ? readFileSync(path) : '(absent)');
  hash.update('~/.cdk.json\n').update(read(join(homedir(), '.cdk.json')));
  for (const file of files.sort()) hash.update(`${file}\n`).update(read(join(root, file)));
  return hash.digest('hex');
}

/** Where a synth records the inputs it was made from, and what it wrote. */
const SYNTH_STAMP = '.mlops-synth.json';

/** Whether every file asset the assembly's asset manifests name is still in `outdir`. */
function assetsPresent(outdir: string): boolean {
  if (!existsSync(join(outdir, 'manifest.json'))) return false;
  for (const f of readdirSync(outdir).filter((x) => x.endsWith('.assets.json'))) {
    const manifest = JSON.parse(readFileSync(join(outdir, f), 'utf8')) as {
      files?: Record<string, { source?: { path?: string } }>;
    };
    for (const asset of Object.values(manifest.files ?? {})) {
      if (asset.source?.path && !existsSync(join(outdir, asset.source.path))) return false;
    }
  }
  return true;
}

/** A hash of a cloud assembly's manifest, templates and asset manifests (another synth changes it). */
function outputsHash(outdir: string): string {
  const hash = createHash('sha256');
  const files = readdirSync(outdir)
    .filter((f) => f === 'manifest.json' || f.endsWith('.template.json') || f.endsWith('.assets.json'))
    .sort();
  for (const f of files) hash.update(`${f}\n`).update(readFileSync(join(outdir, f)));
  return hash.digest('hex');
}

/**
 * {@link synthAppAsync}, skipped when `outdir` holds a synth of the same inputs (see
 * {@link synthInputsHash}); `cached` says which happened.
 */
export async function synthAppCached(
  stage: string,
  outdir = join(PROJECT_ROOT, 'cdk.out'),
  signal?: AbortSignal,
): Promise<{ outdir: string; ms: number; cached: boolean }> {
  const started = performance.now();
  const hash = synthInputsHash(stage);
  const stamp = join(outdir, SYNTH_STAMP);
  try {
    const seen = JSON.parse(readFileSync(stamp, 'utf8')) as { hash?: string; outputs?: string };
    if (seen.hash === hash && seen.outputs === outputsHash(outdir) && assetsPresent(outdir)) {
      return { outdir, ms: performance.now() - started, cached: true };
    }
  } catch {
    // No stamp, or not one we wrote: synthesize.
  }
  rmSync(stamp, { force: true });
  const synth = await synthAppAsync(stage, outdir, signal);
  writeFileSync(
    stamp,
    JSON.stringify({ stage, hash, outputs: outputsHash(outdir), at: new Date().toISOString() }),
  );
  return { ...synth, ms: performance.now() - started, cached: false };
}

/** {@link synthApp} without blocking the event loop (so a progress display keeps moving). */
export function synthAppAsync(
  stage: string,
  outdir = join(PROJECT_ROOT, 'cdk.out'),
  signal?: AbortSignal,
): Promise<{ outdir: string; ms: number }> {
  const started = performance.now();
  const cdk = join(PROJECT_ROOT, 'node_modules', '.bin', 'cdk');
  return new Promise((res, rej) => {
    const child = spawn(cdk, ['synth', '--quiet', '-c', `stage=${stage}`, '-o', outdir], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, CDK_DISABLE_VERSION_CHECK: '1', CDK_DISABLE_CLI_TELEMETRY: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: the CDK CLI runs the app as a child it does not stop on SIGTERM,
      // so an abort stops the whole group.
      detached: true,
    });
    const stop = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGTERM');
      } catch {
        // Already gone.
      }
    };
    signal?.addEventListener('abort', stop, { once: true });
    // Leaving any other way (an exception, process.exit) must not leave the synth running either.
    process.once('exit', stop);
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (output += d.toString('utf8')));
    child.on('error', rej);
    child.on('close', (code) => {
      signal?.removeEventListener('abort', stop);
      process.removeListener('exit', stop);
      if (code === 0) res({ outdir, ms: performance.now() - started });
      else if (signal?.aborted) rej(signal.reason);
      else rej(new Error(`cdk synth failed:\n${output}`));
    });
  });
}

export interface UpOptions {
  readonly stage: string;
  readonly cdkOut?: string;
  readonly inMemory?: boolean;
  readonly dataDir?: string;
  readonly apiPort?: number;
  readonly iamBypass?: boolean;
  readonly runSchedules?: boolean;
  readonly quiet?: boolean;
  /**
   * Multiplies Step Functions waits and retry intervals and CloudWatch alarm periods.
   * @default 1
   */
  readonly timeScale?: number;
}

/** Synthesizes (unless given an assembly) and starts the local cloud; what `local up` and `start` share. */
export async function localUp(options: UpOptions): Promise<{ cloud: LocalCloud; synthMs: number }> {
  let synthMs = 0;
  let cdkOut = options.cdkOut;
  if (!cdkOut) {
    const synth = synthApp(options.stage);
    cdkOut = synth.outdir;
    synthMs = synth.ms;
  }
  mkdirSync(join(PROJECT_ROOT, '.local'), { recursive: true });
  const running = runningState();
  if (running && !options.inMemory) {
    throw new Error(
      `a local cloud is already running (pid ${running.pid}, API ${running.apiEndpoint}) on ${running.dataDir ?? 'memory'}; stop it first (Ctrl+C in its terminal)`,
    );
  }
  const cloud = await startLocalCloud({
    cdkOut,
    dataDir: options.inMemory ? undefined : (options.dataDir ?? DATA_DIR),
    ports: { api: options.apiPort },
    iamBypass: options.iamBypass,
    runSchedules: options.runSchedules,
    ...(options.timeScale === undefined ? {} : { timeScale: options.timeScale }),
    // A second, in-memory cloud must not take over the running one's state file.
    stateFile: running ? undefined : STATE_FILE,
    documents: { '/openapi.json': async () => buildOpenApiDocument(await loadUseCases()) },
    log: options.quiet ? () => {} : (line) => console.log(line),
  });
  return { cloud, synthMs };
}

/** Prints where each service listens. */
export function printState(state: LocalCloudState, up: Readonly<Record<string, boolean>> = {}): void {
  const mark = (url: string) => (up[url] === false ? '  (not answering)' : '');
  console.log(
    `local cloud (pid ${state.pid}, since ${state.startedAt}, DynamoDB engine: ${state.dynamodbEngine})`,
  );
  console.log(`  data: ${state.dataDir ?? 'in memory'}`);
  console.log(`  API Gateway     ${state.apiEndpoint}${mark(state.apiEndpoint)}`);
  for (const [name, url] of Object.entries(state.endpoints))
    console.log(`  ${name.padEnd(16)}${url}${mark(url)}`);
  console.log(`  functions (${state.functions.length}): ${state.functions.join(', ')}`);
  console.log(`  state machines: ${state.stateMachines.map((m) => m.name).join(', ') || 'none'}`);
  console.log(`  tables: ${state.tables.join(', ') || 'none'}`);
  console.log(`  buckets: ${state.buckets.join(', ') || 'none'}`);
  console.log(`  schedules: ${state.schedules.map((s) => `${s.name} ${s.expression}`).join(', ') || 'none'}`);
  for (const route of state.routes) console.log(`  route ${route}`);
}

function answers(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((res) => {
    const socket = connect({ host: hostname, port: Number(port) }, () => {
      socket.end();
      res(true);
    });
    socket.on('error', () => res(false));
    socket.setTimeout(1000, () => {
      socket.destroy();
      res(false);
    });
  });
}

/** Fires a schedule of a running cloud from another process, through its Lambda and SFN APIs. */
export async function tickRunning(
  state: LocalCloudState,
  name?: string,
): Promise<{ schedule: string; target: string; result: unknown }[]> {
  const chosen = state.schedules.filter(
    (s) => name === undefined || s.name === name || s.arn.endsWith(`/${name}`),
  );
  if (name !== undefined && chosen.length === 0) {
    throw new Error(
      `no schedule named '${name}'; known: ${state.schedules.map((s) => s.name).join(', ') || 'none'}`,
    );
  }
  const region = state.placement.region;
  const lambda = new LambdaClient({
    endpoint: state.endpoints.lambda,
    region,
    credentials: LOCAL_CREDENTIALS,
  });
  const sfn = new SFNClient({
    endpoint: state.endpoints.stepfunctions,
    region,
    credentials: LOCAL_CREDENTIALS,
  });
  const results = [];
  try {
    for (const schedule of chosen) {
      for (const target of schedule.targets) {
        // The same event the in-process scheduler delivers.
        const input = JSON.stringify(scheduledEventFor(schedule, target, state.placement));
        if (target.arn.includes(':states:')) {
          const out = await sfn.send(new StartExecutionCommand({ stateMachineArn: target.arn, input }));
          results.push({
            schedule: schedule.name,
            target: target.arn,
            result: { executionArn: out.executionArn },
          });
        } else {
          const out = await lambda.send(
            new InvokeCommand({ FunctionName: target.arn, Payload: Buffer.from(input) }),
          );
          const payload = out.Payload
            ? (JSON.parse(Buffer.from(out.Payload).toString('utf8')) as unknown)
            : null;
          if (out.FunctionError) throw new Error(`${target.arn} failed: ${JSON.stringify(payload)}`);
          results.push({ schedule: schedule.name, target: target.arn, result: payload });
        }
      }
    }
  } finally {
    lambda.destroy();
    sfn.destroy();
  }
  return results;
}

/** Resolves on Ctrl+C or SIGTERM. */
export function untilSignal(): Promise<string> {
  return new Promise((res) => {
    process.once('SIGINT', () => res('SIGINT'));
    process.once('SIGTERM', () => res('SIGTERM'));
  });
}

/** Adds `local up|status|tick` to the CLI. */
export function registerLocalCommands(program: Command): void {
  const local = program
    .command('local')
    .description('Run the synthesized app on this machine against local emulators');
  local
    .command('up')
    .description('Synthesize, start the emulators, provision, and serve until Ctrl+C')
    .option('-s, --stage <stage>', 'dev or prod', 'dev')
    .option('--cdk-out <dir>', 'use an already synthesized cloud assembly')
    .option('--in-memory', 'keep nothing after stop (default: persist under .local/data)')
    .option('--data-dir <dir>', 'where DynamoDB and S3 data persist', DATA_DIR)
    .option('-p, --port <port>', 'API Gateway port (default: a free port)', (v) => Number(v))
    .option('--iam-bypass', 'accept unsigned requests on IAM-authorized routes (local only)')
    .option('--run-schedules', 'fire rate() schedules on their real period')
    .option('--once', 'exit as soon as everything is ready (prints timings)')
    .option('--json', 'machine-readable output')
    .action(
      async (o: {
        stage: string;
        cdkOut?: string;
        inMemory?: boolean;
        dataDir: string;
        port?: number;
        iamBypass?: boolean;
        runSchedules?: boolean;
        once?: boolean;
        json?: boolean;
      }) => {
        const { cloud, synthMs } = await localUp({
          stage: o.stage,
          cdkOut: o.cdkOut,
          inMemory: o.inMemory,
          dataDir: o.dataDir,
          apiPort: o.port,
          iamBypass: o.iamBypass,
          runSchedules: o.runSchedules,
          quiet: o.json,
        });
        const t = cloud.timings;
        const timings = {
          synthMs: Math.round(synthMs),
          enginesMs: Math.round(t.engines),
          dynamodbMs: Math.round(t.dynamodb),
          provisionMs: Math.round(t.provision),
          servicesMs: Math.round(t.services),
          totalMs: Math.round(t.total),
        };
        if (o.json)
          console.log(
            JSON.stringify({
              ready: true,
              apiEndpoint: cloud.apiEndpoint,
              endpoints: cloud.endpoints,
              timings,
            }),
          );
        else {
          printState(readState());
          console.log(
            `ready: synth ${timings.synthMs} ms, engines ${timings.enginesMs} ms (DynamoDB ${timings.dynamodbMs} ms), provision ${timings.provisionMs} ms, total after synth ${timings.totalMs} ms`,
          );
        }
        if (!o.once) {
          if (!o.json) console.log('serving; Ctrl+C stops everything');
          await untilSignal();
        }
        await cloud.stop();
      },
    );
  local
    .command('status')
    .description('Show what runs where in the local cloud')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }) => {
      const state = readState();
      const urls = [state.apiEndpoint, ...Object.values(state.endpoints)];
      const up = Object.fromEntries(await Promise.all(urls.map(async (u) => [u, await answers(u)] as const)));
      if (o.json) console.log(JSON.stringify({ ...state, answering: up }, null, 2));
      else printState(state, up);
    });
  local
    .command('tick [schedule]')
    .description('Fire an EventBridge schedule now (all enabled ones when no name is given)')
    .option('--json', 'machine-readable output')
    .action(async (schedule: string | undefined, o: { json?: boolean }) => {
      const results = await tickRunning(readState(), schedule);
      if (o.json) console.log(JSON.stringify(results, null, 2));
      else for (const r of results) console.log(`${r.schedule} → ${r.target}: ${JSON.stringify(r.result)}`);
    });
}
