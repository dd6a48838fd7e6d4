/**
 * `npm run bench`: every hot path measured against its raw operation or its reference tool, in
 * one run on one machine, so a noisy shared machine moves both sides of each ratio. Timing
 * asserts are banned from the tests; figures live here.
 *
 *   npm run bench                     every benchmark; writes bench/results.json
 *   npm run bench -- <name> [<name>]  the named ones; their figures replace theirs in results.json
 *   npm run bench -- --quick          each briefly, to prove it works (bench/results.quick.json)
 *   npm run bench -- --list           the benchmarks and what each measures
 *   npm run bench -- --markdown       the last run's table in Markdown (runs nothing)
 *
 * Each benchmark runs in a process of its own (its timings and its peak RSS are its own) and
 * hands its figures back through the file named by BENCH_OUT (bench/harness.ts). The table shows
 * each figure's median (min–max), unit and target; a missed target is printed as MISSED.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, freemem, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { type Figure, figureTable, markdownTable } from './harness.ts';

const ROOT = join(import.meta.dirname, '..');
/** The longest one benchmark may run. */
const BENCH_TIMEOUT_MS = 30 * 60_000;

/** The benchmarks, in the order a full run takes them. */
export const BENCHES = [
  { name: 'feature-read', about: 'online read: the handler in-process vs raw GetItem; the API path split' },
  {
    name: 'predict',
    about: 'predict: the handler vs raw BatchGetItem + InvokeEndpoint; the split; 1/8/32 clients',
  },
  {
    name: 'ingest',
    about: 'batch feature ingest through the handler vs raw BatchWriteItem of the same records',
  },
  {
    name: 'cold-start',
    about: 'bundle sizes, module init in a fresh worker vs an empty handler, what dominates',
  },
  { name: 'drift', about: 'KS + PSI + Wasserstein on 10^6 vs 10^6 values, ours vs scipy on the same data' },
  { name: 'monitor', about: 'monitoring check: prediction-log rows/s and peak RSS at 10^4, 10^5, 10^6 rows' },
  { name: 'pit-join', about: 'point-in-time join rows/s and peak RSS at 10^4, 10^5, 10^6 events' },
  { name: 'ledger', about: 'ledger appends/s with 1, 8, 32 writers; verify at 10^3, 10^4, 10^5 events' },
  {
    name: 'partitions',
    about: 'a year of daily label partitions from s3rver: bounded concurrency vs sequential',
  },
  { name: 'startup', about: '`mlops local up` to ready, split by phase' },
  { name: 'synth', about: '`cdk synth` of the whole app, fresh output folder' },
  { name: 'lifecycle', about: '`npm start -- --once`: the whole demo, split by stage' },
] as const;

/** Where a run's figures go: the full run's file is committed; a quick run's is not. */
export const RESULTS_FILE = join(ROOT, 'bench', 'results.json');
export const QUICK_RESULTS_FILE = join(ROOT, 'bench', 'results.quick.json');

/** One benchmark's run: when, at which commit, how long, and how it ended. */
export interface BenchRun {
  readonly measuredAt: string;
  readonly gitSha: string;
  readonly quick: boolean;
  readonly seconds: number;
  readonly status: 'ok' | 'failed';
}

/** The results file. */
export interface Results {
  readonly generatedAt: string;
  readonly gitSha: string;
  readonly quick: boolean;
  readonly machine: Machine;
  readonly runs: Readonly<Record<string, BenchRun>>;
  readonly figures: readonly Figure[];
}

export interface Machine {
  readonly cores: number;
  readonly cpu: string;
  readonly memoryGb: number;
  readonly freeMemoryGbAtStart: number;
  readonly node: string;
  readonly platform: string;
  readonly arch: string;
}

function machine(): Machine {
  return {
    cores: cpus().length,
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    freeMemoryGbAtStart: Math.round((freemem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: process.platform,
    arch: process.arch,
  };
}

function gitSha(): string {
  try {
    const sha = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    // The results files are written by this run: they do not make the tree dirty.
    const dirty = execFileSync(
      'git',
      ['status', '--porcelain', '--', '.', ':!bench/results.json', ':!bench/results.quick.json'],
      {
        cwd: ROOT,
        encoding: 'utf8',
      },
    ).trim();
    return dirty ? `${sha}+dirty` : sha;
  } catch {
    return 'unknown';
  }
}

function readResults(file: string): Results | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Results;
  } catch {
    return undefined;
  }
}

