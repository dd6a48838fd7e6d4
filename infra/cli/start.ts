/**
 * `mlops start` (what `npm start` runs): synthesize, start the local cloud, run the demo
 * lifecycle on real flights as a live task list, print a summary, then keep serving until Ctrl+C
 * (`--once` exits, 0 only when every stage did what it shows). The dev stage: prod's pipeline
 * waits for a human approver (`mlops local up --stage prod` runs it).
 */
import {
  closeSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { Listr, PRESET_TIMER, PRESET_TIMESTAMP } from 'listr2';
import { DEFAULT_ROWS, type DemoReport, type DemoStage, demoLifecycle } from '../demo/lifecycle.ts';
import { apiExamples, summaryTables } from '../demo/summary.ts';
import type { LocalCloud } from '../local/cloud.ts';
import { runningState } from '../local/state.ts';
import { localUp, PROJECT_ROOT, synthAppCached } from './local.ts';

/**
 * The demo's clock for waits: Step Functions Wait states, retry intervals and alarm periods run
 * 100 times faster, so a deployment's one-minute endpoint polls take 0.6 s, a 10-minute canary
 * bake 6 s and a one-minute alarm period 0.6 s. Nothing else changes.
 */
export const DEMO_TIME_SCALE = 0.01;

/** The stage the demo runs. */
const STAGE = 'dev';

/**
 * The demo's folder: its cloud's data (emptied at every start, so each run begins clean), the
 * report and the full log. MLOPS_DEMO_DIR moves it (the tests do).
 */
export const DEMO_DIR = process.env.MLOPS_DEMO_DIR ?? join(PROJECT_ROOT, '.local', 'demo');
const DATA_DIR = join(DEMO_DIR, 'data');
/** The HTML report the demo writes (`mlops report` writes the same from any ledger). */
export const DEMO_REPORT = join(DEMO_DIR, 'report.html');
/** Every line the stages printed, in full. */
export const DEMO_LOG = join(DEMO_DIR, 'start.log');
/** Each stage's wall time and the whole run's, as JSON (the lifecycle benchmark reads it). */
export const DEMO_TIMINGS = join(DEMO_DIR, 'timings.json');
/** The file that marks DATA_DIR as the demo's own. */
const DATA_MARKER = '.mlops-demo-data';
/** Held while a demo runs: a second start refuses instead of wiping the first one's data. */
const LOCK = join(DEMO_DIR, 'demo.lock');

/** The longest a stage may take before the demo calls it failed (a hung poll must not hang CI). */
const STAGE_TIMEOUT_MS = 5 * 60_000;

/** Labelled training flights: enough for the use case's data-quality floor, and some left to replay. */
const ROWS = { min: 2000, max: 30_000 } as const;

/** One stage's wall time. */
export interface StageTiming {
  readonly title: string;
  readonly seconds: number;
  readonly ok: boolean;
}

const rowsOption = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < ROWS.min || n > ROWS.max) {
    throw new InvalidArgumentError(`must be an integer from ${ROWS.min} to ${ROWS.max}, got '${v}'`);
  }
  return n;
};

const portOption = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65_535)
    throw new InvalidArgumentError(`must be a TCP port, got '${v}'`);
  return n;
};

interface StartOptions {
  readonly port?: number;
  readonly once?: boolean;
  readonly verbose?: boolean;
  readonly rows: number;
}

/** Adds `start` to the CLI. */
export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description(
      'Run the whole lifecycle locally (dev stage): synth, emulators, the demo, a summary, then serve',
    )
    .option('-p, --port <port>', 'API Gateway port (default: a free port)', portOption)
    .option('--once', 'exit after the demo instead of serving (exit code 0 only if every stage succeeded)')
    .option('--rows <n>', 'flights labelled for training and scored out of time', rowsOption, DEFAULT_ROWS)
    .option('-v, --verbose', 'show every function log line')
    .action(async (o: StartOptions) => {
      let code = 1;
      try {
        code = await start(o);
      } finally {
        // Whatever a stage left pending (a poll, a socket) must not keep the demo alive.
        process.exit(code);
      }
    });
}

class Interrupted extends Error {
  constructor(readonly signal: string) {
    super(`interrupted by ${signal}`);
    this.name = 'Interrupted';
  }
}

/** Takes the demo's lock, or says who holds it. */
function lock(): string | undefined {
  mkdirSync(DEMO_DIR, { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(LOCK, 'wx');
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      return undefined;
    } catch {
      const holder = Number(readFileSync(LOCK, 'utf8'));
      let alive = false;
      try {
        alive = Number.isInteger(holder) && holder > 0 && process.kill(holder, 0);
      } catch {
        alive = false;
      }
      if (alive) return `another npm start (pid ${holder}) is using ${DEMO_DIR}`;
      rmSync(LOCK, { force: true });
    }
  }
  return `could not take ${LOCK}`;
}

