/**
 * `mlops start` (what `npm start` runs): synthesize, start the local cloud, run the demo
 * lifecycle on real flights as a live task list, print a summary, then keep serving until Ctrl+C
 * (`--once` exits, 0 only when every stage did what it shows).
 */
import { createWriteStream, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { Listr, PRESET_TIMER, PRESET_TIMESTAMP } from 'listr2';
import { DEFAULT_ROWS, type DemoReport, type DemoStage, demoLifecycle } from '../demo/lifecycle.ts';
import { apiExamples, summaryTables } from '../demo/summary.ts';
import type { LocalCloud } from '../local/cloud.ts';
import { runningState } from '../local/state.ts';
import { localUp, PROJECT_ROOT, synthAppCached, untilSignal } from './local.ts';

/**
 * The demo's clock for waits: Step Functions Wait states, retry intervals and alarm periods run
 * 50 times faster, so a deployment's one-minute endpoint polls take 1.2 s and a 10-minute canary
 * bake 12 s. Nothing else changes.
 */
export const DEMO_TIME_SCALE = 0.02;

/** Where the demo's cloud keeps its data: emptied at every start, so each run begins clean. */
export const DEMO_DATA_DIR = process.env.MLOPS_DEMO_DATA_DIR ?? join(PROJECT_ROOT, '.local', 'demo');
/** The HTML report the demo writes (`mlops report` writes the same from any ledger). */
export const DEMO_REPORT = join(PROJECT_ROOT, '.local', 'report.html');
/** Every line the stages printed, in full. */
export const DEMO_LOG = join(PROJECT_ROOT, '.local', 'start.log');

/** One stage's wall time. */
export interface StageTiming {
  readonly title: string;
  readonly seconds: number;
  readonly ok: boolean;
}

const positiveInt = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 100) throw new Error(`--rows: must be an integer >= 100, got '${v}'`);
  return n;
};

interface StartOptions {
  readonly stage: string;
  readonly port?: number;
  readonly once?: boolean;
  readonly verbose?: boolean;
  readonly rows: number;
}

/** Adds `start` to the CLI. */
export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description('Run the whole lifecycle locally: synth, emulators, the demo, a summary, then serve')
    .option('-s, --stage <stage>', 'dev or prod', 'dev')
    .option('-p, --port <port>', 'API Gateway port (default: a free port)', (v) => Number(v))
    .option('--once', 'exit after the demo instead of serving (exit code 0 only if every stage succeeded)')
    .option('--rows <n>', 'flights labelled for training and scored out of time', positiveInt, DEFAULT_ROWS)
    .option('-v, --verbose', 'show every function log line')
    .action(async (o: StartOptions) => {
      process.exitCode = await start(o);
      // Whatever a stage left pending (a poll, a socket) must not keep the demo alive.
      process.exit();
    });
}