/** Runs one benchmark in its own process; its figures, or why there are none. */
function runBench(name: string, passThrough: readonly string[]): { figures: Figure[]; run: BenchRun } {
  const dir = mkdtempSync(join(tmpdir(), `bench-${name}-`));
  const out = join(dir, 'figures.json');
  const started = new Date();
  const t0 = performance.now();
  try {
    const child = spawnSync(
      join(ROOT, 'node_modules', '.bin', 'tsx'),
      [join(ROOT, 'bench', `${name}.ts`), ...passThrough],
      {
        cwd: ROOT,
        stdio: 'inherit',
        env: { ...process.env, BENCH_OUT: out },
        // A hung benchmark must not hang the run (or CI).
        timeout: BENCH_TIMEOUT_MS,
        killSignal: 'SIGKILL',
      },
    );
    const seconds = Math.round((performance.now() - t0) / 100) / 10;
    const ok = child.status === 0 && existsSync(out);
    const run: BenchRun = {
      measuredAt: started.toISOString(),
      gitSha: gitSha(),
      quick: passThrough.includes('--quick'),
      seconds,
      status: ok ? 'ok' : 'failed',
    };
    if (!ok) {
      console.error(
        `bench ${name}: exited with ${child.status ?? child.signal}${existsSync(out) ? '' : ', no figures'}`,
      );
      return { figures: [], run };
    }
    return { figures: JSON.parse(readFileSync(out, 'utf8')) as Figure[], run };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const argv = process.argv.slice(2);
if (argv.includes('--list')) {
  for (const b of BENCHES) console.log(`${b.name.padEnd(14)} ${b.about}`);
  process.exit(0);
}
if (argv.includes('--markdown')) {
  // The last run's table as Markdown (what the README's performance section shows); runs nothing.
  const results = readResults(argv.includes('--quick') ? QUICK_RESULTS_FILE : RESULTS_FILE);
  if (!results) {
    console.error('no results file yet: run npm run bench first');
    process.exit(2);
  }
  console.log(markdownTable(results.figures));
  const m = results.machine;
  console.log(
    `\n${m.cores} cores (${m.cpu}), ${m.memoryGb} GB, Node ${m.node}, ${m.platform}/${m.arch}; ${results.generatedAt.slice(0, 10)}, commit ${results.gitSha.slice(0, 12)}`,
  );
  process.exit(0);
}
const known = new Set<string>(BENCHES.map((b) => b.name));
/** Flags that take no value; every other `--flag` takes the word after it. */
const SWITCHES = new Set(['--quick', '--list', '--markdown']);
// Positional names pick benchmarks; everything else (flags and their values) passes through.
const picked = argv.filter((a) => known.has(a));
const unknown = argv.filter(
  (a, i) =>
    !a.startsWith('--') &&
    !known.has(a) &&
    !(argv[i - 1]?.startsWith('--') && !SWITCHES.has(argv[i - 1] ?? '')),
);
if (unknown.length > 0) {
  console.error(`unknown benchmark ${unknown.join(', ')}; --list shows them`);
  process.exit(2);
}
const passThrough = argv.filter((a) => !known.has(a));
const quick = passThrough.includes('--quick');
const names = picked.length > 0 ? picked : BENCHES.map((b) => b.name);
const file = quick ? QUICK_RESULTS_FILE : RESULTS_FILE;

const sha = gitSha();
const host = machine();
const previous = readResults(file);
const runs: Record<string, BenchRun> = { ...(previous?.runs ?? {}) };
let figures: Figure[] = [...(previous?.figures ?? [])];
for (const name of names) {
  console.log(`\n== ${name}${quick ? ' (quick)' : ''} ==`);
  const result = runBench(name, passThrough);
  runs[name] = result.run;
  figures = [...figures.filter((f) => f.bench !== name), ...result.figures];
  // Written after each benchmark, so an interrupted run keeps what it measured.
  const results: Results = {
    generatedAt: new Date().toISOString(),
    gitSha: sha,
    quick,
    machine: host,
    runs,
    figures: BENCHES.flatMap((b) => figures.filter((f) => f.bench === b.name)),
  };
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
}

const shown = BENCHES.flatMap((b) => figures.filter((f) => f.bench === b.name && names.includes(b.name)));
console.log(`\n${figureTable(shown)}`);
const m = host;
console.log(
  `\n${m.cores} cores (${m.cpu}), ${m.memoryGb} GB, Node ${m.node}, ${m.platform}/${m.arch}; commit ${sha}; written to ${file}`,
);
const failed = names.filter((n) => runs[n]?.status === 'failed');
const missed = shown.filter((f) => f.met === false).map((f) => f.name);
if (missed.length > 0) console.log(`targets missed: ${missed.join(', ')}`);
if (failed.length > 0) {
  console.error(`benchmarks failed: ${failed.join(', ')}`);
  process.exitCode = 1;
}