async function start(o: StartOptions): Promise<number> {
  const running = runningState();
  if (running) {
    console.error(
      `a local cloud is already running (pid ${running.pid}, API ${running.apiEndpoint}); stop it first (Ctrl+C in its terminal)`,
    );
    return 1;
  }
  const held = lock();
  if (held) {
    console.error(held);
    return 1;
  }
  // Only a folder the demo made is emptied, never one that merely happens to have the name.
  if (existsSync(DATA_DIR) && !existsSync(join(DATA_DIR, DATA_MARKER))) {
    console.error(`${DATA_DIR} was not made by npm start; move it away or set MLOPS_DEMO_DIR`);
    rmSync(LOCK, { force: true });
    return 1;
  }
  rmSync(DATA_DIR, { recursive: true, force: true });
  mkdirSync(DATA_DIR, { recursive: true });
  writeFileSync(join(DATA_DIR, DATA_MARKER), 'made by npm start: emptied at the next start\n');
  const log = createWriteStream(DEMO_LOG);

  // Ctrl+C (or SIGTERM) once: stop the stages, then the cloud. Twice: leave at once.
  const abort = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (abort.signal.aborted) {
      console.error(`\n${signal} again: exiting without waiting for the local cloud to stop`);
      rmSync(LOCK, { force: true });
      process.exit(130);
    }
    abort.abort(new Interrupted(signal));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const aborted = new Promise<never>((_, rej) =>
    abort.signal.addEventListener('abort', () => rej(abort.signal.reason), { once: true }),
  );
  aborted.catch(() => {});
  /** `work`, unless the demo is interrupted or it takes longer than `ms`. */
  const bounded = <T>(work: Promise<T>, ms: number, what: string): Promise<T> => {
    work.catch(() => {});
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, rej) => {
      timer = setTimeout(() => rej(new Error(`${what}: did not finish in ${ms / 1000} s`)), ms);
    });
    return Promise.race([work, aborted, timeout]).finally(() => clearTimeout(timer));
  };

  // A live list needs a terminal to redraw in, and room: a pseudo-terminal of no width gets lines.
  const plain =
    !process.stdout.isTTY ||
    Boolean(process.env.CI) ||
    process.env.TERM === 'dumb' ||
    !((process.stdout.columns ?? 0) >= 40);
  const timings: StageTiming[] = [];
  const started = performance.now();
  let cloud: LocalCloud | undefined;
  let starting: Promise<{ cloud: LocalCloud }> | undefined;
  let demo: ReturnType<typeof demoLifecycle> | undefined;
  let failed: unknown;

  /** A listr2 task of a stage: its lines go to the output bar (and the log), its result to the title. */
  const task = (stage: DemoStage) => ({
    title: stage.title,
    task: async (_: unknown, t: { output: string; title: string }) => {
      const t0 = performance.now();
      let ok = false;
      try {
        const result = await bounded(
          stage.run((line) => {
            log.write(`${line}\n`);
            t.output = line;
          }),
          STAGE_TIMEOUT_MS,
          stage.title,
        );
        ok = true;
        t.title = `${stage.title}: ${result}`;
      } finally {
        timings.push({ title: stage.title, seconds: (performance.now() - t0) / 1000, ok });
      }
    },
    rendererOptions: { outputBar: 4, persistentOutput: false },
  });
  // listr2 ends its renderer (and gives the terminal back) when a task fails, an interrupt included.
  const listr = (stages: DemoStage[]) =>
    new Listr(stages.map(task), {
      concurrent: false,
      exitOnError: true,
      // Signals are ours: they must stop the emulators, not exit past them.
      registerSignalListeners: false,
      renderer: 'default',
      rendererOptions: { timer: PRESET_TIMER, collapseSubtasks: false },
      fallbackRenderer: 'simple',
      fallbackRendererOptions: { timer: PRESET_TIMER, timestamp: PRESET_TIMESTAMP },
      fallbackRendererCondition: plain,
    });

  // The tests synthesize elsewhere, to interrupt a synth that the cache would otherwise skip.
  const cdkOut = process.env.MLOPS_DEMO_CDK_OUT ?? join(PROJECT_ROOT, 'cdk.out');
  let synthCached: boolean | undefined;
  const setup: DemoStage[] = [
    {
      title: `Synthesize the ${STAGE} app with the CDK CLI`,
      run: async () => {
        const synth = await synthAppCached(STAGE, cdkOut, abort.signal);
        synthCached = synth.cached;
        return synth.cached
          ? 'cdk.out is up to date with the sources and the commit: reused'
          : `cdk.out in ${(synth.ms / 1000).toFixed(1)} s`;
      },
    },
    {
      title: 'Start the local cloud from the synthesized templates',
      run: async (say) => {
        starting = localUp({
          stage: STAGE,
          cdkOut,
          dataDir: DATA_DIR,
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
    try {
      await listr(setup).run();
      if (abort.signal.aborted) throw abort.signal.reason;
      if (!cloud) throw new Error('the local cloud did not start');
      demo = demoLifecycle(cloud, { stage: STAGE, rows: o.rows, reportPath: DEMO_REPORT });
      await listr(demo.stages).run();
    } catch (error) {
      failed = abort.signal.aborted ? abort.signal.reason : error;
    }
    if (failed instanceof Interrupted) {
      console.log(`\n${failed.message}: stopping the local cloud`);
      return 130;
    }
    const seconds = (performance.now() - started) / 1000;
    writeFileSync(
      DEMO_TIMINGS,
      `${JSON.stringify({ seconds, ok: !failed, rows: o.rows, synthCached, stages: timings }, null, 2)}\n`,
    );
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
    console.log(apiExamples(cloud, STAGE));
    await aborted.catch((e: unknown) =>
      console.log(`\n${e instanceof Error ? e.message : String(e)}: stopping the local cloud`),
    );
    return failed ? 1 : 0;
  } finally {
    demo?.close();
    log.end();
    // A cloud still starting when the interrupt came is stopped once it is up.
    cloud ??= (await starting?.catch(() => undefined))?.cloud;
    await cloud?.stop();
    rmSync(LOCK, { force: true });
  }
}