async function start(o: StartOptions): Promise<number> {
  const running = runningState();
  if (running) {
    console.error(
      `a local cloud is already running (pid ${running.pid}, API ${running.apiEndpoint}); stop it first (Ctrl+C in its terminal)`,
    );
    return 1;
  }
  mkdirSync(join(PROJECT_ROOT, '.local'), { recursive: true });
  rmSync(DEMO_DATA_DIR, { recursive: true, force: true });
  const log = createWriteStream(DEMO_LOG);
  const plain = !process.stdout.isTTY || Boolean(process.env.CI) || process.env.TERM === 'dumb';
  const timings: StageTiming[] = [];
  const started = performance.now();
  const signal = untilSignal();
  let cloud: LocalCloud | undefined;
  let demo: ReturnType<typeof demoLifecycle> | undefined;
  let failed: unknown;
  // An interruption stops the synth's child and waits for a cloud still starting, to stop it too.
  const abort = new AbortController();
  let starting: Promise<{ cloud: LocalCloud }> | undefined;

  /** A listr2 task of a stage: its lines go to the output bar (and the log), its result to the title. */
  const task = (stage: DemoStage) => ({
    title: stage.title,
    task: async (_: unknown, t: { output: string; title: string }) => {
      const t0 = performance.now();
      let ok = false;
      try {
        const result = await stage.run((line) => {
          log.write(`${line}\n`);
          t.output = line;
        });
        ok = true;
        t.title = `${stage.title}: ${result}`;
      } finally {
        timings.push({ title: stage.title, seconds: (performance.now() - t0) / 1000, ok });
      }
    },
    rendererOptions: { outputBar: 4, persistentOutput: false },
  });
  const listr = (stages: DemoStage[]) =>
    new Listr(stages.map(task), {
      concurrent: false,
      exitOnError: true,
      // Ctrl+C is ours: it must stop the emulators, not exit past them.
      registerSignalListeners: false,
      renderer: 'default',
      rendererOptions: { timer: PRESET_TIMER, collapseSubtasks: false },
      fallbackRenderer: 'simple',
      fallbackRendererOptions: { timer: PRESET_TIMER, timestamp: PRESET_TIMESTAMP },
      fallbackRendererCondition: plain,
    });

  const cdkOut = join(PROJECT_ROOT, 'cdk.out');
  const setup: DemoStage[] = [
    {
      title: `Synthesize the ${o.stage} app with the CDK CLI`,
      run: async () => {
        const synth = await synthAppCached(o.stage, cdkOut, abort.signal);
        return synth.cached
          ? 'cdk.out is up to date with the sources: reused'
          : `cdk.out in ${(synth.ms / 1000).toFixed(1)} s`;
      },
    },
    {
      title: 'Start the local cloud from the synthesized templates',
      run: async (say) => {
        starting = localUp({
          stage: o.stage,
          cdkOut,
          dataDir: DEMO_DATA_DIR,
          apiPort: o.port,
          quiet: !o.verbose,
          timeScale: DEMO_TIME_SCALE,
        });
        const up = await starting;
        cloud = up.cloud;
        const c = up.cloud;
        say(
          `DynamoDB (${c.dynamodbEngine}), s3rver, Lambda, Step Functions, SageMaker, CloudWatch, Application Auto Scaling, Firehose, SNS`,
        );
        return `${c.assembly.tables.length} tables, ${c.assembly.buckets.length} buckets, ${c.assembly.routes.length} API routes at ${c.apiEndpoint}/v1`;
      },
    },
  ];

  try {
    const run = async () => {
      await listr(setup).run();
      if (!cloud) throw new Error('the local cloud did not start');
      demo = demoLifecycle(cloud, { stage: o.stage, rows: o.rows, reportPath: DEMO_REPORT });
      await listr(demo.stages).run();
    };
    await Promise.race([
      run(),
      signal.then((s) => {
        throw new Interrupted(s);
      }),
    ]);
  } catch (error) {
    failed = error;
  }
  const seconds = (performance.now() - started) / 1000;
  try {
    if (failed instanceof Interrupted) {
      console.log(`\n${failed.message}: stopping the local cloud`);
      abort.abort();
      cloud ??= (await starting?.catch(() => undefined))?.cloud;
      return 130;
    }
    const report: DemoReport | undefined = demo?.report;
    if (report) {
      console.log('');
      for (const table of summaryTables(report, timings, seconds)) console.log(`${table}\n`);
    }
    if (report?.reportPath)
      console.log(`report: ${report.reportPath} (open it in a browser; it needs no network)`);
    console.log(`every line the stages printed: ${DEMO_LOG}`);
    if (failed)
      console.error(`\nthe demo failed: ${failed instanceof Error ? failed.message : String(failed)}`);
    if (o.once || !cloud) return failed ? 1 : 0;
    console.log(apiExamples(cloud));
    const s = await signal;
    console.log(`\n${s}: stopping the local cloud`);
    return failed ? 1 : 0;
  } finally {
    demo?.close();
    log.end();
    await cloud?.stop();
  }
}

class Interrupted extends Error {
  constructor(signal: string) {
    super(`interrupted by ${signal}`);
    this.name = 'Interrupted';
  }
}
